"""The results page a student reads on Gradescope: one screen per submission, in Markdown.

At the top: the autograded score of each problem (and that the written answers are graded by hand),
the cells that stopped with an error, quoted by their first line under the problem they belong to,
and what the grader could not run. Then one entry per autograded question: its verdict in one
sentence (the clean room's), and its public tests, one line each. ``results`` builds Gradescope's
results.json from that (the plugin hands it to otter); ``render`` prints it for a terminal (make grade).

Whether students see the verdicts at once or when grades are published is the instructor's choice:
``config.SHOW_VERDICTS``. The verdicts never give an expected value or a hidden input away (a test
searches every catalogue message for them), so showing them at once teaches without telling.
"""

import re
from dataclasses import dataclass, field

from .config import SHOW_VERDICTS


@dataclass
class Question:
    name: str
    problem: str  # its heading, "Problem 4"
    points: float
    passed: bool
    verdict: str  # the clean room's sentence
    public: list = field(default_factory=list)  # [(passed, one line)] of its public tests

    @property
    def score(self):
        return self.points if self.passed else 0


def mark(passed):
    return "✅" if passed else "❌"


CASCADE = re.compile(r"NameError: name '_\w*' is not defined")  # a test's own variable, left undefined by an earlier failure


def question_output(question):
    """The verdict, and the first public test that failed (the others mostly follow from it)."""
    failed = [line for passed, line in question.public if not passed and not CASCADE.fullmatch(line)]
    lines = [f"{mark(question.passed)} {question.verdict}"]
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        lines.append(f"Public test ❌ {failed[0]}{more}")
    return "\n".join(lines)


def top(questions, notes, failed_cells, walls, hand_graded, ran=True):
    """The Markdown at the top of the page."""
    total, possible = sum(q.score for q in questions), sum(q.points for q in questions)
    lines = [f"**Autograded: {fmt(total)} / {fmt(possible)}.** "
             + (f"The written answers ({fmt(hand_graded)} points) are graded by hand from the PDF you upload to "
                "Homework 1 (written)." if hand_graded else ""), "",
             "| | autograded | lost |", "|---|---|---|"]
    for problem in dict.fromkeys(q.problem for q in questions):
        mine = [q for q in questions if q.problem == problem]
        lost = ", ".join(f"`{q.name}`" for q in mine if not q.passed) or "—"
        lines.append(f"| {problem} | {fmt(sum(q.score for q in mine))} / {fmt(sum(q.points for q in mine))} | {lost} |")
    if failed_cells:
        lines += ["", f"**{len(failed_cells)} cell(s) stopped with an error** (the rest of the notebook still ran):"]
        lines += [f"- {cell['problem']}: `{cell['line']}` " + (cell["error"] if cell["error"].startswith("it ")
                                                                else f"raised {cell['error']}") for cell in failed_cells[:3]]
        if len(failed_cells) > 3:
            lines.append(f"- and {len(failed_cells) - 3} more")
    elif ran:
        lines += ["", "All cells ran without error."]
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    lines += ["", walls]
    return "\n".join(lines)


# a file's path, as an error from the student's kernel quotes it (".../site-packages/torch/_C.so: failed to
# map segment"): the page shows the file's name alone, not the grader's folders
PATH = re.compile(r"(?<![\w.~])/(?:[\w.+@-]+/)+([\w.+@-]+)")


def readable(text):
    return PATH.sub(r"\1", text)


def fmt(points):
    return f"{points:g}"


def results(questions, notes, failed_cells, walls, hand_graded, show_verdicts=SHOW_VERDICTS, ran=True):
    """Gradescope's results.json (as a dict) for the graded questions."""
    visibility = "visible" if show_verdicts else "after_published"
    tests = [{"name": q.name, "score": q.score, "max_score": q.points,
              "output": readable(question_output(q)), "output_format": "md", "visibility": visibility} for q in questions]
    if not show_verdicts:  # the public tests are the students' to see at once
        failed = [f"- `{q.name}`: ❌ {readable(line)}" for q in questions for passed, line in q.public if not passed]
        tests.insert(0, {"name": "Public tests", "output": "\n".join(failed) or "✅ All public tests passed.",
                         "output_format": "md", "visibility": "visible"})
    return {"score": sum(q.score for q in questions),
            "output": readable(top(questions, notes, failed_cells, walls, hand_graded, ran)),
            "output_format": "md", "test_output_format": "md", "visibility": "visible", "tests": tests}


def page(results_dict):
    """The whole page as Markdown: the top, then each test with its score (Gradescope shows each in a
    box of its own)."""
    lines = [results_dict.get("output", ""), ""]
    for test in results_dict.get("tests", []):
        score = f" ({fmt(test['score'])} / {fmt(test['max_score'])})" if "max_score" in test else ""
        first, *rest = (test.get("output") or "").split("\n")
        lines.append(f"- **{test['name']}**{score}: {first}")
        lines += [f"  {line}" for line in rest]
    return "\n".join(lines) + "\n"


def render(results_dict, file=None):
    """Print the page for a terminal: rendered by rich where it is installed, as Markdown otherwise."""
    try:
        from rich.console import Console
        from rich.markdown import Markdown
    except ImportError:
        print(page(results_dict), file=file)
        return
    Console(file=file).print(Markdown(page(results_dict)))
