"""Checkers of lesson 01: right answers (in several forms) pass, known mistakes are named."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course.checking import CheckFailed
from course.checks.derivatives import (
    check_grad_f,
    check_hessian_f,
    check_mse,
    check_relu_prime,
    check_sigmoid_prime,
)

# ----------------------------------------------------------------------------- mse


def mse_vectorised(actual, guess):
    return float(np.mean((np.asarray(actual) - np.asarray(guess)) ** 2))


def mse_loop(actual, guess):
    total = 0.0
    for a, g in zip(actual, guess, strict=True):
        total += (a - g) ** 2
    return total / len(actual)


def mse_dot(actual, guess):
    d = np.subtract(actual, guess)
    return d @ d / d.size


@pytest.mark.parametrize("answer", [mse_vectorised, mse_loop, mse_dot])
def test_mse_accepts_equivalent_answers(answer):
    check_mse(answer, trials=5)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (lambda a, g: np.sum((a - g) ** 2), "summed the squared differences"),
        (lambda a, g: np.mean(np.abs(a - g)), "absolute differences"),
        (lambda a, g: np.sqrt(np.mean((a - g) ** 2)), "RMSE"),
        (lambda a, g: np.sum((a - g) ** 2) / (len(a) - 1), "n - 1"),
        (lambda a, g: 0.5 * np.mean((a - g) ** 2), "halved"),
    ],
)
def test_mse_names_the_mistake(wrong, named):
    with pytest.raises(CheckFailed, match=named):
        check_mse(wrong, trials=5)


def test_mse_must_not_modify_its_arguments():
    def in_place(actual, guess):
        actual -= guess
        return float(np.mean(actual**2))

    with pytest.raises(CheckFailed, match="modified its argument `actual`"):
        check_mse(in_place, trials=1)


# -------------------------------------------------------------------------- grad_f


@pytest.mark.parametrize(
    "answer",
    [lambda x, y: (2 * x * y, x**2 + 1), lambda x, y: [2.0 * x * y, x * x + 1.0],
     lambda x, y: np.array([2 * x * y, x**2 + 1])],
)
def test_grad_f_accepts_tuples_lists_and_arrays(answer):
    check_grad_f(answer, trials=5)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (lambda x, y: (x**2 + 1, 2 * x * y), "swapped"),
        (lambda x, y: (2 * x * y, x**2), "lone `\\+ y` term"),
        (lambda x, y: (x * y, x**2 + 1), "factor 2"),
        (lambda x, y: (2 * x, x**2 + 1), "forgot the factor y"),
        (lambda x, y: (-2 * x * y, -(x**2) - 1), "signs are flipped"),
    ],
)
def test_grad_f_names_the_mistake(wrong, named):
    with pytest.raises(CheckFailed, match=named):
        check_grad_f(wrong, trials=5)


def test_grad_f_rejects_a_scalar():
    with pytest.raises(CheckFailed, match="return a pair"):
        check_grad_f(lambda x, y: 2 * x * y, trials=1)


# ----------------------------------------------------------------------- hessian_f


def test_hessian_f_accepts_nested_lists():
    check_hessian_f(lambda x, y: [[2 * y, 2 * x], [2 * x, 0]], trials=5)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (lambda x, y: [[2, 2 * x], [2 * x, 0]], "forgot the factor y"),
        (lambda x, y: [[2 * y, x], [x, 0]], "mixed derivatives"),
        (lambda x, y: [[2 * y, 2 * x], [2 * x, 1]], "linear in y"),
    ],
)
def test_hessian_f_names_the_mistake(wrong, named):
    with pytest.raises(CheckFailed, match=named):
        check_hessian_f(wrong, trials=5)


# ------------------------------------------------------------------- sigmoid_prime


def sigmoid_prime_tanh(z):
    s = 0.5 * (1 + np.tanh(np.asarray(z, dtype=float) / 2))
    return s * (1 - s)


def sigmoid_prime_exp_abs(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return e / (1 + e) ** 2


def sigmoid_prime_scalar_loop(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    for index, value in np.ndenumerate(z):
        e = math.exp(-abs(value))
        out[index] = e / (1 + e) ** 2
    return out if z.ndim else float(out)


@pytest.mark.parametrize("answer", [sigmoid_prime_tanh, sigmoid_prime_exp_abs,
                                    sigmoid_prime_scalar_loop])
def test_sigmoid_prime_accepts_stable_forms(answer):
    check_sigmoid_prime(answer, trials=5)


def test_sigmoid_prime_rejects_overflow():
    def naive(z):
        return np.exp(-z) / (1 + np.exp(-z)) ** 2

    with pytest.raises(CheckFailed, match="overflowed"):
        check_sigmoid_prime(naive, trials=1)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (lambda z: 0.5 * (1 + np.tanh(np.asarray(z) / 2)), "sigmoid\\(z\\) itself"),
        (lambda z: -sigmoid_prime_tanh(z), "sign is flipped"),
    ],
)
def test_sigmoid_prime_names_the_mistake(wrong, named):
    with pytest.raises(CheckFailed, match=named):
        check_sigmoid_prime(wrong, trials=1)


# ---------------------------------------------------------------------- relu_prime


@pytest.mark.parametrize(
    "answer",
    [lambda z: (np.asarray(z) > 0).astype(float), lambda z: np.where(z > 0, 1.0, 0.0),
     lambda z: np.heaviside(z, 0.0)],
)
def test_relu_prime_accepts_equivalent_answers(answer):
    check_relu_prime(answer, trials=5)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (lambda z: (z >= 0).astype(float), "relu'\\(0\\) = 0"),
        (lambda z: np.maximum(z, 0.0), "relu\\(z\\) itself"),
        (lambda z: (z < 0).astype(float), "other way round"),
        (lambda z: z > 0, "dtype bool"),
    ],
)
def test_relu_prime_names_the_mistake(wrong, named):
    with pytest.raises(CheckFailed, match=named):
        check_relu_prime(wrong, trials=1)
