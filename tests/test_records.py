"""The clean room's own limits, checked before the work (issue 13's classes): a record is read only as the
plain float64 arrays whose headers were checked, and a model too large to evaluate is refused before it
is run on a single image."""

import io
import zipfile

import numpy as np
import pytest

from hw1grader import checking
from hw1grader.config import MAX_MODEL_PARAMETERS
from hw1grader.probing import text_array
from hw1grader.problems.p4 import checks as p4_checks

pytestmark = pytest.mark.fast


def npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def record_file(tmp_path, members):
    path = tmp_path / "q.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def test_a_record_of_plain_arrays_is_read(tmp_path):
    data = checking.load_record(record_file(tmp_path, [("x.npy", npy([1.0, 2.0])), ("y.npy", npy(3.0))]))
    assert data.get("x").tolist() == [1.0, 2.0] and data.get("y", ()) == 3.0


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("members", [
    [("x.npy", npy([1.0])), ("x", npy(np.array(["not a number"])))],  # numpy would hand out the second
    [("x.npy", npy([1.0])), ("x.npy", npy([2.0]))],                   # two members of one name
    [("x.npy", npy(np.array([1 + 2j])))],                             # numbers, but not real ones
    [("x.npy", npy(np.array(["1.0"])))],
], ids=["member-without-npy", "duplicate-name", "complex", "strings"])
def test_only_checked_float64_members_are_read(tmp_path, members):
    with pytest.raises(ValueError):
        checking.load_record(record_file(tmp_path, members))


def test_a_model_too_large_to_evaluate_is_refused_before_it_runs():
    width = MAX_MODEL_PARAMETERS // 785 + 10  # one hidden layer just past the limit
    r = np.random.default_rng(0)
    arrays = {"outputs": np.zeros((256, 10)),
              "call0": text_array("Linear", 100), "call0_W": np.zeros((width, 784)), "call0_b": np.zeros(width),
              "call0_in": r.uniform(size=(256, 784)), "call1": text_array("ReLU", 100),
              "call2": text_array("Linear", 100), "call2_W": np.zeros((10, width)), "call2_b": np.zeros(10),
              "call2_in": np.zeros((256, width))}
    with pytest.raises(p4_checks.NoRebuild, match="more than the 3,000,000 the autograder evaluates"):
        p4_checks.rebuild(checking.Record(arrays))


def test_the_rebuilt_model_is_run_in_batches_with_the_same_scores():
    r = np.random.default_rng(1)
    layers = [(r.normal(size=(32, 784)), r.normal(size=32), None, "ReLU"), (r.normal(size=(10, 32)), r.normal(size=10), None, None)]
    rebuilt = p4_checks.Rebuild(layers, "logits")
    images = r.uniform(size=(1234, 784))
    assert np.allclose(rebuilt.scores(images), rebuilt.batch_scores(images), rtol=1e-12, atol=1e-12)


def test_a_test_loss_is_its_mean_its_sum_or_the_mean_of_batch_means_in_order():
    r = np.random.default_rng(2)
    losses = np.where(r.random(10_000) < 0.88, r.exponential(0.12, 10_000), r.exponential(1.8, 10_000) + 0.7)
    losses[-16:] = 3.0  # the last 16 images, misclassified: a last batch of 16 weighs as much as a whole one
    batch_means = np.mean([losses[i:i + 256].mean() for i in range(0, 10_000, 256)])  # PyTorch's tutorial's way
    assert batch_means / losses.mean() > 1.1  # beyond the tolerance of a mean: its own case
    for value in (losses.mean(), losses.sum(), batch_means, np.float32(batch_means)):
        assert p4_checks.matches(float(value), losses)
    for value in (0.95 * losses.mean(), 0.5 * losses.mean(), 1.02 * batch_means):
        assert not p4_checks.matches(float(value), losses)


def curves_verdict(monkeypatch, train, test, accuracy=0.88):
    """q4_curves on these curves, for a model whose per-image test losses are `losses` (the rebuild stubbed)."""
    losses = np.random.default_rng(3).exponential(0.35, 10_000)
    evaluation = {"accuracy": accuracy, "right": losses, "CrossEntropyLoss": losses, "NLLLoss": losses}
    monkeypatch.setattr(p4_checks, "judged", lambda data: (None, evaluation))
    record = checking.Record({"n_epochs": np.array(float(len(train))), "train_losses": np.array(train, dtype=float),
                              "test_losses": np.array(test, dtype=float)})
    return p4_checks.q4_curves(record, None), losses.mean()


def test_curves_measured_before_each_epoch_lose_q4_curves(monkeypatch):
    _, final = curves_verdict(monkeypatch, [0.6], [0.0])
    verdict, _ = curves_verdict(monkeypatch, [0.6, 0.45, 0.4], [2.31, 0.5, final])  # the first: before training
    assert not verdict.passed and "untrained network" in verdict.message


@pytest.mark.parametrize("train", [[0.6, 0.45, 0.4], [0.5, 0.31, 0.44], [2.25, 2.0, 1.9]],
                         ids=["mean-per-epoch", "last-batch-noisy", "slow-start"])
def test_curves_measured_after_each_epoch_keep_q4_curves(monkeypatch, train):
    _, final = curves_verdict(monkeypatch, [0.6], [0.0])
    first = 2.2 if train[0] > 2 else 0.5  # a slow start: the first test loss near chance, as is the training's
    verdict, _ = curves_verdict(monkeypatch, train, [first, 0.9 * first + 0.1 * final, final])
    assert verdict.passed, verdict.message
