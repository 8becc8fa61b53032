"""Intake, in-process and fast: every notebook Jupyter opens is graded (the corpus of notebook_variants/),
every bad upload is refused with a reason, and nothing in an upload makes the grader (root) follow a
link, write outside the submission, recurse without bound or read past a limit. The few end-to-end
grades of such uploads are in test_bad_submissions.py."""

import json
import os
import pathlib
import stat
import struct
import sys
import tempfile
import warnings
import zipfile

import nbformat
import pytest

from conftest import REPO
from hw1grader import fmnist, intake, otter_hooks, run, student_room

pytestmark = pytest.mark.fast  # in-process: intake alone, no grade

VARIANTS = os.path.join(REPO, "tests", "notebook_variants")
RELEASE = os.path.join(REPO, "student_release", "hw1.ipynb")


def release_bytes():
    with open(RELEASE, "rb") as f:
        return f.read()


def release_json():
    return json.loads(release_bytes())


def code_sources(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


RELEASE_CODE = code_sources(nbformat.reads(release_bytes().decode("utf-8"), as_version=4))


@pytest.fixture
def base(tmp_path):
    """A scratch folder, on tmpfs where there is one: the tests make trees 3,000 folders deep, and on a
    disk each rmdir can cost milliseconds. Removed at the end with intake.remove_path (pytest's own
    clean-up recurses, and would fail on them)."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        path = pathlib.Path(tempfile.mkdtemp(prefix="hw1-test-intake-", dir="/dev/shm"))
    else:
        path = tmp_path / "base"
        path.mkdir()
    yield path
    intake.remove_path(str(path))


@pytest.fixture
def upload(base):
    """An upload folder, with a sibling folder standing for everything outside it (nothing there may change)."""
    (base / "submission").mkdir()
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret").write_text("root's file")
    return base / "submission"


def outside_of(upload):
    return upload.parent / "outside"


def assert_outside_untouched(upload):
    outside = outside_of(upload)
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_text() == "root's file"


def read_strictly(path):
    """The notebook as every later stage reads it, with any nbformat warning an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    return nb


def assert_gradable(path, code=None):
    """What the student room and otter read of a prepared notebook: a valid nbformat 4.5 file, plain
    UTF-8 JSON, otter's metadata for hw1, and the given code cells (the release's) exactly."""
    raw = open(path, "rb").read()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    nb = read_strictly(path)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    assert all(not c.outputs and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    from otter.nbmeta_config import NBMetadataConfig
    assert NBMetadataConfig.from_notebook(nb).assignment_name == "hw1"
    assert nb.metadata.kernelspec.name == "python3"
    assert student_room.student_cells(str(path), None) == (RELEASE_CODE if code is None else code)
    return nb


# A. Every notebook Jupyter opens


@pytest.mark.parametrize("variant", sorted(f for f in os.listdir(VARIANTS) if f.endswith(".ipynb")))
def test_notebook_variant_is_accepted_with_its_code_cells_unchanged(variant, upload):
    raw = open(os.path.join(VARIANTS, variant), "rb").read()
    (upload / variant).write_bytes(raw)
    path = intake.prepare(str(upload))
    assert path == str(upload / variant)
    # what Jupyter itself reads of the file (with its BOM skipped): the same code, the same Markdown
    jupyter = nbformat.reads(raw.decode("utf-8-sig", "surrogatepass"), as_version=4)
    nb = assert_gradable(path, code_sources(jupyter))  # (the variants need not follow every edit of the release)
    markdown = [c.source for c in jupyter.cells if c.cell_type == "markdown"]
    assert [c.source for c in nb.cells if c.cell_type == "markdown"] == [
        s.encode("utf-8", "replace").decode("utf-8") for s in markdown]  # a lone surrogate becomes '?'


def test_corpus_holds_every_variant_of_its_script():
    """Every variant the script describes is in the corpus, and nothing else."""
    sys.path.insert(0, VARIANTS)
    try:
        import make_variants
    finally:
        sys.path.remove(VARIANTS)
    assert sorted(f"{n}.ipynb" for n in make_variants.VARIANTS) == sorted(
        f for f in os.listdir(VARIANTS) if f.endswith(".ipynb"))


def test_cell_ids_kept_when_valid_and_made_unique_otherwise(upload):
    nb = release_json()
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = ["keep-me", "keep-me", "bad id", "x" * 65][i % 4] if i < 4 else f"c{i}"
    (upload / "hw1.ipynb").write_text(json.dumps(nb))
    cells = assert_gradable(intake.prepare(str(upload))).cells
    ids = [c.id for c in cells]
    assert ids[0] == "keep-me" and ids[4:] == [f"c{i}" for i in range(4, len(cells))]
    assert len(set(ids)) == len(ids)


def test_clean_notebook_is_the_same_at_every_regrade():
    assert nbformat.writes(intake.clean_notebook(release_bytes(), "hw1.ipynb")) == \
        nbformat.writes(intake.clean_notebook(release_bytes(), "hw1.ipynb"))


def test_utf16_and_float_version_are_read():
    nb = release_json()
    nb["nbformat"] = 4.0
    for raw in (json.dumps(nb).encode("utf-16"), json.dumps(nb).encode()):
        assert code_sources(intake.clean_notebook(raw, "hw1.ipynb")) == RELEASE_CODE


def test_cells_without_metadata_and_odd_sources_are_read():
    """Beyond what Jupyter opens: cells with no metadata, a source that is not text."""
    nb = release_json()
    for cell in nb["cells"]:
        cell.pop("metadata")
    nb["cells"].append({"cell_type": "code", "source": ["x = ", 1]})
    nb["cells"].append("not a cell")
    clean = intake.clean_notebook(json.dumps(nb).encode(), "hw1.ipynb")
    assert code_sources(clean) == RELEASE_CODE + ["x = 1"]


def test_metadata_nested_too_deep_to_write_is_dropped():
    nb = release_json()
    deep = {}
    for _ in range(400):
        deep = {"d": deep}
    nb["cells"][0]["metadata"] = {"deep": deep, "tags": ["t"]}
    clean = intake.clean_notebook(json.dumps(nb).encode(), "hw1.ipynb")
    assert code_sources(clean) == RELEASE_CODE
    nbformat.validate(clean)


# what Jupyter cannot open, or not this assignment: refused, with a reason
def notebook_with(**changes):
    nb = release_json()
    nb.update(changes)
    return json.dumps(nb).encode()


def foreign_notebook():
    nb = release_json()
    nb["metadata"]["otter"]["assignment_name"] = "hw2"
    return json.dumps(nb).encode()


def stripped_foreign_notebook():
    nb = release_json()
    del nb["metadata"]["otter"]
    for cell in nb["cells"]:
        cell["source"] = [line.replace("hw1.ipynb", "hw2.ipynb") for line in cell["source"]]
    return json.dumps(nb).encode()


REFUSED = {
    "empty": (b"", "is empty"),
    "whitespace": (b" \n\r\n", "is empty"),
    "truncated": (b'{"cells": [', "not valid notebook JSON"),
    "pdf": (b"%PDF-1.4\n", "not valid notebook JSON"),
    "latin-1": ('{"cells": [], "x": "é"}'.encode("latin-1"), "not UTF-8"),
    "deeply nested JSON": (b"[" * 100_000 + b"]" * 100_000, "not valid notebook JSON"),
    "a list": (b"[1, 2, 3]", "not a valid Jupyter notebook"),
    "a number": (b"4", "not a valid Jupyter notebook"),
    "no version, no cells": (b'{"metadata": {}}', "not a valid Jupyter notebook"),
    "format 5": (notebook_with(nbformat=5), "notebook format 5"),
    "broken format 3": (notebook_with(nbformat=3, worksheets="x"), "could not be upgraded"),
    "cells not a list": (notebook_with(cells={"a": 1}), "no list of cells"),
    "another assignment": (foreign_notebook(), "'hw2'"),
    "no otter metadata, another set-up": (stripped_foreign_notebook(), "not the Homework 1 notebook"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_jupyter_cannot_open_is_refused_with_a_reason(case, upload):
    content, reason = REFUSED[case]
    (upload / "hw1.ipynb").write_bytes(content)
    with pytest.raises(intake.Rejected, match=reason.replace("(", r"\(")) as refused:
        intake.prepare(str(upload))
    assert "hw1.ipynb" in str(refused.value)


def test_notebook_past_the_size_limit_is_refused_before_it_is_parsed(upload, monkeypatch):
    monkeypatch.setattr(intake, "MAX_NOTEBOOK_BYTES", 10_000)
    (upload / "hw1.ipynb").write_bytes(release_bytes())
    with pytest.raises(intake.Rejected, match="clear the outputs"):
        intake.prepare(str(upload))


def test_notebook_of_too_many_values_is_refused_before_it_is_parsed(upload, monkeypatch):
    """A small file of many tiny values (cells, lines) would cost gigabytes parsed: counted on the text first."""
    nb = release_json()
    nb["cells"][0]["source"] = ["x"] * (intake.MAX_NOTEBOOK_VALUES + 1)
    (upload / "hw1.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("parsed before it was counted"))
    with pytest.raises(intake.Rejected, match="more than 1,000,000 values"):
        intake.prepare(str(upload))


def test_values_inside_strings_are_not_counted():
    text = r'{"a": "[,{,[", "b": ["x\\", "y\"z,"]}'  # the object, its 2 values, the array's 2
    assert json.loads(text) == {"a": "[,{,[", "b": ["x\\", 'y"z,']}
    assert intake.json_values(text) == 5


def test_notebook_of_too_many_cells_is_refused(upload):
    nb = release_json()
    nb["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": "x"}] * intake.MAX_CELLS
    (upload / "hw1.ipynb").write_text(json.dumps(nb))
    with pytest.raises(intake.Rejected, match="cells, more than the 3,000"):
        intake.prepare(str(upload))


def test_several_notebooks_are_refused_but_checkpoints_ignored(upload):
    (upload / ".ipynb_checkpoints").mkdir()
    (upload / ".ipynb_checkpoints" / "hw1-checkpoint.ipynb").write_bytes(release_bytes())
    (upload / "hw1.ipynb").write_bytes(release_bytes())
    assert_gradable(intake.prepare(str(upload)))
    (upload / "hw1 (1).ipynb").write_bytes(release_bytes())
    with pytest.raises(intake.Rejected, match="2 notebooks"):
        intake.prepare(str(upload))


# B. Zip files


def export_zip(path, entries=None, method=zipfile.ZIP_DEFLATED):
    """A zip like grader.export()'s: the notebook, otter's log, the PDF (or the given entries)."""
    entries = entries if entries is not None else {
        "hw1.ipynb": release_bytes(), ".OTTER_LOG": b"\x80not a log", "hw1.pdf": b"%PDF-1.4\n"}
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def patch_entries(path, flag=None, method=None, crc=None, file_size=None):
    """Rewrite fields of every entry's local header and central directory record, as another tool (or a
    damaged or crafted zip) would have written them."""
    data = bytearray(path.read_bytes())
    for signature, flag_at, method_at, crc_at, size_at in ((b"PK\x03\x04", 6, 8, 14, 22), (b"PK\x01\x02", 8, 10, 16, 24)):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            if flag is not None:
                data[at + flag_at:at + flag_at + 2] = struct.pack("<H", struct.unpack_from("<H", data, at + flag_at)[0] | flag)
            if method is not None:
                data[at + method_at:at + method_at + 2] = struct.pack("<H", method)
            if crc is not None:
                data[at + crc_at:at + crc_at + 4] = struct.pack("<I", crc)
            if file_size is not None:
                data[at + size_at:at + size_at + 4] = struct.pack("<I", file_size)
            start = at + 4
    path.write_bytes(bytes(data))
    return path


def test_export_zip_gives_its_notebook_and_nothing_else(upload):
    export_zip(upload / "hw1_2023_09_29T17_00_00.zip")
    path = intake.prepare(str(upload))
    assert_gradable(path)
    assert sorted(os.listdir(upload)) == ["hw1.ipynb", "hw1_2023_09_29T17_00_00.zip"]


def test_zipped_folder_from_macos_gives_its_notebook(upload):
    export_zip(upload / "hw1.zip", {"hw1/": b"", "hw1/hw1.ipynb": release_bytes(), "hw1/data/p3_dataset1.csv": b"1,2\n",
                                    "__MACOSX/hw1/._hw1.ipynb": b"\x00\x05\x16\x07",
                                    "hw1/.ipynb_checkpoints/hw1-checkpoint.ipynb": b"{}"})
    assert_gradable(intake.prepare(str(upload)))


def test_zip_holding_a_zip_and_the_notebook_gives_the_notebook(upload):
    inner = export_zip(upload.parent / "inner.zip")
    export_zip(upload / "outer.zip", {"inner.zip": inner.read_bytes(), "hw1.ipynb": release_bytes()})
    assert_gradable(intake.prepare(str(upload)))


def bomb(path, real_size=20 << 20):
    """A notebook entry of real_size bytes of spaces that deflate to almost nothing."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("hw1.ipynb", b" " * real_size)
    return path


def zip_case(case, path, monkeypatch):
    """Write the zip of a case to path; returns the part of the message that says what is wrong."""
    if case == "ZipCrypto":
        patch_entries(export_zip(path), flag=0x1)
        return "password-protected"
    if case == "strong encryption":
        patch_entries(export_zip(path), flag=0x41)
        return "password-protected"
    if case == "AES":
        patch_entries(export_zip(path), flag=0x1, method=99)
        return "password-protected"
    if case == "bad CRC":
        patch_entries(export_zip(path), crc=0x12345678)
        return "damaged"
    if case == "damaged deflate stream":
        data = bytearray(export_zip(path, {"hw1.ipynb": release_bytes()}).read_bytes())
        data[60:400] = b"\xff" * 340
        path.write_bytes(bytes(data))
        return "damaged"
    if case == "cut short":
        data = export_zip(path).read_bytes()
        path.write_bytes(data[:len(data) // 2])
        return "not a zip file"
    if case == "not a zip":
        path.write_bytes(b"PK\x03\x04 but nothing more" * 10)
        return "not a zip file"
    if case == "Deflate64":
        patch_entries(export_zip(path), method=9)
        return "Deflate64"
    if case == "PPMd":
        patch_entries(export_zip(path), method=98)
        return "PPMd"
    if case == "declared past the limit":
        monkeypatch.setattr(intake, "MAX_NOTEBOOK_BYTES", 1 << 20)
        bomb(path)
        return "larger than 1 MB"
    if case == "declared small, expands far (sizes lie)":
        monkeypatch.setattr(intake, "MAX_NOTEBOOK_BYTES", 1 << 20)
        patch_entries(bomb(path), file_size=1000)
        return "damaged"
    if case == "expands past the zip limit":
        monkeypatch.setattr(intake, "MAX_ZIP_EXPANDED", 10 << 20)
        export_zip(path, {"hw1.ipynb": release_bytes(), "data.bin": b"\0" * (11 << 20)})
        return "expand to more than 10 MB"
    if case == "many entries":
        monkeypatch.setattr(intake, "MAX_ZIP_ENTRIES", 20)
        export_zip(path, {"hw1.ipynb": release_bytes(), **{f"f{i}.txt": b"" for i in range(30)}})
        return "more than 20 files"
    if case == "end record claims 65,535 entries":
        data = bytearray(export_zip(path).read_bytes())
        end = data.rfind(b"PK\x05\x06")
        data[end + 8:end + 12] = struct.pack("<HH", 0xFFFF, 0xFFFF)
        path.write_bytes(bytes(data))
        return "more than 1,000 files"
    if case == "nested deep":
        export_zip(path, {"/".join(["d"] * 40) + "/hw1.ipynb": release_bytes()})
        return "nested more than 32 deep"
    if case in ("..", "absolute", "drive"):
        name = {"..": "../../etc/hw1.ipynb", "absolute": "/etc/hw1.ipynb", "drive": "C:\\hw1.ipynb"}[case]
        export_zip(path, {name: release_bytes()})
        return "not a plain path"
    if case == "only a zip inside":
        export_zip(path, {"inner.zip": export_zip(path.parent.parent / "inner.zip").read_bytes()})
        return "another zip file"
    if case == "two notebooks":
        export_zip(path, {"hw1.ipynb": release_bytes(), "hw1-v2.ipynb": release_bytes()})
        return "2 notebooks"
    if case == "bad UTF-8 name":
        patch_entries(export_zip(path, {"hw1\xe9.ipynb": release_bytes()}), flag=0x800)
        data = path.read_bytes().replace("hw1\xe9".encode("utf-8"), b"hw1\xff\xfe")
        path.write_bytes(data)
        return "damaged"
    raise AssertionError(case)


ZIP_CASES = ["ZipCrypto", "strong encryption", "AES", "bad CRC", "damaged deflate stream", "cut short", "not a zip",
             "Deflate64", "PPMd", "declared past the limit", "declared small, expands far (sizes lie)",
             "expands past the zip limit", "many entries", "end record claims 65,535 entries", "nested deep", "..",
             "absolute", "drive", "only a zip inside", "two notebooks", "bad UTF-8 name"]


@pytest.mark.parametrize("case", ZIP_CASES)
def test_bad_zip_is_refused_with_a_reason_and_nothing_extracted(case, upload, monkeypatch):
    reason = zip_case(case, upload / "hw1.zip", monkeypatch)
    with pytest.raises(intake.Rejected, match=reason) as refused:
        intake.prepare(str(upload))
    assert "hw1.zip" in str(refused.value) or "notebooks" in str(refused.value)
    assert os.listdir(upload) == ["hw1.zip"]
    assert_outside_untouched(upload)


def test_zip_limits_are_checked_before_zipfile_reads_the_entries(upload, monkeypatch):
    zip_case("end record claims 65,535 entries", upload / "hw1.zip", monkeypatch)
    monkeypatch.setattr(zipfile, "ZipFile", None)  # never reached
    with pytest.raises(intake.Rejected, match="more than 1,000 files"):
        intake.prepare(str(upload))


def test_several_zips_are_refused_before_any_is_opened(upload):
    for i in range(intake.MAX_ZIPS + 1):
        (upload / f"z{i}.zip").write_bytes(b"")
    with pytest.raises(intake.Rejected, match="zip files"):
        intake.prepare(str(upload))


# C. The upload folder


def make_deep(top, depth, name="d"):
    """A chain of depth folders under top, made relative to descriptors (its path is too long to name)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            below = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = below
        with open(os.open("leaf.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
            f.write("leaf")
    finally:
        os.close(fd)


def hostile_folder(upload):
    """A GitHub-style upload: the notebook beside every kind of entry that could turn the grader (root) on
    its machine."""
    outside = outside_of(upload)
    (upload / "hw1.ipynb").write_bytes(release_bytes())
    os.symlink(outside / "secret", upload / "notes.txt")
    os.symlink(outside, upload / "data")  # where otter copies the support files
    os.symlink("/etc", upload / "etc")
    os.symlink("loop", upload / "loop")
    os.symlink(outside / "missing", upload / "dangling")
    os.symlink(outside / "created-by-otter", upload / "__init__.py")  # otter appends to it
    os.symlink(outside, upload / "tests")  # otter deletes tests/ and copies its own
    os.mkfifo(upload / "fifo")
    (upload / ".OTTER_LOG").mkdir()
    make_deep(upload / ".OTTER_LOG", 50)
    (upload / "FashionMNIST").mkdir()
    os.symlink(outside, upload / "FashionMNIST" / "FashionMNIST")
    (upload / "src").mkdir()
    (upload / "src" / "helper.py").write_text("x = 1\n")
    os.symlink(outside / "secret", upload / "src" / "link.py")
    make_deep(upload / "src", 3000)
    if os.geteuid() == 0:
        os.mknod(upload / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))


def test_notebook_in_a_folder_is_found_and_written_at_the_top(upload):
    (upload / "homework" / "hw1").mkdir(parents=True)
    (upload / "homework" / "hw1" / "hw1.ipynb").write_bytes(release_bytes())
    (upload / "README.md").write_text("my repo")
    path = intake.prepare(str(upload))
    assert path == str(upload / "hw1.ipynb")
    assert_gradable(path)


def test_upper_case_extension_is_written_as_the_one_ipynb_otter_finds(upload):
    (upload / "HW1.IPYNB").write_bytes(release_bytes())
    path = intake.prepare(str(upload))
    assert os.listdir(upload) == ["HW1.ipynb"] and path == str(upload / "HW1.ipynb")


def test_hostile_folder_is_made_safe_for_otter_and_its_notebook_graded(upload):
    hostile_folder(upload)
    path = intake.prepare(str(upload))
    assert_gradable(path)
    top = {name: os.lstat(upload / name).st_mode for name in os.listdir(upload)}
    assert sorted(top) == ["FashionMNIST", "hw1.ipynb", "src"]  # .OTTER_LOG folder set aside, links gone
    assert all(stat.S_ISDIR(m) or stat.S_ISREG(m) for m in top.values())
    assert_outside_untouched(upload)


@pytest.mark.parametrize("kind", ["file", "folder", "link to a folder", "dangling link"])
def test_tests_entry_is_taken_out_whatever_it_is(kind, upload):
    (upload / "hw1.ipynb").write_bytes(release_bytes())
    tests = upload / "tests"
    if kind == "file":
        tests.write_text("x")
    elif kind == "folder":
        tests.mkdir()
        make_deep(tests, 3000)
    elif kind == "link to a folder":
        os.symlink(outside_of(upload), tests)
    else:
        os.symlink(outside_of(upload) / "nothing", tests)
    intake.prepare(str(upload))
    assert not os.path.lexists(tests)
    assert_outside_untouched(upload)


def test_only_links_is_refused_saying_what_was_left_out(upload):
    os.symlink(outside_of(upload) / "secret", upload / "hw1.ipynb")
    with pytest.raises(intake.Rejected, match=r"No Jupyter notebook.*hw1.ipynb \(a symbolic link\)"):
        intake.prepare(str(upload))
    assert_outside_untouched(upload)


def test_folder_named_like_a_notebook_is_taken_out(upload):
    (upload / "old.ipynb").mkdir()
    (upload / "hw1.ipynb").write_bytes(release_bytes())
    intake.prepare(str(upload))
    assert os.listdir(upload) == ["hw1.ipynb"]


def test_huge_number_of_files_is_refused_before_any_is_looked_at(upload, monkeypatch):
    monkeypatch.setattr(intake, "MAX_TOP_ENTRIES", 50)
    (upload / "hw1.ipynb").write_bytes(release_bytes())
    for i in range(60):
        os.symlink(outside_of(upload) / "secret", upload / f"link{i}")
    with pytest.raises(intake.Rejected, match="more than 50 files"):
        intake.prepare(str(upload))
    assert len(os.listdir(upload)) == 61  # untouched: refused before the work


# the copy for the student room


def tree(folder):
    """{relative path: 'dir' | file content} of a folder, checking that it holds only files and folders."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            assert stat.S_ISDIR(mode) or stat.S_ISREG(mode), path
            found[os.path.relpath(path, folder)] = "dir" if stat.S_ISDIR(mode) else open(path, "rb").read()
    return found


def test_copy_upload_copies_files_and_folders_and_lists_the_rest(upload, base):
    hostile_folder(upload)
    os.link(upload / "src" / "helper.py", upload / "src" / "hard.py")
    dest = base / "work"
    left_out = dict(intake.copy_upload(str(upload), str(dest)))
    copied = tree(dest)  # only files and folders, 32 levels of them
    assert max(p.count(os.sep) + 1 for p in copied) == 32 and not any(p.endswith("leaf.txt") for p in copied)
    assert (dest / "hw1.ipynb").read_bytes() == release_bytes()
    assert stat.S_IMODE(os.stat(dest / "hw1.ipynb").st_mode) == 0o644
    assert (dest / "FashionMNIST").is_dir() and not os.listdir(dest / "FashionMNIST")
    for name in ("notes.txt", "data", "etc", "loop", "dangling", "__init__.py", "tests", "src/link.py",
                 "FashionMNIST/FashionMNIST"):
        assert left_out[name] == "a symbolic link"
        assert not os.path.lexists(dest / name)
    assert left_out["fifo"].startswith("not a regular file")
    assert left_out["src/helper.py"] == left_out["src/hard.py"] == "a hard link"
    deep = os.path.join("src", *["d"] * 32)
    assert left_out[deep] == "a folder more than 32 levels down"
    assert os.path.isdir(dest / "src" / os.path.join(*["d"] * 31))
    assert left_out[os.path.join(".OTTER_LOG", *["d"] * 32)] == "a folder more than 32 levels down"
    if os.geteuid() == 0:
        assert left_out["null"].startswith("not a regular file")
    assert "helper.py" in intake.describe_left_out(list(left_out.items()), shown=100)
    assert_outside_untouched(upload)


def test_copy_upload_stops_at_its_limits(upload, base, monkeypatch):
    monkeypatch.setattr(intake, "MAX_COPY_ENTRIES", 10)
    monkeypatch.setattr(intake, "MAX_COPY_BYTES", 1000)
    (upload / "big.bin").write_bytes(b"x" * 1001)
    (upload / "a").write_bytes(b"x" * 600)
    (upload / "b").write_bytes(b"x" * 600)
    for i in range(8):  # 11 entries: all are listed (at most 10 + 1 are), in order of their names
        (upload / f"f{i:02}").write_text("")
    left_out = intake.copy_upload(str(upload), str(base / "work"))
    # in order of their names: a (600 bytes), b (600: past the budget), big.bin, then 7 more make 10 entries
    assert left_out[:2] == [("b", "past the 1,000 bytes a copy may hold"), ("big.bin", "past the 1,000 bytes a copy may hold")]
    assert sorted(os.listdir(base / "work")) == ["a"] + [f"f{i:02}" for i in range(7)]
    assert left_out[2:] == [("f07", "past the 10 files and folders a copy may hold: this and the rest were not copied")]


def test_copy_upload_contract_on_its_arguments(upload, base):
    (base / "work").mkdir()
    with pytest.raises(FileExistsError):
        intake.copy_upload(str(upload), str(base / "work"))
    os.symlink(upload, base / "link")
    with pytest.raises(OSError):
        intake.copy_upload(str(base / "link"), str(base / "work2"))
    assert not os.path.exists(base / "work2")


def test_remove_path_removes_any_depth_and_follows_nothing(upload):
    make_deep(upload, 3000)
    os.symlink(outside_of(upload), upload / "d" / "to-outside")
    intake.remove_path(str(upload / "d"))
    intake.remove_path(str(upload / "missing"))
    os.symlink(outside_of(upload), upload / "link")
    intake.remove_path(str(upload / "link"))
    assert os.listdir(upload) == []
    assert_outside_untouched(upload)


def test_remove_path_in_limited_time_leaves_the_rest_for_later(upload, monkeypatch):
    """A room's million files must not keep the results waiting: past its time, remove_path stops (the
    folder already out of the way) and finish_removals, run once the results are written, ends it."""
    monkeypatch.setattr(intake, "UNFINISHED", [])
    many = upload / "many"
    many.mkdir()
    for i in range(3000):
        (many / str(i)).touch()
    make_deep(many, 50)
    clock = iter([0, 2])  # time for one round of moves, then none: the removal resumes among its own moves
    with monkeypatch.context() as patched:
        patched.setattr(intake.time, "monotonic", lambda: next(clock, 2))
        intake.remove_path(str(many), until=1)
    assert not many.exists() and len(intake.UNFINISHED) == 1
    assert [name for name in os.listdir(upload) if name.startswith(".hw1-removing-")]
    intake.finish_removals()
    assert os.listdir(upload) == [] and intake.UNFINISHED == []
    assert_outside_untouched(upload)


# otter's log


@pytest.mark.parametrize("kind", ["file", "link to a file", "link to a folder", "deep folder", "FIFO"])
def test_forget_log_removes_the_log_whatever_it_is(kind, upload):
    log = upload / ".OTTER_LOG"
    outside = outside_of(upload)
    if kind == "file":
        log.write_bytes(b"\x80")
    elif kind == "link to a file":
        os.symlink(outside / "secret", log)
    elif kind == "link to a folder":
        os.symlink(outside, log)
    elif kind == "deep folder":
        log.mkdir()
        make_deep(log, 3000)
    else:
        os.mkfifo(log)
    otter_hooks.forget_log(str(upload))
    assert os.listdir(upload) == []
    assert_outside_untouched(upload)
    otter_hooks.forget_log(str(upload))  # no log: nothing to do


# FashionMNIST in the work folder


@pytest.fixture
def tiny_fmnist(tmp_path, monkeypatch):
    """fmnist's four files, as tiny stand-ins (seeding the real 55 MB is tested with the notebook)."""
    import gzip
    import hashlib

    source = tmp_path / "fmnist-source"
    source.mkdir()
    sums = {}
    for name in fmnist.EXTRACTED_SHA256:
        content = f"{name} contents".encode()
        with gzip.open(source / f"{name}.gz", "wb") as f:
            f.write(content)
        sums[name] = hashlib.sha256(content).hexdigest()
    monkeypatch.setenv("HW1_FMNIST_DIR", str(source))
    monkeypatch.setattr(fmnist, "EXTRACTED_SHA256", sums)
    return sums


def assert_seeded(work):
    raw = work / "FashionMNIST" / "FashionMNIST" / "raw"
    for path in (work / "FashionMNIST", work / "FashionMNIST" / "FashionMNIST", raw):
        assert stat.S_ISDIR(os.lstat(path).st_mode)
    assert sorted(os.listdir(raw)) == sorted(fmnist.EXTRACTED_SHA256)
    for name in fmnist.EXTRACTED_SHA256:
        assert stat.S_ISREG(os.lstat(raw / name).st_mode)
        assert (raw / name).read_bytes() == f"{name} contents".encode()


SEED_ATTACKS = {
    "FashionMNIST -> outside": ("FashionMNIST", "outside"),
    "FashionMNIST/FashionMNIST -> outside": ("FashionMNIST/FashionMNIST", "outside"),
    "raw -> outside": ("FashionMNIST/FashionMNIST/raw", "outside"),
    ".part -> outside file": ("FashionMNIST/FashionMNIST/raw/t10k-images-idx3-ubyte.part", "secret"),
    "IDX file -> outside file": ("FashionMNIST/FashionMNIST/raw/t10k-labels-idx1-ubyte", "secret"),
    "raw is a file": ("FashionMNIST/FashionMNIST/raw", None),
}


@pytest.mark.parametrize("attack", sorted(SEED_ATTACKS))
def test_seeding_replaces_what_the_upload_put_in_its_way(attack, upload, tiny_fmnist):
    where, target = SEED_ATTACKS[attack]
    path = upload / where
    path.parent.mkdir(parents=True, exist_ok=True)
    if target is None:
        path.write_text("in the way")
    else:
        os.symlink(outside_of(upload) / target if target == "secret" else outside_of(upload), path)
    fmnist.seed_for_notebook(str(upload))
    assert_seeded(upload)
    assert_outside_untouched(upload)


def test_seeding_keeps_good_files_and_replaces_folders_fifos_and_bad_ones(upload, tiny_fmnist):
    fmnist.seed_for_notebook(str(upload))
    raw = upload / "FashionMNIST" / "FashionMNIST" / "raw"
    kept = os.lstat(raw / "train-images-idx3-ubyte").st_ino
    (raw / "train-labels-idx1-ubyte").unlink()
    (raw / "train-labels-idx1-ubyte").mkdir()
    make_deep(raw / "train-labels-idx1-ubyte", 5)
    (raw / "t10k-images-idx3-ubyte").unlink()
    os.mkfifo(raw / "t10k-images-idx3-ubyte")
    (raw / "t10k-labels-idx1-ubyte").write_text("tampered")
    fmnist.seed_for_notebook(str(upload))
    assert_seeded(upload)
    assert os.lstat(raw / "train-images-idx3-ubyte").st_ino == kept


# D. run.py: a results.json whatever happens


@pytest.fixture
def autograder_dir(tmp_path):
    """/autograder as Gradescope lays it out, with two questions."""
    ag = tmp_path / "autograder"
    for sub in ("source/tests", "submission", "results"):
        (ag / sub).mkdir(parents=True)
    for name, points in (("q1", 2), ("q2", 3)):
        (ag / "source" / "tests" / f"{name}.py").write_text(
            f"OK_FORMAT = False\ntest = {{'name': {name!r}, 'points': {points}, 'suites': []}}\n")
    return ag


def gradescope_results(autograder_dir):
    with open(autograder_dir / "results" / "results.json", encoding="utf-8") as f:
        return json.load(f)


def failing(error):
    def fail(*args, **kwargs):
        raise error
    return fail


def test_rejected_upload_gets_its_reason(autograder_dir):
    (autograder_dir / "submission" / "hw1.ipynb").write_bytes(b"")
    run.gradescope(str(autograder_dir))
    results = gradescope_results(autograder_dir)
    assert results["score"] == 0 and "is empty" in results["output"]
    assert {t["name"]: t["score"] for t in results["tests"]} == {"q1": 0, "q2": 0}


@pytest.mark.parametrize("where", ["intake", "otter"])
def test_any_exception_still_gives_a_result_and_the_traceback(where, autograder_dir, monkeypatch, capsys):
    import otter.run.run_autograder

    (autograder_dir / "submission" / "hw1.ipynb").write_bytes(release_bytes())
    if where == "intake":
        monkeypatch.setattr(intake, "prepare", failing(KeyError("boom")))
    else:
        monkeypatch.setattr(otter.run.run_autograder, "main", failing(PermissionError("boom")))
    run.gradescope(str(autograder_dir))
    results = gradescope_results(autograder_dir)
    assert results["score"] == 0 and [t["score"] for t in results["tests"]] == [0, 0]
    assert "error of its own" in results["output"]
    assert ("reading your upload" if where == "intake" else "grading your notebook") in results["output"]
    assert "Traceback" in capsys.readouterr().err and "boom" not in results["output"]


def test_exit_from_otter_still_gives_a_result(autograder_dir, monkeypatch):
    import otter.run.run_autograder

    (autograder_dir / "submission" / "hw1.ipynb").write_bytes(release_bytes())
    monkeypatch.setattr(otter.run.run_autograder, "main", failing(SystemExit(1)))
    with pytest.raises(SystemExit):
        run.gradescope(str(autograder_dir))
    assert gradescope_results(autograder_dir)["score"] == 0


def test_a_grade_written_before_a_later_error_is_kept(autograder_dir, monkeypatch):
    import otter.run.run_autograder

    def grade_then_fail(autograder_dir):
        with open(os.path.join(autograder_dir, "results", "results.json"), "w") as f:
            json.dump({"tests": [{"name": "q1", "score": 2, "max_score": 2}]}, f)
        raise RuntimeError("after the results")

    (autograder_dir / "submission" / "hw1.ipynb").write_bytes(release_bytes())
    monkeypatch.setattr(otter.run.run_autograder, "main", grade_then_fail)
    run.gradescope(str(autograder_dir))
    assert gradescope_results(autograder_dir)["tests"][0]["score"] == 2


@pytest.fixture
def autograder_zip(tmp_path, autograder_dir):
    path = tmp_path / "autograder.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in ("q1.py", "q2.py"):
            zf.write(autograder_dir / "source" / "tests" / name, f"tests/{name}")
    return path


def test_local_copies_a_folder_without_following_links(upload, autograder_zip, tmp_path, monkeypatch):
    import otter.run

    hostile_folder(upload)
    graded = {}

    def fake_otter(notebook, autograder, output_dir, no_logo):
        graded["top"] = sorted(os.listdir(os.path.dirname(notebook)))
        graded["code"] = student_room.student_cells(notebook, None)
        with open(os.path.join(output_dir, "results.json"), "w") as f:
            json.dump({"tests": [{"name": "q1", "score": 2}]}, f)

    monkeypatch.setattr(otter.run, "main", fake_otter)
    run.local(str(autograder_zip), str(upload), str(tmp_path / "out"))
    assert graded["code"] == RELEASE_CODE
    assert graded["top"] == ["FashionMNIST", "hw1.ipynb", "src"]
    assert_outside_untouched(upload)
    assert os.path.islink(upload / "etc")  # the upload itself is left as it was


def test_local_gives_a_result_when_otter_fails(upload, autograder_zip, tmp_path, monkeypatch, capsys):
    import otter.run

    (upload / "hw1.ipynb").write_bytes(release_bytes())
    monkeypatch.setattr(otter.run, "main", failing(ValueError("boom")))
    run.local(str(autograder_zip), str(upload / "hw1.ipynb"), str(tmp_path / "out"))
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "error of its own (ValueError)" in results["output"] and len(results["tests"]) == 2
    assert "ValueError: boom" in capsys.readouterr().err


def test_local_refuses_a_fifo_without_blocking(upload, autograder_zip, tmp_path):
    os.mkfifo(upload / "hw1.ipynb")
    run.local(str(autograder_zip), str(upload / "hw1.ipynb"), str(tmp_path / "out"))
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert "not a regular file" in results["output"] and [t["score"] for t in results["tests"]] == [0, 0]
