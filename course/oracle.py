r"""Independent reference derivatives computed with JAX in float64: the one oracle layer.

Every checker compares a student's answer with an oracle from here, never with the
reference solution's own code. JAX runs with ``jax_enable_x64``, so an oracle is accurate
to about 1e-16 relative error. JAX is imported on first use: ``from course.oracle import
jax, jnp`` (or any oracle call) imports and configures it; importing this module alone is
cheap, so a checker module can declare its oracles at import time.

What a checker declares, and what this layer does for it:

* :func:`compiled` -- ``jax.jit(make(jax, jnp))``, built once per process under a key
  (the per-process cache; JAX then keeps one compilation per input shape).
* :func:`batched` -- a function of one row mapped over many rows,
  :math:`F(X)_i = f(X_i)`, i.e. ``jax.jit(jax.vmap(f))``. Rows are padded to a *shape
  bucket* so that a new number of rows rarely compiles anew.
* :func:`table` -- several row functions, one per key, evaluated in one compiled call
  (one compilation for a whole table of rules or test functions).
* :func:`gradient`, :func:`jacobian`, :func:`hessian` -- one-off derivatives (uncached).
* :func:`clear` -- drop every compilation (a kernel that checks many answers in turn).

Shape buckets. ``sizes`` is an increasing tuple of batch sizes. ``n`` rows are padded to
:func:`bucket` ``(n, sizes)``, the smallest size that holds them; more rows than the
largest size go in chunks of the largest. A batched oracle therefore compiles at most
``len(sizes)`` programs per process, whatever the batch sizes its callers use. Padding
repeats a real row (the first of the chunk, or a declared row for a key with no rows), so
padded rows stay inside the function's domain; their outputs are dropped. Row functions
are mapped independently, so padding never changes a real row's result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

os.environ.setdefault("JAX_PLATFORMS", "cpu")

__all__ = [
    "Batched",
    "batched",
    "bucket",
    "clear",
    "compiled",
    "gradient",
    "hessian",
    "jacobian",
    "table",
    "to_numpy",
]

#: A function of ``(jax, jax.numpy)`` that returns the JAX function to compile.
Maker = Callable[[ModuleType, ModuleType], Callable]

#: Default shape buckets: small checks pad to 16 rows, larger ones to 128.
SIZES: tuple[int, ...] = (16, 128)

#: The per-process cache: key -> jitted function.
_CACHE: dict[Hashable, Callable] = {}


_MODULES: list[ModuleType] = []


def _jax() -> tuple[ModuleType, ModuleType]:
    """JAX and jax.numpy, with float64 switched on (imported once)."""
    if not _MODULES:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        _MODULES[:] = [jax, jnp]
    return _MODULES[0], _MODULES[1]


def __getattr__(name: str) -> Any:
    """``course.oracle.jax`` and ``course.oracle.jnp``: JAX imported on first use."""
    if name in ("jax", "jnp"):
        jax, jnp = _jax()
        return jax if name == "jax" else jnp
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_numpy(value) -> np.ndarray:
    """Convert a JAX (or any array-like) value to a float64 numpy array."""
    return np.asarray(value, dtype=np.float64)


def _tree_numpy(tree: Any, rows: slice | None = None) -> Any:
    """Every leaf of a JAX pytree as a float64 numpy array (its ``rows`` only, if given)."""
    jax, _ = _jax()
    if rows is None:
        return jax.tree_util.tree_map(to_numpy, tree)
    return jax.tree_util.tree_map(lambda leaf: to_numpy(leaf)[rows], tree)


# ------------------------------------------------------------------ one-off derivatives


def gradient(f: Callable, x) -> np.ndarray:
    r"""The gradient :math:`\nabla f(x)` of a scalar function by reverse mode."""
    jax, jnp = _jax()
    return to_numpy(jax.grad(f)(jnp.asarray(x, dtype=jnp.float64)))


def jacobian(f: Callable, x) -> np.ndarray:
    r"""The Jacobian :math:`J_{ij} = \partial f_i / \partial x_j`, shape (m, n)."""
    jax, jnp = _jax()
    return to_numpy(jax.jacfwd(f)(jnp.asarray(x, dtype=jnp.float64)))


def hessian(f: Callable, x) -> np.ndarray:
    r"""The Hessian :math:`H_{ij} = \partial^2 f / \partial x_i \partial x_j`."""
    jax, jnp = _jax()
    return to_numpy(jax.hessian(f)(jnp.asarray(x, dtype=jnp.float64)))


# ------------------------------------------------------------------ the per-process cache


def compiled(key: Hashable, make: Maker, **jit_options: Any) -> Callable:
    """``jax.jit(make(jax, jnp), **jit_options)``, built once per process under ``key``.

    ``key`` names the function (a tuple such as ``("derivatives", "grad_f")``, or the
    course object it is made from); two declarations must not share a key.
    """
    fn = _CACHE.get(key)
    if fn is None:
        jax, jnp = _jax()
        fn = _CACHE[key] = jax.jit(make(jax, jnp), **jit_options)
    return fn


def clear() -> None:
    """Drop every compiled oracle, here and in JAX's own caches."""
    _CACHE.clear()
    if _MODULES:
        _MODULES[0].clear_caches()


def bucket(n: int, sizes: Sequence[int] = SIZES) -> int:
    """The smallest size in ``sizes`` that holds ``n`` rows (the largest if none does)."""
    return next((size for size in sizes if size >= n), sizes[-1])


def _chunks(n: int, sizes: Sequence[int]) -> list[tuple[int, int, int]]:
    """``(start, stop, padded size)`` of each chunk that ``n`` rows are evaluated in."""
    largest = sizes[-1]
    return [(start, min(start + largest, n), bucket(min(largest, n - start), sizes))
            for start in range(0, n, largest)]


def _pad(column: np.ndarray, size: int, row: np.ndarray) -> np.ndarray:
    """``column`` with copies of ``row`` appended until it has ``size`` rows."""
    extra = size - len(column)
    if extra <= 0:
        return column
    return np.concatenate([column, np.broadcast_to(row, (extra, *row.shape))])


def _evaluate(fn: Callable, groups: Mapping[Any, Sequence[np.ndarray]],
              pads: Mapping[Any, Sequence[np.ndarray]], sizes: Sequence[int]
              ) -> dict[Any, Any]:
    """``fn({key: columns}) -> {key: outputs}`` on every row of every group.

    Every group is padded to the same bucket (one compilation per bucket), a group with
    fewer rows than the chunk with its ``pads`` row; each group's outputs keep its own rows.
    """
    jax, _ = _jax()
    lengths = {key: len(columns[0]) for key, columns in groups.items()}
    longest = max(lengths.values(), default=0)
    parts: dict[Any, list[Any]] = {key: [] for key in groups}
    for start, stop, size in _chunks(longest, sizes):
        batch = {}
        for key, columns in groups.items():
            real = [c[start:stop] for c in columns]
            batch[key] = tuple(
                _pad(c, size, c[0] if len(c) else np.asarray(pad, dtype=np.float64))
                for c, pad in zip(real, pads[key], strict=True))
        out = fn(batch)
        for key in groups:
            kept = max(0, min(stop, lengths[key]) - start)
            if kept:
                parts[key].append(_tree_numpy(out[key], slice(0, kept)))
    result = {}
    for key in groups:
        if not parts[key]:
            continue
        result[key] = jax.tree_util.tree_map(lambda *leaves: np.concatenate(leaves),
                                             *parts[key])
    return result


def _columns(rows: Sequence[Sequence[Any]]) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(column, dtype=np.float64) for column in zip(*rows, strict=True))


# ------------------------------------------------------------------ batched oracles


class Batched:
    r"""A row function mapped over rows: :math:`F(X^{(1)}, \dots)_i = f(X^{(1)}_i, \dots)`.

    Call it with one array per argument of ``f``, each with the rows along axis 0 (float64);
    it returns ``f``'s outputs (any pytree) as float64 numpy arrays with the same rows.
    """

    def __init__(self, key: Hashable, make: Maker, sizes: Sequence[int]):
        self.key, self.make, self.sizes = key, make, tuple(sizes)

    def _fn(self) -> Callable:
        def make(jax: ModuleType, jnp: ModuleType) -> Callable:
            mapped = jax.vmap(self.make(jax, jnp))
            return lambda batch: {0: mapped(*batch[0])}

        return compiled(("batched", self.key), make)

    def __call__(self, *columns: Any) -> Any:
        arrays = tuple(np.asarray(c, dtype=np.float64) for c in columns)
        if not arrays or len(arrays[0]) == 0:
            raise ValueError("a batched oracle needs at least one row")
        pads = {0: tuple(a[0] for a in arrays)}
        return _evaluate(self._fn(), {0: arrays}, pads, self.sizes)[0]

    def rows(self, rows: Sequence[Sequence[Any]]) -> Any:
        """The same, with the arguments given row by row: ``[(x1, y1), (x2, y2), ...]``."""
        return self(*_columns(rows))


_BATCHED: dict[Hashable, Batched] = {}


def batched(key: Hashable, make: Maker, *, sizes: Sequence[int] = SIZES) -> Batched:
    """The :class:`Batched` oracle of the row function ``make(jax, jnp)``, one per key."""
    known = _BATCHED.get(key)
    if known is None:
        known = _BATCHED[key] = Batched(key, make, sizes)
    return known


def table(key: Hashable, make: Maker, rows: Mapping[Any, Sequence[Sequence[Any]]],
          pads: Mapping[Any, Sequence[Any]], *, sizes: Sequence[int] = SIZES
          ) -> dict[Any, Any]:
    """Several oracles in one compiled call: ``{k: rows_k} -> {k: outputs_k}``.

    ``make(jax, jnp)`` returns a function ``{k: columns_k} -> {k: outputs_k}`` that works on
    whole columns (rows along axis 0, for instance ``jax.vmap`` inside, or elementwise
    ``jax.jvp``). ``rows[k]`` lists argument tuples; every key of ``pads`` is always
    evaluated (padded with ``pads[k]``, a row inside ``k``'s domain), so the same program
    serves every call. The result has one entry per key with rows, outputs as float64
    numpy arrays along axis 0.
    """
    groups = {k: (_columns(rows[k]) if rows.get(k) else
                  tuple(np.zeros((0, *np.shape(p))) for p in pads[k])) for k in pads}
    unknown = set(rows) - set(pads)
    if unknown:
        raise KeyError(f"rows for keys without a padding row: {sorted(map(str, unknown))}")
    return _evaluate(compiled(("table", key), make), groups, pads, sizes)
