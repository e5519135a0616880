"""Checkers, one module per lesson.

Each checker takes the student's function, runs it on fixed and on seeded random
inputs, compares with an independent oracle and prints one line on success. On
failure it raises :class:`course.checking.CheckFailed`. In a notebook the failure
is shown as a short message rather than a long traceback of library code.
"""

from __future__ import annotations

from course.checking import CheckFailed

__all__ = ["CheckFailed"]


def _short_traceback(shell, etype, value, tb, tb_offset=None):  # pragma: no cover - IPython
    """Show a failed check as its message: the library's frames teach nothing.

    The message goes out as an ordinary error, so nbgrader still scores the cell zero.
    """
    stb = [f"\x1b[0;31m{etype.__name__}\x1b[0m: {value}"]
    shell._showtraceback(etype, value, stb)
    return stb


def _install_short_tracebacks() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the course
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((CheckFailed,), _short_traceback)


_install_short_tracebacks()
