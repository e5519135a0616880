"""Data sets used by the lessons, all small, local and seeded.

* :func:`belt_sizes` -- belt sizes measured in inches and in centimetres;
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

_BELT_INCHES = (28, 32, 34, 38, 40, 44, 48, 50)
_BELT_CM = (70.2, 80.5, 86.3, 96.9, 102.0, 111.9, 122.3, 127.3)


def belt_sizes() -> pd.DataFrame:
    """Eight belts measured with a tape in inches and in centimetres.

    The centimetre readings are real-world noisy: the best single multiplier
    ``cm ~ k * inches`` is about 2.541, close to the exact 2.54.
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
