#!/usr/bin/env python3
"""Benchmark: the class run's coordinator, with grading that costs nothing.

    .venv/bin/python benchmarks/coordinator.py [--sizes 100 1000 10000] [--workers 1]

Drives :class:`autograder.classgrade.ClassRun` through its ``grade=`` hook with a
grader that returns at once: each submission's graded notebook is the lesson's
solution with its outputs cleared (full marks), the release canary's every cell fails
(zero), both made once per process and then only looked up. What remains is the
coordinator's own work, and the script prints it per submission for each class size;
it must stay flat as the class grows.

What is timed: from the moment the first submission (not a canary) reaches the grader
to the end of ``ClassRun.run``, i.e. everything the coordinator does per submission
(job bookkeeping, storing the graded notebook and its scores in the gradebook with
nbgrader's ``SaveAutoGrades``, the resumable state, progress lines) and what it does
once at the end of the run (compacting the state). Not timed: the preflight, the
release generation and the canaries, which run once per lesson whatever the class size.
With ``--workers 1`` (the default) grading runs in the coordinator's own process, so
no inter-process traffic is measured; with more, the notebooks' round trip through a
process pool is timed too. ``--without-gradebook`` keeps the graded notebooks but not
their scores, to time the coordinator's own bookkeeping apart from the gradebook
writes. ``--batch-sizes`` compares how many submissions are stored per gradebook
transaction: 0 stores one submission at a time with nbgrader's ``SaveAutoGrades`` (a
commit per cell, as before batching), 1 and 32 in transactions of that many; the first
is the baseline of the printed ratios. It is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import classgrade  # noqa: E402
from autograder.config import COURSE_ID, REPO_ROOT, SOURCE_DIRECTORY  # noqa: E402
from autograder.grading import Course  # noqa: E402
from autograder.intake import Submission  # noqa: E402
from autograder.lessons import lesson as find_lesson  # noqa: E402

LESSON = "01-derivatives"
#: Graded notebooks of the stand-in grader, per (lesson, kind), made once per process.
_GRADED: dict[tuple[str, str], bytes] = {}
#: When the stand-in grader first saw a submission (not a canary), per process: the
#: wall-clock and this process's CPU time.
FIRST_SUBMISSION: list[tuple[float, float]] = []


def _graded(job: classgrade.Job) -> bytes:
    """The solution with its outputs cleared (every test passes), or, for the release
    canary, every code cell failing (every test fails)."""
    kind = "release" if job.canary == "release" else "solution"
    if (job.lesson, kind) not in _GRADED:
        nb = nbformat.reads(job.content.decode(), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [] if kind == "solution" else [nbformat.v4.new_output(
                    "error", ename="NotImplementedError", evalue="", traceback=[])]
        _GRADED[(job.lesson, kind)] = nbformat.writes(nb).encode()
    return _GRADED[(job.lesson, kind)]


def grade_instantly(job: classgrade.Job) -> classgrade.Result:
    """A grading function that returns at once (see the module's docstring)."""
    if job.canary is None and not FIRST_SUBMISSION:
        FIRST_SUBMISSION.append((time.perf_counter(), time.process_time()))
    return classgrade.Result(job.student, job.lesson, _graded(job), None, 0.0)


class CourseStoringOneByOne(Course):
    """Stores each submission as before batching: nbgrader's own ``SaveAutoGrades``, which
    opens the gradebook and commits once per cell (the baseline of ``--batch-sizes 0``)."""

    def save_autograded_many(self, graded: list) -> None:
        for assignment, student, notebook, nb in graded:
            with Gradebook(self.db_url, COURSE_ID) as gb:
                gb.update_or_create_student(student)
                gb.update_or_create_submission(assignment, student)
            SaveAutoGrades(config=self.config).preprocess(nb, {"nbgrader": {
                "assignment": assignment, "student": student, "notebook": notebook,
                "db_url": self.db_url}})


class CourseWithoutGradebook(Course):
    """A course that keeps graded notebooks and the run's state but stores no scores."""

    def save_autograded_many(self, graded: list) -> None:
        return None


def measure(size: int, workers: int, scratch: Path, gradebook: bool = True,
            batch_size: int = classgrade.ClassRun.batch_size) -> tuple[float, float]:
    """Seconds of coordinator work per submission for a class of ``size``: wall-clock, and
    the coordinator process's CPU time (steadier on a shared machine)."""
    kind = (CourseWithoutGradebook if not gradebook else
            CourseStoringOneByOne if batch_size == 0 else Course)
    root = scratch / f"class-{size}-{batch_size}"
    course = kind(root, source_directory=REPO_ROOT / SOURCE_DIRECTORY,
                  release_directory=root / "release")
    content = find_lesson(LESSON).solution.read_bytes()
    submissions = [Submission(f"student{number:05d}", LESSON, "derivatives.ipynb", content)
                   for number in range(size)]
    FIRST_SUBMISSION.clear()
    run = classgrade.ClassRun(course, workers=workers, grade=grade_instantly,
                              batch_size=max(batch_size, 1))
    if workers > 1:  # the pool's workers report nothing back: time from the first result
        started: list[float] = []

        def progress(message: str) -> None:
            if not started and message.startswith("[1/"):
                started.append((time.perf_counter(), time.process_time()))

        run.run(submissions, progress=progress)
        first = started[0]
    else:
        run.run(submissions, progress=lambda message: None)
        first = FIRST_SUBMISSION[0]
    wall, cpu = time.perf_counter() - first[0], time.process_time() - first[1]
    graded = course.total(LESSON, submissions[-1].student) if gradebook else (7.0, 7.0)
    if graded != (7.0, 7.0):
        raise SystemExit(f"the last submission was not stored: {graded}")
    return wall / size, cpu / size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1_000, 10_000])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--without-gradebook", action="store_true",
                        help="store graded notebooks but not their scores")
    parser.add_argument("--batch-sizes", type=int, nargs="*",
                        default=[0, 1, classgrade.ClassRun.batch_size],
                        help="submissions stored per gradebook transaction (0: one at a time "
                        "with nbgrader's SaveAutoGrades, as before batching); the first is "
                        "the baseline of the printed ratios")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="coordinator-benchmark-"))
    try:
        print(f"coordinator time per submission ({LESSON}, grading that returns at once, "
              f"{args.workers} worker(s)"
              f"{', without the gradebook' if args.without_gradebook else ''}):", flush=True)
        batches = [1] if args.without_gradebook else args.batch_sizes
        for size in args.sizes:
            baseline = None
            for batch in batches:
                started = time.perf_counter()
                wall, cpu = measure(size, args.workers, scratch, not args.without_gradebook,
                                    batch)
                baseline = baseline or wall
                how = "nbgrader, per cell" if batch == 0 else f"{batch:>3} per transaction"
                print(f"  {size:>6} submissions, {how:>18}: "
                      f"{wall * 1000:8.2f} ms per submission ({baseline / wall:5.2f}x), "
                      f"{cpu * 1000:8.2f} ms of CPU ({time.perf_counter() - started:.1f} s "
                      "in all)", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
