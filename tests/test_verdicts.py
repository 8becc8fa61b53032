"""The fast layer's verdicts: every catalogue entry that needs no trained Problem 4, graded in this process
(``inprocess``: the same probes and checks as a grade, the judge in a bare Python), loses exactly what the
manifest says. Seconds per entry instead of a whole grade: run it after changing a probe or a check
(`make check`); the end-to-end suite (test_grading.py) grades the same entries for real."""

import re

import nbformat
import numpy as np
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
def test_entry_loses_exactly_its_questions_and_its_messages_give_nothing_away(label, grader, points):
    entry = CATALOGUE[label]
    verdicts = grader.verdicts(submissions.make(RELEASE, SOLUTIONS, {**LIGHT, **entry.overrides}))
    lost = {q for q, v in verdicts.items() if not v.passed}
    assert set(verdicts) == set(points)
    assert lost == set(entry.loses | LIGHT_LOSES), {q: verdicts[q].message for q in lost ^ (entry.loses | LIGHT_LOSES)}
    for question, words in entry.says.items():
        assert words in verdicts[question].message, verdicts[question].message
    secrets = expected_values()  # of this grade's hidden inputs (drawn from its own seed)
    leaks = {q: revealed(v.message, secrets) for q, v in verdicts.items()}
    assert not any(leaks.values()), {q: (leaks[q], verdicts[q].message) for q in leaks if leaks[q]}


def expected_values():
    """The values the clean room compares answers with (none may appear in a message): the answers to
    every hidden input of Problems 1, 2, 3 and 5, as the checks compute them."""
    from hw1grader.problems.p1 import inputs as p1
    from hw1grader.problems.p2 import inputs as p2
    from hw1grader.problems.p3 import checks as c3, inputs as p3
    from hw1grader.problems.p5 import inputs as p5, layers

    values = [2 * x for x in p1.q1_grad()] + [X.mean(axis=0) for X in p1.q1_mu()]
    values += [np.abs(y - X @ w).sum() for X, y, w in p2.q2_l1_loss()]
    values += [c3.loss_grad(*case) for case in p3.q3b()]
    values += [p3.network(np.array([p3.X_3CD]), c3.THETA_0), c3.network_grad(p3.X_3CD, c3.THETA_0)]
    values += [g for x, w, b, dout in p5.affine_cases() for g in layers.affine_backward(dout, (x, w, b))]
    values += [layers.sigmoid_backward(dout, layers.sigmoid_forward(x)[1]) for x, dout in p5.sigmoid_cases()]
    for scores, y in p5.softmax_cases():
        values += list(layers.softmax_cross_entropy(scores, y))
    for params, X, y in p5.network_cases():
        loss, grads = layers.network_loss_and_grads(params, X, y)
        values += [loss, *grads.values()]
    return np.unique(np.concatenate([np.ravel(v) for v in values]).astype(float))


NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?(?!\d*%)|-?\d+e-?\d+")  # (a percentage is the student's accuracy)


def revealed(message, secrets):
    """The numbers of a message that are an expected value (printed with 4 significant digits or more:
    with fewer, a number tells little, and among tens of thousands of values one always comes close)."""
    found = []
    for text in NUMBER.findall(message):
        if len(text.lstrip("-0.").replace(".", "").split("e")[0]) < 4:
            continue
        value = float(text)
        decimals = len(text.split("e")[0].split(".")[1]) if "." in text else 0
        printed = 0.5 * 10.0 ** -decimals * (10.0 ** int(text.split("e")[1]) if "e" in text else 1)
        near = secrets[np.abs(secrets - value) <= np.maximum(1e-3 * np.abs(secrets), printed)]
        found += [text] if len(near) else []
    return found


def test_the_leak_search_finds_a_leak():
    secrets = expected_values()
    assert revealed(f"expected {secrets[0]:.5f} here", secrets) and revealed(f"or {secrets[-1]:.5g}", secrets)
    assert not revealed("on 3 of 5 hidden inputs, rel_error up to 0.5", secrets)
