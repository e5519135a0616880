"""Machinery of the lesson 05 checkers: answers judged apart from broken operators, the
recursion limit, the diamond graph, a time guard, properties, the graph oracles and replay.

Right and wrong answers are the lesson's bank (``autograder/mutants/lesson_05.py``), run
by ``tests/test_mutant_banks.py``; these tests use the solution's answers and, where a
test needs a wrong answer, one from the bank. The backward cell attaches ``Var.backward``
to the class, so every namespace here re-runs the solution's ``Var`` first: a bank entry
never changes the class another test uses.
"""

from __future__ import annotations

import re
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.mutants import Mutant, solution_source
from autograder.mutants import lesson_05 as bank
from autograder.mutants.inprocess import bank_entry, namespace_with
from course.checking import CheckFailed
from course.checks import reverse_mode as rm
from course.checks.reverse_mode import (
    check_backward,
    check_grad,
    check_one_neuron_grads,
    check_var_functions,
    check_var_ops,
)

LESSON = "05-reverse-mode"
FAST = {"trials": 2}
EXERCISES = ("var_ops", "var_functions", "backward", "grad", "one_neuron_grads")
FUNCTIONS = ("sin", "cos", "exp", "log", "tanh", "relu")
SMOOTH = FUNCTIONS[:-1]  # what check_grad uses


def lesson(**replaced: str) -> dict:
    """A fresh namespace: the solution's answer cells in order, ``replaced[exercise]`` (a
    bank entry's words) instead of the solution's cell where given."""
    sources = [bank_entry(LESSON, exercise, replaced[exercise]).source
               if exercise in replaced else solution_source(LESSON, exercise)
               for exercise in EXERCISES]
    return namespace_with(LESSON, *sources)


def functions(namespace: dict, names=FUNCTIONS) -> dict:
    return {name: namespace[name] for name in names}


def test_right_answers_print_five_lines_and_nothing_on_stderr(capsys):
    ns = lesson()
    check_var_ops(ns["Var"], **FAST)
    check_var_functions(ns["Var"], **functions(ns), **FAST)
    check_backward(ns["Var"], **FAST)
    check_grad(ns["grad"], **functions(ns, SMOOTH), **FAST)
    check_one_neuron_grads(ns["one_neuron_grads"], **FAST)
    out = capsys.readouterr()
    assert out.out.count("\N{CHECK MARK}") == 5
    assert out.err == ""


def test_var_ops_stub_is_not_implemented():
    def stub(self, other):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_var_ops(type("Stub", (lesson()["Var"],), {"__add__": stub}), **FAST)


def test_var_functions_composites_point_at_operators():
    ns = lesson(var_ops="power rule without the factor p")
    with pytest.raises(CheckFailed, match="look at the operators"):
        check_var_functions(ns["Var"], **functions(ns), **FAST)


def test_backward_of_broken_operators_points_at_var_ops():
    with pytest.raises(CheckFailed, match=r"var_ops"):
        check_backward(lesson(var_ops="power rule without the factor p")["Var"], **FAST)


def test_backward_leaves_the_recursion_limit_as_it_found_it():
    limit = sys.getrecursionlimit()
    for words in ("recursive topological sort", "raises Python's recursion limit"):
        with pytest.raises(CheckFailed):
            check_backward(lesson(backward=words)["Var"], **FAST)
        assert sys.getrecursionlimit() == limit


def test_backward_recursion_with_a_limit_raised_beforehand_is_caught():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        with pytest.raises(CheckFailed, match="RecursionError on a graph 20001 nodes deep"):
            check_backward(lesson(backward="recursive topological sort")["Var"], **FAST)
        assert sys.getrecursionlimit() == 100_000
    finally:
        sys.setrecursionlimit(limit)


def test_backward_duplicates_on_the_diamond_is_named():
    graph = rm._diamond_graph()
    Node = rm._node_class(lesson(backward="no visited set")["Var"], rm._Budget())
    with pytest.raises(CheckFailed, match="processed twice"):
        rm._check_graph_backward(Node, rm._Budget(), graph)


def test_backward_all_paths_is_stopped_quickly():
    Var = lesson(backward="naive recursion over every path")["Var"]
    start = time.perf_counter()
    with pytest.raises(CheckFailed, match="repeats work"):
        check_backward(Var, **FAST)
    assert time.perf_counter() - start < 5


@settings(max_examples=25)
@given(scale=st.floats(1e-6, 1e-2), which=st.integers(0, 2))
def test_one_neuron_perturbation_beyond_tolerance_is_rejected(scale, which):
    right = lesson()["one_neuron_grads"]

    def perturbed(w, b, a_prev, y):
        out = list(right(w, b, a_prev, y))
        out[which] += scale * (1 + abs(out[which]))
        return tuple(out)

    with pytest.raises(CheckFailed):
        check_one_neuron_grads(perturbed, trials=0)


@settings(max_examples=25)
@given(scale=st.floats(0, 1e-13))
def test_one_neuron_round_off_is_accepted(scale):
    right = lesson()["one_neuron_grads"]

    def rounded(w, b, a_prev, y):
        return tuple(v * (1 + scale) for v in right(w, b, a_prev, y))

    check_one_neuron_grads(rounded, trials=0)


# ------------------------------------------------------------ record and replay


# The student's functions are passed positionally: record_then_replay replaces positional
# answers by inert stand-ins in the replay (keyword arguments would reach it as they are).
def _var_functions(Var, sin, cos, exp, log, tanh, relu, **kwargs):
    check_var_functions(Var, sin=sin, cos=cos, exp=exp, log=log, tanh=tanh, relu=relu,
                        **kwargs)


def _grad(grad, sin, cos, exp, log, tanh, **kwargs):
    check_grad(grad, sin=sin, cos=cos, exp=exp, log=log, tanh=tanh, **kwargs)


def _answers(exercise: str, ns: dict) -> tuple:
    if exercise == "var_ops":
        return check_var_ops, (ns["Var"],)
    if exercise == "var_functions":
        return _var_functions, (ns["Var"], *functions(ns).values())
    if exercise == "backward":
        return check_backward, (ns["Var"],)
    if exercise == "grad":
        return _grad, (ns["grad"], *functions(ns, SMOOTH).values())
    return check_one_neuron_grads, (ns["one_neuron_grads"],)


#: (exercise, words): the solution's answers when words is None, else with the bank entry
#: for exercise whose mistake or description contains words.
REPLAYED = [
    *((exercise, None) for exercise in EXERCISES),
    ("var_ops", "__rsub__ computes self - other"),
    ("var_ops", "parents kept in a dict"),
    ("var_ops", "stored as a Var"),
    ("var_ops", "returns a float"),
    ("var_ops", "adds into self"),
    ("var_ops", "self.inputs"),
    ("var_ops", "grad 1.0"),
    ("var_functions", "sin' = -cos"),
    ("var_functions", "relu'(0) = 1"),
    ("var_functions", "relu value is x itself"),
    ("backward", "Kahn's algorithm"),
    *(("backward", m.mistake) for m in bank.MUTANTS if m.exercise == "backward"),
    *(("grad", m.mistake) for m in bank.MUTANTS if m.exercise == "grad"),
    ("one_neuron_grads", "sigma'(z) factor missing"),
    ("one_neuron_grads", "dC/dw and dC/da_prev swapped"),
    ("one_neuron_grads", "a pair returned"),
]


def _replay(check, answers, tmp_path):
    from course.recording import record_then_replay

    limit = sys.getrecursionlimit()
    live, replayed = record_then_replay(check, *answers, log=tmp_path / "log.jsonl", **FAST)
    assert live == replayed
    assert sys.getrecursionlimit() == limit
    return live


@pytest.mark.parametrize(("exercise", "words"), REPLAYED,
                         ids=[f"{e}: {w or 'solution'}" for e, w in REPLAYED])
def test_replay_reaches_the_same_verdict(exercise, words, tmp_path):
    """Grading records each check in the kernel and replays it without the student's code:
    both runs must reach the same verdict, with the same message."""
    ns = lesson() if words is None else lesson(**{exercise: words})
    check, answers = _answers(exercise, ns)
    live = _replay(check, answers, tmp_path)
    entry = None if words is None else bank_entry(LESSON, exercise, words)
    if not isinstance(entry, Mutant):
        assert live is None
    else:
        assert live is not None and re.search(entry.diagnostic, live, re.DOTALL), live


@pytest.mark.parametrize(("answer", "match"), [
    ("stub", r"not implemented yet"),
    ("instance", r"pass your class `Var` itself"),
])
def test_replay_of_answers_no_bank_holds(answer, match, tmp_path):
    Var = lesson()["Var"]
    if answer == "stub":
        def stub(self, other):
            raise NotImplementedError()
        student = type("Stub", (Var,), {"__add__": stub})
    else:
        student = Var(1.0)
    live = _replay(check_var_ops, (student,), tmp_path)
    assert live is not None and re.search(match, live)


def test_replay_of_a_class_without_backward(tmp_path):
    class NoParents:
        def __init__(self, value):
            self.value, self.grad = float(value), 0.0

    live = _replay(check_backward, (NoParents,), tmp_path)
    assert live is not None and "no method `backward`" in live


# ------------------------------------------------- the checker's own machinery


@settings(max_examples=30)
@given(seed=st.integers(0, 10_000))
def test_linear_algebra_oracle_matches_the_solution_sweep(seed):
    """numpy.linalg adjoints agree with the solution's sweep on random graphs."""
    graph = rm._random_graph(np.random.default_rng(seed))
    nodes = graph.build(lesson()["Var"])
    nodes[graph.output].backward()
    expected = rm._adjoints(len(nodes), graph.edges, graph.output)
    np.testing.assert_allclose([n.grad for n in nodes], expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=30)
@given(x=st.floats(-3, 3), y=st.floats(0.5, 3))
def test_graph_sweep_matches_hand_derivatives(x, y):
    """The checker's sweep over `parents` gives the textbook gradient of x**2*y + y/x."""
    Var = lesson()["Var"]
    assume_x = x if abs(x) > 0.1 else 0.5
    a, b = Var(assume_x), Var(y)
    out = a**2 * b + b / a
    got = rm._graph_gradients(out, [a, b], where="test")
    expected = [2 * assume_x * y - y / assume_x**2, assume_x**2 + 1 / assume_x]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
