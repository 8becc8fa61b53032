"""Problem 4 in the clean room: the student's network rebuilt from what it did, judged on the real test
set (``fmnist.load_test_set``, never the submission's copy).

The probe wrote down the model's run on the hidden images: the nn.Linear layers it called in order, with
the input each one received, any BatchNorm1d, the names of the other modules, and the outputs. The
rebuild chains the Linear layers from the 784 pixels to the 10 outputs, finds each layer's activation on
its own (the function that turns one layer's output into the next layer's input), finds what the model
does after its last layer (nothing, log-softmax or softmax), and must then reproduce the outputs from the
clean room's own copy of the images. Only then do its layer sizes and activations say what the model
is, and its accuracy on the 10,000 test images how well it was trained. Architecture, accuracy and the
curves are decided apart, so a well-trained network of the wrong shape loses only the architecture's
points, and curves are judged against the loss of the rebuilt model on the test set.
"""

import hashlib
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from ... import fmnist
from ...checking import Unusable, Verdict, check
from ...config import (ARCHITECTURE, BATCH_MEANS_RTOL, BATCH_SIZES, EVALUATION_BATCH, MAX_MODEL_PARAMETERS, MAX_TEST_ADVANTAGE, MIN_ACCURACY,
                       MIN_TRAINED_ACCURACY, OUTPUT_ATOL, OUTPUT_RTOL, PROBA_ATOL, REPORT_ATOL, TEST_LOSS_ATOL,
                       TEST_LOSS_RTOL)
from ...inputs import rng
from .inputs import PROBA_KINDS, model_images

# The functions a layer's output may go through before the next layer, as torch defines them. ReLU is
# the homework's; the others let a network that used them be rebuilt and its accuracy measured.
ACTIVATIONS = {
    "ReLU": lambda z: np.maximum(z, 0),
    "no activation": lambda z: z,
    "LeakyReLU": lambda z: np.where(z > 0, z, 0.01 * z),
    "ReLU6": lambda z: np.clip(z, 0, 6),
    "ELU": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
    "SELU": lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(np.minimum(z, 0))),
    "GELU": lambda z: 0.5 * z * (1 + special.erf(z / np.sqrt(2))),
    "GELU (tanh)": lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z ** 3))),
    "SiLU": lambda z: z * special.expit(z),
    "Mish": lambda z: z * np.tanh(np.logaddexp(0, z)),
    "sigmoid": special.expit,
    "tanh": np.tanh,
    "Softplus": lambda z: np.logaddexp(0, z),
}
# What may follow the last layer: the model's outputs are then logits, log-probabilities or probabilities.
OUTPUT_KINDS = ("logits", "log-probabilities", "probabilities")
# Module calls that change nothing in evaluation mode, or that the rebuild accounts for.
HARMLESS = {"Linear", "Flatten", "Unflatten", "Dropout", "Dropout1d", "AlphaDropout", "Identity", "ReLU",
            "Softmax", "LogSoftmax"} | set(ACTIVATIONS)


def test_set():
    return fmnist.load_test_set()


TRAINING_CHECK_IMAGES = 10_000  # training images the rebuilt model's accuracy is measured on too


def training_sample():
    """A seeded sample of the training images (float64 in [0, 1]) and their labels."""
    images, labels = fmnist.read_checked("train-images-idx3-ubyte"), fmnist.read_checked("train-labels-idx1-ubyte")
    picks = rng("q4_accuracy/training").choice(len(images), TRAINING_CHECK_IMAGES, replace=False)
    return images[picks].reshape(len(picks), -1) / 255.0, labels[picks].astype(np.int64)


def log_softmax(z):
    return z - special.logsumexp(z, axis=1, keepdims=True)


@dataclass
class Rebuild:
    """A network the clean room can run: layers (W, b, batch norm or None, activation after it) and what
    follows the last layer."""

    layers: list
    output: str
    extra: list = field(default_factory=list)  # module calls besides Linear and activations (BatchNorm1d, ...)
    pixels: tuple = None  # (scale, shift) of each pixel before the first layer: the model normalises its input

    def sizes(self):
        return [784] + [W.shape[0] for W, _, _, _ in self.layers]

    def activations(self):
        return [act for _, _, _, act in self.layers[:-1]]

    def scores(self, images):
        """The last layer's output (logits) on images (N, 784), EVALUATION_BATCH images at a time."""
        return np.concatenate([self.batch_scores(images[start:start + EVALUATION_BATCH])
                               for start in range(0, len(images), EVALUATION_BATCH)])

    def batch_scores(self, x):
        if self.pixels is not None:
            x = x * self.pixels[0] + self.pixels[1]
        for W, b, norm, act in self.layers:
            x = x @ W.T + b
            if norm is not None:
                x = (x - norm[0]) * norm[1] + norm[2]
            if act is not None:
                x = ACTIVATIONS[act](x)
        return x

    def outputs(self, x, scores=None):
        scores = self.scores(x) if scores is None else scores
        return {"logits": scores, "log-probabilities": log_softmax(scores),
                "probabilities": np.exp(log_softmax(scores))}[self.output]


class NoRebuild(Exception):
    """The model's run cannot be rebuilt; the message says what was found, for the student."""


def calls(data):
    """[(i, class name)] of the module calls the probe recorded, in order."""
    found, i = [], 0
    while f"call{i}" in data:
        found.append((i, data.text(f"call{i}")))
        i += 1
    return found


def batch_norm(data, i):
    """(mean, scale, shift) of the BatchNorm1d of call i, in evaluation mode."""
    mean, var = data.get(f"call{i}_mean"), data.get(f"call{i}_var", data.get(f"call{i}_mean").shape)
    weight, bias = data.get(f"call{i}_weight", mean.shape), data.get(f"call{i}_bias", mean.shape)
    eps = float(data.get(f"call{i}_eps", ()))
    return mean, weight / np.sqrt(var + eps), bias


def close_enough(got, expected):
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=OUTPUT_RTOL, atol=OUTPUT_ATOL))


def input_map(images, given):
    """(scale, shift) of each pixel such that the first layer's recorded input is images * scale + shift:
    a normalisation of the pixels ((x - mean) / std, one for all pixels or one per pixel) that `model`
    makes before its first layer, fitted by least squares (the noise images make every pixel vary);
    None when the input is not such a map of the images."""
    if given.shape != images.shape:
        return None
    centred = images - images.mean(axis=0)
    scale = (centred * (given - given.mean(axis=0))).sum(axis=0) / (centred ** 2).sum(axis=0)
    shift = given.mean(axis=0) - scale * images.mean(axis=0)
    return (scale, shift) if close_enough(given, images * scale + shift) else None


def rebuild(data):
    """The Rebuild that reproduces the recorded outputs on the clean room's images; NoRebuild otherwise."""
    recorded = calls(data)
    linears = [i for i, name in recorded if name == "Linear"]
    names = [name for _, name in recorded]
    if not linears:
        raise NoRebuild("`model` calls no nn.Linear layer on a batch of images.")
    layers, extra = [], [name for name in names if name not in HARMLESS]
    size = 784
    for position, i in enumerate(linears):
        W = data.get(f"call{i}_W")
        b = data.get(f"call{i}_b")
        if W.ndim != 2 or W.shape[1] != size or b.shape != (W.shape[0],):
            raise NoRebuild(f"The nn.Linear layers that `model` calls do not connect into one chain from the 784 "
                            f"pixels to the outputs (layer {position + 1} takes {W.shape[-1]} inputs where "
                            f"{size} come in).")
        follows = names[i + 1: linears[position + 1] if position + 1 < len(linears) else len(names)]
        norm = None
        if "BatchNorm1d" in follows:
            j = i + 1 + follows.index("BatchNorm1d")
            norm = batch_norm(data, j)
            if norm[0].shape != (W.shape[0],):
                raise NoRebuild("A BatchNorm1d of `model` does not follow the size of its layer.")
        layers.append([W, b, norm, None])
        size = W.shape[0]
    if size != 10:
        raise NoRebuild(f"The last nn.Linear layer that `model` calls has {size} outputs, not 10.")
    parameters = sum(W.size + b.size for W, b, _, _ in layers)
    if parameters > MAX_MODEL_PARAMETERS:
        raise NoRebuild(f"`model` has {parameters:,} parameters in its nn.Linear layers, more than the "
                        f"{MAX_MODEL_PARAMETERS:,} the autograder evaluates (the homework's network has "
                        f"{sum(a * b + b for a, b in zip(ARCHITECTURE, ARCHITECTURE[1:])):,}).")
    # each hidden layer's activation: the function that makes the next layer's recorded input
    for position, i in enumerate(linears[:-1]):
        following = linears[position + 1]
        if f"call{following}_in" not in data or f"call{i}_in" not in data:
            raise NoRebuild("`model`'s layers could not be followed through a batch of images.")
        W, b, norm, _ = layers[position]
        z = data.get(f"call{i}_in") @ W.T + b
        if norm is not None:
            z = (z - norm[0]) * norm[1] + norm[2]
        given = data.get(f"call{following}_in")
        found = [name for name, act in ACTIVATIONS.items() if given.shape == z.shape and close_enough(given, act(z))]
        if not found:
            between = ", ".join(names[i + 1:following]) or "nothing but a function inside forward"
            raise NoRebuild(f"Between nn.Linear layers {position + 1} and {position + 2}, `model` applies something "
                            f"the autograder does not recognise as an activation (it calls: {between}).")
        layers[position][3] = found[0]
    images = model_images(test_set()[0])
    # what reaches the first layer: the images themselves, or the images normalised by the model itself
    # (then what it called before that layer is the normalisation, not an extra layer)
    pixels, first = None, f"call{linears[0]}_in"
    if first in data and not close_enough(data.get(first), images):
        pixels = input_map(images, data.get(first))
        if pixels is None:
            raise NoRebuild("Before its first nn.Linear layer, `model` changes the images in a way the autograder does "
                            "not recognise as a normalisation of the pixels ((x - mean) / std).")
        extra = [name for name in names[linears[0]:] if name not in HARMLESS]
    outputs = data.get("outputs", (len(images), 10))
    scores = Rebuild([tuple(layer) for layer in layers], "logits", extra, pixels).scores(images)
    for output in OUTPUT_KINDS:
        candidate = Rebuild([tuple(layer) for layer in layers], output, extra, pixels)
        if close_enough(outputs, candidate.outputs(images, scores)):
            return candidate
    after = names[linears[-1] + 1:]
    raise NoRebuild("The outputs of `model` are not those of its nn.Linear layers with their activations, followed by "
                    "nothing, a log-softmax or a softmax" + (f" (after its last layer it calls: {', '.join(after)})."
                                                             if after else "."))


def evaluation(rebuilt):
    """Accuracy and the candidate test losses of a rebuild on the 10,000 test images, and its accuracy on
    training images."""
    images, labels = test_set()
    scores = rebuilt.scores(images)
    outputs = rebuilt.outputs(images, scores)
    rows = np.arange(len(labels))
    train_images, train_labels = training_sample()
    return {"accuracy": float(np.mean(scores.argmax(axis=1) == labels)),
            "training accuracy": float(np.mean(rebuilt.scores(train_images).argmax(axis=1) == train_labels)),
            # each image's loss: the model's own cross-entropy (what CrossEntropyLoss on logits, or NLLLoss on
            # log-probabilities, gives), and what CrossEntropyLoss and NLLLoss give on these outputs
            "right": -log_softmax(scores)[rows, labels],
            "CrossEntropyLoss": -log_softmax(outputs)[rows, labels],
            "NLLLoss": -outputs[rows, labels]}


JUDGED = {}  # the last rebuild and its evaluation, by record: the q4 checks of one grade share them


def judged(data):
    """(Rebuild, its evaluation) of a model record; NoRebuild when it cannot be rebuilt."""
    digest = hashlib.sha256()
    for key in sorted(k for k in data.keys() if k.startswith("call") or k == "outputs"):
        digest.update(key.encode() + np.ascontiguousarray(data.get(key, finite=False)).tobytes())
    key = digest.hexdigest()
    if key not in JUDGED:
        JUDGED.clear()
        try:
            rebuilt = rebuild(data)
            JUDGED[key] = (rebuilt, evaluation(rebuilt))
        except NoRebuild as e:
            JUDGED[key] = e
    if isinstance(JUDGED[key], NoRebuild):
        raise JUDGED[key]
    return JUDGED[key]


def matches(value, losses):
    """Whether a reported test loss is that of the per-image `losses` on the 10,000 test images: their mean
    (the loss functions' default), their sum, or the mean of batch means in the test set's order."""
    mean = losses.mean()
    if any(abs(value - target) <= TEST_LOSS_ATOL + TEST_LOSS_RTOL * abs(target) for target in (mean, len(losses) * mean)):
        return True
    for size in BATCH_SIZES:
        if len(losses) % size:
            target = np.mean([losses[start:start + size].mean() for start in range(0, len(losses), size)])
            if abs(value - target) <= BATCH_MEANS_RTOL * abs(target):
                return True
    return False


def reported_loss(data, key):
    """The one number recorded under key, or None when there is none."""
    try:
        return float(data.get(key, (1,))[0])
    except Unusable:
        return None


MISMATCHED_LOSS = {
    ("probabilities", "CrossEntropyLoss"): "`model` ends with a softmax, and its loss is CrossEntropyLoss, which applies a "
                                           "softmax itself: the softmax is applied twice. End the model with its last "
                                           "nn.Linear layer (logits) for CrossEntropyLoss",
    ("logits", "NLLLoss"): "`model` outputs logits, and its loss is NLLLoss, which expects log-probabilities: use "
                           "CrossEntropyLoss, or end the model with a log-softmax",
    ("probabilities", "NLLLoss"): "`model` outputs probabilities, and its loss is NLLLoss, which expects "
                                  "log-probabilities: end the model with a log-softmax instead of a softmax",
}


def loss_used(data, rebuilt, evaluation):
    """Which loss the student trained with, as far as the record tells: read from the last test loss (it
    is one of the candidate losses of the final model on the test set), else from the loss objects the
    notebook holds; None when it cannot be told or when it matches the outputs."""
    last = reported_loss(data, "last_test_loss")
    if last is not None:
        if matches(last, evaluation["right"]):
            return None
        for loss in ("CrossEntropyLoss", "NLLLoss"):
            if matches(last, evaluation[loss]):
                return loss
    found = set(filter(None, data.text("losses").split(",")))
    if len(found) == 1 and (rebuilt.output, *found) in MISMATCHED_LOSS:
        return found.pop()
    return None


def arrow(sizes):
    return " → ".join(map(str, sizes))


@check("q4_model")
def q4_model(data, ctx):
    try:
        rebuilt, evaluation = judged(data)
    except NoRebuild as e:
        return Verdict(False, str(e))
    if rebuilt.sizes() != ARCHITECTURE:
        return Verdict(False, f"The layers of `model` go {arrow(rebuilt.sizes())}; the homework asks for {arrow(ARCHITECTURE)}.")
    if float(data.get("input_dims", ())) != 4:
        return Verdict(False, "`model` raises an error on a batch of images of shape (N, 1, 28, 28), as X_train holds "
                              "them; it takes only flattened images (N, 784). Start it with nn.Flatten().")
    wrong = [f"{act} after layer {i + 1}" for i, act in enumerate(rebuilt.activations()) if act != "ReLU"]
    if wrong:
        return Verdict(False, f"Each hidden layer of `model` should be followed by a ReLU; found {', '.join(wrong)}.")
    if rebuilt.extra:
        return Verdict(False, f"`model` is built from nn.Linear layers and ReLUs, plus {', '.join(sorted(set(rebuilt.extra)))}, "
                              "which the homework does not ask for.")
    loss = loss_used(data, rebuilt, evaluation)
    if loss is not None:
        return Verdict(False, MISMATCHED_LOSS[rebuilt.output, loss] + ".")
    return Verdict(True, f"`model` is {arrow(ARCHITECTURE)} with ReLU activations, and its loss matches its {rebuilt.output}.")


@check("q4_accuracy")
def q4_accuracy(data, ctx):
    try:
        _, evaluation = judged(data)
    except NoRebuild as e:
        return Verdict(False, f"{e} So the autograder could not measure the accuracy of `model`: build it from "
                              "nn.Linear layers and activations.")
    accuracy = evaluation["accuracy"]
    reported = float(data.get("test_accuracy", (), what="`test_accuracy`"))
    if accuracy < MIN_ACCURACY:
        hint = ("train it for more epochs, or check the learning rate and the loss" if abs(reported - accuracy) <= REPORT_ATOL
                else "your `test_accuracy` says otherwise: does `model` expect its images in another form than X_test "
                     "(values in [0, 1], shape (N, 1, 28, 28))?")
        return Verdict(False, f"`model` classifies less than {MIN_ACCURACY:.0%} of the test images correctly: {hint}.")
    if accuracy - evaluation["training accuracy"] > MAX_TEST_ADVANTAGE:
        return Verdict(False, "`model` classifies the test images better than the training images: it should learn "
                              "from X_train and y_train only, and the test set only measure it.")
    if not abs(reported - accuracy) <= REPORT_ATOL:
        return Verdict(False, "`model` is accurate enough, but `test_accuracy` is not the fraction of the 10,000 test "
                              "images it classifies correctly: compute it on the whole test set, after training.")
    return Verdict(True, f"`model` classifies at least {MIN_ACCURACY:.0%} of the test images correctly, "
                         "and `test_accuracy` reports its accuracy.")


@check("q4_curves")
def q4_curves(data, ctx):
    n = float(data.get("n_epochs", (), what="`n_epochs`"))
    if not (n >= 2 and n == int(n)):
        return Verdict(False, "`n_epochs` should be a whole number of epochs, at least 2.")
    train, test = data.get("train_losses", finite=False), data.get("test_losses", finite=False)
    if len(train) != n or len(test) != n:
        return Verdict(False, f"`train_losses` and `test_losses` should hold one number per epoch ({int(n)} each); "
                              f"they hold {len(train)} and {len(test)}.")
    if not (np.all(np.isfinite(train)) and np.all(np.isfinite(test))):
        return Verdict(False, "Some losses are not finite numbers (nan or inf): lower the learning rate.")
    if not min(train[1:]) < train[0]:  # (an epoch's loss from its last batch alone is noisy, and accepted)
        return Verdict(False, "The training loss never falls below the first epoch's: is the optimiser stepping the "
                              "parameters of `model`?")
    try:
        rebuilt, evaluation = judged(data)
    except NoRebuild as e:
        return Verdict(False, f"{e} So the autograder could not check `test_losses` against the model.")
    # the final model is the last epoch's, or the best epoch's where the notebook kept that one (early stopping)
    if not any(matches(value, evaluation[loss]) for value in (test[-1], min(test))
               for loss in ("right", "CrossEntropyLoss", "NLLLoss")):
        return Verdict(False, "The last number of `test_losses` is not the loss of the trained `model` on the 10,000 "
                              "test images: after each epoch, compute the loss of the model on X_test, y_test.")
    # measured before each epoch instead of after: the first test loss is then an untrained network's,
    # about ln 10 (chance), far above the training loss of the epoch that followed it
    first = test[0] / (len(evaluation["right"]) if test[-1] > 100 * evaluation["right"].mean() else 1)
    if first >= 0.9 * np.log(10) and train[0] < 0.7 * first:
        return Verdict(False, "The first number of `test_losses` is about the loss of an untrained network (ln 10 ≈ "
                              "2.3), far above the training loss of that epoch: record the test loss after each "
                              "epoch's training, not before it.")
    if evaluation["accuracy"] < MIN_TRAINED_ACCURACY:
        return Verdict(False, f"`model` has not learnt (it classifies fewer than {MIN_TRAINED_ACCURACY:.0%} of the test "
                              "images correctly), so these are not the curves of its training: train `model` and "
                              "record its losses after each epoch.")
    return Verdict(True, f"One training and one test loss per epoch for {int(n)} epochs, the training loss falls, "
                         "and the test loss is measured on the test set.")


@check("q4_predict_proba")
def q4_predict_proba(data, ctx):
    n = len(PROBA_KINDS)  # as proba_images draws them
    probabilities = np.stack([data.get(f"proba{i}", (10,), what="what `predict_proba` returns") for i in range(n)])
    valid = (probabilities >= 0).all(axis=1) & np.isclose(probabilities.sum(axis=1), 1, rtol=0, atol=PROBA_ATOL)
    if not valid.all():
        which = list(dict.fromkeys(PROBA_KINDS[i] for i in np.flatnonzero(~valid)))
        return Verdict(False, f"`predict_proba` does not return a probability distribution (10 numbers, none negative, "
                              f"summing to 1) for {np.sum(~valid)} of {n} hidden images ({', '.join(which)}): "
                              "the model's outputs are scores (logits); turn them into probabilities.")
    outputs = data.get("outputs", (n, 10), what="the outputs of `model`")
    # the softmax of the outputs (logits, or log-probabilities: the same distribution); and where the model
    # itself ends in a softmax, its outputs as they are. A softmax applied once more on top of such a model is
    # that model's mistake, and q4_model's loss: predict_proba did what the prompt asks of it.
    close = lambda expected: np.isclose(probabilities, expected, rtol=0, atol=PROBA_ATOL).all(axis=1)  # noqa: E731
    wrong = ~close(np.exp(log_softmax(outputs)))
    model_gives_probabilities = (outputs >= 0).all() and np.allclose(outputs.sum(axis=1), 1, rtol=0, atol=PROBA_ATOL)
    if model_gives_probabilities:
        wrong &= ~close(outputs)
    if wrong.any():
        return Verdict(False, f"On {np.sum(wrong)} of {n} hidden images, `predict_proba` returns probabilities other "
                              "than the softmax of the model's outputs for that image.")
    return Verdict(True, f"`predict_proba` returns the model's class probabilities on all {n} hidden images.")
