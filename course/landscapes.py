r"""Two-dimensional test functions for optimizers, and a contour plot with paths.

Each landscape is written once against a math namespace ``m`` (numpy by default,
``jax.numpy`` for gradients and optax runs), on a point ``x`` whose first axis
holds the two coordinates, so the same definition also evaluates a whole grid:

>>> from course.landscapes import ROSENBROCK
>>> float(ROSENBROCK(np.array([1.0, 1.0])))
0.0

* :data:`RAVINE` -- the elongated quadratic :math:`f(x, y) = \tfrac{1}{2}(x^2/10 + 10\,y^2)`,
  curvature 0.1 along the valley and 10 across it (condition number 100);
* :data:`ROSENBROCK` -- :math:`(1 - x)^2 + 100\,(y - x^2)^2`, a curved, flat-bottomed valley
  with its minimum at (1, 1);
* :data:`BEALE` -- :math:`(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`,
  flat plateaus and steep walls, minimum at (3, 0.5);
* :data:`HIMMELBLAU` -- :math:`(x^2 + y - 11)^2 + (x + y^2 - 7)^2`, four minima (one at (3, 2)).

:func:`plot_paths` draws a landscape's contours (log-spaced levels) with one or
more optimization paths, the start and the minimum, axes labelled and a legend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "BEALE",
    "HIMMELBLAU",
    "LANDSCAPES",
    "RAVINE",
    "ROSENBROCK",
    "Landscape",
    "plot_paths",
]


@dataclass(frozen=True)
class Landscape:
    """f: R^2 -> R written against a math namespace ``m``, with what a plot needs.

    ``body(x, m)`` reads the coordinates as ``x[0]`` and ``x[1]``; ``minimum`` is a
    global minimiser, ``start`` the conventional starting point of the demos, and
    ``xlim``/``ylim`` the window a plot shows.
    """

    name: str
    label: str
    body: Callable[[Any, Any], Any]
    minimum: tuple[float, float]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def __call__(self, x, m: Any = np):
        return self.body(x, m)

    def using(self, m: Any) -> Callable[[Any], Any]:
        """The same function with the namespace fixed, e.g. ``RAVINE.using(jax.numpy)``."""
        def bound(x):
            return self.body(x, m)
        bound.label = self.label  # type: ignore[attr-defined]
        return bound

    @property
    def f_min(self) -> float:
        """The minimum value, f(minimum)."""
        return float(self.body(np.asarray(self.minimum, dtype=np.float64), np))

    def grid(self, n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``X, Y, Z`` on an ``n`` by ``n`` grid over the plot window (numpy)."""
        xs = np.linspace(*self.xlim, n)
        ys = np.linspace(*self.ylim, n)
        X, Y = np.meshgrid(xs, ys)
        return X, Y, np.asarray(self.body(np.stack([X, Y]), np), dtype=np.float64)

    def __repr__(self) -> str:
        return f"{self.name}: f(x, y) = {self.label}"


RAVINE = Landscape(
    name="ravine",
    label="(x**2 / 10 + 10 * y**2) / 2",
    body=lambda x, m: 0.5 * (x[0] ** 2 / 10.0 + 10.0 * x[1] ** 2),
    minimum=(0.0, 0.0),
    start=(-9.0, 1.5),
    xlim=(-10.0, 2.0),
    ylim=(-2.5, 2.5),
)

ROSENBROCK = Landscape(
    name="Rosenbrock",
    label="(1 - x)**2 + 100 * (y - x**2)**2",
    body=lambda x, m: (1.0 - x[0]) ** 2 + 100.0 * (x[1] - x[0] ** 2) ** 2,
    minimum=(1.0, 1.0),
    start=(-1.5, 2.0),
    xlim=(-2.0, 2.0),
    ylim=(-1.0, 3.0),
)

BEALE = Landscape(
    name="Beale",
    label="(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
    body=lambda x, m: (
        (1.5 - x[0] + x[0] * x[1]) ** 2
        + (2.25 - x[0] + x[0] * x[1] ** 2) ** 2
        + (2.625 - x[0] + x[0] * x[1] ** 3) ** 2
    ),
    minimum=(3.0, 0.5),
    start=(1.0, -1.0),
    xlim=(-1.0, 4.5),
    ylim=(-1.5, 2.0),
)

HIMMELBLAU = Landscape(
    name="Himmelblau",
    label="(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    body=lambda x, m: (x[0] ** 2 + x[1] - 11.0) ** 2 + (x[0] + x[1] ** 2 - 7.0) ** 2,
    minimum=(3.0, 2.0),
    start=(-1.0, 0.0),
    xlim=(-5.0, 5.0),
    ylim=(-5.0, 5.0),
)

LANDSCAPES: tuple[Landscape, ...] = (RAVINE, ROSENBROCK, BEALE, HIMMELBLAU)


def _log_levels(Z: np.ndarray, f_min: float, count: int) -> np.ndarray:
    """``count`` levels geometrically spaced in f - f_min over the grid's range."""
    excess = Z - f_min
    high = float(np.max(excess))
    low = max(float(np.min(excess[excess > 0])) if np.any(excess > 0) else high, high * 1e-7)
    return f_min + np.geomspace(low, high, count)


def plot_paths(
    landscape: Landscape,
    paths: Mapping[str, np.ndarray] | None = None,
    *,
    ax: plt.Axes | None = None,
    levels: int = 25,
    title: str | None = None,
    legend: bool = True,
    markersize: float = 2.5,
) -> plt.Axes:
    """Contours of ``landscape`` with each path (an array of shape (steps, 2)) drawn on top.

    Levels are spaced geometrically above the minimum value so that flat valleys
    show; the start is a black dot, the minimum a red star and each path's last
    point a cross in its colour. Paths that leave the window are clipped by the
    axes limits.
    """
    ax = ax or plt.gca()
    X, Y, Z = landscape.grid()
    ax.contour(X, Y, Z, levels=_log_levels(Z, landscape.f_min, levels), colors="0.55",
               linewidths=0.6)
    for label, path in (paths or {}).items():
        path = np.asarray(path, dtype=np.float64)
        (line,) = ax.plot(path[:, 0], path[:, 1], marker=".", markersize=markersize,
                          linewidth=1.2, label=label)
        ax.plot(path[-1, 0], path[-1, 1], marker="X", markersize=9, color=line.get_color(),
                markeredgecolor="black", markeredgewidth=0.8, linestyle="none")
    ax.plot(*landscape.start, "o", color="black", markersize=5, label="start")
    ax.plot(*landscape.minimum, "*", color="red", markersize=12, label="minimum")
    ax.set(xlim=landscape.xlim, ylim=landscape.ylim, xlabel="$x$", ylabel="$y$",
           title=title or f"{landscape.name}")
    if legend:
        ax.legend(loc="best", fontsize=8)
    return ax
