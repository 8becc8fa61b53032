"""The clean room's own Problem 5, as CS231n writes layers: each operation a forward function that
returns its output and a cache, and a backward function that takes the upstream gradient and the cache.
The checks compare the student's gradients with these; ``network_loss_and_grads`` composes them into the
homework's network (784 -> 32 -> 32 -> 10, sigmoid hidden layers, softmax cross-entropy), and
``network_scores`` gives its class scores for the accuracy. tests/test_layers.py holds them against
torch autograd.
"""

import numpy as np


def affine_forward(x, w, b):
    """out = x @ w + b: x (N, D), w (D, M), b (M,)."""
    return x @ w + b, (x, w, b)


def affine_backward(dout, cache):
    """(dx, dw, db) for the upstream gradient dout (N, M)."""
    x, w, b = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out


def sigmoid_backward(dout, cache):
    out = cache
    return dout * out * (1 - out)


def softmax_cross_entropy(scores, y):
    """(loss, dscores): the mean cross-entropy of scores (N, C) against labels y (N,), and its gradient."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(len(y))
    dscores = np.exp(log_probs)
    dscores[rows, y] -= 1
    return float(-log_probs[rows, y].mean()), dscores / len(y)


LAYERS = (1, 2, 3)  # W1, b1 ... W3, b3; sigmoid after layers 1 and 2


def network_scores(params, X):
    """The class scores (N, 10) of the network, and the caches of its forward pass."""
    h, caches = X, []
    for layer in LAYERS:
        h, affine_cache = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        sigmoid_cache = None
        if layer != LAYERS[-1]:
            h, sigmoid_cache = sigmoid_forward(h)
        caches.append((affine_cache, sigmoid_cache))
    return h, caches


def network_loss_and_grads(params, X, y):
    """(loss, {W1: dW1, ..., b3: db3}) of the network on the minibatch X (N, 784), y (N,)."""
    scores, caches = network_scores(params, X)
    loss, d = softmax_cross_entropy(scores, y)
    grads = {}
    for layer, (affine_cache, sigmoid_cache) in reversed(list(zip(LAYERS, caches))):
        if sigmoid_cache is not None:
            d = sigmoid_backward(d, sigmoid_cache)
        d, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(d, affine_cache)
    return loss, grads


def rel_error(x, y):
    """CS231n's relative error: the largest elementwise |x - y| / max(1e-8, |x| + |y|). Arrays of another
    shape, and nan or inf anywhere, are infinitely far apart."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return float("inf")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def numeric_gradient(f, x, dout, h):
    """Central differences of sum(f(x) * dout) with respect to every entry of x (CS231n's gradient check)."""
    grad = np.zeros_like(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), dtype=np.float64)
        x[ix] = old - h
        neg = np.array(f(x), dtype=np.float64)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * dout) / (2 * h)
    return grad
