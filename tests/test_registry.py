"""The fast layer's bookkeeping: the master notebook, the problems' probes and checks, and the student
room's library agree, so that a forgotten registration or a point written twice fails in seconds."""

import ast
import os
import re
import subprocess
import sys

import nbformat
import pytest

from conftest import REPO
from hw1grader import checking, probing, sandbox
from hw1grader.problems.p3 import inputs as p3

pytestmark = pytest.mark.fast
MASTER = f"{REPO}/assignment/hw1.ipynb"


def master_questions():
    """{question: (points, [test configs])} of the master's autograded questions, read from its raw cells."""
    nb = nbformat.read(MASTER, as_version=4)
    questions, current = {}, None
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION"):
            config = dict(line.split(":", 1) for line in cell.source.splitlines()[1:] if ":" in line)
            current = None if config.get("manual", "").strip() == "true" else config["name"].strip()
            if current:
                questions[current] = (int(config["points"]), [])
        elif cell.cell_type == "code" and current and "BEGIN TEST CONFIG" in cell.source:
            header = cell.source.split('""" # END TEST CONFIG')[0]
            questions[current][1].append(dict((k.strip(), v.strip()) for k, v in
                                              (line.split(":", 1) for line in header.splitlines()[1:] if ":" in line)))
    return questions


def test_probes_checks_and_the_masters_questions_are_the_same_set():
    questions = set(master_questions())
    assert set(probing.probes()) == questions, "a question of the master has no probe, or a probe no question"
    assert set(checking.checks()) == questions, "a question of the master has no check, or a check no question"
    assert set(probing.probes("kernel")) | set(probing.probes("judge")) == questions
    assert not set(probing.probes("kernel")) & set(probing.probes("judge"))


def test_a_questions_points_are_written_once():
    for question, (points, tests) in master_questions().items():
        assert points > 0, question
        hidden = [t for t in tests if t.get("hidden") == "true"]
        assert len(hidden) == 1, f"{question} should have one hidden test (the clean room's verdict)"
        assert "points" not in hidden[0], f"{question}'s hidden test repeats the question's points: take them out"
        assert all(t.get("points") == "0" for t in tests if t not in hidden), f"{question}'s public tests are worth 0"


def test_the_room_library_imports_from_its_own_module_list_alone(tmp_path):
    """The room's copy holds no check and needs none: every probe imports from it, in a Python that sees
    only that copy (and the packages), and no clean-room module comes along."""
    library = sandbox.room_library(str(tmp_path))
    config = open(os.path.join(library, "hw1grader", "config.py")).read()
    assert "HIDDEN_INPUT_SEED = None" in config and str(__import__("hw1grader.config").config.HIDDEN_INPUT_SEED) \
        not in config, "the room's copy of config.py holds the term's secret"
    copied = {os.path.relpath(os.path.join(root, f), library) for root, _, files in os.walk(library) for f in files}
    assert not [f for f in copied if os.path.basename(f) not in ("__init__.py", "inputs.py", "probes.py")
                and f.startswith("hw1grader/problems/")], "the room gets only inputs.py and probes.py of a problem"
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from hw1grader import probing, judge\n"
            "probes = probing.probes()\n"
            "clean = [m for m in sys.modules if m.startswith('hw1grader') and "
            "(m.endswith(('.checks', '.checking', '.layers', '.autodiff', '.plugin', '.rooms')))]\n"
            "assert not clean, clean\n"
            "print(len(probes))" % library)
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(master_questions())


def test_no_import_cycle_between_the_two_halves():
    """Room modules never import the clean room's (the other way round is fine)."""
    here = os.path.join(REPO, "autograder")
    clean = {"checking", "checks", "layers", "autodiff", "plugin", "rooms", "run", "intake", "otter_hooks"}
    for relative in sandbox.room_files():
        tree = ast.parse(open(os.path.join(here, "hw1grader", relative)).read())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        imported |= {(n.module or "").rsplit(".", 1)[-1] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not imported & clean, f"{relative} imports {imported & clean}"


def test_problem_3_theta_0_and_x_are_the_masters():
    nb = nbformat.read(MASTER, as_version=4)
    (cell,) = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("theta0 = ")]
    assert ast.literal_eval(cell.source.split("=", 1)[1].strip()) == p3.THETA_0
    prompt = next(c.source for c in nb.cells if c.cell_type == "markdown" and "`f_x2`" in c.source)
    assert re.search(r"\$x = (\d+)\$", prompt).group(1) == str(int(p3.X_3CD))


PROBLEM_6 = {
    "__init__.py": '"""Problem 6, a worked example: q6_double."""\n',
    "inputs.py": 'from ...inputs import rng\n\n\ndef q6_double():\n    return [rng("q6_double").normal(size=n) for n in (1, 5)]\n',
    "probes.py": ("from ...probing import function, outputs, probe\nfrom . import inputs\n\n\n@probe(\"q6_double\")\n"
                  "def q6_double(ns):\n    return outputs(function(ns, \"double\"), \"double\", [(x,) for x in inputs.q6_double()],"
                  " lambda x: x.shape)\n"),
    "checks.py": ("from ...checking import check, compare_outputs\nfrom . import inputs\n\n\n@check(\"q6_double\")\n"
                  "def q6_double(data, ctx):\n    xs = inputs.q6_double()\n"
                  "    return compare_outputs(data, [2 * x for x in xs], \"double\", \"n\", lambda i: f\"{xs[i].size}\")\n"),
}


def test_a_new_problem_needs_only_its_own_folder(tmp_path):
    """Adding Problem 6 with one question: its folder and nothing else of the package (the master gets the
    question; test_probes_checks_and_the_masters_questions_are_the_same_set holds the two together)."""
    import shutil

    package = tmp_path / "hw1grader"
    shutil.copytree(os.path.join(REPO, "autograder", "hw1grader"), package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (package / "problems" / "p6").mkdir()
    for name, text in PROBLEM_6.items():
        (package / "problems" / "p6" / name).write_text(text)
    code = f"""
import sys, tempfile
sys.path.insert(0, {str(tmp_path)!r})
from hw1grader import checking, probing, sandbox
assert "q6_double" in probing.probes("kernel") and "q6_double" in checking.checks()
assert "problems/p6/probes.py" in sandbox.room_files() and "problems/p6/checks.py" not in sandbox.room_files()
for double, passes in ((lambda x: 2 * x, True), (lambda x: x + x + 1, False)):
    with tempfile.TemporaryDirectory() as record:
        probing.run_probes({{"double": double}}, record, {{"q6_double": probing.probes()["q6_double"]}})
        verdict = checking.decide("q6_double", record, checking.Context("", []))
        assert verdict.passed is passes, verdict
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
