"""The hidden inputs: seeded draws that both rooms regenerate from the same seed.

The student room feeds them to the student's functions; the clean room draws them again rather than
trusting what the student room wrote down. Nothing here is, or computes, an expected answer.
"""

import zlib

import numpy as np

from .config import HIDDEN_INPUT_SEED


def rng(question: str) -> np.random.Generator:
    """A generator private to one question, so that adding a question changes no other's inputs."""
    return np.random.default_rng([HIDDEN_INPUT_SEED, zlib.crc32(question.encode())])


def q1_grad():
    """Vectors x of several dimensions, d = 1 included."""
    r = rng("q1_grad")
    return [r.normal(scale=3.0, size=d) for d in (1, 2, 7, 30)]


def q1_mu():
    """Data matrices X (n points as rows, d columns), with n = 1 and d = 1 among them."""
    r = rng("q1_mu")
    return [r.normal(loc=r.normal(), scale=2.0, size=(n, d)) for n, d in ((1, 1), (1, 4), (6, 1), (25, 3), (200, 9))]


def q2_l1_loss():
    """Triples (X, y, w) with n = 1 and d = 1 among them."""
    r = rng("q2_l1_loss")
    return [
        (r.normal(size=(n, d)), r.normal(scale=2.0, size=n), r.normal(size=d))
        for n, d in ((1, 1), (5, 1), (1, 3), (12, 4), (60, 7))
    ]


def q3b():
    """Triples (theta, xs, ys): 13 network parameters and a small data set, n = 1 among them."""
    r = rng("q3b")
    return [(r.normal(size=13), r.uniform(-3, 3, size=n), r.normal(size=n)) for n in (1, 4, 15)]
