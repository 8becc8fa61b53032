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
import re
import sys
import tempfile
import time

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.test_files.abstract_test import TestCaseResult

from . import checking, feedback, fmnist, inputs, intake, otter_hooks, probing, rooms, sandbox
from .config import CLEANUP_SECONDS, HIDDEN_INPUT_SEED

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="hw1grader: %(message)s")
log = logging.getLogger("hw1grader")


class CleanRoom(AbstractOtterPlugin):

    def before_grading(self, config):
        self.deadline = rooms.Deadline()  # the grade's one deadline, from now
        self.seed = config.seed
        # the written answers' points, from the master (tools/build.py puts them in otter_config.json)
        self.hand_graded = (self.plugin_config or {}).get("hand_graded_points", 0)
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
        self.cell_problems = problems_of_cells(submission.cells)
        # this grade's hidden inputs: from the term's secret and this code, the same at every regrade
        hidden_seed = inputs.seed_for(code_cells, HIDDEN_INPUT_SEED)
        inputs.use_seed(hidden_seed)
        self.room = tempfile.mkdtemp(prefix="hw1-room-")
        try:
            # the judge first: nothing the student room leaves behind can reach it
            started = time.monotonic()
            notes = rooms.run_judge(code_cells, self.room, hidden_seed, self.deadline, self.grader_dirs)
            judged = time.monotonic()
            # the room works on a copy of the submission's folder: otter reads tests/ from the original later
            workdir = os.path.join(self.room, "work")
            left_out = intake.copy_upload(os.path.dirname(self.submission_path), workdir)
            fmnist.seed_for_notebook(workdir)  # where the homework's loading code looks, offline
            self.summary = rooms.run_student_room(os.path.join(workdir, os.path.basename(self.submission_path)),
                                                  self.room, self.seed, hidden_seed, self.deadline, self.grader_dirs)
            self.summary["notes"] += [note for note in [intake.describe_left_out(left_out)] if note] + notes
            self.times = {"judge": judged - started, "student room": time.monotonic() - judged}
        except BaseException:
            sandbox.restore()
            intake.remove_path(self.room)
            raise
        return nbformat.v4.new_notebook()

    def record_dir(self, question):
        where = "judge" if question in probing.probes("judge") else "kernel"
        return os.path.join(self.room, *(("judge", "record") if where == "judge" else ("record",)))

    def after_grading(self, results):
        try:
            started = time.monotonic()
            self.decide_all(results)
            self.times["clean room"] = time.monotonic() - started
            log.info("wall time: %s", ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in self.times.items()))
        finally:  # whatever happens, the room and what it left go (what takes too long, after the results)
            sandbox.restore()
            intake.remove_path(self.room, until=time.monotonic() + CLEANUP_SECONDS)

    def decide_all(self, results):
        public = parse_public(rooms.read_small(os.path.join(self.room, "record", "public.json")))
        reads = parse_reads(rooms.read_small(os.path.join(self.room, "record", probing.READS_FILE)))
        registry, probes = checking.checks(), probing.probes()
        questions = []
        order = list(probes)  # the homework's order
        for name, test_file in sorted(results.results.items(), key=lambda item: (item[0] not in order,
                                                                                  order.index(item[0]) if item[0] in order else 0)):
            verdict = checking.decide(name, self.record_dir(name), self.context, registry)
            message = verdict.message if verdict.passed else because(self.summary, reads.get(name, ())) + verdict.message
            shown = public.get(name, {})
            test_file.test_case_results = [
                TestCaseResult(tc, message, verdict.passed) if tc.hidden else public_result(tc, shown)
                for tc in test_file.test_cases]
            points = sum(tc.points for tc in test_file.test_cases if tc.hidden)
            test_file.update_score(points if verdict.passed else 0)
            public_lines = [(r.passed, r.message) for r in test_file.test_case_results if not r.test_case.hidden]
            questions.append(feedback.Question(name, problem_of(probes.get(name)), points, verdict.passed, message,
                                               public_lines))
        failed = [{**cell, "problem": self.cell_problems[cell["cell"]] if 0 <= cell.get("cell", -1) < len(self.cell_problems)
                   else "A cell"} for cell in self.summary["failed"]]
        walls = f'Your notebook ran {sandbox.WALLS[sandbox.mode()]} (sandbox mode "{sandbox.mode()}").'
        notes = self.summary["notes"] + ([] if self.summary["ran"] or failed else ["No answers could be recorded from it."])
        page = feedback.results(questions, notes, failed, walls, self.hand_graded, ran=self.summary["ran"])
        results.to_gradescope_dict = lambda ag_config: page  # otter writes results.json from it
        log.info("results page:\n%s", feedback.page(page))


def problem_of(probe):
    """The heading of a question's problem: "Problem 4" for a probe of problems/p4."""
    return f"Problem {probe.__module__.split('.')[-2][1:]}" if probe is not None else "Other"


def problems_of_cells(cells):
    """For each code cell, the problem it belongs to: the last "Problem N" heading above it."""
    current, found = "Set-up", []
    for cell in cells:
        if cell.cell_type == "markdown":
            heading = re.search(r"^#+\s*(Problem \d+)", cell.source, re.M)
            current = heading.group(1) if heading else current
        elif cell.cell_type == "code":
            found.append(current)
    return found


def because(summary, names):
    """What to say first when a question fails: the failed cells that define a name its probe read."""
    causes = [f"The cell `{cell['line']}` stopped with {cell['error']}." for cell in summary["failed"]
              if set(cell["binds"]) & set(names)]
    return " ".join(causes[:2]) + " " if causes else ""


def public_result(test_case, shown):
    result = shown.get(test_case.name, {})
    return TestCaseResult(test_case, str(result.get("message", "not run"))[:2000], result.get("passed") is True)


def parse_reads(text):
    try:
        reads = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return {q: [str(n) for n in v][:100] for q, v in reads.items() if isinstance(v, list)} if isinstance(reads, dict) else {}


def parse_public(text):
    """{question: {test case name: {"passed": bool, "message": str}}} from public.json, malformed parts dropped."""
    try:
        public = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(public, dict):
        return {}
    return {q: {r["name"]: r for r in cases if isinstance(r, dict) and isinstance(r.get("name"), str)}
            for q, cases in public.items() if isinstance(cases, list)}
