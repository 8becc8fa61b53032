"""Grading without the walls: the same probes and checks as a real grade, run without otter, intake and
the sandbox (the judge in a bare Python of its own), so that a change to a probe or a check is tested in
seconds. What the walls add (sandbox, otter, Gradescope's files) is the end-to-end suite's job.

Two ways in:

- ``Grader`` (the fast layer) runs a notebook's code cells once in a namespace of this process (the
  base); ``verdicts(nb)`` then runs only the cells of nb that differ from the base's, records every
  answer as the student room and the judge would, and returns the clean room's verdicts.
- ``Whole`` runs whole notebooks written by others (test_independent.py), each from scratch in a process
  of its own, forked from one that has already imported torch and the grader (multiprocessing's
  forkserver): the student room's cells, seeding and recording, in Jupyter's shell without a kernel process.
"""

import ctypes
import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

import nbformat
import numpy as np
from IPython.core.inputtransformer2 import TransformerManager

from hw1grader import checking, fmnist, inputs, probing, sandbox
from hw1grader.config import HIDDEN_INPUT_SEED, NOTEBOOK_TIMEOUT
from hw1grader.definitions import needed
from hw1grader.judge import CELLS_FILE
from hw1grader.problems.p5 import inputs as p5_inputs
from hw1grader.problems.p5.probes import JUDGED_FROM

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 42  # the master's generate.seed: otter seeds NumPy and random with it before every cell


def code_cells(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


def runnable(source):
    """Whether the fast layer runs a cell: not the grader's set-up, checks and export (otter's business),
    nor a cell that only draws (it defines no function; Problem 5's training run is one)."""
    draws_only = "plt.show()" in source and "\ndef " not in "\n" + source
    return not re.search(r"\bgrader\.", source) and "import otter" not in source and not draws_only


class Grader:
    def __init__(self, base_nb, workdir):
        self.workdir = workdir
        shutil.copytree(os.path.join(REPO, "student_release", "data"), os.path.join(workdir, "data"), dirs_exist_ok=True)
        fmnist.seed_for_notebook(workdir)
        self.transform = TransformerManager().transform_cell
        self.base_cells = code_cells(base_nb)
        self.base = self.run({"__name__": "__main__"}, [c for c in self.base_cells if runnable(c)])
        self.judged = {}  # judge records, by the submitted definitions they were made from
        probing.probes(), checking.checks()  # every grader module imported, so that verdicts() can restore them

    def run(self, ns, cells):
        """Execute cells in ns as otter would (seeded, errors kept to the cell); returns ns."""
        import matplotlib

        matplotlib.use("Agg")
        cwd = os.getcwd()
        os.chdir(self.workdir)
        try:
            for source in cells:
                np.random.seed(SEED)
                random.seed(SEED)
                try:
                    exec(compile(self.transform(source), "<cell>", "exec"), ns)
                except Exception:
                    pass
        finally:
            os.chdir(cwd)
        return ns

    def verdicts(self, nb):
        """{question: Verdict} for the notebook nb."""
        cells = code_cells(nb)
        changed = [c for i, c in enumerate(cells) if runnable(c) and (i >= len(self.base_cells) or c != self.base_cells[i])]
        # a submission may change the grader's modules in its kernel: each gets them fresh, as in a grade
        saved = {name: dict(vars(module)) for name, module in list(sys.modules.items()) if name.startswith("hw1grader")}
        try:
            return self.graded(cells, self.run(dict(self.base), changed))
        finally:
            for name, contents in saved.items():
                vars(sys.modules[name]).clear()
                vars(sys.modules[name]).update(contents)

    def graded(self, cells, ns):
        # the hidden inputs of a grade of these cells (the seed the grader would derive)
        self.hidden_seed = inputs.seed_for(cells, HIDDEN_INPUT_SEED)
        inputs.use_seed(self.hidden_seed)
        with tempfile.TemporaryDirectory(prefix="hw1-fast-") as record_dir:
            cwd = os.getcwd()
            os.chdir(self.workdir)
            try:
                probing.run_probes(ns, record_dir, probing.probes("kernel"))
            finally:
                os.chdir(cwd)
            key = f"{self.hidden_seed}\n" + "\n".join(s.source for s in needed(cells, JUDGED_FROM)[0])
            if key not in self.judged:  # shared by notebooks with the same definitions
                self.judged[key] = judge(cells, self.hidden_seed, tempfile.mkdtemp(prefix="judge-", dir=self.workdir))
            return clean_room(cells, record_dir, self.judged[key])


def judge(cells, hidden_seed, folder):
    """The judge's record for these code cells, made in folder: its main() in a bare Python (no site
    packages, its own packages only), as in the walls but without them."""
    os.makedirs(os.path.join(folder, "record"))
    with open(os.path.join(folder, CELLS_FILE), "w") as f:
        json.dump(cells, f)
    images, labels = p5_inputs.pick_training_subset(fmnist.read_checked("train-images-idx3-ubyte"),
                                                     fmnist.read_checked("train-labels-idx1-ubyte"))
    np.savez(os.path.join(folder, p5_inputs.TRAINING_FILE), images=images, labels=labels)
    library = os.path.join(REPO, "autograder")
    bootstrap = (f"import sys; sys.path[:0] = [{library!r}, {bare_site()!r}]; "
                 "from hw1grader.judge import main; sys.exit(main())")
    subprocess.run([sandbox.judge_python(), "-I", "-S", "-c", bootstrap, os.path.join(folder, "record")],
                   cwd=folder, check=False, capture_output=True,
                   env={"OPENBLAS_NUM_THREADS": "1", inputs.ENV: str(hidden_seed)})
    return os.path.join(folder, "record")


def clean_room(cells, record_dir, judge_dir):
    """{question: Verdict}: the clean room's, from the records (the hidden inputs drawn from this process's seed)."""
    context = checking.Context(os.path.join(REPO, "assignment"), cells)
    registry = checking.checks()
    return {q: checking.decide(q, judge_dir if q in probing.probes("judge") else record_dir, context, registry)
            for q in registry}


class Whole:
    """Whole notebooks graded from scratch, each in a child process (see the module's docstring). The
    child runs what the student room runs (student_room.SETUP_CELL, the cells seeded as otter seeds them,
    a cell that raises not stopping the rest, then student_room.record) in ipykernel's in-process
    shell, so that magics behave as in Jupyter; the judge and the clean room then decide. What is left
    out: the kernel, otter, intake and the walls, and the room's time and memory limits (a notebook
    that takes more than `seconds` fails its test)."""

    PRELOAD = ["numpy", "torch", "torchvision", "matplotlib", "otter", "ipykernel.inprocess.manager", "inprocess",
               "warm_whole"]

    def __init__(self, tests_dir, workdir, seconds=NOTEBOOK_TIMEOUT):
        self.tests_dir, self.workdir, self.seconds = tests_dir, workdir, seconds
        # FashionMNIST where the homework's code looks, seeded once (a grade seeds every room's) and copied
        self.fashion_mnist = os.path.join(workdir, "seeded")
        os.makedirs(self.fashion_mnist)
        fmnist.seed_for_notebook(self.fashion_mnist)
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(self.PRELOAD)

    def verdicts(self, path):
        """{question: Verdict} for the notebook file at path."""
        folder = tempfile.mkdtemp(prefix="whole-", dir=self.workdir)
        child = self.context.Process(target=run_whole, args=(os.path.abspath(path), folder, self.tests_dir,
                                                             self.fashion_mnist))
        child.start()
        child.join(self.seconds)
        if child.is_alive():
            child.kill()
            child.join()
        verdicts = os.path.join(folder, "verdicts.json")
        assert os.path.exists(verdicts), f"the notebook's run ended without verdicts (exit code {child.exitcode}); " \
                                         f"the end of its output:\n{tail(os.path.join(folder, 'output.txt'))}"
        with open(verdicts) as f:
            return {q: checking.Verdict(**v) for q, v in json.load(f).items()}


def run_whole(path, folder, tests_dir, fashion_mnist):
    """In Whole's child: prepare folder as a grade prepares the room's (the release's data, the zip's
    tests/, a copy of the seeded FashionMNIST where the notebook looks), run the judge, then the notebook
    and the record; write the clean room's verdicts to folder/verdicts.json and what it printed to
    folder/output.txt."""
    from hw1grader import student_room
    from ipykernel.inprocess.manager import InProcessKernelManager

    with open(os.path.join(folder, "output.txt"), "wb") as output:
        os.dup2(output.fileno(), 1)
        os.dup2(output.fileno(), 2)
    offline()
    os.environ["MPLBACKEND"] = "Agg"  # as in the room: no figure is rendered
    work, record_dir = os.path.join(folder, "work"), os.path.join(folder, "record")
    shutil.copytree(os.path.join(REPO, "student_release", "data"), os.path.join(work, "data"))
    shutil.copytree(tests_dir, os.path.join(work, "tests"))
    shutil.copytree(os.path.join(fashion_mnist, fmnist.NOTEBOOK_ROOT), os.path.join(work, fmnist.NOTEBOOK_ROOT))
    os.makedirs(record_dir)
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    hidden_seed = inputs.seed_for(cells, HIDDEN_INPUT_SEED)
    inputs.use_seed(hidden_seed)
    os.environ[inputs.ENV] = str(hidden_seed)
    judge_dir = judge(cells, hidden_seed, os.path.join(folder, "judge"))  # first, as in a grade
    os.chdir(work)
    kernel = InProcessKernelManager()  # Jupyter's own shell (magics, `%matplotlib inline`), in this process
    kernel.start_kernel()
    shell = kernel.kernel.shell
    for source in [student_room.SETUP_CELL, *student_room.student_cells(path, SEED)]:
        shell.run_cell(source, silent=True)
    student_room.record(shell.user_ns, record_dir)
    verdicts = clean_room(cells, record_dir, judge_dir)
    with open(os.path.join(folder, "verdicts.json"), "w") as f:
        json.dump({q: {"passed": v.passed, "message": v.message} for q, v in verdicts.items()}, f)


def offline():
    """Nothing this process runs reaches the network (the notebooks' `%pip install` lines included): a
    network namespace of its own where we may make one (as root), and pip never looks at an index."""
    os.environ["PIP_NO_INDEX"] = "1"
    libc = ctypes.CDLL(None, use_errno=True)
    libc.unshare(0x40000000)  # CLONE_NEWNET; refused unless root, and then PIP_NO_INDEX holds pip back


def tail(path, limit=3000):
    try:
        with open(path, "rb") as f:
            return f.read()[-limit:].decode("utf-8", errors="replace")
    except OSError:
        return "(none)"


def bare_site():
    """A folder holding only the judge's packages, as the judge's walls give it (sandbox.judge_site)."""
    return sandbox.judge_site()
