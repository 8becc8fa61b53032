"""The Gradescope image: the zip's setup files install exactly what the README says, and that is the
lean image (the Python the tests run on, CPU-only torch, no browser or LaTeX); setup.sh's variables mean
Gradescope's defaults when unset; the README's box is tools/box.py's. (Grading in the image that setup.sh
builds: test_gradescope_run.py.) And a release on a fresh clone changes nothing."""

import json
import os
import platform
import re
import subprocess
import zipfile

import pytest

import box
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
    python = re.search(r"uv\"? python install .*?(\d+\.\d+\.\d+)$", setup_sh, re.M).group(1)
    uv = re.search(r"pip install (?:--target \S+ )?uv==(\S+)", setup_sh).group(1)
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


def test_setup_fails_on_any_error_and_checks_its_result(zip_files):
    setup = zip_files["setup.sh"]
    assert "\nset -euo pipefail\n" in setup
    # the last steps check the venv as a user other than root, and the data
    check = setup[setup.index("# The check."):]
    assert "setpriv --reuid=" in check and "importlib.import_module" in check and "load_test_set()" in check


def rewrite_requirements(setup_sh, requirements, tmp_path, **env):
    """setup.sh's rewrite of requirements.txt (its lines from `requirements=$(mktemp)` to the check after
    it), run with env; returns the rewritten text."""
    block = re.search(r"^requirements=\$\(mktemp\)\n.*?\|\| \{[^\n]*\}\n", setup_sh, re.S | re.M).group(0)
    (tmp_path / "requirements.txt").write_text(requirements)
    head = re.search(r"^TORCH_INDEX=.*$", setup_sh, re.M).group(0)
    script = f"set -euo pipefail\nSOURCE={tmp_path}\n{head}\n{block}cat \"$requirements\"\n"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HW1_")}
    proc = subprocess.run(["bash", "-c", script], env={**clean, **env}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_setup_variables_default_to_gradescope(zip_files, tmp_path):
    """Unset, HW1_TORCH_INDEX and HW1_TORCH_BUILD leave requirements.txt as it is (PyPI plus PyTorch's CPU
    index, +cpu builds), and HW1_PYTHON_DOWNLOADS leaves uv to its own downloads; set, they point the two
    downloads elsewhere, as the image built in CI does."""
    setup, requirements = zip_files["setup.sh"], zip_files["requirements.txt"]
    header = setup[:setup.index("set -euo pipefail")]
    for name in ("HW1_PYTHON_DOWNLOADS", "HW1_TORCH_INDEX", "HW1_TORCH_BUILD"):
        assert name in header, f"setup.sh does not document {name}"
    assert rewrite_requirements(setup, requirements, tmp_path) == requirements
    local = rewrite_requirements(setup, requirements, tmp_path, HW1_TORCH_INDEX="file:///srv/torch/simple", HW1_TORCH_BUILD="")
    pins = requirement_lines(local)
    assert "--extra-index-url file:///srv/torch/simple" in pins and "torch==2.14.1" in pins and "torchvision==0.29.1" in pins
    assert not [line for line in pins if "download.pytorch.org" in line or line.endswith("+cpu")]
    assert '${HW1_PYTHON_DOWNLOADS:+--python-downloads-json-url "$HW1_PYTHON_DOWNLOADS"}' in setup


def test_readme_box_is_the_one_the_tests_grade_under():
    """One number: the README recommends tools/box.py's box, and the Gradescope-shaped tests grade under it."""
    text = open(f"{REPO}/README.md", encoding="utf-8").read()
    gradescope = text[text.index("## Gradescope"):text.index("## Performance")]
    assert f"**{box.label()}**" in gradescope, f"the README's Gradescope section does not recommend {box.label()}"
    assert box.BOX in box.GRADESCOPE_BOXES
