"""The oracles of lesson 05.

``jax.value_and_grad`` of every case, one :func:`course.oracle.table` per set of cases
(padded to shape buckets, so a new number of points rarely compiles anew), and the
adjoints of a graph given by its local derivatives, by a linear solve.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course import oracle

#: Points per case: up to 16 or up to 64 rows, so a new number of trials rarely compiles.
_SIZES = (16, 64)


def _oracle_table(specs: list[tuple[str, Callable, int]],
                  points: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Values and gradients of each ``(label, fn, arity)`` at the rows of its points.

    ``fn`` is written with jax.numpy; all of them are evaluated by one compiled
    :func:`course.oracle.table` (``jax.vmap`` of ``jax.value_and_grad``), one per set of
    labels and bucket. Returns ``(values, gradients)`` per spec, gradients of shape
    ``(rows, arity)``.
    """
    key = ("reverse_mode", tuple((label, arity) for label, _, arity in specs))

    def make(jax, jnp):
        mapped = [jax.vmap(jax.value_and_grad(fn, argnums=tuple(range(arity))))
                  for _, fn, arity in specs]
        return lambda batch: {i: mapped[i](*columns) for i, columns in batch.items()}

    rows = {i: [tuple(row) for row in np.asarray(p, dtype=np.float64)]
            for i, p in enumerate(points)}
    out = oracle.table(key, make, rows, {i: r[0] for i, r in rows.items()}, sizes=_SIZES)
    return [(out[i][0], np.stack(out[i][1], axis=1)) for i in range(len(specs))]


def _one_neuron(jax, jnp) -> Callable:
    r"""The gradient of :math:`C = (\sigma(w a_{prev} + b) - y)^2` in ``(w, b, a_prev)``."""
    def cost(w, b, a_prev, y):
        return (jax.nn.sigmoid(w * a_prev + b) - y) ** 2

    return jax.grad(cost, argnums=(0, 1, 2))


def _one_neuron_grads(w: float, b: float, a_prev: float, y: float) -> np.ndarray:
    """``(dC/dw, dC/db, dC/da_prev)`` by ``jax.grad``, compiled once per process."""
    grads = oracle.compiled(("reverse_mode", "one neuron"), _one_neuron)(w, b, a_prev, y)
    return np.array([float(g) for g in grads])


def _leak_example(jax, jnp) -> Callable:
    """The gradient of the leak test's f(x, y) = x**2 y + sin(x) y + 2."""
    return jax.grad(lambda x, y: x**2 * y + jnp.sin(x) * y + 2, argnums=(0, 1))


def _leak_example_grads(x: float, y: float) -> np.ndarray:
    grads = oracle.compiled(("reverse_mode", "leak example"), _leak_example)(x, y)
    return np.array([float(g) for g in grads])


def _swept(edges: list[tuple[int, int, float]], output: int) -> set[int]:
    """The nodes a backward pass from ``output`` visits: the output and its ancestors."""
    parents: dict[int, list[int]] = {}
    for child, parent, _ in edges:
        parents.setdefault(child, []).append(parent)
    swept, stack = {output}, [output]
    while stack:
        for parent in parents.get(stack.pop(), []):
            if parent not in swept:
                swept.add(parent)
                stack.append(parent)
    return swept


def _adjoints(n_nodes: int, edges: list[tuple[int, int, float]], output: int,
              initial: dict[int, float] | None = None) -> np.ndarray:
    r"""Adjoints :math:`\bar v` of all nodes: solve :math:`(I - L^\top)\bar v = e_{out}`.

    ``edges`` holds ``(child, parent, local)``; parallel edges add up in ``L``. With
    ``initial`` (grads the nodes hold before backward) the sweep adds to them, and the
    output is seeded with 1: the right-hand side is ``initial`` with its output entry 1
    (the output has no children, so its row of :math:`L^\top` is 0). Only the nodes the
    sweep visits -- the output and its ancestors -- pass their grads on, so ``L`` keeps
    the edges out of those (without ``initial`` the others have adjoint 0 anyway).
    """
    swept = _swept(edges, output)
    L = np.zeros((n_nodes, n_nodes))
    for child, parent, local in edges:
        if child in swept:
            L[child, parent] += local
    e = np.zeros(n_nodes)
    for node, grad in (initial or {}).items():
        e[node] = grad
    e[output] = 1.0
    return np.linalg.solve(np.eye(n_nodes) - L.T, e)
