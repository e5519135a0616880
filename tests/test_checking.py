"""The shared checker machinery: calling student code, comparing, teaching messages."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checking import (
    ANALYTIC,
    CheckFailed,
    Mistake,
    Tolerance,
    as_float_array,
    call,
    expect_close,
    fmt,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def test_call_captures_output_and_warnings(capsys):
    def noisy(x):
        print("debug", x)
        print("oops", file=sys.stderr)
        warnings.warn("careful", RuntimeWarning, stacklevel=1)
        return x + 1

    result = call(noisy, 1.0)
    assert result.value == 2.0
    assert "debug 1.0" in result.output and "oops" in result.output
    assert [str(w.message) for w in result.warnings] == ["careful"]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_not_implemented_becomes_friendly_failure():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="`stub` is not implemented yet"):
        call(stub, 1.0)


def test_other_exceptions_name_the_input():
    with pytest.raises(CheckFailed, match=r"`div` raised ZeroDivisionError for x=0"):
        call(lambda x: 1 / x, 0, name="div", inputs={"x": 0})


def test_runaway_recursion_is_explained():
    def forever(x):
        return forever(x)

    with pytest.raises(CheckFailed, match="recursed too deeply"):
        call(forever, 1)


class AlwaysEqual(float):
    """A hostile answer: claims equality with everything."""

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def test_always_equal_objects_gain_nothing():
    with pytest.raises(CheckFailed):
        expect_close(AlwaysEqual(1.0), 2.0, what="f(x)")


def test_complex_answers_are_explained():
    with pytest.raises(CheckFailed, match="complex value"):
        as_float_array(1 + 2j, what="f(x)")


def test_non_numbers_are_explained():
    with pytest.raises(CheckFailed, match="not a number"):
        as_float_array("three", what="f(x)")


def test_shape_mismatch_is_reported():
    with pytest.raises(CheckFailed, match=r"has shape \(3,\), expected shape \(2,\)"):
        expect_close(np.zeros(3), np.zeros(2), what="g(x)")


def test_failure_message_teaches():
    with pytest.raises(CheckFailed) as info:
        expect_close(-2.0, 2.0, what="f(x)", inputs={"x": 1.5},
                     mistakes=[Mistake("sign flip", -2.0)])
    message = str(info.value)
    assert "x=1.5" in message and "expected: 2.0" in message and "got:      -2.0" in message
    assert "likely mistake: sign flip" in message


def test_nan_is_never_accepted():
    with pytest.raises(CheckFailed, match="nan or inf"):
        expect_close(np.nan, np.nan, what="f(x)")


@settings(max_examples=200, deadline=None)
@given(expected=finite, relative=st.floats(min_value=-0.5, max_value=0.5))
def test_analytic_tolerance_accepts_within(expected, relative):
    got = expected * (1 + relative * ANALYTIC.rtol)
    expect_close(got, expected, what="f(x)")


@settings(max_examples=200, deadline=None)
@given(expected=finite.filter(lambda v: abs(v) > 1e-3),
       relative=st.floats(min_value=2.0, max_value=1e6))
def test_analytic_tolerance_rejects_beyond(expected, relative):
    got = expected * (1 + relative * ANALYTIC.rtol)
    with pytest.raises(CheckFailed):
        expect_close(got, expected, what="f(x)")


@settings(max_examples=100, deadline=None)
@given(values=st.lists(finite, min_size=1, max_size=6))
def test_tolerance_is_entrywise(values):
    expected = np.array(values)
    perturbed = expected.copy()
    perturbed[-1] += 1.0 + abs(perturbed[-1]) * 1e-6
    assert Tolerance(1e-9, 1e-12).accepts(expected.copy(), expected)
    assert not Tolerance(1e-9, 1e-12).accepts(perturbed, expected)


def test_fmt_is_short_and_exact():
    assert fmt(6.0) == "6.0"
    assert fmt(1e-20).startswith("1.e-20") or fmt(1e-20).startswith("1.0e-20")
    assert "..." in fmt(np.arange(100.0))
