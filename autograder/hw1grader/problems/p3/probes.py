"""Problem 3 in the student room: the two fits, the loss gradient on hidden networks, f_x2 and grad_f_x2."""

from ...probing import ProbeError, answer, as_array, function, outputs, probe
from . import inputs


def theta_vector(ns, name):
    try:
        return inputs.flatten(answer(ns, name))
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
        f = inputs.network(torch.tensor(xs), t)
        grads = torch.stack([torch.autograd.grad(fi, t, retain_graph=True)[0] for fi in f])
        cases.append((ys, f.detach().numpy(), grads.numpy()))
    return outputs(function(ns, "squared_loss_grad"), "squared_loss_grad", cases, lambda ys, f, g: (13,))


@probe("q3c")
def q3c(ns):
    return {"value": as_array(answer(ns, "f_x2"), "`f_x2`", ())}


@probe("q3d")
def q3d(ns):
    return {"grad": theta_vector(ns, "grad_f_x2")}
