"""Submissions made from the student release: filled in with the reference answers, then changed.

``make(release, solutions, overrides)`` fills every answer cell of the student release with the
reference's cell and then replaces the answer cell that defines each name in ``overrides`` with the
given code, so a fixture is always in step with the current release.
"""

import ast

import nbformat

ANSWER_TAG = "otter_answer_cell"
GIVEN = "(given cells)"  # an override key: {text: replacement} in the cells the release gives
SOLUTION_TAG = "otter_assign_solution_cell"


def tagged(nb, tag, cell_type):
    return [c for c in nb.cells if c.cell_type == cell_type and tag in c.metadata.get("tags", [])]


def defined_names(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def make(release_path, solutions_path, overrides=None):
    """A filled-in student notebook (NotebookNode) with the answer cells of ``overrides`` replaced. An
    override is the new source of the answer cell that defines the name, or a list of sources: the
    first replaces that cell, the others are new code cells right after it (a student's later cells)."""
    release = nbformat.read(release_path, as_version=4)
    solutions = nbformat.read(solutions_path, as_version=4)
    for cell_type in ("code", "markdown"):
        answers, references = tagged(release, ANSWER_TAG, cell_type), tagged(solutions, SOLUTION_TAG, cell_type)
        assert len(answers) == len(references), f"{cell_type} answer cells do not line up with the solutions"
        for answer, reference in zip(answers, references):
            answer.source = reference.source
    overrides = dict(overrides or {})
    for old, new in overrides.pop(GIVEN, {}).items():
        given = [c for c in release.cells if c.cell_type == "code" and old in c.source]
        assert given, f"no cell of the release holds {old!r}"
        for cell in given:
            cell.source = cell.source.replace(old, new)
    for name, source in overrides.items():
        cells = [c for c in tagged(release, ANSWER_TAG, "code") if name in defined_names(c.source)]
        assert len(cells) == 1, f"no single answer cell defines {name}"
        first, *later = [source] if isinstance(source, str) else source
        cells[0].source = first
        position = release.cells.index(cells[0])
        for offset, extra in enumerate(later, 1):
            release.cells.insert(position + offset, nbformat.v4.new_code_cell(extra))
    return release
