"""End to end through nbgrader: solutions score full marks, untouched lessons score zero,
one wrong exercise loses exactly its points, and feedback never shows hidden tests."""

from __future__ import annotations

import html
import re

import nbformat
import pytest
from conftest import LESSONS, released_notebook, solution_notebook

from autograder import notebooks
from autograder.preprocessors import HIDDEN_BEGIN, HIDDEN_END

pytestmark = pytest.mark.slow


def _exercise_points(nb) -> dict[str, float]:
    cells = notebooks.graded_cells(nb)
    answers = [c.grade_id for c in cells if c.kind == "answer"]
    points = dict.fromkeys(answers, 0.0)
    for cell in cells:
        if cell.kind == "tests":
            points[notebooks.exercise_of(cell.grade_id, answers)] += cell.points
    return points


def _with_exercise_unsolved(solution, lesson_nb, grade_id: str):
    """The solution notebook with one answer cell put back to the released stub."""
    stub = next(
        c for c in lesson_nb.cells if notebooks.nbgrader_meta(c).get("grade_id") == grade_id
    )
    for cell in solution.cells:
        if notebooks.nbgrader_meta(cell).get("grade_id") == grade_id:
            cell.source = stub.source
    return solution


def _hidden_lines(nb) -> list[str]:
    lines = []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if HIDDEN_BEGIN in line:
                inside = True
            elif HIDDEN_END in line:
                inside = False
            elif inside and line.strip():
                lines.append("".join(line.split()))
    return lines


def _text_of_html(page: str) -> str:
    """The page's text with every tag and all whitespace removed (syntax highlighting
    splits code into many spans, so compare code without whitespace)."""
    return "".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


@pytest.mark.parametrize("lesson", LESSONS)
def test_grading_end_to_end(lesson, scratch_course, tmp_path):
    course = scratch_course
    solution_path, lesson_path = solution_notebook(lesson), released_notebook(lesson)
    solution, released = notebooks.read(solution_path), notebooks.read(lesson_path)
    points = _exercise_points(solution)
    total = sum(points.values())
    broken = list(points)[-1]

    course.generate(lesson)
    wrong_path = tmp_path / "one-wrong.ipynb"
    nbformat.write(_with_exercise_unsolved(notebooks.read(solution_path), released, broken),
                   str(wrong_path))
    course.submit("perfect", lesson, solution_path)
    course.submit("untouched", lesson, lesson_path)
    course.submit("one-wrong", lesson, wrong_path, name=solution_path.name)
    for student in ("perfect", "untouched", "one-wrong"):
        course.autograde(lesson, student)

    assert course.total(lesson, "perfect") == (total, total)
    assert course.total(lesson, "untouched") == (0.0, total)
    assert course.total(lesson, "one-wrong") == (total - points[broken], total)

    # The untouched lesson fails only in its test cells: no grading error anywhere else.
    graded = notebooks.read(course.autograded / "untouched" / lesson / solution_path.name)
    test_cells = {c.index for c in notebooks.graded_cells(graded) if c.kind == "tests"}
    for index, cell in enumerate(graded.cells):
        errors = notebooks.errors(cell)
        if index in test_cells:
            assert errors and errors[0].ename == "CheckFailed", (index, errors)
        else:
            assert not errors, (index, errors[0].ename, errors[0].evalue)

    # Feedback teaches (the failure message is there) but never shows hidden tests.
    folder = course.generate_feedback(lesson, "one-wrong")
    page = _text_of_html((folder / solution_path.with_suffix(".html").name).read_text())
    assert "notimplementedyet" in page
    for line in _hidden_lines(solution):
        assert line not in page, f"hidden test leaked into feedback: {line}"


def _edited(solution_path, edit):
    nb = notebooks.read(solution_path)
    edit(nb)
    return nb


def test_grading_traps_are_closed(scratch_course, tmp_path):
    """Known nbgrader traps, on lesson 01: stderr noise, deleted test cells, a bare False."""
    lesson = "01-derivatives"
    course = scratch_course
    solution_path = solution_notebook(lesson)
    total = sum(_exercise_points(notebooks.read(solution_path)).values())
    course.generate(lesson)

    def noisy(nb):
        # A correct mse that also writes to stderr at the file-descriptor level and warns.
        cell = next(c for c in nb.cells if notebooks.nbgrader_meta(c).get("grade_id") == "mse")
        cell.source += (
            "\n\nimport os, warnings\n_mse = mse\n"
            "def mse(actual, guess):\n"
            "    os.write(2, b'debug output on stderr\\n')\n"
            "    warnings.warn('a harmless warning')\n"
            "    return _mse(actual, guess)\n"
        )

    def without_tests(nb):
        nb.cells = [c for c in nb.cells if not notebooks.nbgrader_meta(c).get("grade")]

    def bare_false(nb):
        # A wrong mse; the student also appends a cell whose value is False.
        cell = next(c for c in nb.cells if notebooks.nbgrader_meta(c).get("grade_id") == "mse")
        cell.source = "def mse(actual, guess):\n    return 0.0\nFalse"

    points = _exercise_points(notebooks.read(solution_path))
    cases = {"noisy": (noisy, total), "no-tests": (without_tests, total),
             "bare-false": (bare_false, total - points["mse"])}
    for student, (edit, _) in cases.items():
        path = tmp_path / f"{student}.ipynb"
        nbformat.write(_edited(solution_path, edit), str(path))
        course.submit(student, lesson, path, name=solution_path.name)
        course.autograde(lesson, student)
    for student, (_, expected) in cases.items():
        assert course.total(lesson, student) == (expected, total), student
