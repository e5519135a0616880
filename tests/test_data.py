"""Data sets: the numbers the lessons quote must come out of them."""

from __future__ import annotations

import numpy as np

from course.data import belt_sizes, bimodal_sample, linear_regression_sample, penguins, standardize


def test_belt_sizes_are_the_store_size_chart():
    belts = belt_sizes()
    x, y = belts["inches"].to_numpy(), belts["cm"].to_numpy()
    assert np.array_equal(x, np.arange(30.5, 49.0, 2.0)) and len(x) == 10
    assert np.array_equal(y, np.round(2.54 * x))  # the chart rounds to whole centimetres


def test_belt_sizes_reproduce_lesson_01_numbers():
    belts = belt_sizes()
    x, y = belts["inches"].to_numpy(), belts["cm"].to_numpy()
    assert round(np.mean((y - 1.5 * x) ** 2), 4) == 1728.2125
    assert round(np.mean((y - 1.7 * x) ** 2), 4) == 1128.2125
    grid = np.linspace(0.0, 5.0, 50)
    best = grid[np.argmin([np.mean((y - k * x) ** 2) for k in grid])]
    assert round(best, 3) == 2.551


def test_belt_sizes_reproduce_lesson_06_numbers():
    belts = belt_sizes()
    x, y = belts["inches"].to_numpy(), belts["cm"].to_numpy()
    slope = -2 * np.mean(x * (y - 1.7 * x))
    assert round(slope, 2) == -2681.35
    k = 0.0
    for _ in range(1000):
        k -= 1e-5 * (-2 * np.mean(x * (y - k * x)))
    assert round(k, 3) == 2.541
    assert round(x @ y / (x @ x), 3) == 2.541  # the least-squares multiplier it approaches


def test_penguins_standardised_regression_slope():
    table = penguins()
    assert len(table) == 333 and not table.isna().any().any()
    x = standardize(table["bill_length_mm"])
    y = standardize(table["body_mass_g"])
    assert abs(x.mean()) < 1e-12 and abs(x.std() - 1) < 1e-12
    slope = np.polyfit(x, y, 1)[0]
    assert round(slope, 3) == 0.589


def test_bimodal_sample_is_seeded_and_shaped():
    a, b = bimodal_sample(0), bimodal_sample(0)
    assert a.shape == (15_000,) and np.array_equal(a, b)
    assert abs(a[:10_000].mean()) < 0.05 and abs(a[10_000:].mean() - 3) < 0.05


def test_linear_regression_sample():
    X, y = linear_regression_sample(500, seed=1)
    assert X.shape == (500, 2) and np.all(X[:, 0] == 1)
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    assert np.allclose(coef, [-1.0, 2.0], atol=0.1)
