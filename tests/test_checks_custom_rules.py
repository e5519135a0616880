"""Machinery of the lesson-11 checkers: success lines, saved residuals, properties, stubs,
`ready`, and record-then-replay.

Right and wrong answers are the lesson's bank (``autograder/mutants/lesson_11.py``), run
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
from course.checks.custom_rules import (
    check_checkpointed_chain,
    check_clip_gradient,
    check_fixed_point_grad,
    check_ridge_hypergrad,
    check_safe_norm,
    check_softplus,
    check_straight_through_round,
    ready,
    saved_residuals,
)
from course.oracle import jnp

LESSON = "11-custom-rules"
PROPERTY = settings(max_examples=6)
FAST = {"trials": 1}
CHECKS = {
    "safe_norm": check_safe_norm,
    "softplus": check_softplus,
    "clip_gradient": check_clip_gradient,
    "straight_through_round": check_straight_through_round,
    "checkpointed_chain": check_checkpointed_chain,
    "fixed_point_grad": check_fixed_point_grad,
    "ridge_hypergrad": check_ridge_hypergrad,
}


def answer(name: str):
    """The solution notebook's ``name``."""
    return solution(LESSON, name)


def test_right_answers_print_one_line_each(capsys):
    for name, check in CHECKS.items():
        check(answer(name), **FAST)
    out = capsys.readouterr().out
    for name in CHECKS:
        assert out.count(f"✓ {name}") == 1


def test_saved_residuals_lists_one_activation_per_boundary():
    chain = answer("checkpointed_chain")

    def layer(p, x):
        return jnp.tanh(p * x)

    params = [np.full(3, 0.5 + i) for i in range(8)]

    def loss(ps, x):
        return jnp.sum(chain(layer, ps, x, 2))

    computed = [r for r in saved_residuals(loss, params, np.ones(3))
                if not r[1].startswith("from the argument")]
    assert len(computed) == 3 and all(shape == (3,) for shape, _ in computed)


@PROPERTY
@given(rel=st.floats(1e-5, 1e-2), sign=st.sampled_from([-1.0, 1.0]))
def test_ridge_hypergrad_small_errors_are_rejected(rel, sign):
    right = answer("ridge_hypergrad")
    with pytest.raises(CheckFailed, match="is wrong"):
        check_ridge_hypergrad(lambda *a: right(*a) * (1 + sign * rel), trials=0)


@PROPERTY
@given(rel=st.floats(0.0, 1e-10))
def test_ridge_hypergrad_round_off_is_accepted(rel):
    right = answer("ridge_hypergrad")
    check_ridge_hypergrad(lambda *a: right(*a) * (1 + rel), trials=0)


@PROPERTY
@given(rel=st.floats(1e-6, 1e-2))
def test_fixed_point_grad_small_errors_are_rejected(rel):
    right = answer("fixed_point_grad")

    def perturbed(g, x_star, theta):
        return right(g, x_star, theta) * (1 + rel)

    with pytest.raises(CheckFailed, match="is wrong"):
        check_fixed_point_grad(perturbed, trials=0)


def test_stubs_say_not_implemented():
    def stub(*args):
        raise NotImplementedError()

    for check in CHECKS.values():
        with pytest.raises(CheckFailed, match="not implemented yet"):
            check(stub)


def test_ready_runs_the_visible_check_once(capsys):
    right = answer("straight_through_round")
    assert ready(right, "straight_through_round")
    assert ready(right, "straight_through_round")

    def stub(x):
        raise NotImplementedError()

    assert not ready(stub, "straight_through_round")
    out = capsys.readouterr().out
    assert out.count("Finish the exercise `straight_through_round`") == 1
    assert "✓" not in out


#: (exercise, words): the solution's answer when words is None, else the answer of the
#: bank entry whose mistake contains words.
REPLAYED = [
    ("softplus", None),
    ("softplus", "rule sigmoid(-x)"),
    ("clip_gradient", None),
    ("clip_gradient", "the backward pass does not clip"),
    ("straight_through_round", "returns 0"),
    ("safe_norm", "a single where"),
    ("checkpointed_chain", None),
    ("checkpointed_chain", "no checkpoint at all"),
    ("fixed_point_grad", None),
    ("fixed_point_grad", "unrolled Python loop"),
    ("ridge_hypergrad", None),
    ("ridge_hypergrad", "sign of dw*/dlam flipped"),
]


@pytest.mark.parametrize(("exercise", "words"), REPLAYED,
                         ids=[f"{e}: {w or 'solution'}" for e, w in REPLAYED])
def test_checks_replay_to_the_same_verdict(tmp_path, exercise, words):
    from course.recording import record_then_replay

    student = answer(exercise) if words is None else bank_answer(LESSON, exercise, words)
    live, replayed = record_then_replay(CHECKS[exercise], student,
                                        log=tmp_path / "log.jsonl", trials=1)
    assert live == replayed
    assert (live is None) == (words is None)
