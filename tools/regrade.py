"""Regrade a folder of submissions (e.g. a Gradescope export) into a CSV of per-question scores.

    python tools/regrade.py SUBMISSIONS_DIR [--out regrade] [--jobs N] [--autograder ZIP]

Every entry of SUBMISSIONS_DIR (a file, or a folder such as Gradescope's ``submission_123456/``) is one
submission, graded exactly as Gradescope grades it (``hw1grader.run``), several at once. Each result
is kept as OUT/results/<entry>.json the moment it is done, so an interrupted regrade loses nothing
and running the command again grades only what is missing. At the end: OUT/scores.csv (one row per
submission, one column per question, with names and emails when the export's
``submission_metadata.yml`` has them), a summary table on the terminal and OUT/histogram.png.
"""

import argparse
import csv
import json
import os
import shutil
import statistics
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "autograder"))
from hw1grader.config import GRADE_TIME_LIMIT  # noqa: E402

# a grade keeps to its own deadline (GRADE_TIME_LIMIT); past it and this margin, it is stopped
SUBMISSION_TIMEOUT = GRADE_TIME_LIMIT + 60


def grade_one(entry, autograder, results_dir):
    """Grade one submission into results_dir/<name>.json (written atomically); returns the name."""
    name = os.path.basename(entry.rstrip("/"))
    work = os.path.join(results_dir, f".{name}.work")
    os.makedirs(work, exist_ok=True)
    command = [sys.executable, "-m", "hw1grader.run", "--autograder", autograder, entry, "--out", work]
    # its own session, so that a grade past its time is stopped with everything it started (the rooms
    # also die with the grader: sandbox.die_with_grader)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        failure = proc.communicate(timeout=SUBMISSION_TIMEOUT)[1][-2000:]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        failure = f"grading did not finish within {SUBMISSION_TIMEOUT} s"
    try:
        with open(os.path.join(work, "results.json"), encoding="utf-8") as f:
            results = json.load(f)
    except (OSError, ValueError):
        results = {"score": 0, "output": "the autograder failed on this submission: " + failure, "tests": []}
    with open(os.path.join(work, "results.json.part"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    os.replace(os.path.join(work, "results.json.part"), os.path.join(results_dir, f"{name}.json"))
    shutil.rmtree(work, ignore_errors=True)
    return name


def progress(done, total, started, width=30):
    filled = int(width * done / max(total, 1))
    rate = (time.monotonic() - started) / max(done, 1)
    eta = rate * (total - done)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} graded, ~{eta / 60:.0f} min left ")
    sys.stderr.flush()


def students(submissions_dir):
    """{entry name: (names, emails)} from a Gradescope export's submission_metadata.yml, if present."""
    path = os.path.join(submissions_dir, "submission_metadata.yml")
    if not os.path.isfile(path):
        return {}
    import yaml

    with open(path, encoding="utf-8") as f:
        meta = yaml.safe_load(f) or {}
    def field(person, key):  # the export writes Ruby-style keys (":name"); accept plain ones too
        return str(person.get(f":{key}", person.get(key, "")))

    people = {entry: info.get(":submitters", info.get("submitters", [])) for entry, info in meta.items() if isinstance(info, dict)}
    return {entry: ("; ".join(field(p, "name") for p in group), "; ".join(field(p, "email") for p in group))
            for entry, group in people.items()}


def question_scores(results):
    """{question: (score, max_score)} of a results.json."""
    return {t["name"]: (t.get("score", 0), t["max_score"]) for t in results.get("tests", []) if "max_score" in t}


def write_reports(submissions_dir, results_dir, out):
    rows, questions, possible = [], [], {}
    who = students(submissions_dir)
    for file in sorted(os.listdir(results_dir)):
        if not file.endswith(".json"):
            continue
        with open(os.path.join(results_dir, file), encoding="utf-8") as f:
            results = json.load(f)
        scored = question_scores(results)
        questions += [q for q in scored if q not in questions]
        possible.update({q: m for q, (_, m) in scored.items()})
        scores = {q: s for q, (s, _) in scored.items()}
        name = file[:-5]
        rows.append({"submission": name, "name": who.get(name, ("", ""))[0], "email": who.get(name, ("", ""))[1],
                     **scores, "total": sum(scores.values()), "note": results.get("output", "")[:300]})
    with open(os.path.join(out, "scores.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["submission", "name", "email", *questions, "total", "note"], restval=0)
        writer.writeheader()
        writer.writerows(rows)
    totals = [r["total"] for r in rows]
    print(f"\n{len(rows)} submissions graded: {out}/scores.csv")
    if not rows:
        return
    print(f"{'question':<14}{'mean':>8}{'full marks':>12}")
    for q in questions:
        values = [r.get(q, 0) for r in rows]
        print(f"{q:<14}{statistics.mean(values):>8.2f}{sum(v >= possible[q] for v in values) / len(values):>11.0%}")
    print(f"{'total':<14}{statistics.mean(totals):>8.2f}   median {statistics.median(totals):.2f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(totals, bins=20)
    ax.set(xlabel="total autograded score", ylabel="submissions", title=f"Homework 1: {len(rows)} submissions")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "histogram.png"), dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions_dir")
    parser.add_argument("--out", default="regrade")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    parser.add_argument("--autograder", default=os.path.join(REPO, "autograder", "hw1-autograder.zip"))
    args = parser.parse_args(argv)

    results_dir = os.path.join(args.out, "results")
    os.makedirs(results_dir, exist_ok=True)
    entries = sorted(os.path.join(args.submissions_dir, e) for e in os.listdir(args.submissions_dir)
                     if not e.startswith(".") and e != "submission_metadata.yml")
    todo = [e for e in entries if not os.path.exists(os.path.join(results_dir, os.path.basename(e) + ".json"))]
    print(f"{len(entries)} submissions, {len(entries) - len(todo)} already graded, {len(todo)} to grade "
          f"({args.jobs} at a time)", file=sys.stderr)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(grade_one, os.path.abspath(e), os.path.abspath(args.autograder), results_dir) for e in todo]
        for done, _ in enumerate(as_completed(futures), 1):
            progress(done, len(todo), started)
    write_reports(args.submissions_dir, results_dir, args.out)


if __name__ == "__main__":
    main()
