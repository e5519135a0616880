"""``check_dual_functions``'s machinery: each function on floats and on Duals,
random chains stage by stage, and the course's test functions run on Duals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course.checking import CheckFailed, Verdict, call, fmt
from course.functions import SCALAR_FUNCTIONS, namespace

from .duals import (
    COMPOSITE,
    _changed,
    _close,
    _diagnose_pair,
    _dual_report,
    _make_dual,
    _show_dual,
    _show_number,
    _Shown,
    _snapshot,
)
from .generators import _random_chain
from .oracles import _jvp_functions, _scalar_table
from .rules import FUNCTIONS, _Function, _function_mistakes


def _check_float_path(fn: _Function, student: Callable, dual_class: type, a: float,
                      expected: float) -> None:
    expr = f"{fn.name}({_show_number(a)})"

    def run() -> Verdict:
        result = student(a)
        if isinstance(result, dual_class) or not isinstance(result, float):
            return Verdict(failure=(
                f"`{expr}` returned {type(result).__name__} {fmt(result)}: a function of a "
                f"float must return a float (e.g. math.{fn.name}(x)); only a Dual argument "
                "gives a Dual result."))
        return Verdict(float(result))

    result = call(run, name=fn.name, inputs={"x": a}).value.unwrap()
    if not _close(result, expected):
        raise CheckFailed(f"`{expr}` is wrong.\n  expected: {fmt(expected)}\n"
                          f"  got:      {fmt(result)}")


def _check_dual_path(fn: _Function, student: Callable, dual_class: type, a: float,
                     da: float, expected: tuple[float, float]) -> None:
    expr = f"{fn.name}({_show_dual(a, da)})"
    x = _make_dual(dual_class, a, da)

    def run() -> tuple[str | None, Verdict]:
        before = _snapshot(x)
        result = student(x)
        return (_changed(x, before, expr=expr, name="operand"),
                _dual_report(result, dual_class, expr=expr))

    changed, report = call(run, name=fn.name, inputs={"x": _Shown(_show_dual(a, da))}).value
    if changed is not None:
        raise CheckFailed(changed)
    got = report.unwrap()
    if _close(got[0], expected[0]) and _close(got[1], expected[1]):
        return
    diagnosis = _diagnose_pair(
        got, expected, _function_mistakes(fn, a, da),
        value_hint=f"the value part must be {fn.name}(a) = {fmt(expected[0])}.",
        deriv_hint=f"{fn.name}(a + bε) = {fn.name}(a) + b {fn.derivative} ε.",
    )
    raise CheckFailed(
        f"`{expr}` is wrong (chain rule through {fn.name}).\n"
        f"  expected: {_show_dual(*expected)}\n"
        f"  got:      {_show_dual(*got)}\n"
        f"  rule:     {fn.name}(a + bε) = {fn.name}(a) + b {fn.derivative} ε\n"
        f"  likely mistake: {diagnosis}"
    )


def _check_compositions(functions: dict[str, Callable], dual_class: type,
                        rng: np.random.Generator, count: int) -> None:
    """Random chains such as log(exp(sin(x))) on Duals, stage by stage, against ``jax.jvp``.

    The oracle pushes each chain's dual through ``jax.jvp`` of one function per stage
    (all chains batched per stage).
    """
    chains = [_random_chain(rng) for _ in range(count)]
    oracle: list[list[tuple[float, float]]] = [[(a, da)] for a, da, _ in chains]
    for stage in range(max(len(c) for _, _, c in chains)):
        requests: dict[str, list[tuple[float, float]]] = {fn.name: [] for fn in FUNCTIONS}
        owners: dict[str, list[int]] = {fn.name: [] for fn in FUNCTIONS}
        for k, (_, _, chain) in enumerate(chains):
            if stage < len(chain):
                requests[chain[stage].name].append(oracle[k][-1])
                owners[chain[stage].name].append(k)
        for name, results in _jvp_functions(requests).items():
            for k, pair in zip(owners[name], results, strict=True):
                oracle[k].append(pair)
    for (a, da, chain), expected in zip(chains, oracle, strict=True):
        held = [_make_dual(dual_class, a, da)]  # the current stage's Dual (live only)
        text = "x"
        for fn, want in zip(chain, expected[1:], strict=True):
            text = f"{fn.name}({text})"

            def stage(h: Callable = functions[fn.name], expr: str = text,
                      held: list = held) -> Verdict:
                held[0] = h(held[0])
                return _dual_report(held[0], dual_class, expr=expr)

            got = call(stage, name=fn.name).value.unwrap()
            if not (_close(got[0], want[0], COMPOSITE) and _close(got[1], want[1], COMPOSITE)):
                raise CheckFailed(
                    f"`{text}` at x = {_show_dual(a, da)} is wrong (chain rule through "
                    f"{fn.name}).\n  expected: {_show_dual(*want)}\n"
                    f"  got:      {_show_dual(*got)}\n"
                    f"  likely mistake: {fn.name} of a Dual must use the incoming Dual's value "
                    f"and deriv: {fn.name}(a + bε) = {fn.name}(a) + b {fn.derivative} ε."
                )


def _check_course_functions(functions: dict[str, Callable], dual_class: type,
                            rng: np.random.Generator, points: int) -> int:
    """The course's test functions, written against a namespace ``m``, run on the student's
    Duals (through the student's functions and arithmetic) and on floats; the oracle is
    ``jax.value_and_grad`` of the same functions on ``jax.numpy``.
    """
    m = namespace(**functions, sqrt=lambda d: d**0.5)
    xs = {i: [float(np.round(rng.uniform(*f.domain), 3)) for _ in range(points)]
          for i, f in enumerate(SCALAR_FUNCTIONS)}
    table = _scalar_table(xs)
    count = 0
    for i, f in enumerate(SCALAR_FUNCTIONS):
        for a, (value, deriv) in zip(xs[i], table[i], strict=True):
            expr = f"f(Dual({fmt(a)}, 1.0)) with f(x) = {f.label}"
            x = _make_dual(dual_class, a, 1.0)
            report = call(lambda f=f, x=x, expr=expr: _dual_report(f(x, m), dual_class,
                                                                    expr=expr),
                          name=f"f(x) = {f.label}").value
            got = report.unwrap()
            if not (_close(got[0], value, COMPOSITE) and _close(got[1], deriv, COMPOSITE)):
                raise CheckFailed(f"`{expr}` is wrong.\n  expected: {_show_dual(value, deriv)}"
                                  f"\n  got:      {_show_dual(*got)}")

            def on_float(f: Callable = f, a: float = a) -> tuple[bool, Any]:
                """(True, the float) or (False, how the answer looks in a message)."""
                plain = f(a, m)
                return (True, float(plain)) if isinstance(plain, float) else (False, fmt(plain))

            is_float, plain = call(on_float, name=f"f(x) = {f.label}").value
            if not is_float or not _close(plain, value, COMPOSITE):
                shown = fmt(plain) if is_float else plain
                raise CheckFailed(
                    f"f({fmt(a)}) with f(x) = {f.label} on plain floats returned "
                    f"{shown}; expected the float {fmt(value)}. A function of a float "
                    "must return a float."
                )
            count += 1
    return count
