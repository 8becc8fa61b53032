"""Benchmark: what grading one submission costs, against running the same notebook plainly, and the
Gradescope box that grading needs.

    python tools/bench.py [--repeat 3] [--notebook solutions/hw1.ipynb] [--autograder ZIP]

In one run, alternately: the notebook executed plainly (nbclient, in a folder with its data) and the
same notebook graded with the autograder zip (``otter run``: intake aside, everything Gradescope
does). For each: wall time, CPU time (user + system of every process involved) and peak memory (the
RSS of the whole process tree, sampled every 50 ms): medians over the repeats, the median of each
repeat's ratio graded / plain, and the kernel CPU time of each problem's cells in the plain run.

The box: each grade also measures the grader's own footprint (the peak RSS of every process of the
grade but the student's kernel) and the kernel's file-backed memory (torch's libraries, inside the
room's cap); with the room's cap (config.ROOM_MEMORY_MB, all its processes together), that gives the
most one grade can reach (box.needed_mb) and the smallest of Gradescope's boxes that holds it,
checked against tools/box.py. Which build of torch was measured is said: the CPU build (Gradescope's)
when this environment has it, else the one it has (``--python`` grades with another environment's).
Prints Markdown tables for BENCHMARKS.md.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import psutil

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "autograder"))
sys.path.insert(0, os.path.join(REPO, "tools"))
import box  # noqa: E402
from hw1grader import fmnist  # noqa: E402
from hw1grader.config import ROOM_MEMORY_MB, thread_env  # noqa: E402

# The plain run: the notebook as is (less grader.export(), which grading skips), with a cell before each "## Problem N" heading (and one at the end)
# that notes the kernel's CPU time, so that each problem's share can be reported.
PLAIN = """
import json, re, sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
cells = [nbformat.v4.new_code_cell("import time as _t; _cpu = [('start', _t.process_time())]")]
for cell in nb.cells:
    heading = re.search(r"^## (Problem \\d+)", cell.source, re.M) if cell.cell_type == "markdown" else None
    if heading:
        cells.append(nbformat.v4.new_code_cell(f"_cpu.append(({heading.group(1)!r}, _t.process_time()))"))
    if "grader.export(" not in cell.source:  # exporting re-runs the whole notebook; grading skips it too
        cells.append(cell)
cells.append(nbformat.v4.new_code_cell("_cpu.append(('end', _t.process_time())); print(__import__('json').dumps(_cpu))"))
nb.cells = cells
NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
marks = json.loads(nb.cells[-1].outputs[0]["text"])
with open(sys.argv[3], "w") as f:
    json.dump({('setup' if a[0] == 'start' else a[0]): b[1] - a[1] for a, b in zip(marks, marks[1:])}, f)
"""


def is_kernel(process):
    return any("ipykernel_launcher" in arg for arg in process.cmdline())


def measure(command, cwd, parts=None):
    """(wall s, CPU s, peak tree RSS MB) of a command and everything it starts.

    The tree is sampled every 50 ms: CPU is each process's last-seen user + system time (processes
    killed inside the sandbox's namespace are never reaped into anyone's rusage), memory the sum of RSS.
    With parts (a dict), also the peaks the box is derived from: "grader" (the tree less the student's
    kernel, while the kernel runs: what is held beside a kernel that fills its cap) and "kernel_file" (the
    kernel's file-backed and shared pages, which its memory cap does not count).
    """
    start = time.monotonic()
    # both runs with the threads the student room gets, so that the ratio is grading's own overhead
    proc = subprocess.Popen(command, cwd=cwd, env={**os.environ, **thread_env()},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root, peak, cpu = psutil.Process(proc.pid), 0, {}
    grader_peak = kernel_file_peak = 0
    while proc.poll() is None:
        rss = kernel_rss = kernel_file = kernels = 0
        for p in [root, *root.children(recursive=True)]:
            try:
                with p.oneshot():
                    t = p.cpu_times()
                    cpu[(p.pid, p.create_time())] = t.user + t.system
                    memory = p.memory_info()
                    rss += memory.rss
                    if parts is not None and is_kernel(p):
                        kernels += 1
                        kernel_rss += memory.rss
                        kernel_file += memory.shared  # RssFile + RssShmem
            except psutil.Error:
                pass
        peak = max(peak, rss)
        if kernels:
            grader_peak = max(grader_peak, rss - kernel_rss)
        kernel_file_peak = max(kernel_file_peak, kernel_file)
        time.sleep(0.05)
    wall = time.monotonic() - start
    if proc.returncode:
        raise RuntimeError(f"{command[:3]} failed with exit code {proc.returncode}")
    if parts is not None:
        parts.update(grader=grader_peak / 2**20, kernel_file=kernel_file_peak / 2**20)
    return wall, sum(cpu.values()), peak / 2**20


def plain_run(notebook):
    """measure() of the plain run, and {problem: kernel CPU s}."""
    work = tempfile.mkdtemp(prefix="hw1-bench-")
    shutil.copytree(os.path.join(REPO, "assignment", "data"), os.path.join(work, "data"))
    fmnist.seed_for_notebook(work)
    shutil.copy(notebook, work)
    per_problem = os.path.join(work, "per_problem.json")
    try:
        figures = measure([sys.executable, "-c", PLAIN, os.path.join(work, os.path.basename(notebook)), work, per_problem], work)
        with open(per_problem) as f:
            return figures, json.load(f)
    finally:
        shutil.rmtree(work)


def graded_run(notebook, autograder, python, parts):
    out = tempfile.mkdtemp(prefix="hw1-bench-out-")
    otter = os.path.join(os.path.dirname(python), "otter")
    try:
        return measure([otter, "run", "-a", autograder, notebook, "-o", out], out, parts)
    finally:
        shutil.rmtree(out)


def torch_build(python):
    """(is the CPU build, what to call it) of the torch that python imports."""
    code = "import torch; print(torch.__version__, torch.version.cuda or '')"
    version, _, cuda = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.partition(" ")
    cuda = cuda.strip()
    if cuda:
        return False, f"torch {version}, the CUDA {cuda} build run on the CPU"
    return True, f"torch {version}, the CPU build"


def cpu_build_note(python):
    """Why the CPU build was not measured: whether pip can find it here at all."""
    code = "import torch, torchvision; print(torch.__version__.split('+')[0], torchvision.__version__.split('+')[0])"
    torch_version, vision_version = subprocess.run([python, "-c", code], capture_output=True, text=True,
                                                   check=True).stdout.split()
    with tempfile.TemporaryDirectory() as scratch:
        found = subprocess.run([python, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", scratch,
                                f"torch=={torch_version}+cpu", f"torchvision=={vision_version}+cpu"],
                               capture_output=True, timeout=300).returncode == 0
    if found:
        return (f"the CPU build (torch=={torch_version}+cpu) is installable here: install it in a venv and run "
                "bench with --python that venv's python to measure Gradescope's build")
    return (f"the CPU build of torch {torch_version} with a torchvision {vision_version} is not installable here "
            "(pip finds no +cpu wheels of them)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--notebook", default=os.path.join(REPO, "solutions", "hw1.ipynb"))
    parser.add_argument("--autograder", default=os.path.join(REPO, "autograder", "hw1-autograder.zip"))
    parser.add_argument("--python", default=sys.executable,
                        help="the Python of the environment that grades (default: this one)")
    args = parser.parse_args(argv)

    runs, problems, parts = {"plain": [], "graded": []}, [], []
    for i in range(args.repeat):
        figures, per_problem = plain_run(args.notebook)
        runs["plain"].append(figures)
        problems.append(per_problem)
        parts.append({})
        runs["graded"].append(graded_run(args.notebook, args.autograder, args.python, parts[-1]))
        (plain_wall, plain_cpu, _), (graded_wall, graded_cpu, _) = runs["plain"][-1], runs["graded"][-1]
        print(f"run {i + 1}/{args.repeat}: plain {plain_wall:.1f} s ({plain_cpu:.1f} s CPU), graded {graded_wall:.1f} s "
              f"({graded_cpu:.1f} s CPU): CPU ratio {graded_cpu / plain_cpu:.2f}", file=sys.stderr)

    med = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in runs.items()}
    print(f"Medians of {args.repeat} runs, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}:\n")
    print("| run | wall (s) | CPU (s) | peak memory, process tree (MB) |")
    print("|---|---|---|---|")
    for k in ("plain", "graded"):
        print(f"| {k} | {med[k][0]:.1f} | {med[k][1]:.1f} | {med[k][2]:.0f} |")
    # each graded run over the plain run just before it: the machine's drift between repeats cancels
    ratios = [statistics.median(g[i] / p[i] for g, p in zip(runs["graded"], runs["plain"])) for i in range(3)]
    print(f"| graded / plain (median of the {args.repeat} paired ratios) | {ratios[0]:.2f} | {ratios[1]:.2f} | {ratios[2]:.2f} |")
    print("\nKernel CPU time of each problem's cells in the plain run (medians, s):\n")
    print("| " + " | ".join(problems[0]) + " |")
    print("|" + "---|" * len(problems[0]))
    print("| " + " | ".join(f"{statistics.median(p[k] for p in problems):.1f}" for k in problems[0]) + " |")
    report_box(med["graded"][2], parts, args.python)


def report_box(grade_peak, parts, python):
    """The box grading needs, derived from the measured peaks and the student room's cap."""
    cpu, build = torch_build(python)
    grader = statistics.median(p["grader"] for p in parts)
    kernel_file = statistics.median(p["kernel_file"] for p in parts)
    needed = box.needed_mb(grade_peak, ROOM_MEMORY_MB, grader)
    derived = box.smallest_box(needed)
    print(f"\nThe Gradescope box, measured with {build}" + ("" if cpu else f": {cpu_build_note(python)}") + ".\n")
    print("| what | MB |")
    print("|---|---|")
    print(f"| peak of the reference's grade (process tree) | {grade_peak:.0f} |")
    print(f"| the grader's own footprint beside the kernel (the grade less the kernel, peak) | {grader:.0f} |")
    print(f"| the kernel's file-backed memory (libraries, peak; inside the room's cap) | {kernel_file:.0f} |")
    print(f"| the student room's cap, all its processes together (`ROOM_MEMORY_MB`) | {ROOM_MEMORY_MB} |")
    print(f"| needed: max(peak, room's cap + footprint) + {box.HEADROOM:.0%} | {needed:.0f} |")
    verdict = ("the box of tools/box.py" if derived == box.BOX else
               f"NOT the box of tools/box.py ({box.label()}): change BOX there, and the README")
    print(f"\nSmallest Gradescope box that holds it: **{box.label(derived) if derived else 'none'}**, {verdict}.")

if __name__ == "__main__":
    main()
