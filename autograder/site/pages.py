"""A lesson page's notebook: the release as students receive it, run, with checks left quiet.

Only ``lessons/`` is read, never ``solutions/``: the released notebook has no solution and
no hidden test. Running it top to bottom (every exercise still a stub) gives exactly the
outputs a student sees before writing anything: the lesson's own figures and tables,
each demo's line asking for its exercise, and a failing check per exercise. Those
failures are replaced by a note (the check's code stays on the page), so every output
on the site is one a student's answer cannot have produced.

Running all lessons takes minutes, so executed notebooks are cached under the build
folder by a hash of what their outputs depend on: the released notebook and the
``course`` package's files.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import tempfile
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import notebooks
from autograder.config import REPO_ROOT
from autograder.lessons import Lesson

#: What a check cell shows on the site instead of its (expected) failure.
CHECK_NOTE = "Run this in JupyterLab to check your answer."
#: A tag that makes the browser fetch from another host: matplotlib's animation HTML
#: links Font Awesome 4 from a CDN (the site's theme serves Font Awesome itself).
REMOTE_TAG = re.compile(
    r"""<link\b[^>]*\bhref=["']?(?:https?:)?//[^>]*>"""
    r"""|<script\b[^>]*\bsrc=["']?(?:https?:)?//[^>]*>\s*</script>""", re.IGNORECASE)
#: Folders whose files the lessons' outputs depend on, besides the notebook itself.
DEPENDENCIES = (REPO_ROOT / "course",)


class SiteError(RuntimeError):
    """A lesson cannot be put on the site as it is (it fails outside its check cells)."""


def content_hash(lesson: Lesson) -> str:
    """SHA-256 of the released notebook and of every file of the ``course`` package."""
    digest = hashlib.sha256(lesson.release.read_bytes())
    for folder in DEPENDENCIES:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def executed_release(lesson: Lesson, cache: Path) -> NotebookNode:
    """The released notebook run top to bottom, from ``cache`` when it holds this version."""
    cached = cache / f"{lesson.id}-{content_hash(lesson)}.ipynb"
    if cached.exists():
        return notebooks.read(cached)
    nb = notebooks.execute(notebooks.read(lesson.release), cwd=lesson.release.parent,
                           env=_kernel_env())
    cache.mkdir(parents=True, exist_ok=True)
    for stale in cache.glob(f"{lesson.id}-*.ipynb"):
        stale.unlink(missing_ok=True)  # another build may have removed it
    with tempfile.NamedTemporaryFile("w", dir=cache, suffix=".tmp", delete=False) as out:
        nbformat.write(nb, out)
    Path(out.name).replace(cached)  # atomic: a concurrent build never reads half a file
    return nb


def _kernel_env() -> dict[str, str]:
    """This process's environment without the grader's settings (a student's kernel)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COURSE_GRADING")}


def is_check(cell: NotebookNode) -> bool:
    """A test cell of nbgrader: an exercise's check."""
    return cell.cell_type == "code" and bool(notebooks.nbgrader_meta(cell).get("grade"))


def _note() -> NotebookNode:
    return nbformat.v4.new_output("display_data", data={
        "text/plain": CHECK_NOTE,
        "text/html": f'<p class="course-check-note">{CHECK_NOTE}</p>',
    })


def offline_html(html: str) -> str:
    """``html`` without the tags that would load a stylesheet or script from another host."""
    return REMOTE_TAG.sub("", html)


def for_site(executed: NotebookNode, lesson: Lesson, intro: str = "") -> NotebookNode:
    """A copy of an executed release ready for the site.

    A check cell's error becomes :data:`CHECK_NOTE` (its printed lines stay); an error
    anywhere else raises :class:`SiteError`. HTML outputs lose the tags that load
    anything from another host (:func:`offline_html`). ``intro`` (MyST markdown, the launch links)
    is inserted after the first cell, the lesson's title. Cell metadata is dropped.
    """
    nb = copy.deepcopy(executed)
    for index, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", [])
        if any(o.output_type == "error" for o in outputs):
            if not is_check(cell):
                first = next(o for o in outputs if o.output_type == "error")
                raise SiteError(f"{lesson.id}: cell {index} is not a check cell but failed "
                                f"when the release ran: {first.ename}: {first.evalue}")
            cell.outputs = [o for o in outputs if o.output_type != "error"] + [_note()]
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html is not None:
                text = "".join(html) if isinstance(html, list) else html
                output["data"]["text/html"] = offline_html(text)
        cell.metadata = {}
    if intro:
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(intro))
    return nb
