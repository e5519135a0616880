"""Reading a student's graph of ``Var`` nodes: edges, topological order, the
checker's own reverse sweep, and whether an operation changed its operands.
"""

from __future__ import annotations

from typing import Any

from course.checking import (
    CheckFailed,
    Tolerance,
    as_float_array,
    call,
    expect_true,
    fmt,
)

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
