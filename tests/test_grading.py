"""The autograder, graded: the reference gets full marks, a blank notebook nothing, and each
wrong answer loses exactly its own question's points."""

import nbformat
import pytest

import submissions
from catalogue import RIGHT, WRONG
from conftest import REPO, scores


@pytest.fixture(scope="session")
def reference_results(grade):
    return grade(f"{REPO}/solutions/hw1.ipynb")


@pytest.fixture(scope="session")
def full_marks(reference_results):
    return {t["name"]: t["max_score"] for t in reference_results["tests"] if "max_score" in t}


def submission(built, tmp_path, overrides):
    nb = submissions.make(built / "student_release" / "hw1.ipynb", f"{REPO}/solutions/hw1.ipynb", overrides)
    path = tmp_path / "hw1.ipynb"
    nbformat.write(nb, path)
    return path


def test_reference_scores_full_marks(reference_results, full_marks):
    assert scores(reference_results) == full_marks
    assert sum(full_marks.values()) > 0


def test_filled_release_scores_full_marks(built, grade, tmp_path, full_marks):
    assert scores(grade(submission(built, tmp_path, {}))) == full_marks


def test_blank_release_scores_nothing(built, grade, full_marks):
    results = grade(built / "student_release" / "hw1.ipynb")
    assert scores(results) == {q: 0 for q in full_marks}


def test_catalogue_covers_every_autograded_question(full_marks):
    assert set(WRONG) == set(full_marks)


@pytest.mark.parametrize("question", sorted(WRONG))
def test_wrong_answer_loses_exactly_its_points(question, built, grade, tmp_path, full_marks):
    results = grade(submission(built, tmp_path, WRONG[question]))
    assert scores(results) == {**full_marks, question: 0}
    (test,) = [t for t in results["tests"] if t["name"] == question]
    assert "❌" in test["output"], "the student should be told which hidden test failed"


@pytest.mark.parametrize("label", sorted(RIGHT))
def test_other_correct_answers_score_full_marks(label, built, grade, tmp_path, full_marks):
    assert scores(grade(submission(built, tmp_path, RIGHT[label]))) == full_marks
