r"""Checkers for lesson 03-symbolic: ``diff`` and ``simplify`` on :mod:`course.expr` trees.

Oracle: sympy. An expression is converted with :func:`course.expr.to_sympy`, differentiated
with ``sympy.diff`` and evaluated with ``sympy.lambdify``; the student's result is evaluated
with :func:`course.expr.evaluate`. Answers are compared *by value* at random points of the
expression's domain (every sub-expression finite there), so any correct expression passes.

Fixed cases come first, ordered so that each differentiation rule (or each simplification
identity) is tested on its own before the rules are combined; seeded random expressions
follow. When a random expression fails, the checker looks for the *smallest* part of it
whose derivative is wrong while its own parts are right: that part's top node names the
broken rule.
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from course.checking import CheckFailed, Tolerance, call, fmt, passed
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
    children,
    cos,
    evaluate,
    exp,
    log,
    sin,
    size,
    subexpressions,
    to_sympy,
    variables,
)

__all__ = [
    "DIFF_EDGES",
    "DIFF_RULES",
    "SIMPLIFY_EDGES",
    "check_diff",
    "check_diff_property",
    "check_simplify",
    "check_simplify_property",
    "expressions",
    "random_expression",
]

#: Derivatives written in different but equivalent forms differ by round-off only.
_DERIVATIVE = Tolerance(rtol=1e-7, atol=1e-9)
#: Simplification may fold constants in another order: round-off again.
_VALUE = Tolerance(rtol=1e-9, atol=1e-11)

#: Points are drawn from this box; a point is kept when every sub-expression is finite
#: and no larger than _BOUND there (so that we stay away from poles and overflow), and the
#: base of every power with an exponent below 1 is at least _TINY away from 0 (where the
#: power rule's u**(n - 1) is undefined).
_BOX = (-2.5, 2.5)
_BOUND = 1e6
_TINY = 1e-6
_POINTS = 40
_MIN_POINTS = 4

_NODE_TYPES = (Const, Var, Add, Mul, Pow, Sin, Cos, Exp, Log)
_MAX_NODES = 200_000

#: The rule that differentiates each kind of node, as the failure messages state it.
DIFF_RULES: dict[type, str] = {
    Const: "constant rule: d/dx c = 0",
    Var: "variable rule: d/dx x = 1, and d/dx y = 0 for any other variable y",
    Add: "sum rule: d(u + v) = du + dv",
    Mul: "product rule: d(u * v) = du * v + u * dv",
    Pow: "power rule with the chain rule: d(u**n) = n * u**(n - 1) * du",
    Sin: "chain rule through sin: d sin(u) = cos(u) * du",
    Cos: "chain rule through cos: d cos(u) = -sin(u) * du",
    Exp: "chain rule through exp: d exp(u) = exp(u) * du",
    Log: "chain rule through log: d log(u) = du / u",
}


# ------------------------------------------------------------------- helpers


def _show(expr: Expr, limit: int = 160) -> str:
    """An expression as text for a message, shortened when long."""
    try:
        text = str(expr)
    except RecursionError:
        return f"<an expression too deep to print, size {size(expr)}>"
    if len(text) > limit:
        return f"{text[: limit - 5]} ... (size {size(expr)})"
    return text


def _show_sympy(obj, limit: int = 160) -> str:
    text = str(obj)
    return text if len(text) <= limit else text[: limit - 5] + " ..."


def _validate(result, *, what: str) -> Expr:
    """Raise CheckFailed unless ``result`` is a well-formed expression tree."""
    if result is None:
        raise CheckFailed(
            f"{what} returned None: did you forget a `return`, or a `case` for some kind of node?"
        )
    if not isinstance(result, Expr):
        hint = (f" Wrap numbers as expressions, e.g. `Const({result!r})`."
                if isinstance(result, int | float) else "")
        raise CheckFailed(
            f"{what} returned {type(result).__name__} {fmt(result)}, not an expression "
            f"(Const, Var, Add, Mul, Pow, Sin, Cos, Exp or Log).{hint}"
        )
    stack: list[Expr] = [result]
    visited = 0
    while stack:
        node = stack.pop()
        visited += 1
        if visited > _MAX_NODES:
            raise CheckFailed(
                f"{what} has more than {_MAX_NODES:,} nodes: far more than these small "
                "expressions need (or the tree refers back to itself)."
            )
        if type(node) not in _NODE_TYPES:
            raise CheckFailed(
                f"{what} contains {type(node).__name__} {fmt(node)}, which is not an expression "
                "node; build results only from Const, Var, Add, Mul, Pow, Sin, Cos, Exp and Log "
                "(the operators + - * / ** do that for you)."
            )
        if isinstance(node, Const) and not _is_number(node.value):
            raise CheckFailed(
                f"{what} contains Const({node.value!r}): a Const holds a plain real number "
                f"(an int or a float), not {type(node.value).__name__}."
            )
        if isinstance(node, Var) and not isinstance(node.name, str):
            raise CheckFailed(f"{what} contains Var({node.name!r}): a Var holds a name (a str).")
        if isinstance(node, Pow) and not _is_number(node.exponent):
            raise CheckFailed(
                f"{what} contains Pow({_show(node.base, 60)}, {node.exponent!r}): the exponent of "
                "a Pow must be a plain number such as `n - 1`, not an expression like "
                "`Const(n - 1)`."
            )
        for child in children(node):
            if not isinstance(child, Expr):
                raise CheckFailed(
                    f"{what} contains {type(node).__name__} with the part {fmt(child)}, "
                    "which is not an expression (wrap numbers with Const)."
                )
            stack.append(child)
    return result


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool
    )


def _node_values(expr: Expr, env: dict[str, np.ndarray], ok: list[np.ndarray]) -> np.ndarray:
    """Evaluate ``expr`` node by node with numpy; append to ``ok`` where each node behaves."""
    match expr:
        case Const(value):
            result = np.full(_shape(env), float(value))
        case Var(name):
            result = np.asarray(env[name], dtype=float)
        case Add(left, right):
            result = _node_values(left, env, ok) + _node_values(right, env, ok)
        case Mul(left, right):
            result = _node_values(left, env, ok) * _node_values(right, env, ok)
        case Pow(base, exponent):
            base_value = _node_values(base, env, ok)
            result = np.power(base_value, float(exponent))
            if exponent < 1:  # n * u**(n - 1) is undefined where u == 0
                ok.append(np.abs(base_value) >= _TINY)
        case Sin(arg):
            result = np.sin(_node_values(arg, env, ok))
        case Cos(arg):
            result = np.cos(_node_values(arg, env, ok))
        case Exp(arg):
            result = np.exp(_node_values(arg, env, ok))
        case Log(arg):
            result = np.log(_node_values(arg, env, ok))
        case _:
            raise TypeError(f"not an expression node: {expr!r}")
    ok.append(np.isfinite(result) & (np.abs(result) <= _BOUND))
    return result


def _domain(expr: Expr, rng: np.random.Generator, names: Sequence[str] = ()) -> dict | None:
    """Random points where every part of ``expr`` is finite and moderate, or None."""
    all_names = sorted(variables(expr) | set(names)) or ["x"]
    for _ in range(4):
        env = {name: rng.uniform(*_BOX, _POINTS) for name in all_names}
        ok: list[np.ndarray] = []
        with np.errstate(all="ignore"):
            _node_values(expr, env, ok)
        mask = np.logical_and.reduce(ok)
        if mask.sum() >= _MIN_POINTS:
            return {name: values[mask] for name, values in env.items()}
    return None


def _shape(env: dict[str, np.ndarray]) -> tuple[int, ...]:
    return next(iter(env.values())).shape


@functools.lru_cache(maxsize=4096)
def _lambdified(obj, names: tuple[str, ...]) -> Callable:
    """``sympy.lambdify`` of ``obj`` over ``names``, made once per expression: making one
    takes about a millisecond, and checks meet the same expressions again (the parts of
    a tree, and every submission's replay of the same examples)."""
    import sympy

    return sympy.lambdify([sympy.Symbol(n) for n in names], obj, modules="numpy")


def _sympy_values(obj, env: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate a sympy expression at the points of ``env`` with ``sympy.lambdify``."""
    names = sorted(env)
    fn = _lambdified(obj, tuple(names))
    with np.errstate(all="ignore"):
        value = np.asarray(fn(*(env[n] for n in names)))
        if np.iscomplexobj(value):  # a real result computed through complex intermediates
            real = np.abs(value.imag) <= 1e-12 * (1 + np.abs(value.real))
            value = np.where(real, value.real, np.nan)
    return np.broadcast_to(value.astype(float), _shape(env))


def _student_values(result: Expr, env: dict[str, np.ndarray], *, what: str) -> np.ndarray:
    """Evaluate the student's expression at the points, explaining any problem."""
    extra = sorted(variables(result) - set(env))
    if extra:
        raise CheckFailed(
            f"{what} contains the variable {extra[0]!r}, which the expression does not have."
        )
    value = call(evaluate, result, env, name=f"evaluate({what})").value
    return np.broadcast_to(np.asarray(value, dtype=float), _shape(env))


def _point(env: dict[str, np.ndarray], index: int) -> str:
    return ", ".join(f"{name} = {fmt(float(values[index]), precision=6)}"
                     for name, values in sorted(env.items()))


def _first_bad(got: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> int | None:
    bad = ~np.isclose(got, expected, rtol=tolerance.rtol, atol=tolerance.atol)
    return int(np.argmax(bad)) if bad.any() else None


def _matches(got: np.ndarray, candidate: np.ndarray, tolerance: Tolerance) -> bool:
    candidate = np.broadcast_to(np.asarray(candidate, dtype=float), got.shape)
    return bool(np.all(np.isfinite(candidate))) and bool(
        np.allclose(got, candidate, rtol=tolerance.rtol, atol=tolerance.atol)
    )


# --------------------------------------------------------- random expressions

_CONSTANTS = (0, 1, 2, 3, -1, 0.5, -2.5)
_EXPONENTS = (0, 1, 2, 3, -1, -2, 0.5)
_NAMES = ("x", "y")


def random_expression(
    rng: np.random.Generator,
    depth: int = 3,
    names: Sequence[str] = _NAMES,
    *,
    identities: float = 0.0,
) -> Expr:
    """A random expression tree of at most ``depth`` levels of operations.

    With ``identities > 0`` each node is, with that probability, dressed up in one of the
    identities simplify removes (``e + 0``, ``1 * e``, ``e * 0``, ``e**1``, ``e**0``,
    ``(2 + 3) * e``), so that simplify has work to do.
    """
    if depth <= 0 or rng.random() < 0.2:
        if rng.random() < 0.7:
            node: Expr = Var(str(rng.choice(list(names))))
        else:
            node = Const(_CONSTANTS[int(rng.integers(len(_CONSTANTS)))])
    else:
        kind = int(rng.choice(9, p=[0.18, 0.22, 0.14, 0.09, 0.09, 0.07, 0.08, 0.07, 0.06]))

        def sub() -> Expr:
            return random_expression(rng, depth - 1, names, identities=identities)

        if kind == 0:
            node = Add(sub(), sub())
        elif kind == 1:
            node = Mul(sub(), sub())
        elif kind == 2:
            node = Pow(sub(), _EXPONENTS[int(rng.integers(len(_EXPONENTS)))])
        elif kind == 3:
            node = Sin(sub())
        elif kind == 4:
            node = Cos(sub())
        elif kind == 5:
            node = Exp(sub())
        elif kind == 6:
            node = Log(sub())
        elif kind == 7:
            node = sub() - sub()
        else:
            node = sub() / sub()
    if identities and rng.random() < identities:
        dress = int(rng.integers(6))
        node = [
            Add(node, Const(0)), Mul(Const(1), node), Add(Mul(node, Const(0)), Var(names[0])),
            Pow(node, 1), Add(Pow(node, 0), node), Mul(Add(Const(2), Const(3)), node),
        ][dress]
    return node


def choices(options: Sequence):
    """A hypothesis strategy for one of ``options``, drawn with booleans only.

    Each boolean halves the options (``False`` keeps the first half, so examples shrink
    towards ``options[0]``). Hypothesis mixes constants found in the loaded local modules
    into its integer, float and text draws, never into booleans: examples drawn from
    booleans alone, with ``derandomize=True``, are the same in every process, whatever it
    imported. A check replayed by the grader must meet the examples the student's kernel
    met.
    """
    from hypothesis import strategies as st

    options = tuple(options)

    @st.composite
    def choice(draw):
        low, high = 0, len(options)
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if draw(st.booleans()) else (low, middle)
        return options[low]

    return choice()


def expressions(names: Sequence[str] = _NAMES, max_leaves: int = 10, *, identities: bool = False):
    """A hypothesis strategy for expression trees of about ``max_leaves`` leaves at most
    (imports hypothesis when called); drawn with booleans only (see :func:`choices`).

    A node grows (rather than being a leaf) when either of two booleans is true, so trees
    are big enough to combine rules and shrink towards a single leaf.
    """
    from hypothesis import strategies as st

    unary = [lambda a, e: Pow(a, e), lambda a, e: Sin(a), lambda a, e: Cos(a),
             lambda a, e: Exp(a), lambda a, e: Log(a)]
    if identities:
        unary += [lambda a, e: Add(a, Const(0)), lambda a, e: Mul(Const(1), a),
                  lambda a, e: Mul(a, Const(0)), lambda a, e: Pow(a, 1),
                  lambda a, e: Pow(a, 0)]
    binary = [Add, Mul, lambda a, b: a - b, lambda a, b: a / b]
    leaves, exponents = choices(range(2)), choices(_EXPONENTS)
    variables, constants = choices(names), choices(_CONSTANTS)
    kinds = choices([(True, rule) for rule in binary] + [(False, rule) for rule in unary])

    @st.composite
    def tree(draw):
        budget = 2 * max_leaves  # nodes, so that a chain of unary nodes ends too

        def grow():
            nonlocal budget
            budget -= 1
            if budget <= 0 or not (draw(st.booleans()) or draw(st.booleans())):
                return Var(draw(variables)) if draw(leaves) == 0 else Const(draw(constants))
            two, rule = draw(kinds)
            return rule(grow(), grow()) if two else rule(grow(), draw(exponents))

        return grow()

    return tree()


@contextlib.contextmanager
def _hypothesis_quietly() -> Iterator[None]:
    """Run hypothesis without printing its warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _hypothesis_settings(max_examples: int):
    from hypothesis import HealthCheck, Phase, settings

    return settings(
        database=None, derandomize=True, deadline=None, max_examples=max_examples,
        suppress_health_check=list(HealthCheck), report_multiple_bugs=False, print_blob=False,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )


def _run_search(test: Callable[[], None], what: str) -> None:
    """Run a hypothesis test; a failure becomes one CheckFailed about the smallest example."""
    try:
        with _hypothesis_quietly(), contextlib.redirect_stdout(io.StringIO()):
            test()
    except CheckFailed as failure:
        raise CheckFailed(
            f"a search over random expressions (hypothesis) found {what}; this is the "
            f"smallest example it could find:\n{failure}"
        ) from None


# ======================================================================== diff


@dataclass(frozen=True)
class _DiffCase:
    expr: Expr
    name: str


def _diff_cases() -> list[_DiffCase]:
    """Fixed cases, each rule on its own first, then combinations."""
    x, y = Var("x"), Var("y")
    cases = [
        # constant, variable, other variable
        (Const(5), "x"), (Const(-2.5), "y"), (x, "x"), (y, "y"), (y, "x"), (x, "y"),
        # sum rule
        (x + y, "x"), (x + 3, "x"), (x + x, "x"), (Add(y, x), "x"),
        # product rule
        ((x + 1) * (x + y), "x"), ((x + y) * (x + 2), "x"), (x * x, "x"), (x * y, "y"),
        (3 * x, "x"), (x * 3, "x"),
        # power rule, then the chain rule through a power
        (x**3, "x"), (x**2, "x"), (x**0.5, "x"), (x**-2, "x"), (x**1, "x"), (x**0, "x"),
        ((3 * x) ** 2, "x"), ((x + y) ** 3, "y"), ((x * y) ** -1, "x"),
        # quotients are built from Pow(-1)
        (x**-1, "x"), (1 / x, "x"), (x / (x + 1), "x"), ((x + y) / (x * y), "x"),
        # sin, cos, exp, log and the chain rule through each
        (sin(x), "x"), (sin(x**2), "x"), (sin(3 * x + y), "x"),
        (cos(x), "x"), (cos(x * y), "y"), (cos(x**2 + 1), "x"),
        (exp(x), "x"), (exp(2 * x), "x"), (exp(-(x**2) / 2), "x"),
        (log(x), "x"), (log(x**2 + 1), "x"), (log(x * y), "y"),
        # the lesson's computational graph, and lesson 01's f
        (5 + x * y, "x"), (5 + x * y, "y"),
        (x**2 * y + y + 2, "x"), (x**2 * y + y + 2, "y"),
        # combinations
        (sin(x) * exp(x), "x"), (exp(sin(x) ** 2), "x"), (log(1 + exp(x)), "x"),
        (1 / (1 + exp(-x)), "x"), ((exp(x) - exp(-x)) / (exp(x) + exp(-x)), "x"),
        (x * sin(1 / x), "x"), (cos(x) ** 2 + sin(x) ** 2, "x"),
        # a variable that does not occur at all
        (sin(x) * y, "z"),
    ]
    return [_DiffCase(expr, name) for expr, name in cases]


@dataclass
class _Oracle:
    """Values of a sub-expression and of its derivative at the points (from sympy)."""

    value: np.ndarray | None
    deriv: np.ndarray
    deriv_text: str


def _oracle(expr: Expr, name: str, env: dict[str, np.ndarray], *,
            with_value: bool = False) -> _Oracle:
    import sympy

    sym = to_sympy(expr)
    deriv = sympy.diff(sym, sympy.Symbol(name))
    value = _sympy_values(sym, env) if with_value else None
    return _Oracle(value, _sympy_values(deriv, env), _show_sympy(deriv))


def _diff_mistakes(
    expr: Expr, name: str, env: dict[str, np.ndarray]
) -> Iterator[tuple[str, np.ndarray]]:
    """Values that known wrong rules would give for the top node of ``expr``."""
    parts = [_oracle(child, name, env, with_value=True) for child in children(expr)]
    with np.errstate(all="ignore"):
        match expr:
            case Const(c):
                yield "the derivative of a constant is 0, not 1.", np.ones(_shape(env))
                yield ("you returned the constant itself; the derivative of a constant is 0.",
                       np.full(_shape(env), float(c)))
            case Var(n) if n == name:
                yield (f"d/d{name} {name} = 1: compare the Var's name with `name` "
                       "(you returned 0 for the very variable you differentiate by).",
                       np.zeros(_shape(env)))
                yield ("you returned the variable itself; d/dx x is Const(1).", env[n])
            case Var(n):
                yield (f"derivative of a different variable is not 0: d/d{name} {n} = 0, "
                       f"because {n} does not change when {name} does. (Careful: "
                       "`case Var(name):` would overwrite the parameter `name`; capture the "
                       "variable's name under another name, e.g. `case Var(v):`.)",
                       np.ones(_shape(env)))
                yield ("you returned the variable itself; the derivative of another variable "
                       "is Const(0).", env[n])
            case Add():
                u, v = parts
                yield "sum rule missing a term: d(u + v) = du + dv (dv is missing).", u.deriv
                yield "sum rule missing a term: d(u + v) = du + dv (du is missing).", v.deriv
                yield "sum rule: add the derivatives, d(u + v) = du + dv.", u.deriv * v.deriv
            case Mul():
                u, v = parts
                yield ("product rule missing a term: d(u * v) = du * v + u * dv "
                       "(the u * dv term is missing).", u.deriv * v.value)
                yield ("product rule missing a term: d(u * v) = du * v + u * dv "
                       "(the du * v term is missing).", u.value * v.deriv)
                yield ("product rule: d(u * v) is du * v + u * dv, not du * dv.",
                       u.deriv * v.deriv)
                yield ("product rule: the two terms du * v and u * dv are added, not "
                       "subtracted.", u.deriv * v.value - u.value * v.deriv)
                yield ("product rule: the two terms du * v and u * dv are added, not "
                       "subtracted.", u.value * v.deriv - u.deriv * v.value)
                yield ("product rule with the factors swapped: d(u * v) = du * v + u * dv, "
                       "not du * u + dv * v.", u.deriv * u.value + v.deriv * v.value)
            case Pow(_, n):
                (u,) = parts
                yield (f"power rule exponent not decreased: d(u**{fmt(n)}) = {fmt(n)} * "
                       f"u**{fmt(n - 1)} * du, the new exponent is n - 1.",
                       n * np.power(u.value, n) * u.deriv)
                yield (f"power rule exponent increased instead of decreased: the new exponent "
                       f"is n - 1 = {fmt(n - 1)}.", n * np.power(u.value, n + 1) * u.deriv)
                factor = (" (for a quotient, u**-1, the factor n = -1 gives the minus sign "
                          "of d(1/u) = -du / u**2)" if n == -1 else "")
                yield (f"power rule missing the factor n: d(u**n) = n * u**(n - 1) * du"
                       f"{factor}.", np.power(u.value, n - 1) * u.deriv)
                if n < 0:
                    yield (f"power rule: the factor n = {fmt(n)} is negative, keep its sign "
                           "(for a quotient, u**-1, it gives the minus sign of "
                           "d(1/u) = -du / u**2).", -n * np.power(u.value, n - 1) * u.deriv)
                yield ("chain rule through a power not applied: multiply n * u**(n - 1) by "
                       "the derivative of the base u.", n * np.power(u.value, n - 1))
                yield ("power rule: the factor is n, not n - 1.",
                       (n - 1) * np.power(u.value, n - 1) * u.deriv)
            case Sin():
                (u,) = parts
                yield ("chain rule through sin not applied: d sin(u) = cos(u) * du, multiply "
                       "by the derivative of the inside.", np.cos(u.value))
                yield "d sin(u) = +cos(u) * du: the sign is wrong.", -np.cos(u.value) * u.deriv
                yield ("d sin(u) = +cos(u) * du: the sign is wrong and the chain rule is not "
                       "applied.", -np.cos(u.value))
                yield "d sin(u) is cos(u) * du, not sin(u) * du.", np.sin(u.value) * u.deriv
            case Cos():
                (u,) = parts
                yield ("d cos(u) = -sin(u) * du: the minus sign is missing.",
                       np.sin(u.value) * u.deriv)
                yield ("chain rule through cos not applied: d cos(u) = -sin(u) * du, multiply "
                       "by the derivative of the inside.", -np.sin(u.value))
                yield ("chain rule through cos not applied and the minus sign missing: "
                       "d cos(u) = -sin(u) * du.", np.sin(u.value))
            case Exp():
                (u,) = parts
                yield ("chain rule through exp not applied: d exp(u) = exp(u) * du, multiply "
                       "by the derivative of the inside.", np.exp(u.value))
                yield "d exp(u) = exp(u) * du, not exp(du).", np.exp(u.deriv)
            case Log():
                (u,) = parts
                yield ("chain rule through log not applied: d log(u) = du / u, multiply 1/u "
                       "by the derivative of the inside.", 1 / u.value)
                yield "d log(u) = du / u, not du * u.", u.deriv * u.value
                yield "d log(u) = du / u, not du / u**2.", u.deriv / u.value**2
                yield "d log(u) = du / u, not -du / u.", -u.deriv / u.value


def _diff_wrong_here(diff: Callable, expr: Expr, name: str,
                     env: dict[str, np.ndarray]) -> tuple | None:
    """None if diff(expr, name) is right at the points, else the evidence."""
    what = f'diff({_show(expr, 60)}, "{name}")'
    result = _validate(call(diff, expr, name, name="diff", inputs={"expr": _show(expr),
                                                                   "name": name}).value,
                       what=what)
    oracle = _oracle(expr, name, env)
    keep = np.isfinite(oracle.deriv) & (np.abs(oracle.deriv) <= _BOUND)
    if keep.sum() == 0:
        return None
    env = {n: v[keep] for n, v in env.items()}
    expected = oracle.deriv[keep]
    with np.errstate(all="ignore"):
        got = _student_values(result, env, what=what)
    bad = _first_bad(got, expected, _DERIVATIVE)
    if bad is None:
        return None
    return result, oracle, env, expected, got, bad


def _smallest_failure(diff: Callable, expr: Expr, name: str, env: dict) -> tuple | None:
    """The smallest part of ``expr`` whose derivative is wrong while its parts are right."""
    for child in children(expr):
        found = _smallest_failure(diff, child, name, env)
        if found is not None:
            return found
    evidence = _diff_wrong_here(diff, expr, name, env)
    return None if evidence is None else (expr, evidence)


def _check_diff_one(diff: Callable, expr: Expr, name: str, env: dict[str, np.ndarray]) -> None:
    evidence = _diff_wrong_here(diff, expr, name, env)
    if evidence is None:
        return
    part, (result, oracle, part_env, expected, got, bad) = (
        _smallest_failure(diff, expr, name, env) or (expr, evidence))
    header = f'diff(expr, "{name}") is wrong for expr = {_show(expr)}'
    if part != expr:
        header += (f"\n  the smallest part whose derivative is wrong (its own parts are right): "
                   f"{_show(part)}")
    diagnosis = None
    for explanation, values in _diff_mistakes(part, name, part_env):
        if _matches(got, values, _DERIVATIVE):
            diagnosis = explanation
            break
    rule = DIFF_RULES[type(part)]
    message = (
        f"{header}\n"
        f'  diff({_show(part, 60)}, "{name}") returned: {_show(result)}\n'
        f"  expected (sympy): {oracle.deriv_text}\n"
        f"  at {_point(part_env, bad)}: expected {fmt(float(expected[bad]))}, "
        f"got {fmt(float(got[bad]))}"
    )
    if not np.all(np.isfinite(got)):
        message += "\n  note: your derivative is nan or inf at some points where it is defined."
    message += f"\n  likely mistake: {diagnosis or 'check the ' + rule}"
    if diagnosis:
        message += f"\n  rule: {rule}"
    raise CheckFailed(message)


# Edge kinds the random cases reach in every run by construction, not by chance: each
# core wraps random subexpressions, drawn from a child generator (``rng.spawn``) so that
# the plain random cases stay those of the seed.


def _sub(rng: np.random.Generator) -> Expr:
    return random_expression(rng, depth=int(rng.integers(1, 3)))


def _in_x(rng: np.random.Generator) -> Expr:
    """A random expression that uses x."""
    pick = int(rng.integers(3))
    return [Var("x"), Add(Var("x"), _sub(rng)), Mul(_sub(rng), Var("x"))][pick]


#: ``kind -> core(rng) = (expr, name)`` for diff.
DIFF_EDGES: dict[str, Callable[[np.random.Generator], tuple[Expr, str]]] = {
    "exponent 0": lambda rng: (Pow(_in_x(rng), 0), "x"),
    "exponent 1": lambda rng: (Pow(_in_x(rng), 1), "x"),
    "a negative exponent (a quotient)": lambda rng: (Pow(_in_x(rng), -1 - int(rng.integers(2))),
                                                     "x"),
    "a fractional exponent (defined for a positive base)": lambda rng: (Pow(_in_x(rng), 0.5),
                                                                        "x"),
    "x in both factors of a product": lambda rng: (Mul(_in_x(rng), _in_x(rng)), "x"),
    "x in a denominator": lambda rng: (_sub(rng) / _in_x(rng), "x"),
    "a function of a function of x": lambda rng: (
        [Sin, Cos, Exp, Log][int(rng.integers(4))]([Sin, Cos, Exp][int(rng.integers(3))](
            _in_x(rng))), "x"),
    "a variable the expression does not use": lambda rng: (_sub(rng), "z"),
}

_DRESSINGS = {
    "e + 0": lambda e: Add(e, Const(0)),
    "1 * e": lambda e: Mul(Const(1), e),
    "e * 0": lambda e: Add(Mul(e, Const(0)), Var("x")),
    "e**1": lambda e: Pow(e, 1),
    "e**0": lambda e: Add(Pow(e, 0), e),
    "(2 + 3) * e": lambda e: Mul(Add(Const(2), Const(3)), e),
}

def _dressed(dress: Callable[[Expr], Expr]) -> Callable[[np.random.Generator], Expr]:
    """The core that dresses a random subexpression in ``dress``."""
    return lambda rng: dress(_sub(rng))


#: ``kind -> core(rng)`` for simplify: each identity on a random subexpression, an identity
#: inside another, constants that fold only once their children are simplified, and a
#: zero factor next to a part defined only for some x.
SIMPLIFY_EDGES: dict[str, Callable[[np.random.Generator], Expr]] = {
    **{f"{name} on a random expression": _dressed(dress) for name, dress in _DRESSINGS.items()},
    "an identity inside another": lambda rng: list(_DRESSINGS.values())[int(rng.integers(6))](
        list(_DRESSINGS.values())[int(rng.integers(6))](_sub(rng))),
    "constants that fold only bottom-up": lambda rng: Mul(
        Add(Mul(Const(1), Const(2)), Add(Const(3), Const(0))), _sub(rng)),
    "a zero factor next to a log": lambda rng: Add(Mul(Log(_in_x(rng)), Const(0)),
                                                    _sub(rng)),
}


def _diff_edge_case(kind: str, rng: np.random.Generator) -> tuple[Expr, str, dict]:
    """A random expression with the edge ``kind``, for diff, with its domain."""
    while True:
        expr, name = DIFF_EDGES[kind](rng)
        env = _domain(expr, rng, names=[name])
        if env is not None:
            return expr, name, env


def _simplify_edge_case(kind: str, rng: np.random.Generator) -> tuple[Expr, dict]:
    """A random expression with the edge ``kind``, for simplify, with its domain."""
    while True:
        expr = SIMPLIFY_EDGES[kind](rng)
        env = _domain(expr, rng)
        if env is not None:
            return expr, env


def _random_diff_cases(rng: np.random.Generator, trials: int) -> Iterator[tuple[Expr, str, dict]]:
    """One expression of each edge kind in :data:`DIFF_EDGES`, then ``trials`` random ones."""
    edges = rng.spawn(1)[0]
    for kind in DIFF_EDGES:
        yield _diff_edge_case(kind, edges)
    made = 0
    while made < trials:
        expr = random_expression(rng, depth=int(rng.integers(2, 5)))
        name = str(rng.choice(["x", "y", "x", "y", "z"]))
        env = _domain(expr, rng, names=[name])
        if env is None:
            continue
        made += 1
        yield expr, name, env


def check_diff(diff: Callable, *, seed: int = 0, trials: int = 30) -> None:
    r"""``diff(expr, name)`` has the value of sympy's derivative at random points of the domain.

    Fixed cases test each rule alone (constant, variable, sum, product, power, quotient,
    chain rule through sin, cos, exp, log), then ``5 + x*y`` and combinations; then
    one random expression of each kind in :data:`DIFF_EDGES`; then ``trials`` random
    expressions from ``np.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    count = 0
    for case in _diff_cases():
        env = _domain(case.expr, rng, names=[case.name])
        assert env is not None, f"fixed case without a domain: {case.expr}"
        _check_diff_one(diff, case.expr, case.name, env)
        count += 1
    for expr, name, env in _random_diff_cases(rng, trials):
        _check_diff_one(diff, expr, name, env)
        count += 1
    passed("diff", f"{count} expressions ({len(DIFF_EDGES)} edge kinds, {trials} random) agree "
                   "with sympy.diff at random points")


def check_diff_property(diff: Callable, *, max_examples: int = 100) -> None:
    """Hypothesis searches for an expression whose derivative is wrong (deterministically)."""
    from hypothesis import assume, given

    @_hypothesis_settings(max_examples)
    @given(expressions(), choices(["x", "y", "z"]))
    def derivative_agrees_with_sympy(expr, name):
        env = _domain(expr, np.random.default_rng(0), names=[name])
        assume(env is not None)
        _check_diff_one(diff, expr, name, env)

    _run_search(derivative_agrees_with_sympy, "a wrong derivative")
    passed("diff", f"hypothesis found no wrong derivative in {max_examples} expressions")


# ==================================================================== simplify


@dataclass(frozen=True)
class _SimplifyCase:
    """``expr`` should simplify to something no larger than ``target`` with the same value."""

    identity: str
    expr: Expr
    target: Expr
    wrong: tuple[tuple[Expr, str], ...] = ()


def _simplify_cases() -> list[_SimplifyCase]:
    x, y = Var("x"), Var("y")
    c = Const
    zero, one = c(0), c(1)
    s = _SimplifyCase
    return [
        # each identity on its own, at the top of the tree
        s("x + 0 -> x", Add(sin(x), zero), sin(x), ((zero, "x + 0 is x, not 0."),)),
        s("0 + x -> x", Add(zero, x * y), x * y, ((zero, "0 + x is x, not 0."),)),
        s("x * 1 -> x", Mul(exp(x), one), exp(x), ((one, "x * 1 is x, not 1."),)),
        s("1 * x -> x", Mul(one, x + y), x + y, ((one, "1 * x is x, not 1."),)),
        s("x * 0 -> 0", Mul(log(x), zero), zero, ((log(x), "x * 0 is 0, not x."),)),
        s("0 * x -> 0", Mul(zero, x + y), zero, ((x + y, "0 * x is 0, not x."),)),
        s("x**1 -> x", Pow(cos(x), 1), cos(x), ((one, "x**1 is x, not 1."),)),
        s("x**0 -> 1", Pow(x + y, 0), one,
          ((zero, "x**0 is 1, not 0."), (x + y, "x**0 is 1, not x."))),
        s("x**1 -> x (the exponent 1.0 that the power rule makes from 2.0)", Pow(sin(x), 1.0),
          sin(x), ((one, "x**1 is x, not 1."),)),
        # constant folding
        s("constant folding of +: Const(a) + Const(b) -> Const(a + b)", Add(c(2), c(3)), c(5),
          ((c(6), "you multiplied the constants of a sum."),)),
        s("constant folding of *: Const(a) * Const(b) -> Const(a * b)", Mul(c(2), c(3)), c(6),
          ((c(5), "you added the constants of a product."),)),
        s("constant folding of *: Const(a) * Const(b) -> Const(a * b)", Mul(c(-1), c(4)), c(-4),
          ((c(4), "the sign of the product is lost."),)),
        s("constant folding of +: Const(a) + Const(b) -> Const(a + b)", Add(c(0.5), c(-2.5)),
          c(-2)),
        # inside other nodes: simplify the children too
        s("simplify inside sin", sin(Mul(x, one)), sin(x)),
        s("simplify inside cos", cos(Add(x, zero)), cos(x)),
        s("simplify inside exp", exp(Mul(one, x)), exp(x)),
        s("simplify inside log", log(Pow(x, 1)), log(x)),
        s("simplify inside a power", Pow(Mul(x, one), 3), x**3),
        s("simplify both sides of +", Add(Mul(x, one), Add(y, zero)), x + y),
        s("simplify both sides of *", Mul(Add(zero, x), Pow(y, 1)), x * y),
        # bottom-up: children first, then look at the node again
        s("children first: (x * 0) + y -> 0 + y -> y", Add(Mul(x, zero), y), y),
        s("children first: (2 + 3) * x -> 5 * x", Mul(Add(c(2), c(3)), x), Mul(c(5), x)),
        s("children first: x**(...) with x + 0 inside, then **1", Pow(Add(x, zero), 1), x),
        s("children first: ((x * 1) * 1) * 1 -> x", Mul(Mul(Mul(x, one), one), one), x),
        s("children first: (2 + 3) * (4 * 1) -> 20", Mul(Add(c(2), c(3)), Mul(c(4), one)),
          c(20)),
        s("children first: x - 0 = x + (-1) * 0 -> x", x - 0, x),
        s("children first: sin(x)**0 * (1 * 1) -> 1", Pow(sin(x), 0) * Mul(one, one), one),
        s("the derivative of g = 5 + x*y by the rules: 0 + (1 * y + x * 0) -> y",
          Add(zero, Add(Mul(one, y), Mul(x, zero))), y),
        # already simple: only the value matters, and the size must not grow
        s("nothing to simplify", sin(x) * x**2, sin(x) * x**2),
        s("nothing to simplify", x - x, x - x),
        s("nothing to simplify", x / y, x / y),
        # look-alikes of the identities that must keep their value
        s("only a factor 1 may be dropped: x * (-1) is -x", Mul(x, c(-1)), Mul(x, c(-1)),
          ((x, "x * (-1) is -x, not x: only a factor 1 may be dropped."),)),
        s("only a term 0 may be dropped: 1 + x is not x", Add(one, x), Add(one, x),
          ((x, "1 + x is not x: only a term 0 may be dropped (1 is the identity of *)."),)),
        s("a power of a constant may be folded, to its value", Pow(c(2), 3), Pow(c(2), 3),
          ((c(6), "2**3 is 8, not 2 * 3."),)),
    ]


def _redexes(expr: Expr) -> Iterator[tuple[str, Expr]]:
    """Every node of ``expr`` that one of the required identities would still change."""
    for node in subexpressions(expr):
        match node:
            case Add(Const(), Const()):
                yield "constants not folded: Const(a) + Const(b) should become Const(a + b)", node
            case Mul(Const(), Const()):
                yield "constants not folded: Const(a) * Const(b) should become Const(a * b)", node
            case Add(Const(0), _) | Add(_, Const(0)):
                yield "the identity x + 0 -> x (or 0 + x -> x) was not applied", node
            case Mul(Const(0), _) | Mul(_, Const(0)):
                yield "the identity x * 0 -> 0 (or 0 * x -> 0) was not applied", node
            case Mul(Const(1), _) | Mul(_, Const(1)):
                yield "the identity x * 1 -> x (or 1 * x -> x) was not applied", node
            case Pow(_, 1):
                yield "the identity x**1 -> x was not applied", node
            case Pow(_, 0):
                yield "the identity x**0 -> 1 was not applied", node


def _call_simplify(simplify: Callable, expr: Expr) -> Expr:
    what = f"simplify({_show(expr, 60)})"
    result = call(simplify, expr, name="simplify", inputs={"expr": _show(expr)}).value
    return _validate(result, what=what)


def _simplify_value_error(expr: Expr, env: dict[str, np.ndarray], result: Expr) -> str | None:
    """A description of where ``result`` differs in value from ``expr``, or None."""
    expected = _sympy_values(to_sympy(expr), env)
    with np.errstate(all="ignore"):
        got = _student_values(result, env, what=f"simplify({_show(expr, 60)})")
    bad = _first_bad(np.where(np.isfinite(expected), got, 0.0),
                     np.where(np.isfinite(expected), expected, 0.0), _VALUE)
    if bad is None:
        return None
    return (f"  at {_point(env, bad)}: expected {fmt(float(expected[bad]))} "
            f"(sympy), got {fmt(float(got[bad]))}")


def _smallest_value_change(simplify: Callable, expr: Expr, env: dict) -> tuple | None:
    for child in children(expr):
        found = _smallest_value_change(simplify, child, env)
        if found is not None:
            return found
    result = _call_simplify(simplify, expr)
    where = _simplify_value_error(expr, env, result)
    return None if where is None else (expr, result, where)


def _check_simplify_one(simplify: Callable, expr: Expr, env: dict[str, np.ndarray],
                        case: _SimplifyCase | None = None) -> None:
    result = _call_simplify(simplify, expr)
    where = _simplify_value_error(expr, env, result)
    if where is not None:
        part, part_result, part_where = _smallest_value_change(simplify, expr, env) or (
            expr, result, where)
        message = f"simplify changed the value of {_show(expr)}"
        if case is not None:
            message += f"\n  identity tested: {case.identity}"
        if part != expr:
            message += (f"\n  the smallest part whose value changes: {_show(part)} "
                        f"(a {type(part).__name__} node)")
        message += f"\n  simplify({_show(part, 60)}) returned: {_show(part_result)}\n{part_where}"
        explanation = None
        if case is not None:
            with np.errstate(all="ignore"):
                got = _student_values(result, env, what="simplify")
            for wrong, text in case.wrong:
                if _matches(got, _node_values(wrong, env, []), _VALUE):
                    explanation = text
                    break
        message += ("\n  likely mistake: " + explanation if explanation else
                    "\n  the result must have the same value wherever the input is defined.")
        raise CheckFailed(message)
    if size(result) > size(expr):
        raise CheckFailed(
            f"simplify made an expression larger: simplify({_show(expr)}) returned "
            f"{_show(result)}, of size {size(result)} > {size(expr)}. Simplify must never "
            "return a larger expression."
        )
    if case is not None and size(result) > size(case.target):
        raise CheckFailed(
            f"simplify did not apply an identity: {case.identity}\n"
            f"  simplify({_show(expr)}) returned {_show(result)} (size {size(result)})\n"
            f"  expected an expression like {_show(case.target)} (size {size(case.target)})"
            + _leftover_note(result)
        )
    leftover = next(_redexes(result), None)
    if leftover is not None:
        text, node = leftover
        inside = "" if node == result else (
            " (it is inside the result: simplify every part first, then the node itself)")
        raise CheckFailed(
            f"{text}: simplify({_show(expr)}) returned {_show(result)}, which still contains "
            f"{_show(node)}{inside}."
        )


def _leftover_note(result: Expr) -> str:
    leftover = next(_redexes(result), None)
    return "" if leftover is None else (
        f"\n  likely mistake: {leftover[0]} (at {_show(leftover[1], 60)})"
    )


def _random_simplify_cases(rng: np.random.Generator, trials: int) -> Iterator[tuple[Expr, dict]]:
    """One expression of each edge kind in :data:`SIMPLIFY_EDGES`, then ``trials`` random ones."""
    edges = rng.spawn(1)[0]
    for kind in SIMPLIFY_EDGES:
        yield _simplify_edge_case(kind, edges)
    made = 0
    while made < trials:
        expr = random_expression(rng, depth=int(rng.integers(2, 5)), identities=0.35)
        env = _domain(expr, rng)
        if env is None:
            continue
        made += 1
        yield expr, env


def check_simplify(simplify: Callable, *, seed: int = 0, trials: int = 30) -> None:
    r"""``simplify(expr)`` keeps sympy's value, never grows, and leaves no required identity.

    Fixed cases test each identity alone (``x + 0``, ``x * 1``, ``x * 0``, ``x**1``,
    ``x**0``, folding ``Const + Const`` and ``Const * Const``), then inside other nodes
    and bottom-up; one random expression of each kind in :data:`SIMPLIFY_EDGES`; then
    ``trials`` random expressions dressed with such identities.
    """
    rng = np.random.default_rng(seed)
    count = 0
    for case in _simplify_cases():
        env = _domain(case.expr, rng)
        assert env is not None, f"fixed case without a domain: {case.expr}"
        _check_simplify_one(simplify, case.expr, env, case)
        count += 1
    for expr, env in _random_simplify_cases(rng, trials):
        _check_simplify_one(simplify, expr, env)
        count += 1
    passed("simplify", f"{count} expressions ({len(SIMPLIFY_EDGES)} edge kinds, {trials} "
                       "random): same value as sympy, never larger, no identity left to apply")


def check_simplify_property(simplify: Callable, *, max_examples: int = 100) -> None:
    """Hypothesis searches for an expression that simplify gets wrong (deterministically)."""
    from hypothesis import assume, given

    @_hypothesis_settings(max_examples)
    @given(expressions(identities=True))
    def simplify_is_right(expr):
        env = _domain(expr, np.random.default_rng(0))
        assume(env is not None)
        _check_simplify_one(simplify, expr, env)

    _run_search(simplify_is_right, "a wrong simplification")
    passed("simplify", f"hypothesis found no wrong simplification in {max_examples} expressions")
