"""Common mistakes and alternative right answers for 04-forward-mode (dual numbers)."""

from __future__ import annotations

from autograder.mutants import Alternative, Mutant, patcher

LESSON = "04-forward-mode"

_p = patcher(LESSON)


# ----------------------------------------------------------------------------- dual_ops

_MUL = "self.value * other.deriv + self.deriv * other.value)"
_QUOTIENT = "(self.deriv * other.value - self.value * other.deriv) / other.value**2"
_ADD = ("other = Dual.lift(other)\n"
        "        return Dual(self.value + other.value, self.deriv + other.deriv)")
_POW_NUM = 'return Dual(self.value**other, other * self.value ** (other - 1) * self.deriv)'
_DUAL_POW = ("        if isinstance(other, Dual):\n"
             "            power = self.value**other.value\n"
             "            return Dual(power,\n"
             "                        other.value * self.value ** (other.value - 1) * self.deriv\n"
             "                        + power * math.log(self.value) * other.deriv)\n")
_RADD = '''    def __radd__(self, other):
        """other + self, for a number on the left."""
        ### BEGIN SOLUTION
        return Dual.lift(other) + self
        ### END SOLUTION

'''

_DUAL_OPS = [
    Mutant("dual_ops", "product rule missing the term y dx",
           _p("dual_ops", (_MUL, "self.value * other.deriv)")),
           r"product rule missing a term.*the term y dx is missing"),
    Mutant("dual_ops", "product rule as dx * dy",
           _p("dual_ops", (_MUL, "self.deriv * other.deriv)")),
           r"product rule: d\(xy\) = x dy \+ y dx, not dx dy"),
    Mutant("dual_ops", "__rsub__ computes self - other (operands reversed)",
           _p("dual_ops", ("return Dual.lift(other) - self", "return self - Dual.lift(other)")),
           r"__rsub__ computes x - c instead of c - x"),
    Mutant("dual_ops", "quotient rule with the numerator's sign flipped",
           _p("dual_ops", (_QUOTIENT, "(self.value * other.deriv - self.deriv * other.value) "
                                      "/ other.value**2")),
           r"quotient rule sign"),
    Mutant("dual_ops", "quotient rule divided by y instead of y**2",
           _p("dual_ops", (_QUOTIENT, _QUOTIENT.removesuffix("**2"))),
           r"divide by y\*\*2, not by y"),
    Mutant("dual_ops", "power rule without the chain rule (no factor dx)",
           _p("dual_ops", ("other * self.value ** (other - 1) * self.deriv)",
                           "other * self.value ** (other - 1))")),
           r"power rule without the chain rule"),
    Mutant("dual_ops", "Dual exponent: the x**y log(x) dy term forgotten",
           _p("dual_ops", ("\n" + " " * 24 + "+ power * math.log(self.value) * other.deriv)",
                           ")")),
           r"the\s+second term x\*\*y log\(x\) dy .*is missing"),
    Mutant("dual_ops", "negation keeps the derivative's sign",
           _p("dual_ops", ("Dual(-self.value, -self.deriv)", "Dual(-self.value, self.deriv)")),
           r"negation must flip the derivative too"),
    Mutant("dual_ops", "a plain number lifted to Dual(c, 1.0) instead of Dual(c, 0.0)",
           _p("dual_ops", ("else Dual(other, 0.0)", "else Dual(other, 1.0)")),
           r"the number was treated as Dual\(c, 1\.0\)"),
    Mutant("dual_ops", "__add__ updates self in place and returns it",
           _p("dual_ops", (_ADD, "other = Dual.lift(other)\n"
                                 "        self.value += other.value\n"
                                 "        self.deriv += other.deriv\n"
                                 "        return self")),
           r"changed its left operand .*must return a NEW Dual"),
    Mutant("dual_ops", "numbers recognised with isinstance(other, float) (ints missed)",
           _p("dual_ops", ("return other if isinstance(other, Dual) else Dual(other, 0.0)",
                           "return Dual(other, 0.0) if isinstance(other, float) else other")),
           r"an isinstance test on float alone misses ints"),
    Mutant("dual_ops", "__rpow__ computes self ** other (x ** c instead of c ** x)",
           _p("dual_ops", ("return Dual.lift(other) ** self", "return self ** other")),
           r"__rpow__ computes x \*\* c instead of c \*\* x"),
    Mutant("dual_ops", "__radd__ not defined (3 + x fails)",
           _p("dual_ops", (_RADD, "")),
           r"define __radd__"),
    Mutant("dual_ops", "sum rule multiplies the derivatives",
           _p("dual_ops", ("self.deriv + other.deriv)", "self.deriv * other.deriv)")),
           r"sum rule: derivatives of a sum are added"),
    Mutant("dual_ops", "a plain number added to the derivative part too",
           _p("dual_ops", (_ADD, "return Dual(self.value + Dual.lift(other).value,\n"
                                 "                    self.deriv + (other.deriv if "
                                 "isinstance(other, Dual) else other))")),
           r"number was added to the derivative too"),
    Mutant("dual_ops", "difference rule adds the derivatives",
           _p("dual_ops", ("self.deriv - other.deriv)", "self.deriv + other.deriv)")),
           r"difference rule sign"),
    Mutant("dual_ops", "__rsub__ forgets to flip the derivative's sign",
           _p("dual_ops", ("return Dual.lift(other) - self",
                           "return Dual(other - self.value, self.deriv)")),
           r"__rsub__ forgot to flip the derivative's sign"),
    Mutant("dual_ops", "__rtruediv__ computes self / other (x / c instead of c / x)",
           _p("dual_ops", ("return Dual.lift(other) / self", "return self / Dual.lift(other)")),
           r"__rtruediv__ computes x / c instead of c / x"),
    Mutant("dual_ops", "power rule without lowering the exponent (p x**p dx)",
           _p("dual_ops", (_POW_NUM, "return Dual(self.value**other, "
                                     "other * self.value**other * self.deriv)")),
           r"the exponent drops by one"),
    Mutant("dual_ops", "a Dual exponent not handled (only the numeric power rule)",
           _p("dual_ops", (_DUAL_POW, "")),
           r"with a Dual exponent y must work"),
    Mutant("dual_ops", "__rpow__ with the power rule (c ** x differentiated as x ** c)",
           _p("dual_ops", ("return Dual.lift(other) ** self",
                           "return Dual(other**self.value,\n                    "
                           "self.value * other ** (self.value - 1) * self.deriv)")),
           r"in c \*\* x the variable is the exponent"),
    Mutant("dual_ops", "numeric power through exp(p log x) (fails for negative bases)",
           _p("dual_ops", (_POW_NUM, "p = math.exp(other * math.log(self.value))\n        "
                                     "return Dual(p, p * other / self.value * self.deriv)")),
           r"works for negative bases too"),
    Mutant("dual_ops", "__mul__ returns a tuple, not a Dual",
           _p("dual_ops", ("return Dual(self.value * other.value,\n                    "
                           "self.value * other.deriv + self.deriv * other.value)",
                           "return (self.value * other.value, 0.0)")),
           r"the result is not a Dual"),
    Mutant("dual_ops", "default deriv=1.0 in the constructor",
           _p("dual_ops", ("def __init__(self, value, deriv=0.0):",
                           "def __init__(self, value, deriv=1.0):")),
           r"default is deriv=0\.0"),
    Mutant("dual_ops", "x * x shortcut for squaring that forgets the factor 2",
           _p("dual_ops", ("other = Dual.lift(other)\n        return Dual(self.value * other.value",
                           "if other is self:\n"
                           "            return Dual(self.value**2, self.value * self.deriv)\n"
                           "        other = Dual.lift(other)\n"
                           "        return Dual(self.value * other.value")),
           r"(?s)In the expression .*product rule missing a term"),
]

_DUAL_OPS_ALT = [
    Alternative("dual_ops", "subtraction and division through negation and a reciprocal", '''\
import math


class Dual:
    """A dual number value + deriv * eps, with eps**2 == 0."""

    def __init__(self, value, deriv=0.0):
        self.value, self.deriv = float(value), float(deriv)

    @staticmethod
    def _d(x):
        return x if isinstance(x, Dual) else Dual(x)

    def __add__(self, other):
        o = self._d(other)
        return Dual(self.value + o.value, self.deriv + o.deriv)

    __radd__ = __add__

    def __neg__(self):
        return Dual(-self.value, -self.deriv)

    def __sub__(self, other):
        return self + (-self._d(other))

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        o = self._d(other)
        return Dual(self.value * o.value, self.value * o.deriv + o.value * self.deriv)

    __rmul__ = __mul__

    def _reciprocal(self):
        return Dual(1.0 / self.value, -self.deriv / self.value**2)

    def __truediv__(self, other):
        return self * self._d(other)._reciprocal()

    def __rtruediv__(self, other):
        return self._reciprocal() * other

    def __pow__(self, other):
        if isinstance(other, Dual):
            log_a = Dual(math.log(self.value), self.deriv / self.value)
            e = other * log_a
            return Dual(math.exp(e.value), math.exp(e.value) * e.deriv)
        return Dual(self.value**other, other * self.value ** (other - 1) * self.deriv)

    def __rpow__(self, other):
        return Dual(other) ** self
'''),
    # (not a dataclass: the in-process runner compiles cells with the runner's own
    # `from __future__ import annotations`, which breaks @dataclass there; see the report)
    Alternative("dual_ops", "explicit isinstance tests, exp(y log x) for x ** y", '''\
import math
import numbers


class Dual:
    """A dual number value + deriv * eps, with eps**2 == 0."""

    def __init__(self, value, deriv=0.0):
        self.value, self.deriv = value, deriv

    def __add__(self, other):
        if isinstance(other, numbers.Real):
            return Dual(self.value + other, self.deriv)
        return Dual(self.value + other.value, self.deriv + other.deriv)

    def __radd__(self, other):
        return Dual(other + self.value, self.deriv)

    def __sub__(self, other):
        if isinstance(other, numbers.Real):
            return Dual(self.value - other, self.deriv)
        return Dual(self.value - other.value, self.deriv - other.deriv)

    def __rsub__(self, other):
        return Dual(other - self.value, -self.deriv)

    def __mul__(self, other):
        if isinstance(other, numbers.Real):
            return Dual(self.value * other, self.deriv * other)
        return Dual(self.value * other.value,
                    self.deriv * other.value + self.value * other.deriv)

    def __rmul__(self, other):
        return Dual(other * self.value, other * self.deriv)

    def __truediv__(self, other):
        if isinstance(other, numbers.Real):
            return Dual(self.value / other, self.deriv / other)
        q = self.value / other.value
        return Dual(q, (self.deriv - q * other.deriv) / other.value)

    def __rtruediv__(self, other):
        return Dual(other / self.value, -other * self.deriv / self.value**2)

    def __pow__(self, other):
        if isinstance(other, Dual):
            power = math.exp(other.value * math.log(self.value))
            return Dual(power, power * (other.value * self.deriv / self.value
                                        + math.log(self.value) * other.deriv))
        return Dual(self.value**other, other * self.value ** (other - 1) * self.deriv)

    def __rpow__(self, other):
        power = other**self.value
        return Dual(power, power * math.log(other) * self.deriv)

    def __neg__(self):
        return Dual(-self.value, -self.deriv)
'''),
    Alternative("dual_ops", "a parts() helper, reflected operators as aliases", '''\
import math


def parts(x):
    """(value, deriv) of a Dual, (x, 0.0) of a plain number."""
    return (x.value, x.deriv) if isinstance(x, Dual) else (x, 0.0)


class Dual:
    """A dual number value + deriv * eps, with eps**2 == 0."""

    __slots__ = ("value", "deriv")

    def __init__(self, value, deriv=0.0):
        self.value = value
        self.deriv = deriv

    def __repr__(self):
        return f"{self.value} + {self.deriv}ε"

    def __add__(self, other):
        c, d = parts(other)
        return Dual(self.value + c, self.deriv + d)

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return -self + other

    def __mul__(self, other):
        c, d = parts(other)
        return Dual(self.value * c, self.value * d + self.deriv * c)

    __rmul__ = __mul__

    def __truediv__(self, other):
        a, b = parts(self)
        c, d = parts(other)
        return Dual(a / c, (b * c - a * d) / (c * c))

    def __rtruediv__(self, other):
        return Dual(other, 0.0) / self

    def __pow__(self, other):
        a, b = parts(self)
        p, dp = parts(other)
        if dp == 0.0 and not isinstance(other, Dual):
            return Dual(a**p, p * a ** (p - 1) * b)
        return Dual(a**p, p * a ** (p - 1) * b + a**p * math.log(a) * dp)

    def __rpow__(self, other):
        return Dual(other) ** self

    def __neg__(self):
        return Dual(-self.value, -self.deriv)
'''),
]

# ----------------------------------------------------------------------- dual_functions

_SIN_BODY = ("    if isinstance(x, Dual):\n"
             "        return Dual(math.sin(x.value), math.cos(x.value) * x.deriv)\n"
             "    return math.sin(x)")

_DUAL_FUNCTIONS = [
    Mutant("dual_functions", "d cos = sin (minus sign forgotten)",
           _p("dual_functions", ("-math.sin(x.value) * x.deriv", "math.sin(x.value) * x.deriv")),
           r"d cos\(x\) = -sin\(x\) dx: the minus sign is missing"),
    Mutant("dual_functions", "exp without the chain rule (deriv exp(a), not b exp(a))",
           _p("dual_functions", ("return Dual(e, e * x.deriv)", "return Dual(e, e)")),
           r"you returned exp'\(a\) alone"),
    Mutant("dual_functions", "d log(x) = x dx instead of dx / x",
           _p("dual_functions", ("x.deriv / x.value", "x.deriv * x.value")),
           r"d log\(x\) = dx / x, not x dx"),
    Mutant("dual_functions", "d tanh = 1 - a**2 (the argument squared, not tanh(a))",
           _p("dual_functions", ("(1.0 - t * t) * x.deriv", "(1.0 - x.value**2) * x.deriv")),
           r"square tanh\(a\), the value part, not a itself"),
    Mutant("dual_functions", "d tanh = 1 + tanh**2",
           _p("dual_functions", ("(1.0 - t * t) * x.deriv", "(1.0 + t * t) * x.deriv")),
           r"not \(1 \+ tanh\(x\)\*\*2\) dx"),
    Mutant("dual_functions", "tanh forgets to multiply by the incoming derivative",
           _p("dual_functions", ("(1.0 - t * t) * x.deriv", "1.0 - t * t")),
           r"you returned tanh'\(a\) alone"),
    Mutant("dual_functions", "a float is lifted to a Dual and a Dual comes back",
           _p("dual_functions", (_SIN_BODY, "    x = Dual.lift(x)\n"
                                            "    return Dual(math.sin(x.value), "
                                            "math.cos(x.value) * x.deriv)")),
           r"a function of a\s+float must return a float"),
    Mutant("dual_functions", "sin overwrites its argument in place",
           _p("dual_functions", ("return Dual(math.sin(x.value), math.cos(x.value) * x.deriv)",
                                 "x.value, x.deriv = math.sin(x.value), "
                                 "math.cos(x.value) * x.deriv\n        return x")),
           r"changed its operand"),
    Mutant("dual_functions", "sin without the chain rule (deriv passed through)",
           _p("dual_functions", ("return Dual(math.sin(x.value), math.cos(x.value) * x.deriv)",
                                 "return Dual(math.sin(x.value), x.deriv)")),
           r"chain rule through sin not applied"),
    Mutant("dual_functions", "sin forgets to multiply by the incoming derivative",
           _p("dual_functions", ("return Dual(math.sin(x.value), math.cos(x.value) * x.deriv)",
                                 "return Dual(math.sin(x.value), math.cos(x.value))")),
           r"multiply sin'\(a\) = cos\(a\) by the incoming derivative"),
    Mutant("dual_functions", "exp of a float returns a 0-d numpy array",
           _p("dual_functions", ("return math.exp(x)", "return np.array(math.exp(x))")),
           r"a function of a\s+float must return a float"),
    Mutant("dual_functions", "tanh of a Dual returns the float tanh(a)",
           _p("dual_functions", ("return Dual(t, (1.0 - t * t) * x.deriv)", "return t")),
           r"the result is not a Dual"),
]

_DUAL_FUNCTIONS_ALT = [
    Alternative("dual_functions", "numpy's functions, on floats and on the parts of a Dual", '''\
def sin(x):
    """sin(a + b eps) = sin(a) + b cos(a) eps; a float gives sin(x)."""
    if isinstance(x, Dual):
        return Dual(np.sin(x.value), np.cos(x.value) * x.deriv)
    return np.sin(x)


def cos(x):
    """cos(a + b eps) = cos(a) - b sin(a) eps."""
    if isinstance(x, Dual):
        return Dual(np.cos(x.value), -np.sin(x.value) * x.deriv)
    return np.cos(x)


def exp(x):
    """exp(a + b eps) = exp(a) + b exp(a) eps."""
    if isinstance(x, Dual):
        return Dual(np.exp(x.value), np.exp(x.value) * x.deriv)
    return np.exp(x)


def log(x):
    """log(a + b eps) = log(a) + (b / a) eps."""
    if isinstance(x, Dual):
        return Dual(np.log(x.value), x.deriv / x.value)
    return np.log(x)


def tanh(x):
    """tanh(a + b eps) = tanh(a) + b (1 - tanh(a)**2) eps."""
    if isinstance(x, Dual):
        return Dual(np.tanh(x.value), x.deriv / np.cosh(x.value) ** 2)
    return np.tanh(x)
'''),
    Alternative("dual_functions", "one factory lifting (h, h') pairs, duck-typed", '''\
import math


def elementary(h, h_prime):
    """The dual version of h: h(a + b eps) = h(a) + b h'(a) eps; floats pass straight through."""
    def dual_h(x):
        if hasattr(x, "deriv"):
            return Dual(h(x.value), h_prime(x.value) * x.deriv)
        return h(x)
    return dual_h


sin = elementary(math.sin, math.cos)
cos = elementary(math.cos, lambda a: -math.sin(a))
exp = elementary(math.exp, math.exp)
log = elementary(math.log, lambda a: 1.0 / a)
tanh = elementary(math.tanh, lambda a: 1.0 - math.tanh(a) ** 2)
'''),
]

# --------------------------------------------------------------------------- derivative

_DERIV = "return float(f(Dual(x, 1.0)).deriv)"

_DERIVATIVE = [
    Mutant("derivative", "returned the value part instead of the derivative part",
           _p("derivative", (_DERIV, "return float(f(Dual(x, 1.0)).value)")),
           r"you returned the value part f\(x\)"),
    Mutant("derivative", "seeded with deriv 0.0",
           _p("derivative", (_DERIV, "return float(f(Dual(x, 0.0)).deriv)")),
           r"seed the input\s+with deriv 1\.0.*With 0 every derivative comes out 0"),
    Mutant("derivative", "returned the whole Dual",
           _p("derivative", (_DERIV, "return f(Dual(x, 1.0))")),
           r"returned a Dual .*return its derivative part"),
    Mutant("derivative", "two passes: one for the value, one for the derivative",
           _p("derivative", (_DERIV, "value = f(Dual(x, 0.0)).value\n"
                                     "    slope = f(Dual(x, 1.0)).deriv\n"
                                     "    return float(slope)")),
           r"called f 2 times: one forward pass"),
    Mutant("derivative", "central difference on floats instead of a dual pass",
           _p("derivative", (_DERIV, "h = 1e-6\n    return (f(x + h) - f(x - h)) / (2 * h)")),
           r"f received float .*not a Dual: call f\(Dual\(x, 1\.0\)\)"),
    Mutant("derivative", "evaluated at x + 1",
           _p("derivative", (_DERIV, "return float(f(Dual(x + 1, 1.0)).deriv)")),
           r"must be evaluated at x"),
    Mutant("derivative", "never calls f (returns 0.0)",
           _p("derivative", (_DERIV, "return 0.0")),
           r"never called f"),
]

_DERIVATIVE_ALT = [
    Alternative("derivative", "the pass named, deriv returned as it is", '''\
def derivative(f, x):
    """f'(x) from one forward pass."""
    result = f(Dual(float(x), deriv=1.0))
    return result.deriv
'''),
    Alternative("derivative", "value and derivative unpacked, a numpy float returned", '''\
def derivative(f, x):
    """f'(x) from one forward pass."""
    out = f(Dual(x, 1.0))
    _value, slope = out.value, out.deriv
    return np.float64(slope)
'''),
]

# --------------------------------------------------------------------- forward_gradient

_PASS_DUALS = ("    for i in range(len(x)):\n"
               "        duals = [Dual(float(v), 1.0 if j == i else 0.0) "
               "for j, v in enumerate(x)]\n")

_FORWARD_GRADIENT = [
    Mutant("forward_gradient", "seeds never reset: one list of Duals reused across passes",
           _p("forward_gradient", (_PASS_DUALS, "    duals = [Dual(float(v), 0.0) for v in x]\n"
                                                "    for i in range(len(x)):\n"
                                                "        duals[i].deriv = 1.0\n")),
           r"never reset to 0\.0"),
    Mutant("forward_gradient", "every input seeded with 1.0 in every pass",
           _p("forward_gradient", ("1.0 if j == i else 0.0", "1.0")),
           r"seeded EVERY input with deriv 1\.0"),
    Mutant("forward_gradient", "stored the value part instead of the derivative part",
           _p("forward_gradient", ("grad[i] = f(duals).deriv", "grad[i] = f(duals).value")),
           r"you stored the value part f\(x\)"),
    Mutant("forward_gradient", "partials stored in reverse order",
           _p("forward_gradient", ("grad[i] = f(duals).deriv",
                                   "grad[len(x) - 1 - i] = f(duals).deriv")),
           r"the partials are in reverse order"),
    Mutant("forward_gradient", "returned a list instead of a numpy array",
           _p("forward_gradient", ("return grad", "return list(grad)")),
           r"return a\s+numpy array"),
    Mutant("forward_gradient", "f called on one Dual instead of the list of n Duals",
           _p("forward_gradient", ("grad[i] = f(duals).deriv", "grad[i] = f(duals[i]).deriv")),
           r"f received a single Dual"),
    Mutant("forward_gradient", "stored the Duals themselves in an object array",
           _p("forward_gradient", ("grad = np.empty(len(x))",
                                   "grad = np.empty(len(x), dtype=object)"),
              ("grad[i] = f(duals).deriv", "grad[i] = f(duals)")),
           r"returned an array of objects"),
    Mutant("forward_gradient", "an extra pass with no input seeded (for the value)",
           _p("forward_gradient", ("    x = np.asarray(x, dtype=float)\n",
                                   "    x = np.asarray(x, dtype=float)\n"
                                   "    f([Dual(float(v), 0.0) for v in x])\n")),
           r"seeded no input"),
    Mutant("forward_gradient", "x changed in place after the passes",
           _p("forward_gradient", ("return grad", "x += 1.0\n    return grad")),
           r"modified x in place"),
    Mutant("forward_gradient", "f called with n arguments instead of one list",
           _p("forward_gradient", ("grad[i] = f(duals).deriv", "grad[i] = f(*duals).deriv")),
           r"ONE argument"),
    Mutant("forward_gradient", "only the first input seeded, its partial used for all",
           _p("forward_gradient", ("1.0 if j == i else 0.0", "1.0 if j == 0 else 0.0")),
           r"needs exactly n"),
]

_FORWARD_GRADIENT_ALT = [
    Alternative("forward_gradient", "seeds from the rows of the identity matrix", '''\
def forward_gradient(f, x):
    """Gradient of f: R^n -> R by n forward passes, pass i seeding input i."""
    x = np.asarray(x, dtype=float)
    seeds = np.eye(len(x))
    return np.array([f([Dual(v, s) for v, s in zip(x, row)]).deriv for row in seeds],
                    dtype=float)
'''),
    Alternative("forward_gradient", "a list of partials, np.fromiter over a generator", '''\
def forward_gradient(f, x):
    """Gradient of f: R^n -> R by n forward passes, pass i seeding input i."""
    values = [float(v) for v in x]
    n = len(values)

    def one_pass(i):
        return f([Dual(values[j], float(j == i)) for j in range(n)]).deriv

    return np.fromiter((one_pass(i) for i in range(n)), dtype=float, count=n)
'''),
]

MUTANTS = [*_DUAL_OPS, *_DUAL_FUNCTIONS, *_DERIVATIVE, *_FORWARD_GRADIENT]
ALTERNATIVES = [*_DUAL_OPS_ALT, *_DUAL_FUNCTIONS_ALT, *_DERIVATIVE_ALT, *_FORWARD_GRADIENT_ALT]

# The value-part candidate used to match the right value sin(0) = 0 = a first; it is now only
# offered where sin(a) differs from a, so the sign mistake is named.
MUTANTS.append(
    Mutant("dual_functions", "sign flip in d sin = cos",
           _p("dual_functions", ("math.cos(x.value) * x.deriv", "-math.cos(x.value) * x.deriv")),
           r"d sin\(x\) = \+cos\(x\) dx: the sign is wrong"),
)
