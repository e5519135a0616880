"""Storing graded notebooks in batches writes exactly what nbgrader's SaveAutoGrades
writes, one notebook at a time; manual grades stay."""

from __future__ import annotations

import nbformat
from conftest import released_notebook, solution_notebook
from nbgrader.preprocessors import SaveAutoGrades

from autograder import notebooks
from autograder.config import REPO_ROOT, SOURCE_DIRECTORY
from autograder.grading import Course

LESSON = "01-derivatives"


def _graded(kind: str) -> nbformat.NotebookNode:
    """A graded notebook: every test passing, every test failing (an error output in each
    test cell) or the untouched release (every answer cell as given)."""
    if kind == "release":
        return notebooks.read(released_notebook(LESSON))
    nb = notebooks.read(solution_notebook(LESSON))
    if kind == "failing":
        for cell in nb.cells:
            meta = notebooks.nbgrader_meta(cell)
            if meta.get("grade") and not meta.get("solution"):
                cell.outputs = [nbformat.v4.new_output(
                    "error", ename="CheckFailed", evalue="wrong", traceback=[])]
    return nb


def _rows(course: Course) -> dict:
    with course.gradebook() as gb:
        rows = {}
        for student in gb.students:
            for submission in student.submissions:
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        rows[(student.id, "grade", grade.name)] = (
                            grade.auto_score, grade.manual_score, grade.needs_manual_grade)
                    for comment in notebook.comments:
                        rows[(student.id, "comment", comment.name)] = comment.auto_comment
        return rows


def _course(root) -> Course:
    course = Course(root, source_directory=REPO_ROOT / SOURCE_DIRECTORY,
                    release_directory=root / "release")
    course.generate(LESSON)
    return course


def test_a_batch_writes_what_save_autogrades_writes(tmp_path):
    kinds = {"s1": "passing", "s2": "failing", "s3": "release"}
    name = solution_notebook(LESSON).stem
    theirs, ours = _course(tmp_path / "nbgrader"), _course(tmp_path / "batched")
    for student, kind in kinds.items():
        with theirs.gradebook() as gb:
            gb.update_or_create_student(student)
            gb.update_or_create_submission(LESSON, student)
        SaveAutoGrades(config=theirs.config).preprocess(_graded(kind), {"nbgrader": {
            "assignment": LESSON, "student": student, "notebook": name,
            "db_url": theirs.db_url}})
    ours.save_autograded_many([(LESSON, student, name, _graded(kind))
                               for student, kind in kinds.items()])
    expected = _rows(theirs)
    assert _rows(ours) == expected
    assert {value[0] for key, value in expected.items() if key[1] == "grade"} >= {0.0}
    assert theirs.total(LESSON, "s1") == ours.total(LESSON, "s1") == (7.0, 7.0)
    assert ours.total(LESSON, "s2")[0] == 0.0
    assert "No response." in {v for k, v in expected.items() if k[1] == "comment"}


def test_a_regrade_in_a_batch_keeps_manual_grades_and_flags_them(tmp_path):
    course = _course(tmp_path)
    name = solution_notebook(LESSON).stem
    course.save_autograded_many([(LESSON, "s1", name, _graded("failing"))])
    with course.gradebook() as gb:
        grade = gb.find_grade("relu_prime_check", name, LESSON, "s1")
        grade.manual_score = 0.5
        gb.db.commit()
    course.save_autograded_many([(LESSON, "s1", name, _graded("passing")),
                                 (LESSON, "s2", name, _graded("passing"))])
    with course.gradebook() as gb:
        grade = gb.find_grade("relu_prime_check", name, LESSON, "s1")
        assert grade.manual_score == 0.5 and grade.auto_score == grade.max_score
        assert grade.needs_manual_grade
        assert not gb.find_grade("relu_prime_check", name, LESSON, "s2").needs_manual_grade


def test_a_new_gradebook_records_the_schema_head_alembic_reports(tmp_path):
    import subprocess

    from nbgrader.api import Gradebook
    from nbgrader.dbutil import _temp_alembic_ini
    from sqlalchemy import create_engine, text

    from autograder.grading import alembic_head

    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'unused.db'}") as ini:  # nbgrader's way
        heads = subprocess.check_output(["alembic", "-c", ini, "heads"], text=True)
    assert alembic_head() == heads.split()[0]
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    Gradebook(url, "course").close()
    with create_engine(url).connect() as connection:
        stored = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert stored == heads.split()[0]
