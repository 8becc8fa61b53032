"""The top-level definitions of a notebook's code, read without running it.

``needed(cells, names)`` finds the statements that define `names` as a top-to-bottom run would leave
them (the last statement to bind each name) and, transitively, those of the notebook-level names they
use: the judge runs exactly these, and the clean room's explanations read them. IPython's own syntax
is read as IPython would run it, without IPython: line magics and shell lines are not Python and bind
nothing here; a cell magic that runs its body (``%%time``, ``%%capture``) keeps it; any other cell magic
(``%%writefile``, ``%%bash``) is not Python. A cell that does not parse defines nothing, as in Jupyter.
Nothing here is an answer: it is the student's code, sorted.
"""

import ast
import re
from dataclasses import dataclass, field

PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}  # cell magics that run their body
# Parsing costs ~500 bytes of memory per character: a longer cell is not read here, nor run by the
# student room (student_room.run), nor the cells past the total read here (an honest notebook has under
# 100,000 characters of code in all)
MAX_CELL_CHARS = 100_000
MAX_CODE_CHARS = 1_000_000
ASSIGNED_ESCAPE = re.compile(r"^\s*[\w.\[\]'\", ()*]+\s*=\s*[%!]")  # x = !ls, y = %time f()


@dataclass
class Statement:
    cell: int
    node: ast.AST
    binds: set
    uses: set = field(default_factory=set)

    @property
    def source(self):
        return ast.unparse(self.node)


def python_of(source):
    """The Python a code cell runs, IPython's syntax blanked (line numbers kept); None if it runs none."""
    first = source.lstrip().split("\n", 1)[0]
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None
        source = source.lstrip().split("\n", 1)[1] if "\n" in source.lstrip() else ""
    lines = []
    for line in source.split("\n"):
        stripped = line.strip()
        if stripped.startswith(("%", "!")) or ASSIGNED_ESCAPE.match(line) or (stripped.endswith("?") and "#" not in stripped):
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines)


def parse(source):
    if len(source) > MAX_CELL_CHARS:
        return None
    python = python_of(source)
    if python is None:
        return None
    try:
        return ast.parse(python)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def bound_names(node):
    """The notebook-level names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name.split(".")[0]) if isinstance(node, ast.Import) else (a.asname or a.name)
                for a in node.names if a.name != "*"}
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            names.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)  # a definition inside an if/try at the top level
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            names |= bound_names(sub)
        elif isinstance(sub, ast.Global):
            names |= set(sub.names)
    return names


def used_names(node):
    """The names a statement reads from the notebook: a function's (or class's) own arguments and
    assignments are its own; a plain statement's are not (`helper = helper` reads the helper before)."""
    loads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    local = {a.arg for a in ast.walk(node) if isinstance(a, ast.arg)}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        local |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return loads - local


def statements(cells):
    """Every top-level statement of the code cells, in notebook order; an import of several modules is
    split into one statement per name (so that `import numpy as np, torch` does not make np need torch)."""
    found, total = [], 0
    for index, source in enumerate(cells):
        total += len(source)
        if total > MAX_CODE_CHARS:
            break
        tree = parse(source)
        for node in (tree.body if tree is not None else []):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and len(node.names) > 1:
                for alias in node.names:
                    single = (ast.Import(names=[alias]) if isinstance(node, ast.Import)
                              else ast.ImportFrom(module=node.module, names=[alias], level=node.level))
                    found.append(Statement(index, ast.fix_missing_locations(single), bound_names(single)))
            else:
                found.append(Statement(index, node, bound_names(node), used_names(node)))
    return found


def needed(cells, names):
    """(statements, parent): the statements that define `names` and what they use, in notebook order,
    and for each name reached from another, that name (``chain`` follows them back to one of `names`)."""
    every = statements(cells)
    last = {}
    for position, statement in enumerate(every):
        for name in statement.binds:
            last[name] = position
    chosen, parent, todo = set(), {n: None for n in names}, list(names)
    while todo:
        name = todo.pop(0)
        if name not in last or last[name] in chosen:
            continue
        chosen.add(last[name])
        for used in sorted(every[last[name]].uses):
            if used in last and used not in parent:
                parent[used] = name
                todo.append(used)
    return [every[p] for p in sorted(chosen)], {n: p for n, p in parent.items() if n in last}


def chain(parent, name):
    """[one of the names asked for, ..., name]: how `name` was reached."""
    path = [name]
    while parent.get(path[-1]) is not None:
        path.append(parent[path[-1]])
    return path[::-1]
