"""The instructor report in a real browser: it opens offline, its figures render, and a
student's hostile text stays text.

The page is rendered from a made-up class of 24 students (no grading needed: the data's
collection is tested in ``tests/test_report.py``); a screenshot goes to
``test-artifacts/report.png``.
"""

from __future__ import annotations

import random

import pytest

from autograder.report import ClassData, Failure, NotGraded, StudentScore
from autograder.report_html import HEADINGS, write
from course.checking import mistake_key

from .conftest import REPO_ROOT

pytestmark = pytest.mark.browser

SCREENSHOT = REPO_ROOT / "test-artifacts" / "report.png"
HOSTILE = "<img src=x onerror=\"window.pwned = 1\"><script>window.pwned = 2</script>"
EXERCISES = {"mse": 1.0, "grad_f": 2.0, "hessian_f": 2.0, "sigmoid_prime": 1.0,
             "relu_prime": 1.0}
MISTAKES = {"mse": mistake_key("you summed the squared differences; MSE takes their mean "
                               "(divide by n)."),
            "grad_f": mistake_key("the two partial derivatives are swapped: return "
                                  "(df/dx, df/dy).")}


def made_up_class(students: int = 24, seed: int = 0) -> ClassData:
    """A lesson-01-like class: seeded scores, failures with keys and one hostile message."""
    rng = random.Random(seed)
    data = ClassData("01-derivatives", dict(EXERCISES), sources=["a made-up class"])
    for number in range(students):
        student = f"s{number:03d}"
        scores = {}
        for exercise, points in EXERCISES.items():
            got = rng.choice([points, points, points, 0.0, points / 2])
            scores[exercise] = (got, points)
            if got < points:
                key = MISTAKES.get(exercise, "other") if rng.random() < 0.7 else (
                    "not-implemented")
                message = (f"`{exercise}` raised ValueError: {HOSTILE}" if number == 3 else
                           f"{exercise}(x) is wrong.\n  likely mistake: ...")
                data.failures.append(Failure(student, exercise, key, message))
        data.scores.append(StudentScore(student, sum(g for g, _ in scores.values()), 7.0,
                                        scores))
    data.review = {"s005": ["`hessian_f`: frame inspection (sys._getframe)"]}
    data.notes = {"s007": ["the test cell relu_prime_check was deleted and restored"]}
    data.not_graded = [NotGraded("s099", "the file is empty")]
    return data


def test_the_report_renders_offline_with_its_figures(page, tmp_path):
    path = write(made_up_class(), tmp_path / "report.html")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    assert problems == []  # nothing blocked by the page's policy, nothing fetched

    assert page.locator("h1").inner_text() == "Class report: 01-derivatives"
    assert page.locator("h2").all_inner_texts() == list(HEADINGS)
    figures = page.locator("figure svg, figure img")
    assert figures.count() == 2
    for index in range(figures.count()):
        box = figures.nth(index).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
        assert figures.nth(index).locator("path").count() > 20  # bars, axes and glyphs drawn
    assert page.locator("h3").all_inner_texts() == list(EXERCISES)

    # The student's HTML is shown as text and ran nothing.
    assert page.evaluate("() => window.pwned") is None
    assert page.get_by_text("window.pwned = 2", exact=False).count() >= 1
    assert page.locator("main img").count() == 0

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
