"""The by-hand rule decided at run time, and review flags for what cannot be decided.

Every case of tests/adversarial/byhand_cases.py is graded through nbgrader like a real
submission: library use that the answer cell's text does not show scores zero for its
exercise; inspection of the grading kernel puts a line in the graded notebook's review
annotations. Honest solutions keep full marks and carry no review flag.
"""

from __future__ import annotations

import pytest
from adversarial.byhand_cases import CASES, ByHandCase
from adversarial.edits import assert_scores, submit_edited
from conftest import solution_notebook

from autograder import notebooks
from autograder.config import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def course(tmp_path):
    from autograder.grading import Course

    return Course(tmp_path, source_directory=REPO_ROOT / "solutions",
                  release_directory=tmp_path / "release", cell_timeout=60,
                  notebook_timeout=900)


def _grade(course, tmp_path, lesson: str, edit=None) -> tuple[dict, list[str]]:
    """Scores (grade_id -> CellScore) and review lines of the solution, edited by ``edit``."""
    course.generate(lesson)
    source = solution_notebook(lesson)
    submit_edited(course, lesson, source, edit, tmp_path)
    course.autograde(lesson, "mallory")
    graded = notebooks.read(course.autograded / "mallory" / lesson / source.name)
    return course.cell_scores(lesson, "mallory"), notebooks.annotations(graded)["review"]


@pytest.mark.parametrize("lesson", ["01-derivatives", "04-forward-mode", "05-reverse-mode"])
def test_honest_solution_keeps_full_marks_and_no_flag(lesson, course, tmp_path):
    scores, reviews = _grade(course, tmp_path, lesson)
    assert all(s.score == s.max_score for s in scores.values()), scores
    assert reviews == []


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_evasion_scores_zero_or_is_flagged(case: ByHandCase, course, tmp_path):
    scores, reviews = _grade(course, tmp_path, case.lesson, case.edit)
    assert_scores(scores, case.loses, case.name)
    for where, what in case.flags:
        assert any(where in line and what in line for line in reviews), (case.name, reviews)
    if not case.flags:
        assert reviews == [], (case.name, reviews)
