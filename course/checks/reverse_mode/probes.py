"""``backward`` probed on graphs the checker builds itself: a subclass of the student's
``Var`` whose ``grad`` counts its writes, the recursion limit, and the running example
x**2*y + y + 2.
"""

from __future__ import annotations

import contextlib
import math
import sys
from typing import Any

import numpy as np

from course.checking import (
    CheckFailed,
    Mistake,
    Verdict,
    as_float_array,
    call,
    expect_close,
    expect_true,
    guarded,
)

from .generators import _Graph
from .graphs import _GRAD, _RECURSION_LIMIT, _new_var, _value
from .oracles import _adjoints

# --------------------------------------------------------------------- backward


#: The name of the calls that run backward on the checker's own graphs.
_ON_CHECKER_GRAPH = "backward on the checker's graph"


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
                # a plain CheckFailed: its class name heads the traceback students see
                raise CheckFailed(self.message.format(writes=self.writes))


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
    expected = _adjoints(n_nodes, graph.edges, graph.output, graph.initial)
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
