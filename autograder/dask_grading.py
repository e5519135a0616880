"""Grade a class's jobs on a Dask distributed cluster (``autograder grade --scheduler``).

The coordinator (:class:`autograder.classgrade.ClassRun`) stays where it is: it makes
the jobs, checks the canaries and writes the gradebook, the state, the feedback pages
and the CSV. Only :func:`autograder.classgrade.grade_job` runs on the cluster, one task
per job, submitted with ``pure=False`` (two identical submissions are two tasks, never
merged into one) and ``retries`` (a task whose worker was lost is run again elsewhere by
the scheduler; one that keeps killing workers ends as "the grading worker died").

Every worker prepares itself before its first job (:func:`grade_on_worker`): it must
run one thread (the kernels of one process share a sandbox user, so two at once could
signal each other), it gets a sandbox user of its own, and it runs the sandbox's
preflight; a worker that cannot grade safely answers every job with the reason, so a
broken node costs loud "not graded" rows (or a refusal, when a canary lands there),
never silent zeros. Before the jobs, each lesson's compilation cache is filled once per
worker host (:func:`autograder.compile_cache.prime`).

Workers must hold the course at the coordinator's paths (the same image, see the
README's scaling section): a job names the lesson sources by path.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from autograder import classgrade, compile_cache, sandbox

#: Times a task is run again after an error or a lost worker.
RETRIES = 2
#: Seconds to wait for the cluster's first worker.
WORKER_WAIT = 300

#: This worker process's verdict on itself: None until its first job, then the reason it
#: cannot grade ("" when it can).
_READY: dict[str, str] = {}


def _threads() -> int:
    """Threads of the Dask worker this code runs in (1 outside a worker)."""
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return 1


def _prepare(source_directory: str) -> str:
    """Make this worker process ready to grade; return why it cannot ("" when it can)."""
    if "verdict" in _READY:
        return _READY["verdict"]
    problems = []
    threads = _threads()
    if threads != 1:
        problems.append(f"this Dask worker runs {threads} threads; start workers with one "
                        "thread each (--nthreads 1), since the kernels of one worker process "
                        "share a sandbox user")
    if not os.path.isdir(source_directory):
        problems.append(f"this worker has no lesson sources at {source_directory}: run the "
                        "workers from the coordinator's course image, at the same path")
    if not problems:
        os.environ.pop(sandbox.UID_ENV, None)  # kernels run as a user of this process's own
        problems = classgrade.preflight([p for p in (source_directory,) if os.path.exists(p)])
        compile_cache.use_in_this_process(compile_cache.cache_dir())
    _READY["verdict"] = "; ".join(problems)
    return _READY["verdict"]


def grade_on_worker(grade: Callable[[classgrade.Job], classgrade.Result],
                    job: classgrade.Job) -> classgrade.Result:
    """Run on a worker: prepare it once, then ``grade(job)``."""
    problem = _prepare(job.source_directory)
    if problem:
        return classgrade.Result(job.student, job.lesson, None,
                                 f"this grading worker cannot grade safely: {problem}", 0.0)
    return grade(job)


def prime_on_worker(source_directory: str, lesson: str, timeout: int) -> float | str | None:
    """Run on a worker: fill its host's compilation cache for ``lesson``."""
    if _prepare(source_directory):
        return None  # the jobs sent here will say why
    return classgrade.prime_lesson(source_directory, lesson, timeout)


def _one_worker_per_host(client: Any) -> list[str]:
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]  # all of them (2025.x on)
    except TypeError:
        workers = client.scheduler_info()["workers"]
    by_host: dict[str, str] = {}
    for address, info in sorted(workers.items()):
        by_host.setdefault(str(info.get("host", address)), address)
    return list(by_host.values())


def _primed(client: Any, source: str, lessons: list[str],
            timeout: int) -> list[float | str | None]:
    """Each lesson's cost (the longest any host measured) or what went wrong, filling every
    worker host's compilation cache."""
    hosts = _one_worker_per_host(client)
    futures = {(lesson, host): client.submit(
        prime_on_worker, source, lesson, timeout, workers=[host], allow_other_workers=False,
        pure=False, key=f"prime-{lesson}-{uuid.uuid4().hex}") for lesson in lessons
        for host in hosts}
    outcomes: list[float | str | None] = []
    for lesson in lessons:
        found = [_outcome(futures[(lesson, host)]) for host in hosts]
        problems = [f for f in found if isinstance(f, str)]
        seconds = [f for f in found if isinstance(f, float)]
        outcomes.append(problems[0] if problems else (max(seconds) if seconds else None))
    return outcomes


def _outcome(future: Any) -> float | str | None:
    try:
        return future.result()
    except Exception as error:  # a worker lost while priming: grading goes on, only slower
        return f"{type(error).__name__}: {error}"[:500]


def connect(address: str) -> Any:
    """A client of the scheduler at ``address`` with at least one worker, or
    :class:`~autograder.classgrade.RefusedToGrade` saying why not."""
    from distributed import Client

    try:
        client = Client(address, set_as_default=False)
    except Exception as error:
        raise classgrade.RefusedToGrade(
            f"grading refused: the Dask scheduler at {address} cannot be reached "
            f"({type(error).__name__}: {error}); nothing was graded or written") from error
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except Exception as error:
        client.close()
        raise classgrade.RefusedToGrade(
            f"grading refused: the Dask scheduler at {address} has no worker after "
            f"{WORKER_WAIT} s; nothing was graded or written") from error
    return client


def execute(address: str, jobs: list[classgrade.Job], *,
            grade: Callable[[classgrade.Job], classgrade.Result], source: str,
            lessons: list[str], timeout: int,
            order: Callable[[list[float | str | None]], list[classgrade.Job]],
            retries: int = RETRIES) -> Iterator[tuple[classgrade.Job, classgrade.Result]]:
    """Grade ``jobs`` on the cluster at ``address``; yield each with its result as it
    finishes. ``order`` sorts them (canaries first) from each lesson's priming outcome.

    Closing the generator cancels every job not finished yet.
    """
    from distributed import as_completed

    client = connect(address)
    #: The jobs not finished yet, by task key (a finished one is dropped, so that the
    #: cluster forgets its result once it is stored).
    live: dict[str, tuple[classgrade.Job, Any]] = {}
    try:
        ordered = order(_primed(client, source, lessons, timeout))
        run = uuid.uuid4().hex
        for position, job in enumerate(ordered):
            future = client.submit(grade_on_worker, grade, job, pure=False, retries=retries,
                                   priority=len(ordered) - position,
                                   key=f"grade-{run}-{position}")
            live[future.key] = (job, future)
        finished = as_completed([future for _, future in live.values()], loop=client.loop)
        for future in finished:
            job, _ = live.pop(future.key)
            try:
                result = future.result()
            except Exception as error:  # the task kept failing or killing its worker
                result = classgrade.Result(
                    job.student, job.lesson, None,
                    f"the grading worker died: {type(error).__name__}: {error}"[:2_000], 0.0)
            future.release()
            yield job, result
        del finished
    finally:
        if live:
            client.cancel([future for _, future in live.values()])
        client.close()
