"""The course's static site shows what students receive, and nothing of the answers.

The site of two short lessons (01 and 06) and the index is built once for this module
(executed lessons come from the build cache, keyed by content, when it holds them).
Then, against every file the build wrote:

- no line of a solution (``### BEGIN SOLUTION`` bodies) nor of a hidden test of those
  lessons' ``solutions/`` notebooks appears;
- no output of the solution notebooks that running the release does not also give (an
  answer-derived output: text or figure; a line the release's code itself holds, such as
  a table header, does not count) appears, while the release's own outputs do;
- check cells show their code and a note instead of their traceback;
- every lesson page carries its launch links, and no page loads anything from another host.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path

import nbformat
import pytest

from autograder.lessons import Lesson, lesson
from autograder.site import build, launch, pages

pytestmark = pytest.mark.slow  # executes two lessons when the cache is cold

LESSONS = ("01-derivatives", "06-gradient-descent")
CONFIG = launch.LaunchConfig("https://github.com/course-org/diffprog", "main",
                             "https://hub.example.edu")
#: Shorter lines ("return x", "))") say nothing about an answer and occur anywhere.
MIN_LINE = 20
TAG = re.compile(r"<[^>]+>")


def _lines_between(source: str, begin: str, end: str) -> list[str]:
    """Stripped lines strictly between ``begin`` and ``end`` marker lines."""
    inside, found = False, []
    for line in source.splitlines():
        if line.strip().startswith(begin):
            inside = True
        elif line.strip().startswith(end):
            inside = False
        elif inside and line.strip():
            found.append(line.strip())
    return found


def _output_lines(nb: nbformat.NotebookNode) -> set[str]:
    """Stripped text lines of every output (streams, text/plain, errors' messages)."""
    lines = set()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts = [output.get("text", ""), output.get("data", {}).get("text/plain", ""),
                     output.get("evalue", "")]
            for text in texts:
                text = "".join(text) if isinstance(text, list) else text
                lines.update(line.strip() for line in text.splitlines())
    return {line for line in lines if len(line) > MIN_LINE}


def _images(nb: nbformat.NotebookNode) -> dict[str, int]:
    """SHA-256 of every PNG output's bytes, with the index of its cell."""
    found = {}
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                found[hashlib.sha256(base64.b64decode(png)).hexdigest()] = index
    return found


class Site:
    """The built files, as raw text, as visible text, and by the hash of their bytes."""

    def __init__(self, root: Path):
        self.root = root
        self.files = [p for p in sorted(root.rglob("*")) if p.is_file()]
        texts = []
        for path in self.files:
            text = path.read_bytes().decode("utf-8", errors="ignore")
            texts.append(text)
            if path.suffix == ".html":
                texts.append(html.unescape(TAG.sub("", text)))
        self.text = "\n".join(texts)
        self.hashes = {hashlib.sha256(p.read_bytes()).hexdigest() for p in self.files}

    def page(self, relative: str) -> str:
        return (self.root / relative).read_text()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    out = tmp_path_factory.mktemp("site")
    index = build.build(LESSONS, out=out, cache=build.DEFAULT_BUILD / "cache", config=CONFIG)
    return Site(index.parent)


@pytest.fixture(scope="module")
def executed() -> dict[str, nbformat.NotebookNode]:
    """Each lesson's executed release, as the build used it (from the cache)."""
    return {lid: pages.executed_release(lesson(lid), build.DEFAULT_BUILD / "cache")
            for lid in LESSONS}


def _solution(lid: str) -> nbformat.NotebookNode:
    return nbformat.read(lesson(lid).solution, as_version=4)


def _sources(lid: str) -> str:
    return "\n".join(cell.source for cell in _solution(lid).cells)


def test_index_lists_the_built_lessons_only(site):
    index = site.page("index.html")
    for lid in LESSONS:
        assert f'href="lessons/{lid}.html"' in index
    assert "03-symbolic" not in index
    assert sorted(p.name for p in (site.root / "lessons").iterdir()) == [
        f"{lid}.html" for lid in LESSONS]


@pytest.mark.parametrize("lid", LESSONS)
def test_no_solution_line_reaches_the_site(site, lid):
    lines = [line for line in _lines_between(_sources(lid), "### BEGIN SOLUTION",
                                             "### END SOLUTION") if len(line) > MIN_LINE]
    assert len(lines) >= 5, "too few solution lines: the test would prove nothing"
    leaked = [line for line in lines if line in site.text]
    assert not leaked, f"solution lines of {lid} on the site: {leaked}"
    # The positive control: every line of the release's code is found on its page, so a
    # solution line would be too.
    code = [line.strip() for cell in nbformat.read(lesson(lid).release, as_version=4).cells
            if cell.cell_type == "code" for line in cell.source.splitlines()
            if len(line.strip()) > MIN_LINE]
    assert code and [line for line in code if line not in site.text] == []


@pytest.mark.parametrize("lid", LESSONS)
def test_no_hidden_test_line_reaches_the_site(site, lid):
    # Every hidden line, short ones too, except one the release itself holds (a ")" or
    # a call the visible check makes as well): students have that line anyway.
    released = {line.strip() for cell in nbformat.read(lesson(lid).release, as_version=4).cells
                for line in cell.source.splitlines()}
    lines = [line for line in _lines_between(_sources(lid), "### BEGIN HIDDEN TESTS",
                                             "### END HIDDEN TESTS") if line not in released]
    assert len(lines) >= 3, "too few hidden lines: the test would prove nothing"
    leaked = [line for line in lines if line in site.text]
    assert not leaked, f"hidden test lines of {lid} on the site: {leaked}"


@pytest.mark.parametrize("lid", LESSONS)
def test_answer_derived_outputs_are_absent_and_the_release_outputs_present(site, executed,
                                                                           lid):
    solution, release = _solution(lid), executed[lid]
    # A line the release's own code holds (a table header a demo prints) is not derived.
    released_code = "\n".join(cell.source for cell in release.cells)
    derived_text = {line for line in _output_lines(solution) - _output_lines(release)
                    if line not in released_code}
    derived_images = set(_images(solution)) - set(_images(release))
    assert derived_text and derived_images, "no answer-derived output: nothing is proved"
    assert not [line for line in derived_text if line in site.text]
    assert not derived_images & site.hashes
    # The positive control: what the release prints and draws by running is on the site.
    printed = {line.strip() for cell in release.cells for output in cell.get("outputs", [])
               if output.output_type == "stream" for line in output.text.splitlines()
               if len(line.strip()) > MIN_LINE}
    assert printed and [line for line in printed if line not in site.text] == []
    assert set(_images(release)) <= site.hashes


@pytest.mark.parametrize("lid", LESSONS)
def test_check_cells_show_their_code_and_a_note_not_a_traceback(site, lid):
    page = site.page(f"lessons/{lid}.html")
    text = html.unescape(TAG.sub("", page))
    checks = [c for c in nbformat.read(lesson(lid).release, as_version=4).cells
              if pages.is_check(c)]
    assert checks
    assert text.count(pages.CHECK_NOTE) == len(checks)
    for cell in checks:
        assert cell.source.strip().splitlines()[-1] in text
    assert "Traceback" not in text and "CheckFailed" not in text
    assert "is not implemented yet" not in text


@pytest.mark.parametrize("lid", LESSONS)
def test_lesson_pages_carry_their_launch_links(site, lid):
    page = html.unescape(site.page(f"lessons/{lid}.html"))
    notebook = f"{lid}/{lesson(lid).notebook}"
    for url in (launch.jupyterhub_url(CONFIG, notebook), launch.binder_url(CONFIG, notebook),
                launch.colab_url(CONFIG, notebook)):
        assert url and f'href="{url}"' in page
    assert "JupyterLite" in page and "ModuleNotFoundError" in page


def test_no_page_loads_anything_from_another_host(site):
    remote = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=["']?"""
                        r"""(?:https?:)?//""", re.IGNORECASE)
    offenders = [p.relative_to(site.root).as_posix() for p in site.files
                 if p.suffix == ".html" and remote.search(p.read_text())]
    assert not offenders
    assert (site.root / "_static" / "mathjax" / "tex-chtml.js").is_file()


def _fake_lesson(tmp_path: Path) -> Lesson:
    release = tmp_path / "lessons" / "01-x" / "x.ipynb"
    release.parent.mkdir(parents=True)
    return Lesson("01-x", 1, "x", tmp_path / "solutions" / "01-x" / "x.ipynb", release,
                  "course.checks.x", "autograder.mutants.lesson_01")


def _error() -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename="CheckFailed", evalue="not yet",
                                  traceback=["Traceback", "CheckFailed: not yet"])


def test_for_site_quiets_checks_and_refuses_other_errors(tmp_path):
    item = _fake_lesson(tmp_path)
    check = nbformat.v4.new_code_cell("check_x(x)", metadata={
        "nbgrader": {"grade": True, "grade_id": "x_check", "points": 1}})
    check.outputs = [nbformat.v4.new_output("stream", name="stdout", text="checking x\n"),
                     _error()]
    animation = nbformat.v4.new_code_cell("show()")
    animation.outputs = [nbformat.v4.new_output("display_data", data={"text/html": (
        '<link rel="stylesheet" href="https://cdn.example/fa.css">\n<div>frames</div>')})]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# X"), check,
                                         animation])
    page = pages.for_site(nb, item, intro="links")
    assert [c.source for c in page.cells] == ["# X", "links", "check_x(x)", "show()"]
    assert [o.output_type for o in page.cells[2].outputs] == ["stream", "display_data"]
    assert pages.CHECK_NOTE in page.cells[2].outputs[1].data["text/plain"]
    assert page.cells[2].metadata == {}
    assert page.cells[3].outputs[0].data["text/html"] == "\n<div>frames</div>"
    assert nb.cells[1].outputs[-1].output_type == "error"  # the input is left alone
    broken = nbformat.v4.new_code_cell("plot()")
    broken.outputs = [_error()]
    with pytest.raises(pages.SiteError, match="cell 1 is not a check cell"):
        pages.for_site(nbformat.v4.new_notebook(cells=[check, broken]), item)


def test_the_cache_key_follows_the_release(tmp_path):
    item = _fake_lesson(tmp_path)
    item.release.write_text("one")
    first = pages.content_hash(item)
    assert pages.content_hash(item) == first
    item.release.write_text("two")
    assert pages.content_hash(item) != first


def test_launch_links_need_their_addresses():
    bare = launch.LaunchConfig()
    assert [link.url for link in launch.links(bare, "01-derivatives/derivatives.ipynb")] == [
        "", "", ""]
    text = launch.markdown(bare, "01-derivatives/derivatives.ipynb")
    assert text.count("(no link: this site was built without") == 3
    gitlab = launch.LaunchConfig("https://gitlab.com/org/course.git", "dev")
    assert launch.colab_url(gitlab, "a/b.ipynb") == ""
    assert launch.binder_url(gitlab, "a/b.ipynb").startswith(
        "https://mybinder.org/v2/git/https%3A%2F%2Fgitlab.com%2Forg%2Fcourse.git/dev?")
    hub = launch.jupyterhub_url(CONFIG, "01-derivatives/derivatives.ipynb")
    assert hub.startswith("https://hub.example.edu/hub/user-redirect/git-pull?repo=")
    assert "urlpath=lab%2Ftree%2Fdiffprog%2Flessons%2F01-derivatives%2Fderivatives.ipynb" in hub
