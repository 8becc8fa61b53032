"""Problem 2 in the clean room: the l1 loss is the sum of absolute residuals."""

import numpy as np

from ...checking import check, compare_outputs
from . import inputs


@check("q2_l1_loss")
def q2_l1_loss(data, ctx):
    cases = inputs.q2_l1_loss()
    expected = [np.abs(y - X @ w).sum() for X, y, w in cases]
    return compare_outputs(data, expected, "l1_loss", "(n, d)", lambda i: f"{cases[i][0].shape}")
