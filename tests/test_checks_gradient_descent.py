"""Machinery of the lesson 06 checkers: the success line, a stub, and properties.

Right and wrong answers are the lesson's bank (``autograder/mutants/lesson_06.py``), run
by ``tests/test_mutant_banks.py``; these tests use the solution's own answers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.mutants.inprocess import solution
from course.checking import CheckFailed
from course.checks import gradient_descent as checks
from course.checks.gradient_descent import check_gradient_descent, check_max_stable_lr

LESSON = "06-gradient-descent"
SETTINGS = settings(max_examples=8)


@pytest.mark.parametrize("name", ["gradient_descent", "normal_nll", "mixture_nll",
                                  "max_stable_lr"])
def test_a_right_answer_prints_one_line(name, capsys):
    getattr(checks, f"check_{name}")(solution(LESSON, name), trials=2)
    out = capsys.readouterr().out
    assert out.startswith(f"✓ {name}") and out.count("\n") == 1


def test_gradient_descent_stub_is_not_implemented():
    def stub(grad_fn, x0, lr, num_steps, tol=None):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_gradient_descent(stub)


@SETTINGS
@given(row=st.floats(0.0, 1.0), size=st.floats(1e-6, 1.0), sign=st.sampled_from([-1.0, 1.0]))
def test_gradient_descent_perturbed_iterate_is_rejected(row, size, sign):
    right = solution(LESSON, "gradient_descent")

    def perturbed(grad_fn, x0, lr, num_steps, tol=None):
        path = right(grad_fn, x0, lr, num_steps, tol)
        path[round(row * (len(path) - 1))] += sign * size
        return path

    with pytest.raises(CheckFailed):
        check_gradient_descent(perturbed, trials=1)


@SETTINGS
@given(size=st.floats(0.0, 1e-13))
def test_gradient_descent_round_off_is_accepted(size):
    right = solution(LESSON, "gradient_descent")

    def jittered(grad_fn, x0, lr, num_steps, tol=None):
        return right(grad_fn, x0, lr, num_steps, tol) * (1.0 + size)

    check_gradient_descent(jittered, trials=1)


@SETTINGS
@given(relative=st.floats(1e-7, 0.5), sign=st.sampled_from([-1.0, 1.0]))
def test_max_stable_lr_perturbation(relative, sign):
    def off(H):
        return 2.0 / np.linalg.eigvalsh(H)[-1] * (1.0 + sign * relative)

    with pytest.raises(CheckFailed):
        check_max_stable_lr(off, trials=2)
    check_max_stable_lr(lambda H: 2.0 / np.linalg.eigvalsh(H)[-1] * (1.0 + 1e-12), trials=2)
