"""The 4-unit ReLU network of Problem 3, as the homework defines it (no answer in here).

A parameter set theta is a dict with W_H, b_H, W_O (four numbers each) and b_O (one number); flattened,
it is a 13-vector in the order W_H1..4, b_H1..4, W_O1..4, b_O.
"""

import numpy as np

PARAM_SHAPES = {"W_H": (4,), "b_H": (4,), "W_O": (4,), "b_O": ()}


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


def unflatten(vector) -> dict:
    v = np.asarray(vector, dtype=np.float64)
    return {"W_H": v[0:4], "b_H": v[4:8], "W_O": v[8:12], "b_O": v[12]}


def network(x, vector):
    """f(x, theta) for an array of inputs x, with theta as a 13-vector (numpy or torch alike)."""
    W_H, b_H, W_O, b_O = vector[0:4], vector[4:8], vector[8:12], vector[12]
    z_bar = x[:, None] * W_H[None, :] + b_H[None, :]
    z = z_bar * (z_bar > 0)
    return b_O + (z * W_O[None, :]).sum(axis=1)
