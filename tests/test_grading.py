"""The autograder, graded: the reference gets full marks, a blank notebook nothing, and every entry of
the catalogue exactly the score vector the manifest says."""

import json
import os
import re

import nbformat
import pytest

import submissions
from catalogue import CATALOGUE, LIGHT, LIGHT_LOSES, WRONG, WRONG_P4, WRONG_P5, together
from conftest import REPO, scores
from hw1grader import feedback

PAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results_pages")


def assert_page(name, results):
    """The results page as the student reads it, against the one kept in tests/results_pages/ (where the
    sandbox's sentence is left out: it depends on the machine). HW1_WRITE_PAGES=1 writes them anew."""
    text = re.sub(r"Your notebook ran .*\.\n", "", feedback.page(results))
    path = os.path.join(PAGES, f"{name}.md")
    if os.environ.get("HW1_WRITE_PAGES"):
        os.makedirs(PAGES, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    with open(path, encoding="utf-8") as f:
        assert text == f.read(), f"the results page of {name} changed: review it, then write it with HW1_WRITE_PAGES=1"


@pytest.mark.slow
def test_reference_scores_full_marks(built, grade, full_marks, tmp_path):
    """The reference as jupytext, nbdev and older VS Code write it: cell ids in a file that still says
    nbformat 4.4, which nbformat's validation refuses and Jupyter opens (issue 12), through intake as
    Gradescope takes it. (The file as it is: test_gradescope_run.py, graded as on Gradescope.)"""
    with open(f"{REPO}/solutions/hw1.ipynb", encoding="utf-8") as f:
        nb = json.load(f)
    assert (nb["nbformat"], nb["nbformat_minor"]) == (4, 4)
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"{i:08x}"
    path = tmp_path / "hw1.ipynb"
    path.write_text(json.dumps(nb, indent=1, sort_keys=True), encoding="utf-8")
    results = grade(path, intake=True)
    assert {t["name"]: t["max_score"] for t in results["tests"] if "max_score" in t} == full_marks
    assert scores(results) == full_marks
    assert sum(full_marks.values()) > 0
    assert_page("reference", results)


def test_blank_release_scores_nothing(built, grade, full_marks):
    results = grade(built / "student_release" / "hw1.ipynb")
    assert scores(results) == {q: 0 for q in full_marks}
    assert_page("blank", results)


def test_one_mistake_per_problem_reads_on_one_screen(built, grade, tmp_path, full_marks):
    mistakes = together([("q1_mu", WRONG["q1_mu"]), ("q2_l1_loss", WRONG["q2_l1_loss"]), ("q3d", WRONG["q3d"]),
                         ("q5_softmax_ce", WRONG_P5["q5_softmax_ce"])])
    nb = submissions.make(built / "student_release" / "hw1.ipynb", f"{REPO}/solutions/hw1.ipynb",
                          {**LIGHT, **mistakes.overrides})  # Problem 4 untrained: its mistake
    nbformat.write(nb, tmp_path / "hw1.ipynb")
    results = grade(tmp_path / "hw1.ipynb")
    lost = mistakes.loses | LIGHT_LOSES
    assert scores(results) == {q: 0 if q in lost else points for q, points in full_marks.items()}
    assert_page("one_mistake_per_problem", results)


def test_catalogue_has_a_wrong_answer_for_every_autograded_question(full_marks):
    assert set(WRONG) | set(WRONG_P4) | set(WRONG_P5) == set(full_marks)


def made(label, built, tmp_path):
    """The catalogue entry's notebook, written to tmp_path/hw1.ipynb; and the questions it must lose."""
    entry = CATALOGUE[label]
    overrides = {**(LIGHT if entry.light else {}), **entry.overrides}
    nb = submissions.make(built / "student_release" / "hw1.ipynb", f"{REPO}/solutions/hw1.ipynb", overrides)
    nbformat.write(nb, tmp_path / "hw1.ipynb")
    return tmp_path / "hw1.ipynb", entry.loses | (LIGHT_LOSES if entry.light else frozenset())


# entries on the full base train Problem 4: slow
@pytest.mark.parametrize("label", [pytest.param(label, marks=() if CATALOGUE[label].light else pytest.mark.slow)
                                   for label in sorted(CATALOGUE) if CATALOGUE[label].e2e])
def test_catalogue_entry_gets_exactly_its_score_vector(label, built, grade, tmp_path, full_marks):
    path, lost = made(label, built, tmp_path)
    results = grade(path)
    assert scores(results) == {q: 0 if q in lost else points for q, points in full_marks.items()}
    entry = CATALOGUE[label]
    for test in results["tests"]:
        if test["name"] in entry.loses:
            assert "❌" in test["output"], f"{test['name']}: the student should be told which hidden test failed"
        if test["name"] in entry.says:
            assert entry.says[test["name"]] in test["output"], test["output"]


# the other entries that train Problem 4, without the walls (inprocess.Whole: the student room's cells,
# probes, judge and clean room, the training as in a grade); the fast layer has every light one
@pytest.mark.slow
@pytest.mark.parametrize("label", sorted(label for label, entry in CATALOGUE.items() if not entry.light and not entry.e2e))
def test_trained_catalogue_entry_gets_exactly_its_verdicts(label, built, whole, tmp_path, full_marks):
    path, lost = made(label, built, tmp_path)
    verdicts = whole.verdicts(path)
    assert {q: v.passed for q, v in verdicts.items()} == {q: q not in lost for q in full_marks}, \
        {q: v.message for q, v in verdicts.items() if v.passed == (q in lost)}
    for question, says in CATALOGUE[label].says.items():
        assert says in verdicts[question].message, verdicts[question].message
