"""Files the kernel controls and kernel faults (tests/adversarial/kernel_cases.py): each
hostile submission of lesson 01 is graded through the real path, in a grading process of
its own so that its peak memory and running time can be measured."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
from adversarial.edits import assert_scores, submit_edited
from adversarial.kernel_cases import CASES, KernelCase

from autograder import notebooks
from autograder.lessons import lesson
from course import recording

pytestmark = pytest.mark.slow
LESSON = "01-derivatives"
#: The grading process's peak resident memory must stay below this (about 350 MB when
#: grading lesson 01 normally; a kernel's output or log must not add to it).
GRADER_PEAK_BYTES = 700 * 2**20
HIDDEN_TEXT = "seed=2024"  # appears only in lesson 01's hidden tests

GRADE = """
import json, resource, sys, time
from autograder.grading import Course
root, source, release, restart_above_mb = sys.argv[1:5]


def _high_water():
    # VmHWM starts afresh at exec; ru_maxrss would carry the forking test worker's peak.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


course = Course(root, source_directory=source, release_directory=release,
                cell_timeout=20, notebook_timeout=300)
if restart_above_mb:
    course.config.TrustedExecute.restart_above_mb = int(restart_above_mb)
started = time.monotonic()
course.autograde({lesson!r}, "mallory")
print(json.dumps({{"seconds": time.monotonic() - started,
                  "peak": _high_water()}}))
"""


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def course_with_own_source(tmp_path):
    """A scratch course whose source folder is a copy (a target the kernel may aim at)."""
    from autograder.grading import Course

    source = tmp_path / "source"
    shutil.copytree(lesson(LESSON).solution.parent, source / LESSON)
    course = Course(tmp_path / "course", source_directory=source,
                    release_directory=tmp_path / "release", cell_timeout=20,
                    notebook_timeout=300)
    course.generate(LESSON)
    return course, source


def grade_in_own_process(course, source, release, restart_above_mb: int | None = None
                         ) -> dict:
    """Grade mallory's submission in a new grading process; its seconds and peak memory."""
    done = subprocess.run(
        [sys.executable, "-c", GRADE.format(lesson=LESSON), str(course.root), str(source),
         str(release), str(restart_above_mb or "")], capture_output=True, text=True,
        timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_kernel_attack_or_fault_is_contained(case: KernelCase, course_with_own_source,
                                            tmp_path):
    if case.needs_root and os.geteuid() != 0:
        pytest.skip("the kernel runs as a user of its own only when the grader is root")
    course, source = course_with_own_source
    target = tmp_path / "root-only"
    target.write_text("only root may change this\n")
    target.chmod(0o600)
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep\n")
    notebook = lesson(LESSON).source_in(source)
    watched = {path: _digest(path) for path in (target, notebook, folder / "keep.txt")}

    context = {"record_env": recording.RECORD_ENV, "target": str(target),
               "notebook": str(notebook), "folder": str(folder)}
    submitted = submit_edited(course, LESSON, notebook, case.edit, tmp_path, context)
    before = _digest(submitted)

    measured = grade_in_own_process(course, source, tmp_path / "release",
                                    case.restart_above_mb)
    print(f"{case.name}: {measured['seconds']:.1f} s, grader peak "
          f"{measured['peak'] / 2**20:.0f} MB")

    scores = course.cell_scores(LESSON, "mallory")
    assert len(scores) == 5
    assert_scores(scores, case.loses, case.name)
    assert _digest(submitted) == before, "the submission was modified"
    for watched_path, digest in watched.items():
        assert _digest(watched_path) == digest, f"{watched_path} was changed"
    assert measured["peak"] < GRADER_PEAK_BYTES, f"grader peak {measured['peak'] / 2**20} MB"
    assert measured["seconds"] < case.max_seconds, f"grading took {measured['seconds']:.0f} s"

    graded = notebooks.read(course.autograded / "mallory" / LESSON / notebook.name)
    assert graded_outputs_hide_tests(graded)
    if case.note:
        notes = " ".join(notebooks.annotations(graded)["notes"])
        assert case.note in notes, notes


def graded_outputs_hide_tests(nb) -> bool:
    """No output of a cell other than a test cell quotes lesson 01's hidden tests."""
    for cell in nb.cells:
        meta = notebooks.nbgrader_meta(cell)
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        if HIDDEN_TEXT in json.dumps(cell.get("outputs", [])):
            return False
    return True
