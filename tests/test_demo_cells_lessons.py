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


@pytest.mark.slow
def test_grading_leaves_out_demos_unless_the_submission_needs_them(scratch_course, tmp_path):
    """Through nbgrader, on lesson 01: the solution's demos are left out (full marks);
    an answer that reads a demo's variable keeps that demo in and still scores; an
    edited demo runs as the student's own cell."""
    lesson_id = "01-derivatives"
    course = scratch_course
    path = solution_notebook(lesson_id)
    solution = notebooks.read(path)
    demos = [i for i, cell in enumerate(solution.cells) if demo_cells.is_tagged(cell)]
    first_demo = solution.cells[demos[0]]  # belts = belt_sizes()
    assert "belts" in demo_cells.bound_names(first_demo.source)

    needs_demo = nbformat.from_dict(solution)
    answer = next(c for c in needs_demo.cells if notebooks.nbgrader_meta(c).get("solution"))
    answer.source += "\n\nBELT_ROWS = len(belts)  # reads the demo's variable\n"
    edited = nbformat.from_dict(solution)
    edited.cells[demos[-1]].source += "\nprint('edited by the student')"

    course.generate(lesson_id)
    course.submit("perfect", lesson_id, path)
    for student, nb in (("needs-demo", needs_demo), ("edited", edited)):
        target = tmp_path / student / path.name
        target.parent.mkdir()
        nbformat.write(nb, str(target))
        course.submit(student, lesson_id, target)
    full = None
    for student in ("perfect", "needs-demo", "edited"):
        course.autograde(lesson_id, student)
        score, full = course.total(lesson_id, student)
        assert score == full, student

    def graded(student):
        return notebooks.read(course.autograded / student / lesson_id / path.name)

    note = "not run while grading"
    perfect = graded("perfect")
    assert all(note in perfect.cells[i].outputs[0].text for i in demos)
    kept = graded("needs-demo").cells[demos[0]]
    assert kept.outputs == [] or note not in str(kept.outputs)
    assert not notebooks.errors(kept)
    last = graded("edited").cells[demos[-1]]
    assert "edited by the student" in str(last.outputs)
