"""Grades and feedback back into the LMS the submissions came from (Canvas, Moodle).

What each LMS writes, and reads back:

* **Canvas.** "Download Submissions" names each file
  ``<sortable name>[_LATE]_<user id>_<attachment id>_<file name>``, the sortable name
  ("Lovelace, Ada") lower-cased with every non-word character removed (``lovelaceada``).
  The gradebook export (Grades > Export > CSV) has the columns ``Student, ID, SIS User ID,
  SIS Login ID, Section``, one column per assignment titled ``<name> (<assignment id>)``,
  then read-only totals; its second row is ``Points Possible`` (other rows with an empty
  ``ID``, such as a manual-posting row, may follow). ``ID`` is the user id of the download
  names. On import, a column whose title is no assignment's becomes a new assignment.
  "Re-upload submissions" attaches each file of a zip, as a submission comment, to the
  user and attachment named by the first two all-digit ``_``-separated parts of its name,
  so a feedback file named ``<download prefix>_feedback-<notebook>.html`` reaches the
  student whose file it answers.
* **Moodle.** "Download all submissions" writes a folder (a file prefix before Moodle
  3.1) ``<Full Name>_<participant id>_assignsubmission_file_`` per student, the full name
  with ``_`` replaced by a space. The participant id is the assignment's own number for
  the student: no gradebook column holds it, so grades are matched by that full name
  (unique in the gradebook) or, for submissions not named by Moodle, by ``ID number``,
  ``Email address`` or ``Username``. The grade export (plain text file), also the layout
  the CSV grade import reads, has ``First name, Last name, ID number, Institution,
  Department, Email address`` and one column per grade item. "Upload multiple feedback
  files in a zip" reads the participant id from the first path part named
  ``<name>_<participant id>_<plugin type>_<plugin name>``: feedback goes in a folder
  named exactly as in the download.

Intake keeps the outermost LMS-written name in each submission's ``origin``;
:func:`remember` stores it per student and lesson in ``course-data/lms-downloads.json``
(beside the class run's state file), so that export and feedback can find them later.

Cells this module writes into a gradebook copy or the unmatched-students CSV are escaped
against spreadsheet formulas as the grades CSV is; the gradebook's own cells are written
back exactly as the LMS exported them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from autograder import intake
from autograder.grading import _spreadsheet_safe

CANVAS, MOODLE = "canvas", "moodle"
LMS_NAMES = (CANVAS, MOODLE)
#: Where :func:`remember` keeps the download names, in the course's data folder.
DOWNLOADS_FILE = "lms-downloads.json"

_PATTERNS = ((CANVAS, intake.LMS_PATTERNS[0]), (MOODLE, intake.LMS_PATTERNS[1]))
#: Canvas columns that identify a student, and the title of its points row.
CANVAS_IDS = ("ID", "SIS User ID", "SIS Login ID", "Integration ID")
CANVAS_POINTS = "Points Possible"
#: Canvas's read-only totals: a new assignment column goes before the first of them.
_CANVAS_TOTALS = re.compile(r"^(Current|Final|Unposted) (Score|Points|Grade)$")
MOODLE_IDS = ("ID number", "Email address", "Username")


# ----------------------------------------------------------------------- downloads


@dataclass(frozen=True)
class Download:
    """What an LMS wrote in front of one student's file."""

    lms: str  # "canvas" or "moodle"
    student: str  # the student id, as intake cleaned it
    name: str  # the person's name as the LMS wrote it
    #: Canvas: ``lovelaceada_1001_501`` (name, user id, attachment id); Moodle: the
    #: folder, ``Ada Lovelace_1002_assignsubmission_file_``.
    prefix: str


def download_name(origin: str, lessons: Collection[str] = ()) -> Download | None:
    """The LMS name that gave a submission its student, read from intake's ``origin``.

    As in intake, the outermost LMS name decides; a folder above it that is not a lesson
    folder names the student instead (no LMS name then).
    """
    parts = origin.split("/")
    for index, part in enumerate(parts):
        matches = [(lms, m) for lms, pattern in _PATTERNS if (m := pattern.match(part))]
        if matches:
            lms, match = min(matches, key=lambda found: found[1].start("student"))
            end = match.end("submission") if lms == CANVAS else match.start("file")
            return Download(lms, intake.clean_id(match.group("student")), match.group("name"),
                            part[:end])
        if index < len(parts) - 1 and part not in lessons:
            return None
    return None


def remember(data_directory: Path, submissions: Iterable[intake.Submission]) -> int:
    """Keep the origin of every readable submission per student and lesson; return how
    many were stored. Earlier entries of other students and lessons stay."""
    path = Path(data_directory) / DOWNLOADS_FILE
    stored = _stored(path)
    count = 0
    for submission in submissions:
        if submission.problem is None and submission.lesson:
            stored[f"{submission.student}/{submission.lesson}"] = submission.origin
            count += 1
    if count:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(stored, indent=1, sort_keys=True, ensure_ascii=False),
                             encoding="utf-8")
        temporary.replace(path)
    return count


def downloads(data_directory: Path,
              lessons: Collection[str] = ()) -> dict[tuple[str, str], Download]:
    """The LMS download name of each (student, lesson) :func:`remember` kept."""
    found = {}
    for key, origin in _stored(Path(data_directory) / DOWNLOADS_FILE).items():
        student, _, lesson = key.rpartition("/")
        download = download_name(str(origin), lessons)
        if download is not None:
            found[(student, lesson)] = download
    return found


def _stored(path: Path) -> dict[str, str]:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in stored.items()} if isinstance(stored, dict) else {}


# ------------------------------------------------------------------------ grades


@dataclass(frozen=True)
class Grade:
    lesson: str
    student: str
    score: float
    max_score: float


def course_grades(course) -> list[Grade]:
    """Every stored grade of ``course`` (an :class:`autograder.grading.Course`)."""
    from nbgrader.api import Gradebook

    from autograder.config import COURSE_ID

    with Gradebook(course.db_url, COURSE_ID) as gb:
        return [Grade(assignment.name, submission.student.id, float(submission.score),
                      float(submission.max_score))
                for assignment in sorted(gb.assignments, key=lambda a: a.name)
                for submission in sorted(assignment.submissions, key=lambda s: s.student.id)]


# --------------------------------------------------------------------- gradebook


class GradebookError(ValueError):
    """The file is not the LMS's gradebook export this module reads."""


@dataclass
class Sheet:
    """A gradebook CSV as exported: header, every other row, and how it was written."""

    lms: str
    header: list[str]
    rows: list[list[str]]
    bom: bool = False
    newline: str = "\r\n"

    def column(self, title: str) -> int | None:
        stripped = [h.strip().casefold() for h in self.header]
        return stripped.index(title.casefold()) if title.casefold() in stripped else None

    def cell(self, row: int, column: int | None) -> str:
        values = self.rows[row]
        return values[column].strip() if column is not None and column < len(values) else ""

    def set(self, row: int, column: int, value: str) -> None:
        values = self.rows[row]
        values.extend([""] * (column + 1 - len(values)))
        values[column] = value


def read_sheet(path: Path, lms: str) -> Sheet:
    """The gradebook export at ``path``; :class:`GradebookError` when it is not one."""
    raw = Path(path).read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise GradebookError(f"{path} is not UTF-8 text ({error.reason})") from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        raise GradebookError(f"{path} is empty")
    sheet = Sheet(lms, rows[0], rows[1:], bom, "\r\n" if "\r\n" in text else "\n")
    needed = ("Student", "ID") if lms == CANVAS else ("First name", "Last name")
    missing = [title for title in needed if sheet.column(title) is None]
    if lms == MOODLE and not any(sheet.column(t) is not None for t in MOODLE_IDS):
        missing.append(" or ".join(MOODLE_IDS))
    if missing:
        raise GradebookError(f"{path} is not a {lms.capitalize()} gradebook export: no "
                             f"column {', '.join(missing)} (found: {', '.join(sheet.header)})")
    return sheet


def write_sheet(sheet: Sheet, path: Path) -> None:
    """Write ``sheet`` as it was read: same columns, rows, byte-order mark and line ends."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=sheet.newline)
    writer.writerow(sheet.header)
    writer.writerows(sheet.rows)
    Path(path).write_text(("\ufeff" if sheet.bom else "") + buffer.getvalue(),
                          encoding="utf-8", newline="")


@dataclass(frozen=True)
class Person:
    """A student row of a gradebook."""

    row: int
    label: str  # how the row names the student, for the report
    ids: frozenset[str]  # identifying cells, case-folded
    name: str  # the name as the LMS writes it in download names, normalized


def canvas_download_name(sortable: str) -> str:
    """The name Canvas writes into download names for a sortable name ("Lovelace, Ada")."""
    return re.sub(r"[^\w]", "", unicodedata.normalize("NFC", sortable).lower()).casefold()


def moodle_download_name(full_name: str) -> str:
    """A full name as Moodle writes it into download folders, compared case-insensitively.

    Moodle replaces ``_`` by a space, then ``clean_filename`` (``PARAM_FILE``) removes
    control characters and ``& < > " ` | ' : \\ /``.
    """
    text = unicodedata.normalize("NFC", full_name).replace("_", " ")
    return " ".join(re.sub(r"[\x00-\x1f\x7f&<>\"`|':\\/]", "", text).casefold().split())


def people(sheet: Sheet) -> list[Person]:
    """The student rows of ``sheet`` (Canvas: rows with an ``ID``; Moodle: non-empty rows)."""
    found = []
    if sheet.lms == CANVAS:
        student, user = sheet.column("Student"), sheet.column("ID")
        columns = [sheet.column(t) for t in CANVAS_IDS]
        for row in range(len(sheet.rows)):
            if not sheet.cell(row, user) or sheet.cell(row, student) == CANVAS_POINTS:
                continue
            ids = frozenset(sheet.cell(row, c).casefold() for c in columns if sheet.cell(row, c))
            found.append(Person(row, f"{sheet.cell(row, student)} (ID {sheet.cell(row, user)})",
                                ids, canvas_download_name(sheet.cell(row, student))))
        return found
    first, last = sheet.column("First name"), sheet.column("Last name")
    columns = [sheet.column(t) for t in MOODLE_IDS]
    for row in range(len(sheet.rows)):
        if not any(cell.strip() for cell in sheet.rows[row]):
            continue
        full = f"{sheet.cell(row, first)} {sheet.cell(row, last)}".strip()
        ids = frozenset(sheet.cell(row, c).casefold() for c in columns if sheet.cell(row, c))
        label = next((sheet.cell(row, c) for c in columns if sheet.cell(row, c)), "")
        found.append(Person(row, f"{full} ({label})" if label else full, ids,
                            moodle_download_name(full)))
    return found


def match(student: str, download: Download | None, lms: str,
          candidates: list[Person]) -> list[Person]:
    """The gradebook rows that may be ``student``'s (one: matched; several: ambiguous).

    A Canvas download name gives the user id, the ``ID`` column's; a Moodle one a
    participant id no column holds, so its full name decides. A student not named by
    this LMS (a folder per student, ``--student-pattern``) is matched by id columns.
    """
    if download is not None and download.lms == lms == CANVAS:
        return [p for p in candidates if download.student.casefold() in p.ids]
    if download is not None and download.lms == lms == MOODLE:
        name = moodle_download_name(download.name)
        return [p for p in candidates if name and p.name == name]
    return [p for p in candidates if student.casefold() in p.ids]


def lesson_column(sheet: Sheet, lesson: str) -> list[int]:
    """Columns whose title names ``lesson`` by its id (``01-derivatives (12345)``)."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(lesson)}(?![\w-])", re.IGNORECASE)
    return [i for i, title in enumerate(sheet.header) if pattern.search(title)]


@dataclass(frozen=True)
class Unmatched:
    """A grade with no gradebook row, or a gradebook row with no grade."""

    lesson: str
    kind: str
    student: str
    name: str
    detail: str

    def line(self) -> str:
        who = f"{self.student} ({self.name})" if self.name else self.student
        return f"{self.lesson}: {self.kind}: {who}: {self.detail}"


@dataclass
class ExportReport:
    filled: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # lesson -> column title
    created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)


GRADED_NOT_IN_GRADEBOOK = "graded, not in the gradebook"
IN_GRADEBOOK_NOT_GRADED = "in the gradebook, no grade"
AMBIGUOUS = "graded, several gradebook rows match"


def fill(sheet: Sheet, grades: list[Grade],
         known: dict[tuple[str, str], Download]) -> ExportReport:
    """Write each grade into its lesson's column of ``sheet``; report what did not match.

    A lesson's column is the first whose title holds the lesson's id; without one a
    column titled with the id is added (before Canvas's totals, with its points in the
    ``Points Possible`` row). When a Canvas column's points possible differ from the
    lesson's, the score is scaled to them, and a note says so. Every other cell is
    left as it was.
    """
    report = ExportReport()
    persons = people(sheet)
    for lesson in sorted({g.lesson for g in grades}):
        of_lesson = [g for g in grades if g.lesson == lesson]
        column = _column(sheet, lesson, max(g.max_score for g in of_lesson), report)
        scale = _scale(sheet, column, lesson, of_lesson[0].max_score, report)
        graded_rows: set[int] = set()
        for grade in of_lesson:
            download = known.get((grade.student, lesson))
            name = download.name if download is not None else ""
            rows = match(grade.student, download, sheet.lms, persons)
            detail = f"score {grade.score:g}/{grade.max_score:g}"
            if not rows:
                report.unmatched.append(Unmatched(lesson, GRADED_NOT_IN_GRADEBOOK, grade.student,
                                                  name, detail + "; not written"))
            elif len(rows) > 1:
                listed = "; ".join(p.label for p in rows[:5])
                report.unmatched.append(Unmatched(lesson, AMBIGUOUS, grade.student, name,
                                                  f"{detail}; rows: {listed}; not written"))
            else:
                sheet.set(rows[0].row, column, _spreadsheet_safe([_points(grade.score * scale)])[0])
                graded_rows.add(rows[0].row)
                report.filled += 1
        for person in persons:
            if person.row not in graded_rows:
                kept = sheet.cell(person.row, column)
                report.unmatched.append(Unmatched(
                    lesson, IN_GRADEBOOK_NOT_GRADED, person.label, "",
                    f"cell left as it was ({kept!r})" if kept else "cell left empty"))
    return report


def _column(sheet: Sheet, lesson: str, points: float, report: ExportReport) -> int:
    """The lesson's column, added when the gradebook has none."""
    found = lesson_column(sheet, lesson)
    if found:
        if len(found) > 1:
            report.notes.append(f"{lesson}: several columns name the lesson ("
                                f"{', '.join(sheet.header[i] for i in found)}); filled the first")
        report.columns[lesson] = sheet.header[found[0]]
        return found[0]
    at = len(sheet.header)
    if sheet.lms == CANVAS:
        at = next((i for i, title in enumerate(sheet.header)
                   if _CANVAS_TOTALS.match(title.strip())), at)
    title = _spreadsheet_safe([lesson])[0]
    sheet.header.insert(at, title)
    for row, values in enumerate(sheet.rows):
        if len(values) >= at:
            values.insert(at, "")
        if sheet.lms == CANVAS and sheet.cell(row, sheet.column("Student")) == CANVAS_POINTS:
            sheet.set(row, at, _points(points))
    report.columns[lesson] = title
    report.created.append(title)
    return at


def _scale(sheet: Sheet, column: int, lesson: str, max_score: float,
           report: ExportReport) -> float:
    """The factor from the lesson's points to the Canvas column's points possible."""
    if sheet.lms != CANVAS or not max_score:
        return 1.0
    student = sheet.column("Student")
    for row in range(len(sheet.rows)):
        if sheet.cell(row, student) == CANVAS_POINTS:
            try:
                possible = float(sheet.cell(row, column))
            except ValueError:
                return 1.0
            if possible > 0 and abs(possible - max_score) > 1e-9:
                report.notes.append(f"{lesson}: the column is worth {possible:g} points, the "
                                    f"lesson {max_score:g}: scores scaled to {possible:g}")
                return possible / max_score
    return 1.0


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def write_unmatched(report: ExportReport, path: Path) -> None:
    """The unmatched grades and students as CSV, escaped against spreadsheet formulas."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lesson", "kind", "student", "name", "detail"])
        for item in report.unmatched:
            writer.writerow(_spreadsheet_safe([item.lesson, item.kind, item.student,
                                               item.name, item.detail]))


def export(gradebook: Path, lms: str, target: Path, grades: list[Grade],
           known: dict[tuple[str, str], Download]) -> ExportReport:
    """Read the LMS's gradebook export, fill in ``grades``, write the copy to ``target``."""
    sheet = read_sheet(gradebook, lms)
    report = fill(sheet, grades, known)
    write_sheet(sheet, target)
    return report


# ---------------------------------------------------------------------- feedback


@dataclass
class ZipReport:
    entries: list[str] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (student, why)


def feedback_entry(download: Download, page: str) -> str:
    """The zip entry under which ``download``'s LMS attaches the feedback page ``page``."""
    if download.lms == CANVAS:
        return f"{download.prefix}_feedback-{page}"
    return f"{download.prefix}/feedback-{page}"


def feedback_zip(feedback_directory: Path, lesson: str, students: Iterable[str], lms: str,
                 known: dict[tuple[str, str], Download], target: Path) -> ZipReport:
    """Zip each student's feedback pages for ``lesson`` under the names ``lms`` reads back.

    A student whose submission came with no download name of ``lms`` (graded from a
    folder, or another LMS's download) or who has no feedback page is listed in the
    report, not zipped.
    """
    report = ZipReport()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for student in sorted(students):
            pages = sorted((Path(feedback_directory) / student / lesson).glob("*.html"))
            download = known.get((student, lesson))
            if not pages:
                report.missing.append((student, "no feedback page (not graded?)"))
            elif download is None or download.lms != lms:
                report.missing.append((student, f"the graded file has no {lms.capitalize()} "
                                                 "download name: attach the feedback by hand"))
            else:
                for page in pages:
                    entry = feedback_entry(download, page.name)
                    archive.write(page, entry)
                    report.entries.append(entry)
    return report
