"""Landlock: a process limits, for itself and for good, the files it may read and write.

The judge (``judge.py``) puts this on itself before any submitted code runs: from then on it can read
only the standard library, its own packages and the room's library, and write only its own folder. So
no copy of torch left on the machine (another virtual environment, a wheel), and no file another
process left for it, exists for it, in any sandbox mode: Landlock needs no privilege and no namespace.
Linux 5.13 and later; ``restrict`` returns False where the kernel (or a container's seccomp profile)
does not offer it, and the walls of ``sandbox`` are then what keeps those files out of reach.
"""

import ctypes
import os

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # the same syscall numbers on x86_64 and aarch64
RULE_PATH_BENEATH = 1
CREATE_RULESET_VERSION = 1
PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
# everything a Landlock ABI handles, by version: v1 13 rights, v2 REFER, v3 TRUNCATE, v5 IOCTL_DEV
HANDLED = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
READ = EXECUTE | READ_FILE | READ_DIR
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # what a rule on a file may grant


class RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64)]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi(libc=None):
    libc = libc or ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(CREATE_RULESET_VERSION))
    return version if version > 0 else 0


def restrict(readable, writable):
    """From now on, this process (and what it starts) reads only under `readable` and `writable`, and
    writes only under `writable`. True when in force; False where Landlock is not available."""
    libc = ctypes.CDLL(None, use_errno=True)
    version = abi(libc)
    if not version:
        return False
    handled = HANDLED.get(version, HANDLED[5])
    attr = RulesetAttr(handled)
    ruleset = libc.syscall(CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)), ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    try:
        for paths, rights in ((readable, READ), (writable, handled)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = rights & handled if os.path.isdir(path) else rights & handled & FILE_RIGHTS
                    rule = PathBeneathAttr(allowed, fd)
                    if libc.syscall(ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                        return False
                finally:
                    os.close(fd)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return False
        return libc.syscall(RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) == 0
    finally:
        os.close(ruleset)
