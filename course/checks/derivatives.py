"""Checkers for lesson 01-derivatives.

Oracles: numpy for the mean squared error, JAX (float64) for every derivative.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course import oracle as _oracle
from course.checking import (
    ANALYTIC,
    CheckFailed,
    Mistake,
    Tolerance,
    as_float_array,
    call,
    expect_close,
    expect_true,
    expect_unchanged,
    passed,
)
from course.data import belt_sizes

__all__ = [
    "check_grad_f",
    "check_hessian_f",
    "check_mse",
    "check_relu_prime",
    "check_sigmoid_prime",
]


def _f(x, y):
    """The lesson's running example f(x, y) = x**2 * y + y + 2."""
    return x**2 * y + y + 2


def _unchanged(before: np.ndarray, after: np.ndarray, *, name: str, arg: str) -> None:
    expect_unchanged(before, after, name=name, arg=arg)


# --------------------------------------------------------------------------- mse


def check_mse(mse: Callable, *, seed: int = 0, trials: int = 20) -> None:
    r"""``mse(actual, guess)`` equals :math:`\frac1n \sum_i (a_i - g_i)^2` (numpy oracle)."""
    belts = belt_sizes()
    cases = [
        (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])),
        (np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 2.0, 2.0])),
        (np.array([3.0]), np.array([1.0])),
        (belts["cm"].to_numpy(), 2.0 * belts["inches"].to_numpy()),
    ]
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        n = int(rng.integers(1, 60))
        cases.append((rng.normal(0, 10, n), rng.normal(0, 10, n)))
    for actual, guess in cases:
        a0, g0 = actual.copy(), guess.copy()
        inputs = {"actual": actual, "guess": guess}
        result = call(mse, actual, guess, name="mse", inputs=inputs)
        _unchanged(a0, actual, name="mse", arg="actual")
        _unchanged(g0, guess, name="mse", arg="guess")
        diff = actual - guess
        expected = np.mean(diff**2)
        expect_close(
            result.value, expected, what="mse(actual, guess)", inputs=inputs,
            mistakes=[
                Mistake("you summed the squared differences; MSE takes their mean "
                        "(divide by n).", np.sum(diff**2)),
                Mistake("you took the square root: that is the RMSE, not the MSE.",
                        np.sqrt(np.mean(diff**2))),
                Mistake("you averaged the differences without squaring them.", np.mean(diff)),
                Mistake("you averaged absolute differences (MAE) instead of squares.",
                        np.mean(np.abs(diff))),
                Mistake("you divided by n - 1; the MSE divides by n.",
                        np.sum(diff**2) / max(len(diff) - 1, 1)),
                Mistake("you halved the MSE (the 1/2 convention belongs to other losses).",
                        0.5 * np.mean(diff**2)),
            ],
        )
    passed("mse", f"{len(cases)} cases ({trials} random) agree with numpy")


# ---------------------------------------------------------------------- grad_f


def _grad_oracle(jax, jnp):
    return jax.grad(_f, argnums=(0, 1))


def _hessian_oracle(jax, jnp):
    return jax.hessian(lambda v: _f(v[0], v[1]))


#: Elementwise arrays of the checks have at most 41 entries: one bucket, one compilation.
_ELEMENTWISE_SIZES = (64,)


def _elementwise_derivative(activation: str) -> Callable[[np.ndarray], np.ndarray]:
    """``jax.grad(jax.nn.<activation>)`` applied elementwise to an array of any shape."""
    def make(jax, jnp):
        return jax.grad(getattr(jax.nn, activation))

    batched = _oracle.batched(("derivatives", activation), make, sizes=_ELEMENTWISE_SIZES)

    def derivative(z: np.ndarray) -> np.ndarray:
        flat = np.ravel(np.asarray(z, dtype=np.float64))
        return batched(flat).reshape(np.shape(z))

    return derivative


def check_grad_f(grad_f: Callable, *, seed: int = 0, trials: int = 20) -> None:
    r"""``grad_f(x, y)`` equals :math:`(2xy,\ x^2 + 1)` as computed by ``jax.grad``."""
    oracle = _oracle.compiled(("derivatives", "grad_f"), _grad_oracle)
    rng = np.random.default_rng(seed)
    points = [(3.0, 4.0), (0.0, 0.0), (-1.0, 2.5)]
    points += [tuple(float(v) for v in rng.uniform(-5, 5, 2)) for _ in range(trials)]
    for x, y in points:
        inputs = {"x": x, "y": y}
        got = call(grad_f, x, y, name="grad_f", inputs=inputs).value
        expected = np.array([float(g) for g in oracle(x, y)])
        got_array = as_float_array(got, what="grad_f(x, y)")
        if got_array.shape != (2,):
            raise CheckFailed(
                f"grad_f({x}, {y}) returned {got!r}; return a pair (df/dx, df/dy)."
            )
        expect_close(
            got_array, expected, what="grad_f(x, y)", inputs=inputs,
            mistakes=[
                Mistake("the two partial derivatives are swapped: return (df/dx, df/dy).",
                        expected[::-1]),
                Mistake("df/dy is missing the derivative of the lone `+ y` term (it adds 1).",
                        [2 * x * y, x**2]),
                Mistake("df/dx dropped the factor 2 of the power rule (d/dx x**2 = 2x).",
                        [x * y, x**2 + 1]),
                Mistake("df/dx forgot the factor y: treat y as a constant, not as zero.",
                        [2 * x, x**2 + 1]),
                Mistake("both signs are flipped: that is the direction of steepest descent.",
                        -expected),
            ],
        )
    passed("grad_f", f"{len(points)} points agree with jax.grad (including (24, 10) at (3, 4))")


# ------------------------------------------------------------------- hessian_f


def check_hessian_f(hessian_f: Callable, *, seed: int = 0, trials: int = 20) -> None:
    r"""``hessian_f(x, y)`` equals [[2y, 2x], [2x, 0]] as computed by ``jax.hessian``."""
    oracle = _oracle.compiled(("derivatives", "hessian_f"), _hessian_oracle)
    rng = np.random.default_rng(seed)
    points = [(3.0, 4.0), (0.0, 0.0), (1.5, -2.0)]
    points += [tuple(float(v) for v in rng.uniform(-5, 5, 2)) for _ in range(trials)]
    for x, y in points:
        inputs = {"x": x, "y": y}
        got = call(hessian_f, x, y, name="hessian_f", inputs=inputs).value
        expected = np.asarray(oracle(np.array([x, y])), dtype=np.float64)
        expect_close(
            got, expected, what="hessian_f(x, y)", inputs=inputs,
            mistakes=[
                Mistake("d2f/dx2 forgot the factor y (it is 2y).", [[2, 2 * x], [2 * x, 0]]),
                Mistake("d2f/dx2 dropped the factor 2 of the power rule (it is 2y, not y).",
                        [[y, 2 * x], [2 * x, 0]]),
                Mistake("the mixed derivatives d2f/dxdy = d2f/dydx are 2x, not x.",
                        [[2 * y, x], [x, 0]]),
                Mistake("d2f/dy2 is 0: f is linear in y.", [[2 * y, 2 * x], [2 * x, 1]]),
            ],
        )
    passed("hessian_f", f"{len(points)} points agree with jax.hessian ([[8, 6], [6, 0]] at (3, 4))")


# --------------------------------------------------------------- sigmoid_prime

#: A smooth derivative needs only round-off to separate it from the oracle; near
#: abs(z) = 700 the true value (about 1e-304) is below any absolute error that matters.
_ACTIVATION = Tolerance(rtol=1e-9, atol=1e-15)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def check_sigmoid_prime(sigmoid_prime: Callable, *, seed: int = 0, trials: int = 20) -> None:
    r"""``sigmoid_prime(z)`` equals :math:`\sigma(z)(1-\sigma(z))` elementwise.

    Stable means no overflow for abs(z) up to 700.
    """
    oracle = _elementwise_derivative("sigmoid")
    rng = np.random.default_rng(seed)
    cases = [
        np.linspace(-10.0, 10.0, 41),
        np.array([-700.0, -100.0, -30.0, 0.0, 30.0, 100.0, 700.0]),
        rng.normal(0, 3, size=(3, 4)),
    ]
    cases += [rng.uniform(-40, 40, size=int(rng.integers(1, 30))) for _ in range(trials)]
    for z in cases:
        z0 = z.copy()
        inputs = {"z": z}
        result = call(sigmoid_prime, z, name="sigmoid_prime", inputs=inputs)
        _unchanged(z0, z, name="sigmoid_prime", arg="z")
        overflow = [w for w in result.warnings if "overflow" in str(w.message)]
        expect_true(
            not overflow,
            f"sigmoid_prime overflowed for z = {z!r} ({overflow[0].message if overflow else ''}). "
            "Numerically stable means no intermediate value overflows for abs(z) up to 700: "
            "for instance use sigmoid(z) * sigmoid(-z) with a sigmoid that never "
            "exponentiates a large positive number.",
        )
        expected = oracle(z)
        s = _sigmoid(z)
        expect_close(
            result.value, expected, what="sigmoid_prime(z)", inputs=inputs,
            tolerance=_ACTIVATION,
            mistakes=[
                Mistake("you returned sigmoid(z) itself, not its derivative.", s),
                Mistake("the sign is flipped: sigmoid is increasing, so its derivative is "
                        "positive.", -expected),
                Mistake("sigmoid'(z) = sigmoid(z) * (1 - sigmoid(z)), not sigmoid(z) * "
                        "(1 + sigmoid(z)).", s * (1 + s)),
            ],
        )
    scalar = call(sigmoid_prime, 0.0, name="sigmoid_prime", inputs={"z": 0.0}).value
    expect_close(scalar, 0.25, what="sigmoid_prime(0.0)", inputs={"z": 0.0})
    passed("sigmoid_prime", f"{len(cases)} arrays (abs(z) up to 700) agree with jax.grad")


# ------------------------------------------------------------------ relu_prime


def check_relu_prime(relu_prime: Callable, *, seed: int = 0, trials: int = 20) -> None:
    """``relu_prime(z)`` is 1.0 where z > 0, else 0.0 (also at 0), as a float array."""
    oracle = _elementwise_derivative("relu")
    rng = np.random.default_rng(seed)
    cases = [
        np.array([-2.0, -0.5, 0.0, 0.5, 2.0]),
        np.array([0.0]),
        np.array([-1e-300, 1e-300, -0.0]),
        rng.normal(0, 1, size=(4, 3)),
    ]
    cases += [np.round(rng.normal(0, 2, size=int(rng.integers(1, 30)))) for _ in range(trials)]
    for z in cases:
        z0 = z.copy()
        inputs = {"z": z}
        got = call(relu_prime, z, name="relu_prime", inputs=inputs).value
        _unchanged(z0, z, name="relu_prime", arg="z")
        kind = np.asarray(got).dtype.kind
        expect_true(
            kind == "f",
            f"relu_prime({z!r}) returned an array of dtype {np.asarray(got).dtype}; return floats "
            "(for example `(z > 0).astype(float)` or `np.where(z > 0, 1.0, 0.0)`).",
        )
        expected = oracle(z)
        expect_close(
            got, expected, what="relu_prime(z)", inputs=inputs, tolerance=ANALYTIC,
            mistakes=[
                Mistake("at z == 0 the course's convention is relu'(0) = 0: use `z > 0`, "
                        "not `z >= 0`.", (z >= 0).astype(float)),
                Mistake("you returned relu(z) itself, not its derivative.", np.maximum(z, 0.0)),
                Mistake("the derivative is 1 for positive z and 0 for negative z, not the "
                        "other way round.", (z < 0).astype(float)),
            ],
        )
    passed("relu_prime", f"{len(cases)} arrays agree with jax.grad(jax.nn.relu), relu'(0) = 0")
