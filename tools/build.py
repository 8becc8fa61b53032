"""Build every release from the master notebook: the instructor's `make release`.

    python tools/build.py [--out DIR] [--no-execute]

1. ``otter assign assignment/hw1.ipynb`` into a scratch folder;
2. ``student_release/``: the student notebook (solutions stripped, public tests only) and its data;
3. ``autograder/hw1-autograder.zip``: otter's zip rewritten under a stable name, byte for byte the same
   on every build (sorted entries, fixed timestamps), with the ``hw1grader`` package added;
4. ``solutions/hw1.ipynb``: the reference notebook with every test, executed, outputs kept;
5. ``solutions/hw1-solutions.pdf``: that notebook rendered for reading (written answers typeset, plots),
   by otter's LaTeX exporter (xelatex), byte for byte the same for the same notebook.

Steps 4 and 5 run only when what they are made from changed (``SOLUTION_SOURCES``: the master, its data,
the grader package, this file, the pinned packages): the executed notebook keeps a digest of those files
in its metadata (``STAMP_KEY``), and while it matches, solutions/ is left as it is, so that ``make
release`` on an unchanged checkout changes nothing (``--force`` executes anyway). What is executed is
made as deterministic as it can be (``KERNEL_SETUP``): otter's emoji in ``grader.check`` outputs come
from a seeded generator, otter's export names its zip after a fixed date, the global generators
(NumPy's, Python's, torch's) and string hashing are seeded in the kernel, and the kernel gets the
threads it gets when graded.

With ``--out DIR`` everything goes under DIR instead of the repository (the tests build this way and
compare with what is committed).
"""

import argparse
import copy
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from unittest import mock

import nbformat
from nbclient import NotebookClient

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MASTER = os.path.join(REPO, "assignment", "hw1.ipynb")
GRADER_PACKAGE = os.path.join(REPO, "autograder", "hw1grader")
ZIP_NAME = "hw1-autograder.zip"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: builds differ in nothing but content
EXECUTABLE = {"run_autograder", "setup.sh"}
# files of autograder/ that replace otter's own in the zip: our entry point and the lean image
ZIP_OVERRIDES = ("run_otter.py", "run_autograder", "setup.sh", "requirements.txt")
ZIP_DROPPED = ("environment.yml",)  # otter's conda environment: setup.sh does not use it
FMNIST_IN_ZIP = "fashion-mnist/"  # the original .gz files, installed by setup.sh
SOLUTIONS_PDF = "hw1-solutions.pdf"
PLUGIN = "hw1grader.plugin.CleanRoom"
# Cells of the reference that are for students' use, not for reading: left out of the solutions PDF.
PDF_LEFT_OUT = {"code": ("otter.Notebook(", "grader.check(", "grader.export("),
                "markdown": ("_Type your answer here, replacing this text._",
                             "Make sure you have run all cells in your notebook in order before running the cell below")}

# What the executed solutions and their PDF are made from (globs, relative to the repository).
SOLUTION_SOURCES = ("assignment/hw1.ipynb", "assignment/data/*", "autograder/hw1grader/**/*.py", "tools/build.py",
                    "requirements.txt")
STAMP_KEY = "hw1_built_from"  # in solutions/hw1.ipynb's metadata: {source: sha256} of SOLUTION_SOURCES
# Run in the reference's kernel before its first cell, so that executing it again gives the same outputs:
# otter's emoji in each grader.check output comes from a generator of its own, seeded (the global one is
# also drawn from by the kernel's machinery, unevenly); otter's export (the last cell) names its zip after
# the clock, so otter's clock is fixed; the global generators that cells draw from without seeding are
# seeded (NumPy's: the test images a plot picks; Python's, torch's).
KERNEL_SETUP = (
    "import random as _hw1_random, otter.test_files.abstract_test as _hw1_tests",
    "_hw1_tests.random = _hw1_random.Random(0)",
    "import datetime as _hw1_dt, otter.check.notebook as _hw1_nb",
    "_hw1_nb.dt = type('dt', (), {'datetime': type('datetime', (_hw1_dt.datetime,), {'now': classmethod("
    "lambda cls, tz=None, _dt=_hw1_dt.datetime: _dt(2023, 9, 29, 17, 0, tzinfo=tz))}), 'timezone': _hw1_dt.timezone})",
    "import numpy as _hw1_np, torch as _hw1_torch",
    "_hw1_random.seed(0); _hw1_np.random.seed(0); _hw1_torch.manual_seed(0)",
    "del _hw1_dt, _hw1_nb, _hw1_random, _hw1_np, _hw1_torch, _hw1_tests",
)

sys.path.insert(0, os.path.join(REPO, "autograder"))
from hw1grader import fmnist  # noqa: E402
from hw1grader.config import thread_env  # noqa: E402


def otter_assign(scratch, master):
    """Run otter assign on the master; returns (student folder, autograder folder)."""
    dist = os.path.join(scratch, "dist")
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "otter"), "assign", master, dist],
                   check=True, cwd=os.path.dirname(master))
    return os.path.join(dist, "student"), os.path.join(dist, "autograder")


def replace_dir(src, dest):
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest)


def hand_graded_points(master):
    """The points of the master's questions graded by hand (manual: true), which the results page mentions."""
    import yaml

    nb = nbformat.read(master, as_version=4)
    configs = [yaml.safe_load(c.source.split("\n", 1)[1]) for c in nb.cells
               if c.cell_type == "raw" and c.source.startswith("# BEGIN QUESTION")]
    return sum(c.get("points", 0) for c in configs if c.get("manual"))


def write_zip(otter_zip, dest, master=MASTER):
    """otter's zip plus hw1grader, rewritten so that equal contents give equal bytes; the plugin's entry
    of otter_config.json gets the master's hand-graded points."""
    entries = {}
    with zipfile.ZipFile(otter_zip) as zf:
        for name in zf.namelist():
            if name not in ZIP_DROPPED:
                entries[name] = zf.read(name)
    config = json.loads(entries["otter_config.json"])
    config["plugins"] = [{plugin: {"hand_graded_points": hand_graded_points(master)}} if plugin == PLUGIN else plugin
                         for plugin in config["plugins"]]
    entries["otter_config.json"] = json.dumps(config, indent=4, sort_keys=True).encode()
    for path in sorted(glob.glob(os.path.join(GRADER_PACKAGE, "**", "*.py"), recursive=True)):
        with open(path, "rb") as f:
            entries["hw1grader/" + os.path.relpath(path, GRADER_PACKAGE)] = f.read()
    for name in ZIP_OVERRIDES:  # our entry point instead of otter's
        with open(os.path.join(REPO, "autograder", name), "rb") as f:
            entries[name] = f.read()
    source = fmnist.source_dir()
    for name in fmnist.EXTRACTED_SHA256:
        with open(os.path.join(source, name + ".gz"), "rb") as f:
            entries[FMNIST_IN_ZIP + name + ".gz"] = f.read()
    with zipfile.ZipFile(dest, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.external_attr = (0o755 if name in EXECUTABLE else 0o644) << 16
            # the data is gzip-compressed already
            info.compress_type = zipfile.ZIP_STORED if name.startswith(FMNIST_IN_ZIP) else zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name])


def execute(notebook_path, workdir):
    """Execute a notebook in workdir (with its data and FashionMNIST beside it), in place.

    Its grader.check cells run the public tests only, as a student's would: the hidden tests are decided
    by the clean room when grading (their code means nothing in a kernel), so they are taken out of the
    notebook's metadata while it runs and put back after."""
    fmnist.seed_for_notebook(workdir)
    os.environ.update(thread_env())  # the kernel runs with the threads it gets when graded
    os.environ["PYTHONHASHSEED"] = "0"
    nb = nbformat.read(notebook_path, as_version=4)
    all_tests = copy.deepcopy(nb.metadata.otter.tests)
    for test in nb.metadata.otter.tests.values():
        for suite in test["suites"]:
            suite["cases"] = [case for case in suite["cases"] if not case["hidden"]]
    nbformat.write(nb, notebook_path)
    NotebookClient(nb, timeout=1200, kernel_name="python3", record_timing=False,
                   extra_arguments=[f"--IPKernelApp.exec_lines={line}" for line in KERNEL_SETUP],
                   resources={"metadata": {"path": workdir}}).execute()
    nb.metadata.otter.tests = all_tests
    nbformat.write(nb, notebook_path)


DATASETS_LINE = "DATASETS = {}"


def put_datasets(notebook_path, data_dir):
    """The set-up cell's DATASETS, filled with the files of data_dir (the notebook then writes them where
    they are missing, as on Colab): the CSV files stay the one source of the datasets."""
    nb = nbformat.read(notebook_path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and DATASETS_LINE in c.source)
    files = {f"data/{name}": open(os.path.join(data_dir, name)).read() for name in sorted(os.listdir(data_dir))}
    literal = "DATASETS = {\n" + "".join(f"    {path!r}: {text!r},\n" for path, text in files.items()) + "}"
    cell.source = re.sub(re.escape(DATASETS_LINE) + r"[^\n]*", lambda m: literal, cell.source, count=1)
    nbformat.write(nb, notebook_path)


def for_reading(source):
    """A code cell of the reference without otter's solution markers and the students' prompt."""
    lines, in_prompt = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker.endswith(("# BEGIN PROMPT", "# END PROMPT")):
            in_prompt = marker.endswith("# BEGIN PROMPT")
        elif not in_prompt and not re.fullmatch(r"# (BEGIN|END) SOLUTION( NO PROMPT)?", marker):
            lines.append(re.sub(r"\s*# SOLUTION$", "", line))
    return "\n".join(lines)


def render_pdf(notebook_path, pdf_path):
    """The executed reference as a PDF for reading, without the cells of PDF_LEFT_OUT."""
    from otter.export import export_notebook

    nb = nbformat.read(notebook_path, as_version=4)
    nb.cells = [c for c in nb.cells if not any(marker in c.source for marker in PDF_LEFT_OUT.get(c.cell_type, ()))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = for_reading(cell.source)
    with tempfile.TemporaryDirectory(prefix="hw1-pdf-") as scratch:
        source = os.path.join(scratch, "hw1-solutions.ipynb")
        nbformat.write(nb, source)
        # a fixed date in the PDF, so that the same notebook gives the same bytes
        with mock.patch.dict(os.environ, SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1"):
            export_notebook(source, dest=os.path.join(scratch, SOLUTIONS_PDF), exporter_type="latex", filtering=False)
        shutil.copy(os.path.join(scratch, SOLUTIONS_PDF), pdf_path)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def solution_sources(repo=REPO):
    """{path relative to repo: sha256} of every file the executed solutions are made from."""
    files = {f for pattern in SOLUTION_SOURCES for f in glob.glob(os.path.join(repo, pattern), recursive=True)
             if os.path.isfile(f) and "__pycache__" not in f}
    return {os.path.relpath(f, repo): sha256(f) for f in sorted(files)}


def solutions_current(out, repo=REPO):
    """Whether out/solutions (notebook and PDF) were made from repo's current sources."""
    notebook = os.path.join(out, "solutions", "hw1.ipynb")
    if not (os.path.isfile(notebook) and os.path.isfile(os.path.join(out, "solutions", SOLUTIONS_PDF))):
        return False
    return nbformat.read(notebook, as_version=4).metadata.get(STAMP_KEY) == solution_sources(repo)


def build(out, run_solutions=True, zip_only=False, master=MASTER, force=False):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hw1-build-") as scratch:
        student, autograder = otter_assign(scratch, master)
        os.makedirs(os.path.join(out, "autograder"), exist_ok=True)
        (otter_zip,) = glob.glob(os.path.join(autograder, "*.zip"))
        write_zip(otter_zip, os.path.join(out, "autograder", ZIP_NAME), master)
        if zip_only:
            return

        for notebook in (os.path.join(student, "hw1.ipynb"), os.path.join(autograder, "hw1.ipynb")):
            put_datasets(notebook, os.path.join(os.path.dirname(master), "data"))
        replace_dir(student, os.path.join(out, "student_release"))

        solution = os.path.join(out, "solutions", "hw1.ipynb")
        os.makedirs(os.path.dirname(solution), exist_ok=True)
        if not run_solutions:
            shutil.copy(os.path.join(autograder, "hw1.ipynb"), solution)
        elif master == MASTER and not force and solutions_current(out):
            print("solutions/ were made from the current sources: not executed again (--force to)", file=sys.stderr)
        else:
            # execute beside the data files, as a student would, then keep only the notebook, with the
            # digest of what it was made from
            execute(os.path.join(autograder, "hw1.ipynb"), autograder)
            nb = nbformat.read(os.path.join(autograder, "hw1.ipynb"), as_version=4)
            if master == MASTER:
                nb.metadata[STAMP_KEY] = solution_sources()
            nbformat.write(nb, solution)
            render_pdf(solution, os.path.join(out, "solutions", SOLUTIONS_PDF))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=REPO, help="where to write the releases (default: the repository)")
    parser.add_argument("--no-execute", action="store_true", help="copy the solutions notebook without running it")
    parser.add_argument("--zip-only", action="store_true", help="build only the autograder zip")
    parser.add_argument("--master", default=MASTER, help="the master notebook (default: assignment/hw1.ipynb)")
    parser.add_argument("--force", action="store_true", help="execute the solutions even if their sources did not change")
    args = parser.parse_args(argv)
    build(os.path.abspath(args.out), run_solutions=not args.no_execute, zip_only=args.zip_only,
          master=os.path.abspath(args.master), force=args.force)


if __name__ == "__main__":
    main()
