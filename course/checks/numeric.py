"""Checkers for lesson 02-numeric.

Every differencing method is checked twice:

* **convention**: with a large explicit step (``h`` from 0.1 to 0.5) the quotient the
  contract asks for, e.g. :math:`(f(x+h) - f(x)) / h`, is far from the derivative and
  from the other quotients. Its exact value is computed independently with mpmath at
  50 significant digits from the same test function (for ``sum(x**3)`` that is the
  closed form :math:`3x^2 + h^2` of the central quotient). A student's float64 answer
  agrees to about 1e-13, so this separates forward, backward and central quotients,
  ``h`` from ``2h``, sign flips, and an ignored ``h`` (which returns the derivative
  instead of the quotient).
* **accuracy**: with the default step, against ``jax.grad`` / ``jax.jacfwd`` in float64
  on the shared test functions of :mod:`course.functions`, within what the method can
  reach (forward about 1e-6, central about 1e-8, complex step about 1e-12).

``relative_error`` is checked against numpy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

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
    fmt,
    passed,
)
from course.functions import (
    SCALAR_FUNCTIONS,
    VECTOR_FUNCTIONS,
    VECTOR_VALUED_FUNCTIONS,
    ScalarFunction,
    VectorFunction,
    namespace,
)

__all__ = [
    "check_central_difference",
    "check_complex_step",
    "check_forward_difference",
    "check_numeric_gradient",
    "check_numeric_jacobian",
    "check_relative_error",
]

#: Significant digits of the mpmath reference quotients.
_DIGITS = 50

#: A float64 difference quotient with a large step is exact up to round-off of about
#: eps * |f| / h, far below the gaps between the conventions (of order h * f'').
_CONVENTION = Tolerance(rtol=1e-9, atol=1e-9)
#: Default steps: truncation plus round-off each method reaches on the test functions
#: (measured maxima: forward 6e-7, central 4e-10, complex step 2e-15).
_FORWARD = Tolerance(rtol=1e-6, atol=1e-6)
_CENTRAL = Tolerance(rtol=1e-8, atol=1e-8)
_COMPLEX = Tolerance(rtol=1e-12, atol=1e-12)


def _central_accuracy(fn: VectorFunction, x: np.ndarray) -> Tolerance:
    """Central differences at h = 1e-5 for f: R^n -> R^m, scaled by the size of f.

    Round-off in f(x + h) - f(x - h) is about eps * |f| / h = 2e-11 |f|, so a function with
    large values (Rosenbrock reaches thousands) earns a proportionally larger absolute
    tolerance.
    """
    scale = max(1.0, float(np.max(np.abs(fn(x, np)))))
    return Tolerance(rtol=_CENTRAL.rtol, atol=_CENTRAL.atol * scale)


#: "You ignored h": an answer this close to the true derivative used its own tiny step.
_NEAR_DERIVATIVE = Tolerance(rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ test functions

#: Extra scalar cases with closed-form quotients: the x-slice of
#: x**2 * y + y + 2 at y = 4 (the lesson's example, forward quotient 24 + 4h at x = 3)
#: and x**3, whose central quotient is 3 x**2 + h**2.
_SEED_SLICE = ScalarFunction("x**2 * 4 + 4 + 2", lambda x, m: x**2 * 4 + 4 + 2)
_CUBE = ScalarFunction("x**3", lambda x, m: x**3)

#: f: R^(2x3) -> R on a 2-D x; both evaluate on object arrays of mpmath numbers.
_SUM_CUBES = VectorFunction("sum(x**3)", lambda x, m: (x**3).sum(), 6)
_MIXED_2D = VectorFunction(
    "x[0, 0] * x[1, 2]**2 + sum(x**2) * x[0, 1]",
    lambda x, m: x[0, 0] * x[1, 2] ** 2 + (x**2).sum() * x[0, 1],
    6,
)
#: Elementwise 2-D functions for the accuracy check (jax and numpy only).
_ACCURACY_2D = (
    (_SUM_CUBES, (2, 3)),
    (VectorFunction("sum(sin(x) * x**2)", lambda x, m: (m.sin(x) * x**2).sum(), 6), (3, 2)),
    (VectorFunction("sum(exp(x / 2)) * x[0, 0]", lambda x, m: m.exp(x / 2).sum() * x[0, 0], 4),
     (2, 2)),
)

#: Jacobians with m != n (and m = 1), beside the shared square and 3 -> 2 cases.
_EXTRA_JACOBIAN_FUNCTIONS = (
    VectorFunction(
        "[x0 * x1, x0 + x1**2, sin(x0) * x1]",
        lambda x, m: m.stack([x[0] * x[1], x[0] + x[1] ** 2, m.sin(x[0]) * x[1]]),
        2,
    ),
    VectorFunction(
        "[exp(x0 / 4) * x3 - x1, x1 * x2**2 + cos(x3)]",
        lambda x, m: m.stack([m.exp(x[0] / 4) * x[3] - x[1], x[1] * x[2] ** 2 + m.cos(x[3])]),
        4,
    ),
    VectorFunction(
        "[x0**2 * x1 + x2**3]",
        lambda x, m: m.stack([x[0] ** 2 * x[1] + x[2] ** 3]),
        3,
    ),
)
_JACOBIAN_FUNCTIONS = VECTOR_VALUED_FUNCTIONS + _EXTRA_JACOBIAN_FUNCTIONS


class _Probe:
    """A test function as the student sees it: numpy (complex-safe), labelled, counting calls."""

    def __init__(self, fn: ScalarFunction | VectorFunction):
        self.fn = fn
        self.label = f"lambda x: {fn.label}"
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return self.fn(x, np)


# ------------------------------------------------------------- mpmath reference


@functools.cache
def _mp_namespace():
    import mpmath

    return namespace(
        sin=mpmath.sin, cos=mpmath.cos, exp=mpmath.exp, log=mpmath.log, tanh=mpmath.tanh,
        sqrt=mpmath.sqrt, stack=lambda items: np.array(list(items), dtype=object),
    )


def _scalar_quotients(fn: ScalarFunction, x: float, h: float) -> dict[str, float]:
    """Exact (50-digit) difference quotients and complex-step variants of ``fn`` at x."""
    import mpmath

    ns = _mp_namespace()
    with mpmath.workdps(_DIGITS):
        X, H = mpmath.mpf(x), mpmath.mpf(h)

        def f(t):
            return fn.body(t, ns)

        fx, fp, fm = f(X), f(X + H), f(X - H)
        z = mpmath.mpc(f(mpmath.mpc(X, H)))
        values = {
            "forward": (fp - fx) / H,
            "backward": (fx - fm) / H,
            "central": (fp - fm) / (2 * H),
            "complex": z.imag / H,
            "complex_real": z.real / H,
            "complex_real_no_h": z.real,
            "complex_no_h": z.imag,
            "complex_abs": abs(z) / H,
        }
        return {key: float(value) for key, value in values.items()}


def _vector_quotients(fn: VectorFunction, x: np.ndarray, h: float) -> dict[str, np.ndarray]:
    """Exact (50-digit) quotients of f at x for every entry of x, shape ``out + x.shape``.

    Keys: ``forward``, ``backward``, ``central``, and ``rows`` (central quotient when a
    whole row of a 2-D x is perturbed at once, broadcast over that row).
    """
    import mpmath

    ns = _mp_namespace()
    with mpmath.workdps(_DIGITS):
        X = np.array([mpmath.mpf(float(v)) for v in x.ravel()], dtype=object).reshape(x.shape)
        H = mpmath.mpf(h)

        def f(t):
            return np.asarray(fn.body(t, ns), dtype=object)

        fx = f(X)
        out: dict[str, np.ndarray] = {
            key: np.empty(fx.shape + x.shape, dtype=object)
            for key in ("forward", "backward", "central", "rows")
        }
        for index in np.ndindex(x.shape):
            plus, minus = X.copy(), X.copy()
            plus[index] = X[index] + H
            minus[index] = X[index] - H
            fp, fm = f(plus), f(minus)
            where = (Ellipsis, *index)
            out["forward"][where] = (fp - fx) / H
            out["backward"][where] = (fx - fm) / H
            out["central"][where] = (fp - fm) / (2 * H)
        if x.ndim == 2:
            for row in range(x.shape[0]):
                plus, minus = X.copy(), X.copy()
                plus[row, :] = X[row, :] + H
                minus[row, :] = X[row, :] - H
                out["rows"][..., row, :] = np.asarray((f(plus) - f(minus)) / (2 * H))[..., None]
        return {key: value.astype(np.float64) for key, value in out.items()}


# ----------------------------------------------------------------- JAX oracles


#: The checks evaluate at most a few dozen points at once: one bucket, one compilation.
_SIZES = (64,)


def _derivative_oracle(fn: ScalarFunction) -> _oracle.Batched:
    """x -> f'(x) by ``jax.grad``, batched over points."""
    return _oracle.batched(("numeric", "derivative", fn),
                           lambda jax, jnp: jax.grad(fn.using(jnp)), sizes=_SIZES)


def _gradient_oracle(fn: VectorFunction) -> _oracle.Batched:
    """x -> grad f(x) by ``jax.grad``, batched over points."""
    return _oracle.batched(("numeric", "gradient", fn),
                           lambda jax, jnp: jax.grad(fn.using(jnp)), sizes=_SIZES)


def _jacobian_oracle(fn: VectorFunction) -> _oracle.Batched:
    """x -> J f(x) by ``jax.jacfwd``, batched over points."""
    return _oracle.batched(("numeric", "jacobian", fn),
                           lambda jax, jnp: jax.jacfwd(fn.using(jnp)), sizes=_SIZES)


def _batched(oracle: _oracle.Batched, points: list[np.ndarray] | list[float]
             ) -> list[np.ndarray]:
    """The oracle at each point."""
    return list(oracle(np.asarray(points, dtype=np.float64)))


# ---------------------------------------------------------------------- helpers


def _interior(fn: ScalarFunction, rng: np.random.Generator, margin: float) -> float:
    low, high = fn.domain
    return float(rng.uniform(low + margin, high - margin))


def _step(rng: np.random.Generator) -> float:
    return float(rng.choice([0.1, 0.2, 0.25]))


def _unchanged(before: np.ndarray, after: np.ndarray, *, name: str) -> None:
    if before.tobytes() == after.tobytes():
        return
    changed = np.argwhere(before != after)
    where = tuple(int(i) for i in changed[0]) if len(changed) else ()
    detail = (f"x{list(where)} was {float(before[where])!r} before the call and "
              f"{float(after[where])!r} after it" if len(changed) else "the bits of x changed")
    raise CheckFailed(
        f"`{name}` modified its argument x in place (x[i] += h): {detail}.\n"
        "Graded functions never modify their arguments, and even `x[i] += h` followed by "
        "`x[i] -= h` does not always restore the same bits. Perturb a copy instead: "
        "`xp = np.array(x, dtype=float); xp[i] += h`."
    )


def _ignored_h(expected_derivative: Any) -> Mistake:
    return Mistake(
        "your answer is the true derivative, not the difference quotient for the step h "
        "that was passed: use the argument h (do not fix your own step inside the function).",
        expected_derivative, _NEAR_DERIVATIVE,
    )


def _shape(got: Any, shape: tuple[int, ...], *, what: str, inputs: dict[str, Any],
           advice: str) -> np.ndarray:
    array = as_float_array(got, what=what)
    if array.shape != shape:
        raise CheckFailed(
            f"{what} has shape {array.shape}, expected shape {shape}.\n"
            f"  input:    {', '.join(f'{k}={fmt(v)}' for k, v in inputs.items())}\n"
            f"  got:      {fmt(array)}\n{advice}"
        )
    return array


# ---------------------------------------------------------- forward_difference


def _scalar_convention_cases(
    rng: np.random.Generator, trials: int, seed_case: tuple[ScalarFunction, float, float],
) -> list[tuple[ScalarFunction, float, float]]:
    cases = [seed_case, (_CUBE, 2.0, 0.5), (_CUBE, -1.0, 0.1)]
    cases += [(fn, _interior(fn, rng, 0.25), _step(rng)) for fn in SCALAR_FUNCTIONS]
    for _ in range(trials):
        fn = SCALAR_FUNCTIONS[int(rng.integers(len(SCALAR_FUNCTIONS)))]
        cases.append((fn, _interior(fn, rng, 0.25), _step(rng)))
    return cases


def _accuracy_points(rng: np.random.Generator, trials: int) -> list[tuple[ScalarFunction, list]]:
    per_function = max(1, trials // 2)
    return [(fn, [_interior(fn, rng, 0.0) for _ in range(per_function)])
            for fn in SCALAR_FUNCTIONS]


def _check_scalar_method(
    student: Callable, *, name: str, key: str, formula: str, default_h: float,
    accuracy: Tolerance, mistakes: Callable[[dict[str, float], float], list[Mistake]],
    accuracy_mistakes: Callable[[ScalarFunction, float, float], list[Mistake]],
    seed_case: tuple[ScalarFunction, float, float], seed: int, trials: int,
) -> int:
    """Convention cases with explicit h, then accuracy with the default h; returns #cases."""
    rng = np.random.default_rng(seed)
    cases = _scalar_convention_cases(rng, trials, seed_case)
    for fn, x, h in cases:
        probe = _Probe(fn)
        inputs = {"f": probe, "x": x, "h": h}
        got = call(student, probe, x, h=h, name=name, inputs=inputs).value
        quotients = _scalar_quotients(fn, x, h)
        exact = float(_batched(_derivative_oracle(fn), [x])[0])
        expect_close(
            got, quotients[key], what=f"{name}(f, x, h)", inputs=inputs,
            tolerance=_CONVENTION,
            mistakes=[*mistakes(quotients, h), _ignored_h(exact)],
            hint=f"the convention is {formula}.",
        )
    count = len(cases)
    for fn, xs in _accuracy_points(rng, trials):
        derivatives = _batched(_derivative_oracle(fn), xs)
        for x, expected in zip(xs, derivatives, strict=True):
            probe = _Probe(fn)
            inputs = {"f": probe, "x": x}
            got = call(student, probe, x, name=name, inputs=inputs).value
            expect_close(
                got, expected, what=f"{name}(f, x) with the default step", inputs=inputs,
                tolerance=accuracy, mistakes=accuracy_mistakes(fn, x, default_h),
                hint=f"with the default step h={default_h:g} the error should stay within "
                f"about {accuracy.rtol:g} (relative) + {accuracy.atol:g}; check that the "
                f"default value of h is {default_h:g} and that you use it.",
            )
            count += 1
    return count


def _difference_mistakes(quotients: dict[str, float], h: float, *, key: str) -> list[Mistake]:
    q = quotients[key]
    named = {
        "forward": "the forward difference (f(x+h) - f(x)) / h",
        "backward": "the backward difference (f(x) - f(x-h)) / h",
        "central": "the central difference (f(x+h) - f(x-h)) / (2h)",
    }
    out = [Mistake(f"you computed {text}; this exercise asks for {named[key]}.", quotients[k])
           for k, text in named.items() if k != key]
    if key == "central":
        out.append(Mistake("you divided by h instead of 2h: the points x-h and x+h are 2h "
                           "apart.", 2 * q))
        out.append(Mistake("you wrote `/ 2 * h`, which divides by 2 and then multiplies by h "
                           "(Python reads it as `(... / 2) * h`); write `/ (2 * h)`.",
                           q * h * h))
    else:
        out.append(Mistake("you divided by 2h: the forward difference divides by h, the "
                           "distance between x and x+h.", q / 2))
        out.append(Mistake("you computed (f(x+h) - f(x-h)) / h, a central difference over "
                           "h instead of 2h.", 2 * quotients["central"]))
    out.append(Mistake("the sign is flipped: subtract in the order f(x+h) - f(...).", -q))
    out.append(Mistake("you forgot to divide by the step h.", q * h))
    return out


def check_forward_difference(forward_difference: Callable, *, seed: int = 0,
                             trials: int = 10) -> None:
    r"""``forward_difference(f, x, h=1e-7)`` equals :math:`(f(x+h) - f(x)) / h`.

    Explicit large steps are compared with the exact quotient (mpmath, 50 digits;
    :math:`24 + 4h = 24.0004` for the x-slice of x**2 * y + y + 2 at (3, 4), h = 1e-4);
    the default step with ``jax.grad`` within 1e-6.
    """
    count = _check_scalar_method(
        forward_difference, name="forward_difference", key="forward",
        formula="(f(x + h) - f(x)) / h", default_h=1e-7, accuracy=_FORWARD,
        mistakes=lambda q, h: _difference_mistakes(q, h, key="forward"),
        accuracy_mistakes=lambda fn, x, h: [],
        seed_case=(_SEED_SLICE, 3.0, 1e-4), seed=seed, trials=trials,
    )
    passed("forward_difference", f"{count} cases: exact quotients for explicit h (24.0004 for "
           "x**2 * y + y + 2 at (3, 4), h = 1e-4) and jax.grad within 1e-6 for the default "
           "h = 1e-7")


# ---------------------------------------------------------- central_difference


def check_central_difference(central_difference: Callable, *, seed: int = 0,
                             trials: int = 10) -> None:
    r"""``central_difference(f, x, h=1e-5)`` equals :math:`(f(x+h) - f(x-h)) / (2h)`.

    Explicit large steps are compared with the exact quotient (mpmath; for x**3 it is
    :math:`3x^2 + h^2`); the default step with ``jax.grad`` within 1e-8.
    """
    count = _check_scalar_method(
        central_difference, name="central_difference", key="central",
        formula="(f(x + h) - f(x - h)) / (2h)", default_h=1e-5, accuracy=_CENTRAL,
        mistakes=lambda q, h: _difference_mistakes(q, h, key="central"),
        accuracy_mistakes=lambda fn, x, h: [],
        seed_case=(_SEED_SLICE, 3.0, 1e-4), seed=seed, trials=trials,
    )
    passed("central_difference", f"{count} cases: exact quotients for explicit h and "
           "jax.grad within 1e-8 for the default h = 1e-5")


# ---------------------------------------------------------------- complex_step


def _complex_mistakes(q: dict[str, float], h: float) -> list[Mistake]:
    return [
        Mistake("you took the real part: the derivative sits in the imaginary part, "
                "Im f(x + ih) / h.", q["complex_real"]),
        Mistake("you returned the real part Re f(x + ih), which is about f(x); the "
                "derivative is Im f(x + ih) / h.", q["complex_real_no_h"]),
        Mistake("you forgot to divide the imaginary part by h.", q["complex_no_h"]),
        Mistake("you took the modulus abs(f(x + ih)) / h; use the imaginary part "
                "(`.imag`).", q["complex_abs"]),
        Mistake("the sign is flipped: evaluate at x + ih (plus), `x + 1j * h`.",
                -q["complex"]),
        Mistake("you divided by 2h: the complex step divides by h.", q["complex"] / 2),
        Mistake("you computed a real difference quotient (f(x+h) - f(x)) / h; the complex "
                "step evaluates f once at the complex point x + ih.", q["forward"]),
        Mistake("you computed a real central difference; the complex step evaluates f once "
                "at the complex point x + ih.", q["central"]),
        Mistake("you added a real step (x + h has no imaginary part, so Im f is 0): "
                "evaluate f at `x + 1j * h`.", 0.0),
    ]


def _complex_accuracy_mistakes(fn: ScalarFunction, x: float, h: float) -> list[Mistake]:
    with np.errstate(all="ignore"):
        z = complex(fn(x + 1j * h, np))
        plain = fn(x + h, np)
    return [
        Mistake("you took the real part: the derivative sits in the imaginary part, "
                "Im f(x + ih) / h.", z.real / h),
        Mistake("you forgot to divide the imaginary part by h.", z.imag),
        Mistake("you added a real step (x + h has no imaginary part, so Im f is 0): "
                "evaluate f at `x + 1j * h`.", np.imag(plain) / h),
    ]


def check_complex_step(complex_step: Callable, *, seed: int = 0, trials: int = 10) -> None:
    r"""``complex_step(f, x, h=1e-20)`` equals :math:`\operatorname{Im} f(x + ih) / h`.

    The test functions accept complex input (numpy). Explicit steps are compared with
    the exact value (mpmath complex arithmetic, 50 digits); the default step with
    ``jax.grad`` within 1e-12, which no real difference quotient reaches.
    """
    rng = np.random.default_rng(seed)
    cases = [(_CUBE, 2.0, 0.5), (_SEED_SLICE, 3.0, 0.25)]
    cases += [(fn, _interior(fn, rng, 0.25), _step(rng)) for fn in SCALAR_FUNCTIONS]
    for _ in range(trials):
        fn = SCALAR_FUNCTIONS[int(rng.integers(len(SCALAR_FUNCTIONS)))]
        cases.append((fn, _interior(fn, rng, 0.25), _step(rng)))
    for fn, x, h in cases:
        probe = _Probe(fn)
        inputs = {"f": probe, "x": x, "h": h}
        got = call(complex_step, probe, x, h=h, name="complex_step", inputs=inputs).value
        q = _scalar_quotients(fn, x, h)
        exact = float(_batched(_derivative_oracle(fn), [x])[0])
        expect_close(
            got, q["complex"], what="complex_step(f, x, h)", inputs=inputs,
            tolerance=_CONVENTION, mistakes=[*_complex_mistakes(q, h), _ignored_h(exact)],
            hint="the convention is Im f(x + ih) / h, i.e. `np.imag(f(x + 1j * h)) / h`.",
        )
    count = len(cases)
    for fn, xs in _accuracy_points(rng, trials):
        for x, expected in zip(xs, _batched(_derivative_oracle(fn), xs), strict=True):
            probe = _Probe(fn)
            inputs = {"f": probe, "x": x}
            got = call(complex_step, probe, x, name="complex_step", inputs=inputs).value
            expect_close(
                got, expected, what="complex_step(f, x) with the default step", inputs=inputs,
                tolerance=_COMPLEX, mistakes=_complex_accuracy_mistakes(fn, x, 1e-20),
                hint="with the default h = 1e-20 the complex step is accurate to about 1e-15: "
                "nothing is subtracted, so there is no cancellation. Check the default "
                "h = 1e-20 and that f is evaluated at `x + 1j * h`.",
            )
            count += 1
    passed("complex_step", f"{count} cases: exact Im f(x + ih) / h for explicit h and "
           "jax.grad within 1e-12 for the default h = 1e-20")


# ------------------------------------------------------------ numeric_gradient


def _array_mistakes(q: dict[str, np.ndarray], h: float, exact: np.ndarray, *,
                    jacobian: bool) -> list[Mistake]:
    c = q["central"]
    out = [
        Mistake("you used forward differences (f(x + h e_i) - f(x)) / h; this exercise asks "
                "for central differences (f(x + h e_i) - f(x - h e_i)) / (2h).", q["forward"]),
        Mistake("you used backward differences; this exercise asks for central differences "
                "(f(x + h e_i) - f(x - h e_i)) / (2h).", q["backward"]),
        Mistake("you divided by h instead of 2h: x - h e_i and x + h e_i are 2h apart.", 2 * c),
        Mistake("the sign is flipped: compute f(x + h e_i) - f(x - h e_i).", -c),
        Mistake("you forgot to divide by 2h.", 2 * h * c),
        Mistake("you wrote `/ 2 * h`, which divides by 2 and then multiplies by h (Python "
                "reads it as `(... / 2) * h`); write `/ (2 * h)`.", c * h * h),
        _ignored_h(exact),
    ]
    if jacobian:
        out.insert(0, Mistake(
            "the result is transposed: entry [i, j] is the derivative of output i with "
            "respect to input j, so column j comes from perturbing x[j].", np.swapaxes(c, 0, 1),
        ))
    return out


def _gradient_cases(rng: np.random.Generator, trials: int):
    cases = [
        (VECTOR_FUNCTIONS[0], np.array([3.0, 4.0]), 1e-4),  # x**2 y + y + 2 at (3, 4): (24, 10)
        (_SUM_CUBES, np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.5]]), 0.5),  # 3 x**2 + h**2
        (_MIXED_2D, rng.uniform(-2, 2, (2, 3)), _step(rng)),
    ]
    cases += [(fn, rng.uniform(-2, 2, fn.n_inputs), _step(rng)) for fn in VECTOR_FUNCTIONS]
    for _ in range(trials):
        fn = VECTOR_FUNCTIONS[int(rng.integers(len(VECTOR_FUNCTIONS)))]
        cases.append((fn, rng.uniform(-2, 2, fn.n_inputs), _step(rng)))
    cases.append((_SUM_CUBES, rng.uniform(-2, 2, (2, 3)), _step(rng)))
    return cases


_GRADIENT_SHAPE_ADVICE = (
    "numeric_gradient returns an array of the same shape as x, one partial derivative per "
    "entry (start from `np.zeros_like(x, dtype=float)` and loop over `np.ndindex(x.shape)`, "
    "which also works for a 2-D x)."
)


def check_numeric_gradient(numeric_gradient: Callable, *, seed: int = 0,
                           trials: int = 8) -> None:
    r"""``numeric_gradient(f, x, h=1e-5)``: central differences per entry, shape of x.

    :math:`g_i = (f(x + h e_i) - f(x - h e_i)) / (2h)` for every entry of x (also 2-D).
    Explicit steps against the exact quotients (mpmath; for ``sum(x**3)`` the closed form
    :math:`3x^2 + h^2`), the default step against ``jax.grad`` within 1e-8. x must be
    bit-for-bit unchanged afterwards.
    """
    rng = np.random.default_rng(seed)
    cases = _gradient_cases(rng, trials)
    evaluations = None
    for fn, x, h in cases:
        x0 = x.copy()
        probe = _Probe(fn)
        inputs = {"f": probe, "x": x, "h": h}
        got = call(numeric_gradient, probe, x, h=h, name="numeric_gradient", inputs=inputs).value
        _unchanged(x0, x, name="numeric_gradient")
        if fn is VECTOR_FUNCTIONS[3] and evaluations is None:
            evaluations = probe.calls
        what = "numeric_gradient(f, x, h)"
        got = _shape(got, x.shape, what=what, inputs=inputs, advice=_GRADIENT_SHAPE_ADVICE)
        q = _vector_quotients(fn, x, h)
        exact = _batched(_gradient_oracle(fn), [x])[0]
        mistakes = _array_mistakes(q, h, exact, jacobian=False)
        if x.ndim == 2:
            mistakes.insert(0, Mistake(
                "you perturbed a whole row of the 2-D x at once (a loop over "
                "`range(len(x))`); perturb one entry at a time, e.g. over "
                "`np.ndindex(x.shape)`.", q["rows"]))
        expect_close(got, q["central"], what=what, inputs=inputs, tolerance=_CONVENTION,
                     mistakes=mistakes,
                     hint="the convention is g_i = (f(x + h e_i) - f(x - h e_i)) / (2h).")
    count = len(cases)
    accuracy = [(fn, [rng.uniform(-2, 2, fn.n_inputs) for _ in range(max(1, trials // 2))])
                for fn in VECTOR_FUNCTIONS]
    accuracy += [(fn, [rng.uniform(-2, 2, shape)]) for fn, shape in _ACCURACY_2D]
    for fn, xs in accuracy:
        for x, expected in zip(xs, _batched(_gradient_oracle(fn), xs), strict=True):
            x0 = x.copy()
            probe = _Probe(fn)
            inputs = {"f": probe, "x": x}
            got = call(numeric_gradient, probe, x, name="numeric_gradient", inputs=inputs).value
            _unchanged(x0, x, name="numeric_gradient")
            what = "numeric_gradient(f, x) with the default step"
            got = _shape(got, x.shape, what=what, inputs=inputs, advice=_GRADIENT_SHAPE_ADVICE)
            expect_close(
                got, expected, what=what, inputs=inputs, tolerance=_central_accuracy(fn, x),
                hint="with the default h = 1e-5 central differences are accurate to about "
                "1e-8 (relative to the size of f); check the default value of h.",
            )
            count += 1
    cost = f"; f evaluated {evaluations} times for n = 4" if evaluations else ""
    passed("numeric_gradient", f"{count} cases (1-D and 2-D x, x unchanged) agree with exact "
           f"central quotients and jax.grad{cost}")


# ------------------------------------------------------------ numeric_jacobian


def _jacobian_cases(rng: np.random.Generator, trials: int):
    cases = [(fn, rng.uniform(-1.5, 1.5, fn.n_inputs), _step(rng)) for fn in _JACOBIAN_FUNCTIONS]
    for _ in range(trials):
        fn = _JACOBIAN_FUNCTIONS[int(rng.integers(len(_JACOBIAN_FUNCTIONS)))]
        cases.append((fn, rng.uniform(-1.5, 1.5, fn.n_inputs), _step(rng)))
    return cases


def _jacobian_shape(got: Any, m: int, n: int, *, what: str, inputs: dict[str, Any]) -> np.ndarray:
    array = as_float_array(got, what=what)
    if array.shape == (n, m) and m != n:
        raise CheckFailed(
            f"{what} has shape {array.shape}, expected ({m}, {n}): your Jacobian is "
            f"transposed.\n  input:    {', '.join(f'{k}={fmt(v)}' for k, v in inputs.items())}\n"
            f"J[i, j] = df_i/dx_j: one row per output (m = {m}) and one column per input "
            f"(n = {n}); column j is (f(x + h e_j) - f(x - h e_j)) / (2h)."
        )
    return _shape(array, (m, n), what=what, inputs=inputs,
                  advice=f"The Jacobian of f: R^{n} -> R^{m} has shape (m, n) = ({m}, {n}).")


def check_numeric_jacobian(numeric_jacobian: Callable, *, seed: int = 0,
                           trials: int = 6) -> None:
    r"""``numeric_jacobian(f, x, h=1e-5)``: :math:`J_{ij} = (f_i(x+he_j) - f_i(x-he_j))/(2h)`.

    Shape (m, n), including m != n and m = 1. Explicit steps against the exact quotients
    (mpmath), the default step against ``jax.jacfwd`` within 1e-8; x unchanged.
    """
    rng = np.random.default_rng(seed)
    cases = _jacobian_cases(rng, trials)
    for fn, x, h in cases:
        x0 = x.copy()
        probe = _Probe(fn)
        inputs = {"f": probe, "x": x, "h": h}
        got = call(numeric_jacobian, probe, x, h=h, name="numeric_jacobian", inputs=inputs).value
        _unchanged(x0, x, name="numeric_jacobian")
        q = _vector_quotients(fn, x, h)
        m, n = q["central"].shape
        what = "numeric_jacobian(f, x, h)"
        got = _jacobian_shape(got, m, n, what=what, inputs=inputs)
        exact = _batched(_jacobian_oracle(fn), [x])[0]
        expect_close(got, q["central"], what=what, inputs=inputs, tolerance=_CONVENTION,
                     mistakes=_array_mistakes(q, h, exact, jacobian=True),
                     hint="the convention is J[i, j] = (f_i(x + h e_j) - f_i(x - h e_j)) / (2h).")
    count = len(cases)
    for fn in _JACOBIAN_FUNCTIONS:
        xs = [rng.uniform(-1.5, 1.5, fn.n_inputs) for _ in range(max(1, trials // 2))]
        for x, expected in zip(xs, _batched(_jacobian_oracle(fn), xs), strict=True):
            x0 = x.copy()
            probe = _Probe(fn)
            inputs = {"f": probe, "x": x}
            got = call(numeric_jacobian, probe, x, name="numeric_jacobian", inputs=inputs).value
            _unchanged(x0, x, name="numeric_jacobian")
            what = "numeric_jacobian(f, x) with the default step"
            got = _jacobian_shape(got, *expected.shape, what=what, inputs=inputs)
            transposed = Mistake("the result is transposed: J[i, j] = df_i/dx_j.",
                                 expected.T, _CENTRAL)
            expect_close(got, expected, what=what, inputs=inputs,
                         tolerance=_central_accuracy(fn, x), mistakes=[transposed],
                         hint="with the default h = 1e-5 central differences are accurate to "
                         "about 1e-8; check the default value of h.")
            count += 1
    passed("numeric_jacobian", f"{count} cases (shapes (m, n) with m != n, x unchanged) agree "
           "with exact central quotients and jax.jacfwd")


# -------------------------------------------------------------- relative_error

_FLOOR = 1e-12


def _relative_error(a, b) -> float:
    """The oracle: max over entries of |a - b| / max(|a| + |b|, 1e-12), with numpy."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), _FLOOR)))


def _relative_error_mistakes(a, b) -> list[Mistake]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d, s = np.abs(a - b), np.abs(a) + np.abs(b)
    na, nb, nd = (float(np.linalg.norm(v.ravel())) for v in (a, b, a - b))
    with np.errstate(all="ignore"):
        return [
            Mistake("you divided norms, ||a - b|| / (||a|| + ||b||); the convention is the "
                    "largest entrywise ratio |a_i - b_i| / max(|a_i| + |b_i|, 1e-12).",
                    nd / max(na + nb, _FLOOR)),
            Mistake("you divided norms without the floor; the convention is entrywise.",
                    nd / (na + nb) if na + nb else np.nan),
            Mistake("you averaged the entrywise ratios; take their maximum.",
                    np.mean(d / np.maximum(s, _FLOOR))),
            Mistake("you took the minimum of the entrywise ratios; take their maximum.",
                    np.min(d / np.maximum(s, _FLOOR))),
            Mistake("you added 1e-12 to the denominator; the convention takes the maximum "
                    "max(|a| + |b|, 1e-12).", np.max(d / (s + _FLOOR))),
            Mistake("you divided without the floor max(|a| + |b|, 1e-12).", np.max(d / s)),
            Mistake("the denominator is max(|a|, |b|); the convention is |a| + |b|.",
                    np.max(d / np.maximum(np.maximum(np.abs(a), np.abs(b)), _FLOOR))),
            Mistake("you divided by |b| only; the convention is symmetric: |a| + |b|.",
                    np.max(d / np.maximum(np.abs(b), _FLOOR))),
            Mistake("you divided by |a| only; the convention is symmetric: |a| + |b|.",
                    np.max(d / np.maximum(np.abs(a), _FLOOR))),
            Mistake("the denominator is |a + b|; the convention is |a| + |b|.",
                    np.max(d / np.maximum(np.abs(a + b), _FLOOR))),
            Mistake("you returned the largest absolute difference max |a - b| without "
                    "dividing.", np.max(d)),
        ]


def _relative_error_cases(rng: np.random.Generator, trials: int) -> list[tuple[Any, Any]]:
    cases: list[tuple[Any, Any]] = [
        (1.0, 1.0),
        (0.0, 0.0),
        # entrywise ratios over |a|, |b|, max(|a|, |b|) and |a| + |b| all peak differently
        (np.array([1.0, 4.0]), np.array([2.0, 1.5])),
        (1.0, 1.1),
        (24.0004, 24.0),
        (-3.0, 3.0),
        (np.array([24.0004, 10.0]), np.array([24.0, 10.0])),
        (np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.5])),
        (np.array([0.0, 1e-13, 5.0]), np.array([0.0, 0.0, 5.0])),
        (np.array([1e6, 1e-3]), np.array([1e6 + 1.0, 2e-3])),
        (np.array([[1.0, -2.0], [0.0, 4.0]]), np.array([[1.0, -2.5], [0.0, 4.0]])),
        (np.zeros(4), np.zeros(4)),
    ]
    for _ in range(trials):
        shape = tuple(int(k) for k in rng.integers(1, 5, size=int(rng.integers(1, 3))))
        a = rng.normal(0, 1, shape) * 10.0 ** rng.integers(-6, 6, shape)
        b = a * (1 + rng.normal(0, 1, shape) * 10.0 ** float(rng.integers(-12, -1)))
        mask = rng.random(shape) < 0.2
        a[mask] = b[mask] = 0.0
        cases.append((a, b))
    return cases


def check_relative_error(relative_error: Callable, *, seed: int = 0, trials: int = 20) -> None:
    r"""``relative_error(a, b)`` is :math:`\max_i |a_i - b_i| / \max(|a_i| + |b_i|, 10^{-12})`.

    Numpy oracle; scalars and arrays, entries where both are zero (0, not nan); a float out;
    arguments unchanged.
    """
    rng = np.random.default_rng(seed)
    cases = _relative_error_cases(rng, trials)
    for a, b in cases:
        a0, b0 = np.array(a, copy=True), np.array(b, copy=True)
        inputs = {"a": a, "b": b}
        try:
            got = call(relative_error, a, b, name="relative_error", inputs=inputs).value
        except CheckFailed as failure:
            if "ZeroDivisionError" in str(failure):
                raise CheckFailed(
                    f"{failure}\n  likely mistake: where a and b are both 0 the denominator "
                    "|a| + |b| is 0; the floor max(|a| + |b|, 1e-12) avoids dividing by zero."
                ) from None
            if "truth value" in str(failure):
                raise CheckFailed(
                    f"{failure}\n  likely mistake: Python's `max` compares whole arrays; use "
                    "the elementwise `np.maximum(np.abs(a) + np.abs(b), 1e-12)` and then "
                    "`np.max` of the ratios."
                ) from None
            raise
        for before, after, arg in ((a0, a, "a"), (b0, b, "b")):
            expect_true(
                np.array_equal(before, np.asarray(after)),
                f"`relative_error` modified its argument `{arg}` in place; work on copies.",
            )
        expect_true(
            np.ndim(got) == 0,
            f"relative_error(a, b) returned an array of shape {np.shape(got)} for "
            f"a={fmt(a)}, b={fmt(b)}; return one float, the maximum over the entries "
            "(`float(np.max(ratios))`).",
        )
        expected = _relative_error(a, b)
        got_array = as_float_array(got, what="relative_error(a, b)")
        if np.isnan(got_array) and np.any((np.asarray(a) == 0) & (np.asarray(b) == 0)):
            raise CheckFailed(
                f"relative_error(a, b) returned nan for a={fmt(a)}, b={fmt(b)}; expected "
                f"{fmt(expected)}.\n  likely mistake: where a and b are both 0, "
                "|a - b| / (|a| + |b|) is 0/0 = nan; the floor max(|a| + |b|, 1e-12) "
                "(`np.maximum`) makes it 0."
            )
        expect_close(got_array, expected, what="relative_error(a, b)", inputs=inputs,
                     tolerance=ANALYTIC, mistakes=_relative_error_mistakes(a, b))
    passed("relative_error", f"{len(cases)} cases (scalars, arrays, zeros) agree with numpy")
