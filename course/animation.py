"""Small, light animations of training that play inside JupyterLab.

Each helper draws a few frames with :class:`matplotlib.animation.FuncAnimation`,
closes the figure (so no static copy is shown as well) and returns an
``IPython.display.HTML`` object like ``HTML(anim.to_jshtml())``: a self-contained
JavaScript player with the frames embedded as (palette) PNG images. Keep
animations short (at most about 30 frames) and figures small so that notebooks
stay light; :func:`frame_indices` picks which training steps to show.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable, Sequence
from io import BytesIO
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML
from matplotlib.animation import FuncAnimation, HTMLWriter
from PIL import Image

from course import recording

__all__ = [
    "CompactHTMLWriter",
    "animate_drawings",
    "animate_line_fit",
    "animate_parameter_path",
    "animate_paths",
    "animate_secants",
    "frame_indices",
    "to_compact_jshtml",
]

#: A small figure: at the course's 80 dpi a frame is a PNG of a few kilobytes.
SMALL_FIGURE = (4.8, 3.2)


def frame_indices(num_steps: int, max_frames: int = 30) -> np.ndarray:
    r"""At most ``max_frames`` distinct steps from 0 to ``num_steps`` inclusive.

    Steps are spaced geometrically, :math:`k_j \approx (n + 1)^{j/(F-1)} - 1`, so the
    fast early changes of gradient descent get more frames than the slow tail. The
    first (0) and the last (``num_steps``) step are always included.
    """
    if num_steps < 0 or max_frames < 2:
        raise ValueError("need num_steps >= 0 and max_frames >= 2")
    raw = np.geomspace(1.0, num_steps + 1.0, max_frames) - 1.0
    steps = np.unique(np.round(raw).astype(int))
    return np.union1d(steps, [0, num_steps])[: max_frames]


#: Colours kept per frame: line plots need few, and a palette PNG is about 3x smaller.
PALETTE_COLOURS = 32


class CompactHTMLWriter(HTMLWriter):
    """:class:`~matplotlib.animation.HTMLWriter` that embeds palette PNG frames.

    Identical to what ``anim.to_jshtml()`` produces, except that each frame is
    reduced to ``colours`` colours before it is base64-embedded: about a third of
    the bytes for line plots, with no visible difference.
    """

    def __init__(self, *args, colours: int = PALETTE_COLOURS, **kwargs):
        super().__init__(*args, embed_frames=True, **kwargs)
        self.colours = colours
        self.frame_format = "png"

    def grab_frame(self, **savefig_kwargs):
        buffer = BytesIO()
        self.fig.savefig(buffer, format="png", dpi=self.dpi, **savefig_kwargs)
        image = Image.open(buffer).convert("RGB").quantize(colors=self.colours)
        compact = BytesIO()
        image.save(compact, format="png", optimize=True)
        self._saved_frames.append(base64.encodebytes(compact.getvalue()).decode("ascii"))


def to_compact_jshtml(anim: FuncAnimation, *, fps: float, mode: str = "once") -> str:
    """Like ``anim.to_jshtml(fps, default_mode=mode)`` but with :class:`CompactHTMLWriter`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "animation.html")
        anim.save(str(path), writer=CompactHTMLWriter(fps=fps, default_mode=mode))
        return path.read_text()


def _to_html(fig: plt.Figure, anim: FuncAnimation, interval: int, mode: str) -> HTML:
    if recording.mode() == "record":  # a grading kernel: nobody will watch; save the seconds
        plt.close(fig)
        return HTML("<p><em>(animation not drawn while grading)</em></p>")
    html = to_compact_jshtml(anim, fps=1000 / interval, mode=mode)
    plt.close(fig)
    return HTML(html)


def animate_line_fit(
    x: np.ndarray,
    y: np.ndarray,
    params: np.ndarray,
    *,
    steps: Sequence[int] | None = None,
    losses: Sequence[float] | None = None,
    xlabel: str = "x",
    ylabel: str = "y",
    title: str = "Fitted line during training",
    figsize: tuple[float, float] = SMALL_FIGURE,
    interval: int = 200,
    mode: str = "once",
) -> HTML:
    r"""Animate the line :math:`\hat y = b + a x` for each row ``[b, a]`` of ``params``.

    ``params`` has shape (frames, 2): intercept then slope. ``steps`` and ``losses``
    (one per frame) label each frame, e.g. "step 40, loss 0.652".
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    params = np.asarray(params, dtype=np.float64)
    if params.ndim != 2 or params.shape[1] != 2:
        raise ValueError(f"params must have shape (frames, 2), got {params.shape}")
    steps = list(range(len(params))) if steps is None else list(steps)

    fig, ax = plt.subplots(figsize=figsize)
    ax.scatter(x, y, s=8, alpha=0.5, color="C0", label="data")
    grid = np.linspace(x.min(), x.max(), 2)
    (line,) = ax.plot([], [], color="C1", label="fitted line")
    label = ax.text(0.02, 0.96, "", transform=ax.transAxes, va="top", fontsize=9)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, ylim=_padded(y))
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.9))
    fig.tight_layout()

    def draw(frame: int):
        intercept, slope = params[frame]
        line.set_data(grid, intercept + slope * grid)
        text = f"step {steps[frame]}: b = {intercept:.3f}, a = {slope:.3f}"
        if losses is not None:
            text += f", loss {losses[frame]:.3f}"
        label.set_text(text)
        return line, label

    anim = FuncAnimation(fig, draw, frames=len(params), interval=interval, blit=True)
    return _to_html(fig, anim, interval, mode)


def animate_parameter_path(
    path: np.ndarray,
    *,
    loss: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    labels: tuple[str, str] = (r"$\theta_0$", r"$\theta_1$"),
    title: str = "Parameters during training",
    figsize: tuple[float, float] = SMALL_FIGURE,
    interval: int = 200,
    mode: str = "once",
) -> HTML:
    """Animate a 2-D parameter path (shape (frames, 2)) growing over loss contours.

    ``loss(P0, P1)`` evaluates the loss on a meshgrid (vectorised); without it only
    the path is drawn.
    """
    path = np.asarray(path, dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != 2:
        raise ValueError(f"path must have shape (frames, 2), got {path.shape}")
    xlim = xlim or _padded(path[:, 0])
    ylim = ylim or _padded(path[:, 1])

    fig, ax = plt.subplots(figsize=figsize)
    if loss is not None:
        p0, p1 = np.meshgrid(np.linspace(*xlim, 60), np.linspace(*ylim, 60))
        ax.contour(p0, p1, loss(p0, p1), levels=15, linewidths=0.8, cmap="viridis")
    (trail,) = ax.plot([], [], color="C3", marker=".", markersize=4, linewidth=1.2)
    ax.set(xlabel=labels[0], ylabel=labels[1], title=title, xlim=xlim, ylim=ylim)
    fig.tight_layout()

    def draw(frame: int):
        trail.set_data(path[: frame + 1, 0], path[: frame + 1, 1])
        return (trail,)

    anim = FuncAnimation(fig, draw, frames=len(path), interval=interval, blit=True)
    return _to_html(fig, anim, interval, mode)


def animate_secants(
    f: Callable[[np.ndarray], np.ndarray],
    x0: float,
    steps: Sequence[float],
    *,
    slope: float | None = None,
    xlim: tuple[float, float] | None = None,
    title: str = "Secants closing in on the tangent",
    figsize: tuple[float, float] = SMALL_FIGURE,
    interval: int = 700,
    mode: str = "once",
) -> HTML:
    r"""Animate the secant of ``f`` through :math:`x_0` and :math:`x_0 + h`, one frame per ``h``.

    The secant's slope is the difference quotient :math:`(f(x_0 + h) - f(x_0)) / h`; with
    ``slope`` = :math:`f'(x_0)` the tangent :math:`f(x_0) + f'(x_0)(x - x_0)` is drawn
    too, so the secants can be seen to turn onto it as ``h`` shrinks.
    """
    steps = [float(h) for h in steps]
    if not steps or any(h == 0 for h in steps):
        raise ValueError("steps must be a non-empty sequence of non-zero h")
    reach = max(abs(h) for h in steps)
    xlim = xlim or (x0 - 0.5 * reach, x0 + 1.25 * reach)
    xs = np.linspace(*xlim, 200)
    fx0 = float(f(x0))

    fig, ax = plt.subplots(figsize=figsize)
    ax.plot(xs, f(xs), color="0.3", label="$f$")
    if slope is not None:
        ax.plot(xs, fx0 + slope * (xs - x0), ":", color="C0",
                label=f"tangent, slope {slope:g}")
    (secant,) = ax.plot([], [], color="C1", label="secant")
    (points,) = ax.plot([], [], "o", color="C1", markersize=5)
    label = ax.text(0.02, 0.96, "", transform=ax.transAxes, va="top", fontsize=9)
    ax.set(xlabel="$x$", ylabel="$f(x)$", title=title, xlim=xlim, ylim=_padded(f(xs)))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()

    def draw(frame: int):
        h = steps[frame]
        quotient = (float(f(x0 + h)) - fx0) / h
        secant.set_data(xs, fx0 + quotient * (xs - x0))
        points.set_data([x0, x0 + h], [fx0, float(f(x0 + h))])
        label.set_text(f"h = {h:g}: slope of the secant {quotient:.4g}")
        return secant, points, label

    anim = FuncAnimation(fig, draw, frames=len(steps), interval=interval, blit=True)
    return _to_html(fig, anim, interval, mode)


def animate_paths(
    paths: dict[str, np.ndarray],
    *,
    background: Callable[[plt.Axes], object] | None = None,
    references: dict[str, np.ndarray] | None = None,
    frames: Sequence[int] | None = None,
    title: str = "Optimizers racing",
    figsize: tuple[float, float] = SMALL_FIGURE,
    interval: int = 250,
    mode: str = "once",
) -> HTML:
    """Animate several 2-D paths (each of shape (steps + 1, 2)) growing side by side.

    ``background(ax)`` draws what stays (contours, start, minimum) and sets the limits.
    ``references`` (same keys, or a subset) are drawn as thin dashed lines in the colour of
    their path, growing with it: e.g. a library's trajectory under the student's. ``frames``
    are the steps shown (default :func:`frame_indices` of the longest path); a path shorter
    than a frame's step stays at its end.
    """
    arrays = {name: np.asarray(path, dtype=np.float64) for name, path in paths.items()}
    for name, path in arrays.items():
        if path.ndim != 2 or path.shape[1] != 2:
            raise ValueError(f"path {name!r} must have shape (steps, 2), got {path.shape}")
    longest = max(len(path) for path in arrays.values()) - 1
    shown = list(frame_indices(longest)) if frames is None else [int(k) for k in frames]
    dashed = {name: np.asarray(path, dtype=np.float64)
              for name, path in (references or {}).items() if name in arrays}

    fig, ax = plt.subplots(figsize=figsize)
    if background is not None:
        background(ax)
    lines, heads, ghosts = {}, {}, {}
    for index, name in enumerate(arrays):
        colour = f"C{index % 10}"
        (lines[name],) = ax.plot([], [], color=colour, linewidth=1.4, label=name)
        (heads[name],) = ax.plot([], [], "o", color=colour, markersize=4)
        if name in dashed:
            (ghosts[name],) = ax.plot([], [], "--", color=colour, linewidth=0.9, alpha=0.8)
    label = ax.text(0.02, 0.96, "", transform=ax.transAxes, va="top", fontsize=8)
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    fig.tight_layout()

    def draw(frame: int):
        step = shown[frame]
        for name, path in arrays.items():
            upto = min(step, len(path) - 1)
            lines[name].set_data(path[: upto + 1, 0], path[: upto + 1, 1])
            heads[name].set_data(path[upto : upto + 1, 0], path[upto : upto + 1, 1])
        for name, path in dashed.items():
            upto = min(step, len(path) - 1)
            ghosts[name].set_data(path[: upto + 1, 0], path[: upto + 1, 1])
        label.set_text(f"step {step}")
        return (*lines.values(), *heads.values(), *ghosts.values(), label)

    anim = FuncAnimation(fig, draw, frames=len(shown), interval=interval, blit=True)
    return _to_html(fig, anim, interval, mode)


def animate_drawings(
    draw: Callable[[plt.Axes, int], object],
    frames: int,
    *,
    figsize: tuple[float, float] = SMALL_FIGURE,
    interval: int = 900,
    mode: str = "once",
) -> HTML:
    """Animate ``frames`` pictures, each drawn afresh by ``draw(ax, frame)`` on cleared axes.

    For pictures that change in many places at once (a graph whose labels fill in), where
    updating a few artists is not simpler than drawing again.
    """
    if frames < 1:
        raise ValueError("need at least one frame")
    fig, ax = plt.subplots(figsize=figsize)

    def redraw(frame: int):
        ax.clear()
        draw(ax, frame)
        return ()

    redraw(0)
    fig.tight_layout()
    anim = FuncAnimation(fig, redraw, frames=frames, interval=interval, blit=False)
    return _to_html(fig, anim, interval, mode)


def _padded(values: np.ndarray, fraction: float = 0.1) -> tuple[float, float]:
    low, high = float(np.min(values)), float(np.max(values))
    pad = fraction * (high - low) or 1.0
    return low - pad, high + pad
