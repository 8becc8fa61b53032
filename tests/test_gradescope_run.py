"""Gradescope, for real: the built zip run the way Gradescope runs it.

Each grade (tools/gradescope_run.py): the zip unpacked in /autograder/source, the upload in
/autograder/submission, /autograder/results empty, and the zip's own run_autograder run as root, chrooted
into private namespaces (the machine's /autograder and /opt untouched), with Docker's limits (no user
namespaces, so the sandbox picks mode "uid" as on Gradescope), under a memory cgroup of the README's box
(tools/box.py), then results.json read from /autograder/results.

The root is the image that the zip's setup.sh built in a fresh Debian root (tools/gradescope_image.py),
named by HW1_GRADESCOPE_IMAGE (CI builds it: .ci/run), or else a root of this machine's system folders
with /opt/hw1-venv a venv of the system's Python holding this environment's packages. The tests of the
image itself (setup.sh's) need the image.
"""

import glob
import json
import os
import sys
import zipfile

import jsonschema
import nbformat
import pytest

import box
import gradescope_image
import gradescope_run
import submissions
from catalogue import LIGHT, LIGHT_LOSES
from conftest import GRADESCOPE_SCHEMA, REPO, scores

IMAGE = os.environ.get("HW1_GRADESCOPE_IMAGE") or None
needs_image = pytest.mark.skipif(IMAGE is None, reason="no image built by setup.sh: set HW1_GRADESCOPE_IMAGE "
                                 "(make test-gradescope builds one; CI does)")


@pytest.fixture(scope="session")
def image():
    """The image's root filesystem, checked to be built from the current setup.sh and requirements.txt."""
    if IMAGE is None:
        return None
    with open(os.path.join(IMAGE, gradescope_image.STAMP)) as f:
        stamp = json.load(f)
    current = gradescope_image.inputs_of(os.path.join(REPO, "autograder"))
    stale = [name for name in gradescope_image.IMAGE_INPUTS if stamp["inputs"].get(name) != current[name]]
    assert not stale, f"the image in {IMAGE} was built from another {', '.join(stale)}: build it again"
    return IMAGE


@pytest.fixture(scope="session")
def gradescope(built, image, tmp_path_factory):
    """gradescope(upload) -> the run's summary (gradescope_run.grade), its results.json validated."""
    zip_path = built / "autograder" / "hw1-autograder.zip"

    def run(upload):
        out = tmp_path_factory.mktemp("gradescope")
        summary = gradescope_run.grade(str(zip_path), str(upload), str(out / "results"), image=image)
        results = summary["results"]
        assert results is not None, f"no results.json in /autograder/results; run_autograder said:\n{summary['output'][-4000:]}"
        jsonschema.validate(results, GRADESCOPE_SCHEMA)
        assert summary["memory_limit"] == box.memory_bytes()
        # Gradescope's Docker forbids user namespaces: bubblewrap cannot work, the room runs as a user of its own
        assert 'sandbox mode "uid"' in results["output"], results["output"]
        return summary

    return run


@pytest.fixture(scope="session")
def light_scores(full_marks):
    return {q: 0 if q in LIGHT_LOSES else points for q, points in full_marks.items()}


def light(built, tmp_path, name="hw1.ipynb", cells=()):
    """The catalogue's light base (every answer right, Problem 4 untrained), with cells added at the end."""
    nb = submissions.make(built / "student_release" / "hw1.ipynb", f"{REPO}/solutions/hw1.ipynb", LIGHT)
    for source in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.pop("id", None)  # the release's nbformat (4.4) has no cell ids: intake would refuse the notebook
        nb.cells.insert(len(nb.cells) - 1, cell)
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_reference_scores_full_marks(gradescope, full_marks):
    summary = gradescope(f"{REPO}/solutions/hw1.ipynb")
    assert scores(summary["results"]) == full_marks
    assert sum(scores(summary["results"]).values()) == sum(full_marks.values()) == 79
    assert summary["oom_kills"] == 0


def test_blank_release_scores_zero(gradescope, built):
    summary = gradescope(built / "student_release" / "hw1.ipynb")
    assert set(scores(summary["results"]).values()) == {0}
    assert sum(scores(summary["results"]).values()) == 0


def test_export_zip_is_graded(gradescope, built, tmp_path, light_scores):
    """What grader.export() makes: the notebook and the written answers' PDF in a zip."""
    notebook = light(built, tmp_path)
    export = tmp_path / "hw1_2023_09_29T17_00_00.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.write(notebook, "hw1.ipynb")
        zf.writestr("hw1.pdf", b"%PDF-1.4\n")
    assert scores(gradescope(export)["results"]) == light_scores


def test_renamed_notebook_is_graded(gradescope, built, tmp_path, light_scores):
    assert scores(gradescope(light(built, tmp_path, name="Copy of hw1 (2).ipynb"))["results"]) == light_scores


# allocates (and writes) 64 MiB at a time, up to four times the box: the student room's cap stops it with
# MemoryError long before the box is full, and what it took is freed for the cells after it
HOG = f"""\
import numpy as np
_chunks = []
try:
    for _ in range({4 * box.BOX[1] // 64}):
        _chunks.append(np.ones(8 << 20))
finally:
    del _chunks
"""


def test_memory_hog_is_answered_within_the_box(gradescope, built, tmp_path, light_scores):
    summary = gradescope(light(built, tmp_path, cells=[HOG]))
    results = summary["results"]
    # it filled the room's cap 64 MiB at a time (MEMORY_LIMIT_MB of data, less what the kernel held)
    assert "MemoryError: Unable to allocate 64.0 MiB" in results["output"], results["output"]
    assert scores(results) == light_scores
    # the room's cap stopped it, not the box: nothing was killed for want of memory
    assert summary["oom_kills"] == 0 and summary["memory_peak"] < box.memory_bytes(), summary["memory_peak"]


def in_image(image, command, tmp_path, zip_path=None, network=False, env=None):
    """Run a command in a container of the image (its writes thrown away), with the zip (default: an
    empty one) in /autograder/source; returns the summary."""
    upload = tmp_path / "upload.txt"
    upload.write_text("")
    if zip_path is None:
        zip_path = tmp_path / "empty.zip"
        with zipfile.ZipFile(zip_path, "w") as zf:
            zf.writestr("run_autograder", "")
    return gradescope_run.grade(str(zip_path), str(upload), str(tmp_path / "results"), image=image,
                                command=command, network=network, env=env, timeout=900)


@needs_image
def test_image_has_matplotlib_font_list_for_every_room(image):
    """setup.sh lists the image's fonts for matplotlib once, in root's cache, where the grade finds it
    (sandbox.font_lists) and hands a copy to every student room."""
    assert glob.glob(os.path.join(image, "root", ".cache", "matplotlib", "fontlist-v*.json"))


@needs_image
def test_image_system_python_is_externally_managed(image, tmp_path):
    """setup.sh ran where pip refuses to install into the system's Python (PEP 668, as on Ubuntu 24.04)."""
    with open(os.path.join(image, gradescope_image.STAMP)) as f:
        assert json.load(f)["externally_managed"], "the image's Python is not marked externally managed"
    summary = in_image(image, ["/usr/bin/python3", "-m", "pip", "install", "--no-cache-dir", "--dry-run", "uv"], tmp_path)
    assert summary["exit_code"] != 0 and "externally-managed-environment" in summary["output"], summary["output"]


@needs_image
def test_image_venv_is_the_tested_python_runnable_by_others(image, tmp_path):
    """/opt/hw1-venv is a real venv of Python 3.11.7 that a user other than root can run (sandbox mode uid)."""
    check = "import sys, torch, otter, nbclient; print(sys.version.split()[0], sys.prefix, sys.base_prefix)"
    summary = in_image(image, ["/usr/bin/setpriv", "--reuid=1500000000", "--regid=1500000000", "--clear-groups", "--",
                               "/opt/hw1-venv/bin/python", "-c", check], tmp_path)
    assert summary["exit_code"] == 0, summary["output"]
    version, prefix, base = summary["output"].split()[-3:]
    assert (version, prefix) == (f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}", "/opt/hw1-venv")
    assert base.startswith("/opt/uv-python/") and base != prefix


@needs_image
@pytest.mark.slow
def test_setup_sh_fails_loudly(image, built, tmp_path):
    """A step that fails stops setup.sh with an error (set -euo pipefail): here, torch's index is missing."""
    summary = in_image(image, ["/bin/bash", "-c", "cd /autograder/source && bash ./setup.sh"], tmp_path,
                       zip_path=built / "autograder" / "hw1-autograder.zip", network=True,
                       env={"HW1_TORCH_INDEX": "file:///nonexistent/simple"})
    assert summary["exit_code"] != 0, summary["output"][-3000:]
    assert "error:" in summary["output"] and "the image is ready" not in summary["output"]
