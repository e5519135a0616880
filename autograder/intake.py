"""Find the submissions in a folder or an LMS download, and say what is wrong with bad ones.

Accepted layouts:

* nbgrader's ``<student>/<lesson>/<any name>.ipynb``;
* one folder per student, ``<student>/<any name>.ipynb``;
* a flat folder or zip whose file names carry the student id, as LMS downloads do:
  Canvas ``name[_LATE]_<userid>_<submissionid>_<file>.ipynb``, Moodle
  ``<Full Name>_<id>_assignsubmission_file_<file>.ipynb`` (or a Moodle folder
  ``<Full Name>_<id>_assignsubmission_file_/``), or any pattern given with a ``student``
  group;
* any of these inside a zip, and zips inside those (a student's uploaded zip), up to
  :attr:`Limits.depth` deep.

**Identity.** A notebook belongs to the student named by the *outermost* name the LMS
wrote: walking its path from the top, the first name that matches an LMS pattern gives
the student id; failing that, the top folder (a folder named like a lesson is skipped);
failing that, the file name up to its first ``_``. A zip holding one folder around
everything (``submissions/...``) is unwrapped first, unless that folder is the only
thing naming a student. Names inside a student's upload never change whose work it is:
when a file inside an LMS-named upload is named like another student's LMS file
(``bob_1002_502_x.ipynb`` inside Ada's ``ada_1001_501_work.zip``), the notebook is not
graded and its row says so, for a person to decide; so are all files of an id that
comes with two different person names (a student who chose a file name, or a profile
name, that starts like another student's download). Inside a folder the instructor
named (``ada/bob_1002_502_x.ipynb``) the folder decides. Ids are
sanitized (letters, digits, space and ``-._@+``; no leading punctuation; at most 64
characters): an id that had to be changed gets a short digest of the original, so that
two different names never become one id.

**Lesson.** A notebook's lesson is recognised from its graded cells, so a renamed
notebook is still graded. When the file sits where another lesson was expected (an
nbgrader lesson folder, or a download graded for one lesson), the row says which lesson
the notebook really is.

**One notebook per student and lesson.** When a student has several readable notebooks
of one lesson, the newest (zip entry time or file modification time; then the last by
path) is graded and every other one gets a row saying which one was graded instead.

**Caps** (:class:`Limits`). Nothing is extracted to disk; every file is read in chunks of
1 MiB and refused as soon as it passes a cap: a notebook of at most 32 MiB, a nested zip
of at most 128 MiB, an entry at most 200 times its compressed size (beyond 1 MiB; refused
from its declared size before reading when that already says so), zips at most 3 deep,
folders at most 64 deep, 20,000 files in the whole download, 512 MiB kept in all
(notebooks and the nested zip being read), and 2 GiB more inflated for entries that were
refused, so that a zip bomb costs bounded memory and time. What passes a cap gets a row
with the reason; past the file or byte budget, the rest of the download gets rows too.

Every problem (empty, not UTF-8, not JSON, nbformat 3, no graded cell, another lesson's
notebook, a zip entry with ``..`` or an absolute path, a symbolic link or special file,
too large, unreadable zip) yields a :class:`Submission` with a one-line ``problem``;
nothing is skipped silently except LMS and editor clutter (``__MACOSX/``, hidden files
and folders such as ``.ipynb_checkpoints``) and files of lessons not being graded.
:func:`collect` raises only for an invalid ``student_pattern``.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import os
import re
import shutil
import stat
import struct
import tempfile
import unicodedata
import zipfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

LMS_PATTERNS = (
    re.compile(r"^(?P<name>.+?)(?:_LATE)?_(?P<student>\d+)_(?P<submission>\d+)_(?P<file>.+)$",
               re.DOTALL),
    re.compile(r"^(?P<name>.+?)_(?P<student>\d+)_assignsubmission_[a-z]+_?(?P<file>.*)$",
               re.DOTALL),
)

#: Student id used for a problem that belongs to no student (e.g. an unreadable download).
NOBODY = "(download)"

_MIB = 1 << 20
_CHUNK = _MIB
_UNSAFE_ID = re.compile(r"[^\w .@+-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one lesson, or the reason it cannot be graded."""

    student: str
    lesson: str | None
    origin: str  # where it came from, for the report
    content: bytes
    problem: str | None = None


@dataclass(frozen=True)
class Limits:
    """What intake reads at most; beyond it a file gets a row with the reason."""

    notebook_bytes: int = 32 * _MIB
    archive_bytes: int = 128 * _MIB  # a zip inside the download, read into memory
    total_bytes: int = 512 * _MIB  # notebooks and nested zips, all together
    entries: int = 20_000  # files in the whole download
    ratio: int = 200  # uncompressed / compressed size, for entries beyond 1 MiB
    depth: int = 3  # zips inside zips
    folders: int = 64  # folders deep


@dataclass
class _Budget:
    """What is left of the whole download's caps: bytes kept, files, bytes refused."""

    left: int
    files: int
    work: int


@dataclass
class _File:
    """A notebook (or a problem) found in the source, before identity and lesson."""

    parts: tuple[str, ...]  # path from the source's top, nested zips included
    content: bytes = b""
    problem: str | None = None
    mtime: float = 0.0
    notebook: bool = True  # False: another kind of file (only reported when nothing else)
    origin: str | None = None  # what to show, when it is not the path


@dataclass
class _Candidate:
    student: str
    origin: str
    content: bytes
    problem: str | None
    mtime: float
    recognised: str | None = None  # lesson from the graded cells
    placed: str | None = None  # lesson the file's place asks for
    claimed: str | None = None  # the person's name the LMS wrote with the id


# ------------------------------------------------------------------------------ names


def clean_text(text: str, limit: int = 200) -> str:
    """``text`` on one printable line of at most ``limit`` characters."""
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> "?"
    text = _CONTROL.sub("?", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clean_id(raw: str) -> str:
    """A student id safe as a folder name, a glob and a CSV cell; injective on ``raw``.

    A clean id is returned as it is; any other gets a digest of the original appended.
    """
    text = unicodedata.normalize("NFC", clean_text(raw, 10_000))
    cleaned = re.sub(r"\s+", " ", _UNSAFE_ID.sub("_", text)).strip(" ").lstrip("=+-@._ ")
    if cleaned == raw and 0 < len(cleaned) <= 64:
        return cleaned
    digest = hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:6]
    cleaned = cleaned[:56].rstrip(" ")
    return f"{cleaned}-{digest}" if cleaned else f"id-{digest}"


def _origin(parts: tuple[str, ...]) -> str:
    return clean_text("/".join(parts))


def _lms_match(name: str, pattern: re.Pattern | None) -> re.Match | None:
    """The match of the LMS name that says whose file ``name`` is, or None.

    The instructor's pattern decides when it matches. Otherwise, of the LMS patterns that
    match, the one whose id comes first wins: the LMS writes its prefix before the
    student's own file name, so a student's file named like another LMS's download
    (``Eve_1003_assignsubmission_file_bob_1002_502_x.ipynb``) stays the uploader's.
    """
    if pattern is not None:
        match = pattern.match(name)
        if match and match.group("student"):
            return match
    matches = [m for m in (p.match(name) for p in LMS_PATTERNS) if m]
    return min(matches, key=lambda m: m.start("student")) if matches else None


def _lms_student(name: str, pattern: re.Pattern | None) -> str | None:
    match = _lms_match(name, pattern)
    return match.group("student") if match else None


def _identity(parts: tuple[str, ...], lessons: Collection[str],
              pattern: re.Pattern | None) -> tuple[str, str | None]:
    """(raw student id, conflict): the outermost name that says who uploaded the file.

    A conflict is a name inside an LMS-named upload that names another student.
    """
    for index, part in enumerate(parts):
        owner = _lms_student(part, pattern)
        if owner is not None:
            return owner, _conflict(owner, parts[index + 1:], pattern)
        if index < len(parts) - 1 and part not in lessons:
            return (part[:-4] if part.lower().endswith(".zip") else part), None
    return PurePosixPath(parts[-1]).stem.split("_")[0] or parts[-1], None


def _claimed_name(parts: tuple[str, ...], lessons: Collection[str],
                  pattern: re.Pattern | None) -> str | None:
    """The person's name the LMS wrote next to the id that :func:`_identity` chose."""
    for index, part in enumerate(parts):
        match = _lms_match(part, pattern)
        if match is not None:
            name = match.groupdict().get("name")
            return " ".join(name.casefold().split()) if name else None
        if index < len(parts) - 1 and part not in lessons:
            return None  # a folder names the student
    return None


def _conflict(owner: str, inner: tuple[str, ...], pattern: re.Pattern | None) -> str | None:
    for name in inner:
        other = _lms_student(name, pattern)
        if other is not None and other != owner:
            return (f"conflict: {clean_text(name, 80)!r} inside student {clean_id(owner)}'s "
                    f"upload is named like student {clean_id(other)}'s file; not graded: "
                    "decide by hand whose work it is")
    return None


def _unwrap(files: list[_File], lessons: Collection[str], pattern: re.Pattern | None) -> None:
    """Drop a folder that wraps every notebook, unless it is what names the student.

    Other files and download-wide problems do not count; they lose the folder too.
    """
    while True:
        notebooks = [f for f in files if f.notebook and f.parts != (NOBODY,)]
        if not notebooks or any(len(f.parts) < 2 for f in notebooks):
            return
        top = notebooks[0].parts[0]
        if (any(f.parts[0] != top for f in notebooks) or top in lessons
                or _lms_student(top, pattern)):
            return
        if any(f.parts[1] in lessons or (len(f.parts) == 2 and not _lms_student(
                f.parts[1], pattern)) for f in notebooks):
            return
        for f in files:
            if len(f.parts) >= 2 and f.parts[0] == top:
                f.parts = f.parts[1:]


# ------------------------------------------------------------------------------ reading


def _read_stream(read, cap: int, budget: _Budget, too_large: str) -> bytes | str:
    """Up to ``cap`` bytes from ``read`` in chunks, or the reason it is refused.

    What is kept counts against ``budget.left``; what was read and refused counts against
    ``budget.work``, so that a zip bomb's many entries cost a bounded amount of inflating.
    """
    chunks, size = [], 0
    while budget.left > 0 and budget.work > 0 and (chunk := read(_CHUNK)):
        size += len(chunk)
        if size > budget.left or size > budget.work:
            budget.work -= size
            return "the download holds more than the intake reads in all: not read"
        if size > cap:
            budget.work -= size
            return too_large
        chunks.append(chunk)
    if budget.left <= 0 or budget.work <= 0:
        return "the download holds more than the intake reads in all: not read"
    budget.left -= size
    return b"".join(chunks)


def _too_large(kind: str, cap: int) -> str:
    return f"{_what(kind)} is larger than {cap // _MIB} MiB: not read"


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The entry's name, decoding names written as UTF-8 without saying so."""
    name = info.filename
    if not info.flag_bits & 0x800:
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            name = name.encode("cp437").decode("utf-8")
    return name.replace("\\", "/")


def _unsafe(name: str) -> bool:
    return name.startswith("/") or ".." in name.split("/") or bool(re.match(r"^[A-Za-z]:", name))


def _clear_utf8_flags(handle) -> None:
    """Clear the "names are UTF-8" flag in every header of the zip open in ``handle``."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - (1 << 16) - 22))
    tail = handle.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 > len(tail):
        return
    count, directory_size, offset = struct.unpack_from("<HII", tail, end + 10)
    handle.seek(offset)
    directory = bytearray(handle.read(min(directory_size, size - offset)))
    position = 0
    for _ in range(count):
        if position + 46 > len(directory) or directory[position:position + 4] != b"PK\x01\x02":
            break
        directory[position + 9] &= ~0x08  # bit 11 of the little-endian flags
        local = struct.unpack_from("<I", directory, position + 42)[0]
        if local + 8 <= offset:
            handle.seek(local + 7)
            flags_high = handle.read(1)
            handle.seek(local + 7)
            handle.write(bytes([flags_high[0] & ~0x08]))
        position += 46 + sum(struct.unpack_from("<HHH", directory, position + 28))
    handle.seek(offset)
    handle.write(directory)


def _open_zip(source: Path | bytes) -> zipfile.ZipFile:
    """A zip from a path or bytes, tolerating names that claim to be UTF-8 but are not.

    Such a zip is copied (to memory, or for a download to a temporary file) and its
    headers are patched so that zipfile reads every name as cp437.
    """
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except UnicodeDecodeError:
        if isinstance(source, bytes):
            copy = io.BytesIO(source)
        else:
            copy = tempfile.TemporaryFile()  # noqa: SIM115 (unlinked; closed when dropped)
            with open(source, "rb") as original:
                shutil.copyfileobj(original, copy)
        _clear_utf8_flags(copy)
        copy.seek(0)
        return zipfile.ZipFile(copy)


def _zip_files(source: Path | bytes, prefix: tuple[str, ...], depth: int, limits: Limits,
               budget: _Budget) -> Iterator[_File]:
    """Notebooks (and problems) in a zip, recursing into nested zips."""
    try:
        archive = _open_zip(source)
    except Exception as error:  # a broken archive must not stop the others
        yield _File(prefix or (NOBODY,), problem=f"not a readable zip ({_error(error)})")
        return
    with archive:
        for info in archive.infolist():
            if budget.files <= 0:
                yield _File(prefix or (NOBODY,), problem=(
                    f"the download holds more than {limits.entries} files: the rest was not read"))
                return
            budget.files -= 1
            try:
                yield from _zip_entry(archive, info, prefix, depth, limits, budget)
            except Exception as error:  # one unreadable entry must not hide the others
                yield _File(prefix or (NOBODY,), problem=(
                    f"a zip entry could not be read ({_error(error)})"))


def _zip_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, prefix: tuple[str, ...],
               depth: int, limits: Limits, budget: _Budget) -> Iterator[_File]:
    name = _zip_name(info)
    parts = tuple(p for p in name.split("/") if p not in ("", ".", "..") and not (
        p.endswith(":") and len(p) == 2))
    # zipfile cuts a name at its first NUL byte, which can leave it empty (and
    # ZipInfo.is_dir() then fails): such an entry has nothing to read, like a folder.
    if not parts or info.filename.endswith("/") or _hidden(parts):
        return
    kind = _kind(parts[-1])
    if _unsafe(name):
        yield _File(prefix + parts, problem=(
            "the zip entry's path is absolute or goes up with '..': not read"),
            origin=_origin((*prefix, name)))
        return
    if kind is None:
        yield _File(prefix + parts, notebook=False)
        return
    yield from _found(prefix + parts, kind, _read_entry(archive, info, kind, limits, budget),
                      _zip_time(info), depth, limits, budget)


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, kind: str, limits: Limits,
                budget: _Budget) -> bytes | str:
    """An entry's bytes, or why not: too large, or expanding like a zip bomb."""
    cap = limits.notebook_bytes if kind == "notebook" else limits.archive_bytes
    bomb = (f"{_what(kind)} expands more than {limits.ratio} times its compressed size "
            "(a zip bomb?): not read")
    if info.file_size > cap:
        return _too_large(kind, cap)
    ratio_cap = max(limits.ratio * info.compress_size, _MIB)
    if info.file_size > ratio_cap:
        return bomb
    try:
        with archive.open(info) as stream:
            return _read_stream(stream.read, min(cap, ratio_cap), budget,
                                bomb if ratio_cap < cap else _too_large(kind, cap))
    except Exception as error:  # bad CRC, encrypted entry, unknown compression...
        return f"the zip entry cannot be read ({_error(error)})"


def _found(parts: tuple[str, ...], kind: str, data: bytes | str, mtime: float, depth: int,
           limits: Limits, budget: _Budget) -> Iterator[_File]:
    """A notebook's bytes, or the files of a nested zip, or the problem reading them."""
    if isinstance(data, str):
        yield _File(parts, problem=data, mtime=mtime)
    elif kind == "notebook":
        yield _File(parts, content=data, mtime=mtime)
    elif depth >= limits.depth:
        yield _File(parts, problem=f"a zip nested more than {limits.depth} deep: not read")
    else:
        yield from _zip_files(data, parts, depth + 1, limits, budget)
        budget.left += len(data)  # the nested zip itself is no longer held


def _folder_files(root: Path, limits: Limits, budget: _Budget) -> Iterator[_File]:
    """Notebooks (and problems) under a folder, never following a symbolic link."""
    stack: list[tuple[Path, tuple[str, ...]]] = [(root, ())]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name, reverse=True)
        except OSError as error:
            yield _File(prefix or (NOBODY,), problem=f"the folder cannot be read ({_error(error)})")
            continue
        for entry in entries:
            parts = (*prefix, entry.name)
            if _hidden(parts):
                continue
            if budget.files <= 0:
                yield _File(parts, problem=(
                    f"the download holds more than {limits.entries} files: the rest was not read"))
                return
            budget.files -= 1
            yield from _folder_entry(entry, parts, stack, limits, budget)


def _folder_entry(entry: os.DirEntry, parts: tuple[str, ...], stack: list, limits: Limits,
                  budget: _Budget) -> Iterator[_File]:
    kind = _kind(entry.name)
    try:
        if entry.is_symlink():
            yield _File(parts, problem="a symbolic link: not followed",
                        notebook=kind is not None or entry.is_dir())
        elif entry.is_dir(follow_symlinks=False):
            if len(parts) > limits.folders:
                yield _File(parts, problem=f"more than {limits.folders} folders deep: not read")
            else:
                stack.append((Path(entry.path), parts))
        elif kind is None:
            yield _File(parts, notebook=False)
        else:
            mtime = entry.stat(follow_symlinks=False).st_mtime
            yield from _found(parts, kind, _read_file(Path(entry.path), kind, limits, budget),
                              mtime, 1, limits, budget)
    except OSError as error:
        yield _File(parts, problem=f"cannot be read ({_error(error)})")


def _read_file(path: Path, kind: str, limits: Limits, budget: _Budget) -> bytes | str:
    """A regular file's bytes (no link, no pipe or device), or the reason it is refused."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path, flags)
    with os.fdopen(descriptor, "rb", buffering=0) as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return "not a regular file (a pipe, socket or device): not read"
        cap = limits.notebook_bytes if kind == "notebook" else limits.archive_bytes
        return _read_stream(handle.read, cap, budget, _too_large(kind, cap))


def _kind(name: str) -> str | None:
    lowered = name.lower()
    return "notebook" if lowered.endswith(".ipynb") else "zip" if lowered.endswith(
        ".zip") else None


def _what(kind: str) -> str:
    return "the notebook" if kind == "notebook" else "the zip"


def _hidden(parts: tuple[str, ...]) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _zip_time(info: zipfile.ZipInfo) -> float:
    try:
        return datetime.datetime(*info.date_time).timestamp()
    except (ValueError, OverflowError, TypeError):
        return 0.0


def _error(error: BaseException) -> str:
    return clean_text(f"{type(error).__name__}: {error}", 160)


def _files(source: Path, limits: Limits) -> Iterator[_File]:
    """Every notebook (and problem) under a folder, inside a zip, or the file itself."""
    budget = _Budget(limits.total_bytes, limits.entries, 4 * limits.total_bytes)
    try:
        if source.is_dir():
            yield from _folder_files(source, limits, budget)
        elif zipfile.is_zipfile(source):
            yield from _zip_files(source, (), 1, limits, budget)
        elif _kind(source.name) == "notebook":
            yield from _found((source.name,), "notebook",
                              _read_file(source, "notebook", limits, budget),
                              source.stat().st_mtime, 1, limits, budget)
        else:
            yield _File((NOBODY,), problem=(f"{clean_text(source.name, 80)!r} is neither a "
                                            "folder, a zip nor a notebook"))
    except Exception as error:
        yield _File((NOBODY,), problem=f"the download cannot be read ({_error(error)})")


# ------------------------------------------------------------------------------ notebooks


def _grade_ids(notebook: dict) -> set[str]:
    ids = set()
    cells = notebook.get("cells")
    for cell in cells if isinstance(cells, list) else []:
        metadata = cell.get("metadata") if isinstance(cell, dict) else None
        meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
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
    except RecursionError:
        return None, "the file is not a valid notebook (JSON nested too deeply)"
    if not isinstance(notebook, dict):
        return None, "the file is JSON but not a notebook (no list of cells)"
    version = notebook.get("nbformat")
    if isinstance(version, int) and version != 4:
        return None, (f"nbformat {version} notebook: open and save it in JupyterLab 4"
                      if version < 4 else f"nbformat {version} notebook: not supported")
    if not isinstance(notebook.get("cells"), list):
        return None, ("nbformat 3 notebook: open and save it in JupyterLab 4"
                      if "worksheets" in notebook
                      else "the file is JSON but not a notebook (no list of cells)")
    return notebook, None


def _lesson_number(lesson: str) -> str:
    return lesson.split("-")[0]


# ------------------------------------------------------------------------------ collect


def collect(source: Path, lesson_ids: dict[str, set[str]], student_pattern: str | None = None,
            lessons: Collection[str] | None = None,
            limits: Limits | None = None) -> list[Submission]:
    """Every notebook under ``source`` (folder, zip or notebook), matched to a student and lesson.

    ``lesson_ids`` maps each lesson of the course to the grade ids of its cells (every
    lesson, so that another lesson's notebook is named as such); ``lessons`` are the
    lessons being graded (default: all of them). Notebooks of other lessons are left out,
    unless they sit where a graded lesson's notebook was expected.
    """
    pattern = _pattern(student_pattern)
    wanted = set(lesson_ids if lessons is None else lessons)
    files = list(_files(Path(source), limits or Limits()))
    _unwrap(files, lesson_ids, pattern)
    candidates: list[_Candidate] = []
    others: dict[str, list[str]] = {}
    for found in files:
        try:
            if found.notebook or found.problem:
                candidates.append(_candidate(found, lesson_ids, wanted, pattern))
            else:
                student = _student(found.parts, lesson_ids, pattern)[0]
                others.setdefault(student, []).append(_origin(found.parts))
        except Exception as error:  # whatever a file holds, the others are still read
            candidates.append(_Candidate(NOBODY, _origin(found.parts), b"",
                                         f"cannot be read ({_error(error)})", 0.0))
    return _submissions(candidates, others, wanted)


def _pattern(student_pattern: str | None) -> re.Pattern | None:
    if not student_pattern:
        return None
    try:
        pattern = re.compile(student_pattern)
    except re.error as error:
        raise ValueError(f"the student pattern is not a regular expression: {error}") from None
    if "student" not in pattern.groupindex:
        raise ValueError("the student pattern has no `student` group: (?P<student>...)")
    return pattern


def _student(parts: tuple[str, ...], lessons: Collection[str],
             pattern: re.Pattern | None) -> tuple[str, str | None]:
    """(sanitized student id, conflict) of a file at ``parts``."""
    if parts == (NOBODY,):
        return NOBODY, None
    owner, conflict = _identity(parts, lessons, pattern)
    return clean_id(owner), conflict


def _candidate(found: _File, lesson_ids: dict[str, set[str]], wanted: set[str],
               pattern: re.Pattern | None) -> _Candidate:
    student, conflict = _student(found.parts, lesson_ids, pattern)
    candidate = _Candidate(student, found.origin or _origin(found.parts), found.content,
                           found.problem, found.mtime, claimed=_claimed_name(
                               found.parts, lesson_ids, pattern))
    folder = next((p for p in found.parts[:-1] if p in lesson_ids), None)
    candidate.placed = folder or (next(iter(wanted)) if len(wanted) == 1 else None)
    if candidate.problem is None:
        notebook, candidate.problem = _read_notebook(found.content)
        if notebook is not None:
            candidate.recognised = _recognise(_grade_ids(notebook), lesson_ids)
            if candidate.recognised is None:
                candidate.problem = ("no graded cell of any lesson was found: the notebook's "
                                     "cells were deleted or it is not a course notebook")
    if conflict:
        candidate.problem = f"{candidate.problem}; {conflict}" if candidate.problem else conflict
    return candidate


def _recognise(ids: set[str], lesson_ids: dict[str, set[str]]) -> str | None:
    """The lesson most of ``ids`` belong to (None when none does)."""
    overlap = {name: len(ids & known) for name, known in sorted(lesson_ids.items())}
    best = max(overlap, key=overlap.__getitem__, default=None)
    return best if best is not None and overlap[best] > 0 else None


def _problem_lesson(c: _Candidate, wanted: set[str]) -> str | bool | None:
    """The lesson a problem row goes to; False: the file belongs to a lesson not graded now."""
    for lesson in (c.recognised, c.placed):
        if lesson is not None:
            return lesson if lesson in wanted else False
    return None


def _submissions(candidates: list[_Candidate], others: dict[str, list[str]],
                 wanted: set[str]) -> list[Submission]:
    """One graded notebook per (student, lesson) and a row for every other file."""
    _name_conflicts(candidates)
    rows: list[Submission] = []
    readable: dict[tuple[str, str], list[_Candidate]] = {}
    for c in candidates:
        if c.problem is None and c.recognised in wanted:
            readable.setdefault((c.student, c.recognised), []).append(c)
    for (student, lesson), group in readable.items():
        rows.extend(_newest(student, lesson, group))
    for c in candidates:
        if c.problem is not None:
            lesson = _problem_lesson(c, wanted)
            if lesson is not False:
                rows.append(Submission(c.student, lesson, c.origin, c.content, c.problem))
        elif c.placed in wanted and c.recognised != c.placed and (
                (c.student, c.placed) not in readable):
            rows.append(Submission(c.student, c.placed, c.origin, c.content, (
                f"this is lesson {_lesson_number(c.recognised)}'s notebook ({c.recognised}), "
                f"not {c.placed}'s" + (f"; graded as {c.recognised}"
                                       if c.recognised in wanted else ""))))
    have = {c.student for c in candidates}
    for student, names in others.items():
        if student not in have:
            rows.append(_no_notebook(student, names, wanted))
    return sorted(rows, key=lambda s: (s.lesson or "", s.student, s.problem or "", s.origin))


def _name_conflicts(candidates: list[_Candidate]) -> None:
    """Refuse every file of an id that the LMS names come with under different names.

    The LMS writes one name per id; a second one means a student chose a file name that
    starts like another student's download (``bob_1002_502_`` + their own file name).
    """
    names: dict[str, set[str]] = {}
    for c in candidates:
        if c.claimed is not None:
            names.setdefault(c.student, set()).add(c.claimed)
    for c in candidates:
        if len(names.get(c.student, ())) > 1:
            listed = ", ".join(repr(clean_text(n, 40)) for n in sorted(names[c.student])[:3])
            conflict = (f"conflict: files of student {c.student} come under different names "
                        f"({listed}); not graded: decide by hand whose work each is")
            c.problem = f"{c.problem}; {conflict}" if c.problem else conflict


def _newest(student: str, lesson: str, group: list[_Candidate]) -> list[Submission]:
    """The newest notebook of a group graded, every other one with a row saying so."""
    group.sort(key=lambda c: (c.mtime, c.origin))
    chosen = group[-1]
    rows = [Submission(student, lesson, chosen.origin, chosen.content)]
    for other in group[:-1]:
        rows.append(Submission(student, lesson, other.origin, other.content, (
            f"not graded: {len(group)} notebooks of this student for {lesson}; the newest, "
            f"{clean_text(chosen.origin, 80)!r}, was graded instead")))
    return rows


def _no_notebook(student: str, names: list[str], wanted: set[str]) -> Submission:
    listed = ", ".join(clean_text(PurePosixPath(n).name, 40) for n in names[:3])
    more = ", ..." if len(names) > 3 else ""
    return Submission(student, next(iter(wanted)) if len(wanted) == 1 else None, names[0], b"",
                      f"no notebook in this upload (found: {listed}{more})")
