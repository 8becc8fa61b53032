"""The student room: executes a submission's notebook and records its answers as plain numbers.

Run as ``python -P -m hw1grader.student_room NOTEBOOK RECORD_DIR [--seed S]`` with the submission's
folder as the working directory (its data files and ``tests/`` beside it), inside the walls of
``sandbox``. The notebook runs as otter runs it (NumPy and ``random`` seeded at the top of every code
cell; a cell that raises does not stop the rest), within the limits of ``config``: a cell still running
when the time is spent is interrupted, and a cell that kills the Python process (``os._exit``, running
out of memory) is left out and the notebook run again without it. After the last cell, RECORD_DIR gets
``public.json`` (the public tests' results, for the student), one record per autograded question
answered in the kernel (``probing.probes("kernel")``), ``reads.json`` (the names each probe read) and
``summary.json`` (``Summary``: how the run went, cell by cell). Nothing written here is trusted: the
clean room decides.
"""

import argparse
import glob
import json
import os
import re
import resource
import shutil
import sys
import time

import nbformat

from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async, run_sync

from . import definitions
from .config import FONT_LISTS, MEMORY_LIMIT_MB, NOTEBOOK_TIMEOUT, RECORD_RESERVE

# otter's grading mode: grader.check reads tests/, and grader.export() and friends do nothing. The
# notebook's own file is not needed then, so otter.Notebook("hw1.ipynb") must not fail when the
# submission was saved under another name. IPython's exit() stops the kernel only after the cell has
# finished, so the death would be blamed on a later cell: it is made harmless instead.
SETUP_CELL = """\
from otter import Notebook as _hw1_Notebook
_hw1_Notebook.init_grading_mode("tests")
_hw1_Notebook._resolve_nb_path = lambda self, nb_path, fail_silently=False: None
get_ipython().ask_exit = lambda: print("exit() does nothing while grading: the notebook goes on.")
"""

RECORD_CELL = """\
import hw1grader.student_room as _hw1_room
_hw1_room.record(globals(), {record_dir!r})
"""

SUMMARY_FILE = "summary.json"
MESSAGE_CHARS = 2000  # of a public test's message (all the results page shows)
MAX_RERUNS = 3  # a notebook with more cells that kill Python than this is not graded further

TIMED_OUT = {"ename": "TimeoutError", "evalue": "this cell ran past the time limit and was interrupted",
             "traceback": []}


def seeded(source, seed):
    # the same intercell seeding as otter's GradingPreprocessor, so that grading matches otter's
    if seed is None or source.startswith("%%"):
        return source
    return f"import numpy as _hw1_np, random as _hw1_random\n_hw1_np.random.seed({seed}); _hw1_random.seed({seed})\n{source}"


def student_cells(path, seed):
    """The notebook's code cells, as the room runs them (seeded as otter seeds them)."""
    nb = nbformat.read(path, as_version=4)
    return [seeded(c.source, seed) for c in nb.cells if c.cell_type == "code"]


def first_line(source, limit=70):
    """How a student recognises a cell: its first line that is not blank."""
    line = next((l.strip() for l in source.splitlines() if l.strip()), "(an empty cell)")
    return line if len(line) <= limit else line[:limit - 1] + "…"


NOT_RUN = "NotRun"  # the error name of a cell left out because the notebook's time was spent


class RoomClient(NotebookClient):
    """nbclient's client, but a cell that would start after the deadline is not run (the record cell,
    last, always is): a notebook of many slow cells cannot take more than its time."""

    deadline = float("inf")

    async def async_execute(self, reset_kc=False, **kwargs):
        self.reset_execution_trackers()
        async with self.async_setup_kernel(**kwargs):
            await self.async_wait_for_reply(await ensure_async(self.kc.kernel_info()))
            for index, cell in enumerate(self.nb.cells):
                if index < len(self.nb.cells) - 1 and time.monotonic() > self.deadline:
                    cell.outputs = [nbformat.v4.new_output("error", ename=NOT_RUN, evalue="", traceback=[])]
                    continue
                await self.async_execute_cell(cell, index, execution_count=self.code_cells_executed + 1)
        return self.nb

    execute = run_sync(async_execute)


def execute(sources, record_dir, deadline):
    """Run the setup cell, the sources and the record cell. Returns the executed notebook and, when a
    cell killed the kernel, that cell's index in it (0 setup, 1.. sources, then the record cell)."""
    cells = [nbformat.v4.new_code_cell(s) for s in [SETUP_CELL, *sources, RECORD_CELL.format(record_dir=record_dir)]]
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    running = [None]

    def timeout(cell):
        if cell is cells[-1]:
            return RECORD_RESERVE
        return max(1, int(deadline - time.monotonic()))

    # shutdown_kernel="immediate": the kernel is killed once the record cell has run, rather than asked to
    # stop and waited for (nbclient's default, 2 to 3 s of a grade spent waiting)
    client = RoomClient(nb, kernel_name="python3", allow_errors=True, timeout_func=timeout, shutdown_kernel="immediate",
                        interrupt_on_timeout=True, error_on_timeout=TIMED_OUT,
                        on_cell_execute=lambda cell, cell_index: running.__setitem__(0, cell_index),
                        resources={"metadata": {"path": os.getcwd()}})
    client.deadline = deadline
    try:
        client.execute()
    except DeadKernelError:
        return nb, running[0]
    return nb, None


def error_of(cell):
    """'Name: message' of the error a cell stopped with (NOT_RUN for a cell left out), or None."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            if output["ename"] == NOT_RUN:
                return NOT_RUN
            if output["ename"] in ("KeyboardInterrupt", "TimeoutError"):
                return "it ran past the time limit and was interrupted"
            return f"{output['ename']}: {output['evalue']}"[:300]
    return None


def run(path, record_dir, seed, seconds=NOTEBOOK_TIMEOUT):
    """Execute the notebook (again without any cell that kills the kernel) in `seconds`; the summary."""
    deadline = time.monotonic() + seconds - RECORD_RESERVE
    try:
        originals = student_cells(path, None)
    except Exception as e:
        return {"notes": [f"it could not be read as a Jupyter notebook ({type(e).__name__})."], "failed": [], "ran": False}
    # a cell too long to be an answer is not run: compiling it alone would spend the kernel's memory
    too_long = {i: f"it is {len(s):,} characters long, more than the {definitions.MAX_CELL_CHARS:,} a cell may "
                   "hold, and was not run" for i, s in enumerate(originals) if len(s) > definitions.MAX_CELL_CHARS}
    sources = ["raise RuntimeError('this cell was not run: it is too long')" if i in too_long else seeded(s, seed)
               for i, s in enumerate(originals)]
    notes, left_out = [], []
    for attempt in range(MAX_RERUNS + 1):
        nb, killer = execute(sources, record_dir, deadline)
        if killer is None:
            break
        if killer == len(sources) + 1:
            notes.append("Python died while your answers were being checked on the hidden inputs (does a function "
                         "call exit?); the answers checked before that are graded.")
            break
        if not killer or time.monotonic() > deadline or attempt == MAX_RERUNS:
            notes.append("Python died before the notebook finished; nothing could be graded.")
            return {"notes": notes, "failed": [], "ran": False}
        left_out.append(killer - 1)
        notes.append(f"The cell `{first_line(originals[killer - 1])}` killed Python (out of memory, or it called exit), "
                     "so the notebook was run again without it.")
        sources[killer - 1] = "raise RuntimeError('this cell was left out: it killed the Python process')"
    failed, not_run = [], [i for i, cell in enumerate(nb.cells[1:-1]) if error_of(cell) == NOT_RUN]
    if not_run:
        notes.append(f"The notebook's time was spent: its last {len(not_run)} code cell(s), from "
                     f"`{first_line(originals[not_run[0]])}`, were not run.")
    for index, cell in enumerate(nb.cells[1:-1]):
        error = error_of(cell)
        if error == NOT_RUN:
            continue
        if error is not None:
            binds = sorted(set().union(*(s.binds for s in definitions.statements([originals[index]])))) \
                if index not in left_out else []
            if index in left_out:
                error = "it killed Python and was left out"
            failed.append({"cell": index, "line": first_line(originals[index]), "binds": binds,
                           "error": too_long.get(index, error)})
    record_error = error_of(nb.cells[-1])
    if record_error:
        notes.append(f"Recording your answers failed ({record_error}): the questions not recorded score 0.")
    return {"notes": notes, "failed": failed, "ran": True}


def record(ns, record_dir):
    """Runs in the student's kernel after the last cell: public tests, then every probe of the kernel."""
    from .probing import probes, run_probes

    record_public_tests(ns, record_dir)
    run_probes(ns, record_dir, probes("kernel"))


def record_public_tests(ns, record_dir):
    from otter.nbmeta_config import NBMetadataConfig
    from otter.test_files import create_test_file

    results = {}
    for path in sorted(glob.glob("tests/*.py")):
        test = create_test_file(path, NBMetadataConfig())
        test.run(ns)
        results[test.name] = [{"name": r.test_case.name, "passed": bool(r.passed),
                               "message": one_line(r.message or "")[:MESSAGE_CHARS]}
                              for r in test.test_case_results if not r.test_case.hidden]
    write_text(os.path.join(record_dir, "public.json"), json.dumps(results))


ERROR_LINE = re.compile(r"^\s*(\w+(?:Error|Exception|Exit|Interrupt))(?::[ \t]*(.*))?$", re.M)


def one_line(message):
    """A public test's result in one sentence, the words the student's notebook shows (its set-up cell
    shortens otter's messages the same way): "passed", or for a failed test its assertion's text, or the
    error's type and message; never the doctest transcript around it."""
    message = message.strip()
    if not message.startswith("❌"):
        return "passed"
    errors = ERROR_LINE.findall(message)
    if not errors:  # already one sentence (the notebook's set-up cell ran), or nothing to quote
        return message.removeprefix("❌").strip().split("\n")[-1] or "failed"
    kind, text = errors[-1]
    return text.strip() if kind == "AssertionError" and text.strip() else f"{kind}: {text.strip()}".rstrip(": ")


def write_text(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def start_with_font_lists():
    """Give matplotlib, in the room's own $MPLCONFIGDIR, the grader's lists of the machine's fonts (the
    folder FONT_LISTS beside this package): without one, its first import lists them again."""
    target = os.environ.get("MPLCONFIGDIR")
    source = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), FONT_LISTS)
    if not target or not os.path.isdir(source):
        return
    try:
        for name in os.listdir(source):
            if not os.path.exists(os.path.join(target, name)):
                shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
    except OSError:
        pass  # matplotlib lists them itself


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("record_dir")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--seconds", type=int, default=NOTEBOOK_TIMEOUT, help="the notebook's time, recording included")
    args = parser.parse_args(argv)
    start_with_font_lists()
    limit = MEMORY_LIMIT_MB << 20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))  # inherited by the kernel
    summary = run(args.notebook, args.record_dir, args.seed, args.seconds)
    write_text(os.path.join(args.record_dir, SUMMARY_FILE), json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
