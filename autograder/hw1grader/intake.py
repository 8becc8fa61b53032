"""Intake: turn what a student uploaded into one gradable notebook, or say clearly why it is not one.

Gradescope hands the autograder whatever was uploaded, as a folder: the notebook (under any name), the
zip that ``grader.export()`` makes (or its contents, where Gradescope unzipped it), a whole GitHub
repository, or files that are not a notebook at all. Everything in that folder is the student's, and
the grader runs as root: nothing here follows a symbolic link, trusts a declared size, recurses over
a tree the student made, or reads more than a limit allows.

- ``prepare(folder)`` makes the folder safe for otter (``screen``: no links, devices or FIFOs at its
  top, nothing where otter puts its tests), finds the one notebook (at the top, else in a zip at the
  top, else a few folders down), opens it as Jupyter would and writes it back, as a clean nbformat 4.5
  notebook, at the top of the folder; it returns that path, or raises ``Rejected`` with a message for
  the student. ``rejection(message, tests_dir)`` is the Gradescope result for that case (every
  question 0).
- ``copy_upload(src, dest)`` copies an upload folder for the student room: regular files and folders
  only, within limits; it returns what it left out.
- ``remove_path(path)`` removes a file or a tree of any depth without following links (within a time
  limit if asked: ``finish_removals()`` does the rest later).
"""

import ast
import contextlib
import glob
import itertools
import json
import lzma
import os
import re
import stat
import struct
import sys
import tempfile
import time
import zipfile
import zlib

import nbformat

ASSIGNMENT = "hw1"
HOW_TO_FIX = ("Submit the hw1.ipynb you worked in (File → Download in Jupyter or Colab), or the zip that "
              "the last cell, grader.export(), makes.")

# Limits, each checked before the work it bounds. The notebook the homework asks for is 65 kB blank and
# about 400 kB executed with its plots; an export zip holds it, the otter log and a PDF.
MAX_NOTEBOOK_BYTES = 50 << 20  # a notebook, uploaded or inside a zip: outputs of a long training still fit
# What a notebook's JSON may hold, counted on its text before it is parsed (parsed, a value costs 50-250
# bytes of memory, however few bytes it took): the release holds about 2,000 values, an executed
# notebook with a long training log some tens of thousands
MAX_NOTEBOOK_VALUES = 1_000_000
MAX_CELLS = 3_000  # the release has about 110 cells
MAX_TOP_ENTRIES = 10_000  # files and folders at the top of an upload (a repository's top holds dozens)
SEARCH_DEPTH = 2  # folders down where a notebook is looked for (a zipped folder: hw1/hw1.ipynb)
MAX_SEARCH_ENTRIES = 10_000  # entries looked at in that search
MAX_ZIPS = 10  # zip files at the top of an upload (each is checked before one is read)
MAX_ZIP_ENTRIES = 1_000  # an export zip holds 2 or 3; a zipped project folder a few hundred
MAX_ZIP_DIRECTORY_BYTES = 4 << 20  # a zip's list of entries, read before any entry (1,000 long names fit)
MAX_ZIP_EXPANDED = 500 << 20  # all entries of a zip, as declared (FashionMNIST with its .gz files: 85 MB)
MAX_ZIP_NAME_BYTES = 1024  # an entry's path inside a zip
MAX_DEPTH = 32  # folders inside folders: in a zip's entry names, and in a copy of an upload
MAX_COPY_ENTRIES = 10_000  # files and folders of an upload copied for the student room
MAX_COPY_BYTES = 200 << 20  # their bytes: a repository holding FashionMNIST and an executed notebook fits
MAX_COPY_FILE_BYTES = MAX_COPY_BYTES  # one file given to local grading

# folders no notebook is looked for in: Jupyter's checkpoints, macOS's resource forks, git's
IGNORED_FOLDERS = {"__MACOSX", ".ipynb_checkpoints", ".git"}
# names at the top of the folder that must not hold what the student put there: otter copies the
# autograder's tests into tests/ (it deletes what is there, and fails on a link or a file)
RESERVED = {"tests"}
# names otter opens or reads at the top of the folder: a folder (or anything but a regular file) there
# makes it fail; a regular .OTTER_LOG is deleted later, by the plugin (otter_hooks.forget_log)
MUST_BE_FILES = {"__init__.py", ".OTTER_LOG"}

ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
ZIP_METHOD_NAMES = {9: "Deflate64", 93: "Zstandard", 95: "XZ", 96: "JPEG", 97: "WavPack", 98: "PPMd",
                    99: "AES encryption"}
# a zip's "encrypted" and "strong encryption" flags
ZIP_ENCRYPTED, ZIP_STRONG_ENCRYPTION = 0x1, 0x40
CELL_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# the set-up cell of the released notebook (a code cell of every Homework 1 notebook)
GRADER_INIT = re.compile(r"otter\.Notebook\(\s*['\"]" + ASSIGNMENT + r"\.ipynb['\"]")
NOFOLLOW_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Rejected(Exception):
    """The upload holds no gradable Homework 1 notebook; the message is for the student."""


def prepare(folder):
    """The path of the one gradable notebook in folder, written there as a clean nbformat 4 notebook
    (from a notebook at the top, else from the zips at the top, else from the folders below), after
    ``screen`` made the folder safe for otter. Raises Rejected with a message for the student."""
    entries, taken_out = screen(folder)
    top = [e for e in entries if is_notebook_name(e.name) and e.is_file(follow_symlinks=False)]
    found = [(e.name, lambda e=e: read_regular(e.path, MAX_NOTEBOOK_BYTES, e.name)) for e in top]
    if not found:
        zips = [e for e in entries if e.name.lower().endswith(".zip") and not e.name.startswith(".") and e.is_file(follow_symlinks=False)]
        if len(zips) > MAX_ZIPS:
            raise Rejected(f"Your submission holds {len(zips)} zip files; submit only the one that grader.export() "
                           f"makes. {HOW_TO_FIX}")
        for e in zips:
            found += [(name, lambda e=e, name=name: read_zip_notebook(e.path, e.name, name))
                      for name in zip_notebooks(e.path, e.name)]
    if not found:
        found = [(os.path.relpath(path, folder), lambda path=path: read_regular(path, MAX_NOTEBOOK_BYTES, os.path.basename(path)))
                 for path in notebooks_below(entries)]
    if not found:
        names = sorted(e.name for e in entries)
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "") or "nothing"
        if taken_out:
            shown += "; left out: " + ", ".join(f"{name} ({reason})" for name, reason in taken_out[:5])
        raise Rejected(f"No Jupyter notebook (.ipynb) was found in your submission (it holds: {shown}). {HOW_TO_FIX}")
    if len(found) > 1:  # before reading any
        names = ", ".join(sorted(name for name, _ in found)[:10])
        raise Rejected(f"Your submission holds {len(found)} notebooks ({names}); submit only your hw1.ipynb.")
    name, read = found[0]
    notebook = clean_notebook(read(), os.path.basename(name.replace("\\", "/")))
    target = os.path.join(folder, gradable_name(name))
    write_notebook(notebook, target)
    for e in top:  # an upper-case .IPYNB, now written as .ipynb: otter must find one notebook only
        if e.path != target:
            os.unlink(e.path)
    return target


def is_notebook_name(name):
    return name.lower().endswith(".ipynb") and not name.startswith(".")


def gradable_name(name):
    """The name the gradable notebook is written under at the top of the folder: the upload's own name
    when it is a plain one, with the extension otter looks for (.ipynb, lower case)."""
    stem = os.path.basename(name.replace("\\", "/"))[:-len(".ipynb")]
    if not stem or stem.startswith(".") or len(stem.encode("utf-8", "replace")) > 200:
        stem = ASSIGNMENT
    return stem + ".ipynb"


# The upload folder


def screen(folder):
    """Make the top of the upload folder safe for otter, which works in it as root before grading.
    Symbolic links, devices, FIFOs and sockets are deleted (never followed); whatever is named tests
    (otter puts its tests there), and a folder where otter expects a file (.OTTER_LOG, __init__.py, a
    .ipynb), is moved out of the folder, unread, into a new folder beside it. Deeper entries stay as they
    are: ``copy_upload`` leaves them out of the student room's copy. Returns what is left at the top
    (os.DirEntry) and [(name, reason)] of what was taken out."""
    with os.scandir(folder) as it:
        entries = list(itertools.islice(it, MAX_TOP_ENTRIES + 1))
    if len(entries) > MAX_TOP_ENTRIES:
        raise Rejected(f"Your submission holds more than {MAX_TOP_ENTRIES:,} files. {HOW_TO_FIX}")
    kept, taken_out = [], []
    for e in sorted(entries, key=lambda e: e.name):
        mode = os.lstat(e.path).st_mode
        if stat.S_ISDIR(mode) and not (e.name in RESERVED or e.name in MUST_BE_FILES or e.name.lower().endswith(".ipynb")):
            kept.append(e)
        elif stat.S_ISREG(mode) and e.name not in RESERVED:
            kept.append(e)
        elif stat.S_ISDIR(mode):
            set_aside(e.path)
            taken_out.append((e.name, "a folder where the grader needs that name"))
        else:
            os.unlink(e.path)
            taken_out.append((e.name, "a symbolic link" if stat.S_ISLNK(mode) else
                              "a file where the grader needs that name" if stat.S_ISREG(mode) else
                              "not a regular file or folder"))
    for name, reason in taken_out:
        print(f"hw1grader intake: {name!r} left out of the submission ({reason})", file=sys.stderr)
    return kept, taken_out


def set_aside(path):
    """Move the folder path out of the upload, into a new folder beside the upload: nothing is read or
    followed, and it takes one rename, however deep or large the tree."""
    parent = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    aside = tempfile.mkdtemp(prefix=".hw1-set-aside-", dir=parent)
    os.rename(path, os.path.join(aside, "entry"))


def read_regular(path, limit, shown_name):
    """The bytes of a regular file, opened without following a link (nor blocking on a FIFO), at most limit."""
    fd = os.open(path, NOFOLLOW_READ)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Rejected(f"{shown_name} is not a regular file. {HOW_TO_FIX}")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Rejected(f"{shown_name} is larger than {size_text(limit)}: clear the outputs (Edit → Clear All "
                       "Outputs), save, and submit again.")
    return data


def notebooks_below(entries):
    """Paths of the notebooks in the shallowest level of folders below the top (at most SEARCH_DEPTH
    down) that holds any, looking at no more than MAX_SEARCH_ENTRIES entries and into no link, hidden
    or ignored folder. entries: the top of the folder (``screen``)."""
    level = [e.path for e in entries if e.is_dir(follow_symlinks=False) and searchable(e.name)]
    seen = 0
    for _ in range(SEARCH_DEPTH):
        below, found = [], []
        for directory in level:
            try:
                it = os.scandir(directory)
            except OSError:
                continue
            with it:
                for e in it:
                    seen += 1
                    if seen > MAX_SEARCH_ENTRIES:
                        return sorted(found)
                    if not searchable(e.name):
                        continue
                    if e.is_dir(follow_symlinks=False):
                        below.append(e.path)
                    elif is_notebook_name(e.name) and e.is_file(follow_symlinks=False):
                        found.append(e.path)
        if found:
            return sorted(found)
        level = below
    return []


def searchable(name):
    return not name.startswith(".") and name not in IGNORED_FOLDERS and name not in RESERVED


# Zip files


@contextlib.contextmanager
def open_zip(path, shown_name):
    """The zip at path (ZipFile) once its list of entries passed every check, read with limits checked
    before anything is decompressed; whatever goes wrong inside, a Rejected that says what."""
    def damaged(detail):
        return Rejected(f"{shown_name} could not be opened: {detail}. Make the zip again with grader.export(), "
                        f"or upload the .ipynb itself. {HOW_TO_FIX}")

    try:
        fd = os.open(path, NOFOLLOW_READ)
        with os.fdopen(fd, "rb") as f:
            # the end record says how long the list of entries is; ZipFile would read all of it at once.
            # _EndRecData is the function ZipFile itself uses, so that both see the same record.
            end = zipfile._EndRecData(f)
            if end is None:
                raise damaged("it is not a zip file, or it is cut short")
            if end[zipfile._ECD_SIZE] > MAX_ZIP_DIRECTORY_BYTES or end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ZIP_ENTRIES:
                raise Rejected(f"{shown_name} holds more than {MAX_ZIP_ENTRIES:,} files. {HOW_TO_FIX}")
            with zipfile.ZipFile(f) as zf:
                check_zip_entries(zf.infolist(), shown_name)
                yield zf
    except Rejected:
        raise
    except RuntimeError as e:  # what zipfile raises for an encrypted entry
        raise damaged(f"it is encrypted ({e})") from None
    except NotImplementedError as e:
        raise damaged(f"it uses a compression method this grader cannot read ({e})") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError,
            OverflowError, IndexError, KeyError, TypeError, struct.error) as e:
        raise damaged(f"it is damaged ({type(e).__name__}: {str(e)[:150]})") from None


def zip_notebooks(path, shown_name):
    """Names of the notebooks in a zip (grader.export() makes one): those of the shallowest folder that
    holds any (at most SEARCH_DEPTH down), outside hidden folders and __MACOSX. Only the zip's list of
    entries is read; a zip inside is never opened."""
    with open_zip(path, shown_name) as zf:
        names = [i.filename for i in zf.infolist() if zip_notebook(i.filename)]
        if not names:
            inner = [i.filename for i in zf.infolist() if i.filename.lower().endswith(".zip")]
            if inner:
                raise Rejected(f"{shown_name} holds another zip file ({inner[0][:100]}) but no notebook: a zip inside "
                               f"a zip is not opened. {HOW_TO_FIX}")
            return []
        depth = min(entry_depth(n) for n in names)
        return [n for n in names if entry_depth(n) == depth]


def read_zip_notebook(path, shown_name, name):
    """The bytes of one entry, at most MAX_NOTEBOOK_BYTES whatever its header says; zipfile checks its CRC."""
    too_large = Rejected(f"The notebook {name[:100]} in {shown_name} is larger than {size_text(MAX_NOTEBOOK_BYTES)}: "
                         "clear the outputs (Edit → Clear All Outputs), save, and submit again.")
    with open_zip(path, shown_name) as zf:
        info = zf.getinfo(name)
        if info.file_size > MAX_NOTEBOOK_BYTES:
            raise too_large
        blocks, size = [], 0
        with zf.open(info) as entry:
            while block := entry.read(1 << 20):
                size += len(block)
                if size > MAX_NOTEBOOK_BYTES:
                    raise too_large
                blocks.append(block)
        return b"".join(blocks)


def check_zip_entries(infos, shown_name):
    if len(infos) > MAX_ZIP_ENTRIES:
        raise Rejected(f"{shown_name} holds more than {MAX_ZIP_ENTRIES:,} files. {HOW_TO_FIX}")
    total = 0
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if (name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts
                or len(name.encode("utf-8", "replace")) > MAX_ZIP_NAME_BYTES):
            raise Rejected(f"{shown_name} holds a file whose name is not a plain path inside the zip ({name[:100]!r}). "
                           f"{HOW_TO_FIX}")
        if len(parts) > MAX_DEPTH:
            raise Rejected(f"{shown_name} holds folders nested more than {MAX_DEPTH} deep. {HOW_TO_FIX}")
        if info.flag_bits & (ZIP_ENCRYPTED | ZIP_STRONG_ENCRYPTION) or info.compress_type == 99:
            raise Rejected(f"{shown_name} is password-protected (its file {name[:100]} is encrypted), so it cannot be "
                           f"graded. Upload the zip that grader.export() makes, without a password, or the .ipynb itself.")
        if info.compress_type not in ZIP_METHODS:
            method = ZIP_METHOD_NAMES.get(info.compress_type, f"compression method {info.compress_type}")
            raise Rejected(f"{shown_name} was compressed with {method}, which this grader cannot open (its file "
                           f"{name[:100]}). Upload the zip that grader.export() makes, or the .ipynb itself.")
        total += info.file_size
    if total > MAX_ZIP_EXPANDED:
        raise Rejected(f"{shown_name} would expand to more than {size_text(MAX_ZIP_EXPANDED)}. {HOW_TO_FIX}")


def zip_notebook(name):
    parts = name.replace("\\", "/").split("/")
    return (is_notebook_name(parts[-1]) and len(parts) - 1 <= SEARCH_DEPTH
            and not any(p.startswith(".") or p in IGNORED_FOLDERS for p in parts[:-1]))


def entry_depth(name):
    return name.replace("\\", "/").count("/")


# The notebook


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
        raise Rejected(f"{name} is larger than {size_text(MAX_NOTEBOOK_BYTES)}: clear the outputs and submit again.")
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")  # as json.loads reads bytes: UTF-8 with
    except UnicodeDecodeError:                                        # or without a BOM, UTF-16 and 32 too
        raise Rejected(f"{name} is not a Jupyter notebook (it is not valid notebook JSON: it is not UTF-8 text). "
                       f"{HOW_TO_FIX}") from None
    if json_values(text) > MAX_NOTEBOOK_VALUES:
        raise Rejected(f"{name} holds more than {MAX_NOTEBOOK_VALUES:,} values (cells, lines, outputs): clear the "
                       f"outputs (Kernel, Restart & Clear Output), save, and submit again.")
    try:
        data = json.loads(text)
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
    if len(cells) > MAX_CELLS:
        raise Rejected(f"{name} has {len(cells):,} cells, more than the {MAX_CELLS:,} a notebook may have (the "
                       f"homework's has about 110). {HOW_TO_FIX}")
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


# a JSON string (escapes included), as one token: what is left between the strings is the structure
JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


def json_values(text):
    """An upper bound on the number of values in the JSON text, found without parsing it: each value of
    an array or object follows its opening bracket or a comma."""
    structure = JSON_STRING.sub("", text)
    return structure.count(",") + structure.count("[") + structure.count("{") + 1


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


# Copying and removing trees the student made


def copy_upload(src, dest):
    """Copy the upload folder src to dest, for the student room, and return what was left out.

    Contract:
    - src must be a real folder (not a link): ``OSError`` otherwise. dest must not exist
      (``FileExistsError``); its parent must, and is trusted. dest is created; the caller owns it.
    - Only regular files and folders are copied, with their names, as new files and folders (files 0644,
      folders 0755, owned by the caller; no times, owners or other mode bits). Nothing is followed or
      created as a link: every entry is opened relative to its folder's descriptor with O_NOFOLLOW.
    - Left out, and listed: symbolic links (to anything, dangling, loops), devices, FIFOs, sockets, files
      with more than one hard link, folders more than MAX_DEPTH (32) levels down, every entry after
      the first MAX_COPY_ENTRIES (10,000), files that would take the copy past MAX_COPY_BYTES (200 MB;
      sizes are counted as read, not as declared), and entries that cannot be read.
    - The walk is iterative (a tree thousands of folders deep costs nothing past MAX_DEPTH) and holds
      at most about three descriptors per level.
    - Returns [(path relative to src, reason)], in the order met; ``describe_left_out`` words it for a
      student. It raises only for src or dest themselves (or a full disk), never for what the upload holds.
    """
    src_fd = os.open(src, NOFOLLOW_DIR)
    try:
        os.mkdir(dest, 0o755)
        dest_fd = os.open(dest, NOFOLLOW_DIR)
        os.fchmod(dest_fd, 0o755)
    except BaseException:
        os.close(src_fd)
        raise
    left_out, budget = [], {"entries": MAX_COPY_ENTRIES, "bytes": MAX_COPY_BYTES}
    # one frame per folder being copied: (its fd, its copy's fd, its path, its depth, its names to go)
    stack = [(src_fd, dest_fd, "", 0, None)]
    try:
        while stack:
            sfd, dfd, prefix, depth, names = stack[-1]
            if names is None:
                try:
                    with os.scandir(sfd) as it:  # no more names than a copy may hold, and one
                        names = sorted(e.name for e in itertools.islice(it, MAX_COPY_ENTRIES + 1))
                except OSError as e:
                    left_out.append((prefix or ".", f"could not be read ({e.strerror})"))
                    names = []
                stack[-1] = (sfd, dfd, prefix, depth, iter(names))
                continue
            name = next(names, None)
            if name is None:
                stack.pop()
                os.close(sfd)
                os.close(dfd)
                continue
            rel = os.path.join(prefix, name)
            if budget["entries"] == 0:
                left_out.append((rel, f"past the {MAX_COPY_ENTRIES:,} files and folders a copy may hold: "
                                      "this and the rest were not copied"))
                break
            budget["entries"] -= 1
            folder = copy_entry(sfd, dfd, name, rel, depth, left_out, budget)
            if folder:
                stack.append((*folder, rel, depth + 1, None))
    finally:
        for sfd, dfd, *_ in stack:
            os.close(sfd)
            os.close(dfd)
    return left_out


def copy_entry(sfd, dfd, name, rel, depth, left_out, budget):
    """Copy one entry of the folder sfd into dfd; for a folder, returns (its fd, its copy's fd) to walk."""
    try:
        info = os.lstat(name, dir_fd=sfd)
    except OSError as e:
        left_out.append((rel, f"could not be read ({e.strerror})"))
        return None
    if stat.S_ISLNK(info.st_mode):
        left_out.append((rel, "a symbolic link"))
    elif stat.S_ISDIR(info.st_mode):
        if depth + 1 > MAX_DEPTH:
            left_out.append((rel, f"a folder more than {MAX_DEPTH} levels down"))
            return None
        try:
            sub = os.open(name, NOFOLLOW_DIR, dir_fd=sfd)
        except OSError as e:
            left_out.append((rel, f"could not be read ({e.strerror})"))
            return None
        try:
            os.mkdir(name, 0o755, dir_fd=dfd)
            copy = os.open(name, NOFOLLOW_DIR, dir_fd=dfd)
            os.fchmod(copy, 0o755)
            return sub, copy
        except BaseException:
            os.close(sub)
            raise
    elif stat.S_ISREG(info.st_mode):
        if info.st_nlink > 1:
            left_out.append((rel, "a hard link"))
        elif info.st_size > budget["bytes"]:
            left_out.append((rel, f"past the {size_text(MAX_COPY_BYTES)} a copy may hold"))
        else:
            reason = copy_file(sfd, dfd, name, budget)
            if reason:
                left_out.append((rel, reason))
    else:
        left_out.append((rel, "not a regular file or folder (a device, FIFO or socket)"))
    return None


def copy_file(sfd, dfd, name, budget):
    """Copy one regular file (bytes counted against the budget as read); the reason it was left out, if it was."""
    try:
        fd_in = os.open(name, NOFOLLOW_READ, dir_fd=sfd)
    except OSError as e:
        return f"could not be read ({e.strerror})"
    with os.fdopen(fd_in, "rb") as f_in:
        if not stat.S_ISREG(os.fstat(fd_in).st_mode):
            return "not a regular file or folder (a device, FIFO or socket)"
        fd_out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dfd)
        reason = None
        with os.fdopen(fd_out, "wb") as f_out:
            os.fchmod(fd_out, 0o644)
            while not reason:
                try:
                    block = f_in.read(1 << 20)
                except OSError as e:
                    reason = f"could not be read ({e.strerror})"
                    break
                if not block:
                    break
                if len(block) > budget["bytes"]:
                    reason = f"past the {size_text(MAX_COPY_BYTES)} a copy may hold"
                    break
                budget["bytes"] -= len(block)
                f_out.write(block)
    if reason:
        os.unlink(name, dir_fd=dfd)
    return reason


def size_text(n):
    return f"{n >> 20} MB" if n >= 1 << 20 else f"{n:,} bytes"


def describe_left_out(left_out, shown=5):
    """One sentence for the student about what copy_upload left out ('' when nothing was)."""
    if not left_out:
        return ""
    items = "; ".join(f"{path} ({reason})" for path, reason in left_out[:shown])
    more = f"; and {len(left_out) - shown} more" if len(left_out) > shown else ""
    return f"Left out of the copy of your upload that your notebook ran in: {items}{more}."


UNFINISHED = []  # removals that had no time to finish, as functions: finish_removals() calls them


def remove_path(path, until=None):
    """Remove path, whatever it is, never following a link. A folder is first renamed into a new folder
    beside it, then emptied iteratively: each folder's entries are moved up into that new folder (by
    rename) before the folder is removed, so any depth takes two descriptors and no recursion. With
    until (a time.monotonic() value), it stops then: path is gone, what it held waits in UNFINISHED."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return
    trash = tempfile.mkdtemp(prefix=".hw1-removing-", dir=os.path.dirname(os.path.abspath(path)))
    os.rename(path, os.path.join(trash, "0"))
    empty_trash(trash, until)


def empty_trash(trash, until=None):
    fd = os.open(trash, NOFOLLOW_DIR)
    moved = (f"{os.urandom(6).hex()}-{n}" for n in itertools.count())  # new names, in a resumed removal too
    try:
        while True:
            if until is not None and time.monotonic() > until:
                UNFINISHED.append(lambda: empty_trash(trash))
                return
            with os.scandir(fd) as it:
                names = [e.name for e in itertools.islice(it, 1000)]
            if not names:
                break
            for name in names:
                if not stat.S_ISDIR(os.lstat(name, dir_fd=fd).st_mode):
                    os.unlink(name, dir_fd=fd)
                    continue
                sub = os.open(name, NOFOLLOW_DIR, dir_fd=fd)
                try:
                    while True:
                        with os.scandir(sub) as it:
                            children = [e.name for e in itertools.islice(it, 1000)]
                        if not children:
                            break
                        for child in children:
                            os.rename(child, next(moved), src_dir_fd=sub, dst_dir_fd=fd)
                finally:
                    os.close(sub)
                os.rmdir(name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(trash)


def finish_removals():
    """Finish the removals that had no time (once the results are written)."""
    while UNFINISHED:
        UNFINISHED.pop()()


# Results


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
