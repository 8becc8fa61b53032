"""The student room's side of every question: what a probe is, and the helpers probes share.

A probe takes the notebook's global namespace and returns a dict of plain float64 arrays: the
student's values, and what the student's functions return on the hidden inputs. It raises
``ProbeError`` with a message for the student when an answer is missing or malformed. Probes run next
to the student's code, so they compute no expected value and decide nothing: each problem's
``probes.py`` defines them with ``@probe("question")``, and ``probes()`` collects them from the
problems listed in ``problems.PROBLEMS``.
"""

import json

import numpy as np

from . import problems


class ProbeError(Exception):
    """An answer that cannot be recorded; the message is shown to the student."""


def probe(question, seconds=None):
    """Mark a function of a problem's probes.py as the probe of `question`, with its own time limit when it
    needs more than config.PROBE_TIMEOUT (a hidden training run)."""
    def mark(fn):
        fn.question, fn.seconds = question, seconds
        return fn

    return mark


def probes(where=None):
    """{question: probe} in the order of the homework: all of them, or those that run `where`: "kernel"
    (in the notebook's own kernel, the student room) or "judge" (problems whose probes.py names the
    functions the judge defines from the submitted code, JUDGED_FROM)."""
    found = {}
    for module in problems.modules("probes"):
        if where is not None and where != ("judge" if getattr(module, "JUDGED_FROM", None) else "kernel"):
            continue
        for fn in vars(module).values():
            if callable(fn) and isinstance(getattr(fn, "question", None), str) and fn.__module__ == module.__name__:
                found[fn.question] = fn
    return found


def answer(ns, name):
    if name not in ns or ns[name] is Ellipsis:
        raise ProbeError(f"`{name}` is not defined: run the cell that defines it, and replace every `...`")
    return ns[name]


def function(ns, name):
    fn = answer(ns, name)
    if not callable(fn):
        raise ProbeError(f"`{name}` should be a function, but it is a {type(fn).__name__}")
    return fn


def as_array(value, what, shape=None):
    """float64 copy of a number, list, numpy array or torch tensor; ProbeError otherwise."""
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if value is None:
        raise ProbeError(f"{what} is None: does the function `return` its result?")
    if isinstance(value, (str, bytes)):
        raise ProbeError(f"{what} should be numbers, but it is a string")
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ProbeError(f"{what} should be numbers, but it is a {type(value).__name__} ({e})") from None
    if shape is not None and array.shape != tuple(shape):
        raise ProbeError(f"{what} should have shape {tuple(shape)}, but it has shape {array.shape}")
    return array


def outputs(fn, name, cases, shape_of):
    """Call fn on every hidden case; what it returns, as out0..outN."""
    results = []
    for args in cases:
        shapes = ", ".join(str(np.shape(a)) for a in args)
        try:
            out = fn(*(a.copy() for a in args))
        except Exception as e:
            raise ProbeError(f"`{name}` raised {type(e).__name__}: {e} (on inputs of shapes {shapes})") from None
        results.append(as_array(out, f"what `{name}` returns for inputs of shapes {shapes}", shape_of(*args)))
    return {f"out{i}": r for i, r in enumerate(results)}


def text_array(message, limit=2000):
    """A message as float64 character codes, since records hold numbers only (``Record.text`` reads it)."""
    return np.frombuffer(str(message)[:limit].encode("utf-8", "replace"), dtype=np.uint8).astype(np.float64)


def run_probes(ns, record_dir, probes_to_run, timeout=None, notes=()):
    """Run each probe on the namespace and write its record (question.npz) or its error for the student
    (question.error.txt) into record_dir. A probe gets `timeout` seconds (config.PROBE_TIMEOUT); notes
    are added to every error (what went wrong before the probes ran)."""
    import os
    import signal

    from .config import PROBE_TIMEOUT

    limit = [0]

    def too_slow(signum, frame):
        raise ProbeError(f"took longer than {limit[0]:g} s on the hidden inputs")

    def write_error(question, message):
        if notes:
            message += " (Before that, while defining your functions from your code: " + "; ".join(notes[:3]) + ".)"
        with open(os.path.join(record_dir, f"{question}.error.txt"), "w", encoding="utf-8") as f:
            f.write(message)

    signal.signal(signal.SIGALRM, too_slow)
    reads = {}
    for question, fn in probes_to_run.items():
        limit[0] = timeout or getattr(fn, "seconds", None) or PROBE_TIMEOUT
        signal.setitimer(signal.ITIMER_REAL, limit[0], limit[0])  # (again and again, if it is caught)
        seen = reads[question] = Reading(ns)
        try:
            np.savez(os.path.join(record_dir, f"{question}.npz"), **fn(seen))
        except ProbeError as e:
            write_error(question, str(e))
        except Exception as e:
            write_error(question, f"{type(e).__name__}: {e}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    with open(os.path.join(record_dir, READS_FILE), "w", encoding="utf-8") as f:
        json.dump({question: sorted(seen.names) for question, seen in reads.items()}, f)


READS_FILE = "reads.json"  # {question: [the notebook names its probe read]}: failed cells that define them are named


class Reading(dict):
    """The notebook's namespace as a probe sees it: reads go through to it, and their names are noted,
    so that a failed question can name the failed cell that should have defined what it read."""

    def __init__(self, ns):
        super().__init__()
        self.ns, self.names = ns, set()

    def __contains__(self, name):
        self.names.add(name)
        return name in self.ns

    def __getitem__(self, name):
        self.names.add(name)
        return self.ns[name]

    def get(self, name, default=None):
        self.names.add(name)
        return self.ns.get(name, default)

    def __setitem__(self, name, value):
        self.ns[name] = value

    def update(self, *args, **kwargs):
        self.ns.update(*args, **kwargs)

    def values(self):
        return self.ns.values()
