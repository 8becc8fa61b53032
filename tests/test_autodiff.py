"""The policy of the static reading of Problem 5's code (hw1grader.problems.p5.autodiff), pinned: what it
reports as automatic differentiation (an explanation added to a failed Problem 5 question; the judge,
where no autodiff exists, decides) and what it leaves alone."""

import pytest

from hw1grader.problems.p5 import autodiff

pytestmark = pytest.mark.fast

REPORTED = {
    "torch imported at the top": ["import torch", "def affine_backward(dout, cache):\n    return torch.ones(1)"],
    "torch under another name": ["import torch as T", "def affine_backward(dout, cache):\n    return T.ones(1)"],
    "from torch import a function": ["from torch.autograd import grad", "def affine_backward(d, c):\n    return grad(d, c)"],
    "torch.func": ["import torch.func as tf", "def affine_backward(d, c):\n    return tf.vjp(d, c)"],
    "torchvision": ["import torchvision", "def affine_backward(d, c):\n    return torchvision"],
    "jax": ["import jax.numpy as jnp\nimport jax", "def affine_backward(d, c):\n    return jax.grad(sum)(d)"],
    "autograd library": ["from autograd import grad", "def affine_backward(d, c):\n    return grad(sum)(d)"],
    "through a helper": ["import torch", "def helper(a):\n    return torch.tensor(a)",
                         "def affine_backward(d, c):\n    return helper(d)"],
    ".backward on a tensor passed in": ["def affine_backward(d, c):\n    c.backward(d)\n    return c.grad"],
    "import inside the function": ["def affine_backward(d, c):\n    import torch\n    return torch.ones(1)"],
    "the last definition counts": ["def affine_backward(d, c):\n    return d", "import torch",
                                   "def affine_backward(d, c):\n    return torch.ones(1)"],
}
NOT_REPORTED = {
    "numpy only": ["import numpy as np", "def affine_backward(dout, cache):\n    x, w, b = cache\n"
                   "    return dout @ w.T, x.T @ dout, dout.sum(axis=0)"],
    "sys.stdout.write and print(file=...)": ["import sys", "def affine_backward(d, c):\n    sys.stdout.write('x')\n"
                                             "    print('y', file=sys.stderr)\n    return d"],
    "getattr and globals": ["def affine_backward(d, c):\n    f = getattr(d, 'sum')\n    globals()\n    return f()"],
    "scipy and math": ["from scipy.special import expit\nimport math", "def affine_backward(d, c):\n    return expit(d) * math.pi"],
    "torch used elsewhere in the notebook": ["import torch\nimport numpy as np", "model = torch.nn.Linear(2, 2)",
                                             "def affine_backward(d, c):\n    return np.ones(1)"],
    "an earlier torch version replaced": ["import torch", "def affine_backward(d, c):\n    return torch.ones(1)",
                                          "def affine_backward(d, c):\n    return d * 2"],
    "a magic line and a cell that does not parse": ["%time x = 1", "def (", "def affine_backward(d, c):\n    return d"],
}


@pytest.mark.parametrize("case", sorted(REPORTED))
def test_reported(case):
    assert autodiff.uses(REPORTED[case], ["affine_backward"])


@pytest.mark.parametrize("case", sorted(NOT_REPORTED))
def test_not_reported(case):
    assert autodiff.uses(NOT_REPORTED[case], ["affine_backward"]) is None
