"""What an instructor sees of a class run: a bar only on a terminal, and the summary."""

from __future__ import annotations

import io

from autograder import run_progress
from autograder.classgrade import Result


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _results() -> list[Result]:
    return [Result("1001", "01", b"{}", None, 2.0, review=("reads frames",)),
            Result("1002", "01", b"{}", None, 3.0),
            Result("1003", "01", None, None, 0.0, kept=True),
            Result("1004", "01", None, "the file is empty", 0.0),
            Result("1005", "01", None, "the file is empty", 0.0),
            Result("1006", "01", None, "the grading worker died: KilledWorker\nmore", 0.0)]


def test_a_bar_is_drawn_only_on_a_terminal():
    assert run_progress.terminal_tracker(io.StringIO()) is None
    screen = Terminal()
    tracker = run_progress.terminal_tracker(screen)
    assert tracker is not None
    tracker.start(6)
    for result in _results():
        tracker.advance(result)
    tracker.close()
    drawn = screen.getvalue()
    assert "6/6" in drawn and "not_graded=3" in drawn and "review=1" in drawn


def test_the_summary_counts_and_groups_the_reasons():
    lines = run_progress.summary(_results(), 10.0)
    assert lines[0] == ("summary: 2 graded, 1 kept, 3 not graded, 1 flagged for review, "
                        "in 10.0 s, 5.0 s of the run per graded notebook")
    assert lines[1] == "  not graded (2): the file is empty"
    assert lines[2] == "  not graded (1): the grading worker died: KilledWorker"
    assert run_progress.breakdown([]) == []
    table = run_progress.breakdown([("01", {"cells": 1.0, "storage": 0.5})])
    assert table[0].startswith("where the time goes") and table[2].split()[-1] == "1.50"
