"""The animation helpers return light, self-contained JavaScript players."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.display import HTML

from course.animation import (
    animate_line_fit,
    animate_parameter_path,
    frame_indices,
)


@settings(max_examples=50)
@given(num_steps=st.integers(0, 100_000), max_frames=st.integers(2, 60))
def test_frame_indices_are_sorted_bounded_and_include_both_ends(num_steps, max_frames):
    steps = frame_indices(num_steps, max_frames)
    assert len(steps) <= max_frames
    assert steps[0] == 0
    assert steps[-1] == num_steps
    assert np.all(np.diff(steps) > 0)


def test_frame_indices_are_denser_early():
    steps = frame_indices(1000, 30)
    assert np.count_nonzero(steps < 100) > np.count_nonzero(steps >= 500)


def test_frame_indices_reject_nonsense():
    with pytest.raises(ValueError):
        frame_indices(-1)
    with pytest.raises(ValueError):
        frame_indices(10, 1)


def _frames(html: HTML) -> int:
    return html.data.count(";base64,")


def test_line_fit_animation_is_a_small_player_and_closes_its_figure():
    plt.close("all")
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    y = 0.5 * x + rng.normal(scale=0.3, size=50)
    params = np.column_stack([np.linspace(-2, 0, 4), np.linspace(0, 0.5, 4)])
    html = animate_line_fit(x, y, params, steps=[0, 1, 5, 20], losses=[4.0, 2.0, 1.0, 0.1],
                            xlabel="x", ylabel="y")
    assert isinstance(html, HTML)
    assert "<script" in html.data
    assert "data:image/png;base64," in html.data
    assert _frames(html) == 4
    assert len(html.data) < 60_000  # palette PNGs: a few kB per frame
    assert plt.get_fignums() == []


def test_parameter_path_animation_with_contours():
    plt.close("all")
    path = np.column_stack([np.linspace(-2, 0, 3), np.linspace(0, 0.6, 3)])
    html = animate_parameter_path(path, loss=lambda a, b: a**2 + (b - 0.6) ** 2)
    assert _frames(html) == 3
    assert plt.get_fignums() == []


@pytest.mark.parametrize("shape", [(3,), (3, 3)])
def test_animations_reject_wrong_shapes(shape):
    with pytest.raises(ValueError, match="shape"):
        animate_line_fit(np.zeros(3), np.zeros(3), np.zeros(shape))
    with pytest.raises(ValueError, match="shape"):
        animate_parameter_path(np.zeros(shape))


def test_a_grading_kernel_skips_drawing_the_frames(monkeypatch, tmp_path):
    from course import recording

    monkeypatch.setattr(recording, "_recorder", recording._Recorder(str(tmp_path / "log")))
    before = len(plt.get_fignums())
    html = animate_line_fit(np.arange(5.0), np.arange(5.0), np.zeros((3, 2)),
                            steps=np.arange(3), losses=np.ones(3))
    assert isinstance(html, HTML) and "not drawn while grading" in html.data
    assert "<img" not in html.data and len(plt.get_fignums()) == before


def test_paths_animation_races_paths_with_dashed_references():
    from course.animation import animate_paths

    plt.close("all")
    fast = np.column_stack([np.linspace(-2, 0, 5), np.linspace(1, 0, 5)])
    slow = np.column_stack([np.linspace(-2, -1, 3), np.linspace(1, 0.5, 3)])
    drawn = []
    html = animate_paths({"fast": fast, "slow": slow}, references={"fast": fast[::-1]},
                         background=lambda ax: drawn.append(ax.set(xlim=(-3, 1))))
    assert _frames(html) == 5  # steps 0 to 4; the shorter path waits at its end
    assert drawn and plt.get_fignums() == []
    with pytest.raises(ValueError, match="shape"):
        animate_paths({"bad": np.zeros((3, 3))})
