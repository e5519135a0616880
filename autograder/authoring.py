"""Building blocks for writing lesson notebooks with correct nbgrader metadata.

The notebooks in ``solutions/`` are the single source of the course; these
helpers only make new cells right the first time:

>>> from autograder.authoring import answer, tests
>>> cell = answer("mse", "def mse(actual, guess):\\n    ### BEGIN SOLUTION\\n    ...")
>>> cell.metadata.nbgrader["grade_id"]
'mse'
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import notebooks

SCHEMA_VERSION = 3
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _nbgrader(grade_id: str, *, grade: bool, solution: bool, locked: bool,
              points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked,
            "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def markdown(text: str) -> NotebookNode:
    return new_markdown_cell(text.strip("\n"))


def code(source: str, *, tags: Iterable[str] = ()) -> NotebookNode:
    cell = new_code_cell(source.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def answer(grade_id: str, source: str) -> NotebookNode:
    """An autograded answer cell: the student's code goes between the SOLUTION markers."""
    cell = new_code_cell(source.strip("\n"))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=False, solution=True, locked=False)
    return cell


def tests(grade_id: str, source: str, points: float = 1) -> NotebookNode:
    """An autograder test cell, read-only for students; hidden tests between HIDDEN markers."""
    cell = new_code_cell(source.strip("\n"))
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, solution=False, locked=True,
                                          points=points)
    cell.metadata["deletable"] = False
    cell.metadata["editable"] = False
    return cell


def notebook(cells: list[NotebookNode]) -> NotebookNode:
    """A notebook with stable cell ids (graded cells are named after their grade_id)."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        grade_id = notebooks.nbgrader_meta(cell).get("grade_id")
        cell["id"] = grade_id or f"cell-{index:03d}"
    return nb


def write_executed(nb: NotebookNode, path: Path) -> NotebookNode:
    """Execute ``nb`` in ``path``'s folder and save it with its outputs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    notebooks.execute(nb, cwd=path.parent)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, str(path))
    return nb
