"""One consistent figure style and the course's standard plots.

Call :func:`use_course_style` once at the top of a lesson. Figures are small
(PNG at 80 dpi) so that notebooks stay light to open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "plot_error_vs_step",
    "plot_function_and_derivative",
    "plot_loss_curve",
    "use_course_style",
]

COURSE_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
    "animation.embed_limit": 8.0,  # MB; lesson animations stay far below this
}


def use_course_style() -> None:
    """Apply the course's matplotlib style (idempotent)."""
    mpl.rcParams.update(COURSE_STYLE)


def plot_function_and_derivative(
    f: Callable[[np.ndarray], np.ndarray],
    df: Callable[[np.ndarray], np.ndarray],
    xs: np.ndarray,
    *,
    name: str = "f",
    variable: str = "x",
    ax: plt.Axes | None = None,
) -> plt.Axes:
    """Draw ``f`` and its derivative ``df`` over ``xs`` on one labelled axis."""
    ax = ax or plt.gca()
    ax.plot(xs, f(xs), label=f"${name}({variable})$")
    ax.plot(xs, df(xs), linestyle="--", label=f"${name}'({variable})$")
    ax.axhline(0.0, color="0.5", linewidth=0.8)
    ax.set(xlabel=f"${variable}$", title=f"${name}$ and its derivative")
    ax.legend()
    return ax


def plot_error_vs_step(
    steps: np.ndarray,
    errors: Mapping[str, np.ndarray],
    *,
    optimal_steps: Mapping[str, float] | None = None,
    ax: plt.Axes | None = None,
    title: str = "Error of numeric derivatives against step size",
) -> plt.Axes:
    """Log-log plot of absolute error against step ``h``, one line per method.

    ``optimal_steps`` maps a method's label to its theoretical best step, drawn
    as a dotted vertical line in the same colour.
    """
    ax = ax or plt.gca()
    for label, err in errors.items():
        err = np.where(np.asarray(err) > 0, err, np.nan)  # log axes cannot show exact zeros
        (line,) = ax.loglog(steps, err, marker=".", markersize=3, label=label)
        if optimal_steps and label in optimal_steps:
            h = optimal_steps[label]
            ax.axvline(h, color=line.get_color(), linestyle=":", linewidth=1.2)
            ax.annotate(f"h* = {h:.0e}", (h, np.nanmax(err)), color=line.get_color(),
                        rotation=90, va="top", ha="right", fontsize=8)
    ax.set(xlabel="step size $h$", ylabel="absolute error", title=title)
    ax.legend()
    return ax


def plot_loss_curve(
    losses: Sequence[float] | Mapping[str, Sequence[float]],
    *,
    ax: plt.Axes | None = None,
    log: bool = False,
    xlabel: str = "step",
    title: str = "Loss during training",
) -> plt.Axes:
    """Loss against step; pass a mapping to compare several runs."""
    ax = ax or plt.gca()
    runs = losses if isinstance(losses, Mapping) else {"loss": losses}
    for label, values in runs.items():
        ax.plot(np.arange(len(values)), values, label=label)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel="loss", title=title)
    if len(runs) > 1:
        ax.legend()
    return ax
