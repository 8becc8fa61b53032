"""Problem 5's entries of the catalogue (see catalogue.py).

Each question is judged on its own job, so each wrong answer below loses its own question only: a wrong
layer does not cost q5_network_backward (judged on how it wires the layer functions, through logging
stand-ins, when its gradients differ from the exact ones) nor q5_training (judged on its SGD steps against
random "gradients", and on test accuracy only when the network's gradients are right).

WRONG holds one wrong answer per question (the catalogue's format), each graded alone; MORE_WRONG more
of them, as (question, label, overrides) triples, graded in sets of one per question (catalogue.in_sets):
each set must lose exactly its questions' points.
"""

AFFINE_TRANSPOSED_DW = '''def affine_backward(dout, cache):
    x, w, b = cache
    dx = dout @ w.T
    dw = dout.T @ x  # transposed: (M, D), not (D, M)
    db = dout.sum(axis=0)
    return dx, dw, db
'''

SIGMOID_MISSING_FACTOR = '''def sigmoid_backward(dout, cache):
    out = cache
    return dout * out  # sigma' is out * (1 - out): a factor is missing
'''

SOFTMAX_NOT_DIVIDED = '''def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(N), y]).mean()
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    return loss, dscores  # the loss is a mean, but the gradient is not divided by N
'''

NETWORK_FORWARD = '''def network_loss_and_grads(params, X, y):
    z1, cache_z1 = affine_forward(X, params["W1"], params["b1"])
    h1, cache_h1 = sigmoid_forward(z1)
    z2, cache_z2 = affine_forward(h1, params["W2"], params["b2"])
    h2, cache_h2 = sigmoid_forward(z2)
    scores, cache_scores = affine_forward(h2, params["W3"], params["b3"])
    loss, dscores = softmax_cross_entropy(scores, y)
    grads = {}
'''  # the given forward pass, with which every network answer below starts

NETWORK_SKIPS_SIGMOID = NETWORK_FORWARD + '''    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache_scores)
    dz2 = sigmoid_backward(dh2, cache_h2)
    dh1, grads["W2"], grads["b2"] = affine_backward(dz2, cache_z2)
    _, grads["W1"], grads["b1"] = affine_backward(dh1, cache_z1)  # the first sigmoid's backward is skipped
    return loss, grads
'''

TRAIN_ASCENDS = '''def sgd_train(params, X, y, loss_and_grads, epochs, lr, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            loss, grads = loss_and_grads(params, X[batch], y[batch])
            for k in params:
                params[k] += lr * grads[k]  # up the gradient
            losses.append(loss)
    return losses
'''

WRONG = {
    "q5_affine_backward": {"affine_backward": AFFINE_TRANSPOSED_DW},
    "q5_sigmoid_backward": {"sigmoid_backward": SIGMOID_MISSING_FACTOR},
    "q5_softmax_ce": {"softmax_cross_entropy": SOFTMAX_NOT_DIVIDED},
    "q5_network_backward": {"network_loss_and_grads": NETWORK_SKIPS_SIGMOID},
    "q5_training": {"sgd_train": TRAIN_ASCENDS},
}


def _train(update="params[k] -= lr * grads[k]", batches="range(0, len(X), batch_size)", call="loss_and_grads(params, X[batch], y[batch])"):
    return f'''def sgd_train(params, X, y, loss_and_grads, epochs, lr, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        order = rng.permutation(len(X))
        for start in {batches}:
            batch = order[start:start + batch_size]
            loss, grads = {call}
            for k in list(params):
                {update}
            losses.append(loss)
    return losses
'''


MORE_WRONG = [
    ("q5_affine_backward", "db not summed over the batch", {"affine_backward": '''def affine_backward(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.T @ dout, dout  # db: one row per example
'''}),
    ("q5_affine_backward", "db averaged over the batch", {"affine_backward": '''def affine_backward(dout, cache):
    x, w, b = cache
    return dout @ w.T, x.T @ dout, dout.mean(axis=0)
'''}),
    ("q5_affine_backward", "dx of the wrong sign", {"affine_backward": '''def affine_backward(dout, cache):
    x, w, b = cache
    return -dout @ w.T, x.T @ dout, dout.sum(axis=0)
'''}),
    ("q5_affine_backward", "right values from torch autograd, through a helper", {"affine_backward": '''def vector_jacobian(f, arrays, dout):
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    f(*tensors).backward(torch.tensor(dout))
    return tuple(t.grad.numpy() for t in tensors)

def affine_backward(dout, cache):
    return vector_jacobian(lambda x, w, b: x @ w + b, cache, dout)
'''}),
    ("q5_affine_backward", "right values from torch, imported under another name", {"affine_backward": '''import torch as T

def affine_backward(dout, cache):
    x, w, b = (T.tensor(a, requires_grad=True) for a in cache)
    (x @ w + b).backward(T.tensor(dout))
    return x.grad.numpy(), w.grad.numpy(), b.grad.numpy()
'''}),
    ("q5_sigmoid_backward", "wrong sign", {"sigmoid_backward": '''def sigmoid_backward(dout, cache):
    return -dout * cache * (1 - cache)
'''}),
    ("q5_sigmoid_backward", "right values from torch autograd", {"sigmoid_backward": '''def sigmoid_backward(dout, cache):
    x = torch.tensor(np.log(cache / (1 - cache)), requires_grad=True)
    torch.sigmoid(x).backward(torch.tensor(dout))
    return x.grad.numpy()
'''}),
    ("q5_softmax_ce", "dscores of the wrong sign", {"softmax_cross_entropy": '''def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    onehot = np.eye(scores.shape[1])[y]
    return -np.log(probs[np.arange(N), y]).mean(), (onehot - probs) / N
'''}),
    ("q5_softmax_ce", "loss summed over the batch (and a gradient to match)", {"softmax_cross_entropy": '''def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    return -np.log(probs[np.arange(N), y]).sum(), dscores
'''}),
    ("q5_softmax_ce", "right values from torch autograd", {"softmax_cross_entropy": '''def softmax_cross_entropy(scores, y):
    s = torch.tensor(scores, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(s, torch.tensor(y))
    loss.backward()
    return loss.item(), s.grad.numpy()
'''}),
    ("q5_network_backward", "a layer given another layer's cache", {"network_loss_and_grads": NETWORK_FORWARD + '''    dh2, grads["W3"], grads["b3"] = affine_backward(dscores, cache_scores)
    dz2 = sigmoid_backward(dh2, cache_h1)  # the first sigmoid's cache, not the second's
    dh1, grads["W2"], grads["b2"] = affine_backward(dz2, cache_z2)
    dz1 = sigmoid_backward(dh1, cache_h1)
    _, grads["W1"], grads["b1"] = affine_backward(dz1, cache_z1)
    return loss, grads
'''}),
    ("q5_network_backward", "right values from torch autograd", {"network_loss_and_grads": '''def network_loss_and_grads(params, X, y):
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h1 = torch.sigmoid(torch.tensor(X) @ p["W1"] + p["b1"])
    h2 = torch.sigmoid(h1 @ p["W2"] + p["b2"])
    loss = torch.nn.functional.cross_entropy(h2 @ p["W3"] + p["b3"], torch.tensor(y))
    loss.backward()
    return loss.item(), {k: t.grad.numpy() for k, t in p.items()}
'''}),
    ("q5_training", "never updates the parameters", {"sgd_train": _train(update="pass")}),
    ("q5_training", "rebinds params instead of updating it in place",
     {"sgd_train": _train(update="params = {**params, k: params[k] - lr * grads[k]}")}),
    ("q5_training", "drops the last, short minibatch of every epoch",
     {"sgd_train": _train(batches="range(0, len(X) - batch_size + 1, batch_size)")}),
    ("q5_training", "one step per epoch on the whole training set",
     {"sgd_train": _train(batches="[0]", call="loss_and_grads(params, X, y)")}),
    ("q5_training", "minibatches of equal-ish size (np.array_split): not batch_size each, the last smaller",
     {"sgd_train": _train(batches="range(0, len(X), batch_size)").replace(
         "        for start in range(0, len(X), batch_size):\n            batch = order[start:start + batch_size]\n",
         "        for batch in np.array_split(order, -(-len(X) // batch_size)):\n")}),
    ("q5_training", "never shuffles", {"sgd_train": _train().replace("order = rng.permutation(len(X))", "order = np.arange(len(X))")}),
    ("q5_training", "shuffles once, the same order every epoch",
     {"sgd_train": _train().replace("    for epoch in range(epochs):\n        order = rng.permutation(len(X))\n",
                                    "    order = rng.permutation(len(X))\n    for epoch in range(epochs):\n")}),
    ("q5_training", "a new generator with the same seed every epoch",
     {"sgd_train": _train().replace("order = rng.permutation(len(X))", "order = np.random.default_rng(seed).permutation(len(X))")}),
    ("q5_training", "returns None", {"sgd_train": _train().replace("    return losses\n", "")}),
    ("q5_training", "returns one loss per epoch", {"sgd_train": _train().replace(
        "            losses.append(loss)\n", "            losses.append(loss)\n        losses[-(-len(X) // batch_size):] = "
        "[float(np.mean(losses[-(-len(X) // batch_size):]))]\n")}),
]

# the rows of issue 12's table, each graded alone (the fast layer has the same judge and clean room as a
# grade), and one of them end to end too
ALONE = {"never shuffles", "shuffles once, the same order every epoch", "returns None"}
E2E = {"returns None"}

LOOPED_LAYERS = {
    "affine_backward": '''def affine_backward(dout, cache):
    x, w, b = cache
    dx, dw, db = np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)
    for i in range(x.shape[0]):  # one example at a time
        dx[i] = w @ dout[i]
        dw += np.outer(x[i], dout[i])
        db += dout[i]
    return dx, dw, db
''',
    "sigmoid_backward": '''def sigmoid_backward(dout, cache):
    return dout * (cache - cache ** 2)
''',
    "softmax_cross_entropy": '''def softmax_cross_entropy(scores, y):
    N = len(y)
    loss, dscores = 0.0, np.zeros_like(scores)
    for i in range(N):
        p = np.exp(scores[i] - np.max(scores[i]))
        p = p / np.sum(p)
        loss -= np.log(p[y[i]]) / N
        dscores[i] = p / N
        dscores[i, y[i]] -= 1 / N
    return loss, dscores
''',
}

RIGHT = {
    # the network's backward written out in NumPy without the layer functions: judged against the exact gradients
    "p5_looped_layers_inline_network": {
        **LOOPED_LAYERS,
        "network_loss_and_grads": '''def network_loss_and_grads(params, X, y):
    sig = lambda z: 1 / (1 + np.exp(-z))
    h1 = sig(X @ params["W1"] + params["b1"])
    h2 = sig(h1 @ params["W2"] + params["b2"])
    scores = h2 @ params["W3"] + params["b3"]
    loss, d = softmax_cross_entropy(scores, y)
    grads = {"W3": h2.T @ d, "b3": d.sum(0)}
    d = (d @ params["W3"].T) * h2 * (1 - h2)
    grads["W2"], grads["b2"] = h1.T @ d, d.sum(0)
    d = (d @ params["W2"].T) * h1 * (1 - h1)
    grads["W1"], grads["b1"] = X.T @ d, d.sum(0)
    return loss, grads
''',
        "sgd_train": '''def sgd_train(params, X, y, loss_and_grads, epochs, lr, batch_size, seed=0):
    losses = []
    for _ in range(epochs):
        order = np.random.permutation(len(X))
        start = 0
        while start < len(X):
            idx = order[start:start + batch_size]
            loss, grads = loss_and_grads(params, X[idx], y[idx])
            for name, grad in grads.items():
                params[name] = params[name] - lr * grad  # a new array in the same dict: fine
            losses.append(loss)
            start += batch_size
    return np.array(losses)
''',
    },
    # tqdm around the epochs (tqdm is in the grading image, as on Colab); the losses as a NumPy array
    "p5_tqdm": {"sgd_train": '''from tqdm import tqdm

def sgd_train(params, X, y, loss_and_grads, epochs, lr, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in tqdm(range(epochs), desc="epochs"):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            loss, grads = loss_and_grads(params, X[idx], y[idx])
            for k in params:
                params[k] -= lr * grads[k]
            losses.append(loss)
    return np.asarray(losses)
'''},
    # the backward pass as a loop over the layers; minibatches from a generator
    "p5_layer_loop_network": {
        "network_loss_and_grads": '''def network_loss_and_grads(params, X, y):
    h, caches = X, []
    for layer in (1, 2, 3):
        h, affine_cache = affine_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        sigmoid_cache = None
        if layer < 3:
            h, sigmoid_cache = sigmoid_forward(h)
        caches.append((affine_cache, sigmoid_cache))
    loss, d = softmax_cross_entropy(h, y)
    grads = {}
    for layer in (3, 2, 1):
        affine_cache, sigmoid_cache = caches[layer - 1]
        if sigmoid_cache is not None:
            d = sigmoid_backward(d, sigmoid_cache)
        d, grads[f"W{layer}"], grads[f"b{layer}"] = affine_backward(d, affine_cache)
    return loss, grads
''',
        "sgd_train": '''def sgd_train(params, X, y, loss_and_grads, epochs, lr, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        order = rng.permutation(len(X))
        for batch in (order[i:i + batch_size] for i in range(0, len(X), batch_size)):
            loss, grads = loss_and_grads(params, X[batch], y[batch])
            for k in params:
                params[k] -= lr * grads[k]
            losses.append(loss)
    return losses
''',
    },
}
