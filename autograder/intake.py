"""Find the submissions in a folder or an LMS download, and say what is wrong with bad ones.

Accepted layouts (the first that fits a file wins):

* nbgrader's ``<student>/<lesson>/<any name>.ipynb``;
* one folder per student, ``<student>/<any name>.ipynb``;
* a flat folder or zip whose file names carry the student id, as LMS downloads do:
  Canvas ``name[_LATE]_<userid>_<submissionid>_<file>.ipynb``, Moodle
  ``<Full Name>_<id>_assignsubmission_file_<file>.ipynb``, or any pattern given with
  a ``student`` group.

A notebook's lesson is recognised from its graded cells, so a renamed notebook is still
graded. An empty, non-UTF-8 or malformed file is reported with a reason, never skipped
silently.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

LMS_PATTERNS = (
    re.compile(r"^(?P<name>[^_/]+)(?:_LATE)?_(?P<student>\d+)_(?P<submission>\d+)_(?P<file>.+)$"),
    re.compile(r"^(?P<name>[^/]+?)_(?P<student>\d+)_assignsubmission_file_(?P<file>.+)$"),
)


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one lesson, or the reason it cannot be graded."""

    student: str
    lesson: str | None
    origin: str  # where it came from, for the report
    content: bytes
    problem: str | None = None


def _files(source: Path) -> Iterator[tuple[str, bytes]]:
    """(relative posix path, bytes) of every file under a folder or inside a zip."""
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                name = info.filename
                if info.is_dir() or name.startswith("__MACOSX/") or "/." in "/" + name:
                    continue
                yield name, archive.read(info)
        return
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            yield relative.as_posix(), path.read_bytes()


def _student_of(relative: str, lessons: set[str], pattern: re.Pattern | None) -> str:
    parts = PurePosixPath(relative).parts
    name = parts[-1]
    for candidate in ([pattern] if pattern else []) + list(LMS_PATTERNS):
        match = candidate.match(name)
        if match and match.groupdict().get("student"):
            return match.group("student")
    if len(parts) >= 3 and parts[-2] in lessons:
        return parts[-3]
    if len(parts) >= 2:
        return parts[-2] if parts[-2] not in lessons else parts[0]
    return PurePosixPath(name).stem.split("_")[0]


def _grade_ids(notebook: dict) -> set[str]:
    ids = set()
    for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
            ids.add(meta["grade_id"])
    return ids


def _read_notebook(content: bytes) -> tuple[dict | None, str | None]:
    if not content.strip():
        return None, "the file is empty"
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, f"the file is not UTF-8 text ({error.reason} at byte {error.start})"
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        return None, (f"the file is not a valid notebook (JSON error: {error.msg}, "
                      f"line {error.lineno})")
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return None, "the file is JSON but not a notebook (no list of cells)"
    return notebook, None


def collect(source: Path, lesson_ids: dict[str, set[str]],
            student_pattern: str | None = None) -> list[Submission]:
    """Every notebook under ``source`` (folder or zip), matched to a student and a lesson.

    ``lesson_ids`` maps each lesson to the grade ids of its cells.
    """
    pattern = re.compile(student_pattern) if student_pattern else None
    found: list[Submission] = []
    for relative, content in _files(source):
        if not relative.endswith(".ipynb"):
            continue
        student = _student_of(relative, set(lesson_ids), pattern)
        notebook, problem = _read_notebook(content)
        lesson = None
        if notebook is not None:
            ids = _grade_ids(notebook)
            overlap = {name: len(ids & known) for name, known in lesson_ids.items()}
            best = max(overlap, key=overlap.get, default=None)
            if best is not None and overlap[best] > 0:
                lesson = best
            else:
                folder_lesson = next((p for p in PurePosixPath(relative).parts if p in lesson_ids),
                                     None)
                lesson = folder_lesson
                problem = ("no graded cell of any lesson was found: the notebook's cells were "
                           "deleted or it is not a course notebook")
        found.append(Submission(student, lesson, relative, content, problem))
    return _one_per_student_and_lesson(found)


def _one_per_student_and_lesson(found: list[Submission]) -> list[Submission]:
    """Keep one notebook per (student, lesson): a readable one, and the last by name."""
    chosen: dict[tuple[str, str | None], Submission] = {}
    for submission in sorted(found, key=lambda s: s.origin):
        key = (submission.student, submission.lesson)
        current = chosen.get(key)
        if current is None or (current.problem and not submission.problem) or (
            bool(current.problem) == bool(submission.problem)
        ):
            chosen[key] = submission
    return sorted(chosen.values(), key=lambda s: (s.lesson or "", s.student))
