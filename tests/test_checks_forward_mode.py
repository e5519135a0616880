"""Tests of the lesson 04 checkers: right answers pass, each recognisable mistake is named.

The student-like answers below are written here, independently of the lesson notebook.
Broken variants subclass a correct ``Dual`` and override one method; the correct class
builds its results with ``type(self)`` so that subclasses stay closed under arithmetic.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checking import CheckFailed
from course.checks.forward_mode import (
    check_derivative,
    check_dual_functions,
    check_dual_ops,
    check_forward_gradient,
)

HYPOTHESIS = settings(max_examples=8)


# ----------------------------------------------------------------- correct answers


class Dual:
    """A correct dual number a + b eps; results are built with type(self)."""

    def __init__(self, value, deriv=0.0):
        self.value = value
        self.deriv = deriv

    def __repr__(self):
        return f"Dual({self.value!r}, {self.deriv!r})"

    def lift(self, other):
        return other if isinstance(other, Dual) else type(self)(other, 0.0)

    def __add__(self, other):
        other = self.lift(other)
        return type(self)(self.value + other.value, self.deriv + other.deriv)

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        other = self.lift(other)
        return type(self)(self.value - other.value, self.deriv - other.deriv)

    def __rsub__(self, other):
        return self.lift(other) - self

    def __mul__(self, other):
        other = self.lift(other)
        return type(self)(self.value * other.value,
                          self.value * other.deriv + self.deriv * other.value)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        other = self.lift(other)
        return type(self)(self.value / other.value,
                          (self.deriv * other.value - self.value * other.deriv) / other.value**2)

    def __rtruediv__(self, other):
        return self.lift(other) / self

    def __pow__(self, other):
        if isinstance(other, Dual):
            power = self.value**other.value
            return type(self)(power, other.value * self.value ** (other.value - 1) * self.deriv
                              + power * math.log(self.value) * other.deriv)
        return type(self)(self.value**other, other * self.value ** (other - 1) * self.deriv)

    def __rpow__(self, other):
        return self.lift(other) ** self

    def __neg__(self):
        return type(self)(-self.value, -self.deriv)


class OtherDual:
    """An equivalent formulation: subtraction and division through negation and reciprocal,
    powers through exp and log when the exponent is a Dual, numbers tested with numbers.Real."""

    def __init__(self, value, deriv=0.0):
        self.value, self.deriv = float(value), float(deriv)

    @staticmethod
    def _d(x):
        return x if isinstance(x, OtherDual) else OtherDual(x)

    def __add__(self, other):
        o = self._d(other)
        return OtherDual(self.value + o.value, self.deriv + o.deriv)

    __radd__ = __add__

    def __neg__(self):
        return OtherDual(-self.value, -self.deriv)

    def __sub__(self, other):
        return self + (-self._d(other))

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        o = self._d(other)
        return OtherDual(self.value * o.value, self.value * o.deriv + o.value * self.deriv)

    __rmul__ = __mul__

    def _reciprocal(self):
        return OtherDual(1.0 / self.value, -self.deriv / self.value**2)

    def __truediv__(self, other):
        return self * self._d(other)._reciprocal()

    def __rtruediv__(self, other):
        return self._reciprocal() * other

    def __pow__(self, other):
        if isinstance(other, OtherDual):
            log_a = OtherDual(math.log(self.value), self.deriv / self.value)
            e = other * log_a
            return OtherDual(math.exp(e.value), math.exp(e.value) * e.deriv)
        return OtherDual(self.value**other, other * self.value ** (other - 1) * self.deriv)

    def __rpow__(self, other):
        return OtherDual(other) ** self


def _math_functions(dual=Dual):
    def lift(h, dh):
        def f(x):
            if isinstance(x, dual):
                return dual(h(x.value), dh(x.value) * x.deriv)
            return h(x)
        f.__name__ = h.__name__
        return f

    return {
        "sin": lift(math.sin, math.cos),
        "cos": lift(math.cos, lambda a: -math.sin(a)),
        "exp": lift(math.exp, math.exp),
        "log": lift(math.log, lambda a: 1 / a),
        "tanh": lift(math.tanh, lambda a: 1 - math.tanh(a) ** 2),
    }


def _numpy_functions():
    """Another formulation: numpy scalars (np.float64 is a float) and the Dual's own arithmetic."""
    def sin(x):
        return Dual(np.sin(x.value)) + np.cos(x.value) * Dual(0.0, x.deriv) if isinstance(
            x, Dual) else np.sin(x)

    def cos(x):
        return Dual(np.cos(x.value), -np.sin(x.value) * x.deriv) if isinstance(
            x, Dual) else np.cos(x)

    def exp(x):
        return Dual(np.exp(x.value), np.exp(x.value) * x.deriv) if isinstance(
            x, Dual) else np.exp(x)

    def log(x):
        return Dual(np.log(x.value), x.deriv / x.value) if isinstance(x, Dual) else np.log(x)

    def tanh(x):
        if isinstance(x, Dual):
            t = np.tanh(x.value)
            return Dual(t, x.deriv / np.cosh(x.value) ** 2 + 0 * t)
        return np.tanh(x)

    return {"sin": sin, "cos": cos, "exp": exp, "log": log, "tanh": tanh}


def derivative(f, x):
    return float(f(Dual(x, 1.0)).deriv)


def forward_gradient(f, x):
    x = np.asarray(x, dtype=float)
    out = np.zeros(len(x))
    for i in range(len(x)):
        out[i] = f([Dual(v, 1.0 if j == i else 0.0) for j, v in enumerate(x)]).deriv
    return out


def forward_gradient_eye(f, x):
    """Seeds from the rows of the identity matrix, gathered with a comprehension."""
    seeds = np.eye(len(x))
    return np.array([f([Dual(v, s) for v, s in zip(x, row, strict=True)]).deriv
                     for row in seeds])


# ------------------------------------------------------------------- dual_ops


@pytest.mark.parametrize("cls", [Dual, OtherDual])
def test_dual_ops_accepts_correct_classes(cls, capsys):
    check_dual_ops(cls)
    assert "✓ dual_ops" in capsys.readouterr().out


def _variant(name: str, **methods) -> type:
    return type(name, (Dual,), methods)


def _mul_missing_term(self, other):
    o = self.lift(other)
    return type(self)(self.value * o.value, self.value * o.deriv)


BROKEN_OPS = {
    "sum multiplies": (
        {"__add__": lambda self, o: type(self)(self.value + self.lift(o).value,
                                               self.deriv * self.lift(o).deriv)},
        "sum rule: derivatives of a sum are added"),
    "number added to deriv": (
        {"__add__": lambda self, o: type(self)(
            self.value + self.lift(o).value,
            self.deriv + (o.deriv if isinstance(o, Dual) else o))},
        "number was added to the derivative too"),
    "no radd": ({"__radd__": lambda self, o: NotImplemented}, "define __radd__"),
    "sub adds derivs": (
        {"__sub__": lambda self, o: type(self)(self.value - self.lift(o).value,
                                               self.deriv + self.lift(o).deriv)},
        "difference rule sign"),
    "rsub is x - c": (
        {"__rsub__": lambda self, o: self - o},
        r"__rsub__ computes x - c instead of c - x"),
    "rsub no sign": (
        {"__rsub__": lambda self, o: type(self)(o - self.value, self.deriv)},
        "__rsub__ forgot to flip the derivative's sign"),
    "product missing term": ({"__mul__": _mul_missing_term}, "product rule missing a term"),
    "product dx dy": (
        {"__mul__": lambda self, o: type(self)(self.value * self.lift(o).value,
                                               self.deriv * self.lift(o).deriv)},
        r"product rule: d\(xy\) = x dy \+ y dx, not dx dy"),
    "quotient sign": (
        {"__truediv__": lambda self, o: type(self)(
            self.value / self.lift(o).value,
            (self.value * self.lift(o).deriv - self.deriv * self.lift(o).value)
            / self.lift(o).value ** 2)},
        "quotient rule sign"),
    "rtruediv is x / c": (
        {"__rtruediv__": lambda self, o: self / o},
        r"__rtruediv__ computes x / c instead of c / x"),
    "power without chain": (
        {"__pow__": lambda self, p: (Dual.__pow__(self, p) if isinstance(p, Dual) else
                                     type(self)(self.value**p, p * self.value ** (p - 1)))},
        "power rule without the chain rule"),
    "power exponent p": (
        {"__pow__": lambda self, p: (Dual.__pow__(self, p) if isinstance(p, Dual) else
                                     type(self)(self.value**p, p * self.value**p * self.deriv))},
        "the exponent drops by one"),
    "dual exponent missing log term": (
        {"__pow__": lambda self, p: (
            type(self)(self.value**p.value,
                       p.value * self.value ** (p.value - 1) * self.deriv)
            if isinstance(p, Dual) else Dual.__pow__(self, p))},
        r"power rule with a Dual exponent.*x\*\*y log\(x\) dy .*is missing"),
    "dual exponent unsupported": (
        {"__pow__": lambda self, p: type(self)(self.value**p, p * self.value ** (p - 1)
                                               * self.deriv)},
        "with a Dual exponent y must work"),
    "rpow is x ** c": (
        {"__rpow__": lambda self, o: self**o},
        r"__rpow__ computes x \*\* c instead of c \*\* x"),
    "rpow power rule": (
        {"__rpow__": lambda self, c: type(self)(c**self.value,
                                                self.value * c ** (self.value - 1) * self.deriv)},
        r"in c \*\* x the variable is the exponent"),
    "neg keeps deriv": (
        {"__neg__": lambda self: type(self)(-self.value, self.deriv)},
        "negation must flip the derivative too"),
    "float-only numbers": (
        {"lift": lambda self, o: o if isinstance(o, Dual) else (
            type(self)(o, 0.0) if isinstance(o, float) else o)},
        "isinstance test on float alone misses ints"),
    "numeric power through log": (
        {"__pow__": lambda self, p: type(self)(
            math.exp(p * math.log(self.value)),
            math.exp(p * math.log(self.value)) * p / self.value * self.deriv)
            if not isinstance(p, Dual) else Dual.__pow__(self, p)},
        "works for negative bases too"),
    "returns a tuple": (
        {"__mul__": lambda self, o: (self.value * self.lift(o).value, 0.0)},
        "the result is not a Dual"),
    "constant lifted with deriv 1": (
        {"lift": lambda self, o: o if isinstance(o, Dual) else type(self)(o, 1.0)},
        r"treated as Dual\(c, 1.0\)"),
}


@pytest.mark.parametrize("case", list(BROKEN_OPS))
def test_dual_ops_names_the_broken_rule(case):
    methods, message = BROKEN_OPS[case]
    with pytest.raises(CheckFailed, match=message):
        check_dual_ops(_variant("Broken", **methods))


def test_dual_ops_rejects_mutation():
    def iadd(self, other):
        other = self.lift(other)
        self.value += other.value
        self.deriv += other.deriv
        return self

    with pytest.raises(CheckFailed, match="changed its left operand"):
        check_dual_ops(_variant("Mutating", __add__=iadd))


def test_dual_ops_wrong_default_deriv():
    class OneDefault(Dual):
        def __init__(self, value, deriv=1.0):
            super().__init__(value, deriv)

    with pytest.raises(CheckFailed, match=r"default is deriv=0\.0"):
        check_dual_ops(OneDefault)


def test_dual_ops_stub_is_not_implemented():
    def stub(self, other):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_dual_ops(_variant("Stub", __add__=stub))


def test_expressions_catch_a_bug_only_seen_when_an_operand_is_reused():
    """x * x with one object: a shortcut for squaring that forgets the factor 2."""
    def mul(self, other):
        if other is self:
            return type(self)(self.value**2, self.value * self.deriv)
        return Dual.__mul__(self, other)

    with pytest.raises(CheckFailed, match=r"(?s)In the expression .*product rule missing a term"):
        check_dual_ops(_variant("Squaring", __mul__=mul))


@HYPOTHESIS
@given(seed=st.integers(0, 10_000))
def test_dual_ops_random_seeds_accept_a_correct_class(seed):
    check_dual_ops(Dual, seed=seed, trials=3, expressions=10)


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-6, 1e-2))
def test_dual_ops_rejects_perturbations_beyond_tolerance(seed, scale):
    def mul(self, other):
        result = Dual.__mul__(self, other)
        return type(self)(result.value, result.deriv * (1 + scale) + scale)

    with pytest.raises(CheckFailed, match="product rule"):
        check_dual_ops(_variant("Perturbed", __mul__=mul), seed=seed, trials=3, expressions=5)


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), scale=st.floats(-1e-13, 1e-13))
def test_dual_ops_accepts_round_off(seed, scale):
    def mul(self, other):
        result = Dual.__mul__(self, other)
        return type(self)(result.value, result.deriv * (1 + scale))

    check_dual_ops(_variant("RoundOff", __mul__=mul), seed=seed, trials=3, expressions=5)


# --------------------------------------------------------------- dual_functions


def test_dual_functions_accepts_math_and_numpy_versions(capsys):
    check_dual_functions(**_math_functions(), Dual=Dual)
    check_dual_functions(**_numpy_functions(), Dual=Dual, seed=5)
    out = capsys.readouterr().out
    assert out.count("✓ dual_functions") == 2
    assert "course's test functions with your Dual arithmetic" in out


def _with(name, h):
    functions = _math_functions()
    functions[name] = h
    return functions


BROKEN_FUNCTIONS = {
    "sin chain not applied": (
        "sin", lambda x: Dual(math.sin(x.value), x.deriv) if isinstance(x, Dual)
        else math.sin(x), "chain rule through sin not applied"),
    "sin without incoming deriv": (
        "sin", lambda x: Dual(math.sin(x.value), math.cos(x.value)) if isinstance(x, Dual)
        else math.sin(x), r"multiply sin'\(a\) = cos\(a\) by the incoming derivative"),
    "cos sign": (
        "cos", lambda x: Dual(math.cos(x.value), math.sin(x.value) * x.deriv)
        if isinstance(x, Dual) else math.cos(x), "the minus sign is missing"),
    "log x dx": (
        "log", lambda x: Dual(math.log(x.value), x.value * x.deriv) if isinstance(x, Dual)
        else math.log(x), r"d log\(x\) = dx / x, not x dx"),
    "tanh plus": (
        "tanh", lambda x: Dual(math.tanh(x.value), (1 + math.tanh(x.value) ** 2) * x.deriv)
        if isinstance(x, Dual) else math.tanh(x), r"not \(1 \+ tanh"),
    "exp of float gives Dual": (
        "exp", lambda x: Dual(math.exp(getattr(x, "value", x)),
                              math.exp(getattr(x, "value", x)) * getattr(x, "deriv", 0.0)),
        "a function of a float must return a float"),
    "exp of float gives array": (
        "exp", lambda x: Dual(math.exp(x.value), math.exp(x.value) * x.deriv)
        if isinstance(x, Dual) else np.array(math.exp(x)),
        "a function of a float must return a float"),
    "tanh of Dual gives float": (
        "tanh", lambda x: math.tanh(getattr(x, "value", x)), "the result is not a Dual"),
}


@pytest.mark.parametrize("case", list(BROKEN_FUNCTIONS))
def test_dual_functions_names_the_mistake(case):
    name, h, message = BROKEN_FUNCTIONS[case]
    with pytest.raises(CheckFailed, match=message):
        check_dual_functions(**_with(name, h), Dual=Dual)


def test_dual_functions_rejects_mutation():
    def sin(x):
        if isinstance(x, Dual):
            x.deriv = math.cos(x.value) * x.deriv
            x.value = math.sin(x.value)
            return x
        return math.sin(x)

    with pytest.raises(CheckFailed, match="changed its operand"):
        check_dual_functions(**_with("sin", sin), Dual=Dual)


def test_dual_functions_do_not_depend_on_broken_arithmetic(capsys):
    """Correct functions pass even when the Dual's arithmetic is still wrong."""
    broken = _variant("BadRsub", __rsub__=lambda self, o: self - o)
    check_dual_functions(**_math_functions(broken), Dual=broken)
    assert "tried once dual_ops passes" in capsys.readouterr().out


# ------------------------------------------------------------------ derivative


def test_derivative_accepts_correct_answers(capsys):
    check_derivative(derivative)
    check_derivative(lambda f, x: f(Dual(float(x), 1.0)).deriv, seed=3)
    assert capsys.readouterr().out.count("✓ derivative") == 2


BROKEN_DERIVATIVES = {
    "seed 0": (lambda f, x: f(Dual(x, 0.0)).deriv, "seed the input with deriv 1.0"),
    "seed 0 default": (lambda f, x: f(Dual(x)).deriv, "every derivative comes out 0"),
    "returns Dual": (lambda f, x: f(Dual(x, 1.0)), "return its derivative part"),
    "returns value": (lambda f, x: f(Dual(x, 1.0)).value, r"value part f\(x\)"),
    "two passes": (lambda f, x: (f(Dual(x, 1.0)).value, f(Dual(x, 1.0)).deriv)[1],
                   "called f 2 times"),
    "float in": (lambda f, x: f(x), "not a Dual"),
    "wrong point": (lambda f, x: f(Dual(x + 1, 1.0)).deriv, "must be evaluated at x"),
    "no pass": (lambda f, x: 0.0, "never called f"),
}


@pytest.mark.parametrize("case", list(BROKEN_DERIVATIVES))
def test_derivative_names_the_mistake(case):
    answer, message = BROKEN_DERIVATIVES[case]
    with pytest.raises(CheckFailed, match=message):
        check_derivative(answer)


@HYPOTHESIS
@given(seed=st.integers(0, 10_000), scale=st.floats(1e-6, 1.0))
def test_derivative_rejects_perturbations(seed, scale):
    with pytest.raises(CheckFailed, match="is wrong"):
        check_derivative(lambda f, x: derivative(f, x) * (1 + scale) + scale, seed=seed,
                         trials=3)


# ------------------------------------------------------------- forward_gradient


def test_forward_gradient_accepts_correct_answers(capsys):
    check_forward_gradient(forward_gradient)
    check_forward_gradient(forward_gradient_eye, seed=9)
    assert capsys.readouterr().out.count("✓ forward_gradient") == 2


def _all_ones(f, x):
    return np.array([f([Dual(v, 1.0) for v in x]).deriv for _ in x])


def _accumulating(f, x):
    duals = [Dual(v, 0.0) for v in x]
    out = []
    for i in range(len(x)):
        duals[i].deriv = 1.0
        out.append(f(duals).deriv)
    return np.array(out)


def _extra_value_pass(f, x):
    f([Dual(v, 0.0) for v in x])
    return forward_gradient(f, x)


def _in_place(f, x):
    grad = forward_gradient(f, x)
    x += 0.0 * x + 1.0
    return grad


BROKEN_GRADIENTS = {
    "all ones": (_all_ones, "EVERY input"),
    "accumulating seeds": (_accumulating, "never reset"),
    "list": (lambda f, x: list(forward_gradient(f, x)), "return a numpy array"),
    "reversed": (lambda f, x: forward_gradient(f, x)[::-1], "reverse order"),
    "extra pass": (_extra_value_pass, "seeded no input"),
    "in place": (_in_place, "modified x in place"),
    "star args": (lambda f, x: np.array([f(*[Dual(v, float(i == j)) for j, v in enumerate(x)])
                                         .deriv for i in range(len(x))]), "ONE argument"),
    "array of Duals": (lambda f, x: np.array([f([Dual(v, float(i == j)) for j, v in
                                                 enumerate(x)]) for i in range(len(x))],
                                             dtype=object), "array of objects"),
    "values": (lambda f, x: np.array([f([Dual(v, float(i == j)) for j, v in enumerate(x)])
                                      .value for i in range(len(x))]), r"value part f\(x\)"),
    "one input seeded": (lambda f, x: np.full(len(x), f([Dual(v, float(j == 0)) for j, v in
                                                          enumerate(x)]).deriv),
                         "needs exactly n"),
}


@pytest.mark.parametrize("case", list(BROKEN_GRADIENTS))
def test_forward_gradient_names_the_mistake(case):
    answer, message = BROKEN_GRADIENTS[case]
    with pytest.raises(CheckFailed, match=message):
        check_forward_gradient(answer)


# ------------------------------------------------------------ grading: record, then replay
#
# In grading, the kernel records every answer and the grader replays the test cell with
# inert answers (see course.recording). A replay-safe checker reaches the same verdict,
# with the same message, both times.


def _dual_functions_check(sin, cos, exp, log, tanh, Dual, **kwargs):
    """check_dual_functions with the Dual class positional, so that replay makes it inert too."""
    check_dual_functions(sin, cos, exp, log, tanh, Dual=Dual, **kwargs)


def _functions(functions, dual=Dual):
    return (*(functions[name] for name in ("sin", "cos", "exp", "log", "tanh")), dual)


def _iadd(self, other):
    other = self.lift(other)
    self.value += other.value
    self.deriv += other.deriv
    return self


class _OneDefault(Dual):
    def __init__(self, value, deriv=1.0):
        super().__init__(value, deriv)


def _squaring(self, other):
    if other is self:
        return type(self)(self.value**2, self.value * self.deriv)
    return Dual.__mul__(self, other)


def _sin_in_place(x):
    if isinstance(x, Dual):
        x.deriv = math.cos(x.value) * x.deriv
        x.value = math.sin(x.value)
        return x
    return math.sin(x)


def _stub(*args):
    raise NotImplementedError()


_BAD_RSUB = _variant("BadRsub", __rsub__=lambda self, o: self - o)
_FAST_OPS = {"trials": 2, "expressions": 6}
_FAST = {"trials": 2}

REPLAYS = {
    # check_dual_ops: right classes, a wrong rule, a missing method, a non-Dual result,
    # a rejected int, a mutated operand, a wrong default, a stub, a bug seen only in an
    # expression.
    "ops Dual": (check_dual_ops, (Dual,), _FAST_OPS, None),
    "ops OtherDual": (check_dual_ops, (OtherDual,), _FAST_OPS, None),
    **{f"ops {case}": (check_dual_ops, (_variant("Broken", **BROKEN_OPS[case][0]),), _FAST_OPS,
                       BROKEN_OPS[case][1])
       for case in ("sum multiplies", "no radd", "rsub is x - c", "returns a tuple",
                    "float-only numbers", "dual exponent unsupported")},
    "ops mutation": (check_dual_ops, (_variant("Mutating", __add__=_iadd),), _FAST_OPS,
                     "changed its left operand"),
    "ops default deriv": (check_dual_ops, (_OneDefault,), _FAST_OPS, r"default is deriv=0\.0"),
    "ops stub": (check_dual_ops, (_variant("Stub", __add__=_stub),), _FAST_OPS,
                 "not implemented yet"),
    "ops expression": (check_dual_ops, (_variant("Squaring", __mul__=_squaring),), _FAST_OPS,
                       r"(?s)In the expression .*product rule missing a term"),
    # check_dual_functions: math and numpy versions, broken arithmetic (course functions
    # skipped), each path of a function (float, Dual, chain rule), a mutated operand.
    "functions math": (_dual_functions_check, _functions(_math_functions()), _FAST, None),
    "functions numpy": (_dual_functions_check, _functions(_numpy_functions()), _FAST, None),
    "functions broken arithmetic": (
        _dual_functions_check, _functions(_math_functions(_BAD_RSUB), _BAD_RSUB), _FAST, None),
    **{f"functions {case}": (_dual_functions_check,
                             _functions(_with(*BROKEN_FUNCTIONS[case][:2])), _FAST,
                             BROKEN_FUNCTIONS[case][2])
       for case in ("sin chain not applied", "sin without incoming deriv",
                    "exp of float gives Dual", "exp of float gives array",
                    "tanh of Dual gives float")},
    "functions mutation": (_dual_functions_check, _functions(_with("sin", _sin_in_place)), _FAST,
                           "changed its operand"),
    "functions stub": (_dual_functions_check, _functions(_with("cos", _stub)), _FAST,
                       "not implemented yet"),
    # check_derivative: every diagnosis, most of them read from the probe.
    "derivative": (check_derivative, (derivative,), {"trials": 3}, None),
    **{f"derivative {case}": (check_derivative, (answer,), {"trials": 3}, message)
       for case, (answer, message) in BROKEN_DERIVATIVES.items()},
    # check_forward_gradient: every diagnosis, the seeds read from the probe, x changed
    # in place.
    "gradient": (check_forward_gradient, (forward_gradient,), _FAST, None),
    "gradient eye": (check_forward_gradient, (forward_gradient_eye,), _FAST, None),
    **{f"gradient {case}": (check_forward_gradient, (answer,), _FAST, message)
       for case, (answer, message) in BROKEN_GRADIENTS.items()},
}


@pytest.mark.parametrize("case", list(REPLAYS))
def test_checks_replay_to_the_same_verdict(case, tmp_path):
    from course.recording import record_then_replay

    check, answers, kwargs, message = REPLAYS[case]
    live, replayed = record_then_replay(check, *answers, log=tmp_path / "log.jsonl", **kwargs)
    assert live == replayed
    if message is None:
        assert live is None
    else:
        assert live is not None
        assert re.search(message, live)
