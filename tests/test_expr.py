"""The expression language of lesson 03: trees, operators, printing, evaluation, sympy."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checks.symbolic import _domain, expressions
from course.expr import (
    Add,
    Const,
    Cos,
    Exp,
    Expr,
    Log,
    Mul,
    Pow,
    Sin,
    Var,
    as_expr,
    cos,
    evaluate,
    exp,
    from_sympy,
    log,
    sin,
    size,
    subexpressions,
    to_sympy,
    variables,
)

x, y = Var("x"), Var("y")
PROPERTY = settings(max_examples=100)
NAMESPACE = {"x": x, "y": y, "sin": sin, "cos": cos, "exp": exp, "log": log}


def sympy_values(expr: Expr, env: dict[str, np.ndarray]) -> np.ndarray:
    names = sorted(env)
    fn = sympy.lambdify([sympy.Symbol(n) for n in names], to_sympy(expr), modules="numpy")
    with np.errstate(all="ignore"):
        value = np.asarray(fn(*(env[n] for n in names)))
    return np.broadcast_to(value, next(iter(env.values())).shape)


# ------------------------------------------------------------------ building


@pytest.mark.parametrize(
    ("built", "tree"),
    [
        (x + y, Add(x, y)),
        (x - y, Add(x, Mul(Const(-1), y))),
        (x * y, Mul(x, y)),
        (x / y, Mul(x, Pow(y, -1))),
        (-x, Mul(Const(-1), x)),
        (+x, x),
        (x**2, Pow(x, 2)),
        (x ** Const(3), Pow(x, 3)),
        (2 + x, Add(Const(2), x)),
        (x + 2, Add(x, Const(2))),
        (2 - x, Add(Const(2), Mul(Const(-1), x))),
        (x - 2.5, Add(x, Mul(Const(-1), Const(2.5)))),
        (3 * x, Mul(Const(3), x)),
        (1 / x, Mul(Const(1), Pow(x, -1))),
        (x / 2, Mul(x, Pow(Const(2), -1))),
        (5 + x * y, Add(Const(5), Mul(x, y))),
        (sin(x) * exp(2), Mul(Sin(x), Exp(Const(2)))),
        (log(x) + cos(0), Add(Log(x), Cos(Const(0)))),
        (np.float64(2.0) * x, Mul(Const(2.0), x)),
    ],
)
def test_operators_build_the_documented_trees(built, tree):
    assert built == tree
    assert type(built) is type(tree)


def test_non_numeric_exponents_and_operands_are_refused():
    with pytest.raises(TypeError, match="plain number"):
        x**y
    with pytest.raises(TypeError):
        x + "y"
    with pytest.raises(TypeError):
        2**x
    with pytest.raises(TypeError):
        as_expr("x")


def test_nodes_are_frozen_hashable_and_work_with_match():
    g = 5 + x * y
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.left = Const(6)  # type: ignore[misc]
    assert len({g, 5 + x * y, x}) == 2
    match g:
        case Add(Const(c), Mul(Var(a), Var(b))):
            assert (c, a, b) == (5, "x", "y")
        case _:
            pytest.fail("pattern did not match")


def test_size_variables_and_subexpressions():
    assert size(x) == 1
    assert size(x**2 + 1) == 4
    assert size(5 + x * y) == 5
    assert size(x - y) == 5
    assert size(sin(x / y)) == 5
    assert variables(5 + x * sin(y)) == {"x", "y"}
    assert variables(Const(1)) == frozenset()
    assert list(subexpressions(x * y + 1)) == [x, y, x * y, Const(1), x * y + 1]


# ------------------------------------------------------------------- printing


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (5 + x * y, "5 + x * y"),
        (x - y, "x - y"),
        (x - (y - x), "x - (y - x)"),
        (x / y, "x / y"),
        (x / (x * y), "x / (x * y)"),
        (-x, "-x"),
        (-(x**2), "-x**2"),
        ((-x) ** 2, "(-x)**2"),
        ((x + y) ** 2, "(x + y)**2"),
        (x * (y * x), "x * (y * x)"),
        (x * y * x, "x * y * x"),
        (x**-1, "x**-1"),
        (x**0.5, "x**0.5"),
        (Const(-2) ** 2, "(-2)**2"),
        (x * -3, "x * -3"),
        (exp(-(x**2) / 2), "exp(-x**2 / 2)"),
        (log(1 + x**2), "log(1 + x**2)"),
        (sin(x) ** 2 + cos(x) ** 2, "sin(x)**2 + cos(x)**2"),
        (Const(2.0), "2"),
        (Const(0.1), "0.1"),
    ],
)
def test_str_uses_only_the_needed_parentheses(expr, text):
    assert str(expr) == text


def test_repr_is_a_constructor_call():
    assert repr(5 + x * y) == "Add(Const(5), Mul(Var('x'), Var('y')))"
    assert eval(repr(x / 2), {c.__name__: c for c in (Add, Mul, Pow, Const, Var)}) == x / 2


def _has_constant_operation(expr: Expr) -> bool:
    """Python would compute ``2 + 3`` itself, so such text cannot rebuild the same tree."""
    return any(
        isinstance(node, Add | Mul | Pow) and not variables(node) for node in subexpressions(expr)
    )


@PROPERTY
@given(expressions())
def test_str_reads_back_as_the_same_tree(expr):
    if _has_constant_operation(expr):
        return  # Python itself would compute e.g. 2 + 3 (or fail on 0 / 0)
    assert as_expr(eval(str(expr), dict(NAMESPACE))) == expr


# ---------------------------------------------------------------- evaluating


def test_evaluate_the_lesson_examples():
    assert evaluate(5 + x * y, {"x": 3.0, "y": 4.0}) == 17.0
    f = x**2 * y + y + 2
    assert evaluate(f, {"x": 3.0, "y": 4.0}) == 42.0
    values = evaluate(sin(x) / x, {"x": np.array([1.0, 2.0])})
    np.testing.assert_allclose(values, np.sin([1.0, 2.0]) / [1.0, 2.0])
    assert evaluate(Const(2) ** -1, {}) == 0.5
    with pytest.raises(KeyError, match="'y'"):
        evaluate(x * y, {"x": 1.0})


def test_evaluate_with_jax_gives_the_gradient():
    from course.oracle import jax, jnp

    f = x**2 * y + y + 2
    grad = jax.grad(lambda a, b: evaluate(f, {"x": a, "y": b}, jnp), argnums=(0, 1))(3.0, 4.0)
    assert [float(g) for g in grad] == [24.0, 10.0]


@PROPERTY
@given(expressions())
def test_evaluate_agrees_with_sympy_lambdify(expr):
    env = _domain(expr, np.random.default_rng(0))
    if env is None:
        return
    with np.errstate(all="ignore"):
        got = evaluate(expr, env)
    np.testing.assert_allclose(got, sympy_values(expr, env), rtol=1e-9, atol=1e-12)


@PROPERTY
@given(expressions(), st.sampled_from(["x", "y"]))
def test_jax_grad_of_evaluate_agrees_with_sympy_diff(expr, name):
    """The two oracles the course names for this lesson agree with each other."""
    from course.oracle import jax, jnp

    env = _domain(expr, np.random.default_rng(1), names=[name])
    if env is None:
        return
    deriv = sympy.diff(to_sympy(expr), sympy.Symbol(name))
    names = sorted(env)
    fn = sympy.lambdify([sympy.Symbol(n) for n in names], deriv, modules="numpy")
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(np.asarray(fn(*(env[n] for n in names))), env[name].shape)

    def total(v):
        return jnp.sum(evaluate(expr, {**env, name: v}, jnp))

    got = np.asarray(jax.grad(total)(jnp.asarray(env[name])))
    keep = np.isfinite(expected) & (np.abs(expected) < 1e6)
    np.testing.assert_allclose(got[keep], expected[keep].astype(float), rtol=1e-7, atol=1e-9)


# ---------------------------------------------------------------------- sympy


def test_to_sympy_and_back():
    sx, sy = sympy.symbols("x y")
    assert to_sympy(5 + x * y) == 5 + sx * sy
    assert to_sympy(x / y) == sx / sy
    assert to_sympy(exp(x) * log(y) - cos(x) ** 2) == sympy.exp(sx) * sympy.log(sy) - sympy.cos(
        sx
    ) ** 2
    assert from_sympy(-3 * sx) == Mul(Const(-3), x)
    assert from_sympy(sympy.exp(-sx / 2)) == Exp(Mul(Const(-0.5), x))
    assert from_sympy(sympy.E) == Exp(Const(1))
    assert from_sympy(1 / (sx + 1)) == Pow(Add(x, Const(1)), -1)
    assert size(from_sympy(sx**2 * sympy.exp(sx) * sympy.sin(sx))) == 8
    with pytest.raises(TypeError, match="numeric exponents"):
        from_sympy(sx**sy)
    with pytest.raises(TypeError, match="cannot convert"):
        from_sympy(sympy.tan(sx))


@PROPERTY
@given(expressions())
def test_from_sympy_keeps_the_value(expr):
    env = _domain(expr, np.random.default_rng(2))
    if env is None:
        return
    back = from_sympy(to_sympy(expr))
    with np.errstate(all="ignore"):
        got = np.broadcast_to(evaluate(back, env), env[sorted(env)[0]].shape)
    expected = sympy_values(expr, env)
    keep = np.isfinite(expected)
    np.testing.assert_allclose(got[keep], expected[keep].astype(float), rtol=1e-9, atol=1e-12)
