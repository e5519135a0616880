#!/usr/bin/env python3
"""Benchmark: grade one synthetic class with ``autograder grade`` and with plain nbgrader.

    .venv/bin/python benchmarks/grade_class.py [--students 4] [--lessons 01-derivatives ...]

The class has, for every lesson, students who submit the solution (right), the
released lesson with one exercise solved wrongly (wrong) and, for every fourth
student, a notebook whose answer cell loops forever (broken). Both graders get the
same submissions and the same cell timeout; plain nbgrader runs ``nbgrader autograde``
one notebook at a time, as it does. autograder grades the class twice: first with an
empty compilation cache (cold: filling it is part of the time), then again into a fresh
course with the cache filled (warm). The script prints the wall-clock times, the ratios
against plain nbgrader, whether the scores of the honest submissions agree, and where
autograder's time goes per lesson (mean seconds per notebook: kernel start, imports,
cells, cells that ran until their timeout, replay, the rest of nbgrader's work,
storage); ``--no-plain`` skips plain
nbgrader. It is a measurement, not a test: nothing fails when the ratio is low.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import classgrade, compile_cache, intake, notebooks, run_progress  # noqa: E402
from autograder.config import REPO_ROOT, SOURCE_DIRECTORY  # noqa: E402
from autograder.grading import Course  # noqa: E402
from autograder.lessons import layout, lesson_ids  # noqa: E402
from autograder.lessons import lesson as find_lesson  # noqa: E402

CELL_TIMEOUT = 20


def _variant(lesson_id: str, kind: str) -> bytes:
    """The solution ("right"), one answer put back to its stub ("wrong"), or a hang ("broken")."""
    found = find_lesson(lesson_id)
    nb = notebooks.read(found.solution)
    if kind != "right":
        released = notebooks.read(found.release)
        last = found.graded.answer(found.graded.answers[-1])
        stub = released.cells[layout(released).answer(last.grade_id).index]
        nb.cells[last.index].source = stub.source
        if kind == "broken":
            nb.cells[last.index].source += "\nwhile True:\n    pass\n"
    return nbformat.writes(nb).encode()


def build_class(folder: Path, lessons: list[str], students: int) -> dict[tuple[str, str], str]:
    """Write ``<student>/<lesson>/<notebook>`` submissions; return each one's kind."""
    kinds = {}
    for number in range(students):
        student = f"student{number:03d}"
        kind = "broken" if number % 4 == 3 else ("wrong" if number % 2 else "right")
        for lesson in lessons:
            target = folder / student / lesson / find_lesson(lesson).notebook
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_variant(lesson, kind))
            kinds[(student, lesson)] = kind
    return kinds


def grade_with_autograder(scratch: Path, submissions: Path, lessons: list[str],
                          workers: int) -> tuple[float, dict, list[str]]:
    course = Course(scratch / "ours", source_directory=REPO_ROOT / SOURCE_DIRECTORY,
                    release_directory=scratch / "ours" / "release", cell_timeout=CELL_TIMEOUT)
    found = intake.collect(submissions, classgrade.lesson_grade_ids(course, lessons))
    started = time.perf_counter()
    run = classgrade.ClassRun(course, workers=workers)
    run.run(found, progress=lambda message: None)
    seconds = time.perf_counter() - started
    scores = {(s.student, s.lesson): course.total(s.lesson, s.student)[0] for s in found}
    return seconds, scores, run_progress.breakdown(run.timings)


def grade_with_plain_nbgrader(scratch: Path, submissions: Path,
                              lessons: list[str]) -> tuple[float, dict]:
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    root = scratch / "plain"
    root.mkdir()
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "benchmark"
    config.CourseDirectory.source_directory = str(REPO_ROOT / SOURCE_DIRECTORY)
    config.CourseDirectory.submitted_directory = str(submissions)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.Execute.timeout = CELL_TIMEOUT
    api = NbGraderAPI(config=config)
    for lesson in lessons:
        api.generate_assignment(lesson, force=True, create=True)
    students = sorted(p.name for p in submissions.iterdir())
    started = time.perf_counter()
    for lesson in lessons:
        for student in students:
            api.autograde(lesson, student, force=True, create=True)
    seconds = time.perf_counter() - started
    scores = {}
    with Gradebook(config.CourseDirectory.db_url, "benchmark") as gb:
        for lesson in lessons:
            for student in students:
                scores[(student, lesson)] = float(gb.find_submission(lesson, student).score)
    return seconds, scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--lessons", nargs="*", default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--no-plain", action="store_true",
                        help="grade with autograder only (for its time breakdown)")
    args = parser.parse_args()

    lessons = [find_lesson(key).id for key in args.lessons] if args.lessons else lesson_ids()
    workers = args.workers or os.cpu_count() or 1
    scratch = Path(tempfile.mkdtemp(prefix="grading-benchmark-"))
    # A cold start: the compilation cache begins empty, and filling it is part of the
    # first run's time; the second run finds it filled (warm).
    os.environ.setdefault(compile_cache.CACHE_ENV, str(scratch / "compile-cache"))
    try:
        submissions = scratch / "submitted"
        kinds = build_class(submissions, lessons, args.students)
        print(f"class: {args.students} students x {len(lessons)} lessons = {len(kinds)} "
              f"notebooks ({sum(k == 'right' for k in kinds.values())} right, "
              f"{sum(k == 'wrong' for k in kinds.values())} wrong, "
              f"{sum(k == 'broken' for k in kinds.values())} broken); cell timeout "
              f"{CELL_TIMEOUT} s", flush=True)
        plain_seconds, plain = (None, {}) if args.no_plain else grade_with_plain_nbgrader(
            scratch, submissions, lessons)
        if plain_seconds is not None:
            print(f"plain nbgrader autograde (serial):            {plain_seconds:8.1f} s",
                  flush=True)
        for run in ("cold", "warm"):
            seconds, ours, breakdown = grade_with_autograder(scratch / run, submissions,
                                                            lessons, workers)
            ratio = f"  speed-up {plain_seconds / seconds:.2f}x" if plain_seconds else ""
            print(f"autograder grade, {run} cache ({workers} workers): {seconds:8.1f} s{ratio}",
                  flush=True)
            if plain_seconds is not None:
                honest = [key for key, kind in kinds.items() if kind != "broken"]
                disagree = [key for key in honest if plain.get(key) != ours.get(key)]
                print(f"  scores of the {len(honest)} honest submissions agree with plain "
                      f"nbgrader: {'yes' if not disagree else 'no'}")
                for key in disagree:
                    print(f"    {key}: plain {plain.get(key)} vs autograder {ours.get(key)}")
                for key in (k for k, kind in kinds.items() if kind == "broken"):
                    print(f"    broken {key}: plain {plain.get(key)} vs autograder "
                          f"{ours.get(key)}")
            print("\n" + "\n".join(breakdown) + "\n", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
