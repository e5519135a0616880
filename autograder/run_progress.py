"""What an instructor sees of a class run: a progress bar, the summary, the time breakdown.

The bar (tqdm, with an ETA) is drawn only on a terminal (:func:`terminal_tracker`);
in CI logs, nbgrader test cells or a file, a run prints plain lines as it always did.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from autograder import timings
from autograder.classgrade import Result, Tracker


class BarTracker(Tracker):
    """A tqdm progress bar of the submissions graded, on ``stream``; lines printed through
    :meth:`write` appear above it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.bar = None
        self.problems = 0
        self.review = 0

    def start(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, file=self.stream, unit="notebook", dynamic_ncols=True,
                        smoothing=0.05, desc="grading")

    def advance(self, result: Result) -> None:
        self.problems += result.problem is not None
        self.review += bool(result.review)
        if self.bar is not None:
            self.bar.set_postfix(not_graded=self.problems, review=self.review, refresh=False)
            self.bar.update(1)

    def write(self, line: str) -> None:
        """Print ``line`` on standard output without breaking the bar."""
        from tqdm import tqdm

        tqdm.write(line, file=sys.stdout)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def terminal_tracker(stream: TextIO = sys.stderr) -> BarTracker | None:
    """A progress bar on ``stream`` when it is a terminal, else None (plain lines)."""
    isatty = getattr(stream, "isatty", None)
    return BarTracker(stream) if isatty is not None and isatty() else None


def summary(results: Sequence[Result], seconds: float) -> list[str]:
    """The run in a few lines: graded, kept, not graded (with the reasons, most common
    first), flagged for review, and the time."""
    graded = [r for r in results if r.autograded is not None]
    kept = [r for r in results if r.kept]
    not_graded = [r for r in results if r.problem is not None]
    review = [r for r in results if r.review]
    per_notebook = (f", {seconds / len(graded):.1f} s of the run per graded notebook"
                    if graded else "")
    lines = [f"summary: {len(graded)} graded, {len(kept)} kept, {len(not_graded)} not graded, "
             f"{len(review)} flagged for review, in {seconds:.1f} s{per_notebook}"]
    reasons = Counter(_reason(r.problem or "") for r in not_graded)
    for reason, count in reasons.most_common(10):
        lines.append(f"  not graded ({count}): {reason}")
    if len(reasons) > 10:
        lines.append(f"  ... and {len(reasons) - 10} other reasons (see the list above)")
    return lines


def _reason(problem: str) -> str:
    """A problem's first line, shortened, so that alike problems count together."""
    first = (problem.strip().splitlines() or [""])[0]
    return first if len(first) <= 100 else first[:97] + "..."


def breakdown(records: Sequence[tuple[str, dict[str, float]]]) -> list[str]:
    """Where the time went: the mean seconds per notebook of each phase, per lesson."""
    table = timings.table(timings.breakdown(records))
    if not table:
        return []
    return ["where the time goes (mean seconds per graded notebook):", *table]
