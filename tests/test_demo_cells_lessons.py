"""Leaving a lesson's demo cells out changes nothing graded: its solution, run without
the cells :func:`autograder.demo_cells.plan` leaves out, gives every test cell the
output stored in the solution (which nbval checks against a full run)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import demo_cells, notebooks
from tests.conftest import LESSONS, solution_notebook


def _text(cell) -> list[str]:
    """The cell's outputs as text, consecutive stream outputs joined (a fresh run may
    split what the stored notebook holds as one)."""
    texts: list[str] = []
    for output in cell.outputs:
        if output.output_type == "stream":
            if texts and texts[-1].startswith(f"{output.name}:"):
                texts[-1] += output.text
            else:
                texts.append(f"{output.name}:{output.text}")
        else:
            texts.append(output.get("data", {}).get("text/plain", output.output_type))
    return texts


@pytest.mark.slow
@pytest.mark.parametrize("lesson_id", LESSONS)
def test_a_solution_without_its_demos_gives_the_same_check_outputs(lesson_id):
    path = solution_notebook(lesson_id)
    stored = notebooks.read(path)
    sources = [cell.source if cell.cell_type == "code" else None for cell in stored.cells]
    left_out = demo_cells.plan(sources, demo_cells.tagged_sources(path))
    assert left_out
    run = nbformat.from_dict(stored)
    run.cells = [cell for i, cell in enumerate(run.cells) if i not in left_out]
    kept = [i for i in range(len(stored.cells)) if i not in left_out]
    NotebookClient(run, timeout=240, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell, index in zip(run.cells, kept, strict=True):
        if cell.cell_type == "code" and notebooks.nbgrader_meta(cell).get("grade"):
            assert _text(cell) == _text(stored.cells[index]), \
                f"{notebooks.nbgrader_meta(cell)['grade_id']} changed without the demos"
