r"""Checkers for lesson 05-reverse-mode.

Oracles: JAX (``jax.grad`` in float64) for every derivative of a function, and
``numpy.linalg.solve`` for the adjoints of random graphs given by their local
derivatives: with :math:`L_{cp} = \partial v_c / \partial v_p` summed over the edges
:math:`p \to c`, the adjoints solve :math:`(I - L^\top)\,\bar v = e_{\text{out}}`.

The lesson's ``Var`` records its graph in ``self.parents``: a tuple of
``(parent, local_derivative)`` pairs, where ``local_derivative`` is the float
:math:`\partial\,\text{self} / \partial\,\text{parent}`. Two consequences shape the checks:

* ``var_ops`` and ``var_functions`` are read with the checker's own reverse sweep
  (:func:`_graph_gradients`), so each operator's local derivatives are checked in
  isolation, before and independently of the student's ``backward``;
* ``backward`` runs first on graphs the checker builds itself (a subclass of the
  student's ``Var`` whose ``grad`` counts its writes), so it is checked without the
  student's operators, and repeated work is caught by counting, not by waiting.

Replay (:mod:`course.recording`): the student's functions and class are called through
:func:`~course.checking.call` under their own names; everything else that touches the
student's objects -- building a graph, walking ``parents``, running ``backward`` and
reading the ``grad`` it left, the recursion limit and the write counter -- happens inside
a ``call`` of one of the checker's functions (named after what it does, not after an
exercise) that returns plain numbers and, where a later comparison must be reported
first, the failure message it met. Outside ``call`` the checkers only compare those
numbers with their oracles, so grading's replay, where nothing of the student's runs,
reaches the same verdict.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from course.checking import Mistake, as_float_array, call, expect_close, expect_true, passed
from course.functions import SCALAR_FUNCTIONS

from .answers import _check_no_leak, _grad_answer, _grad_function, _neuron_answer
from .cases import _check_cases, _new_var_facts, _student_namespace
from .generators import (
    GRAPH_EDGES,
    _chain_graph,
    _diamond_chain,
    _diamond_graph,
    _function_points,
    _grad_cases,
    _points,
    _random_graphs,
    _square_graph,
)

# `name as name`: helpers the checkers' tests reach as attributes of this package.
from .generators import _random_graph as _random_graph
from .graphs import _GRAD, DEEP, DIAMONDS, _new_var, _require_class
from .graphs import _graph_gradients as _graph_gradients
from .oracles import _adjoints as _adjoints
from .oracles import _one_neuron_grads, _oracle_table
from .probes import (
    _ON_CHECKER_GRAPH,
    _Budget,
    _check_deep,
    _check_graph_backward,
    _deep_with_student_ops,
    _node_class,
    _run_backward,
    _seed_example,
)
from .rules import (
    _bind,
    _Case,
    _composite_cases,
    _function_cases,
    _leak_mistake,
    _op_cases,
    _sigmoid,
)

__all__ = [
    "check_backward",
    "check_grad",
    "check_one_neuron_grads",
    "check_var_functions",
    "check_var_ops",
]


# -------------------------------------------------------------------- var_ops


def check_var_ops(Var: type, *, seed: int = 0, trials: int = 10) -> None:
    r"""``Var`` records + - * / ** and unary - with the right values and local derivatives.

    Each operator is tested alone (Vars and plain numbers on either side), then in
    expressions, including the running example :math:`x^2 y + y + 2` (42, with gradient (24, 10) at
    (3, 4)). Gradients are read from the graph by the checker's own reverse sweep over
    ``parents`` and compared with ``jax.grad``.
    """
    _require_class(Var)
    v = _new_var(Var, 3.0)
    value, grad_is_zero, grad_text, edges = call(_new_var_facts, v,
                                                  name="Var(3.0)'s attributes").value
    expect_close(value, 3.0, what="Var(3.0).value")
    expect_true(
        grad_is_zero,
        f"`Var(3.0).grad` is {grad_text}; a new Var starts with grad 0.0 (nothing has been "
        "backpropagated into it yet).",
    )
    edges.unwrap()
    rng = np.random.default_rng(seed)
    fixed = [(3.0, 4.0), (-1.5, 2.0), (0.5, -0.25)]
    cases, composites = _op_cases(), _composite_cases()
    _check_cases(Var, cases + composites,
                 [_points(rng, case, fixed, trials) for case in cases + composites])
    passed(
        "var_ops",
        f"{len(cases)} operators alone and {len(composites)} expressions agree with jax.grad "
        "(x**2*y + y + 2 at (3, 4): 42, gradient (24, 10))",
    )


# -------------------------------------------------------------- var_functions


def check_var_functions(Var: type, *, sin: Callable, cos: Callable, exp: Callable,
                        log: Callable, tanh: Callable, relu: Callable, seed: int = 0,
                        trials: int = 10) -> None:
    r"""``sin, cos, exp, log, tanh, relu`` on a Var record value and local derivative.

    Each function alone: its value and its local derivative (read from ``parents``)
    against ``jax.grad`` (relu'(0) = 0). Then the course's test functions
    (``course.functions``) written with these functions and the Var operators.
    """
    _require_class(Var)
    fns = {"sin": sin, "cos": cos, "exp": exp, "log": log, "tanh": tanh, "relu": relu}
    rng = np.random.default_rng(seed)
    alone = _function_cases(fns)
    _check_cases(Var, alone, [_function_points(rng, c.domain, trials) for c in alone])
    m = _student_namespace(fns)
    from course.oracle import jax, jnp

    cases, points, student_fns = [], [], []
    for function in SCALAR_FUNCTIONS:
        low, high = function.domain
        cases.append(_Case(f"f(x) = {function.label}", None, 1, oracle=_bind(function, jnp)))
        points.append(np.concatenate([np.linspace(low, high, 4),
                                      rng.uniform(low, high, trials)])[:, None])
        student_fns.append(_bind(function, m))
    cases.append(_Case("relu(x - 0.5) * exp(-x) + tanh(relu(-x))", None, 1,
                       oracle=lambda x: jax.nn.relu(x - 0.5) * jnp.exp(-x)
                       + jnp.tanh(jax.nn.relu(-x))))
    points.append(np.concatenate([[-1.0, 0.0, 0.5, 2.0],
                                  np.round(rng.uniform(-3, 3, trials), 1)])[:, None])
    student_fns.append(lambda x: relu(x - 0.5) * exp(-x) + tanh(relu(-x)))
    hint = ("each function passed on its own, so look at the operators of your Var class "
            "(var_ops) used by this expression.")
    _check_cases(Var, cases, points, namespace_hint=hint, fns=student_fns)
    count = len(cases)
    passed(
        "var_functions",
        f"sin, cos, exp, log, tanh, relu alone (relu'(0) = 0) and in {count} test "
        "functions agree with jax.grad",
    )


# ------------------------------------------------------------------- backward


def check_backward(Var: type, *, seed: int = 0, trials: int = 10) -> None:
    r"""``Var.backward()`` sweeps the graph once in reverse topological order.

    On graphs the checker builds from (a subclass of) the student's ``Var``: a chain, the
    shared node of ``x * x``, a diamond, 16 diamonds in a row (``grad`` writes are counted,
    so following all :math:`2^{16}` paths is caught at once), a chain 20,000 nodes deep
    (run with the recursion limit at most 5,000, so only an iterative sort passes), and
    random graphs whose adjoints come from ``numpy.linalg.solve``, among them one of each
    edge kind (a parent listed twice, two paths, an unused input, a local derivative of 0,
    grads held before backward starts).
    Then the running example built with the student's operators: 42, 24, 10.
    """
    _require_class(Var)
    budget = _Budget()
    made: list[type] = []
    what = "x.grad after x.backward() on an input x"

    def leaf_grad() -> np.ndarray:
        made.append(_node_class(Var, budget))
        leaf = made[0](2.0)
        _run_backward(leaf, depth=1)
        return as_float_array(leaf.grad, what=what)

    got = call(leaf_grad, name=_ON_CHECKER_GRAPH).value
    expect_close(got, 1.0, what=what, hint="backward must seed `self.grad = 1.0`.")
    Node = made[0] if made else None  # in replay, nothing uses it: its calls are replayed
    rng = np.random.default_rng(seed)
    graphs = [_chain_graph(), _square_graph(), _diamond_graph(), _diamond_chain(DIAMONDS)]
    graphs += _random_graphs(rng, trials)
    for graph in graphs:
        _check_graph_backward(Node, budget, graph)
    _check_deep(Node, budget, DEEP)
    _seed_example(Var)
    _deep_with_student_ops(Var, DEEP)
    passed(
        "backward",
        f"{len(graphs) + 1} graphs (x * x, a diamond, {DIAMONDS} diamonds in a row, "
        f"{len(GRAPH_EDGES)} random with edge cases, {trials} random) with each node visited "
        f"once, a chain {DEEP} deep, and "
        f"x**2*y + y + 2 built with your Var: 42, 24, 10; {DEEP} additions `v + 1.0`",
    )


# ----------------------------------------------------------------------- grad


def check_grad(grad: Callable, *, sin: Callable, cos: Callable, exp: Callable,
               log: Callable, tanh: Callable, seed: int = 0, trials: int = 10) -> None:
    r"""``grad(f)(*xs)`` is the tuple of partial derivatives of f at xs (``jax.grad``).

    f is written with the student's functions; a fresh graph per call, so calling the
    same ``g`` twice, or at another point, gives the same answers as a first call.
    """
    m = _student_namespace({"sin": sin, "cos": cos, "exp": exp, "log": log, "tanh": tanh})
    _check_no_leak(grad, m)
    rng = np.random.default_rng(seed)
    cases = _grad_cases(m)
    all_points = []
    for label, _, _, fixed in cases:
        low, high = (0.5, 3.0) if "log" in label or "sqrt" in label else (-2.0, 2.0)
        all_points.append(np.concatenate([fixed, rng.uniform(low, high, (trials,
                                                                         fixed.shape[1]))]))
    # Every answer first, the oracle's values after: while the student's code runs, no
    # expected value exists in this frame for it to read.
    answers = []
    for (label, student_f, _, _), points in zip(cases, all_points, strict=True):
        arity = points.shape[1]
        g = _grad_function(grad, student_f, label)
        for row in points:
            args = [float(v) for v in row]
            inputs = dict(zip("xyzw"[:arity], args, strict=True))
            got = call(_grad_answer, g, args, label=label, name="g", inputs=inputs).value
            answers.append((label, inputs, got))
    table = _oracle_table([(label, oracle_f, fixed.shape[1])
                           for label, _, oracle_f, fixed in cases], all_points)
    expected_all = [expected for _, grads in table for expected in grads]
    previous = None
    for (label, inputs, got), expected, before in zip(
            answers, expected_all, [None, *answers[:-1]], strict=True):
        previous = before[2] if before is not None and before[0] == label else None
        expect_close(got, expected, what=f"grad(f)(*xs) for {label}", inputs=inputs,
                     tolerance=_GRAD, mistakes=[] if previous is None else [
                         _leak_mistake(previous, expected)])
    count = len(answers)
    passed("grad", f"{count} gradients agree with jax.grad; repeated calls do not leak")


# ----------------------------------------------------------- one_neuron_grads


def check_one_neuron_grads(one_neuron_grads: Callable, *, seed: int = 0,
                           trials: int = 30) -> None:
    r"""``one_neuron_grads(w, b, a_prev, y)`` returns :math:`(\partial C/\partial w,
    \partial C/\partial b, \partial C/\partial a_{prev})` of
    :math:`C = (\sigma(w a_{prev} + b) - y)^2`, compared with ``jax.grad``.
    """
    rng = np.random.default_rng(seed)
    cases = [(0.5, -0.2, 1.0, 1.0), (2.0, 1.0, 0.3, 0.0), (-1.0, 0.5, 2.0, 0.5),
             (1.5, -0.75, -1.2, 0.25)]
    for _ in range(trials):
        w, b, a_prev = rng.uniform(-3, 3, 3)
        cases.append((float(w), float(b), float(a_prev), float(rng.uniform(0, 1))))
    for w, b, a_prev, y in cases:
        inputs = {"w": w, "b": b, "a_prev": a_prev, "y": y}
        result = call(one_neuron_grads, w, b, a_prev, y, name="one_neuron_grads",
                      inputs=inputs).value
        got = call(_neuron_answer, result, w, b, a_prev, y,
                   name="the answer of one_neuron_grads").value
        expected = _one_neuron_grads(w, b, a_prev, y)
        z = w * a_prev + b
        a = _sigmoid(z)
        s_prime = a * (1 - a)
        delta = 2 * (a - y) * s_prime
        true = np.array([delta * a_prev, delta, delta * w])
        mistakes = [
            Mistake("the factor sigma'(z) = a (1 - a) of the chain rule is missing: "
                    "dC/dz = dC/da * da/dz.", true / s_prime),
            Mistake("the factor 2 of d/da (a - y)**2 = 2 (a - y) is missing.", true / 2),
            Mistake("the signs are flipped: dC/da = 2 (a - y), not 2 (y - a).", -true),
            Mistake("dC_dw and dC_da_prev are swapped: dC/dw = delta * a_prev and dC/da_prev = "
                    "delta * w (you swapped a_prev and w, or returned the tuple reversed).",
                    [delta * w, delta, delta * a_prev]),
            Mistake("sigma'(z) = sigma(z) (1 - sigma(z)), not z (1 - z).",
                    true / s_prime * z * (1 - z)),
            Mistake("sigma'(z) = sigma(z) (1 - sigma(z)); you used sigma(z) alone.",
                    true / s_prime * a),
        ]
        names = ("dC_dw", "dC_db", "dC_da_prev")
        for order in itertools.permutations(range(3)):
            if order not in ((0, 1, 2), (2, 1, 0)):  # (2, 1, 0) is the swap above
                mistakes.append(Mistake(
                    "the three derivatives are right but in the wrong order: you returned ("
                    + ", ".join(names[i] for i in order) + "); return (dC_dw, dC_db, "
                    "dC_da_prev).", true[list(order)]))
        expect_close(got, expected, what="one_neuron_grads(w, b, a_prev, y)", inputs=inputs,
                     tolerance=_GRAD, mistakes=mistakes)
    passed("one_neuron_grads", f"{len(cases)} cases agree with jax.grad")
