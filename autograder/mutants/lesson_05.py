"""Common mistakes and alternative right answers for 05-reverse-mode (backpropagation)."""

from __future__ import annotations

from autograder.mutants import Alternative, Mutant, patcher

LESSON = "05-reverse-mode"

_p = patcher(LESSON)


# ------------------------------------------------------------------------------ var_ops

_RSUB = "Var(other - self.value, ((self, -1.0),))"
_RADD = '''    def __radd__(self, other):
        """other + self, for a number other."""
        ### BEGIN SOLUTION
        return self + other
        ### END SOLUTION

'''

_VAR_OPS = [
    Mutant("var_ops", "product rule: each factor stores its own value",
           _p("var_ops", ("((self, other.value), (other, self.value))",
                          "((self, self.value), (other, other.value))")),
           r"you stored each factor's own value"),
    Mutant("var_ops", "x + y records only one parent",
           _p("var_ops", ("((self, 1.0), (other, 1.0))", "((self, 1.0),)")),
           r"`x \+ y` must record both parents.*one is missing"),
    Mutant("var_ops", "__rsub__ computes self - other",
           _p("var_ops", (_RSUB, "Var(self.value - other, ((self, 1.0),))")),
           r"must compute other - self = 2\.5 - x"),
    Mutant("var_ops", "__rsub__ with local derivative +1 (rsub sign)",
           _p("var_ops", (_RSUB, "Var(other - self.value, ((self, 1.0),))")),
           r"rsub sign"),
    Mutant("var_ops", "quotient rule sign: d(x/y)/dy = +x/y**2",
           _p("var_ops", ("-self.value / other.value**2", "self.value / other.value**2")),
           r"quotient rule sign: d\(x/y\)/dy = -x/y\*\*2"),
    Mutant("var_ops", "power rule without the factor p",
           _p("var_ops", ("p * self.value ** (p - 1)", "self.value ** (p - 1)")),
           r"you dropped the factor p"),
    Mutant("var_ops", "negation with local derivative +1",
           _p("var_ops", ("Var(-self.value, ((self, -1.0),))", "Var(-self.value, ((self, 1.0),))")),
           r"the local derivative of `-x` is -1, not \+1"),
    Mutant("var_ops", "parents kept in a dict keyed by parent (x * x loses an edge)",
           _p("var_ops", ("self.parents = tuple(parents)",
                          "self.parents = tuple(dict(parents).items())")),
           r"only one edge of `x \* x` reached x"),
    Mutant("var_ops", "__rtruediv__ computes self / other",
           _p("var_ops", ("Var(other / self.value, ((self, -other / self.value**2),))",
                          "Var(self.value / other, ((self, 1.0 / other),))")),
           r"(?s)other / self = 3 / x.*you computed self / other = x / 3|you computed self / other"
           r" = x / 3.*other / self = 3 / x"),
    Mutant("var_ops", "power rule without lowering the exponent: p x**p",
           _p("var_ops", ("p * self.value ** (p - 1)", "p * self.value**p")),
           r"exponent must drop by one"),
    Mutant("var_ops", "the local derivative stored as a Var (other, not other.value)",
           _p("var_ops", ("((self, other.value), (other, self.value))",
                          "((self, other), (other, self))")),
           r"local derivative as a Var"),
    Mutant("var_ops", "__add__ returns a float, not a Var",
           _p("var_ops", ("return Var(self.value + other.value, ((self, 1.0), (other, 1.0)))",
                          "return self.value + other.value")),
           r"not a Var"),
    Mutant("var_ops", "__add__ adds into self and returns it",
           _p("var_ops", ("return Var(self.value + other.value, ((self, 1.0), (other, 1.0)))",
                          "self.value += other.value\n        return self")),
           r"changed one of its operands"),
    Mutant("var_ops", "the parents stored under another name (self.inputs)",
           _p("var_ops", ("self.parents = tuple(parents)", "self.inputs = tuple(parents)")),
           r"no attribute `parents`"),
    Mutant("var_ops", "a new Var starts with grad 1.0",
           _p("var_ops", ("self.grad = 0.0", "self.grad = 1.0")),
           r"starts with grad 0\.0"),
]

_VAR_OPS_ALT = [
    Alternative("var_ops", "-, / and the reflected operators built from +, *, ** and -x", '''\
import numbers


def as_var(x):
    """x itself if it is a Var, otherwise a constant Var(x)."""
    return x if isinstance(x, Var) else Var(x)


class Var:
    """A scalar node of a computational graph."""

    def __init__(self, value, parents=()):
        self.value = float(value)
        self.grad = 0.0
        self.parents = tuple(parents)

    def __add__(self, other):
        other = as_var(other)
        return Var(self.value + other.value, ((self, 1.0), (other, 1.0)))

    def __mul__(self, other):
        other = as_var(other)
        return Var(self.value * other.value, ((self, other.value), (other, self.value)))

    def __pow__(self, p):
        assert isinstance(p, numbers.Real), "numeric exponents only"
        return Var(self.value**p, ((self, p * self.value ** (p - 1)),))

    def __neg__(self):
        return Var(-self.value, ((self, -1.0),))

    def __sub__(self, other):
        return self + (-as_var(other))

    def __truediv__(self, other):
        return self * as_var(other) ** -1

    def __radd__(self, other):
        return as_var(other) + self

    def __rsub__(self, other):
        return as_var(other) + (-self)

    def __rmul__(self, other):
        return as_var(other) * self

    def __rtruediv__(self, other):
        return as_var(other) * self**-1
'''),
    Alternative("var_ops", "no constant nodes: numbers folded into the local derivatives", '''\
import numbers


class Var:
    """A scalar node of a computational graph; parents = ((parent, d self / d parent), ...)."""

    __slots__ = ("value", "grad", "parents")

    def __init__(self, value, parents=()):
        self.value = float(value)
        self.grad = 0.0
        self.parents = tuple(parents)

    def __add__(self, other):
        if isinstance(other, numbers.Real):
            return Var(self.value + other, [(self, 1.0)])
        return Var(self.value + other.value, [(self, 1.0), (other, 1.0)])

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, numbers.Real):
            return Var(self.value - other, [(self, 1.0)])
        return Var(self.value - other.value, [(self, 1.0), (other, -1.0)])

    def __rsub__(self, other):
        return Var(other - self.value, [(self, -1.0)])

    def __mul__(self, other):
        if isinstance(other, numbers.Real):
            return Var(self.value * other, [(self, float(other))])
        return Var(self.value * other.value, [(self, other.value), (other, self.value)])

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, numbers.Real):
            return Var(self.value / other, [(self, 1.0 / other)])
        q = self.value / other.value
        return Var(q, [(self, 1.0 / other.value), (other, -q / other.value)])

    def __rtruediv__(self, other):
        q = other / self.value
        return Var(q, [(self, -q / self.value)])

    def __pow__(self, p):
        return Var(self.value**p, [(self, p * self.value ** (p - 1))])

    def __neg__(self):
        return Var(-self.value, [(self, -1.0)])
'''),
]

# ------------------------------------------------------------------------ var_functions

_VAR_FUNCTIONS = [
    Mutant("var_functions", "sin' = -cos",
           _p("var_functions", ("((x, math.cos(x.value)),)", "((x, -math.cos(x.value)),)")),
           r"sin' = cos, not -cos"),
    Mutant("var_functions", "cos' = sin (minus sign forgotten)",
           _p("var_functions", ("((x, -math.sin(x.value)),)", "((x, math.sin(x.value)),)")),
           r"cos' = -sin: the minus sign is missing"),
    Mutant("var_functions", "exp' stored as 1",
           _p("var_functions", ("return Var(value, ((x, value),))",
                                "return Var(value, ((x, 1.0),))")),
           r"the local derivative of exp is exp\(x\), not 1"),
    Mutant("var_functions", "log' = 1/x**2",
           _p("var_functions", ("((x, 1.0 / x.value),)", "((x, 1.0 / x.value**2),)")),
           r"log' = 1/x, not 1/x\*\*2"),
    Mutant("var_functions", "tanh' = 1 - tanh (square forgotten)",
           _p("var_functions", ("((x, 1.0 - t * t),)", "((x, 1.0 - t),)")),
           r"the tanh must be squared"),
    Mutant("var_functions", "tanh' computed from x: 1 - x**2",
           _p("var_functions", ("((x, 1.0 - t * t),)", "((x, 1.0 - x.value**2),)")),
           r"(?s)computed from tanh\(x\), not from x.*1 - x\*\*2 is wrong|1 - x\*\*2 is wrong.*"
           r"computed from tanh\(x\), not from x"),
    Mutant("var_functions", "relu'(0) = 1 (>= instead of >)",
           _p("var_functions", ("1.0 if x.value > 0 else 0.0", "1.0 if x.value >= 0 else 0.0")),
           r"relu'\(0\) = 0"),
    Mutant("var_functions", "relu value is x itself (max forgotten)",
           _p("var_functions", ("Var(max(x.value, 0.0),", "Var(x.value,")),
           r"relu\(x\) = max\(x, 0\): negative inputs give 0"),
    Mutant("var_functions", "log' = x",
           _p("var_functions", ("((x, 1.0 / x.value),)", "((x, x.value),)")),
           r"log' = 1/x, not x"),
    Mutant("var_functions", "tanh' = 1 + tanh**2",
           _p("var_functions", ("((x, 1.0 - t * t),)", "((x, 1.0 + t * t),)")),
           r"not 1 \+ tanh\*\*2"),
]

_VAR_FUNCTIONS_ALT = [
    Alternative("var_functions", "a unary() helper, numpy functions, tanh' = 1/cosh**2", '''\
def unary(x, value, local):
    """A new Var with value `value` and one parent x with local derivative `local`."""
    return Var(value, ((x, float(local)),))


def sin(x):
    return unary(x, np.sin(x.value), np.cos(x.value))


def cos(x):
    return unary(x, np.cos(x.value), -np.sin(x.value))


def exp(x):
    e = np.exp(x.value)
    return unary(x, e, e)


def log(x):
    return unary(x, np.log(x.value), 1.0 / x.value)


def tanh(x):
    return unary(x, np.tanh(x.value), 1.0 / np.cosh(x.value) ** 2)


def relu(x):
    positive = x.value > 0
    return unary(x, x.value if positive else 0.0, 1.0 if positive else 0.0)
'''),
    Alternative("var_functions", "derivative table and a factory", '''\
import math

_RULES = {
    "sin": (math.sin, math.cos),
    "cos": (math.cos, lambda a: -math.sin(a)),
    "exp": (math.exp, math.exp),
    "log": (math.log, lambda a: 1 / a),
    "tanh": (math.tanh, lambda a: 1 - math.tanh(a) ** 2),
    "relu": (lambda a: a if a > 0 else 0.0, lambda a: float(a > 0)),
}


def _make(name):
    h, h_prime = _RULES[name]

    def function(x):
        return Var(h(x.value), [(x, h_prime(x.value))])

    function.__name__ = name
    return function


sin, cos, exp, log, tanh, relu = (_make(name) for name in _RULES)
'''),
    Alternative("var_functions", "relu(x) = x * step(x), the step a constant",
                _p("var_functions", ("return Var(max(x.value, 0.0), ((x, 1.0 if x.value > 0 "
                                     "else 0.0),))",
                                     "return x * (1.0 if x.value > 0 else 0.0)"))),
]

# ----------------------------------------------------------------------------- backward

_RECURSIVE_SORT = '''    order, visited = [], set()

    def visit(node):
        if id(node) in visited:
            return
        visited.add(id(node))
        for parent, _ in node.parents:
            visit(parent)
        order.append(node)

    visit(self)
'''
_ITERATIVE_SORT_START = "    order, visited = [], set()\n    stack = [(self, False)]\n"
_ITERATIVE_SORT_END = ("            if id(parent) not in visited:\n"
                       "                stack.append((parent, False))\n")


def _sort_replaced(new: str) -> str:
    """The solution's backward with its iterative topological sort replaced by ``new``."""
    source = _p("backward")
    start = source.index(_ITERATIVE_SORT_START)
    end = source.index(_ITERATIVE_SORT_END) + len(_ITERATIVE_SORT_END)
    return source[:start] + new + source[end:]


_BACKWARD = [
    Mutant("backward", "recursive topological sort (fails on deep graphs)",
           _sort_replaced(_RECURSIVE_SORT),
           r"(?s)RecursionError on a graph 20001 nodes deep.*recursive topological\s+sort"
           r".*explicit stack"),
    Mutant("backward", "naive recursion over every path, no topological order",
           _sort_replaced('''    def push(node, upstream):
        node.grad += upstream
        for parent, local in node.parents:
            push(parent, local * upstream)

    push(self, 1.0)
    return
'''),
           r"(?s)backward repeats work.*16 diamonds in a row"),
    Mutant("backward", "`=` instead of `+=` when passing gradients to parents",
           _p("backward", ("parent.grad += local * node.grad", "parent.grad = local * node.grad")),
           r"only one contribution arrived: accumulate with `parent\.grad \+= "),
    Mutant("backward", "the output is never seeded with grad 1.0",
           _p("backward", ("    self.grad = 1.0\n", "")),
           r"backward must seed `self\.grad = 1\.0`"),
    Mutant("backward", "the sweep runs from the inputs to the output (order not reversed)",
           _p("backward", ("for node in reversed(order):", "for node in order:")),
           r"the sweep went from the inputs to the output"),
    Mutant("backward", "no visited set: shared nodes processed twice",
           _p("backward", ("        if id(node) in visited:\n            continue\n", ""),
              ("            if id(parent) not in visited:\n"
               "                stack.append((parent, False))",
               "            stack.append((parent, False))")),
           r"was processed twice"),
    Mutant("backward", "chain rule: parents receive the local derivative only",
           _p("backward", ("parent.grad += local * node.grad", "parent.grad += local")),
           r"a parent receives local_derivative \* node\.grad, not only the\s+local derivative"),
    Mutant("backward", "raises Python's recursion limit instead of avoiding recursion",
           _p("backward", ("    order, visited = [], set()\n    stack",
                           "    import sys\n\n    sys.setrecursionlimit(100_000)\n"
                           "    order, visited = [], set()\n    stack")),
           r"changed Python's recursion limit"),
]

_BACKWARD_ALT = [
    Alternative("backward", "Kahn's algorithm: count children, release a node when done", '''\
def backward(self):
    """Fill in d self / d node as node.grad for every node of self's graph."""
    children = {id(self): 0}
    nodes = {id(self): self}
    stack = [self]
    while stack:  # discover the graph and count each node's children (edges to it)
        node = stack.pop()
        for parent, _ in node.parents:
            if id(parent) not in nodes:
                nodes[id(parent)] = parent
                children[id(parent)] = 0
                stack.append(parent)
            children[id(parent)] += 1
    self.grad = 1.0
    ready = [self]
    while ready:  # a node is ready once all its children have passed their grads on
        node = ready.pop()
        for parent, local in node.parents:
            parent.grad += local * node.grad
            children[id(parent)] -= 1
            if children[id(parent)] == 0:
                ready.append(parent)


Var.backward = backward
'''),
    Alternative("backward", "iterative post-order with an iterator per stack entry", '''\
def backward(self):
    """Fill in d self / d node as node.grad for every node of self's graph."""
    order, seen = [], {id(self)}
    stack = [(self, iter(self.parents))]
    while stack:
        node, parents = stack[-1]
        for parent, _ in parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, iter(parent.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    self.grad = 1.0
    for node in order[::-1]:
        for parent, local in node.parents:
            parent.grad = parent.grad + local * node.grad


Var.backward = backward
'''),
]

# --------------------------------------------------------------------------------- grad

_G_BODY = ("        inputs = [Var(x) for x in xs]\n"
           "        f(*inputs).backward()\n")

_GRAD = [
    Mutant("grad", "input Vars created once and reused across calls (gradients leak)",
           _p("grad", ("    def g(*xs):\n" + _G_BODY,
                       "    inputs = []\n\n"
                       "    def g(*xs):\n"
                       "        if not inputs:\n"
                       "            inputs.extend(Var(x) for x in xs)\n"
                       "        for v, x in zip(inputs, xs):\n"
                       "            v.value = float(x)\n"
                       "        f(*inputs).backward()\n")),
           r"gradients leaked between calls"),
    Mutant("grad", "input Vars cached per point (a second call at the same point leaks)",
           _p("grad", ("    def g(*xs):\n" + _G_BODY,
                       "    cache = {}\n\n"
                       "    def g(*xs):\n"
                       "        inputs = cache.setdefault(xs, [Var(x) for x in xs])\n"
                       "        f(*inputs).backward()\n")),
           r"gradients leaked between calls"),
    Mutant("grad", "backward() never called: every partial derivative read as 0",
           _p("grad", (_G_BODY, "        inputs = [Var(x) for x in xs]\n        f(*inputs)\n")),
           r"every partial derivative is 0: the grads were read from Vars that f never "
           r"received, or before backward\(\) ran"),
    Mutant("grad", "the grads read from fresh Vars, not the ones f received (all zeros)",
           _p("grad", ("return tuple(float(v.grad) for v in inputs)",
                       "return tuple(float(Var(x).grad) for x in xs)")),
           r"every partial derivative is 0"),
    Mutant("grad", "returned a list instead of a tuple",
           _p("grad", ("return tuple(float(v.grad) for v in inputs)",
                       "return [float(v.grad) for v in inputs]")),
           r"returned list .*return a\s+tuple"),
    Mutant("grad", "returned the input Vars instead of their grads",
           _p("grad", ("return tuple(float(v.grad) for v in inputs)", "return tuple(inputs)")),
           r"returned Vars .*return their gradients as floats"),
]

_GRAD_ALT = [
    Alternative("grad", "a callable class; grads returned as they are", '''\
class _Gradient:
    """g(*xs) = (df/dx_1, ..., df/dx_n): a new graph on every call."""

    def __init__(self, f):
        self.f = f

    def __call__(self, *xs):
        inputs = tuple(map(Var, xs))
        self.f(*inputs).backward()
        return tuple(v.grad for v in inputs)


def grad(f):
    """Return g with g(*xs) = (df/dx_1, ..., df/dx_n) at xs."""
    return _Gradient(f)
'''),
    Alternative("grad", "functools.wraps and an explicit loop", '''\
import functools


def grad(f):
    """Return g with g(*xs) = (df/dx_1, ..., df/dx_n) at xs."""
    @functools.wraps(f)
    def g(*xs):
        inputs = []
        for x in xs:
            inputs.append(Var(float(x)))
        out = f(*inputs)
        out.backward()
        partials = []
        for v in inputs:
            partials.append(float(v.grad))
        return tuple(partials)
    return g
'''),
]

# --------------------------------------------------------------------- one_neuron_grads

_DELTA = "dC_dz = 2.0 * (a - y) * a * (1.0 - a)"
_RETURN = "return (dC_dz * a_prev, dC_dz, dC_dz * w)"

_ONE_NEURON = [
    Mutant("one_neuron_grads", "sigma'(z) factor missing from the chain rule",
           _p("one_neuron_grads", (_DELTA, "dC_dz = 2.0 * (a - y)")),
           r"the factor sigma'\(z\) = a \(1 - a\) of the chain rule is missing"),
    Mutant("one_neuron_grads", "factor 2 of the square's derivative forgotten",
           _p("one_neuron_grads", (_DELTA, "dC_dz = (a - y) * a * (1.0 - a)")),
           r"the factor 2 of d/da \(a - y\)\*\*2"),
    Mutant("one_neuron_grads", "sign flip: 2 (y - a)",
           _p("one_neuron_grads", (_DELTA, "dC_dz = 2.0 * (y - a) * a * (1.0 - a)")),
           r"the signs are flipped"),
    Mutant("one_neuron_grads", "dC/dw and dC/da_prev swapped (w and a_prev mixed up)",
           _p("one_neuron_grads", (_RETURN, "return (dC_dz * w, dC_dz, dC_dz * a_prev)")),
           r"dC_dw and dC_da_prev are swapped"),
    Mutant("one_neuron_grads", "sigma'(z) written as z (1 - z)",
           _p("one_neuron_grads", (_DELTA, "dC_dz = 2.0 * (a - y) * z * (1.0 - z)")),
           r"not z \(1 - z\)"),
    Mutant("one_neuron_grads", "returned in the order (dC_db, dC_dw, dC_da_prev)",
           _p("one_neuron_grads", (_RETURN, "return (dC_dz, dC_dz * a_prev, dC_dz * w)")),
           r"right but in the wrong order"),
    Mutant("one_neuron_grads", "dC/da_prev left out: a pair returned",
           _p("one_neuron_grads", (_RETURN, "return (dC_dz * a_prev, dC_dz)")),
           r"return the three numbers"),
]

_ONE_NEURON_ALT = [
    Alternative("one_neuron_grads", "sigmoid written 1 / (1 + exp(-z)), a list returned", '''\
import math


def one_neuron_grads(w, b, a_prev, y):
    """(dC/dw, dC/db, dC/da_prev) of C = (sigmoid(w * a_prev + b) - y)**2."""
    z = w * a_prev + b
    a = 1.0 / (1.0 + math.exp(-z))
    dC_da = 2 * (a - y)
    da_dz = a * (1 - a)
    dC_dz = dC_da * da_dz
    return [a_prev * dC_dz, 1.0 * dC_dz, w * dC_dz]
'''),
    Alternative("one_neuron_grads", "by the lesson's own Var and backward", '''\
def one_neuron_grads(w, b, a_prev, y):
    """(dC/dw, dC/db, dC/da_prev) of C = (sigmoid(w * a_prev + b) - y)**2."""
    W, B, A = Var(w), Var(b), Var(a_prev)
    a = 1 / (1 + exp(-(W * A + B)))
    cost = (a - y) ** 2
    cost.backward()
    return (W.grad, B.grad, A.grad)
'''),
]

# The backward cell ends with `Var.backward = backward`, which changes the Var class that
# the in-process runner's cached lesson namespace shares between entries: a broken backward
# stays attached for every later entry that runs backward (grad, one_neuron_grads). So the
# backward mutants run last, and the backward alternatives (which attach a correct backward
# again) run before the alternatives that need one.
MUTANTS = [*_VAR_OPS, *_VAR_FUNCTIONS, *_GRAD, *_ONE_NEURON, *_BACKWARD]
ALTERNATIVES = [*_BACKWARD_ALT, *_VAR_OPS_ALT, *_VAR_FUNCTIONS_ALT, *_GRAD_ALT,
                *_ONE_NEURON_ALT]

#: Real mistakes that the checker kills without naming them (reported to the lead; not
#: collected by tests/test_mutant_banks.py until course/checks/reverse_mode.py names them).
UNNAMED = [
    Mutant("var_ops", "__radd__ not defined (2 + x fails)",
           _p("var_ops", (_RADD, "")),
           r"__radd__"),
]
