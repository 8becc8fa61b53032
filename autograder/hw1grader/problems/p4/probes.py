"""Problem 4 in the student room: the student's network, training curves and predict_proba, as plain numbers.

The model is run once on the hidden images of ``inputs`` with a hook on every one of its leaf modules,
and written down as what it did, in the order it did it: each nn.Linear's weights, bias and input, each
BatchNorm1d's statistics, the name of every other module it called, and the final outputs. The clean
room rebuilds a network from that and checks it against the outputs, so nothing here needs to know
what the right network is.
"""

import numpy as np

from ...probing import ProbeError, answer, as_array, function, probe, text_array
from .inputs import TEST_IMAGES_FILE, model_images, proba_images

MAX_LOSSES = 100_000  # longer loss lists are not recorded (they cannot be one number per epoch anyway)
MAX_CALLS = 200  # module calls recorded for one forward pass (the homework's network makes about ten)


def test_images():
    try:
        with open(TEST_IMAGES_FILE, "rb") as f:
            data = f.read()
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(10000, 784) / 255.0
    except (OSError, ValueError):
        raise ProbeError("FashionMNIST's test images are not in ./FashionMNIST/ (did the notebook's data "
                         "cell run, with the loading code given in Problem 4?)") from None


def network(ns):
    import torch

    model = answer(ns, "model")
    if not isinstance(model, torch.nn.Module):
        raise ProbeError(f"`model` should be a torch.nn.Module, but it is a {type(model).__name__}")
    if not any(isinstance(m, torch.nn.Linear) for m in model.modules()):
        raise ProbeError("`model` has no torch.nn.Linear layers: build it from nn.Linear layers and activations")
    return model


def run_model(model, images, calls=None, shapes=None):
    """The model's outputs (N, 10) on images (N, 784), given as (N, 1, 28, 28) or, failing that, (N, 784).
    With a list `calls`, every leaf module's call is appended to it as (module, input, output); with a
    list `shapes`, the shape it took is appended to it."""
    import torch

    hooks = []
    if calls is not None:
        def log(module, inputs, output):
            if len(calls) < MAX_CALLS:
                calls.append((module, inputs[0] if inputs else None, output))

        hooks = [m.register_forward_hook(log) for m in model.modules() if not list(m.children())]
    x = torch.tensor(images, dtype=next(model.parameters()).dtype)
    model.eval()  # dropout and the like off, batch norm on its running statistics, as when it is evaluated
    try:
        with torch.no_grad():
            try:
                out = model(x.reshape(-1, 1, 28, 28))
                took = 4
            except Exception as e:
                if calls is not None:
                    calls.clear()
                try:
                    out = model(x.reshape(-1, 784))
                    took = 2
                except Exception:
                    raise ProbeError(f"`model` raised {type(e).__name__}: {e} (on a batch of images of shape "
                                     f"({len(images)}, 1, 28, 28))") from None
    finally:
        for hook in hooks:
            hook.remove()
    if shapes is not None:
        shapes.append(took)
    return as_array(out, f"what `model` returns for a batch of {len(images)} images", (len(images), 10))


def model_record(ns):
    """The model's run on the hidden images: `outputs`, `input_dims` (the images' dimensions it took), and
    for the i-th module call `call{i}` (its class name), with `call{i}_W`, `_b`, `_in` for an nn.Linear and
    `call{i}_mean`, `_var`, `_weight`, `_bias`, `_eps` for a BatchNorm1d."""
    import torch

    model = network(ns)
    images = model_images(test_images())
    calls, shapes = [], []
    record = {"outputs": run_model(model, images, calls, shapes)}
    record["input_dims"] = np.array(float(shapes[0]))  # 4: it took (N, 1, 28, 28); 2: only (N, 784)
    for i, (module, given, _) in enumerate(calls):
        record[f"call{i}"] = text_array(type(module).__name__, 100)
        if isinstance(module, torch.nn.Linear):
            record[f"call{i}_W"] = as_array(module.weight, "a weight matrix")
            record[f"call{i}_b"] = (np.zeros(module.out_features) if module.bias is None
                                    else as_array(module.bias, "a bias"))
            if given is not None:
                record[f"call{i}_in"] = as_array(given, "the input of a layer").reshape(len(images), -1)
        elif isinstance(module, torch.nn.BatchNorm1d) and module.running_mean is not None:
            record[f"call{i}_mean"] = as_array(module.running_mean, "a batch norm mean")
            record[f"call{i}_var"] = as_array(module.running_var, "a batch norm variance")
            record[f"call{i}_weight"] = (np.ones(module.num_features) if module.weight is None
                                         else as_array(module.weight, "a batch norm weight"))
            record[f"call{i}_bias"] = (np.zeros(module.num_features) if module.bias is None
                                       else as_array(module.bias, "a batch norm bias"))
            record[f"call{i}_eps"] = np.array(float(module.eps))
    return record


def loss_modules(ns):
    """The class names of the torch loss objects the notebook holds (loss_fn = nn.CrossEntropyLoss(), ...)."""
    import torch

    names = sorted({type(v).__name__ for v in list(ns.values()) if isinstance(v, torch.nn.modules.loss._Loss)})
    return text_array(",".join(names), 500)


@probe("q4_model")
def q4_model(ns):
    return {**model_record(ns), "losses": loss_modules(ns), **last_test_loss(ns)}


@probe("q4_accuracy")
def q4_accuracy(ns):
    return {**model_record(ns), "test_accuracy": as_array(answer(ns, "test_accuracy"), "`test_accuracy`", ())}


def losses(ns, name):
    values = answer(ns, name)
    try:
        values = [float(v) for v in values]  # numbers, 0-d arrays and one-element tensors alike
    except (TypeError, ValueError) as e:
        raise ProbeError(f"`{name}` should be a list of numbers, one per epoch ({type(e).__name__}: {e})") from None
    if len(values) > MAX_LOSSES:
        raise ProbeError(f"`{name}` holds {len(values)} numbers: it should hold one per epoch")
    return np.array(values, dtype=np.float64)


def last_test_loss(ns):
    """The last of `test_losses` if it is there (q4_model reads from it which loss the student used)."""
    try:
        values = losses(ns, "test_losses")
    except ProbeError:
        return {}
    return {"last_test_loss": values[-1:]}


@probe("q4_curves")
def q4_curves(ns):
    return {**model_record(ns), "n_epochs": as_array(answer(ns, "n_epochs"), "`n_epochs`", ()),
            "train_losses": losses(ns, "train_losses"), "test_losses": losses(ns, "test_losses")}


@probe("q4_predict_proba")
def q4_predict_proba(ns):
    """predict_proba on each hidden image, given as the dataset gives one (float32, (1, 28, 28)), and
    the model's own outputs on the same images."""
    import torch

    model = network(ns)
    fn = function(ns, "predict_proba")
    images = proba_images(test_images())
    record = {}
    for i, image in enumerate(images):
        try:
            p = fn(model, torch.tensor(image, dtype=torch.float32).reshape(1, 28, 28))
        except Exception as e:
            raise ProbeError(f"`predict_proba` raised {type(e).__name__}: {e} (on an image of shape (1, 28, 28))") from None
        p = as_array(p, "what `predict_proba(model, image)` returns")
        if p.size != 10:
            raise ProbeError(f"`predict_proba(model, image)` should return 10 probabilities, not shape {p.shape}")
        record[f"proba{i}"] = p.reshape(10)
    record["outputs"] = run_model(model, images)
    return record
