"""Lesson 05's random graphs reach every edge kind in every batch, by construction (a parent
listed twice, two paths, an unused input, a local derivative of 0, grads held before
backward); fixed edge cases agree with a hand sweep and with the solution's backward, and
slips seen only at an edge are caught."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.mutants import solution_source
from autograder.mutants.inprocess import namespace_with
from course.checking import CheckFailed
from course.checks.reverse_mode import check_backward, generators
from course.checks.reverse_mode.generators import (
    GRAPH_EDGES,
    _Graph,
    _random_graph,
    _random_graphs,
)
from course.checks.reverse_mode.oracles import _adjoints

LESSON = "05-reverse-mode"


def solution_var() -> type:
    namespace = namespace_with(LESSON, solution_source(LESSON, "var_ops"),
                               solution_source(LESSON, "backward"))
    return namespace["Var"]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("trials", [0, 3])
def test_every_batch_of_graphs_holds_each_edge_kind(seed, trials):
    graphs = _random_graphs(np.random.default_rng(seed), trials)
    for kind, (holds, _) in GRAPH_EDGES.items():
        assert any(holds(graph) for graph in graphs), kind


def test_held_grads_are_never_reached_by_random_graphs_alone():
    rng = np.random.default_rng(0)
    holds, _ = GRAPH_EDGES["nodes that already hold a grad"]
    assert not any(holds(_random_graph(rng)) for _ in range(100))


def test_the_random_graphs_of_a_seed_do_not_move():
    graphs = _random_graphs(np.random.default_rng(5), 3)
    alone = np.random.default_rng(5)
    assert graphs[-3:] == [_random_graph(alone) for _ in range(3)]


@pytest.mark.parametrize("seed", range(6))
def test_the_oracle_agrees_with_the_solution_on_every_edge_kind(seed):
    Var = solution_var()
    for graph in _random_graphs(np.random.default_rng(seed), 0):
        nodes = graph.build(Var)
        nodes[graph.output].backward()
        expected = _adjoints(len(nodes), graph.edges, graph.output, graph.initial)
        np.testing.assert_allclose([n.grad for n in nodes], expected, rtol=1e-10, atol=1e-12,
                                   err_msg=graph.name)


# ------------------------------------------------------------ fixed edge cases

#: (graph, grads after backward, worked out by hand)
FIXED = [
    # x --2--> a --3--> out, holding 0.5, 1.0 and 7.0: out = 1, a = 1 + 3, x = 0.5 + 2 * 4
    (_Graph("held chain", [1.0, 2.0, 6.0], [(1, 0, 2.0), (2, 1, 3.0)], 2,
            initial={0: 0.5, 1: 1.0, 2: 7.0}), [8.5, 4.0, 1.0]),
    # x * x at 1.5: both contributions arrive
    (_Graph("x * x", [1.5, 2.25], [(1, 0, 1.5), (1, 0, 1.5)], 1), [3.0, 1.0]),
    # an unused input keeps what it held (0.25), or 0
    (_Graph("unused input", [1.0, 2.0, 4.0], [(2, 1, 2.0)], 2, initial={0: 0.25}),
     [0.25, 2.0, 1.0]),
    (_Graph("unused input", [1.0, 2.0, 4.0], [(2, 1, 2.0)], 2), [0.0, 2.0, 1.0]),
    # x -> a (0) -> out (5) and x -> out (2): the zero path passes nothing on
    (_Graph("zero local", [1.0, 0.0, 3.0], [(1, 0, 0.0), (2, 1, 5.0), (2, 0, 2.0)], 2),
     [2.0, 5.0, 1.0]),
    # a node held but outside the sweep (b, a child of x that the output does not use)
    # does not pass its grad on: x = 3 from out only
    (_Graph("held dead end", [1.0, 2.0, 3.0], [(1, 0, 4.0), (2, 0, 3.0)], 2,
            initial={1: 10.0}), [3.0, 10.0, 1.0]),
]


@pytest.mark.parametrize(("graph", "grads"), FIXED, ids=[g.name for g, _ in FIXED])
def test_fixed_edge_cases_agree_with_the_hand_sweep(graph, grads):
    got = _adjoints(len(graph.values), graph.edges, graph.output, graph.initial)
    np.testing.assert_allclose(got, grads, rtol=1e-12)


@pytest.mark.parametrize(("graph", "grads"), FIXED, ids=[g.name for g, _ in FIXED])
def test_the_solution_gives_the_fixed_edge_cases(graph, grads):
    nodes = graph.build(solution_var())
    nodes[graph.output].backward()
    np.testing.assert_allclose([n.grad for n in nodes], grads, rtol=1e-12)


# ------------------------------------------------------------ slips seen only at an edge


def _order(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p, _ in node.parents if id(p) not in visited)
    return order


def resetting_backward(self):
    """Zeroes every grad of the graph before the sweep: right on fresh graphs only."""
    order = _order(self)
    for node in order:
        node.grad = 0.0
    self.grad = 1.0
    for node in reversed(order):
        for parent, local in node.parents:
            parent.grad += local * node.grad


def accumulating_seed(self):
    """Seeds the output with ``+= 1.0``: right while the output holds 0."""
    order = _order(self)
    self.grad += 1.0
    for node in reversed(order):
        for parent, local in node.parents:
            parent.grad += local * node.grad


@pytest.mark.parametrize(("backward", "named"), [
    (resetting_backward, "threw away the grads"),
    (accumulating_seed, "self.grad = 1.0"),
])
def test_a_slip_seen_only_at_an_edge_is_caught(backward, named, monkeypatch):
    class Var(solution_var()):
        pass

    Var.backward = backward
    with pytest.raises(CheckFailed, match=named):
        check_backward(Var, trials=1)
    # without the edge kinds, the same slip passes: the edges are what catch it
    monkeypatch.setattr(generators, "GRAPH_EDGES", {})
    monkeypatch.setattr("course.checks.reverse_mode.GRAPH_EDGES", {})
    check_backward(Var, trials=1)
