r"""Checkers for lesson 04-forward-mode: dual numbers.

A dual number :math:`a + b\,\varepsilon` with :math:`\varepsilon^2 = 0` carries a value
:math:`a` and a derivative :math:`b`. Every operation obeys one rule,

.. math::  h(a + b\,\varepsilon) = h(a) + b\,h'(a)\,\varepsilon ,

so a program run on duals returns its derivative alongside its value.

Oracle: JAX in float64. ``jax.jvp`` gives the value and derivative of every
operation, elementary function and random expression (node by node, batched and
jitted); ``jax.value_and_grad`` gives what ``derivative`` and ``forward_gradient``
must return, on the course's test functions (:mod:`course.functions`).

Diagnostics point at the broken rule. Every operation is tested on its own
(Dual op Dual, Dual op number, number op Dual) with candidate mistakes computed
from the maths; a random expression that goes wrong is searched for the first
sub-expression whose operands are right but whose result is not. ``derivative``
and ``forward_gradient`` receive probe functions that answer any seeding with the
JVP :math:`f(x) + (\nabla f(x) \cdot t)\,\varepsilon` and record how they were
seeded, so those two checks need from the student's ``Dual`` class only
``Dual(value, deriv)``.

Replay (see :mod:`course.recording`): student code runs only inside ``call``, and
what the checks inspect comes back from ``call`` as plain data. A student object is
read (its type, its parts, whether an operation changed an operand, how a probe was
seeded) by the same ``call`` that produced it, which returns a *report*: a
:class:`~course.checking.Verdict` holding ``(value, deriv)`` or the failure message,
settled outside the call by ``report.unwrap()``. Student objects that feed later calls are
kept by the checker in live mode only; in the grader's replay nothing runs, and every
verdict is reached again from the recorded reports.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course.checking import CheckFailed, call, fmt, passed
from course.functions import SCALAR_FUNCTIONS, VECTOR_FUNCTIONS

from .dual_functions import (
    _check_compositions,
    _check_course_functions,
    _check_dual_path,
    _check_float_path,
)
from .dual_ops import _arithmetic_problem, _check_constructor, _check_expressions, _check_rules
from .duals import _close, _show_dual
from .generators import _MAX_INPUTS, _away_from_zero, _gradient_family, _uniform
from .oracles import _family_table, _jvp_functions, _scalar_table, _vector_table
from .probes import _check_one_gradient, _derivative_pass, _Probe
from .rules import FUNCTIONS, RULES

__all__ = [
    "check_derivative",
    "check_dual_functions",
    "check_dual_ops",
    "check_forward_gradient",
]


# ------------------------------------------------------------------ dual_ops


def check_dual_ops(Dual: type, *, seed: int = 0, trials: int = 10,
                   expressions: int = 30) -> None:
    r"""``Dual`` implements :math:`+, -, \times, /, **` and unary minus on :math:`a + b\varepsilon`.

    Each rule is tested on its own, Dual op Dual, Dual op number and number op Dual
    (fixed cases including :math:`3 + (3 + 4\varepsilon) = 6 + 4\varepsilon` and
    :math:`(3 + 4\varepsilon)(5 + 7\varepsilon) = 15 + 41\varepsilon`, then ``trials``
    random ones), operands must stay unchanged, and ``expressions`` random
    expression trees in two Duals are compared node by node with ``jax.jvp``.
    """
    rng = np.random.default_rng(seed)
    cases = _check_rules(Dual, rng, trials)
    n_expr = _check_expressions(Dual, rng, expressions)
    passed(
        "dual_ops",
        f"{len(RULES)} rules on {cases} cases (3 + (3 + 4ε) = 6 + 4ε, "
        f"(3 + 4ε)(5 + 7ε) = 15 + 41ε) and {n_expr} expressions agree with jax.jvp",
    )


# ------------------------------------------------------------------ dual_functions


def check_dual_functions(sin: Callable, cos: Callable, exp: Callable, log: Callable,
                         tanh: Callable, *, Dual: type, seed: int = 0, trials: int = 10) -> None:
    r"""Each :math:`h \in \{\sin, \cos, \exp, \log, \tanh\}` maps a float to a float and a Dual
    to :math:`h(a) + b\,h'(a)\,\varepsilon` (``jax.jvp``).

    Then random chains of the functions, and (once the Dual arithmetic passes) the
    course's test functions from :mod:`course.functions` evaluated through a
    namespace of the student's functions.
    """
    functions = {"sin": sin, "cos": cos, "exp": exp, "log": log, "tanh": tanh}
    rng = np.random.default_rng(seed)
    _check_constructor(Dual)
    cases: dict[str, list[tuple[float, float]]] = {}
    for fn in FUNCTIONS:
        rows = [(a, da) for a in fn.fixed for da in (1.0, -1.75)]
        rows += [(_uniform(rng, *fn.domain), _away_from_zero(rng, 0.25, 2.5))
                 for _ in range(trials)]
        cases[fn.name] = rows
    expected = _jvp_functions(cases)
    for fn in FUNCTIONS:
        for (a, da), want in zip(cases[fn.name], expected[fn.name], strict=True):
            _check_float_path(fn, functions[fn.name], Dual, a, want[0])
            _check_dual_path(fn, functions[fn.name], Dual, a, da, want)
    chains = max(trials, 3)
    _check_compositions(functions, Dual, rng, chains)
    problem = _arithmetic_problem(Dual)
    if problem is None:
        n = _check_course_functions(functions, Dual, rng, points=max(2, trials // 4))
        extra = f"; {n} evaluations of the course's test functions with your Dual arithmetic"
    else:
        extra = ("; the course's test functions (which need your Dual arithmetic) are tried "
                 "once dual_ops passes")
    total = sum(len(rows) for rows in cases.values())
    passed("dual_functions",
           f"sin, cos, exp, log, tanh agree with jax.jvp on {total} floats and Duals, and "
           f"{chains} chains{extra}")


# ------------------------------------------------------------------ derivative


def check_derivative(derivative: Callable, *, seed: int = 0, trials: int = 20) -> None:
    r"""``derivative(f, x)`` returns :math:`f'(x)` from ONE pass ``f(Dual(x, 1.0)).deriv``.

    ``f`` is a probe built from the course's test functions: it answers every pass
    through the oracle (``jax.value_and_grad``) and records how it was seeded.
    """
    rng = np.random.default_rng(seed)
    cases: list[tuple[int, float]] = []
    for index, f in enumerate(SCALAR_FUNCTIONS):
        low, high = f.domain
        cases += [(index, low + 0.25 * (high - low)), (index, low + 0.8 * (high - low))]
    for _ in range(trials):
        index = int(rng.integers(len(SCALAR_FUNCTIONS)))
        cases.append((index, _uniform(rng, *SCALAR_FUNCTIONS[index].domain)))
    by_index: dict[int, list[float]] = {}
    for index, x in cases:
        by_index.setdefault(index, []).append(x)
    table = {i: iter(pairs) for i, pairs in _scalar_table(by_index).items()}
    for index, x in cases:
        value, grad = next(table[index])
        probe = _Probe(SCALAR_FUNCTIONS[index].label, x, value, np.array([grad]), vector=False)
        where = f"derivative(f, {fmt(x)}) for {probe.label}"
        seeds, report = call(_derivative_pass, derivative, probe, x, where=where,
                             name="derivative", inputs={"f": probe, "x": x}).value
        if not seeds:
            raise CheckFailed(f"{where} never called f: evaluate f(Dual(x, 1.0)) once.")
        if len(seeds) > 1:
            raise CheckFailed(f"{where} called f {len(seeds)} times: one forward pass "
                              "f(Dual(x, 1.0)) gives both f(x) and f'(x).")
        seed_deriv = float(seeds[0])
        if seed_deriv != 1.0:
            zero = " With 0 every derivative comes out 0." if seed_deriv == 0 else ""
            raise CheckFailed(f"{where} called f({_show_dual(x, seed_deriv)}): seed the input "
                              f"with deriv 1.0, since dx/dx = 1: f(Dual(x, 1.0)).{zero}")
        (got_value,) = report.unwrap()
        if not _close(got_value, grad):
            hint = ("you returned the value part f(x); the derivative is the `.deriv` part."
                    if _close(got_value, value) else "return f(Dual(x, 1.0)).deriv as a float.")
            raise CheckFailed(f"{where} is wrong.\n  expected: {fmt(grad)}\n"
                              f"  got:      {fmt(got_value)}\n  likely mistake: {hint}")
    passed("derivative", f"{len(cases)} derivatives agree with jax.grad, each from one pass "
                         "seeded with Dual(x, 1.0)")


# ------------------------------------------------------------------ forward_gradient


def check_forward_gradient(forward_gradient: Callable, *, seed: int = 0,
                           trials: int = 12) -> None:
    r"""``forward_gradient(f, x)`` returns :math:`\nabla f(x)` from n passes, pass i seeding
    :math:`x_i` with deriv 1 and every other input with 0 (``jax.grad`` oracle).

    On the course's vector test functions, then on a random family with n = 1 and
    n = 7 inputs and ``trials`` random sizes in between.
    """
    rng = np.random.default_rng(seed)
    fixed = {0: [[3.0, 4.0], [-1.0, 0.5]], 1: [[1.0, 1.0], [-1.2, 1.0]],
             2: [[0.5, -1.0, 2.0]], 3: [[0.3, -0.7, 1.1, 2.0]]}
    points = {i: [*xs, list(np.round(rng.uniform(-2, 2, VECTOR_FUNCTIONS[i].n_inputs), 3))]
              for i, xs in fixed.items()}
    table = _vector_table({i: [np.array(x) for x in xs] for i, xs in points.items()})
    probes = []
    for i, xs in points.items():
        for x, (value, grad) in zip(xs, table[i], strict=True):
            probes.append(_Probe(VECTOR_FUNCTIONS[i].label, np.array(x), float(value),
                                 np.asarray(grad), vector=True))
    family = _gradient_family(rng, trials)
    table = _family_table([member for _, member in family])
    for (n, row), (value, grad) in zip(family, table, strict=True):
        label = f"sum(w * sin(x)) + (u . x)**2 / n + x0 * x{n - 1} with n = {n}"
        probes.append(_Probe(label, row[-1][:n], value, grad[:n], vector=True))
    for probe in probes:
        _check_one_gradient(forward_gradient, probe, probe.x.copy())
    passed("forward_gradient",
           f"{len(probes)} gradients (n = 1 to {_MAX_INPUTS} inputs) agree with jax.grad, one "
           "pass per input ((24, 10) at (3, 4) for x0**2 * x1 + x1 + 2)")
