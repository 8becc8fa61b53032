"""Problem 3 in the clean room: the fits on every data point, and the network's gradients by the chain rule."""

import csv
import os

import numpy as np

from ...checking import Verdict, check, close, compare_outputs
from ...config import ATOL, FIT_ATOL, RTOL
from . import inputs


def read_dataset(support_dir, name):
    with open(os.path.join(support_dir, "data", name), newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r["x"]) for r in rows]), np.array([float(r["y"]) for r in rows])


def fits(data, ctx, question, name):
    x, y = read_dataset(ctx.support_dir, inputs.DATASETS[question])
    f = inputs.network(x, data.get("theta", (13,), what=f"`{name}`"))
    missed = int(np.sum(~np.isclose(f, y, rtol=0, atol=FIT_ATOL)))
    if missed:
        return Verdict(False, f"With `{name}` the network misses {missed} of the {len(x)} data points.")
    return Verdict(True, f"With `{name}` the network fits all {len(x)} data points.")


@check("q3a_1")
def q3a_1(data, ctx):
    return fits(data, ctx, "q3a_1", "theta_dataset1")


@check("q3a_2")
def q3a_2(data, ctx):
    return fits(data, ctx, "q3a_2", "theta_dataset2")


def network_grad(x, theta):
    """The gradient (13,) of f(x, theta) with respect to theta, by the chain rule (ReLU'(0) = 0, as torch)."""
    W_H, b_H, W_O = theta[0:4], theta[4:8], theta[8:12]
    z_bar = x * W_H + b_H
    active = (z_bar > 0).astype(np.float64)
    return np.concatenate([W_O * active * x, W_O * active, z_bar * active, [1.0]])


def loss_grad(theta, xs, ys):
    """The gradient (13,) of sum_i (y_i - f(x_i, theta))^2."""
    residuals = ys - inputs.network(xs, theta)
    return sum(-2 * r * network_grad(x, theta) for x, r in zip(xs, residuals))


@check("q3b")
def q3b(data, ctx):
    cases = inputs.q3b()
    expected = [loss_grad(*case) for case in cases]
    return compare_outputs(data, expected, "squared_loss_grad", "n", lambda i: f"{cases[i][1].size}")


THETA_0 = inputs.flatten(inputs.THETA_0)


@check("q3c")
def q3c(data, ctx):
    if close(data.get("value", (), what="`f_x2`"), inputs.network(np.array([inputs.X_3CD]), THETA_0)[0]):
        return Verdict(True, "f(2, theta_0) is right.")
    return Verdict(False, "`f_x2` is not f(2, theta_0): redo the forward pass, unit by unit.")


@check("q3d")
def q3d(data, ctx):
    got = data.get("grad", (13,), what="`grad_f_x2`")
    expected = network_grad(inputs.X_3CD, THETA_0)
    wrong = [name for name, g, e in zip(inputs.PARAM_NAMES, got, expected) if not np.isclose(g, e, rtol=RTOL, atol=ATOL)]
    if wrong:
        return Verdict(False, f"{len(wrong)} of the 13 partial derivatives in `grad_f_x2` are wrong.")
    return Verdict(True, "All 13 partial derivatives are right.")
