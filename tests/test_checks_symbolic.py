"""Machinery of the lesson 03 checkers: well-formed results, the smallest broken part,
property searches and random expressions.

Right and wrong answers are the lesson's bank (``autograder/mutants/lesson_03.py``), run
by ``tests/test_mutant_banks.py``; these tests use the solution's ``diff`` and ``simplify``
and, where a test needs a wrong answer, one from the bank.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.mutants.inprocess import bank_answer, solution
from course.checking import CheckFailed
from course.checks.symbolic import (
    DIFF_RULES,
    _redexes,
    check_diff,
    check_diff_property,
    check_simplify,
    check_simplify_property,
    random_expression,
)
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
    from_sympy,
    size,
    to_sympy,
)

LESSON = "03-symbolic"
PROPERTY = settings(max_examples=15)


def answer(name: str):
    """The solution notebook's ``name``."""
    return solution(LESSON, name)


# ------------------------------------------------------------------------ diff


def test_diff_accepts_any_correct_expression_even_one_from_sympy():
    """The checker judges values; the by-hand rule (a bank mutant) is grading's business."""
    check_diff(lambda e, n: from_sympy(sympy.diff(to_sympy(e), sympy.Symbol(n))), trials=20)


def test_diff_property_accepts_the_solution():
    check_diff_property(answer("diff"), max_examples=30)


def test_diff_points_at_the_smallest_broken_part():
    """A rule broken only deep inside a random expression is still named."""
    from course.checks.symbolic import _check_diff_one, _domain

    wrong = bank_answer(LESSON, "diff", "only for the log of a sum")
    with pytest.raises(CheckFailed, match="chain rule through log not applied") as failure:
        check_diff(wrong, trials=3)
    text = str(failure.value)
    assert "log(" in text
    assert DIFF_RULES[Log] in text
    x = Var("x")
    expr = Exp(Mul(Log(x**2 + 1), Sin(x)))
    env = _domain(expr, np.random.default_rng(0), names=["x"])
    with pytest.raises(CheckFailed, match="smallest part") as failure:
        _check_diff_one(wrong, expr, "x", env)
    assert "log(x**2 + 1)" in str(failure.value)


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        (lambda e, n: None, "returned None"),
        (lambda e, n: sympy.diff(to_sympy(e), n), "not an expression"),
        (lambda e, n: Pow(Var("x"), Const(2)), "plain number"),
        (lambda e, n: Const(Const(0)), "plain real number"),
        (lambda e, n: Const(1j), "not complex"),
        (lambda e, n: Add(Var("x"), 1), "not an expression"),
        (lambda e, n: Var("q"), "the variable 'q'"),
        (lambda e, n: type("MyConst", (Const,), {})(0), "not an expression node"),
    ],
)
def test_diff_must_return_a_well_formed_expression(wrong, named):
    with pytest.raises(CheckFailed, match=named):
        check_diff(wrong, trials=1)


def test_a_tree_that_refers_back_to_itself_is_refused():
    def cyclic(expr, name):
        node = Add(Var("x"), Const(0))
        object.__setattr__(node, "right", node)
        return node

    with pytest.raises(CheckFailed, match="refers back to itself"):
        check_diff(cyclic, trials=1)


def test_unimplemented_stubs_fail_as_checks():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_diff(stub)
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_simplify(stub)


@PROPERTY
@given(st.floats(min_value=1e-5, max_value=1e3) | st.floats(min_value=-1e3, max_value=-1e-5))
def test_diff_rejects_any_constant_offset(offset):
    right = answer("diff")
    with pytest.raises(CheckFailed):
        check_diff(lambda e, n: right(e, n) + offset, trials=0)


@PROPERTY
@given(st.sampled_from([Const(0), Const(1)]), st.booleans())
def test_diff_accepts_harmless_wrapping(neutral, on_left):
    right = answer("diff")

    def wrapped(expr, name):
        d = right(expr, name)
        if neutral == Const(0):
            return Add(neutral, d) if on_left else Add(d, neutral)
        return Mul(neutral, d) if on_left else Mul(d, neutral)

    check_diff(wrapped, trials=3)


# -------------------------------------------------------------------- simplify


def test_simplify_property_accepts_the_solution():
    check_simplify_property(answer("simplify"), max_examples=40)


def test_simplify_must_return_an_expression():
    with pytest.raises(CheckFailed, match="returned None"):
        check_simplify(lambda e: None, trials=1)


def _simplify_except(special):
    """A correct simplify, except where ``special(expr, recurse)`` returns something."""

    def simplify(expr):
        out = special(expr, simplify)
        if out is not None:
            return out
        match expr:
            case Add(u, v) | Mul(u, v):
                return _tidy(type(expr)(simplify(u), simplify(v)))
            case Pow(u, n):
                return _tidy(Pow(simplify(u), n))
            case Sin(u) | Cos(u) | Exp(u) | Log(u):
                return type(expr)(simplify(u))
        return expr

    return simplify


def _tidy(expr):
    """The identities at the top node only (its children are simplified already)."""
    match expr:
        case Add(Const(a), Const(b)):
            return Const(a + b)
        case Mul(Const(a), Const(b)):
            return Const(a * b)
        case Add(Const(0), u) | Add(u, Const(0)) | Mul(Const(1), u) | Mul(u, Const(1)):
            return u
        case Mul(Const(0), _) | Mul(_, Const(0)):
            return Const(0)
        case Pow(_, 0):
            return Const(1)
        case Pow(u, 1):
            return u
    return expr


def test_simplify_random_expressions_find_leftover_identities():
    """A simplify that passes the simple cases but misses an identity deep inside."""
    from course.checks.symbolic import _check_simplify_one, _domain

    misses_under_log_of_sums = _simplify_except(
        lambda e, rec: e if isinstance(e, Log) and isinstance(e.arg, Add) else None
    )
    x = Var("x")
    expr = Add(Log(Add(x**2, Const(0))), x)
    env = _domain(expr, np.random.default_rng(0))
    _check_simplify_one(answer("simplify"), expr, env)
    with pytest.raises(CheckFailed, match=r"x \+ 0 -> x .*inside the result"):
        _check_simplify_one(misses_under_log_of_sums, expr, env)


def test_simplify_random_expressions_find_the_smallest_value_change():
    from course.checks.symbolic import _check_simplify_one, _domain

    def sin_of_sums(e, rec):
        match e:
            case Sin(Add(u, v)):
                return Add(Sin(rec(u)), Sin(rec(v)))
        return None

    x, y = Var("x"), Var("y")
    expr = Mul(Exp(x), Add(Sin(Add(x, y)), Const(1)))
    env = _domain(expr, np.random.default_rng(0))
    _check_simplify_one(answer("simplify"), expr, env)
    with pytest.raises(CheckFailed, match=r"smallest part whose value changes: sin\(x \+ y\)"):
        _check_simplify_one(_simplify_except(sin_of_sums), expr, env)


@PROPERTY
@given(st.integers(0, 10_000))
def test_simplify_results_never_contain_identities_and_keep_size(seed):
    rng = np.random.default_rng(seed)
    expr = random_expression(rng, depth=4, identities=0.5)
    result = answer("simplify")(expr)
    assert size(result) <= size(expr)
    assert next(_redexes(result), None) is None


def test_random_expressions_are_reproducible():
    first = [random_expression(np.random.default_rng(7), depth=4) for _ in range(3)]
    again = [random_expression(np.random.default_rng(7), depth=4) for _ in range(3)]
    assert first == again
    assert all(isinstance(e, Expr) for e in first)


def test_simplify_property_rejects_a_top_down_simplify():
    top_down = bank_answer(LESSON, "simplify", "top-down only")
    with pytest.raises(CheckFailed):
        check_simplify_property(top_down, max_examples=100)


def test_property_searches_never_read_hypothesis_local_constants(monkeypatch):
    """Hypothesis mixes literals of the loaded local modules into integer, float and text
    draws; the grader's replay loads other modules than the student's kernel, so a search
    that read them would meet other expressions there. The searches draw booleans only.
    (Patching the private hook here makes this test, not grading, fail if it moves.)"""
    from hypothesis.internal.conjecture import providers

    def refuse():
        raise AssertionError("the search read hypothesis' local constants")

    monkeypatch.setattr(providers, "_get_local_constants", refuse)
    check_diff_property(answer("diff"), max_examples=40)
    check_simplify_property(answer("simplify"), max_examples=40)


# ------------------------------------------------------------ edge kinds by construction


def _nodes(expr: Expr):
    yield expr
    for child in vars(expr).values():
        if isinstance(child, Expr):
            yield from _nodes(child)


def _powers(expr: Expr) -> set:
    return {node.exponent for node in _nodes(expr) if isinstance(node, Pow)}


def _uses_x(expr: Expr) -> bool:
    return any(node == Var("x") for node in _nodes(expr))


#: What each diff edge kind must hold, read from the expression and the variable.
DIFF_EDGE_HOLDS = {
    "exponent 0": lambda e, n: isinstance(e, Pow) and e.exponent == 0 and _uses_x(e.base),
    "exponent 1": lambda e, n: isinstance(e, Pow) and e.exponent == 1 and _uses_x(e.base),
    "a negative exponent (a quotient)": lambda e, n: isinstance(e, Pow) and e.exponent < 0,
    "a fractional exponent (defined for a positive base)": lambda e, n: isinstance(e, Pow)
    and e.exponent == 0.5,
    "x in both factors of a product": lambda e, n: isinstance(e, Mul) and _uses_x(e.left)
    and _uses_x(e.right),
    "x in a denominator": lambda e, n: any(p < 0 for p in _powers(e)) and n == "x",
    "a function of a function of x": lambda e, n: isinstance(e, Sin | Cos | Exp | Log)
    and isinstance(e.arg, Sin | Cos | Exp),
    "a variable the expression does not use": lambda e, n: n == "z",
}


@pytest.mark.parametrize("seed", [0, 1, 20263])
def test_random_diff_cases_reach_every_edge_kind_and_keep_the_seeds_random_cases(seed):
    from course.checks.symbolic import DIFF_EDGES, _random_diff_cases

    assert set(DIFF_EDGE_HOLDS) == set(DIFF_EDGES)
    cases = list(_random_diff_cases(np.random.default_rng(seed), 5))
    for (expr, name, env), (kind, holds) in zip(cases, DIFF_EDGE_HOLDS.items(), strict=False):
        assert holds(expr, name), (kind, expr, name)
        assert env is not None
    # the random cases after the edges are those the seed gave before edges existed
    plain = np.random.default_rng(seed)
    expected = []
    while len(expected) < 5:
        from course.checks.symbolic import _domain

        expr = random_expression(plain, depth=int(plain.integers(2, 5)))
        name = str(plain.choice(["x", "y", "x", "y", "z"]))
        if _domain(expr, plain, names=[name]) is not None:
            expected.append((expr, name))
    assert [(e, n) for e, n, _ in cases[len(DIFF_EDGES):]] == expected


@pytest.mark.parametrize("seed", [0, 1, 20263])
def test_random_simplify_cases_reach_every_edge_kind(seed):
    from course.checks.symbolic import SIMPLIFY_EDGES, _random_simplify_cases

    cases = list(_random_simplify_cases(np.random.default_rng(seed), 3))
    assert len(cases) == len(SIMPLIFY_EDGES) + 3
    simplified = answer("simplify")
    for (expr, _), kind in zip(cases, SIMPLIFY_EDGES, strict=False):
        # every edge case holds an identity for simplify to remove
        assert next(_redexes(expr), None) is not None, (kind, expr)
        assert size(simplified(expr)) < size(expr), (kind, expr)
    nested = cases[list(SIMPLIFY_EDGES).index("an identity inside another")][0]
    assert sum(1 for _ in _redexes(nested)) >= 2


def test_a_slip_in_the_power_rule_of_a_composite_base_is_caught_by_the_edge_cases():
    """A diff that forgets the chain factor u' only when the base is a sum is caught by the
    edge kinds (whose bases are sums and products of x by construction)."""
    from course.checks.symbolic import DIFF_EDGES, _check_diff_one, _random_diff_cases

    def slip(expr, name):
        if isinstance(expr, Pow) and isinstance(expr.base, Add) and expr.exponent not in (0, 1):
            return Mul(Const(expr.exponent), Pow(expr.base, expr.exponent - 1))
        return answer("diff")(expr, name)

    caught = 0
    for expr, name, env in list(_random_diff_cases(np.random.default_rng(0), 0)):
        try:
            _check_diff_one(slip, expr, name, env)
        except CheckFailed:
            caught += 1
    assert len(DIFF_EDGES) and caught >= 1
