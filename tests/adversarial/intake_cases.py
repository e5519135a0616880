"""Hostile and broken LMS downloads, each with what intake must make of it.

Each case builds a folder or a zip (a download as Canvas or Moodle writes it, or as a
student's upload makes it) from small notebooks that carry the grade ids of a lesson
and a *marker* saying whose work they are. It states exactly which students are graded,
for which lesson and with whose work (``graded``), and a piece of the reason of the rows
that must say what is wrong (``problems``). A notebook graded as anybody but its owner,
a dropped notebook without a row, or an exception fails the case.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.intake import NOBODY, Limits, clean_id

L01, L05 = "01-derivatives", "05-reverse-mode"
IDS = {  # a few grade ids of each lesson are enough to recognise it
    L01: {"mse", "mse_check", "grad_f", "grad_f_check"},
    "02-numeric": {"forward_difference", "forward_difference_check"},
    L05: {"backward", "backward_check", "grad", "grad_check"},
}


def notebook(lesson: str, marker: str, **changes) -> bytes:
    """A notebook with ``lesson``'s graded cells, saying it is ``marker``'s work."""
    cells = [{"cell_type": "code", "execution_count": None, "outputs": [], "source": "x = 1",
              "metadata": {"nbgrader": {"grade_id": grade_id, "solution": True}}}
             for grade_id in sorted(IDS[lesson])]
    nb = {"cells": cells, "metadata": {"marker": marker}, "nbformat": 4, "nbformat_minor": 5}
    nb.update(changes)
    return json.dumps(nb).encode()


def marker_of(content: bytes) -> str | None:
    try:
        return json.loads(content)["metadata"]["marker"]
    except Exception:
        return None


Files = dict[str, bytes | tuple[bytes, tuple]]  # name -> content, or (content, zip date_time)


def make_zip(files: Files, path: Path | None = None) -> bytes:
    """A zip of ``files``; written to ``path`` too when given."""
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            data, when = content if isinstance(content, tuple) else (content, (2024, 1, 1, 0, 0, 0))
            archive.writestr(zipfile.ZipInfo(name, when), data, zipfile.ZIP_DEFLATED)
    if path is not None:
        path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def zipped(files: Files) -> Callable[[Path], Path]:
    def build(root: Path) -> Path:
        path = root / "download.zip"
        make_zip(files, path)
        return path
    return build


def folder(files: dict[str, bytes], times: dict[str, int] | None = None) -> Callable:
    def build(root: Path) -> Path:
        base = root / "download"
        for name, content in files.items():
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            if times and name in times:
                os.utime(path, (times[name], times[name]))
        return base
    return build


@dataclass(frozen=True)
class IntakeCase:
    name: str
    build: Callable[[Path], Path]  # (scratch folder) -> the source given to collect
    #: student -> (lesson, marker of the graded notebook), or a list of them
    graded: dict[str, tuple[str, str] | list[tuple[str, str]]]
    problems: dict[str, str] = field(default_factory=dict)  # student -> piece of a reason
    description: str = ""
    lessons: tuple[str, ...] | None = None  # lessons graded (default: all)
    limits: Limits | None = None
    pattern: str | None = None


def _symlinks(root: Path) -> Path:
    base = root / "download"
    (base / "ada").mkdir(parents=True)
    (base / "ada" / "derivatives.ipynb").write_bytes(notebook(L01, "ada"))
    outside = root / "outside"
    (outside / "secret").mkdir(parents=True)
    (outside / "secret" / "derivatives.ipynb").write_bytes(notebook(L01, "someone-else"))
    (outside / "other.ipynb").write_bytes(notebook(L01, "someone-else"))
    (base / "bob").mkdir()
    (base / "bob" / "derivatives.ipynb").symlink_to(outside / "other.ipynb")
    (base / "eve").symlink_to(outside / "secret", target_is_directory=True)
    (base / "mal").mkdir()
    (base / "mal" / "passwd.ipynb").symlink_to("/etc/passwd")
    return base


def _special_files(root: Path) -> Path:
    base = root / "download"
    (base / "ada").mkdir(parents=True)
    (base / "ada" / "derivatives.ipynb").write_bytes(notebook(L01, "ada"))
    (base / "bob").mkdir()
    os.mkfifo(base / "bob" / "derivatives.ipynb")  # opening it for reading would hang
    (base / "eve").mkdir()
    os.mkfifo(base / "eve" / "upload.zip")
    return base


def _deep_folders(root: Path) -> Path:
    base = root / "download"
    deep = base / "ada" / "/".join(["d"] * 80)
    deep.mkdir(parents=True)
    (deep / "derivatives.ipynb").write_bytes(notebook(L01, "ada"))
    (base / "bob" / "a" / "b").mkdir(parents=True)
    (base / "bob" / "a" / "b" / "derivatives.ipynb").write_bytes(notebook(L01, "bob"))
    return base


def _non_utf8_folder(root: Path) -> Path:
    base = root / "download"
    base.mkdir()
    os.makedirs(os.path.join(os.fsencode(base), b"caf\xe9"))
    with open(os.path.join(os.fsencode(base), b"caf\xe9", b"nb.ipynb"), "wb") as handle:
        handle.write(notebook(L01, "cafe"))
    with open(os.path.join(os.fsencode(base), b"g\xf6del_1010_510_\xff.ipynb"), "wb") as handle:
        handle.write(notebook(L01, "godel"))
    return base


def _bad_utf8_zip(root: Path) -> Path:
    """A zip whose entry names claim to be UTF-8 (flag 0x800) but are not."""
    path = root / "download.zip"
    make_zip({"ada_1001_501_derivatives.ipynb": notebook(L01, "ada"),
              "bob_1002_502_derivativ\u00e9s.ipynb": notebook(L01, "bob")}, path)
    data = path.read_bytes().replace("é".encode(), b"\xe9\xff")  # same length, invalid
    path.write_bytes(data)
    return path


def _bad_utf8_nested(root: Path) -> Path:
    """The same, as a student's uploaded zip inside the download."""
    upload = _bad_utf8_zip(root).read_bytes()
    path = root / "outer.zip"
    make_zip({"eve_1003_503_upload.zip": upload,
              "hopperbob_1002_502_derivatives.ipynb": notebook(L01, "bob")}, path)
    return path


def _cp437_zip(root: Path) -> Path:
    """Names written as UTF-8 without the flag, as many zip tools do."""
    name = "Zoë Ærø_1011_assignsubmission_file_nb.ipynb"
    placeholder = "".join(c if c.isascii() else "X" * len(c.encode()) for c in name)
    path = root / "download.zip"
    make_zip({placeholder: notebook(L01, "zoe"),
              "Ada_1001_assignsubmission_file_nb.ipynb": notebook(L01, "ada")}, path)
    return _write(path, path.read_bytes().replace(placeholder.encode(), name.encode()))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _encrypted_entry(root: Path) -> Path:
    path = root / "download.zip"
    make_zip({"ada_1001_501_derivatives.ipynb": notebook(L01, "ada"),
              "bob_1002_502_derivatives.ipynb": notebook(L01, "bob")}, path)
    data = bytearray(path.read_bytes())
    name = b"bob_1002_502_"
    data[data.find(name) - 30 + 6] |= 1  # "encrypted", in the local header
    data[data.rfind(name) - 46 + 8] |= 1  # and in the central directory
    return _write(path, bytes(data))


def _nested(depth: int, inner: Files) -> bytes:
    data = make_zip(inner)
    for level in range(depth):
        data = make_zip({f"level{level}.zip": data})
    return data


BIG = b"{" + b" " * (40 << 20) + b"}"  # 40 MiB, compresses about 1000:1

CASES = [
    # ----------------------------------------------------------------- identity
    IntakeCase("canvas-name-inside-an-upload", zipped({
        "lovelaceada_1001_501_work.zip": make_zip({
            "hopperbob_1002_502_derivatives.ipynb": notebook(L01, "ada")}),
        "hopperbob_1002_502_derivatives.ipynb": notebook(L01, "bob")}),
        {"1002": (L01, "bob")}, {"1001": "conflict"},
        "Ada's uploaded zip holds a file named like Bob's download: Bob keeps his own work"),
    IntakeCase("moodle-folder-with-a-canvas-name", zipped({
        "Ada Lovelace_1001_assignsubmission_file_/hopperbob_1002_502_derivatives.ipynb":
            notebook(L01, "ada"),
        "Bob Hopper_1002_assignsubmission_file_/derivatives.ipynb": notebook(L01, "bob")}),
        {"1002": (L01, "bob")}, {"1001": "conflict"},
        "a Moodle folder of Ada's holding a file named like Bob's Canvas file"),
    IntakeCase("moodle-name-in-canvas-upload", zipped({
        "eve_1003_503_Bob Hopper_1002_assignsubmission_file_nb.ipynb": notebook(L01, "eve"),
        "Bob Hopper_1002_assignsubmission_file_nb.ipynb": notebook(L01, "bob")}),
        {"1003": (L01, "eve"), "1002": (L01, "bob")}, {},
        "the outermost LMS name of one file wins over a name inside it"),
    IntakeCase("canvas-name-in-moodle-upload", zipped({
        "Eve Smith_1003_assignsubmission_file_hopperbob_1002_502_derivatives.ipynb":
            notebook(L01, "eve"),
        "Eve Smith_1003_assignsubmission_file_Bob_1002_assignsubmission_file_x.ipynb":
            notebook(L05, "eve5"),
        "Bob Hopper_1002_assignsubmission_file_derivatives.ipynb": notebook(L01, "bob")}),
        {"1003": [(L01, "eve"), (L05, "eve5")], "1002": (L01, "bob")}, {},
        "a Moodle file whose student-chosen part is named like a Canvas or Moodle file"),
    IntakeCase("name-chosen-like-another-download", zipped({
        "Bob Hopper_1002_assignsubmission_file_derivatives.ipynb": notebook(L01, "bob"),
        # Eve renamed herself "Bob_1002_assignsubmission_file_" in her LMS profile.
        "Bob_1002_assignsubmission_file__1003_assignsubmission_file_x.ipynb":
            notebook(L01, "eve"),
        "ada_1001_501_derivatives.ipynb": notebook(L01, "ada"),
        "ada_LATE_1001_502_derivatives-1.ipynb": notebook(L05, "ada5")}),
        {"1001": [(L01, "ada"), (L05, "ada5")]}, {"1002": "different names"},
        "one id under two names: both files refused, never one silently chosen"),
    IntakeCase("lms-names-in-an-instructors-folder", folder({
        "ada/hopperbob_1002_502_a.ipynb": notebook(L01, "ada"),
        "ada/carol_1003_503_b.ipynb": notebook(L05, "ada5"),
        "zed/derivatives.ipynb": notebook(L01, "zed")}),
        {"ada": [(L01, "ada"), (L05, "ada5")], "zed": (L01, "zed")}, {},
        "inside a folder the instructor named, file names decide nothing"),
    IntakeCase("impersonating-folder-layout", folder({
        "ada/01-derivatives/hopperbob_1002_502_derivatives.ipynb": notebook(L01, "ada"),
        "1002/01-derivatives/derivatives.ipynb": notebook(L01, "bob")}),
        {"ada": (L01, "ada"), "1002": (L01, "bob")}, {},
        "nbgrader layout: the top folder is the student, whatever the file is called"),
    IntakeCase("wrapped-download", zipped({
        "submissions/lovelaceada_1001_501_derivatives.ipynb": notebook(L01, "ada"),
        "submissions/hopperbob_1002_502_derivatives.ipynb": notebook(L01, "bob")}),
        {"1001": (L01, "ada"), "1002": (L01, "bob")}, {},
        "a zip made from a folder: the folder is not a student"),
    IntakeCase("wrapped-download-with-extras", zipped({
        "submissions/index.html": b"<html>",
        "submissions/lovelaceada_1001_501_derivatives.ipynb": notebook(L01, "ada"),
        "submissions/hopperbob_1002_502_derivatives.ipynb": notebook(L01, "bob"),
        **{f"submissions/junk{n}.txt": b"" for n in range(5)}}),
        {"1001": (L01, "ada"), "1002": (L01, "bob")}, {NOBODY: "more than 6 files"},
        "a wrapper folder with other files, and a download cut at the file cap",
        limits=Limits(entries=6)),
    IntakeCase("wrapped-folders", zipped({
        "class/ada/01-derivatives/nb.ipynb": notebook(L01, "ada"),
        "class/bob/01-derivatives/nb.ipynb": notebook(L01, "bob")}),
        {"ada": (L01, "ada"), "bob": (L01, "bob")}, {},
        "nbgrader layout wrapped in one folder"),
    IntakeCase("single-student-folder", zipped({
        "ada/01-derivatives/nb.ipynb": notebook(L01, "ada"),
        "ada/05-reverse-mode/nb.ipynb": notebook(L05, "ada")}),
        {"ada": (L01, "ada")}, {}, "one student's folder is the student, not a wrapper",
        lessons=(L01,)),
    IntakeCase("student-zip-in-canvas", zipped({
        "lovelaceada_1001_501_mywork.zip": make_zip({
            "mywork/derivatives.ipynb": notebook(L01, "ada"),
            "mywork/notes.txt": b"hello"}),
        "hopperbob_LATE_1002_502_upload.zip": make_zip({
            "derivatives.ipynb": notebook(L01, "bob")})}),
        {"1001": (L01, "ada"), "1002": (L01, "bob")}, {},
        "students uploaded zips: each is graded as its uploader"),
    # ----------------------------------------------------------------- LMS variants
    IntakeCase("canvas-and-moodle-variants", zipped({
        "o_brien_mary_1004_504_derivatives.ipynb": notebook(L01, "mary"),
        "zoë_LATE_1005_505_derivatives-1.ipynb": notebook(L01, "zoe"),
        "Jean Luc Picard_1006_assignsubmission_file_derivatives.ipynb": notebook(L01, "jean"),
        "Jean Luc Picard_1006_assignsubmission_onlinetext_onlinetext.html": b"<p>hi</p>",
        "李 小龙_1007_assignsubmission_file_nb.ipynb": notebook(L01, "li"),
        "Ana_María_1008_assignsubmission_file_/nb.ipynb": notebook(L01, "ana")}),
        {"1004": (L01, "mary"), "1005": (L01, "zoe"), "1006": (L01, "jean"),
         "1007": (L01, "li"), "1008": (L01, "ana")}, {},
        "underscores, LATE, a resubmission suffix, spaces, unicode, a Moodle folder"),
    IntakeCase("custom-pattern", zipped({
        "hw1-s12345-derivatives.ipynb": notebook(L01, "s12345"),
        "hw1-s99999-derivatives.ipynb": notebook(L01, "s99999")}),
        {"12345": (L01, "s12345"), "99999": (L01, "s99999")}, {},
        "an instructor's pattern", pattern=r"hw\d+-s(?P<student>\d+)-"),
    # ----------------------------------------------------------------- duplicates
    IntakeCase("two-notebooks-in-a-zip", zipped({
        "lovelaceada_1001_501_derivatives.ipynb":
            (notebook(L01, "old"), (2024, 1, 1, 0, 0, 0)),
        "lovelaceada_1001_501_derivatives-Copy1.ipynb":
            (notebook(L01, "ada"), (2024, 2, 1, 0, 0, 0))}),
        {"1001": (L01, "ada")}, {"1001": "2 notebooks of this student"},
        "the newest is graded, the other gets a row"),
    IntakeCase("three-notebooks-in-a-folder", folder({
        "ada/a.ipynb": notebook(L01, "old"), "ada/b.ipynb": notebook(L01, "ada"),
        "ada/c.ipynb": notebook(L01, "older")},
        times={"ada/a.ipynb": 1_700_000_100, "ada/b.ipynb": 1_700_000_200,
               "ada/c.ipynb": 1_700_000_000}),
        {"ada": (L01, "ada")}, {"ada": "the newest, 'ada/b.ipynb', was graded"},
        "newest by modification time, whatever the names"),
    IntakeCase("duplicate-one-broken", zipped({
        "lovelaceada_1001_501_a.ipynb": (notebook(L01, "ada"), (2024, 1, 1, 0, 0, 0)),
        "lovelaceada_1001_501_b.ipynb": (b"", (2024, 3, 1, 0, 0, 0))}),
        {"1001": (L01, "ada")}, {"1001": "empty"},
        "a newer but empty notebook does not replace a readable one"),
    IntakeCase("two-lessons-one-student", zipped({
        "lovelaceada_1001_501_a.ipynb": notebook(L01, "ada"),
        "lovelaceada_1001_501_b.ipynb": notebook(L05, "ada5")}),
        {"1001": [(L01, "ada"), (L05, "ada5")]}, {}, "two lessons: two rows, no duplicate"),
    # ----------------------------------------------------------------- unsafe zip entries
    IntakeCase("zip-slip", zipped({
        "../lovelaceada_1001_501_derivatives.ipynb": notebook(L01, "evil"),
        "/abs/hopperbob_1002_502_derivatives.ipynb": notebook(L01, "evil"),
        "x/../../noether_1003_503_derivatives.ipynb": notebook(L01, "evil"),
        "C:/gauss_1004_504_derivatives.ipynb": notebook(L01, "evil"),
        "turing_1005_505_derivatives.ipynb": notebook(L01, "alan")}),
        {"1005": (L01, "alan")},
        {"1001": "goes up with '..'", "abs": "absolute", "x": "'..'", "1004": "absolute"},
        "entries that leave the zip get rows, not grades"),
    # ----------------------------------------------------------------- crashes
    IntakeCase("malformed-structure", zipped({
        "a_1001_501_x.ipynb": notebook(L01, "a", cells=[1, "two", None] + json.loads(
            notebook(L01, "a"))["cells"]),
        "b_1002_502_x.ipynb": notebook(L01, "b", cells=[
            {"cell_type": "code", "metadata": [], "source": ""}] + json.loads(
            notebook(L01, "b"))["cells"]),
        "c_1003_503_x.ipynb": notebook(L01, "c", cells=[
            {"metadata": {"nbgrader": "grade"}}, {"metadata": {"nbgrader": {"grade_id": 7}}},
            {"metadata": {"nbgrader": {"grade_id": ["mse"]}}}] + json.loads(
            notebook(L01, "c"))["cells"]),
        "d_1004_504_x.ipynb": notebook(L01, "d", cells={"0": "x"}),
        "e_1005_505_x.ipynb": b"[1, 2, 3]",
        "f_1006_506_x.ipynb": b'"just a string"',
        "g_1007_507_x.ipynb": b"[" * 100_000 + b"]" * 100_000}),
        {"1001": (L01, "a"), "1002": (L01, "b"), "1003": (L01, "c")},
        {"1004": "no list of cells", "1005": "not a notebook", "1006": "not a notebook",
         "1007": "nested too deeply"},
        "cells that are not objects, metadata that is a list, deep JSON: rows, no crash"),
    IntakeCase("deep-folders", _deep_folders, {"bob": (L01, "bob")},
               {"ada": "folders deep"}, "a notebook 80 folders down", limits=Limits(folders=40)),
    IntakeCase("deep-zip-path", zipped({
        "ada/" + "d/" * 3000 + "derivatives.ipynb": notebook(L01, "ada"),
        "bob/derivatives.ipynb": notebook(L01, "bob")}),
        {"ada": (L01, "ada"), "bob": (L01, "bob")}, {}, "a zip path of 3000 folders"),
    # ----------------------------------------------------------------- bombs and caps
    IntakeCase("big-entry", zipped({
        "lovelaceada_1001_501_derivatives.ipynb": BIG,
        "hopperbob_1002_502_derivatives.ipynb": notebook(L01, "bob")}),
        {"1002": (L01, "bob")}, {"1001": "larger than 32 MiB"},
        "a 40 MiB notebook (beyond the per-notebook cap)"),
    IntakeCase("compression-ratio", zipped({
        "lovelaceada_1001_501_derivatives.ipynb": BIG,
        "hopperbob_1002_502_derivatives.ipynb": notebook(L01, "bob")}),
        {"1002": (L01, "bob")}, {"1001": "zip bomb"},
        "an entry 1000 times its compressed size", limits=Limits(notebook_bytes=64 << 20)),
    IntakeCase("total-budget", zipped({
        f"s{n}_{1000 + n}_{500 + n}_x.ipynb": notebook(L01, f"s{n}") + b" " * (300 << 10)
        for n in range(8)}),
        {f"{1000 + n}": (L01, f"s{n}") for n in range(3)},
        {f"{1000 + n}": "in all" for n in range(3, 8)},
        "a download beyond the total budget: the rest get rows",
        limits=Limits(total_bytes=1 << 20)),
    IntakeCase("too-many-entries", zipped({
        **{f"junk/{n}.txt": b"" for n in range(60)},
        "lovelaceada_1001_501_derivatives.ipynb": notebook(L01, "ada")}),
        {}, {NOBODY: "more than 50 files"},
        "beyond the entry cap the rest is reported, not read", limits=Limits(entries=50)),
    IntakeCase("nested-too-deep", zipped({
        "lovelaceada_1001_501_up.zip": _nested(4, {"derivatives.ipynb": notebook(L01, "x")}),
        "hopperbob_1002_502_up.zip": _nested(0, {"derivatives.ipynb": notebook(L01, "bob")})}),
        {"1002": (L01, "bob")}, {"1001": "nested more than 3 deep"},
        "zips inside zips inside zips"),
    IntakeCase("nested-bomb", zipped({
        "lovelaceada_1001_501_up.zip": make_zip({"derivatives.ipynb": BIG}),
        "hopperbob_1002_502_derivatives.ipynb": notebook(L01, "bob")}),
        {"1002": (L01, "bob")}, {"1001": "larger than 32 MiB"}, "a bomb inside an upload"),
    IntakeCase("broken-zips", zipped({
        "lovelaceada_1001_501_up.zip": b"PK\x03\x04 this is no zip",
        "hopperbob_1002_502_derivatives.ipynb": notebook(L01, "bob")}),
        {"1002": (L01, "bob")}, {"1001": "not a readable zip"}, "a broken nested zip"),
    IntakeCase("not-a-download", lambda root: _write(root / "d.zip", b"not a zip"), {},
               {NOBODY: "neither a folder, a zip nor a notebook"}, "the download is no zip"),
    IntakeCase("broken-download", lambda root: _write(root / "d.zip", b"PK\x05\x06" + b"\xff" * 18),
               {}, {NOBODY: "not a readable zip"}, "the download's zip directory is broken"),
    IntakeCase("encrypted-entry", _encrypted_entry, {"1001": (L01, "ada")},
               {"1002": "cannot be read"}, "a password-protected entry"),
    # ----------------------------------------------------------------- names
    IntakeCase("non-utf8-zip-names", _bad_utf8_zip, {"1001": (L01, "ada"), "1002": (L01, "bob")},
               {}, "names flagged UTF-8 that are not: the download is still read"),
    IntakeCase("non-utf8-names-in-an-upload", _bad_utf8_nested, {"1002": (L01, "bob")},
               {"1003": "conflict"}, "bad names inside a nested zip, named like others' files"),
    IntakeCase("utf8-names-without-flag", _cp437_zip,
               {"1011": (L01, "zoe"), "1001": (L01, "ada")}, {}, "UTF-8 names, no flag"),
    IntakeCase("non-utf8-folder-names", _non_utf8_folder,
               {clean_id("caf\udce9"): (L01, "cafe"), "1010": (L01, "godel")}, {},
               "file names that are not UTF-8 on disk"),
    IntakeCase("hostile-names", zipped({
        "=cmd|' -C calc'!A0/nb.ipynb": notebook(L01, "formula"),
        "+1/nb.ipynb": notebook(L01, "plus"),
        "@SUM(1)/nb.ipynb": notebook(L01, "at"),
        "x\nforged row/nb.ipynb": notebook(L01, "newline"),
        ("y" * 5000) + "/nb.ipynb": notebook(L01, "long"),
        ("y" * 5000) + "z/nb.ipynb": notebook(L01, "long2"),
        "[abc]*/nb.ipynb": notebook(L01, "glob")}),
        {clean_id(raw): (L01, marker) for raw, marker in (
            ("=cmd|' -C calc'!A0", "formula"), ("+1", "plus"), ("@SUM(1)", "at"),
            ("x\nforged row", "newline"), ("y" * 5000, "long"), ("y" * 5000 + "z", "long2"),
            ("[abc]*", "glob"))}, {},
        "ids with formulas, newlines, globs or 5000 characters are made safe and kept apart"),
    IntakeCase("long-broken-name", zipped({
        ("q" * 3000) + "\n\r\x1b[31m_1001_501_x.ipynb": b"not json"}),
        {}, {"1001": "not a valid notebook"}, "a problem row for a hostile name is one line"),
    # ----------------------------------------------------------------- lessons
    IntakeCase("nbformat-3", zipped({
        "lovelaceada_1001_501_derivatives.ipynb": json.dumps(
            {"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": []}],
             "metadata": {}}).encode(),
        "hopperbob_1002_502_derivatives.ipynb": json.dumps(
            {"worksheets": [], "metadata": {}}).encode(),
        "noether_1003_503_derivatives.ipynb": notebook(L01, "x", nbformat=2)}),
        {}, {"1001": "nbformat 3 notebook: open and save it in JupyterLab 4",
             "1002": "nbformat 3", "1003": "nbformat 2"}, "old notebook formats",
        lessons=(L01,)),
    IntakeCase("another-lessons-notebook", zipped({
        "lovelaceada_1001_501_derivatives.ipynb": notebook(L05, "ada"),
        "hopperbob_1002_502_derivatives.ipynb": notebook(L01, "bob")}),
        {"1002": (L01, "bob")}, {"1001": "this is lesson 05's notebook (05-reverse-mode)"},
        "a student uploaded lesson 05 to lesson 01's assignment", lessons=(L01,)),
    IntakeCase("lesson-folder-mismatch", folder({
        "ada/01-derivatives/nb.ipynb": notebook(L05, "ada"),
        "bob/01-derivatives/nb.ipynb": notebook(L01, "bob"),
        "bob/05-reverse-mode/nb.ipynb": b"",
        "eve/02-numeric/nb.ipynb": notebook(L01, "eve")}),
        {"ada": (L05, "ada"), "bob": (L01, "bob"), "eve": (L01, "eve")},
        {"ada": "this is lesson 05's notebook (05-reverse-mode), not 01-derivatives's; graded"},
        "a notebook in another lesson's folder is graded as what it is, with a row",
        lessons=(L01, L05)),
    IntakeCase("no-notebook", zipped({
        "lovelaceada_1001_501_derivatives.pdf": b"%PDF",
        "lovelaceada_1001_501_derivatives.py": b"x = 1",
        "hopperbob_1002_502_derivatives.ipynb": notebook(L01, "bob"),
        "hopperbob_1002_502_notes.txt": b"notes"}),
        {"1002": (L01, "bob")}, {"1001": "no notebook in this upload"},
        "a student who uploaded no notebook gets a row"),
    IntakeCase("macos-and-checkpoints", zipped({
        "__MACOSX/._lovelaceada_1001_501_derivatives.ipynb": b"junk",
        "ada/.ipynb_checkpoints/derivatives-checkpoint.ipynb": notebook(L01, "old"),
        "ada/derivatives.ipynb": notebook(L01, "ada")}),
        {"ada": (L01, "ada")}, {}, "editor and archiver clutter is not a submission"),
]

FOLDER_CASES = [
    IntakeCase("symlinks", _symlinks, {"ada": (L01, "ada")},
               {"bob": "symbolic link", "eve": "symbolic link", "mal": "symbolic link"},
               "links out of the folder are reported, never followed"),
    IntakeCase("special-files", _special_files, {"ada": (L01, "ada")},
               {"bob": "not a regular file", "eve": "not a regular file"},
               "named pipes are refused without opening them for a blocking read"),
]
