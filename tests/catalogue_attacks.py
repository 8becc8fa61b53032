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

ATTACKS = AUTODIFF + NON_FINITE
# attacks that only the walls stop (the judge's Python could reach this machine's torch, or start a
# process, without them): graded in sandbox modes bwrap and uid by test_clean_room.py, not by the fast layer
WALLS_ONLY = {"the judge's path extended to where torch is installed", "a Python with torch started from the function"}
