"""Problem 1 in the clean room: the gradient of ||x||^2 is 2x; the minimiser of sum ||x_i - mu||^2 is the mean."""

from ...checking import check, compare_outputs
from . import inputs


@check("q1_grad")
def q1_grad(data, ctx):
    xs = inputs.q1_grad()
    return compare_outputs(data, [2 * x for x in xs], "grad_sq_norm", "d",
                           lambda i: f"{xs[i].size}" + ("" if xs[i].any() else " (x = 0)"))


@check("q1_mu")
def q1_mu(data, ctx):
    Xs = inputs.q1_mu()
    return compare_outputs(data, [X.mean(axis=0) for X in Xs], "best_mu", "(n, d)", lambda i: f"{Xs[i].shape}")
