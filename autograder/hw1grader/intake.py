"""Intake: turn what a student uploaded into one gradable notebook, or say clearly why it is not one.

Gradescope hands the autograder whatever was uploaded: the notebook (under any name), the zip that
``grader.export()`` makes, or a file that is not a notebook at all. ``prepare(folder)`` leaves exactly
one checked ``.ipynb`` in the folder and returns its path, or raises ``Rejected`` with a message for the
student; ``rejection(message, tests_dir)`` is the Gradescope result for that case (every question 0).
"""

import ast
import glob
import json
import os
import zipfile

import nbformat

ASSIGNMENT = "hw1"
MAX_NOTEBOOK_BYTES = 50 << 20
HOW_TO_FIX = ("Submit the hw1.ipynb you worked in (File → Download in Jupyter or Colab), or the zip that "
              "the last cell, grader.export(), makes.")


class Rejected(Exception):
    """The upload holds no gradable Homework 1 notebook; the message is for the student."""


def prepare(folder):
    """The path of the one gradable notebook in folder (extracted from an export zip if need be)."""
    notebooks = glob.glob(os.path.join(folder, "*.ipynb"))
    if not notebooks:
        notebooks = extract_notebooks(folder)
    if not notebooks:
        found = ", ".join(sorted(os.listdir(folder))[:10]) or "nothing"
        raise Rejected(f"No Jupyter notebook (.ipynb) was found in your submission (it holds: {found}). {HOW_TO_FIX}")
    if len(notebooks) > 1:
        names = ", ".join(sorted(os.path.basename(n) for n in notebooks))
        raise Rejected(f"Your submission holds {len(notebooks)} notebooks ({names}); submit only your hw1.ipynb.")
    check_notebook(notebooks[0])
    return notebooks[0]


def extract_notebooks(folder):
    """Notebooks from the zip files in folder (grader.export() makes one), by name only: no paths."""
    extracted = []
    for path in glob.glob(os.path.join(folder, "*.zip")):
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    name = os.path.basename(info.filename)
                    if name.endswith(".ipynb") and not name.startswith(".") and info.file_size <= MAX_NOTEBOOK_BYTES:
                        target = os.path.join(folder, name)
                        with zf.open(info) as src, open(target, "wb") as dest:
                            dest.write(src.read())
                        extracted.append(target)
        except zipfile.BadZipFile:
            raise Rejected(f"{os.path.basename(path)} is not a valid zip file. {HOW_TO_FIX}") from None
    return extracted


def check_notebook(path):
    name = os.path.basename(path)
    size = os.path.getsize(path)
    if size == 0:
        raise Rejected(f"{name} is empty (0 bytes): it was probably not saved before uploading. {HOW_TO_FIX}")
    if size > MAX_NOTEBOOK_BYTES:
        raise Rejected(f"{name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB: clear the outputs and submit again.")
    try:
        with open(path, encoding="utf-8") as f:
            nb = nbformat.read(f, as_version=4)
        nbformat.validate(nb)
    except (UnicodeDecodeError, json.JSONDecodeError, nbformat.reader.NotJSONError) as e:
        raise Rejected(f"{name} is not a Jupyter notebook (it is not valid notebook JSON: {str(e)[:200]}). {HOW_TO_FIX}") from None
    except Exception as e:
        raise Rejected(f"{name} is not a valid Jupyter notebook ({type(e).__name__}: {str(e)[:200]}). {HOW_TO_FIX}") from None
    assignment = nb.metadata.get("otter", {}).get("assignment_name") if isinstance(nb.metadata.get("otter"), dict) else None
    if assignment != ASSIGNMENT:
        said = f"it belongs to '{assignment}'" if assignment else "it is not one of this course's released notebooks"
        raise Rejected(f"{name} is not the Homework 1 notebook ({said}). Did you upload the right file? "
                       "Start from the hw1.ipynb we released and submit that.")


def question_points(tests_dir):
    """{question: points} from otter's test files, read as data (they are never run here)."""
    points = {}
    for path in sorted(glob.glob(os.path.join(tests_dir, "*.py"))):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "test" for t in node.targets):
                spec = ast.literal_eval(node.value)
                points[spec["name"]] = spec["points"]
    return points


def rejection(message, tests_dir):
    """The Gradescope results of a submission that could not be graded: every question 0, and why."""
    tests = [{"name": q, "score": 0, "max_score": p, "visibility": "visible", "output": message}
             for q, p in question_points(tests_dir).items()]
    return {"score": 0, "output": f"Your submission could not be graded: {message}", "tests": tests}
