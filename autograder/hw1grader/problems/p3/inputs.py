"""Problem 3's network as the homework defines it, theta_0 and x of 3(c)/(d), and the hidden inputs
of 3(b). No answer in here: the forward pass is the homework's own definition.

A parameter set theta is a dict with W_H, b_H, W_O (four numbers each) and b_O (one number); flattened,
it is a 13-vector in the order W_H1..4, b_H1..4, W_O1..4, b_O.
"""

import numpy as np

from ...inputs import rng

PARAM_SHAPES = {"W_H": (4,), "b_H": (4,), "W_O": (4,), "b_O": ()}
PARAM_NAMES = [f"{k}{i}" for k in ("W_H", "b_H", "W_O") for i in range(1, 5)] + ["b_O"]

# 3(c) and 3(d): the network at THETA_0, evaluated and differentiated at X_3CD (the master notebook's
# `theta0` cell and prompt say the same; a test keeps them equal)
THETA_0 = {"W_H": [-1, 1, 1, -1], "b_H": [1, 1, -1, 1], "W_O": [-1, -1, -1, 1], "b_O": 1}
X_3CD = 2.0

DATASETS = {"q3a_1": "p3_dataset1.csv", "q3a_2": "p3_dataset2.csv"}  # in the assignment's data/ folder


def flatten(theta) -> np.ndarray:
    """The 13-vector of a parameter dict; ValueError, in words a student can act on, when malformed."""
    if not isinstance(theta, dict):
        raise ValueError(f"expected a dict with keys {sorted(PARAM_SHAPES)}, got {type(theta).__name__}")
    missing = sorted(set(PARAM_SHAPES) - set(theta))
    if missing:
        raise ValueError(f"the dict is missing the key(s) {missing}")
    parts = []
    for key, shape in PARAM_SHAPES.items():
        try:
            value = np.asarray(theta[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"[{key!r}] should hold numbers only (replace every `...`)") from None
        if value.shape != shape and not (shape == () and value.shape == (1,)):
            raise ValueError(f"[{key!r}] should have shape {shape or '() (one number)'}, not {value.shape}")
        parts.append(value.reshape(-1))
    return np.concatenate(parts)


def network(x, vector):
    """f(x, theta) for an array of inputs x, with theta as a 13-vector (numpy or torch alike)."""
    W_H, b_H, W_O, b_O = vector[0:4], vector[4:8], vector[8:12], vector[12]
    z_bar = x[:, None] * W_H[None, :] + b_H[None, :]
    z = z_bar * (z_bar > 0)
    return b_O + (z * W_O[None, :]).sum(axis=1)


def q3b():
    """Triples (theta, xs, ys): 13 network parameters and a small data set, n = 1 among them."""
    r = rng("q3b")
    return [(r.normal(size=13), r.uniform(-3, 3, size=n), r.normal(size=n)) for n in (1, 4, 15)]
