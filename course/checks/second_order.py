r"""Checkers for lesson 10-second-order.

Oracles, all independent of the lesson's solution:

* Jacobians: ``jax.jacfwd`` in float64;
* Hessian-vector products: ``jax.hessian(f)(x) @ v`` for small n, and for n up to a million a
  function whose Hessian is known in closed form (a diagonal, a rank-one term and a
  tridiagonal coupling), multiplied out in numpy;
* power iteration: the eigendecomposition of the test matrix (``numpy.linalg.eigh``) gives
  the k-th iterate in closed form, :math:`v_k \propto Q \Lambda^k Q^T v_0`;
* backtracking: the Armijo condition evaluated directly, trial after trial;
* conjugate gradient: ``numpy.linalg.solve`` for converged answers and, for a run cut after
  k iterations, the CG iterate's defining property: it minimises the energy norm over the
  Krylov space :math:`\mathcal K_k(A, b)` (an orthonormal basis by Arnoldi with
  re-orthogonalisation, then a k x k solve);
* Newton-CG: ``jax.hessian`` and ``numpy.linalg.solve`` for the direction, the Armijo
  condition for the step; for n = 100,000 a Hessian that is a diagonal plus a rank-one term
  (Sherman-Morrison).

What the student's function does, and not only what it returns, is observed through
*probes* handed in place of the problem: a function ``f`` that counts how often JAX traces
it, a ``matvec`` that counts products and looks at the vectors it is given. A Jacobian built
by ``jax.jacfwd``, a Hessian formed inside ``hvp``, a matrix rebuilt from ``matvec`` to hand
to ``numpy.linalg.solve`` each show up as a cost (traces, products, memory), and the checks
fail on the cost. Everything the probes see is gathered inside :func:`course.checking.call`
(see :mod:`course.recording`), so grading replays it.
"""

from __future__ import annotations

import dis
import functools
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from course.checking import (
    CheckFailed,
    Mistake,
    Tolerance,
    as_float_array,
    call,
    expect_close,
    fmt,
    merge_mistakes,
    passed,
)

__all__ = [
    "check_backtracking",
    "check_conjugate_gradient",
    "check_hvp",
    "check_jacobian_by_columns",
    "check_jacobian_by_rows",
    "check_newton_cg_step",
    "check_top_eigenvalue",
    "ready",
]

#: Derivatives by JAX against JAX: only round-off separates them.
EXACT = Tolerance(rtol=1e-9, atol=1e-11)
#: Iterative answers (power iteration, CG) after a few dozen floating-point steps.
ITERATIVE = Tolerance(rtol=1e-7, atol=1e-10)

# ------------------------------------------------------------------ demos and library use

_PASSED: dict[str, int] = {}


def _passed(name: str, fn: Any, detail: str) -> None:
    _PASSED[name] = id(fn)
    passed(name, detail)


def ready(fn: Any, name: str) -> bool:
    """True when ``fn`` passed ``name``'s check in this session; else say what to finish.

    Demos call the student's function only when this is true, so that a lesson with
    unfinished exercises still runs top to bottom (printing one line per skipped demo).
    """
    if _PASSED.get(name) == id(fn):
        return True
    print(f"(finish `{name}` and run its check to see this with your own function)")
    return False


_JACOBIANS = frozenset({"jacfwd", "jacrev", "jacobian", "hessian"})
_SOLVERS = frozenset({"solve", "inv", "lstsq", "pinv", "cholesky", "cho_solve", "lu_solve",
                      "solve_triangular", "spsolve", "cg", "gmres", "minres", "bicgstab",
                      "cgs", "qmr", "lgmres", "tensorsolve", "tensorinv"})
_EIGEN = frozenset({"eig", "eigh", "eigvals", "eigvalsh", "eigs", "eigsh", "svd", "svds",
                    "lobpcg"})
_LINE_SEARCH = frozenset({"line_search", "line_search_armijo", "scalar_search_armijo"})


def _student(obj: object) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.startswith("__") or module not in sys.modules


def _codes(code: types.CodeType) -> Iterable[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def library_uses(fn: Any, names: frozenset[str], _seen: set[int] | None = None) -> list[str]:
    """Library functions named in ``names`` that the student's ``fn`` reaches, sorted.

    Reads attribute accesses (``np.linalg.solve``, ``jax.hessian``), ``from ... import``
    names and globals bound to library functions, in ``fn``, its nested functions and the
    student's own functions it calls. A student's helper that happens to be called ``solve``
    does not count.
    """
    seen = set() if _seen is None else _seen
    root = _seen is None  # the answer itself is the student's, wherever it was defined
    if id(fn) in seen or not isinstance(fn, types.FunctionType) or not (root or _student(fn)):
        return []
    seen.add(id(fn))
    found: set[str] = set()
    for code in _codes(fn.__code__):
        for ins in dis.get_instructions(code):
            name = ins.argval if isinstance(ins.argval, str) else ""
            if ins.opname in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM") and name in names:
                found.add(name)
            elif ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and name in fn.__globals__:
                value = fn.__globals__[name]
                if isinstance(value, types.FunctionType) and _student(value):
                    found.update(library_uses(value, names, seen))
                elif name in names and not _student(value):
                    found.add(name)
    for cell in fn.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        found.update(library_uses(value, names, seen))
    return sorted(found)


_merge = merge_mistakes


def _refuse(name: str, uses: list[str], task: str) -> None:
    if uses:
        shown = ", ".join(f"`{u}`" for u in uses)
        raise CheckFailed(f"`{name}` calls {shown}: this exercise asks you to {task}; the "
                          "library function is the oracle the check compares with.")


def _array_answer(value: Any, *, what: str, shape: tuple[int, ...]) -> np.ndarray:
    array = as_float_array(value, what=what)
    if array.shape != shape:
        raise CheckFailed(f"{what} has shape {array.shape}, expected {shape}.")
    return array


@functools.cache
def _jax():
    from course.oracle import jax, jnp
    return jax, jnp


def _is_tracer(x: Any) -> bool:
    jax, _ = _jax()
    return isinstance(x, jax.core.Tracer)


_BUILDERS: dict[str, Callable] = {
    "jac": lambda kind, p, jnp: _jac_family(kind, *p, jnp),
    "hvp": lambda kind, p, jnp: _hvp_small(kind, *p, jnp),
    "big_hvp": lambda kind, p, jnp: _big(jnp, *p),
    "newton": lambda kind, p, jnp: _newton_small(kind, *p, jnp),
    "big_newton": lambda kind, p, jnp: _big_newton(jnp, *p),
}


@functools.cache
def _compiled(family: str, kind: int) -> Callable:
    """One jitted function per test family: student transformations of it compile once."""
    jax, jnp = _jax()
    return jax.jit(lambda params, x: _BUILDERS[family](kind, params, jnp)(x))


def _test_function(family: str, kind: int, *params: Any) -> Callable:
    """The family's function with its parameters bound (as float64 arrays)."""
    return functools.partial(_compiled(family, kind),
                             tuple(np.asarray(p, dtype=np.float64) for p in params))


class _Function:
    """A function R^n -> R^m (or R) handed to student code; counts how JAX traces it.

    ``traced`` counts calls with a JAX tracer (each ``jax.jvp``, ``jax.vjp``,
    ``jax.linearize`` or ``jax.grad`` of it traces it once); ``concrete`` counts plain calls.
    """

    def __init__(self, fn: Callable, n: int, label: str, *, limit: int = 50,
                 who: str = "f", too_many: str | None = None) -> None:
        self.fn, self.n, self.label, self.limit, self.who = fn, n, label, limit, who
        self.too_many = too_many
        self.traced = 0
        self.concrete = 0

    def __call__(self, x: Any) -> Any:
        _, jnp = _jax()
        shape = tuple(getattr(x, "shape", ()))
        if shape != (self.n,):
            raise CheckFailed(f"{self.who} takes one vector of shape ({self.n},); it was "
                              f"called with shape {shape}.")
        if _is_tracer(x):
            self.traced += 1
        else:
            self.concrete += 1
        if self.traced + self.concrete > self.limit:
            raise CheckFailed(self._too_many())
        return self.fn(jnp.asarray(x))

    def _too_many(self) -> str:
        if self.too_many:
            return self.too_many
        return (f"{self.who} was evaluated more than {self.limit} times: the work grows with "
                "the size of the problem where it should not.")

    def __repr__(self) -> str:
        return self.label


# ------------------------------------------------------------------------------ Jacobians


def _jac_family(kind: int, W, U, c, jnp):
    """Test maps R^n -> R^m built from random matrices (all smooth, all entries used)."""
    def f(x):
        if kind == 0:
            return jnp.tanh(W @ x) + c * (U @ x) ** 2
        if kind == 1:
            return jnp.sin(W @ x) * jnp.exp(0.3 * (U @ x)) + c
        return (W @ x) * jnp.sum(x**2) / (1.0 + (U @ x) ** 2) + jnp.cos(c * (W @ x))
    return f


_JAC_LABELS = ("tanh(W x) + c (U x)**2", "sin(W x) exp(0.3 U x) + c",
               "(W x) |x|**2 / (1 + (U x)**2) + cos(c W x)")


@dataclass(frozen=True)
class _JacCase:
    kind: int
    W: np.ndarray
    U: np.ndarray
    c: np.ndarray
    x: np.ndarray

    @property
    def m(self) -> int:
        return self.W.shape[0]

    @property
    def n(self) -> int:
        return self.W.shape[1]

    def jnp_fn(self) -> Callable:
        return _test_function("jac", self.kind, self.W, self.U, self.c)

    def label(self) -> str:
        return f"f(x) = {_JAC_LABELS[self.kind]}, R^{self.n} -> R^{self.m}"


def _jac_case(rng: np.random.Generator, m: int, n: int, kind: int | None = None) -> _JacCase:
    kind = int(rng.integers(3)) if kind is None else kind
    scale = 1 / np.sqrt(n)
    return _JacCase(kind, rng.normal(size=(m, n)) * scale, rng.normal(size=(m, n)) * scale,
                    rng.normal(size=m), rng.uniform(-1.5, 1.5, size=n))


@functools.cache
def _jac_oracle_fn(kind: int) -> Callable:
    jax, jnp = _jax()
    return jax.jit(lambda x, W, U, c: jax.jacfwd(_jac_family(kind, W, U, c, jnp))(x))


def _jac_oracle(case: _JacCase) -> np.ndarray:
    fn = _jac_oracle_fn(case.kind)
    return np.asarray(fn(case.x, case.W, case.U, case.c), dtype=np.float64)


def _run_jacobian(student: Callable, probe: _Function, x: np.ndarray,
                  ) -> tuple[Any, int, int, list[str]]:
    """Inside a call: the answer, how often f was traced and evaluated, library uses."""
    uses = library_uses(student, _JACOBIANS)
    answer = student(probe, x)
    return np.asarray(answer, dtype=np.float64), probe.traced, probe.concrete, uses


#: (m, n, kind) of the test maps; random trials draw new data for the same shapes, so JAX
#: compiles each shape once however many trials run.
_JAC_SHAPES = ((3, 2, 0), (2, 3, 1), (1, 4, 2), (12, 3, 1), (3, 12, 2), (4, 4, 0))


def _jacobian_cases(rng: np.random.Generator, trials: int) -> list[_JacCase]:
    cases = [_jac_case(rng, m, n, kind) for m, n, kind in _JAC_SHAPES]
    for _ in range(trials):
        m, n, kind = _JAC_SHAPES[int(rng.integers(len(_JAC_SHAPES)))]
        cases.append(_jac_case(rng, m, n, kind))
    return cases


def _check_jacobian(student: Callable, name: str, *, seed: int, trials: int, rows: bool
                    ) -> int:
    rng = np.random.default_rng(seed)
    cases = _jacobian_cases(rng, trials)
    for case in cases:
        probe = _Function(case.jnp_fn(), case.n, case.label(), limit=4 * max(case.m, case.n) + 8)
        x = case.x.copy()
        got, traced, concrete, uses = call(_run_jacobian, student, probe, x, name=name,
                                           inputs={"f": probe, "x": case.x}).value
        if not np.array_equal(x, case.x):
            raise CheckFailed(f"`{name}` modified x in place: graded functions leave their "
                              "arguments unchanged.")
        _refuse(name, uses, "build the Jacobian from " + ("vector-Jacobian products (jax.vjp)"
                                                          if rows else "jax.jvp, column by column"))
        where = f"{name}(f, x) for {case.label()} at x = {fmt(case.x)}"
        expected = _jac_oracle(case)
        if got.shape != expected.shape:
            hint = ""
            if got.shape == expected.T.shape and case.m != case.n:
                hint = (" That is the transpose: row i of the Jacobian is the gradient of "
                        "output i, column j the derivative along input j.")
            raise CheckFailed(f"{where} has shape {got.shape}; expected (m, n) = "
                              f"{expected.shape}.{hint}")
        expect_close(got, expected, what=f"`{name}`", inputs={"f": probe, "x": case.x},
                     tolerance=EXACT, mistakes=lambda e=expected, c=case: _jacobian_mistakes(
                         e, np.asarray(c.jnp_fn()(c.x), dtype=np.float64)))
        _jacobian_cost(name, case, traced, concrete, rows=rows, where=where)
    return len(cases)


def _jacobian_mistakes(expected: np.ndarray, value: np.ndarray) -> list[Mistake]:
    m, n = expected.shape
    out = []
    if m == n:
        out.append(Mistake("the Jacobian is transposed: put the jvp along input j in COLUMN j "
                           "(and the pullback of output i in ROW i).", expected.T))
    out += [
        Mistake("every column is J (1, ..., 1): the tangent of column j must be the unit "
                "vector e_j, not a vector of ones.", np.tile(expected.sum(axis=1)[:, None],
                                                             (1, n))),
        Mistake("every row is (1, ..., 1) J: the cotangent of row i must be the unit vector "
                "e_i, not a vector of ones.", np.tile(expected.sum(axis=0)[None, :], (m, 1))),
        Mistake("those are copies of f(x), the FIRST output of jax.jvp (the primal); the "
                "column is the second output (the tangent).", np.tile(value[:, None], (1, n))),
        Mistake("the rows or columns came out in reverse order.", expected[::-1, ::-1]),
    ]
    return out


def _jacobian_cost(name: str, case: _JacCase, traced: int, concrete: int, *, rows: bool,
                   where: str) -> None:
    if rows:
        if traced in (case.m, case.m + 1) and case.m > 1:
            raise CheckFailed(
                f"{where} linearised f {traced} times, once per output. Call jax.vjp ONCE: it "
                "returns f(x) and the pullback, and each row is one call of the pullback on a "
                "unit covector. The linearisation is the expensive part.")
        if traced != 1:
            raise CheckFailed(f"{where} traced f {traced} times; the contract is one jax.vjp "
                              "linearisation, then one pullback per output.")
    elif traced not in (1, case.n):
        rows_like = traced == case.m and case.m != 1
        raise CheckFailed(
            f"{where} traced f {traced} times"
            + (", once per OUTPUT: that is building by rows" if rows_like else "")
            + f"; building by columns is one jax.jvp per input (n = {case.n} of them), each "
            "along a unit vector e_j.")
    if concrete > 2:
        raise CheckFailed(f"{where} evaluated f {concrete} more times outside JAX; jax.jvp and "
                          "jax.vjp already return f(x).")


def check_jacobian_by_columns(jacobian_by_columns: Callable, *, seed: int = 0,
                              trials: int = 6) -> None:
    r"""``jacobian_by_columns(f, x)``: column j is :math:`J e_j` from one ``jax.jvp``.

    Oracle ``jax.jacfwd``. ``f`` counts its traces: n of them (one jvp per input) or one
    (``jax.linearize`` once, then the linear map per column).
    """
    count = _check_jacobian(jacobian_by_columns, "jacobian_by_columns", seed=seed,
                            trials=trials, rows=False)
    _passed("jacobian_by_columns", jacobian_by_columns,
            f"{count} Jacobians (tall, wide, square) agree with jax.jacfwd, one jvp per column")


def check_jacobian_by_rows(jacobian_by_rows: Callable, *, seed: int = 0,
                           trials: int = 6) -> None:
    r"""``jacobian_by_rows(f, x)``: row i is :math:`e_i^T J`, one pullback per output of a
    single ``jax.vjp`` linearisation (``f`` must be traced exactly once). Oracle ``jax.jacfwd``.
    """
    count = _check_jacobian(jacobian_by_rows, "jacobian_by_rows", seed=seed, trials=trials,
                            rows=True)
    _passed("jacobian_by_rows", jacobian_by_rows,
            f"{count} Jacobians agree with jax.jacfwd, from one vjp linearisation each")


# ------------------------------------------------------------------------------------ hvp


def _hvp_small(kind: int, A, a, jnp):
    def f(x):
        if kind == 0:
            return 0.5 * x @ (A @ x) + jnp.sum(jnp.cos(x)) + 0.1 * jnp.sum(x**4)
        if kind == 1:
            return jnp.log(jnp.sum(jnp.exp(A @ x))) + 0.5 * jnp.sum(x**2) * jnp.tanh(a @ x)
        return jnp.sum(jnp.sin(A @ x) ** 2) + jnp.exp(0.2 * (a @ x))
    return f


_HVP_LABELS = ("0.5 x.A x + sum cos x + 0.1 sum x**4", "logsumexp(A x) + 0.5 |x|**2 tanh(a.x)",
               "sum sin(A x)**2 + exp(0.2 a.x)")


def _big(jnp, c, a, s):
    r"""f(x) = sum c x**4 / 4 + (a.x)**2 / 2 + s sum x_i x_{i+1}: Hessian known in closed form."""
    def f(x):
        return jnp.sum(c * x**4) / 4 + 0.5 * jnp.dot(a, x) ** 2 + s * jnp.dot(x[:-1], x[1:])
    return f


def _big_hvp(c, a, s, x, v) -> np.ndarray:
    """H v = 3 c x**2 v + a (a.v) + s (shift up + shift down) v, in numpy."""
    out = 3 * c * x**2 * v + a * (a @ v)
    out[:-1] += s * v[1:]
    out[1:] += s * v[:-1]
    return out


#: Entries of a large answer that are recorded and compared (with two weighted sums).
_SAMPLE = 4096


def _run_hvp(hvp: Callable, probe: _Function, x: np.ndarray, v: np.ndarray, *,
             sample: np.ndarray | None, weights: np.ndarray | None) -> tuple:
    """Inside a call: the answer (or, for a large n, a sample of it), traces, library uses."""
    uses = library_uses(hvp, _JACOBIANS)
    if uses:
        return None, 0, 0, uses, ""
    try:
        answer = hvp(probe, x, v)
    except MemoryError:
        return None, probe.traced, probe.concrete, uses, "memory"
    except Exception as error:  # XLA reports a failed allocation as its own runtime error
        if "RESOURCE_EXHAUSTED" in str(error) or "Out of memory" in str(error):
            return None, probe.traced, probe.concrete, uses, "memory"
        raise
    answer = np.asarray(answer, dtype=np.float64)
    if sample is not None and answer.shape == x.shape:
        answer = (answer[sample], float(answer @ weights), float(np.sum(answer)))
    return answer, probe.traced, probe.concrete, uses, ""


def _hvp_cost(where: str, n: int, traced: int, concrete: int, failure: str) -> None:
    if failure == "memory":
        raise CheckFailed(
            f"{where} ran out of memory: the n x n Hessian has {n * n:,} entries "
            f"({8 * n * n / 1e9:,.0f} GB). Never form the Hessian: push v forward through "
            "the gradient, jax.jvp(jax.grad(f), (x,), (v,)).")
    if traced > 3:
        raise CheckFailed(
            f"{where} traced f {traced} times for one product: it builds the Hessian (or a "
            "part of it) one column at a time. One forward-over-reverse pass, "
            "jax.jvp(jax.grad(f), (x,), (v,)), gives H v at the cost of a few gradients.")
    if concrete > 2:
        raise CheckFailed(f"{where} evaluated f {concrete} times outside JAX; one pass of "
                          "jax.jvp over jax.grad(f) is all it takes.")


@functools.cache
def _hvp_oracle(kind: int) -> Callable:
    jax, jnp = _jax()
    return jax.jit(lambda A, a, x: jax.hessian(_hvp_small(kind, A, a, jnp))(x))


@functools.cache
def _grad_oracle(kind: int) -> Callable:
    jax, jnp = _jax()
    return jax.jit(lambda A, a, x: jax.grad(_hvp_small(kind, A, a, jnp))(x))


def _hvp_mistakes(kind, A, a, x, v, expected) -> list[Mistake]:
    grad = _grad_oracle(kind)
    g = np.asarray(grad(A, a, x))
    eps = 1e-6
    fd = (np.asarray(grad(A, a, x + eps * v)) - g) / eps
    return [
        Mistake("that is the gradient grad f(x), the first output of jax.jvp (the primal); "
                "H v is the second (the tangent).", g),
        Mistake("that is a finite difference of gradients, (grad f(x + eps v) - grad f(x)) / "
                "eps: accurate to about 1e-7 at best. Push v forward exactly with jax.jvp.",
                fd, Tolerance(rtol=1e-4, atol=1e-6)),
        Mistake("the sign is flipped: H v, not -H v.", -expected),
        Mistake("that is the gradient times v elementwise, not the Hessian times v.", g * v),
    ]


def check_hvp(hvp: Callable, *, seed: int = 0, trials: int = 8, big: int = 1_000_000) -> None:
    r"""``hvp(f, x, v)`` is :math:`\nabla^2 f(x)\, v` by forward-over-reverse, never forming H.

    Oracle ``jax.hessian(f)(x) @ v`` for small n; for ``n = big`` (a million by default) a
    function whose Hessian-vector product is known in closed form, compared on a sample of
    entries and two weighted sums. Forming the Hessian there needs terabytes and fails;
    building it by columns shows as one trace of ``f`` per column.
    """
    rng = np.random.default_rng(seed)
    kinds = {1: 0, 2: 1, 5: 2, 8: 0}  # one kind per size: each compiles once
    sizes = [1, 2, 5, 8] + [int(rng.choice([2, 5, 8])) for _ in range(trials)]
    for n in sizes:
        kind = kinds[n]
        A = rng.normal(size=(n, n)) / np.sqrt(n)
        A = A + A.T if kind == 0 else A
        a = rng.normal(size=n)
        x, v = rng.uniform(-1.5, 1.5, n), rng.normal(size=n)
        f = _test_function("hvp", kind, A, a)
        probe = _Function(f, n, f"f(x) = {_HVP_LABELS[kind]} (n = {n})", limit=20)
        xs, vs = x.copy(), v.copy()
        got, traced, concrete, uses, failure = call(
            _run_hvp, hvp, probe, xs, vs, sample=None, weights=None, name="hvp",
            inputs={"f": probe, "x": x, "v": v}).value
        _refuse("hvp", uses, "multiply by the Hessian without forming it")
        if not (np.array_equal(xs, x) and np.array_equal(vs, v)):
            raise CheckFailed("`hvp` modified x or v in place: leave the arguments unchanged.")
        where = f"hvp(f, x, v) for {probe.label}"
        _hvp_cost(where, n, traced, concrete, failure)
        expected = np.asarray(_hvp_oracle(kind)(A, a, x), dtype=np.float64) @ v
        expect_close(got, expected, what="`hvp`", inputs={"f": probe, "x": x, "v": v},
                     tolerance=EXACT,
                     mistakes=lambda c=(kind, A, a, x, v, expected): _hvp_mistakes(*c))
    _check_big_hvp(hvp, rng, big)
    _passed("hvp", hvp, f"{len(sizes)} products agree with jax.hessian(f)(x) @ v, and one at "
                        f"n = {big:,} (where the Hessian would need {8 * big * big / 1e12:,.0f} "
                        "TB) agrees with its closed form")


def _check_big_hvp(hvp: Callable, rng: np.random.Generator, n: int) -> None:
    c, a = rng.uniform(0.5, 2.0, n), rng.normal(size=n) / np.sqrt(n)
    s = float(rng.uniform(0.1, 0.5))
    x, v = rng.uniform(-1, 1, n), rng.normal(size=n)
    sample = np.sort(rng.choice(n, size=min(_SAMPLE, n), replace=False))
    weights = rng.normal(size=n)
    f = _test_function("big_hvp", 0, c, a, s)
    label = f"f(x) = sum c x**4 / 4 + (a.x)**2 / 2 + s sum x_i x_(i+1) (n = {n:,})"
    probe = _Function(f, n, label, limit=20)
    got, traced, concrete, uses, failure = call(
        _run_hvp, hvp, probe, x, v, sample=sample, weights=weights, name="hvp",
        inputs={"f": probe, "x": x, "v": v}).value
    _refuse("hvp", uses, "multiply by the Hessian without forming it")
    where = f"hvp(f, x, v) for {label}"
    _hvp_cost(where, n, traced, concrete, failure)
    expected = _big_hvp(c, a, s, x, v)
    if not isinstance(got, tuple):
        shape = np.shape(got)
        raise CheckFailed(f"{where} has shape {shape}, expected ({n},).")
    entries, weighted, total = got
    expect_close(entries, expected[sample], what=f"`hvp` (sampled entries, n = {n:,})",
                 tolerance=EXACT, mistakes=[Mistake("the sign is flipped: H v, not -H v.",
                                                    -expected[sample])])
    expect_close([weighted, total], [expected @ weights, np.sum(expected)],
                 what=f"`hvp` (weighted sums of all {n:,} entries)", tolerance=EXACT)


# -------------------------------------------------------------------------- matvec probes


class _Matvec:
    """``matvec(v) = A @ v`` handed to student code: counts products, refuses matrices."""

    def __init__(self, A: np.ndarray, label: str, *, limit: int) -> None:
        self.A = A
        self.n = A.shape[0]
        self.label = label
        self.limit = limit
        self.calls = 0
        self.unit = 0

    def __call__(self, v: Any) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        if v.shape != (self.n,):
            raise CheckFailed(f"matvec takes one vector of shape ({self.n},); it was given "
                              f"shape {v.shape}. Multiply by one vector at a time.")
        self.calls += 1
        if np.count_nonzero(v) == 1:
            self.unit += 1
        if self.calls > self.limit:
            raise CheckFailed(self.too_many())
        return self.A @ v

    def too_many(self) -> str:
        if self.unit >= min(self.n, self.limit) // 2 and self.n > 3:
            return (f"matvec was called with {self.unit} unit vectors e_j: that rebuilds the "
                    f"{self.n} x {self.n} matrix column by column (to hand it to a library "
                    "routine?). Use only a few products with the iterate itself.")
        return (f"matvec was called more than {self.limit} times: far more products than "
                "the method needs.")

    def __repr__(self) -> str:
        return self.label


def _spd(rng: np.random.Generator, eigenvalues: np.ndarray) -> np.ndarray:
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = (Q * eigenvalues) @ Q.T
    return (A + A.T) / 2


# ---------------------------------------------------------------------- top_eigenvalue


def _power_oracle(A: np.ndarray, num_iters: int, seed: int
                  ) -> tuple[float, float, float, float, float]:
    """Rayleigh quotients of v_k and v_(k-1), |A v_k|, the quotient of the unnormalised
    iterate, and the largest eigenvalue, all from one eigendecomposition."""
    lam, Q = np.linalg.eigh(A)
    z = np.random.default_rng(seed).standard_normal(A.shape[0])
    c = Q.T @ z
    scale = np.max(np.abs(lam))

    def iterate(k: int) -> np.ndarray:
        w = c * (lam / scale) ** k
        return w / np.linalg.norm(w)

    def rayleigh(k: int) -> float:
        w = iterate(k)
        return float(np.sum(lam * w**2))

    w = iterate(num_iters)
    with np.errstate(all="ignore"):
        raw = float(np.sum(lam ** (2 * num_iters + 1) * c**2))  # v^T A v of A^k z, unscaled
    return (rayleigh(num_iters), rayleigh(max(num_iters - 1, 0)), float(np.linalg.norm(lam * w)),
            raw, float(lam[-1]))


def _run_power(top_eigenvalue: Callable, matvec: _Matvec, n: int, args: tuple,
               kwargs: dict) -> tuple:
    uses = library_uses(top_eigenvalue, _EIGEN)
    if uses:
        return None, 0, 0, uses
    value = top_eigenvalue(matvec, n, *args, **kwargs)
    return value, matvec.calls, matvec.unit, uses


def check_top_eigenvalue(top_eigenvalue: Callable, *, seed: int = 0, trials: int = 8) -> None:
    r"""``top_eigenvalue(matvec, n, num_iters=100, seed=0)`` is power iteration.

    :math:`v_0 = z / \|z\|` with ``z = default_rng(seed).standard_normal(n)``, then
    ``num_iters`` times :math:`v \leftarrow A v / \|A v\|`, and :math:`v^T A v` of the last v.
    Oracle: the iterate in closed form from ``numpy.linalg.eigh``; a converged run is also
    compared with the largest eigenvalue. The products are counted: ``num_iters + 1``
    (one more for the final Rayleigh quotient is allowed).
    """
    rng = np.random.default_rng(seed)
    cases: list[tuple[np.ndarray, tuple, dict, int, int]] = []
    # (A, positional args after n, keyword args, num_iters, seed the student should use)
    fixed = [np.diag([1.0, 3.0]), np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([[5.0]])]
    for A in fixed:
        cases.append((A, (), {}, 100, 0))
    slow = _spd(rng, np.linspace(1.0, 10.0, 6) ** 1.0 * np.array([1, 1, 1, 1, 0.95, 1]))
    cases += [(slow, (3,), {}, 3, 0), (slow, (1, 7), {}, 1, 7), (slow, (), {"num_iters": 5,
                                                                              "seed": 3}, 5, 3)]
    cases.append((fixed[1], (0, 2), {}, 0, 2))  # no step at all: the quotient of v_0
    for _ in range(trials):
        n = int(rng.integers(2, 40))
        spectrum = rng.uniform(0.1, 10.0, n)
        k = int(rng.choice([2, 4, 10, 30, 100]))
        s = int(rng.integers(0, 1000))
        cases.append((_spd(rng, spectrum), (), {"num_iters": k, "seed": s}, k, s))
    big = _spd(rng, np.concatenate([np.linspace(0.1, 5.0, 299), [50.0]]))
    cases.append((big, (40, 1), {}, 40, 1))
    for A, args, kwargs, k, s in cases:
        n = A.shape[0]
        label = f"A v for a {n} x {n} symmetric positive definite A"
        probe = _Matvec(A, label, limit=k + 2)
        inputs = {"matvec": probe, "n": n, **dict(zip(("num_iters", "seed"), args, strict=False)),
                  **kwargs}
        value, calls, units, uses = call(_run_power, top_eigenvalue, probe, n, args, kwargs,
                                  name="top_eigenvalue", inputs=inputs).value
        _refuse("top_eigenvalue", uses, "find the eigenvalue by power iteration with matvec")
        where = f"top_eigenvalue({', '.join(f'{a}={fmt(b)}' for a, b in inputs.items())})"
        if units >= n >= 2:
            raise CheckFailed(f"{where} multiplied by {units} unit vectors: it rebuilt the "
                              f"{n} x {n} matrix from matvec. Power iteration needs only the "
                              "products A v of its iterates.")
        if calls < k:
            raise CheckFailed(f"{where} made {calls} products with matvec; power iteration "
                              f"with num_iters = {k} makes one per iteration (it never "
                              "rebuilds A).")
        rq, rq_before, norm, raw, largest = _power_oracle(A, k, s)
        mistakes = [
            Mistake("that is the Rayleigh quotient of the iterate BEFORE the last step: take "
                    "num_iters steps v = A v / |A v|, then return v . (A v) of the final v.",
                    rq_before),
            Mistake("that is |A v| (the norm used to normalise), not the Rayleigh quotient "
                    "v . (A v).", norm),
            Mistake("that is the exact largest eigenvalue, not the value after num_iters "
                    "steps of power iteration from default_rng(seed).standard_normal(n).",
                    largest),
            Mistake("v was never normalised: that is z^T A^(2k+1) z for the raw start z. "
                    "Divide by the norm at every step (and start from z / |z|).", raw),
        ]
        expect_close(value, rq, what=f"`top_eigenvalue` ({where})", tolerance=ITERATIVE,
                     mistakes=[m for m in mistakes
                               if np.isfinite(m.value) and not np.isclose(m.value, rq, rtol=1e-7)])
    _passed("top_eigenvalue", top_eigenvalue,
            f"{len(cases)} runs agree with power iteration in closed form (numpy.linalg.eigh), "
            "one matvec per iteration")


# --------------------------------------------------------------------------- backtracking


class _Counted:
    """f(x) for line searches: numpy in, float out; counts evaluations, stops endless loops."""

    def __init__(self, fn: Callable, label: str, *, limit: int = 200) -> None:
        self.fn, self.label, self.limit = fn, label, limit
        self.calls = 0

    def __call__(self, x: Any) -> float:
        self.calls += 1
        if self.calls > self.limit:
            raise CheckFailed(
                f"f was evaluated more than {self.limit} times: the search never accepted a "
                "step. Shrink alpha by rho after each failed test, and test f(x + alpha d) <= "
                "f(x) + c alpha g.d with the direction d and the gradient g given.")
        return float(self.fn(np.asarray(x, dtype=np.float64)))

    def __repr__(self) -> str:
        return self.label


def armijo(f: Callable, x, d, g, alpha0=1.0, rho=0.5, c=1e-4, *, strict=False, sign=1.0,
           slope=None, max_trials=200) -> float | None:
    """The first alpha0 rho**j that satisfies the Armijo condition, by direct evaluation."""
    fx = f(x)
    slope = float(np.dot(g, d)) if slope is None else slope
    alpha = alpha0
    for _ in range(max_trials):
        lhs, rhs = f(x + alpha * d), fx + sign * c * alpha * slope
        if (lhs < rhs) if strict else (lhs <= rhs):
            return alpha
        alpha *= rho
    return None


def _quadratic(A: np.ndarray, b: np.ndarray) -> Callable:
    return lambda x: 0.5 * x @ A @ x - b @ x


def _rosen(x: np.ndarray) -> float:
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def _rosen_grad(x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def _run_search(backtracking: Callable, f: _Counted, x, d, g, args, kwargs) -> tuple:
    uses = library_uses(backtracking, _LINE_SEARCH)
    if uses:
        return None, 0, uses
    value = backtracking(f, x, d, g, *args, **kwargs)
    return value, f.calls, uses


def _search_mistakes(fn, x, d, g, alpha0, rho, c) -> list[Mistake]:
    candidates = [
        ("the sufficient-decrease term has the wrong sign: the test is f(x + alpha d) <= "
         "f(x) + c alpha g.d, and g.d < 0 along a descent direction.",
         armijo(fn, x, d, g, alpha0, rho, c, sign=-1.0)),
        ("c was left out (f(x + alpha d) <= f(x)): the Armijo test asks for a decrease of at "
         "least c alpha |g.d|.", armijo(fn, x, d, g, alpha0, rho, 0.0)),
        ("the slope must be g.d, the directional derivative along d (not -g.g or |g|**2).",
         armijo(fn, x, d, g, alpha0, rho, c, slope=-float(g @ g))),
        ("the first trial must be alpha0 itself; alpha was shrunk before the first test.",
         (lambda a: None if a is None else a * rho)(armijo(fn, x, d, g, alpha0, rho, c))),
        ("that is the last REJECTED step (alpha / rho); return the first alpha that passes.",
         (lambda a: None if a is None or a == alpha0 else a / rho)(
             armijo(fn, x, d, g, alpha0, rho, c))),
    ]
    return _merge(Mistake(text, value) for text, value in candidates if value is not None)


def check_backtracking(backtracking: Callable, *, seed: int = 0, trials: int = 12) -> None:
    r"""``backtracking(f, x, d, g, alpha0=1.0, rho=0.5, c=1e-4)`` returns the first of
    :math:`\alpha_0, \alpha_0\rho, \alpha_0\rho^2, \dots` with
    :math:`f(x + \alpha d) \le f(x) + c\,\alpha\, g\cdot d`, the condition evaluated directly.
    """
    rng = np.random.default_rng(seed)
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    quad = _quadratic(A, b)
    x0 = np.array([2.0, 1.0])
    g0 = A @ x0 - b
    r0 = np.array([-1.2, 1.0])
    cases: list[tuple[Callable, str, np.ndarray, np.ndarray, np.ndarray, tuple, dict]] = [
        (quad, "0.5 x.A x - b.x", x0, -g0, g0, (), {}),
        (quad, "0.5 x.A x - b.x", x0, -g0, g0, (2.0, 0.3, 0.4), {}),
        (quad, "0.5 x.A x - b.x", x0, -3 * g0, g0, (), {"c": 0.45}),
        (_rosen, "Rosenbrock", r0, -_rosen_grad(r0), _rosen_grad(r0), (), {}),
        (_rosen, "Rosenbrock", r0, -_rosen_grad(r0), _rosen_grad(r0), (1.0, 0.8, 0.5), {}),
        (quad, "0.5 x.A x - b.x", x0, -g0 / 100, g0, (), {}),
        # f(x + d) equals the Armijo bound exactly: the test is <=, so alpha0 is accepted
        (lambda x: 0.5 * float(x @ x), "0.5 x.x", np.array([1.0]), np.array([-1.0]),
         np.array([1.0]), (), {"c": 0.5}),
    ]
    for _ in range(trials):
        n = int(rng.integers(1, 6))
        if rng.random() < 0.5:
            M = _spd(rng, rng.uniform(0.5, 20.0, n))
            bb = rng.normal(size=n)
            fn, label = _quadratic(M, bb), f"a random {n}-d quadratic"
            x = rng.normal(size=n)
            g = M @ x - bb
        else:
            n = max(n, 2)
            fn, label = _rosen, f"{n}-d Rosenbrock"
            x = rng.uniform(-1.5, 1.5, n)
            g = _rosen_grad(x)
        d = -g * rng.uniform(0.2, 5.0) if rng.random() < 0.7 else -g / np.abs(g).max()
        args = (float(rng.choice([1.0, 2.0, 0.5])), float(rng.uniform(0.2, 0.8)),
                float(rng.choice([1e-4, 0.1, 0.3, 0.49])))
        cases.append((fn, label, x, d, g, args, {}))
    for fn, label, x, d, g, args, kwargs in cases:
        hyper = {"alpha0": 1.0, "rho": 0.5, "c": 1e-4}
        hyper.update(dict(zip(("alpha0", "rho", "c"), args, strict=False)), **kwargs)
        probe = _Counted(fn, f"f = {label}")
        xs, ds, gs = x.copy(), d.copy(), g.copy()
        inputs = {"f": probe, "x": x, "d": d, "g": g,
                  **dict(zip(("alpha0", "rho", "c"), args, strict=False)), **kwargs}
        value, calls, uses = call(_run_search, backtracking, probe, xs, ds, gs, args, kwargs,
                                  name="backtracking", inputs=inputs).value
        _refuse("backtracking", uses, "write the backtracking loop yourself")
        if not (np.array_equal(xs, x) and np.array_equal(ds, d) and np.array_equal(gs, g)):
            raise CheckFailed("`backtracking` modified x, d or g in place: leave them unchanged.")
        expected = armijo(fn, x, d, g, hyper["alpha0"], hyper["rho"], hyper["c"])
        expect_close(value, expected, what="`backtracking`", inputs=inputs,
                     tolerance=Tolerance(rtol=1e-12, atol=0.0),
                     mistakes=lambda a=(fn, x, d, g, hyper): _search_mistakes(
                         a[0], a[1], a[2], a[3], a[4]["alpha0"], a[4]["rho"], a[4]["c"]))
        trials_needed = round(np.log(expected / hyper["alpha0"]) / np.log(hyper["rho"])) + 1
        if calls > trials_needed + 2:
            raise CheckFailed(
                f"`backtracking` evaluated f {calls} times for {fmt(inputs)}; the search needs "
                f"f(x) once and one evaluation per trial step ({trials_needed}). Stop at the "
                "first alpha that passes.")
    _passed("backtracking", backtracking,
            f"{len(cases)} searches return the first step the Armijo condition accepts")


# --------------------------------------------------------------------- conjugate gradient


def krylov_solution(A: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    r"""The minimiser of :math:`\|x - A^{-1}b\|_A` over :math:`\mathcal K_k(A, b)`.

    That is what k steps of CG from x = 0 return, computed without the CG recurrence: an
    orthonormal basis of the Krylov space (Arnoldi with two rounds of Gram-Schmidt), then the
    k x k Galerkin system solved by ``numpy.linalg.solve``.
    """
    n = len(b)
    if k == 0 or not np.any(b):
        return np.zeros(n)
    basis = [b / np.linalg.norm(b)]
    for _ in range(1, min(k, n)):
        w = A @ basis[-1]
        for _ in range(2):
            for q in basis:
                w = w - (q @ w) * q
        norm = np.linalg.norm(w)
        if norm < 1e-12 * np.linalg.norm(A @ basis[-1]):
            break  # the Krylov space is invariant: the solution lies in it
        basis.append(w / norm)
    V = np.array(basis).T
    y = np.linalg.solve(V.T @ A @ V, V.T @ b)
    return V @ y


def _run_cg(conjugate_gradient: Callable, matvec: _Matvec, b: np.ndarray, args: tuple,
            kwargs: dict) -> tuple:
    uses = library_uses(conjugate_gradient, _SOLVERS)
    if uses:
        return None, 0, 0, uses
    x = conjugate_gradient(matvec, b, *args, **kwargs)
    return np.asarray(x, dtype=np.float64), matvec.calls, matvec.unit, uses


@dataclass(frozen=True)
class _CGCase:
    A: np.ndarray
    b: np.ndarray
    tol: float
    max_iter: int | None
    args: tuple
    kwargs: dict
    label: str


def _cg_expected(case: _CGCase) -> tuple[np.ndarray, int]:
    """The CG answer for this contract, and how many iterations it takes."""
    n = len(case.b)
    limit = n if case.max_iter is None else case.max_iter
    norm_b = np.linalg.norm(case.b)
    for k in range(limit + 1):
        x = krylov_solution(case.A, case.b, k)
        if np.linalg.norm(case.b - case.A @ x) <= case.tol * norm_b or k == limit:
            return x, k
    raise AssertionError("unreachable")


def _cg_cases(rng: np.random.Generator, trials: int) -> list[_CGCase]:
    A2 = np.array([[4.0, 1.0], [1.0, 3.0]])
    b2 = np.array([1.0, 2.0])
    A3 = _spd(rng, np.array([1.0, 4.0, 9.0]))
    b3 = rng.normal(size=3)
    cases = [
        _CGCase(A2, b2, 1e-10, None, (), {}, "[[4, 1], [1, 3]]"),
        _CGCase(A2, b2, 1e-10, 1, (), {"max_iter": 1}, "[[4, 1], [1, 3]]"),
        _CGCase(np.array([[2.0]]), np.array([3.0]), 1e-10, None, (), {}, "[[2]]"),
        _CGCase(A3, b3, 1e-10, 2, (1e-10, 2), {}, "a 3 x 3 SPD matrix"),
        _CGCase(A3, np.zeros(3), 1e-10, None, (), {}, "a 3 x 3 SPD matrix, b = 0"),
        _CGCase(A3, 1e-14 * b3, 1e-10, None, (), {}, "a 3 x 3 SPD matrix, tiny b"),
        _CGCase(A3, 1e8 * b3, 1e-10, None, (), {}, "a 3 x 3 SPD matrix, huge b"),
    ]
    for _ in range(trials):
        n = int(rng.integers(2, 9))
        A = _spd(rng, rng.uniform(1.0, 20.0, n))
        b = rng.normal(size=n)
        choice = int(rng.integers(3))
        if choice == 0:
            cases.append(_CGCase(A, b, 1e-10, None, (), {}, f"a random {n} x {n} SPD matrix"))
        elif choice == 1:
            k = int(rng.integers(1, n))
            cases.append(_CGCase(A, b, 1e-10, k, (), {"max_iter": k},
                                 f"a random {n} x {n} SPD matrix"))
        else:
            tol = float(rng.choice([1e-2, 1e-4, 1e-6]))
            cases.append(_CGCase(A, b, tol, None, (tol,), {}, f"a random {n} x {n} SPD matrix"))
    # four distinct eigenvalues: CG is exact after four products, whatever n is
    n = 400
    A = _spd(rng, np.repeat([1.0, 2.0, 5.0, 10.0], n // 4))
    cases.append(_CGCase(A, rng.normal(size=n), 1e-10, None, (), {},
                         f"a {n} x {n} SPD matrix with 4 distinct eigenvalues"))
    return [c for c in cases if _unambiguous(c)]


def _unambiguous(case: _CGCase) -> bool:
    """False if a residual is so close to the threshold that round-off could decide."""
    norm_b = np.linalg.norm(case.b)
    if norm_b == 0 or case.tol < 1e-9:
        return True
    limit = len(case.b) if case.max_iter is None else case.max_iter
    for k in range(limit + 1):
        r = np.linalg.norm(case.b - case.A @ krylov_solution(case.A, case.b, k))
        if abs(r / (case.tol * norm_b) - 1) < 1e-3:
            return False
    return True


def _cg_mistakes(case: _CGCase, expected: np.ndarray, k: int, tolerance: Tolerance
                 ) -> list[Mistake]:
    n = len(case.b)
    exact = np.linalg.solve(case.A, case.b) if np.any(case.b) else np.zeros(n)
    out = []
    if np.any(case.b):
        out.append(Mistake("the stopping test must be relative, norm(r) <= tol * norm(b): "
                           "with a small b an absolute test stops before the first step.",
                           np.zeros(n), Tolerance(rtol=0, atol=1e-300)))
    out.append(Mistake("the sign is flipped: CG moves x along +alpha p (with r = b - A x).",
                       -expected, tolerance))
    if case.max_iter is not None and case.max_iter < n:
        out.append(Mistake(f"max_iter = {case.max_iter} was ignored: stop after that many "
                           "iterations even if the residual is still large.", exact, tolerance))
    if k >= 1:
        out.append(Mistake("that is one iteration too few: count iterations from the first "
                           "update of x.", krylov_solution(case.A, case.b, k - 1), tolerance))
    if k < n:
        out.append(Mistake("that is one iteration too many: stop as soon as norm(r) <= tol * "
                           "norm(b) (or after max_iter iterations).",
                           krylov_solution(case.A, case.b, k + 1), tolerance))
    out.append(Mistake("that is the residual r, not the solution x.",
                       case.b - case.A @ expected, ITERATIVE))
    return out


def check_conjugate_gradient(conjugate_gradient: Callable, *, seed: int = 0,
                             trials: int = 10) -> None:
    r"""``conjugate_gradient(matvec, b, tol=1e-10, max_iter=None)`` solves :math:`Ax = b`.

    Oracle: ``numpy.linalg.solve`` for converged runs and the Krylov-space minimiser for runs
    stopped by ``max_iter`` or a loose ``tol``. Products with ``matvec`` are counted: CG needs
    one per iteration (two if the residual is recomputed), so a 400 x 400 matrix with four
    distinct eigenvalues must be solved in a handful of products, not 400.
    """
    rng = np.random.default_rng(seed)
    cases = _cg_cases(rng, trials)
    for case in cases:
        n = len(case.b)
        expected, k = _cg_expected(case)
        limit = 2 * k + 4
        probe = _Matvec(case.A, f"A v for {case.label}", limit=limit)
        b = case.b.copy()
        inputs = {"matvec": probe, "b": case.b,
                  **dict(zip(("tol", "max_iter"), case.args, strict=False)), **case.kwargs}
        got, calls, units, uses = call(_run_cg, conjugate_gradient, probe, b, case.args,
                                       case.kwargs, name="conjugate_gradient",
                                       inputs=inputs).value
        _refuse("conjugate_gradient", uses, "solve A x = b with matvec alone")
        if not np.array_equal(b, case.b):
            raise CheckFailed("`conjugate_gradient` modified b in place: leave it unchanged.")
        scale = max(float(np.abs(expected).max(initial=0.0)), 1e-300)
        tolerance = Tolerance(rtol=ITERATIVE.rtol, atol=1e-9 * scale)
        expect_close(got, expected, what=f"`conjugate_gradient` on {case.label}", inputs=inputs,
                     tolerance=tolerance,
                     mistakes=lambda c=case, e=expected, k=k, t=tolerance: _merge(_cg_mistakes(
                         c, e, k, t)))
        if units > max(4, n // 2) and calls >= n:
            raise CheckFailed(f"`conjugate_gradient` on {case.label} multiplied by {units} unit "
                              f"vectors: it rebuilt the {n} x {n} matrix from matvec. CG needs "
                              f"only products with its search directions ({k} here).")
    _passed("conjugate_gradient", conjugate_gradient,
            f"{len(cases)} systems agree with numpy.linalg.solve or, when stopped early, with "
            "the Krylov-space minimiser; 400 unknowns solved in a handful of products")


# ------------------------------------------------------------------------- newton_cg_step


def _newton_small(kind: int, A, a, jnp):
    def f(x):
        if kind == 0:  # strictly convex: logsumexp + a quadratic
            return jnp.log(jnp.sum(jnp.exp(A @ x))) + 0.5 * jnp.sum(x**2) + a @ x
        if kind == 1:  # log-cosh: a full Newton step overshoots far from the minimum
            return jnp.sum(jnp.log(jnp.cosh(A @ x - a))) + 0.05 * jnp.sum(x**2)
        return jnp.sum(x**4) / 4 + 0.5 * x @ (A @ x) + jnp.sum(jnp.cos(x)) * 0.1
    return f


_NEWTON_LABELS = ("logsumexp(A x) + |x|**2 / 2 + a.x", "sum log cosh(A x - a) + 0.05 |x|**2",
                  "sum x**4 / 4 + x.A x / 2 + 0.1 sum cos x")


@functools.cache
def _newton_oracle(kind: int) -> Callable:
    """Gradient and Hessian of a test function, one compiled program per kind."""
    jax, jnp = _jax()

    def f(A, a, x):
        return _newton_small(kind, A, a, jnp)(x)

    return jax.jit(lambda A, a, x: (jax.grad(f, argnums=2)(A, a, x),
                                    jax.hessian(f, argnums=2)(A, a, x)))


def _big_newton(jnp, d, s, t):
    r"""f(x) = sum (d x**2 / 2 + log cosh(x - t)) + s (sum x)**2 / (2n): H = diag + rank one."""
    def f(x):
        return (jnp.sum(0.5 * d * x**2 + jnp.log(jnp.cosh(x - t)))
                + 0.5 * s * jnp.sum(x) ** 2 / x.shape[0])
    return f


def _big_newton_oracle(d, s, t, x) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Newton direction by Sherman-Morrison (numpy, closed form)."""
    n = len(x)
    g = d * x + np.tanh(x - t) + s * np.sum(x) / n
    D = d + 1 / np.cosh(x - t) ** 2
    u = np.full(n, np.sqrt(s / n))
    Dg, Du = g / D, u / D
    direction = -(Dg - Du * (u @ Dg) / (1 + u @ Du))
    return g, direction


def _run_newton(newton_cg_step: Callable, probe: _Function, x: np.ndarray) -> tuple:
    uses = library_uses(newton_cg_step, _JACOBIANS | _SOLVERS)
    if uses:
        return None, uses, 0
    answer = newton_cg_step(probe, x)
    return np.asarray(answer, dtype=np.float64), uses, probe.concrete


def _newton_mistakes(f, x, g, direction) -> list[Mistake]:
    ev = lambda y: float(f(y))  # noqa: E731 - the oracle function on numpy input
    out = [Mistake("x did not move: backtracking accepted only a vanishing step, so d is not a "
                   "descent direction. Newton's direction solves H d = -grad f(x) (mind the "
                   "minus), and then g . d < 0.", x, ITERATIVE),
           Mistake("that is the full Newton step x + d: the step length must come from "
                   "backtracking(f, x, d, g).", x + direction, ITERATIVE),
           Mistake("that is the Newton direction d itself; return the new point x + alpha d.",
                   direction, ITERATIVE)]
    alpha = armijo(ev, x, -g, g)
    if alpha is not None:
        out.append(Mistake("that is a gradient-descent step (d = -g); the Newton direction "
                           "solves H d = -g.", x - alpha * g, ITERATIVE))
    return out


def check_newton_cg_step(newton_cg_step: Callable, *, seed: int = 0, trials: int = 6,
                         big: int = 100_000) -> None:
    r"""``newton_cg_step(f, x)``: :math:`d` solves :math:`H d = -\nabla f(x)` (CG on HVPs),
    :math:`\alpha` from backtracking, and the new point :math:`x + \alpha d`.

    Oracle: ``numpy.linalg.solve(jax.hessian(f)(x), -jax.grad(f)(x))`` and the Armijo
    condition evaluated directly; at n = ``big`` a Hessian that is a diagonal plus a rank-one
    term, solved in closed form (forming that Hessian needs tens of gigabytes).
    """
    _, jnp = _jax()
    rng = np.random.default_rng(seed)
    cases = []
    kinds = {2: 0, 3: 1, 5: 2}  # one kind per size: each compiles once
    for i in range(3 + trials):
        n = [2, 3, 5][i] if i < 3 else int(rng.choice([2, 3, 5]))
        kind = kinds[n]
        A = rng.normal(size=(n + 1, n)) / np.sqrt(n) if kind == 0 else rng.normal(size=(n, n))
        if kind == 2:
            A = _spd(rng, rng.uniform(1.0, 5.0, n))
        a = rng.normal(size=n + 1 if kind == 0 else n)[:n] if kind != 1 else rng.normal(size=n)
        x = rng.uniform(-2.0, 2.0, n) * (3.0 if kind == 1 else 1.0)
        cases.append((kind, A, a, x))
    for kind, A, a, x in cases:
        n = len(x)
        f = _test_function("newton", kind, A, a)
        label = f"f(x) = {_NEWTON_LABELS[kind]} (n = {n})"
        g, H = (np.asarray(part, dtype=np.float64) for part in _newton_oracle(kind)(A, a, x))
        direction = np.linalg.solve(H, -g)
        ev = lambda y, f=f: float(f(y))  # noqa: E731 - the compiled test function itself
        alpha = armijo(ev, x, direction, g)
        expected = x + alpha * direction
        _check_newton_once(newton_cg_step, f, x, label, expected,
                           lambda f=ev, x=x, g=g, d=direction: _newton_mistakes(f, x, g, d))
    dd = rng.uniform(1.0, 3.0, big)
    s, t = float(rng.uniform(0.5, 2.0)), rng.normal(size=big)
    x = rng.uniform(-1.0, 1.0, big)
    f = _test_function("big_newton", 0, dd, s, t)
    g, direction = _big_newton_oracle(dd, s, t, x)
    ev = lambda y: float(f(jnp.asarray(y)))  # noqa: E731
    alpha = armijo(ev, x, direction, g)
    label = (f"f(x) = sum(d x**2 / 2 + log cosh(x - t)) + s (sum x)**2 / (2n) (n = {big:,}; "
             f"its Hessian would take {8 * big * big / 1e9:,.0f} GB)")
    _check_newton_once(newton_cg_step, f, x, label, x + alpha * direction,
                       lambda: _newton_mistakes(ev, x, g, direction))
    _passed("newton_cg_step", newton_cg_step,
            f"{len(cases) + 1} steps agree with a Newton step (jax.hessian, numpy.linalg.solve) "
            f"and an Armijo step length, one of them at n = {big:,} without the Hessian")


def _check_newton_once(newton_cg_step: Callable, f: Callable, x: np.ndarray, label: str,
                       expected: np.ndarray, mistakes: Callable[[], list[Mistake]]) -> None:
    n = len(x)
    probe = _Function(f, n, label, limit=400, too_many=(
        "f was evaluated more than 400 times: the line search never accepted a step. Is d a "
        "descent direction? Newton's direction solves H d = -grad f(x) (mind the minus), and "
        "g . d < 0 then."))
    xs = x.copy()
    shown = x if n <= 12 else f"a point in R^{n:,}"
    got, uses, _ = call(_run_newton, newton_cg_step, probe, xs, name="newton_cg_step",
                               inputs={"f": probe, "x": shown}).value
    _refuse("newton_cg_step", uses, "take the step with your own hvp, conjugate_gradient and "
                                    "backtracking")
    if not np.array_equal(xs, x):
        raise CheckFailed("`newton_cg_step` modified x in place: return a new array.")
    got = _array_answer(got, what="`newton_cg_step`", shape=x.shape)
    # CG stops at a relative residual of 1e-10: errors are relative to the whole vector
    tolerance = Tolerance(rtol=ITERATIVE.rtol, atol=ITERATIVE.rtol * float(np.abs(x).max()))
    if n > 12:
        index = np.argsort(np.abs(got - expected))[-3:]
        expect_close(got, expected, what=f"`newton_cg_step` for {label} (worst entries "
                     f"{index.tolist()}: {fmt(got[index])} against {fmt(expected[index])})",
                     tolerance=tolerance, mistakes=mistakes)
        return
    expect_close(got, expected, what=f"`newton_cg_step` for {label}",
                 inputs={"f": probe, "x": x}, tolerance=tolerance, mistakes=mistakes)
