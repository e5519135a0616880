"""Run bank entries against an exercise's tests in this process (the fast path).

The lesson's solution notebook runs once (every cell but the test cells) to build a
namespace; each entry then replaces its exercise's answer cell and the exercise's
test cells, hidden tests included, run in a copy of that namespace. This is how bank
authors and the unit tests check a bank quickly; ``autograder mutants`` runs the same
entries through the real, sandboxed grading path.
"""

from __future__ import annotations

import contextlib
import io
import os
from functools import cache

from autograder import notebooks
from autograder.lessons import lesson as find_lesson
from course import shortcuts


def _python(source: str) -> str:
    """Cell source without IPython magics and shell escapes."""
    return "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


@cache
def _lesson(lesson: str):
    path = find_lesson(lesson).solution
    return path, notebooks.read(path)


def test_cells(lesson: str, exercise: str) -> list[str]:
    """Sources of the test cells of ``exercise`` (visible and hidden parts)."""
    _, nb = _lesson(lesson)
    return [nb.cells[c.index].source for c in find_lesson(lesson).graded.tests_of(exercise)]


@cache
def _namespace(lesson: str) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path, nb = _lesson(lesson)
    tests = {c.index for c in find_lesson(lesson).graded.cells if c.kind == "tests"}
    namespace: dict = {"__name__": "__lesson__"}
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type == "code" and index not in tests:
                    exec(_compile(cell.source, f"<{lesson} cell {index}>"), namespace)
                    plt.close("all")
    finally:
        os.chdir(cwd)
    return namespace


def solution(lesson: str, name: str):
    """The object ``name`` (an answer function, a class) from ``lesson``'s solution notebook.

    Checker tests call checkers on it instead of writing the answer out a second time.
    """
    return _namespace(lesson)[name]


def bank_entry(lesson: str, exercise: str, words: str):
    """The one entry of ``lesson``'s bank for ``exercise`` whose mistake (or description)
    contains ``words``."""
    import importlib

    bank = importlib.import_module(find_lesson(lesson).bank)
    (entry,) = [e for e in (*bank.MUTANTS, *bank.ALTERNATIVES) if e.exercise == exercise
                and words in getattr(e, "mistake", getattr(e, "description", ""))]
    return entry


def namespace_with(lesson: str, *sources: str) -> dict:
    """A copy of the solution's namespace after running the answer cells ``sources`` on it."""
    namespace = dict(_namespace(lesson))
    with contextlib.redirect_stdout(io.StringIO()):
        for index, source in enumerate(sources):
            exec(_compile(source, f"<{lesson} answer {index}>"), namespace)
    return namespace


def bank_answer(lesson: str, exercise: str, words: str, name: str | None = None):
    """The object ``name`` (default ``exercise``) defined by the bank entry of
    :func:`bank_entry`, its cell run on the solution's namespace.

    Tests of checker machinery (record and replay) take their wrong answers from here.
    """
    source = bank_entry(lesson, exercise, words).source
    return namespace_with(lesson, source)[name or exercise]


def _compile(source: str, label: str):
    """Compile a cell as a notebook would: without this module's ``__future__`` imports."""
    return compile(_python(source), label, "exec", dont_inherit=True)


def _class_state(namespace: dict) -> dict[type, dict]:
    return {value: dict(vars(value)) for value in namespace.values() if isinstance(value, type)
            and value.__module__ == "__lesson__"}


def _restore_classes(saved: dict[type, dict]) -> None:
    """Undo what an entry did to the lesson's classes (e.g. ``Var.backward = backward``)."""
    for cls, attributes in saved.items():
        for name in set(vars(cls)) - set(attributes):
            delattr(cls, name)
        for name, value in attributes.items():
            if vars(cls).get(name) is not value and name not in ("__dict__", "__weakref__"):
                setattr(cls, name, value)


def run_entry(lesson: str, exercise: str, source: str) -> str | None:
    """``None`` when the exercise's tests pass with ``source`` as its answer, else the message."""
    base = _namespace(lesson)
    namespace = dict(base)
    saved = _class_state(base)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(_compile(source, f"<{exercise} answer>"), namespace)
            for cell in test_cells(lesson, exercise):
                exec(_compile(cell, f"<{exercise} tests>"), namespace)
    except Exception as error:  # a failed check, or an answer that does not even run
        return f"{type(error).__name__}: {error}"
    finally:
        _restore_classes(saved)
    _, nb = _lesson(lesson)  # grading also zeroes a by-hand exercise done with a library
    sources = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    violation = shortcuts.violations({exercise: source}, sources).get(exercise)
    return f"CheckFailed: {violation}" if violation else None
