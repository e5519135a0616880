"""The instructor report as one self-contained HTML page.

No script, no stylesheet, font or image from elsewhere: the style is inline and the
figures are inline SVG (:mod:`autograder.report_plots`), so the file opens anywhere,
offline. Every piece of text is escaped, since failure messages quote what student code
raised; a Content-Security-Policy that allows no script and no external resource backs
that up.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from html import escape
from pathlib import Path

from autograder.report import OTHER, ClassData, MistakeCount, pass_rates, top_mistakes
from autograder.report_plots import pass_rate_svg, score_histogram_svg

__all__ = ["HEADINGS", "render", "write"]

#: The page's sections, in order (the browser test looks for each).
HEADINGS = ("Score distribution", "Pass rate per exercise", "Most frequent mistakes",
            "Flagged for review", "Submissions not graded", "Grading notes")

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #222; margin: 0; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
h3 { font-family: ui-monospace, monospace; margin-bottom: .3rem; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, monospace; font-size: .85rem; }
pre { white-space: pre-wrap; word-break: break-word; margin: .2rem 0; max-width: 44rem; }
dl.stats { display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem; }
dl.stats dt { font-weight: 600; } dl.stats dd { margin: 0; }
.muted { color: #666; }
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def write(data: ClassData, path: Path) -> Path:
    """Write the report of ``data`` to ``path`` (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data), encoding="utf-8")
    return path


def render(data: ClassData) -> str:
    """The whole page."""
    title = f"Class report: {data.lesson}"
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<h1>{_e(title)}</h1>",
            f'<p class="muted">Made {when} from: {_e("; ".join(data.sources))}.</p>',
            _scores(data), _exercises(data), _mistakes(data), _review(data),
            _not_graded(data), _notes(data)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_STYLE}</style></head>\n<body><main>\n"
            + "\n".join(body) + "\n</main></body></html>\n")


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _h2(heading: str) -> str:
    return f'<h2 id="{heading.lower().replace(" ", "-")}">{_e(heading)}</h2>'


def _table(header: list[str], rows: list[list[str]], numeric: Collection[int] = ()) -> str:
    """A table of already escaped cells; columns in ``numeric`` are right-aligned."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    lines = ["<tr>" + "".join(f'<td class="n">{cell}</td>' if i in numeric else f"<td>{cell}</td>"
                              for i, cell in enumerate(row)) + "</tr>" for row in rows]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _g(value: float | None) -> str:
    return "–" if value is None else f"{value:.3g}"


def _scores(data: ClassData) -> str:
    summary = data.summary()
    reasons: dict[str, int] = {}
    for item in data.ungraded:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    why = "".join(f"<li>{count} × {_e(reason)}</li>" for reason, count in
                  sorted(reasons.items(), key=lambda r: (-r[1], r[0])))
    stats = [("graded", summary["graded"]), ("mean", _g(summary["mean"])),
             ("median", _g(summary["median"])), ("out of", f"{data.max_total:g}"),
             ("not graded", summary["not_graded"]), ("flagged for review", summary["flagged"])]
    items = "".join(f"<dt>{_e(name)}</dt><dd data-stat=\"{_e(name)}\">{_e(value)}</dd>"
                    for name, value in stats)
    return (_h2(HEADINGS[0]) + f"<figure>{score_histogram_svg(data.totals, data.max_total)}"
            f"</figure><dl class=\"stats\">{items}</dl>"
            + (f"<p>Not graded, by reason:</p><ul>{why}</ul>" if why else ""))


def _exercises(data: ClassData) -> str:
    rates = pass_rates(data)
    figure = pass_rate_svg([r.exercise for r in rates], [r.full for r in rates],
                           [r.partial for r in rates], [r.zero for r in rates])
    rows = [[f"<code>{_e(r.exercise)}</code>", f"{r.points:g}", str(r.full), str(r.partial),
             str(r.zero), f"{100 * r.rate:.0f} %"] for r in rates]
    return (_h2(HEADINGS[1]) + f"<figure>{figure}</figure>"
            + _table(["exercise", "points", "full marks", "partial", "zero", "pass rate"],
                     rows, numeric={1, 2, 3, 4, 5}))


def _mistake_row(row: MistakeCount) -> list[str]:
    if row.key == OTHER:
        lines = "".join(f"<li>{count} × <code>{_e(line)}</code></li>"
                        for line, count in row.first_lines[:5])
        more = len(row.first_lines) - 5
        example = f"<ul>{lines}</ul>" + (f"<p class=\"muted\">and {more} more</p>"
                                         if more > 0 else "")
        return ["<em>other</em> (no named mistake)", str(row.students), example]
    return [f"<code>{_e(row.key)}</code>", str(row.students), f"<pre>{_e(row.example)}</pre>"]


def _mistakes(data: ClassData) -> str:
    found = top_mistakes(data)
    parts = [_h2(HEADINGS[2]),
             "<p>From the checkers' own diagnoses in the failed test cells: per exercise, the "
             "five mistakes most students made (a student counts once per mistake), with one "
             "message naming it; failures that name no mistake are grouped as <em>other</em> "
             "with their first lines.</p>"]
    if not found:
        parts.append("<p>No failed test cell.</p>")
    for exercise, rows in found.items():
        parts.append(f"<h3>{_e(exercise)}</h3>")
        parts.append(_table(["mistake", "students", "example"],
                            [_mistake_row(row) for row in rows], numeric={1}))
    return "\n".join(parts)


def _review(data: ClassData) -> str:
    if not data.review:
        return _h2(HEADINGS[3]) + "<p>No submission was flagged for review.</p>"
    rows = [[_e(student), "".join(f"<pre>{_e(line)}</pre>" for line in lines)]
            for student, lines in sorted(data.review.items())]
    return _h2(HEADINGS[3]) + _table(["student", "why"], rows)


def _not_graded(data: ClassData) -> str:
    if not data.not_graded:
        return _h2(HEADINGS[4]) + "<p>Every submission found was graded.</p>"
    rows = [[_e(item.student), _e(item.reason), _e(item.stored or "none")]
            for item in sorted(data.not_graded, key=lambda n: (n.student, n.reason))]
    return _h2(HEADINGS[4]) + _table(["student", "why", "grade that stands"], rows)


def _notes(data: ClassData) -> str:
    if not data.notes:
        return _h2(HEADINGS[5]) + "<p>Grading repaired nothing.</p>"
    rows = [[_e(student), "".join(f"<pre>{_e(line)}</pre>" for line in lines)]
            for student, lines in sorted(data.notes.items())]
    return _h2(HEADINGS[5]) + _table(["student", "note"], rows)
