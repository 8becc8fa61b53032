"""The student's side, in a real kernel: the released notebook runs top to bottom, grader.check teaches
without telling, and grader.export() makes the zip and the PDF of the written answers, offline."""

import ast
import glob
import json
import re
import shutil
import subprocess
import zipfile

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient

import submissions
from catalogue_p4 import TRAINING_LOOP
from conftest import REPO
from hw1grader import fmnist
from hw1grader.config import thread_env
from test_release import SOLUTION_TAG, solution_lines

CHECK = re.compile(r'grader\.check\("(\w+)"\)')
# Problem 4 trained for 2 epochs, the fewest its public tests allow: what is tested here is that the
# release runs and teaches, not how well the network learns (the grading tests train it fully)
SHORT_TRAINING = {"n_epochs": TRAINING_LOOP.format(optimizer="torch.optim.Adam(model.parameters(), lr=1e-3)", n_epochs=2)}


def run_release(built, folder, nb):
    """Execute nb as hw1.ipynb in folder, beside the release's data, as a student's Jupyter would."""
    shutil.copytree(built / "student_release" / "data", folder / "data")
    fmnist.seed_for_notebook(str(folder))  # what the homework's download=True finds (offline)
    nbformat.write(nb, folder / "hw1.ipynb")
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(folder)}})
    with pytest.MonkeyPatch.context() as env:
        for k, v in thread_env().items():
            env.setenv(k, v)
        client.execute()
    return nb


def text_of(cell):
    parts = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type == "error":
            parts.append(f"{o.ename}: {o.evalue}")
        else:
            parts.append(o.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def checks(nb):
    """{question: what its grader.check cell printed}"""
    return {CHECK.search(c.source).group(1): text_of(c) for c in nb.cells
            if c.cell_type == "code" and CHECK.search(c.source)}


def assert_messages(code):
    """The fixed text (12 characters or more) of the messages of a test's asserts (and of the
    AssertionErrors it raises itself)."""
    source = "\n".join(l[4:] for l in code.splitlines() if l.startswith((">>> ", "... ")))  # otter's doctest form
    found = []
    for node in ast.walk(ast.parse(source)):
        message = None
        if isinstance(node, ast.Assert):
            message = node.msg
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and getattr(node.exc.func, "id", "") == "AssertionError":
            message = node.exc.args[0] if node.exc.args else None
        if message is not None:
            parts = message.values if isinstance(message, ast.JoinedStr) else [message]
            found += [p.value for p in parts if isinstance(p, ast.Constant) and len(str(p.value)) >= 12]
    return found


@pytest.fixture(scope="module")
def filled(built, tmp_path_factory):
    """The release filled in with the reference's answers, run (its tests are in one xdist group: one run)."""
    folder = tmp_path_factory.mktemp("filled")
    nb = submissions.make(built / "student_release" / "hw1.ipynb", f"{REPO}/solutions/hw1.ipynb", SHORT_TRAINING)
    return folder, run_release(built, folder, nb)


@pytest.fixture(scope="module")
def blank(built, tmp_path_factory):
    folder = tmp_path_factory.mktemp("blank")
    return run_release(built, folder, nbformat.read(built / "student_release" / "hw1.ipynb", as_version=4))


@pytest.mark.slow
@pytest.mark.xdist_group("filled_notebook")
def test_filled_notebook_runs_top_to_bottom_and_passes_every_public_test(filled, built):
    _, nb = filled
    errors = [(i, text_of(c)) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.output_type == "error" for o in c.outputs)]
    assert not errors, f"the filled-in release raised: {errors[0]}"
    questions = nbformat.read(built / "student_release" / "hw1.ipynb", as_version=4).metadata.otter.tests
    shown = checks(nb)
    assert set(shown) == set(questions), "every autograded question has its grader.check cell"
    for question, output in shown.items():
        assert "All test cases passed" in output, f"{question}: {output}"


def test_blank_notebook_fails_every_public_test_with_a_message_and_no_answer(blank, built):
    tests = nbformat.read(built / "student_release" / "hw1.ipynb", as_version=4).metadata.otter.tests
    solutions = nbformat.read(f"{REPO}/solutions/hw1.ipynb", as_version=4)
    secret = {l.strip() for c in solutions.cells if SOLUTION_TAG in c.metadata.get("tags", []) for l in solution_lines(c)}
    # what the public tests print of their own code is in the student's notebook already
    shown = {l[4:].strip() for test in tests.values() for case in test["suites"][0]["cases"] for l in case["code"].splitlines()}
    secret = {l for l in secret if len(l) >= 6} - shown
    wrong = {}  # every question's problems at once
    for question, output in checks(blank).items():
        messages = {m for case in tests[question]["suites"][0]["cases"] for m in assert_messages(case["code"])}
        leaked = [l for l in secret if l in output]
        problems = [
            "passes blank" if "All test cases passed" in output or "❌" not in output else None,
            # one sentence per failed test, the words of the results page: no doctest transcript or traceback
            "a transcript or traceback" if "Trying:" in output or "Traceback" in output else None,
            # the message is one of ours, written for the student, not only an error
            "no message that says what to fix" if not any(m in output for m in messages) else None,
            f"a solution line shown: {leaked}" if leaked else None]
        if any(problems):
            wrong[question] = f"{'; '.join(p for p in problems if p)}:\n{output}"
    assert not wrong, "\n".join(f"{q}: {text}" for q, text in wrong.items())


@pytest.mark.slow
@pytest.mark.xdist_group("filled_notebook")
def test_export_makes_the_zip_and_the_pdf_of_typeset_written_answers(filled):
    folder, _ = filled
    (export,) = glob.glob(str(folder / "hw1_*.zip"))
    with zipfile.ZipFile(export) as zf:
        assert {"hw1.ipynb", "hw1.pdf"} <= set(zf.namelist())
    text = subprocess.run(["pdftotext", str(folder / "hw1.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    # the written answers are there, their LaTeX typeset: no dollar signs or commands left as text
    assert "1(a)" in text and "4(e)" in text and "Loss curves" in text
    assert "∇" in text and "∑" in text
    for raw in ("$", "\\nabla", "\\sum", "\\frac", "\\|"):
        assert raw not in text, f"{raw!r} in the PDF: the LaTeX was not typeset"


def test_colab_set_up_cell_installs_the_pinned_grader_only_when_missing(built):
    nb = nbformat.read(built / "student_release" / "hw1.ipynb", as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    python = TransformerManager().transform_cell(first.source)
    (pin,) = [l.strip() for l in open(f"{REPO}/requirements.txt") if l.startswith("otter-grader==")]
    assert f"get_ipython().run_line_magic('pip', 'install --quiet {pin}')" in python
    tree = compile(python, "setup", "exec")  # valid Python once IPython has read it
    assert tree and re.search(r"try:\s+import otter\s+except ImportError:", python)


def test_export_without_latex_offers_the_zip_without_the_pdf(built, tmp_path):
    release = nbformat.read(built / "student_release" / "hw1.ipynb", as_version=4)
    nbformat.write(release, tmp_path / "hw1.ipynb")  # what export reads
    setup = next(c for c in release.cells if c.cell_type == "code")
    no_latex = nbformat.v4.new_code_cell('import os\nos.environ["PATH"] = "/nonexistent"  # as on Colab: no xelatex\n'
                                         'grader.export()')
    nb = release
    nb.cells = [setup, no_latex]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[1].outputs
    assert not [o for o in outputs if o.output_type == "error"], text_of(nb.cells[1])
    shown = json.dumps([o.get("data", {}) for o in outputs])
    assert "application/vnd.jupyter.widget-view+json" in shown  # the "Continue export" button
    assert release.metadata.otter.export_pdf_failure_message.startswith("Your notebook could not be turned into a PDF")


def test_the_notebook_alone_is_the_assignment(built, tmp_path):
    """On Colab a student uploads only the notebook: its set-up cell writes Problem 3's datasets, the same
    bytes as assignment/data, where they are missing (and leaves a student's own copy alone)."""
    release = nbformat.read(built / "student_release" / "hw1.ipynb", as_version=4)
    setup = next(c for c in release.cells if c.cell_type == "code")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p3_dataset2.csv").write_text("x,y\n0,0\n")  # already there: kept
    nbformat.write(release, tmp_path / "hw1.ipynb")
    release.cells = [setup]
    NotebookClient(release, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert (tmp_path / "data" / "p3_dataset1.csv").read_text() == open(f"{REPO}/assignment/data/p3_dataset1.csv").read()
    assert (tmp_path / "data" / "p3_dataset2.csv").read_text() == "x,y\n0,0\n"
