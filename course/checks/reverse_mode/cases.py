"""``var_ops`` and ``var_functions``: each case built from the student's Vars, read with
the checker's own reverse sweep, and compared with ``jax.grad``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from course.checking import (
    Verdict,
    as_float_array,
    call,
    expect_close,
    expect_true,
    fmt,
    guarded,
)
from course.functions import namespace

from .graphs import _GRAD, _edges, _graph_gradients, _new_var, _snapshot, _unchanged, _value
from .oracles import _oracle_table
from .rules import _Case


def _check_cases(Var: type, cases: list[_Case], points: list[np.ndarray], *,
                 namespace_hint: str = "", fns: list[Callable | None] | None = None) -> None:
    """Each case on Vars at each of its points: value and graph gradients against JAX."""
    table = _oracle_table([(c.label, c.jax_fn(), c.arity) for c in cases], points)
    for i, (case, rows, (values, grads)) in enumerate(zip(cases, points, table, strict=True)):
        _check_case(Var, case, rows, values, grads, namespace_hint=namespace_hint,
                    fn=fns[i] if fns else None)


def _case_facts(case: _Case, build: Callable, leaves: list[Any],
                inputs: dict[str, Any]) -> tuple[float, Verdict]:
    """Inside :func:`call`: ``case`` built on the new Vars ``leaves``.

    Returns its value and a verdict on its graph: the gradient read from it, or what is
    wrong with the graph (reported after the value is compared).
    """
    before = [_snapshot(leaf) for leaf in leaves]
    what = f"`{case.label}`"
    out = guarded(build, *leaves, name=case.label, inputs=inputs)
    for leaf, snap in zip(leaves, before, strict=True):
        _unchanged(snap, leaf, what=what)
    got_value = _value(out, what=what)
    expect_true(
        getattr(out, "grad", 0.0) == 0.0,
        f"the result of {what} has grad {fmt(getattr(out, 'grad', None))}; every new Var "
        "starts with grad 0.0 (only backward fills it in).",
    )
    return got_value, Verdict.of(lambda: [float(g) for g in _graph_gradients(
        out, leaves, where=f"the result of {what}")])


def _check_case(Var: type, case: _Case, points: np.ndarray, values: np.ndarray,
                grads: np.ndarray, *, namespace_hint: str = "",
                fn: Callable | None = None) -> None:
    """Build ``case`` on Vars at each point; compare value and graph gradients with JAX."""
    names = ("x", "y")[: case.arity]
    build = fn or case.build
    for row, expected_value, expected_grad in zip(points, values, grads, strict=True):
        args = [float(v) for v in row]
        inputs = dict(zip(names, args, strict=True))
        what = f"`{case.label}`"
        leaves = [_new_var(Var, v) for v in args]
        got_value, graph = call(
            _case_facts, case, build, leaves, inputs, name=case.label, inputs=inputs).value
        expect_close(
            got_value, expected_value, what=f"the value of {what}", inputs=inputs,
            tolerance=_GRAD, mistakes=case.value_mistakes(*args),
        )
        expect_close(
            np.array(graph.unwrap()), expected_grad,
            what=f"the gradient ({', '.join('d/d' + n for n in names)}) of {what} read from "
                 "its graph (the local derivatives in `parents`)",
            inputs=inputs, tolerance=_GRAD, mistakes=case.grad_mistakes(*args),
            hint=namespace_hint or None,
        )


def _new_var_facts(v: Any) -> tuple[np.ndarray, bool, str, Verdict]:
    """Inside :func:`call`: the value of ``v = Var(3.0)``, whether its grad is 0.0 (and how
    it reads), and a verdict on its ``parents``."""
    expect_true(
        hasattr(v, "value") and hasattr(v, "grad"),
        "`Var(3.0)` needs the attributes `value` and `grad`.",
    )
    value = as_float_array(v.value, what="Var(3.0).value")
    grad_is_zero = bool(isinstance(v.grad, numbers.Real) and v.grad == 0.0)
    return value, grad_is_zero, fmt(v.grad), Verdict.check(_edges, v, where="`Var(3.0)`")


def _student_namespace(fns: dict[str, Callable]):
    return namespace(**fns, sqrt=lambda v: v**0.5)
