"""Intake of LMS downloads: identity, duplicates, caps and hostile files (no grading)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from adversarial.intake_cases import (
    CASES,
    FOLDER_CASES,
    IDS,
    L01,
    IntakeCase,
    make_zip,
    marker_of,
    notebook,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import intake
from autograder.intake import NOBODY, Limits, clean_id, clean_text, collect


def _run(case: IntakeCase, tmp_path: Path) -> list[intake.Submission]:
    source = case.build(tmp_path)
    return collect(source, IDS, student_pattern=case.pattern, lessons=case.lessons,
                   limits=case.limits)


def _check(case: IntakeCase, found: list[intake.Submission]) -> None:
    graded = {(s.student, s.lesson): marker_of(s.content) for s in found if s.problem is None}
    expected = {}
    for student, wanted in case.graded.items():
        for lesson, marker in wanted if isinstance(wanted, list) else [wanted]:
            expected[(student, lesson)] = marker
    assert graded == expected, "a notebook was lost, misassigned or graded twice"
    assert len(graded) == len([s for s in found if s.problem is None])
    for student, piece in case.problems.items():
        reasons = [s.problem for s in found if s.student == student and s.problem]
        assert any(piece in reason for reason in reasons), (student, reasons)
    for submission in found:
        assert submission.student == NOBODY or clean_id(submission.student) == submission.student
        assert len(submission.student) <= 64 and submission.student[0] not in "=+-@"
        assert clean_text(submission.origin) == submission.origin
        if submission.problem:
            assert clean_text(submission.problem, 1_000) == submission.problem


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_intake_case(case: IntakeCase, tmp_path):
    _check(case, _run(case, tmp_path))


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and named pipes")
@pytest.mark.parametrize("case", FOLDER_CASES, ids=lambda case: case.name)
def test_intake_folder_case(case: IntakeCase, tmp_path):
    found = subprocess.run(  # a named pipe opened for a blocking read would hang: bound it
        [sys.executable, "-c", textwrap.dedent(f"""
            import pickle, sys
            from pathlib import Path
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from adversarial.intake_cases import FOLDER_CASES, IDS
            from autograder.intake import collect
            case = next(c for c in FOLDER_CASES if c.name == {case.name!r})
            found = collect(case.build(Path({str(tmp_path)!r})), IDS)
            sys.stdout.buffer.write(pickle.dumps(found))
        """)], capture_output=True, timeout=60, check=True).stdout
    import pickle

    _check(case, pickle.loads(found))


def test_the_old_signature_still_works(tmp_path):
    """``collect(source, ids)`` with only the graded lessons' ids, as before."""
    path = tmp_path / "d.zip"
    make_zip({"ada_1001_501_x.ipynb": notebook(L01, "ada"), "bob_1002_502_x.ipynb": b""}, path)
    found = {s.student: s for s in collect(path, {L01: IDS[L01]})}
    assert found["1001"].problem is None and found["1001"].lesson == L01
    assert "empty" in found["1002"].problem and found["1002"].lesson == L01


def test_a_single_notebook_is_a_source(tmp_path):
    path = tmp_path / "ada_1001_501_derivatives.ipynb"
    path.write_bytes(notebook(L01, "ada"))
    (found,) = collect(path, IDS)
    assert (found.student, found.lesson, found.problem) == ("1001", L01, None)


def test_ids_are_safe_and_injective():
    raws = ["ada", "Ada Lovelace", "Ada_Lovelace", "ada\n", "=ada", "-ada", "+ada", "@ada",
            ".ada", "..", "a/b", "a\\b", "a*b", "a?b", "[a]", "y" * 500, "y" * 501, "",
            "caf\udce9", "café", "cafe\u0301", "x\x00y", " ada ", "ada "]
    ids = [clean_id(raw) for raw in raws]
    assert len(set(ids)) == len(raws)
    for raw, cleaned in zip(raws, ids, strict=True):
        assert cleaned and len(cleaned) <= 64 and cleaned[0] not in "=+-@. "
        assert not set(cleaned) & set("/\\*?[]\n\r\x00\t")
        assert cleaned.encode("utf-8")
        assert clean_id(cleaned) == cleaned  # stable: an id that is clean stays as it is
        if raw in ("ada", "Ada Lovelace", "Ada_Lovelace", "café"):
            assert cleaned == raw


def test_the_identity_rule():
    lessons = set(IDS)

    def who(path: str) -> tuple[str, str | None]:
        return intake._identity(tuple(path.split("/")), lessons, None)

    assert who("ada_1001_501_x.ipynb") == ("1001", None)
    assert who("ada_LATE_1001_501_x.ipynb") == ("1001", None)
    assert who("Ada L_1001_assignsubmission_file_/bob_1002_502_x.ipynb")[0] == "1001"
    assert "conflict" in who("Ada L_1001_assignsubmission_file_/bob_1002_502_x.ipynb")[1]
    assert who("ada_1001_501_up.zip/ada_1001_400_x.ipynb") == ("1001", None)  # own old file
    assert who("ada/01-derivatives/x.ipynb") == ("ada", None)
    assert who("01-derivatives/ada/x.ipynb") == ("ada", None)
    assert who("ada/bob_1002_502_x.ipynb") == ("ada", None)  # a folder the instructor made
    assert who("ada.zip/x.ipynb") == ("ada", None)
    assert who("ada_derivatives.ipynb") == ("ada", None)


@settings(max_examples=60,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(
                        ["cells", "metadata", "nbgrader", "grade_id", "nbformat", "worksheets",
                         "source", "cell_type"]), inner, max_size=4), max_leaves=20),
       st.binary(max_size=64))
def test_collect_never_raises(tmp_path, document, junk):
    """Whatever JSON or bytes a file holds, and whatever its name, intake gives rows."""
    path = tmp_path / "fuzz.zip"
    make_zip({"a_1001_501_x.ipynb": json.dumps(document).encode(),
              "b_1002_502_x.ipynb": junk,
              junk.decode("latin-1").replace("/", "_") + ".ipynb": junk,
              "c_1003_503_x.ipynb": notebook(L01, "c")}, path)
    found = collect(path, IDS)
    assert [s.student for s in found if s.problem is None and s.lesson == L01].count("1003") == 1
    assert {"1001", "1002"} <= {s.student for s in found}


BOMB_SCRIPT = """
import re, sys
from pathlib import Path
from autograder.intake import Limits, collect

def peak_mib():  # this process's peak resident memory (ru_maxrss would count the parent's)
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1)) // 1024

before = peak_mib()
ids = {"01-derivatives": {"mse", "mse_check"}}
limits = Limits(notebook_bytes=1 << 40, archive_bytes=1 << 40, ratio=1 << 30,
                total_bytes=int(sys.argv[2]))
found = collect(Path(sys.argv[1]), ids, limits=limits)
print(peak_mib() - before)
print("|".join(sorted(s.problem or "graded" for s in found)))
"""


def _bomb(path: Path, entries: int, size: int) -> None:
    """A zip of ``entries`` notebooks of ``size`` zero bytes each, written in 16 MiB chunks."""
    chunk = bytes(16 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for number in range(entries):
            with archive.open(f"s{number}_{1000 + number}_{500 + number}_x.ipynb", "w",
                              force_zip64=True) as stream:
                for _ in range(size // len(chunk)):
                    stream.write(chunk)
        archive.writestr("ok_999_499_x.ipynb", notebook(L01, "ok"))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_zip_bomb_keeps_memory_bounded(tmp_path):
    """A few MiB of zip expanding to 768 MiB: intake reads at most its budget, in chunks.

    Every cap but the total budget is lifted, so only chunked reading bounds the memory.
    """
    path = tmp_path / "bomb.zip"
    _bomb(path, entries=3, size=256 << 20)
    assert path.stat().st_size < 8 << 20
    budget = 64 << 20
    result = subprocess.run([sys.executable, "-c", BOMB_SCRIPT, str(path), str(budget)],
                            capture_output=True, text=True, timeout=300, check=True)
    growth_mib, problems = result.stdout.split("\n")[:2]
    assert problems.split("|").count("graded") == 1  # the small notebook after the bomb
    assert problems.count("more than the intake reads in all") == 3
    assert int(growth_mib) < 2 * (budget >> 20), growth_mib


def test_default_caps_refuse_a_bomb_before_reading_it(tmp_path):
    """With the default caps a 256 MiB entry is refused from its declared size."""
    path = tmp_path / "bomb.zip"
    _bomb(path, entries=1, size=256 << 20)
    found = collect(path, IDS)
    assert [s.problem for s in found if s.student == "1000"] == [
        "the notebook is larger than 32 MiB: not read"]
    assert [s.student for s in found if s.problem is None] == ["999"]


def test_lying_sizes_are_bounded_by_reading(tmp_path):
    """An entry that claims to be small is read only up to the claimed size."""
    path = tmp_path / "liar.zip"
    make_zip({"a_1001_501_x.ipynb": b" " * (4 << 20) + notebook(L01, "a")}, path)
    found = collect(path, IDS, limits=Limits(notebook_bytes=1 << 20, ratio=10 ** 6))
    assert "larger than 1 MiB" in found[0].problem


def _lesson01(kind: str, wrong: str | None = None) -> bytes:
    """Lesson 01's solution (or release), with one exercise's answer swapped for the stub."""
    import nbformat
    from conftest import released_notebook, solution_notebook

    from autograder import notebooks

    nb = notebooks.read(solution_notebook(L01) if kind == "solution" else released_notebook(L01))
    if wrong:
        stubs = {c.metadata["nbgrader"]["grade_id"]: c.source for c in notebooks.read(
            released_notebook(L01)).cells if "nbgrader" in c.metadata}
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == wrong:
                cell.source = stubs[wrong]
    return nbformat.writes(nb).encode()


@pytest.mark.slow
def test_a_hostile_download_loses_and_misassigns_no_grade(scratch_course, tmp_path):
    """Graded end to end: every right notebook scores for its owner, and only for them."""
    from conftest import released_notebook

    from autograder import classgrade

    download = tmp_path / "download.zip"
    make_zip({
        "lovelaceada_1001_501_derivatives.ipynb": _lesson01("solution"),
        "hopperbob_1002_502_derivatives.ipynb": _lesson01("solution", wrong="relu_prime"),
        # Eve's upload holds a right notebook named like Bob's file: it is not Bob's grade.
        "eve_1003_503_upload.zip": make_zip({
            "hopperbob_1002_502_derivatives.ipynb": _lesson01("solution")}),
        "noether_1004_504_derivatives.ipynb":
            (_lesson01("solution", wrong="mse"), (2024, 1, 1, 0, 0, 0)),
        "noether_1004_504_derivatives-1.ipynb": (_lesson01("solution"), (2024, 1, 2, 0, 0, 0)),
        "../lovelaceada_1001_501_derivatives.ipynb": _lesson01("release"),
        "gauss_1005_505_derivatives.ipynb": b"{" + b" " * (40 << 20) + b"}",
        "euler_1006_506_derivatives.ipynb": json.dumps({"nbformat": 3, "worksheets": []}).encode(),
        "germain_1007_507_derivatives.ipynb": released_notebook("05-reverse-mode").read_bytes(),
    }, download)
    ids = classgrade.lesson_grade_ids(scratch_course, ["01-derivatives", "05-reverse-mode"])
    found = collect(download, ids, lessons=[L01])
    results = classgrade.ClassRun(scratch_course, workers=2).run(found, progress=lambda m: None)

    graded = {r.student for r in results if r.autograded is not None}
    assert graded == {"1001", "1002", "1004"}
    assert scratch_course.total(L01, "1001") == (7.0, 7.0)
    assert scratch_course.total(L01, "1002") == (6.0, 7.0)  # his own file, not Eve's
    assert scratch_course.total(L01, "1004") == (7.0, 7.0)  # the newer of two
    reasons = {r.student: r.problem for r in results if r.problem}
    assert "conflict" in reasons["1003"]
    assert "2 notebooks" in reasons["1004"]
    assert "larger than 32 MiB" in reasons["1005"]
    assert "nbformat 3" in reasons["1006"]
    assert "this is lesson 05's notebook" in reasons["1007"]
    assert "'..'" in next(r.problem for r in results if r.student == "1001" and r.problem)


def test_a_zip_entry_whose_name_is_cut_to_nothing_hides_no_other(tmp_path):
    path = tmp_path / "nul.zip"
    make_zip({"\x00.ipynb": b"\x00", "c_1003_503_x.ipynb": notebook(L01, "c")}, path)
    found = collect(path, IDS)
    assert [s.student for s in found if s.problem is None and s.lesson == L01] == ["1003"]
