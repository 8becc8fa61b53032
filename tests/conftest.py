"""Shared fixtures: one build of the releases per test worker, and grading with the built zip.

A grade runs a whole notebook (10 to 50 s of one core), so the suite's time is the number of grades: tests
share what they can, and those marked ``slow`` are started first, so that no long one is left to run
alone at the end while the other worker idles."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

# one thread per worker: `make test` runs two workers on two cores, and more threads only fight over them
# (a verdict of the fast layer took three times as long); the rooms set their own (config.thread_env)
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import jsonschema  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "autograder"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import build  # noqa: E402

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "gradescope_results.schema.json")) as f:
    GRADESCOPE_SCHEMA = json.load(f)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes a minute or so of one core; started before the others")
    config.addinivalue_line("markers", "fast: the fast layer (`make check`): no grade, seconds in all")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: otherwise as collected


def offline(command):
    """The command in a network namespace with only loopback (the kernel talks to otter over it), when
    we may make one: nothing it runs can download."""
    probe = subprocess.run(["unshare", "--net", "ip", "link", "set", "lo", "up"], capture_output=True) \
        if shutil.which("unshare") and shutil.which("ip") else None
    if probe is None or probe.returncode != 0:
        return command
    return ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "offline", *command]


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The releases built from assignment/ into a scratch folder (solutions not executed)."""
    out = tmp_path_factory.mktemp("built")
    build.build(str(out), run_solutions=False)
    return out


@pytest.fixture(scope="session")
def grade(built, tmp_path_factory):
    """grade(submission) -> results.json, graded offline with the built zip by `otter run`, or with
    intake=True by the package's entry point that first screens the upload as Gradescope's does."""
    zip_path = built / "autograder" / build.ZIP_NAME

    def run(submission, intake=False, readable=True):
        out = tmp_path_factory.mktemp("graded")
        otter = os.path.join(os.path.dirname(sys.executable), "otter")
        command = ([sys.executable, "-m", "hw1grader.run", "--autograder", str(zip_path), str(submission), "--out", str(out)]
                   if intake else [otter, "run", "-a", str(zip_path), str(submission), "-o", str(out)])
        proc = subprocess.run(offline(command), capture_output=True, text=True)
        results = out / "results.json"
        assert results.exists(), f"grading left no results.json:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        data = json.loads(results.read_text())
        jsonschema.validate(data, GRADESCOPE_SCHEMA)  # every result any test produces is one Gradescope accepts
        if readable:  # (an attack writes what it likes in its own public tests' messages)
            assert_readable(data)
        return data

    return run


@pytest.fixture(scope="session")
def whole(built, tmp_path_factory):
    """Whole notebooks graded without the walls (inprocess.Whole), with the public tests of the built zip."""
    from inprocess import Whole

    tests_dir = tmp_path_factory.mktemp("zip")
    with zipfile.ZipFile(built / "autograder" / build.ZIP_NAME) as z:
        z.extractall(tests_dir, [n for n in z.namelist() if n.startswith("tests/")])
    return Whole(str(tests_dir / "tests"), str(tmp_path_factory.mktemp("whole")))


@pytest.fixture(scope="session")
def full_marks(built):
    """{question: points} as the built autograder's tests give them (no grading needed to know them)."""
    release = nbformat.read(built / "student_release" / "hw1.ipynb", as_version=4)
    return {name: test["points"] for name, test in release.metadata.otter.tests.items()}


# What a student must never read on the results page: otter's doctest transcripts, tracebacks, and the
# grading machine's own paths
UNREADABLE = ("Trying:", "Expecting nothing", "Traceback", "doctest.py", "site-packages", "/tmp/", "/root/",
              "/usr/lib/", "/autograder/", REPO)


def assert_readable(results):
    texts = [results.get("output", "")] + [t.get("output", "") for t in results.get("tests", [])]
    found = {s for s in UNREADABLE for text in texts if s in text}
    assert not found, f"the results page shows {found}:\n" + "\n".join(texts)[:3000]


def scores(results):
    """{question: score} of the scored tests in a results.json."""
    return {t["name"]: t["score"] for t in results["tests"] if "score" in t}
