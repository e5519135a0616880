"""Grades into the LMS's own gradebook export, feedback zips the LMS attaches to the right
student, and feedback pages that render offline (autograder/lms.py, preprocessors.py).

The gradebooks are hand-written in tests/fixtures/lms/ as Canvas and Moodle lay them out
(tests/fixtures/lms/README.md). The downloads are built here with the names each LMS
writes (Canvas: ``<sortable name>[_LATE]_<user id>_<attachment id>_<file>``; Moodle: a
folder ``<Full Name>_<participant id>_assignsubmission_file_`` per student) and go through
intake exactly as ``autograder grade --from`` does.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder import intake, lms
from autograder.cli import build_parser
from autograder.preprocessors import SafeFeedbackExporter

FIXTURES = Path(__file__).parent / "fixtures" / "lms"
LESSON = "01-derivatives"
LESSON_IDS = {LESSON: {"mse", "mse_check"}, "02-numeric": {"central_difference"}}
MAE = "you averaged absolute differences (MAE) instead of squares."


def notebook(grade_id: str = "mse") -> bytes:
    cell = {"cell_type": "code", "source": "def mse(y, p): ...", "metadata": {
        "nbgrader": {"grade_id": grade_id, "solution": True}}, "outputs": [],
        "execution_count": None}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [cell]}).encode()


def download(tmp_path: Path, names: dict[str, bytes]) -> Path:
    path = tmp_path / "download.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in names.items():
            archive.writestr(name, content)
    return path


def collected(tmp_path: Path, names: dict[str, bytes]) -> dict[tuple[str, str], lms.Download]:
    """Intake's view of an LMS download, kept and read back as export and feedback do."""
    found = intake.collect(download(tmp_path, names), LESSON_IDS)
    assert all(s.problem is None for s in found), [s.problem for s in found]
    lms.remember(tmp_path / "data", found)
    return lms.downloads(tmp_path / "data", LESSON_IDS)


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


# ------------------------------------------------------------------------ canvas

CANVAS_DOWNLOAD = {
    "lovelaceada_1001_501_derivatives.ipynb": notebook(),
    "obrienchipjr_LATE_1002_502_derivatives.ipynb": notebook(),  # quotes, a comma, late
    "gödelkurt_1003_503_Derivatives (1).ipynb": notebook(),  # non-ASCII
    "strangerdanger_1077_577_derivatives.ipynb": notebook(),  # not in the gradebook
    "lovelaceada_1001_601_numeric.ipynb": notebook("central_difference"),
}


def canvas_grades(chip: float = 6.0) -> list[lms.Grade]:
    return [lms.Grade(LESSON, "1001", 5.0, 7.0), lms.Grade(LESSON, "1002", chip, 7.0),
            lms.Grade(LESSON, "1003", 7.0, 7.0), lms.Grade(LESSON, "1077", 3.0, 7.0),
            lms.Grade("02-numeric", "1001", 11.5, 12.0)]


def test_download_names_give_each_lms_its_ids(tmp_path):
    known = collected(tmp_path, CANVAS_DOWNLOAD)
    assert known[("1002", LESSON)] == lms.Download("canvas", "1002", "obrienchipjr",
                                                   "obrienchipjr_LATE_1002_502")
    assert known[("1003", LESSON)].prefix == "gödelkurt_1003_503"
    moodle = lms.download_name("Ada Lovelace_5001_assignsubmission_file_/work.ipynb")
    assert moodle == lms.Download("moodle", "5001", "Ada Lovelace",
                                  "Ada Lovelace_5001_assignsubmission_file_")
    assert lms.download_name("ada/lovelaceada_1001_501_x.ipynb") is None  # the folder decides


def test_canvas_gradebook_is_filled_and_everything_else_kept(tmp_path):
    known = collected(tmp_path, CANVAS_DOWNLOAD)
    target = tmp_path / "filled.csv"
    report = lms.export(FIXTURES / "canvas_gradebook.csv", lms.CANVAS, target,
                        canvas_grades(), known)
    original, filled = read_csv(FIXTURES / "canvas_gradebook.csv"), read_csv(target)
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # the byte-order mark stays
    header = filled[0]
    # 02-numeric had no column: one is added before Canvas's read-only totals.
    assert header == [*original[0][:7], "02-numeric", *original[0][7:]]
    new, old = header.index("02-numeric"), header.index("01-derivatives (12345)")
    assert report.created == ["02-numeric"]
    rows = {row[1]: row for row in filled[1:] if row[1]}
    assert filled[1][0].strip() == "Points Possible" and filled[1][new] == "12"
    assert rows["1001"][old] == "5" and rows["1001"][new] == "11.5"
    assert rows["1002"][old] == "6"  # was 2.00
    assert rows["1003"][old] == "7"
    assert rows["1004"][old] == "" and rows["1099"][old] == ""
    # Every other cell is as Canvas exported it, names with quotes and formulas included.
    for before, after in zip(original, filled, strict=True):
        assert [c for i, c in enumerate(after) if i not in (old, new)] == (
            [c for i, c in enumerate(before) if i != old])
    assert rows["1004"][0] == '=HYPERLINK("x"), Mallory'
    kinds = {(u.kind, u.lesson, u.student) for u in report.unmatched}
    assert (lms.GRADED_NOT_IN_GRADEBOOK, LESSON, "1077") in kinds
    assert (lms.IN_GRADEBOOK_NOT_GRADED, LESSON, '=HYPERLINK("x"), Mallory (ID 1004)') in kinds
    assert (lms.IN_GRADEBOOK_NOT_GRADED, LESSON, "Student, Test (ID 1099)") in kinds
    assert report.filled == 4


def test_a_rerun_updates_a_grade_and_adds_no_column(tmp_path):
    known = collected(tmp_path, CANVAS_DOWNLOAD)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    lms.export(FIXTURES / "canvas_gradebook.csv", lms.CANVAS, first, canvas_grades(), known)
    report = lms.export(first, lms.CANVAS, second, canvas_grades(chip=7.0), known)
    before, after = read_csv(first), read_csv(second)
    assert report.created == [] and after[0] == before[0]
    column = after[0].index("01-derivatives (12345)")
    changed = [(b[1], b[column], a[column]) for b, a in zip(before, after, strict=True) if b != a]
    assert changed == [("1002", "6", "7")]


def test_canvas_scores_scale_to_the_columns_points(tmp_path):
    sheet = lms.read_sheet(FIXTURES / "canvas_gradebook.csv", lms.CANVAS)
    column = sheet.header.index("01-derivatives (12345)")
    sheet.rows[0][column] = "14"
    report = lms.fill(sheet, [lms.Grade(LESSON, "1001", 5.0, 7.0)], {})
    assert sheet.rows[1][column] == "10"  # matched by ID without a download name
    assert any("scaled" in note for note in report.notes)


# ------------------------------------------------------------------------ moodle

MOODLE_DOWNLOAD = {
    "Ada Lovelace_5001_assignsubmission_file_/derivatives.ipynb": notebook(),
    # Moodle's clean_filename dropped the quotes and the apostrophe of Chip "the kid" O'Brien.
    "Chip the kid OBrien, Jr._5002_assignsubmission_file_/my work.ipynb": notebook(),
    "Kurt Gödel_5003_assignsubmission_file_/derivatives.ipynb": notebook(),
    "Nobody Known_5077_assignsubmission_file_/derivatives.ipynb": notebook(),
}


def test_moodle_grades_are_matched_by_the_downloads_full_name(tmp_path):
    known = collected(tmp_path, MOODLE_DOWNLOAD)
    grades = [lms.Grade(LESSON, "5001", 5.0, 7.0), lms.Grade(LESSON, "5002", 4.5, 7.0),
              lms.Grade(LESSON, "5003", 7.0, 7.0), lms.Grade(LESSON, "5077", 1.0, 7.0),
              # a participant id equal to an ID number must not match it
              lms.Grade("02-numeric", "S1005", 2.0, 12.0)]
    target = tmp_path / "filled.csv"
    report = lms.export(FIXTURES / "moodle_grades.csv", lms.MOODLE, target, grades, known)
    original, filled = read_csv(FIXTURES / "moodle_grades.csv"), read_csv(target)
    assert not target.read_bytes().startswith(b"\xef\xbb\xbf")
    assert filled[0] == [*original[0], "02-numeric"]
    column = filled[0].index("Assignment: 01-derivatives (Real)")
    by_email = {row[5]: row for row in filled[1:]}
    assert by_email["ada@uni.example"][column] == "5"
    assert by_email["chip@uni.example"][column] == "4.5"  # was 2.00
    assert by_email["kurt@uni.example"][column] == "7"
    assert by_email["juergen@uni.example"][column] == "-"
    assert by_email["juergen@uni.example"][-1] == "2"  # folder named by ID number: matched
    assert filled[2][:2] == ['Chip "the kid"', "O'Brien, Jr."]
    unmatched = {(u.kind, u.student) for u in report.unmatched if u.lesson == LESSON}
    assert unmatched == {(lms.GRADED_NOT_IN_GRADEBOOK, "5077"),
                         (lms.IN_GRADEBOOK_NOT_GRADED, "Jürgen Müller (S1005)")}
    csv_path = tmp_path / "unmatched.csv"
    lms.write_unmatched(report, csv_path)
    rows = read_csv(csv_path)
    assert rows[0] == ["lesson", "kind", "student", "name", "detail"]
    assert ["01-derivatives", lms.GRADED_NOT_IN_GRADEBOOK, "5077", "Nobody Known",
            "score 1/7; not written"] in rows


def test_two_rows_with_the_downloads_name_are_reported_not_guessed(tmp_path):
    sheet = lms.read_sheet(FIXTURES / "moodle_grades.csv", lms.MOODLE)
    sheet.rows.append(["Ada", "Lovelace", "S2001", "", "", "ada2@uni.example", "-", "", ""])
    download = lms.Download("moodle", "5001", "Ada Lovelace", "Ada Lovelace_5001_x")
    report = lms.fill(sheet, [lms.Grade(LESSON, "5001", 5.0, 7.0)], {("5001", LESSON): download})
    assert report.filled == 0
    assert [u.kind for u in report.unmatched if u.student == "5001"] == [lms.AMBIGUOUS]


def test_unmatched_csv_escapes_formulas(tmp_path):
    report = lms.ExportReport(unmatched=[lms.Unmatched(LESSON, lms.IN_GRADEBOOK_NOT_GRADED,
                                                       "=cmd|' /C calc'!A0", "", "-")])
    path = tmp_path / "u.csv"
    lms.write_unmatched(report, path)
    assert read_csv(path)[1] == [LESSON, lms.IN_GRADEBOOK_NOT_GRADED, "'=cmd|' /C calc'!A0",
                                 "", "'-"]


def test_not_a_gradebook_export_is_refused(tmp_path):
    with pytest.raises(lms.GradebookError, match="no column"):
        lms.read_sheet(FIXTURES / "moodle_grades.csv", lms.CANVAS)


def test_cli_takes_one_lms_gradebook_and_feedback_zip_options():
    args = build_parser().parse_args(["export", "--canvas", "g.csv", "--to", "o.csv",
                                      "--unmatched", "u.csv"])
    assert (args.canvas, args.moodle, args.to, args.unmatched) == ("g.csv", None, "o.csv", "u.csv")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "--canvas", "a.csv", "--moodle", "b.csv"])
    args = build_parser().parse_args(["feedback", "1", "--zip", "f.zip", "--for", "moodle"])
    assert (args.zip, args.lms) == ("f.zip", "moodle")


# ---------------------------------------------------------------------- feedback


def feedback_pages(tmp_path: Path, students: list[str]) -> Path:
    folder = tmp_path / "feedback"
    for student in students:
        page = folder / student / LESSON / "derivatives.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"<html><body>feedback of {student}</body></html>")
    return folder


def canvas_reads(name: str) -> tuple[str, str]:
    """Canvas's re-upload: the first two all-digit ``_`` parts of the file's base name are
    the user id and the attachment id (Assignment#infer_comment_context_from_filename)."""
    return tuple(p for p in Path(name).name.split("_") if re.fullmatch(r"\d+", p))[:2]


def moodle_reads(name: str) -> tuple[str, str, str]:
    """Moodle's feedback zip import: the first path part split on ``_`` (at most 5 pieces)
    gives the participant id and the plugin type and name (assignfeedback_file's
    importziplib)."""
    info = name.split("/")[0].split("_", 4)
    return info[1], info[2], info[3]


def test_canvas_feedback_zip_names_reach_each_students_submission(tmp_path):
    known = collected(tmp_path, CANVAS_DOWNLOAD)
    folder = feedback_pages(tmp_path, ["1001", "1002", "1003", "folder-student"])
    target = tmp_path / "canvas.zip"
    report = lms.feedback_zip(folder, LESSON, ["1001", "1002", "1003", "folder-student"],
                              lms.CANVAS, known, target)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert archive.read("lovelaceada_1001_501_feedback-derivatives.html") == (
            b"<html><body>feedback of 1001</body></html>")
    assert sorted(canvas_reads(n) for n in names) == [("1001", "501"), ("1002", "502"),
                                                       ("1003", "503")]
    assert [s for s, _ in report.missing] == ["folder-student"]


def test_moodle_feedback_zip_uses_the_download_folders(tmp_path):
    known = collected(tmp_path, MOODLE_DOWNLOAD)
    folder = feedback_pages(tmp_path, ["5001", "5002", "5003"])
    target = tmp_path / "moodle.zip"
    report = lms.feedback_zip(folder, LESSON, ["5001", "5002", "5003", "5077"], lms.MOODLE,
                              known, target)
    with zipfile.ZipFile(target) as archive:
        names = sorted(archive.namelist())
    assert names == ["Ada Lovelace_5001_assignsubmission_file_/feedback-derivatives.html",
                     "Chip the kid OBrien, Jr._5002_assignsubmission_file_/"
                     "feedback-derivatives.html",
                     "Kurt Gödel_5003_assignsubmission_file_/feedback-derivatives.html"]
    assert [moodle_reads(n) for n in names] == [(p, "assignsubmission", "file")
                                                for p in ("5001", "5002", "5003")]
    assert report.missing == [("5077", "no feedback page (not graded?)")]
    # A Canvas zip of Moodle-named submissions would reach nobody: refused, listed.
    report = lms.feedback_zip(folder, LESSON, ["5001"], lms.CANVAS, known, tmp_path / "c.zip")
    assert report.entries == [] and report.missing[0][0] == "5001"


# ------------------------------------------------------------------ offline pages

class _Resources(HTMLParser):
    """Every URL a page would load or link, with the tag and attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        for name, value in attrs:
            if name in {"src", "href", "action", "poster", "data"} and value:
                self.urls.append((tag, name, value))


def outside_images(page: str) -> str:
    """``page`` without its inline images' base64 data (which may spell anything)."""
    return re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=\s]*", "data:image", page)


def feedback_page(nb, tmp_path: Path) -> str:
    """``nb`` rendered with nbgrader's feedback template, as ``autograder feedback`` does."""
    from nbgrader.converters.generate_feedback import GenerateFeedback

    from autograder.config import course_config

    generate = GenerateFeedback(config=course_config(tmp_path))
    exporter = SafeFeedbackExporter(config=generate.config)
    resources = {"nbgrader": {"notebook": "derivatives", "score": 0, "max_score": 1,
                              "late_penalty": 0}}
    return exporter.from_notebook_node(nb, resources)[0]


def graded_notebook():
    answer = new_code_cell("def mse(y, p):\n    return abs(y - p).mean()")
    answer.metadata["nbgrader"] = {"grade_id": "mse", "solution": True, "grade": False,
                                   "locked": False, "schema_version": 3}
    check = new_code_cell("check_mse(mse)")
    check.metadata["nbgrader"] = {"grade_id": "mse_check", "grade": True, "solution": False,
                                  "locked": True, "points": 1, "score": 0.0,
                                  "schema_version": 3}
    check.outputs = [new_output("error", ename="CheckFailed", evalue=(
        "mse(actual, guess) is wrong.\n  expected: 1.5\n  got:      1.0\n"
        f"  likely mistake: {MAE}"), traceback=["CheckFailed: ..."])]
    hostile = new_markdown_cell(
        '$\\frac{1}{n}$ <script src="https://cdn.example.org/x.js"></script>'
        '<img src="https://tracker.example.org/p.png"> <link href="//cdn.example.org/s.css">'
        '<a href="javascript:alert(1)">x</a>')
    return new_notebook(cells=[new_markdown_cell("# Lesson"), answer, check, hostile])


def test_feedback_page_is_self_contained_sanitized_and_names_the_mistake(tmp_path):
    page = feedback_page(graded_notebook(), tmp_path)
    parser = _Resources()
    parser.feed(page)
    assert parser.scripts == 0, "a script in the feedback page"
    assert not [u for u in parser.urls if not u[2].startswith("#")], parser.urls
    assert "cdn" not in page.lower() and "mathjax" not in page.lower()
    assert "http" not in page
    assert "javascript:" not in page[page.index("<body"):]  # (Bootstrap's CSS names it)
    # The summary table comes before the first cell and names the mistake.
    summary = page.index('<table class="feedback-summary">')
    assert summary < page.index("<h1") < page.index("check_mse")
    row = page[summary:page.index("</table>", summary)]
    assert "<code>mse</code>" in row and "0 / 1" in row and "is wrong." in row and MAE in row


@pytest.mark.slow
def test_graded_feedback_shows_the_named_mistake_offline(scratch_course, tmp_path):
    """A real grading run: lesson 01 with an MAE for mse; its feedback page as students get it."""
    import nbformat

    from autograder import notebooks
    from autograder.lessons import lesson

    scratch_course.generate(LESSON)
    nb = notebooks.read(lesson(LESSON).solution)
    for cell in nb.cells:
        if notebooks.nbgrader_meta(cell).get("grade_id") == "mse":
            cell.source = ("import numpy as np\ndef mse(y, yhat):\n"
                           "    return np.mean(np.abs(np.asarray(y) - np.asarray(yhat)))\n")
    path = tmp_path / lesson(LESSON).notebook
    nbformat.write(nb, str(path))
    scratch_course.submit("ada", LESSON, path)
    scratch_course.autograde(LESSON, "ada")
    folder = scratch_course.generate_feedback(LESSON, "ada")
    page = (folder / path.with_suffix(".html").name).read_text(encoding="utf-8")
    parser = _Resources()
    parser.feed(page)
    assert parser.scripts == 0
    assert "http" not in outside_images(page) and "cdn" not in outside_images(page).lower()
    assert not [u for u in parser.urls if not u[2].startswith(("#", "data:image/"))]
    summary = page[page.index('<table class="feedback-summary">'):]
    assert MAE in summary[:summary.index("</table>")]

    # The stored grade goes into Moodle's gradebook and the page into Moodle's zip, for
    # a student whose submission came as Moodle names it.
    grades = lms.course_grades(scratch_course)
    assert [(g.lesson, g.student, g.score, g.max_score) for g in grades] == [
        (LESSON, "ada", 6.0, 7.0)]
    known = {("ada", LESSON): lms.download_name(
        "Ada Lovelace_5001_assignsubmission_file_/derivatives.ipynb")}
    report = lms.export(FIXTURES / "moodle_grades.csv", lms.MOODLE, tmp_path / "m.csv",
                        grades, known)
    assert report.filled == 1 and read_csv(tmp_path / "m.csv")[1][6] == "6"
    zipped = lms.feedback_zip(scratch_course.feedback_directory, LESSON, ["ada"], lms.MOODLE,
                              known, tmp_path / "feedback.zip")
    assert zipped.entries == [
        "Ada Lovelace_5001_assignsubmission_file_/feedback-derivatives.html"]
