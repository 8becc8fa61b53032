"""Problem 2 in the student room: the student's l1 loss on the hidden inputs."""

from ...probing import function, outputs, probe
from . import inputs


@probe("q2_l1_loss")
def q2_l1_loss(ns):
    return outputs(function(ns, "l1_loss"), "l1_loss", inputs.q2_l1_loss(), lambda X, y, w: ())
