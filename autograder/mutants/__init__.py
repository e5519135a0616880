"""Banks of wrong and of alternative right answers, one module per lesson.

Each ``lesson_NN`` module defines

* ``MUTANTS``: hand-written common mistakes, at least three per graded exercise, each
  labelled with the mistake it stands for and a regular expression that the failing
  check's message must match (the diagnostic must *name* the mistake);
* ``ALTERNATIVES``: other correct ways to write an answer (loops versus vectorised,
  equivalent formulas, tuples versus lists where the contract allows, numerically stable
  variants); each must score full marks.

A bank entry is the full source of the exercise's answer cell. :func:`patched` derives
it from the solution notebook's own answer cell by exact text replacement, so banks stay
short and break loudly (an ``AssertionError``) when a solution changes under them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from autograder import notebooks
from autograder.lessons import lesson as find_lesson


@dataclass(frozen=True)
class Mutant:
    """A wrong answer standing for one common mistake."""

    exercise: str  # grade_id of the answer cell
    mistake: str  # the mistake, in the words a teacher would use
    source: str  # the whole answer cell
    diagnostic: str  # regular expression the failure message must match


@dataclass(frozen=True)
class Alternative:
    """A correct answer written differently from the solution."""

    exercise: str
    description: str
    source: str


@cache
def solution_source(lesson: str, exercise: str) -> str:
    """The answer cell ``exercise`` of ``lesson``'s solution notebook, markers included."""
    found = find_lesson(lesson)
    try:
        index = found.graded.answer(exercise).index
    except KeyError:
        raise KeyError(f"{lesson} has no answer cell {exercise!r}") from None
    return notebooks.read(found.solution).cells[index].source


def patcher(lesson: str):
    """``patched`` with the lesson fixed: ``_p = patcher(LESSON); _p("mse", (old, new))``."""
    def patch(exercise: str, *replacements: tuple[str, str]) -> str:
        return patched(lesson, exercise, *replacements)
    return patch


def patched(lesson: str, exercise: str, *replacements: tuple[str, str]) -> str:
    """The solution's answer cell with each ``(old, new)`` replaced exactly once."""
    source = solution_source(lesson, exercise)
    for old, new in replacements:
        assert source.count(old) == 1, f"{exercise}: {old!r} occurs {source.count(old)} times"
        source = source.replace(old, new)
    return source
