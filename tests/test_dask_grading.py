"""Grading a class on a Dask cluster gives what a local run gives: the same scores, CSV
and feedback pages, with the gradebook written by the coordinator."""

from __future__ import annotations

import csv

import nbformat
import pytest
from conftest import released_notebook, solution_notebook

from autograder import classgrade, notebooks
from autograder.config import REPO_ROOT, SOURCE_DIRECTORY
from autograder.grading import Course
from autograder.intake import Submission

pytestmark = pytest.mark.slow
LESSON = "01-derivatives"


def _with_a_mistake() -> bytes:
    """The solution with relu_prime put back to its released stub."""
    nb = notebooks.read(solution_notebook(LESSON))
    stubs = {notebooks.nbgrader_meta(c).get("grade_id"): c.source
             for c in notebooks.read(released_notebook(LESSON)).cells}
    for cell in nb.cells:
        if notebooks.nbgrader_meta(cell).get("grade_id") == "relu_prime":
            cell.source = stubs["relu_prime"]
    return nbformat.writes(nb).encode()


def _class() -> list[Submission]:
    return [Submission("1001", LESSON, "solution", solution_notebook(LESSON).read_bytes()),
            Submission("1002", LESSON, "release", released_notebook(LESSON).read_bytes()),
            Submission("1003", LESSON, "mistake", _with_a_mistake())]


def _course(root) -> Course:
    return Course(root, source_directory=REPO_ROOT / SOURCE_DIRECTORY,
                  release_directory=root / "release")


def _csv(course: Course, results: list[classgrade.Result], path) -> list[dict]:
    course.export_csv(path, problems=[r for r in results if r.problem])
    return list(csv.DictReader(path.open(newline="")))


def _feedback_files(course: Course) -> set[str]:
    return {path.relative_to(course.feedback_directory).as_posix()
            for path in course.feedback_directory.rglob("*") if path.is_file()}


def test_a_dask_cluster_grades_as_a_local_run(tmp_path):
    from distributed import LocalCluster

    submissions = _class()
    local = _course(tmp_path / "local")
    local_results = classgrade.ClassRun(local, workers=2, feedback=True).run(
        submissions, progress=lambda message: None)

    dask = _course(tmp_path / "dask")
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None, memory_limit=0) as cluster:
        run = classgrade.ClassRun(dask, scheduler=cluster.scheduler_address, feedback=True)
        dask_results = run.run(submissions, progress=lambda message: None)

    assert {r.student for r in dask_results if r.autograded is not None} == {
        "1001", "1002", "1003"}
    assert dask.total(LESSON, "1001") == (7.0, 7.0)
    assert dask.total(LESSON, "1002") == (0.0, 7.0)
    assert dask.total(LESSON, "1003") == (6.0, 7.0)
    for student in ("1001", "1002", "1003"):
        assert dask.cell_scores(LESSON, student) == local.cell_scores(LESSON, student)
    assert (_csv(dask, dask_results, tmp_path / "dask.csv")
            == _csv(local, local_results, tmp_path / "local.csv"))
    # The workers wrote the feedback pages; the coordinator put them where a local run does.
    pages = _feedback_files(dask)
    assert pages == _feedback_files(local)
    assert {page.split("/")[0] for page in pages if page.endswith(".html")} == {
        "1001", "1002", "1003"}
    # Every graded notebook says where its time went, storage included.
    assert {lesson for lesson, _ in run.timings} == {LESSON}
    for _, phases in run.timings:
        assert phases["kernel start"] > 0 and phases["cells"] > 0 and phases["storage"] > 0


def test_a_scheduler_that_cannot_be_reached_is_a_refusal(scratch_course):
    import dask

    run = classgrade.ClassRun(scratch_course, scheduler="tcp://127.0.0.1:9")
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), pytest.raises(
            classgrade.RefusedToGrade, match="cannot be reached"):
        run.run([Submission("1001", LESSON, "solution",
                            solution_notebook(LESSON).read_bytes())],
                progress=lambda message: None)
    assert not (scratch_course.root / "course-data" / "grading-state.json").exists()
