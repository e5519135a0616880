"""Feedback that leaks nothing, whatever the kernel did.

Three layers, each enough on its own for what it covers:

* :class:`HideHiddenTests` removes the hidden tests' source from test cells and reduces a
  test cell's outputs to the checkers' success lines and one-line errors;
* :class:`ScrubHiddenText` replaces every hidden-test line and every hidden seed, in every
  output and source of every cell, with ``[hidden]`` (a submission could have read them
  back through IPython's input history, a stack frame or an exception message), and keeps
  only outputs that cannot run code: plain text, sanitized HTML and raster images;
* :class:`SafeFeedbackExporter` sanitizes the rendered page's body with ``nh3`` (student
  markdown cells included), so no script, event handler or ``javascript:`` link survives.
"""

from __future__ import annotations

import ast
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import nh3
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
#: Lines a checker prints on success start with this mark; they may stay in feedback.
SUCCESS_MARK = "\N{CHECK MARK}"
#: What a hidden line or seed becomes in feedback.
HIDDEN = "[hidden]"
_MAX_MESSAGE = 2_000
#: Hidden lines shorter than this (``)``, ``else:``) are too common to be secrets.
_MIN_LINE = 6
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
#: Output types and MIME types feedback keeps; everything else is dropped.
_OUTPUT_TYPES = ("stream", "error", "display_data", "execute_result")
_IMAGES = ("image/png", "image/jpeg", "image/gif")
_TEXTS = ("text/plain", "text/html")


def strip_hidden_region(source: str) -> tuple[str, bool]:
    """Remove every ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region."""
    kept, hidden, removed = [], False, False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = removed = True
            continue
        if HIDDEN_END in line:
            hidden = False
            continue
        if not hidden:
            kept.append(line)
    return "\n".join(kept), removed


def hidden_regions(source: str) -> list[str]:
    """The text of every hidden-tests region of ``source`` (an unclosed one runs to the end)."""
    regions, current = [], None
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            current = []
        elif HIDDEN_END in line and current is not None:
            regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        regions.append("\n".join(current))
    return regions


def _is_seed_call(node: ast.Call) -> bool:
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
        node.func, "id", "")
    return any(word in name.lower() for word in ("seed", "rng", "prngkey", "randomstate"))


def seed_literals(region: str) -> set[str]:
    """Literal text of the seeds a hidden region passes (``seed=20241``, ``default_rng(7)``)."""
    try:
        tree = ast.parse(region)
    except SyntaxError:
        return set(re.findall(r"seeds?\s*=\s*[^,)\n]+(?:\))?", region))
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        values = [kw for kw in node.keywords if kw.arg and "seed" in kw.arg.lower()]
        for keyword in values:
            found.add(ast.get_source_segment(region, keyword) or "")
            found.add(ast.get_source_segment(region, keyword.value) or "")
        if _is_seed_call(node):
            found.update(ast.get_source_segment(region, arg) or "" for arg in node.args)
    return {text for text in found if text}


class Scrubber:
    """Replaces hidden lines and seeds in any text with ``[hidden]``."""

    def __init__(self, regions: Iterable[str]) -> None:
        phrases: set[str] = set()
        tokens: set[str] = set()
        for region in regions:
            for line in region.split("\n"):
                line = line.strip()
                if len(line) >= _MIN_LINE and re.search(r"\w", line):
                    phrases.update(_variants(line))
            for seed in seed_literals(region):
                (tokens if re.fullmatch(r"[\d_]+", seed) else phrases).update(_variants(seed))
        # A bare number shorter than three digits is too common to hide on its own; its
        # ``seed=...`` form still is.
        tokens = {t for t in tokens if len(t) >= 3}
        alternatives = [re.escape(p) for p in sorted(phrases, key=len, reverse=True)]
        alternatives += [rf"(?<![\w.]){re.escape(t)}(?![\w])" for t in sorted(tokens)]
        self.pattern = re.compile("|".join(alternatives)) if alternatives else None

    def __call__(self, text: str) -> str:
        if not self.pattern or not text:
            return text
        return self.pattern.sub(HIDDEN, text)

    def __bool__(self) -> bool:
        return self.pattern is not None


def _variants(text: str) -> set[str]:
    """``text`` as it may appear in output: as is, in a repr, in JSON, in HTML."""
    return {text, repr(text)[1:-1], json.dumps(text)[1:-1], html.escape(text),
            html.escape(text, quote=False)} - {""}


def _plain(value) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


def gradebook_hidden_regions(resources: ResourcesDict) -> list[str]:
    """Hidden regions of the lesson's test cells, as the gradebook recorded them."""
    info = resources.get("nbgrader", {})
    try:
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            return [r for cell in notebook.source_cells for r in hidden_regions(cell.source or "")]
    except (KeyError, MissingEntry):
        return []


class HideHiddenTests(NbGraderPreprocessor):
    """Keep hidden tests out of student feedback.

    In a cell that held hidden tests: the hidden source is removed; an error is
    reduced to its type and message (a traceback would quote the hidden line);
    printed output is reduced to the checkers' own success lines, since student
    code could have printed anything, including the test's source.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int):
        if cell.cell_type != "code":
            return cell, resources
        cell.source, removed = strip_hidden_region(cell.source)
        if not removed:
            return cell, resources
        outputs = []
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                message = str(output.get("evalue", ""))[:_MAX_MESSAGE]
                output.traceback = [f"{output.get('ename', 'Error')}: {message}"]
                outputs.append(output)
            elif output.output_type == "stream":
                text = "".join(output.text) if isinstance(output.text, list) else output.text
                lines = [ln for ln in text.splitlines() if ln.startswith(SUCCESS_MARK)]
                if lines:
                    output.text = "\n".join(lines) + "\n"
                    outputs.append(output)
        cell.outputs = outputs
        if not cell.source.strip():
            cell.source = "# (hidden tests)"
        return cell, resources


class ScrubHiddenText(NbGraderPreprocessor):
    """Scrub hidden lines and seeds from every cell; keep only outputs that run no code.

    The hidden text comes from the gradebook (the lesson's test cells) and from the
    notebook itself, so a test cell that was moved, copied or deleted changes nothing.
    Runs before :class:`HideHiddenTests`, which then removes the (scrubbed) regions.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        regions = gradebook_hidden_regions(resources)
        regions += [r for cell in nb.cells for r in hidden_regions(_plain(cell.get("source", "")))]
        scrub = Scrubber(regions)
        for cell in nb.cells:
            cell.source = scrub(_plain(cell.get("source", "")))
            if cell.cell_type == "code":
                cell.outputs = [o for o in (safe_output(o, scrub) for o in cell.get("outputs", []))
                                if o is not None]
        return nb, resources


def safe_output(output: NotebookNode, scrub: Scrubber) -> NotebookNode | None:
    """``output`` with hidden text scrubbed and nothing that runs code, or ``None`` to drop."""
    kind = output.get("output_type")
    if kind not in _OUTPUT_TYPES:
        return None
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return NotebookNode(output_type="stream", name=name,
                            text=scrub(_ANSI.sub("", _plain(output.get("text", "")))))
    if kind == "error":
        traceback = output.get("traceback", [])
        lines = traceback if isinstance(traceback, list) else [traceback]
        return NotebookNode(
            output_type="error", ename=scrub(_plain(output.get("ename", "Error")))[:200],
            evalue=scrub(_ANSI.sub("", _plain(output.get("evalue", ""))))[:_MAX_MESSAGE],
            traceback=[scrub(_ANSI.sub("", _plain(line))) for line in lines])
    data = _safe_data(output.get("data", {}), scrub)
    if not data:
        return None
    safe = NotebookNode(output_type=kind, data=data, metadata=_safe_metadata(output, data))
    if kind == "execute_result":
        count = output.get("execution_count")
        safe.execution_count = count if isinstance(count, int) else None
    return safe


def _safe_data(data, scrub: Scrubber) -> dict:
    """Plain text and sanitized HTML (scrubbed), raster images (if really base64)."""
    if not isinstance(data, dict):
        return {}
    kept: dict = {}
    for mime in _IMAGES:
        value = data.get(mime)
        if isinstance(value, str) and _BASE64.match(value):
            kept[mime] = value
    if "text/html" in data:
        kept["text/html"] = scrub(clean_html(_plain(data["text/html"])))
    text = data.get("text/plain")
    if text is None and not kept:
        # Markdown, LaTeX or JSON with no plain version: shown as plain text.
        text = next((data[m] for m in ("text/markdown", "text/latex") if m in data), None)
    if text is not None:
        kept["text/plain"] = scrub(_ANSI.sub("", _plain(text)))
    return kept


def _safe_metadata(output: NotebookNode, data: dict) -> dict:
    """Only an image's numeric width and height (the template writes them unescaped)."""
    metadata = output.get("metadata", {})
    safe: dict = {}
    if not isinstance(metadata, dict):
        return safe
    for mime in data:
        entry = metadata.get(mime)
        if mime in _IMAGES and isinstance(entry, dict):
            size = {k: v for k, v in entry.items() if k in ("width", "height")
                    and isinstance(v, int | float) and not isinstance(v, bool)}
            if size:
                safe[mime] = size
    return safe


# ------------------------------------------------------------------------ html


_TAGS = set(nh3.ALLOWED_TAGS) | {"div", "span", "pre", "code", "table", "thead", "tbody",
                                  "tr", "td", "th", "a", "img"}
_ATTRIBUTES = {"*": {"class", "id", "title", "align"}, "a": {"href", "name"},
               "img": {"src", "alt", "width", "height"},
               "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """``data:`` URLs only as the source of a raster image, and an image's source only
    such a URL: the page loads nothing from elsewhere (it renders offline, and opening it
    tells no server who read it)."""
    image = re.match(r"(?i)^data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*$", value.strip())
    if tag == "img" and attribute == "src":
        return value if image else None
    if value.strip().lower().startswith("data:"):
        return None
    return value


def clean_html(text: str) -> str:
    """HTML with every script, style, event handler and unsafe URL removed (by ``nh3``)."""
    return nh3.clean(text, tags=_TAGS, attributes=_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "data"},
                     attribute_filter=_attribute_filter, link_rel="noopener noreferrer")


class SafeFeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, its body sanitized, self-contained, a summary on top.

    Everything in the body, where notebook content ends up, goes through
    :func:`clean_html`. The head keeps the template's inlined styles but loses every
    script and external reference (:func:`offline_head`: the template loads MathJax from
    a CDN), so the page renders the same offline, attached to an LMS. Under the page's
    heading, a table gives each exercise's score and the first line of its checks'
    diagnosis with the named mistake (:func:`summary_html`).
    """

    def _preprocess(self, nb, resources):
        nb, resources = super()._preprocess(nb, resources)
        resources["feedback_summary"] = summary_html(exercise_summary(nb))
        return nb, resources

    def from_notebook_node(self, nb, resources=None, **kw):
        output, resources = super().from_notebook_node(nb, resources, **kw)
        page = offline_head(sanitize_body(output))
        return with_summary(page, resources.get("feedback_summary", "")), resources


def sanitize_body(page: str) -> str:
    """``page`` with the content of its ``<body>`` element cleaned."""
    match = re.search(r"<body[^>]*>", page, flags=re.IGNORECASE)
    end = page.lower().rfind("</body>")
    if not match or end < match.end():
        return clean_html(page)
    return page[:match.end()] + clean_html(page[match.end():end]) + page[end:]


# ------------------------------------------------------------------- offline page

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.IGNORECASE | re.DOTALL)
#: A CSS ``url(...)`` or ``@import`` that leaves the page (http, https or protocol-relative).
_EXTERNAL_CSS = re.compile(
    r"@import[^;]*;|url\(\s*['\"]?\s*(?:https?:)?//[^)]*\)", re.IGNORECASE)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def offline_head(page: str) -> str:
    """``page`` with no script, no ``<link>``, no comment and no external CSS in its head.

    The head is the template's: the feedback template loads MathJax (a script from a CDN)
    and inlines Bootstrap, whose licence comments name web sites. Without them the page
    needs nothing but itself; formulas show as their TeX source.
    """
    match = re.search(r"<body[^>]*>", page, flags=re.IGNORECASE)
    cut = match.start() if match else 0
    head = _LINK.sub("", _SCRIPT.sub("", _HTML_COMMENT.sub("", page[:cut])))
    head = _STYLE.sub(lambda m: m.group(1) + _EXTERNAL_CSS.sub(
        "", _CSS_COMMENT.sub("", m.group(2))) + m.group(3), head)
    return head.replace("</head>", f"<style>{_SUMMARY_CSS}</style>\n</head>", 1) + page[cut:]


# ------------------------------------------------------------------------ summary

_SUMMARY_CSS = ("table.feedback-summary{margin:0.8em 15px 1em;border-collapse:collapse}"
                "table.feedback-summary td,table.feedback-summary th{border:1px solid #ccc;"
                "padding:0.3em 0.6em;vertical-align:top;text-align:left}"
                "table.feedback-summary tr.missed td{background:#fdf1f0}"
                "table.feedback-summary .mistake{font-weight:bold}")


@dataclass(frozen=True)
class ExerciseSummary:
    """One exercise of a graded notebook: its score and what its first failing check said."""

    exercise: str
    score: float
    points: float
    diagnosis: str = ""  # the first line of the first failing check's message
    mistake: str = ""  # its ``likely mistake:`` line, when the checker named one


def exercise_summary(nb: NotebookNode) -> list[ExerciseSummary]:
    """Each exercise's score (nbgrader's, as ``GetGrades`` left it on the test cells) and
    the first failing check's diagnosis (the ``CheckFailed`` message)."""
    from autograder.lessons import layout  # lessons imports config, which imports this module

    try:
        graded = layout(nb)
        exercises = graded.exercises
    except (ValueError, KeyError):
        return []
    cells = {c.grade_id: nb.cells[c.index] for c in graded.cells}
    found = []
    for exercise in exercises:
        score = points = 0.0
        diagnosis = mistake = ""
        for test_id in exercise.tests:
            meta = cells[test_id].metadata.get("nbgrader", {})
            score += _number(meta.get("score"))
            points += _number(meta.get("points"))
            for output in cells[test_id].get("outputs", []):
                if output.get("output_type") == "error" and not diagnosis:
                    diagnosis, mistake = _diagnosis(output)
        found.append(ExerciseSummary(exercise.id, score, points, diagnosis, mistake))
    return found


def _number(value) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _diagnosis(error: NotebookNode) -> tuple[str, str]:
    """(first line, ``likely mistake`` line) of an error output's message."""
    lines = [line.strip() for line in _plain(error.get("evalue", "")).splitlines()
             if line.strip()]
    name = _plain(error.get("ename", "Error"))
    first = lines[0] if lines else name
    if name not in ("CheckFailed", "AssertionError"):
        first = f"{name}: {first}" if lines else name
    mistake = next((line.split(":", 1)[1].strip() for line in lines
                    if line.lower().startswith("likely mistake:")), "")
    return first[:300], mistake[:300]


def summary_html(rows: list[ExerciseSummary]) -> str:
    """A table exercise / score / what the checks found, every value escaped."""
    if not rows:
        return ""
    body = []
    for row in rows:
        missed = row.score < row.points
        found = html.escape(row.diagnosis) if row.diagnosis else (
            "all checks passed" if not missed else "not every check passed")
        mistake = (f'<br><span class="mistake">likely mistake: {html.escape(row.mistake)}</span>'
                   if row.mistake else "")
        body.append(f'<tr class="{"missed" if missed else "passed"}">'
                    f"<td><code>{html.escape(row.exercise)}</code></td>"
                    f"<td>{row.score:g} / {row.points:g}</td><td>{found}{mistake}</td></tr>")
    return ('<table class="feedback-summary"><thead><tr><th>exercise</th><th>score</th>'
            "<th>what the checks found</th></tr></thead><tbody>" + "".join(body)
            + "</tbody></table>")


def with_summary(page: str, summary: str) -> str:
    """``page`` with ``summary`` (cleaned again) under the feedback's heading."""
    if not summary:
        return page
    summary = clean_html(summary)
    match = re.search(r"<body[^>]*>", page, flags=re.IGNORECASE)
    start = match.end() if match else 0
    anchor = page.find('<div class="panel-body">', start)
    at = anchor if anchor >= 0 else start
    return page[:at] + summary + page[at:]
