"""Reading the answers of ``grad`` and ``one_neuron_grads``, and the leak test of ``grad``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from course.checking import (
    CheckFailed,
    as_float_array,
    call,
    expect_close,
    expect_true,
    fmt,
)

from .graphs import _GRAD
from .oracles import _leak_example_grads
from .rules import _leak_mistake


def _expect_grad_tuple(result: Any, n: int, *, label: str) -> tuple[float, ...]:
    expect_true(
        isinstance(result, tuple),
        f"grad(f)(...) returned {type(result).__name__} {fmt(result)} for {label}; return a "
        "tuple with one float per argument, e.g. `tuple(v.grad for v in inputs)`.",
    )
    expect_true(
        len(result) == n,
        f"grad(f)(...) returned {len(result)} values for {label}, which takes {n} arguments: "
        "return one partial derivative per argument.",
    )
    for item in result:
        if hasattr(item, "parents") or hasattr(item, "value"):
            raise CheckFailed(
                f"grad(f)(...) returned Vars for {label}; return their gradients as floats "
                "(`v.grad`), not the Vars themselves."
            )
        expect_true(
            isinstance(item, numbers.Real),
            f"grad(f)(...) returned {fmt(result)} for {label}; each entry must be a float.",
        )
    return tuple(float(item) for item in result)


def _grad_function(grad: Callable, f: Callable, label: str | None = None) -> Any:
    """``g = grad(f)``; in grading, a snapshot of it (and in replay, its stand-in)."""
    g = call(grad, f, name="grad", inputs=None if label is None else {"f": label}).value
    call(_require_function, g, name="grad(f)")
    return g


def _require_function(g: Any) -> None:
    """Inside :func:`call`: the g that grad(f) returned is a function."""
    expect_true(callable(g), f"grad(f) returned {fmt(g)}; it must return a function g.")


def _grad_answer(g: Callable, args: list[float], *, label: str) -> tuple[float, ...]:
    """Inside :func:`call`: ``g(*args)``, checked to be a tuple of one float per argument."""
    return _expect_grad_tuple(g(*args), len(args), label=label)


def _first_call_hint(got: Any) -> str | None:
    """What a wrong first answer of g suggests (all zeros: the grads of other Vars)."""
    values = np.asarray(got, dtype=np.float64)
    if values.size and np.all(values == 0.0):
        return ("every partial derivative is 0: the grads were read from Vars that f never "
                "received, or before backward() ran. Make the input Vars, pass those same "
                "Vars to f, call backward() on its result, then read their grads.")
    return None


def _check_no_leak(grad: Callable, m: Any) -> None:
    def f(x, y):
        return x**2 * y + m.sin(x) * y + 2

    g = _grad_function(grad, f)
    first = None
    for x, y in [(3.0, 4.0), (3.0, 4.0), (3.0, 4.0), (-1.0, 0.5)]:
        inputs = {"x": x, "y": y}
        got = call(_grad_answer, g, [x, y], label="f(x, y) = x**2*y + sin(x)*y + 2",
                   name="g", inputs=inputs).value
        expected = _leak_example_grads(x, y)
        mistakes = [] if first is None else [_leak_mistake(first, expected)]
        expect_close(
            got, expected,
            what="grad(f)(x, y)" if first is None else
                 "grad(f)(x, y), called again with the same g",
            inputs=inputs, tolerance=_GRAD, mistakes=mistakes,
            hint=_first_call_hint(got) if first is None else
                 "the first call was right, so something is left over from it: build a new "
                 "graph with new Vars on each call.",
        )
        first = got


def _neuron_answer(result: Any, w: float, b: float, a_prev: float, y: float) -> np.ndarray:
    """Inside :func:`call`: the answer ``result`` as three floats (or why it is not)."""
    got = as_float_array(result, what="one_neuron_grads")
    expect_true(
        got.shape == (3,),
        f"one_neuron_grads({w}, {b}, {a_prev}, {y}) returned {fmt(result)}; return the "
        "three numbers (dC_dw, dC_db, dC_da_prev).",
    )
    return got
