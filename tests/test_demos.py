"""Demos run the student's code only after its check has passed."""

from __future__ import annotations

import pytest

from course import checking, demos


@pytest.fixture(autouse=True)
def _fresh():
    demos.forget()
    yield
    demos.forget()


def test_not_ready_names_the_exercise_to_finish(capsys):
    assert not demos.ready("gradient_descent")
    out = capsys.readouterr().out
    assert "`gradient_descent`" in out and out.count("\n") == 1


def test_ready_after_the_check_passed(capsys):
    checking.passed("gradient_descent", "3 runs agree")
    capsys.readouterr()
    assert demos.ready("gradient_descent")
    assert capsys.readouterr().out == ""


def test_every_exercise_must_have_passed(capsys):
    checking.passed("sgd", "ok")
    assert not demos.ready("sgd", "step_decay")
    out = capsys.readouterr().out
    assert "`step_decay`" in out and "`sgd`" not in out
