"""The releases: in step with assignment/, rebuilt byte for byte, and the student's holds no answer."""

import filecmp
import json
import re
import subprocess
import sys
import zipfile

import nbformat

import build
from conftest import REPO

SOLUTION_TAG = "otter_assign_solution_cell"


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_committed_student_release_is_current(built):
    from pathlib import Path

    committed, fresh = Path(REPO) / "student_release", built / "student_release"
    assert files_under(committed) == files_under(fresh), "student_release/ is stale: run `make release`"
    for name in files_under(fresh):
        assert filecmp.cmp(committed / name, fresh / name, shallow=False), f"student_release/{name} is stale: run `make release`"


def test_committed_solutions_are_current_and_executed(built):
    committed = nbformat.read(f"{REPO}/solutions/hw1.ipynb", as_version=4)
    fresh = nbformat.read(built / "solutions" / "hw1.ipynb", as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in fresh.cells], "solutions/ is stale: run `make release`"
    code = [c for c in committed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "solutions/hw1.ipynb is not executed: run `make release`"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"the reference raised {errors[0].ename}: {errors[0].evalue}" if errors else ""


def test_rebuild_is_byte_identical(built, tmp_path):
    build.build(str(tmp_path), run_solutions=False)
    for rel in ("student_release/hw1.ipynb", f"autograder/{build.ZIP_NAME}"):
        assert (built / rel).read_bytes() == (tmp_path / rel).read_bytes(), f"{rel} differs between two builds"


def solution_lines(cell):
    """The lines otter strips from a solution cell: what must never reach a student."""
    if cell.cell_type == "markdown":
        return [l for l in cell.source.splitlines() if l.strip()]
    lines, prompt, inside, in_prompt = [], set(), False, False
    for line in cell.source.splitlines():
        stripped = line.strip()
        if re.match(r"# BEGIN SOLUTION", stripped):
            inside = True
        elif stripped == "# END SOLUTION":
            inside = False
        elif stripped.endswith("# BEGIN PROMPT") or stripped.endswith("# END PROMPT"):
            in_prompt = stripped.endswith("# BEGIN PROMPT")
        elif in_prompt:
            prompt.add(stripped)  # what students see instead of the solution
        elif inside or stripped.endswith("# SOLUTION"):
            lines.append(re.sub(r"\s*# SOLUTION$", "", line))
    return [l for l in lines if l.strip() not in prompt]


def test_student_release_has_no_solution_or_hidden_test(built):
    text = (built / "student_release" / "hw1.ipynb").read_text()
    nb = nbformat.reads(text, as_version=4)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "clean_room_verdict", "BEGIN TEST CONFIG"):
        assert marker not in text
    cases = [case for test in nb.metadata["otter"]["tests"].values() for suite in test["suites"] for case in suite["cases"]]
    assert cases and not any(case["hidden"] for case in cases)
    solutions = nbformat.read(built / "solutions" / "hw1.ipynb", as_version=4)
    secret = {l.strip() for c in solutions.cells if SOLUTION_TAG in c.metadata.get("tags", []) for l in solution_lines(c)}
    secret = {l for l in secret if len(l) >= 6}
    assert len(secret) > 20, "the solution cells were not found"
    visible = {l.strip() for c in nb.cells for l in c.source.splitlines()}
    leaked = sorted(secret & visible)
    assert not leaked, f"solution lines in the student release: {leaked[:5]}"


def test_zip_holds_the_grader_but_student_release_does_not(built):
    with zipfile.ZipFile(built / "autograder" / build.ZIP_NAME) as zf:
        names = zf.namelist()
        config = json.loads(zf.read("otter_config.json"))
    assert "hw1grader/checking.py" in names and "hw1grader/problems/p5/checks.py" in names and "hw1grader/plugin.py" in names
    assert config["plugins"] == [{"hw1grader.plugin.CleanRoom": {"hand_graded_points": 21}}]
    assert not list((built / "student_release").rglob("*.py"))


def test_zip_carries_the_data_and_the_lean_image(built):
    import gzip
    import hashlib

    from hw1grader import fmnist

    with zipfile.ZipFile(built / "autograder" / build.ZIP_NAME) as zf:
        names = set(zf.namelist())
        for name, digest in fmnist.EXTRACTED_SHA256.items():
            assert hashlib.sha256(gzip.decompress(zf.read(f"fashion-mnist/{name}.gz"))).hexdigest() == digest
        for name in build.ZIP_OVERRIDES:
            assert zf.read(name) == open(f"{REPO}/autograder/{name}", "rb").read(), f"{name} in the zip is not autograder/{name}"
    assert "environment.yml" not in names
    size_mb = (built / "autograder" / build.ZIP_NAME).stat().st_size / 2**20
    assert size_mb < 40, f"the zip is {size_mb:.0f} MB: the data should travel compressed"


def pdf_text(path):
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_solutions_pdf_is_rendered_from_the_committed_solutions(tmp_path):
    build.render_pdf(f"{REPO}/solutions/hw1.ipynb", tmp_path / build.SOLUTIONS_PDF)
    committed = open(f"{REPO}/solutions/{build.SOLUTIONS_PDF}", "rb").read()
    assert (tmp_path / build.SOLUTIONS_PDF).read_bytes() == committed, f"solutions/{build.SOLUTIONS_PDF} is stale: run `make release`"


def test_solutions_pdf_has_every_written_answer_typeset_and_the_plots():
    pdf = f"{REPO}/solutions/{build.SOLUTIONS_PDF}"
    text = pdf_text(pdf)
    for part in ("1(a)", "1(b)", "2(a)", "2(b)", "2(c)", "3(b)", "3(c)", "3(d)", "4(e)"):
        assert part in text, f"the written answer of {part} is missing"
    assert "∇" in text and "∑" in text and "‖" in text, "the equations are not typeset"
    for raw in ("$", "\\nabla", "\\sum", "\\frac", "BEGIN SOLUTION", "BEGIN PROMPT", 'grader.check("q'):
        assert raw not in text, f"{raw!r} left as text in the solutions PDF"
    solutions = nbformat.read(f"{REPO}/solutions/hw1.ipynb", as_version=4)
    plots = sum("image/png" in o.get("data", {}) for c in solutions.cells if c.cell_type == "code" for o in c.outputs)
    listed = subprocess.run(["pdfimages", "-list", pdf], capture_output=True, text=True, check=True).stdout
    images = sum(1 for line in listed.splitlines()[2:] if line.split()[2] == "image")
    assert plots >= 4 and images == plots, f"{images} images in the PDF for the {plots} plots of the reference"


def test_release_on_a_fresh_clone_changes_nothing(tmp_path):
    """`make release` on a clone of an unchanged commit leaves `git status` clean: the committed solutions
    were made from the committed sources (their digest says so), so they are not executed again, and the
    rest is rebuilt byte for byte."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", REPO, str(clone)], check=True)
    assert build.solutions_current(str(clone), str(clone)), \
        "solutions/ were not made from the committed sources (or predate their digest): run `make release` and commit"
    subprocess.run([sys.executable, "tools/build.py"], cwd=clone, check=True, capture_output=True)
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True).stdout
    assert status == "", f"make release changed the checkout:\n{status}"


def test_solution_sources_cover_what_the_outputs_depend_on():
    sources = build.solution_sources()
    for path in ("assignment/hw1.ipynb", "autograder/hw1grader/config.py", "autograder/hw1grader/fmnist.py",
                 "tools/build.py", "requirements.txt"):
        assert path in sources
    assert any(path.startswith("assignment/data/") for path in sources)
