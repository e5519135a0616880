"""Data sets used by the lessons, all small, local and seeded.

* :func:`belt_sizes` -- a store's belt size chart, in inches and in centimetres;
* :func:`penguins` -- Palmer penguins (from the ``palmerpenguins`` package),
  rows with missing values dropped;
* :func:`standardize` -- z-scores, :math:`(x - \\bar x) / s`;
* :func:`bimodal_sample` -- 10,000 draws of N(0, 1) and 5,000 of N(3, 1);
* :func:`linear_regression_sample` -- a noisy line for stochastic-gradient lessons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "belt_sizes",
    "bimodal_sample",
    "linear_regression_sample",
    "penguins",
    "standardize",
]

_BELT_INCHES = tuple(30.5 + 2 * i for i in range(10))  # 30.5, 32.5, ..., 48.5
_BELT_CM = (77, 83, 88, 93, 98, 103, 108, 113, 118, 123)


def belt_sizes() -> pd.DataFrame:
    r"""A store's size chart: ten belt sizes, 30.5 to 48.5 inches in steps of 2, and in cm.

    The centimetre column is ``2.54 * inches`` rounded to whole centimetres, so no single
    multiplier fits every row exactly: the least-squares multiplier of
    ``cm ~ k * inches``, :math:`k = \sum x_i y_i / \sum x_i^2`, is about 2.541, close to
    the exact 2.54.
    """
    return pd.DataFrame({"inches": np.array(_BELT_INCHES, dtype=np.float64),
                         "cm": np.array(_BELT_CM, dtype=np.float64)})


def penguins() -> pd.DataFrame:
    """The Palmer penguins table with every row that has a missing value dropped (333 rows)."""
    from palmerpenguins import load_penguins

    return load_penguins().dropna().reset_index(drop=True)


def standardize(x) -> np.ndarray:
    r"""Z-scores :math:`z_i = (x_i - \bar x) / s` with the population standard deviation ``s``."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / x.std()


def bimodal_sample(seed: int = 0) -> np.ndarray:
    """10,000 draws from N(0, 1) followed by 5,000 from N(3, 1), seeded."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0.0, 1.0, 10_000), rng.normal(3.0, 1.0, 5_000)])


def linear_regression_sample(n: int = 200, *, slope: float = 2.0, intercept: float = -1.0,
                             noise: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""``X`` of shape (n, 2) (a column of ones, then x) and :math:`y = b + a x + \varepsilon`."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, n)
    y = intercept + slope * x + rng.normal(0.0, noise, n)
    return np.column_stack([np.ones(n), x]), y
