"""What students read: the results page (hw1grader.feedback), in the words their notebook uses.

- The public tests' one-sentence messages are the same in the notebook (its set-up cell shortens
  otter's) and on Gradescope (the student room shortens them the same way).
- The instructor's setting SHOW_VERDICTS works both ways.
- Rendered pages of three submissions are kept under tests/results_pages/ (test_grading.py compares
  them with real grades), so that a change of wording shows in review; each fits a screen.
"""

import ast
import os
import re

import nbformat
import numpy as np
import pytest
from otter.test_files import OKTestFile

from conftest import REPO
from hw1grader import feedback
from hw1grader.student_room import one_line

pytestmark = pytest.mark.fast
PAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results_pages")
RELEASE = f"{REPO}/student_release/hw1.ipynb"


def notebook_one_line():
    """The _one_line function of the release's set-up cell."""
    setup = next(c for c in nbformat.read(RELEASE, as_version=4).cells if c.cell_type == "code")
    (node,) = [n for n in ast.parse(re.sub(r"^\s*%.*$", "", setup.source, flags=re.M)).body
               if isinstance(n, ast.FunctionDef) and n.name == "_one_line"]
    scope = {"re": re}
    exec(compile(ast.Module([node], []), "setup", "exec"), scope)
    return scope["_one_line"]


def blank_messages():
    """otter's own messages for every public test of the release, run on a namespace with no answers."""
    tests = nbformat.read(RELEASE, as_version=4).metadata.otter.tests
    messages = []
    for name, spec in tests.items():
        test = OKTestFile.from_spec(dict(spec), path=name)
        test.run({"np": np, "grad_sq_norm": lambda x: None, "l1_loss": lambda *a: None, "f_x2": ...})
        messages += [r.message for r in test.test_case_results]
    return messages


def test_the_notebook_and_the_results_page_say_the_same_sentence():
    shorten = notebook_one_line()
    messages = blank_messages()
    assert any("Trying:" in m for m in messages), "otter's messages are no longer doctest transcripts: revisit one_line"
    for message in messages:
        shown = shorten(message)
        assert "\n" not in shown and "Trying:" not in shown and "Traceback" not in shown, shown
        if message.lstrip().startswith("❌"):
            assert shown == "❌ " + one_line(message) == "❌ " + one_line(shown), (shown, one_line(message))


def sample():
    questions = [feedback.Question("q1_grad", "Problem 1", 2, True, "`grad_sq_norm` is right.", [(True, "passed")]),
                 feedback.Question("q1_mu", "Problem 1", 2, False, "`best_mu` returns wrong values.",
                                   [(False, "best_mu should also work for a single point (n = 1)")])]
    return questions, [], [], 'Your notebook ran in a sandbox of its own (sandbox mode "bwrap").', 21


@pytest.mark.parametrize("show", [True, False])
def test_verdicts_are_shown_at_once_or_when_grades_are_published(show):
    results = feedback.results(*sample(), show_verdicts=show)
    graded = [t for t in results["tests"] if "max_score" in t]
    assert {t["visibility"] for t in graded} == {"visible" if show else "after_published"}
    assert results["score"] == 2 and results["output_format"] == "md"
    public = [t for t in results["tests"] if t["name"] == "Public tests"]
    if show:  # each question says it all
        assert not public and "n = 1" in graded[1]["output"]
    else:  # the public tests are still the student's to read at once
        assert public[0]["visibility"] == "visible" and "n = 1" in public[0]["output"]
        assert "wrong values" not in str(public)


def test_the_kept_pages_fit_a_screen():
    pages = sorted(os.listdir(PAGES))
    assert pages == ["blank.md", "one_mistake_per_problem.md", "reference.md"]
    for name in pages:
        lines = open(os.path.join(PAGES, name), encoding="utf-8").read().splitlines()
        assert len(lines) <= 60, f"{name} is {len(lines)} lines"


def test_the_page_names_files_not_the_graders_folders():
    """An error quoted from the student's kernel names a file by its path; the page keeps the file's name."""
    error = "ImportError: /tmp/ci/repo/.venv/lib/python3.11/site-packages/torch/_C.so: failed to map segment"
    questions, notes, _, walls, hand = sample()
    questions[1].verdict = error
    results = feedback.results(questions, notes, [{"problem": "Problem 4", "line": "import torch", "error": error}],
                               walls, hand)
    text = str(results)
    assert "_C.so: failed to map segment" in text and "site-packages" not in text and "/tmp/" not in text
    # fractions and "train/test" are not paths
    assert feedback.readable("1/2 of train/test, 3 / 4") == "1/2 of train/test, 3 / 4"
