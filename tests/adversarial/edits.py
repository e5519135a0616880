"""Edit the solution notebook, submit it, read the scores: what every adversarial runner shares.

An edit is ``edit(nb, context=None)``: it changes the notebook in place. With a context
(a mapping), ``{name}`` fields of the inserted source are filled from it, so a case can
name paths known only when it runs; without one the source is inserted as written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from autograder import notebooks

Edit = Callable[..., None]


def _fill(source: str, context: Mapping | None) -> str:
    return source if context is None else source.format(**context)


def cell_index(nb, grade_id: str) -> int:
    """Index of the cell whose nbgrader grade_id is ``grade_id``."""
    return next(i for i, c in enumerate(nb.cells)
                if notebooks.nbgrader_meta(c).get("grade_id") == grade_id)


def replace_answer(grade_id: str, source: str) -> Edit:
    """The cell ``grade_id`` gets ``source`` as its whole text."""
    def edit(nb, context=None):
        nb.cells[cell_index(nb, grade_id)].source = _fill(source, context)
    return edit


def append_to_answer(grade_id: str, source: str) -> Edit:
    """``source`` added at the end of the cell ``grade_id``."""
    def edit(nb, context=None):
        nb.cells[cell_index(nb, grade_id)].source += "\n" + _fill(source, context)
    return edit


def insert_before(grade_id: str, source: str) -> Edit:
    """A new code cell running ``source`` just before the cell ``grade_id``."""
    def edit(nb, context=None):
        nb.cells.insert(cell_index(nb, grade_id), new_code_cell(_fill(source, context)))
    return edit


def insert_after(grade_id: str, source: str) -> Edit:
    """A new code cell right after the cell ``grade_id`` (before its check)."""
    def edit(nb, context=None):
        nb.cells.insert(cell_index(nb, grade_id) + 1, new_code_cell(_fill(source, context)))
    return edit


def insert_first(source: str) -> Edit:
    """A new code cell before every other cell."""
    def edit(nb, context=None):
        nb.cells.insert(0, new_code_cell(_fill(source, context)))
    return edit


def append_cell(source: str) -> Edit:
    """A new code cell after every other cell (after every test cell)."""
    def edit(nb, context=None):
        nb.cells.append(new_code_cell(_fill(source, context)))
    return edit


def combine(*edits: Edit) -> Edit:
    """The edits applied in order."""
    def edit(nb, context=None):
        for one in edits:
            one(nb, context)
    return edit


def submit_edited(course, lesson: str, solution: Path, edit: Edit | None, folder: Path,
                  context: Mapping | None = None, student: str = "mallory") -> Path:
    """Submit ``solution`` (a solution notebook) changed by ``edit``; the submitted file."""
    nb = notebooks.read(solution)
    if edit is not None:
        edit(nb, context)
    path = Path(folder) / solution.name
    nbformat.write(nb, str(path))
    return course.submit(student, lesson, path)


def assert_scores(scores: Mapping, loses: tuple[str, ...], case: str) -> None:
    """Every exercise in ``loses`` scores zero, every other one full marks."""
    exercises = [grade_id.removesuffix("_check") for grade_id in scores]
    for grade_id, score in scores.items():
        exercise = notebooks.exercise_of(grade_id, exercises)
        expected = 0.0 if exercise in loses else score.max_score
        assert score.score == expected, f"{case}: {grade_id} scored {score.score}"
