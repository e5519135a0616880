"""The optimizer test functions: right minima, same values on numpy and JAX, labelled plots."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.landscapes import (
    BEALE,
    HIMMELBLAU,
    LANDSCAPES,
    RAVINE,
    ROSENBROCK,
    plot_paths,
)
from course.oracle import jax, jnp


@pytest.mark.parametrize("landscape", LANDSCAPES, ids=lambda ls: ls.name)
def test_minimum_is_a_stationary_point_with_value_zero(landscape):
    x = jnp.asarray(landscape.minimum, dtype=jnp.float64)
    assert landscape.f_min == pytest.approx(0.0, abs=1e-12)
    assert np.allclose(jax.grad(landscape.using(jnp))(x), 0.0, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(jax.hessian(landscape.using(jnp))(x)) > 0)


def test_known_values():
    assert ROSENBROCK(np.array([0.0, 0.0])) == 1.0
    assert RAVINE(np.array([10.0, 1.0])) == pytest.approx(10.0)
    assert BEALE(np.array([0.0, 0.0])) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)
    for other_minimum in [(-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]:
        assert HIMMELBLAU(np.array(other_minimum)) == pytest.approx(0.0, abs=1e-9)


def test_ravine_is_elongated():
    H = np.asarray(jax.hessian(RAVINE.using(jnp))(jnp.zeros(2)))
    eigenvalues = np.linalg.eigvalsh(H)
    assert eigenvalues.max() / eigenvalues.min() == pytest.approx(100.0)


@settings(max_examples=30)
@given(st.floats(-3, 3), st.floats(-3, 3))
def test_numpy_and_jax_agree(x, y):
    point = np.array([x, y])
    for landscape in LANDSCAPES:
        assert float(landscape(point)) == pytest.approx(
            float(landscape.using(jnp)(jnp.asarray(point))), rel=1e-12, abs=1e-12)


def test_grid_evaluates_the_window():
    X, Y, Z = ROSENBROCK.grid(n=50)
    assert X.shape == Y.shape == Z.shape == (50, 50)
    assert X.min() == ROSENBROCK.xlim[0] and Y.max() == ROSENBROCK.ylim[1]
    assert Z[10, 20] == pytest.approx(ROSENBROCK(np.array([X[10, 20], Y[10, 20]])))


def test_plot_paths_labels_axes_and_legend():
    fig, ax = plt.subplots()
    path = np.array([[-1.5, 2.0], [-1.0, 1.0], [0.5, 0.3], [1.0, 1.0]])
    plot_paths(ROSENBROCK, {"my optimizer": path}, ax=ax, title="demo")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["my optimizer", "start", "minimum"]
    assert ax.get_xlabel() == "$x$" and ax.get_ylabel() == "$y$"
    assert ax.get_title() == "demo"
    assert ax.get_xlim() == ROSENBROCK.xlim
    plt.close(fig)


def test_using_binds_the_namespace_and_keeps_the_label():
    f = BEALE.using(jnp)
    assert f.label == BEALE.label
    assert "Beale" in repr(BEALE)
