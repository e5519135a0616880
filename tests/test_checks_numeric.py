"""Machinery of the lesson 02-numeric checkers: reference data, messages, properties.

Right and wrong answers are the lesson's bank, run by ``tests/test_mutant_banks.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.mutants.inprocess import solution
from course.checking import CheckFailed
from course.checks import numeric as checks

LESSON = "02-numeric"
FAST = {"trials": 3}
HYPOTHESIS = settings(max_examples=15)


# ------------------------------------------------------------- reference data


def test_mpmath_quotients_match_closed_forms():
    q = checks._scalar_quotients(checks._SEED_SLICE, 3.0, 1e-4)
    assert q["forward"] == pytest.approx(24.0004, rel=1e-15)
    assert q["central"] == pytest.approx(24.0, rel=1e-15)
    for x, h in [(2.0, 0.5), (-1.3, 0.1), (0.0, 0.25)]:
        q = checks._scalar_quotients(checks._CUBE, x, h)
        assert q["central"] == pytest.approx(3 * x**2 + h**2, rel=1e-14, abs=1e-15)
        assert q["forward"] == pytest.approx(3 * x**2 + 3 * x * h + h**2, rel=1e-14, abs=1e-15)
        # Im (x + ih)**3 / h = 3 x**2 - h**2
        assert q["complex"] == pytest.approx(3 * x**2 - h**2, rel=1e-14, abs=1e-15)


def test_mpmath_vector_quotients_match_closed_form_on_2d_x():
    x = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.5]])
    q = checks._vector_quotients(checks._SUM_CUBES, x, 0.5)
    np.testing.assert_allclose(q["central"], 3 * x**2 + 0.25, rtol=1e-14)
    np.testing.assert_allclose(q["rows"], np.repeat((3 * x**2 + 0.25).sum(1, keepdims=True), 3, 1))


def test_seed_gradient_is_exact_for_central_differences():
    q = checks._vector_quotients(checks.VECTOR_FUNCTIONS[0], np.array([3.0, 4.0]), 1e-4)
    np.testing.assert_allclose(q["central"], [24.0, 10.0], rtol=1e-14)
    np.testing.assert_allclose(q["forward"], [24.0004, 10.0], rtol=1e-14)


# ------------------------------------------------------------- messages
#
# Right and wrong answers live in the lesson's bank (autograder/mutants/lesson_02.py, run by
# tests/test_mutant_banks.py); these tests use the solution's own answers.


def answer(name: str):
    """The solution notebook's ``name``."""
    return solution(LESSON, name)


@pytest.mark.parametrize(("name", "first_line"), [
    ("forward_difference", "✓ forward_difference"),
    ("central_difference", "✓ central_difference"),
    ("complex_step", "✓ complex_step"),
    ("numeric_gradient", "✓ numeric_gradient"),
    ("numeric_jacobian", "✓ numeric_jacobian"),
    ("relative_error", "✓ relative_error"),
])
def test_a_right_answer_prints_one_line(name, first_line, capsys):
    getattr(checks, f"check_{name}")(answer(name), trials=3)
    out, err = capsys.readouterr()
    assert out.startswith(first_line) and out.count("\n") == 1
    assert err == ""


def test_numeric_gradient_reports_how_often_f_was_called(capsys):
    checks.check_numeric_gradient(answer("numeric_gradient"), **FAST)
    assert "8 times for n = 4" in capsys.readouterr().out


def test_stub_reports_not_implemented():
    def stub(f, x, h=1e-7):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        checks.check_forward_difference(stub)


def test_transposed_non_square_jacobian_is_named_by_shape():
    right = answer("numeric_jacobian")
    with pytest.raises(CheckFailed, match=r"has shape \(3, 2\), expected \(2, 3\).*transposed"):
        checks.check_numeric_jacobian(
            lambda f, x, h=1e-5: right(f, x, h).T
            if x.size != np.asarray(f(x)).size else right(f, x, h),
            trials=0,
        )


# ----------------------------------------------------------- properties


@HYPOTHESIS
@given(st.floats(1e-7, 1e-2))
def test_forward_difference_rejects_perturbed_answers(delta):
    right = answer("forward_difference")

    def off(f, x, h=1e-7):
        return right(f, x, h) * (1 + delta) + delta

    with pytest.raises(CheckFailed):
        checks.check_forward_difference(off, trials=1)


@HYPOTHESIS
@given(st.floats(-1e-12, 1e-12))
def test_forward_difference_accepts_round_off_sized_changes(delta):
    right = answer("forward_difference")
    checks.check_forward_difference(
        lambda f, x, h=1e-7: right(f, x, h) * (1 + delta), trials=1)


@HYPOTHESIS
@given(st.floats(1e-8, 10.0))
def test_relative_error_rejects_perturbed_answers(scale):
    right = answer("relative_error")
    with pytest.raises(CheckFailed):
        checks.check_relative_error(lambda a, b: right(a, b) * (1 + scale) + 1e-9, trials=2)


@HYPOTHESIS
@given(st.floats(-1e-12, 1e-12))
def test_relative_error_accepts_round_off(scale):
    right = answer("relative_error")
    checks.check_relative_error(lambda a, b: right(a, b) * (1 + scale), trials=2)


def test_batched_oracle_pads_and_splits_consistently():
    fn = checks.SCALAR_FUNCTIONS[1]
    xs = list(np.linspace(-1.5, 1.5, 70))
    got = np.array(checks._batched(checks._derivative_oracle(fn), xs))
    np.testing.assert_allclose(got, np.exp(xs) * (np.sin(xs) + np.cos(xs)), rtol=1e-14)
