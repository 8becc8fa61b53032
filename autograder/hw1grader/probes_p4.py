"""Problem 4's probes: the student's network, training curves and predict_proba, as plain numbers.

The model is written down as its nn.Linear layers (weights and biases, in the order the module registers
them) and its outputs on hidden images; the clean room rebuilds a network from the layers and checks it
against those outputs, so nothing here needs to know what the right network is. The hidden images are
seeded picks from the test set plus noise; ``model_images`` and ``proba_images`` are shared with the
clean room, which applies them to its own copy of the test set.
"""

import numpy as np

from . import inputs
from .probes import ProbeError, answer, as_array, function, probe

# Hidden images (to move to config.py / inputs.py): how many the model and predict_proba are run on.
MODEL_TEST_IMAGES = 200  # seeded picks from the 10,000 test images
MODEL_NOISE_IMAGES = 56  # uniform noise in [0, 1]: inputs unlike any training image
PROBA_TEST_IMAGES = 5
PROBA_NOISE_IMAGES = 2  # and one blank (all-zero) image
MAX_LOSSES = 100_000  # longer loss lists are not recorded (they cannot be one number per epoch anyway)

# The test images the notebook itself loaded: torchvision keeps them under root/FashionMNIST/raw, and
# the homework's root is ./FashionMNIST/. Altering this file only makes the model's recorded outputs
# disagree with the clean room's own copy of the test set.
TEST_IMAGES_FILE = "FashionMNIST/FashionMNIST/raw/t10k-images-idx3-ubyte"  # fmnist.NOTEBOOK_ROOT's copy


def model_images(test_images):
    """(N, 784) float64 images in [0, 1] the model is run on, from the (10000, 784) test images."""
    r = inputs.rng("q4_model")
    picks = r.choice(len(test_images), size=MODEL_TEST_IMAGES, replace=False)
    return np.concatenate([test_images[picks], r.uniform(size=(MODEL_NOISE_IMAGES, 784))])


def proba_images(test_images):
    """(N, 784) float64 images predict_proba is given: test images, noise, and a blank image last."""
    r = inputs.rng("q4_predict_proba")
    picks = r.choice(len(test_images), size=PROBA_TEST_IMAGES, replace=False)
    return np.concatenate([test_images[picks], r.uniform(size=(PROBA_NOISE_IMAGES, 784)), np.zeros((1, 784))])


def test_images():
    try:
        with open(TEST_IMAGES_FILE, "rb") as f:
            data = f.read()
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(10000, 784) / 255.0
    except (OSError, ValueError):
        raise ProbeError("FashionMNIST's test images are not in ./FashionMNIST/ (did the notebook's data "
                         "cell run, with the loading code given in Problem 4?)") from None


def network(ns):
    import torch

    model = answer(ns, "model")
    if not isinstance(model, torch.nn.Module):
        raise ProbeError(f"`model` should be a torch.nn.Module, but it is a {type(model).__name__}")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise ProbeError("`model` has no torch.nn.Linear layers: build it from nn.Linear layers and activations")
    return model, linears


def run_model(model, images):
    """The model's outputs (N, 10) on images (N, 784), given as (N, 1, 28, 28) or, failing that, (N, 784)."""
    import torch

    x = torch.tensor(images, dtype=next(model.parameters()).dtype)
    model.eval()  # dropout and the like off, as when the model is evaluated
    with torch.no_grad():
        try:
            out = model(x.reshape(-1, 1, 28, 28))
        except Exception as e:
            try:
                out = model(x.reshape(-1, 784))
            except Exception:
                raise ProbeError(f"`model` raised {type(e).__name__}: {e} (on a batch of images of shape "
                                 f"({len(images)}, 1, 28, 28))") from None
    return as_array(out, f"what `model` returns for a batch of {len(images)} images", (len(images), 10))


def model_record(ns):
    model, linears = network(ns)
    record = {"outputs": run_model(model, model_images(test_images()))}
    for i, layer in enumerate(linears):
        record[f"W{i}"] = as_array(layer.weight, "a weight matrix")
        bias = np.zeros(layer.out_features) if layer.bias is None else as_array(layer.bias, "a bias")
        record[f"b{i}"] = bias
    return record


@probe("q4_model")
def q4_model(ns):
    return model_record(ns)


@probe("q4_accuracy")
def q4_accuracy(ns):
    return {**model_record(ns), "test_accuracy": as_array(answer(ns, "test_accuracy"), "`test_accuracy`", ())}


def losses(ns, name):
    values = answer(ns, name)
    try:
        values = [float(v) for v in values]  # numbers, 0-d arrays and one-element tensors alike
    except (TypeError, ValueError) as e:
        raise ProbeError(f"`{name}` should be a list of numbers, one per epoch ({type(e).__name__}: {e})") from None
    if len(values) > MAX_LOSSES:
        raise ProbeError(f"`{name}` holds {len(values)} numbers: it should hold one per epoch")
    return np.array(values, dtype=np.float64)


@probe("q4_curves")
def q4_curves(ns):
    return {"n_epochs": as_array(answer(ns, "n_epochs"), "`n_epochs`", ()),
            "train_losses": losses(ns, "train_losses"), "test_losses": losses(ns, "test_losses")}


@probe("q4_predict_proba")
def q4_predict_proba(ns):
    """predict_proba on each hidden image, given as the dataset gives one (float32, (1, 28, 28)), and
    the model's own outputs on the same images."""
    import torch

    model, _ = network(ns)
    fn = function(ns, "predict_proba")
    images = proba_images(test_images())
    record = {}
    for i, image in enumerate(images):
        try:
            p = fn(model, torch.tensor(image, dtype=torch.float32).reshape(1, 28, 28))
        except Exception as e:
            raise ProbeError(f"`predict_proba` raised {type(e).__name__}: {e} (on an image of shape (1, 28, 28))") from None
        p = as_array(p, "what `predict_proba(model, image)` returns")
        if p.size != 10:
            raise ProbeError(f"`predict_proba(model, image)` should return 10 probabilities, not shape {p.shape}")
        record[f"proba{i}"] = p.reshape(10)
    record["outputs"] = run_model(model, images)
    return record
