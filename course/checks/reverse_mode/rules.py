"""The operations and functions on ``Var`` as cases: an expression, its ``jax.numpy``
twin, the domain where it is tested, and the wrong values that typical slips give.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from course.checking import (
    Mistake,
)
from course.functions import VECTOR_FUNCTIONS

# ---------------------------------------------------------------------- var_ops


@dataclass(frozen=True)
class _Case:
    """An expression in x (and y), its jax.numpy twin, where to test it, likely mistakes."""

    label: str
    build: Callable[..., Any]
    arity: int = 1
    domain: str = "any"  # "any", "positive" (x > 0), "nonzero_y", "nonzero_x"
    value_mistakes: Callable[..., list[Mistake]] = lambda *_: []
    grad_mistakes: Callable[..., list[Mistake]] = lambda *_: []
    oracle: Callable[..., Any] | None = None

    def jax_fn(self) -> Callable:
        return self.oracle or self.build


def _op_cases() -> list[_Case]:
    """The operators alone; the ones others are often built from (+, *, -x, **) first."""
    M = Mistake
    return [
        _Case("x + y", lambda x, y: x + y, 2, grad_mistakes=lambda x, y, *_: [
            M("`x + y` must record both parents, each with local derivative 1; one is missing.",
              [1.0, 0.0]),
            M("`x + y` must record both parents, each with local derivative 1; one is missing.",
              [0.0, 1.0]),
        ]),
        _Case("x + 2", lambda x: x + 2),
        _Case("2 + x", lambda x: 2 + x, grad_mistakes=lambda *_: [
            M("`2 + x` calls `x.__radd__(2)`: its local derivative with respect to x is 1.",
              [0.0]),
        ]),
        _Case("x * y", lambda x, y: x * y, 2, grad_mistakes=lambda x, y, *_: [
            M("product rule: d(x*y)/dx is the *other* factor y, and d(x*y)/dy is x; you "
              "stored each factor's own value.", [x, y]),
            M("multiplication's local derivatives are the other factor's value, not 1.",
              [1.0, 1.0]),
            M("`x * y` must record both parents: d(x*y)/dx = y and d(x*y)/dy = x.", [y, 0.0]),
            M("`x * y` must record both parents: d(x*y)/dx = y and d(x*y)/dy = x.", [0.0, x]),
        ]),
        _Case("3 * x", lambda x: 3 * x, grad_mistakes=lambda *_: [
            M("`3 * x` calls `x.__rmul__(3)`: its local derivative with respect to x is 3.",
              [1.0]),
        ]),
        _Case("x * 3", lambda x: x * 3, grad_mistakes=lambda x, *_: [
            M("the local derivative of `x * 3` with respect to x is 3 (the other factor), not "
              "x.", [x]),
        ]),
        _Case("x * x", lambda x: x * x, grad_mistakes=lambda x, *_: [
            M("only one edge of `x * x` reached x. The result has the parent x twice, "
              "(x, x.value) and (x, x.value): keep both pairs (a dict or set keyed by the "
              "parent drops the duplicate), so the sweep adds up 2x.", [x]),
        ]),
        _Case("x + x", lambda x: x + x, grad_mistakes=lambda *_: [
            M("only one edge of `x + x` reached x: keep both (x, 1.0) pairs in `parents`.",
              [1.0]),
        ]),
        _Case("-x", lambda x: -x, value_mistakes=lambda x: [
            M("`-x` returned x unchanged.", x),
        ], grad_mistakes=lambda *_: [
            M("the local derivative of `-x` is -1, not +1.", [1.0]),
        ]),
        *[_power_case(p) for p in (2, 3, 0.5, -1)],
        _Case("x - y", lambda x, y: x - y, 2, grad_mistakes=lambda *_: [
            M("the local derivative of `x - y` with respect to y is -1, not +1.", [1.0, 1.0]),
            M("the signs are swapped: d(x - y)/dx = 1 and d(x - y)/dy = -1.", [-1.0, 1.0]),
        ], value_mistakes=lambda x, y: [
            M("`x - y` computed y - x.", y - x),
            M("`x - y` computed x + y.", x + y),
        ]),
        _Case("x - 2.5", lambda x: x - 2.5, value_mistakes=lambda x: [
            M("`x - 2.5` computed 2.5 - x.", 2.5 - x),
        ]),
        _Case("2.5 - x", lambda x: 2.5 - x, value_mistakes=lambda x: [
            M("`2.5 - x` calls `x.__rsub__(2.5)`, which must compute other - self = 2.5 - x; "
              "you computed self - other = x - 2.5.", x - 2.5),
        ], grad_mistakes=lambda *_: [
            M("`2.5 - x` decreases as x grows: the local derivative of `__rsub__` with respect "
              "to x is -1, not +1 (rsub sign).", [1.0]),
        ]),
        _Case("x / y", lambda x, y: x / y, 2, "nonzero_y", value_mistakes=lambda x, y: [
            M("`x / y` computed y / x.", y / x if x != 0 else math.inf),
        ], grad_mistakes=lambda x, y, *_: [
            M("quotient rule sign: d(x/y)/dy = -x/y**2, not +x/y**2.", [1 / y, x / y**2]),
            M("d(x/y)/dy = -x/y**2: you dropped the factor x.", [1 / y, -1 / y**2]),
            M("d(x/y)/dy = -x/y**2: y must be squared.", [1 / y, -x / y]),
            M("d(x/y)/dx = 1/y, not y.", [y, -x / y**2]),
        ]),
        _Case("x / 4", lambda x: x / 4, grad_mistakes=lambda *_: [
            M("the local derivative of `x / 4` with respect to x is 1/4, not 4.", [4.0]),
        ]),
        _Case("3 / x", lambda x: 3 / x, domain="nonzero_x", value_mistakes=lambda x: [
            M("`3 / x` calls `x.__rtruediv__(3)`, which must compute other / self = 3 / x; "
              "you computed self / other = x / 3.", x / 3),
        ], grad_mistakes=lambda x, *_: [
            M("d(3/x)/dx = -3/x**2: the sign is missing.", [3 / x**2]),
            M("d(3/x)/dx = -3/x**2: you dropped the factor 3.", [-1 / x**2]),
            M("you differentiated x / 3 instead of 3 / x.", [1 / 3]),
        ]),
    ]


def _power_case(p: float) -> _Case:
    def build(x):
        return x**p

    def mistakes(x, *_):
        found = [
            Mistake(f"power rule: d(x**p)/dx = p * x**(p - 1); you dropped the factor p = {p}.",
                    [x ** (p - 1)]),
            Mistake("power rule: d(x**p)/dx = p * x**(p - 1); the exponent must drop by one.",
                    [p * x**p]),
        ]
        if p != 2:
            found.append(Mistake("power rule: d(x**p)/dx = p * x**(p - 1), not p * x.", [p * x]))
        return found

    domain = "positive" if p == 0.5 else ("nonzero_x" if p < 0 else "any")
    return _Case(f"x ** {p}", build, domain=domain, grad_mistakes=mistakes)


def _bind(function: Any, m: Any) -> Callable:
    """``function`` of the course's test functions with its math namespace fixed."""
    def bound(*args):
        return function(*args, m)
    return bound


def _composite_cases() -> list[_Case]:
    cases = [
        _Case("x**2*y + y + 2", lambda x, y: x**2 * y + y + 2, 2),
        _Case("(x - y) / (1 + y**2)", lambda x, y: (x - y) / (1 + y**2), 2),
        _Case("-(3 - x * y) / 2 + x**3", lambda x, y: -(3 - x * y) / 2 + x**3, 2),
    ]
    for function in VECTOR_FUNCTIONS[:2]:  # polynomials: operators only
        cases.append(_Case(function.label, _pair(function), 2))
    return cases


def _pair(function: Any) -> Callable:
    """A vector test function of two inputs, called as f(x, y)."""
    def f(x, y):
        return function.body([x, y], None)
    return f


# ---------------------------------------------------------------- var_functions

_FUNCTION_NAMES = ("sin", "cos", "exp", "log", "tanh", "relu")


def _function_cases(fns: dict[str, Callable]) -> list[_Case]:
    from course.oracle import jax, jnp

    M = Mistake

    def relu_mistakes(x, *_):
        if x == 0:
            return [M("relu'(0) = 0 by the course's convention (as in JAX and PyTorch): test "
                      "`x.value > 0`, not `>=`.", [1.0])]
        return [
            M("relu' is 1 for x > 0 and 0 otherwise; you stored relu(x) itself.",
              [max(x, 0.0)]),
            M("relu' is 1 for x > 0 and 0 for x < 0, not the other way round.",
              [float(x < 0)]),
        ]

    table = {
        "sin": (jnp.sin, "any", lambda x, *_: [
            M("sin' = cos, not -cos.", [-math.cos(x)]),
            M("the local derivative of sin is cos(x); you stored sin(x).", [math.sin(x)]),
        ]),
        "cos": (jnp.cos, "any", lambda x, *_: [
            M("cos' = -sin: the minus sign is missing.", [math.sin(x)]),
            M("the local derivative of cos is -sin(x); you stored cos(x).", [math.cos(x)]),
        ]),
        "exp": (jnp.exp, "any", lambda x, *_: [
            M("the local derivative of exp is exp(x), not 1.", [1.0]),
            M("exp' = exp: the local derivative is exp(x), not x * exp(x - 1).",
              [x * math.exp(x - 1)]),
        ]),
        "log": (jnp.log, "positive", lambda x, *_: [
            M("log' = 1/x; you stored log(x).", [math.log(x)]),
            M("log' = 1/x, not x.", [x]),
            M("log' = 1/x, not -1/x.", [-1 / x]),
            M("log' = 1/x, not 1/x**2.", [1 / x**2]),
        ]),
        "tanh": (jnp.tanh, "any", lambda x, *_: [
            M("tanh' = 1 - tanh**2, not 1 + tanh**2.", [1 + math.tanh(x) ** 2]),
            M("tanh' = 1 - tanh(x)**2: the tanh must be squared.", [1 - math.tanh(x)]),
            M("tanh' = 1 - tanh(x)**2 (= 1/cosh(x)**2), not 1/cosh(x).",
              [1 / math.cosh(x)]),
            M("the local derivative of tanh is 1 - tanh(x)**2; you stored tanh(x).",
              [math.tanh(x)]),
            M("tanh' = 1 - tanh(x)**2 is computed from tanh(x), not from x: 1 - x**2 is wrong.",
              [1 - x**2]),
        ]),
        "relu": (jax.nn.relu, "relu", relu_mistakes),
    }
    cases = []
    for name in _FUNCTION_NAMES:
        oracle, domain, mistakes = table[name]
        value_mistakes = (lambda x: [
            Mistake("relu(x) = max(x, 0): negative inputs give 0.", x),
        ]) if name == "relu" else (lambda *_: [])
        cases.append(_Case(f"{name}(x)", fns[name], 1, domain, value_mistakes, mistakes,
                           oracle=oracle))
    return cases


def _leak_mistake(previous: Any, expected: Any) -> Mistake:
    return Mistake(
        "gradients leaked between calls: this call's answer includes the previous call's. "
        "Create fresh input Vars inside g on every call (a new graph each time); never reuse "
        "Vars whose grad was already filled.",
        np.asarray(previous, dtype=np.float64) + np.asarray(expected, dtype=np.float64),
    )


# ------------------------------------------------------------ grad and one neuron


def _sigmoid(z: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * z))
