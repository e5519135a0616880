"""The JAX oracles of lesson 04, declared in :mod:`course.oracle`.

``jax.jvp`` gives the value and derivative of every rule and of every elementary function;
random expressions go node by node through the same rules (forward mode is exactly that
composition); ``jax.value_and_grad`` gives what ``derivative`` and ``forward_gradient`` must
return on the course's test functions. Each is one :func:`course.oracle.table`: all its keys
in one compiled call, padded to 16 rows (more rows go in chunks of 16), so each compiles
once per process.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from course import oracle
from course.functions import SCALAR_FUNCTIONS, VECTOR_FUNCTIONS

from .duals import _Operand
from .generators import _FIXED, _Expr, _random_family
from .rules import _PY_OPS, FUNCTIONS, RULES

#: Every table is evaluated in batches of 16 rows.
_SIZES = (16,)

Row = tuple[Any, ...]


def _table(name: str, make: oracle.Maker, rows: Mapping[Hashable, Sequence[Row]],
           pads: Mapping[Hashable, Row]) -> dict[Hashable, list[Row]]:
    """``oracle.table`` with its outputs regrouped by row: ``{key: [outputs of row i]}``,
    an empty list for a key without rows."""
    out = oracle.table(("forward_mode", name), make, rows, pads, sizes=_SIZES)
    return {key: list(zip(*out[key], strict=True)) if key in out else [] for key in rows}


def _floats(rows: list[Row]) -> list[tuple[float, ...]]:
    return [tuple(float(v) for v in row) for row in rows]


# ------------------------------------------------------------------ rules


def _rules_jvp(jax, jnp) -> Callable:
    """``jax.jvp`` of every rule on whole columns: ``{key: (L, dL, R, dR)} -> {key: (v, d)}``.

    Plain numbers are closed over, so they are constants with no tangent (their ``dL`` or
    ``dR`` entries are ignored).
    """
    def jvps(batch):
        out = {}
        for rule in RULES:
            key, op = rule.key, _PY_OPS[rule.symbol]
            l, dl, r, dr = batch[key]
            if rule.right_dual is None:
                out[key] = jax.jvp(lambda u: -u, (l,), (dl,))
            elif rule.left_dual and rule.right_dual:
                out[key] = jax.jvp(op, (l, r), (dl, dr))
            elif rule.left_dual:
                out[key] = jax.jvp(lambda u, r=r, op=op: op(u, r), (l,), (dl,))
            else:
                out[key] = jax.jvp(lambda v, l=l, op=op: op(l, v), (r,), (dr,))
        return out

    return jvps


def _oracle_row(left: _Operand, right: _Operand | None) -> tuple[float, float, float, float]:
    """``(L, dL, R, dR)`` for the rules oracle; a plain number's derivative entry is unused."""
    return (float(left.value), float(left.deriv or 0.0),
            float(right.value) if right else 0.0, float(right.deriv or 0.0) if right else 0.0)


#: A row inside every rule's domain (its first fixed case): every rule is always evaluated.
_RULE_PADS = {rule.key: _oracle_row(*_FIXED[rule.key][0]) for rule in RULES}


def _rules_table(rows: Mapping[str, Sequence[Row]], pads: Mapping[str, Row] = _RULE_PADS
                 ) -> dict[str, list[tuple[float, ...]]]:
    return {key: _floats(out) for key, out in
            _table("rules", _rules_jvp, rows, pads).items()}


def _oracle_ops(cases: dict[str, list[tuple[_Operand, _Operand | None]]]
                ) -> dict[str, list[tuple[float, float]]]:
    """``(value, deriv)`` of every case of every rule by ``jax.jvp``."""
    rows = {key: [_oracle_row(*case) for case in key_cases] for key, key_cases in cases.items()}
    return _rules_table(rows)  # type: ignore[return-value]


# ------------------------------------------------------------------ expressions


def _flatten(expr: _Expr) -> list[tuple[_Expr, int | None, int | None, int]]:
    """Non-constant nodes in post-order (as ``_walk_student`` visits them), each with the
    positions of its non-constant children and its height above the leaves."""
    out: list[tuple[_Expr, int | None, int | None, int]] = []

    def visit(node: _Expr) -> int | None:
        if node.kind == "const":
            return None
        if node.kind == "var":
            out.append((node, None, None, 0))
            return len(out) - 1
        left = visit(node.left)  # type: ignore[arg-type]
        right = visit(node.right) if node.kind == "bin" else None  # type: ignore[arg-type]
        height = 1 + max((out[i][3] for i in (left, right) if i is not None), default=0)
        out.append((node, left, right, height))
        return len(out) - 1

    visit(expr)
    return out


def _oracle_expressions(cases: list[tuple[_Expr, dict[str, _Operand]]]
                        ) -> list[list[tuple[float, float]]]:
    """``(value, deriv)`` of every non-constant node of every expression (post-order).

    The nodes of one height, across all expressions, go through the batched ``jax.jvp``
    of their rules in one call, fed with the oracle's own values for their operands:
    forward mode is exactly this composition, and no new compilation is needed.
    """
    flats = [_flatten(expr) for expr, _ in cases]
    results: list[list[tuple[float, float]]] = [[(math.nan, math.nan)] * len(f) for f in flats]
    for t, (flat, (_, env)) in enumerate(zip(flats, cases, strict=True)):
        for i, (node, *_rest) in enumerate(flat):
            if node.kind == "var":
                op = env[node.name]
                results[t][i] = (float(op.value), float(op.deriv or 0.0))
    pad = _RULE_PADS
    top = max((entry[3] for flat in flats for entry in flat), default=0)
    for height in range(1, top + 1):
        rows: dict[str, list[tuple]] = {rule.key: [] for rule in RULES}
        owners: dict[str, list[tuple[int, int]]] = {rule.key: [] for rule in RULES}
        for t, flat in enumerate(flats):
            for i, (node, li, ri, h) in enumerate(flat):
                if h != height:
                    continue
                left = results[t][li] if li is not None else (float(node.left.const), 0.0)
                if node.kind == "neg":
                    right = (0.0, 0.0)
                else:
                    right = (results[t][ri] if ri is not None
                             else (float(node.right.const), 0.0))
                key = node.rule().key
                rows[key].append((*left, *right))
                owners[key].append((t, i))
        out = _rules_table(rows, pad)
        for key, pairs in out.items():
            for (t, i), (v, d) in zip(owners[key], pairs, strict=True):
                results[t][i] = (float(v), float(d))
    return results


# ------------------------------------------------------------------ functions


def _functions_jvp(jax, jnp) -> Callable:
    """``jax.jvp`` of the five functions on whole columns: ``{name: (A, dA)} -> {name: (v, d)}``."""
    def jvps(cases):
        return {name: jax.jvp(getattr(jnp, name), (a,), (da,)) for name, (a, da) in
                cases.items()}

    return jvps


def _jvp_functions(cases: dict[str, list[tuple[float, float]]]
                   ) -> dict[str, list[tuple[float, float]]]:
    """``(value, deriv)`` of ``name(a + da ε)`` for every listed case."""
    # Every name is always evaluated (padded with a point inside every domain), so one
    # compilation serves all calls.
    rows = {fn.name: list(cases.get(fn.name, [])) for fn in FUNCTIONS}
    out = _table("functions", _functions_jvp, rows, dict.fromkeys(rows, (0.5, 0.0)))
    return {name: _floats(pairs) for name, pairs in out.items()}  # type: ignore[misc]


# ------------------------------------------------------------------ test functions


def _scalar_values_and_grads(jax, jnp) -> Callable:
    """``{index: (xs,)} -> {index: (f(xs), f'(xs))}`` over ``SCALAR_FUNCTIONS``."""
    def table(batch):
        return {i: jax.vmap(jax.value_and_grad(SCALAR_FUNCTIONS[i].using(jnp)))(xs)
                for i, (xs,) in batch.items()}

    return table


def _vector_values_and_grads(jax, jnp) -> Callable:
    """``{index: (X,)} -> {index: (f(X), grad f(X))}`` over ``VECTOR_FUNCTIONS``."""
    def table(batch):
        return {i: jax.vmap(jax.value_and_grad(VECTOR_FUNCTIONS[i].using(jnp)))(X)
                for i, (X,) in batch.items()}

    return table


def _family_values_and_grads(jax, jnp) -> Callable:
    """``{0: (w, u, last, n, X)} -> {0: (f(X), grad f(X))}`` for the padded random family."""
    def table(batch):
        w, u, last, n, X = batch[0]
        f = jax.value_and_grad(lambda v, *p: _random_family(p, v, jnp))
        return {0: jax.vmap(f)(X, w, u, last, n)}

    return table


def _scalar_table(xs: dict[int, list[float]]) -> dict[int, list[tuple[float, float]]]:
    """``(f(x), f'(x))`` for every listed x of every course test function (index -> xs)."""
    rows = {i: [(x,) for x in xs.get(i, [])] for i in range(len(SCALAR_FUNCTIONS))}
    pad = {i: (0.5 * sum(f.domain),) for i, f in enumerate(SCALAR_FUNCTIONS)}
    out = _table("scalar functions", _scalar_values_and_grads, rows, pad)
    return {i: _floats(pairs) for i, pairs in out.items()}  # type: ignore[misc]


def _vector_table(points: dict[int, list[np.ndarray]]
                  ) -> dict[int, list[tuple[float, np.ndarray]]]:
    """``(f(x), grad f(x))`` at every listed x of the listed vector test functions."""
    rows = {i: [(np.asarray(x, dtype=np.float64),) for x in xs] for i, xs in points.items()}
    out = _table("vector functions", _vector_values_and_grads, rows,
                 {i: r[0] for i, r in rows.items()})
    return {i: [(float(v), np.asarray(g)) for v, g in pairs]  # type: ignore[misc]
            for i, pairs in out.items()}


def _family_table(family: list[Row]) -> list[tuple[float, np.ndarray]]:
    """``(f(x), grad f(x))`` of each member ``(w, u, last, n, x)`` of the random family."""
    if not family:
        return []
    out = _table("family", _family_values_and_grads, {0: family}, {0: family[0]})
    return [(float(v), np.asarray(g)) for v, g in out[0]]
