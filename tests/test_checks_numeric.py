"""Tests of the lesson 02-numeric checkers: right answers pass, known mistakes are named.

The student-like answers below are written here, independently of the lesson notebook.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checking import CheckFailed
from course.checks import numeric as checks

FAST = {"trials": 3}
HYPOTHESIS = settings(database=None, derandomize=True, deadline=None, max_examples=15)


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


# ---------------------------------------------------------- forward_difference


def forward_ok(f, x, h=1e-7):
    return (f(x + h) - f(x)) / h


def forward_exact_step(f, x, h=1e-7):
    """Divides by the step actually taken, (x + h) - x: a different, equally valid form."""
    step = (x + h) - x
    return float((f(x + step) - f(x)) / step)


@pytest.mark.parametrize("answer", [forward_ok, forward_exact_step])
def test_forward_difference_accepts_correct_answers(answer, capsys):
    checks.check_forward_difference(answer, **FAST)
    out, err = capsys.readouterr()
    assert out.startswith("✓ forward_difference") and out.count("\n") == 1
    assert err == ""


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (lambda f, x, h=1e-7: (f(x + h) - f(x - h)) / (2 * h), "central difference"),
        (lambda f, x, h=1e-7: (f(x) - f(x - h)) / h, "backward difference"),
        (lambda f, x, h=1e-7: (f(x + h) - f(x)) / (2 * h), "divided by 2h"),
        (lambda f, x, h=1e-7: (f(x) - f(x + h)) / h, "sign is flipped"),
        (lambda f, x, h=1e-7: f(x + h) - f(x), "forgot to divide"),
        (lambda f, x, h=1e-7: (f(x + 1e-7) - f(x)) / 1e-7, "true derivative"),
        (lambda f, x, h=1e-4: (f(x + h) - f(x)) / h, "default value of h is 1e-07"),
        (lambda f, x, h=1e-7: np.array([(f(x + h) - f(x)) / h]), "shape"),
    ],
)
def test_forward_difference_names_mistakes(answer, match):
    with pytest.raises(CheckFailed, match=match):
        checks.check_forward_difference(answer, **FAST)


def test_stub_reports_not_implemented():
    def stub(f, x, h=1e-7):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        checks.check_forward_difference(stub)


def test_renamed_step_argument_is_reported():
    with pytest.raises(CheckFailed, match="unexpected keyword argument 'h'"):
        checks.check_forward_difference(lambda f, x, eps=1e-7: (f(x + eps) - f(x)) / eps)


@HYPOTHESIS
@given(st.floats(1e-7, 1e-2))
def test_forward_difference_rejects_perturbed_answers(delta):
    def off(f, x, h=1e-7):
        return (f(x + h) - f(x)) / h * (1 + delta) + delta

    with pytest.raises(CheckFailed):
        checks.check_forward_difference(off, trials=1)


@HYPOTHESIS
@given(st.floats(-1e-12, 1e-12))
def test_forward_difference_accepts_round_off_sized_changes(delta):
    checks.check_forward_difference(
        lambda f, x, h=1e-7: (f(x + h) - f(x)) / h * (1 + delta), trials=1)


# ---------------------------------------------------------- central_difference


def central_ok(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


def central_average(f, x, h=1e-5):
    """The mean of the forward and backward quotients: the same quotient."""
    return 0.5 * ((f(x + h) - f(x)) / h + (f(x) - f(x - h)) / h)


@pytest.mark.parametrize("answer", [central_ok, central_average])
def test_central_difference_accepts_correct_answers(answer, capsys):
    checks.check_central_difference(answer, **FAST)
    assert capsys.readouterr().out.startswith("✓ central_difference")


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (lambda f, x, h=1e-5: (f(x + h) - f(x)) / h, "forward difference"),
        (lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / h, "instead of 2h"),
        (lambda f, x, h=1e-5: (f(x - h) - f(x + h)) / (2 * h), "sign is flipped"),
        (lambda f, x, h=1e-5: (f(x + 1e-5) - f(x - 1e-5)) / 2e-5, "true derivative"),
        (lambda f, x, h=1e-2: (f(x + h) - f(x - h)) / (2 * h), "default value of h is 1e-05"),
    ],
)
def test_central_difference_names_mistakes(answer, match):
    with pytest.raises(CheckFailed, match=match):
        checks.check_central_difference(answer, **FAST)


# ---------------------------------------------------------------- complex_step


def complex_ok(f, x, h=1e-20):
    return np.imag(f(x + 1j * h)) / h


def complex_builtin(f, x, h=1e-20):
    return float(f(complex(x, h)).imag / h)


@pytest.mark.parametrize("answer", [complex_ok, complex_builtin])
def test_complex_step_accepts_correct_answers(answer, capsys):
    checks.check_complex_step(answer, **FAST)
    assert capsys.readouterr().out.startswith("✓ complex_step")


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (lambda f, x, h=1e-20: f(x + 1j * h) / h, "complex value"),
        (lambda f, x, h=1e-20: np.real(f(x + 1j * h)) / h, "real part"),
        (lambda f, x, h=1e-20: np.imag(f(x + 1j * h)), "forgot to divide"),
        (lambda f, x, h=1e-20: np.abs(f(x + 1j * h)) / h, "modulus"),
        (lambda f, x, h=1e-20: np.imag(f(x - 1j * h)) / h, "sign is flipped"),
        (lambda f, x, h=1e-20: np.imag(f(x + h)) / h, "real step"),
        (lambda f, x, h=1e-20: (f(x + h) - f(x)) / h, "real difference quotient"),
        (lambda f, x, h=1e-20: np.imag(f(x + 1e-20j)) / 1e-20, "true derivative"),
        (lambda f, x, h=1e-4: np.imag(f(x + 1j * h)) / h, "default h = 1e-20"),
    ],
)
def test_complex_step_names_mistakes(answer, match):
    with pytest.raises(CheckFailed, match=match):
        checks.check_complex_step(answer, **FAST)


# ------------------------------------------------------------ numeric_gradient


def gradient_loop(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        g[i] = (f(plus) - f(minus)) / (2 * h)
    return g


def gradient_flat(f, x, h=1e-5):
    """Steps along the rows of a scaled identity on the flattened x."""
    x = np.asarray(x, dtype=float)
    flat = x.ravel()
    steps = h * np.eye(flat.size)
    g = [(f((flat + e).reshape(x.shape)) - f((flat - e).reshape(x.shape))) / (2 * h)
         for e in steps]
    return np.array(g).reshape(x.shape)


@pytest.mark.parametrize("answer", [gradient_loop, gradient_flat])
def test_numeric_gradient_accepts_correct_answers(answer, capsys):
    checks.check_numeric_gradient(answer, **FAST)
    out = capsys.readouterr().out
    assert out.startswith("✓ numeric_gradient") and "8 times for n = 4" in out


def gradient_in_place(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        fp = f(x)
        x[i] -= 2 * h
        fm = f(x)
        g[i] = (fp - fm) / (2 * h)
    return g


def gradient_forward(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus = x.copy()
        plus[i] += h
        g[i] = (f(plus) - f(x)) / h
    return g


def gradient_over_h(f, x, h=1e-5):
    return 2 * gradient_loop(f, x, h)


def gradient_flattened_output(f, x, h=1e-5):
    return gradient_loop(f, x, h).ravel()


def gradient_rows(f, x, h=1e-5):
    g = np.zeros_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def gradient_fixed_step(f, x, h=1e-5):
    return gradient_loop(f, x)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (gradient_in_place, r"modified its argument x in place \(x\[i\] \+= h\)"),
        (gradient_forward, "forward differences"),
        (gradient_over_h, "instead of 2h"),
        (gradient_flattened_output, "same shape as x"),
        (gradient_rows, "whole row"),
        (gradient_fixed_step, "true derivative"),
        (lambda f, x, h=1e-5: -gradient_loop(f, x, h), "sign is flipped"),
    ],
)
def test_numeric_gradient_names_mistakes(answer, match):
    with pytest.raises(CheckFailed, match=match):
        checks.check_numeric_gradient(answer, **FAST)


def test_numeric_gradient_detects_restore_that_changes_bits():
    def restore(f, x, h=1e-5):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            x[i] += h
            fp = f(x)
            x[i] -= 2 * h
            fm = f(x)
            x[i] += h
            g[i] = (fp - fm) / (2 * h)
        return g

    x = np.array([0.1, 0.7, -1.3])
    before = x.copy()
    restore(lambda v: (v**2).sum(), x)
    if before.tobytes() == x.tobytes():  # pragma: no cover - depends on the draws
        pytest.skip("this draw happened to restore the exact bits")
    with pytest.raises(CheckFailed, match="in place"):
        checks.check_numeric_gradient(restore, **FAST)


# ------------------------------------------------------------ numeric_jacobian


def jacobian_columns(f, x, h=1e-5):
    x = np.asarray(x, dtype=float)
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(columns, axis=1)


def jacobian_fill(f, x, h=1e-5):
    x = np.array(x, dtype=float)
    m = np.asarray(f(x)).size
    J = np.empty((m, x.size))
    for j in range(x.size):
        plus, minus = x.copy(), x.copy()
        plus[j] += h
        minus[j] -= h
        J[:, j] = (np.asarray(f(plus)) - np.asarray(f(minus))) / (2 * h)
    return J


@pytest.mark.parametrize("answer", [jacobian_columns, jacobian_fill])
def test_numeric_jacobian_accepts_correct_answers(answer, capsys):
    checks.check_numeric_jacobian(answer, **FAST)
    assert capsys.readouterr().out.startswith("✓ numeric_jacobian")


def jacobian_in_place(f, x, h=1e-5):
    J = []
    for j in range(x.size):
        x[j] += h
        fp = np.asarray(f(x))
        x[j] -= 2 * h
        fm = np.asarray(f(x))
        J.append((fp - fm) / (2 * h))
    return np.stack(J, axis=1)


def jacobian_forward(f, x, h=1e-5):
    fx = np.asarray(f(x))
    columns = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((np.asarray(f(x + e)) - fx) / h)
    return np.stack(columns, axis=1)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (lambda f, x, h=1e-5: jacobian_columns(f, x, h).T, "transposed"),
        (jacobian_in_place, "in place"),
        (jacobian_forward, "forward differences"),
        (lambda f, x, h=1e-5: -jacobian_columns(f, x, h), "sign is flipped"),
        (lambda f, x, h=1e-5: jacobian_columns(f, x), "true derivative"),
        (lambda f, x, h=1e-5: jacobian_columns(f, x, h).ravel(), r"shape"),
    ],
)
def test_numeric_jacobian_names_mistakes(answer, match):
    with pytest.raises(CheckFailed, match=match):
        checks.check_numeric_jacobian(answer, **FAST)


def test_transposed_non_square_jacobian_is_named_by_shape():
    with pytest.raises(CheckFailed, match=r"has shape \(3, 2\), expected \(2, 3\).*transposed"):
        checks.check_numeric_jacobian(
            lambda f, x, h=1e-5: jacobian_columns(f, x, h).T
            if x.size != np.asarray(f(x)).size else jacobian_columns(f, x, h),
            trials=0,
        )


# -------------------------------------------------------------- relative_error


def relative_ok(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))


def relative_loop(a, b):
    worst = 0.0
    for x, y in zip(np.ravel(a), np.ravel(b), strict=True):
        worst = max(worst, abs(x - y) / max(abs(x) + abs(y), 1e-12))
    return worst


@pytest.mark.parametrize("answer", [relative_ok, relative_loop])
def test_relative_error_accepts_correct_answers(answer, capsys):
    checks.check_relative_error(answer)
    assert capsys.readouterr().out.startswith("✓ relative_error")


def _ratios(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b), np.abs(a) + np.abs(b)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (lambda a, b: np.max(np.divide(*_ratios(a, b))), "nan.*floor"),
        (lambda a, b: np.linalg.norm(np.subtract(a, b))
         / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12), "norms"),
        (lambda a, b: np.divide(_ratios(a, b)[0], np.maximum(_ratios(a, b)[1], 1e-12)),
         "one float"),
        (lambda a, b: np.mean(_ratios(a, b)[0] / np.maximum(_ratios(a, b)[1], 1e-12)),
         "averaged"),
        (lambda a, b: np.max(_ratios(a, b)[0] / (_ratios(a, b)[1] + 1e-12)), "added 1e-12"),
        (lambda a, b: np.max(_ratios(a, b)[0] / np.maximum(np.abs(b), 1e-12)), r"\|b\| only"),
        (lambda a, b: np.max(_ratios(a, b)[0] / max(np.abs(a) + np.abs(b), 1e-12)),
         "np.maximum"),
        (lambda a, b: np.max(_ratios(a, b)[0]), "without dividing"),
    ],
)
def test_relative_error_names_mistakes(answer, match):
    with pytest.raises(CheckFailed, match=match):
        checks.check_relative_error(answer)


def test_relative_error_in_place_is_reported():
    def in_place(a, b):
        if isinstance(a, np.ndarray):
            np.abs(a, out=a)
        return relative_ok(a, b)

    with pytest.raises(CheckFailed, match="modified its argument `a`"):
        checks.check_relative_error(in_place)


@HYPOTHESIS
@given(st.floats(1e-8, 10.0))
def test_relative_error_rejects_perturbed_answers(scale):
    with pytest.raises(CheckFailed):
        checks.check_relative_error(lambda a, b: relative_ok(a, b) * (1 + scale) + 1e-9,
                                    trials=2)


@HYPOTHESIS
@given(st.floats(-1e-12, 1e-12))
def test_relative_error_accepts_round_off(scale):
    checks.check_relative_error(lambda a, b: relative_ok(a, b) * (1 + scale), trials=2)


def test_batched_oracle_pads_and_splits_consistently():
    fn = checks.SCALAR_FUNCTIONS[1]
    xs = list(np.linspace(-1.5, 1.5, 70))
    got = np.array(checks._batched(checks._derivative_oracle(fn), xs))
    np.testing.assert_allclose(got, np.exp(xs) * (np.sin(xs) + np.cos(xs)), rtol=1e-14)
