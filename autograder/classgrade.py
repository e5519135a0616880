"""Grade a whole class: in parallel, resumable, and never losing a batch to one submission.

Each (student, lesson) is graded by a worker process in a scratch course of its own
(its own gradebook copy, its own sandboxed kernel), so no submission can touch another
or the real gradebook. The main process then stores each result in the course
gradebook with nbgrader's own ``SaveAutoGrades`` (automatic scores only: manual grades
survive a regrade) and records the submission's digest in a state file, so an
interrupted run resumes without regrading finished students.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from autograder import compile_cache, notebooks
from autograder.config import COURSE_ID
from autograder.grading import Course
from autograder.intake import Submission
from autograder.sandbox import UID_ENV


@dataclass(frozen=True)
class Job:
    student: str
    lesson: str
    notebook_name: str
    content: bytes
    source_directory: str
    limits: dict


@dataclass(frozen=True)
class Result:
    student: str
    lesson: str
    autograded: bytes | None  # the graded notebook, or None when it could not be graded
    problem: str | None
    seconds: float


# ------------------------------------------------------------------------------ worker

#: Each worker's scratch courses, one per (source directory, limits), and the lessons
#: already generated in them: generating a lesson (a gradebook of its cells) costs about
#: two seconds, so a worker does it once per lesson, not once per submission.
_SCRATCH: dict[tuple, tuple[Course, set[str]]] = {}


def _scratch_course(job: Job) -> Course:
    key = (job.source_directory, tuple(sorted(job.limits.items())))
    if key not in _SCRATCH:
        root = Path(tempfile.mkdtemp(prefix="grade-worker-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _SCRATCH[key] = (Course(root, source_directory=job.source_directory,
                                release_directory=root / "release", **job.limits), set())
    course, generated = _SCRATCH[key]
    if job.lesson not in generated:
        course.generate(job.lesson)
        generated.add(job.lesson)
    return course


def _start_worker() -> None:
    """Worker initializer: replays load the oracles' compiled programs from the cache."""
    compile_cache.use_in_this_process(compile_cache.cache_dir())


def prime_lesson(source_directory: str, lesson: str, timeout: int) -> float | str | None:
    """Fill the compilation cache from ``lesson``'s source notebook.

    Returns the seconds the lesson takes to run (None without a cache), or what went
    wrong, as a string: grading then goes on, only slower.
    """
    try:
        (notebook,) = sorted((Path(source_directory) / lesson).glob("*.ipynb"))
        return compile_cache.prime(notebook, compile_cache.cache_dir(), timeout=timeout)
    except Exception as error:
        return f"{type(error).__name__}: {error}"[:500]


def grade_job(job: Job) -> Result:
    """Autograde one submission in this worker's scratch course; return the graded notebook.

    The scratch course is private to the worker and hidden from kernels; the student's
    files are removed from it once graded, whatever happened.
    """
    started = time.monotonic()
    course = None
    try:
        course = _scratch_course(job)
        upload = Path(tempfile.mkdtemp(prefix="upload-", dir=course.root)) / job.notebook_name
        upload.write_bytes(job.content)
        course.submit(job.student, job.lesson, upload)
        shutil.rmtree(upload.parent)
        course.autograde(job.lesson, job.student)
        graded = course.autograded / job.student / job.lesson / job.notebook_name
        return Result(job.student, job.lesson, graded.read_bytes(), None,
                      time.monotonic() - started)
    except Exception as error:  # one submission never stops the class
        reason = f"{type(error).__name__}: {error}".strip()[:2_000]
        return Result(job.student, job.lesson, None, reason, time.monotonic() - started)
    finally:
        if course is not None:
            for folder in (course.submitted, course.autograded):
                shutil.rmtree(folder / job.student, ignore_errors=True)


# -------------------------------------------------------------------------------- main


@dataclass
class ClassRun:
    """Grades ``submissions`` into ``course``; see :meth:`run`."""

    course: Course
    workers: int = max(os.cpu_count() or 1, 1)
    force: bool = False
    limits: dict | None = None
    #: Grades one job in a worker (a module-level function, so that workers can import it).
    grade: Callable[[Job], Result] = grade_job

    @property
    def state_path(self) -> Path:
        return self.course.root / "course-data" / "grading-state.json"

    def _load_state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _save_state(self, state: dict) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=1, sort_keys=True))
        temporary.replace(self.state_path)

    def run(self, submissions: list[Submission],
            progress: Callable[[str], None] = print) -> list[Result]:
        """Grade every submission; return one result per submission (graded or not)."""
        lessons = sorted({s.lesson for s in submissions if s.lesson})
        names = {}
        for lesson in lessons:
            self.course.generate(lesson)
            names[lesson] = _notebook_name(self.course, lesson)
        state = self._load_state()
        results: list[Result] = []
        jobs: list[Job] = []
        for submission in submissions:
            if submission.problem or submission.lesson is None:
                results.append(Result(submission.student, submission.lesson or "?", None,
                                      submission.problem or "unknown lesson", 0.0))
                continue
            key = f"{submission.student}/{submission.lesson}"
            digest = hashlib.sha256(submission.content).hexdigest()
            if not self.force and state.get(key, {}).get("digest") == digest:
                progress(f"  {key}: unchanged since the last run, kept")
                continue
            jobs.append(Job(submission.student, submission.lesson, names[submission.lesson],
                            submission.content, str(self._source_directory()),
                            dict(self.course.limits if self.limits is None else self.limits)))
        total = len(jobs)
        for number, result in enumerate(self._execute(jobs, progress), 1):
            if result.autograded is not None:
                self._store(result, names[result.lesson])
                state[f"{result.student}/{result.lesson}"] = {
                    "digest": hashlib.sha256(_content_of(jobs, result)).hexdigest()}
                self._save_state(state)
                score, max_score = self.course.total(result.lesson, result.student)
                progress(f"[{number}/{total}] {result.student} {result.lesson}: "
                         f"{score:g}/{max_score:g} ({result.seconds:.1f} s)")
            else:
                progress(f"[{number}/{total}] {result.student} {result.lesson}: NOT GRADED: "
                         f"{result.problem}")
            results.append(result)
        return results

    def _source_directory(self) -> Path:
        source = Path(self.course.config.CourseDirectory.source_directory)
        return source if source.is_absolute() else self.course.root / source

    def _execute(self, jobs: list[Job], progress: Callable[[str], None]):
        lessons = sorted({job.lesson for job in jobs})
        source = str(self._source_directory())
        timeout = int(self.course.config.TrustedExecute.timeout)
        if self.workers <= 1 or len(jobs) <= 1:
            jobs = self._prepared(jobs, lessons, [prime_lesson(source, lesson, timeout)
                                                  for lesson in lessons], progress)
            _start_worker()
            for job in jobs:
                yield self.grade(job)
            return
        # Each worker process has its own sandbox user (see autograder.sandbox.sandbox_uid).
        os.environ.pop(UID_ENV, None)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=context,
                                 initializer=_start_worker) as pool:
            primed = pool.map(prime_lesson, [source] * len(lessons), lessons,
                              [timeout] * len(lessons))
            jobs = self._prepared(jobs, lessons, list(primed), progress)
            futures = {pool.submit(self.grade, job): job for job in jobs}
            orphans = []
            for future in as_completed(futures):
                try:
                    yield future.result()
                except BrokenProcessPool:  # a worker died: every unfinished job comes here
                    orphans.append(futures[future])
                except Exception:
                    yield self._died(futures[future])
        # Which of them killed the worker is unknown: grade each alone, so that only the
        # culprit goes ungraded.
        for job in orphans:
            with ProcessPoolExecutor(1, mp_context=context, initializer=_start_worker) as alone:
                try:
                    yield alone.submit(self.grade, job).result()
                except Exception:
                    yield self._died(job)

    @staticmethod
    def _died(job: Job) -> Result:
        return Result(job.student, job.lesson, None,
                      "the grading worker died: " + traceback.format_exc(limit=1).strip(), 0.0)

    @staticmethod
    def _prepared(jobs: list[Job], lessons: list[str], primed: list[float | str | None],
                  progress: Callable[[str], None]) -> list[Job]:
        """Report lessons whose cache could not be filled; order the jobs longest first.

        Starting the longest lessons first keeps both workers busy to the end, instead of
        one worker finishing a long lesson alone.
        """
        cost = {}
        for lesson, outcome in zip(lessons, primed, strict=True):
            if isinstance(outcome, str):
                progress(f"  {lesson}: no compilation cache ({outcome}); grading goes on")
            cost[lesson] = outcome if isinstance(outcome, float) else 0.0
        return sorted(jobs, key=lambda job: -cost[job.lesson])

    def _store(self, result: Result, notebook_name: str) -> None:
        """Save the graded notebook and its automatic scores in the course gradebook."""
        target = self.course.autograded / result.student / result.lesson / notebook_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(result.autograded)
        nb = nbformat.reads(result.autograded.decode("utf-8"), as_version=4)
        with Gradebook(self.course.db_url, COURSE_ID) as gb:
            gb.update_or_create_student(result.student)
            gb.update_or_create_submission(result.lesson, result.student)
        resources = {"nbgrader": {"assignment": result.lesson, "student": result.student,
                                  "notebook": Path(notebook_name).stem,
                                  "db_url": self.course.db_url}}
        SaveAutoGrades(config=self.course.config).preprocess(nb, resources)


def _notebook_name(course: Course, lesson: str) -> str:
    source = Path(course.config.CourseDirectory.source_directory)
    folder = (source if source.is_absolute() else course.root / source) / lesson
    (path,) = sorted(folder.glob("*.ipynb"))
    return path.name


def _content_of(jobs: list[Job], result: Result) -> bytes:
    return next(j.content for j in jobs if (j.student, j.lesson) == (result.student, result.lesson))


def lesson_grade_ids(course: Course, lessons: list[str]) -> dict[str, set[str]]:
    """The grade ids of each lesson's source notebook (to recognise renamed submissions)."""
    source = Path(course.config.CourseDirectory.source_directory)
    folder = source if source.is_absolute() else course.root / source
    ids = {}
    for lesson in lessons:
        (path,) = sorted((folder / lesson).glob("*.ipynb"))
        ids[lesson] = {c.grade_id for c in notebooks.graded_cells(notebooks.read(path))}
    return ids
