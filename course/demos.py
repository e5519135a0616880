"""Let a lesson's demos run the student's own code once its check has passed.

A demo cell after an exercise asks :func:`ready` before calling the student's function::

    if ready("gradient_descent"):
        path = gradient_descent(loss_grad, x0, lr=0.1, num_steps=50)
        ...plot the student's path...

:func:`ready` is true once the exercise's visible check has passed in this kernel (the
check calls :func:`course.checking.passed`, which records it here). Otherwise it prints
one line naming the exercise to finish and returns false, so a released lesson still
runs top to bottom with errors only in its check cells.
"""

from __future__ import annotations

_passed: set[str] = set()


def mark_passed(name: str) -> None:
    """Record that the visible check of exercise ``name`` has passed."""
    _passed.add(name)


def ready(*names: str) -> bool:
    """Whether every exercise in ``names`` has passed its check; if not, say which to finish."""
    missing = [name for name in names if name not in _passed]
    if missing:
        listed = ", ".join(f"`{name}`" for name in missing)
        print(f"\N{HOURGLASS} This demo runs your {listed}: finish it above and run its "
              f"check cell, then run this cell again.")
    return not missing


def forget() -> None:
    """Forget every passed check (for tests)."""
    _passed.clear()
