"""Problem 1's hidden inputs: seeded draws that both rooms regenerate (no expected value here)."""

import numpy as np

from ...inputs import rng


def q1_grad():
    """Vectors x of several dimensions, d = 1 included, and x = 0 (the minimum, where a gradient written
    through the norm, 2 ||x|| x / ||x||, is 0 / 0)."""
    r = rng("q1_grad")
    return [r.normal(scale=3.0, size=d) for d in (1, 2, 7, 30)] + [np.zeros(3)]


def q1_mu():
    """Data matrices X (n points as rows, d columns), with n = 1 and d = 1 among them."""
    r = rng("q1_mu")
    return [r.normal(loc=r.normal(), scale=2.0, size=(n, d)) for n, d in ((1, 1), (1, 4), (6, 1), (25, 3), (200, 9))]
