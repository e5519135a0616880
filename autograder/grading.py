"""Grading with nbgrader: a course folder, its gradebook, autograding and feedback."""

from __future__ import annotations

import csv
import functools
import hashlib
import re
import shutil
import warnings
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode
from nbgrader import api as nbgrader_api
from nbgrader import utils as nbgrader_utils
from nbgrader.api import (
    Comment,
    Grade,
    Gradebook,
    MissingEntry,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
    new_uuid,
)
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning
from sqlalchemy.pool import NullPool

from autograder.config import (
    COURSE_ID,
    DATA_DIRECTORY,
    RELEASE_DIRECTORY,
    REPO_ROOT,
    SOURCE_DIRECTORY,
    course_config,
)
from autograder.run_state import RunState

#: The class run's state file, in the course's data folder: per ``student/lesson``, the
#: digest of the graded file and grading's notes and review lines.
STATE_FILE = "grading-state.json"


#: The PostgreSQL advisory lock (per database) under which graders create what they share
#: in a gradebook: its tables, its course rows, students, assignments and submissions.
GRADEBOOK_LOCK_KEY = int.from_bytes(
    hashlib.sha256(f"nbgrader gradebook of {COURSE_ID}".encode()).digest()[:8], "big",
    signed=True)


# nbgrader's add_submission links new rows before adding them to the session, and
# SQLAlchemy warns about it on every autograde; the rows are right (nbgrader's tests
# cover them), and a class run's terminal is no place for a warning per submission.
warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in session",
                        category=SAWarning)


@functools.cache
def alembic_head() -> str:
    """The newest revision of nbgrader's gradebook schema, read once in this process.

    nbgrader's ``Gradebook`` runs ``alembic heads`` in a new interpreter for every
    database it creates, about 3 s each: a class run creates one scratch gradebook per
    lesson and worker. This reads the same migration scripts with alembic's own API.
    """
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = AlembicConfig()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


nbgrader_api.get_alembic_version = alembic_head


class GradingError(RuntimeError):
    """nbgrader could not grade a submission."""


#: The line a Python traceback ends with: the exception's (dotted) name and its message.
_EXCEPTION_LINE = re.compile(r"(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*: \S.*")


def failure_cause(text: str) -> str | None:
    """The exception line of the first traceback in ``text`` (a log, whose lines may be
    indented): what went wrong, without the frames nbgrader and nbconvert add around it.
    It is the first line after the frames that is indented less than they are.

    >>> failure_cause("[ERROR] Traceback (most recent call last):\\n"
    ...               "      File 'x.py', line 1, in f\\n        f()\\n"
    ...               "    mod.Stopped: the kernel did not start\\n[ERROR] more")
    'mod.Stopped: the kernel did not start'
    """
    lines = text.splitlines()
    for start, header in enumerate(lines):
        if "Traceback (most recent call last):" not in header:
            continue
        frames = None
        for line in lines[start + 1:]:
            indent = len(line) - len(line.lstrip())
            if frames is None:
                frames = indent
            elif indent < frames and _EXCEPTION_LINE.fullmatch(line.strip()):
                return line.strip()
        return None
    return None


def _grading_error(what: str, result: dict) -> GradingError:
    """The error for nbgrader's failed ``result``: the cause, when a traceback in its log
    names it (its error is nbgrader's own "see the above traceback"), else its error and
    log."""
    cause = failure_cause(str(result.get("log")))
    details = f"{result.get('error')}\n{result.get('log')}"
    return GradingError(f"{what}: {cause}" if cause else f"{what}: {details}")


@contextmanager
def gradebook_lock(db_url: str) -> Iterator[None]:
    """Hold the gradebook's creation lock for the block (on PostgreSQL; elsewhere a no-op).

    nbgrader's ``Gradebook`` creates rows by looking for them first and inserting when
    they are missing, and its tables the same way: two graders doing so at once for the
    same student, course or empty database fail with an ``IntegrityError`` (a unique key,
    or PostgreSQL's catalogue, already taken). Creating them under this lock makes each
    exist once. On PostgreSQL it is a session advisory lock held by a connection of its
    own, released when the block ends or the process dies. SQLite is for one grader on
    one machine and needs none.
    """
    if make_url(db_url).get_backend_name() != "postgresql":
        yield
        return
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": GRADEBOOK_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": GRADEBOOK_LOCK_KEY})
    finally:
        engine.dispose()


@dataclass(frozen=True)
class CellScore:
    grade_id: str
    score: float
    max_score: float


class Course:
    """A course folder: solutions, releases, submissions and one gradebook.

    ``Course()`` is this repository; tests build a throw-away course with
    ``Course(tmp, source_directory=REPO_ROOT / "solutions")``.
    """

    def __init__(self, root: Path = REPO_ROOT, *, source_directory: Path | str = SOURCE_DIRECTORY,
                 release_directory: Path | str = RELEASE_DIRECTORY,
                 db_url: str | None = None, **limits: int) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        #: Time limits given here (``cell_timeout``, ``notebook_timeout``); class runs pass
        #: them on to the scratch courses of their workers.
        self.limits: dict[str, int] = dict(limits)
        self.config = course_config(self.root, source_directory=source_directory,
                                    release_directory=release_directory, db_url=db_url,
                                    **limits)
        self.db_url: str = self.config.CourseDirectory.db_url
        self.api = NbGraderAPI(config=self.config)
        self._gradebook_ready = False

    @property
    def submitted(self) -> Path:
        return self.root / DATA_DIRECTORY / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / DATA_DIRECTORY / "autograded"

    @property
    def feedback_directory(self) -> Path:
        return self.root / DATA_DIRECTORY / "feedback"

    def gradebook(self) -> Gradebook:
        """The course's gradebook, open (close it, or use it in a ``with`` block).

        The first call creates the tables and the course's rows under
        :func:`gradebook_lock`, so graders that open a new shared database at once do not
        collide.
        """
        self._create_gradebook()
        return Gradebook(self.db_url, COURSE_ID)

    def _create_gradebook(self) -> None:
        """Create the gradebook's tables and course rows once (a no-op when they exist)."""
        if self._gradebook_ready:
            return
        with gradebook_lock(self.db_url):
            # nbgrader's SaveAutoGrades opens the gradebook under its default course.
            for course_id in (COURSE_ID, "default_course"):
                Gradebook(self.db_url, course_id).close()
        self._gradebook_ready = True

    def generate(self, assignment: str) -> None:
        """Generate the release (and register the assignment in the gradebook).

        Under :func:`gradebook_lock`: graders generating at once against one database
        (the same lesson or not) take turns.
        """
        self._create_gradebook()
        with gradebook_lock(self.db_url):
            result = self.api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise _grading_error(assignment, result)

    def submit(self, student: str, assignment: str, notebook: Path, *,
               name: str | None = None) -> Path:
        """Place a copy of ``notebook`` as ``student``'s submission of ``assignment``."""
        target = self.submitted / student / assignment / (name or notebook.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, target)
        return target

    def students(self, assignment: str) -> list[str]:
        if not self.submitted.exists():
            return []
        return sorted(p.name for p in self.submitted.iterdir() if (p / assignment).is_dir())

    def autograde(self, assignment: str, student: str) -> None:
        result = self.api.autograde(assignment, student, force=True, create=True)
        if not result["success"]:
            raise _grading_error(f"{student}/{assignment}", result)

    def generate_feedback(self, assignment: str, student: str) -> Path:
        result = self.api.generate_feedback(assignment, student, force=True)
        if not result["success"]:
            raise _grading_error(f"feedback {student}/{assignment}", result)
        return self.feedback_directory / student / assignment

    def save_autograded(self, assignment: str, student: str, notebook: str,
                        nb: NotebookNode) -> None:
        """Store the automatic scores of ``student``'s graded ``notebook`` (its name
        without ``.ipynb``); see :meth:`save_autograded_many`."""
        self.save_autograded_many([(assignment, student, notebook, nb)])

    def save_autograded_many(self, graded: list[tuple[str, str, str, NotebookNode]]) -> None:
        """Store the automatic scores of several graded notebooks, each given as
        (assignment, student, notebook name without ``.ipynb``, graded notebook), in one
        transaction; manual grades stay.

        Under :func:`gradebook_lock`, so coordinators storing the same students at once
        create each student's and submission's rows once. One connection and one commit
        for the whole batch: nbgrader's ``SaveAutoGrades`` opens the gradebook and
        commits once per cell, which made storing cost about half a second per
        submission. The rows written are the same (:class:`_AutoGrades`).
        """
        if not graded:
            return
        self._create_gradebook()
        with gradebook_lock(self.db_url), Gradebook(self.db_url, COURSE_ID) as gb:
            try:
                for assignment, student, notebook, nb in graded:
                    _upsert(gb, assignment, student)
                    resources = {"nbgrader": {"assignment": assignment, "student": student,
                                              "notebook": notebook, "db_url": self.db_url}}
                    _AutoGrades(gb, config=self.config).preprocess(nb, resources)
                gb.db.commit()
            except Exception:
                gb.db.rollback()
                raise

    def cell_scores(self, assignment: str, student: str) -> dict[str, CellScore]:
        """Automatic scores of every graded cell of ``student``'s submission."""
        scores: dict[str, CellScore] = {}
        with self.gradebook() as gb:
            submission = gb.find_submission(assignment, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    scores[grade.name] = CellScore(grade.name, float(grade.score),
                                                   float(grade.max_score))
        return scores

    def total(self, assignment: str, student: str) -> tuple[float, float]:
        with self.gradebook() as gb:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                return 0.0, 0.0
            return float(submission.score), float(submission.max_score)

    def export_csv(self, path: Path, problems: list | None = None,
                   annotations: dict[tuple[str, str], dict] | None = None,
                   current: Collection[tuple[str, str]] = ()) -> int:
        """Write one row per student and lesson; return the number of rows.

        ``problems`` are submissions that could not be graded (each with ``student``,
        ``lesson`` and ``problem``). One without a stored grade gets a row of its own, with
        a score of 0 and the reason. One whose student has a stored grade for the lesson
        never adds a second row: when that grade is ``current`` (the (student, lesson) was
        graded or kept in this run, as when intake reports a second notebook beside the
        graded one), the reason goes into the grade's row; otherwise (a resubmission that
        came out empty or broken) the row says that the latest file could not be graded,
        why, and that its score is that of an earlier file, and flags it for review: the
        instructor decides. ``annotations`` maps (student, lesson) to grading's ``notes`` and
        ``review`` lines (default: those kept in the class run's state file); they fill
        the ``review`` and ``notes`` columns, joined with "; ".

        Every text cell that a spreadsheet would run as a formula (starting with ``=``,
        ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with ``'``.
        """
        annotations = self.stored_annotations() if annotations is None else annotations
        unresolved: dict[tuple[str, str], list[str]] = {}
        for problem in problems or []:
            if not problem.problem:  # graded, or kept from an earlier run
                continue
            unresolved.setdefault((problem.student, problem.lesson), []).append(problem.problem)
        rows = 0
        with self.gradebook() as gb, open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["lesson", "student", "score", "max_score", "needs_manual_grade",
                             "review", "notes", "problem"])
            for assignment in sorted(gb.assignments, key=lambda a: a.name):
                for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                    key = (submission.student.id, assignment.name)
                    marks = annotations.get(key, {})
                    review, problem = list(marks.get("review", [])), ""
                    if key in unresolved and key in current:
                        problem = _joined(unresolved.pop(key))
                    elif key in unresolved:
                        problem = (f"the latest file could not be graded: "
                                   f"{_joined(unresolved.pop(key))} (the score is that of an "
                                   "earlier file)")
                        review.append("latest file not graded: the score is an earlier file's")
                    writer.writerow(_spreadsheet_safe([
                        assignment.name, submission.student.id, submission.score,
                        submission.max_score, submission.needs_manual_grade,
                        _joined(review), _joined(marks.get("notes", [])), problem]))
                    rows += 1
            for (student, lesson), reasons in unresolved.items():
                writer.writerow(_spreadsheet_safe([lesson, student, 0, "", False, "", "",
                                                   _joined(reasons)]))
                rows += 1
        return rows

    def stored_annotations(self) -> dict[tuple[str, str], dict]:
        """Grading's notes and review lines per (student, lesson), from the class run's
        state (its file and the journal a killed run left; empty when there is none)."""
        found = {}
        for key, entry in RunState(self.root / DATA_DIRECTORY / STATE_FILE).entries.items():
            student, _, lesson = str(key).rpartition("/")
            if isinstance(entry, dict):
                found[(student, lesson)] = entry
        return found


#: Characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _upsert(gb: Gradebook, assignment: str, student: str) -> None:
    """Create ``student`` and their submission of ``assignment`` (with a row for each of
    its grades) unless they exist; nothing is committed yet."""
    try:
        gb.find_student(student)
    except MissingEntry:
        gb.db.add(Student(id=student))
        gb.db.flush()
    try:
        gb.find_submission(assignment, student)
    except MissingEntry:
        # The rows of nbgrader's add_submission (the submission mirrors the assignment's
        # structure), made by id: linking the objects would load every submission of the
        # assignment and of its notebooks into the session, once per new submission.
        found = gb.find_assignment(assignment)
        submission = new_uuid()
        gb.db.add(SubmittedAssignment(id=submission, assignment_id=found.id,
                                      student_id=student))
        for notebook in found.notebooks:
            submitted = new_uuid()
            gb.db.add(SubmittedNotebook(id=submitted, assignment_id=submission,
                                        notebook_id=notebook.id))
            for cell in notebook.grade_cells:
                gb.db.add(Grade(cell_id=cell.id, notebook_id=submitted))
            for cell in notebook.solution_cells:
                gb.db.add(Comment(cell_id=cell.id, notebook_id=submitted))
            for cell in notebook.task_cells:
                gb.db.add(Comment(cell_id=cell.id, notebook_id=submitted))
                gb.db.add(Grade(cell_id=cell.id, notebook_id=submitted))
        gb.db.flush()


class _AutoGrades(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades`` in an open gradebook, without a commit per cell
    (:meth:`Course.save_autograded_many` commits the batch): the same scores, the same
    "needs manual grade" rule, the same "No response." comments."""

    def __init__(self, gradebook: Gradebook, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gradebook = gradebook

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        # One query for the notebook's grades and comments, not one per cell.
        row = self.gradebook.find_submission_notebook(self.notebook_id, self.assignment_id,
                                                      self.student_id)
        self.grades = {grade.name: grade for grade in row.grades}
        self.comments = {comment.name: comment for comment in row.comments}
        for index, cell in enumerate(nb.cells):
            self.preprocess_cell(cell, resources, index)
        return nb, resources

    def _add_score(self, cell: NotebookNode, resources: dict) -> None:
        name = cell.metadata["nbgrader"]["grade_id"]
        grade = self.grades.get(name) or self.gradebook.find_grade(
            name, self.notebook_id, self.assignment_id, self.student_id)
        grade.auto_score, _ = nbgrader_utils.determine_grade(cell, self.log)
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None

    def _add_comment(self, cell: NotebookNode, resources: dict) -> None:
        name = cell.metadata["nbgrader"]["grade_id"]
        comment = self.comments.get(name) or self.gradebook.find_comment(
            name, self.notebook_id, self.assignment_id, self.student_id)
        unchanged = cell.metadata.nbgrader.get("checksum", None) == (
            nbgrader_utils.compute_checksum(cell))
        comment.auto_comment = ("No response." if unchanged and not nbgrader_utils.is_task(cell)
                                else None)


def _spreadsheet_safe(row: list) -> list:
    """``row`` with every text cell a spreadsheet would run as a formula prefixed by ``'``."""
    return [f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell
            for cell in row]


def _joined(lines: list) -> str:
    """Annotation lines as one cell: "; "-separated, each on one line."""
    return "; ".join(" ".join(str(line).split()) for line in lines)
