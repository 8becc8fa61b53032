"""Seccomp filters that a process puts on itself. The kernel enforces a filter for this process, all its
threads and all it starts, and nothing the process does later can lift it.

- ``install()``, the judge's (``judge.py``, before it runs any submitted code): from then on it can start
  no other process and no program, open no socket and look into no other process, so that the code can
  only compute in place, with what that Python can import: it cannot download a library, nor start a
  Python that has one.
- ``install_room()``, every room's (``sandbox.limits``, before the room's program starts): System V
  shared memory, message queues and semaphores do not exist for it. Their memory belongs to no process
  and outlives every process (no watch of the room's processes sees it, nothing that ends them frees
  it), and no honest notebook uses them (Python's multiprocessing shares memory through files).

Linux on x86_64 and aarch64; both return False where a filter cannot be installed.
"""

import ctypes
import errno
import os
import platform
import struct

# syscall numbers (asm/unistd.h) of what the filter refuses
REFUSED = {
    "x86_64": {"execve": 59, "execveat": 322, "fork": 57, "vfork": 58, "socket": 41, "socketpair": 53,
               "connect": 42, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "bpf": 321,
               "unshare": 272, "setns": 308, "mount": 165, "userfaultfd": 323, "io_uring_setup": 425},
    "aarch64": {"execve": 221, "execveat": 281, "socket": 198, "socketpair": 199, "connect": 203, "ptrace": 117,
                "process_vm_readv": 270, "process_vm_writev": 271, "bpf": 280, "unshare": 97, "setns": 268,
                "mount": 40, "userfaultfd": 282, "io_uring_setup": 425},
}
# System V IPC: what the room's filter refuses
SYSV_IPC = {"x86_64": {"shmget": 29, "semget": 64, "msgget": 68},
            "aarch64": {"msgget": 186, "semget": 190, "shmget": 194}}
CLONE = {"x86_64": 56, "aarch64": 220}  # allowed only to make a thread (CLONE_THREAD)
CLONE3 = 435  # its flags are out of the filter's reach: refused as unknown, so the C library falls back to clone
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000
CLONE_THREAD = 0x00010000

BPF_LD_W_ABS, BPF_JEQ_K, BPF_JGE_K, BPF_JSET_K, BPF_RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
RET_ALLOW, RET_KILL_PROCESS = 0x7FFF0000, 0x80000000
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


def ret_errno(code):
    return 0x00050000 | code


def program(machine, refused=None, threads_only=True):
    """A filter, as a list of (code, jt, jf, k) BPF instructions, for one machine: the syscalls of refused
    ({name: number}, by default the judge's REFUSED) fail with EPERM, and with threads_only, clone makes
    threads only."""
    refused = REFUSED[machine] if refused is None else refused
    processes = [
        (None, BPF_JEQ_K, CLONE3, "enosys", None),
        (None, BPF_JEQ_K, CLONE[machine], None, "allow"),
        (None, BPF_LD_W_ABS, 16, None, None),  # clone's flags: args[0], low 32 bits
        (None, BPF_JSET_K, CLONE_THREAD, "allow", "eperm"),  # a thread, or a new process
    ] if threads_only else []
    steps = [  # (label, code, k, jump if true, jump if false); a jump names a label, None falls through
        (None, BPF_LD_W_ABS, 4, None, None),  # the calling convention
        (None, BPF_JEQ_K, AUDIT_ARCH[machine], None, "kill"),  # another one (i386 on x86_64): killed
        (None, BPF_LD_W_ABS, 0, None, None),  # the syscall number
        (None, BPF_JGE_K, X32_SYSCALL_BIT, "eperm", None),  # x32 numbers
        *[(None, BPF_JEQ_K, nr, "eperm", None) for nr in sorted(refused.values())],
        *processes,
        ("allow", BPF_RET_K, RET_ALLOW, None, None),
        ("eperm", BPF_RET_K, ret_errno(errno.EPERM), None, None),
        ("enosys", BPF_RET_K, ret_errno(errno.ENOSYS), None, None),
        ("kill", BPF_RET_K, RET_KILL_PROCESS, None, None),
    ]
    where = {label: i for i, (label, *_) in enumerate(steps) if label}

    def offset(i, label):
        if label is None:
            return 0
        distance = where[label] - i - 1
        assert 0 <= distance < 256, "BPF jumps go forward, by less than 256"
        return distance

    return [(code, offset(i, jt), offset(i, jf), k) for i, (_, code, k, jt, jf) in enumerate(steps)]


def machine():
    name = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(name, name)


def install():
    """Put the judge's filter on this process. True when it is in place; False where this machine cannot."""
    arch = machine()
    return arch in REFUSED and put(program(arch))


def install_room():
    """Put the room's filter (no System V IPC) on this process. True when it is in place."""
    arch = machine()
    return arch in SYSV_IPC and put(program(arch, SYSV_IPC[arch], threads_only=False))


def put(prog):
    if not os.uname().sysname == "Linux":
        return False
    filters = b"".join(struct.pack("HBBI", *instruction) for instruction in prog)
    buffer = ctypes.create_string_buffer(filters, len(filters))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(prog), ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) == 0
