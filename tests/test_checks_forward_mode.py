"""Machinery of the lesson 04 checkers: a stub, properties, functions judged apart from a
broken arithmetic, and record-then-replay.

Right and wrong answers are the lesson's bank (``autograder/mutants/lesson_04.py``), run
by ``tests/test_mutant_banks.py``; these tests use the solution's answers and, where a
test needs a wrong answer, one from the bank.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.mutants import Mutant, patched, solution_source
from autograder.mutants import lesson_04 as bank
from autograder.mutants.inprocess import bank_entry, namespace_with, solution
from course.checking import CheckFailed
from course.checks.forward_mode import (
    check_derivative,
    check_dual_functions,
    check_dual_ops,
    check_forward_gradient,
)

LESSON = "04-forward-mode"
HYPOTHESIS = settings(max_examples=8)
FUNCTIONS = ("sin", "cos", "exp", "log", "tanh")


def answer(name: str):
    """The solution notebook's ``name``."""
    return solution(LESSON, name)


def _variant(name: str, **methods) -> type:
    return type(name, (answer("Dual"),), methods)


def test_dual_ops_stub_is_not_implemented():
    def stub(self, other):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_dual_ops(_variant("Stub", __add__=stub))


@HYPOTHESIS
@given(seed=st.integers(0, 10_000))
def test_dual_ops_random_seeds_accept_the_solution(seed):
    check_dual_ops(answer("Dual"), seed=seed, trials=3, expressions=10)


def _dual_with_scaled_product(factor: float, offset: float) -> type:
    """The solution's Dual with the product rule's derivative times factor, plus offset."""
    source = patched(LESSON, "dual_ops",
                     ("self.value * other.deriv + self.deriv * other.value)",
                      "(self.value * other.deriv + self.deriv * other.value) * FACTOR + OFFSET)"))
    return namespace_with(LESSON, f"FACTOR, OFFSET = {factor!r}, {offset!r}\n{source}")["Dual"]


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-6, 1e-2))
def test_dual_ops_rejects_perturbations_beyond_tolerance(seed, scale):
    with pytest.raises(CheckFailed, match="product rule"):
        check_dual_ops(_dual_with_scaled_product(1 + scale, scale), seed=seed, trials=3,
                       expressions=5)


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), scale=st.floats(-1e-13, 1e-13))
def test_dual_ops_accepts_round_off(seed, scale):
    check_dual_ops(_dual_with_scaled_product(1 + scale, 0.0), seed=seed, trials=3,
                   expressions=5)


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-6, 1.0))
def test_derivative_rejects_perturbations(seed, scale):
    right = answer("derivative")
    with pytest.raises(CheckFailed, match="is wrong"):
        check_derivative(lambda f, x: right(f, x) * (1 + scale) + scale, seed=seed, trials=3)


def _broken_arithmetic() -> dict:
    """The solution's functions on a Dual whose __rsub__ is wrong (a bank mutant)."""
    rsub = bank_entry(LESSON, "dual_ops", "__rsub__ computes self - other").source
    return namespace_with(LESSON, rsub, solution_source(LESSON, "dual_functions"))


def test_dual_functions_do_not_depend_on_broken_arithmetic(capsys):
    """Correct functions pass even when the Dual's arithmetic is still wrong."""
    namespace = _broken_arithmetic()
    check_dual_functions(*(namespace[name] for name in FUNCTIONS), Dual=namespace["Dual"])
    out = capsys.readouterr().out
    assert "tried once dual_ops passes" in out


def test_right_answers_print_their_success_lines(capsys):
    check_dual_ops(answer("Dual"), trials=2, expressions=6)
    check_dual_functions(*(answer(name) for name in FUNCTIONS), Dual=answer("Dual"))
    check_derivative(answer("derivative"), trials=3)
    check_forward_gradient(answer("forward_gradient"), trials=2)
    out = capsys.readouterr().out
    for name in ("dual_ops", "dual_functions", "derivative", "forward_gradient"):
        assert f"✓ {name}" in out
    assert "course's test functions with your Dual arithmetic" in out


# ------------------------------------------------------------ grading: record, then replay
#
# In grading, the kernel records every answer and the grader replays the test cell with
# inert answers (see course.recording). A replay-safe checker reaches the same verdict,
# with the same message, both times.


def _dual_functions_check(sin, cos, exp, log, tanh, Dual, **kwargs):
    """check_dual_functions with the Dual class positional, so that replay makes it inert too."""
    check_dual_functions(sin, cos, exp, log, tanh, Dual=Dual, **kwargs)


def _stub(*args):
    raise NotImplementedError()


_FAST_OPS = {"trials": 2, "expressions": 6}
_FAST = {"trials": 2}

#: (exercise, words): the solution's answer when words is None, else the bank entry's.
REPLAYED = [
    ("dual_ops", None),
    ("dual_ops", "negation and a reciprocal"),
    ("dual_ops", "sum rule multiplies"),
    ("dual_ops", "__radd__ not defined"),
    ("dual_ops", "__rsub__ computes self - other"),
    ("dual_ops", "__mul__ returns a tuple"),
    ("dual_ops", "isinstance(other, float)"),
    ("dual_ops", "a Dual exponent not handled"),
    ("dual_ops", "__add__ updates self in place"),
    ("dual_ops", "default deriv=1.0"),
    ("dual_ops", "x * x shortcut"),
    ("dual_functions", None),
    ("dual_functions", "numpy's functions"),
    ("dual_functions", "sin without the chain rule"),
    ("dual_functions", "sin forgets to multiply"),
    ("dual_functions", "a float is lifted to a Dual"),
    ("dual_functions", "0-d numpy array"),
    ("dual_functions", "tanh of a Dual returns"),
    ("dual_functions", "sin overwrites its argument"),
    ("derivative", None),
    *(("derivative", m.mistake) for m in bank.MUTANTS if m.exercise == "derivative"),
    ("forward_gradient", None),
    ("forward_gradient", "rows of the identity"),
    *(("forward_gradient", m.mistake) for m in bank.MUTANTS
      if m.exercise == "forward_gradient"),
]


def _replay_case(exercise: str, words: str | None):
    """(check, answers, keyword arguments, diagnostic or None) for one replayed answer."""
    if words is None:
        namespace, diagnostic = namespace_with(LESSON), None
    else:
        entry = bank_entry(LESSON, exercise, words)
        namespace = namespace_with(LESSON, entry.source)
        diagnostic = entry.diagnostic if isinstance(entry, Mutant) else None
    if exercise == "dual_ops":
        return check_dual_ops, (namespace["Dual"],), _FAST_OPS, diagnostic
    if exercise == "dual_functions":
        answers = (*(namespace[name] for name in FUNCTIONS), namespace["Dual"])
        return _dual_functions_check, answers, _FAST, diagnostic
    if exercise == "derivative":
        return check_derivative, (namespace[exercise],), {"trials": 3}, diagnostic
    return check_forward_gradient, (namespace[exercise],), _FAST, diagnostic


@pytest.mark.parametrize(("exercise", "words"), REPLAYED,
                         ids=[f"{e}: {w or 'solution'}" for e, w in REPLAYED])
def test_checks_replay_to_the_same_verdict(exercise, words, tmp_path):
    from course.recording import record_then_replay

    check, answers, kwargs, diagnostic = _replay_case(exercise, words)
    live, replayed = record_then_replay(check, *answers, log=tmp_path / "log.jsonl", **kwargs)
    assert live == replayed
    if diagnostic is None:
        assert live is None
    else:
        assert live is not None
        assert re.search(diagnostic, live)


def test_a_stubbed_function_replays_as_not_implemented(tmp_path):
    from course.recording import record_then_replay

    answers = (*(_stub if name == "cos" else answer(name) for name in FUNCTIONS),
               answer("Dual"))
    live, replayed = record_then_replay(_dual_functions_check, *answers,
                                        log=tmp_path / "log.jsonl", **_FAST)
    assert live == replayed
    assert live is not None and "not implemented yet" in live
