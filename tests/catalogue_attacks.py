"""Submissions that try to get points without the work (issue 13), as catalogue entries: each must lose
the questions it tries to cheat on, and nothing else.

- Problem 5's gradients through automatic differentiation, spelled every way a list of names would miss:
  the judge (hw1grader.judge) runs only the submitted definitions, where torch does not exist, so each
  graded function here is either a stub, a wrong NumPy version or torch code, and fails there.
- Non-finite answers (nan, inf), and records of the wrong shape written by a replaced probe.
- Loss curves typed in, tied to no training.

As in catalogue_p5, each is a (question, label, overrides) triple, graded in sets of one per question.
"""

import sysconfig

# autograd's right answer, for the functions below to hide behind
TORCH_AFFINE = '''def _by_autograd(dout, cache):
    x, w, b = (torch.tensor(a, requires_grad=True) for a in cache)
    (x @ w + b).backward(torch.tensor(dout))
    return x.grad.numpy(), w.grad.numpy(), b.grad.numpy()
'''
STUB = '''def affine_backward(dout, cache):
    x, w, b = cache
    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)
'''
AFFINE = "q5_affine_backward"
SITE_PACKAGES = sysconfig.get_paths()["purelib"]  # where this machine's torch is

AUTODIFF = [
    (AFFINE, "torch reached through torchvision", {"affine_backward": '''import torchvision

def affine_backward(dout, cache):
    t = torchvision.transforms.functional.torch
    x, w, b = (t.tensor(a, requires_grad=True) for a in cache)
    (x @ w + b).backward(t.tensor(dout))
    return x.grad.numpy(), w.grad.numpy(), b.grad.numpy()
'''}),
    (AFFINE, "torch.func.vjp", {"affine_backward": '''from torch.func import vjp as _vjp

def affine_backward(dout, cache):
    x, w, b = (torch.tensor(a) for a in cache)
    _, pullback = _vjp(lambda x, w, b: x @ w + b, x, w, b)
    return tuple(g.numpy() for g in pullback(torch.tensor(dout)))
'''}),
    (AFFINE, "a later cell rebinds it through globals()",
     {"affine_backward": [STUB, TORCH_AFFINE + 'globals()["affine_backward"] = _by_autograd\n']}),
    (AFFINE, "a later cell rebinds it through get_ipython().user_ns",
     {"affine_backward": [STUB, TORCH_AFFINE + 'get_ipython().user_ns["affine_backward"] = _by_autograd\n']}),
    (AFFINE, "a later cell rebinds it as an attribute of __main__",
     {"affine_backward": [STUB, TORCH_AFFINE + 'import __main__\nsetattr(__main__, "affine_backward", _by_autograd)\n']}),
    (AFFINE, "a module written with %%writefile and imported",
     {"affine_backward": [STUB, "%%writefile helper_hw1.py\nimport torch\n" + TORCH_AFFINE.replace("_by_autograd", "affine_backward"),
                          "from helper_hw1 import affine_backward\n"]}),
    (AFFINE, "%run -i of a script", {"affine_backward": [STUB, "%%writefile helper_hw1_run.py\n" + TORCH_AFFINE
                                                          + "affine_backward = _by_autograd\n",
                                                          "%run -i helper_hw1_run.py\n"]}),
    (AFFINE, "%time rebinds it", {"affine_backward": [STUB, TORCH_AFFINE + "%time affine_backward = _by_autograd\n"]}),
    (AFFINE, "a cell that does not parse as Python", {"affine_backward": [
        STUB, TORCH_AFFINE + "affine_backward = _by_autograd\nnp.sum?\n"]}),
    (AFFINE, "global inside a function called later", {"affine_backward": [STUB, TORCH_AFFINE + '''
def _install():
    global affine_backward
    affine_backward = _by_autograd

_install()
''']}),
    (AFFINE, "match/case", {"affine_backward": '''match 1:
    case 1:
        import torch as _t

def affine_backward(dout, cache):
    x, w, b = (_t.tensor(a, requires_grad=True) for a in cache)
    (x @ w + b).backward(_t.tensor(dout))
    return x.grad.numpy(), w.grad.numpy(), b.grad.numpy()
'''}),
    (AFFINE, "tensors reached through X_train and operator", {"affine_backward": '''import operator

def affine_backward(dout, cache):
    x, w, b = (X_train.new_tensor(a, dtype=X_train.new_tensor(0.0).double().dtype) for a in cache)
    for t in (x, w, b):
        operator.methodcaller("requires_grad_")(t)
    operator.methodcaller("backward", x.new_tensor(dout))(x @ w + b)
    return tuple(operator.attrgetter("grad")(t).numpy() for t in (x, w, b))
'''}),
    (AFFINE, "the judge's path extended to where torch is installed", {"affine_backward": f'''import sys as _sys, glob as _glob

def affine_backward(dout, cache):
    _sys.path += ["/opt/hw1-venv/lib/python3.11/site-packages", {SITE_PACKAGES!r}]
    _sys.path += _glob.glob("/tmp/hw1-python-*/lib/python3*/site-packages")
    import torch as t
    x, w, b = (t.tensor(a, requires_grad=True) for a in cache)
    (x @ w + b).backward(t.tensor(dout))
    return x.grad.numpy(), w.grad.numpy(), b.grad.numpy()
'''}),
    ("q5_sigmoid_backward", "a Python with torch started from the function", {"sigmoid_backward": '''import subprocess, json, sys as _sys

def sigmoid_backward(dout, cache):
    out = subprocess.run([_sys.executable, "-c", "import json, sys, torch; d, c = json.load(sys.stdin); "
                          "x = torch.tensor(c).logit().requires_grad_(); torch.sigmoid(x).backward(torch.tensor(d)); "
                          "print(json.dumps(x.grad.tolist()))"], input=json.dumps([dout.tolist(), cache.tolist()]),
                         capture_output=True, text=True).stdout
    return np.array(json.loads(out))
'''}),
]

NAN = float("nan")
NON_FINITE = [
    (AFFINE, "nan of the right shapes", {"affine_backward": '''def affine_backward(dout, cache):
    x, w, b = cache
    return np.full(x.shape, np.nan), np.full(w.shape, np.nan), np.full(b.shape, np.nan)
'''}),
    ("q5_sigmoid_backward", "inf of the right shape", {"sigmoid_backward": '''def sigmoid_backward(dout, cache):
    return np.full(np.shape(dout), np.inf)
'''}),
    ("q5_softmax_ce", "a wrong gradient with a single nan", {"softmax_cross_entropy": '''def softmax_cross_entropy(scores, y):
    N = scores.shape[0]
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    d = p.copy()
    d[np.arange(N), y] -= 1
    d = d.T.T * 1.5  # wrong by a factor
    d.flat[0] = np.nan
    return float(-np.log(p[np.arange(N), y]).mean()), d
'''}),
    ("q5_network_backward", "nan gradients", {"network_loss_and_grads": '''def network_loss_and_grads(params, X, y):
    return float("nan"), {k: np.full(v.shape, np.nan) for k, v in params.items()}
'''}),
    ("q3d", "a replaced probe records an empty gradient", {"grad_f_x2": '''grad_f_x2 = {"W_H": [0, 0, 0, 0], "b_H": [0, 0, 0, 0], "W_O": [0, 0, 0, 0], "b_O": 0}
import numpy as _np
import hw1grader.problems.p3.probes as _probes
def _empty(ns):
    return {"grad": _np.empty(0)}
_empty.question, _empty.__module__ = "q3d", _probes.__name__
_probes.q3d = _empty
'''}),
]

# Loss curves typed in: falling numbers, one per epoch, from no training (the model is the light base's,
# untrained); they are not the loss of the model on the test set
TYPED_CURVES = {"n_epochs": '''n_epochs = 4
train_losses = [0.61, 0.42, 0.37, 0.33]
test_losses = [0.47, 0.41, 0.38, 0.36]
'''}

# the third round: curves typed in around the honest test loss of a model that was never trained
UNTRAINED_CURVES = {"n_epochs": '''loss_fn = nn.CrossEntropyLoss()
n_epochs = 2
with torch.no_grad():
    final_test_loss = loss_fn(model(X_test), y_test).item()
train_losses = [final_test_loss + 0.2, final_test_loss + 0.1]
test_losses = [final_test_loss + 0.05, final_test_loss]
'''}

ATTACKS = AUTODIFF + NON_FINITE
# attacks that only the walls stop (the judge's Python could reach this machine's torch, or start a
# process, without them): graded in sandbox modes bwrap and uid by test_clean_room.py, not by the fast layer
WALLS_ONLY = {"the judge's path extended to where torch is installed", "a Python with torch started from the function"}


# The second round of attacks (issue 13's held-out round, found by a red team against this design)

# last term's answers, computed in advance: a table keyed by last term's hidden inputs (the term's seed
# alone, as the inputs were once drawn); a grade's inputs come from the submission too, so it misses
PRECOMPUTED = {"grad_sq_norm": '''import zlib as _zlib
_r = np.random.default_rng([20230929, _zlib.crc32(b"q1_grad")])
_table = {x.tobytes(): 2 * x for x in [_r.normal(scale=3.0, size=d) for d in (1, 2, 7, 30)]}

def grad_sq_norm(x):
    return _table.get(np.asarray(x, dtype=float).tobytes())
'''}

# the judge's probes replaced by a statement of the submitted code, to record made-up logs that agree
# with themselves (stand-ins and "gradients" never handed out); the functions are stubs
FORGED = {"sgd_train": '''
def network_loss_and_grads(params, X, y):
    return 0.0, {k: np.zeros_like(v) for k, v in params.items()}

def _stub_sgd(params, X, y, loss_and_grads, epochs, lr, batch_size, seed=0):
    return []

def _rig():
    import numpy as np
    import hw1grader.problems.p5.probes as P
    from hw1grader.problems.p5 import inputs as I

    def forged_log(ns, fn):
        params, X, y = I.network_cases()[1]
        r = np.random.default_rng(0)
        g = lambda *s: r.normal(size=s)
        N, W, B = len(X), [params[f"W{i}"] for i in (1, 2, 3)], [params[f"b{i}"] for i in (1, 2, 3)]
        A1, H1, A2, H2, S = g(N, 32), g(N, 32), g(N, 32), g(N, 32), g(N, 10)
        loss, dS = g(), g(N, 10)
        dH2, dW3, db3, dA2, dH1, dW2, db2, dA1, dX, dW1, db1 = (g(N, 32), g(32, 10), g(10), g(N, 32), g(N, 32),
                                                               g(32, 32), g(32), g(N, 32), g(N, 784), g(784, 32), g(32))
        # (function index in LAYER_FUNCTIONS, cache, inputs, outputs), as the stand-ins would log them
        log = [(0, 0, [X, W[0], B[0]], [A1]), (2, 1, [A1], [H1]), (0, 2, [H1, W[1], B[1]], [A2]), (2, 3, [A2], [H2]),
               (0, 4, [H2, W[2], B[2]], [S]), (4, 5, [S, y], [loss, dS]), (1, 4, [dS], [dH2, dW3, db3]),
               (3, 3, [dH2], [dA2]), (1, 2, [dA2], [dH1, dW2, db2]), (3, 1, [dH1], [dA1]), (1, 0, [dA1], [dX, dW1, db1])]
        rec = {"s_loss": np.asarray(loss), "s_W1": dW1, "s_b1": db1, "s_W2": dW2, "s_b2": db2, "s_W3": dW3, "s_b3": db3}
        for i, (f, c, ins, outs) in enumerate(log):
            rec[f"log{i}_fn"], rec[f"log{i}_cache"] = np.array([f], float), np.array([c], float)
            rec.update({f"log{i}_in{j}": np.asarray(a, float) for j, a in enumerate(ins)})
            rec.update({f"log{i}_out{j}": np.asarray(a, float) for j, a in enumerate(outs)})
        return rec

    def forged_loop(train):
        X, y, params = I.loop_problem()
        rec, rng, t, losses = {f"final_{k}": v for k, v in params.items()}, np.random.default_rng(5), 0, []
        for epoch in range(I.LOOP_EPOCHS):
            order = rng.permutation(I.LOOP_N)
            for s in range(0, I.LOOP_N, I.LOOP_BATCH_SIZE):
                b = order[s:s + I.LOOP_BATCH_SIZE]
                rec.update({f"step{t}_{k}": v for k, v in params.items()})
                rec.update({f"step{t}_grad_{k}": np.zeros_like(v) for k, v in params.items()})
                rec[f"step{t}_X"], rec[f"step{t}_y"], rec[f"step{t}_loss"] = X[b], y[b].astype(float), np.array([1.0])
                losses.append(1.0)
                t += 1
        rec["returned"] = np.array(losses)
        return rec

    P.stand_in_run, P.loop_run = forged_log, forged_loop

sgd_train = (_rig(), _stub_sgd)[1]
'''}

# the gradients by complex-step differentiation: one forward pass per input entry, no derivative
# written; on the large hidden inputs it runs past the probes' time (test_clean_room.py: a notebook
# with only Problem 5, whose own training cell would spend the notebook's whole time on it)
COMPLEX_STEP = '''import numpy as np

def affine_forward(x, w, b):
    return x @ w + b, (x, w, b)

def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out

def _vjp(f, args, dout, h=1e-30):
    """d sum(f(*args) * dout) / d args[i] for every i, by complex steps: no derivative written anywhere."""
    grads = []
    for i in range(len(args)):
        g = np.zeros(np.shape(args[i]))
        for ix in np.ndindex(g.shape):
            z = [np.array(a, dtype=complex) for a in args]
            z[i][ix] += 1j * h
            g[ix] = np.sum(np.imag(f(*z)) * dout) / h
        grads.append(g)
    return grads

def affine_backward(dout, cache):
    return tuple(_vjp(lambda x, w, b: affine_forward(x, w, b)[0], cache, dout))

def sigmoid_backward(dout, cache):
    x = np.log(cache / (1 - cache))  # the input, from the cached output
    return _vjp(lambda x: sigmoid_forward(x)[0], [x], dout)[0]

def softmax_cross_entropy(scores, y):
    def loss(s):
        e = np.exp(s - np.max(s.real, axis=1, keepdims=True))
        return -np.mean(np.log(e[np.arange(len(y)), y] / e.sum(axis=1)))
    return float(np.real(loss(scores))), _vjp(loss, [scores], 1.0)[0]

def network_loss_and_grads(params, X, y):
    z1, c1 = affine_forward(X, params["W1"], params["b1"])
    h1, s1 = sigmoid_forward(z1)
    z2, c2 = affine_forward(h1, params["W2"], params["b2"])
    h2, s2 = sigmoid_forward(z2)
    scores, c3 = affine_forward(h2, params["W3"], params["b3"])
    loss, d = softmax_cross_entropy(scores, y)
    grads = {}
    d, grads["W3"], grads["b3"] = affine_backward(d, c3)
    d, grads["W2"], grads["b2"] = affine_backward(sigmoid_backward(d, s2), c2)
    d, grads["W1"], grads["b1"] = affine_backward(sigmoid_backward(d, s1), c1)
    return loss, grads
'''

# Problem 4 without training: a least-squares fit on the test set (its labels are in the student's
# folder) embedded in the right architecture, and curves typed in around its honest test loss
P4_CLOSED_FORM = '''
import numpy as np, torch, torchvision
from torch import nn
testdata = torchvision.datasets.FashionMNIST('./FashionMNIST/', train=False, download=True,
                                             transform=torchvision.transforms.ToTensor())
X_test = testdata.data.unsqueeze(1).float() / 255
y_test = testdata.targets
X = X_test.reshape(-1, 784).double().numpy(); Y = np.eye(10)[y_test.numpy()]
r = np.random.default_rng(0)
Wl = np.linalg.lstsq(np.hstack([X, np.ones((len(X), 1))]), Y, rcond=None)[0]         # linear fit
R, c = r.normal(size=(784, 236)) / 7, r.normal(size=236) / 2                          # random ReLU features
W1 = np.hstack([Wl[:784], -Wl[:784], R]).T; b1 = np.concatenate([Wl[784], -Wl[784], c])
F = np.hstack([np.maximum(X @ W1.T + b1, 0), np.ones((len(X), 1))])
Wc = np.linalg.solve(F.T @ F + 1e-6 * np.eye(257), F.T @ Y)                           # ridge on them
W2 = np.zeros((128, 256)); b2 = np.zeros(128)
W2[:10], b2[:10], W2[10:20], b2[10:20] = Wc[:256].T, Wc[256], -Wc[:256].T, -Wc[256]  # +/- pairs
W3 = np.zeros((64, 128)); W3[:20, :20] = np.eye(20)
W4 = np.hstack([np.eye(10), -np.eye(10), np.zeros((10, 44))])
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                      nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
with torch.no_grad():
    for layer, (W, b) in zip([m for m in model if isinstance(m, nn.Linear)],
                             [(W1, b1), (W2, b2), (W3, np.zeros(64)), (W4, np.zeros(10))]):
        layer.weight.copy_(torch.tensor(W)); layer.bias.copy_(torch.tensor(b))
loss_fn = nn.CrossEntropyLoss()
model.eval()
with torch.no_grad():
    out = model(X_test)
    final_test_loss = loss_fn(out, y_test).item()
    test_accuracy = (out.argmax(1) == y_test).float().mean().item()
n_epochs = 2                                                  # no epoch ever ran
train_losses = [final_test_loss + 1.0, final_test_loss + 0.5]
test_losses = [final_test_loss + 0.2, final_test_loss]

def predict_proba(model, image):
    with torch.no_grad():
        return torch.softmax(model(image.unsqueeze(0))[0], dim=0)
'''
