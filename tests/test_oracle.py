"""The oracle layer: float64, shape buckets, padding that never changes a real row, one
compilation per bucket, tables of several oracles, and a cache that can be dropped."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from course import oracle


def test_importing_the_layer_does_not_import_jax():
    code = "import sys, course.oracle; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_jax_is_float64():
    from course.oracle import jnp

    assert jnp.asarray(1.0).dtype == np.float64
    assert oracle.gradient(lambda v: (v**2).sum(), [1.0, 2.0]).dtype == np.float64


@pytest.mark.parametrize(("n", "sizes", "expected"), [
    (1, (16, 128), 16), (16, (16, 128), 16), (17, (16, 128), 128), (500, (16, 128), 128),
    (3, (4,), 4), (0, (8, 64), 8),
])
def test_bucket_is_the_smallest_size_that_holds_the_rows(n, sizes, expected):
    assert oracle.bucket(n, sizes) == expected


def test_chunks_cover_every_row_once():
    chunks = oracle._chunks(19, (4, 8))
    assert chunks == [(0, 8, 8), (8, 16, 8), (16, 19, 4)]
    assert [i for start, stop, _ in chunks for i in range(start, stop)] == list(range(19))


def _counting(counter: list[int]):
    def make(jax, jnp):
        def f(x, y):
            counter.append(1)  # runs once per trace, i.e. once per compilation
            return jax.value_and_grad(lambda u: jnp.sin(u) * y)(x)
        return f
    return make


@pytest.mark.parametrize("n", [1, 3, 4, 5, 9, 21])
def test_batched_rows_equal_the_unbatched_function(n):
    rng = np.random.default_rng(n)
    x, y = rng.normal(size=n), rng.normal(size=n)
    values, grads = oracle.batched(("test", "sin*y"), _counting([]), sizes=(4, 8))(x, y)
    assert values.shape == grads.shape == (n,)
    np.testing.assert_allclose(values, np.sin(x) * y, rtol=1e-15)
    np.testing.assert_allclose(grads, np.cos(x) * y, rtol=1e-15)


def test_batched_compiles_once_per_bucket_whatever_the_batch_sizes():
    traces: list[int] = []
    ev = oracle.batched(("test", "counted"), _counting(traces), sizes=(4, 8))
    for n in (1, 2, 3, 4, 5, 7, 8, 13, 30, 2):
        ev(np.linspace(0, 1, n), np.ones(n))
    assert len(traces) == 2


def test_batched_rows_form_and_column_form_agree():
    ev = oracle.batched(("test", "rows"), _counting([]), sizes=(4,))
    by_rows = ev.rows([(0.1, 2.0), (0.2, 3.0)])
    by_columns = ev([0.1, 0.2], [2.0, 3.0])
    for a, b in zip(by_rows, by_columns, strict=True):
        np.testing.assert_array_equal(a, b)


def test_batched_refuses_an_empty_batch():
    with pytest.raises(ValueError, match="at least one row"):
        oracle.batched(("test", "empty"), _counting([]))(np.zeros(0), np.zeros(0))


def test_padding_rows_stay_in_the_domain():
    """log is only defined for x > 0: zero padding would give nan or -inf gradients."""
    values, grads = oracle.batched(("test", "log"), lambda jax, jnp: jax.value_and_grad(jnp.log),
                                   sizes=(8,))(np.array([2.0, 3.0, 0.5]))
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grads))
    np.testing.assert_allclose(grads, [0.5, 1 / 3, 2.0], rtol=1e-15)


def _jvp_table(jax, jnp):
    def f(batch):
        return {name: jax.jvp(getattr(jnp, name), (a,), (da,)) for name, (a, da) in batch.items()}
    return f


def test_table_evaluates_every_key_with_rows_and_pads_the_others():
    pads = {"sin": (0.5, 0.0), "log": (0.5, 0.0), "exp": (0.0, 0.0)}
    rows = {"sin": [(0.1, 1.0), (0.2, 2.0)], "log": [(2.0, 3.0)] * 20}
    out = oracle.table(("test", "jvp"), _jvp_table, rows, pads, sizes=(16,))
    assert set(out) == {"sin", "log"}
    np.testing.assert_allclose(out["sin"][0], np.sin([0.1, 0.2]))
    np.testing.assert_allclose(out["sin"][1], np.cos([0.1, 0.2]) * [1.0, 2.0])
    np.testing.assert_allclose(out["log"][1], np.full(20, 1.5))


def test_table_refuses_rows_of_an_undeclared_key():
    with pytest.raises(KeyError, match="tan"):
        oracle.table(("test", "jvp"), _jvp_table, {"tan": [(0.1, 1.0)]},
                     {"sin": (0.5, 0.0)}, sizes=(16,))


def test_compiled_is_built_once_per_key_and_clear_drops_it():
    built: list[int] = []

    def make(jax, jnp):
        built.append(1)
        return jnp.cos

    first = oracle.compiled(("test", "cos"), make)
    assert oracle.compiled(("test", "cos"), make) is first and len(built) == 1
    oracle.clear()
    again = oracle.compiled(("test", "cos"), make)
    assert again is not first and len(built) == 2
    assert float(again(0.0)) == 1.0
