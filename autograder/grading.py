"""Grading with nbgrader: a course folder, its gradebook, autograding and feedback."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI

from autograder.config import (
    COURSE_ID,
    DATA_DIRECTORY,
    RELEASE_DIRECTORY,
    REPO_ROOT,
    SOURCE_DIRECTORY,
    course_config,
)

#: The class run's state file, in the course's data folder: per ``student/lesson``, the
#: digest of the graded file and grading's notes and review lines.
STATE_FILE = "grading-state.json"


class GradingError(RuntimeError):
    """nbgrader could not grade a submission."""


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

    @property
    def submitted(self) -> Path:
        return self.root / DATA_DIRECTORY / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / DATA_DIRECTORY / "autograded"

    @property
    def feedback_directory(self) -> Path:
        return self.root / DATA_DIRECTORY / "feedback"

    def generate(self, assignment: str) -> None:
        """Generate the release (and register the assignment in the gradebook)."""
        result = self.api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise GradingError(f"{assignment}: {result.get('error')}\n{result.get('log')}")

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
            raise GradingError(f"{student}/{assignment}: {result.get('error')}\n"
                               f"{result.get('log')}")

    def generate_feedback(self, assignment: str, student: str) -> Path:
        result = self.api.generate_feedback(assignment, student, force=True)
        if not result["success"]:
            raise GradingError(f"feedback {student}/{assignment}: {result.get('error')}")
        return self.feedback_directory / student / assignment

    def cell_scores(self, assignment: str, student: str) -> dict[str, CellScore]:
        """Automatic scores of every graded cell of ``student``'s submission."""
        scores: dict[str, CellScore] = {}
        with Gradebook(self.db_url, COURSE_ID) as gb:
            submission = gb.find_submission(assignment, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    scores[grade.name] = CellScore(grade.name, float(grade.score),
                                                   float(grade.max_score))
        return scores

    def total(self, assignment: str, student: str) -> tuple[float, float]:
        with Gradebook(self.db_url, COURSE_ID) as gb:
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
        with Gradebook(self.db_url, COURSE_ID) as gb, open(path, "w", newline="") as handle:
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
        state file (empty when there is none)."""
        try:
            state = json.loads((self.root / DATA_DIRECTORY / STATE_FILE).read_text())
        except (OSError, ValueError):
            return {}
        found = {}
        for key, entry in state.items() if isinstance(state, dict) else ():
            student, _, lesson = str(key).rpartition("/")
            if isinstance(entry, dict):
                found[(student, lesson)] = entry
        return found


#: Characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(row: list) -> list:
    """``row`` with every text cell a spreadsheet would run as a formula prefixed by ``'``."""
    return [f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell
            for cell in row]


def _joined(lines: list) -> str:
    """Annotation lines as one cell: "; "-separated, each on one line."""
    return "; ".join(" ".join(str(line).split()) for line in lines)
