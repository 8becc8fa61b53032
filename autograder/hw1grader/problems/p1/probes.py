"""Problem 1 in the student room: the student's functions on the hidden inputs."""

from ...probing import function, outputs, probe
from . import inputs


@probe("q1_grad")
def q1_grad(ns):
    return outputs(function(ns, "grad_sq_norm"), "grad_sq_norm", [(x,) for x in inputs.q1_grad()], lambda x: x.shape)


@probe("q1_mu")
def q1_mu(ns):
    return outputs(function(ns, "best_mu"), "best_mu", [(X,) for X in inputs.q1_mu()], lambda X: X.shape[1:])
