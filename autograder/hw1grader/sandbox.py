"""The walls of the student room: what the process running a submission can see and do.

``mode()`` picks the strongest walls this machine allows; the grading output names them.

``bwrap``: with bubblewrap, the student room runs in fresh namespaces: its own process tree (every
process it starts dies with it: no daemon, thread or exit hook outlives it), only loopback networking
(the kernel talks to nbclient over it; nothing can download), no capabilities, and a filesystem made
of read-only system folders and the Python installation, plus the submission's folder, the record
folder and the student-side half of this package (``ROOM_MODULES``). The autograder's source, the
clean room's code, other submissions and the rest of the machine are simply not there.

``uid``: bwrap cannot make namespaces (as in a Docker container, Gradescope's among them) but we are
root. The room runs as a user of its own (``room_uid``: no account, no groups, no capabilities, and
with util-linux's setpriv no way back to root through set-uid programs). It owns only its copy of the
submission, its record folder and a home folder (``hand_over``); the grader's folders are closed to it
(``close``: otter's autograder folder, with the tests, the original submission and the results, and
the folder this package is imported from). When the room ends, every process of that user is killed
(``end``), and the record folder is root's again (``take_back``) before the clean room reads it.
Without namespaces this cannot cut the network (a submission could download or upload), nor hide what
the machine leaves readable to everyone: system files, the Python installation (which must be, see
``uid_works``), and any other copy of this homework's solutions or grader, so grade on a machine
without one (Gradescope's container has none).

``process``: neither (not root, no bwrap): the student room is only a separate process.

``HW1_SANDBOX=bwrap|uid|process`` forces a mode (the tests use it).
"""

import functools
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
import zlib

MODES = ("bwrap", "uid", "process")

# What the grading output says of each mode: one sentence, for the instructor more than the student.
WALLS = {"bwrap": "in a sandbox of its own",
         "uid": "as a user of its own, without privileges",
         "process": "in a separate process"}

# The modules the student room imports; nothing here computes an expected answer.
ROOM_MODULES = ("__init__.py", "config.py", "inputs.py", "inputs_p5.py", "p3net.py",
                "probes.py", "probes_p4.py", "probes_p5.py", "student_room.py")

SYSTEM_DIRS = ("/usr", "/etc", "/opt")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ROOM_UID = 65534  # nobody: the room's uid inside bwrap's user namespace

# uid mode: each room gets its own uid (and gid of the same number) from this range, far above what
# accounts and containers' subordinate ids use (but below 2**31, which some tools read as negative).
# So two rooms grading at once cannot touch each other's files or processes, and "every process of the
# room's user" is exactly what one submission started. (Where these ids are not mapped, in a container
# with a user namespace, uid_works() fails and the mode is 'process'.)
ROOM_UIDS = range(1_500_000_000, 1_500_000_000 + (1 << 20))
END_PATIENCE = 30  # seconds end() waits for the room's processes to die before it gives up


@functools.lru_cache(maxsize=None)
def mode():
    """'bwrap' when this machine lets us build the walls, else 'uid' when we are root and another user
    can run this Python, else 'process'. Cached: each grade runs in a process of its own."""
    forced = os.environ.get("HW1_SANDBOX")
    if forced in MODES:
        return forced
    if bwrap_works():
        return "bwrap"
    if os.geteuid() == 0 and uid_works():
        return "uid"
    return "process"


def bwrap_works():
    if not shutil.which("bwrap"):
        return False
    try:
        return subprocess.run(["bwrap", *walls([], []), "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def uid_works():
    """Whether a room user can start this Python and import what the room needs. It cannot when the
    interpreter lives in root's home (0700), where pyenv and uv put theirs unless told otherwise."""
    try:
        return subprocess.run(without_privileges([sys.executable, "-c", "import nbclient, numpy"]),
                              capture_output=True, timeout=60, cwd="/", env={}, **as_user(room_uid("probe"))
                              ).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def python_dirs():
    """The folders a Python interpreter of this environment needs, resolved through symlinks."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    return sorted({os.path.realpath(d) for d in dirs} | dirs)


def walls(readable, writable):
    """bwrap's arguments for a room that sees readable (read-only) and writable folders besides the system."""
    args = ["--die-with-parent", "--new-session", "--unshare-all", "--uid", str(ROOM_UID), "--gid", str(ROOM_UID),
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--setenv", "HOME", "/tmp",
            "--setenv", "MPLCONFIGDIR", "/tmp"]
    for d in SYSTEM_DIRS:
        if os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for link in SYSTEM_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    for d in [*python_dirs(), *readable]:
        if os.path.exists(d):
            args += ["--ro-bind", d, d]
    for d in writable:
        args += ["--bind", d, d]
    return args


def room_library(parent):
    """A copy of the student-side modules under parent; returns the folder to put on PYTHONPATH."""
    here = os.path.dirname(os.path.abspath(__file__))
    package = os.path.join(parent, "hw1grader")
    os.makedirs(package)
    for name in ROOM_MODULES:
        if os.path.isfile(os.path.join(here, name)):
            shutil.copy(os.path.join(here, name), package)
    return parent


def enclose(command, *, library, workdir, record_dir):
    """The command, run inside the walls when we have them (in uid mode, also start it with as_user)."""
    if mode() == "bwrap":
        return ["bwrap", *walls([library], [workdir, record_dir]), "--chdir", workdir, *command]
    if mode() == "uid":
        return without_privileges(command)
    return command


# uid mode


def room_uid(room):
    """The uid and gid a room runs as: a number of ROOM_UIDS derived from the room's folder name, that no
    account has and no process uses."""
    start = zlib.crc32(os.path.basename(room).encode())
    for i in range(len(ROOM_UIDS)):
        uid = ROOM_UIDS[(start + i) % len(ROOM_UIDS)]
        try:
            pwd.getpwuid(uid)
        except KeyError:
            if not processes_of(uid):
                return uid
    raise RuntimeError("no free uid for the student room")


def as_user(uid):
    """subprocess.Popen's arguments that start a command as uid, with gid uid and no other group. Going
    from root to another uid, the process loses every capability."""
    return {} if uid is None else {"user": uid, "group": uid, "extra_groups": []}


def without_privileges(command):
    """The command with no_new_privs set, when util-linux's setpriv is there: set-uid programs (su, mount)
    then run without their privileges, so root is out of reach even through one of their bugs."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--no-new-privs", "--", *command] if setpriv else command


def close(folders):
    """Make the grader's folders root's alone (0700). A folder holding the Python installation is left
    open: the room could not start without it (and a package installed there is no secret anyway)."""
    python = [os.path.realpath(d) for d in python_dirs()]
    for folder in folders:
        real = os.path.realpath(folder)
        if os.path.isdir(real) and not any(inside(p, real) or inside(real, p) for p in python):
            os.chmod(real, 0o700)


def inside(path, folder):
    return os.path.commonpath([path, folder]) == folder


def hand_over(room, uid, writable, readable):
    """Give the room's user its folders: writable ones become its own (0700), readable ones (the library)
    readable by all, whatever our umask. The room itself stays root's (0711: the user can pass through
    but not list it, nor rename or replace what is in it, such as the record folder)."""
    os.chmod(room, 0o711)
    for folder in writable:
        chown_tree(folder, uid)
        os.chmod(folder, 0o700)
    for folder in readable:
        for root, dirs, files in os.walk(folder):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)


def end(uid):
    """Kill every process of the room's user, and wait until none is left: nothing the submission started
    (a daemon, a process that left the session, a thread or exit hook still running) acts after this."""
    deadline = time.monotonic() + END_PATIENCE
    while processes_of(uid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of the student room (uid {uid}) would not die: {processes_of(uid)}")
        # kill(-1) sent by a process of that user reaches all its others at once, within the kernel: no
        # fork slips through, and no pid read from /proc meanwhile belongs to another program
        subprocess.run([sys.executable, "-I", "-S", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"],
                       cwd="/", env={}, **as_user(uid), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.05)


def take_back(folder):
    """Once the room's processes are gone: the record folder is root's alone (0700; what is inside can stay
    the user's, no one else can reach it now), and it keeps only files the room wrote itself. A hard link
    (link count above 1) could name a file the room's user may not read, where fs.protected_hardlinks is
    off: the clean room, reading as root, would show it."""
    os.lchown(folder, 0, 0)
    os.chmod(folder, 0o700)
    for root, dirs, files in os.walk(folder):
        for name in files:
            info = os.lstat(os.path.join(root, name))
            if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                os.unlink(os.path.join(root, name))


def chown_tree(folder, uid):
    os.lchown(folder, uid, uid)
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, uid)


def processes_of(uid):
    """The pids of the processes whose real, effective or saved uid is uid. A zombie (it has ended; only
    its exit status is left) is not counted, unless threads of it still run."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
        except (OSError, ValueError):
            continue  # it ended meanwhile
        ended = status["State"].split()[0] in ("Z", "X") and int(status["Threads"]) <= 1
        if not ended and str(uid) in status["Uid"].split()[:3]:
            pids.append(int(name))
    return pids
