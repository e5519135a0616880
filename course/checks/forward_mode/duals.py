"""Reading a student's Dual numbers and showing them in messages.

Tolerances, the ``(value, deriv)`` parts of a student's result (read inside a
``call``, as a :class:`~course.checking.Verdict`), whether an operation changed its
operands, and named wrong ``(value, deriv)`` pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from course.checking import CheckFailed, Tolerance, Verdict, as_float_array, call, fmt

#: One operation on duals: exact formulas, so only round-off separates answer and oracle.
DUAL = Tolerance(rtol=1e-9, atol=1e-12)
#: Composite expressions and functions accumulate a little more round-off.
COMPOSITE = Tolerance(rtol=1e-8, atol=1e-10)


# ----------------------------------------------------------------- small helpers


def _close(got: float, expected: float, tolerance: Tolerance = DUAL) -> bool:
    return tolerance.accepts(np.float64(got), np.float64(expected))


def _show_number(c: Any) -> str:
    return repr(c) if isinstance(c, int) else fmt(float(c), precision=6)


def _show_dual(value: Any, deriv: Any) -> str:
    def part(v: Any) -> str:
        try:
            return fmt(float(v), precision=10)
        except (TypeError, ValueError):
            return fmt(v)
    return f"Dual({part(value)}, {part(deriv)})"


def _scalar(value: Any, *, what: str) -> float:
    if hasattr(value, "value") and hasattr(value, "deriv"):
        raise CheckFailed(
            f"{what} is itself a Dual ({fmt(value)}): a Dual's value and deriv are plain numbers. "
            "Did you wrap a Dual inside a Dual, e.g. Dual(x, ...) where x is already a Dual?"
        )
    array = as_float_array(value, what=what)
    if array.shape != ():
        raise CheckFailed(f"{what} is an array of shape {array.shape}; it should be one number.")
    return float(array)


def _parts(result: Any, dual_class: type, *, expr: str) -> tuple[float, float]:
    """``(value, deriv)`` of a student's result, which must be an instance of their Dual."""
    if not isinstance(result, dual_class):
        raise CheckFailed(
            f"`{expr}` returned {type(result).__name__} {fmt(result)}: the result is not a Dual. "
            "An operation or function applied to a Dual must return a new "
            "Dual(value, deriv), carrying the derivative along with the value."
        )
    if not (hasattr(result, "value") and hasattr(result, "deriv")):
        raise CheckFailed(
            f"`{expr}` returned a Dual without the attributes `value` and `deriv`."
        )
    return (_scalar(result.value, what=f"`{expr}`.value"),
            _scalar(result.deriv, what=f"`{expr}`.deriv"))


def _make_dual(dual_class: type, value: float, deriv: float,
               states: list | None = None) -> Any:
    """``Dual(value, deriv)`` built through ``call``: only to pass on to later calls.

    With ``states``, the new Dual's ``(value, deriv)`` is appended to it inside the call
    (live only: in replay nothing is built, and the list stays empty).
    """
    def build() -> Any:
        d = dual_class(value, deriv)
        if states is not None:
            states.append(_snapshot(d))
        return d

    return call(build, name="Dual", inputs={"value": value, "deriv": deriv}).value


def _snapshot(obj: Any) -> tuple[Any, Any]:
    return getattr(obj, "value", None), getattr(obj, "deriv", None)


def _changed(obj: Any, before: tuple[Any, Any], *, expr: str, name: str) -> str | None:
    """Inside a call: the failure message if ``obj`` no longer holds ``before``, else None."""
    def same(a: Any, b: Any) -> bool:
        if a is b:
            return True
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False

    after = _snapshot(obj)
    if not all(same(a, b) for a, b in zip(before, after, strict=True)):
        return (
            f"`{expr}` changed its {name} from {_show_dual(*before)} to "
            f"{_show_dual(*after)}: an operation must return a NEW Dual and leave its operands "
            "unchanged (never assign to self.value or self.deriv outside __init__)."
        )
    return None


def _dual_report(result: Any, dual_class: type, *, expr: str) -> Verdict:
    """Inside a call: a verdict on a student's result, its ``(value, deriv)`` or what is wrong."""
    return Verdict.of(_parts, result, dual_class, expr=expr)


class _Shown(str):
    """Text that ``fmt`` shows as it is: how an input Dual appears in a failure message
    (the student's ``repr`` would run student code outside ``call``)."""

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class _PairMistake:
    """A wrong (value, deriv) pair that a recognisable slip produces; None matches anything."""

    explanation: str
    value: float | None = None
    deriv: float | None = None

    def matches(self, value: float, deriv: float) -> bool:
        try:
            ok_value = self.value is None or _close(value, self.value)
            ok_deriv = self.deriv is None or _close(deriv, self.deriv)
        except (TypeError, ValueError, OverflowError):
            return False
        return ok_value and ok_deriv


def _diagnose_pair(got: tuple[float, float], expected: tuple[float, float],
                   mistakes: Sequence[_PairMistake], *, value_hint: str,
                   deriv_hint: str) -> str:
    value, deriv = got
    for mistake in mistakes:
        if mistake.matches(value, deriv):
            return mistake.explanation
    if not _close(value, expected[0]):
        return value_hint
    if deriv == 0.0 and not _close(expected[1], 0.0):
        return f"the derivative part is 0: the rule was not applied. {deriv_hint}"
    return deriv_hint


# ------------------------------------------------------------ operands


@dataclass(frozen=True)
class _Operand:
    """A Dual operand (deriv is a float) or a plain number (deriv is None)."""

    value: float | int
    deriv: float | None = None

    @property
    def is_dual(self) -> bool:
        return self.deriv is not None

    def show(self) -> str:
        return _show_dual(self.value, self.deriv) if self.is_dual else _show_number(self.value)
