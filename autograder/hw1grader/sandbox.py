"""The walls around submitted code: what the student room and the judge can see and do.

``mode()`` picks the strongest walls this machine allows; the grading output names them.

``bwrap``: with bubblewrap, submitted code runs in fresh namespaces: its own process tree (every process
it starts dies with it), only loopback networking (the kernel talks to nbclient over it; nothing can
download), and a filesystem of read-only system folders and the Python installation, plus its own
folders and the student-side half of this package (``room_library``). The autograder's source, the
clean room's code, other submissions and the rest of the machine are simply not there. Run by root,
bubblewrap makes no user namespace (its uid 65534 would be root outside): it makes the other
namespaces, and the code inside runs as a user of its own (``room_uid``), as in mode ``uid``.

``uid``: bwrap cannot make namespaces (as in a Docker container, Gradescope's among them) but we are
root. Submitted code runs as a user of its own (no account, no capabilities, no way back to root
through set-uid programs: ``without_privileges``). That user owns only its own folders (``hand_over``);
the grader's folders are closed to it (``close``). Without namespaces this cannot cut the network of
the student room, nor hide what the machine leaves readable to everyone: grade on a machine without
other copies of this homework's solutions or grader (Gradescope's container has none).

``process``: neither (not root, no bwrap): submitted code runs only in a separate process.

In every mode a room is held to ``config.ROOM_PROCESSES`` processes and, together, to
``config.ROOM_MEMORY_MB`` of memory (``Watch``), the kernel's out-of-memory killer takes it before the
grader, and ``end`` stops every process it left without starting one. The judge (``judge.py``) has
walls of its own (``judge_command``): no third-party package but the judge's own (``judge_site``: in
bwrap the rest is not mounted; in uid mode the Python's package folders are closed to its user, who is
not in the room's group ``ROOM_GROUP``), and a seccomp filter it installs itself.

``HW1_SANDBOX=bwrap|uid|process`` forces a mode (the tests use it).
"""

import functools
import glob
import importlib.util
import os
import pwd
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import zlib

from . import problems, seccomp
from .config import CLEANUP_SECONDS, FONT_LISTS, ROOM_DISK_RESERVE_MB, ROOM_FILE_MB, ROOM_MEMORY_MB, ROOM_PROCESSES, ROOM_TMP_MB

MODES = ("bwrap", "uid", "process")

# What the grading output says of each mode: one sentence, for the instructor more than the student.
WALLS = {"bwrap": "in a sandbox of its own",
         "uid": "as a user of its own, without privileges",
         "process": "in a separate process"}

# The framework's modules that submitted code runs next to (the student room's and the judge's); with
# each problem's problems.ROOM_FILES they make the room's library. Nothing here computes an expected answer.
ROOM_MODULES = ("__init__.py", "config.py", "inputs.py", "probing.py", "definitions.py", "student_room.py",
                "judge.py", "seccomp.py", "landlock.py")

SYSTEM_DIRS = ("/usr", "/etc", "/opt")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ROOM_UID = 65534  # nobody: the room's uid inside bwrap's user namespace (bwrap run by another user than root)

# Each room (and each judge) gets its own uid (and gid of the same number) from this range, far above what
# accounts and containers' subordinate ids use (but below 2**31, which some tools read as negative). So two
# rooms grading at once cannot touch each other's files or processes, and "every process of the room's
# user" is exactly what one submission started.
ROOM_UIDS = range(1_500_000_000, 1_500_000_000 + (1 << 20))
# The group that may read the Python's package folders in mode uid: the student room's user is in it,
# the judge's is not (so torch is out of the judge's reach).
ROOM_GROUP = ROOM_UIDS.start - 1
END_PATIENCE = 30  # seconds end() tries to stop a room's processes before it gives up
JUDGE_SITE_IN_BWRAP = "/hw1-judge-site"


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


def as_root():
    return os.geteuid() == 0


def bwrap_works():
    if not shutil.which("bwrap") or (as_root() and not shutil.which("setpriv")):
        return False
    command = ["bwrap", *walls([], []), *switch_user(room_uid("probe"), []), "true"]
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def uid_works():
    """Whether a room user can start this Python and import what the room needs. It cannot when the
    interpreter lives in root's home (0700), where pyenv and uv put theirs unless told otherwise."""
    try:
        return subprocess.run(without_privileges([sys.executable, "-c", "import nbclient, numpy"]),
                              capture_output=True, timeout=60, cwd="/", env={},
                              **as_user(room_uid("probe"), [ROOM_GROUP])).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def python_dirs():
    """The folders a Python interpreter of this environment needs, resolved through symlinks."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    return sorted({os.path.realpath(d) for d in dirs} | dirs)


# the room's library


def room_files():
    """The paths, relative to the package, of every module submitted code runs next to."""
    files = list(ROOM_MODULES) + ["problems/__init__.py"]
    return files + [f"problems/{name}/{f}" for name in problems.PROBLEMS for f in problems.ROOM_FILES]


SECRET = re.compile(r"^HIDDEN_INPUT_SEED = .*$", re.M)


def room_library(parent):
    """A copy of the room's modules under parent/hw1grader, the term's secret taken out of config.py;
    returns parent, for PYTHONPATH."""
    here = os.path.dirname(os.path.abspath(__file__))
    for relative in room_files():
        target = os.path.join(parent, "hw1grader", relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(os.path.join(here, relative), encoding="utf-8") as f:
            text = f.read()
        if relative == "config.py":
            text = SECRET.sub("HIDDEN_INPUT_SEED = None  # the grader's alone", text)
        with open(target, "w", encoding="utf-8") as f:
            f.write(text)
    os.makedirs(os.path.join(parent, FONT_LISTS))
    for path in font_lists():
        shutil.copyfile(path, os.path.join(parent, FONT_LISTS, os.path.basename(path)))
    return parent


def font_lists():
    """matplotlib's lists of this machine's fonts, as the grader's own user has them cached (setup.sh
    makes one on Gradescope), found where matplotlib keeps them without importing it: a room starts
    with a copy, and its first figure does not spend a second listing the fonts again."""
    folder = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
    return sorted(p for p in glob.glob(os.path.join(folder, "fontlist-v*.json")) if os.path.isfile(p))


# bwrap


def walls(readable, writable, system_dirs=SYSTEM_DIRS, hidden=(), python=True):
    """bwrap's namespaces and filesystem: the system folders, the Python installation (unless python is
    False), readable and writable folders (paths, or (source, destination) pairs), and empty folders over
    `hidden` ones."""
    namespaces = (["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                   "--cap-add", "CAP_SETUID,CAP_SETGID"] if as_root()
                  else ["--unshare-all", "--uid", str(ROOM_UID), "--gid", str(ROOM_UID)])
    args = ["--die-with-parent", "--new-session", *namespaces, "--proc", "/proc", "--dev", "/dev",
            "--size", str(ROOM_TMP_MB << 20), "--tmpfs", "/tmp",  # a tmpfs is memory: bounded
            "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp"]
    for d in system_dirs:
        if os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for link in SYSTEM_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    binds = [("--ro-bind", *(d if isinstance(d, tuple) else (d, d))) for d in [*(python_dirs() if python else ()), *readable]]
    binds = [b for b in binds if os.path.exists(b[1])] + [("--bind", d, d) for d in writable]
    # the folders that lead to a mounted one exist only inside: bwrap makes them 0700 when run by root,
    # which would bar the room's user from what is mounted in them
    ancestors = sorted({a for _, _, dest in binds for a in parents(dest)} - {"/", "/tmp", *system_dirs},
                       key=lambda a: a.count("/"))
    for folder in ancestors:
        args += ["--perms", "0755", "--dir", folder]
    for kind, source, dest in binds:
        args += [kind, source, dest]
    for d in hidden:
        args += ["--tmpfs", d]
    return args


def parents(path):
    """The folders above path, from the top."""
    parts = os.path.normpath(path).split("/")[1:-1]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def switch_user(uid, groups):
    """What bwrap runs first, as root: setpriv, to leave root for uid (no capabilities, no set-uid
    programs). Nothing when bwrap is run by another user (its user namespace already maps to that user)."""
    if not as_root():
        return []
    group_args = ["--groups", ",".join(map(str, groups))] if groups else ["--clear-groups"]
    return [shutil.which("setpriv") or "setpriv", "--reuid", str(uid), "--regid", str(uid), *group_args,
            "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]


def enclose(command, *, uid, groups, readable, writable, workdir, judge=False):
    """The command as it must be started in this mode (in mode uid, also with as_user(uid, groups))."""
    if mode() == "bwrap":
        if judge:
            args = walls(readable, writable, system_dirs=("/usr", "/etc"), python=False, hidden=third_party_dirs())
        else:
            args = walls(readable, writable)
        return ["bwrap", *args, "--chdir", workdir, *switch_user(uid, groups), *command]
    if mode() == "uid":
        return without_privileges(command)
    return command


# the judge's Python


def judge_python():
    """The base interpreter (outside any virtual environment): run with -I -S it sees only the standard library."""
    return os.path.realpath(sys.executable)


def stdlib_prefix():
    return os.path.realpath(sys.base_prefix)


def judge_packages():
    """{folder name: path} of the judge's packages (judge.JUDGE_PACKAGES) and their bundled libraries."""
    from .judge import JUDGE_PACKAGES

    found = {}
    for name in JUDGE_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = os.path.realpath(list(spec.submodule_search_locations)[0])
        found[name] = folder
        libs = os.path.join(os.path.dirname(folder), name + ".libs")
        if os.path.isdir(libs):
            found[name + ".libs"] = os.path.realpath(libs)
    return found


def third_party_dirs():
    """The package folders (site-packages, dist-packages) of every Python the judge's filesystem shows:
    bwrap covers them with empty folders, so that only the judge's own packages exist for it."""
    patterns = [os.path.join(stdlib_prefix(), "lib", "python3*", "site-packages"),
                "/usr/lib/python3*/dist-packages", "/usr/lib/python3*/site-packages",
                "/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages"]
    return sorted({d for pattern in patterns for d in glob.glob(pattern) if os.path.isdir(d)})


def site_dirs():
    """This Python's package folders (every site-packages or dist-packages on its path): what mode uid
    closes to the judge's user."""
    return sorted({os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)
                   and os.path.basename(p.rstrip("/")) in ("site-packages", "dist-packages")})


def judge_site():
    """A folder holding only the judge's packages, that a judge's user can read when the package folders
    are closed (mode uid): made once, beside this Python's prefix, of hard links (copies across
    filesystems). Returns its path."""
    from .judge import JUDGE_PACKAGES

    key = "-".join(f"{n}{getattr(__import__(n), '__version__', '')}" for n in JUDGE_PACKAGES)
    site = os.path.join(os.path.realpath(sys.prefix), f"hw1-judge-site-{zlib.crc32(key.encode()):08x}")
    if os.path.isdir(site):
        return site
    scratch = f"{site}.{os.getpid()}.part"
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)

    def link_or_copy(source, dest):
        try:
            os.link(source, dest)
        except OSError:
            shutil.copy2(source, dest)

    for name, folder in judge_packages().items():
        shutil.copytree(folder, os.path.join(scratch, name), copy_function=link_or_copy, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "tests"))
    for root, dirs, files in os.walk(scratch):
        os.chmod(root, 0o755)
    try:
        os.rename(scratch, site)
    except OSError:  # another grade made it meanwhile
        shutil.rmtree(scratch, ignore_errors=True)
    return site


def judge_command(record_dir, library):
    """The judge's command line: the base Python, isolated (-I) and without site packages (-S), with the
    room's library and the judge's packages on its path."""
    site = JUDGE_SITE_IN_BWRAP if mode() == "bwrap" else judge_site()
    bootstrap = (f"import sys; sys.path[:0] = [{library!r}, {site!r}]; "
                 "from hw1grader.judge import main; sys.exit(main())")
    return [judge_python(), "-I", "-S", "-c", bootstrap, record_dir]


def judge_readable(library):
    """What the judge may read in mode bwrap: the standard library, the room's library, and its packages
    mounted in one folder of their own."""
    mounts = [(path, os.path.join(JUDGE_SITE_IN_BWRAP, name)) for name, path in judge_packages().items()]
    return [stdlib_prefix(), os.path.dirname(judge_python()), library, *mounts]


# users, groups and limits (modes uid and bwrap run by root)


def room_uid(room):
    """The uid and gid a room runs as: a number of ROOM_UIDS derived from the room's folder name, that no
    account has and no process uses."""
    start = zlib.crc32(os.path.abspath(room).encode())
    for i in range(len(ROOM_UIDS)):
        uid = ROOM_UIDS[(start + i) % len(ROOM_UIDS)]
        try:
            pwd.getpwuid(uid)
        except KeyError:
            if not processes_of(uid):
                return uid
    raise RuntimeError("no free uid for the student room")


def as_user(uid, groups=()):
    """subprocess.Popen's arguments that start a command as uid, with gid uid and the given groups.
    Going from root to another uid, the process loses every capability."""
    return {} if uid is None else {"user": uid, "group": uid, "extra_groups": list(groups)}


def limits():
    """Run in the child before it executes submitted code (mode uid: already as the room's user; bwrap:
    as the grader, before bwrap): at most ROOM_PROCESSES processes of that user, files of at most
    ROOM_FILE_MB, no POSIX message queue, no System V IPC (seccomp.install_room: memory no process
    holds), first in line for the out-of-memory killer (a value only a privileged process could lower),
    and killed if the grader dies."""
    resource.setrlimit(resource.RLIMIT_NPROC, (ROOM_PROCESSES, ROOM_PROCESSES))  # counted per user: ours alone
    resource.setrlimit(resource.RLIMIT_FSIZE, (ROOM_FILE_MB << 20, ROOM_FILE_MB << 20))
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))
    import ctypes

    # a process whose uid just changed is not "dumpable": its /proc/self files belong to root, and it
    # could not raise its own oom_score_adj; it may make itself dumpable again (as it is after exec)
    ctypes.CDLL(None, use_errno=True).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    seccomp.install_room()
    die_with_grader()


def die_with_grader():
    """The child gets SIGKILL when the grader dies (a regrade that kills a grade past its time)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def protect_grader():
    """The grader itself last in line for the out-of-memory killer, where it may say so (CAP_SYS_RESOURCE)."""
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("-500")
    except OSError:
        pass


def without_privileges(command):
    """The command with no_new_privs set, when util-linux's setpriv is there: set-uid programs (su, mount)
    then run without their privileges, so root is out of reach even through one of their bugs."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--no-new-privs", "--", *command] if setpriv else command


CHANGED = {}  # {path: (mode, uid, gid)} as they were before a grade changed them (restore)


def change(path, mode, uid=None, gid=None):
    """chmod (and chown) a folder, noting how it was for restore()."""
    info = os.stat(path)
    CHANGED.setdefault(path, (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid))
    if uid is not None:
        os.chown(path, uid, gid)
    os.chmod(path, mode)


def restore():
    """Put the grader's folders back as they were before the grade (a checkout graded in mode uid). The
    package folders stay closed to other users while any grade runs (a judge could reach torch)."""
    for path, (mode, uid, gid) in list(CHANGED.items()):
        if path in set(site_dirs()) and others_grading():
            continue
        try:
            os.chown(path, uid, gid)
            os.chmod(path, mode)
        except OSError:
            pass
        del CHANGED[path]


def others_grading():
    """Whether another grade's rooms are running on this machine (processes of the room uids)."""
    return any(proc_status(name) and int(proc_status(name)["Uid"].split()[1]) in ROOM_UIDS
               for name in os.listdir("/proc") if name.isdigit())


def close(folders):
    """Make the grader's folders root's alone (0700). A folder holding the Python installation is left
    open: the room could not start without it (and a package installed there is no secret anyway)."""
    python = [os.path.realpath(d) for d in python_dirs()]
    for folder in folders:
        real = os.path.realpath(folder)
        if os.path.isdir(real) and not any(inside(p, real) or inside(real, p) for p in python):
            change(real, 0o700)


def close_packages_to_judge():
    """Mode uid: this Python's package folders readable by root and ROOM_GROUP only (0750), so that the
    judge's user, who is not in that group, finds no third-party package but its own (judge_site)."""
    for folder in site_dirs():
        change(folder, 0o750, 0, ROOM_GROUP)


def inside(path, folder):
    return os.path.commonpath([path, folder]) == folder


def hand_over(room, uid, writable, readable):
    """Give a user its folders: writable ones become its own (0700), readable ones readable by all,
    whatever our umask. The room itself stays root's (0711: the user can pass through but not list it,
    nor rename or replace what is in it, such as the record folder)."""
    os.chmod(room, 0o711)
    for folder in writable:
        for path, info in walk(folder):
            os.lchown(path, uid, uid)
        os.chmod(folder, 0o700)
    for folder in readable:
        for path, info in walk(folder):
            if not stat.S_ISLNK(info.st_mode):
                os.chmod(path, 0o755 if stat.S_ISDIR(info.st_mode) else 0o644)


def take_back(folder):
    """Once a user's processes are gone: the record folder is root's alone (0700; what is inside can stay
    the user's, no one else can reach it now), and it keeps only files the user wrote itself at its top.
    A hard link (link count above 1) could name a file the user may not read, where
    fs.protected_hardlinks is off: the clean room, reading as root, would show it."""
    os.lchown(folder, 0, 0)
    os.chmod(folder, 0o700)
    with os.scandir(folder) as entries:
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                os.unlink(entry.path)


SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")  # where any user may leave files


def remove_leftovers(uid, seconds=CLEANUP_SECONDS):
    """Once a user's processes are gone: whatever it made in the machine's shared folders (a file for a
    later grade to read, memory held in /dev/shm) is removed, within `seconds` (None: no limit); what is
    left then, after the results (intake.finish_removals)."""
    from .intake import UNFINISHED, remove_path

    until = None if seconds is None else time.monotonic() + seconds
    for shared in SHARED_TMP:
        try:
            with os.scandir(shared) as entries:
                for entry in entries:
                    if until is not None and time.monotonic() > until:
                        UNFINISHED.append(lambda: remove_leftovers(uid, seconds=None))
                        return
                    try:
                        if entry.stat(follow_symlinks=False).st_uid == uid:
                            remove_path(entry.path, until)
                    except OSError:
                        pass
        except OSError:
            continue


def walk(top):
    """(path, lstat) of top and everything under it, without following links and without recursion
    (a submission can make folders thousands deep)."""
    stack = [top]
    while stack:
        path = stack.pop()
        try:
            info = os.lstat(path)
        except OSError:
            continue
        yield path, info
        if stat.S_ISDIR(info.st_mode):
            try:
                with os.scandir(path) as entries:
                    stack.extend(entry.path for entry in entries)
            except OSError:
                pass


# ending a room, watching its memory


def processes_of(uid):
    """The pids of the processes whose real, effective or saved uid is uid. A zombie (it has ended; only
    its exit status is left) is not counted, unless threads of it still run."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        status = proc_status(name)
        if status is None:
            continue
        ended = status["State"].split()[0] in ("Z", "X") and int(status["Threads"]) <= 1
        if not ended and str(uid) in status["Uid"].split()[:3]:
            pids.append(int(name))
    return pids


def proc_status(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return dict(line.split(":", 1) for line in f if ":" in line)
    except (OSError, ValueError):
        return None  # it ended meanwhile


def signal_user(uid, signum):
    """Send signum to every process of uid, each through a pidfd checked after it is opened (so a pid reused
    by another program meanwhile is never hit). Returns how many were signalled. Starts no process."""
    hit = 0
    for pid in processes_of(uid):
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            continue
        try:
            status = proc_status(pid)
            if status is not None and str(uid) in status["Uid"].split()[:3]:
                signal.pidfd_send_signal(fd, signum)
                hit += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return hit


def end(uid):
    """Stop every process of a room's user, and wait until none is left: nothing the submission started
    (a daemon, a process that left the session, a fork bomb) acts after this. Each process is first
    frozen (SIGSTOP: a frozen process starts no other), then killed; the grader starts no process to do it."""
    deadline = time.monotonic() + END_PATIENCE
    while processes_of(uid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes of the student room (uid {uid}) would not die: {processes_of(uid)}")
        while signal_user(uid, signal.SIGSTOP) and time.monotonic() < deadline:
            if all(proc_status(pid) is None or proc_status(pid)["State"].split()[0] in ("T", "Z", "X")
                   for pid in processes_of(uid)):
                break
        signal_user(uid, signal.SIGKILL)
        time.sleep(0.02)


def descendants(pid):
    """The pids under pid in the process tree (read from /proc, without recursion)."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            status = proc_status(name)
            if status is not None:
                children.setdefault(int(status.get("PPid", "0").strip() or 0), []).append(int(name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def memory_of(pids, uid=None, proportional=True):
    """The memory (MB) these processes hold together: each one's proportional share of its pages (PSS), so
    that the pages forked processes share (a DataLoader's workers, a fork of the kernel) count once; the
    resident size where the kernel gives no PSS, or where not `proportional` (an upper bound, read in
    microseconds, where the PSS costs the kernel a walk of every page table: 15 ms for a process with
    torch). Memory no process maps is counted too: the memfds they hold open, and (with uid) the files of
    that user in the shared tmpfs (/dev/shm)."""
    total, memfds = 0, {}
    for pid in pids:
        try:
            if not proportional:
                raise OSError
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError):
            status = proc_status(pid)
            if status and "VmRSS" in status:
                total += int(status["VmRSS"].split()[0])
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                path = f"/proc/{pid}/fd/{fd}"
                if os.readlink(path).startswith("/memfd:"):
                    info = os.stat(path)
                    memfds[(info.st_dev, info.st_ino)] = info.st_blocks * 512
        except OSError:
            pass
    shm = 0
    if uid is not None:
        for path, info in walk("/dev/shm"):
            if info.st_uid == uid and stat.S_ISREG(info.st_mode):
                shm += info.st_blocks * 512
    return total / 1024 + (sum(memfds.values()) + shm) / 2**20


def disk_free_mb(folder):
    try:
        info = os.statvfs(folder)
    except OSError:
        return float("inf")
    return info.f_bavail * info.f_frsize / 2**20


class Watch(threading.Thread):
    """Watches what a room holds with all its processes together (the per-process caps cannot stop many
    processes that each stay under them): past `limit_mb` of memory, or when the disk of its folder has
    less than ROOM_DISK_RESERVE_MB left (the results must still be written), the room is ended, and
    `exceeded` says why."""

    def __init__(self, proc, uid, folder, limit_mb=ROOM_MEMORY_MB, every=0.25):
        super().__init__(daemon=True)
        self.proc, self.uid, self.folder, self.limit_mb, self.every = proc, uid, folder, limit_mb, every
        self.exceeded, self._done = "", threading.Event()

    def pids(self):
        pids = {self.proc.pid, *descendants(self.proc.pid)}
        return pids | (set(processes_of(self.uid)) if self.uid is not None else set())

    def run(self):
        while not self._done.wait(self.every):
            pids = self.pids()
            # the resident sizes first: a process's PSS is never more than them, so the PSS (costly) is
            # read only when they add up to more than the limit
            if memory_of(pids, self.uid, proportional=False) > self.limit_mb and memory_of(pids, self.uid) > self.limit_mb:
                self.end(f"used more than the memory it may use ({self.limit_mb} MB)")
            elif disk_free_mb(self.folder) < ROOM_DISK_RESERVE_MB:
                self.end("filled the disk")

    def end(self, why):
        self.exceeded = why
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.uid is not None:
            signal_user(self.uid, signal.SIGKILL)

    def stop(self):
        self._done.set()
