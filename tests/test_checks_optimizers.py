"""Machinery of the lesson-08 checkers: message layout, quiet output, properties.

Right and wrong answers are the lesson's bank (``autograder/mutants/lesson_08.py``), run
by ``tests/test_mutant_banks.py``; these tests use the solution's own optimizer steps.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.mutants.inprocess import bank_answer, solution
from course.checking import CheckFailed
from course.checks.optimizers import (
    check_adadelta_step,
    check_adagrad_step,
    check_adam_step,
    check_momentum_step,
    check_nesterov_step,
    check_rmsprop_step,
)

LESSON = "08-optimizers"
FAST = {"trials": 3, "random_starts": 1, "steps": 20}
PROPERTY = settings(max_examples=8)

CHECKS = {
    "momentum_step": check_momentum_step,
    "nesterov_step": check_nesterov_step,
    "adagrad_step": check_adagrad_step,
    "rmsprop_step": check_rmsprop_step,
    "adadelta_step": check_adadelta_step,
    "adam_step": check_adam_step,
}


def answer(name: str):
    """The solution notebook's ``name``."""
    return solution(LESSON, name)


@pytest.mark.parametrize("name", CHECKS)
def test_a_right_answer_prints_one_line_and_nothing_on_stderr(name, capsys):
    CHECKS[name](answer(name), **FAST)
    out = capsys.readouterr()
    assert out.out.startswith(f"✓ {name}") and out.out.count("\n") == 1
    assert out.err == ""


def test_a_stub_is_not_implemented_yet():
    def stub(params, grads, v, lr, gamma):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_momentum_step(stub)


def test_failure_message_shows_input_expected_and_got():
    with pytest.raises(CheckFailed) as info:
        check_adam_step(bank_answer(LESSON, "adam_step", "missing bias correction"))
    text = str(info.value)
    for part in ("input:", "expected:", "got:", "likely mistake:"):
        assert part in text


def test_student_output_is_not_echoed_to_stderr(capsys):
    right = answer("momentum_step")

    def noisy(params, grads, v, lr, gamma):
        import sys
        print("debug", file=sys.stderr)
        return right(params, grads, v, lr, gamma)

    check_momentum_step(noisy, **FAST)
    assert capsys.readouterr().err == ""


@PROPERTY
@given(scale=st.floats(1e-6, 1.0), sign=st.sampled_from([-1.0, 1.0]))
def test_momentum_perturbed_params_are_rejected(scale, sign):
    right = answer("momentum_step")

    def perturbed(params, grads, v, lr, gamma):
        p, v = right(params, grads, v, lr, gamma)
        return p + sign * scale * (1 + np.abs(p)), v

    with pytest.raises(CheckFailed, match="is wrong"):
        check_momentum_step(perturbed, **FAST)


@PROPERTY
@given(scale=st.floats(0.0, 1e-13))
def test_momentum_round_off_is_accepted(scale):
    right = answer("momentum_step")

    def perturbed(params, grads, v, lr, gamma):
        p, v = right(params, grads, v, lr, gamma)
        return p * (1 + scale), v * (1 - scale)

    check_momentum_step(perturbed, **FAST)


# ------------------------------------------------------- properties of every checker


@pytest.mark.parametrize("name", CHECKS)
@settings(max_examples=4)
@given(scale=st.floats(1e-6, 1e-1), which=st.integers(0, 2))
def test_perturbing_any_returned_array_is_rejected(name, scale, which):
    """Params or any piece of state off by a relative `scale` fails, whatever the optimizer."""
    right = answer(name)

    def perturbed(*args, **kwargs):
        out = list(right(*args, **kwargs))
        i = which % len(out)
        out[i] = out[i] + scale * (1 + np.abs(out[i]))
        return tuple(out)

    with pytest.raises(CheckFailed, match="is wrong"):
        CHECKS[name](perturbed, **FAST)


@pytest.mark.parametrize("name", CHECKS)
def test_jax_arrays_and_lists_are_accepted(name):
    """Returning jax arrays or a list instead of a tuple is fine: values are what count."""
    from course.oracle import jnp

    right = answer(name)

    def as_jax(*args, **kwargs):
        return [jnp.asarray(x) for x in right(*args, **kwargs)]

    CHECKS[name](as_jax, **FAST)
