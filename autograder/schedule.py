"""Which job a free worker takes next: the canaries, then the costliest lessons first.

A class run ends when its last job does; once the queue is empty, a worker that has
finished waits for the others. Starting the costliest lessons first leaves the cheap
ones for the end, where they even out the workers' finishing times (the
longest-processing-time-first rule). A class run hands jobs to its workers one at a
time, as they free up, so each choice uses what the run has measured so far.

A lesson's estimated cost, best source first:

1. the median seconds of its submissions graded so far in this run (a median, so that
   a few submissions that ran into their timeout do not make the lesson look long);
2. the seconds its solution canary took (which, when it also filled the compilation
   cache, is more than a submission will take: the lesson still goes early);
3. the seconds the lesson ran when the cache was filled for it (``prior``);
4. nothing known: zero.

The canaries go first, in the order given (the ones that fill the cache, then the other
solutions, then the releases). A lesson whose cache-filling canary is still running is
held back while other lessons have work: its submissions would compile what the canary
is about to store. Jobs of one lesson keep their given order.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Protocol

#: Durations kept per lesson for its median (the most recent ones).
_KEPT = 31


class Schedulable(Protocol):
    lesson: str
    canary: str | None
    fill_cache: bool


class Schedule:
    """The jobs not handed out yet; :meth:`take` the next, report it :meth:`finished`."""

    def __init__(self, jobs: Iterable[Schedulable], prior: Mapping[str, float] = ()) -> None:
        self._canaries: deque[Schedulable] = deque()
        self._lessons: dict[str, deque[Schedulable]] = {}
        for job in jobs:
            if job.canary is not None:
                self._canaries.append(job)
            else:
                self._lessons.setdefault(job.lesson, deque()).append(job)
        self._prior = dict(prior)
        self._canary_seconds: dict[str, float] = {}
        self._seconds: dict[str, deque[float]] = {}
        self._filling: set[str] = set()

    def __len__(self) -> int:
        return len(self._canaries) + sum(len(queue) for queue in self._lessons.values())

    def estimate(self, lesson: str) -> float:
        """The lesson's estimated seconds per submission (see the module's docstring)."""
        if self._seconds.get(lesson):
            return statistics.median(self._seconds[lesson])
        if lesson in self._canary_seconds:
            return self._canary_seconds[lesson]
        return self._prior.get(lesson, 0.0)

    def take(self) -> Schedulable:
        """The job to start next (raises IndexError when none is left)."""
        if self._canaries:
            job = self._canaries.popleft()
            if job.fill_cache:
                self._filling.add(job.lesson)
            return job
        if not self._lessons:
            raise IndexError("no job left")
        _, lesson = min(enumerate(self._lessons), key=lambda item: (  # given order: ties
            item[1] in self._filling, -self.estimate(item[1]), item[0]))
        queue = self._lessons[lesson]
        job = queue.popleft()
        if not queue:
            del self._lessons[lesson]
        return job

    def finished(self, job: Schedulable, seconds: float) -> None:
        """``job`` took ``seconds`` (to grade, or until it failed)."""
        if job.canary is None:
            self._seconds.setdefault(job.lesson, deque(maxlen=_KEPT)).append(seconds)
            return
        if job.fill_cache:
            self._filling.discard(job.lesson)
        if job.canary == "solution":
            self._canary_seconds[job.lesson] = seconds
