"""Clean-room grading: no submission can grade itself.

Each attack is a notebook that answers nothing (the release's set-up cell) with an attack cell added:
whatever it does, it must score 0 on every question (it answers none honestly), and the grade must not carry anything it could only
have read from the grader's side. One attack per class of the threat model (issue 6), in each sandbox
mode that must stop it: "bwrap" (namespaces) and "uid" (root without namespaces: the room runs as a
user of its own).
"""

import errno
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import nbformat
import pytest

import catalogue_attacks
from conftest import scores
from hw1grader import sandbox

# the forward functions the homework gives, for Problem 5's attacks to build on
P5_GIVEN = """import numpy as np
def affine_forward(x, w, b):
    return x @ w + b, (x, w, b)
def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out
"""

ATTACKS = {
    # the attack reported in the issue: otter's test results patched in the student's kernel
    "patch_otter_results": '''
import otter.test_files.abstract_test as _at
_orig = _at.TestCaseResult._orig = getattr(_at.TestCaseResult, "_orig", _at.TestCaseResult.__init__)  # the cell may run again
def _init(self, *a, **k):
    _orig(self, *a, **k)
    self.passed = True
_at.TestCaseResult.__init__ = _init
''',
    # comparisons and maths patched everywhere the student's process can reach
    "patch_numpy_builtins_math": '''
import builtins, math, numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)
np.testing.assert_allclose = lambda *a, **k: None
builtins.abs = lambda x: 0
math.isclose = lambda *a, **k: True
''',
    # answers whose comparison and conversion methods are rigged
    "rigged_objects": '''
import numpy as np
class Liar(float):
    def __eq__(self, other): return True
    __ne__ = lambda self, other: False
    def __array__(self, dtype=None, copy=None): return np.zeros(13)
    def __float__(self): return 0.0
    def __len__(self): return 13
    def __getitem__(self, i): return Liar()
liar = Liar()
grad_sq_norm = best_mu = l1_loss = squared_loss_grad = lambda *a: liar
f_x2 = liar
theta_dataset1 = theta_dataset2 = grad_f_x2 = {k: liar for k in ("W_H", "b_H", "W_O", "b_O")}
''',
    # hooks, threads and processes that act after the notebook ends
    "exit_hooks_threads_daemons": '''
import atexit, glob, os, subprocess, threading, time
import numpy as np
def forge():
    for d in glob.glob("/tmp/hw1-room-*/record"):
        for q in ("q1_grad", "q1_mu", "q2_l1_loss", "q3c"):
            np.savez(os.path.join(d, q + ".npz"), value=np.float64(0))
atexit.register(forge)
threading.Thread(target=lambda: [forge() or time.sleep(0.01) for _ in range(10**6)], daemon=True).start()
subprocess.Popen(["sh", "-c", "sleep 3; while true; do for f in /tmp/*/autograder/results/results.json; do echo HACKED > $f; done; sleep 0.2; done"],
                 start_new_session=True)
os.fork() == 0 and (time.sleep(5), forge(), os._exit(0))
''',
    # files replaced: tests, records, results, anything writable it can find
    "replace_files": '''
import glob, os
def overwrite(path, text):
    try: open(path, "w").write(text)
    except OSError: pass
for path in glob.glob("tests/*.py"):
    overwrite(path, "test = {'name': os.path.basename(path)[:-3], 'points': 0, 'suites': []}")
for d in glob.glob("/tmp/hw1-room-*/record") + ["."]:
    overwrite(os.path.join(d, "public.json"), "{}")
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/sys", "/dev")): dirs[:] = []; continue
    for name in {"results.json", "otter_config.json"} & set(files):
        overwrite(os.path.join(root, name), '{"score": 100}')
''',
    # reading what the grader knows, and showing it through the public tests' messages
    "read_secrets": '''
import os, otter.test_files.abstract_test as _at
found = []
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/sys", "/dev", "/usr")): dirs[:] = []; continue
    for name in files:
        if name in ("checks.py", "plugin.py", "hw1-autograder.zip", "otter_config.json") or name.endswith(".ipynb"):
            path = os.path.join(root, name)
            try: found.append(path + ":" + open(path, errors="replace").read()[:20000])
            except OSError: pass
_orig = _at.TestCaseResult._orig = getattr(_at.TestCaseResult, "_orig", _at.TestCaseResult.__init__)  # the cell may run again
def _init(self, *a, **k):
    _orig(self, *a, **k)
    self.message = "\\n".join(found)
_at.TestCaseResult.__init__ = _init
import hw1grader.student_room as _room
_room.one_line = lambda message: message
''',
    # records that are links to files only the grader can read
    "symlinked_records": '''
import glob, os
for d in glob.glob("/tmp/hw1-room-*/record"):
    for name in ("summary.txt", "public.json", "q1_grad.npz", "q3c.error.txt"):
        for target in ("/etc/passwd", "/proc/1/environ"):
            try: os.symlink(target, os.path.join(d, name)); break
            except OSError: pass
''',
    # leaving early
    "exit_early": "import os\nos._exit(0)\n",
    # Problem 5's gradients from torch autograd, reached where only the walls can stop it: the judge's Python
    # path extended to wherever torch is installed, and a Python with torch started from the function
    "p5_autograd_past_the_judge": P5_GIVEN + "\n".join(
        overrides[name] for question, label, overrides in catalogue_attacks.ATTACKS if label in catalogue_attacks.WALLS_ONLY
        for name in overrides),
}

# Attacks on the grader's own resources (issue 13): each must leave a results.json, nothing alive, and the
# grader unharmed
RECORD_DIR = """
import os
args = open(f"/proc/{os.getppid()}/cmdline").read().split("\\0")
record = next((a for a in args if a.endswith("/record")), None)
"""
RESOURCE_ATTACKS = {
    # processes until the system refuses: capped per room, and ended without the grader starting one
    "fork_bomb": """
import os, time
for _ in range(100000):
    try:
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
    except OSError:
        break
""",
    # many processes, each under the per-process cap, together far above the room's memory
    "memory_in_many_processes": """
import os, time
import numpy as np
for _ in range(80):
    if os.fork() == 0:
        block = np.ones(60 * 2**20 // 8)
        time.sleep(120)
        os._exit(0)
time.sleep(60)
""",
    # folders thousands deep, in the work folder and in the record folder
    "deep_folders": RECORD_DIR + """
start = os.getcwd()
for base in (start, record):
    if base and os.path.isdir(base):
        os.chdir(base)
        for _ in range(3000):
            os.mkdir("d")
            os.chdir("d")
os.chdir(start)
""",
    # records the clean room must read without recursing or inflating: nested JSON, an npz that claims 4 GB
    "hostile_records": RECORD_DIR + """
import atexit, io, zipfile
import numpy as np
def forge():
    for name in ("public.json", "reads.json", "summary.json"):
        open(os.path.join(record, name), "w").write("[" * 100000 + "]" * 100000)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (500_000_000,)})
    with zipfile.ZipFile(os.path.join(record, "q1_grad.npz"), "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("out0.npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            for _ in range(400):
                f.write(bytes(10 * 2**20))
atexit.register(forge)
""",
    # a code cell of 8 MB
    "huge_cell": "x = 1\n" * 1_400_000,
}

# strings that only the grader's side holds: they must not reach the student's results
SECRETS = ("def q1_grad(data, ctx)", "from .config import", '"W_H": [1, -1, 0, 0]', "root:x:0:0", "HACKED")


def runs_as_room_user(python):
    """Whether a room's user could start this Python with the packages grading needs."""
    probe = [python, "-c", "import nbclient, numpy"]
    user = sandbox.as_user(sandbox.room_uid("test"), [sandbox.ROOM_GROUP])  # as the room runs
    try:
        return subprocess.run(probe, cwd="/", env={}, capture_output=True, **user).returncode == 0
    except PermissionError:  # the interpreter itself is out of reach
        return False


@pytest.fixture(scope="session")
def room_python():
    """A Python that uid mode's room can run, with this environment's packages: this one, or when it lives
    where other users cannot go (pyenv's, under /root), a venv of the system's Python of the same minor
    version (the packages' binaries fit it) that adds this environment's site-packages; and when those
    are out of other users' reach too (CI clones into a private temporary folder), the same files
    hard-linked into the venv (nothing copied). None when we are not root (no uid mode) or there is no
    such Python."""
    if os.geteuid() != 0:
        yield None
        return
    if runs_as_room_user(sys.executable):
        yield sys.executable
        return
    base = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    purelib = sysconfig.get_paths()["purelib"]
    venv = tempfile.mkdtemp(prefix="hw1-python-")
    os.chmod(venv, 0o755)
    site_packages = os.path.join(venv, "lib", os.path.basename(base), "site-packages")
    os.makedirs(site_packages)
    os.makedirs(os.path.join(venv, "bin"))
    with open(os.path.join(venv, "pyvenv.cfg"), "w") as f:
        f.write(f"home = {os.path.dirname(base)}\ninclude-system-site-packages = false\n")
    pth = os.path.join(site_packages, "hw1_tests.pth")
    with open(pth, "w") as f:
        f.write(f"import site; site.addsitedir({purelib!r})\n")
    python = os.path.join(venv, "bin", "python")
    os.symlink(base, python)
    with open(os.path.join(venv, "bin", "otter"), "w") as f:  # what the grade fixture runs
        f.write(f"#!{python}\nimport sys\nfrom otter.cli import cli\nsys.exit(cli())\n")
    os.chmod(os.path.join(venv, "bin", "otter"), 0o755)
    if os.path.exists(base) and not runs_as_room_user(python):
        os.remove(pth)
        try:  # hard links: the files are readable, only the folders above them were not
            shutil.copytree(purelib, site_packages, symlinks=True, copy_function=os.link, dirs_exist_ok=True)
        except (OSError, shutil.Error):  # another filesystem
            pass
    yield python if os.path.exists(base) and runs_as_room_user(python) else None
    shutil.rmtree(venv)


@pytest.fixture(params=["bwrap", "uid"])
def mode(request, monkeypatch, room_python):
    """The sandbox mode a test grades in (HW1_SANDBOX reaches the grading process, which starts the room)."""
    if request.param == "bwrap" and not sandbox.bwrap_works():
        pytest.skip("bubblewrap cannot make namespaces here")
    if request.param == "uid":
        if room_python is None:
            pytest.skip("uid mode needs root and a Python that other users can run")
        monkeypatch.setattr(sys, "executable", room_python)  # the grade fixture grades with sys.executable
    monkeypatch.setenv("HW1_SANDBOX", request.param)
    return request.param


def ran_in(mode, results):
    """Whether the grading output says the student room was walled in as mode says."""
    return f'sandbox mode "{mode}"' in results["output"]


def answering_nothing(built):
    """The release's set-up cell alone (it makes the grader), with the release's metadata: a notebook
    that answers nothing, as the blank release does, without the 15 s of imports and data the rest of
    the release would add to every grade here."""
    nb = nbformat.read(built / "student_release" / "hw1.ipynb", as_version=4)
    nb.cells = [next(c for c in nb.cells if c.cell_type == "code")]
    return nb


def attacked(built, tmp_path, source):
    nb = answering_nothing(built)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    path = tmp_path / "hw1.ipynb"
    nbformat.write(nb, path)
    return path


# Attacks on the walls (files, processes, what can be read) run in every mode; attacks inside the
# student's own kernel (patches, rigged values, leaving early) meet the same clean room in every mode,
# so they run in the default mode only: that keeps the suite's time down.
WALL_ATTACKS = {"exit_hooks_threads_daemons", "replace_files", "read_secrets", "symlinked_records",
                "p5_autograd_past_the_judge"}


@pytest.mark.parametrize("mode, attack", [(mode, attack) for attack in sorted(ATTACKS)
                                          for mode in (("bwrap", "uid") if attack in WALL_ATTACKS else ("bwrap",))],
                         indirect=["mode"])
def test_attack_gains_nothing(attack, mode, built, grade, tmp_path):
    results = grade(attacked(built, tmp_path, ATTACKS[attack]), readable=False)  # it writes what it likes
    assert ran_in(mode, results), results["output"]
    assert scores(results) and set(scores(results).values()) == {0}, scores(results)
    text = str(results)
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"the results show what only the grader holds: {leaked}"


@pytest.mark.parametrize("mode, attack", [(mode, attack) for attack in sorted(RESOURCE_ATTACKS)
                                          for mode in (("bwrap", "uid") if attack in ("fork_bomb", "memory_in_many_processes",
                                                                                      "deep_folders") else ("bwrap",))],
                         indirect=["mode"])
def test_the_grader_outlives_an_attack_on_its_resources(attack, mode, built, grade, tmp_path):
    results = grade(attacked(built, tmp_path, RESOURCE_ATTACKS[attack]))  # a results.json, valid
    assert ran_in(mode, results), results["output"]
    assert scores(results) and set(scores(results).values()) == {0}
    if attack == "memory_in_many_processes":
        assert "more than the memory" in results["output"], results["output"]
    if attack == "huge_cell":  # refused before it is compiled: the rest of the notebook runs as usual
        assert "a cell may hold, and was not run" in results["output"] and "MemoryError" not in results["output"], \
            results["output"]


def test_gradients_by_numerical_differentiation_run_out_of_time(built, grade, tmp_path, monkeypatch):
    """Complex-step differentiation, a forward pass per entry, no derivative written: the layers lose
    their questions on the large hidden inputs; the network, an honest composition of them, keeps its.
    (Each probe gets 4 s here rather than 10: a backward pass written by hand takes milliseconds.)"""
    monkeypatch.setenv("HW1_PROBE_TIMEOUT", "4")
    results = grade(attacked(built, tmp_path, catalogue_attacks.COMPLEX_STEP))
    got = scores(results)
    assert {q: got[q] for q in got if got[q]} == {"q5_network_backward": 8}, got
    (affine,) = [t["output"] for t in results["tests"] if t["name"] == "q5_affine_backward"]
    assert "took longer than" in affine, affine


def test_problem_4_fitted_on_the_test_set_loses_its_accuracy(built, grade, tmp_path):
    """A least-squares fit on the test images (their labels are in the student's folder), embedded in the
    right architecture: the model is real and right in shape, its accuracy is not earned."""
    results = grade(attacked(built, tmp_path, catalogue_attacks.P4_CLOSED_FORM))
    got = scores(results)
    assert {q: got[q] for q in got if got[q]} == {"q4_model": 6, "q4_curves": 5, "q4_predict_proba": 4}, got
    (accuracy,) = [t["output"] for t in results["tests"] if t["name"] == "q4_accuracy"]
    assert "better than the training images" in accuracy, accuracy


def test_nothing_outlives_the_student_room(mode, built, grade, tmp_path):
    marker = f"hw1-survivor-{os.getpid()}-{mode}"
    source = f'import subprocess\nsubprocess.Popen(["sh", "-c", "exec -a {marker} sleep 600"], start_new_session=True)\n'
    results = grade(attacked(built, tmp_path, source))
    assert ran_in(mode, results) and "could not be run" not in results["output"], results["output"]
    survivors = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert not survivors, f"processes started by the submission outlived grading: {survivors}"


# Where the grader's code is, as a submission can learn it: the known places (Gradescope's, and otter
# run's folders in /tmp), the Python path it inherits, and the command lines of every process (otter
# run's names the autograder zip, Gradescope's run_otter.py). It tries to read each, and shows in the
# public tests' messages the uid it ran as and what it got from every path that exists.
READ_GRADER_CODE = '''
import glob, os, sys, otter.test_files.abstract_test as _at
paths = ["/autograder/source/hw1grader/checking.py"]
paths += [os.path.join("/tmp", d, "autograder", "source", "hw1grader", "checking.py") for d in os.listdir("/tmp")]
paths += [os.path.join(p, "hw1grader", "checking.py") for p in sys.path if p]
for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
    try: args = [a for a in open(cmdline).read().split("\\0") if a.startswith("/")]
    except OSError: continue
    paths += [a for a in args if a.endswith(".zip")]
    paths += [os.path.join(os.path.dirname(a), "hw1grader", "checking.py") for a in args if a.endswith("run_otter.py")]
seen = []
for path in dict.fromkeys(paths):
    try: seen.append(f"{path}: read " + open(path, errors="replace").read(20000))
    except (FileNotFoundError, NotADirectoryError): pass
    except OSError as e: seen.append(f"{path}: {type(e).__name__}")
_orig = _at.TestCaseResult._orig = getattr(_at.TestCaseResult, "_orig", _at.TestCaseResult.__init__)  # the cell may run again
def _init(self, *a, **k):
    _orig(self, *a, **k)
    self.message = f"uid {os.getuid()}\\n" + "\\n".join(seen)
_at.TestCaseResult.__init__ = _init
import hw1grader.student_room as _room
_room.one_line = lambda message: message  # public messages are shortened in the room: not these
'''


@pytest.mark.parametrize("mode", ["uid"], indirect=True)
def test_room_user_cannot_read_the_grader(mode, built, grade, tmp_path):
    results = grade(attacked(built, tmp_path, READ_GRADER_CODE), readable=False)
    assert ran_in(mode, results) and "could not be run" not in results["output"], results["output"]
    lines = [line.strip() for t in results["tests"] for line in t.get("output", "").splitlines()]
    uids = {int(m.group(1)) for line in lines for m in [re.search(r"(?:^|❌ )uid (\d+)$", line)] if m}
    assert uids and all(uid in sandbox.ROOM_UIDS for uid in uids), \
        f"the room did not run as a user of its own: {uids}\n{results['output']}\n{results['tests'][0]['output'][:500]}"
    assert not [line for line in lines if ": read " in line], "the room's user read the grader's files"
    closed = sorted({line.rsplit(": ", 1)[0] for line in lines if line.endswith("checking.py: PermissionError")})
    # (a PermissionError, not a FileNotFoundError: it was there, closed; otter's copy is gone by now)
    assert closed, \
        f"the submission did not find the grader's checking.py (closed: {closed}): the test no longer looks where it is"
    leaked = [s for s in SECRETS if s in str(results)]
    assert not leaked, f"the results show what only the grader holds: {leaked}"


# What the room's own process is allowed: it tells, through the public tests' messages, its oom_score_adj
# and what System V shared memory (memory that no process holds, so no watch of processes sees it, and
# that outlives them all) and a message queue gave it
ROOM_POWERS = '''
import ctypes, os, otter.test_files.abstract_test as _at
_libc = ctypes.CDLL(None, use_errno=True)
_shm = _libc.shmget(0, 16 << 20, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
_shm_errno = ctypes.get_errno()
_msg = _libc.msgget(0, 0o1600)
_report = f"oom {open('/proc/self/oom_score_adj').read().strip()} shmget {_shm} errno {_shm_errno} msgget {_msg}"
_orig = _at.TestCaseResult._orig = getattr(_at.TestCaseResult, "_orig", _at.TestCaseResult.__init__)
def _init(self, *a, **k):
    _orig(self, *a, **k)
    self.message = _report
_at.TestCaseResult.__init__ = _init
import hw1grader.student_room as _room
_room.one_line = lambda message: message
'''


def test_the_room_is_first_for_the_oom_killer_and_has_no_system_v_ipc(mode, built, grade, tmp_path):
    results = grade(attacked(built, tmp_path, ROOM_POWERS))
    assert ran_in(mode, results), results["output"]
    reports = {m.group(0) for t in results["tests"] for m in [re.search(r"oom \S+ shmget \S+ errno \d+ msgget \S+",
                                                                        t.get("output", ""))] if m}
    assert reports == {f"oom 1000 shmget -1 errno {errno.EPERM} msgget -1"}, (reports, results["output"])
    segments = subprocess.run(["ipcs", "-m", "-c"], capture_output=True, text=True).stdout
    assert not any(str(uid) in segments.split() for uid in sandbox.ROOM_UIDS), segments


def test_record_keeps_no_hard_link(tmp_path):
    """A hard link in the record could name a file only root may read (where fs.protected_hardlinks is
    off, the room's user may make one): take_back drops it before the clean room reads as root."""
    secret, record = tmp_path / "secret", tmp_path / "record"
    secret.write_text("root:x:0:0")
    record.mkdir()
    (record / "q1_grad.npz").write_bytes(b"written by the room")
    os.link(secret, record / "summary.txt")
    sandbox.take_back(str(record))
    assert sorted(os.listdir(record)) == ["q1_grad.npz"] and secret.exists()
    assert (record.stat().st_uid, record.stat().st_mode & 0o777) == (0, 0o700)


def test_the_room_starts_with_the_graders_font_lists(tmp_path, monkeypatch):
    """matplotlib in the room finds the machine's fonts already listed (as the grader's user has them
    cached; setup.sh makes the list on Gradescope), instead of spending a second of every grade on it."""
    cache, home = tmp_path / "cache", tmp_path / "home"
    cache.mkdir(), home.mkdir()
    (cache / "fontlist-v390.json").write_text('{"ttflist": []}')
    monkeypatch.setenv("MPLCONFIGDIR", str(cache))  # where the grader's matplotlib keeps it
    library = sandbox.room_library(str(tmp_path / "lib"))
    room = subprocess.run([sys.executable, "-c", "from hw1grader import student_room; student_room.start_with_font_lists()"],
                          env={**os.environ, "PYTHONPATH": library, "MPLCONFIGDIR": str(home)}, cwd=tmp_path,
                          capture_output=True, text=True)
    assert room.returncode == 0, room.stderr
    assert os.listdir(home) == ["fontlist-v390.json"] and (home / "fontlist-v390.json").read_text() == '{"ttflist": []}'


def test_otter_log_in_an_export_zip_is_never_unpickled(built, grade, tmp_path):
    """otter reads a submission's .OTTER_LOG with dill in the grader's own process: a crafted one would
    run there, as the grader, before any sandbox. The plugin deletes it first."""
    import pickle
    import zipfile

    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return exec, (f"open({str(marker)!r}, 'w').write('ran in the grader')",)

    export = tmp_path / "hw1_2023_09_29T17_00_00.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.writestr("hw1.ipynb", nbformat.writes(answering_nothing(built)))
        zf.writestr(".OTTER_LOG", pickle.dumps(Payload()))
    for intake in (False, True):  # `otter run` on the zip, and the Gradescope-like entry point
        results = grade(export, intake=intake)
        assert not marker.exists(), "the submission's .OTTER_LOG was unpickled by the grader"
        assert set(scores(results).values()) == {0}
