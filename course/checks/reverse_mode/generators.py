"""Fixed and random cases: points for each case, graphs the checker builds itself
(chains, squares, diamonds, random graphs), and the functions ``grad`` is tried on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from course.checking import (
    Mistake,
)
from course.functions import SCALAR_FUNCTIONS, VECTOR_FUNCTIONS

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
