"""Machinery of the lesson 09 checkers: success lines, a stub, properties, the XOR data, replay.

Right and wrong answers are the lesson's bank (``autograder/mutants/lesson_09.py``), run
by ``tests/test_mutant_banks.py``; these tests use the solution's answers and, for replay,
answers taken from the bank.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.mutants.inprocess import bank_answer, solution
from course.checking import CheckFailed
from course.checks.neural_network import (
    XOR_X,
    XOR_Y,
    check_mlp_backward,
    check_mlp_forward,
    check_train_xor,
)

LESSON = "09-neural-network"
FAST = {"trials": 7}
HYPOTHESIS = settings(max_examples=10)


def answer(name: str):
    """The solution notebook's ``name``."""
    return solution(LESSON, name)


def test_right_answers_print_their_success_lines(capsys):
    check_mlp_forward(answer("mlp_forward"), **FAST)
    check_mlp_backward(answer("mlp_backward"), **FAST)
    check_train_xor(answer("train_xor"), seeds=(0,))
    out = capsys.readouterr().out
    assert "✓ mlp_forward" in out and "✓ mlp_backward" in out
    assert "all four XOR points" in out


def test_forward_not_implemented_is_friendly():
    def stub(params, X):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_mlp_forward(stub)


@HYPOTHESIS
@given(st.floats(1e-6, 0.5))
def test_forward_rejects_perturbations(eps):
    right = answer("mlp_forward")
    with pytest.raises(CheckFailed, match="is wrong"):
        check_mlp_forward(lambda params, X: right(params, X) * (1 + eps), **FAST)


@HYPOTHESIS
@given(st.floats(-1e-13, 1e-13))
def test_forward_accepts_round_off(eps):
    right = answer("mlp_forward")
    check_mlp_forward(lambda params, X: right(params, X) * (1 + eps), **FAST)


@HYPOTHESIS
@given(st.floats(1e-6, 1.0), st.integers(0, 3))
def test_backward_rejects_perturbations(eps, which):
    right = answer("mlp_backward")

    def student(params, X, y):
        flat = [g for pair in right(params, X, y) for g in pair]
        flat[which] = flat[which] * (1 + eps)
        return [(flat[0], flat[1]), (flat[2], flat[3])]

    with pytest.raises(CheckFailed, match="is wrong"):
        check_mlp_backward(student, **FAST)


@HYPOTHESIS
@given(st.floats(-1e-13, 1e-13))
def test_backward_accepts_round_off(eps):
    right = answer("mlp_backward")

    def student(params, X, y):
        return [tuple(g * (1 + eps) for g in pair) for pair in right(params, X, y)]

    check_mlp_backward(student, **FAST)


def test_xor_data():
    assert XOR_X.shape == (4, 2)
    assert np.array_equal(XOR_Y, np.logical_xor(XOR_X[:, 0], XOR_X[:, 1]).astype(float))


# ------------------------------------------------------------------ record and replay


def _record_then_replay(checker, student, path, **kwargs):
    """Record a check as the grading kernel does, replay it as the grader does."""
    from course.recording import record_then_replay

    return list(record_then_replay(checker, student, log=path / "record.jsonl", **kwargs))


CHECKERS = {"mlp_forward": check_mlp_forward, "mlp_backward": check_mlp_backward,
            "train_xor": check_train_xor}

#: (exercise, words, keyword arguments): the solution's answer when words is None, else the
#: answer of the bank entry whose mistake contains words.
REPLAYED = [
    ("mlp_forward", None, FAST),
    ("mlp_forward", "X modified in place", FAST),
    ("mlp_forward", "ReLU in the hidden layer", FAST),
    ("mlp_backward", None, FAST),
    ("mlp_backward", "W1 updated in place", FAST),
    ("mlp_backward", "appended to the caller's list params", FAST),
    ("mlp_backward", "y turned into a column in place", FAST),
    ("mlp_backward", "extra sigmoid' factor", FAST),
    ("mlp_backward", "(n, n) broadcast", FAST),
    ("mlp_backward", "jax.grad", FAST),
    ("train_xor", None, {"seeds": (0, 1)}),
    ("train_xor", "unseeded generator", {}),
    ("train_xor", "seed ignored", {"seeds": (0, 1)}),
]


@pytest.mark.parametrize(("exercise", "words", "kwargs"), REPLAYED,
                         ids=[f"{e}: {w or 'solution'}" for e, w, _ in REPLAYED])
def test_replay_reaches_the_same_verdict(exercise, words, kwargs, tmp_path):
    student = answer(exercise) if words is None else bank_answer(LESSON, exercise, words)
    live, replayed = _record_then_replay(CHECKERS[exercise], student, tmp_path, **kwargs)
    if words == "jax.grad" and live is not None:
        # A library answer to a by-hand exercise: grading's replay fails it with the
        # by-hand rule's own message, the recording run with the checker's.
        assert replayed is not None
        return
    assert live == replayed
