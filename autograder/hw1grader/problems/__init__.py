"""The homework's problems, each in a folder of its own: the one list that says what is graded.

Each problem folder holds, by name, the two halves that never meet:

- for the student room: ``inputs.py`` (the hidden inputs, seeded draws that both rooms regenerate;
  no expected value) and ``probes.py`` (what the room writes down of each answer);
- for the clean room: ``checks.py`` (the verdicts) and any module of reference maths it uses.

``PROBLEMS``, the problem folders found here (p1, p2, ...: a folder with a probes.py), drives everything
else: the probes the student room runs (``probing.probes``), the checks the clean room has
(``checking.checks``) and the modules copied into the room (``sandbox.room_library``: ``ROOM_FILES`` of
each problem, never a check). To add a problem, add its folder; to add a question, add its probe and its
check to its problem's files (and the question to the master notebook).
"""

import importlib
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
PROBLEMS = tuple(sorted((name for name in os.listdir(HERE) if re.fullmatch(r"p\d+", name)
                         and os.path.isfile(os.path.join(HERE, name, "probes.py"))), key=lambda name: int(name[1:])))

# The files of a problem folder that the student room gets; everything else stays with the clean room.
ROOM_FILES = ("__init__.py", "inputs.py", "probes.py")


def modules(kind, problem_names=None):
    """The `kind` module ("probes", "checks", "inputs") of each problem, in order."""
    return [importlib.import_module(f"{__name__}.{name}.{kind}") for name in (problem_names or PROBLEMS)]
