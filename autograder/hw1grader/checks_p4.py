"""Problem 4's checks: the student's network rebuilt from its recorded weights and judged on the real
test set (``fmnist.load_test_set``, never the submission's copy).

A rebuild chains the recorded nn.Linear layers from the 784 pixels to the outputs, with one activation
between layers, and must reproduce the student's model on the hidden images (as logits, log-probabilities
or probabilities). Only then do its layer sizes and activation say what the model is, and its accuracy
on the 10,000 test images say how well it was trained. Architecture and accuracy are decided apart, so
a well-trained network of the wrong shape loses only the architecture's points.
"""

import functools

import numpy as np

from . import fmnist
from .checks import Verdict, check
from .config import ARCHITECTURE, MIN_ACCURACY, OUTPUT_ATOL, OUTPUT_RTOL, PROBA_ATOL, REPORT_ATOL
from .probes_p4 import PROBA_NOISE_IMAGES, PROBA_TEST_IMAGES, model_images

ACTIVATIONS = {  # ReLU is the homework's; the others let accuracy be measured for a network that used them
    "ReLU": lambda z: np.maximum(z, 0),
    "sigmoid": lambda z: np.exp(-np.logaddexp(0, -z)),
    "tanh": np.tanh,
}


@functools.lru_cache(maxsize=1)
def test_set():
    return fmnist.load_test_set()


def log_softmax(z):
    return z - np.logaddexp.reduce(z, axis=1, keepdims=True)


def recorded_layers(data):
    """The recorded (W, b) pairs, in the order the student's module registered them."""
    return [(data[f"W{i}"], data[f"b{i}"]) for i in range(sum(k.startswith("W") for k in data))]


def chain(layers):
    """The layers ordered from the 784 pixels on: as registered when they fit together so, else by
    following the sizes (for a module that defines its layers in another order). None if neither works."""
    def fits(ordered):
        sizes = [784] + [W.shape[0] for W, _ in ordered]
        return all(W.ndim == 2 and W.shape[1] == n and b.shape == (W.shape[0],) for (W, b), n in zip(ordered, sizes))

    if fits(layers):
        return layers
    ordered, rest = [], list(layers)
    while rest:
        size = ordered[-1][0].shape[0] if ordered else 784
        following = [layer for layer in rest if layer[0].ndim == 2 and layer[0].shape[1] == size]
        if len(following) != 1:
            return None
        ordered.append(following[0])
        rest = [layer for layer in rest if layer is not following[0]]
    return ordered if fits(ordered) else None


def forward(layers, x, activation):
    """Logits of the chained layers with the activation after every layer but the last."""
    for W, b in layers[:-1]:
        x = activation(x @ W.T + b)
    W, b = layers[-1]
    return x @ W.T + b


def rebuild(data, images):
    """(activation name, layers) of the rebuild that reproduces the recorded outputs, or None."""
    layers = chain(recorded_layers(data))
    if layers is None or layers[-1][0].shape[0] != 10:
        return None
    for name, activation in ACTIVATIONS.items():
        logp = log_softmax(forward(layers, images, activation))
        # logits and log-probabilities differ by a constant per image; probabilities are exp(logp)
        shift = data["outputs"] - logp
        if (np.allclose(shift, shift[:, :1], rtol=0, atol=OUTPUT_ATOL)
                or np.allclose(data["outputs"], np.exp(logp), rtol=OUTPUT_RTOL, atol=OUTPUT_ATOL)):
            return name, layers
    return None


@check("q4_model")
def q4_model(data, ctx):
    layers = chain(recorded_layers(data))
    if layers is None:
        return Verdict(False, "The nn.Linear layers of `model` do not connect into one chain from the 784 pixels "
                              "to the outputs (is there a layer that forward does not use?).")
    sizes = [784] + [W.shape[0] for W, _ in layers]
    if sizes != ARCHITECTURE:
        return Verdict(False, f"The layers of `model` go {' → '.join(map(str, sizes))}; the homework asks for "
                              f"{' → '.join(map(str, ARCHITECTURE))}.")
    found = rebuild(data, model_images(test_set()[0]))
    if found is None or found[0] != "ReLU":
        return Verdict(False, "The outputs of `model` are not those of its nn.Linear layers with a ReLU after each "
                              "hidden layer (and at most a softmax or log-softmax at the end): check the activations "
                              "and that forward uses the layers in order.")
    return Verdict(True, "`model` is 784 → 256 → 128 → 64 → 10 with ReLU activations.")


@check("q4_accuracy")
def q4_accuracy(data, ctx):
    images, labels = test_set()
    found = rebuild(data, model_images(images))
    if found is None:
        return Verdict(False, "The autograder could not rebuild `model` from its nn.Linear layers and activations "
                              "(ReLU, sigmoid or tanh), so it could not measure its accuracy: build the model from "
                              "nn.Linear layers and activations only.")
    activation, layers = found
    accuracy = np.mean(forward(layers, images, ACTIVATIONS[activation]).argmax(axis=1) == labels)
    if accuracy < MIN_ACCURACY:
        return Verdict(False, f"`model` classifies less than {MIN_ACCURACY:.0%} of the test images correctly: "
                              "train it for more epochs, or check the learning rate and the loss.")
    if not abs(data["test_accuracy"] - accuracy) <= REPORT_ATOL:
        return Verdict(False, "`model` is accurate enough, but `test_accuracy` is not the fraction of the 10,000 test "
                              "images it classifies correctly: compute it on the whole test set, after training.")
    return Verdict(True, f"`model` classifies at least {MIN_ACCURACY:.0%} of the test images correctly, "
                         "and `test_accuracy` reports its accuracy.")


@check("q4_curves")
def q4_curves(data, ctx):
    n, train, test = data["n_epochs"], data["train_losses"], data["test_losses"]
    if not (n >= 2 and n == int(n)):
        return Verdict(False, "`n_epochs` should be a whole number of epochs, at least 2.")
    if len(train) != n or len(test) != n:
        return Verdict(False, f"`train_losses` and `test_losses` should hold one number per epoch ({int(n)} each); "
                              f"they hold {len(train)} and {len(test)}.")
    if not (np.all(np.isfinite(train)) and np.all(np.isfinite(test))):
        return Verdict(False, "Some losses are not finite numbers (nan or inf): lower the learning rate.")
    if not train[-1] < train[0]:
        return Verdict(False, "The training loss does not fall from the first epoch to the last: is the optimiser "
                              "stepping the parameters of `model`?")
    return Verdict(True, f"One training and one test loss per epoch for {int(n)} epochs, and the training loss falls.")


@check("q4_predict_proba")
def q4_predict_proba(data, ctx):
    kinds = ["a test image"] * PROBA_TEST_IMAGES + ["a noise image"] * PROBA_NOISE_IMAGES + ["a blank image"]
    n = len(kinds)  # as proba_images draws them
    probabilities = np.stack([data[f"proba{i}"] for i in range(n)])
    valid = (probabilities >= 0).all(axis=1) & np.isclose(probabilities.sum(axis=1), 1, rtol=0, atol=PROBA_ATOL)
    if not valid.all():
        which = list(dict.fromkeys(kinds[i] for i in np.flatnonzero(~valid)))
        return Verdict(False, f"`predict_proba` does not return a probability distribution (10 numbers, none negative, "
                              f"summing to 1) for {np.sum(~valid)} of {n} hidden images ({', '.join(which)}): "
                              "the model's outputs are scores (logits); turn them into probabilities.")
    outputs = data["outputs"]
    model_gives_probabilities = (outputs >= 0).all() and np.allclose(outputs.sum(axis=1), 1, rtol=0, atol=PROBA_ATOL)
    expected = outputs if model_gives_probabilities else np.exp(log_softmax(outputs))
    wrong = ~np.isclose(probabilities, expected, rtol=0, atol=PROBA_ATOL).all(axis=1)
    if wrong.any():
        return Verdict(False, f"On {np.sum(wrong)} of {n} hidden images, `predict_proba` returns probabilities other "
                              "than the softmax of the model's outputs for that image.")
    return Verdict(True, f"`predict_proba` returns the model's class probabilities on all {n} hidden images.")
