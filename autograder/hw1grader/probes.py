"""What the student room writes down about each autograded answer: plain float64 arrays.

Each probe takes the notebook's global namespace and returns a dict of arrays: the student's values,
and what the student's functions return on the hidden inputs of ``inputs``. A probe raises
``ProbeError`` with a message for the student when an answer is missing or malformed. Probes run next
to the student's code, so they compute no expected value and decide nothing.
"""

import numpy as np

from . import inputs, p3net

PROBES = {}


class ProbeError(Exception):
    """An answer that cannot be recorded; the message is shown to the student."""


def probe(question):
    def register(fn):
        PROBES[question] = fn
        return fn

    return register


def answer(ns, name):
    if name not in ns or ns[name] is Ellipsis:
        raise ProbeError(f"`{name}` is not defined: run the cell that defines it, and replace every `...`")
    return ns[name]


def function(ns, name):
    fn = answer(ns, name)
    if not callable(fn):
        raise ProbeError(f"`{name}` should be a function, but it is a {type(fn).__name__}")
    return fn


def as_array(value, what, shape=None):
    """float64 copy of a number, list, numpy array or torch tensor; ProbeError otherwise."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if value is None:
        raise ProbeError(f"{what} is None: does the function `return` its result?")
    if isinstance(value, (str, bytes)):
        raise ProbeError(f"{what} should be numbers, but it is a string")
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ProbeError(f"{what} should be numbers, but it is a {type(value).__name__} ({e})") from None
    if shape is not None and array.shape != tuple(shape):
        raise ProbeError(f"{what} should have shape {tuple(shape)}, but it has shape {array.shape}")
    return array


def outputs(fn, name, cases, shape_of):
    """Call fn on every hidden case; stack what it returns."""
    results = []
    for args in cases:
        shapes = ", ".join(str(np.shape(a)) for a in args)
        try:
            out = fn(*(a.copy() for a in args))
        except Exception as e:
            raise ProbeError(f"`{name}` raised {type(e).__name__}: {e} (on inputs of shapes {shapes})") from None
        results.append(as_array(out, f"what `{name}` returns for inputs of shapes {shapes}", shape_of(*args)))
    return {f"out{i}": r for i, r in enumerate(results)}


@probe("q1_grad")
def q1_grad(ns):
    return outputs(function(ns, "grad_sq_norm"), "grad_sq_norm", [(x,) for x in inputs.q1_grad()], lambda x: x.shape)


@probe("q1_mu")
def q1_mu(ns):
    return outputs(function(ns, "best_mu"), "best_mu", [(X,) for X in inputs.q1_mu()], lambda X: X.shape[1:])


@probe("q2_l1_loss")
def q2_l1_loss(ns):
    return outputs(function(ns, "l1_loss"), "l1_loss", inputs.q2_l1_loss(), lambda X, y, w: ())


def theta_vector(ns, name):
    try:
        return p3net.flatten(answer(ns, name))
    except ValueError as e:
        raise ProbeError(f"`{name}`: {e}") from None


@probe("q3a_1")
def q3a_1(ns):
    return {"theta": theta_vector(ns, "theta_dataset1")}


@probe("q3a_2")
def q3a_2(ns):
    return {"theta": theta_vector(ns, "theta_dataset2")}


@probe("q3b")
def q3b(ns):
    """The student's gradient of the squared loss, fed f and its gradient from autograd."""
    import torch

    cases = []
    for theta, xs, ys in inputs.q3b():
        t = torch.tensor(theta, requires_grad=True)
        f = p3net.network(torch.tensor(xs), t)
        grads = torch.stack([torch.autograd.grad(fi, t, retain_graph=True)[0] for fi in f])
        cases.append((ys, f.detach().numpy(), grads.numpy()))
    return outputs(function(ns, "squared_loss_grad"), "squared_loss_grad", cases, lambda ys, f, g: (13,))


@probe("q3c")
def q3c(ns):
    return {"value": as_array(answer(ns, "f_x2"), "`f_x2`", ())}


@probe("q3d")
def q3d(ns):
    return {"grad": theta_vector(ns, "grad_f_x2")}


# Problems 4 and 5 register their probes in their own modules.
from . import probes_p4, probes_p5  # noqa: E402,F401
