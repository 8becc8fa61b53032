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
