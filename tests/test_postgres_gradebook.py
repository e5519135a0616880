"""Grading into a real PostgreSQL gradebook (tests/postgres_server.py starts the server).

``autograder grade`` with ``COURSE_GRADEBOOK_URL=postgresql+psycopg://...`` stores the
same scores as with SQLite; two coordinators grading different lessons of the same
students at once lose and duplicate no row of nbgrader's tables; a rerun of one leaves
the other's grades as they were; graders that create the gradebook's rows at once create
each exactly once.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import released_notebook, solution_notebook
from postgres_server import PostgresServer, postgres_server  # noqa: F401 (a fixture)
from sqlalchemy import create_engine, text

from autograder import notebooks
from autograder.config import REPO_ROOT, SOURCE_DIRECTORY, gradebook_url
from autograder.grading import Course

#: Each coordinator grades one lesson; both grade the same students.
LESSONS = ("01-derivatives", "02-numeric")
#: The exercise bob leaves as released (so his score is neither zero nor full).
STUBBED = {"01-derivatives": "hessian_f", "02-numeric": "central_difference"}
STUDENTS = ("alice", "bob")


def _submission(lesson: str, student: str) -> bytes:
    """alice hands in the solution; bob the solution with one exercise as released."""
    nb = notebooks.read(solution_notebook(lesson))
    if student == "bob":
        stubs = {c.metadata["nbgrader"]["grade_id"]: c.source
                 for c in notebooks.read(released_notebook(lesson)).cells
                 if "nbgrader" in c.metadata}
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == STUBBED[lesson]:
                cell.source = stubs[STUBBED[lesson]]
    return nbformat.writes(nb).encode()


def _grade_cells(lesson: str) -> set[str]:
    nb = notebooks.read(solution_notebook(lesson))
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}


#: ``autograder grade`` as the command line runs it, in a course folder of the test's own
#: (the command always grades this repository's course, whose gradebook a test must not
#: touch): only the default course root changes.
_COORDINATOR = """\
import sys
from autograder import cli, grading
root, solutions = sys.argv[1:3]

class Course(grading.Course):
    def __init__(self, course_root=root, *, source_directory=solutions, **settings):
        super().__init__(course_root, source_directory=source_directory, **settings)

grading.Course = Course
sys.exit(cli.main(sys.argv[3:]))
"""


def _coordinator(root: Path, db_url: str | None, *arguments: str) -> subprocess.Popen:
    """Start ``autograder grade ARGUMENTS`` in the course at ``root`` (its own process)."""
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("COURSE_GRADEBOOK_URL", None)
    if db_url:
        env["COURSE_GRADEBOOK_URL"] = db_url
    command = [sys.executable, "-c", _COORDINATOR, str(root), str(REPO_ROOT / SOURCE_DIRECTORY),
               "grade", *arguments, "--csv", str(root / "grades.csv")]
    return subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(*processes: subprocess.Popen, timeout: float = 900) -> list[str]:
    """Wait for ``processes``; fail with a coordinator's output unless it exited with 0."""
    outputs = []
    for process in processes:
        output, _ = process.communicate(timeout=timeout)
        assert process.returncode == 0, output[-6000:]
        outputs.append(output)
    return outputs


def _rows(db_url: str) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Per (student, lesson): submissions, submitted notebooks and grades in nbgrader's
    tables."""
    query = text("""
        SELECT sa.student_id, a.name, COUNT(DISTINCT sa.id), COUNT(DISTINCT sn.id),
               COUNT(g.id)
        FROM submitted_assignment sa
        JOIN assignment a ON a.id = sa.assignment_id
        LEFT JOIN submitted_notebook sn ON sn.assignment_id = sa.id
        LEFT JOIN grade g ON g.notebook_id = sn.id
        GROUP BY sa.student_id, a.name""")
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return {(s, a): (n_sub, n_nb, n_grade)
                    for s, a, n_sub, n_nb, n_grade in connection.execute(query)}
    finally:
        engine.dispose()


def _grades(db_url: str, lesson: str) -> dict[tuple[str, str], tuple[str, float | None]]:
    """(student, grade cell) -> (the grade row's id, its automatic score) for ``lesson``."""
    query = text("""
        SELECT sa.student_id, bc.name, g.id, g.auto_score
        FROM grade g
        JOIN base_cell bc ON bc.id = g.cell_id
        JOIN submitted_notebook sn ON sn.id = g.notebook_id
        JOIN submitted_assignment sa ON sa.id = sn.assignment_id
        JOIN assignment a ON a.id = sa.assignment_id
        WHERE a.name = :lesson""")
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return {(s, cell): (grade_id, score)
                    for s, cell, grade_id, score in connection.execute(query, {"lesson": lesson})}
    finally:
        engine.dispose()


def _students(db_url: str) -> set[str]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return {row[0] for row in connection.execute(text("SELECT id FROM student"))}
    finally:
        engine.dispose()


def test_a_postgresql_url_without_a_driver_gets_psycopg(tmp_path):
    assert gradebook_url("postgresql://u:p@db/course", tmp_path) == \
        "postgresql+psycopg://u:p@db/course"
    assert gradebook_url("postgres://db/course", tmp_path) == "postgresql+psycopg://db/course"
    assert gradebook_url("postgresql+psycopg2://db/c", tmp_path) == "postgresql+psycopg2://db/c"
    assert gradebook_url(None, tmp_path) == f"sqlite:///{tmp_path / 'gradebook.db'}"


# ------------------------------------------------------------ creating rows at once


def _widen_the_race() -> None:
    """Make nbgrader's look-then-insert of a student slow: a grader that finds no student
    waits a second before it inserts one, so graders storing the same new student at once
    all find none (the race a real class hits now and then, every time)."""
    from nbgrader import api

    find_student = api.Gradebook.find_student

    def slowly(self, student_id: str):
        try:
            return find_student(self, student_id)
        except api.MissingEntry:
            time.sleep(1.0)
            raise

    api.Gradebook.find_student = slowly


def _store_at_once(db_url: str, root: str, lesson: str, students: tuple[str, ...],
                   start, stored) -> None:
    """One grader: generate ``lesson``, then (once every grader has) store ``students``."""
    try:
        _widen_the_race()
        course = Course(Path(root), source_directory=REPO_ROOT / SOURCE_DIRECTORY,
                        release_directory=Path(root) / "release", db_url=db_url)
        start.wait(timeout=120)  # every grader opens the empty database at once
        course.generate(lesson)
        start.wait(timeout=120)  # and stores the same students at once
        graded = notebooks.read(solution_notebook(lesson))  # every test cell passes
        for student in students:
            course.save_autograded(lesson, student, solution_notebook(lesson).stem, graded)
        stored.put("ok")
    except BaseException as error:
        start.abort()  # the others stop waiting for this one
        stored.put(f"{type(error).__name__}: {error}"[:2000])


def test_graders_creating_the_same_rows_at_once_create_each_once(postgres_server, tmp_path):  # noqa: F811
    db_url = postgres_server.create_database()
    graders = [(LESSONS[0], STUDENTS), (LESSONS[1], STUDENTS)]
    context = multiprocessing.get_context("spawn")
    start, stored = context.Barrier(len(graders)), context.Queue()
    processes = [context.Process(target=_store_at_once,
                                 args=(db_url, str(tmp_path / f"grader-{i}"), lesson, students,
                                       start, stored))
                 for i, (lesson, students) in enumerate(graders)]
    for process in processes:
        process.start()
    outcomes = [stored.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert outcomes == ["ok"] * len(graders), outcomes

    assert _students(db_url) == set(STUDENTS)
    rows = _rows(db_url)
    expected = {(student, lesson): (1, 1, len(_grade_cells(lesson)))
                for lesson, students in graders for student in students}
    assert rows == expected
    course = Course(tmp_path / "reader", db_url=db_url)
    for lesson, students in graders:
        for student in students:
            score, max_score = course.total(lesson, student)
            assert score == max_score > 0


# ----------------------------------------------------- two coordinators, end to end


@pytest.fixture(scope="module")
def submissions(tmp_path_factory) -> Path:
    """``<student>/<lesson>/<notebook>`` for both lessons and both students."""
    folder = tmp_path_factory.mktemp("download")
    for lesson in LESSONS:
        for student in STUDENTS:
            path = folder / student / lesson / solution_notebook(lesson).name
            path.parent.mkdir(parents=True)
            path.write_bytes(_submission(lesson, student))
    return folder


@pytest.fixture(scope="module")
def sqlite_scores(submissions, tmp_path_factory) -> dict:
    """Every cell's score, graded by one coordinator into the default SQLite gradebook."""
    root = tmp_path_factory.mktemp("sqlite-course")
    _finish(_coordinator(root, None, *LESSONS, "--from", str(submissions), "--workers", "2",
                         "--no-feedback"))
    course = Course(root, db_url=gradebook_url(None, root))
    return {(student, lesson): course.cell_scores(lesson, student)
            for lesson in LESSONS for student in STUDENTS}


@pytest.mark.slow
def test_two_coordinators_at_once_into_postgresql(postgres_server, submissions,  # noqa: F811
                                                  sqlite_scores, tmp_path):
    db_url = postgres_server.create_database()
    roots = {lesson: tmp_path / f"coordinator-{lesson}" for lesson in LESSONS}
    first, second = (_coordinator(roots[lesson], db_url, lesson, "--from", str(submissions),
                                  "--workers", "1") for lesson in LESSONS)
    _finish(first, second)

    # Only the students' rows (no canary, no worker's scratch gradebook), each once.
    assert _students(db_url) == set(STUDENTS)
    expected_rows = {(student, lesson): (1, 1, len(_grade_cells(lesson)))
                     for lesson in LESSONS for student in STUDENTS}
    assert _rows(db_url) == expected_rows

    # The same scores as SQLite, cell by cell; alice full marks, bob not.
    reader = Course(tmp_path / "reader", db_url=db_url)
    for (student, lesson), scores in sqlite_scores.items():
        assert reader.cell_scores(lesson, student) == scores, (student, lesson)
    for lesson in LESSONS:
        alice, bob = (reader.total(lesson, student) for student in STUDENTS)
        assert alice[0] == alice[1] > 0
        assert 0 < bob[0] < bob[1] == alice[1]

    # A rerun of the first coordinator regrades its lesson and leaves the other's rows.
    other = _grades(db_url, LESSONS[1])
    _finish(_coordinator(roots[LESSONS[0]], db_url, LESSONS[0], "--from", str(submissions),
                         "--workers", "2", "--force"))
    assert _grades(db_url, LESSONS[1]) == other
    assert _rows(db_url) == expected_rows
    assert _students(db_url) == set(STUDENTS)
    for (student, lesson), scores in sqlite_scores.items():
        assert reader.cell_scores(lesson, student) == scores, (student, lesson)
