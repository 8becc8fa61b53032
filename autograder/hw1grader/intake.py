"""Intake: turn what a student uploaded into one gradable notebook, or say clearly why it is not one.

Gradescope hands the autograder whatever was uploaded: the notebook (under any name), the zip that
``grader.export()`` makes, or a file that is not a notebook at all. ``prepare(folder)`` leaves exactly
one gradable ``.ipynb`` in the folder and returns its path, or raises ``Rejected`` with a message for the
student; ``rejection(message, tests_dir)`` is the Gradescope result for that case (every question 0).

The notebook is opened as Jupyter opens it (``clean_notebook``) and written back as a clean, valid
nbformat 4.5 notebook, which every later stage (the student room, otter) reads without complaint.
"""

import ast
import glob
import itertools
import json
import os
import re
import tempfile
import zipfile

import nbformat

ASSIGNMENT = "hw1"
MAX_NOTEBOOK_BYTES = 50 << 20  # a notebook, uploaded or inside a zip: outputs of a long training still fit
HOW_TO_FIX = ("Submit the hw1.ipynb you worked in (File → Download in Jupyter or Colab), or the zip that "
              "the last cell, grader.export(), makes.")
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# the set-up cell of the released notebook (a code cell of every Homework 1 notebook)
GRADER_INIT = re.compile(r"otter\.Notebook\(\s*['\"]" + ASSIGNMENT + r"\.ipynb['\"]")


class Rejected(Exception):
    """The upload holds no gradable Homework 1 notebook; the message is for the student."""


def prepare(folder):
    """The path of the one gradable notebook in folder (extracted from an export zip if need be),
    written back as a clean nbformat 4 notebook."""
    notebooks = glob.glob(os.path.join(folder, "*.ipynb"))
    if not notebooks:
        notebooks = extract_notebooks(folder)
    if not notebooks:
        found = ", ".join(sorted(os.listdir(folder))[:10]) or "nothing"
        raise Rejected(f"No Jupyter notebook (.ipynb) was found in your submission (it holds: {found}). {HOW_TO_FIX}")
    if len(notebooks) > 1:
        names = ", ".join(sorted(os.path.basename(n) for n in notebooks))
        raise Rejected(f"Your submission holds {len(notebooks)} notebooks ({names}); submit only your hw1.ipynb.")
    with open(notebooks[0], "rb") as f:
        raw = f.read(MAX_NOTEBOOK_BYTES + 1)
    write_notebook(clean_notebook(raw, os.path.basename(notebooks[0])), notebooks[0])
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


def clean_notebook(raw, name):
    """The notebook in raw (bytes of a file) as Jupyter would open it, rebuilt as a valid nbformat 4.5
    notebook: any 4.x minor version or format 1 to 3, a BOM, any line endings and JSON layout, missing
    or odd optional fields. Its cells keep their type, source, metadata (what the schema allows) and
    attachments; outputs and execution counts are dropped (grading runs the code again), and so is the
    notebook's metadata but otter's (editor state, widgets, the kernel it was last run with: grading
    runs Python 3). Rejected when Jupyter could not open it either, or when it is another
    assignment's."""
    if not raw.strip():
        raise Rejected(f"{name} is empty (0 bytes): it was probably not saved before uploading. {HOW_TO_FIX}")
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise Rejected(f"{name} is larger than {MAX_NOTEBOOK_BYTES >> 20} MB: clear the outputs and submit again.")
    try:
        data = json.loads(raw)  # bytes: UTF-8 with or without a BOM (UTF-16 and 32 too)
    except UnicodeDecodeError:
        raise Rejected(f"{name} is not a Jupyter notebook (it is not valid notebook JSON: it is not UTF-8 text). "
                       f"{HOW_TO_FIX}") from None
    except (ValueError, RecursionError) as e:
        raise Rejected(f"{name} is not a Jupyter notebook (it is not valid notebook JSON: {str(e)[:200]}). "
                       f"{HOW_TO_FIX}") from None
    not_valid = f"{name} is not a valid Jupyter notebook"
    if not isinstance(data, dict):
        raise Rejected(f"{not_valid} (its JSON is a {type(data).__name__}, not a notebook). {HOW_TO_FIX}")
    major = data.get("nbformat", 4 if isinstance(data.get("cells"), list) else None)
    if isinstance(major, str) and major.strip().isdigit() or isinstance(major, float) and major.is_integer():
        major = int(major)  # "4" or 4.0: nbformat reads them as 4
    if major is None or isinstance(major, bool) or not isinstance(major, int) or major < 1:
        raise Rejected(f"{not_valid} (it has no notebook format version and no cells). {HOW_TO_FIX}")
    if major > 4:
        raise Rejected(f"{name} is in notebook format {major}, which Jupyter cannot open (it reads format 4). "
                       f"{HOW_TO_FIX}")
    if major < 4:
        minor = data.get("nbformat_minor", 0)
        try:
            data = nbformat.converter.convert(
                nbformat.versions[major].to_notebook_json(data, minor=minor if isinstance(minor, int) else 0), 4)
        except Exception as e:  # anything the upgrade chokes on: the notebook is not one Jupyter opens either
            raise Rejected(f"{name} is an old notebook (format {major}) that could not be upgraded ({type(e).__name__}). "
                           f"Open it in Jupyter, save it, and submit again.") from None
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise Rejected(f"{not_valid} (it has no list of cells). {HOW_TO_FIX}")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    otter = metadata.get("otter") if isinstance(metadata.get("otter"), dict) else {}
    assignment = otter.get("assignment_name")
    if assignment is None and any(isinstance(c, dict) and c.get("cell_type") == "code"
                                  and GRADER_INIT.search(source_text(c.get("source"))) for c in cells):
        # otter's metadata stripped (jupytext's .py round trip, nbdev_clean, nbstripout), but the
        # release's own set-up cell is there: it is the Homework 1 notebook
        otter, assignment = {"assignment_name": ASSIGNMENT}, ASSIGNMENT
    if assignment != ASSIGNMENT:
        said = f"it belongs to '{str(assignment)[:100]}'" if assignment else "it is not one of this course's released notebooks"
        raise Rejected(f"{name} is not the Homework 1 notebook ({said}). Did you upload the right file? "
                       "Start from the hw1.ipynb we released and submit that.")
    nb = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}, "otter": otter_metadata(otter)},
        "cells": clean_cells(cells),
    }
    # as it is; else with the cell metadata the schema rejects stripped as nbformat does; else with only
    # each cell's valid tags, no attachments and otter's minimum (what nothing else could mend: metadata
    # nested too deep to write, say)
    for mend in (None, strip_invalid_metadata, keep_the_minimum):
        try:
            nb = mend(nb) if mend else nb
            nbformat.validate(nb)
            nbformat.writes(nbformat.from_dict(nb), version=4)
            return nbformat.from_dict(nb)
        except Exception:
            if mend is keep_the_minimum:
                raise  # a bug here, not the student's
    raise AssertionError("unreachable")


def strip_invalid_metadata(nb):
    return nbformat.validator.normalize(nb, strip_invalid_metadata=True)[1]


def keep_the_minimum(nb):
    for cell in nb["cells"]:
        tags = valid_tags(cell["metadata"].get("tags"))
        cell["metadata"] = {"tags": tags} if tags else {}
        cell.pop("attachments", None)
    nb["metadata"]["otter"] = {"assignment_name": ASSIGNMENT}
    return nb


def clean_cells(cells):
    """Every cell as the schema wants it (unknown kinds become raw cells, or code cells when they have
    outputs, as code cells do); each keeps its id when it is a valid, unique one."""
    cleaned, ids = [], set()
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        if kind not in ("code", "markdown", "raw"):
            kind = "code" if "outputs" in cell else "raw"
        new = {"id": None, "cell_type": kind, "metadata": cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {},
               "source": source_text(cell.get("source"))}
        if kind == "code":
            new.update(outputs=[], execution_count=None)
        elif isinstance(cell.get("attachments"), dict):
            new["attachments"] = cell["attachments"]
        cell_id = cell.get("id")
        if isinstance(cell_id, str) and CELL_ID.fullmatch(cell_id) and cell_id not in ids:
            new["id"] = cell_id
            ids.add(cell_id)
        cleaned.append(new)
    counter = itertools.count()
    for new in cleaned:  # ids for the others, the same at every regrade
        while new["id"] is None:
            candidate = f"cell-{next(counter)}"
            if candidate not in ids:
                new["id"] = candidate
                ids.add(candidate)
    return cleaned


def source_text(source):
    if isinstance(source, str):
        return source
    if isinstance(source, list):
        return "".join(s if isinstance(s, str) else json.dumps(s) for s in source)
    return "" if source is None else json.dumps(source)


def valid_tags(tags):
    if not isinstance(tags, list):
        return []
    return list(dict.fromkeys(t for t in tags if isinstance(t, str) and t and "," not in t))


def otter_metadata(otter):
    """The notebook's otter metadata when otter accepts it (grader.check in the student room reads its
    tests there), else only the assignment's name (otter checks it)."""
    from otter.nbmeta_config import NBMetadataConfig

    try:
        NBMetadataConfig(otter)
        json.dumps(otter, allow_nan=False)
        return otter
    except Exception:
        return {"assignment_name": ASSIGNMENT}


def write_notebook(nb, target):
    """Write nb to target (replacing whatever target is, without following it), readable by all."""
    text = nbformat.writes(nb, version=4)
    # a lone surrogate (valid in JSON, not in UTF-8) becomes '?': nothing downstream could read it
    data = text.encode("utf-8", errors="replace")
    fd, part = tempfile.mkstemp(prefix=".hw1-intake-", suffix=".part", dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(part, 0o644)
        os.replace(part, target)
    except BaseException:
        if os.path.lexists(part):
            os.unlink(part)
        raise


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
