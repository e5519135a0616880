"""Lesson 04's generators reach every rule's edge kinds in every batch, by construction;
fixed edge cases agree with the closed form, and slips seen only at an edge are caught."""

from __future__ import annotations

import math

import numpy as np
import pytest

from course.checking import CheckFailed
from course.checks.forward_mode import check_dual_ops, check_forward_gradient, generators
from course.checks.forward_mode.duals import _Operand
from course.checks.forward_mode.generators import (
    EDGES,
    EDGES_BY_RULE,
    EXPRESSION_EDGES,
    FAMILY_EDGE_SIZES,
    _gradient_family,
    _random_expressions,
    _rule_cases,
    _sample,
)
from course.checks.forward_mode.oracles import _oracle_ops
from course.checks.forward_mode.rules import _RULES_BY_KEY, RULES


class Dual:
    """A correct dual number; results are built with type(self)."""

    def __init__(self, value, deriv=0.0):
        self.value, self.deriv = value, deriv

    def _lift(self, other):
        return other if isinstance(other, Dual) else type(self)(other, 0.0)

    def __add__(self, other):
        o = self._lift(other)
        return type(self)(self.value + o.value, self.deriv + o.deriv)

    __radd__ = __add__

    def __sub__(self, other):
        o = self._lift(other)
        return type(self)(self.value - o.value, self.deriv - o.deriv)

    def __rsub__(self, other):
        return self._lift(other) - self

    def __mul__(self, other):
        o = self._lift(other)
        return type(self)(self.value * o.value, self.value * o.deriv + self.deriv * o.value)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._lift(other)
        return type(self)(self.value / o.value,
                          (self.deriv * o.value - self.value * o.deriv) / o.value**2)

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __pow__(self, other):
        if isinstance(other, Dual):
            v = self.value**other.value
            return type(self)(v, other.value * self.value ** (other.value - 1) * self.deriv
                              + v * math.log(self.value) * other.deriv)
        return type(self)(self.value**other, other * self.value ** (other - 1) * self.deriv)

    def __rpow__(self, other):
        v = other**self.value
        return type(self)(v, v * math.log(other) * self.deriv)

    def __neg__(self):
        return type(self)(-self.value, -self.deriv)


# ------------------------------------------------------------ every batch has every edge


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("trials", [0, 1, 10])
def test_every_batch_of_rule_cases_holds_each_edge_kind(seed, trials):
    rng = np.random.default_rng(seed)
    for rule in RULES:
        cases = _rule_cases(rule, rng, trials)
        for edge in EDGES_BY_RULE[rule.key]:
            assert any(edge.holds(*case) for case in cases), (rule.key, edge.name)


def test_edge_kinds_are_not_reached_by_the_random_cases_alone():
    """Why the edges are drawn on purpose: most never come up in 200 random cases."""
    rng = np.random.default_rng(0)
    missed = [edge.name for edge in EDGES
              if not any(edge.holds(*_sample(_RULES_BY_KEY[edge.rule], rng)) for _ in range(200))]
    assert len(missed) >= len(EDGES) // 2


def test_the_random_cases_of_a_seed_do_not_move():
    """Edges come from a child generator: the random cases are those of the seed alone."""
    rule = _RULES_BY_KEY["mul_dd"]
    cases = _rule_cases(rule, np.random.default_rng(3), 5)
    alone = np.random.default_rng(3)
    assert cases[-5:] == [_sample(rule, alone) for _ in range(5)]


@pytest.mark.parametrize("edge", EDGES, ids=lambda e: f"{e.rule}: {e.name}")
def test_each_edge_draws_cases_of_its_kind_where_the_oracle_is_finite(edge):
    rng = np.random.default_rng(7)
    cases = [edge.draw(rng) for _ in range(20)]
    assert all(edge.holds(*case) for case in cases)
    out = _oracle_ops({edge.rule: cases})[edge.rule]
    assert all(math.isfinite(v) and math.isfinite(d) for v, d in out)


@pytest.mark.parametrize("seed", range(4))
def test_every_batch_of_expressions_holds_each_edge_kind(seed):
    cases = _random_expressions(np.random.default_rng(seed), 0)
    for kind, (holds, _) in EXPRESSION_EDGES.items():
        assert any(holds(expr) for expr, _ in cases), kind


def test_the_gradient_family_has_one_input_and_the_most_inputs():
    sizes = [n for n, _ in _gradient_family(np.random.default_rng(0), 0)]
    assert sizes == list(FAMILY_EDGE_SIZES) == [1, generators._MAX_INPUTS]


# ------------------------------------------------------------ fixed edge cases


def _d(value, deriv):
    return _Operand(float(value), float(deriv))


#: (rule, left, right, closed-form value, closed-form deriv)
FIXED_EDGES = [
    ("pow_dn", _d(-2, 1.5), _Operand(3), -8.0, 3 * 4 * 1.5),
    ("pow_dn", _d(-1.5, 2), _Operand(-1), -1 / 1.5, -(1 / 1.5**2) * 2),
    ("pow_dn", _d(1.7, 0.5), _Operand(0), 1.0, 0.0),
    ("pow_dn", _d(-0.8, 3), _Operand(1), -0.8, 3.0),
    ("pow_dn", _d(-2, 1), _Operand(2.0), 4.0, -4.0),
    ("pow_dn", _d(2.25, 1), _Operand(0.5), 1.5, 0.5 / 1.5),
    ("pow_dd", _d(0.5, 1), _d(2, 1), 0.25, 2 * 0.5 + 0.25 * math.log(0.5)),
    ("pow_dd", _d(1, 2), _d(3, 5), 1.0, 3 * 2.0),
    ("pow_dd", _d(2, 0), _d(3, 0), 8.0, 0.0),
    ("rpow", _Operand(1.0), _d(0.7, 2), 1.0, 0.0),
    ("rpow", _Operand(0.5), _d(2, 1), 0.25, 0.25 * math.log(0.5)),
    ("rpow", _Operand(2), _d(3, 1), 8.0, 8 * math.log(2)),
    ("mul_dd", _d(2, 0), _d(3, 5), 6.0, 10.0),
    ("mul_dd", _d(2, 3), _d(3, 0), 6.0, 9.0),
    ("div_dd", _d(6, 1), _d(-2, 0), -3.0, -0.5),
    ("div_dn", _d(6, 1), _Operand(-2), -3.0, -0.5),
    ("rtruediv", _Operand(3), _d(-2, 1), -1.5, -3 / 4),
    ("add_dn", _d(1.5, 2), _Operand(3), 4.5, 2.0),
    ("rsub", _Operand(2), _d(0.5, 4), 1.5, -4.0),
    ("neg", _d(1.5, 0), None, -1.5, 0.0),
]


@pytest.mark.parametrize(("key", "left", "right", "value", "deriv"), FIXED_EDGES)
def test_fixed_edge_cases_agree_with_the_closed_form(key, left, right, value, deriv):
    assert any(edge.holds(left, right) for edge in EDGES_BY_RULE[key])
    (got,) = _oracle_ops({key: [(left, right)]})[key]
    assert got == pytest.approx((value, deriv), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(("key", "left", "right", "value", "deriv"), FIXED_EDGES)
def test_a_correct_dual_passes_each_fixed_edge_case(key, left, right, value, deriv):
    rule = _RULES_BY_KEY[key]
    x = Dual(left.value, left.deriv) if left.is_dual else left.value
    y = None if right is None else Dual(right.value, right.deriv) if right.is_dual else right.value
    result = rule.apply(x, y)
    assert (result.value, result.deriv) == pytest.approx((value, deriv), rel=1e-12, abs=1e-15)


# ------------------------------------------------------------ slips seen only at an edge


class ConstantIsOne(Dual):
    """Treats a Dual with deriv 0 as a factor of 1 in the derivative of a product."""

    def __mul__(self, other):
        if isinstance(other, Dual) and other.deriv == 0:
            return type(self)(self.value * other.value, self.deriv)
        return super().__mul__(other)


class PowerByLogs(Dual):
    """Uses the power rule for int exponents only, exp(p log x) for every float exponent."""

    def __pow__(self, other):
        if isinstance(other, float):
            v = math.exp(other * math.log(self.value))  # fails for x < 0, even for p = 2.0
            return type(self)(v, other * v / self.value * self.deriv)
        return super().__pow__(other)


@pytest.mark.parametrize(("broken", "named"), [(ConstantIsOne, "product rule"),
                                               (PowerByLogs, "power rule")])
def test_a_slip_seen_only_at_an_edge_is_caught(broken, named, monkeypatch):
    check_dual_ops(Dual, trials=2, expressions=4)
    with pytest.raises(CheckFailed, match=named):
        check_dual_ops(broken, trials=2, expressions=4)
    # without the edge kinds, the same slip passes: the edges are what catch it
    monkeypatch.setattr(generators, "EDGES_BY_RULE", {key: () for key in EDGES_BY_RULE})
    monkeypatch.setattr(generators, "EXPRESSION_EDGES", {})
    check_dual_ops(broken, trials=2, expressions=4)


def test_forward_gradient_meets_the_one_input_edge():
    """A loop that seeds ``range(1, n)`` plus input 0 by hand is right for n > 1 only."""
    def forward_gradient(f, x):
        n = len(x)
        grads = []
        for i in [0, *range(1, n - 1), n - 1]:
            seeds = [1.0 if j == i else 0.0 for j in range(n)]
            grads.append(f([Dual(float(x[j]), seeds[j]) for j in range(n)]).deriv)
        return np.array(grads)

    with pytest.raises(CheckFailed, match="passes"):
        check_forward_gradient(forward_gradient, trials=0)
