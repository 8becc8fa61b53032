"""The grading entry points: Gradescope's (``run_otter.py`` in the zip calls ``gradescope``) and the
local one (``python -m hw1grader.run --autograder ZIP SUBMISSION --out DIR``, behind ``make grade`` and
the batch regrade). Both screen the upload with ``intake`` and then grade with otter as usual.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import zipfile

from . import intake


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=4)


def gradescope(autograder_dir="/autograder"):
    from otter.run.run_autograder import main as run_autograder

    try:
        intake.prepare(os.path.join(autograder_dir, "submission"))
    except intake.Rejected as e:
        write_json(os.path.join(autograder_dir, "results", "results.json"),
                   intake.rejection(str(e), os.path.join(autograder_dir, "source", "tests")))
        return
    run_autograder(autograder_dir)


def local(autograder_zip, submission, out):
    """Grade one uploaded file (or folder of files) into out/results.json, like Gradescope would."""
    import otter.run

    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hw1-intake-") as upload:
        if os.path.isdir(submission):
            shutil.copytree(submission, upload, dirs_exist_ok=True)
        else:
            shutil.copy(submission, upload)
        try:
            notebook = intake.prepare(upload)
        except intake.Rejected as e:
            with tempfile.TemporaryDirectory() as tests, zipfile.ZipFile(autograder_zip) as zf:
                zf.extractall(tests, [n for n in zf.namelist() if n.startswith("tests/")])
                write_json(os.path.join(out, "results.json"), intake.rejection(str(e), os.path.join(tests, "tests")))
            return
        otter.run.main(notebook, autograder=autograder_zip, output_dir=out, no_logo=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Grade one submission with the autograder zip.")
    parser.add_argument("submission", help="the uploaded file: a notebook, an export zip, or anything else")
    parser.add_argument("--autograder", required=True, help="the autograder zip")
    parser.add_argument("--out", default="graded", help="folder for results.json")
    args = parser.parse_args(argv)
    local(args.autograder, args.submission, args.out)


if __name__ == "__main__":
    sys.exit(main())
