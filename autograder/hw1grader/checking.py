"""The clean room's side of every question: what a check is, and the helpers checks share.

A check decides one question from the plain numbers the student room recorded: it never imports or
runs student code. Records are read with ``numpy.load(allow_pickle=False)``, without following links,
and only through ``Record.get``, which insists on the exact shape and on finite numbers (nan and inf
are never right). Each problem's ``checks.py`` defines its checks with ``@check("question")``;
``checks()`` collects them from the problems of ``problems.PROBLEMS``. Messages tell the student what
went wrong without giving an expected value or a hidden input away.
"""

import logging
import os
import stat
import traceback
import zipfile
from dataclasses import dataclass

import numpy as np

from . import problems
from .config import ATOL, RTOL

log = logging.getLogger("hw1grader")

MAX_RECORD_BYTES = 256 << 20  # one question's record, uncompressed (the largest honest one is ~10 MB)
MAX_RECORD_ARRAYS = 4096


@dataclass
class Context:
    """What a check may consult besides the record: nothing the student's process could have changed."""

    support_dir: str  # the autograder's own copy of the assignment's files (data/...)
    code_cells: list  # the submission's code cells, read before the notebook ran


@dataclass
class Verdict:
    passed: bool
    message: str


class Unusable(Exception):
    """A recorded answer that cannot be right (missing, of another shape, not finite); the message says
    which, for the student."""


class Record:
    """The arrays one probe recorded. ``get`` hands out one at a time, checked."""

    def __init__(self, arrays):
        self._arrays = dict(arrays)

    def __contains__(self, key):
        return key in self._arrays

    def keys(self):
        return self._arrays.keys()

    def get(self, key, shape=None, what=None, finite=True):
        """The array `key`, of exactly `shape` (None: any) and, unless finite=False, of finite numbers;
        Unusable otherwise, naming it as `what`."""
        what = what or f"`{key}`"
        if key not in self._arrays:
            raise Unusable(f"{what} was not recorded.")
        array = self._arrays[key]
        if shape is not None and array.shape != tuple(shape):
            raise Unusable(f"{what} has shape {array.shape}, not {tuple(shape)}.")
        if finite and not np.all(np.isfinite(array)):
            raise Unusable(f"{what} holds nan or inf, which is never a right answer here.")
        return array

    def text(self, key, limit=2000):
        """A message the probe recorded with ``probing.text_array``, or '' when there is none."""
        if key not in self._arrays:
            return ""
        codes = self._arrays[key].ravel()[:limit]
        codes = codes[np.isfinite(codes)]
        return bytes(np.clip(codes, 0, 255).astype(np.uint8)).decode("utf-8", "replace")


def check(question):
    """Mark a function of a problem's checks.py as the check of `question`."""
    def mark(fn):
        fn.question = question
        return fn

    return mark


def checks(problem_names=None):
    """{question: check} of the listed problems (all by default), in the order of the homework."""
    found = {}
    for module in problems.modules("checks", problem_names):
        for fn in vars(module).values():
            if callable(fn) and isinstance(getattr(fn, "question", None), str) and fn.__module__ == module.__name__:
                found[fn.question] = fn
    return found


def close(got, expected):
    """Whether got has expected's shape and values (to RTOL/ATOL); nan and inf are never close."""
    got, expected = np.asarray(got), np.asarray(expected)
    return (got.shape == expected.shape and bool(np.all(np.isfinite(got)))
            and bool(np.allclose(got, expected, rtol=RTOL, atol=ATOL)))


def compare_outputs(data, expected, name, label, describe):
    """Verdict on out0..outN against the expected values, naming the inputs that failed by their shapes
    (`label` = describe(i), e.g. "n, d = (6, 1)")."""
    wrong = [describe(i) for i, e in enumerate(expected)
             if f"out{i}" not in data or not close(data.get(f"out{i}", finite=False), e)]
    if wrong:
        return Verdict(False, f"`{name}` returns wrong values on {len(wrong)} of {len(expected)} hidden inputs "
                              f"({label} = {', '.join(wrong)}).")
    return Verdict(True, f"`{name}` is right on all {len(expected)} hidden inputs.")


def open_record(path):
    """A file the student room wrote, opened for reading only if it is a regular file: a symbolic link
    there could point the clean room at a file the student room could not read itself."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{os.path.basename(path)} is not a regular file")
    return os.fdopen(fd, "rb")


HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def load_record(path):
    """The arrays one probe recorded, as a Record; ValueError for anything that is not plain float64
    arrays within the size limits. Each array is read from the very zip member whose header was checked
    (every member a distinct `name.npy`), and sizes are checked from the headers before any array is
    loaded (a small npz can inflate to gigabytes)."""
    arrays = {}
    with open_record(path) as f, zipfile.ZipFile(f) as zf:
        entries = zf.infolist()
        names = [entry.filename for entry in entries]
        if len(entries) > MAX_RECORD_ARRAYS or sum(e.file_size for e in entries) > MAX_RECORD_BYTES:
            raise ValueError("the recorded answer is too large")
        if len(set(names)) != len(names) or not all(name.endswith(".npy") for name in names):
            raise ValueError("the recorded answer is not plain arrays")
        for entry in entries:
            with zf.open(entry) as member:
                read_header = HEADER_READERS.get(np.lib.format.read_magic(member))
                if read_header is None:
                    raise ValueError("the recorded answer is not a plain array")
                shape, _, dtype = read_header(member)
            if dtype != np.float64 or 8 * int(np.prod(shape, dtype=np.int64)) > MAX_RECORD_BYTES:
                raise ValueError("the recorded answer is not plain numbers")
            with zf.open(entry) as member:
                array = np.lib.format.read_array(member, allow_pickle=False)
            if array.dtype != np.float64 or array.shape != tuple(shape):
                raise ValueError("the recorded answer is not plain numbers")
            arrays[entry.filename[:-len(".npy")]] = array
    if sum(a.nbytes for a in arrays.values()) > MAX_RECORD_BYTES:
        raise ValueError("the recorded answer is too large")
    return Record(arrays)


def decide(question, record_dir, ctx, registry=None):
    """The clean room's verdict on one question, from the student room's record in record_dir. A check
    that fails on its own (a bug, not the student's answer) logs its traceback for the instructor; the
    student reads one sentence."""
    error_path = os.path.join(record_dir, f"{question}.error.txt")
    data_path = os.path.join(record_dir, f"{question}.npz")
    if os.path.lexists(error_path):
        try:
            with open_record(error_path) as f:
                return Verdict(False, f.read(2000).decode("utf-8", errors="replace"))
        except OSError:
            return Verdict(False, "The answer could not be recorded.")
    if not os.path.lexists(data_path):
        return Verdict(False, "No answer was recorded: the notebook did not reach the end (see the output above).")
    try:
        data = load_record(data_path)
    except Exception as e:  # the room wrote it: whatever it is, it is not a readable answer
        return Verdict(False, f"The recorded answer could not be read ({type(e).__name__}).")
    check_fn = (registry or checks())[question]
    try:
        return check_fn(data, ctx)
    except Unusable as e:
        return Verdict(False, str(e))
    except Exception as e:
        log.error("the check of %s failed:\n%s", question, traceback.format_exc())
        return Verdict(False, f"Your answer could not be checked: the autograder failed on it ({type(e).__name__}). "
                              "Tell the course staff; they can see why.")
