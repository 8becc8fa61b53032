"""The clean room's Problem 5 maths (hw1grader.problems.p5.layers) against torch autograd: every layer's
backward and the whole network's gradients, on random inputs, in about a second."""

import numpy as np
import pytest
import torch

from hw1grader.problems.p5 import layers

pytestmark = pytest.mark.fast
rng = np.random.default_rng(0)


def autograd(f, *arrays):
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = f(*tensors)
    return out, tensors


@pytest.mark.parametrize("n, d, m", [(1, 4, 3), (7, 5, 2)])
def test_affine_backward(n, d, m):
    x, w, b, dout = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m), rng.normal(size=(n, m))
    out, tensors = autograd(lambda x, w, b: x @ w + b, x, w, b)
    out.backward(torch.tensor(dout))
    for mine, t in zip(layers.affine_backward(dout, layers.affine_forward(x, w, b)[1]), tensors):
        assert layers.rel_error(mine, t.grad.numpy()) < 1e-12


def test_sigmoid_backward():
    x, dout = rng.normal(scale=3, size=(6, 4)), rng.normal(size=(6, 4))
    out, (t,) = autograd(torch.sigmoid, x)
    out.backward(torch.tensor(dout))
    assert layers.rel_error(layers.sigmoid_backward(dout, layers.sigmoid_forward(x)[1]), t.grad.numpy()) < 1e-12


def test_softmax_cross_entropy():
    scores, y = rng.normal(size=(9, 10)), rng.integers(10, size=9)
    out, (t,) = autograd(lambda s: torch.nn.functional.cross_entropy(s, torch.tensor(y)), scores)
    out.backward()
    loss, dscores = layers.softmax_cross_entropy(scores, y)
    assert abs(loss - out.item()) < 1e-12 and layers.rel_error(dscores, t.grad.numpy()) < 1e-10


def test_network_gradients():
    params = {f"W{i}": rng.normal(scale=2 / np.sqrt(a), size=(a, b)) for i, (a, b) in enumerate([(784, 32), (32, 32), (32, 10)], 1)}
    params.update({f"b{i}": rng.normal(scale=0.5, size=b) for i, b in enumerate([32, 32, 10], 1)})
    X, y = rng.uniform(size=(6, 784)), rng.integers(10, size=6)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h = torch.sigmoid(torch.sigmoid(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"])
    loss = torch.nn.functional.cross_entropy(h @ t["W3"] + t["b3"], torch.tensor(y))
    loss.backward()
    mine_loss, grads = layers.network_loss_and_grads(params, X, y)
    assert abs(mine_loss - loss.item()) < 1e-12
    for k in params:
        assert layers.rel_error(grads[k], t[k].grad.numpy()) < 1e-10, k


def test_rel_error_calls_nan_inf_and_shapes_infinitely_wrong():
    a = np.ones(3)
    for bad in (np.array([1, np.nan, 1]), np.array([1, np.inf, 1]), np.ones(4), np.ones((3, 1)), np.empty(0)):
        assert layers.rel_error(bad, a) == float("inf") and layers.rel_error(a, bad) == float("inf")
    assert layers.rel_error(a, a) == 0
