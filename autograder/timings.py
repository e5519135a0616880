"""Where a notebook's grading time goes: seconds per phase, and a per-lesson breakdown.

Grading code marks its phases with :func:`phase`; a caller that wants the numbers wraps
the work in :func:`recording`, and gets a dict of seconds per phase. Without a recording
a phase costs nothing but a context-variable look-up. Phases do not nest: time spent in a
phase inside another counts for the outer one only (a kernel restart's own start, say, is
counted where it happens, not twice).

The phases of one graded notebook, in order (:data:`PHASES`): starting the sandboxed
kernel, the imports (the recording's own and the notebook's import-only cells), the
other cells, the cells that ran until their timeout (``timeouts``), the replay of the
test cells in the grader, the rest of nbgrader's autograding (``other``: copying, the
gradebook of the worker's scratch course, sanitizing), the feedback page, and storing
the result in the course gradebook (in the coordinator).
"""

from __future__ import annotations

import ast
import contextlib
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

PHASES = ("kernel start", "imports", "cells", "timeouts", "replay", "other", "feedback",
          "storage")


class Phase:
    """The phase a block is timed as; setting :attr:`name` inside the block (a cell that
    turned out to hit its timeout, say) counts the whole block under the new name."""

    def __init__(self, name: str) -> None:
        self.name = name

_RECORD: ContextVar[dict[str, float] | None] = ContextVar("grading_timings", default=None)
_ACTIVE: ContextVar[bool] = ContextVar("grading_phase_active", default=False)


@contextlib.contextmanager
def recording() -> Iterator[dict[str, float]]:
    """Collect the phases timed inside this block into the dict it yields."""
    record: dict[str, float] = {}
    token = _RECORD.set(record)
    try:
        yield record
    finally:
        _RECORD.reset(token)


@contextlib.contextmanager
def phase(name: str) -> Iterator[Phase]:
    """Add the seconds this block takes to phase ``name`` of the current recording (or to
    the name the yielded :class:`Phase` has by the end of the block)."""
    timed = Phase(name)
    record = _RECORD.get()
    if record is None or _ACTIVE.get():
        yield timed
        return
    token = _ACTIVE.set(True)
    started = time.perf_counter()
    try:
        yield timed
    finally:
        record[timed.name] = record.get(timed.name, 0.0) + time.perf_counter() - started
        _ACTIVE.reset(token)


def imports_only(source: str) -> bool:
    """Whether a cell's code does nothing but import (it counts as ``imports``)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(isinstance(node, ast.Import | ast.ImportFrom) for node in body)


def breakdown(records: Iterable[tuple[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean seconds per notebook of each phase, per lesson, from (lesson, record) pairs;
    each lesson's ``notebooks`` is how many records it had."""
    sums: dict[str, dict[str, float]] = {}
    for lesson, record in records:
        total = sums.setdefault(lesson, {"notebooks": 0.0})
        total["notebooks"] += 1
        for name, seconds in record.items():
            total[name] = total.get(name, 0.0) + seconds
    return {lesson: {name: (value if name == "notebooks" else value / total["notebooks"])
                     for name, value in total.items()} for lesson, total in sums.items()}


def table(means: dict[str, dict[str, float]]) -> list[str]:
    """Lines of a table: one row per lesson, one column per phase (mean seconds per
    notebook), then the total."""
    if not means:
        return []
    names = [name for name in PHASES if any(name in row for row in means.values())]
    width = max(len(lesson) for lesson in means)
    header = "lesson".ljust(width) + "  notebooks" + "".join(
        f"  {name:>12}" for name in names) + f"  {'total':>8}"
    lines = [header]
    for lesson in sorted(means):
        row = means[lesson]
        lines.append(lesson.ljust(width) + f"  {int(row['notebooks']):>9}" + "".join(
            f"  {row.get(name, 0.0):>12.2f}" for name in names)
            + f"  {sum(row.get(name, 0.0) for name in names):>8.2f}")
    return lines
