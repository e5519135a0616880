"""What a class got wrong in a lesson: the data of the instructor's report.

``autograder report LESSON`` reads what grading left behind and writes one HTML page
(:mod:`autograder.report_html`). It reads, and never changes:

* the gradebook (:class:`~autograder.grading.Course`): each graded student's total and
  the score of each test cell, manual grades included;
* the autograded notebooks (``course-data/autograded/<student>/<lesson>/``): the failure
  message of each failed test cell. A checker's message names a known mistake on its
  last line, ``mistake key: <key>`` (:func:`course.checking.named_mistake`); a message
  with a ``likely mistake:`` line but no key is keyed by that line
  (:func:`course.checking.mistake_key`); any other failure is ``other``;
* the class run's state file, through :meth:`Course.stored_annotations`: review flags
  and grading notes;
* why a submission was not graded (the gradebook does not keep that): from the class
  run's state, for a file that reached grading and failed there, and from the grades CSV
  of ``autograder grade`` when there is one, for the rest (intake problems such as an
  empty file or a second notebook). A student with a folder in
  ``course-data/submitted`` for the lesson but no grade is listed too.

Everything read from a notebook or a submission is data to show, escaped by the page.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean, median

from nbgrader.api import Gradebook, MissingEntry

from autograder import notebooks
from autograder.config import COURSE_ID
from autograder.grading import FORMULA_STARTS, Course
from autograder.lessons import Layout, Lesson, layout
from course.checking import mistake_key, named_mistake

__all__ = ["OTHER", "ClassData", "ExerciseRates", "Failure", "MistakeCount", "NotGraded",
           "StudentScore", "collect", "failure_key", "pass_rates", "top_mistakes"]

#: The key of a failure whose message names no mistake.
OTHER = "other"
_LIKELY = re.compile(r"^[ \t]*likely mistake:[ \t]*(\S.*)$", re.M)
_EXAMPLE_CHARS = 2_000


@dataclass(frozen=True)
class StudentScore:
    """A graded student's total and per-exercise (score, max score), from the gradebook."""

    student: str
    total: float
    max_total: float
    exercises: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class Failure:
    """One failed test cell of a graded notebook."""

    student: str
    exercise: str
    key: str  # the named mistake, or OTHER
    message: str  # the error's text as the autograded notebook holds it


@dataclass(frozen=True)
class NotGraded:
    """A submitted file that was not graded, and why; ``stored`` is the grade that stands
    for the student (an earlier file's, or another file's), if any."""

    student: str
    reason: str
    stored: str | None = None


@dataclass
class ClassData:
    """Everything the report shows about one lesson."""

    lesson: str
    exercises: dict[str, float]  # exercise id -> points, in the lesson's order
    scores: list[StudentScore] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    review: dict[str, list[str]] = field(default_factory=dict)  # student -> flags
    notes: dict[str, list[str]] = field(default_factory=dict)  # student -> notes
    not_graded: list[NotGraded] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # what was read, for the page

    @property
    def max_total(self) -> float:
        return sum(self.exercises.values())

    @property
    def totals(self) -> list[float]:
        return [s.total for s in self.scores]

    @property
    def ungraded(self) -> list[NotGraded]:
        """Files not graded of students who have no grade at all."""
        graded = {s.student for s in self.scores}
        return [n for n in self.not_graded if n.student not in graded]

    def summary(self) -> dict[str, float | int | None]:
        """Counts and statistics of the score distribution."""
        totals = self.totals
        return {"graded": len(totals), "not_graded": len({n.student for n in self.ungraded}),
                "flagged": len(self.review), "mean": mean(totals) if totals else None,
                "median": median(totals) if totals else None, "max_total": self.max_total}


# ---------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class ExerciseRates:
    """How the graded students did on one exercise."""

    exercise: str
    points: float
    full: int
    partial: int
    zero: int

    @property
    def rate(self) -> float:
        """The share of graded students with full marks."""
        graded = self.full + self.partial + self.zero
        return self.full / graded if graded else 0.0


def pass_rates(data: ClassData) -> list[ExerciseRates]:
    """Full marks, partial and zero per exercise. An exercise worth no points counts as
    full marks when none of its test cells failed."""
    failed = {(f.student, f.exercise) for f in data.failures}
    rates = []
    for exercise, points in data.exercises.items():
        counts = Counter()
        for score in data.scores:
            got, worth = score.exercises.get(exercise, (0.0, points))
            if worth <= 0:
                counts["zero" if (score.student, exercise) in failed else "full"] += 1
            elif got >= worth:
                counts["full"] += 1
            elif got > 0:
                counts["partial"] += 1
            else:
                counts["zero"] += 1
        rates.append(ExerciseRates(exercise, points, counts["full"], counts["partial"],
                                   counts["zero"]))
    return rates


@dataclass(frozen=True)
class MistakeCount:
    """A mistake of one exercise: how many students made it, and one message naming it.
    For :data:`OTHER`, ``first_lines`` counts the messages' first lines."""

    key: str
    students: int
    example: str
    first_lines: tuple[tuple[str, int], ...] = ()


def top_mistakes(data: ClassData, limit: int = 5) -> dict[str, list[MistakeCount]]:
    """Per exercise, its ``limit`` most frequent named mistakes (most students first, then
    by key), followed by the :data:`OTHER` failures if there are any. A student counts once
    per mistake and exercise; the example is the first student's (by id)."""
    found: dict[str, list[MistakeCount]] = {}
    for exercise in [*data.exercises, *sorted({f.exercise for f in data.failures}
                                              - set(data.exercises))]:
        failures = sorted((f for f in data.failures if f.exercise == exercise),
                          key=lambda f: (f.student, f.message))
        by_key: dict[str, list[Failure]] = {}
        for failure in failures:
            by_key.setdefault(failure.key, []).append(failure)
        named = sorted((k for k in by_key if k != OTHER),
                       key=lambda k: (-len({f.student for f in by_key[k]}), k))
        rows = [MistakeCount(k, len({f.student for f in by_key[k]}), by_key[k][0].message)
                for k in named[:limit]]
        if OTHER in by_key:
            others = by_key[OTHER]
            lines = Counter(_first_line(f.message) for f in others)
            rows.append(MistakeCount(OTHER, len({f.student for f in others}), others[0].message,
                                     tuple(sorted(lines.items(), key=lambda i: (-i[1], i[0])))))
        if rows:
            found[exercise] = rows
    return found


def _first_line(message: str) -> str:
    return (message.strip().splitlines() or [""])[0][:300]


# ------------------------------------------------------------------------------ failures


def failure_key(message: str) -> str:
    """The mistake a failure message names: its key line, else the key of its ``likely
    mistake:`` line, else :data:`OTHER`."""
    key = named_mistake(message)
    if key is not None:
        return key
    likely = _LIKELY.findall(message)
    return mistake_key(likely[-1]) if likely else OTHER


def notebook_failures(nb, student: str, lesson_layout: Layout) -> list[Failure]:
    """The failed test cells of a graded notebook: the first error of each."""
    failures = []
    for cell in notebooks.graded_cells(nb):
        if cell.kind != "tests":
            continue
        errors = notebooks.errors(nb.cells[cell.index])
        if not errors:
            continue
        try:
            exercise = lesson_layout.exercise_of(cell.grade_id)
        except ValueError:
            exercise = cell.grade_id
        message = str(errors[0].get("evalue", "")) or str(errors[0].get("ename", "error"))
        failures.append(Failure(student, exercise, failure_key(message),
                                message[:_EXAMPLE_CHARS]))
    return failures


# ------------------------------------------------------------------------------- sources


def collect(course: Course, lesson: str, grades_csv: Path | None = None) -> ClassData:
    """Read the gradebook, the autograded notebooks, the state file and (if it exists)
    ``grades_csv`` for ``lesson``."""
    lesson_layout = layout(notebooks.read(Lesson.from_id(lesson).source_in(
        _source_directory(course))))
    data = ClassData(lesson, {e.id: e.points for e in lesson_layout.exercises})
    data.scores = _gradebook_scores(course, lesson, lesson_layout)
    data.sources.append(f"gradebook: {len(data.scores)} graded submission(s)")
    read = 0
    for score in data.scores:
        for path in sorted((course.autograded / score.student / lesson).glob("*.ipynb")):
            try:
                nb = notebooks.read(path)
            except Exception as error:  # a damaged file costs its own failures only
                data.failures.append(Failure(score.student, "(notebook)", OTHER,
                                             f"the graded notebook cannot be read: {error}"))
                continue
            data.failures.extend(notebook_failures(nb, score.student, lesson_layout))
            read += 1
    data.sources.append(f"autograded notebooks: {read}")
    stored = {student: marks for (student, key_lesson), marks
              in course.stored_annotations().items() if key_lesson == lesson}
    for student, marks in stored.items():
        for kind, target in (("review", data.review), ("notes", data.notes)):
            lines = [str(line) for line in marks.get(kind, []) or []]
            if lines:
                target[student] = lines
    data.sources.append("state file: review flags and grading notes")
    if grades_csv is not None and grades_csv.is_file():
        data.not_graded.extend(_csv_not_graded(grades_csv, lesson))
        data.sources.append(f"grades CSV: {grades_csv.name}")
    graded = {s.student for s in data.scores}
    listed = {n.student for n in data.not_graded} | graded
    for student, marks in stored.items():
        reason = marks.get("not_graded")
        if not isinstance(reason, str):
            continue
        if student in graded:
            data.review.setdefault(student, []).append(
                f"latest file not graded: {reason} (the score is an earlier file's)")
        elif student not in listed:
            data.not_graded.append(NotGraded(student, reason))
            listed.add(student)
    if course.submitted.is_dir():
        for folder in sorted(course.submitted.iterdir()):
            if (folder / lesson).is_dir() and folder.name not in listed:
                data.not_graded.append(NotGraded(
                    folder.name, "submitted (course-data/submitted) but no grade in the "
                    "gradebook: not graded yet, or see the grading run's output"))
    return data


def _source_directory(course: Course) -> Path:
    source = Path(course.config.CourseDirectory.source_directory)
    return source if source.is_absolute() else course.root / source


def _gradebook_scores(course: Course, lesson: str, lesson_layout: Layout) -> list[StudentScore]:
    scores = []
    with Gradebook(course.db_url, COURSE_ID) as gb:
        try:
            submissions = gb.find_assignment(lesson).submissions
        except MissingEntry:
            return []
        for submission in sorted(submissions, key=lambda s: s.student.id):
            exercises: dict[str, tuple[float, float]] = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    try:
                        exercise = lesson_layout.exercise_of(grade.name)
                    except ValueError:
                        exercise = grade.name
                    got, worth = exercises.get(exercise, (0.0, 0.0))
                    exercises[exercise] = (got + float(grade.score or 0),
                                           worth + float(grade.max_score or 0))
            scores.append(StudentScore(submission.student.id, float(submission.score or 0),
                                       float(submission.max_score or 0), exercises))
    return scores


def _csv_not_graded(path: Path, lesson: str) -> list[NotGraded]:
    """The rows with a ``problem`` in a grades CSV (``autograder grade``'s) of ``lesson``, or
    of no lesson (a file whose lesson could not be recognised)."""
    found = []
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for row in csv.DictReader(handle):
            row = {key: _unescaped(value) for key, value in row.items() if key}
            if row.get("lesson") not in (lesson, "?") or not row.get("problem"):
                continue
            reason = row["problem"] + (" (lesson not recognised)" if row["lesson"] == "?"
                                       else "")
            stored = (f"{row.get('score')}/{row.get('max_score')}" if row.get("max_score")
                      else None)
            found.append(NotGraded(row.get("student", "?"), reason, stored))
    return found


def _unescaped(value: str | None) -> str:
    """A CSV cell without the ``'`` that kept a spreadsheet from running it as a formula."""
    value = value or ""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value
