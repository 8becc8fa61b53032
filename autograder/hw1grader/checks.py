"""The clean room: decides every autograded point from the plain numbers the student room recorded.

It never imports or runs student code. It reads arrays with ``numpy.load(allow_pickle=False)``, draws
the hidden inputs again from their seed, and computes each expected value itself. Messages tell the
student what went wrong without giving the expected value away.
"""

import csv
import os
import stat
from dataclasses import dataclass

import numpy as np

from . import inputs, p3net
from .config import ATOL, FIT_ATOL, RTOL

CHECKS = {}


@dataclass
class Context:
    """What a check may consult besides the record: nothing the student's process could have changed."""

    support_dir: str  # the autograder's own copy of the assignment's files (data/...)
    code_cells: list  # the submission's code cells, read before the notebook ran


@dataclass
class Verdict:
    passed: bool
    message: str


def check(question):
    def register(fn):
        CHECKS[question] = fn
        return fn

    return register


def close(got, expected):
    return got.shape == np.shape(expected) and bool(np.allclose(got, expected, rtol=RTOL, atol=ATOL))


def compare_outputs(data, expected, name, describe):
    """Verdict on out0..outN against the expected values, naming the inputs that failed by shape."""
    wrong = [describe(i) for i, e in enumerate(expected) if not close(data.get(f"out{i}", np.empty(0)), e)]
    if wrong:
        return Verdict(False, f"`{name}` returns wrong values on {len(wrong)} of {len(expected)} hidden inputs "
                              f"(for {', '.join(wrong)}).")
    return Verdict(True, f"`{name}` is right on all {len(expected)} hidden inputs.")


@check("q1_grad")
def q1_grad(data, ctx):
    xs = inputs.q1_grad()
    return compare_outputs(data, [2 * x for x in xs], "grad_sq_norm", lambda i: f"d = {xs[i].size}")


@check("q1_mu")
def q1_mu(data, ctx):
    Xs = inputs.q1_mu()
    return compare_outputs(data, [X.mean(axis=0) for X in Xs], "best_mu", lambda i: f"n, d = {Xs[i].shape}")


@check("q2_l1_loss")
def q2_l1_loss(data, ctx):
    cases = inputs.q2_l1_loss()
    expected = [np.abs(y - X @ w).sum() for X, y, w in cases]
    return compare_outputs(data, expected, "l1_loss", lambda i: f"n, d = {cases[i][0].shape}")


def read_dataset(support_dir, name):
    with open(os.path.join(support_dir, "data", name), newline="") as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r["x"]) for r in rows]), np.array([float(r["y"]) for r in rows])


def fits(data, ctx, dataset, name):
    x, y = read_dataset(ctx.support_dir, dataset)
    if data["theta"].shape != (13,):
        return Verdict(False, f"`{name}` does not hold the 13 parameters of the network.")
    f = p3net.network(x, data["theta"])
    missed = int(np.sum(~np.isclose(f, y, rtol=0, atol=FIT_ATOL)))
    if missed:
        return Verdict(False, f"With `{name}` the network misses {missed} of the {len(x)} data points.")
    return Verdict(True, f"With `{name}` the network fits all {len(x)} data points.")


@check("q3a_1")
def q3a_1(data, ctx):
    return fits(data, ctx, "p3_dataset1.csv", "theta_dataset1")


@check("q3a_2")
def q3a_2(data, ctx):
    return fits(data, ctx, "p3_dataset2.csv", "theta_dataset2")


def network_grad(x, theta):
    """The gradient (13,) of f(x, theta) with respect to theta, by the chain rule (ReLU'(0) = 0, as torch)."""
    W_H, b_H, W_O = theta[0:4], theta[4:8], theta[8:12]
    z_bar = x * W_H + b_H
    active = (z_bar > 0).astype(np.float64)
    return np.concatenate([W_O * active * x, W_O * active, z_bar * active, [1.0]])


def loss_grad(theta, xs, ys):
    """The gradient (13,) of sum_i (y_i - f(x_i, theta))^2."""
    residuals = ys - p3net.network(xs, theta)
    return sum(-2 * r * network_grad(x, theta) for x, r in zip(xs, residuals))


@check("q3b")
def q3b(data, ctx):
    cases = inputs.q3b()
    expected = [loss_grad(*case) for case in cases]
    return compare_outputs(data, expected, "squared_loss_grad", lambda i: f"n = {cases[i][1].size}")


THETA_0 = p3net.flatten({"W_H": [-1, 1, 1, -1], "b_H": [1, 1, -1, 1], "W_O": [-1, -1, -1, 1], "b_O": 1})


@check("q3c")
def q3c(data, ctx):
    if close(data["value"], p3net.network(np.array([2.0]), THETA_0)[0]):
        return Verdict(True, "f(2, theta_0) is right.")
    return Verdict(False, "`f_x2` is not f(2, theta_0): redo the forward pass, unit by unit.")


@check("q3d")
def q3d(data, ctx):
    wrong = [name for name, got, want in zip(PARAM_NAMES, data["grad"], network_grad(2.0, THETA_0))
             if not np.isclose(got, want, rtol=RTOL, atol=ATOL)]
    if wrong:
        return Verdict(False, f"{len(wrong)} of the 13 partial derivatives in `grad_f_x2` are wrong.")
    return Verdict(True, "All 13 partial derivatives are right.")


PARAM_NAMES = [f"{k}{i}" for k in ("W_H", "b_H", "W_O") for i in range(1, 5)] + ["b_O"]


# Problems 4 and 5 register their checks in their own modules.
from . import checks_p4, checks_p5  # noqa: E402,F401


def open_record(path):
    """A file the student room wrote, opened for reading only if it is a regular file: a symbolic link
    there could point the clean room at a file the student room could not read itself."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{os.path.basename(path)} is not a regular file")
    return os.fdopen(fd, "rb")


def load_record(path, max_bytes=64 << 20):
    """The arrays one probe recorded; ValueError for anything that is not plain float64 arrays."""
    with open_record(path) as f:
        if os.fstat(f.fileno()).st_size > max_bytes:
            raise ValueError("the recorded answer is too large")
        with np.load(f, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    if any(a.dtype != np.float64 for a in data.values()):
        raise ValueError("the recorded answer is not plain numbers")
    return data


def decide(question, record_dir, ctx):
    """The clean room's verdict on one question, from the student room's record in record_dir."""
    error_path = os.path.join(record_dir, f"{question}.error.txt")
    data_path = os.path.join(record_dir, f"{question}.npz")
    if os.path.lexists(error_path):
        try:
            with open_record(error_path) as f:
                return Verdict(False, f.read(2000).decode("utf-8", errors="replace"))
        except OSError:
            return Verdict(False, "The answer could not be recorded.")
    if not os.path.lexists(data_path):
        return Verdict(False, "No answer was recorded: the notebook did not reach the end (see the output above).")
    try:
        data = load_record(data_path)
        return CHECKS[question](data, ctx)
    except Exception as e:  # malformed records fail the question; the reference run proves the checks
        return Verdict(False, f"The recorded answer could not be checked ({type(e).__name__}).")
