"""``check_dual_ops``'s machinery: each rule on its own, then random expressions
compared node by node (the first wrong node names its rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from course.checking import CheckFailed, Verdict, call, fmt

from .duals import (
    COMPOSITE,
    _changed,
    _close,
    _diagnose_pair,
    _dual_report,
    _make_dual,
    _Operand,
    _PairMistake,
    _scalar,
    _show_dual,
    _snapshot,
)
from .generators import _Expr, _fixed_expressions, _random_expressions, _rule_cases
from .oracles import _oracle_expressions, _oracle_ops
from .rules import RULES, _mistakes_for, _Rule


def _operation_failure(rule: _Rule, expr: str, got: tuple[float, float],
                       expected: tuple[float, float], mistakes: Sequence[_PairMistake],
                       context: str = "") -> CheckFailed:
    diagnosis = _diagnose_pair(
        got, expected, mistakes,
        value_hint=f"the value part must be the ordinary result {fmt(expected[0])} of the "
        "operation on the values alone; only the derivative part follows the rule.",
        deriv_hint=f"the {rule.name} is {rule.formula}.",
    )
    return CheckFailed(
        f"{context}`{expr}` is wrong ({rule.label()}).\n"
        f"  expected: {_show_dual(*expected)}\n"
        f"  got:      {_show_dual(*got)}\n"
        f"  rule:     {rule.formula}\n"
        f"  likely mistake: {diagnosis}"
    )


def _student_operands(dual_class: type, left: _Operand, right: _Operand | None
                      ) -> tuple[Any, Any]:
    def build(op: _Operand | None) -> Any:
        if op is None:
            return None
        return _make_dual(dual_class, op.value, op.deriv) if op.is_dual else op.value
    return build(left), build(right)


def _apply_student(rule: _Rule, expr: str, fn: Callable, *args: Any) -> Any:
    """``call(fn, *args)`` for the operation ``expr``, its failures explained by ``rule``."""
    try:
        return call(fn, *args, name=expr).value
    except CheckFailed as failure:
        text = str(failure)
        if "not implemented yet" in text:
            raise CheckFailed(
                f"`{expr}` ({rule.label()}) is not implemented yet: replace "
                "`raise NotImplementedError()` in that method of Dual with your code, run the "
                "cell, then run this check again."
            ) from None
        hint = rule.on_error.format(expr=expr)
        raise CheckFailed(f"{text}\n  ({rule.label()}) {hint}".rstrip()) from None


def _check_operation(dual_class: type, rule: _Rule, left: _Operand,
                     right: _Operand | None, expected: tuple[float, float]) -> None:
    expr = rule.render(left.show(), right.show() if right is not None else None)
    x, y = _student_operands(dual_class, left, right)

    def run() -> tuple[str | None, str | None, Verdict]:
        before_x, before_y = _snapshot(x), _snapshot(y)
        result = rule.apply(x, y)
        changed_x = changed_y = None
        if left.is_dual:
            changed_x = _changed(x, before_x, expr=expr,
                                 name="left operand" if y is not None else "operand")
        if right is not None and right.is_dual:
            changed_y = _changed(y, before_y, expr=expr, name="right operand")
        return changed_x, changed_y, _dual_report(result, dual_class, expr=expr)

    changed_x, changed_y, report = _apply_student(rule, expr, run)
    for problem in (changed_x, changed_y):
        if problem is not None:
            raise CheckFailed(problem)
    got = report.unwrap()
    if not (_close(got[0], expected[0]) and _close(got[1], expected[1])):
        raise _operation_failure(rule, expr, got, expected, _mistakes_for(rule, left, right))


def _check_constructor(dual_class: type) -> None:
    def stored(d: Any) -> tuple[float, float]:
        for attribute in ("value", "deriv"):
            if not hasattr(d, attribute):
                raise CheckFailed(
                    f"Dual(3.0, 4.0) has no attribute `{attribute}`: store the two parts as "
                    "self.value and self.deriv in __init__."
                )
        return (_scalar(d.value, what="Dual(3.0, 4.0).value"),
                _scalar(d.deriv, what="Dual(3.0, 4.0).deriv"))

    report = call(lambda: Verdict.of(lambda: stored(dual_class(3.0, 4.0))), name="Dual",
                  inputs={"value": 3.0, "deriv": 4.0}).value
    got = report.unwrap()
    if got != (3.0, 4.0):
        raise CheckFailed(f"Dual(3.0, 4.0) stores value {got[0]} and deriv {got[1]}; "
                          "expected value 3.0 and deriv 4.0.")
    report = call(lambda: Verdict.of(lambda: (_scalar(getattr(dual_class(3.0), "deriv", None),
                                                      what="Dual(3.0).deriv"),)),
                  name="Dual", inputs={"value": 3.0}).value
    (deriv,) = report.unwrap()
    if deriv != 0.0:
        raise CheckFailed(f"Dual(3.0) has deriv {deriv}: the default is deriv=0.0, a constant.")


def _check_rules(dual_class: type, rng: np.random.Generator, trials: int) -> int:
    """Every rule on its fixed cases, one case of each of its edge kinds and ``trials`` random
    ones; returns the number of cases."""
    _check_constructor(dual_class)
    cases = {rule.key: _rule_cases(rule, rng, trials) for rule in RULES}
    expected = _oracle_ops(cases)
    for rule in RULES:
        for (left, right), want in zip(cases[rule.key], expected[rule.key], strict=False):
            _check_operation(dual_class, rule, left, right, want)
    return sum(len(c) for c in cases.values())


def _arithmetic_problem(dual_class: type) -> str | None:
    """None if the Dual arithmetic passes its own checks, else the failure message."""
    try:
        _check_rules(dual_class, np.random.default_rng(0), trials=1)
    except CheckFailed as failure:
        return str(failure)
    return None


_Ref = tuple[str, Any] | None  # ("node", position in the walk), ("const", c) or None


def _walk_student(expr: _Expr, env: dict[str, Any], out: list[tuple[_Expr, Any, tuple]]
                  ) -> tuple[Any, _Ref]:
    """Evaluate ``expr`` on the student's Duals, one ``call`` per operation.

    Appends ``(node, result, (left_ref, right_ref))`` for every non-constant node in
    post-order and returns the root's result and reference; a reference names a node's
    position in ``out`` or a constant, so that operands are read from the node reports.
    """
    if expr.kind == "var":
        result = env[expr.name]
        out.append((expr, result, ()))
        return result, ("node", len(out) - 1)
    if expr.kind == "const":
        return expr.const, ("const", expr.const)
    rule = expr.rule()
    left, left_ref = _walk_student(expr.left, env, out)  # type: ignore[arg-type]
    right, right_ref = (None, None) if expr.kind == "neg" else _walk_student(
        expr.right, env, out)  # type: ignore[arg-type]
    result = _apply_student(rule, str(expr), rule.apply, left, right)
    out.append((expr, result, (left_ref, right_ref)))
    return result, ("node", len(out) - 1)


def _check_expression(dual_class: type, expr: _Expr, env: dict[str, _Operand],
                      expected: list[tuple[float, float]]) -> None:
    student_env: dict[str, Any] = {}
    before: dict[str, list] = {}
    for name, op in env.items():
        before[name] = []
        student_env[name] = _make_dual(dual_class, op.value, op.deriv, before[name])
    nodes: list[tuple[_Expr, Any, tuple]] = []
    _walk_student(expr, student_env, nodes)

    def inspect() -> tuple[str | None, list[Verdict]]:
        """After the whole walk: a changed operand, else every node's report."""
        for name, d in student_env.items():
            problem = _changed(d, before[name][0], expr=str(expr), name=f"operand {name}")
            if problem is not None:
                return problem, []
        return None, [_dual_report(result, dual_class, expr=str(node))
                      for node, result, _ in nodes]

    changed, reports = call(inspect, name=str(expr)).value
    if changed is not None:
        raise CheckFailed(changed)
    where = (f"In the expression {expr} at x = {env['x'].show()}, y = {env['y'].show()}: ")
    for (node, _, operands), report, want in zip(nodes, reports, expected, strict=True):
        got = report.unwrap()
        if _close(got[0], want[0], COMPOSITE) and _close(got[1], want[1], COMPOSITE):
            continue
        rule = node.rule()
        # Operands are constants or earlier nodes, whose reports passed (post-order).
        shown = [(_Operand(*reports[ref[1]].unwrap()) if ref[0] == "node" else _Operand(ref[1]))
                 for ref in operands if ref is not None]
        left, right = shown[0], (shown[1] if len(shown) > 1 else None)
        raise _operation_failure(rule, str(node), got, want, _mistakes_for(rule, left, right),
                                 context=where)


def _check_expressions(dual_class: type, rng: np.random.Generator, trials: int) -> int:
    cases = _fixed_expressions() + _random_expressions(rng, trials)
    expected = _oracle_expressions(cases)
    for (expr, env), want in zip(cases, expected, strict=True):
        _check_expression(dual_class, expr, env, want)
    return len(cases)
