"""Problem 5 in the clean room: backpropagation by hand, in NumPy.

Each layer's gradients are compared, on the hidden inputs, with two references computed here: the
exact gradient (``layers``, the chain rule in NumPy) and central finite differences (CS231n's
``rel_error``), so that a slip in one reference could not pass a wrong answer. ``network_loss_and_grads``
is compared with the exact gradients of the whole network, or, failing that, judged on how it wires the
layer functions together (the probe logs its calls to stand-in layers), so that a wrong layer costs only
its own question. ``sgd_train`` is judged on its SGD steps (checked against random "gradients": every
epoch visits every example once, in a new order; each step is params[k] -= lr * grads[k], in place; the
losses it returns are those it was given) and, when the student's gradients are right, on the test
accuracy it reaches. A non-finite value is never right: ``rel_error`` makes it infinitely far.
"""

import numpy as np

from ... import fmnist
from ...checking import Unusable, Verdict, check
from ...config import FD_STEP, MIN_ACCURACY_P5, TOL_EXACT, TOL_FD
from . import autodiff, inputs, layers
from .layers import rel_error

LAYER_NAMES = ("layer 1 (W1, b1)", "layer 2 (W2, b2)", "layer 3 (W3, b3)")


FD_MAX_ENTRIES = 5000  # larger inputs are compared with the exact gradient only (finite differences cost too much)


def references(f, exact, arrays, dout):
    """[(exact, by finite differences)] for the gradient of sum(f(*arrays) * dout) with respect to each array."""
    if sum(np.size(a) for a in arrays) > FD_MAX_ENTRIES:
        return list(zip(exact, exact))
    numeric = []
    for i in range(len(arrays)):
        args = [a.copy() for a in arrays]
        numeric.append(layers.numeric_gradient(lambda v: f(*args[:i], v, *args[i + 1:]), args[i], dout, FD_STEP))
    return list(zip(exact, numeric))


def gradient_verdict(data, function, expected, names, describe):
    """Verdict on the recorded gradients `{name}{i}`, given for each hidden input i the pair
    (exact, by finite differences) of each name."""
    wrong = {}
    for i, pairs in enumerate(expected):
        for name, (exact, by_fd) in zip(names, pairs):
            got = data.get(f"{name}{i}", exact.shape, finite=False) if f"{name}{i}" in data else None
            error = rel_error(got, by_fd) if got is not None else float("inf")
            if got is None or rel_error(got, exact) > TOL_EXACT or error > TOL_FD:
                wrong.setdefault(name, []).append((describe(i), error))
    if wrong:
        parts = [f"`{name}` is wrong on {len(w)} of {len(expected)} hidden inputs ({'; '.join(d for d, _ in w)}), "
                 f"rel_error to the numerical gradient up to {max(e for _, e in w):.2g}" for name, w in wrong.items()]
        return Verdict(False, f"`{function}`: " + "; ".join(parts) + ". Check it with the gradient check cell.")
    return Verdict(True, f"`{function}` agrees with the exact and the numerical gradients on all {len(expected)} "
                         "hidden inputs.")


def explained(ctx, roots, verdict):
    """A failed verdict, with the reason when a function of `roots` reaches automatic differentiation."""
    if verdict.passed:
        return verdict
    found = autodiff.uses(ctx.code_cells, roots)
    if found:
        return Verdict(False, f"{verdict.message} Problem 5 asks for gradients written by hand in NumPy, and {found}: "
                              "these functions are graded where torch and other automatic differentiation do not exist.")
    return verdict


@check("q5_affine_backward")
def q5_affine_backward(data, ctx):
    cases = inputs.affine_cases()
    expected = [references(lambda x, w, b: x @ w + b, layers.affine_backward(dout, (x, w, b)), [x, w, b], dout)
                for x, w, b, dout in cases]
    verdict = gradient_verdict(data, "affine_backward", expected, ("dx", "dw", "db"),
                               lambda i: "N, D, M = {}, {}, {}".format(*cases[i][0].shape, cases[i][1].shape[1]))
    return explained(ctx, ["affine_backward", "affine_forward"], verdict)


@check("q5_sigmoid_backward")
def q5_sigmoid_backward(data, ctx):
    cases = inputs.sigmoid_cases()
    sigmoid = lambda x: layers.sigmoid_forward(x)[0]  # noqa: E731
    expected = [references(sigmoid, [layers.sigmoid_backward(dout, sigmoid(x))], [x], dout) for x, dout in cases]
    verdict = gradient_verdict(data, "sigmoid_backward", expected, ("dx",), lambda i: f"x of shape {cases[i][0].shape}")
    return explained(ctx, ["sigmoid_backward", "sigmoid_forward"], verdict)


@check("q5_softmax_ce")
def q5_softmax_ce(data, ctx):
    cases = inputs.softmax_cases()
    wrong_loss = [i for i, (scores, y) in enumerate(cases)
                  if f"loss{i}" not in data
                  or rel_error(data.get(f"loss{i}", (), finite=False), layers.softmax_cross_entropy(scores, y)[0]) > TOL_EXACT]
    if wrong_loss:
        verdict = Verdict(False, f"`softmax_cross_entropy` returns a wrong loss on {len(wrong_loss)} of {len(cases)} "
                                 "hidden inputs: it should be the mean over the batch of -log(softmax(scores)[y]).")
    else:
        expected = [references(lambda s: layers.softmax_cross_entropy(s, y)[0],
                               [layers.softmax_cross_entropy(scores, y)[1]], [scores], np.float64(1.0))
                    for scores, y in cases]
        verdict = gradient_verdict(data, "softmax_cross_entropy", expected, ("dscores",),
                                   lambda i: "N, C = {}, {}".format(*cases[i][0].shape))
    return explained(ctx, ["softmax_cross_entropy"], verdict)


def network_verdict(data, prefix=""):
    """(right, message): the recorded network losses and gradients against the exact ones on every case."""
    if f"{prefix}error" in data:
        return False, f"On the hidden inputs, {data.text(prefix + 'error')}."
    cases = inputs.network_cases()
    wrong = set()
    for i, (params, X, y) in enumerate(cases):
        loss, grads = layers.network_loss_and_grads(params, X, y)
        key = f"{prefix}loss{i}"
        if key not in data or rel_error(data.get(key, finite=False), loss) > TOL_EXACT:
            wrong.add("the loss")
        for k, expected in grads.items():
            key = f"{prefix}{k}_{i}"
            got = data.get(key, finite=False) if key in data else None
            if got is not None and got.shape != expected.shape:
                wrong.add(f"grads[{k!r}] (shape {got.shape}, not {expected.shape})")
            elif rel_error(got, expected) > TOL_EXACT:
                wrong.add(f"grads[{k!r}]")
    if wrong:
        return False, (f"On the hidden batches, {', '.join(sorted(wrong))} of `network_loss_and_grads` "
                       "differ from the exact ones.")
    return True, f"`network_loss_and_grads` agrees with the exact gradients on all {len(cases)} hidden batches."


def logged_calls(data):
    """The stand-in layers' log: [{fn, cache, in, out}], in call order."""
    calls, i = [], 0
    while f"log{i}_fn" in data:
        index = int(data.get(f"log{i}_fn", (1,))[0])
        if not 0 <= index < len(inputs.LAYER_FUNCTIONS):
            raise Unusable("The log of the stand-in layer functions is damaged.")
        calls.append({"fn": inputs.LAYER_FUNCTIONS[index], "cache": int(data.get(f"log{i}_cache", (1,))[0]),
                      "in": [data.get(f"log{i}_in{j}", finite=False) for j in range(3) if f"log{i}_in{j}" in data],
                      "out": [data.get(f"log{i}_out{j}") for j in range(3) if f"log{i}_out{j}" in data]})
        i += 1
    return calls


def replayed(calls):
    """Whether the logged outputs are those the stand-ins drew (the probe draws them in call order from
    their own generator): a log made up after the fact, rather than by the stand-ins, is not."""
    rng = inputs.rng("q5_network_backward/stand-ins")
    try:
        for call in calls:
            shapes = [np.shape(a) for a in call["in"]]
            if call["fn"] == "affine_forward":
                drawn = [rng.normal(size=(shapes[0][0], shapes[1][1]))]
            elif call["fn"] == "sigmoid_forward":
                drawn = [rng.normal(size=shapes[0])]
            elif call["fn"] == "softmax_cross_entropy":
                drawn = [rng.normal(), rng.normal(size=shapes[0])]
            else:
                forward = [np.shape(a) for a in calls[call["cache"]]["in"]]
                drawn = [rng.normal(size=s) for s in (forward if call["fn"] == "affine_backward" else forward[:1])]
            if len(drawn) != len(call["out"]) or not all(same(a, b) for a, b in zip(call["out"], drawn)):
                return False
    except (IndexError, ValueError, TypeError):
        return False
    return True


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(np.allclose(a, b, rtol=1e-12, atol=0))


def wiring_error(data):
    """None if, with stand-in layers, network_loss_and_grads wires them as backpropagation does; else what is wrong."""
    if "s_error" in data:
        return f"run with stand-in layer functions that log their calls, {data.text('s_error')}"
    calls = logged_calls(data)
    if not replayed(calls):
        return "the log of its calls to the stand-in layers is not what the stand-ins returned"
    params, X, y = inputs.network_cases()[1]

    def last(fn, given, cache=None):
        found = [i for i, c in enumerate(calls) if c["fn"] == fn and len(c["in"]) == len(given)
                 and all(same(a, b) for a, b in zip(c["in"], given)) and cache in (None, c["cache"])]
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
    if "s_loss" not in data or not same(data.get("s_loss", finite=False), loss):
        return "the loss it returns is not the one softmax_cross_entropy returned"
    for k, v in expected.items():
        if f"s_{k}" not in data or not same(data.get(f"s_{k}", finite=False), v):
            return f"grads[{k!r}] is not the gradient that affine_backward returned for {LAYER_NAMES[int(k[1]) - 1]}"
    return None


@check("q5_network_backward")
def q5_network_backward(data, ctx):
    right, message = network_verdict(data)
    if right:
        verdict = Verdict(True, message)
    else:
        wiring = wiring_error(data)
        verdict = (Verdict(True, "`network_loss_and_grads` composes the layer functions exactly as backpropagation "
                                 "does (its gradients differ from the exact ones only through a layer function, graded "
                                 "by its own question).") if wiring is None
                   else Verdict(False, f"{message} And {wiring}."))
    return explained(ctx, ["network_loss_and_grads"], verdict)


def loop_error(data):
    """None if sgd_train did SGD as the homework describes on the loop problem (random "gradients", see
    inputs.loop_problem); else what went wrong."""
    X, y, params = inputs.loop_problem()
    n, size, epochs, lr = inputs.LOOP_N, inputs.LOOP_BATCH_SIZE, inputs.LOOP_EPOCHS, inputs.LOOP_LR
    steps = 0
    while f"step{steps}_y" in data:
        steps += 1
    per_epoch = -(-n // size)
    where = f"On {epochs} epochs of {n} examples in minibatches of {size}, "
    if steps != epochs * per_epoch:
        return where + (f"`sgd_train` called loss_and_grads {steps} times, not once per minibatch "
                        f"({per_epoch} per epoch, the last one smaller)")
    orders = []
    for epoch in range(epochs):
        rows = []
        for t in range(epoch * per_epoch, (epoch + 1) * per_epoch):
            X_batch, y_batch = data.get(f"step{t}_X"), data.get(f"step{t}_y")
            last = t == (epoch + 1) * per_epoch - 1
            if y_batch.ndim != 1 or X_batch.shape != (len(y_batch), X.shape[1]) or len(y_batch) > size \
                    or (not last and len(y_batch) != size):
                return where + (f"minibatch {t + 1} holds {len(y_batch)} rows of X: every minibatch of an epoch holds "
                                f"{size}, but the last, which may hold fewer")
            if not np.array_equal(X_batch[:, 0], y_batch):
                return where + f"minibatch {t + 1} pairs rows of X with the labels of other rows"
            rows += list(y_batch)
        if sorted(rows) != list(range(n)):
            return where + f"epoch {epoch + 1} does not visit every example exactly once"
        orders.append(rows)
    if orders[0] == list(range(n)):
        return where + "the first epoch visits the examples in their original order: shuffle them in every epoch"
    for epoch in range(1, epochs):
        if orders[epoch] == orders[epoch - 1]:
            return where + (f"epoch {epoch + 1} visits the examples in the same order as epoch {epoch}: draw a new "
                            "random order in every epoch")
    source = inputs.loop_gradient_source()  # the "gradients" and losses handed out, drawn again in call order
    for t in range(steps):
        handed = {k: source.normal(size=v.shape) for k, v in params.items()}
        loss = source.normal()
        if not all(same(data.get(f"step{t}_grad_{k}", v.shape), handed[k]) for k, v in params.items()) \
                or not same(data.get(f"step{t}_loss", (1,)), [loss]):
            return where + "the record of what loss_and_grads handed out is not what it handed out"
    for t in range(steps):
        before = {k: data.get(f"step{t}_{k}", v.shape) for k, v in params.items()}
        after = {k: data.get(f"step{t + 1}_{k}" if t + 1 < steps else f"final_{k}", v.shape, finite=False)
                 for k, v in params.items()}
        grads = {k: data.get(f"step{t}_grad_{k}", v.shape) for k, v in params.items()}
        if all(same(after[k], before[k] - lr * grads[k]) for k in params):
            continue
        if all(same(after[k], before[k] + lr * grads[k]) for k in params):
            return where + "`sgd_train` moves the parameters up the gradient (+ lr * grad): SGD steps against it"
        if t + 1 == steps and all(same(after[k], params[k]) for k in params):
            return where + ("the params dict given to `sgd_train` is unchanged when it returns: "
                            "update params[k] in place")
        return where + f"the update after minibatch {t + 1} is not params[k] -= lr * grads[k] for every k"
    given = np.array([float(data.get(f"step{t}_loss", (1,))[0]) for t in range(steps)])
    if "returned_error" in data:
        return where + f"{data.text('returned_error')}: it should return the list of minibatch losses"
    returned = data.get("returned", finite=False)
    if returned.shape != given.shape or not same(returned, given):
        return where + ("what `sgd_train` returns is not the list of the losses that loss_and_grads returned, one "
                        "per minibatch, in order")
    return None


def test_accuracy(params):
    X, y = fmnist.load_test_set()
    scores, _ = layers.network_scores(params, X)
    return float(np.mean(scores.argmax(axis=1) == y))


@check("q5_training")
def q5_training(data, ctx):
    error = loop_error(data)
    if error:
        return explained(ctx, ["sgd_train"], Verdict(False, error + "."))
    gradients_right, _ = network_verdict(data, prefix="grad_")
    if not gradients_right:
        return Verdict(True, "`sgd_train` does SGD right (checked step by step on a synthetic problem). How "
                             "far it trains FashionMNIST is not judged, since the gradients of "
                             "`network_loss_and_grads` are wrong: see q5_network_backward and the layer questions.")
    if "trained_error" in data:
        error = data.text("trained_error")
        hint = " Vectorise your functions over the minibatch (no loop over examples)." if "longer than" in error else ""
        return explained(ctx, ["sgd_train"], Verdict(False, f"Training on FashionMNIST failed: {error}.{hint}"))
    before = test_accuracy(inputs.training_init())
    after = test_accuracy({k: data.get(f"trained_{k}", v.shape, what=f"params[{k!r}] after training")
                           for k, v in inputs.training_init().items()})
    summary = (f"{inputs.EPOCHS} epochs of SGD on {inputs.TRAIN_SUBSET} training images took test accuracy "
               f"from {before:.1%} to {after:.1%}")
    if after < MIN_ACCURACY_P5:
        return explained(ctx, ["sgd_train"], Verdict(False, f"{summary}, below the {MIN_ACCURACY_P5:.0%} required."))
    return Verdict(True, summary + ".")
