"""Feedback leaks nothing and runs nothing, whatever the kernel did (autograder/preprocessors.py).

Fast tests give the preprocessors and the exporter notebooks with hostile outputs; the
slow ones grade the lesson-01 submissions of tests/adversarial/feedback_cases.py, which
read the hidden tests back (input history, ``linecache``, stack frames, exception
messages) or emit scripts, and check the feedback HTML ``Course.generate_feedback`` writes.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import nbformat
import pytest
from adversarial.feedback_cases import CASES, FeedbackCase
from conftest import solution_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder import notebooks
from autograder.config import REPO_ROOT
from autograder.preprocessors import (
    HIDDEN,
    HideHiddenTests,
    SafeFeedbackExporter,
    Scrubber,
    ScrubHiddenText,
    clean_html,
    hidden_regions,
    sanitize_body,
    seed_literals,
)

LESSON = "01-derivatives"
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
       "AAAABJRU5ErkJggg==")


def lesson_hidden() -> tuple[list[str], list[str]]:
    """Lesson 01's hidden lines and seeds, read from the solution notebook."""
    regions = [r for c in notebooks.read(solution_notebook(LESSON)).cells
               for r in hidden_regions(c.source)]
    lines = [ln.strip() for r in regions for ln in r.split("\n") if len(ln.strip()) >= 6]
    seeds = sorted({s for r in regions for s in seed_literals(r) if s.isdigit()})
    return lines, seeds


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def unsafe_markup(page: str) -> list[str]:
    """Scripts, frames, SVG, event handlers and script URLs in the body of ``page``."""
    body = page[page.lower().find("<body"):]
    parser = _Tags()
    parser.feed(body)
    found = []
    for tag, attrs in parser.tags:
        if tag in {"script", "iframe", "object", "embed", "svg", "style", "link", "meta", "base",
                   "form"}:
            found.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.lower().startswith("on"):
                found.append(f"<{tag} {name}>")
            if name in {"href", "src", "action"} and (value.startswith("javascript:") or (
                    value.startswith("data:") and not value.startswith("data:image/"))):
                found.append(f"<{tag} {name}={value[:30]}>")
    return found


def leaks(page: str) -> list[str]:
    """Hidden lines and seeds in ``page``, as HTML or as the text a reader sees."""
    lines, seeds = lesson_hidden()
    texts = (page, html.unescape(page), html.unescape(re.sub(r"<[^>]+>", "", page)))
    return [s for s in lines + seeds if any(s in text for text in texts)]


# ----------------------------------------------------------------------------- fast


def test_seed_literals_are_found_in_keywords_and_seeding_calls():
    assert seed_literals("check(f, seed=20241, trials=200)") == {"seed=20241", "20241"}
    assert seed_literals("check(f, seeds=(1, 2, 7))") == {"seeds=(1, 2, 7)", "(1, 2, 7)"}
    assert "7" in seed_literals("rng = np.random.default_rng(7)")
    assert seed_literals("check(f, trials=200)") == set()


def test_scrubber_hides_lines_in_any_quoting_and_seeds_as_whole_numbers():
    scrub = Scrubber(["check_mse(mse, seed=20241, trials=200)"])
    assert scrub("x = check_mse(mse, seed=20241, trials=200)\n") == f"x = {HIDDEN}\n"
    assert scrub(repr("check_mse(mse, seed='20241')")) == repr(f"check_mse(mse, seed='{HIDDEN}')")
    assert HIDDEN in scrub(html.escape("check_mse(mse, seed=20241, trials=200)"))
    assert scrub("seed is 20241.") == f"seed is {HIDDEN}."
    assert scrub("202415 and 0.20241 and 200 trials") == "202415 and 0.20241 and 200 trials"
    assert not Scrubber([])


def hostile_notebook() -> nbformat.NotebookNode:
    """A graded notebook whose outputs carry hidden text, scripts and broken metadata."""
    test = new_code_cell("check_mse(mse)\n### BEGIN HIDDEN TESTS\n"
                         "check_mse(mse, seed=20241, trials=200)\n### END HIDDEN TESTS")
    test.outputs = [new_output("stream", name="stdout",
                               text="✓ ok\ncheck_mse(mse, seed=20241, trials=200)\n")]
    history = new_code_cell("print(In)")
    history.outputs = [
        new_output("stream", name="stdout", text="['', 'check_mse(mse, seed=20241, trials=200)']"),
        new_output("error", ename="ValueError", evalue="called from seed=20241",
                   traceback=["\x1b[0;32m----> 1\x1b[0m check_mse(mse, seed=\x1b[38;5;241m20241"
                              "\x1b[39m, trials=200)"]),
        new_output("display_data", data={"application/javascript": "alert(1)",
                                          "text/html": "<script>alert(2)</script><b>20241</b>",
                                          "image/svg+xml": "<svg onload='alert(3)'/>"}),
        new_output("display_data", data={"image/png": '"><script>alert(4)</script>'}),
        new_output("display_data", data={"image/png": PNG},
                   metadata={"image/png": {"width": "1 onerror=alert(5)", "height": 4}}),
        new_output("execute_result", data={"text/latex": "$x$"}, execution_count=3),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {}}),
    ]
    history.outputs[-2]["execution_count"] = 3
    markdown = new_markdown_cell('<script>alert(6)</script> <a href="javascript:alert(7)">a</a>'
                                 '<img src=x onerror="alert(8)"> and **bold**')
    return new_notebook(cells=[test, history, markdown])


def sanitized(nb) -> nbformat.NotebookNode:
    resources = {"nbgrader": {}}
    nb, resources = ScrubHiddenText().preprocess(nb, resources)
    return HideHiddenTests().preprocess(nb, resources)[0]


def test_outputs_are_scrubbed_and_only_text_html_and_images_are_kept():
    nb = sanitized(hostile_notebook())
    test, history, _ = nb.cells
    assert "BEGIN HIDDEN" not in test.source and "20241" not in test.source
    assert test.outputs[0].text == "✓ ok\n"
    stream, error, shown, image, result = history.outputs
    assert "20241" not in stream.text and HIDDEN in stream.text
    assert error.evalue == f"called from {HIDDEN}" and "20241" not in error.traceback[0]
    assert set(shown.data) == {"text/html"} and "script" not in shown.data["text/html"]
    assert shown.data["text/html"] == f"<b>{HIDDEN}</b>"
    assert image.data == {"image/png": PNG} and image.metadata == {"image/png": {"height": 4}}
    assert result.data == {"text/plain": "$x$"} and result.execution_count == 3
    nbformat.validate(nb)


def test_clean_html_keeps_tables_and_images_and_drops_code():
    table = '<table class="dataframe"><tbody><tr><td colspan="2">1</td></tr></tbody></table>'
    assert clean_html(table) == table
    image = f'<img src="data:image/png;base64,{PNG}" width="3">'
    assert clean_html(image) == image
    for bad in ('<img src="x" onerror="alert(1)">', '<a href="javascript:alert(1)">a</a>',
                '<a href="data:text/html,<script>alert(1)</script>">a</a>',
                "<script>alert(1)</script>", "<iframe src='x'></iframe>",
                "<svg><script>alert(1)</script></svg>", "<style>*{}</style>"):
        assert unsafe_markup(f"<body>{clean_html(bad)}</body>") == [], bad


def test_page_body_is_sanitized_and_head_kept():
    page = ("<html><head><script src='mathjax.js'></script></head><body class='x'>"
            "<div onclick='a()'>hi</div><script>alert(1)</script></body></html>")
    clean = sanitize_body(page)
    assert clean.startswith("<html><head><script src='mathjax.js'></script></head>")
    assert unsafe_markup(clean) == [] and "hi" in clean


def test_exporter_renders_hostile_notebook_without_script_in_body():
    nb = hostile_notebook()
    nb.cells[1].outputs.pop()  # nbconvert itself cannot render a widget without its model
    exporter = SafeFeedbackExporter()
    page, _ = exporter.from_notebook_node(nb)
    assert unsafe_markup(page) == []
    assert "bold" in page


# ------------------------------------------------------------------------ end to end


@pytest.fixture
def course(tmp_path):
    from autograder.grading import Course

    course = Course(tmp_path, source_directory=REPO_ROOT / "solutions",
                    release_directory=tmp_path / "release", cell_timeout=60,
                    notebook_timeout=300)
    course.generate(LESSON)
    return course


def feedback_of(course, tmp_path, student: str, edit) -> str:
    nb = notebooks.read(solution_notebook(LESSON))
    edit(nb)
    path = tmp_path / solution_notebook(LESSON).name
    nbformat.write(nb, str(path))
    course.submit(student, LESSON, path)
    course.autograde(LESSON, student)
    folder = course.generate_feedback(LESSON, student)
    return (folder / f"{path.stem}.html").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_feedback_leaks_no_hidden_test_and_runs_no_script(case: FeedbackCase, course, tmp_path):
    page = feedback_of(course, tmp_path, "eve", case.edit)
    assert case.shown in page, "the hostile cell's output is missing from the feedback"
    assert leaks(page) == []
    assert unsafe_markup(page) == []
