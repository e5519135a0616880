"""Grading a class from an LMS download: parallel, resumable, robust to broken files."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import released_notebook, solution_notebook

from autograder import classgrade, compile_cache, fork_server, intake, notebooks, report
from autograder.config import COURSE_ID, REPO_ROOT

pytestmark = pytest.mark.slow
LESSON = "01-derivatives"


def _one_wrong(tmp_path):
    nb = notebooks.read(solution_notebook(LESSON))
    stub = {c.metadata["nbgrader"]["grade_id"]: c.source for c in notebooks.read(
        released_notebook(LESSON)).cells if "nbgrader" in c.metadata}
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "relu_prime":
            cell.source = stub["relu_prime"]
    return nbformat.writes(nb).encode()


def _without_graded_cells():
    nb = notebooks.read(solution_notebook(LESSON))
    nb.cells = [c for c in nb.cells if "nbgrader" not in c.metadata]
    return nbformat.writes(nb).encode()


@pytest.fixture
def lms_zip(tmp_path):
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("lovelaceada_1001_501_derivatives.ipynb",
                         solution_notebook(LESSON).read_bytes())
        archive.writestr("hopper_LATE_1005_505_my-renamed-copy.ipynb", _one_wrong(tmp_path))
        archive.writestr("Alan Turing_1002_assignsubmission_file_derivatives.ipynb",
                         b'{"cells": [ this is not json')
        archive.writestr("noether_1003_503_derivatives.ipynb", b"")
        archive.writestr("gauss_1004_504_derivatives.ipynb", b"\xff\xfe\x00 not utf-8")
        archive.writestr("euler_1006_506_derivatives.ipynb", _without_graded_cells())
        archive.writestr("__MACOSX/._lovelaceada_1001_501_derivatives.ipynb", b"junk")
    return path


def test_intake_reads_an_lms_download(scratch_course, lms_zip):
    ids = classgrade.lesson_grade_ids(scratch_course, [LESSON])
    found = {s.student: s for s in intake.collect(lms_zip, ids)}
    assert set(found) == {"1001", "1002", "1003", "1004", "1005", "1006"}
    assert found["1001"].problem is None and found["1001"].lesson == LESSON
    assert found["1005"].problem is None and found["1005"].lesson == LESSON  # renamed file
    assert "not a valid notebook" in found["1002"].problem
    assert "empty" in found["1003"].problem
    assert "not UTF-8" in found["1004"].problem
    assert "no graded cell" in found["1006"].problem


def test_class_run_is_parallel_resumable_and_keeps_manual_grades(scratch_course, lms_zip,
                                                                  tmp_path):
    course = scratch_course
    before = hashlib.sha256(lms_zip.read_bytes()).hexdigest()
    found = intake.collect(lms_zip, classgrade.lesson_grade_ids(course, [LESSON]))
    messages: list[str] = []
    results = classgrade.ClassRun(course, workers=2).run(found, progress=messages.append)

    by_student = {r.student: r for r in results}
    assert course.total(LESSON, "1001") == (7.0, 7.0)
    assert course.total(LESSON, "1005") == (6.0, 7.0)
    for student in ("1002", "1003", "1004", "1006"):
        assert by_student[student].autograded is None and by_student[student].problem
    assert hashlib.sha256(lms_zip.read_bytes()).hexdigest() == before

    # A serial run in another course gives the same scores.
    from autograder.grading import Course

    serial_course = Course(tmp_path / "serial", source_directory=REPO_ROOT / "solutions",
                           release_directory=tmp_path / "serial" / "release")
    classgrade.ClassRun(serial_course, workers=1).run(found, progress=messages.append)
    for student in ("1001", "1005"):
        assert serial_course.cell_scores(LESSON, student) == course.cell_scores(LESSON, student)

    # A manual grade survives a forced regrade; an unforced rerun regrades nothing.
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, COURSE_ID) as gb:
        grade = gb.find_grade("relu_prime_check", "derivatives", LESSON, "1005")
        grade.manual_score = 0.5
        gb.db.commit()
    messages.clear()
    classgrade.ClassRun(course, workers=2).run(found, progress=messages.append)
    assert all("unchanged" in m for m in messages if "1001" in m or "1005" in m)
    classgrade.ClassRun(course, workers=2, force=True).run(found, progress=messages.append)
    with Gradebook(course.db_url, COURSE_ID) as gb:
        assert gb.find_grade("relu_prime_check", "derivatives", LESSON, "1005").score == 0.5

    rows = course.export_csv(tmp_path / "grades.csv", problems=[
        r for r in results if r.autograded is None])
    table = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert rows == len(table) == 6
    assert {row["student"] for row in table if row["problem"]} == {"1002", "1003", "1004", "1006"}
    assert json.loads(run_state(course))["1001/" + LESSON]["digest"]


def run_state(course) -> str:
    return (course.root / "course-data" / "grading-state.json").read_text()


def grade_or_kill_the_worker(job: classgrade.Job) -> classgrade.Result:
    """A grading function whose worker dies on one student (as if the grader crashed)."""
    import os

    if job.student == "1005":
        os._exit(3)
    return classgrade.grade_job(job)


def test_a_dying_worker_costs_only_its_own_job(scratch_course, lms_zip):
    found = [s for s in intake.collect(lms_zip, classgrade.lesson_grade_ids(
        scratch_course, [LESSON])) if s.problem is None]
    assert {s.student for s in found} == {"1001", "1005"}
    run = classgrade.ClassRun(scratch_course, workers=2, grade=grade_or_kill_the_worker)
    results = {r.student: r for r in run.run(found, progress=lambda message: None)}

    assert scratch_course.total(LESSON, "1001") == (7.0, 7.0)
    assert results["1005"].autograded is None
    assert "worker died" in results["1005"].problem
    # The reason is kept for the report (no grades CSV needed), and no digest: the next
    # run grades the file again.
    stored = json.loads(run_state(scratch_course))["1005/" + LESSON]
    assert "worker died" in stored["not_graded"] and "digest" not in stored
    not_graded = report.collect(scratch_course, LESSON).not_graded
    assert [n.student for n in not_graded] == ["1005"]
    assert "worker died" in not_graded[0].reason


def grade_with_a_kernel_that_does_not_start(job: classgrade.Job) -> classgrade.Result:
    """A grading function whose kernels do not answer for one student (as on a machine
    too loaded for the kernel to start in time)."""
    from autograder.kernel_session import SessionClient

    if job.student != "1005":
        return classgrade.grade_job(job)

    async def never_ready(self, timeout):
        raise RuntimeError("Kernel didn't respond in 60 seconds")

    # A one-worker run grades in this process: the next job's kernels must start again.
    ready, SessionClient._wait_until_ready = SessionClient._wait_until_ready, never_ready
    try:
        return classgrade.grade_job(job)
    finally:
        SessionClient._wait_until_ready = ready


def test_a_kernel_that_does_not_start_leaves_the_submission_not_graded(scratch_course,
                                                                       lms_zip):
    """A kernel that does not start is the grading machine's fault: the submission is
    not graded and says why, no zero is stored, and the next run grades it again."""
    found = [s for s in intake.collect(lms_zip, classgrade.lesson_grade_ids(
        scratch_course, [LESSON])) if s.problem is None]
    run = classgrade.ClassRun(scratch_course, workers=1,
                              grade=grade_with_a_kernel_that_does_not_start)
    messages: list[str] = []
    results = {r.student: r for r in run.run(found, progress=messages.append)}

    assert scratch_course.total(LESSON, "1001") == (7.0, 7.0)
    assert results["1005"].autograded is None
    assert "the kernel did not start" in results["1005"].problem
    assert "Kernel didn't respond in 60 seconds" in results["1005"].problem
    assert any("1005" in m and "NOT GRADED" in m and "did not start" in m for m in messages)
    stored = json.loads(run_state(scratch_course))["1005/" + LESSON]
    assert "did not start" in stored["not_graded"] and "digest" not in stored
    from nbgrader.api import Gradebook

    with Gradebook(scratch_course.db_url, COURSE_ID) as gb:
        assert "1005" not in {s.student_id for s in gb.find_assignment(LESSON).submissions}
    assert [n.student for n in report.collect(scratch_course, LESSON).not_graded] == ["1005"]

    # The next run grades it again, and this time its kernel starts.
    run = classgrade.ClassRun(scratch_course, workers=1)
    again = {r.student: r for r in run.run(found, progress=lambda message: None)}
    assert again["1005"].autograded is not None
    assert "digest" in json.loads(run_state(scratch_course))["1005/" + LESSON]


@pytest.mark.skipif(os.geteuid() != 0, reason="the cache is used only when kernels run as "
                    "a user of their own")
def test_on_a_cold_cache_the_solution_canary_fills_it(scratch_course, tmp_path, monkeypatch):
    """No separate priming run: the lesson's solution canary, run through the grading
    path anyway, fills the compilation cache; the next run finds it filled and the
    scores are the same."""
    started = []

    class CountedServer(fork_server.ForkServer):
        def __init__(self, *args, **kwargs):
            started.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(fork_server, "ForkServer", CountedServer)
    outside = Path(tempfile.mkdtemp(prefix="cache-test-"))
    try:
        os.chmod(outside, 0o711)
        monkeypatch.setenv(compile_cache.CACHE_ENV, str(outside / "kernels" / "cache"))
        folder = compile_cache.cache_dir()
        source = solution_notebook(LESSON)
        assert compile_cache.filled_seconds(source, folder) is None
        right = intake.Submission("1001", LESSON, source.name, source.read_bytes(), None)
        wrong = intake.Submission("1005", LESSON, source.name, _one_wrong(tmp_path), None)
        classgrade.ClassRun(scratch_course, workers=1).run([right, wrong],
                                                            progress=lambda line: None)
        assert compile_cache.filled_seconds(source, folder) > 0
        programs = [p for p in folder.iterdir() if p.name.endswith("-cache")]
        assert len(programs) >= 10
        assert all(p.stat().st_uid == os.geteuid() and p.stat().st_mode & 0o777 == 0o644
                   for p in programs)
        assert scratch_course.total(LESSON, "1001") == (7.0, 7.0)
        assert scratch_course.total(LESSON, "1005") == (6.0, 7.0)

        classgrade.ClassRun(scratch_course, workers=1, force=True).run(
            [right, wrong], progress=lambda line: None)
        # filled once: the second run's canary only reads, as the students' kernels do
        assert sorted(p for p in folder.iterdir() if p.name.endswith("-cache")) == sorted(
            programs)
        assert scratch_course.total(LESSON, "1005") == (6.0, 7.0)
        # grading here, both runs fork their kernels from the server the first preflight
        # probed (none if this process already had one), never stopping and restarting it
        assert len(started) <= 1
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def test_workers_run_numerical_libraries_on_one_thread_unless_told(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the instructor's choice is kept
    with classgrade.one_thread_per_worker():
        assert os.environ["OPENBLAS_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "1"
        assert os.environ["OMP_NUM_THREADS"] == "3"
    assert "OPENBLAS_NUM_THREADS" not in os.environ and "MKL_NUM_THREADS" not in os.environ
    assert os.environ["OMP_NUM_THREADS"] == "3"
