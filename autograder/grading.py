"""Grading with nbgrader: a course folder, its gradebook, autograding and feedback."""

from __future__ import annotations

import csv
import shutil
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

    def export_csv(self, path: Path, problems: list | None = None) -> int:
        """Write one row per student and lesson; return the number of rows.

        ``problems`` are submissions that could not be graded (each with ``student``,
        ``lesson`` and ``problem``); they are listed with a score of 0 and the reason.
        """
        rows = 0
        with Gradebook(self.db_url, COURSE_ID) as gb, open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["lesson", "student", "score", "max_score", "needs_manual_grade",
                             "problem"])
            for assignment in sorted(gb.assignments, key=lambda a: a.name):
                for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                    writer.writerow([assignment.name, submission.student.id, submission.score,
                                     submission.max_score, submission.needs_manual_grade, ""])
                    rows += 1
            for problem in problems or []:
                writer.writerow([problem.lesson, problem.student, 0, "", False, problem.problem])
                rows += 1
        return rows
