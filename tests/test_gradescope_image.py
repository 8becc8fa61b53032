"""The Gradescope image: the zip's setup files install exactly what the README says, and that is the
lean image (the Python the tests run on, CPU-only torch, no browser or LaTeX)."""

import json
import platform
import re
import zipfile

import pytest

import build
from conftest import REPO

README_TABLE = "<!-- gradescope-image -->"


@pytest.fixture(scope="module")
def zip_files(built):
    with zipfile.ZipFile(built / "autograder" / build.ZIP_NAME) as zf:
        return {name: zf.read(name).decode() for name in ("setup.sh", "requirements.txt", "otter_config.json")}


def readme_image():
    """{row name: cell text} of the README's table of what the image installs."""
    text = open(f"{REPO}/README.md", encoding="utf-8").read()
    assert README_TABLE in text, f"the README lost its table of the Gradescope image ({README_TABLE})"
    rows = {}
    for line in text.split(README_TABLE, 1)[1].strip().splitlines():
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1]
    return rows


def setup_facts(setup_sh):
    """What setup.sh installs, read from its commands."""
    apt = re.search(r"apt-get install -y --no-install-recommends (.+)", setup_sh).group(1).split()
    python = re.search(r"uv python install (\S+)", setup_sh).group(1)
    uv = re.search(r"pip install uv==(\S+)", setup_sh).group(1)
    return apt, python, uv


def requirement_lines(text):
    return [l.strip() for l in text.splitlines() if l.strip() and not l.startswith("#")]


def code_spans(cell):
    return re.findall(r"`([^`]+)`", cell)


def test_readme_says_what_setup_installs(zip_files):
    rows = readme_image()
    apt, python, uv = setup_facts(zip_files["setup.sh"])
    assert code_spans(rows["Debian packages"]) == apt
    assert code_spans(rows["Python"]) == [python, f"uv=={uv}", "/opt/hw1-venv"]
    pins = [l for l in requirement_lines(zip_files["requirements.txt"]) if not l.startswith("--")]
    assert code_spans(rows["Python packages"]) == pins
    (index,) = [l.split()[1] for l in requirement_lines(zip_files["requirements.txt"]) if l.startswith("--extra-index-url")]
    assert code_spans(rows["PyTorch wheels"]) == [index]
    assert "/usr/share/datasets/fashion-mnist" in rows["FashionMNIST"]
    assert "/usr/share/datasets/fashion-mnist" in zip_files["setup.sh"] and "fashion-mnist/*.gz" in zip_files["setup.sh"]


def test_image_runs_the_python_and_packages_the_tests_run_on(zip_files):
    _, python, _ = setup_facts(zip_files["setup.sh"])
    assert python == platform.python_version(), "setup.sh installs another Python than the one the tests run on"
    tested = {name.lower(): version for name, version in
              (l.split("==") for l in requirement_lines(open(f"{REPO}/requirements.txt").read()))}
    for line in requirement_lines(zip_files["requirements.txt"]):
        if line.startswith("--"):
            continue
        name, version = line.split("==")
        assert name.lower() in tested, f"{name} is in the image but not in the tested environment"
        assert version.split("+")[0] == tested[name.lower()], f"{name}: {version} in the image, {tested[name.lower()]} tested"


def test_image_is_lean(zip_files):
    # CPU-only torch: the CUDA build needs over 1 GB to import, more than Gradescope's default box
    assert "download.pytorch.org/whl/cpu" in zip_files["requirements.txt"]
    assert all(line.endswith("+cpu") for line in requirement_lines(zip_files["requirements.txt"])
               if line.startswith(("torch==", "torchvision==")))
    # no browser, LaTeX or conda unless otter is asked to make PDFs on Gradescope (it is not)
    config = json.loads(zip_files["otter_config.json"])
    assert not config.get("pdf") and not config.get("token")
    commands = "\n".join(l for l in zip_files["setup.sh"].lower().splitlines() if not l.lstrip().startswith("#"))
    for heavy in ("chromium", "playwright", "texlive", "xelatex", "pandoc", "conda", "mamba", "environment.yml"):
        assert heavy not in commands, f"setup.sh installs {heavy}"
