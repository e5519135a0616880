"""The secant animation of lesson 01: one small frame per step, slopes from the quotient."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from course.animation import animate_secants


def test_secant_animation_has_one_frame_per_step_and_stays_small():
    plt.close("all")
    html = animate_secants(lambda x: x**2, 3.0, [2.0, 1.0, 0.5, 0.1], slope=6.0)
    assert html.data.count(";base64,") == 4
    assert len(html.data) < 300_000
    assert not plt.get_fignums()  # the figure is closed, no static copy is shown


def test_secant_animation_refuses_a_zero_step():
    with pytest.raises(ValueError):
        animate_secants(lambda x: x**2, 3.0, [1.0, 0.0])
