"""Test functions written once against a math namespace.

Each function takes its inputs and a namespace ``m`` that supplies ``sin``,
``cos``, ``exp``, ``log``, ``tanh`` and ``sqrt``. The same definition then runs on
numpy (including complex inputs for the complex-step method), on ``jax.numpy``
for the oracle, and on a student's own ``Dual`` or ``Var`` types:

>>> from course.functions import SCALAR_FUNCTIONS
>>> f = SCALAR_FUNCTIONS[0]
>>> float(f(1.0))  # numpy by default
-1.0

and ``f.using(jax.numpy)`` is the oracle's view of the same function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

__all__ = [
    "SCALAR_FUNCTIONS",
    "VECTOR_FUNCTIONS",
    "VECTOR_VALUED_FUNCTIONS",
    "ScalarFunction",
    "VectorFunction",
    "namespace",
]


def namespace(**functions: Callable) -> SimpleNamespace:
    """A math namespace from keyword functions, e.g. ``namespace(sin=my_sin, ...)``."""
    return SimpleNamespace(**functions)


@dataclass(frozen=True)
class ScalarFunction:
    """f: R -> R written against a math namespace ``m``; ``domain`` is where it is smooth."""

    label: str
    body: Callable[[Any, Any], Any]
    domain: tuple[float, float] = (-2.0, 2.0)

    def __call__(self, x, m: Any = np):
        return self.body(x, m)

    def using(self, m: Any) -> Callable[[Any], Any]:
        """The same function with the namespace fixed, e.g. ``f.using(jax.numpy)``."""
        def bound(x):
            return self.body(x, m)
        bound.label = self.label  # type: ignore[attr-defined]
        return bound

    def __repr__(self) -> str:
        return f"f(x) = {self.label}"


@dataclass(frozen=True)
class VectorFunction:
    """f: R^n -> R or R^n -> R^m on a 1-D array ``x``, written against ``m``."""

    label: str
    body: Callable[[Any, Any], Any]
    n_inputs: int

    def __call__(self, x, m: Any = np):
        return self.body(x, m)

    def using(self, m: Any) -> Callable[[Any], Any]:
        def bound(x):
            return self.body(x, m)
        bound.label = self.label  # type: ignore[attr-defined]
        return bound

    def __repr__(self) -> str:
        return f"f(x) = {self.label}"


SCALAR_FUNCTIONS: tuple[ScalarFunction, ...] = (
    ScalarFunction("x**3 - 2*x", lambda x, m: x**3 - 2 * x),
    ScalarFunction("sin(x) * exp(x)", lambda x, m: m.sin(x) * m.exp(x)),
    ScalarFunction("exp(-x**2 / 2)", lambda x, m: m.exp(-(x**2) / 2)),
    ScalarFunction("tanh(2*x) + cos(x)", lambda x, m: m.tanh(2 * x) + m.cos(x)),
    ScalarFunction("log(1 + x**2)", lambda x, m: m.log(1 + x**2)),
    ScalarFunction("x / (1 + x**2)", lambda x, m: x / (1 + x**2)),
    ScalarFunction("sqrt(x) * log(x)", lambda x, m: m.sqrt(x) * m.log(x), domain=(0.5, 3.0)),
)


VECTOR_FUNCTIONS: tuple[VectorFunction, ...] = (
    VectorFunction("x0**2 * x1 + x1 + 2", lambda x, m: x[0] ** 2 * x[1] + x[1] + 2, 2),
    VectorFunction(
        "(1 - x0)**2 + 100*(x1 - x0**2)**2  (Rosenbrock)",
        lambda x, m: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2,
        2,
    ),
    VectorFunction(
        "sin(x0) * x1 + exp(x2 / 3) * x0",
        lambda x, m: m.sin(x[0]) * x[1] + m.exp(x[2] / 3) * x[0],
        3,
    ),
    VectorFunction(
        "log(1 + sum(x**2)) + x0*x3", lambda x, m: m.log(1 + (x**2).sum()) + x[0] * x[3], 4
    ),
)


VECTOR_VALUED_FUNCTIONS: tuple[VectorFunction, ...] = (
    VectorFunction(
        "[x0 * x1, sin(x0) + x1**2]",
        lambda x, m: m.stack([x[0] * x[1], m.sin(x[0]) + x[1] ** 2]),
        2,
    ),
    VectorFunction(
        "[exp(x0) * x2, x1 * x2, cos(x0 + x1)]",
        lambda x, m: m.stack([m.exp(x[0]) * x[2], x[1] * x[2], m.cos(x[0] + x[1])]),
        3,
    ),
    VectorFunction(
        "[tanh(x0 - x1), x0**2 + x2]",
        lambda x, m: m.stack([m.tanh(x[0] - x[1]), x[0] ** 2 + x[2]]),
        3,
    ),
)
