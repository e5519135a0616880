"""Class runs that refuse loudly: canaries, preflight, and the instructor's view of a run.

Before it writes a grade, a class run grades each lesson's solution (full marks) and its
untouched release (zero) through the submissions' own path; a run whose path scores
either wrongly stops with nothing written. Grading's notes and review flags reach the
CSV and the summary; the CSV cannot run formulas; an unreadable resubmission leaves one
row that says so.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from conftest import released_notebook, solution_notebook
from nbgrader.api import Gradebook

from autograder import classgrade, cli, notebooks
from autograder.config import COURSE_ID, REPO_ROOT
from autograder.grading import FORMULA_STARTS, Course
from autograder.intake import Submission
from autograder.lessons import lesson as find_lesson

LESSON = "01-derivatives"


# ------------------------------------------------------------------- stand-in graders


def _graded(job: classgrade.Job, nb: nbformat.NotebookNode) -> classgrade.Result:
    return classgrade.Result(job.student, job.lesson, nbformat.writes(nb).encode(), None, 0.1)


def grade_as_a_broken_sandbox(job: classgrade.Job) -> classgrade.Result:
    """What a sandbox that cannot reach the course's Python gives: every cell fails."""
    nb = nbformat.reads(job.content.decode(), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output(
                "error", ename="ModuleNotFoundError", evalue="No module named 'course'",
                traceback=[])]
    return _graded(job, nb)


def grade_without_running(job: classgrade.Job) -> classgrade.Result:
    """A grading path that runs nothing: test cells without errors pass, so all score."""
    nb = nbformat.reads(job.content.decode(), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    return _graded(job, nb)


def grade_into_garbage(job: classgrade.Job) -> classgrade.Result:
    """Canaries that score as they should (the solution flagged for review); a
    submission's graded notebook unreadable."""
    if job.canary == "solution":
        result = grade_without_running(job)
        nb = nbformat.reads(result.autograded.decode(), as_version=4)
        notebooks.annotate(nb, "review", "the course's code was patched")
        return replace(result, autograded=nbformat.writes(nb).encode())
    if job.canary == "release":
        return grade_as_a_broken_sandbox(job)
    return classgrade.Result(job.student, job.lesson, b"\x00 not a notebook", None, 0.1)


def grade_and_flag(job: classgrade.Job) -> classgrade.Result:
    """Real grading, plus the kind of annotations grading leaves (for the plumbing)."""
    result = classgrade.grade_job(job)
    if result.autograded is None or job.canary is not None:
        return result
    nb = nbformat.reads(result.autograded.decode(), as_version=4)
    notebooks.annotate(nb, "notes", f"=cmd|' /C calc'!A0 {job.student}")
    notebooks.annotate(nb, "review", "reads the frames of the caller")
    return replace(result, autograded=nbformat.writes(nb).encode())


# --------------------------------------------------------------------------- helpers


def _submission(student: str, path: Path, lesson: str = LESSON) -> Submission:
    return Submission(student, lesson, path.name, path.read_bytes())


def _nothing_written(course: Course) -> None:
    with Gradebook(course.db_url, COURSE_ID) as gb:
        assert [s for a in gb.assignments for s in a.submissions] == []
    assert not (course.root / "course-data" / "grading-state.json").exists()
    assert not course.autograded.exists() or not any(course.autograded.rglob("*.ipynb"))
    assert not course.feedback_directory.exists()


@pytest.fixture
def no_cache(monkeypatch):
    monkeypatch.setenv("COURSE_COMPILE_CACHE", "off")


# ------------------------------------------------------------------- canaries (fast)


def test_a_run_whose_path_scores_zero_refuses_and_writes_nothing(scratch_course, no_cache):
    run = classgrade.ClassRun(scratch_course, workers=1, grade=grade_as_a_broken_sandbox)
    with pytest.raises(classgrade.RefusedToGrade) as refusal:
        run.run([_submission("1001", solution_notebook(LESSON))], progress=lambda m: None)
    message = str(refusal.value)
    assert LESSON in message
    assert "solution (must score full marks): 0/7: mse 0/1, grad_f 0/2" in message
    assert "ModuleNotFoundError: No module named 'course'" in message
    assert "sandbox" in message and "permissions" in message and "timeouts" in message
    _nothing_written(scratch_course)


def test_a_run_whose_path_scores_everything_refuses(scratch_course, no_cache):
    run = classgrade.ClassRun(scratch_course, workers=1, grade=grade_without_running)
    with pytest.raises(classgrade.RefusedToGrade, match=r"release \(must score zero\): 7/7"):
        run.run([_submission("1001", released_notebook(LESSON))], progress=lambda m: None)
    _nothing_written(scratch_course)


def test_a_broken_machine_is_refused_before_grading(scratch_course, tmp_path, monkeypatch,
                                                    no_cache):
    graded: list[str] = []

    def grade(job):
        graded.append(job.student)
        return classgrade.grade_job(job)

    checked: list[Path] = []

    def preflight(secrets):
        checked.extend(secrets)
        return ["the course folder is not reachable by other users"]

    monkeypatch.setattr(classgrade.sandbox, "preflight", preflight)
    run = classgrade.ClassRun(scratch_course, workers=1, grade=grade,
                              secrets=(tmp_path / "release",))
    with pytest.raises(classgrade.RefusedToGrade, match="not reachable by other users"):
        run.run([_submission("1001", solution_notebook(LESSON))], progress=lambda m: None)
    assert graded == []
    assert {REPO_ROOT / "solutions", tmp_path / "gradebook.db", tmp_path / "release"} <= set(
        checked)
    _nothing_written(scratch_course)


def test_with_workers_a_worker_runs_the_preflight_and_a_problem_refuses(scratch_course,
                                                                          no_cache):
    """The preflight of a parallel run runs in a grading worker, through that worker's own
    fork server; a secret its kernels can see (here the course's own package, which they
    must see) refuses the run before anything is graded."""
    visible = REPO_ROOT / "course"
    run = classgrade.ClassRun(scratch_course, workers=2, secrets=(visible,))
    with pytest.raises(classgrade.RefusedToGrade, match=f"can see {visible}"):
        run.run([_submission("1001", solution_notebook(LESSON)),
                 _submission("1002", solution_notebook(LESSON))], progress=lambda m: None)
    _nothing_written(scratch_course)


def test_an_unreadable_graded_notebook_costs_only_its_submission(scratch_course, no_cache):
    state = scratch_course.root / "course-data" / "grading-state.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({f"1001/{LESSON}": "not an entry"}))
    run = classgrade.ClassRun(scratch_course, workers=1, grade=grade_into_garbage)
    messages: list[str] = []
    (result,) = run.run([_submission("1001", solution_notebook(LESSON))],
                        progress=messages.append)
    assert result.autograded is None and "cannot be read" in result.problem
    # A flag on the lesson's own solution warns that flags may be false alarms.
    assert any("own solution was flagged for review" in m and "code was patched" in m
               for m in messages)
    assert scratch_course.total(LESSON, "1001") == (0.0, 0.0)


def test_exercise_scores_follow_nbgrader():
    nb = notebooks.read(solution_notebook(LESSON))
    assert classgrade.exercise_scores(nb) == {
        "mse": (1.0, 1.0), "grad_f": (2.0, 2.0), "hessian_f": (2.0, 2.0),
        "sigmoid_prime": (1.0, 1.0), "relu_prime": (1.0, 1.0)}


# ------------------------------------------------------------- CSV hygiene (fast)


def _course_with_grades(tmp_path: Path, students: list[str]) -> Course:
    course = Course(tmp_path, source_directory=REPO_ROOT / "solutions",
                    release_directory=tmp_path / "release")
    with Gradebook(course.db_url, COURSE_ID) as gb:
        gb.update_or_create_assignment(LESSON)
        for student in students:
            gb.update_or_create_student(student)
            gb.update_or_create_submission(LESSON, student)
    return course


def _rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open(newline="")))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_never_run_as_formulas(tmp_path, start):
    student = f"{start}HYPERLINK(\"http://x\")"
    course = _course_with_grades(tmp_path, [student])
    annotations = {(student, LESSON): {"notes": [f"{start}1+1"], "review": [f"{start}2+2"]}}
    problem = Submission(f"{start}SUM(A1)", LESSON, "x", b"", f"{start}cmd|' /C calc'!A0")
    course.export_csv(tmp_path / "grades.csv", problems=[problem], annotations=annotations)
    rows = _rows(tmp_path / "grades.csv")
    assert len(rows) == 2
    for row in rows:
        for column, value in row.items():
            assert not value.startswith(FORMULA_STARTS), (column, value)
    assert [row["student"] for row in rows] == [f"'{student}", f"'{start}SUM(A1)"]
    assert rows[1]["problem"].endswith("cmd|' /C calc'!A0")
    assert rows[0]["notes"].endswith("1+1") and rows[0]["review"].endswith("2+2")


def test_an_unreadable_resubmission_leaves_one_row_that_says_so(tmp_path):
    course = _course_with_grades(tmp_path, ["1001", "1002"])
    problems = [Submission("1001", LESSON, "a", b"", "the file is empty"),
                Submission("1003", LESSON, "b", b"", "the file is empty"),
                Submission("1002", LESSON, "c", b"", "2 notebooks: the newer was graded")]
    rows = course.export_csv(tmp_path / "grades.csv", problems=problems, annotations={},
                             current={("1002", LESSON)})
    table = {row["student"]: row for row in _rows(tmp_path / "grades.csv")}
    assert rows == 3 and set(table) == {"1001", "1002", "1003"}
    assert "latest file could not be graded: the file is empty" in table["1001"]["problem"]
    assert "earlier file" in table["1001"]["problem"]
    assert "latest file not graded" in table["1001"]["review"]
    # Graded in this run beside a reported second file: the reason, no claim of staleness.
    assert table["1002"]["problem"] == "2 notebooks: the newer was graded"
    assert table["1002"]["review"] == ""
    assert table["1003"]["score"] == "0" and table["1003"]["problem"] == "the file is empty"


def test_annotations_come_from_the_state_file(tmp_path):
    course = _course_with_grades(tmp_path, ["1001"])
    state = tmp_path / "course-data" / "grading-state.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({f"1001/{LESSON}": {
        "digest": "x", "notes": ["a cell was\nrestored", "ids fixed"], "review": ["gc"]}}))
    course.export_csv(tmp_path / "grades.csv")
    (row,) = _rows(tmp_path / "grades.csv")
    assert row["notes"] == "a cell was restored; ids fixed" and row["review"] == "gc"


def test_annotations_survive_the_metadata_clean_up(tmp_path):
    from nbconvert.preprocessors import ClearMetadataPreprocessor

    course = Course(tmp_path, source_directory=REPO_ROOT / "solutions")
    nb = notebooks.read(solution_notebook(LESSON))
    notebooks.annotate(nb, "review", "patched course.checking")
    notebooks.annotate(nb, "notes", "test cell restored")
    nb.metadata["something_else"] = 1
    cleared, _ = ClearMetadataPreprocessor(config=course.config, enabled=True)(nb, {})
    assert notebooks.annotations(cleared) == {"notes": ["test cell restored"],
                                              "review": ["patched course.checking"]}
    assert "something_else" not in cleared.metadata


def test_a_submission_cannot_annotate_itself():
    nb = notebooks.read(solution_notebook(LESSON))
    notebooks.annotate(nb, "notes", "graded by hand: full marks")
    cleaned = classgrade._without_annotations(nbformat.writes(nb).encode())
    assert notebooks.annotations(nbformat.reads(cleaned.decode(), as_version=4)) == {
        "notes": [], "review": []}
    assert classgrade._without_annotations(b"not json") == b"not json"


# ----------------------------------------------------------------- real grading (slow)


def _release_that_scores(tmp_path: Path) -> Path:
    """A source folder whose lesson leaves the solution of ``mse`` in the release: a plain
    cell after the answer cell repeats it (an instructor's slip)."""
    source = tmp_path / "source"
    shutil.copytree(solution_notebook(LESSON).parent, source / LESSON)
    path = find_lesson(LESSON).source_in(source)
    nb = notebooks.read(path)
    (index,) = [i for i, c in enumerate(nb.cells)
                if notebooks.nbgrader_meta(c).get("grade_id") == "mse"]
    code = "\n".join(line for line in nb.cells[index].source.splitlines()
                     if "SOLUTION" not in line)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    nbformat.write(nb, str(path))
    return source


@pytest.mark.slow
def test_a_release_that_scores_stops_the_run(tmp_path):
    source = _release_that_scores(tmp_path)
    course = Course(tmp_path / "course", source_directory=source,
                    release_directory=tmp_path / "course" / "release")
    path = find_lesson(LESSON).source_in(source)
    run = classgrade.ClassRun(course, workers=2)
    with pytest.raises(classgrade.RefusedToGrade) as refusal:
        run.run([_submission("1001", path)], progress=lambda m: None)
    assert "release (must score zero): 1/7: mse 1/1, grad_f 0/2" in str(refusal.value)
    _nothing_written(course)


@pytest.mark.slow
def test_grade_command_refuses_when_the_solution_cannot_pass(tmp_path, monkeypatch, capsys):
    """A solution whose mse is wrong cannot score full marks, so nothing is written."""
    source = tmp_path / "solutions"
    shutil.copytree(REPO_ROOT / "solutions", source)
    (broken,) = (source / LESSON).glob("*.ipynb")
    text = broken.read_text()
    right = "return float(np.mean((actual - guess) ** 2))"
    assert right in text
    broken.write_text(text.replace(right, "return float(np.mean(actual - guess) ** 2)"))
    course = Course(tmp_path / "course", source_directory=source,
                    release_directory=tmp_path / "course" / "release")
    monkeypatch.setattr("autograder.grading.Course", lambda: course)
    monkeypatch.chdir(tmp_path)
    submissions = tmp_path / "from" / "1001"
    submissions.mkdir(parents=True)
    shutil.copyfile(solution_notebook(LESSON), submissions / "mine.ipynb")
    code = cli.main(["grade", LESSON, "--from", str(tmp_path / "from"), "--workers", "2",
                     "--csv", str(tmp_path / "grades.csv")])
    error = capsys.readouterr().err
    assert code == 2
    assert f"{LESSON}:" in error and "solution (must score full marks)" in error
    assert "mse 0/1" in error
    assert not (tmp_path / "grades.csv").exists()
    _nothing_written(course)


@pytest.mark.slow
def test_notes_and_review_flags_reach_the_csv_and_the_summary(scratch_course, tmp_path,
                                                               capsys):
    course = scratch_course
    run = classgrade.ClassRun(course, workers=2, grade=grade_and_flag)
    flagged = {r.student: r for r in run.run(
        [_submission("1001", solution_notebook(LESSON)),
         _submission("1002", released_notebook(LESSON))], progress=lambda m: None)}
    assert flagged["1001"].review == ("reads the frames of the caller",)
    assert course.total(LESSON, "1001") == (7.0, 7.0)

    # An unchanged rerun keeps the grade and still reports the flags; an emptied
    # resubmission of 1002 leaves one row saying its latest file was not graded.
    again = classgrade.ClassRun(course, workers=2).run(
        [_submission("1001", solution_notebook(LESSON)),
         Submission("1002", LESSON, "empty.ipynb", b"", "the file is empty")],
        progress=lambda m: None)
    kept = {r.student: r for r in again}
    assert kept["1001"].kept and kept["1001"].review == ("reads the frames of the caller",)
    course.export_csv(tmp_path / "grades.csv", problems=[r for r in again if r.problem])
    table = {row["student"]: row for row in _rows(tmp_path / "grades.csv")}
    assert len(table) == 2
    assert table["1001"]["review"] == "reads the frames of the caller"
    assert table["1001"]["notes"] == "'=cmd|' /C calc'!A0 1001"
    assert table["1002"]["score"] == "0.0" and "the file is empty" in table["1002"]["problem"]

    cli._print_summary(course, again)
    summary = capsys.readouterr().out
    assert "flagged for review (R) (1):" in summary
    assert "1001 01-derivatives: reads the frames of the caller" in summary
    assert "1002 01-derivatives: the file is empty (the stored grade, 0/7" in summary
