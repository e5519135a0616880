"""The examples in the docstrings of ``course/`` and ``autograder/`` run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

from autograder.config import REPO_ROOT

PACKAGES = ("course", "autograder")


def modules_with_examples() -> list[str]:
    """Dotted names of the packages' modules whose source holds a ``>>>`` example."""
    names = []
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if ">>> " in path.read_text(encoding="utf-8"):
                parts = path.relative_to(REPO_ROOT).with_suffix("").parts
                names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = modules_with_examples()


def test_some_modules_have_examples():
    assert {"course.expr", "autograder.lessons"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str):
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder().find(module) if t.examples]
    assert tests, f"{name} mentions >>> but doctest finds no example in its docstrings"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"

