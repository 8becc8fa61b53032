"""The otter plugin that grades Homework 1 in two rooms (see the package docstring).

otter_config.json names it (``plugins: [hw1grader.plugin.CleanRoom]``), so ``otter run`` and
Gradescope both grade through it:

- ``before_grading``: the submission's otter log is deleted and otter's own kernel skipped (``otter_hooks``).
- ``before_execution``: the submission runs in the student room, a separate process, which records
  its answers; otter is handed an empty notebook instead, so otter runs no student code.
- ``after_grading``: every hidden test's verdict comes from the clean room, and each question's score
  is the points of the hidden tests the clean room passed. Public tests (worth no points) show what
  they showed in the student room.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.test_files.abstract_test import TestCaseResult

from . import checks, fmnist, otter_hooks, sandbox
from .config import NOTEBOOK_TIMEOUT, ROOM_GRACE, thread_env

# what the student room inherits of the grader's environment
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


class CleanRoom(AbstractOtterPlugin):

    def before_grading(self, config):
        self.seed = config.seed
        self.support = os.path.join(config.autograder_dir, "source", "files")
        # what the student room must not read (uid mode): otter's folder, with the tests, the original
        # submission and the results, and the folder this package comes from (on Gradescope the same;
        # in a checkout of the repository, autograder/)
        self.grader_dirs = [config.autograder_dir, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
        otter_hooks.forget_log(os.path.dirname(self.submission_path))  # before otter unpickles it
        otter_hooks.skip_otters_kernel()

    def before_execution(self, submission):
        # the code as submitted, read before it runs and can rewrite its own file
        self.context = checks.Context(self.support, [c.source for c in submission.cells if c.cell_type == "code"])
        self.room = tempfile.mkdtemp(prefix="hw1-room-")
        self.record_dir = os.path.join(self.room, "record")
        # the room works on a copy of the submission's folder: otter reads tests/ from the original later
        workdir = os.path.join(self.room, "work")
        shutil.copytree(os.path.dirname(self.submission_path), workdir, symlinks=True)
        fmnist.seed_for_notebook(workdir)  # where the homework's loading code looks, offline
        self.summary = run_student_room(os.path.join(workdir, os.path.basename(self.submission_path)), self.room,
                                        self.seed, self.grader_dirs)
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
        results.set_output(f"Your notebook: {self.summary}\n"
                           f'It ran {sandbox.WALLS[sandbox.mode()]} (sandbox mode "{sandbox.mode()}").')
        shutil.rmtree(self.room, ignore_errors=True)


def public_result(test_case, shown):
    result = shown.get(test_case.name, {})
    return TestCaseResult(test_case, str(result.get("message", "not run"))[:2000], result.get("passed") is True)


def run_student_room(notebook, room, seed, grader_dirs=()):
    """Run the student room on a notebook, inside the sandbox's walls; a summary for the student.

    The room's record goes to room/record; it imports the student-side modules from a copy in room/lib.
    In uid mode, grader_dirs are closed to it first.
    """
    record_dir = os.path.join(room, "record")
    os.makedirs(record_dir)
    library = sandbox.room_library(os.path.join(room, "lib"))
    workdir = os.path.dirname(notebook)
    # -P: the submission's folder is not on the path, so a submitted hw1grader/ cannot stand in for this one
    command = [sys.executable, "-P", "-m", "hw1grader.student_room", notebook, record_dir]
    if seed is not None:
        command += ["--seed", str(seed)]
    env = {k: v for k, v in os.environ.items() if k in PASSED_ENV or k.startswith("HW1_")}
    # Agg: figures are not rendered to PNG after each cell, as Jupyter's inline backend would; grading
    # reads no plot, and rendering them cost a second or more of every grade
    env.update(thread_env(), PYTHONPATH=library, MPLBACKEND="Agg")
    uid = None
    if sandbox.mode() == "uid":
        uid = sandbox.room_uid(room)
        home = os.path.join(room, "home")  # for Jupyter's connection files, IPython, matplotlib
        os.makedirs(home)
        env.update(HOME=home, TMPDIR=home, MPLCONFIGDIR=home)
        sandbox.close(grader_dirs)
        sandbox.hand_over(room, uid, writable=[workdir, record_dir, home], readable=[library])
    proc = subprocess.Popen(sandbox.enclose(command, library=library, workdir=workdir, record_dir=record_dir),
                            cwd=workdir, env=env, start_new_session=True, **sandbox.as_user(uid),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    timed_out = False
    try:
        proc.wait(timeout=NOTEBOOK_TIMEOUT + ROOM_GRACE)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        try:  # whatever the room started, it ends now (inside the walls, the namespace already ended it)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        if uid is not None:  # processes that left the session too; then the record is no longer theirs
            sandbox.end(uid)
            sandbox.take_back(record_dir)
    if timed_out:
        return f"it did not finish within the time limit ({NOTEBOOK_TIMEOUT} s) and was stopped."
    return read_small(os.path.join(record_dir, "summary.txt"))[:2000] or "it could not be run."


def read_small(path, limit=1 << 20):
    """The text of a small file the student room wrote, or '' when there is none (or it is a link)."""
    try:
        with checks.open_record(path) as f:
            return f.read(limit).decode("utf-8", errors="replace")
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
