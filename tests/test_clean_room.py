"""Clean-room grading: no submission can grade itself.

Each attack is the blank student release with attack cells added: whatever it does, it must score 0
on every question (it answers none honestly), and the grade must not carry anything it could only
have read from the grader's side. One attack per class of the threat model (issue 6).
"""

import os
import subprocess

import nbformat
import pytest

from conftest import scores

ATTACKS = {
    # the attack reported in the issue: otter's test results patched in the student's kernel
    "patch_otter_results": '''
import otter.test_files.abstract_test as _at
_orig = _at.TestCaseResult.__init__
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
for path in glob.glob("tests/*.py"):
    open(path, "w").write("test = {'name': os.path.basename(path)[:-3], 'points': 0, 'suites': []}")
for d in glob.glob("/tmp/hw1-room-*/record") + ["."]:
    open(os.path.join(d, "public.json"), "w").write("{}")
for path in glob.glob("/**/results.json", recursive=True) + glob.glob("/**/otter_config.json", recursive=True):
    try: open(path, "w").write('{"score": 100}')
    except OSError: pass
''',
    # reading what the grader knows, and showing it through the public tests' messages
    "read_secrets": '''
import os, otter.test_files.abstract_test as _at
found = []
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/sys", "/dev", "/usr")): continue
    for name in files:
        if name in ("checks.py", "plugin.py", "hw1-autograder.zip", "otter_config.json") or name.endswith(".ipynb"):
            path = os.path.join(root, name)
            try: found.append(path + ":" + open(path, errors="replace").read()[:20000])
            except OSError: pass
_orig = _at.TestCaseResult.__init__
def _init(self, *a, **k):
    _orig(self, *a, **k)
    self.message = "\\n".join(found)
_at.TestCaseResult.__init__ = _init
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
}

# strings that only the grader's side holds: they must not reach the student's results
SECRETS = ("def q1_grad(data, ctx)", "from .config import", '"W_H": [1, -1, 0, 0]', "root:x:0:0", "HACKED")


def attacked(built, tmp_path, source):
    nb = nbformat.read(built / "student_release" / "hw1.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell(source))
    nb.cells.append(nbformat.v4.new_code_cell(source))
    path = tmp_path / "hw1.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_gains_nothing(attack, built, grade, tmp_path):
    results = grade(attacked(built, tmp_path, ATTACKS[attack]))
    assert scores(results) and set(scores(results).values()) == {0}, scores(results)
    text = str(results)
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"the results show what only the grader holds: {leaked}"


def test_nothing_outlives_the_student_room(built, grade, tmp_path):
    marker = f"hw1-survivor-{os.getpid()}"
    source = f'import subprocess\nsubprocess.Popen(["sh", "-c", "exec -a {marker} sleep 600"], start_new_session=True)\n'
    grade(attacked(built, tmp_path, source))
    survivors = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert not survivors, f"processes started by the submission outlived grading: {survivors}"
