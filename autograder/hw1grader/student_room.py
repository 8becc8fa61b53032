"""The student room: executes a submission's notebook and records its answers as plain numbers.

Run as ``python -m hw1grader.student_room NOTEBOOK RECORD_DIR --seed S`` with the submission's folder as
the working directory (its data files and ``tests/`` beside it). The notebook runs as Otter runs it:
NumPy and ``random`` seeded at the top of every code cell, errors recorded and execution going on.
After the last cell, two things are written to RECORD_DIR: ``public.json`` (the public tests' results,
shown to the student, worth no points) and one record per autograded question (``probes``).
Nothing written here is trusted: the clean room (``checks``) decides.
"""

import argparse
import glob
import json
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .config import CELL_TIMEOUT, PROBE_TIMEOUT

# otter's grading mode: grader.check reads tests/, and grader.export() and friends do nothing
SETUP_CELL = """\
from otter import Notebook as _hw1_Notebook
_hw1_Notebook.init_grading_mode("tests")
"""

RECORD_CELL = """\
import hw1grader.student_room as _hw1_room
_hw1_room.record(globals(), {record_dir!r})
"""


def seeded(source, seed):
    # the same intercell seeding as otter's GradingPreprocessor, so that grading matches otter's
    if seed is None or source.startswith("%%"):
        return source
    return f"import numpy as _hw1_np, random as _hw1_random\n_hw1_np.random.seed({seed}); _hw1_random.seed({seed})\n{source}"


def grading_notebook(path, record_dir, seed):
    nb = nbformat.read(path, as_version=4)
    cells = [nbformat.v4.new_code_cell(SETUP_CELL)]
    cells += [nbformat.v4.new_code_cell(seeded(c.source, seed)) for c in nb.cells if c.cell_type == "code"]
    cells.append(nbformat.v4.new_code_cell(RECORD_CELL.format(record_dir=os.path.abspath(record_dir))))
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def run(path, record_dir, seed):
    """Execute the notebook; a summary of what happened, for the student."""
    nb = grading_notebook(path, record_dir, seed)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": os.getcwd()}})
    try:
        client.execute()
    except CellTimeoutError:
        return f"A cell ran longer than {CELL_TIMEOUT} s and was stopped; later cells did not run."
    except DeadKernelError:
        return "The notebook's Python process died (often: out of memory); later cells did not run."
    errors = [o for c in nb.cells[1:-1] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        return f"{len(errors)} cell(s) raised an error, the first: {errors[0]['ename']}: {errors[0]['evalue']}"[:1000]
    return "All cells ran without error."


def record(ns, record_dir):
    """Runs in the student's kernel after the last cell: public tests, then every probe."""
    import signal

    import numpy as np

    from .probes import PROBES, ProbeError

    record_public_tests(ns, record_dir)

    def too_slow(signum, frame):
        raise ProbeError(f"took longer than {PROBE_TIMEOUT} s on the hidden inputs")

    signal.signal(signal.SIGALRM, too_slow)
    for question, probe in PROBES.items():
        signal.alarm(PROBE_TIMEOUT)
        try:
            np.savez(os.path.join(record_dir, f"{question}.npz"), **probe(ns))
        except ProbeError as e:
            write_text(os.path.join(record_dir, f"{question}.error.txt"), str(e))
        except Exception as e:
            write_text(os.path.join(record_dir, f"{question}.error.txt"), f"{type(e).__name__}: {e}")
        finally:
            signal.alarm(0)


def record_public_tests(ns, record_dir):
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    results = {}
    for path in sorted(glob.glob("tests/*.py")):
        test = create_test_file(path, NBMetadataConfig())
        test.run(ns)
        results[test.name] = [{"name": r.test_case.name, "passed": bool(r.passed), "message": r.message or ""}
                              for r in test.test_case_results if not r.test_case.hidden]
    write_text(os.path.join(record_dir, "public.json"), json.dumps(results))


def write_text(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("record_dir")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    summary = run(args.notebook, args.record_dir, args.seed)
    write_text(os.path.join(args.record_dir, "summary.txt"), summary)


if __name__ == "__main__":
    sys.exit(main())
