"""Shared fixtures: the repository's lessons and a throw-away nbgrader course."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.config import REPO_ROOT
from autograder.release import assignment_ids

LESSONS = assignment_ids(REPO_ROOT)


def solution_notebook(lesson: str) -> Path:
    (path,) = sorted((REPO_ROOT / "solutions" / lesson).glob("*.ipynb"))
    return path


def released_notebook(lesson: str) -> Path:
    return REPO_ROOT / "lessons" / lesson / solution_notebook(lesson).name


@pytest.fixture
def scratch_course(tmp_path):
    """A course folder in ``tmp_path`` whose source is the repository's solutions."""
    from autograder.grading import Course

    return Course(tmp_path, source_directory=REPO_ROOT / "solutions",
                  release_directory=tmp_path / "release")
