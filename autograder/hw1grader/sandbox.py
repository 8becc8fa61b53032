"""The walls of the student room: what the process running a submission can see and do.

With bubblewrap (``bwrap``), the student room runs in fresh namespaces: its own process tree (every
process it starts dies with it: no daemon, thread or exit hook outlives it), only loopback networking
(the kernel talks to nbclient over it; nothing can download), no capabilities, and a filesystem made
of read-only system folders and the Python installation, plus the submission's folder, the record
folder and the student-side half of this package (``ROOM_MODULES``). The autograder's source, the
clean room's code, other submissions and the rest of the machine are simply not there.

Without bwrap the student room is only a separate process (``mode() == "process"``); the grading
output says so.
"""

import functools
import os
import shutil
import subprocess
import sys

# The modules the student room imports; nothing here computes an expected answer.
ROOM_MODULES = ("__init__.py", "config.py", "inputs.py", "inputs_p5.py", "p3net.py",
                "probes.py", "probes_p4.py", "probes_p5.py", "student_room.py")

SYSTEM_DIRS = ("/usr", "/etc", "/opt")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ROOM_UID = 65534  # nobody


@functools.lru_cache(maxsize=None)
def mode():
    """'bwrap' when this machine lets us build the walls, else 'process'."""
    if os.environ.get("HW1_SANDBOX") == "process" or not shutil.which("bwrap"):
        return "process"
    try:
        ok = subprocess.run(["bwrap", *walls([], []), "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return "bwrap" if ok else "process"


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
    """The command, run inside the walls when we have them."""
    if mode() != "bwrap":
        return command
    return ["bwrap", *walls([library], [workdir, record_dir]), "--chdir", workdir, *command]
