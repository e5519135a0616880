"""Fixed and random cases: operands for each rule, expression trees, function chains,
points for the course's test functions.

Random cases stay inside the domain where a rule's formula is smooth.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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


# ------------------------------------------------------------ edge cases
#
# Random operands stay where a rule is smooth and generic: the derivatives are away from 0,
# the numbers are floats. Each rule also has edge kinds, where its formula or a shortcut
# that is right elsewhere behaves differently. Every batch of a rule's cases holds one case
# of each edge kind by construction (drawn from a child generator, so that the random cases
# of a seed stay the same).

Case = tuple[_Operand, _Operand | None]


@dataclass(frozen=True)
class Edge:
    """An edge kind of one rule: ``holds(left, right)`` says whether a case is of the kind,
    ``draw(rng)`` makes a random case of the kind inside the rule's domain."""

    rule: str
    name: str
    holds: Callable[[_Operand, _Operand | None], bool]
    draw: Callable[[np.random.Generator], Case]


_INTS = (-3, -2, 2, 3, 4)


def _int_number(key: str) -> Edge:
    """The plain number is an int (an ``isinstance(other, float)`` test misses it)."""
    rule = _RULES_BY_KEY[key]

    def draw(rng: np.random.Generator) -> Case:
        left, right = _sample(rule, rng)
        c = int(rng.choice(_INTS))
        return (_n(c), right) if not rule.left_dual else (left, _n(c))

    def holds(left: _Operand, right: _Operand | None) -> bool:
        number = right if rule.left_dual else left
        return number is not None and isinstance(number.value, int)

    return Edge(key, "an int as the plain number", holds, draw)


def _constant_dual(key: str, side: str) -> Edge:
    """A Dual operand with deriv 0, a constant lifted to a Dual: its terms must vanish."""
    rule = _RULES_BY_KEY[key]

    def draw(rng: np.random.Generator) -> Case:
        left, right = _sample(rule, rng)
        if side == "left":
            return _d(left.value, 0.0), right
        assert right is not None
        return left, _d(right.value, 0.0)

    def holds(left: _Operand, right: _Operand | None) -> bool:
        operand = left if side == "left" else right
        return operand is not None and operand.deriv == 0.0

    return Edge(key, f"a constant Dual (deriv 0) on the {side}", holds, draw)


def _pow_edge(name: str, bases: Callable[[np.random.Generator], float],
              exponents: tuple[float | int, ...], holds: Callable[[float, float | int], bool]
              ) -> Edge:
    def draw(rng: np.random.Generator) -> Case:
        p = exponents[int(rng.integers(len(exponents)))]
        return _d(bases(rng), _away_from_zero(rng, 0.25, 2.5)), _n(p)

    return Edge("pow_dn", name, lambda left, right: right is not None and holds(
        float(left.value), right.value), draw)


def _rpow_edge(name: str, bases: Callable[[np.random.Generator], float | int],
               holds: Callable[[float | int], bool]) -> Edge:
    def draw(rng: np.random.Generator) -> Case:
        return _n(bases(rng)), _d(_uniform(rng, -2, 2), _away_from_zero(rng, 0.25, 2.5))

    return Edge("rpow", name, lambda left, right: holds(left.value), draw)


def _negative_divisor(key: str) -> Edge:
    rule = _RULES_BY_KEY[key]

    def draw(rng: np.random.Generator) -> Case:
        left, right = _sample(rule, rng)
        assert right is not None
        return left, _Operand(-abs(right.value), right.deriv)

    return Edge(key, "a negative divisor", lambda left, right: right is not None
                and right.value < 0, draw)


def _pow_dd_base_below_one(rng: np.random.Generator) -> Case:
    return (_d(_uniform(rng, 0.3, 0.95), _away_from_zero(rng, 0.25, 2.5)),
            _d(_uniform(rng, -2.5, 2.5), _away_from_zero(rng, 0.25, 2.5)))


def _between(low: float, high: float) -> Callable[[np.random.Generator], float]:
    return lambda rng: _uniform(rng, low, high)


def _nonzero(low: float, high: float) -> Callable[[np.random.Generator], float]:
    return lambda rng: _away_from_zero(rng, low, high)


EDGES: tuple[Edge, ...] = (
    *(_int_number(key) for key in ("add_dn", "radd", "sub_dn", "rsub", "mul_dn", "rmul",
                                   "div_dn", "rtruediv")),
    *(_constant_dual(key, side) for key in ("add_dd", "sub_dd", "mul_dd", "div_dd", "pow_dd")
      for side in ("left", "right")),
    *(_negative_divisor(key) for key in ("div_dd", "div_dn", "rtruediv")),
    # x**p = exp(p log x) only for x > 0; the power rule p x**(p-1) holds for every x if p is
    # an integer, and only for x > 0 otherwise.
    _pow_edge("a negative base with an integer exponent", _between(-2.5, -0.4), (2, 3, -1, -2),
              lambda a, p: a < 0 and isinstance(p, int)),
    _pow_edge("the exponent 0 (x**0 = 1 + 0ε)", _nonzero(0.4, 2.5), (0,),
              lambda a, p: p == 0),
    _pow_edge("the exponent 1 (x**1 = x)", _nonzero(0.4, 2.5), (1,), lambda a, p: p == 1),
    _pow_edge("a fractional exponent (x > 0 only)", _between(0.3, 2.5), (0.5, 1.5, -0.5, 2.5),
              lambda a, p: not float(p).is_integer()),
    _pow_edge("a whole-number float exponent on a negative base (2.0 acts as 2)",
              _between(-2.5, -0.4), (2.0, 3.0, -1.0),
              lambda a, p: a < 0 and isinstance(p, float) and p.is_integer()),
    # d(x**y) has the term x**y log(x) dy, negative for x < 1 and 0 at x = 1.
    Edge("pow_dd", "a base below 1 (log x < 0)",
         lambda left, right: 0 < left.value < 1, _pow_dd_base_below_one),
    Edge("pow_dd", "the base 1 (log 1 = 0)", lambda left, right: left.value == 1,
         lambda rng: (_d(1.0, _away_from_zero(rng, 0.25, 2.5)),
                      _d(_uniform(rng, -2.5, 2.5), _away_from_zero(rng, 0.25, 2.5)))),
    # d(c**x) = c**x log(c) dx: 0 for c = 1, negative for c < 1.
    _rpow_edge("the base 1 (1**x = 1 + 0ε)", lambda rng: 1.0, lambda c: c == 1),
    _rpow_edge("a base below 1 (log c < 0)", _between(0.2, 0.95), lambda c: 0 < c < 1),
    _rpow_edge("an int base", lambda rng: int(rng.choice((2, 3))),
               lambda c: isinstance(c, int)),
    Edge("neg", "a constant Dual (deriv 0)", lambda left, right: left.deriv == 0.0,
         lambda rng: (_d(_uniform(rng, -3, 3), 0.0), None)),
)
EDGES_BY_RULE: dict[str, tuple[Edge, ...]] = {
    key: tuple(edge for edge in EDGES if edge.rule == key) for key in _RULES_BY_KEY}


def _rule_cases(rule: _Rule, rng: np.random.Generator, trials: int) -> list[Case]:
    """The fixed cases of ``rule``, one case of each of its edge kinds, ``trials`` random ones."""
    edges = rng.spawn(1)[0]
    return [*_FIXED[rule.key], *(edge.draw(edges) for edge in EDGES_BY_RULE[rule.key]),
            *(_sample(rule, rng) for _ in range(trials))]


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


def _tame_point(expr: _Expr, rng: np.random.Generator) -> dict[str, _Operand] | None:
    """Duals x and y (random values and tangents) where ``expr`` is tame, or None."""
    env = {"x": _d(_uniform(rng, -2.5, 2.5), _away_from_zero(rng, 0.25, 2)),
           "y": _d(_uniform(rng, -2.5, 2.5), _away_from_zero(rng, 0.25, 2))}
    try:
        _value_at(expr, {k: float(v.value) for k, v in env.items()})
    except _OutOfDomain:
        return None
    return env


def _random_expression(rng: np.random.Generator) -> tuple[_Expr, dict[str, _Operand]]:
    """A random expression in x and y and a point (with random tangents) where it is tame."""
    while True:
        expr = _random_tree(rng, int(rng.integers(2, 5)))
        if expr.kind == "var":
            continue
        env = _tame_point(expr, rng)
        if env is not None:
            return expr, env


def _nodes(expr: _Expr) -> list[_Expr]:
    """Every node of ``expr``, children first."""
    below = [n for child in (expr.left, expr.right) if child is not None for n in _nodes(child)]
    return [*below, expr]


def _same_dual_twice(rng: np.random.Generator) -> _Expr:
    v = _var(str(rng.choice(["x", "y"])))
    return _bin(str(rng.choice(["*", "-", "/", "**", "+"])), v, v)


def _number_on_the_left(rng: np.random.Generator) -> _Expr:
    symbol = str(rng.choice(["+", "-", "*", "/", "**"]))
    c = float(rng.choice([0.5, 1.5, 2.0, 3.0])) if symbol == "**" else _random_constant(rng)
    return _bin(symbol, _const(c), _random_tree(rng, 1))


def _dual_exponent(rng: np.random.Generator) -> _Expr:
    return _bin("**", _random_tree(rng, 1), _random_tree(rng, 1))


def _negation(rng: np.random.Generator) -> _Expr:
    return _Expr("neg", symbol="neg", left=_random_tree(rng, 1))


#: Edge kinds of expressions: ``name -> (holds(expr), core(rng))``. The same Dual object on
#: both sides shows an operation that changes its operands or aliases them; a number on the
#: left calls the reflected methods; a Dual exponent needs the two-term power rule.
EXPRESSION_EDGES: dict[str, tuple[Callable[[_Expr], bool],
                                   Callable[[np.random.Generator], _Expr]]] = {
    "one Dual on both sides of an operation": (
        lambda e: any(n.kind == "bin" and n.left.kind == n.right.kind == "var"  # type: ignore[union-attr]
                      and n.left.name == n.right.name for n in _nodes(e)),  # type: ignore[union-attr]
        _same_dual_twice),
    "a number on the left of an operation": (
        lambda e: any(n.kind == "bin" and n.left.kind == "const"  # type: ignore[union-attr]
                      and n.right.kind != "const" for n in _nodes(e)),  # type: ignore[union-attr]
        _number_on_the_left),
    "a Dual exponent": (
        lambda e: any(n.symbol == "**" and n.left.kind != "const"  # type: ignore[union-attr]
                      and n.right.kind != "const" for n in _nodes(e)),  # type: ignore[union-attr]
        _dual_exponent),
    "a negation": (lambda e: any(n.kind == "neg" for n in _nodes(e)), _negation),
}


def _edge_expression(kind: str, rng: np.random.Generator) -> tuple[_Expr, dict[str, _Operand]]:
    """A random expression that contains the edge ``kind``, at a point where it is tame."""
    _, core = EXPRESSION_EDGES[kind]
    while True:
        expr = core(rng)
        if rng.random() < 0.5:  # sometimes inside a larger expression
            other = _random_tree(rng, 1)
            symbol = str(rng.choice(["+", "-", "*"]))
            expr = _bin(symbol, expr, other) if rng.random() < 0.5 else _bin(symbol, other, expr)
        env = _tame_point(expr, rng)
        if env is not None:
            return expr, env


def _random_expressions(rng: np.random.Generator, trials: int
                        ) -> list[tuple[_Expr, dict[str, _Operand]]]:
    """One expression of each edge kind, then ``trials`` random ones."""
    edges = rng.spawn(1)[0]
    return [*(_edge_expression(kind, edges) for kind in EXPRESSION_EDGES),
            *(_random_expression(rng) for _ in range(trials))]


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


#: Edge sizes of the random family: one input (then x0 * x_{n-1} is x0**2, and "every other
#: input" is nobody) and the most inputs.
FAMILY_EDGE_SIZES = (1, _MAX_INPUTS)


def _family_member(rng: np.random.Generator, n: int) -> tuple:
    """``(w, u, last, n, x)`` of a random member with n inputs, padded to ``_PADDED``."""
    return (_pad(rng.normal(size=n)), _pad(rng.normal(size=n) / 2), np.eye(_PADDED)[n - 1],
            float(n), _pad(np.round(rng.uniform(-2, 2, n), 3)))


def _gradient_family(rng: np.random.Generator, trials: int) -> list[tuple[int, tuple]]:
    """``(n, member)``: one member of each edge size, then ``trials`` of random sizes."""
    edges = rng.spawn(1)[0]
    sizes = [int(rng.integers(1, _MAX_INPUTS + 1)) for _ in range(trials)]
    random = [(n, _family_member(rng, n)) for n in sizes]
    return [*((n, _family_member(edges, n)) for n in FAMILY_EDGE_SIZES), *random]
