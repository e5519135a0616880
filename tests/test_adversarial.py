"""The adversarial corpus: hostile or broken submissions are contained and graded for
what they did right (see tests/adversarial/cases.py and autograder/THREAT_MODEL.md)."""

from __future__ import annotations

import hashlib
import os

import pytest
from adversarial.cases import CASES, Case
from adversarial.edits import assert_scores, submit_edited
from conftest import solution_notebook

from autograder.config import REPO_ROOT
from autograder.sandbox import processes_of, sandbox_uid

pytestmark = pytest.mark.slow
LESSON = "01-derivatives"


@pytest.fixture
def hardened_course(tmp_path):
    from autograder.grading import Course

    return Course(tmp_path, source_directory=REPO_ROOT / "solutions",
                  release_directory=tmp_path / "release", cell_timeout=20, notebook_timeout=300)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_submission_is_contained(case: Case, hardened_course, tmp_path):
    if case.needs_root and os.geteuid() != 0:
        pytest.skip("the filesystem and process sandbox needs root (CI runs as root)")
    course = hardened_course
    course.generate(LESSON)
    source = solution_notebook(LESSON)
    context = {"repo": str(REPO_ROOT), "course": str(course.root),
               "gradebook": course.db_url.removeprefix("sqlite:///")}
    submitted = submit_edited(course, LESSON, source, case.edit, tmp_path, context)
    before = _digest(submitted)

    course.autograde(LESSON, "mallory")

    assert_scores(course.cell_scores(LESSON, "mallory"), case.loses, case.name)
    assert _digest(submitted) == before, "the submission was modified"
    graded = course.autograded / "mallory" / LESSON / source.name
    assert graded.stat().st_size < 20_000_000, "output was not limited"
    if os.geteuid() == 0:
        assert not processes_of(sandbox_uid()), "kernel processes survived grading"


def test_processes_of_finds_this_process_and_its_state():
    mine = processes_of(os.getuid())
    assert os.getpid() in mine and mine[os.getpid()] in {"R", "S"}
    assert processes_of(987_654) == {}
