"""Lesson-01 submissions that try to read the hidden tests back into their feedback, or to
run code in whoever opens it.

Each case edits the solution notebook and names a text that must reach the feedback
(proof that the hostile cell ran and its output was kept, cleaned); the test then checks
that no hidden-test line or seed and no script, event handler or ``javascript:`` URL is
in the page (tests/test_feedback.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nbformat.v4 import new_code_cell, new_markdown_cell, new_raw_cell

from autograder import notebooks


@dataclass(frozen=True)
class FeedbackCase:
    name: str
    edit: Callable  # (notebook) -> None
    shown: str  # text the page must show
    description: str


def answer(nb, grade_id: str):
    return next(c for c in nb.cells if notebooks.nbgrader_meta(c).get("grade_id") == grade_id)


def add_cells(*cells):
    def edit(nb):
        nb.cells.extend(cells)
    return edit


def replace_mse_and_add(source: str, *cells):
    def edit(nb):
        answer(nb, "mse").source = source
        nb.cells.extend(cells)
    return edit


HISTORY = """\
import linecache
print('history:', In, _ih, Out)
print({name: value for name, value in globals().items() if name.startswith('_i')})
try:
    print(list(get_ipython().history_manager.get_range(raw=True)))
except Exception as error:
    print('history manager:', error)
print('linecache' + ':', [''.join(v[2]) for v in linecache.cache.values() if isinstance(v, tuple)])
"""

# A right mse that keeps what it can see of its callers: their source lines and locals.
SPY_MSE = """\
import inspect, sys
import numpy as np

_seen = []

def mse(actual, guess):
    for frame in inspect.stack():
        _seen.append(''.join(frame.code_context or []))
        _seen.extend(f'{k}={v!r}' for k, v in frame.frame.f_locals.items()
                     if isinstance(v, int | str) and len(repr(v)) < 200)
    return float(np.mean((np.asarray(actual, float) - np.asarray(guess, float)) ** 2))
"""
PRINT_SPIED = "print('spied' + ':', sorted(set(_seen)))\n"

# An mse that passes the visible check (24 calls) and fails the hidden one with a
# message quoting its callers.
QUOTING_MSE = """\
import traceback
import numpy as np

_calls = 0

def mse(actual, guess):
    global _calls
    _calls += 1
    if _calls > 30:
        raise RuntimeError('called' + ' from ' + ''.join(traceback.format_stack()[-8:]))
    return float(np.mean((np.asarray(actual, float) - np.asarray(guess, float)) ** 2))
"""

# The history and linecache again, each character wrapped in terminal colour codes.
ANSI_HISTORY = """\
import linecache, sys
cached = [''.join(v[2]) for k, v in linecache.cache.items()
          if isinstance(v, tuple) and ('ipykernel' in k or k.startswith('<'))]
for cell in In + cached:
    print('\\x1b[31m'.join(cell), file=sys.stderr)
print('ansi', 'done')
"""

SCRIPTS = """\
from IPython.display import HTML, Javascript, display
display(HTML('<script>alert("html")</script><b>bold</b>'))
display(Javascript('alert("js")'))
display(HTML('<img src=x onerror="alert(1)"><a href="javascript:alert(2)">x</a>'))
display({'image/svg+xml': '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(3)"/>'},
        raw=True)
display({'image/png': '"><script>alert(4)</script>'}, raw=True)
display({'image/png': 'iVBORw0KGgo='}, metadata={'image/png': {'width': '1 onerror=alert(5)'}},
        raw=True)
display({'text/html': '<iframe src="https://example.org"></iframe><form action="x"></form>',
         'text/plain': 'plain'}, raw=True)
"""

MARKDOWN = ('<script>alert("md")</script>\n\nmarkdown text <a href="javascript:alert(6)">x</a> '
            '<img src=x onerror="alert(7)"> <iframe src="https://example.org"></iframe>\n\n'
            '[link](javascript:alert(8)) <svg onload="alert(9)"></svg>')


def raw_html_cell():
    cell = new_raw_cell('<script>alert("raw")</script><p onclick="alert(10)">raw text</p>')
    cell.metadata["raw_mimetype"] = "text/html"
    return cell


CASES = [
    FeedbackCase("input-history", add_cells(new_code_cell(HISTORY)), "linecache:",
                 "prints In, _ih, Out, the _i variables, the history database, linecache"),
    FeedbackCase("spy-on-callers", replace_mse_and_add(SPY_MSE, new_code_cell(PRINT_SPIED)),
                 "spied:", "a right mse keeps its callers' source lines and locals"),
    FeedbackCase("exception-quotes-caller", replace_mse_and_add(QUOTING_MSE), "called from",
                 "mse fails the hidden checks with a message quoting the stack"),
    FeedbackCase("history-in-colour", add_cells(new_code_cell(ANSI_HISTORY)), "ansi done",
                 "the input history on stderr, every character wrapped in colour codes"),
    FeedbackCase("scripts", add_cells(new_code_cell(SCRIPTS), new_markdown_cell(MARKDOWN),
                                      raw_html_cell()), "<b>bold</b>",
                 "script, Javascript, event handlers, SVG, a forged image, javascript: links, "
                 "frames and forms, in outputs, markdown and a raw HTML cell"),
]
