"""The student's real path: JupyterLab in a real browser.

For every lesson (each folder of ``solutions/`` released in ``lessons/``), on a scratch
copy of the course served by JupyterLab with the course's student settings:

- the solution notebook is run with Run > Run All Cells and saved from the UI; the
  saved file must show every code cell run, no error output, and a PNG figure wherever
  the stored original has one; every matplotlib JavaScript animation must render and play;
- the released lesson is checked with nbgrader's Validate toolbar button: untouched, it
  must report failing cells (its stubs raise ``NotImplementedError``).

Screenshots go to ``test-artifacts/browser/<lesson>-*.png``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .conftest import ARTIFACTS, REPO_ROOT, lessons

# Browser tests execute every notebook, so they are "slow" as well.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSONS = lessons()
#: Generous limits: the whole module takes a few minutes on a 2-core machine.
LOAD_TIMEOUT = 120_000  # ms, opening JupyterLab and starting a kernel
RUN_TIMEOUT = 300_000  # ms, Run All Cells of one lesson
VALIDATE_TIMEOUT = 300_000  # ms, nbgrader's Validate executes the whole lesson

#: The notebook on show (JupyterLab hides, but keeps, the others).
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
#: Every code cell has a prompt; it shows ``[*]`` while queued or running, ``[n]`` once run.
CELLS_STATE_JS = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const cells = [...panel.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const prompts = cells.map(c => (c.querySelector('.jp-InputPrompt')?.textContent || '').trim());
  const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
  return {
    prompts,
    busy: prompts.some(p => p.includes('*')),
    errors: panel.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length,
    kernel: indicator ? indicator.getAttribute('data-status') : null,
  };
}"""


def _menu(page, menu: str, item: str) -> None:
    """Click ``menu`` in the main menu bar, then its entry labelled exactly ``item``."""
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(rf"^{menu}$")).click()
    entry = page.locator(".lm-Menu .lm-Menu-item:not(.lm-mod-hidden)").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")))
    entry.click()


def _open(page, lab, path: str, workspace: str) -> None:
    """Open ``path`` in a fresh workspace and wait until its kernel is connected and idle.

    Run All Cells clicked while the kernel is still starting runs nothing (JupyterLab
    clears the prompts and returns), so the server must see the page's kernel connection.
    """
    page.goto(lab.lab_url(path, workspace))
    page.wait_for_selector(f"{PANEL} .jp-Notebook .jp-Cell", timeout=LOAD_TIMEOUT)
    deadline = time.monotonic() + LOAD_TIMEOUT / 1000
    while True:
        kernels = [s["kernel"] for s in lab.api("sessions") if s.get("path") == path]
        if any(k["execution_state"] == "idle" and k["connections"] > 0 for k in kernels):
            break
        assert time.monotonic() < deadline, f"no idle kernel connected for {path}: {kernels}"
        page.wait_for_timeout(250)  # not time.sleep: Playwright's sync API must keep running
    page.wait_for_function(
        f"""() => document.querySelector('{PANEL} .jp-Notebook-ExecutionIndicator')
              ?.getAttribute('data-status') === 'idle'""", timeout=LOAD_TIMEOUT)


def _run_all_and_save(page, path: Path) -> None:
    """Clear outputs, Run All Cells, wait for the kernel, then File > Save Notebook."""
    _menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(
        f"() => !document.querySelector('{PANEL} .jp-OutputArea-output')", timeout=30_000)
    started = f"""() => [...document.querySelectorAll(
        '{PANEL} .jp-Notebook .jp-CodeCell .jp-InputPrompt')]
        .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""
    for attempt in range(2):  # a click lost while the page settles is tried once more
        _menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function(started, timeout=30_000)
            break
        except PlaywrightTimeout:
            if attempt:
                raise
    # Done: nothing queued or running, the kernel idle, and every non-empty code cell
    # numbered (or an error stopped the run; the saved file then says which cells).
    done = (
        f"""() => {{
            const s = ({CELLS_STATE_JS})();
            if (!s || s.busy || s.kernel !== 'idle') return false;
            const cells = [...document.querySelectorAll(
                '{PANEL} .jp-Notebook .jp-CodeCell')];
            const pending = cells.filter(c => !/\\[\\d+\\]/.test(
                c.querySelector('.jp-InputPrompt')?.textContent || '')
                && (c.querySelector('.jp-InputArea-editor')?.textContent || '').trim() !== '');
            return pending.length === 0 || s.errors > 0;
        }}""")
    try:
        page.wait_for_function(done, timeout=RUN_TIMEOUT, polling=500)
    except PlaywrightTimeout:
        page.screenshot(path=ARTIFACTS / f"{path.parent.name}-run-timeout.png")
        state = page.evaluate(CELLS_STATE_JS)
        pytest.fail(f"Run All Cells of {path.name} did not finish within {RUN_TIMEOUT // 1000} s;"
                    f" kernel {state and state['kernel']}, code cell prompts: "
                    f"{state and state['prompts']}", pytrace=False)
    before = path.stat().st_mtime_ns
    _menu(page, "File", "Save Notebook")
    page.wait_for_function(
        "() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')",
        timeout=60_000)
    deadline = time.monotonic() + 60
    while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert path.stat().st_mtime_ns != before, f"{path.name} was not saved from the UI"


def _png_cells(nb) -> set[int]:
    return {i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            and any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))}


def _is_jshtml(output) -> bool:
    html = output.get("data", {}).get("text/html", "")
    html = "".join(html) if isinstance(html, list) else html
    return 'class="animation"' in html and "new Animation(" in html


def _assert_saved_run(saved, original, name: str) -> None:
    """Every code cell ran without error; every stored figure was drawn again."""
    problems = []
    for i, cell in enumerate(saved.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if cell.execution_count is None:
            problems.append(f"cell {i} did not run")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {i} raised {out.ename}: {out.evalue}")
    missing = _png_cells(original) - _png_cells(saved)
    problems += [f"cell {i} drew a figure in the stored notebook but not in JupyterLab"
                 for i in sorted(missing)]
    assert not problems, f"{name} in JupyterLab:\n" + "\n".join(problems)


def _check_animations(page, count: int, lesson: str) -> None:
    """Each jshtml player shows a PNG frame and its Play button advances the frames."""
    players = page.locator(f"{PANEL} .jp-OutputArea-output .animation")
    assert players.count() >= count, (
        f"{lesson}: {count} matplotlib animation(s) in the notebook, "
        f"{players.count()} rendered in the page")
    for k in range(count):
        player = players.nth(k)
        player.evaluate("e => e.scrollIntoView({block: 'center'})")
        frame = player.locator("img").first
        page.wait_for_function(
            "img => (img.getAttribute('src') || '').startsWith('data:image/png')",
            arg=frame.element_handle(), timeout=30_000)
        slider = player.locator("input.anim-slider")
        assert int(slider.get_attribute("max") or 0) > 0, f"{lesson}: animation has one frame"
        first = frame.get_attribute("src")
        player.locator("button[title='First frame']").click()
        player.locator("button[title='Play']").click()
        page.wait_for_function(
            "([img, first, slider]) => img.getAttribute('src') !== first "
            "|| parseInt(slider.value) > 0",
            arg=[frame.element_handle(), first, slider.element_handle()], timeout=30_000)
        page.wait_for_timeout(600)
        page.screenshot(path=ARTIFACTS / f"{lesson}-animation{k + 1 if k else ''}.png")
        assert int(slider.evaluate("s => parseInt(s.value)")) > 0, (
            f"{lesson}: the animation did not advance after Play")


def _validate(page, lesson: str) -> str:
    """Click the toolbar's Validate button; return the result dialog's text."""
    toolbar = page.locator(f"{PANEL} .jp-NotebookPanel-toolbar")
    button = toolbar.locator(".jp-ToolbarButtonComponent", has_text=re.compile(r"^\s*Validate"))
    button.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=VALIDATE_TIMEOUT)
    page.wait_for_timeout(300)  # let the dialog finish its entrance before the screenshot
    page.screenshot(path=ARTIFACTS / f"{lesson}-validate.png")
    text = dialog.inner_text()
    dialog.locator(".jp-Dialog-button", has_text="Ok").first.click()
    dialog.wait_for(state="detached", timeout=30_000)
    return text


@pytest.mark.parametrize(("lesson", "name"), LESSONS, ids=[lesson for lesson, _ in LESSONS])
def test_lesson_runs_and_validates_in_jupyterlab(lesson, name, jupyter_lab, page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    original = nbformat.read(REPO_ROOT / "solutions" / lesson / name, as_version=4)
    solution = jupyter_lab.root / "solutions" / lesson / name
    try:
        # The instructor's notebook, run top to bottom in the student's JupyterLab.
        _open(page, jupyter_lab, f"solutions/{lesson}/{name}", f"{lesson}-solution")
        _run_all_and_save(page, solution)
        figures = page.locator(f"{PANEL} .jp-OutputArea-output.jp-RenderedImage img")
        if figures.count():
            figures.first.evaluate("e => e.scrollIntoView({block: 'center'})")
            page.wait_for_timeout(300)
        page.screenshot(path=ARTIFACTS / f"{lesson}-solution.png")
        saved = nbformat.read(solution, as_version=4)
        _assert_saved_run(saved, original, f"solutions/{lesson}/{name}")
        rendered = figures.count()
        expected = sum(1 for cell in saved.cells for out in cell.get("outputs", [])
                       if "image/png" in out.get("data", {}))
        assert rendered >= expected, f"{lesson}: {expected} PNG figures saved, {rendered} shown"
        animations = sum(_is_jshtml(out) for cell in saved.cells
                         for out in cell.get("outputs", []))
        stored = sum(_is_jshtml(out) for cell in original.cells for out in cell.get("outputs", []))
        assert animations >= stored, f"{lesson}: {stored} animations stored, {animations} made"
        if animations:
            _check_animations(page, animations, lesson)
        jupyter_lab.shut_down_kernels()

        # The released lesson, untouched: Validate must report the failing check cells.
        _open(page, jupyter_lab, f"lessons/{lesson}/{name}", f"{lesson}-lesson")
        text = _validate(page, lesson)
        assert "Validation Results" in text, f"{lesson}: unexpected Validate dialog:\n{text}"
        assert "There was an error running the validate command" not in text, text
        assert "The following cell failed" in text, (
            f"{lesson}: Validate of the unmodified lesson reports no failing cell:\n{text}")
        assert "NotImplementedError" in text or "not implemented" in text.lower(), text
    finally:
        jupyter_lab.shut_down_kernels(quiet=True)


def test_student_lab_shows_validate_but_no_instructor_tools(jupyter_lab, page, settings_snapshot):
    """The course's settings hide nbgrader's instructor tools and the student tools that
    need an exchange (Assignment List), and keep Validate."""
    lesson, name = LESSONS[0]
    _open(page, jupyter_lab, f"lessons/{lesson}/{name}", "student-ui")
    toolbar = page.locator(f"{PANEL} .jp-NotebookPanel-toolbar")
    assert toolbar.locator(".jp-ToolbarButtonComponent",
                           has_text=re.compile(r"^\s*Validate")).count() == 1

    # No Create Assignment panel in the side bars (nbgrader's id really is misspelt).
    tabs = [t.get_attribute("title") or "" for t in
            page.locator(".jp-SideBar .lm-TabBar-tab").all()]
    assert any("File Browser" in t for t in tabs), tabs
    assert not any("create assignment" in t.lower() for t in tabs), tabs
    assert page.locator("[id^='nbgrader-create']").count() == 0

    # No nbgrader menu, and no nbgrader command in the palette: every student tool but
    # Validate needs an exchange, which the standalone lab has not.
    assert page.locator("#jp-MainMenu .lm-MenuBar-item",
                        has_text=re.compile(r"^Nbgrader$")).count() == 0
    page.keyboard.press("Control+Shift+c")
    palette = page.locator(".lm-CommandPalette")
    palette.locator("input").fill("nbgrader")
    page.wait_for_timeout(1000)
    commands = [e.inner_text().strip()
                for e in palette.locator(".lm-CommandPalette-item").all()]
    page.keyboard.press("Escape")
    for tool in ("assignment list", "course list", "formgrader", "create assignment"):
        assert not any(tool in label.lower() for label in commands), (
            f"the command palette offers {tool!r} to students: {commands}")

    # The instructor's and the exchange's server side are off as well; Validate's is on.
    for url in ("formgrader", "formgrader/api/assignments", "assignments", "courses"):
        response = page.request.get(f"{jupyter_lab.url}/{url}?token={jupyter_lab.token}")
        assert response.status == 404, f"/{url} answered {response.status}"

    # Nothing complains about a missing exchange directory.
    page.wait_for_timeout(2000)
    page.screenshot(path=ARTIFACTS / "student-ui-no-exchange.png")
    text = page.locator("body").inner_text().lower()
    assert "exchange" not in text and "does not exist" not in text, text[-2000:]

    # Running the lab never rewrites the shipped settings.
    now = {p: p.read_bytes() for p in settings_snapshot}
    assert now == settings_snapshot
    assert sorted(p for p in (REPO_ROOT / ".jupyter").rglob("*") if p.is_file()) == sorted(now)
