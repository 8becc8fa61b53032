"""The fast layer's verdicts: every catalogue entry that needs no trained Problem 4, graded in this process
(``inprocess``: the same probes and checks as a grade, the judge in a bare Python), loses exactly what the
manifest says. Seconds per entry instead of a whole grade: run it after changing a probe or a check
(`make check`); the end-to-end suite (test_grading.py) grades the same entries for real."""

import nbformat
import pytest

import submissions
from catalogue import CATALOGUE, LIGHT, LIGHT_LOSES
from conftest import REPO
from inprocess import Grader

pytestmark = pytest.mark.fast
RELEASE, SOLUTIONS = f"{REPO}/student_release/hw1.ipynb", f"{REPO}/solutions/hw1.ipynb"


@pytest.fixture(scope="module")
def grader(tmp_path_factory):
    return Grader(submissions.make(RELEASE, SOLUTIONS, LIGHT), str(tmp_path_factory.mktemp("fast")))


@pytest.fixture(scope="module")
def points():
    release = nbformat.read(RELEASE, as_version=4)
    return {name: test["points"] for name, test in release.metadata.otter.tests.items()}


@pytest.mark.parametrize("label", sorted(label for label, entry in CATALOGUE.items() if entry.light))
def test_entry_loses_exactly_its_questions(label, grader, points):
    entry = CATALOGUE[label]
    verdicts = grader.verdicts(submissions.make(RELEASE, SOLUTIONS, {**LIGHT, **entry.overrides}))
    lost = {q for q, v in verdicts.items() if not v.passed}
    assert set(verdicts) == set(points)
    assert lost == set(entry.loses | LIGHT_LOSES), {q: verdicts[q].message for q in lost ^ (entry.loses | LIGHT_LOSES)}
    for question, words in entry.says.items():
        assert words in verdicts[question].message, verdicts[question].message
