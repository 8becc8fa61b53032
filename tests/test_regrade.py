"""The instructor's batch regrade: CSV, histogram, resumable, parallel; and regrading is deterministic."""

import csv
import json
import os
import subprocess
import sys

import nbformat
import pytest

import build
import submissions
from catalogue import LIGHT
from conftest import REPO, offline


def regrade(built, submissions, out):
    zip_path = built / "autograder" / build.ZIP_NAME
    command = [sys.executable, f"{REPO}/tools/regrade.py", str(submissions), "--out", str(out), "--autograder", str(zip_path)]
    return subprocess.run(offline(command), capture_output=True, text=True, check=True)


@pytest.mark.slow
def test_regrade_folder_into_csv_resumably_and_deterministically(built, tmp_path):
    export = tmp_path / "export"
    light = submissions.make(built / "student_release" / "hw1.ipynb", f"{REPO}/solutions/hw1.ipynb", LIGHT)
    for i in (1, 2, 3):  # three copies of one submission: three gradings that must agree
        (export / f"submission_{i}").mkdir(parents=True)
        nbformat.write(light, export / f"submission_{i}" / "hw1.ipynb")
    (export / "submission_4").mkdir()
    (export / "submission_4" / "hw1.ipynb").write_text("{")
    (export / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Ada Lovelace\n    :email: ada@example.edu\n")

    out = tmp_path / "out"
    first = regrade(built, export, out)
    assert "4 to grade" in first.stderr

    rows = {r["submission"]: r for r in csv.DictReader(open(out / "scores.csv"))}
    assert set(rows) == {f"submission_{i}" for i in range(1, 5)}
    assert rows["submission_1"]["name"] == "Ada Lovelace" and rows["submission_1"]["email"] == "ada@example.edu"
    assert float(rows["submission_1"]["total"]) > 0
    assert float(rows["submission_4"]["total"]) == 0
    assert "not a Jupyter notebook" in rows["submission_4"]["note"]
    assert (out / "histogram.png").stat().st_size > 1000

    copies = [json.loads((out / "results" / f"submission_{i}.json").read_text()) for i in (1, 2, 3)]
    assert copies[0] == copies[1] == copies[2], "the same submission graded three times gave different results"

    # an interruption loses nothing already graded: a rerun grades only what has no result yet (the
    # broken one here, which is quick to grade)
    broken = (out / "results" / "submission_4.json").read_text()
    os.remove(out / "results" / "submission_4.json")
    second = regrade(built, export, out)
    assert "3 already graded, 1 to grade" in second.stderr
    assert json.loads((out / "results" / "submission_4.json").read_text()) == json.loads(broken)
    assert [json.loads((out / "results" / f"submission_{i}.json").read_text()) for i in (1, 2, 3)] == copies
