"""The judge: the functions of problems graded without automatic differentiation (Problem 5), defined
again from the submitted code alone and run where no such library exists.

The student room runs the whole notebook, torch and all; a submission there could reach autograd in
countless ways (an import spelled otherwise, a later cell that rebinds a function, a magic, a module it
writes and imports). The judge does not look at the notebook's kernel at all. It reads the code cells
as submitted, keeps the statements that define the graded functions and what they use
(``definitions.needed``: the last definition of each name, as a top-to-bottom run leaves it), runs
them in a fresh namespace, and records what the problem's probes find, as the student room does for
the other problems. Its walls (``sandbox.judge_command``) give it a Python with the standard library
and only the judge's own packages (NumPy, SciPy, tqdm: ``JUDGE_PACKAGES``); before any submitted code
runs, it confines itself further: Landlock (``landlock``) leaves it nothing to read but those and
nothing to write but its folder, and a seccomp filter (``seccomp``) no network and no way to start a
process or a program. It runs before the student room, so nothing the room leaves can reach it.

    python -I -S -c BOOTSTRAP RECORD_DIR     (in a folder holding cells.json and the problem's data)
"""

import ast
import builtins
import json
import os
import resource
import sys
import sysconfig

from . import definitions, landlock, probing, problems, seccomp
from .config import JUDGE_MEMORY_MB

CELLS_FILE = "cells.json"
# what the judge's Python can import besides the standard library (sandbox.judge_site gathers them)
JUDGE_PACKAGES = ("numpy", "scipy", "tqdm")
STATEMENT_TIMEOUT = 10  # seconds for one submitted top-level statement (a definition takes microseconds)


def judged_probes():
    """[(names to define, {question: probe})], one pair per problem whose probes.py declares JUDGED_FROM."""
    judged = probing.probes("judge")
    return [(module.JUDGED_FROM, {q: fn for q, fn in judged.items() if fn.__module__ == module.__name__})
            for module in problems.modules("probes") if getattr(module, "JUDGED_FROM", None)]


def namespace(cells, names):
    """A fresh namespace holding the submitted definitions of `names` (and of what they use), and the
    errors the statements raised, as (first line, message)."""
    import signal

    ns = {"__name__": "__main__", "__builtins__": builtins}
    errors = []
    chosen, _ = definitions.needed(cells, names)

    def too_slow(signum, frame):
        raise TimeoutError(f"this statement took longer than {STATEMENT_TIMEOUT} s")

    signal.signal(signal.SIGALRM, too_slow)
    for statement in chosen:
        signal.alarm(STATEMENT_TIMEOUT)
        try:
            exec(compile(ast.Module(body=[statement.node], type_ignores=[]), f"<code cell {statement.cell + 1}>",
                         "exec"), ns)
        except BaseException as e:  # noqa: BLE001  the submission's error, recorded; the judge goes on
            first = statement.source.split("\n", 1)[0][:80]
            errors.append((first, f"{type(e).__name__}: {e}"[:300]))
        finally:
            signal.alarm(0)
    return ns, errors


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    record_dir = argv[0]
    limit = JUDGE_MEMORY_MB << 20
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    with open(CELLS_FILE, encoding="utf-8") as f:
        cells = [c for c in json.load(f) if isinstance(c, str)]
    probes_of = judged_probes()  # imported now, NumPy with them, while every file can still be read
    confined = landlock.restrict(readable=readable_paths(), writable=[os.getcwd(), "/dev/null"])
    confined = seccomp.install() and confined
    for names, probes in probes_of:
        ns, errors = namespace(cells, names)
        notes = [f"`{line}` raised {error}" for line, error in errors]
        probing.run_probes(ns, record_dir, probes, notes=notes)
    if not confined:
        print("hw1grader judge: Landlock or seccomp is not available on this machine", file=sys.stderr)


def readable_paths():
    """What the judge may read once confined: its import path (the room's library, its packages, the
    standard library) and the machine's shared libraries (a package may load one when first imported)."""
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    system = [f"/usr/lib/{multiarch}", f"/lib/{multiarch}", "/lib64", "/usr/lib64", "/etc/ld.so.cache"]
    return [p for p in sys.path if p] + [p for p in system if multiarch or not p.endswith("/")]


if __name__ == "__main__":
    sys.exit(main())
