"""Shared fixtures: the repository's lessons, one hypothesis profile and a throw-away
nbgrader course."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

from autograder.config import REPO_ROOT, SOURCE_DIRECTORY
from autograder.lessons import lesson, lesson_ids

#: Property tests are reproducible (the same examples on every run and machine, no
#: example database left behind) and not timed (the machine is shared and loaded); each
#: test says how many examples it can afford with ``@settings(max_examples=...)``.
settings.register_profile("course", database=None, derandomize=True, deadline=None)
settings.load_profile("course")

LESSONS = lesson_ids()


def solution_notebook(lesson_id: str) -> Path:
    """The lesson's solution notebook (:attr:`autograder.lessons.Lesson.solution`)."""
    return lesson(lesson_id).solution


def released_notebook(lesson_id: str) -> Path:
    """The lesson's released notebook (:attr:`autograder.lessons.Lesson.release`)."""
    return lesson(lesson_id).release


@pytest.fixture
def scratch_course(tmp_path):
    """A course folder in ``tmp_path`` whose source is the repository's solutions."""
    from autograder.grading import Course

    return Course(tmp_path, source_directory=REPO_ROOT / SOURCE_DIRECTORY,
                  release_directory=tmp_path / "release")
