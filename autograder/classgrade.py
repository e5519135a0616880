"""Grade a whole class: in parallel, resumable, and never losing a batch to one submission.

Each (student, lesson) is graded by a worker process (of a local pool, or of a Dask
cluster: :mod:`autograder.dask_grading`) in a scratch course of its own (its own
gradebook copy, its own sandboxed kernel), so no submission can touch another or the
real gradebook; the worker also writes the submission's feedback page. The main process
then stores each result in the course gradebook with nbgrader's own ``SaveAutoGrades``
(automatic scores only: manual grades survive a regrade), saves the feedback page and
appends the submission's digest to the state's journal (:mod:`autograder.run_state`),
so an interrupted run resumes without regrading finished students. Nothing it does per
result grows with the class.


Before it writes any grade, a run grades two canaries per lesson through exactly the
same path as a submission: the lesson's source notebook (the solution), which must score
full marks, and its untouched release, which must score zero. A grading path that
scores everything zero (a sandbox that cannot reach the course's Python, folders the
kernel's user cannot enter, timeouts too short) or everything full fails one of them,
and the run stops with :class:`RefusedToGrade` before the gradebook, the state file or
any graded notebook is touched.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat
from nbgrader.utils import determine_grade, is_grade

from autograder import compile_cache, fork_server, notebooks, sandbox, timings
from autograder.config import DATA_DIRECTORY, gradebook_url
from autograder.grading import STATE_FILE, Course
from autograder.intake import Submission
from autograder.lessons import Lesson, layout
from autograder.run_state import RunState
from autograder.sandbox import UID_ENV, owned_tempdir
from autograder.schedule import Schedule

#: Student ids under which the canaries are graded (in the workers' scratch courses only).
CANARY_STUDENTS = {"solution": "autograder-canary-solution",
                   "release": "autograder-canary-release"}


class RefusedToGrade(RuntimeError):
    """The run stopped before writing any grade; the message says why and what to check."""


@dataclass(frozen=True)
class Job:
    student: str
    lesson: str
    notebook_name: str
    content: bytes
    source_directory: str
    limits: dict
    #: "solution" or "release" for a canary (see the module's docstring), else None.
    canary: str | None = None
    #: Whether the worker also writes the submission's feedback page.
    feedback: bool = False
    #: A solution canary whose kernel fills the compilation cache (its lesson's programs
    #: are not in it yet): the instructor's code, run through the grading path anyway.
    fill_cache: bool = False


@dataclass(frozen=True)
class Result:
    """One submission's outcome: graded (``autograded``), kept from a previous run
    (``kept``) or not graded (``problem`` says why)."""

    student: str
    lesson: str
    autograded: bytes | None  # the graded notebook, or None when it could not be graded
    problem: str | None
    seconds: float
    #: Grading's one-line notes and review flags (:func:`autograder.notebooks.annotations`).
    notes: tuple[str, ...] = ()
    review: tuple[str, ...] = ()
    #: Unchanged since the last run: not regraded, its stored grade stands.
    kept: bool = False
    #: The feedback the worker wrote: (path inside the student's lesson folder, content).
    feedback: tuple[tuple[str, bytes], ...] = ()
    #: Why the feedback could not be written (the grade stands).
    feedback_problem: str | None = None
    #: Seconds per grading phase (:data:`autograder.timings.PHASES`).
    timings: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------------------ worker

#: Each worker's scratch courses, one per (source directory, limits), and the lessons
#: already generated in them: generating a lesson (a gradebook of its cells) costs about
#: two seconds, so a worker does it once per lesson, not once per submission.
_SCRATCH: dict[tuple, tuple[Course, set[str]]] = {}


def _scratch_course(job: Job) -> Course:
    key = (job.source_directory, tuple(sorted(job.limits.items())))
    if key not in _SCRATCH:
        root = owned_tempdir("grade-worker-")  # removed by the next run if this one dies
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        # Its own SQLite gradebook, whatever COURSE_GRADEBOOK_URL names: the course's.
        _SCRATCH[key] = (Course(root, source_directory=job.source_directory,
                                release_directory=root / "release",
                                db_url=gradebook_url(None, root), **job.limits), set())
    course, generated = _SCRATCH[key]
    if job.lesson not in generated:
        course.generate(job.lesson)
        generated.add(job.lesson)
    return course


_SPAWN = multiprocessing.get_context("spawn")


def _warm_worker(forks: bool) -> None:
    """A worker's first task: start its fork server, whose imports then overlap the
    coordinator's preparations."""
    if forks:
        with contextlib.suppress(Exception):
            fork_server.server()


#: What keeps numerical libraries to one thread each (as Dask's nanny does for its workers).
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def one_thread_per_worker() -> Iterator[None]:
    """Worker processes (and their kernels) started in this block run numpy's BLAS and
    OpenMP on one thread, unless the environment already says how many.

    The class is parallel already, one worker per core: a BLAS call that also splits
    itself over every core waits, spinning, for threads whose core another worker's
    kernel holds. Lesson 10's checks and replays ran three times slower that way.
    """
    added = {name: value for name, value in ONE_THREAD.items() if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _start_worker() -> None:
    """Worker initializer: replays load the oracles' compiled programs from the cache."""
    compile_cache.use_in_this_process(compile_cache.cache_dir())


def prime_lesson(source_directory: str, lesson: str, timeout: int) -> float | str | None:
    """Fill the compilation cache from ``lesson``'s source notebook.

    Returns the seconds the lesson takes to run (None without a cache), or what went
    wrong, as a string: grading then goes on, only slower.
    """
    try:
        notebook = Lesson.from_id(lesson).source_in(source_directory)
        return compile_cache.prime(notebook, compile_cache.cache_dir(), timeout=timeout)
    except Exception as error:
        return f"{type(error).__name__}: {error}"[:500]


def grade_job(job: Job) -> Result:
    """Autograde one submission in this worker's scratch course; return the graded notebook
    (and its feedback page, when the job asks for it) with the seconds of each phase.

    The scratch course is private to the worker and hidden from kernels; the student's
    files are removed from it once graded, whatever happened.
    """
    started = time.monotonic()
    course = None
    with timings.recording() as record:
        try:
            course = _scratch_course(job)
            upload = Path(tempfile.mkdtemp(prefix="upload-", dir=course.root)) / job.notebook_name
            upload.write_bytes(_without_annotations(job.content))
            course.submit(job.student, job.lesson, upload)
            shutil.rmtree(upload.parent)
            _autograde(course, job)
            graded = course.autograded / job.student / job.lesson / job.notebook_name
            content = graded.read_bytes()
            feedback, problem = _feedback(course, job) if job.feedback else ((), None)
            seconds = time.monotonic() - started
            return Result(job.student, job.lesson, content, None, seconds, feedback=feedback,
                          feedback_problem=problem, timings=_with_other(record, seconds))
        except Exception as error:  # one submission never stops the class
            reason = f"{type(error).__name__}: {error}".strip()[:2_000]
            return Result(job.student, job.lesson, None, reason, time.monotonic() - started)
        finally:
            if course is not None:
                for folder in (course.submitted, course.autograded, course.feedback_directory):
                    shutil.rmtree(folder / job.student, ignore_errors=True)


def _autograde(course: Course, job: Job) -> None:
    """Autograde ``job`` in ``course``; a filling canary's kernel also fills the cache."""
    folder = compile_cache.cache_dir() if job.fill_cache and job.canary == "solution" else None
    if folder is None:
        course.autograde(job.lesson, job.student)
        return
    started = time.monotonic()
    with compile_cache.filling(folder):
        course.autograde(job.lesson, job.student)
    notebook = Lesson.from_id(job.lesson).source_in(job.source_directory)
    compile_cache.mark_filled(notebook, folder, time.monotonic() - started)


def _feedback(course: Course, job: Job) -> tuple[tuple[tuple[str, bytes], ...], str | None]:
    """The feedback files of the graded submission (where its graded notebook is, in the
    worker's scratch course, whose gradebook holds its scores), or why there are none."""
    with timings.phase("feedback"):
        try:
            folder = course.generate_feedback(job.lesson, job.student)
            return tuple((path.relative_to(folder).as_posix(), path.read_bytes())
                         for path in sorted(folder.rglob("*")) if path.is_file()), None
        except Exception as error:  # the grade stands without its feedback page
            return (), f"{type(error).__name__}: {error}".strip()[:500]


def _with_other(record: dict[str, float], seconds: float) -> dict[str, float]:
    """``record`` with the worker's remaining seconds (nbgrader's own work) as ``other``."""
    return {**record, "other": max(0.0, seconds - sum(record.values()))}


def _without_annotations(content: bytes) -> bytes:
    """``content`` without grading annotations of its own: notes and review flags come
    from grading only, never from the submitted file."""
    try:
        notebook = json.loads(content)
    except ValueError:
        return content
    metadata = notebook.get("metadata") if isinstance(notebook, dict) else None
    if not isinstance(metadata, dict) or notebooks.ANNOTATIONS_KEY not in metadata:
        return content
    del metadata[notebooks.ANNOTATIONS_KEY]
    return json.dumps(notebook, ensure_ascii=False).encode("utf-8")


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
    #: More paths no kernel may see (the folder the submissions came from, say), checked by
    #: the preflight with the course's own secrets.
    secrets: tuple[Path, ...] = ()
    #: Workers also write each graded submission's feedback page, which the coordinator
    #: saves in the course's feedback folder.
    feedback: bool = False
    #: A Dask scheduler's address: grade on that cluster instead of a local process pool
    #: (:mod:`autograder.dask_grading`).
    scheduler: str | None = None
    #: Shows the run's progress (a progress bar); without one, every result is a line.
    tracker: Tracker | None = None
    #: Graded submissions stored in the gradebook together, in one transaction (or
    #: fewer, when :attr:`batch_seconds` pass first): a commit per submission cost about
    #: half a second, more than a large class's workers leave the coordinator.
    batch_size: int = 32
    batch_seconds: float = 5.0
    #: Per graded submission of the last run: (lesson, seconds per phase).
    timings: list[tuple[str, dict[str, float]]] = field(default_factory=list, init=False)
    #: Graded submissions waiting for their gradebook rows: (job, result, notebook,
    #: annotations, seconds spent on them so far).
    _pending: list[tuple[Job, Result, nbformat.NotebookNode, dict, float]] = field(
        default_factory=list, init=False)
    _pending_since: float = field(default=0.0, init=False)
    _pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)

    @property
    def state_path(self) -> Path:
        return self.course.root / DATA_DIRECTORY / STATE_FILE

    def run(self, submissions: list[Submission],
            progress: Callable[[str], None] = print) -> list[Result]:
        """Grade every submission; return one result per submission (graded, kept or not).

        Raises :class:`RefusedToGrade`, before any grade is written, when the machine
        cannot grade (:func:`autograder.sandbox.preflight`) or a canary does not score
        as it must.
        """
        lessons = sorted({s.lesson for s in submissions if s.lesson})
        if not self.scheduler and lessons:
            self._start_early()
        names = {}
        for lesson in lessons:
            self.course.generate(lesson)
            names[lesson] = Lesson.from_id(lesson).notebook
        state = RunState(self.state_path)
        self.timings = []
        results: list[Result] = []
        jobs: list[Job] = []
        try:
            for submission in submissions:
                if submission.problem or submission.lesson is None:
                    results.append(Result(submission.student, submission.lesson or "?", None,
                                          submission.problem or "unknown lesson", 0.0))
                    continue
                key = f"{submission.student}/{submission.lesson}"
                stored = state.get(key)
                if not self.force and stored.get("digest") == _digest(submission.content):
                    if self.tracker is None:
                        progress(f"  {key}: unchanged since the last run, kept")
                    results.append(Result(submission.student, submission.lesson, None, None,
                                          0.0, tuple(stored.get("notes", ())),
                                          tuple(stored.get("review", ())), kept=True))
                    continue
                jobs.append(self._job(submission.student, submission.lesson,
                                      names[submission.lesson], submission.content,
                                      feedback=self.feedback))
            if jobs:
                results.extend(self._grade(jobs, state, progress))
        finally:
            state.compact()  # also folds in the journal a killed run left
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        return results

    def _start_early(self) -> None:
        """Start what the run will wait for while the coordinator prepares the lessons:
        the worker processes, which import and start fork servers of their own (one of
        them then runs the preflight), or, grading here, this process's fork server. No
        submission runs before the preflight."""
        if self.workers <= 1:
            with contextlib.suppress(Exception):
                fork_server.server()
            return
        # Each worker process has its own sandbox user (see autograder.sandbox.sandbox_uid).
        os.environ.pop(UID_ENV, None)
        forks = bool(self.course.config.SandboxKernelManager.get("fork_server", True))
        with one_thread_per_worker():
            self._pool = ProcessPoolExecutor(self.workers, mp_context=_SPAWN,
                                             initializer=_start_worker)
            for _ in range(self.workers):  # each submission starts one worker now
                self._pool.submit(_warm_worker, forks)

    def _job(self, student: str, lesson: str, notebook_name: str, content: bytes,
             canary: str | None = None, feedback: bool = False) -> Job:
        return Job(student, lesson, notebook_name, content, str(self._source_directory()),
                   dict(self.course.limits if self.limits is None else self.limits), canary,
                   feedback)

    def _grade(self, jobs: list[Job], state: RunState,
               progress: Callable[[str], None]) -> list[Result]:
        """Grade the canaries and ``jobs`` in one pool; store nothing unless the canaries pass.

        Results that arrive before the last canary wait for its verdict. On a Dask
        cluster every worker runs the preflight itself before its first job
        (:mod:`autograder.dask_grading`): the kernels run there, not here.
        """
        problems = [] if self.scheduler else self._preflight()
        if problems:
            raise RefusedToGrade("grading refused: this machine cannot grade safely; nothing "
                                 "was graded or written:\n" + "\n".join(f"  - {p}"
                                                                        for p in problems))
        canaries = [self._job(CANARY_STUDENTS[kind], lesson, name, content, kind)
                    for lesson, name in sorted({(j.lesson, j.notebook_name) for j in jobs})
                    for kind, content in self._canary_contents(lesson, name).items()]
        canary_results: dict[tuple[str, str], Result] = {}
        waiting: list[tuple[Job, Result]] = []
        results: list[Result] = []
        outcomes = self._execute(canaries + jobs, progress)
        if self.tracker is not None:
            self.tracker.start(len(jobs))
        try:
            for job, result in outcomes:
                if job.canary is not None:
                    canary_results[(job.lesson, job.canary)] = result
                    progress(f"  canary {job.lesson} {job.canary}: {_canary_line(result)} "
                             f"({result.seconds:.1f} s)")
                    flags = _canary_flags(result)
                    if flags:
                        progress(f"  WARNING: the lesson's own {job.canary} was flagged for "
                                 f"review, so such flags on submissions may be false alarms: "
                                 f"{'; '.join(flags)[:500]}")
                    if len(canary_results) == len(canaries):
                        _check_canaries(canary_results)
                        for pending in waiting:
                            results.append(self._record(*pending, state, len(results) + 1,
                                                        len(jobs), progress))
                        waiting.clear()
                elif len(canary_results) < len(canaries):
                    waiting.append((job, result))
                else:
                    results.append(self._record(job, result, state, len(results) + 1,
                                                len(jobs), progress))
        finally:
            outcomes.close()  # a refusal cancels every job not started yet
            self._flush(state)  # what was graded before an interruption is kept
        return results

    def _preflight(self) -> list[str]:
        """The preflight's problems, found by a worker of the pool when there is one: its
        fork server, already started, is one of those that will fork the kernels."""
        if self._pool is None:
            return preflight(self._secrets())
        try:
            return self._pool.submit(preflight, self._secrets()).result()
        except Exception as error:
            return [f"the preflight could not run in a grading worker ({type(error).__name__}: "
                    f"{error})"]

    def _secrets(self) -> list[Path]:
        """Paths no kernel may see: the lesson sources, grading data, gradebook, intake."""
        paths = [self._source_directory(), self.course.root / DATA_DIRECTORY, *self.secrets]
        if self.course.db_url.startswith("sqlite:///"):
            paths.append(Path(self.course.db_url.removeprefix("sqlite:///")))
        return [path for path in paths if os.path.lexists(path)]

    def _canary_contents(self, lesson: str, notebook_name: str) -> dict[str, bytes]:
        """The lesson's source notebook and its release, as generated by :meth:`run`."""
        return {"solution": (self._source_directory() / lesson / notebook_name).read_bytes(),
                "release": (self._release_directory() / lesson / notebook_name).read_bytes()}

    def _record(self, job: Job, result: Result, state: RunState, number: int, total: int,
                progress: Callable[[str], None]) -> Result:
        """Store a graded submission, its feedback, digest and annotations; report it.

        The cost does not grow with the class: the state gets one journal line, the
        gradebook one submission's rows.
        """
        result, scores = self._stored(job, result, state)
        if self.tracker is not None:
            self.tracker.advance(result)
        prefix = f"[{number}/{total}] {result.student} {result.lesson}:"
        if result.autograded is None:
            progress(f"{prefix} NOT GRADED: {result.problem}")
            # Kept for `autograder report`; an earlier grade's digest and annotations stay,
            # and the next run grades this submission again (its digest is not stored).
            key = f"{result.student}/{result.lesson}"
            state.record(key, {**state.get(key), "not_graded": str(result.problem)[:500]})
            return result
        flag = f"  REVIEW: {'; '.join(result.review)}" if result.review else ""
        if result.feedback_problem:
            progress(f"{prefix} no feedback page: {result.feedback_problem}")
        if self.tracker is None or flag:
            # The automatic score just stored (reading the gradebook back costs a connection
            # per submission; manual grades show in the summary table).
            score = sum(s for s, _ in scores.values()), sum(m for _, m in scores.values())
            progress(f"{prefix} {score[0]:g}/{score[1]:g} ({result.seconds:.1f} s){flag}")
        return result

    def _stored(self, job: Job, result: Result,
                state: RunState) -> tuple[Result, dict[str, tuple[float, float]]]:
        """``result`` with its annotations, its graded notebook and feedback saved and its
        scores queued for the gradebook (:meth:`_flush`), with its exercises' automatic
        scores; not graded when its notebook cannot be read."""
        if result.autograded is None:
            return result, {}
        started = time.perf_counter()
        try:
            nb = nbformat.reads(result.autograded.decode("utf-8"), as_version=4)
            marks = notebooks.annotations(nb)
        except Exception as error:  # a worker's output the grader cannot read: not graded
            return replace(result, autograded=None,
                           problem=f"the graded notebook cannot be read: {error}"[:500]), {}
        try:
            scores = exercise_scores(nb)
        except ValueError:  # only the progress line shows them; nbgrader stores its own
            scores = {}

        result = replace(result, notes=tuple(marks["notes"]), review=tuple(marks["review"]))
        target = self.course.autograded / result.student / result.lesson / job.notebook_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(result.autograded)
        self._save_feedback(result)
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.append((job, result, nb, marks, time.perf_counter() - started))
        if (len(self._pending) >= self.batch_size
                or time.monotonic() - self._pending_since >= self.batch_seconds):
            self._flush(state)
        return result, scores

    def _flush(self, state: RunState) -> None:
        """Store the queued submissions' scores in the gradebook in one transaction, then
        note each in the state's journal (a submission counts as graded once its scores
        are stored: after a crash, the ones still queued are graded again)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        started = time.perf_counter()
        self.course.save_autograded_many([
            (result.lesson, result.student, Path(job.notebook_name).stem, nb)
            for job, result, nb, _, _ in pending])
        for job, result, _, marks, _ in pending:
            state.record(f"{result.student}/{result.lesson}", {
                "digest": _digest(job.content), "notes": marks["notes"],
                "review": marks["review"]})
        share = (time.perf_counter() - started) / len(pending)
        for _, result, _, _, seconds in pending:
            self.timings.append((result.lesson, {**result.timings, "storage": seconds + share}))

    def _save_feedback(self, result: Result) -> None:
        """Put the feedback the worker wrote where ``autograder feedback`` puts it."""
        if not result.feedback:
            return
        folder = self.course.feedback_directory / result.student / result.lesson
        shutil.rmtree(folder, ignore_errors=True)
        for name, content in result.feedback:
            if ".." in Path(name).parts or Path(name).is_absolute():
                continue  # a worker never sends such a name; never write outside the folder
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)

    def _source_directory(self) -> Path:
        return self._course_directory(self.course.config.CourseDirectory.source_directory)

    def _release_directory(self) -> Path:
        return self._course_directory(self.course.config.CourseDirectory.release_directory)

    def _course_directory(self, configured: str) -> Path:
        path = Path(configured)
        return path if path.is_absolute() else self.course.root / path

    def _execute(self, jobs: list[Job],
                 progress: Callable[[str], None]) -> Iterator[tuple[Job, Result]]:
        """Grade ``jobs`` (canaries first); yield each with its result as it finishes.

        Closing the generator cancels the jobs that have not started.
        """
        lessons = sorted({job.lesson for job in jobs})
        source = str(self._source_directory())
        timeout = int(self.course.config.TrustedExecute.timeout)
        if self.scheduler:
            from autograder import dask_grading

            yield from dask_grading.execute(
                self.scheduler, jobs, grade=self.grade, source=source, lessons=lessons,
                timeout=timeout,
                order=lambda primed: self._prepared(jobs, lessons, primed, progress))
            return
        # The solution canary of a lesson whose programs are not cached yet fills the
        # cache: it runs the instructor's notebook through the grading path anyway.
        cache = compile_cache.cache_dir()
        filled = [compile_cache.filled_seconds(Lesson.from_id(lesson).source_in(source), cache)
                  for lesson in lessons]
        empty = {lesson for lesson, seconds in zip(lessons, filled, strict=True)
                 if cache is not None and seconds is None}
        jobs = [replace(job, fill_cache=True)
                if job.canary == "solution" and job.lesson in empty else job for job in jobs]
        jobs = self._prepared(jobs, lessons, filled, progress)
        if self.workers <= 1 or len(jobs) <= 1:
            _start_worker()
            for job in jobs:
                yield job, self.grade(job)
            return
        # Each worker process has its own sandbox user (see autograder.sandbox.sandbox_uid).
        os.environ.pop(UID_ENV, None)
        prior = {lesson: seconds for lesson, seconds in zip(lessons, filled, strict=True)
                 if isinstance(seconds, float)}
        with one_thread_per_worker():
            yield from self._in_pool(Schedule(jobs, prior))

    def _in_pool(self, schedule: Schedule) -> Iterator[tuple[Job, Result]]:
        """Hand the jobs to the pool's workers as they free up (one queued beyond them),
        the next one chosen by ``schedule`` from what the run has measured so far."""
        early, self._pool = self._pool, None
        orphans: list[Job] = []
        with early or ProcessPoolExecutor(self.workers, mp_context=_SPAWN,
                                          initializer=_start_worker) as pool:
            running: dict[Future, Job] = {}

            def top_up() -> None:
                while schedule and len(running) <= self.workers:
                    job = schedule.take()
                    try:
                        running[pool.submit(self.grade, job)] = job
                    except BrokenProcessPool:  # a worker died: the rest are graded alone
                        orphans.append(job)
                        while schedule:
                            orphans.append(schedule.take())

            try:
                top_up()
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = running.pop(future)
                        try:
                            result = future.result()
                        except BrokenProcessPool:  # every unfinished job comes here
                            orphans.append(job)
                            continue
                        except Exception:
                            result = self._died(job)
                        schedule.finished(job, result.seconds)
                        yield job, result
                    top_up()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        # Which of them killed the worker is unknown: grade each alone, so that only the
        # culprit goes ungraded.
        for job in _canaries_first(orphans):
            with ProcessPoolExecutor(1, mp_context=_SPAWN, initializer=_start_worker) as alone:
                try:
                    result = alone.submit(self.grade, job).result()
                except Exception:
                    result = self._died(job)
            yield job, result

    @staticmethod
    def _died(job: Job) -> Result:
        return Result(job.student, job.lesson, None,
                      "the grading worker died: " + traceback.format_exc(limit=1).strip(), 0.0)

    @staticmethod
    def _prepared(jobs: list[Job], lessons: list[str], primed: list[float | str | None],
                  progress: Callable[[str], None]) -> list[Job]:
        """Report lessons whose cache could not be filled; order the jobs: the canaries
        that fill the cache, the other canaries, then the longest lessons first.

        Starting the longest lessons first keeps both workers busy to the end, instead of
        one worker finishing a long lesson alone.
        """
        cost = {}
        for lesson, outcome in zip(lessons, primed, strict=True):
            if isinstance(outcome, str):
                progress(f"  {lesson}: no compilation cache ({outcome}); grading goes on")
            cost[lesson] = outcome if isinstance(outcome, float) else 0.0
        return sorted(jobs, key=lambda job: (not job.fill_cache, job.canary is None,
                                             -cost[job.lesson]))


class Tracker:
    """Follows a class run: told how many submissions it grades, then each result."""

    def start(self, total: int) -> None:
        """Grading of ``total`` submissions begins (the canaries are not counted)."""

    def advance(self, result: Result) -> None:
        """One submission was graded (or could not be)."""

    def close(self) -> None:
        """The run is over."""


# ----------------------------------------------------------------------------- canaries



def preflight(secrets: list[Path]) -> list[str]:
    """What keeps this machine from grading safely, kernels seeing any of ``secrets``
    included (:func:`autograder.sandbox.preflight`)."""
    return [str(problem) for problem in sandbox.preflight(secrets)]


def exercise_scores(nb: nbformat.NotebookNode) -> dict[str, tuple[float, float]]:
    """(score, max score) of each exercise of a graded notebook, as nbgrader scores its
    test cells (the scores :class:`SaveAutoGrades` stores)."""
    graded = layout(nb)
    scores: dict[str, tuple[float, float]] = {}
    for cell in graded.cells:
        if cell.kind != "tests" or not is_grade(nb.cells[cell.index]):
            continue
        score, max_score = determine_grade(nb.cells[cell.index])
        try:
            exercise = graded.exercise_of(cell.grade_id)
        except ValueError:
            exercise = cell.grade_id
        before = scores.get(exercise, (0.0, 0.0))
        scores[exercise] = (before[0] + float(score or 0), before[1] + float(max_score))
    return scores


def _canary_scores(result: Result) -> dict[str, tuple[float, float]] | None:
    if result.autograded is None:
        return None
    try:
        return exercise_scores(nbformat.reads(result.autograded.decode("utf-8"), as_version=4))
    except Exception:  # unreadable: the canary failed
        return None


def _canary_flags(result: Result) -> list[str]:
    """The review flags grading left on a canary (there should be none)."""
    if _canary_scores(result) is None:
        return []
    nb = nbformat.reads(result.autograded.decode("utf-8"), as_version=4)
    return notebooks.annotations(nb)["review"]


def _canary_line(result: Result) -> str:
    """``3/5: mse 1/1, grad_f 0/1, ...`` or why the canary was not graded."""
    scores = _canary_scores(result)
    if scores is None:
        return f"NOT GRADED: {result.problem or 'the graded notebook cannot be read'}"
    total = sum(s for s, _ in scores.values()), sum(m for _, m in scores.values())
    return f"{total[0]:g}/{total[1]:g}: " + ", ".join(
        f"{exercise} {s:g}/{m:g}" for exercise, (s, m) in scores.items())


def _canary_ok(kind: str, result: Result) -> bool:
    scores = _canary_scores(result)
    if not scores:
        return False
    if kind == "solution":
        return all(score == max_score for score, max_score in scores.values())
    return all(score == 0 for score, _ in scores.values())


def _failed_tests(result: Result) -> list[str]:
    """The error each failing test cell of a graded canary ended with (one line each)."""
    if _canary_scores(result) is None:
        return []
    nb = nbformat.reads(result.autograded.decode("utf-8"), as_version=4)
    lines = []
    for cell in notebooks.graded_cells(nb):
        for error in notebooks.errors(nb.cells[cell.index])[:1] if cell.kind == "tests" else []:
            message = f"{error.get('ename', '')}: {error.get('evalue', '')}".splitlines()
            lines.append(f"{cell.grade_id}: {(message or [''])[0][:200]}")
    return lines


def _check_canaries(results: dict[tuple[str, str], Result]) -> None:
    """Raise :class:`RefusedToGrade` unless every solution scored full marks and every
    release zero."""
    report = []
    for lesson in sorted({lesson for lesson, _ in results}):
        solution, release = results[(lesson, "solution")], results[(lesson, "release")]
        if _canary_ok("solution", solution) and _canary_ok("release", release):
            continue
        report.append(f"{lesson}:")
        report.append(f"  solution (must score full marks): {_canary_line(solution)}")
        report.extend(f"    {line}" for line in _failed_tests(solution)[:10])
        report.append(f"  release (must score zero): {_canary_line(release)}")
    if report:
        raise RefusedToGrade(
            "grading refused: the grading path does not grade the lesson's own notebooks as "
            "it must, so no grade, CSV or feedback was written.\n" + "\n".join(report)
            + "\nCheck: the sandbox (as root, kernels run as users of their own in a private "
            "mount namespace: the checkout, its .venv and the course folder must be readable "
            "by other users, e.g. not inside a 0700 home or mktemp -d folder); the folders' "
            "permissions; the cell and notebook timeouts (too short for the solution?); the "
            "machine's load, when a kernel did not start; and, when the release scores, the "
            "solution markers of the lesson's source notebook.")


def _canaries_first(jobs: list[Job]) -> list[Job]:
    return sorted(jobs, key=lambda job: job.canary is None)


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def lesson_grade_ids(course: Course, lessons: list[str]) -> dict[str, set[str]]:
    """The grade ids of each lesson's source notebook (to recognise renamed submissions)."""
    source = Path(course.config.CourseDirectory.source_directory)
    folder = source if source.is_absolute() else course.root / source
    ids = {}
    for lesson in lessons:
        path = Lesson.from_id(lesson).source_in(folder)
        ids[lesson] = set(layout(notebooks.read(path)).grade_ids)
    return ids
