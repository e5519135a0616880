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


@settings(max_examples=60, deadline=None,
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
import resource, sys
from pathlib import Path
from autograder.intake import Limits, collect
ids = {"01-derivatives": {"mse", "mse_check"}}
limits = Limits(notebook_bytes=1 << 40, archive_bytes=1 << 40, ratio=1 << 30,
                total_bytes=int(sys.argv[2]))
found = collect(Path(sys.argv[1]), ids, limits=limits)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
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
    peak_mib, problems = result.stdout.split("\n")[:2]
    assert problems.split("|").count("graded") == 1  # the small notebook after the bomb
    assert problems.count("more than the intake reads in all") == 3
    baseline = subprocess.run([sys.executable, "-c", "import resource, autograder.intake; print("
                               "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"],
                              capture_output=True, text=True, check=True).stdout
    assert int(peak_mib) - int(baseline) < 3 * (budget >> 20), (peak_mib, baseline)


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
