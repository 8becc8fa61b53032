"""Problem 5's probes: they call the student's functions on the hidden inputs of ``inputs`` and write down
what comes back, as float64 arrays. They compute no gradient themselves, and they run in the judge
(``judge.py``): a process of its own, where the functions are defined again from the submitted code
alone and where automatic differentiation does not exist.

Two probes also run a student's function with stand-ins in place of the functions it calls, so that
the clean room can judge one question independently of the others:

- q5_network_backward: the five layer functions are replaced by stand-ins that return random numbers
  of the right shapes and log every call; the clean room reads from the log whether
  ``network_loss_and_grads`` wires the layers together right, whatever the student's layers compute.
- q5_training: ``sgd_train`` is run with a ``loss_and_grads`` that returns random "gradients"; the clean room
  checks every SGD step against them, whatever the student's real gradients are.
"""

import numpy as np

from ...config import TRAINING_PROBE_TIMEOUT
from ...inputs import rng
from ...probing import ProbeError, as_array, function, probe, text_array
from . import inputs as inputs_p5

# The names the judge defines from the submitted code (with everything they use): the graded functions,
# and the layer functions that network_loss_and_grads composes.
JUDGED_FROM = ("affine_forward", "affine_backward", "sigmoid_forward", "sigmoid_backward", "softmax_cross_entropy",
               "network_loss_and_grads", "sgd_train")

PARAM_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")


def call(fn, name, where, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ProbeError:
        raise
    except Exception as e:
        raise ProbeError(f"`{name}` raised {type(e).__name__}: {e} (on {where})") from None


def timed_out(error):
    # the student room's time limit raises ProbeError too; it must end the probe, not be recorded and passed
    return str(error).startswith("took longer than")


def returned(value, name, what):
    if value is None:
        raise ProbeError(f"`{name}` returned None, not {what}: replace the ... with your code, and `return` {what}")
    return value


def unpack(value, count, name, what):
    returned(value, name, what)
    if not isinstance(value, (tuple, list)) or len(value) != count:
        got = f"a {type(value).__name__}" + (f" of {len(value)}" if isinstance(value, (tuple, list)) else "")
        raise ProbeError(f"`{name}` should return {what}, but it returned {got}")
    return value


def copied(params):
    return {k: v.copy() for k, v in params.items()}


@probe("q5_affine_backward")
def q5_affine_backward(ns):
    forward, backward = function(ns, "affine_forward"), function(ns, "affine_backward")
    record = {}
    for i, (x, w, b, dout) in enumerate(inputs_p5.affine_cases()):
        where = f"x of shape {x.shape}, w {w.shape}, b {b.shape}"
        out = call(forward, "affine_forward", where, x.copy(), w.copy(), b.copy())
        _, cache = unpack(out, 2, "affine_forward", "(out, cache)")
        grads = call(backward, "affine_backward", where, dout.copy(), cache)
        grads = unpack(grads, 3, "affine_backward", "(dx, dw, db)")
        for name, grad, like in zip(("dx", "dw", "db"), grads, ("x", "w", "b")):
            shape = {"x": x, "w": w, "b": b}[like].shape
            record[f"{name}{i}"] = as_array(grad, f"`{name}` (for {where}), which has the shape of {like},", shape)
    return record


@probe("q5_sigmoid_backward")
def q5_sigmoid_backward(ns):
    forward, backward = function(ns, "sigmoid_forward"), function(ns, "sigmoid_backward")
    record = {}
    for i, (x, dout) in enumerate(inputs_p5.sigmoid_cases()):
        where = f"x of shape {x.shape}"
        _, cache = unpack(call(forward, "sigmoid_forward", where, x.copy()), 2, "sigmoid_forward", "(out, cache)")
        dx = returned(call(backward, "sigmoid_backward", where, dout.copy(), cache), "sigmoid_backward", "dx")
        record[f"dx{i}"] = as_array(dx, f"`dx` (for {where}), which has the shape of x,", x.shape)
    return record


@probe("q5_softmax_ce")
def q5_softmax_ce(ns):
    fn = function(ns, "softmax_cross_entropy")
    record = {}
    for i, (scores, y) in enumerate(inputs_p5.softmax_cases()):
        where = f"scores of shape {scores.shape}"
        loss, dscores = unpack(call(fn, "softmax_cross_entropy", where, scores.copy(), y.copy()), 2,
                               "softmax_cross_entropy", "(loss, dscores)")
        record[f"loss{i}"] = as_array(loss, f"the loss (for {where})", ())
        record[f"dscores{i}"] = as_array(dscores, f"`dscores` (for {where}), which has the shape of scores,",
                                         scores.shape)
    return record


def network_outputs(fn, prefix=""):
    """What network_loss_and_grads returns on every hidden case, whatever the shapes (a wrong shape is
    a wrong gradient, judged in the clean room); on an error, its text under `{prefix}error`."""
    record = {}
    try:
        for i, (params, X, y) in enumerate(inputs_p5.network_cases()):
            where = f"a batch of {len(X)}"
            loss, grads = unpack(call(fn, "network_loss_and_grads", where, copied(params), X.copy(), y.copy()), 2,
                                 "network_loss_and_grads", "(loss, grads)")
            record[f"{prefix}loss{i}"] = as_array(loss, f"the loss of `network_loss_and_grads` (on {where})", ())
            for k, g in gradient_dict(grads).items():
                record[f"{prefix}{k}_{i}"] = as_array(g, f"grads[{k!r}] (on {where})")
    except ProbeError as e:  # (past the probe's time too: what came before it stands)
        return {f"{prefix}error": text_array(e)}
    return record


def gradient_dict(grads):
    if not isinstance(grads, dict):
        raise ProbeError(f"`network_loss_and_grads` should return grads as a dict, not a {type(grads).__name__}")
    missing = [k for k in PARAM_KEYS if k not in grads]
    if missing:
        raise ProbeError(f"the grads of `network_loss_and_grads` have no key {', '.join(map(repr, missing))}")
    return {k: grads[k] for k in PARAM_KEYS}


class Cache:
    """What a stand-in forward returns as its cache: the number of its logged call."""

    def __init__(self, index, kind, shapes):
        self.index, self.kind, self.shapes = index, kind, shapes


class StandIns:
    """The five layer functions, as stand-ins that return random numbers of the right shapes and log
    each call (inputs, outputs, and for a backward, which forward call made its cache)."""

    def __init__(self):
        self.rng, self.calls = rng("q5_network_backward/stand-ins"), []

    def log(self, fn, inputs, outputs, cache):
        inputs = [as_array(a, f"what `network_loss_and_grads` passes to `{fn}`") for a in inputs]
        self.calls.append((fn, inputs, outputs, cache))
        return tuple(o.copy() for o in outputs)

    def random(self, *shape):
        return self.rng.normal(size=shape)

    def cache(self, cache, kind, fn):
        if not isinstance(cache, Cache) or cache.kind != kind:
            raise ProbeError(f"`network_loss_and_grads` gives `{fn}` a cache that `{kind}_forward` did not return")
        return cache

    def affine_forward(self, x, w, b):
        shapes = tuple(np.shape(a) for a in (x, w, b))
        (out,) = self.log("affine_forward", (x, w, b), (self.random(shapes[0][0], shapes[1][1]),), len(self.calls))
        return out, Cache(len(self.calls) - 1, "affine", shapes)

    def sigmoid_forward(self, x):
        (out,) = self.log("sigmoid_forward", (x,), (self.random(*np.shape(x)),), len(self.calls))
        return out, Cache(len(self.calls) - 1, "sigmoid", (np.shape(x),))

    def softmax_cross_entropy(self, scores, y):
        outputs = (self.random(), self.random(*np.shape(scores)))
        loss, dscores = self.log("softmax_cross_entropy", (scores, y), outputs, len(self.calls))
        return float(loss), dscores

    def affine_backward(self, dout, cache):
        cache = self.cache(cache, "affine", "affine_backward")
        return self.log("affine_backward", (dout,), tuple(self.random(*s) for s in cache.shapes), cache.index)

    def sigmoid_backward(self, dout, cache):
        cache = self.cache(cache, "sigmoid", "sigmoid_backward")
        (dx,) = self.log("sigmoid_backward", (dout,), (self.random(*cache.shapes[0]),), cache.index)
        return dx


def stand_in_run(ns, fn):
    """network_loss_and_grads on the second network case, its layer functions replaced by stand-ins."""
    params, X, y = inputs_p5.network_cases()[1]
    stand_ins = StandIns()
    saved = {name: ns.get(name) for name in inputs_p5.LAYER_FUNCTIONS}
    ns.update({name: getattr(stand_ins, name) for name in inputs_p5.LAYER_FUNCTIONS})
    try:
        out = call(fn, "network_loss_and_grads", "stand-in layer functions", copied(params), X.copy(), y.copy())
        loss, grads = unpack(out, 2, "network_loss_and_grads", "(loss, grads)")
        record = {"s_loss": as_array(loss, "the loss")}
        record.update({f"s_{k}": as_array(g, f"grads[{k!r}]") for k, g in gradient_dict(grads).items()})
    except ProbeError as e:
        if timed_out(e):
            raise
        return {"s_error": text_array(e)}
    finally:
        ns.update(saved)
    for i, (fn_name, inputs, outputs, cache) in enumerate(stand_ins.calls):
        record[f"log{i}_fn"] = np.array([inputs_p5.LAYER_FUNCTIONS.index(fn_name)], dtype=np.float64)
        record[f"log{i}_cache"] = np.array([cache], dtype=np.float64)
        record.update({f"log{i}_in{j}": a for j, a in enumerate(inputs)})
        record.update({f"log{i}_out{j}": np.asarray(a, dtype=np.float64) for j, a in enumerate(outputs)})
    return record


@probe("q5_network_backward")
def q5_network_backward(ns):
    """The wiring with stand-in layers first (it is quick, whatever the student's layers cost), then the
    network itself on the hidden batches."""
    fn = function(ns, "network_loss_and_grads")
    record = {**stand_in_run(ns, fn), **network_outputs(fn)}
    if "error" in record and "s_error" in record:
        raise ProbeError(bytes(record["error"].astype(np.uint8)).decode("utf-8", "replace"))
    return record


def loop_run(train):
    """sgd_train on the loop problem with random "gradients"; every call's parameters, minibatch and
    gradients, and the parameters after it returns."""
    X, y, params = inputs_p5.loop_problem()
    source, calls = inputs_p5.loop_gradient_source(), []

    def loss_and_grads(p, X_batch, y_batch):
        if len(calls) >= 100:
            raise ProbeError(f"`sgd_train` called loss_and_grads more than 100 times for {inputs_p5.LOOP_EPOCHS} "
                             f"epochs of {len(X)} examples in minibatches of {inputs_p5.LOOP_BATCH_SIZE}")
        try:
            snapshot = {k: as_array(p[k], f"params[{k!r}]") for k in params}
        except (KeyError, TypeError, IndexError):
            raise ProbeError("`sgd_train` should pass loss_and_grads the params dict it was given") from None
        grads = {k: source.normal(size=v.shape) for k, v in params.items()}
        batch = as_array(X_batch, "the minibatch of X"), as_array(y_batch, "the minibatch of y")
        loss = float(source.normal())
        calls.append((snapshot, *batch, grads, loss))
        return loss, copied(grads)

    trained = copied(params)
    returned = call(train, "sgd_train", "a small synthetic problem", trained, X.copy(), y.copy(), loss_and_grads,
                    epochs=inputs_p5.LOOP_EPOCHS, lr=inputs_p5.LOOP_LR, batch_size=inputs_p5.LOOP_BATCH_SIZE, seed=1)
    record = {f"final_{k}": as_array(trained.get(k), f"params[{k!r}] after sgd_train") for k in params}
    for t, (snapshot, X_batch, y_batch, grads, loss) in enumerate(calls):
        record.update({f"step{t}_{k}": v for k, v in snapshot.items()})
        record.update({f"step{t}_grad_{k}": v for k, v in grads.items()})
        record[f"step{t}_X"], record[f"step{t}_y"], record[f"step{t}_loss"] = X_batch, y_batch, np.array([loss])
    try:
        record["returned"] = as_array(returned, "what `sgd_train` returns").reshape(-1)
    except ProbeError:
        record["returned_error"] = text_array(f"`sgd_train` returns {type(returned).__name__}"
                                              + (f" of shape {np.shape(returned)}" if returned is not None else ""))
    return record


@probe("q5_training", seconds=TRAINING_PROBE_TIMEOUT)
def q5_training(ns):
    train = function(ns, "sgd_train")
    record = loop_run(train)
    network = ns.get("network_loss_and_grads")
    if not callable(network):
        return {**record, "trained_error": text_array("`network_loss_and_grads` is not defined")}
    record.update(network_outputs(network, prefix="grad_"))
    if "grad_error" in record:  # the network's gradients are not right: how far it trains is not judged
        return record
    # the student's whole pipeline, on FashionMNIST
    params = inputs_p5.training_init()
    try:
        X, y = inputs_p5.training_subset()
    except (OSError, ValueError) as e:
        return {**record, "trained_error": text_array(f"the training images could not be read ({e})")}
    try:
        call(train, "sgd_train", "FashionMNIST with your network_loss_and_grads", params, X, y, network,
             epochs=inputs_p5.EPOCHS, lr=inputs_p5.LR, batch_size=inputs_p5.BATCH_SIZE, seed=inputs_p5.SHUFFLE_SEED)
        record.update({f"trained_{k}": as_array(params[k], f"params[{k!r}] after training", v.shape)
                       for k, v in inputs_p5.training_init().items()})
    except ProbeError as e:
        record["trained_error"] = text_array(e)
    return record
