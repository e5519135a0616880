"""Fixed and random cases: points for each case, graphs the checker builds itself
(chains, squares, diamonds, random graphs), and the functions ``grad`` is tried on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from course.checking import (
    Mistake,
)
from course.functions import SCALAR_FUNCTIONS, VECTOR_FUNCTIONS

from .oracles import _adjoints, _swept
from .rules import _bind, _Case


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


@dataclass
class _Graph:
    """A graph the checker builds: node values, edges (child, parent, local), output index."""

    name: str
    values: list[float]
    edges: list[tuple[int, int, float]]
    output: int
    mistakes: Callable[[np.ndarray], list[Mistake]] = lambda expected: []
    #: grads some nodes already carry when backward starts (node index -> grad)
    initial: dict[int, float] = field(default_factory=dict)

    def build(self, Node: type) -> list[Any]:
        parents: dict[int, list[tuple[int, float]]] = {i: [] for i in range(len(self.values))}
        for child, parent, local in self.edges:
            parents[child].append((parent, local))
        nodes: list[Any] = []
        for i, value in enumerate(self.values):  # parents always come first
            nodes.append(Node(value, tuple((nodes[p], d) for p, d in parents[i])))
        for i, grad in self.initial.items():
            nodes[i].grad = grad
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


# ------------------------------------------------------------ graph edge cases
#
# A random graph meets these by chance only. Every batch of random graphs holds one graph
# of each kind, made from a random graph (drawn from a child generator, so that the random
# graphs of a seed stay the same).


def _parallel_edge(graph: _Graph, rng: np.random.Generator) -> _Graph:
    """A child lists one parent twice (as ``x * x`` does): both contributions add up."""
    child, parent, _ = graph.edges[int(rng.integers(len(graph.edges)))]
    local = float(np.round(rng.uniform(-2, 2), 3))
    return replace(graph, name="a random graph where a node lists one parent twice",
                   edges=[*graph.edges, (child, parent, local)])


def _shared_node(graph: _Graph, rng: np.random.Generator) -> _Graph:
    """A new output fed by the old one and by one of its parents: two paths from there."""
    old = graph.output
    parents = [p for c, p, _ in graph.edges if c == old]
    shared = parents[int(rng.integers(len(parents)))]
    new = len(graph.values)
    locals_ = np.round(rng.uniform(-2, 2, 2), 3)
    return replace(graph, name="a random graph where a node reaches the output by two paths",
                   values=[*graph.values, float(np.round(rng.uniform(-2, 2), 3))],
                   edges=[*graph.edges, (new, old, float(locals_[0])),
                          (new, shared, float(locals_[1]))], output=new)


def _unused_input(graph: _Graph, rng: np.random.Generator) -> _Graph:
    """An extra input (node 0) that nothing uses: its adjoint is 0."""
    return replace(graph, name="a random graph with an input the output does not use",
                   values=[float(np.round(rng.uniform(-2, 2), 3)), *graph.values],
                   edges=[(c + 1, p + 1, d) for c, p, d in graph.edges],
                   output=graph.output + 1)


def _zero_local(graph: _Graph, rng: np.random.Generator) -> _Graph:
    """One local derivative is 0 (as relu'(z) for z < 0): that path passes nothing on."""
    k = int(rng.integers(len(graph.edges)))
    edges = [(c, p, 0.0 if i == k else d) for i, (c, p, d) in enumerate(graph.edges)]
    return replace(graph, name="a random graph with a local derivative of 0", edges=edges)


def _carried_state(graph: _Graph, rng: np.random.Generator) -> _Graph:
    """Nodes that already carry a grad when backward starts: backward seeds the output with
    ``= 1.0`` and adds to every other node's grad with ``+=``, on top of what it held."""
    n = len(graph.values)
    held = [graph.output, *rng.choice(n, size=min(n, 3), replace=False).tolist()]
    initial = {int(i): float(np.round(rng.uniform(-2, 2), 3)) for i in held}

    def mistakes(expected: np.ndarray) -> list[Mistake]:
        swept = _swept(graph.edges, graph.output)
        kept = {i: g for i, g in initial.items() if i not in swept}
        return [Mistake(
            "backward threw away the grads the nodes already held: it adds to them with `+=` "
            "(only the output is seeded with `self.grad = 1.0`); do not reset grads to 0.",
            value) for value in (_adjoints(n, graph.edges, graph.output, kept),
                                 _adjoints(n, graph.edges, graph.output))]

    return replace(graph, name="a random graph whose nodes already hold grads "
                   f"{ {i: initial[i] for i in sorted(initial)} }", initial=initial,
                   mistakes=mistakes)


#: Edge kinds of random graphs: ``name -> (holds(graph), make(graph, rng))``.
GRAPH_EDGES: dict[str, tuple[Callable[[_Graph], bool],
                             Callable[[_Graph, np.random.Generator], _Graph]]] = {
    "a node that lists one parent twice": (
        lambda g: len({(c, p) for c, p, _ in g.edges}) < len(g.edges), _parallel_edge),
    "a node that reaches the output by two paths": (
        lambda g: any(len({c for c, p2, _ in g.edges if p2 == p}) > 1 for _, p, _ in g.edges),
        _shared_node),
    "an input the output does not use": (
        lambda g: any(i != g.output and not any(p == i for _, p, _ in g.edges)
                      for i in range(len(g.values))), _unused_input),
    "a local derivative of 0": (lambda g: any(d == 0 for _, _, d in g.edges), _zero_local),
    "nodes that already hold a grad": (lambda g: bool(g.initial), _carried_state),
}


def _random_graphs(rng: np.random.Generator, trials: int) -> list[_Graph]:
    """One random graph of each edge kind, then ``trials`` random graphs."""
    edges = rng.spawn(1)[0]
    return [*(make(_random_graph(edges), edges) for _, make in GRAPH_EDGES.values()),
            *(_random_graph(rng) for _ in range(trials))]


# ---------------------------------------------------------------- grad's functions


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
