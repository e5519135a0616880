"""A student's feedback page in a real, offline browser: it loads nothing from elsewhere,
runs nothing, and shows each exercise's score and the named mistake on its first screen.

The page is lesson-01-like feedback rendered by ``autograder feedback``'s exporter and
template (tests/test_lms_export.py grades a real submission for the same checks); a
screenshot goes to ``test-artifacts/browser/feedback-page.png``.
"""

from __future__ import annotations

import pytest
from test_lms_export import MAE, feedback_page, graded_notebook

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def test_feedback_page_shows_the_mistake_first_and_fetches_nothing(page, tmp_path):
    path = tmp_path / "derivatives.html"
    path.write_text(feedback_page(graded_notebook(), tmp_path / "course"), encoding="utf-8")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    assert requests == [path.as_uri()], requests  # the page itself, nothing else

    table = page.locator("table.feedback-summary")
    assert table.is_visible()
    box = table.bounding_box()
    assert box is not None and box["y"] + box["height"] < 900, box  # on the first screen
    assert table.locator("tbody tr").all_inner_texts() == [
        f"mse\t0 / 1\tmse(actual, guess) is wrong.\nlikely mistake: {MAE}"]
    assert page.get_by_text(f"likely mistake: {MAE}").first.is_visible()
    assert page.evaluate("() => document.scripts.length") == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "feedback-page.png")
