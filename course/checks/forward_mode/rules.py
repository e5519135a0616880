"""The rules of dual arithmetic and of the elementary functions, with named mistakes.

Every operation obeys :math:`h(a + b\varepsilon) = h(a) + b\\,h'(a)\\,\varepsilon`.
:data:`RULES` lists each operation between Duals and numbers (Dual op Dual, Dual op
number, number op Dual) with its derivative rule and the wrong results that typical
slips produce (computed from the maths); :data:`FUNCTIONS` does the same for sin,
cos, exp, log and tanh.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .duals import _Operand, _PairMistake

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


# ------------------------------------------------------------ elementary functions


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
        M("d tanh(x) = (1 - tanh(x)**2) dx: square tanh(a), the value part, not a itself "
          "(1 - a**2 is what you computed).", t, (1 - a * a) * da),
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
