"""The grading entry points: Gradescope's (``run_otter.py`` in the zip calls ``gradescope``) and the
local one (``python -m hw1grader.run --autograder ZIP SUBMISSION --out DIR``, behind ``make grade`` and
the batch regrade). Both screen the upload with ``intake`` and then grade with otter as usual.

Whatever happens, a results.json is written: a refused upload scores 0 with intake's reason, and any
other exception (in intake, in otter, in the plugin) scores 0 with a short note for the student, while
the traceback goes to stderr for the instructor.
"""

import argparse
import json
import os
import stat
import sys
import tempfile
import traceback
import zipfile

from . import intake

# Gradescope's autograder output shows the instructor this marker before each traceback
TRACEBACK_MARK = "hw1grader: grading failed with this traceback (the student was told, and scored 0):"


def write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=4)


def failure_message(error, stage):
    return (f"the autograder ran into an error of its own ({type(error).__name__}) while {stage}, so nothing was "
            "graded. Submit your hw1.ipynb again (or the zip that grader.export() makes); if this message comes "
            "back, tell the course staff.")


def report_failure(error, stage, results_path, tests_dir):
    """Write the results of a grade that failed (every question 0, and why) and print the traceback."""
    print(TRACEBACK_MARK, file=sys.stderr)
    traceback.print_exception(error, file=sys.stderr)
    message = failure_message(error, stage)
    try:
        results = intake.rejection(message, tests_dir)
    except Exception:  # the tests themselves unreadable: the score still reaches the student
        traceback.print_exc(file=sys.stderr)
        results = {"score": 0, "output": f"Your submission could not be graded: {message}", "tests": []}
    write_json(results_path, results)


def graded(results_path):
    """Whether results_path holds the results of a grade that went through (otter's own error results
    are a single test named "Autograder Error")."""
    try:
        with open(results_path, encoding="utf-8") as f:
            results = json.load(f)
        return bool(results.get("tests")) and all(t.get("name") != "Autograder Error" for t in results["tests"])
    except (OSError, ValueError, AttributeError, TypeError):
        return False


def gradescope(autograder_dir="/autograder"):
    results_path = os.path.join(autograder_dir, "results", "results.json")
    tests_dir = os.path.join(autograder_dir, "source", "tests")
    try:
        intake.prepare(os.path.join(autograder_dir, "submission"))
    except intake.Rejected as e:
        write_json(results_path, intake.rejection(str(e), tests_dir))
        return
    except BaseException as e:
        report_failure(e, "reading your upload", results_path, tests_dir)
        if not isinstance(e, Exception):
            raise
        return
    try:
        from otter.run.run_autograder import main as run_autograder

        if os.path.lexists(results_path):
            os.unlink(results_path)
        run_autograder(autograder_dir)
    except BaseException as e:
        if graded(results_path):  # the grade was written; what failed came after it
            print(TRACEBACK_MARK.replace("(the student was told, and scored 0)", "(after the results were written)"),
                  file=sys.stderr)
            traceback.print_exception(e, file=sys.stderr)
        else:
            report_failure(e, "grading your notebook", results_path, tests_dir)
        if not isinstance(e, Exception):
            raise


def local(autograder_zip, submission, out):
    """Grade one uploaded file (or folder of files) into out/results.json, like Gradescope would."""
    os.makedirs(out, exist_ok=True)
    results_path = os.path.join(out, "results.json")
    scratch = tempfile.mkdtemp(prefix="hw1-intake-")
    tests_dir = os.path.join(scratch, "autograder-tests")
    try:
        try:
            upload = os.path.join(scratch, "submission")
            stage_upload(submission, upload)
            notebook = intake.prepare(upload)
        except BaseException as e:
            tests_from_zip(autograder_zip, tests_dir)
            if isinstance(e, intake.Rejected):
                write_json(results_path, intake.rejection(str(e), os.path.join(tests_dir, "tests")))
                return
            report_failure(e, "reading your upload", results_path, os.path.join(tests_dir, "tests"))
            if not isinstance(e, Exception):
                raise
            return
        try:
            import otter.run

            if os.path.lexists(results_path):
                os.unlink(results_path)
            otter.run.main(notebook, autograder=autograder_zip, output_dir=out, no_logo=True)
        except BaseException as e:
            if graded(results_path):
                traceback.print_exception(e, file=sys.stderr)
            else:
                tests_from_zip(autograder_zip, tests_dir)
                report_failure(e, "grading your notebook", results_path, os.path.join(tests_dir, "tests"))
            if not isinstance(e, Exception):
                raise
    finally:
        intake.remove_path(scratch)  # iterative: the upload's copy may be a deep tree
        try:
            intake.finish_removals()  # what the grade had no time to remove, now that the results are written
        except OSError:
            traceback.print_exc(file=sys.stderr)  # the results stand; the instructor sees what is left


def stage_upload(submission, upload):
    """Copy what was uploaded into the folder upload, as Gradescope puts it in /autograder/submission: a
    folder with copy_upload (no links followed, within limits), a file as one regular file. submission
    itself is the instructor's argument (a link to it is followed); nothing inside it is."""
    submission = os.path.realpath(submission)
    if os.path.isdir(submission):
        left_out = intake.copy_upload(submission, upload)
        if left_out:
            print(f"hw1grader: {intake.describe_left_out(left_out)}", file=sys.stderr)
        return
    os.mkdir(upload)
    name = os.path.basename(submission)
    fd = os.open(submission, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f_in:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise intake.Rejected(f"{name} is not a regular file. {intake.HOW_TO_FIX}")
        if info.st_size > intake.MAX_COPY_FILE_BYTES:
            raise intake.Rejected(f"{name} is larger than {intake.MAX_COPY_FILE_BYTES >> 20} MB. {intake.HOW_TO_FIX}")
        data = f_in.read(intake.MAX_COPY_FILE_BYTES + 1)
    if len(data) > intake.MAX_COPY_FILE_BYTES:
        raise intake.Rejected(f"{name} is larger than {intake.MAX_COPY_FILE_BYTES >> 20} MB. {intake.HOW_TO_FIX}")
    fd = os.open(os.path.join(upload, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as f_out:
        f_out.write(data)


def tests_from_zip(autograder_zip, tests_dir):
    """The autograder zip's tests/ (the questions and their points) into tests_dir/tests, once."""
    if os.path.isdir(tests_dir):
        return
    os.makedirs(tests_dir)
    try:
        with zipfile.ZipFile(autograder_zip) as zf:
            zf.extractall(tests_dir, [n for n in zf.namelist() if n.startswith("tests/") and ".." not in n.split("/")])
    except (OSError, zipfile.BadZipFile):
        traceback.print_exc(file=sys.stderr)  # the rejection then lists no question; its score is still 0


def main(argv=None):
    parser = argparse.ArgumentParser(description="Grade one submission with the autograder zip.")
    parser.add_argument("submission", help="the uploaded file: a notebook, an export zip, or anything else")
    parser.add_argument("--autograder", required=True, help="the autograder zip")
    parser.add_argument("--out", default="graded", help="folder for results.json")
    parser.add_argument("--quiet", action="store_true", help="do not print the results page")
    args = parser.parse_args(argv)
    local(args.autograder, args.submission, args.out)
    if not args.quiet:  # the page as the student will read it on Gradescope
        from . import feedback

        with open(os.path.join(args.out, "results.json"), encoding="utf-8") as f:
            feedback.render(json.load(f))


if __name__ == "__main__":
    sys.exit(main())
