"""The instructor report's two figures, drawn with matplotlib in the course's style.

Each figure comes back as an inline ``<svg>`` element (glyphs drawn as paths, so the
page needs no font and no file beside it). Element ids are salted per figure, so that
several figures inlined in one page never share an id.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from statistics import mean, median

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from course.plotting import COURSE_STYLE

__all__ = ["pass_rate_svg", "score_histogram_svg"]

#: Full marks, partial, zero: the colours of the pass-rate bars (colour-blind safe).
BAR_COLOURS = ("#1b9e77", "#e6ab02", "#d95f02")


def _svg(figure: Figure) -> str:
    """``figure`` as an ``<svg>`` element, without the XML prolog and doctype."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S).strip()


def _style(salt: str) -> dict:
    return {**COURSE_STYLE, "svg.fonttype": "path", "svg.hashsalt": salt}


def score_histogram_svg(totals: Sequence[float], max_total: float) -> str:
    """Histogram of the students' totals out of ``max_total``, mean and median marked."""
    with mpl.rc_context(_style("report-histogram")):
        figure = Figure(figsize=(6.4, 3.2))
        ax = figure.subplots()
        top = max([max_total, *totals, 1.0])
        step = max(1.0, float(np.ceil(top / 20)))  # at most about 20 bins of whole points
        edges = np.arange(0.0, top + step, step) - step / 2
        if totals:
            ax.hist(totals, bins=edges, color="#4c72b0", edgecolor="white")
            for value, style, label in ((mean(totals), "-", "mean"),
                                        (median(totals), "--", "median")):
                ax.axvline(value, color="black", linestyle=style, linewidth=1.2,
                           label=f"{label} {value:.3g}")
            ax.legend(loc="best")
        else:
            ax.text(0.5, 0.5, "no graded submission", ha="center", va="center",
                    transform=ax.transAxes)
        ax.set(xlim=(-step / 2 - 0.25, top + step / 2 + 0.25),
               xlabel=f"total score (out of {max_total:g})", ylabel="students",
               title="Score distribution")
        ax.yaxis.get_major_locator().set_params(integer=True)
        return _svg(figure)


def pass_rate_svg(exercises: Sequence[str], full: Sequence[int], partial: Sequence[int],
                  zero: Sequence[int]) -> str:
    """One horizontal bar per exercise: the share of students with full, partial and zero
    marks, stacked to 100 %."""
    with mpl.rc_context(_style("report-pass-rates")):
        figure = Figure(figsize=(6.4, 0.9 + 0.42 * max(len(exercises), 1)))
        ax = figure.subplots()
        counts = np.array([full, partial, zero], dtype=float).reshape(3, len(exercises))
        shares = 100 * counts / np.maximum(counts.sum(axis=0), 1)
        rows = np.arange(len(exercises))
        left = np.zeros(len(exercises))
        for share, colour, label in zip(shares, BAR_COLOURS, ("full marks", "partial", "zero"),
                                        strict=True):
            ax.barh(rows, share, left=left, color=colour, label=label, height=0.7)
            left += share
        ax.set_yticks(rows, list(exercises))
        ax.invert_yaxis()
        ax.set(xlim=(0, 100), xlabel="% of graded students")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3)
        return _svg(figure)
