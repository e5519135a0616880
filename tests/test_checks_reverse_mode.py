"""The checkers of lesson 05 accept right answers and name the mistakes of wrong ones.

Student-like answers are written here, independently of the lesson's notebook.
"""

from __future__ import annotations

import math
import re
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checking import CheckFailed
from course.checks import reverse_mode as rm
from course.checks.reverse_mode import (
    check_backward,
    check_grad,
    check_one_neuron_grads,
    check_var_functions,
    check_var_ops,
)

FAST = {"trials": 2}


# ------------------------------------------------------------ a correct engine


def _lift(x):
    return x if isinstance(x, Var) else Var(x)


class Var:
    """Correct answer, written with a Kahn-style backward (counts consumers)."""

    def __init__(self, value, parents=()):
        self.value = float(value)
        self.grad = 0.0
        self.parents = tuple(parents)

    def __add__(self, other):
        other = _lift(other)
        return Var(self.value + other.value, ((self, 1.0), (other, 1.0)))

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-_lift(other))

    def __rsub__(self, other):
        return _lift(other) - self

    def __mul__(self, other):
        other = _lift(other)
        return Var(self.value * other.value, ((self, other.value), (other, self.value)))

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self * _lift(other) ** -1

    def __rtruediv__(self, other):
        return _lift(other) * self**-1

    def __pow__(self, p):
        return Var(self.value**p, ((self, p * self.value ** (p - 1)),))

    def __neg__(self):
        return self * -1.0

    def backward(self):
        consumers, stack, seen = {}, [self], {id(self)}
        while stack:  # count, for each node, how many edges leave it
            node = stack.pop()
            for parent, _ in node.parents:
                consumers[id(parent)] = consumers.get(id(parent), 0) + 1
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
        self.grad = 1.0
        ready = [self]
        while ready:  # a node is ready once all its consumers have passed their grads on
            node = ready.pop()
            for parent, local in node.parents:
                parent.grad += local * node.grad
                consumers[id(parent)] -= 1
                if consumers[id(parent)] == 0:
                    ready.append(parent)


def _unary(f, df):
    def op(x):
        return Var(f(x.value), ((x, df(x.value)),))
    return op


sin = _unary(math.sin, math.cos)
cos = _unary(math.cos, lambda v: -math.sin(v))
exp = _unary(math.exp, math.exp)
log = _unary(math.log, lambda v: 1 / v)
tanh = _unary(math.tanh, lambda v: 1 - math.tanh(v) ** 2)
relu = _unary(lambda v: max(v, 0.0), lambda v: float(v > 0))
FUNCTIONS = {"sin": sin, "cos": cos, "exp": exp, "log": log, "tanh": tanh, "relu": relu}
SMOOTH = {name: fn for name, fn in FUNCTIONS.items() if name != "relu"}  # what check_grad uses


def grad(f):
    def g(*xs):
        inputs = [Var(x) for x in xs]
        f(*inputs).backward()
        return tuple(v.grad for v in inputs)
    return g


def one_neuron_grads(w, b, a_prev, y):
    z = w * a_prev + b
    a = 0.5 * (1 + math.tanh(z / 2))
    dC_dz = 2 * (a - y) * a * (1 - a)
    return dC_dz * a_prev, dC_dz, dC_dz * w


def _topological_dfs(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p, _ in node.parents)
    return order


def _dfs_backward(self):
    """Second correct backward: iterative DFS post-order, swept in reverse."""
    self.grad = 1.0
    for node in reversed(_topological_dfs(self)):
        for parent, local in node.parents:
            parent.grad += local * node.grad


def variant(**methods):
    """A subclass of the correct Var with some methods replaced."""
    return type("Variant", (Var,), methods)


# ------------------------------------------------------------- correct answers


def test_correct_answers_pass(capsys):
    check_var_ops(Var, **FAST)
    check_var_functions(Var, **FUNCTIONS, **FAST)
    check_backward(Var, **FAST)
    check_grad(grad, **SMOOTH, **FAST)
    check_one_neuron_grads(one_neuron_grads, **FAST)
    out = capsys.readouterr()
    assert out.out.count("\N{CHECK MARK}") == 5
    assert out.err == ""


def test_alternative_formulations_pass():
    # direct local derivatives instead of composing other operators, and a DFS backward
    class Direct(Var):
        def __sub__(self, other):
            other = _lift(other)
            return Direct(self.value - other.value, ((self, 1.0), (other, -1.0)))

        def __rsub__(self, other):
            return Direct(other - self.value, ((self, -1.0),))

        def __truediv__(self, other):
            other = _lift(other)
            return Direct(self.value / other.value,
                          ((self, 1 / other.value), (other, -self.value / other.value**2)))

        def __rtruediv__(self, other):
            return Direct(other / self.value, ((self, -other / self.value**2),))

        def __neg__(self):
            return Direct(-self.value, ((self, -1.0),))

        backward = _dfs_backward

    check_var_ops(Direct, **FAST)
    check_backward(Direct, **FAST)

    def relu_by_product(x):  # relu(x) = x * step(x), with the step as a constant
        return x * (1.0 if x.value > 0 else 0.0)

    check_var_functions(Var, **{**FUNCTIONS, "relu": relu_by_product}, **FAST)

    def one_neuron_by_engine(w, b, a_prev, y):
        def cost(w, b, a):
            s = 1 / (1 + exp(-(w * a + b)))
            return (s - y) ** 2
        return grad(cost)(w, b, a_prev)

    check_one_neuron_grads(one_neuron_by_engine, **FAST)


def test_student_backward_defined_outside_the_class_and_attached():
    attached = variant()
    attached.backward = _dfs_backward
    check_backward(attached, **FAST)


# --------------------------------------------------------------------- var_ops


def _rsub_wrong_value(self, other):
    return Var(self.value - other, ((self, 1.0),))


def _rsub_wrong_sign(self, other):
    return Var(other - self.value, ((self, 1.0),))


def _mul_swapped(self, other):
    other = _lift(other)
    return Var(self.value * other.value, ((self, self.value), (other, other.value)))


def _div_sign(self, other):
    other = _lift(other)
    return Var(self.value / other.value,
               ((self, 1 / other.value), (other, self.value / other.value**2)))


def _pow_no_p(self, p):
    return Var(self.value**p, ((self, self.value ** (p - 1)),))


def _pow_not_reduced(self, p):
    return Var(self.value**p, ((self, p * self.value**p),))


def _neg_plus(self):
    return Var(-self.value, ((self, 1.0),))


def _mul_dict(self, other):
    other = _lift(other)
    parents = {self: other.value}
    parents[other] = self.value
    return Var(self.value * other.value, tuple(parents.items()))


def _mul_stores_var(self, other):
    other = _lift(other)
    return Var(self.value * other.value, ((self, other), (other, self)))


def _add_float(self, other):
    return self.value + _lift(other).value


def _add_in_place(self, other):
    self.value += _lift(other).value
    return self


def _rtruediv_swapped(self, other):
    return Var(self.value / other, ((self, 1 / other),))


@pytest.mark.parametrize(("methods", "match"), [
    ({"__rsub__": _rsub_wrong_value}, r"other - self = 2\.5 - x"),
    ({"__rsub__": _rsub_wrong_sign}, r"rsub sign"),
    ({"__mul__": _mul_swapped, "__rmul__": _mul_swapped}, r"product rule"),
    ({"__truediv__": _div_sign}, r"quotient rule sign"),
    ({"__pow__": _pow_no_p}, r"dropped the factor p"),
    ({"__pow__": _pow_not_reduced}, r"exponent must drop by one"),
    ({"__neg__": _neg_plus}, r"local derivative of `-x` is -1"),
    ({"__mul__": _mul_dict, "__rmul__": _mul_dict}, r"only one edge of `x \* x`"),
    ({"__mul__": _mul_stores_var, "__rmul__": _mul_stores_var}, r"local derivative as a Var"),
    ({"__add__": _add_float, "__radd__": _add_float}, r"not a Var"),
    ({"__add__": _add_in_place, "__radd__": _add_in_place}, r"changed one of its operands"),
    ({"__rtruediv__": _rtruediv_swapped}, r"other / self = 3 / x"),
])
def test_var_ops_mistakes_are_named(methods, match):
    with pytest.raises(CheckFailed, match=match):
        check_var_ops(variant(**methods), **FAST)


class NoParents:
    def __init__(self, value):
        self.value, self.grad = float(value), 0.0


class GradOne(Var):
    def __init__(self, value, parents=()):
        super().__init__(value, parents)
        self.grad = 1.0


def _stub(self, other):
    raise NotImplementedError()


def test_var_ops_requires_parents_and_zero_grad():
    with pytest.raises(CheckFailed, match="no attribute `parents`"):
        check_var_ops(NoParents, **FAST)
    with pytest.raises(CheckFailed, match=r"starts with grad 0\.0"):
        check_var_ops(GradOne, **FAST)


def test_var_ops_stub_is_not_implemented():
    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_var_ops(variant(__add__=_stub), **FAST)


# --------------------------------------------------------------- var_functions


@pytest.mark.parametrize(("name", "wrong", "match"), [
    ("sin", _unary(math.sin, lambda v: -math.cos(v)), r"sin' = cos, not -cos"),
    ("cos", _unary(math.cos, math.sin), r"cos' = -sin"),
    ("log", _unary(math.log, lambda v: v), r"log' = 1/x, not x"),
    ("tanh", _unary(math.tanh, lambda v: 1 + math.tanh(v) ** 2), r"not 1 \+ tanh\*\*2"),
    ("tanh", _unary(math.tanh, lambda v: 1 - v**2), r"computed from tanh\(x\), not from x"),
    ("relu", _unary(lambda v: max(v, 0.0), lambda v: float(v >= 0)), r"relu'\(0\) = 0"),
    ("relu", _unary(lambda v: v, lambda v: float(v > 0)), r"negative inputs give 0"),
    ("exp", _unary(math.exp, lambda v: 1.0), r"exp\(x\), not 1"),
])
def test_var_functions_mistakes_are_named(name, wrong, match):
    with pytest.raises(CheckFailed, match=match):
        check_var_functions(Var, **{**FUNCTIONS, name: wrong}, **FAST)


def test_var_functions_composites_point_at_operators():
    with pytest.raises(CheckFailed, match="look at the operators"):
        check_var_functions(variant(__pow__=_pow_no_p), **FUNCTIONS, **FAST)


# -------------------------------------------------------------------- backward


def _backward_assign(self):
    self.grad = 1.0
    for node in reversed(_topological_dfs(self)):
        for parent, local in node.parents:
            parent.grad = local * node.grad


def _backward_no_seed(self):
    for node in reversed(_topological_dfs(self)):
        for parent, local in node.parents:
            parent.grad += local * node.grad


def _backward_no_chain(self):
    self.grad = 1.0
    for node in reversed(_topological_dfs(self)):
        for parent, local in node.parents:
            parent.grad += local


def _backward_forward_order(self):
    self.grad = 1.0
    for node in _topological_dfs(self):
        for parent, local in node.parents:
            parent.grad += local * node.grad


def _backward_recursive_topo(self):
    order, seen = [], set()

    def visit(node):
        if id(node) not in seen:
            seen.add(id(node))
            for parent, _ in node.parents:
                visit(parent)
            order.append(node)

    visit(self)
    self.grad = 1.0
    for node in reversed(order):
        for parent, local in node.parents:
            parent.grad += local * node.grad


def _backward_all_paths(self):
    def push(node, g):
        node.grad += g
        for parent, local in node.parents:
            push(parent, local * g)

    push(self, 1.0)


def _backward_duplicates(self):
    order = []

    def visit(node):  # no visited set: shared nodes are listed once per path
        for parent, _ in node.parents:
            visit(parent)
        order.append(node)

    visit(self)
    self.grad = 1.0
    for node in reversed(order):
        for parent, local in node.parents:
            parent.grad += local * node.grad


def _backward_raises_limit(self):
    sys.setrecursionlimit(100_000)
    _dfs_backward(self)


@pytest.mark.parametrize(("backward", "match"), [
    (_backward_assign, r"accumulate with"),
    (_backward_no_seed, r"self\.grad = 1\.0"),
    (_backward_no_chain, r"chain rule"),
    (_backward_forward_order, r"reversed \(output first\)"),
    (_backward_recursive_topo, r"RecursionError on a graph 20001 nodes deep.*explicit stack"),
    (_backward_all_paths, r"repeats work.*16 diamonds in a row"),
    (_backward_duplicates, r"processed twice|repeats work"),
    (_backward_raises_limit, r"changed Python's recursion limit"),
])
def test_backward_mistakes_are_named(backward, match):
    limit = sys.getrecursionlimit()
    with pytest.raises(CheckFailed, match=match):
        check_backward(variant(backward=backward), **FAST)
    assert sys.getrecursionlimit() == limit


def test_backward_recursion_with_a_limit_raised_beforehand_is_caught():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    try:
        with pytest.raises(CheckFailed, match="RecursionError on a graph 20001 nodes deep"):
            check_backward(variant(backward=_backward_recursive_topo), **FAST)
        assert sys.getrecursionlimit() == 100_000
    finally:
        sys.setrecursionlimit(limit)


def test_backward_duplicates_on_the_diamond_is_named():
    graph = rm._diamond_graph()
    Node = rm._node_class(variant(backward=_backward_duplicates), rm._Budget())
    with pytest.raises(CheckFailed, match="processed twice"):
        rm._check_graph_backward(Node, rm._Budget(), graph)


def test_backward_all_paths_is_stopped_quickly():
    import time

    start = time.perf_counter()
    with pytest.raises(CheckFailed, match="repeats work"):
        check_backward(variant(backward=_backward_all_paths), **FAST)
    assert time.perf_counter() - start < 5


def test_backward_of_broken_operators_points_at_var_ops():
    with pytest.raises(CheckFailed, match=r"var_ops"):
        check_backward(variant(__pow__=_pow_no_p), **FAST)


# ------------------------------------------------------------------------ grad


def _grad_leaky(f):
    cache = []

    def g(*xs):
        if not cache:
            cache.extend(Var(x) for x in xs)
        for v, x in zip(cache, xs, strict=True):
            v.value = x
        f(*cache).backward()
        return tuple(v.grad for v in cache)
    return g


def _grad_list(f):
    def g(*xs):
        return list(grad(f)(*xs))
    return g


def _grad_vars(f):
    def g(*xs):
        inputs = [Var(x) for x in xs]
        f(*inputs).backward()
        return tuple(inputs)
    return g


@pytest.mark.parametrize(("wrong", "match"), [
    (_grad_leaky, r"leaked between calls"),
    (_grad_list, r"return a tuple"),
    (_grad_vars, r"not the Vars themselves"),
])
def test_grad_mistakes_are_named(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        check_grad(wrong, **SMOOTH, **FAST)


# ------------------------------------------------------------ one_neuron_grads


def _neuron(variant_of):
    def wrong(w, b, a_prev, y):
        z = w * a_prev + b
        a = 1 / (1 + math.exp(-z))
        return variant_of(z, a, w, a_prev, y)
    return wrong


@pytest.mark.parametrize(("wrong", "match"), [
    (_neuron(lambda z, a, w, ap, y: (2 * (a - y) * ap, 2 * (a - y), 2 * (a - y) * w)),
     r"sigma'\(z\) = a \(1 - a\) of the chain rule is missing"),
    (_neuron(lambda z, a, w, ap, y: ((a - y) * a * (1 - a) * ap, (a - y) * a * (1 - a),
                                     (a - y) * a * (1 - a) * w)), r"factor 2"),
    (_neuron(lambda z, a, w, ap, y: tuple(-v for v in one_neuron_grads(w, z - w * ap, ap, y))),
     r"signs are flipped"),
    (_neuron(lambda z, a, w, ap, y: one_neuron_grads(ap, z - w * ap, w, y)),
     r"swapped a_prev and w"),
    (_neuron(lambda z, a, w, ap, y: one_neuron_grads(w, z - w * ap, ap, y)[::-1]),
     r"swapped"),
    (_neuron(lambda z, a, w, ap, y: tuple(one_neuron_grads(w, z - w * ap, ap, y)[i]
                                          for i in (1, 0, 2))),
     r"wrong order: you returned \(dC_db, dC_dw, dC_da_prev\)"),
])
def test_one_neuron_mistakes_are_named(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        check_one_neuron_grads(wrong, **FAST)


@settings(max_examples=25)
@given(scale=st.floats(1e-6, 1e-2), which=st.integers(0, 2))
def test_one_neuron_perturbation_beyond_tolerance_is_rejected(scale, which):
    def perturbed(w, b, a_prev, y):
        out = list(one_neuron_grads(w, b, a_prev, y))
        out[which] += scale * (1 + abs(out[which]))
        return tuple(out)

    with pytest.raises(CheckFailed):
        check_one_neuron_grads(perturbed, trials=0)


@settings(max_examples=25)
@given(scale=st.floats(0, 1e-13))
def test_one_neuron_round_off_is_accepted(scale):
    def rounded(w, b, a_prev, y):
        return tuple(v * (1 + scale) for v in one_neuron_grads(w, b, a_prev, y))

    check_one_neuron_grads(rounded, trials=0)


# ------------------------------------------------------------ record and replay


# The student's functions are passed positionally: record_then_replay replaces positional
# answers by inert stand-ins in the replay (keyword arguments would reach it as they are).
def _var_functions(Var, sin, cos, exp, log, tanh, relu, **kwargs):
    check_var_functions(Var, sin=sin, cos=cos, exp=exp, log=log, tanh=tanh, relu=relu,
                        **kwargs)


def _grad(grad, sin, cos, exp, log, tanh, **kwargs):
    check_grad(grad, sin=sin, cos=cos, exp=exp, log=log, tanh=tanh, **kwargs)


def _functions(**replaced):
    return tuple({**FUNCTIONS, **replaced}.values())


def _smooth():
    return tuple(SMOOTH.values())


_RELU_GE = _unary(lambda v: max(v, 0.0), lambda v: float(v >= 0))
_RELU_IDENTITY = _unary(lambda v: v, lambda v: float(v > 0))
_SIN_MINUS_COS = _unary(math.sin, lambda v: -math.cos(v))


def _wrong_neuron_shape(w, b, a_prev, y):
    return one_neuron_grads(w, b, a_prev, y)[:2]


@pytest.mark.parametrize(("check", "answers", "match"), [
    # var_ops: right, then named mistakes of values, graphs, operands and types
    pytest.param(check_var_ops, (Var,), None, id="var_ops-right"),
    pytest.param(check_var_ops, (variant(__rsub__=_rsub_wrong_value),),
                 r"other - self = 2\.5 - x", id="var_ops-rsub-value"),
    pytest.param(check_var_ops, (variant(__mul__=_mul_dict, __rmul__=_mul_dict),),
                 r"only one edge of `x \* x`", id="var_ops-dict-parents"),
    pytest.param(check_var_ops, (variant(__mul__=_mul_stores_var, __rmul__=_mul_stores_var),),
                 r"local derivative as a Var", id="var_ops-local-is-var"),
    pytest.param(check_var_ops, (variant(__add__=_add_float, __radd__=_add_float),),
                 r"not a Var", id="var_ops-not-a-var"),
    pytest.param(check_var_ops, (variant(__add__=_add_in_place, __radd__=_add_in_place),),
                 r"changed one of its operands", id="var_ops-in-place"),
    pytest.param(check_var_ops, (NoParents,), r"no attribute `parents`", id="var_ops-no-parents"),
    pytest.param(check_var_ops, (GradOne,), r"starts with grad 0\.0", id="var_ops-grad-one"),
    pytest.param(check_var_ops, (variant(__add__=_stub),), r"not implemented yet",
                 id="var_ops-stub"),
    pytest.param(check_var_ops, (Var(1.0),), r"pass your class `Var` itself",
                 id="var_ops-not-a-class"),
    # var_functions
    pytest.param(_var_functions, (Var, *_functions()), None, id="var_functions-right"),
    pytest.param(_var_functions, (Var, *_functions(sin=_SIN_MINUS_COS)),
                 r"sin' = cos, not -cos", id="var_functions-sin"),
    pytest.param(_var_functions, (Var, *_functions(relu=_RELU_GE)), r"relu'\(0\) = 0",
                 id="var_functions-relu-at-0"),
    pytest.param(_var_functions, (Var, *_functions(relu=_RELU_IDENTITY)),
                 r"negative inputs give 0", id="var_functions-relu-value"),
    pytest.param(_var_functions, (variant(__pow__=_pow_no_p), *_functions()),
                 r"look at the operators", id="var_functions-operators"),
    # backward: right (two ways), wrong sums, repeated work, recursion, the limit
    pytest.param(check_backward, (Var,), None, id="backward-right"),
    pytest.param(check_backward, (variant(backward=_dfs_backward),), None,
                 id="backward-right-dfs"),
    pytest.param(check_backward, (variant(backward=_backward_assign),), r"accumulate with",
                 id="backward-assign"),
    pytest.param(check_backward, (variant(backward=_backward_no_seed),),
                 r"self\.grad = 1\.0", id="backward-no-seed"),
    pytest.param(check_backward, (variant(backward=_backward_forward_order),),
                 r"reversed \(output first\)", id="backward-forward-order"),
    pytest.param(check_backward, (variant(backward=_backward_all_paths),),
                 r"repeats work.*16 diamonds in a row", id="backward-all-paths"),
    pytest.param(check_backward, (variant(backward=_backward_duplicates),),
                 r"processed twice|repeats work", id="backward-duplicates"),
    pytest.param(check_backward, (variant(backward=_backward_recursive_topo),),
                 r"RecursionError on a graph 20001 nodes deep.*explicit stack",
                 id="backward-recursive"),
    pytest.param(check_backward, (variant(backward=_backward_raises_limit),),
                 r"changed Python's recursion limit", id="backward-raises-limit"),
    pytest.param(check_backward, (variant(__pow__=_pow_no_p),), r"var_ops",
                 id="backward-broken-operators"),
    pytest.param(check_backward, (NoParents,), r"no method `backward`", id="backward-no-method"),
    # grad
    pytest.param(_grad, (grad, *_smooth()), None, id="grad-right"),
    pytest.param(_grad, (_grad_leaky, *_smooth()), r"leaked between calls", id="grad-leaky"),
    pytest.param(_grad, (_grad_list, *_smooth()), r"return a tuple", id="grad-list"),
    pytest.param(_grad, (_grad_vars, *_smooth()), r"not the Vars themselves", id="grad-vars"),
    # one_neuron_grads
    pytest.param(check_one_neuron_grads, (one_neuron_grads,), None, id="neuron-right"),
    pytest.param(check_one_neuron_grads, (_neuron(
        lambda z, a, w, ap, y: (2 * (a - y) * ap, 2 * (a - y), 2 * (a - y) * w)),),
        r"sigma'\(z\) = a \(1 - a\) of the chain rule is missing", id="neuron-no-sigma-prime"),
    pytest.param(check_one_neuron_grads, (_neuron(
        lambda z, a, w, ap, y: one_neuron_grads(ap, z - w * ap, w, y)),),
        r"swapped a_prev and w", id="neuron-swapped"),
    pytest.param(check_one_neuron_grads, (_wrong_neuron_shape,), r"return the three numbers",
                 id="neuron-shape"),
])
def test_replay_reaches_the_same_verdict(check, answers, match, tmp_path):
    """Grading records each check in the kernel and replays it without the student's code:
    both runs must reach the same verdict, with the same message."""
    from course.recording import record_then_replay

    limit = sys.getrecursionlimit()
    live, replayed = record_then_replay(check, *answers, log=tmp_path / "log.jsonl", **FAST)
    assert live == replayed
    if match is None:
        assert live is None
    else:
        assert live is not None and re.search(match, live, re.DOTALL), live
    assert sys.getrecursionlimit() == limit


# ------------------------------------------------- the checker's own machinery


@settings(max_examples=30)
@given(seed=st.integers(0, 10_000))
def test_linear_algebra_oracle_matches_a_correct_sweep(seed):
    """numpy.linalg adjoints agree with an independent DFS sweep on random graphs."""
    graph = rm._random_graph(np.random.default_rng(seed))
    nodes = graph.build(Var)
    _dfs_backward(nodes[graph.output])
    expected = rm._adjoints(len(nodes), graph.edges, graph.output)
    np.testing.assert_allclose([n.grad for n in nodes], expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=30)
@given(x=st.floats(-3, 3), y=st.floats(0.5, 3))
def test_graph_sweep_matches_hand_derivatives(x, y):
    """The checker's sweep over `parents` gives the textbook gradient of x**2*y + y/x."""
    assume_x = x if abs(x) > 0.1 else 0.5
    a, b = Var(assume_x), Var(y)
    out = a**2 * b + b / a
    got = rm._graph_gradients(out, [a, b], where="test")
    expected = [2 * assume_x * y - y / assume_x**2, assume_x**2 + 1 / assume_x]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
