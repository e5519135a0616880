r"""A tiny expression language for symbolic differentiation.

An expression is a tree of immutable nodes:

=================  ==========================================
node               meaning
=================  ==========================================
``Const(value)``   the number ``value``
``Var(name)``      the variable called ``name``
``Add(l, r)``      :math:`l + r`
``Mul(l, r)``      :math:`l \cdot r`
``Pow(b, n)``      :math:`b^n` for a plain number :math:`n`
``Sin(a)``         :math:`\sin a`
``Cos(a)``         :math:`\cos a`
``Exp(a)``         :math:`e^a`
``Log(a)``         :math:`\ln a` (natural logarithm)
=================  ==========================================

Nodes are frozen dataclasses, so they compare by structure and work with ``match``:

>>> x, y = Var("x"), Var("y")
>>> g = 5 + x * y
>>> g
Add(Const(5), Mul(Var('x'), Var('y')))
>>> print(g)
5 + x * y
>>> match g:
...     case Add(Const(c), rest):
...         print(c, "+", rest)
5 + x * y
>>> float(evaluate(g, {"x": 3.0, "y": 4.0}))
17.0

Python's operators build trees, wrapping plain numbers in :class:`Const`.
There are no subtraction or division nodes: :math:`a - b = a + (-1)\,b` and
:math:`a / b = a\, b^{-1}`, so ``a - b`` is ``Add(a, Mul(Const(-1), b))``, ``-a`` is
``Mul(Const(-1), a)`` and ``a / b`` is ``Mul(a, Pow(b, -1))``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = [
    "Add",
    "Const",
    "Cos",
    "Exp",
    "Expr",
    "Log",
    "Mul",
    "Pow",
    "Sin",
    "Var",
    "as_expr",
    "children",
    "cos",
    "evaluate",
    "exp",
    "from_sympy",
    "log",
    "sin",
    "size",
    "subexpressions",
    "to_sympy",
    "variables",
]

Number = int | float


class Expr:
    """Base class of all expression nodes: Python operators build new trees."""

    __slots__ = ()

    def __add__(self, other: Any) -> Expr:
        other = _wrap(other)
        return NotImplemented if other is NotImplemented else Add(self, other)

    def __radd__(self, other: Any) -> Expr:
        other = _wrap(other)
        return NotImplemented if other is NotImplemented else Add(other, self)

    def __sub__(self, other: Any) -> Expr:
        other = _wrap(other)
        return NotImplemented if other is NotImplemented else Add(self, Mul(Const(-1), other))

    def __rsub__(self, other: Any) -> Expr:
        other = _wrap(other)
        return NotImplemented if other is NotImplemented else Add(other, Mul(Const(-1), self))

    def __mul__(self, other: Any) -> Expr:
        other = _wrap(other)
        return NotImplemented if other is NotImplemented else Mul(self, other)

    def __rmul__(self, other: Any) -> Expr:
        other = _wrap(other)
        return NotImplemented if other is NotImplemented else Mul(other, self)

    def __truediv__(self, other: Any) -> Expr:
        other = _wrap(other)
        return NotImplemented if other is NotImplemented else Mul(self, Pow(other, -1))

    def __rtruediv__(self, other: Any) -> Expr:
        other = _wrap(other)
        return NotImplemented if other is NotImplemented else Mul(other, Pow(self, -1))

    def __pow__(self, exponent: Any) -> Expr:
        if isinstance(exponent, Const):
            exponent = exponent.value
        if not _is_number(exponent):
            raise TypeError(
                f"the exponent of a power must be a plain number, not {exponent!r}; "
                "for u**v with an expression v write exp(v * log(u))"
            )
        return Pow(self, exponent)

    def __neg__(self) -> Expr:
        return Mul(Const(-1), self)

    def __pos__(self) -> Expr:
        return self

    def __str__(self) -> str:
        return _format(self)

    def __repr__(self) -> str:
        args = ", ".join(repr(getattr(self, f.name)) for f in fields(self))  # type: ignore[arg-type]
        return f"{type(self).__name__}({args})"


@dataclass(frozen=True, repr=False)
class Const(Expr):
    """A number."""

    value: Number


@dataclass(frozen=True, repr=False)
class Var(Expr):
    """A variable, looked up by ``name`` when the expression is evaluated."""

    name: str


@dataclass(frozen=True, repr=False)
class Add(Expr):
    """The sum ``left + right``."""

    left: Expr
    right: Expr


@dataclass(frozen=True, repr=False)
class Mul(Expr):
    """The product ``left * right``."""

    left: Expr
    right: Expr


@dataclass(frozen=True, repr=False)
class Pow(Expr):
    """``base ** exponent`` where ``exponent`` is a plain number (not an expression)."""

    base: Expr
    exponent: Number


@dataclass(frozen=True, repr=False)
class Sin(Expr):
    """The sine of ``arg`` (radians)."""

    arg: Expr


@dataclass(frozen=True, repr=False)
class Cos(Expr):
    """The cosine of ``arg`` (radians)."""

    arg: Expr


@dataclass(frozen=True, repr=False)
class Exp(Expr):
    """The exponential ``e ** arg``."""

    arg: Expr


@dataclass(frozen=True, repr=False)
class Log(Expr):
    """The natural logarithm of ``arg`` (defined for ``arg > 0``)."""

    arg: Expr


# ------------------------------------------------------------------ building


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _wrap(value: Any) -> Expr:
    """An expression stays as it is, a number becomes a Const, anything else is refused."""
    if isinstance(value, Expr):
        return value
    if _is_number(value):
        return Const(value)
    return NotImplemented  # type: ignore[return-value]


def as_expr(value: Expr | Number) -> Expr:
    """``value`` as an expression: numbers are wrapped in :class:`Const`."""
    wrapped = _wrap(value)
    if wrapped is NotImplemented:
        raise TypeError(f"cannot make an expression from {value!r}")
    return wrapped


def sin(a: Expr | Number) -> Expr:
    r""":math:`\sin a` as an expression."""
    return Sin(as_expr(a))


def cos(a: Expr | Number) -> Expr:
    r""":math:`\cos a` as an expression."""
    return Cos(as_expr(a))


def exp(a: Expr | Number) -> Expr:
    r""":math:`e^a` as an expression."""
    return Exp(as_expr(a))


def log(a: Expr | Number) -> Expr:
    r""":math:`\ln a` as an expression."""
    return Log(as_expr(a))


# ----------------------------------------------------------------- inspecting


def children(expr: Expr) -> tuple[Expr, ...]:
    """The sub-expressions directly below ``expr`` (a Pow's exponent is not one)."""
    match expr:
        case Add(left, right) | Mul(left, right):
            return (left, right)
        case Pow(base, _):
            return (base,)
        case Sin(arg) | Cos(arg) | Exp(arg) | Log(arg):
            return (arg,)
    return ()


def subexpressions(expr: Expr) -> Iterator[Expr]:
    """Every node of ``expr``, children before their parent (post-order)."""
    for child in children(expr):
        yield from subexpressions(child)
    yield expr


def size(expr: Expr) -> int:
    """The number of nodes in the tree: ``size(x**2 + 1) == 4`` (Add, Pow, x, 1).

    A Pow's exponent is part of the Pow node, so it is not counted separately.
    """
    return 1 + sum(size(child) for child in children(expr))


def variables(expr: Expr) -> frozenset[str]:
    """The names of the variables that occur in ``expr``."""
    return frozenset(node.name for node in subexpressions(expr) if isinstance(node, Var))


# ----------------------------------------------------------------- evaluating


def evaluate(expr: Expr, env: Mapping[str, Any], m: Any = np) -> Any:
    """The value of ``expr`` with each variable ``name`` replaced by ``env[name]``.

    ``m`` supplies ``sin``, ``cos``, ``exp``, ``log`` and ``power``: ``numpy`` (the default,
    which also evaluates at many points at once when ``env`` holds arrays) or ``jax.numpy``,
    so that ``jax.grad`` of an evaluation gives the derivative to compare with:

    >>> import jax, jax.numpy as jnp
    >>> e = Var("x") ** 2
    >>> float(jax.grad(lambda x: evaluate(e, {"x": x}, jnp))(3.0))
    6.0
    """
    match expr:
        case Const(value):
            return float(value)
        case Var(name):
            if name not in env:
                raise KeyError(f"no value given for the variable {name!r}")
            return env[name]
        case Add(left, right):
            return evaluate(left, env, m) + evaluate(right, env, m)
        case Mul(left, right):
            return evaluate(left, env, m) * evaluate(right, env, m)
        case Pow(base, exponent):
            return m.power(evaluate(base, env, m), exponent)
        case Sin(arg):
            return m.sin(evaluate(arg, env, m))
        case Cos(arg):
            return m.cos(evaluate(arg, env, m))
        case Exp(arg):
            return m.exp(evaluate(arg, env, m))
        case Log(arg):
            return m.log(evaluate(arg, env, m))
    raise TypeError(f"not an expression node: {expr!r}")


# ------------------------------------------------------------------- printing

# Binding strength, as in Python: + < * and / < unary minus < ** < atoms and calls.
_ADD, _MUL, _NEG, _POW, _ATOM = 1, 2, 3, 4, 5


def _number(value: Number) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _is_minus_one(expr: Expr) -> bool:
    return isinstance(expr, Const) and expr.value == -1


def _render(expr: Expr) -> tuple[str, int]:
    """The text of ``expr`` and how strongly its outermost operator binds."""
    match expr:
        case Const(value):
            return _number(value), (_NEG if value < 0 else _ATOM)
        case Var(name):
            return name, _ATOM
        case Add(left, Mul(minus, right)) if _is_minus_one(minus):
            return f"{_wrap_text(left, _ADD)} - {_wrap_text(right, _MUL)}", _ADD
        case Add(left, right):
            return f"{_wrap_text(left, _ADD)} + {_wrap_text(right, _MUL)}", _ADD
        case Mul(minus, right) if _is_minus_one(minus) and not isinstance(right, Const):
            return f"-{_wrap_text(right, _POW)}", _NEG
        case Mul(left, Pow(right, -1)):
            return f"{_wrap_text(left, _MUL)} / {_wrap_text(right, _NEG)}", _MUL
        case Mul(left, right):
            return f"{_wrap_text(left, _MUL)} * {_wrap_text(right, _NEG)}", _MUL
        case Pow(base, exponent):
            return f"{_wrap_text(base, _ATOM)}**{_number(exponent)}", _POW
        case Sin(arg) | Cos(arg) | Exp(arg) | Log(arg):
            return f"{type(expr).__name__.lower()}({_render(arg)[0]})", _ATOM
    return repr(expr), _ATOM


def _wrap_text(expr: Expr, at_least: int) -> str:
    """Text of ``expr``, in parentheses unless it binds at least as strongly as needed."""
    text, strength = _render(expr)
    return text if strength >= at_least else f"({text})"


def _format(expr: Expr) -> str:
    """Python-like text with only the parentheses needed to read back the same tree.

    So ``x * (y * z)`` keeps its parentheses (it is a different tree from ``x * y * z``),
    and evaluating the text with Var objects for the names rebuilds an equal expression.
    """
    return _render(expr)[0]


# ---------------------------------------------------------------------- sympy


def to_sympy(expr: Expr):
    """The same expression as a sympy object (sympy applies its own automatic simplifications).

    Integers stay exact; a float that is a whole number becomes a sympy Integer.
    """
    import sympy

    def number(value: Number):
        if isinstance(value, numbers.Integral) or float(value).is_integer():
            return sympy.Integer(int(value))
        return sympy.Float(float(value))

    def convert(node: Expr):
        match node:
            case Const(value):
                return number(value)
            case Var(name):
                return sympy.Symbol(name)
            case Add(left, right):
                return convert(left) + convert(right)
            case Mul(left, right):
                return convert(left) * convert(right)
            case Pow(base, exponent):
                return convert(base) ** number(exponent)
            case Sin(arg):
                return sympy.sin(convert(arg))
            case Cos(arg):
                return sympy.cos(convert(arg))
            case Exp(arg):
                return sympy.exp(convert(arg))
            case Log(arg):
                return sympy.log(convert(arg))
        raise TypeError(f"not an expression node: {node!r}")

    return convert(expr)


def from_sympy(obj) -> Expr:
    """A sympy expression as a tree of this module's nodes.

    n-ary sums and products become left-nested binary nodes, so ``size`` measures
    sympy's results on the same scale as ours. Only +, *, numeric powers, sin, cos,
    exp and log are supported.
    """
    import sympy

    if isinstance(obj, Expr):
        return obj
    if isinstance(obj, int | float) and not isinstance(obj, bool):
        return Const(obj)
    if obj is sympy.E:
        return Exp(Const(1))
    if obj.is_Integer:
        return Const(int(obj))
    if obj.is_Number or obj.is_NumberSymbol:
        return Const(float(obj))
    if obj.is_Symbol:
        return Var(obj.name)
    if obj.is_Add:
        return _left_nested(Add, [from_sympy(term) for term in obj.as_ordered_terms()])
    if obj.is_Mul:
        coeff, rest = obj.as_coeff_Mul()
        factors = rest.as_ordered_factors() if rest.is_Mul else [rest]
        nodes = [from_sympy(factor) for factor in factors]
        return _left_nested(Mul, nodes if coeff == 1 else [from_sympy(coeff), *nodes])
    if obj.is_Pow:
        base, exponent = obj.args
        if base is sympy.E:
            return Exp(from_sympy(exponent))
        if not exponent.is_Number:
            raise TypeError(f"only numeric exponents are supported, not {exponent}")
        value = int(exponent) if exponent.is_Integer else float(exponent)
        return Pow(from_sympy(base), value)
    functions = {sympy.sin: Sin, sympy.cos: Cos, sympy.exp: Exp, sympy.log: Log}
    if obj.func in functions and len(obj.args) == 1:
        return functions[obj.func](from_sympy(obj.args[0]))
    raise TypeError(f"cannot convert {obj} ({obj.func.__name__}) to an expression")


def _left_nested(node_type: type, items: list[Expr]) -> Expr:
    """``node_type(node_type(a, b), c)...`` for the items ``[a, b, c, ...]``."""
    tree = items[0]
    for item in items[1:]:
        tree = node_type(tree, item)
    return tree
