r"""Checkers for lesson 05-reverse-mode.

Oracles: JAX (``jax.grad`` in float64) for every derivative of a function, and
``numpy.linalg.solve`` for the adjoints of random graphs given by their local
derivatives: with :math:`L_{cp} = \partial v_c / \partial v_p` summed over the edges
:math:`p \to c`, the adjoints solve :math:`(I - L^\top)\,\bar v = e_{\text{out}}`.

The lesson's ``Var`` records its graph in ``self.parents``: a tuple of
``(parent, local_derivative)`` pairs, where ``local_derivative`` is the float
:math:`\partial\,\text{self} / \partial\,\text{parent}`. Two consequences shape the checks:

* ``var_ops`` and ``var_functions`` are read with the checker's own reverse sweep
  (:func:`_graph_gradients`), so each operator's local derivatives are checked in
  isolation, before and independently of the student's ``backward``;
* ``backward`` runs first on graphs the checker builds itself (a subclass of the
  student's ``Var`` whose ``grad`` counts its writes), so it is checked without the
  student's operators, and repeated work is caught by counting, not by waiting.

Replay (:mod:`course.recording`): the student's functions and class are called through
:func:`~course.checking.call` under their own names; everything else that touches the
student's objects -- building a graph, walking ``parents``, running ``backward`` and
reading the ``grad`` it left, the recursion limit and the write counter -- happens inside
a ``call`` of one of the checker's functions (named after what it does, not after an
exercise) that returns plain numbers and, where a later comparison must be reported
first, the failure message it met. Outside ``call`` the checkers only compare those
numbers with their oracles, so grading's replay, where nothing of the student's runs,
reaches the same verdict.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import numbers
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from course.checking import (
    CheckFailed,
    Mistake,
    Tolerance,
    Verdict,
    as_float_array,
    call,
    expect_close,
    expect_true,
    fmt,
    guarded,
    passed,
)
from course.functions import SCALAR_FUNCTIONS, VECTOR_FUNCTIONS, namespace

__all__ = [
    "check_backward",
    "check_grad",
    "check_one_neuron_grads",
    "check_var_functions",
    "check_var_ops",
]

#: Gradients through a few operations: round-off only, but allow for 1/x**2 and friends.
_GRAD = Tolerance(rtol=1e-9, atol=1e-12)
#: Depth of the deep chain that a recursive topological sort cannot handle.
DEEP = 20_000
#: Diamonds in a row for the repeated-work test: 2**DIAMONDS paths, 4 * DIAMONDS edges.
DIAMONDS = 16
#: Recursion limit while the student's backward runs (never above the interpreter's own).
_RECURSION_LIMIT = 5_000
_MAX_NODES = 2_000_000

_PARENTS_FORMAT = (
    "Every Var keeps its graph edges in `self.parents`: a tuple of "
    "(parent, local_derivative) pairs, e.g. `Var(a.value * b.value, ((a, b.value), (b, "
    "a.value)))`, and `()` for an input."
)


# --------------------------------------------------------------- reading graphs


def _edges(node: Any, *, where: str) -> list[tuple[Any, float]]:
    """The ``(parent, local_derivative)`` pairs of a student's node, validated."""
    if not hasattr(node, "parents"):
        raise CheckFailed(f"{where} has no attribute `parents`. {_PARENTS_FORMAT}")
    try:
        items = list(node.parents)
    except TypeError:
        raise CheckFailed(
            f"{where}.parents is {fmt(node.parents)}, which is not a tuple. {_PARENTS_FORMAT}"
        ) from None
    edges = []
    for item in items:
        try:
            parent, local = item
        except (TypeError, ValueError):
            raise CheckFailed(
                f"{where}.parents contains {fmt(item)}, not a (parent, local_derivative) pair. "
                f"{_PARENTS_FORMAT}"
            ) from None
        if not hasattr(parent, "value"):
            raise CheckFailed(
                f"{where}.parents contains the pair {fmt(item)} whose first element is not a "
                f"Var (it has no `.value`). {_PARENTS_FORMAT}"
            )
        if hasattr(local, "value") or hasattr(local, "parents"):
            raise CheckFailed(
                f"{where}.parents stores a local derivative as a Var. Store the number: "
                "for `a * b` the pair is `(a, b.value)`, not `(a, b)`."
            )
        try:
            local = float(local)
        except (TypeError, ValueError):
            raise CheckFailed(
                f"{where}.parents stores the local derivative {fmt(local)}, which is not a "
                "number."
            ) from None
        edges.append((parent, local))
    return edges


def _topological(output: Any, *, where: str) -> list[Any]:
    """Nodes reachable from ``output``, each once, inputs before the nodes using them."""
    order, state = [], {}
    stack = [(output, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            state[id(node)] = 2
            order.append(node)
            continue
        if id(node) in state:
            continue
        state[id(node)] = 1
        stack.append((node, True))
        for parent, _ in _edges(node, where=where if node is output else f"a node below {where}"):
            if state.get(id(parent)) == 1:
                raise CheckFailed(f"the graph of {where} has a cycle: a node is its own parent.")
            if id(parent) not in state:
                stack.append((parent, False))
        if len(state) > _MAX_NODES:
            raise CheckFailed(f"the graph of {where} has more than {_MAX_NODES} nodes.")
    return order


def _graph_gradients(output: Any, leaves: list[Any], *, where: str) -> list[float]:
    """d output / d leaf for each leaf, by the checker's own reverse sweep over ``parents``.

    The student's ``.grad`` attributes are neither read nor written.
    """
    adjoint = {id(output): 1.0}
    for node in reversed(_topological(output, where=where)):
        bar = adjoint.get(id(node), 0.0)
        for parent, local in _edges(node, where=where):
            adjoint[id(parent)] = adjoint.get(id(parent), 0.0) + local * bar
    return [adjoint.get(id(leaf), 0.0) for leaf in leaves]


def _value(node: Any, *, what: str) -> float:
    if not hasattr(node, "value"):
        raise CheckFailed(
            f"{what} returned {type(node).__name__} {fmt(node)}, not a Var. Operators and "
            "functions on Vars must return a new Var (value and parents), so that the graph "
            "is recorded."
        )
    return float(as_float_array(node.value, what=f"{what}.value"))


def _require_class(Var: Any) -> None:
    def inspect() -> None:  # in the kernel: in replay, Var is a stand-in, not a class
        expect_true(
            isinstance(Var, type),
            f"pass your class `Var` itself (got {type(Var).__name__} {fmt(Var)}).",
        )

    call(inspect, name="your class Var")


def _new_var(Var: type, value: float) -> Any:
    return call(Var, value, name="Var", inputs={"value": value}).value


def _snapshot(node: Any) -> tuple:
    parents = getattr(node, "parents", ())
    try:
        ids = tuple(id(p) for p, _ in parents)
    except (TypeError, ValueError):
        ids = None
    return (getattr(node, "value", None), getattr(node, "grad", None), ids)


def _unchanged(before: tuple, node: Any, *, what: str) -> None:
    expect_true(
        _snapshot(node) == before,
        f"{what} changed one of its operands (value, grad or parents). Operations build a "
        "new Var and leave their inputs untouched.",
    )


_ORACLES: dict[tuple, Callable] = {}


def _oracle_table(specs: list[tuple[str, Callable, int]],
                  points: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Values and gradients of each ``(key, fn, arity)`` at the rows of its points.

    ``fn`` is written with jax.numpy; all of them are evaluated by one jitted function
    (``jax.vmap`` of ``jax.value_and_grad``), compiled once per set of keys and sizes.
    """
    from course.oracle import jax, jnp

    cache_key = tuple((key, arity, len(p)) for (key, _, arity), p in
                      zip(specs, points, strict=True))
    compiled = _ORACLES.get(cache_key)
    if compiled is None:
        batched = [jax.vmap(jax.value_and_grad(fn, argnums=tuple(range(arity))))
                   for _, fn, arity in specs]

        def everything(*arrays):
            return [f(*(a[:, i] for i in range(a.shape[1])))
                    for f, a in zip(batched, arrays, strict=True)]

        compiled = _ORACLES[cache_key] = jax.jit(everything)
    results = compiled(*(jnp.asarray(p, dtype=jnp.float64) for p in points))
    return [(np.asarray(values, dtype=np.float64),
             np.stack([np.asarray(g, dtype=np.float64) for g in grads], axis=1))
            for values, grads in results]


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


def _points(rng: np.random.Generator, case: _Case, fixed: list[tuple[float, ...]],
            trials: int) -> np.ndarray:
    rows = [row[: case.arity] for row in fixed]
    for _ in range(trials):
        rows.append(tuple(rng.uniform(-3, 3, case.arity)))
    points = np.array(rows, dtype=np.float64)
    if case.domain == "positive":
        points[:, 0] = np.abs(points[:, 0]) + 0.25
    elif case.domain == "nonzero_x":
        points[:, 0] = np.where(points[:, 0] < 0, -1, 1) * (np.abs(points[:, 0]) + 0.25)
    elif case.domain == "nonzero_y":
        points[:, 1] = np.where(points[:, 1] < 0, -1, 1) * (np.abs(points[:, 1]) + 0.25)
    return points


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


def check_var_ops(Var: type, *, seed: int = 0, trials: int = 10) -> None:
    r"""``Var`` records + - * / ** and unary - with the right values and local derivatives.

    Each operator is tested alone (Vars and plain numbers on either side), then in
    expressions, including the seed :math:`x^2 y + y + 2` (42, with gradient (24, 10) at
    (3, 4)). Gradients are read from the graph by the checker's own reverse sweep over
    ``parents`` and compared with ``jax.grad``.
    """
    _require_class(Var)
    v = _new_var(Var, 3.0)
    value, grad_is_zero, grad_text, edges = call(_new_var_facts, v,
                                                  name="Var(3.0)'s attributes").value
    expect_close(value, 3.0, what="Var(3.0).value")
    expect_true(
        grad_is_zero,
        f"`Var(3.0).grad` is {grad_text}; a new Var starts with grad 0.0 (nothing has been "
        "backpropagated into it yet).",
    )
    edges.unwrap()
    rng = np.random.default_rng(seed)
    fixed = [(3.0, 4.0), (-1.5, 2.0), (0.5, -0.25)]
    cases, composites = _op_cases(), _composite_cases()
    _check_cases(Var, cases + composites,
                 [_points(rng, case, fixed, trials) for case in cases + composites])
    passed(
        "var_ops",
        f"{len(cases)} operators alone and {len(composites)} expressions agree with jax.grad "
        "(x**2*y + y + 2 at (3, 4): 42, gradient (24, 10))",
    )


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


def _function_points(rng: np.random.Generator, domain: str, trials: int) -> np.ndarray:
    if domain == "positive":
        fixed = [1.0, 0.5, math.e, 3.0, 0.01]
        rows = fixed + list(rng.uniform(0.05, 5, trials))
    elif domain == "relu":
        fixed = [0.0, -0.0, 1.0, -1.0, 2.5, 1e-300, -1e-300]
        rows = fixed + list(np.round(rng.uniform(-3, 3, trials), 1))
    else:
        fixed = [0.0, 1.0, -2.0, 0.5]
        rows = fixed + list(rng.uniform(-3, 3, trials))
    return np.array(rows, dtype=np.float64)[:, None]


def _student_namespace(fns: dict[str, Callable]):
    return namespace(**fns, sqrt=lambda v: v**0.5)


def check_var_functions(Var: type, *, sin: Callable, cos: Callable, exp: Callable,
                        log: Callable, tanh: Callable, relu: Callable, seed: int = 0,
                        trials: int = 10) -> None:
    r"""``sin, cos, exp, log, tanh, relu`` on a Var record value and local derivative.

    Each function alone: its value and its local derivative (read from ``parents``)
    against ``jax.grad`` (relu'(0) = 0). Then the course's test functions
    (``course.functions``) written with these functions and the Var operators.
    """
    _require_class(Var)
    fns = {"sin": sin, "cos": cos, "exp": exp, "log": log, "tanh": tanh, "relu": relu}
    rng = np.random.default_rng(seed)
    alone = _function_cases(fns)
    _check_cases(Var, alone, [_function_points(rng, c.domain, trials) for c in alone])
    m = _student_namespace(fns)
    from course.oracle import jax, jnp

    cases, points, student_fns = [], [], []
    for function in SCALAR_FUNCTIONS:
        low, high = function.domain
        cases.append(_Case(f"f(x) = {function.label}", None, 1, oracle=_bind(function, jnp)))
        points.append(np.concatenate([np.linspace(low, high, 4),
                                      rng.uniform(low, high, trials)])[:, None])
        student_fns.append(_bind(function, m))
    cases.append(_Case("relu(x - 0.5) * exp(-x) + tanh(relu(-x))", None, 1,
                       oracle=lambda x: jax.nn.relu(x - 0.5) * jnp.exp(-x)
                       + jnp.tanh(jax.nn.relu(-x))))
    points.append(np.concatenate([[-1.0, 0.0, 0.5, 2.0],
                                  np.round(rng.uniform(-3, 3, trials), 1)])[:, None])
    student_fns.append(lambda x: relu(x - 0.5) * exp(-x) + tanh(relu(-x)))
    hint = ("each function passed on its own, so look at the operators of your Var class "
            "(var_ops) used by this expression.")
    _check_cases(Var, cases, points, namespace_hint=hint, fns=student_fns)
    count = len(cases)
    passed(
        "var_functions",
        f"sin, cos, exp, log, tanh, relu alone (relu'(0) = 0) and in {count} test "
        "functions agree with jax.grad",
    )


# --------------------------------------------------------------------- backward


#: The name of the calls that run backward on the checker's own graphs.
_ON_CHECKER_GRAPH = "backward on the checker's graph"


class _RepeatedWork(CheckFailed):
    """Raised from inside the student's backward once it writes grads too often."""


class _Budget:
    """Counts writes to ``grad`` of checker nodes; raises once a limit is passed."""

    def __init__(self) -> None:
        self.active = False
        self.writes = 0
        self.limit = math.inf
        self.message = ""

    def start(self, limit: float, message: str) -> None:
        self.active, self.writes, self.limit, self.message = True, 0, limit, message

    def stop(self) -> None:
        self.active = False

    def tick(self) -> None:
        if self.active:
            self.writes += 1
            if self.writes > self.limit:
                self.active = False
                raise _RepeatedWork(self.message.format(writes=self.writes))


def _node_class(Var: type, budget: _Budget) -> type:
    """A subclass of the student's Var whose nodes the checker wires up itself."""

    def __init__(self, value: float, parents: tuple = ()) -> None:
        # whatever else the student's class sets up; a broken constructor is var_ops' business
        with contextlib.suppress(Exception):
            Var.__init__(self, value)
        object.__setattr__(self, "value", float(value))
        object.__setattr__(self, "parents", tuple(parents))
        self.__dict__["_checker_grad"] = 0.0

    def get_grad(self) -> float:
        return self.__dict__.get("_checker_grad", 0.0)

    def set_grad(self, value: float) -> None:
        budget.tick()
        self.__dict__["_checker_grad"] = value

    try:
        return type("CheckerNode", (Var,), {"__init__": __init__,
                                            "grad": property(get_grad, set_grad)})
    except TypeError as error:
        raise CheckFailed(f"the checker could not build graphs with your Var ({error}).") from None


def _run_backward(node: Any, *, depth: int, budget: _Budget | None = None,
                  limit: float = math.inf, message: str = "") -> None:
    """``node.backward()`` with RecursionError and recursion-limit changes explained.

    For use inside :func:`call`, together with whatever reads the grads it fills in:
    the recursion limit and the budget's count are read here, in the same call.
    """
    if not callable(getattr(node, "backward", None)):
        raise CheckFailed(
            "`Var` has no method `backward`: define `def backward(self): ...` and attach it "
            "with `Var.backward = backward`."
        )

    def run() -> None:
        try:
            node.backward()
        except RecursionError:
            raise CheckFailed(
                f"backward raised RecursionError on a graph {depth} nodes deep. Python allows "
                f"about {sys.getrecursionlimit()} nested calls, so a recursive topological "
                "sort (a function that calls itself on each parent) cannot handle deep "
                "graphs. Make it iterative: keep an explicit stack (a list you append to and "
                "pop from) of nodes still to visit."
            ) from None

    original = sys.getrecursionlimit()
    enforced = min(original, _RECURSION_LIMIT)  # a limit raised beforehand does not count
    sys.setrecursionlimit(enforced)
    if budget is not None:
        budget.start(limit, message)
    try:
        guarded(run, name="backward")
    finally:
        if budget is not None:
            budget.stop()
        changed = sys.getrecursionlimit()
        sys.setrecursionlimit(original)
    expect_true(
        changed == enforced,
        f"backward changed Python's recursion limit (from {enforced} to {changed}). "
        "Do not raise the limit: sort the graph with an explicit stack instead of recursion.",
    )


def _adjoints(n_nodes: int, edges: list[tuple[int, int, float]], output: int) -> np.ndarray:
    r"""Adjoints :math:`\bar v` of all nodes: solve :math:`(I - L^\top)\bar v = e_{out}`.

    ``edges`` holds ``(child, parent, local)``; parallel edges add up in ``L``.
    """
    L = np.zeros((n_nodes, n_nodes))
    for child, parent, local in edges:
        L[child, parent] += local
    e = np.zeros(n_nodes)
    e[output] = 1.0
    return np.linalg.solve(np.eye(n_nodes) - L.T, e)


@dataclass
class _Graph:
    """A graph the checker builds: node values, edges (child, parent, local), output index."""

    name: str
    values: list[float]
    edges: list[tuple[int, int, float]]
    output: int
    mistakes: Callable[[np.ndarray], list[Mistake]] = lambda expected: []

    def build(self, Node: type) -> list[Any]:
        parents: dict[int, list[tuple[int, float]]] = {i: [] for i in range(len(self.values))}
        for child, parent, local in self.edges:
            parents[child].append((parent, local))
        nodes: list[Any] = []
        for i, value in enumerate(self.values):  # parents always come first
            nodes.append(Node(value, tuple((nodes[p], d) for p, d in parents[i])))
        return nodes


def _chain_graph() -> _Graph:
    # x --2--> a --3--> out
    def mistakes(expected):
        return [
            Mistake("backward never seeds the output: set `self.grad = 1.0` before the sweep.",
                    [0.0, 0.0, 0.0]),
            Mistake("chain rule: a parent receives local_derivative * node.grad, not only the "
                    "local derivative.", [2.0, 3.0, 1.0]),
            Mistake("the sweep went from the inputs to the output. Process the topological order "
                    "reversed (output first), so that each node's grad is complete before it is "
                    "passed on to its parents.", [0.0, 3.0, 1.0]),
        ]
    return _Graph("x -> a -> out (local derivatives 2 and 3)", [1.0, 2.0, 6.0],
                  [(1, 0, 2.0), (2, 1, 3.0)], 2, mistakes)


def _square_graph() -> _Graph:
    # out = x * x at x = 1.5: out.parents = ((x, 1.5), (x, 1.5))
    def mistakes(expected):
        return [Mistake(
            "x appears twice in out.parents (as in `x * x`) and only one contribution arrived: "
            "accumulate with `parent.grad += local * node.grad`; `=` overwrites the first "
            "contribution.", [1.5, 1.0])]
    return _Graph("out = x * x", [1.5, 2.25], [(1, 0, 1.5), (1, 0, 1.5)], 1, mistakes)


def _diamond_graph() -> _Graph:
    # x -> a; a -> b (2), a -> c (4); b, c -> out (1.5, -0.5); a's adjoint 1.0, x's 0.7
    values = [1.0, 0.7, 1.4, 2.8, 0.7]
    edges = [(1, 0, 0.7), (2, 1, 2.0), (3, 1, 4.0), (4, 2, 1.5), (4, 3, -0.5)]

    def mistakes(expected):
        out = []
        for bar_a in (3.0, -2.0):  # only the last contribution kept
            out.append(Mistake(
                "node a feeds both b and c, but only one of their contributions survived: "
                "accumulate with `+=`, since `=` overwrites the first.",
                [0.7 * bar_a, bar_a, 1.5, -0.5, 1.0]))
        for bar_x in (1.4, -0.7, 2.8):  # a passed its grad on twice (complete or partial)
            out.append(Mistake(
                "node a was processed twice (it is reached through b and through c), so it "
                "passed its gradient to x twice. Visit each node once: in the topological "
                "sort, mark nodes as visited and skip visited ones.",
                [bar_x, 1.0, 1.5, -0.5, 1.0]))
        return out
    return _Graph("a diamond: x -> a -> (b, c) -> out", values, edges, 4, mistakes)


def _diamond_chain(k: int) -> _Graph:
    values, edges = [1.0], []
    for _ in range(k):
        a = len(values) - 1
        values += [1.0, 1.0, 2.0]
        b, c, d = a + 1, a + 2, a + 3
        edges += [(b, a, 1.0), (c, a, 1.0), (d, b, 1.0), (d, c, 1.0)]
    return _Graph(f"{k} diamonds in a row", values, edges, len(values) - 1)


def _random_graph(rng: np.random.Generator) -> _Graph:
    n_inputs = int(rng.integers(1, 4))
    n_nodes = n_inputs + int(rng.integers(1, 25))
    edges = []
    for child in range(n_inputs, n_nodes):
        for _ in range(int(rng.integers(1, 4))):
            parent = int(rng.integers(0, child))
            edges.append((child, parent, float(np.round(rng.uniform(-2, 2), 3))))
    values = list(np.round(rng.uniform(-2, 2, n_nodes), 3))
    return _Graph("a random graph", values, edges, n_nodes - 1)


def _check_graph_backward(Node: type | None, budget: _Budget, graph: _Graph) -> None:
    n_nodes, n_edges = len(graph.values), len(graph.edges)
    limit = 3 * (n_nodes + n_edges) + 10
    message = (
        f"backward repeats work: on a graph of {n_nodes} nodes and {n_edges} edges "
        f"({graph.name}) it had written `.grad` {{writes}} times when the checker stopped "
        "it, but visiting each node once needs about one write per edge. It follows every "
        "path through the graph instead of visiting each node once (naive recursion, or a "
        "topological order that lists a node several times). Build the topological order "
        "with a visited set, then sweep it once in reverse."
    )

    def grads() -> list[float]:
        nodes = graph.build(Node)
        _run_backward(nodes[graph.output], depth=len(nodes), budget=budget, limit=limit,
                      message=message)
        return [float(as_float_array(node.grad, what="a node's grad")) for node in nodes]

    got = np.array(call(grads, name=_ON_CHECKER_GRAPH).value, dtype=np.float64)
    expected = _adjoints(n_nodes, graph.edges, graph.output)
    expect_close(
        got[graph.output], 1.0, what="the output's grad after backward",
        hint="backward must seed the output with `self.grad = 1.0`.",
    )
    expect_close(
        got, expected, what=f"the list of grads (inputs first) after backward on {graph.name}",
        tolerance=_GRAD, mistakes=graph.mistakes(expected),
    )


def _check_deep(Node: type | None, budget: _Budget, depth: int) -> None:
    what = f"the input's grad after backward on a chain {depth + 1} nodes deep"

    def input_grad() -> np.ndarray:
        node = x = Node(0.5)
        for i in range(depth):
            node = Node(0.5, ((node, -1.0 if i % 2 else 1.0),))  # product of locals: +-1
        _run_backward(node, depth=depth + 1, budget=budget, limit=3 * (2 * depth + 1) + 10,
                      message="backward repeats work on a chain of " + str(depth + 1) +
                      " nodes: it wrote `.grad` {writes} times; each node should be visited "
                      "once.")
        return as_float_array(x.grad, what=what)

    got = call(input_grad, name=_ON_CHECKER_GRAPH).value
    expected = (-1.0) ** (depth // 2)
    expect_close(
        got, expected, what=what,
        hint="every node of the chain must pass its grad on to its parent once.",
    )


def _seed_example_facts(x: Any, y: Any) -> tuple[float, Verdict]:
    """Inside :func:`call`: the value of x**2*y + y + 2 at (3, 4), then a verdict on
    backward: (x.grad, y.grad) after it, or what went wrong in it."""
    f = guarded(lambda a, b: a**2 * b + b + 2, x, y, name="x**2*y + y + 2",
                inputs={"x": 3.0, "y": 4.0})
    value = _value(f, what="`x**2*y + y + 2`")

    def backward() -> np.ndarray:
        _run_backward(f, depth=6)
        return as_float_array([x.grad, y.grad], what="(x.grad, y.grad) after f.backward()")

    return value, Verdict.of(backward)


def _seed_example(Var: type) -> None:
    from course.oracle import jax

    x, y = _new_var(Var, 3.0), _new_var(Var, 4.0)
    value, backward = call(_seed_example_facts, x, y, name="x**2*y + y + 2",
                           inputs={"x": 3.0, "y": 4.0}).value
    hint = ("backward works on the checker's own graphs, so look at how your operators record "
            "their parents (var_ops).")
    expect_close(value, 42.0, what="the value of x**2*y + y + 2 at (3, 4)", hint=hint)
    grads = backward.unwrap()
    expected = [float(g) for g in jax.grad(lambda a, b: a**2 * b + b + 2, (0, 1))(3.0, 4.0)]
    expect_close(grads, expected, what="(x.grad, y.grad) after f.backward()",
                 inputs={"x": 3.0, "y": 4.0}, hint=hint, mistakes=[
                     Mistake("x.grad = 2xy, y.grad = x**2 + 1: the lone `+ y` term adds 1 to "
                             "y.grad; both uses of y must accumulate with +=.", [24.0, 1.0]),
                 ])


def _deep_with_student_ops(Var: type, depth: int) -> None:
    what = f"x.grad after backward through {depth} additions `v + 1.0`"

    def chain(v):
        for _ in range(depth):
            v = v + 1.0
        return v

    x = _new_var(Var, 0.25)

    def input_grad() -> np.ndarray:
        out = guarded(chain, x, name=f"a chain of {depth} additions")
        _run_backward(out, depth=depth + 1)
        return as_float_array(x.grad, what=what)

    got = call(input_grad, name=f"a chain of {depth} additions").value
    expect_close(got, 1.0, what=what)


def check_backward(Var: type, *, seed: int = 0, trials: int = 10) -> None:
    r"""``Var.backward()`` sweeps the graph once in reverse topological order.

    On graphs the checker builds from (a subclass of) the student's ``Var``: a chain, the
    shared node of ``x * x``, a diamond, 16 diamonds in a row (``grad`` writes are counted,
    so following all :math:`2^{16}` paths is caught at once), a chain 20,000 nodes deep
    (run with the recursion limit at most 5,000, so only an iterative sort passes), and
    random graphs whose adjoints come from ``numpy.linalg.solve``.
    Then the seed example built with the student's operators: 42, 24, 10.
    """
    _require_class(Var)
    budget = _Budget()
    made: list[type] = []
    what = "x.grad after x.backward() on an input x"

    def leaf_grad() -> np.ndarray:
        made.append(_node_class(Var, budget))
        leaf = made[0](2.0)
        _run_backward(leaf, depth=1)
        return as_float_array(leaf.grad, what=what)

    got = call(leaf_grad, name=_ON_CHECKER_GRAPH).value
    expect_close(got, 1.0, what=what, hint="backward must seed `self.grad = 1.0`.")
    Node = made[0] if made else None  # in replay, nothing uses it: its calls are replayed
    rng = np.random.default_rng(seed)
    graphs = [_chain_graph(), _square_graph(), _diamond_graph(), _diamond_chain(DIAMONDS)]
    graphs += [_random_graph(rng) for _ in range(trials)]
    for graph in graphs:
        _check_graph_backward(Node, budget, graph)
    _check_deep(Node, budget, DEEP)
    _seed_example(Var)
    _deep_with_student_ops(Var, DEEP)
    passed(
        "backward",
        f"{len(graphs) + 1} graphs (x * x, a diamond, {DIAMONDS} diamonds in a row, "
        f"{trials} random) with each node visited once, a chain {DEEP} deep, and "
        f"x**2*y + y + 2 built with your Var: 42, 24, 10; {DEEP} additions `v + 1.0`",
    )


# ------------------------------------------------------------------------- grad


def _grad_cases(m: Any) -> list[tuple[str, Callable, Callable, np.ndarray]]:
    """(label, student-side f(*vars), jax-side f(*xs), points) for grad()."""
    from course.oracle import jnp

    cases = [(
        "f(x, y) = x**2*y + y + 2",
        lambda x, y: x**2 * y + y + 2,
        lambda x, y: x**2 * y + y + 2,
        np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 2.5]]),
    )]
    for fn in SCALAR_FUNCTIONS:
        low, high = fn.domain
        cases.append((f"f(x) = {fn.label}", _bind(fn, m), _bind(fn, jnp),
                      np.linspace(low, high, 3)[:, None]))
    for fn in VECTOR_FUNCTIONS:
        def student(*xs, fn=fn):
            return fn(np.array(xs, dtype=object), m)

        def oracle(*xs, fn=fn):
            return fn(jnp.stack(xs), jnp)

        cases.append((f"f(x) = {fn.label}", student, oracle,
                      np.linspace(-1.0, 1.5, 2 * fn.n_inputs).reshape(2, fn.n_inputs)))
    cases.append(("f(x, y) = x", lambda x, y: x, lambda x, y: x + 0.0 * y,
                  np.array([[1.0, 2.0], [-3.0, 0.5]])))
    cases.append(("f(x, y, z) = x * z (y unused)", lambda x, y, z: x * z,
                  lambda x, y, z: x * z + 0.0 * y, np.array([[1.0, 2.0, 3.0], [-2.0, 0.5, 4.0]])))
    return cases


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


def check_grad(grad: Callable, *, sin: Callable, cos: Callable, exp: Callable,
               log: Callable, tanh: Callable, seed: int = 0, trials: int = 10) -> None:
    r"""``grad(f)(*xs)`` is the tuple of partial derivatives of f at xs (``jax.grad``).

    f is written with the student's functions; a fresh graph per call, so calling the
    same ``g`` twice, or at another point, gives the same answers as a first call.
    """
    m = _student_namespace({"sin": sin, "cos": cos, "exp": exp, "log": log, "tanh": tanh})
    _check_no_leak(grad, m)
    rng = np.random.default_rng(seed)
    cases = _grad_cases(m)
    all_points = []
    for label, _, _, fixed in cases:
        low, high = (0.5, 3.0) if "log" in label or "sqrt" in label else (-2.0, 2.0)
        all_points.append(np.concatenate([fixed, rng.uniform(low, high, (trials,
                                                                         fixed.shape[1]))]))
    # Every answer first, the oracle's values after: while the student's code runs, no
    # expected value exists in this frame for it to read.
    answers = []
    for (label, student_f, _, _), points in zip(cases, all_points, strict=True):
        arity = points.shape[1]
        g = _grad_function(grad, student_f, label)
        for row in points:
            args = [float(v) for v in row]
            inputs = dict(zip("xyzw"[:arity], args, strict=True))
            got = call(_grad_answer, g, args, label=label, name="g", inputs=inputs).value
            answers.append((label, inputs, got))
    table = _oracle_table([(label, oracle_f, fixed.shape[1])
                           for label, _, oracle_f, fixed in cases], all_points)
    expected_all = [expected for _, grads in table for expected in grads]
    previous = None
    for (label, inputs, got), expected, before in zip(
            answers, expected_all, [None, *answers[:-1]], strict=True):
        previous = before[2] if before is not None and before[0] == label else None
        expect_close(got, expected, what=f"grad(f)(*xs) for {label}", inputs=inputs,
                     tolerance=_GRAD, mistakes=[] if previous is None else [
                         _leak_mistake(previous, expected)])
    count = len(answers)
    passed("grad", f"{count} gradients agree with jax.grad; repeated calls do not leak")


def _leak_mistake(previous: Any, expected: Any) -> Mistake:
    return Mistake(
        "gradients leaked between calls: this call's answer includes the previous call's. "
        "Create fresh input Vars inside g on every call (a new graph each time); never reuse "
        "Vars whose grad was already filled.",
        np.asarray(previous, dtype=np.float64) + np.asarray(expected, dtype=np.float64),
    )


def _check_no_leak(grad: Callable, m: Any) -> None:
    from course.oracle import jax

    def f(x, y):
        return x**2 * y + m.sin(x) * y + 2

    oracle = jax.grad(lambda x, y: x**2 * y + jax.numpy.sin(x) * y + 2, argnums=(0, 1))
    g = _grad_function(grad, f)
    first = None
    for x, y in [(3.0, 4.0), (3.0, 4.0), (3.0, 4.0), (-1.0, 0.5)]:
        inputs = {"x": x, "y": y}
        got = call(_grad_answer, g, [x, y], label="f(x, y) = x**2*y + sin(x)*y + 2",
                   name="g", inputs=inputs).value
        expected = np.array([float(v) for v in oracle(x, y)])
        mistakes = [] if first is None else [_leak_mistake(first, expected)]
        expect_close(
            got, expected, what="grad(f)(x, y), called again with the same g",
            inputs=inputs, tolerance=_GRAD, mistakes=mistakes,
            hint="the first call was right, so something is left over from it: build a new "
                 "graph with new Vars on each call.",
        )
        first = got


# ------------------------------------------------------------- one_neuron_grads


def _sigmoid(z: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * z))


def _neuron_answer(result: Any, w: float, b: float, a_prev: float, y: float) -> np.ndarray:
    """Inside :func:`call`: the answer ``result`` as three floats (or why it is not)."""
    got = as_float_array(result, what="one_neuron_grads")
    expect_true(
        got.shape == (3,),
        f"one_neuron_grads({w}, {b}, {a_prev}, {y}) returned {fmt(result)}; return the "
        "three numbers (dC_dw, dC_db, dC_da_prev).",
    )
    return got


def check_one_neuron_grads(one_neuron_grads: Callable, *, seed: int = 0,
                           trials: int = 30) -> None:
    r"""``one_neuron_grads(w, b, a_prev, y)`` returns :math:`(\partial C/\partial w,
    \partial C/\partial b, \partial C/\partial a_{prev})` of
    :math:`C = (\sigma(w a_{prev} + b) - y)^2`, compared with ``jax.grad``.
    """
    from course.oracle import jax

    oracle = _ORACLES.get(("one_neuron",))
    if oracle is None:
        def cost(w, b, a_prev, y):
            return (jax.nn.sigmoid(w * a_prev + b) - y) ** 2

        oracle = _ORACLES[("one_neuron",)] = jax.jit(jax.grad(cost, argnums=(0, 1, 2)))
    rng = np.random.default_rng(seed)
    cases = [(0.5, -0.2, 1.0, 1.0), (2.0, 1.0, 0.3, 0.0), (-1.0, 0.5, 2.0, 0.5),
             (1.5, -0.75, -1.2, 0.25)]
    for _ in range(trials):
        w, b, a_prev = rng.uniform(-3, 3, 3)
        cases.append((float(w), float(b), float(a_prev), float(rng.uniform(0, 1))))
    for w, b, a_prev, y in cases:
        inputs = {"w": w, "b": b, "a_prev": a_prev, "y": y}
        result = call(one_neuron_grads, w, b, a_prev, y, name="one_neuron_grads",
                      inputs=inputs).value
        got = call(_neuron_answer, result, w, b, a_prev, y,
                   name="the answer of one_neuron_grads").value
        expected = np.array([float(v) for v in oracle(w, b, a_prev, y)])
        z = w * a_prev + b
        a = _sigmoid(z)
        s_prime = a * (1 - a)
        delta = 2 * (a - y) * s_prime
        true = np.array([delta * a_prev, delta, delta * w])
        mistakes = [
            Mistake("the factor sigma'(z) = a (1 - a) of the chain rule is missing: "
                    "dC/dz = dC/da * da/dz.", true / s_prime),
            Mistake("the factor 2 of d/da (a - y)**2 = 2 (a - y) is missing.", true / 2),
            Mistake("the signs are flipped: dC/da = 2 (a - y), not 2 (y - a).", -true),
            Mistake("dC_dw and dC_da_prev are swapped: dC/dw = delta * a_prev and dC/da_prev = "
                    "delta * w (you swapped a_prev and w, or returned the tuple reversed).",
                    [delta * w, delta, delta * a_prev]),
            Mistake("sigma'(z) = sigma(z) (1 - sigma(z)), not z (1 - z).",
                    true / s_prime * z * (1 - z)),
            Mistake("sigma'(z) = sigma(z) (1 - sigma(z)); you used sigma(z) alone.",
                    true / s_prime * a),
        ]
        names = ("dC_dw", "dC_db", "dC_da_prev")
        for order in itertools.permutations(range(3)):
            if order not in ((0, 1, 2), (2, 1, 0)):  # (2, 1, 0) is the swap above
                mistakes.append(Mistake(
                    "the three derivatives are right but in the wrong order: you returned ("
                    + ", ".join(names[i] for i in order) + "); return (dC_dw, dC_db, "
                    "dC_da_prev).", true[list(order)]))
        expect_close(got, expected, what="one_neuron_grads(w, b, a_prev, y)", inputs=inputs,
                     tolerance=_GRAD, mistakes=mistakes)
    passed("one_neuron_grads", f"{len(cases)} cases agree with jax.grad")

