"""Fixed and random cases: operands for each rule, expression trees, function chains,
points for the course's test functions.

Random cases stay inside the domain where a rule's formula is smooth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .duals import _Operand, _show_number
from .rules import _PY_OPS, _RULES_BY_KEY, FUNCTIONS, _Function, _Rule, _rule_for


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


# ------------------------------------------------------------ gradient test functions

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
