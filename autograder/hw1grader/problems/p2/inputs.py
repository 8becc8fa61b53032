"""Problem 2's hidden inputs: seeded draws that both rooms regenerate (no expected value here)."""

from ...inputs import rng


def q2_l1_loss():
    """Triples (X, y, w) with n = 1 and d = 1 among them."""
    r = rng("q2_l1_loss")
    return [
        (r.normal(size=(n, d)), r.normal(scale=2.0, size=n), r.normal(size=d))
        for n, d in ((1, 1), (5, 1), (1, 3), (12, 4), (60, 7))
    ]
