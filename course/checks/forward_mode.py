r"""Checkers for lesson 04-forward-mode: dual numbers.

A dual number :math:`a + b\,\varepsilon` with :math:`\varepsilon^2 = 0` carries a value
:math:`a` and a derivative :math:`b`. Every operation obeys one rule,

.. math::  h(a + b\,\varepsilon) = h(a) + b\,h'(a)\,\varepsilon ,

so a program run on duals returns its derivative alongside its value.

Oracle: JAX in float64. ``jax.jvp`` gives the value and derivative of every
operation, elementary function and random expression (node by node, batched and
jitted); ``jax.value_and_grad`` gives what ``derivative`` and ``forward_gradient``
must return, on the course's test functions (:mod:`course.functions`).

Diagnostics point at the broken rule. Every operation is tested on its own
(Dual op Dual, Dual op number, number op Dual) with candidate mistakes computed
from the maths; a random expression that goes wrong is searched for the first
sub-expression whose operands are right but whose result is not. ``derivative``
and ``forward_gradient`` receive probe functions that answer any seeding with the
JVP :math:`f(x) + (\nabla f(x) \cdot t)\,\varepsilon` and record how they were
seeded, so those two checks need from the student's ``Dual`` class only
``Dual(value, deriv)``.

Replay (see :mod:`course.recording`): student code runs only inside ``call``, and
what the checks inspect comes back from ``call`` as plain data. A student object is
read (its type, its parts, whether an operation changed an operand, how a probe was
seeded) by the same ``call`` that produced it, which returns a *report*: a
:class:`~course.checking.Verdict` holding ``(value, deriv)`` or the failure message,
settled outside the call by ``report.unwrap()``. Student objects that feed later calls are
kept by the checker in live mode only; in the grader's replay nothing runs, and every
verdict is reached again from the recorded reports.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from course.checking import CheckFailed, Tolerance, Verdict, as_float_array, call, fmt, passed
from course.functions import SCALAR_FUNCTIONS, VECTOR_FUNCTIONS, namespace

__all__ = [
    "check_derivative",
    "check_dual_functions",
    "check_dual_ops",
    "check_forward_gradient",
]

#: One operation on duals: exact formulas, so only round-off separates answer and oracle.
DUAL = Tolerance(rtol=1e-9, atol=1e-12)
#: Composite expressions and functions accumulate a little more round-off.
COMPOSITE = Tolerance(rtol=1e-8, atol=1e-10)


def _jax():
    from course.oracle import jax, jnp

    return jax, jnp


# ----------------------------------------------------------------- small helpers


def _close(got: float, expected: float, tolerance: Tolerance = DUAL) -> bool:
    return tolerance.accepts(np.float64(got), np.float64(expected))


#: The jitted oracles always see batches of this size, so each compiles once per session.
_CHUNK = 16


def _batched(oracle: Callable, rows: dict[Any, list[tuple]], pad: dict[Any, tuple]
             ) -> dict[Any, list[tuple]]:
    """Evaluate a jitted oracle ``{key: columns} -> {key: outputs}`` on every row.

    Each key's rows (tuples of numbers or arrays) go in chunks of ``_CHUNK``, padded with
    ``pad[key]`` (a row inside the oracle's domain); the result lists one tuple of outputs
    per row, in order.
    """
    out: dict[Any, list[tuple]] = {key: [] for key in rows}
    longest = max((len(r) for r in rows.values()), default=0)
    for start in range(0, longest, _CHUNK):
        batch = {}
        for key, key_rows in rows.items():
            part = key_rows[start:start + _CHUNK]
            part = part + [pad[key]] * (_CHUNK - len(part))
            columns = zip(*part, strict=True)
            batch[key] = tuple(np.array(column, dtype=np.float64) for column in columns)
        result = oracle(batch)
        for key, key_rows in rows.items():
            arrays = [np.asarray(a) for a in result[key]]
            for i in range(max(0, min(_CHUNK, len(key_rows) - start))):
                out[key].append(tuple(a[i] for a in arrays))
    return out


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


# ------------------------------------------------------------ operation rules


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


MistakeFn = Callable[[float, float, float, float], list[_PairMistake]]


@dataclass(frozen=True)
class _Rule:
    """One operation between Duals and numbers, with its derivative rule and typical slips."""

    key: str
    name: str
    symbol: str  # "+", "-", "*", "/", "**" or "neg"
    left_dual: bool
    right_dual: bool | None  # None for the unary minus
    formula: str
    mistakes: MistakeFn
    on_error: str

    @property
    def kind(self) -> str:
        if self.right_dual is None:
            return "-Dual"
        left = "Dual" if self.left_dual else "number"
        right = "Dual" if self.right_dual else "number"
        return f"{left} {self.symbol} {right}"

    def label(self) -> str:
        return f"{self.name}, {self.kind}"

    def render(self, left: str, right: str | None) -> str:
        return f"-{left}" if self.symbol == "neg" else f"{left} {self.symbol} {right}"

    def apply(self, left: Any, right: Any) -> Any:
        return _PY_OPS[self.symbol](left, right)


_PY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
    "neg": lambda a, _b: -a,
}


def _safe_log(a: float) -> float:
    return math.log(a) if a > 0 else math.nan


def _safe_pow(a: float, p: float) -> float:
    try:
        result = a**p
    except (ZeroDivisionError, OverflowError):
        return math.nan
    return math.nan if isinstance(result, complex) else float(result)


M = _PairMistake

_LIFT_HINT = ("a plain number c is the constant dual c + 0ε, i.e. Dual(c, 0.0): its derivative "
              "is 0, not 1")


def _add_dd(a, da, b, db):
    return [
        M("sum rule missing a term: d(x + y) = dx + dy, but only x's derivative was kept.",
          deriv=da),
        M("sum rule missing a term: d(x + y) = dx + dy, but only y's derivative was kept.",
          deriv=db),
        M("sum rule: derivatives of a sum are added, d(x + y) = dx + dy, not multiplied.",
          deriv=da * db),
    ]


def _add_dn(a, da, c, _):
    return [
        M(f"the number was added to the derivative too: {_LIFT_HINT}; it changes only the "
          "value.", deriv=da + c),
        M(f"the number was treated as Dual(c, 1.0): {_LIFT_HINT}.", deriv=da + 1),
    ]


def _radd(c, _, b, db):
    return [
        M(f"__radd__ added the number to the derivative too: {_LIFT_HINT}; it changes only the "
          "value.", deriv=db + c),
        M(f"__radd__ treated the number as Dual(c, 1.0): {_LIFT_HINT}.", deriv=db + 1),
    ]


def _sub_dd(a, da, b, db):
    return [
        M("difference rule sign: d(x - y) = dx - dy, but the derivatives were added.",
          deriv=da + db),
        M("the derivative was subtracted the wrong way round: d(x - y) = dx - dy, not dy - dx.",
          deriv=db - da),
        M("the value was subtracted the wrong way round: x - y, not y - x.", value=b - a),
        M("difference rule missing a term: d(x - y) = dx - dy; y's derivative was dropped.",
          deriv=da),
    ]


def _sub_dn(a, da, c, _):
    return [
        M("the value was computed as x + c; x - c subtracts.", value=a + c),
        M(f"the number was subtracted from the derivative too: {_LIFT_HINT}; d(x - c) = dx.",
          deriv=da - c),
        M(f"the number was treated as Dual(c, 1.0): {_LIFT_HINT}.", deriv=da - 1),
    ]


def _rsub(c, _, b, db):
    return [
        M("__rsub__ computes x - c instead of c - x: in `__rsub__(self, other)` the number "
          "`other` stands on the LEFT, so return Dual(other - self.value, -self.deriv).",
          value=b - c),
        M("__rsub__ forgot to flip the derivative's sign: d(c - x) = -dx.", deriv=db),
        M(f"__rsub__ treated the number as Dual(c, 1.0): {_LIFT_HINT}.", deriv=1 - db),
    ]


def _mul_dd(a, da, b, db):
    return [
        M("product rule: d(xy) = x dy + y dx, not dx dy.", deriv=da * db),
        M("product rule missing a term: d(xy) = x dy + y dx; the term y dx is missing.",
          deriv=a * db),
        M("product rule missing a term: d(xy) = x dy + y dx; the term x dy is missing.",
          deriv=da * b),
        M("product rule: pair each value with the OTHER operand's derivative, x dy + y dx "
          "(you computed x dx + y dy).", deriv=a * da + b * db),
        M("product rule sign: the two terms are added, x dy + y dx.", deriv=da * b - a * db),
    ]


def _mul_dn(a, da, c, _):
    return [
        M("the derivative was not scaled: d(c x) = c dx.", deriv=da),
        M(f"the number was treated as Dual(c, 1.0) (an extra term x·1): {_LIFT_HINT}.",
          deriv=c * da + a),
        M("the derivative part is the number alone: d(c x) = c dx.", deriv=c),
    ]


def _rmul(c, _, b, db):
    return [
        M("__rmul__ did not scale the derivative: d(c x) = c dx.", deriv=db),
        M(f"__rmul__ treated the number as Dual(c, 1.0) (an extra term x·1): {_LIFT_HINT}.",
          deriv=c * db + b),
        M("__rmul__ returned the number as derivative: d(c x) = c dx.", deriv=c),
    ]


def _div_dd(a, da, b, db):
    return [
        M("quotient rule sign: d(x / y) = (y dx - x dy) / y**2, but you computed "
          "(x dy - y dx) / y**2.", deriv=(a * db - da * b) / b**2),
        M("quotient rule sign: the terms are subtracted, (y dx - x dy) / y**2.",
          deriv=(da * b + a * db) / b**2),
        M("quotient rule: the derivative of x / y is not dx / dy; it is (y dx - x dy) / y**2.",
          deriv=(da / db) if db else None),
        M("quotient rule: divide by y**2, not by y: (y dx - x dy) / y**2.",
          deriv=(da * b - a * db) / b),
        M("quotient rule missing a term: (y dx - x dy) / y**2 = dx / y - x dy / y**2; the "
          "term -x dy / y**2 is missing.", deriv=da / b),
        M("quotient rule missing a term: the term dx / y is missing.", deriv=-a * db / b**2),
    ]


def _div_dn(a, da, c, _):
    return [
        M("the derivative was not divided: d(x / c) = dx / c.", deriv=da),
        M("d(x / c) = dx / c, not c dx.", deriv=da * c),
        M(f"the number was treated as Dual(c, 1.0): {_LIFT_HINT}.",
          deriv=(da * c - a) / c**2),
    ]


def _rtruediv(c, _, b, db):
    return [
        M("__rtruediv__ computes x / c instead of c / x: in `__rtruediv__(self, other)` the "
          "number `other` is the numerator, so compute other / self.", value=b / c),
        M("quotient rule sign in __rtruediv__: d(c / x) = -c dx / x**2.",
          deriv=c * db / b**2),
        M("quotient rule in __rtruediv__: divide by x**2, d(c / x) = -c dx / x**2.",
          deriv=-c * db / b),
        M("quotient rule in __rtruediv__: the factor c is missing, d(c / x) = -c dx / x**2.",
          deriv=-db / b**2),
        M(f"__rtruediv__ treated the number as Dual(c, 1.0): {_LIFT_HINT}.",
          deriv=(b - c * db) / b**2),
    ]


def _pow_dn(a, da, p, _):
    return [
        M("power rule without the chain rule: d(x**p) = p x**(p-1) dx; multiply by dx "
          "(x.deriv).", deriv=p * _safe_pow(a, p - 1)),
        M("power rule: the exponent drops by one, d(x**p) = p x**(p-1) dx.",
          deriv=p * _safe_pow(a, p) * da),
        M("power rule: the factor p is missing, d(x**p) = p x**(p-1) dx.",
          deriv=_safe_pow(a, p - 1) * da),
        M("you differentiated with respect to the exponent (x**p log x); for a numeric p "
          "the power rule is p x**(p-1) dx.", deriv=_safe_pow(a, p) * _safe_log(a) * da),
        M("the value of x ** p is a**p, not a*p.", value=a * p),
    ]


def _pow_dd(a, da, b, db):
    first = b * _safe_pow(a, b - 1) * da
    second = _safe_pow(a, b) * _safe_log(a) * db
    return [
        M("power rule with a Dual exponent: d(x**y) = y x**(y-1) dx + x**y log(x) dy; the "
          "second term x**y log(x) dy (the exponent varies too) is missing.", deriv=first),
        M("power rule with a Dual exponent: d(x**y) = y x**(y-1) dx + x**y log(x) dy; the "
          "first term y x**(y-1) dx is missing.", deriv=second),
        M("power rule with a Dual exponent: the second term is x**y log(x) dy; the factor dy "
          "is missing.", deriv=first + _safe_pow(a, b) * _safe_log(a)),
        M("power rule with a Dual exponent: the first term is y x**(y-1) dx; the factor dx "
          "is missing.", deriv=b * _safe_pow(a, b - 1) + second),
    ]


def _rpow(c, _, b, db):
    return [
        M("__rpow__ computes x ** c instead of c ** x: in `__rpow__(self, other)` the number "
          "`other` is the base, so compute other ** self.", value=_safe_pow(b, c)),
        M("the power rule p x**(p-1) is for a fixed exponent; in c ** x the variable is the "
          "exponent: d(c**x) = c**x log(c) dx.", deriv=b * _safe_pow(c, b - 1) * db),
        M("d(c**x) = c**x log(c) dx: the factor log(c) is missing.",
          deriv=_safe_pow(c, b) * db),
        M("d(c**x) = c**x log(c) dx: multiply by dx (x.deriv).",
          deriv=_safe_pow(c, b) * _safe_log(c)),
    ]


def _neg(a, da, _b, _db):
    return [
        M("negation must flip the derivative too: -(a + bε) = -a - bε.", value=-a, deriv=da),
        M("negation must flip the value too: -(a + bε) = -a - bε.", value=a),
    ]


_NUMBER_ERROR = ("a plain number on the {side} (an int like 3 or a float like 2.5) must work: "
                 "turn it into Dual(c, 0.0) first, for instance with Dual.lift(other); an "
                 "isinstance test on float alone misses ints.")
_REFLECTED = ("`{expr}` has the number on the LEFT, so Python calls int/float.{op}, which "
              "does not know Dual, and then your Dual.{rop}(self, other) with other = the "
              "number; define {rop}.")

RULES: tuple[_Rule, ...] = (
    _Rule("add_dd", "sum rule", "+", True, True, "d(x + y) = dx + dy", _add_dd, ""),
    _Rule("add_dn", "sum rule", "+", True, False, "d(x + c) = dx",
          _add_dn, _NUMBER_ERROR.format(side="right")),
    _Rule("radd", "__radd__", "+", False, True, "d(c + x) = dx", _radd,
          _REFLECTED.format(expr="{expr}", op="__add__", rop="__radd__")),
    _Rule("sub_dd", "difference rule", "-", True, True, "d(x - y) = dx - dy", _sub_dd, ""),
    _Rule("sub_dn", "difference rule", "-", True, False, "d(x - c) = dx",
          _sub_dn, _NUMBER_ERROR.format(side="right")),
    _Rule("rsub", "__rsub__", "-", False, True, "d(c - x) = -dx", _rsub,
          _REFLECTED.format(expr="{expr}", op="__sub__", rop="__rsub__")),
    _Rule("mul_dd", "product rule", "*", True, True, "d(xy) = x dy + y dx", _mul_dd, ""),
    _Rule("mul_dn", "product rule", "*", True, False, "d(x c) = c dx",
          _mul_dn, _NUMBER_ERROR.format(side="right")),
    _Rule("rmul", "__rmul__", "*", False, True, "d(c x) = c dx", _rmul,
          _REFLECTED.format(expr="{expr}", op="__mul__", rop="__rmul__")),
    _Rule("div_dd", "quotient rule", "/", True, True, "d(x / y) = (y dx - x dy) / y**2",
          _div_dd, ""),
    _Rule("div_dn", "quotient rule", "/", True, False, "d(x / c) = dx / c",
          _div_dn, _NUMBER_ERROR.format(side="right")),
    _Rule("rtruediv", "quotient rule in __rtruediv__", "/", False, True,
          "d(c / x) = -c dx / x**2", _rtruediv,
          _REFLECTED.format(expr="{expr}", op="__truediv__", rop="__rtruediv__")),
    _Rule("pow_dn", "power rule with a numeric exponent", "**", True, False,
          "d(x**p) = p x**(p-1) dx", _pow_dn,
          "for a numeric exponent p (an int or a float) use the power rule p * a**(p-1) * dx "
          "directly: it works for negative bases too, where log(a) is undefined."),
    _Rule("pow_dd", "power rule with a Dual exponent", "**", True, True,
          "d(x**y) = y x**(y-1) dx + x**y log(x) dy", _pow_dd,
          "`x ** y` with a Dual exponent y must work: test isinstance(other, Dual) in "
          "__pow__ and use d(x**y) = y x**(y-1) dx + x**y log(x) dy."),
    _Rule("rpow", "exponential rule in __rpow__", "**", False, True, "d(c**x) = c**x log(c) dx",
          _rpow, _REFLECTED.format(expr="{expr}", op="__pow__", rop="__rpow__")),
    _Rule("neg", "negation", "neg", True, None, "d(-x) = -dx", _neg,
          "unary minus calls Dual.__neg__(self); define it."),
)
_RULES_BY_KEY = {rule.key: rule for rule in RULES}


def _rule_for(symbol: str, left_dual: bool, right_dual: bool | None) -> _Rule:
    for rule in RULES:
        if (rule.symbol, rule.left_dual, rule.right_dual) == (symbol, left_dual, right_dual):
            return rule
    raise KeyError((symbol, left_dual, right_dual))  # pragma: no cover - table is complete


# Fixed cases: (left, right) operands. They include the lesson's seeds
# 3 + (3 + 4ε) = 6 + 4ε and (3 + 4ε)(5 + 7ε) = 15 + 41ε, and ints as plain numbers.
def _d(value: float, deriv: float) -> _Operand:
    return _Operand(float(value), float(deriv))


def _n(value: float | int) -> _Operand:
    return _Operand(value)


_FIXED: dict[str, list[tuple[_Operand, _Operand | None]]] = {
    "add_dd": [(_d(3, 4), _d(5, 7)), (_d(-1.5, 0.5), _d(2.25, -3))],
    "add_dn": [(_d(3, 4), _n(3)), (_d(-1.5, 0.5), _n(2.5))],
    "radd": [(_n(3), _d(3, 4)), (_n(-2.5), _d(1.5, -2))],
    "sub_dd": [(_d(3, 4), _d(5, 7)), (_d(-1.5, 0.5), _d(2.25, -3))],
    "sub_dn": [(_d(3, 4), _n(3)), (_d(-1.5, 0.5), _n(2.5))],
    "rsub": [(_n(3), _d(2, 4)), (_n(-2.5), _d(1.5, -2))],
    "mul_dd": [(_d(3, 4), _d(5, 7)), (_d(-1.5, 0.5), _d(2.25, -3))],
    "mul_dn": [(_d(3, 4), _n(5)), (_d(-1.5, 0.5), _n(2.5))],
    "rmul": [(_n(5), _d(3, 4)), (_n(-2.5), _d(1.5, -2))],
    "div_dd": [(_d(3, 4), _d(5, 7)), (_d(-1.5, 0.5), _d(2.25, -3))],
    "div_dn": [(_d(3, 4), _n(2)), (_d(-1.5, 0.5), _n(2.5))],
    "rtruediv": [(_n(3), _d(2, 4)), (_n(-2.5), _d(1.5, -2))],
    "pow_dn": [(_d(3, 4), _n(2)), (_d(-2, 1.5), _n(3)), (_d(2.5, 0.5), _n(0.5)),
               (_d(1.5, -2), _n(-1)), (_d(0.8, 1.25), _n(1.5)), (_d(2, 3), _n(0))],
    "pow_dd": [(_d(2, 1), _d(3, 0)), (_d(2, 0), _d(3, 1)), (_d(1.5, 0.5), _d(2.5, -1.5))],
    "rpow": [(_n(2), _d(3, 1)), (_n(0.5), _d(-1.5, 2)), (_n(3), _d(0.5, -0.75))],
    "neg": [(_d(3, 4), None), (_d(-1.5, 0.5), None)],
}


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.round(rng.uniform(low, high), 3))


def _away_from_zero(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.choice([-1.0, 1.0])) * _uniform(rng, low, high)


def _sample(rule: _Rule, rng: np.random.Generator) -> tuple[_Operand, _Operand | None]:
    """A random case for ``rule`` inside the domain where its formula is smooth."""
    a, da = _uniform(rng, -3, 3), _away_from_zero(rng, 0.25, 2.5)
    b, db = _uniform(rng, -3, 3), _away_from_zero(rng, 0.25, 2.5)
    c = _away_from_zero(rng, 0.25, 3)
    if rule.key in ("div_dd", "div_dn"):
        b = c = _away_from_zero(rng, 0.5, 3)
    if rule.key == "rtruediv":
        b = _away_from_zero(rng, 0.5, 3)
    if rule.key == "pow_dn":
        p = rng.choice([2, 3, -1, -2, 0.5, 1.5, -0.5, 2.5])
        p = int(p) if float(p).is_integer() else float(p)
        a = _away_from_zero(rng, 0.4, 2.5) if isinstance(p, int) else _uniform(rng, 0.3, 2.5)
        return _d(a, da), _n(p)
    if rule.key == "pow_dd":
        return _d(_uniform(rng, 0.3, 2.5), da), _d(_uniform(rng, -2.5, 2.5), db)
    if rule.key == "rpow":
        return _n(_uniform(rng, 0.3, 3.5)), _d(_uniform(rng, -2, 2), db)
    left = _d(a, da) if rule.left_dual else _n(c)
    if rule.right_dual is None:
        return left, None
    right = _d(b, db) if rule.right_dual else _n(c)
    return left, right


@functools.cache
def _rules_oracle() -> Callable:
    """Jitted ``jax.jvp`` of every rule, batched: ``{key: (L, dL, R, dR)} -> {key: (v, d)}``.

    Plain numbers are closed over, so they are constants with no tangent (their ``dL`` or
    ``dR`` entries are ignored).
    """
    jax, _ = _jax()

    def oracle(batch):
        out = {}
        for rule in RULES:
            key, op = rule.key, _PY_OPS[rule.symbol]
            l, dl, r, dr = batch[key]
            if rule.right_dual is None:
                out[key] = jax.jvp(lambda u: -u, (l,), (dl,))
            elif rule.left_dual and rule.right_dual:
                out[key] = jax.jvp(op, (l, r), (dl, dr))
            elif rule.left_dual:
                out[key] = jax.jvp(lambda u, r=r, op=op: op(u, r), (l,), (dl,))
            else:
                out[key] = jax.jvp(lambda v, l=l, op=op: op(l, v), (r,), (dr,))
        return out

    return jax.jit(oracle)


def _oracle_row(left: _Operand, right: _Operand | None) -> tuple[float, float, float, float]:
    """``(L, dL, R, dR)`` for the rules oracle; a plain number's derivative entry is unused."""
    return (float(left.value), float(left.deriv or 0.0),
            float(right.value) if right else 0.0, float(right.deriv or 0.0) if right else 0.0)


def _oracle_ops(cases: dict[str, list[tuple[_Operand, _Operand | None]]]
                ) -> dict[str, list[tuple[float, float]]]:
    """``(value, deriv)`` of every case of every rule by ``jax.jvp``."""
    rows = {key: [_oracle_row(*case) for case in key_cases] for key, key_cases in cases.items()}
    out = _batched(_rules_oracle(), rows, {key: r[0] for key, r in rows.items()})
    return {key: [(float(v), float(d)) for v, d in pairs] for key, pairs in out.items()}


def _mistakes_for(rule: _Rule, left: _Operand, right: _Operand | None) -> list[_PairMistake]:
    a, da = float(left.value), float(left.deriv or 0.0)
    b = float(right.value) if right is not None else 0.0
    db = float(right.deriv or 0.0) if right is not None else 0.0
    with np.errstate(all="ignore"):
        try:
            return [m for m in rule.mistakes(a, da, b, db)
                    if m.value is None or math.isfinite(m.value)]
        except (ZeroDivisionError, OverflowError, ValueError):
            return []


def _operation_failure(rule: _Rule, expr: str, got: tuple[float, float],
                       expected: tuple[float, float], mistakes: Sequence[_PairMistake],
                       context: str = "") -> CheckFailed:
    diagnosis = _diagnose_pair(
        got, expected, mistakes,
        value_hint=f"the value part must be the ordinary result {fmt(expected[0])} of the "
        "operation on the values alone; only the derivative part follows the rule.",
        deriv_hint=f"the {rule.name} is {rule.formula}.",
    )
    return CheckFailed(
        f"{context}`{expr}` is wrong ({rule.label()}).\n"
        f"  expected: {_show_dual(*expected)}\n"
        f"  got:      {_show_dual(*got)}\n"
        f"  rule:     {rule.formula}\n"
        f"  likely mistake: {diagnosis}"
    )


def _student_operands(dual_class: type, left: _Operand, right: _Operand | None
                      ) -> tuple[Any, Any]:
    def build(op: _Operand | None) -> Any:
        if op is None:
            return None
        return _make_dual(dual_class, op.value, op.deriv) if op.is_dual else op.value
    return build(left), build(right)


def _apply_student(rule: _Rule, expr: str, fn: Callable, *args: Any) -> Any:
    """``call(fn, *args)`` for the operation ``expr``, its failures explained by ``rule``."""
    try:
        return call(fn, *args, name=expr).value
    except CheckFailed as failure:
        text = str(failure)
        if "not implemented yet" in text:
            raise CheckFailed(
                f"`{expr}` ({rule.label()}) is not implemented yet: replace "
                "`raise NotImplementedError()` in that method of Dual with your code, run the "
                "cell, then run this check again."
            ) from None
        hint = rule.on_error.format(expr=expr)
        raise CheckFailed(f"{text}\n  ({rule.label()}) {hint}".rstrip()) from None


def _check_operation(dual_class: type, rule: _Rule, left: _Operand,
                     right: _Operand | None, expected: tuple[float, float]) -> None:
    expr = rule.render(left.show(), right.show() if right is not None else None)
    x, y = _student_operands(dual_class, left, right)

    def run() -> tuple[str | None, str | None, Verdict]:
        before_x, before_y = _snapshot(x), _snapshot(y)
        result = rule.apply(x, y)
        changed_x = changed_y = None
        if left.is_dual:
            changed_x = _changed(x, before_x, expr=expr,
                                 name="left operand" if y is not None else "operand")
        if right is not None and right.is_dual:
            changed_y = _changed(y, before_y, expr=expr, name="right operand")
        return changed_x, changed_y, _dual_report(result, dual_class, expr=expr)

    changed_x, changed_y, report = _apply_student(rule, expr, run)
    for problem in (changed_x, changed_y):
        if problem is not None:
            raise CheckFailed(problem)
    got = report.unwrap()
    if not (_close(got[0], expected[0]) and _close(got[1], expected[1])):
        raise _operation_failure(rule, expr, got, expected, _mistakes_for(rule, left, right))


def _check_constructor(dual_class: type) -> None:
    def stored(d: Any) -> tuple[float, float]:
        for attribute in ("value", "deriv"):
            if not hasattr(d, attribute):
                raise CheckFailed(
                    f"Dual(3.0, 4.0) has no attribute `{attribute}`: store the two parts as "
                    "self.value and self.deriv in __init__."
                )
        return (_scalar(d.value, what="Dual(3.0, 4.0).value"),
                _scalar(d.deriv, what="Dual(3.0, 4.0).deriv"))

    report = call(lambda: Verdict.of(lambda: stored(dual_class(3.0, 4.0))), name="Dual",
                  inputs={"value": 3.0, "deriv": 4.0}).value
    got = report.unwrap()
    if got != (3.0, 4.0):
        raise CheckFailed(f"Dual(3.0, 4.0) stores value {got[0]} and deriv {got[1]}; "
                          "expected value 3.0 and deriv 4.0.")
    report = call(lambda: Verdict.of(lambda: (_scalar(getattr(dual_class(3.0), "deriv", None),
                                                      what="Dual(3.0).deriv"),)),
                  name="Dual", inputs={"value": 3.0}).value
    (deriv,) = report.unwrap()
    if deriv != 0.0:
        raise CheckFailed(f"Dual(3.0) has deriv {deriv}: the default is deriv=0.0, a constant.")


def _check_rules(dual_class: type, rng: np.random.Generator, trials: int) -> int:
    """Every rule on its fixed cases and ``trials`` random ones; returns the number of cases."""
    _check_constructor(dual_class)
    cases = {rule.key: list(_FIXED[rule.key]) + [_sample(rule, rng) for _ in range(trials)]
             for rule in RULES}
    expected = _oracle_ops(cases)
    for rule in RULES:
        for (left, right), want in zip(cases[rule.key], expected[rule.key], strict=False):
            _check_operation(dual_class, rule, left, right, want)
    return sum(len(c) for c in cases.values())


def _arithmetic_problem(dual_class: type) -> str | None:
    """None if the Dual arithmetic passes its own checks, else the failure message."""
    try:
        _check_rules(dual_class, np.random.default_rng(0), trials=1)
    except CheckFailed as failure:
        return str(failure)
    return None


# ------------------------------------------------------------ random expressions


@dataclass(frozen=True)
class _Expr:
    """An expression tree in x and y: a variable, a constant, ``-child`` or ``left op right``."""

    kind: str  # "var", "const", "neg", "bin"
    name: str = ""
    const: float | int = 0.0
    symbol: str = ""
    left: _Expr | None = None
    right: _Expr | None = None

    def __str__(self) -> str:
        if self.kind == "var":
            return self.name
        if self.kind == "const":
            return _show_number(self.const)
        if self.kind == "neg":
            return f"-({self.left})"
        return f"({self.left} {self.symbol} {self.right})"

    def rule(self) -> _Rule:
        if self.kind == "neg":
            return _RULES_BY_KEY["neg"]
        assert self.left is not None and self.right is not None
        return _rule_for(self.symbol, self.left.kind != "const", self.right.kind != "const")


def _var(name: str) -> _Expr:
    return _Expr("var", name=name)


def _const(c: float | int) -> _Expr:
    return _Expr("const", const=c)


def _bin(symbol: str, left: _Expr, right: _Expr) -> _Expr:
    return _Expr("bin", symbol=symbol, left=left, right=right)


class _OutOfDomain(Exception):
    pass


def _value_at(expr: _Expr, env: dict[str, float]) -> float:
    """Plain-float value, raising _OutOfDomain where the expression is not smooth or tame."""
    if expr.kind == "var":
        return env[expr.name]
    if expr.kind == "const":
        return float(expr.const)
    left = _value_at(expr.left, env)  # type: ignore[arg-type]
    if expr.kind == "neg":
        return -left
    right = _value_at(expr.right, env)  # type: ignore[arg-type]
    if expr.symbol == "/" and abs(right) < 0.3:
        raise _OutOfDomain
    if expr.symbol == "**":
        integer_exponent = expr.right.kind == "const" and isinstance(expr.right.const, int)
        if not integer_exponent and left < 0.2:
            raise _OutOfDomain
        if abs(right) > 4 or (integer_exponent and right < 0 and abs(left) < 0.3):
            raise _OutOfDomain
    try:
        value = _PY_OPS[expr.symbol](left, right)
    except (ZeroDivisionError, OverflowError) as error:
        raise _OutOfDomain from error
    if isinstance(value, complex) or not math.isfinite(value) or abs(value) > 1e3:
        raise _OutOfDomain
    return float(value)


def _random_constant(rng: np.random.Generator) -> float | int:
    if rng.random() < 0.4:
        return int(rng.choice([-3, -2, -1, 2, 3, 4]))
    return float(rng.choice([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.25]))


def _random_tree(rng: np.random.Generator, depth: int) -> _Expr:
    if depth == 0 or rng.random() < 0.2:
        return _var("x" if rng.random() < 0.6 else "y")
    symbol = str(rng.choice(["+", "-", "*", "/", "**", "neg"], p=[.2, .2, .2, .15, .15, .1]))
    if symbol == "neg":
        return _Expr("neg", symbol="neg", left=_random_tree(rng, depth - 1))
    if symbol == "**":
        roll = rng.random()
        base = _random_tree(rng, depth - 1)
        if roll < 0.5:
            return _bin("**", base, _const(
                int(rng.choice([2, 3, -1])) if rng.random() < 0.6
                else float(rng.choice([0.5, 1.5, -0.5]))))
        if roll < 0.75:
            return _bin("**", _const(float(rng.choice([0.5, 1.5, 2.0, 3.0]))),
                        _random_tree(rng, depth - 1))
        return _bin("**", base, _random_tree(rng, depth - 1))
    left, right = _random_tree(rng, depth - 1), _random_tree(rng, depth - 1)
    roll = rng.random()
    if roll < 0.2:
        left = _const(_random_constant(rng))
    elif roll < 0.4:
        right = _const(_random_constant(rng))
    return _bin(symbol, left, right)


def _random_expression(rng: np.random.Generator) -> tuple[_Expr, dict[str, _Operand]]:
    """A random expression in x and y and a point (with random tangents) where it is tame."""
    while True:
        expr = _random_tree(rng, int(rng.integers(2, 5)))
        if expr.kind == "var":
            continue
        env = {"x": _d(_uniform(rng, -2.5, 2.5), _away_from_zero(rng, 0.25, 2)),
               "y": _d(_uniform(rng, -2.5, 2.5), _away_from_zero(rng, 0.25, 2))}
        try:
            _value_at(expr, {k: float(v.value) for k, v in env.items()})
        except _OutOfDomain:
            continue
        return expr, env


def _fixed_expressions() -> list[tuple[_Expr, dict[str, _Operand]]]:
    """Expressions that reuse one Dual several times (x * x, x - x, x / x, x ** x) and mix rules."""
    x, y = _var("x"), _var("y")
    env = {"x": _d(1.5, 1.0), "y": _d(-0.5, 2.0)}
    trees = [
        _bin("*", x, x),
        _bin("-", x, x),
        _bin("/", x, x),
        _bin("**", x, x),
        _bin("-", _bin("**", x, _const(3)), _bin("*", _const(2), x)),  # x**3 - 2*x
        _bin("/", x, _bin("+", _const(1), _bin("**", x, _const(2)))),  # x / (1 + x**2)
        _bin("+", _bin("*", _bin("**", x, _const(2)), y), _bin("+", y, _const(2))),
        _bin("-", _const(3), _bin("/", _const(1), _bin("*", x, y))),
        _Expr("neg", symbol="neg", left=_bin("**", _const(2.0), _bin("-", x, y))),
    ]
    return [(tree, env) for tree in trees]


_Ref = tuple[str, Any] | None  # ("node", position in the walk), ("const", c) or None


def _walk_student(expr: _Expr, env: dict[str, Any], out: list[tuple[_Expr, Any, tuple]]
                  ) -> tuple[Any, _Ref]:
    """Evaluate ``expr`` on the student's Duals, one ``call`` per operation.

    Appends ``(node, result, (left_ref, right_ref))`` for every non-constant node in
    post-order and returns the root's result and reference; a reference names a node's
    position in ``out`` or a constant, so that operands are read from the node reports.
    """
    if expr.kind == "var":
        result = env[expr.name]
        out.append((expr, result, ()))
        return result, ("node", len(out) - 1)
    if expr.kind == "const":
        return expr.const, ("const", expr.const)
    rule = expr.rule()
    left, left_ref = _walk_student(expr.left, env, out)  # type: ignore[arg-type]
    right, right_ref = (None, None) if expr.kind == "neg" else _walk_student(
        expr.right, env, out)  # type: ignore[arg-type]
    result = _apply_student(rule, str(expr), rule.apply, left, right)
    out.append((expr, result, (left_ref, right_ref)))
    return result, ("node", len(out) - 1)


def _flatten(expr: _Expr) -> list[tuple[_Expr, int | None, int | None, int]]:
    """Non-constant nodes in post-order (as ``_walk_student`` visits them), each with the
    positions of its non-constant children and its height above the leaves."""
    out: list[tuple[_Expr, int | None, int | None, int]] = []

    def visit(node: _Expr) -> int | None:
        if node.kind == "const":
            return None
        if node.kind == "var":
            out.append((node, None, None, 0))
            return len(out) - 1
        left = visit(node.left)  # type: ignore[arg-type]
        right = visit(node.right) if node.kind == "bin" else None  # type: ignore[arg-type]
        height = 1 + max((out[i][3] for i in (left, right) if i is not None), default=0)
        out.append((node, left, right, height))
        return len(out) - 1

    visit(expr)
    return out


def _oracle_expressions(cases: list[tuple[_Expr, dict[str, _Operand]]]
                        ) -> list[list[tuple[float, float]]]:
    """``(value, deriv)`` of every non-constant node of every expression (post-order).

    The nodes of one height, across all expressions, go through the batched ``jax.jvp``
    of their rules in one call, fed with the oracle's own values for their operands:
    forward mode is exactly this composition, and no new compilation is needed.
    """
    flats = [_flatten(expr) for expr, _ in cases]
    results: list[list[tuple[float, float]]] = [[(math.nan, math.nan)] * len(f) for f in flats]
    for t, (flat, (_, env)) in enumerate(zip(flats, cases, strict=True)):
        for i, (node, *_rest) in enumerate(flat):
            if node.kind == "var":
                op = env[node.name]
                results[t][i] = (float(op.value), float(op.deriv or 0.0))
    pad = {rule.key: _oracle_row(*_FIXED[rule.key][0]) for rule in RULES}
    top = max((entry[3] for flat in flats for entry in flat), default=0)
    for height in range(1, top + 1):
        rows: dict[str, list[tuple]] = {rule.key: [] for rule in RULES}
        owners: dict[str, list[tuple[int, int]]] = {rule.key: [] for rule in RULES}
        for t, flat in enumerate(flats):
            for i, (node, li, ri, h) in enumerate(flat):
                if h != height:
                    continue
                left = results[t][li] if li is not None else (float(node.left.const), 0.0)
                if node.kind == "neg":
                    right = (0.0, 0.0)
                else:
                    right = (results[t][ri] if ri is not None
                             else (float(node.right.const), 0.0))
                key = node.rule().key
                rows[key].append((*left, *right))
                owners[key].append((t, i))
        out = _batched(_rules_oracle(), rows, pad)
        for key, pairs in out.items():
            for (t, i), (v, d) in zip(owners[key], pairs, strict=True):
                results[t][i] = (float(v), float(d))
    return results


def _check_expression(dual_class: type, expr: _Expr, env: dict[str, _Operand],
                      expected: list[tuple[float, float]]) -> None:
    student_env: dict[str, Any] = {}
    before: dict[str, list] = {}
    for name, op in env.items():
        before[name] = []
        student_env[name] = _make_dual(dual_class, op.value, op.deriv, before[name])
    nodes: list[tuple[_Expr, Any, tuple]] = []
    _walk_student(expr, student_env, nodes)

    def inspect() -> tuple[str | None, list[Verdict]]:
        """After the whole walk: a changed operand, else every node's report."""
        for name, d in student_env.items():
            problem = _changed(d, before[name][0], expr=str(expr), name=f"operand {name}")
            if problem is not None:
                return problem, []
        return None, [_dual_report(result, dual_class, expr=str(node))
                      for node, result, _ in nodes]

    changed, reports = call(inspect, name=str(expr)).value
    if changed is not None:
        raise CheckFailed(changed)
    where = (f"In the expression {expr} at x = {env['x'].show()}, y = {env['y'].show()}: ")
    for (node, _, operands), report, want in zip(nodes, reports, expected, strict=True):
        got = report.unwrap()
        if _close(got[0], want[0], COMPOSITE) and _close(got[1], want[1], COMPOSITE):
            continue
        rule = node.rule()
        # Operands are constants or earlier nodes, whose reports passed (post-order).
        shown = [(_Operand(*reports[ref[1]].unwrap()) if ref[0] == "node" else _Operand(ref[1]))
                 for ref in operands if ref is not None]
        left, right = shown[0], (shown[1] if len(shown) > 1 else None)
        raise _operation_failure(rule, str(node), got, want, _mistakes_for(rule, left, right),
                                 context=where)


def _check_expressions(dual_class: type, rng: np.random.Generator, trials: int) -> int:
    cases = _fixed_expressions() + [_random_expression(rng) for _ in range(trials)]
    expected = _oracle_expressions(cases)
    for (expr, env), want in zip(cases, expected, strict=True):
        _check_expression(dual_class, expr, env, want)
    return len(cases)


# ------------------------------------------------------------------ dual_ops


def check_dual_ops(Dual: type, *, seed: int = 0, trials: int = 10,
                   expressions: int = 30) -> None:
    r"""``Dual`` implements :math:`+, -, \times, /, **` and unary minus on :math:`a + b\varepsilon`.

    Each rule is tested on its own, Dual op Dual, Dual op number and number op Dual
    (fixed cases including :math:`3 + (3 + 4\varepsilon) = 6 + 4\varepsilon` and
    :math:`(3 + 4\varepsilon)(5 + 7\varepsilon) = 15 + 41\varepsilon`, then ``trials``
    random ones), operands must stay unchanged, and ``expressions`` random
    expression trees in two Duals are compared node by node with ``jax.jvp``.
    """
    rng = np.random.default_rng(seed)
    cases = _check_rules(Dual, rng, trials)
    n_expr = _check_expressions(Dual, rng, expressions)
    passed(
        "dual_ops",
        f"{len(RULES)} rules on {cases} cases (3 + (3 + 4ε) = 6 + 4ε, "
        f"(3 + 4ε)(5 + 7ε) = 15 + 41ε) and {n_expr} expressions agree with jax.jvp",
    )


# ------------------------------------------------------------ dual_functions


@dataclass(frozen=True)
class _Function:
    """An elementary function: its rule, math-module reference values, domain and slips.

    ``prime`` and ``value`` only build the candidate mistakes; expected values come
    from ``jax.jvp``.
    """

    name: str
    derivative: str  # h'(a) as written in the rule h(a) + b h'(a) eps
    prime: Callable[[float], float]
    value: Callable[[float], float]
    domain: tuple[float, float]
    fixed: tuple[float, ...]
    specific: Callable[[float, float], list[_PairMistake]]


def _tanh_mistakes(a: float, da: float) -> list[_PairMistake]:
    t = math.tanh(a)
    return [
        M("d tanh(x) = (1 - tanh(x)**2) dx, not (1 + tanh(x)**2) dx.", t, (1 + t * t) * da),
        M("d tanh(x) = (1 - tanh(x)**2) dx: the tanh must be squared.", t, (1 - t) * da),
        M("d tanh(x) = dx / cosh(x)**2: the square is missing.", t, da / math.cosh(a)),
    ]


FUNCTIONS: tuple[_Function, ...] = (
    _Function("sin", "cos(a)", math.cos, math.sin, (-4, 4), (0.0, 1.0, -2.5),
              lambda a, da: [M("d sin(x) = +cos(x) dx: the sign is wrong.", math.sin(a),
                               -math.cos(a) * da)]),
    _Function("cos", "(-sin(a))", lambda a: -math.sin(a), math.cos, (-4, 4),
              (0.0, 1.0, -2.5),
              lambda a, da: [M("d cos(x) = -sin(x) dx: the minus sign is missing.",
                               math.cos(a), math.sin(a) * da)]),
    _Function("exp", "exp(a)", math.exp, math.exp, (-3, 3), (0.0, 1.0, -2.5),
              lambda a, da: [M("d exp(x) = exp(x) dx, not x exp(x) dx.", math.exp(a),
                               a * math.exp(a) * da)]),
    _Function("log", "(1/a)", lambda a: 1 / a, math.log, (0.1, 5), (1.0, 2.5, 0.5),
              lambda a, da: [M("d log(x) = dx / x, not x dx.", math.log(a), a * da),
                             M("d log(x) = dx / x: the sign is wrong.", math.log(a), -da / a),
                             M("d log(x) = dx / x, not dx / x**2.", math.log(a), da / a**2)]),
    _Function("tanh", "(1 - tanh(a)**2)", lambda a: 1 - math.tanh(a) ** 2, math.tanh,
              (-3, 3), (0.0, 1.0, -2.5), _tanh_mistakes),
)


def _function_mistakes(fn: _Function, a: float, da: float) -> list[_PairMistake]:
    h, hp = fn.value(a), fn.prime(a)
    name = fn.name
    mistakes = [
        M(f"chain rule through {name} not applied: the derivative part must be "
          f"{name}'(a) * b = {fn.derivative} * x.deriv, but you returned x.deriv unchanged.",
          h, da),
        M(f"chain rule through {name}: multiply {name}'(a) = {fn.derivative} by the incoming "
          "derivative b (x.deriv); you returned "
          f"{name}'(a) alone, which is only right when b = 1.", h, hp),
        *fn.specific(a, da),
    ]
    if not math.isclose(a, h, rel_tol=1e-9, abs_tol=1e-12):  # at a = 0, sin(a) = a is right
        mistakes.append(M(f"the value part must be {name}(a), not a.", a, None))
    if name != "exp":
        mistakes.append(M(f"you used {name}(a) where {name}'(a) = {fn.derivative} belongs: "
                          f"{name}(a + bε) = {name}(a) + b {fn.derivative} ε.", h, h * da))
    return mistakes


@functools.cache
def _functions_oracle() -> Callable:
    """Jitted, batched ``jax.jvp`` of the five functions: ``{name: (A, dA)} -> {name: (v, d)}``."""
    jax, jnp = _jax()

    def oracle(cases):
        return {name: jax.jvp(getattr(jnp, name), (a,), (da,)) for name, (a, da) in
                cases.items()}

    return jax.jit(oracle)


def _jvp_functions(cases: dict[str, list[tuple[float, float]]]
                   ) -> dict[str, list[tuple[float, float]]]:
    """``(value, deriv)`` of ``name(a + da ε)`` for every listed case."""
    # Every name is always present (padded with a point inside every domain), so one
    # compilation serves all calls.
    rows = {fn.name: list(cases.get(fn.name, [])) for fn in FUNCTIONS}
    out = _batched(_functions_oracle(), rows, dict.fromkeys(rows, (0.5, 0.0)))
    return {name: [(float(v), float(d)) for v, d in pairs] for name, pairs in out.items()}


def _check_float_path(fn: _Function, student: Callable, dual_class: type, a: float,
                      expected: float) -> None:
    expr = f"{fn.name}({_show_number(a)})"

    def run() -> Verdict:
        result = student(a)
        if isinstance(result, dual_class) or not isinstance(result, float):
            return Verdict(failure=(
                f"`{expr}` returned {type(result).__name__} {fmt(result)}: a function of a "
                f"float must return a float (e.g. math.{fn.name}(x)); only a Dual argument "
                "gives a Dual result."))
        return Verdict(float(result))

    result = call(run, name=fn.name, inputs={"x": a}).value.unwrap()
    if not _close(result, expected):
        raise CheckFailed(f"`{expr}` is wrong.\n  expected: {fmt(expected)}\n"
                          f"  got:      {fmt(result)}")


def _check_dual_path(fn: _Function, student: Callable, dual_class: type, a: float,
                     da: float, expected: tuple[float, float]) -> None:
    expr = f"{fn.name}({_show_dual(a, da)})"
    x = _make_dual(dual_class, a, da)

    def run() -> tuple[str | None, Verdict]:
        before = _snapshot(x)
        result = student(x)
        return (_changed(x, before, expr=expr, name="operand"),
                _dual_report(result, dual_class, expr=expr))

    changed, report = call(run, name=fn.name, inputs={"x": _Shown(_show_dual(a, da))}).value
    if changed is not None:
        raise CheckFailed(changed)
    got = report.unwrap()
    if _close(got[0], expected[0]) and _close(got[1], expected[1]):
        return
    diagnosis = _diagnose_pair(
        got, expected, _function_mistakes(fn, a, da),
        value_hint=f"the value part must be {fn.name}(a) = {fmt(expected[0])}.",
        deriv_hint=f"{fn.name}(a + bε) = {fn.name}(a) + b {fn.derivative} ε.",
    )
    raise CheckFailed(
        f"`{expr}` is wrong (chain rule through {fn.name}).\n"
        f"  expected: {_show_dual(*expected)}\n"
        f"  got:      {_show_dual(*got)}\n"
        f"  rule:     {fn.name}(a + bε) = {fn.name}(a) + b {fn.derivative} ε\n"
        f"  likely mistake: {diagnosis}"
    )


def _random_chain(rng: np.random.Generator) -> tuple[float, float, list[_Function]]:
    """A start (a, da) and 2 to 4 functions whose composition is smooth there."""
    by_name = {fn.name: fn for fn in FUNCTIONS}
    a, da = _uniform(rng, -2, 2), _away_from_zero(rng, 0.25, 2)
    chain, current, length = [], a, int(rng.integers(2, 5))
    while len(chain) < length:
        fn = by_name[str(rng.choice(list(by_name)))]
        if (fn.name == "log" and current < 0.1) or (fn.name == "exp" and current > 3):
            continue
        chain.append(fn)
        current = fn.value(current)
    return a, da, chain


def _check_compositions(functions: dict[str, Callable], dual_class: type,
                        rng: np.random.Generator, count: int) -> None:
    """Random chains such as log(exp(sin(x))) on Duals, stage by stage, against ``jax.jvp``.

    The oracle pushes each chain's dual through ``jax.jvp`` of one function per stage
    (all chains batched per stage).
    """
    chains = [_random_chain(rng) for _ in range(count)]
    oracle: list[list[tuple[float, float]]] = [[(a, da)] for a, da, _ in chains]
    for stage in range(max(len(c) for _, _, c in chains)):
        requests: dict[str, list[tuple[float, float]]] = {fn.name: [] for fn in FUNCTIONS}
        owners: dict[str, list[int]] = {fn.name: [] for fn in FUNCTIONS}
        for k, (_, _, chain) in enumerate(chains):
            if stage < len(chain):
                requests[chain[stage].name].append(oracle[k][-1])
                owners[chain[stage].name].append(k)
        for name, results in _jvp_functions(requests).items():
            for k, pair in zip(owners[name], results, strict=True):
                oracle[k].append(pair)
    for (a, da, chain), expected in zip(chains, oracle, strict=True):
        held = [_make_dual(dual_class, a, da)]  # the current stage's Dual (live only)
        text = "x"
        for fn, want in zip(chain, expected[1:], strict=True):
            text = f"{fn.name}({text})"

            def stage(h: Callable = functions[fn.name], expr: str = text,
                      held: list = held) -> Verdict:
                held[0] = h(held[0])
                return _dual_report(held[0], dual_class, expr=expr)

            got = call(stage, name=fn.name).value.unwrap()
            if not (_close(got[0], want[0], COMPOSITE) and _close(got[1], want[1], COMPOSITE)):
                raise CheckFailed(
                    f"`{text}` at x = {_show_dual(a, da)} is wrong (chain rule through "
                    f"{fn.name}).\n  expected: {_show_dual(*want)}\n"
                    f"  got:      {_show_dual(*got)}\n"
                    f"  likely mistake: {fn.name} of a Dual must use the incoming Dual's value "
                    f"and deriv: {fn.name}(a + bε) = {fn.name}(a) + b {fn.derivative} ε."
                )


def _check_course_functions(functions: dict[str, Callable], dual_class: type,
                            rng: np.random.Generator, points: int) -> int:
    """The course's test functions, written against a namespace ``m``, run on the student's
    Duals (through the student's functions and arithmetic) and on floats; the oracle is
    ``jax.value_and_grad`` of the same functions on ``jax.numpy``.
    """
    m = namespace(**functions, sqrt=lambda d: d**0.5)
    xs = {i: [float(np.round(rng.uniform(*f.domain), 3)) for _ in range(points)]
          for i, f in enumerate(SCALAR_FUNCTIONS)}
    table = _scalar_table(xs)
    count = 0
    for i, f in enumerate(SCALAR_FUNCTIONS):
        for a, (value, deriv) in zip(xs[i], table[i], strict=True):
            expr = f"f(Dual({fmt(a)}, 1.0)) with f(x) = {f.label}"
            x = _make_dual(dual_class, a, 1.0)
            report = call(lambda f=f, x=x, expr=expr: _dual_report(f(x, m), dual_class,
                                                                    expr=expr),
                          name=f"f(x) = {f.label}").value
            got = report.unwrap()
            if not (_close(got[0], value, COMPOSITE) and _close(got[1], deriv, COMPOSITE)):
                raise CheckFailed(f"`{expr}` is wrong.\n  expected: {_show_dual(value, deriv)}"
                                  f"\n  got:      {_show_dual(*got)}")

            def on_float(f: Callable = f, a: float = a) -> tuple[bool, Any]:
                """(True, the float) or (False, how the answer looks in a message)."""
                plain = f(a, m)
                return (True, float(plain)) if isinstance(plain, float) else (False, fmt(plain))

            is_float, plain = call(on_float, name=f"f(x) = {f.label}").value
            if not is_float or not _close(plain, value, COMPOSITE):
                shown = fmt(plain) if is_float else plain
                raise CheckFailed(
                    f"f({fmt(a)}) with f(x) = {f.label} on plain floats returned "
                    f"{shown}; expected the float {fmt(value)}. A function of a float "
                    "must return a float."
                )
            count += 1
    return count


def check_dual_functions(sin: Callable, cos: Callable, exp: Callable, log: Callable,
                         tanh: Callable, *, Dual: type, seed: int = 0, trials: int = 10) -> None:
    r"""Each :math:`h \in \{\sin, \cos, \exp, \log, \tanh\}` maps a float to a float and a Dual
    to :math:`h(a) + b\,h'(a)\,\varepsilon` (``jax.jvp``).

    Then random chains of the functions, and (once the Dual arithmetic passes) the
    course's test functions from :mod:`course.functions` evaluated through a
    namespace of the student's functions.
    """
    functions = {"sin": sin, "cos": cos, "exp": exp, "log": log, "tanh": tanh}
    rng = np.random.default_rng(seed)
    _check_constructor(Dual)
    cases: dict[str, list[tuple[float, float]]] = {}
    for fn in FUNCTIONS:
        rows = [(a, da) for a in fn.fixed for da in (1.0, -1.75)]
        rows += [(_uniform(rng, *fn.domain), _away_from_zero(rng, 0.25, 2.5))
                 for _ in range(trials)]
        cases[fn.name] = rows
    expected = _jvp_functions(cases)
    for fn in FUNCTIONS:
        for (a, da), want in zip(cases[fn.name], expected[fn.name], strict=True):
            _check_float_path(fn, functions[fn.name], Dual, a, want[0])
            _check_dual_path(fn, functions[fn.name], Dual, a, da, want)
    chains = max(trials, 3)
    _check_compositions(functions, Dual, rng, chains)
    problem = _arithmetic_problem(Dual)
    if problem is None:
        n = _check_course_functions(functions, Dual, rng, points=max(2, trials // 4))
        extra = f"; {n} evaluations of the course's test functions with your Dual arithmetic"
    else:
        extra = ("; the course's test functions (which need your Dual arithmetic) are tried "
                 "once dual_ops passes")
    total = sum(len(rows) for rows in cases.values())
    passed("dual_functions",
           f"sin, cos, exp, log, tanh agree with jax.jvp on {total} floats and Duals, and "
           f"{chains} chains{extra}")


# ------------------------------------------------------------ probes for f
#
# ``derivative`` and ``forward_gradient`` receive a probe as ``f``. At the point x the
# oracle (``jax.value_and_grad``) gives f(x) and the gradient g, and a forward pass with
# any seed t has the derivative part g . t (the JVP), so the probe can answer every
# seeding, right or wrong, and record it for the diagnosis.


def _dual_parts_of_input(obj: Any, *, who: str, hint: str) -> tuple[float, float]:
    if not (hasattr(obj, "value") and hasattr(obj, "deriv")):
        raise CheckFailed(f"{who} received {type(obj).__name__} {fmt(obj)}, not a Dual: {hint}")
    return (_scalar(obj.value, what=f"the value of the Dual {who} received"),
            _scalar(obj.deriv, what=f"the deriv of the Dual {who} received"))


def _build_like(template: Any, value: float, deriv: float) -> Any:
    try:
        return type(template)(value, deriv)
    except NotImplementedError:
        raise
    except Exception as error:
        raise CheckFailed(
            f"could not build the result Dual({fmt(value)}, {fmt(deriv)}) with your Dual "
            f"class: {type(error).__name__}: {error}"
        ) from None


class _Probe:
    """``f`` for ``derivative`` (one Dual in) or ``forward_gradient`` (a list of n Duals in).

    Answers ``Dual(f(x), g . seed)`` from the oracle's value ``f(x)`` and gradient ``g``,
    and records the seeds of every pass.
    """

    def __init__(self, label: str, x: float | np.ndarray, value: float, grad: np.ndarray,
                 *, vector: bool) -> None:
        self.label = f"f(x) = {label}"
        self.vector = vector
        self.x = np.atleast_1d(np.array(x, dtype=np.float64))
        self.n = len(self.x)
        self.value = value
        self.grad = np.atleast_1d(np.asarray(grad, dtype=np.float64))
        self.passes: list[np.ndarray] = []

    def _inputs(self, *args: Any, **kwargs: Any) -> list[Any]:
        if not self.vector:
            if len(args) != 1 or kwargs:
                raise CheckFailed(f"f was called with {len(args) + len(kwargs)} arguments; f "
                                  "takes one Dual: f(Dual(x, 1.0)).")
            return [args[0]]
        if len(args) != 1 or kwargs:
            raise CheckFailed(
                f"f was called with {len(args) + len(kwargs)} arguments; f takes ONE argument, "
                f"a list of n = {self.n} Duals: f([Dual(x[0], ...), Dual(x[1], ...), ...])."
            )
        hint = (f"pass a list of n = {self.n} Duals, "
                "[Dual(x[j], 1.0 if j == i else 0.0) for j in range(n)].")
        if hasattr(args[0], "value") and hasattr(args[0], "deriv"):
            raise CheckFailed(f"f received a single Dual {fmt(args[0])}: {hint}")
        try:
            items = list(args[0])
        except TypeError:
            raise CheckFailed(
                f"f received {type(args[0]).__name__} {fmt(args[0])}: {hint}") from None
        if len(items) != self.n:
            raise CheckFailed(f"f received {len(items)} items; {hint}")
        return items

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        items = self._inputs(*args, **kwargs)
        hint = ("call f(Dual(x, 1.0)) so that the derivative travels with x." if not self.vector
                else "build Dual(x[j], 1.0 if j == i else 0.0) for each input j.")
        parts = [_dual_parts_of_input(item, who="f" if not self.vector else f"f (item {j})",
                                      hint=hint) for j, item in enumerate(items)]
        values = np.array([p[0] for p in parts])
        seeds = np.array([p[1] for p in parts])
        if not np.allclose(values, self.x, rtol=1e-15, atol=0.0):
            shown = fmt(values if self.vector else float(values[0]))
            point = fmt(self.x if self.vector else float(self.x[0]))
            raise CheckFailed(
                f"f received the values {shown}, but it must be evaluated at x = {point}: the "
                "value part of each input Dual is the input itself."
            )
        self.passes.append(seeds)
        return _build_like(items[0], self.value, float(self.grad @ seeds))


@functools.cache
def _value_and_grad_oracle(kind: str) -> Callable:
    """Jitted, batched ``jax.value_and_grad`` of the course's test functions.

    ``kind`` "scalar": ``{index: (xs,)}`` over SCALAR_FUNCTIONS; "vector": ``{index: (X,)}``
    over VECTOR_FUNCTIONS; "family": ``{0: (w, u, last, n, X)}``, the padded random family.
    Each returns ``{key: (values, gradients)}``.
    """
    jax, jnp = _jax()

    def scalar(batch):
        return {i: jax.vmap(jax.value_and_grad(SCALAR_FUNCTIONS[i].using(jnp)))(xs)
                for i, (xs,) in batch.items()}

    def vector(batch):
        return {i: jax.vmap(jax.value_and_grad(VECTOR_FUNCTIONS[i].using(jnp)))(X)
                for i, (X,) in batch.items()}

    def family(batch):
        w, u, last, n, X = batch[0]
        f = jax.value_and_grad(lambda v, *p: _random_family(p, v, jnp))
        return {0: jax.vmap(f)(X, w, u, last, n)}

    return jax.jit({"scalar": scalar, "vector": vector, "family": family}[kind])


def _scalar_table(xs: dict[int, list[float]]) -> dict[int, list[tuple[float, float]]]:
    """``(f(x), f'(x))`` for every listed x of every course test function (index -> xs)."""
    rows = {i: [(x,) for x in xs.get(i, [])] for i in range(len(SCALAR_FUNCTIONS))}
    pad = {i: (0.5 * sum(f.domain),) for i, f in enumerate(SCALAR_FUNCTIONS)}
    out = _batched(_value_and_grad_oracle("scalar"), rows, pad)
    return {i: [(float(v), float(g)) for v, g in pairs] for i, pairs in out.items()}


# ------------------------------------------------------------------ derivative


def _derivative_pass(derivative: Callable, probe: _Probe, x: float, *, where: str
                     ) -> tuple[list[float], Verdict]:
    """Inside a call: the seed of every pass ``derivative(probe, x)`` made, and a report of
    its answer: a verdict holding ``(float,)`` or the failure message."""
    got = derivative(probe, x)
    seeds = [float(s[0]) for s in probe.passes]

    def answer() -> tuple[float]:
        if hasattr(got, "deriv"):
            raise CheckFailed(f"{where} returned a Dual {fmt(got)}: return its derivative part "
                              "`.deriv`, a float.")
        return (_scalar(got, what="derivative(f, x)"),)

    return seeds, Verdict.of(answer)


def check_derivative(derivative: Callable, *, seed: int = 0, trials: int = 20) -> None:
    r"""``derivative(f, x)`` returns :math:`f'(x)` from ONE pass ``f(Dual(x, 1.0)).deriv``.

    ``f`` is a probe built from the course's test functions: it answers every pass
    through the oracle (``jax.value_and_grad``) and records how it was seeded.
    """
    rng = np.random.default_rng(seed)
    cases: list[tuple[int, float]] = []
    for index, f in enumerate(SCALAR_FUNCTIONS):
        low, high = f.domain
        cases += [(index, low + 0.25 * (high - low)), (index, low + 0.8 * (high - low))]
    for _ in range(trials):
        index = int(rng.integers(len(SCALAR_FUNCTIONS)))
        cases.append((index, _uniform(rng, *SCALAR_FUNCTIONS[index].domain)))
    by_index: dict[int, list[float]] = {}
    for index, x in cases:
        by_index.setdefault(index, []).append(x)
    table = {i: iter(pairs) for i, pairs in _scalar_table(by_index).items()}
    for index, x in cases:
        value, grad = next(table[index])
        probe = _Probe(SCALAR_FUNCTIONS[index].label, x, value, np.array([grad]), vector=False)
        where = f"derivative(f, {fmt(x)}) for {probe.label}"
        seeds, report = call(_derivative_pass, derivative, probe, x, where=where,
                             name="derivative", inputs={"f": probe, "x": x}).value
        if not seeds:
            raise CheckFailed(f"{where} never called f: evaluate f(Dual(x, 1.0)) once.")
        if len(seeds) > 1:
            raise CheckFailed(f"{where} called f {len(seeds)} times: one forward pass "
                              "f(Dual(x, 1.0)) gives both f(x) and f'(x).")
        seed_deriv = float(seeds[0])
        if seed_deriv != 1.0:
            zero = " With 0 every derivative comes out 0." if seed_deriv == 0 else ""
            raise CheckFailed(f"{where} called f({_show_dual(x, seed_deriv)}): seed the input "
                              f"with deriv 1.0, since dx/dx = 1: f(Dual(x, 1.0)).{zero}")
        (got_value,) = report.unwrap()
        if not _close(got_value, grad):
            hint = ("you returned the value part f(x); the derivative is the `.deriv` part."
                    if _close(got_value, value) else "return f(Dual(x, 1.0)).deriv as a float.")
            raise CheckFailed(f"{where} is wrong.\n  expected: {fmt(grad)}\n"
                              f"  got:      {fmt(got_value)}\n  likely mistake: {hint}")
    passed("derivative", f"{len(cases)} derivatives agree with jax.grad, each from one pass "
                         "seeded with Dual(x, 1.0)")


# ------------------------------------------------------------ forward_gradient

#: The random test functions of ``check_forward_gradient`` have at most this many inputs.
_MAX_INPUTS = 7
_PADDED = 8


def _random_family(params, v, jnp):
    r"""f(v) = sum_i w_i sin(v_i) + (u . v)**2 / n + v_0 v_{n-1} on the first n entries of v.

    ``params = (w, u, last, n)``: w and u are zero beyond n and ``last`` is the one-hot
    vector of entry n - 1, so every n shares one compiled oracle (v is padded with zeros).
    """
    w, u, last, n = params
    return jnp.sum(w * jnp.sin(v)) + jnp.dot(u, v) ** 2 / n + v[0] * jnp.dot(last, v)


def _pad(v: np.ndarray) -> np.ndarray:
    return np.concatenate([v, np.zeros(_PADDED - len(v))])


def _check_seeds(passes: list[np.ndarray], n: int, where: str) -> None:
    """The seeds of every pass (as the probe recorded them) must be the n unit vectors."""
    for k, seeds in enumerate(passes):
        nonzero = np.flatnonzero(seeds)
        if len(nonzero) == 0:
            raise CheckFailed(f"{where}: pass {k + 1} seeded no input (all derivs 0): in pass i "
                              "give input i the deriv 1.0 and every other input 0.0.")
        earlier = set(np.flatnonzero(passes[k - 1])) if k else set()
        if len(nonzero) > 1 and earlier and earlier < set(nonzero):
            raise CheckFailed(
                f"{where}: pass {k + 1} seeded inputs {nonzero.tolist()} together (derivs "
                f"{fmt(seeds)}): the deriv set in an earlier pass was never reset to 0.0. Build "
                "fresh Duals in every pass: [Dual(x[j], 1.0 if j == i else 0.0) for j ...]."
            )
        if len(nonzero) == n and n > 1 and np.all(seeds == 1.0):
            raise CheckFailed(
                f"{where}: pass {k + 1} seeded EVERY input with deriv 1.0. That computes the "
                "directional derivative along (1, ..., 1), the sum of all partials; seed one "
                "input per pass: Dual(x[j], 1.0 if j == i else 0.0)."
            )
        if len(nonzero) > 1:
            raise CheckFailed(
                f"{where}: pass {k + 1} seeded inputs {nonzero.tolist()} together (derivs "
                f"{fmt(seeds)}); each pass seeds exactly one input with 1.0 and all others "
                "with 0.0. Build fresh Duals in every pass."
            )
        if seeds[nonzero[0]] != 1.0:
            raise CheckFailed(
                f"{where}: pass {k + 1} seeded input {int(nonzero[0])} with deriv "
                f"{fmt(float(seeds[nonzero[0]]))}; seed with 1.0 (dx_i/dx_i = 1)."
            )
    seeded = [int(np.flatnonzero(s)[0]) for s in passes]
    if sorted(seeded) != list(range(n)):
        missing = sorted(set(range(n)) - set(seeded))
        made = f"{len(passes)} pass" + ("" if len(passes) == 1 else "es")
        raise CheckFailed(
            f"{where} made {made} seeding inputs {seeded}; forward mode "
            f"needs exactly n = {n} passes, one per input"
            + (f" (input(s) {missing} never seeded)." if missing else ".")
        )


def _gradient_pass(forward_gradient: Callable, probe: _Probe, x: np.ndarray, *, where: str
                   ) -> tuple[list[np.ndarray], Verdict]:
    """Inside a call: the seeds of every pass ``forward_gradient(probe, x)`` made, and a
    report of its answer: a verdict holding ``(float array,)`` or the failure message.

    ``x`` is an argument of the ``call``, so that changes made to it in place are
    recorded and replayed.
    """
    got = forward_gradient(probe, x)
    passes = [np.array(seeds, dtype=np.float64) for seeds in probe.passes]

    def answer() -> tuple[np.ndarray]:
        if not isinstance(got, np.ndarray):
            raise CheckFailed(f"{where} returned {type(got).__name__} {fmt(got)}; return a "
                              "numpy array, e.g. np.array(partials).")
        if got.dtype == object:
            raise CheckFailed(f"{where} returned an array of objects {fmt(got)}: store each "
                              "pass's `.deriv` (a float), not the Dual.")
        return (np.array(as_float_array(got, what="forward_gradient(f, x)")),)

    return passes, Verdict.of(answer)


def _check_one_gradient(forward_gradient: Callable, probe: _Probe, x: np.ndarray) -> None:
    x_before = x.copy()
    where = f"forward_gradient(f, {fmt(x)}) for {probe.label}"
    passes, report = call(_gradient_pass, forward_gradient, probe, x, where=where,
                          name="forward_gradient", inputs={"f": probe, "x": x}).value
    if not np.array_equal(x, x_before):
        raise CheckFailed(f"{where} modified x in place (now {fmt(x)}): graded functions "
                          "leave their arguments unchanged.")
    _check_seeds(passes, probe.n, where)
    (got_array,) = report.unwrap()
    expected = probe.grad
    if got_array.shape != expected.shape:
        raise CheckFailed(f"{where} has shape {got_array.shape}; expected {expected.shape}, "
                          "one partial derivative per input.")
    if COMPOSITE.accepts(got_array, expected):
        return
    hint = "entry i is the .deriv of the pass that seeds input i."
    if expected.size > 1 and COMPOSITE.accepts(got_array, expected[::-1]):
        hint = "the partials are in reverse order: entry i belongs to input i."
    elif COMPOSITE.accepts(got_array, np.full_like(expected, probe.value)):
        hint = "you stored the value part f(x); the partial derivative is the `.deriv` part."
    raise CheckFailed(f"{where} is wrong.\n  expected: {fmt(expected)}\n"
                      f"  got:      {fmt(got_array)}\n  likely mistake: {hint}")


def check_forward_gradient(forward_gradient: Callable, *, seed: int = 0,
                           trials: int = 12) -> None:
    r"""``forward_gradient(f, x)`` returns :math:`\nabla f(x)` from n passes, pass i seeding
    :math:`x_i` with deriv 1 and every other input with 0 (``jax.grad`` oracle).
    """
    rng = np.random.default_rng(seed)
    fixed = {0: [[3.0, 4.0], [-1.0, 0.5]], 1: [[1.0, 1.0], [-1.2, 1.0]],
             2: [[0.5, -1.0, 2.0]], 3: [[0.3, -0.7, 1.1, 2.0]]}
    points = {i: [*xs, list(np.round(rng.uniform(-2, 2, VECTOR_FUNCTIONS[i].n_inputs), 3))]
              for i, xs in fixed.items()}
    rows = {i: [(np.array(x),) for x in xs] for i, xs in points.items()}
    table = _batched(_value_and_grad_oracle("vector"), rows, {i: r[0] for i, r in rows.items()})
    probes = []
    for i, xs in points.items():
        for x, (value, grad) in zip(xs, table[i], strict=True):
            probes.append(_Probe(VECTOR_FUNCTIONS[i].label, np.array(x), float(value),
                                 np.asarray(grad), vector=True))
    sizes = [int(rng.integers(1, _MAX_INPUTS + 1)) for _ in range(trials)]
    family = [(_pad(rng.normal(size=n)), _pad(rng.normal(size=n) / 2),
               np.eye(_PADDED)[n - 1], float(n), _pad(np.round(rng.uniform(-2, 2, n), 3)))
              for n in sizes]
    if family:
        table = _batched(_value_and_grad_oracle("family"), {0: family}, {0: family[0]})
        for n, row, (value, grad) in zip(sizes, family, table[0], strict=True):
            label = f"sum(w * sin(x)) + (u . x)**2 / n + x0 * x{n - 1} with n = {n}"
            probes.append(_Probe(label, row[-1][:n], float(value), np.asarray(grad)[:n],
                                 vector=True))
    for probe in probes:
        _check_one_gradient(forward_gradient, probe, probe.x.copy())
    passed("forward_gradient",
           f"{len(probes)} gradients (n = 1 to {_MAX_INPUTS} inputs) agree with jax.grad, one "
           "pass per input ((24, 10) at (3, 4) for x0**2 * x1 + x1 + 2)")
