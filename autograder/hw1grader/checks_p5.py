"""Problem 5's checks (the clean room, see ``checks``): backpropagation by hand, in NumPy.

Each layer's gradients are compared, on the hidden inputs, with two references computed here: the
exact gradient (the chain rule, in NumPy) and central finite differences (CS231n's ``rel_error``), so
that a slip in one reference could not pass a wrong answer. ``network_loss_and_grads`` is compared with
the exact gradients of the whole network, or, failing that, judged on how it wires the layer functions
together (``probes_p5`` logs its calls to stand-in layers), so that a wrong layer costs only its own
question. ``sgd_train`` is judged on its SGD steps (checked against random "gradients") and, when the
student's gradients are right, on the test accuracy it reaches. No Problem 5 function may use
automatic differentiation: the submitted code is read (never run) to check.
"""

import ast
import re

import numpy as np

from . import inputs_p5
from .checks import Verdict, check
from .config import FD_STEP, MIN_ACCURACY_P5, TOL_EXACT, TOL_FD

LAYER_NAMES = ("layer 1 (W1, b1)", "layer 2 (W2, b2)", "layer 3 (W3, b3)")
GRADED = ("affine_backward", "sigmoid_backward", "softmax_cross_entropy", "network_loss_and_grads", "sgd_train")


def rel_error(x, y):
    """CS231n's relative error: the largest elementwise |x - y| / max(1e-8, |x| + |y|)."""
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def numeric_gradient_array(f, x, dout, h=FD_STEP):
    """Central differences of sum(f(x) * dout) with respect to every entry of x (CS231n)."""
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


def softmax(scores):
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def cross_entropy(scores, y):
    """The mean softmax cross-entropy of scores (N, C) with integer labels y (N,)."""
    return -np.log(softmax(scores)[np.arange(len(y)), y]).mean()


def cross_entropy_grad(scores, y):
    """d cross_entropy / d scores: (softmax - one-hot) / N."""
    dscores = softmax(scores)
    dscores[np.arange(len(y)), y] -= 1
    return dscores / len(y)


# The exact gradients of each layer, given its inputs and the upstream gradient dout (the clean room's
# own; the student's process never sees them).
def affine_grads(x, w, b, dout):
    return [dout @ w.T, x.T @ dout, dout.sum(axis=0)]


def sigmoid_grads(x, dout):
    s = sigmoid(x)
    return [dout * s * (1 - s)]


def references(f, exact, arrays, dout):
    """[(exact, by finite differences)] for the gradient of sum(f(*arrays) * dout) with respect to each array."""
    numeric = []
    for i in range(len(arrays)):
        args = [a.copy() for a in arrays]
        numeric.append(numeric_gradient_array(lambda v: f(*args[:i], v, *args[i + 1:]), args[i], dout))
    return list(zip(exact, numeric))


def gradient_verdict(data, function, expected, names, describe):
    """Verdict on the recorded gradients `{name}{i}`, given for each hidden input i the pair
    (exact, by finite differences) of each name."""
    wrong = {}
    for i, pairs in enumerate(expected):
        for name, (exact, by_fd) in zip(names, pairs):
            got = data.get(f"{name}{i}")
            if got is None or got.shape != exact.shape:
                wrong.setdefault(name, []).append((describe(i), float("inf")))
            elif rel_error(got, exact) > TOL_EXACT or rel_error(got, by_fd) > TOL_FD:
                wrong.setdefault(name, []).append((describe(i), rel_error(got, by_fd)))
    if wrong:
        parts = [f"`{name}` is wrong on {len(w)} of {len(expected)} hidden inputs ({'; '.join(d for d, _ in w)}), "
                 f"rel_error to the numerical gradient up to {max(e for _, e in w):.2g}" for name, w in wrong.items()]
        return Verdict(False, f"`{function}`: " + "; ".join(parts) + ". Check it with the gradient check cell.")
    return Verdict(True, f"`{function}` agrees with the exact and the numerical gradients on all {len(expected)} "
                         "hidden inputs.")


def no_autodiff(ctx, roots, then):
    """`then()` unless a function of `roots` uses autodiff; the message says so (the question scores 0)."""
    found = autodiff_uses(ctx.code_cells, roots, stop=set(GRADED + inputs_p5.LAYER_FUNCTIONS) - set(roots))
    if found:
        return Verdict(False, f"Problem 5 asks for gradients written by hand in NumPy, but {found}. "
                              "This question scores 0 until it does not.")
    return then()


@check("q5_affine_backward")
def q5_affine_backward(data, ctx):
    def values():
        cases = inputs_p5.affine_cases()
        expected = [references(lambda x, w, b: x @ w + b, affine_grads(x, w, b, dout), [x, w, b], dout)
                    for x, w, b, dout in cases]
        return gradient_verdict(data, "affine_backward", expected, ("dx", "dw", "db"),
                                lambda i: "N, D, M = {}, {}, {}".format(*cases[i][0].shape, cases[i][1].shape[1]))

    return no_autodiff(ctx, ["affine_backward", "affine_forward"], values)


@check("q5_sigmoid_backward")
def q5_sigmoid_backward(data, ctx):
    def values():
        cases = inputs_p5.sigmoid_cases()
        expected = [references(sigmoid, sigmoid_grads(x, dout), [x], dout) for x, dout in cases]
        return gradient_verdict(data, "sigmoid_backward", expected, ("dx",),
                                lambda i: f"x of shape {cases[i][0].shape}")

    return no_autodiff(ctx, ["sigmoid_backward", "sigmoid_forward"], values)


@check("q5_softmax_ce")
def q5_softmax_ce(data, ctx):
    def values():
        cases = inputs_p5.softmax_cases()
        wrong_loss = [i for i, (scores, y) in enumerate(cases)
                      if rel_error(data[f"loss{i}"], cross_entropy(scores, y)) > TOL_EXACT]
        if wrong_loss:
            return Verdict(False, f"`softmax_cross_entropy` returns a wrong loss on {len(wrong_loss)} of {len(cases)} "
                                  "hidden inputs: it should be the mean over the batch of -log(softmax(scores)[y]).")
        expected = [references(lambda s: cross_entropy(s, y), [cross_entropy_grad(scores, y)], [scores], np.float64(1.0))
                    for scores, y in cases]
        return gradient_verdict(data, "softmax_cross_entropy", expected, ("dscores",),
                                lambda i: "N, C = {}, {}".format(*cases[i][0].shape))

    return no_autodiff(ctx, ["softmax_cross_entropy"], values)


def network_grads(params, X, y):
    """The loss of the Problem 5 network and its exact gradients, by backpropagation in NumPy."""
    a1 = sigmoid(X @ params["W1"] + params["b1"])
    a2 = sigmoid(a1 @ params["W2"] + params["b2"])
    scores = a2 @ params["W3"] + params["b3"]
    grads = {}
    upstream = cross_entropy_grad(scores, y)
    for layer, inputs in ((3, a2), (2, a1), (1, X)):
        grads[f"W{layer}"], grads[f"b{layer}"] = inputs.T @ upstream, upstream.sum(axis=0)
        if layer > 1:
            upstream = (upstream @ params[f"W{layer}"].T) * inputs * (1 - inputs)
    return cross_entropy(scores, y), grads


def text(data, key):
    return bytes(data[key].astype(np.uint8)).decode("utf-8", "replace")


def network_verdict(data, prefix=""):
    """(right, message): the recorded network losses and gradients against the exact ones on every case."""
    if f"{prefix}error" in data:
        return False, f"On the hidden inputs, {text(data, prefix + 'error')}."
    cases = inputs_p5.network_cases()
    wrong = set()
    for i, (params, X, y) in enumerate(cases):
        loss, grads = network_grads(params, X, y)
        if rel_error(data[f"{prefix}loss{i}"], loss) > TOL_EXACT:
            wrong.add("the loss")
        for k, expected in grads.items():
            got = data.get(f"{prefix}{k}_{i}")
            if got is not None and got.shape != expected.shape:
                wrong.add(f"grads[{k!r}] (shape {got.shape}, not {expected.shape})")
            elif got is None or rel_error(got, expected) > TOL_EXACT:
                wrong.add(f"grads[{k!r}]")
    if wrong:
        return False, (f"On the hidden batches, {', '.join(sorted(wrong))} of `network_loss_and_grads` "
                       "differ from the exact ones.")
    return True, f"`network_loss_and_grads` agrees with the exact gradients on all {len(cases)} hidden batches."


def logged_calls(data):
    calls, i = [], 0
    while f"log{i}_fn" in data:
        calls.append({"fn": inputs_p5.LAYER_FUNCTIONS[int(data[f"log{i}_fn"][0])],
                      "cache": int(data[f"log{i}_cache"][0]),
                      "in": [data[f"log{i}_in{j}"] for j in range(3) if f"log{i}_in{j}" in data],
                      "out": [data[f"log{i}_out{j}"] for j in range(3) if f"log{i}_out{j}" in data]})
        i += 1
    return calls


def same(a, b):
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=1e-12, atol=0))


def wiring_error(data):
    """None if, with stand-in layers, network_loss_and_grads wires them as backpropagation does; else what is wrong."""
    if "s_error" in data:
        return f"run with stand-in layer functions that log their calls, {text(data, 's_error')}"
    calls = logged_calls(data)
    params, X, y = inputs_p5.network_cases()[1]

    def last(fn, inputs, cache=None):
        found = [i for i, c in enumerate(calls) if c["fn"] == fn and len(c["in"]) == len(inputs)
                 and all(same(a, b) for a, b in zip(c["in"], inputs)) and cache in (None, c["cache"])]
        return found[-1] if found else None

    # the forward pass: which logged call is each layer's
    h, affine, act = X, {}, {}
    for layer in (1, 2, 3):
        affine[layer] = last("affine_forward", [h, params[f"W{layer}"], params[f"b{layer}"]])
        if affine[layer] is None:
            return f"its forward pass does not call affine_forward on the input of {LAYER_NAMES[layer - 1]}"
        h = calls[affine[layer]]["out"][0]
        if layer < 3:
            act[layer] = last("sigmoid_forward", [h])
            if act[layer] is None:
                return f"its forward pass does not call sigmoid_forward on the output of {LAYER_NAMES[layer - 1]}"
            h = calls[act[layer]]["out"][0]
    top = last("softmax_cross_entropy", [h, y])
    if top is None:
        return "it does not call softmax_cross_entropy on the scores of layer 3 and the labels"
    loss, upstream = calls[top]["out"]
    # the backward pass: each backward must get its forward's cache and the gradient flowing into it
    def backward(fn, forward, upstream, where):
        i = last(fn, [upstream], cache=forward)
        if i is None:
            given = any(c["fn"] == fn and c["cache"] == forward for c in calls)
            raise LookupError(f"{fn} {where} " + ("is given the wrong upstream gradient" if given
                                                  else "is never called with its forward pass's cache"))
        return calls[i]["out"]

    expected = {}
    try:
        for layer in (3, 2, 1):
            upstream, expected[f"W{layer}"], expected[f"b{layer}"] = backward(
                "affine_backward", affine[layer], upstream, f"for {LAYER_NAMES[layer - 1]}")
            if layer > 1:
                (upstream,) = backward("sigmoid_backward", act[layer - 1], upstream, f"after {LAYER_NAMES[layer - 2]}")
    except LookupError as e:
        return str(e)
    if not same(data["s_loss"], loss):
        return "the loss it returns is not the one softmax_cross_entropy returned"
    for k, v in expected.items():
        if not same(data[f"s_{k}"], v):
            return f"grads[{k!r}] is not the gradient that affine_backward returned for {LAYER_NAMES[int(k[1]) - 1]}"
    return None


@check("q5_network_backward")
def q5_network_backward(data, ctx):
    def values():
        right, message = network_verdict(data)
        if right:
            return Verdict(True, message)
        wiring = wiring_error(data)
        if wiring is None:
            return Verdict(True, "`network_loss_and_grads` composes the layer functions exactly as backpropagation "
                                 "does (its gradients differ from the exact ones only through a layer function, graded by "
                                 "its own question).")
        return Verdict(False, f"{message} And {wiring}.")

    return no_autodiff(ctx, ["network_loss_and_grads"], values)


def loop_error(data):
    """None if sgd_train did SGD right on the loop problem (random gradients); else what went wrong."""
    X, y, params = inputs_p5.loop_problem()
    n, size, epochs, lr = inputs_p5.LOOP_N, inputs_p5.LOOP_BATCH_SIZE, inputs_p5.LOOP_EPOCHS, inputs_p5.LOOP_LR
    steps = sum(1 for key in data if re.fullmatch(r"step\d+_y", key))
    per_epoch = -(-n // size)
    where = f"On {epochs} epochs of {n} examples in minibatches of {size}, "
    if steps != epochs * per_epoch:
        return where + (f"`sgd_train` called loss_and_grads {steps} times, not once per minibatch "
                        f"({per_epoch} per epoch, the last one smaller)")
    for epoch in range(epochs):
        rows = []
        for t in range(epoch * per_epoch, (epoch + 1) * per_epoch):
            X_batch, y_batch = data[f"step{t}_X"], data[f"step{t}_y"]
            if y_batch.ndim != 1 or len(y_batch) > size or X_batch.shape != (len(y_batch), X.shape[1]):
                return where + f"minibatch {t + 1} is not {size} rows of X (or fewer, for the last) with their labels"
            if not np.array_equal(X_batch[:, 0], y_batch):
                return where + f"minibatch {t + 1} pairs rows of X with the labels of other rows"
            rows += list(y_batch)
        if sorted(rows) != list(range(n)):
            return where + f"epoch {epoch + 1} does not visit every example exactly once"
    for t in range(steps):
        before = {k: data[f"step{t}_{k}"] for k in params}
        after = {k: data[f"step{t + 1}_{k}" if t + 1 < steps else f"final_{k}"] for k in params}
        grads = {k: data[f"step{t}_grad_{k}"] for k in params}
        if all(same(after[k], before[k] - lr * grads[k]) for k in params):
            continue
        if all(same(after[k], before[k] + lr * grads[k]) for k in params):
            return where + "`sgd_train` moves the parameters up the gradient (+ lr * grad): SGD steps against it"
        if t + 1 == steps and all(same(after[k], params[k]) for k in params):
            return where + ("the params dict given to `sgd_train` is unchanged when it returns: "
                            "update params[k] in place")
        return where + f"the update after minibatch {t + 1} is not params[k] -= lr * grads[k] for every k"
    return None


def test_accuracy(params):
    X, y = fmnist_test_set()
    a1 = sigmoid(X @ params["W1"] + params["b1"])
    a2 = sigmoid(a1 @ params["W2"] + params["b2"])
    return float(np.mean((a2 @ params["W3"] + params["b3"]).argmax(axis=1) == y))


def fmnist_test_set():
    from . import fmnist

    return fmnist.load_test_set()


@check("q5_training")
def q5_training(data, ctx):
    def values():
        error = loop_error(data)
        if error:
            return Verdict(False, error + ".")
        gradients_right, _ = network_verdict(data, prefix="grad_")
        if not gradients_right:
            return Verdict(True, "`sgd_train` does SGD right (checked step by step on a synthetic problem). How "
                                 "far it trains FashionMNIST is not judged, since the gradients of "
                                 "`network_loss_and_grads` are wrong: see q5_network_backward and the layer questions.")
        if "trained_error" in data:
            error = text(data, "trained_error")
            slow = "longer than" in error
            hint = " Vectorise your functions over the minibatch (no loop over examples)." if slow else ""
            return Verdict(False, f"Training on FashionMNIST failed: {error}.{hint}")
        before = test_accuracy(inputs_p5.training_init())
        after = test_accuracy({k[len("trained_"):]: v for k, v in data.items() if k.startswith("trained_")})
        summary = (f"{inputs_p5.EPOCHS} epochs of SGD on {inputs_p5.TRAIN_SUBSET} training images took test accuracy "
                   f"from {before:.1%} to {after:.1%}")
        if after < MIN_ACCURACY_P5:
            return Verdict(False, f"{summary}, below the {MIN_ACCURACY_P5:.0%} required.")
        return Verdict(True, summary + ".")

    return no_autodiff(ctx, ["sgd_train"], values)


# ---- reading the submitted code: no automatic differentiation in Problem 5's functions ----

# (torchvision is not here: it differentiates nothing without torch, and the notebook loads its data with it)
AUTODIFF_MODULES = {"torch", "functorch", "jax", "jaxlib", "tensorflow", "keras", "autograd", "mxnet",
                    "tinygrad", "micrograd", "theano", "paddle", "mlx", "chainer"}
# names that reach a module or code indirectly, and the notebook's numerical gradient helpers
ESCAPES = {"__import__", "importlib", "eval", "exec", "compile", "globals", "locals", "vars", "getattr", "sys",
           "builtins", "__builtins__", "eval_numerical_gradient", "eval_numerical_gradient_array"}
AUTODIFF_ATTRIBUTES = {"backward", "grad", "requires_grad", "requires_grad_", "grad_fn", "autograd", "__globals__",
                       "__builtins__", "__dict__", "__code__", "modules", "__import__"}


def parse(source):
    # IPython lines (%magic, !shell) are not Python: blank them, keep the rest
    source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def notebook_definitions(code_cells):
    """{name: [nodes]}: every top-level statement (or header expression) that binds each name."""
    defs = {}

    def bind(name, node):
        defs.setdefault(name, []).append(node)

    def visit(statements):
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bind(node.name, node)
            elif isinstance(node, ast.Import):  # one alias each: `import numpy as np, torch` does not taint np
                for alias in node.names:
                    bind(alias.asname or alias.name.split(".")[0], ast.Import(names=[alias]))
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    alias_only = ast.ImportFrom(module=node.module, names=[alias], level=node.level)
                    bind(alias.asname or alias.name, alias_only)
            elif isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try)):
                for header in [getattr(node, "target", None)] + [i.optional_vars for i in getattr(node, "items", [])]:
                    for name in ast.walk(header) if header is not None else []:
                        if isinstance(name, ast.Name):
                            bind(name.id, getattr(node, "iter", None) or node.items[0].context_expr)
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(node, field, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            else:
                for name in ast.walk(node):
                    if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                        bind(name.id, node)

    for source in code_cells:
        tree = parse(source)
        if tree is not None:
            visit(tree.body)
    return defs


def free_names(node):
    """Names a definition reads from the notebook: a function's (or class's) own arguments and assignments
    are local; a statement's are not (`helper = helper` reads the helper defined before)."""
    loads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    local = {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        local |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return loads - local


def autodiff_in(node):
    """What in one definition reaches automatic differentiation (or code indirectly), or None."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Import, ast.ImportFrom)):
            modules = [sub.module or ""] if isinstance(sub, ast.ImportFrom) else [a.name for a in sub.names]
            for module in modules:
                if module.split(".")[0] in AUTODIFF_MODULES | {"importlib", "sys", "builtins"}:
                    return f"imports `{module}`"
    for name in sorted(free_names(node)):
        if name in AUTODIFF_MODULES or name in ESCAPES:
            return f"uses `{name}`"
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in AUTODIFF_ATTRIBUTES:
            return f"uses `.{sub.attr}`"
    return None


def autodiff_uses(code_cells, roots, stop=()):
    """A sentence on how a function of `roots`, or a notebook-level name it uses (transitively, stopping
    at the names in `stop`, which other questions judge), reaches autodiff; None if none does."""
    defs = notebook_definitions(code_cells)
    missing = [r for r in roots if r not in defs]
    if missing:
        return f"no code cell defines `{missing[0]}`, so its code could not be checked"
    paths = {r: [r] for r in roots}
    todo = list(roots)
    while todo:
        name = todo.pop(0)
        for node in defs.get(name, []):
            found = autodiff_in(node)
            if found:
                chain = "".join(f" uses `{n}`, which" for n in paths[name][1:])
                return f"`{paths[name][0]}`{chain} {found}"
            for used in sorted(free_names(node)):
                if used in defs and used not in paths and used not in stop:
                    paths[used] = paths[name] + [used]
                    todo.append(used)
    return None
