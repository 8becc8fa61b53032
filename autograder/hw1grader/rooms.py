"""Running submitted code behind the walls of ``sandbox``: the judge (Problem 5's functions from the
submitted code, without torch) and then the student room (the whole notebook). Both leave records in
their own folder of the grade's scratch folder ("room"); this module starts them, watches them, ends
them and what they left anywhere, and hands their records to the clean room. One deadline covers both
(``Deadline``): the judge first, the room with what is left.

    room/lib       the room's library (sandbox.room_library)
    room/judge     the judge's folder: cells.json, the data of its hidden runs, and record/
    room/work      the submission's folder, copied (the notebook runs there)
    room/record    the student room's record
    room/home      HOME of the room's user (modes uid and bwrap as root)
"""

import json
import logging
import os
import subprocess
import sys
import time

import numpy as np

from . import fmnist, inputs, sandbox
from .config import (GRADE_RESERVE, GRADE_TIME_LIMIT, JUDGE_MEMORY_MB, JUDGE_TIMEOUT, NOTEBOOK_TIMEOUT,
                     RECORD_RESERVE, ROOM_GRACE, thread_env)
from .judge import CELLS_FILE
from .problems.p5 import inputs as p5_inputs
from .student_room import SUMMARY_FILE

log = logging.getLogger("hw1grader")

# what submitted code inherits of the grader's environment
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


class Deadline:
    """The grade's one deadline: GRADE_TIME_LIMIT from now, less GRADE_RESERVE for what follows the rooms."""

    def __init__(self, limit=GRADE_TIME_LIMIT, reserve=GRADE_RESERVE):
        self.end = time.monotonic() + limit - reserve

    def left(self):
        return max(0, self.end - time.monotonic())


def environment(hidden_seed, **extra):
    env = {k: v for k, v in os.environ.items() if k in PASSED_ENV or k.startswith("HW1_")}
    # Agg: figures are not rendered to PNG after each cell, as Jupyter's inline backend would; grading
    # reads no plot, and rendering them cost a second or more of every grade
    env.update(thread_env(), MPLBACKEND="Agg", **{inputs.ENV: str(hidden_seed)}, **extra)
    return env


def library(room):
    """The room's library, made once per grade."""
    folder = os.path.join(room, "lib")
    return folder if os.path.isdir(folder) else sandbox.room_library(folder)


def walled_uid(room_folder):
    """The uid that code of this folder runs as, in the modes that give it one; None otherwise."""
    if sandbox.mode() == "uid" or (sandbox.mode() == "bwrap" and sandbox.as_root()):
        return sandbox.room_uid(room_folder)
    return None


def run_walled(command, *, room, uid, groups, library, readable, writable, workdir, env, timeout, judge=False,
               memory_mb=None):
    """Run a command behind the walls as uid (None: as ourselves), with the room's library and `readable`
    folders to read and `writable` ones to write; (timed out, memory exceeded). Once it has ended,
    nothing it started is left running, and nothing its user made outside its folders is left."""
    if uid is not None:
        sandbox.hand_over(room, uid, writable=writable, readable=[library])
    full = sandbox.enclose(command, uid=uid, groups=groups, readable=readable, writable=writable, workdir=workdir,
                           judge=judge)
    starts_as = sandbox.as_user(uid, groups) if sandbox.mode() == "uid" else {}
    # what it prints goes to a file of the grader's: its end is shown to the instructor if things go wrong
    log_path = os.path.join(room, f"{os.path.basename(workdir)}.log")
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(full, cwd=workdir, env=env, start_new_session=True,
                                preexec_fn=sandbox.limits if uid is not None else sandbox.die_with_grader,
                                stdout=log_file, stderr=subprocess.STDOUT, **starts_as)
    watch = sandbox.Watch(proc, uid if sandbox.mode() != "process" else None, workdir,
                          **({"limit_mb": memory_mb} if memory_mb else {}))
    watch.start()
    timed_out = False
    try:
        proc.wait(timeout=max(1, timeout))
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        watch.stop()
        try:  # whatever it started, it ends now (inside bwrap, the namespace already ended it)
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait()
        if uid is not None:  # processes that left the session too; then the records are no longer theirs
            sandbox.end(uid)
            sandbox.remove_leftovers(uid)
            for folder in writable:
                sandbox.take_back(folder)
    if proc.returncode or timed_out or watch.exceeded:
        log.warning("%s ended with exit code %s%s%s; the end of its output:\n%s", command[-2:], proc.returncode,
                    ", out of time" if timed_out else "", f", {watch.exceeded}" if watch.exceeded else "",
                    tail(log_path))
    return timed_out, watch.exceeded


def tail(path, limit=4000):
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - limit))
        return f.read().decode("utf-8", errors="replace")


def read_small(path, limit=1 << 20):
    """The text of a small file a room wrote, or '' when there is none (or it is a link)."""
    from .checking import open_record

    try:
        with open_record(path) as f:
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def run_judge(code_cells, room, hidden_seed, deadline, grader_dirs=()):
    """Run the judge on the submitted code cells (in room/judge); notes for the summary."""
    judge_dir = os.path.join(room, "judge")
    record_dir = os.path.join(judge_dir, "record")
    os.makedirs(record_dir)
    with open(os.path.join(judge_dir, CELLS_FILE), "w", encoding="utf-8") as f:
        json.dump(list(code_cells), f)
    images, labels = p5_inputs.pick_training_subset(fmnist.read_checked("train-images-idx3-ubyte"),
                                                     fmnist.read_checked("train-labels-idx1-ubyte"))
    np.savez(os.path.join(judge_dir, p5_inputs.TRAINING_FILE), images=images, labels=labels)
    lib = library(room)
    uid = walled_uid(judge_dir)
    if sandbox.mode() == "uid":
        sandbox.close(grader_dirs)
        sandbox.close_packages_to_judge()
    readable = sandbox.judge_readable(lib) if sandbox.mode() == "bwrap" else [lib]
    timed_out, exceeded = run_walled(sandbox.judge_command(record_dir, lib), room=room, uid=uid, groups=[], library=lib,
                                     readable=readable, writable=[judge_dir], workdir=judge_dir,
                                     env=environment(hidden_seed, HOME=judge_dir), judge=True, memory_mb=JUDGE_MEMORY_MB,
                                     timeout=min(JUDGE_TIMEOUT, deadline.left()))
    if timed_out:
        return ["Problem 5's functions did not finish in the time they had on the hidden inputs and were stopped."]
    if exceeded:
        return [f"Problem 5's functions {exceeded} on the hidden inputs and were stopped."]
    return []


def run_student_room(notebook, room, seed, hidden_seed, deadline, grader_dirs=()):
    """Run the student room on a notebook (in room/work), with the time the deadline leaves; its summary
    (student_room), parsed defensively (the room wrote it)."""
    record_dir = os.path.join(room, "record")
    os.makedirs(record_dir)
    lib = library(room)
    workdir = os.path.dirname(notebook)
    seconds = int(min(NOTEBOOK_TIMEOUT, deadline.left() - ROOM_GRACE))
    if seconds <= RECORD_RESERVE:
        return {"notes": ["There was no time left to run the notebook."], "failed": [], "ran": False}
    # normpath: a Python named through a folder the room hides (autograder/../.venv) is still found;
    # -P: the submission's folder is not on the path, so a submitted hw1grader/ cannot stand in for this one
    command = [os.path.normpath(sys.executable), "-P", "-m", "hw1grader.student_room", notebook, record_dir, "--seconds", str(seconds)]
    if seed is not None:
        command += ["--seed", str(seed)]
    env = environment(hidden_seed, PYTHONPATH=lib)
    uid, writable = walled_uid(room), [workdir, record_dir]
    if uid is not None:
        home = os.path.join(room, "home")  # for Jupyter's connection files, IPython, matplotlib
        os.makedirs(home)
        writable.append(home)
        if sandbox.mode() == "uid":
            env.update(HOME=home, TMPDIR=home, MPLCONFIGDIR=home)
            sandbox.close(grader_dirs)
    timed_out, exceeded = run_walled(command, room=room, uid=uid, groups=[sandbox.ROOM_GROUP], library=lib,
                                     readable=[lib], writable=writable, workdir=workdir, env=env,
                                     timeout=seconds + ROOM_GRACE)
    if exceeded:
        return {"notes": [f"The notebook {exceeded}, and was stopped."], "failed": [], "ran": False}
    if timed_out:
        return {"notes": [f"It did not finish within the time limit ({seconds} s) and was stopped."],
                "failed": [], "ran": False}
    return parse_summary(read_small(os.path.join(record_dir, SUMMARY_FILE)))


def parse_summary(text):
    """The student room's summary, keeping only well-formed parts (it is the room's word, shown to the student)."""
    try:
        summary = json.loads(text)
    except (ValueError, RecursionError):
        summary = None
    if not isinstance(summary, dict):
        return {"notes": ["The notebook could not be run to its end."], "failed": [], "ran": False}
    strings = lambda v: [str(x)[:500] for x in v][:50] if isinstance(v, list) else []  # noqa: E731
    failed = [{"cell": f["cell"] if isinstance(f.get("cell"), int) else -1, "line": str(f.get("line", ""))[:100],
               "error": str(f.get("error", ""))[:300], "binds": strings(f.get("binds"))}
              for f in summary.get("failed", []) if isinstance(f, dict)][:100]
    return {"notes": strings(summary.get("notes")), "failed": failed, "ran": summary.get("ran") is True}
