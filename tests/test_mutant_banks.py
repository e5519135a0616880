"""Each lesson's bank of right and wrong answers, run against the lesson's checks in-process.

One bank per lesson (``autograder/mutants/lesson_NN.py``) is the only list of known
mistakes and alternative right answers: every mutant fails its exercise's visible or
hidden checks with a message matching its diagnostic, every alternative passes them all,
and every exercise has at least three mutants and one alternative. Select one lesson's
bank with ``-k 01-derivatives``; ``tests/test_checks_*.py`` test the checkers' machinery
and properties only.
"""

from __future__ import annotations

import importlib
import re

import pytest

from autograder.lessons import all_lessons
from autograder.lessons import lesson as find_lesson
from autograder.mutants import Mutant
from autograder.mutants.inprocess import run_entry

MODULES = [importlib.import_module(found.bank) for found in all_lessons()]
MUTANTS = [(m.LESSON, entry) for m in MODULES for entry in m.MUTANTS]
ALTERNATIVES = [(m.LESSON, entry) for m in MODULES for entry in m.ALTERNATIVES]


@pytest.mark.parametrize(("lesson", "mutant"), MUTANTS,
                         ids=[f"{lesson}/{m.exercise}: {m.mistake}" for lesson, m in MUTANTS])
def test_mutant_is_killed_and_named(lesson: str, mutant: Mutant) -> None:
    message = run_entry(lesson, mutant.exercise, mutant.source)
    assert message is not None, f"survived: {mutant.mistake}"
    assert re.search(mutant.diagnostic, message), (
        f"killed, but the message does not name the mistake ({mutant.diagnostic!r}):\n{message}")


@pytest.mark.parametrize(("lesson", "alternative"), ALTERNATIVES,
                         ids=[f"{lesson}/{a.exercise}: {a.description}"
                              for lesson, a in ALTERNATIVES])
def test_alternative_answer_passes(lesson, alternative):
    message = run_entry(lesson, alternative.exercise, alternative.source)
    assert message is None, f"{alternative.description} fails:\n{message}"


@pytest.mark.parametrize("module", MODULES, ids=[m.LESSON for m in MODULES])
def test_every_exercise_has_three_mutants_and_an_alternative(module):
    exercises = find_lesson(module.LESSON).graded.answers
    for exercise in exercises:
        assert sum(m.exercise == exercise for m in module.MUTANTS) >= 3, exercise
        assert any(a.exercise == exercise for a in module.ALTERNATIVES), exercise
