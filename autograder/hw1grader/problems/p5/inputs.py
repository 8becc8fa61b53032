"""Problem 5's hidden inputs: seeded draws that both rooms regenerate (see ``hw1grader.inputs``).

Nothing here is, or computes, an expected answer: only shapes, random values and the training protocol.
"""

import numpy as np

from ...inputs import rng

# The network of Problem 5: 784 pixels -> 32 -> 32 -> 10 classes (sigmoid hidden layers, softmax output).
SIZES = (784, 32, 32, 10)

# The layer functions of the notebook that network_loss_and_grads composes (q5_network_backward
# replaces them by logging stand-ins; a logged call names its function by its index here).
LAYER_FUNCTIONS = ("affine_forward", "affine_backward", "sigmoid_forward", "sigmoid_backward", "softmax_cross_entropy")

# A backward pass costs about what its forward pass costs; differentiating numerically instead (finite
# differences, the complex step), one forward pass per parameter, does not: on these inputs it runs past
# the probe's time (config.PROBE_TIMEOUT), where a backward pass written by hand takes milliseconds.
LARGE_AFFINE = (64, 784, 128)  # N, D, M: dw holds 100,352 entries
LARGE_SIGMOID = (256, 512)
LARGE_SCORES = (2048, 64)  # N, C
LARGE_BATCH = 512  # images in the network's last hidden batch (25,450 parameters)

# q5_training's hidden run: the student's `sgd_train` with their `network_loss_and_grads`, from
# `training_init()` on `training_subset()` (the notebook trains the same way on a larger subset). A
# third of the notebook's run, since grading pays for it on top of the notebook; what the reference
# reaches is in config.py, beside MIN_ACCURACY_P5.
TRAIN_SUBSET = 10000  # training images
EPOCHS = 3
LR = 0.5
BATCH_SIZE = 32  # small enough that NumPy's matrix products stay single-threaded (fast on a busy machine)
SHUFFLE_SEED = 0

# q5_training's loop check: `train` run on a tiny synthetic problem whose "gradients" are random
# numbers, so that the loop is judged whatever the student's gradients are.
LOOP_N, LOOP_EPOCHS, LOOP_LR, LOOP_BATCH_SIZE = 23, 2, 0.3, 5  # 23 = 4 * 5 + 3: the last minibatch is short
LOOP_SIZES = (3, 4, 3, 2)


def init_params(r, sizes=SIZES, scale=1.0, bias=0.0):
    """W1, b1, W2, b2, ... for layer sizes `sizes`: weights N(0, scale^2 / fan_in), biases N(0, bias^2)."""
    params = {}
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{i}"] = r.normal(scale=scale / np.sqrt(d_in), size=(d_in, d_out))
        params[f"b{i}"] = r.normal(scale=bias, size=d_out)
    return params


def affine_cases():
    """(x, w, b, dout) with x (N, D), w (D, M), b (M,), dout (N, M); N = 1 among them, D != M always
    (so a transposed dw has the wrong shape) and N != D."""
    r = rng("q5_affine_backward")
    return [(r.normal(size=(n, d)), r.normal(size=(d, m)), r.normal(size=m), r.normal(size=(n, m)))
            for n, d, m in ((1, 4, 3), (5, 7, 4), (8, 3, 9), LARGE_AFFINE)]


def sigmoid_cases():
    """(x, dout) of equal shapes; |x| <= 5, where sigma'(x) is far from 0 and every correct formula
    agrees to rounding."""
    r = rng("q5_sigmoid_backward")
    return [(r.uniform(-5, 5, size=shape), r.normal(size=shape)) for shape in ((1, 5), (6, 3), (10, 10), LARGE_SIGMOID)]


def softmax_cases():
    """(scores, y): scores (N, C), labels y (N,) in 0..C-1; N = 1 among them. Scores of scale 1 keep every
    probability above ~1e-3, so that finite differences of the loss stay accurate to ~1e-7 in every entry."""
    r = rng("q5_softmax_ce")
    cases = [(r.normal(size=(n, c)), r.integers(c, size=n)) for n, c in ((1, 3), (5, 4), (16, 10), LARGE_SCORES)]
    scores, y = r.normal(size=(4, 6)), r.integers(6, size=4)  # the prompt's warning: scores far from 0
    return cases + [(scores + np.array([[1000.0], [-1000.0], [800.0], [-800.0]]), y)]


def network_cases():
    """(params, X, y) for the 784-32-32-10 network: weights large enough that the sigmoids bend,
    biases not zero, pixels in [0, 1]; N = 1 and N = 6."""
    r = rng("q5_network_backward")
    return [(init_params(r, scale=2.0, bias=0.5), r.uniform(size=(n, SIZES[0])), r.integers(SIZES[-1], size=n))
            for n in (1, 6, LARGE_BATCH)]


def training_init():
    """The parameters q5_training's hidden run starts from (the notebook's `init_params` draws the same way)."""
    return init_params(rng("q5_training/init"))


TRAINING_FILE = "training-subset.npz"  # in the judge's folder: the grader writes it from the original data


def pick_training_subset(images, labels):
    """TRAIN_SUBSET of FashionMNIST's training images (uint8, (60000, 28, 28)) and their labels, drawn
    by the grader from its own copy (``fmnist``) for the judge's hidden run."""
    idx = rng("q5_training/subset").choice(len(images), TRAIN_SUBSET, replace=False)
    return images[idx].reshape(TRAIN_SUBSET, -1), labels[idx]


def training_subset():
    """The hidden run's training images (float64 (n, 784) in [0, 1]) and labels, from TRAINING_FILE."""
    with np.load(TRAINING_FILE, allow_pickle=False) as f:
        return f["images"] / 255.0, f["labels"].astype(np.int64)


def loop_problem():
    """The loop check's data: X (LOOP_N, 3) whose first column is the row number, y = the row numbers
    (so the rows a minibatch holds can be read back), and small parameters."""
    r = rng("q5_training/loop")
    X = r.normal(size=(LOOP_N, LOOP_SIZES[0]))
    X[:, 0] = np.arange(LOOP_N)
    return X, np.arange(LOOP_N), init_params(r, LOOP_SIZES, bias=1.0)


def loop_gradient_source():
    """Where the loop check's random "gradients" come from (the probe draws them in call order)."""
    return rng("q5_training/loop-gradients")
