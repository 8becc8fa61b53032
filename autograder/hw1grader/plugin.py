"""The otter plugin that grades Homework 1 in two rooms (see the package docstring).

otter_config.json names it (``plugins: [hw1grader.plugin.CleanRoom]``), so ``otter run`` and
Gradescope both grade through it:

- ``before_execution``: the submission runs in the student room, a separate process, which records
  its answers; otter is handed an empty notebook instead, so otter's own kernel runs no student code.
- ``after_grading``: every hidden test's verdict comes from the clean room, and each question's score
  is the points of the hidden tests the clean room passed. Public tests (worth no points) show what
  they showed in the student room.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.test_files.abstract_test import TestCaseResult

from . import checks, fmnist
from .config import NOTEBOOK_TIMEOUT


class CleanRoom(AbstractOtterPlugin):

    def before_grading(self, config):
        self.seed = config.seed
        self.support = os.path.join(config.autograder_dir, "source", "files")

    def before_execution(self, submission):
        # the code as submitted, read before it runs and can rewrite its own file
        self.context = checks.Context(self.support, [c.source for c in submission.cells if c.cell_type == "code"])
        self.record_dir = tempfile.mkdtemp(prefix="hw1-record-")
        fmnist.seed(os.path.dirname(self.submission_path))  # the notebook's ./FashionMNIST/, offline
        self.summary = run_student_room(self.submission_path, self.record_dir, self.seed)
        return nbformat.v4.new_notebook()

    def after_grading(self, results):
        public = parse_public(read_small(os.path.join(self.record_dir, "public.json")))
        for name, test_file in results.results.items():
            shown = public.get(name, {})
            verdict = checks.decide(name, self.record_dir, self.context)
            test_file.test_case_results = [
                TestCaseResult(tc, ("✅ " if verdict.passed else "❌ ") + verdict.message, verdict.passed) if tc.hidden
                else public_result(tc, shown)
                for tc in test_file.test_cases
            ]
            test_file.update_score(sum(tc.points for tc in test_file.test_cases if tc.hidden) if verdict.passed else 0)
        results.set_output(f"Your notebook: {self.summary}")
        shutil.rmtree(self.record_dir, ignore_errors=True)


def public_result(test_case, shown):
    result = shown.get(test_case.name, {})
    return TestCaseResult(test_case, str(result.get("message", "not run"))[:2000], result.get("passed") is True)


def run_student_room(notebook, record_dir, seed):
    """Run the student room on a notebook; a one-line summary for the student."""
    # -P: the submission's folder is not on the path, so a submitted hw1grader/ cannot stand in for this one
    command = [sys.executable, "-P", "-m", "hw1grader.student_room", notebook, record_dir]
    if seed is not None:
        command += ["--seed", str(seed)]
    try:
        subprocess.run(command, cwd=os.path.dirname(notebook), timeout=NOTEBOOK_TIMEOUT, env=grader_env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return f"it did not finish within {NOTEBOOK_TIMEOUT} s and was stopped."
    return read_small(os.path.join(record_dir, "summary.txt"))[:1000] or "it could not be run (is it a Jupyter notebook?)."


def grader_env():
    """The environment with this package importable (where otter found it: a venv, or Gradescope's source/)."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))}


def read_small(path, limit=1 << 20):
    """The text of a small file the student room wrote, or '' when there is none."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit)
    except OSError:
        return ""


def parse_public(text):
    """{question: {test case name: {"passed": bool, "message": str}}} from public.json, malformed parts dropped."""
    try:
        public = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(public, dict):
        return {}
    return {q: {r["name"]: r for r in cases if isinstance(r, dict) and isinstance(r.get("name"), str)}
            for q, cases in public.items() if isinstance(cases, list)}
