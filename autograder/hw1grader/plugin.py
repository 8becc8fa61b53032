"""The otter plugin that grades Homework 1 in two rooms (see the package docstring).

otter_config.json names it (``plugins: [hw1grader.plugin.CleanRoom]``), so ``otter run`` and
Gradescope both grade through it. otter calls it at three moments:

- ``before_grading``: the submission's otter log is deleted and otter's own kernel skipped (``otter_hooks``).
- ``before_execution``: the submission runs in the student room, and Problem 5's functions in the judge
  (``rooms``); each leaves a record of plain numbers. otter is handed an empty notebook instead, so
  otter runs no student code.
- ``after_grading``: every hidden test's verdict comes from the clean room (``checking.decide``), and
  each question's score is the points of the hidden tests the clean room passed. Public tests (worth
  no points) show what they showed in the student room.
"""

import json
import logging
import os
import sys
import tempfile

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.test_files.abstract_test import TestCaseResult

from . import checking, fmnist, intake, otter_hooks, probing, rooms, sandbox

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="hw1grader: %(message)s")
log = logging.getLogger("hw1grader")


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
        sandbox.protect_grader()

    def before_execution(self, submission):
        # the code as submitted, read before it runs and can rewrite its own file
        code_cells = [c.source for c in submission.cells if c.cell_type == "code"]
        self.context = checking.Context(self.support, code_cells)
        self.room = tempfile.mkdtemp(prefix="hw1-room-")
        # the room works on a copy of the submission's folder: otter reads tests/ from the original later
        workdir = os.path.join(self.room, "work")
        left_out = intake.copy_upload(os.path.dirname(self.submission_path), workdir)
        fmnist.seed_for_notebook(workdir)  # where the homework's loading code looks, offline
        self.summary = rooms.run_student_room(os.path.join(workdir, os.path.basename(self.submission_path)),
                                              self.room, self.seed, self.grader_dirs)
        self.summary["notes"] += [note for note in [intake.describe_left_out(left_out)] if note]
        self.summary["notes"] += rooms.run_judge(code_cells, self.room)
        return nbformat.v4.new_notebook()

    def record_dir(self, question):
        where = "judge" if question in probing.probes("judge") else "kernel"
        return os.path.join(self.room, *(("judge", "record") if where == "judge" else ("record",)))

    def after_grading(self, results):
        public = parse_public(rooms.read_small(os.path.join(self.room, "record", "public.json")))
        reads = parse_reads(rooms.read_small(os.path.join(self.room, "record", probing.READS_FILE)))
        registry = checking.checks()
        for name, test_file in results.results.items():
            shown = public.get(name, {})
            verdict = checking.decide(name, self.record_dir(name), self.context, registry)
            message = verdict.message if verdict.passed else because(self.summary, reads.get(name, ())) + verdict.message
            test_file.test_case_results = [
                TestCaseResult(tc, ("✅ " if verdict.passed else "❌ ") + message, verdict.passed) if tc.hidden
                else public_result(tc, shown)
                for tc in test_file.test_cases
            ]
            test_file.update_score(sum(tc.points for tc in test_file.test_cases if tc.hidden) if verdict.passed else 0)
        results.set_output(summary_text(self.summary))
        intake.remove_path(self.room)


def because(summary, names):
    """What to say first when a question fails: the failed cells that define a name its probe read."""
    causes = [f"The cell `{cell['line']}` stopped with {cell['error']}." for cell in summary["failed"]
              if set(cell["binds"]) & set(names)]
    return " ".join(causes[:2]) + " " if causes else ""


def summary_text(summary):
    failed = summary["failed"]
    ran = ("All cells ran without error." if not failed else
           f"{len(failed)} code cell(s) stopped with an error; the first, `{failed[0]['line']}`, {failed[0]['error']}.")
    return (f"Your notebook: {' '.join(summary['notes'] + [ran] if summary['ran'] else summary['notes'])}\n"
            f'It ran {sandbox.WALLS[sandbox.mode()]} (sandbox mode "{sandbox.mode()}").')


def public_result(test_case, shown):
    result = shown.get(test_case.name, {})
    return TestCaseResult(test_case, str(result.get("message", "not run"))[:2000], result.get("passed") is True)


def parse_reads(text):
    try:
        reads = json.loads(text)
    except ValueError:
        return {}
    return {q: [str(n) for n in v][:100] for q, v in reads.items() if isinstance(v, list)} if isinstance(reads, dict) else {}


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
