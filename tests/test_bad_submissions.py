"""Bad submissions: each gets a valid results.json, the points its working part deserves, and a message
a student understands; none crashes the autograder."""

import json
import os
import subprocess
import sys
import zipfile

import jsonschema
import nbformat
import pytest

import build
import submissions
from catalogue import LIGHT, LIGHT_LOSES
from conftest import GRADESCOPE_SCHEMA, REPO, offline, scores


@pytest.fixture(scope="session")
def light_scores(full_marks):
    """What the light base (the catalogue's: Problem 4 untrained, for speed) scores when nothing is wrong
    (the catalogue's entry light_base shows that it does)."""
    return {q: 0 if q in LIGHT_LOSES else points for q, points in full_marks.items()}


# the questions of the short base: the light base cut after Problem 2 (a grade of it costs half as much)
SHORT = ("q1_grad", "q1_mu", "q2_l1_loss")


@pytest.fixture(scope="session")
def short_scores(full_marks):
    """What the short base scores: Problems 1 and 2, nothing else."""
    return {q: points if q in SHORT else 0 for q, points in full_marks.items()}


def filled_with(built, tmp_path, cells, at=-1, name="hw1.ipynb", short=False):
    """The light base (short: only its cells up to Problem 2's last check) with extra code cells inserted
    at position at (-1: after the last answer)."""
    nb = submissions.make(built / "student_release" / "hw1.ipynb", f"{REPO}/solutions/hw1.ipynb", LIGHT)
    if short:
        last = max(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and f'grader.check("{SHORT[-1]}")' in c.source)
        nb.cells = nb.cells[:last + 1]
    position = len(nb.cells) - 1 if at == -1 else at
    for source in reversed(cells):
        nb.cells.insert(position, nbformat.v4.new_code_cell(source))
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_cell_that_raises_does_not_stop_grading(built, grade, tmp_path, short_scores):
    results = grade(filled_with(built, tmp_path, ["raise ValueError('oops')"], at=3, short=True))
    assert scores(results) == short_scores
    assert "ValueError: oops" in results["output"]


@pytest.mark.slow
def test_infinite_loop_is_interrupted_and_the_rest_graded(built, grade, tmp_path, short_scores, monkeypatch):
    # 20 s for the cells (the short base needs 4 to 8 s on a busy machine), 10 s to record the answers
    monkeypatch.setenv("HW1_NOTEBOOK_TIMEOUT", "30")
    monkeypatch.setenv("HW1_RECORD_RESERVE", "10")
    results = grade(filled_with(built, tmp_path, ["while True:\n    pass"], short=True))
    assert scores(results) == short_scores
    assert "time limit" in results["output"]


def test_loop_that_ignores_interrupts_is_stopped_with_a_clear_result(built, grade, tmp_path, light_scores, monkeypatch):
    monkeypatch.setenv("HW1_NOTEBOOK_TIMEOUT", "10")
    monkeypatch.setenv("HW1_RECORD_RESERVE", "2")
    monkeypatch.setenv("HW1_ROOM_GRACE", "5")
    # it sleeps rather than spins: what is tested is that it is killed, and the other tests need the CPU
    source = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)"
    results = grade(filled_with(built, tmp_path, [source], at=2))
    # nothing the kernel would have recorded counts; Problem 5 is judged from the code, not the kernel
    judged = {q: points for q, points in light_scores.items() if q.startswith("q5_")}
    assert scores(results) == {q: judged.get(q, 0) for q in light_scores}
    assert "time limit" in results["output"]


def test_memory_hog_gets_memory_error_and_the_rest_graded(built, grade, tmp_path, short_scores):
    results = grade(filled_with(built, tmp_path, ["import numpy as np\nhog = np.ones((1 << 40,))"], at=3, short=True))
    assert scores(results) == short_scores
    assert "MemoryError" in results["output"]


# each exit, and what the student is told of it
EXITS = {
    "import os\nos._exit(1)": "killed Python (out of memory, or it called exit), so the notebook was run again without it",
    "import sys\nsys.exit(0)": "raised SystemExit",
    "exit()": "All cells ran without error",  # IPython's exit() is made harmless while grading
}


@pytest.mark.parametrize("exit_call", sorted(EXITS))
def test_exit_call_is_left_out_and_the_rest_graded(exit_call, built, grade, tmp_path, short_scores):
    results = grade(filled_with(built, tmp_path, [exit_call], at=3, short=True))
    assert scores(results) == short_scores
    assert EXITS[exit_call] in results["output"], results["output"]


def test_renamed_notebook_is_graded(built, grade, tmp_path, short_scores):
    assert scores(grade(filled_with(built, tmp_path, [], name="Copy of hw1 (2).ipynb", short=True), intake=True)) == short_scores


def test_export_zip_is_accepted(built, grade, tmp_path, short_scores):
    notebook = filled_with(built, tmp_path, [], short=True)
    export = tmp_path / "hw1_2023_09_29T17_00_00.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.write(notebook, "hw1.ipynb")
        zf.writestr(".OTTER_LOG", b"\x80not a log")
    assert scores(grade(export, intake=True)) == short_scores


UNGRADABLE = {
    "empty.ipynb": (b"", "empty"),
    "broken.ipynb": (b'{"cells": [', "not valid notebook JSON"),
    "paper.ipynb": (b"%PDF-1.4\n", "not valid notebook JSON"),
    "list.ipynb": (b"[1, 2, 3]", "not a valid Jupyter notebook"),
    "hw1.pdf": (b"%PDF-1.4\n", "No Jupyter notebook"),
}


@pytest.mark.parametrize("name", sorted(UNGRADABLE))
def test_ungradable_upload_scores_zero_with_a_reason(name, grade, tmp_path, light_scores):
    content, reason = UNGRADABLE[name]
    (tmp_path / name).write_bytes(content)
    results = grade(tmp_path / name, intake=True)
    assert scores(results) == {q: 0 for q in light_scores}
    assert reason in results["output"]


def test_another_assignments_notebook_is_refused_by_name(built, grade, tmp_path, light_scores):
    nb = nbformat.read(built / "student_release" / "hw1.ipynb", as_version=4)
    nb.metadata["otter"]["assignment_name"] = "hw2"
    nbformat.write(nb, tmp_path / "hw2.ipynb")
    results = grade(tmp_path / "hw2.ipynb", intake=True)
    assert scores(results) == {q: 0 for q in light_scores}
    assert "'hw2'" in results["output"]


def test_folder_upload_with_links_is_graded_as_on_gradescope_and_touches_nothing_outside(built, tmp_path, light_scores):
    """A GitHub-style upload graded through Gradescope's entry point (run.gradescope, as root, on
    /autograder's layout): links to outside at its top (where otter copies tests/ and data/ and opens
    __init__.py), in FashionMNIST/ (which the grader seeds before the sandbox) and deeper, a FIFO and a
    folder for .OTTER_LOG. The notebook is graded, and nothing outside the upload is read or written."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("root's file")
    ag = tmp_path / "autograder"
    for sub in ("source", "submission", "results"):
        (ag / sub).mkdir(parents=True)
    with zipfile.ZipFile(built / "autograder" / build.ZIP_NAME) as zf:
        zf.extractall(ag / "source")
    (ag / "submission_metadata.json").write_text("{}")
    upload = ag / "submission"
    filled_with(built, upload, [])
    for name, target in {"tests": outside, "data": outside, "__init__.py": outside / "created-by-otter",
                         "notes.txt": outside / "secret", "etc": "/etc"}.items():
        os.symlink(target, upload / name)
    (upload / "FashionMNIST").mkdir()  # the grader seeds FashionMNIST/FashionMNIST/raw in the room's copy
    os.symlink(outside, upload / "FashionMNIST" / "FashionMNIST")
    os.mkfifo(upload / "fifo")
    (upload / ".OTTER_LOG" / "deeper").mkdir(parents=True)
    (upload / "src").mkdir()
    os.symlink(outside, upload / "src" / "to-outside")
    os.symlink(outside / "secret", upload / "src" / "secret.py")
    command = [sys.executable, "-c", "import sys; from hw1grader.run import gradescope; gradescope(sys.argv[1])", str(ag)]
    proc = subprocess.run(offline(command), capture_output=True, text=True)
    results_path = ag / "results" / "results.json"
    assert results_path.exists(), f"grading left no results.json:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    results = json.loads(results_path.read_text())
    jsonschema.validate(results, GRADESCOPE_SCHEMA)
    assert scores(results) == light_scores, results["output"]
    assert sorted(os.listdir(outside)) == ["secret"] and (outside / "secret").read_text() == "root's file"


def encrypted_export(path):
    """An export zip protected with a password (ZipCrypto: the entries' "encrypted" flag set)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("hw1.ipynb", open(f"{REPO}/student_release/hw1.ipynb", "rb").read())
    data = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + flag_at] |= 0x1
    path.write_bytes(bytes(data))


def zip_bomb(path):
    """A notebook entry that says it holds 1 kB and inflates to 256 MB (the declared size lies)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("hw1.ipynb", "w") as entry:
            for _ in range(256):
                entry.write(b" " * (1 << 20))
    data = bytearray(path.read_bytes())
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + size_at:at + size_at + 4] = (1000).to_bytes(4, "little")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("make, reason", [(encrypted_export, "password-protected"), (zip_bomb, "could not be opened")])
def test_bad_zip_scores_zero_with_a_reason(make, reason, grade, tmp_path, light_scores):
    make(tmp_path / "hw1_export.zip")
    results = grade(tmp_path / "hw1_export.zip", intake=True)
    assert scores(results) == {q: 0 for q in light_scores}
    assert reason in results["output"]
