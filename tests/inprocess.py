"""Grading without the walls, for the fast layer: the same probes and checks as a real grade, run in this
process (the judge in a bare Python of its own), so that a change to a probe or a check is tested in
seconds. What the walls add (sandbox, otter, Gradescope's files) is the end-to-end suite's job.

``Grader`` runs a notebook's code cells once in a namespace of this process (the base); ``verdicts(nb)``
then runs only the cells of nb that differ from the base's, records every answer as the student room
and the judge would, and returns the clean room's verdicts.
"""

import json
import os
import random
import re
import sys
import shutil
import subprocess
import tempfile

import numpy as np
from IPython.core.inputtransformer2 import TransformerManager

from hw1grader import checking, fmnist, inputs, probing, sandbox
from hw1grader.config import HIDDEN_INPUT_SEED
from hw1grader.judge import CELLS_FILE
from hw1grader.problems.p5 import inputs as p5_inputs

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
            judge_dir = self.judge(cells)
            context = checking.Context(os.path.join(REPO, "assignment"), cells)
            registry = checking.checks()
            return {q: checking.decide(q, judge_dir if q in probing.probes("judge") else record_dir, context, registry)
                    for q in registry}

    def judge(self, cells):
        """The judge's record for these code cells: its main() in a bare Python (no site packages, its own
        packages only), as in the walls but without them; shared by notebooks with the same definitions."""
        from hw1grader.definitions import needed
        from hw1grader.problems.p5.probes import JUDGED_FROM

        key = f"{self.hidden_seed}\n" + "\n".join(s.source for s in needed(cells, JUDGED_FROM)[0])
        if key not in self.judged:
            folder = tempfile.mkdtemp(prefix="judge-", dir=self.workdir)
            os.makedirs(os.path.join(folder, "record"))
            with open(os.path.join(folder, CELLS_FILE), "w") as f:
                json.dump(cells, f)
            images, labels = p5_inputs.pick_training_subset(fmnist.read_checked("train-images-idx3-ubyte"),
                                                             fmnist.read_checked("train-labels-idx1-ubyte"))
            np.savez(os.path.join(folder, p5_inputs.TRAINING_FILE), images=images, labels=labels)
            library = os.path.join(REPO, "autograder")
            site = bare_site()
            bootstrap = (f"import sys; sys.path[:0] = [{library!r}, {site!r}]; "
                         "from hw1grader.judge import main; sys.exit(main())")
            subprocess.run([sandbox.judge_python(), "-I", "-S", "-c", bootstrap, os.path.join(folder, "record")],
                           cwd=folder, check=False, capture_output=True,
                           env={"OPENBLAS_NUM_THREADS": "1", inputs.ENV: str(self.hidden_seed)})
            self.judged[key] = os.path.join(folder, "record")
        return self.judged[key]


def bare_site():
    """A folder holding only the judge's packages, as the judge's walls give it (sandbox.judge_site)."""
    return sandbox.judge_site()
