"""The lesson-10 checkers accept correct answers, measure behaviour and name common mistakes.

Every student-like answer below is written here, independently of the lesson notebook.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checking import CheckFailed
from course.checks.second_order import (
    _PASSED,
    armijo,
    check_backtracking,
    check_conjugate_gradient,
    check_hvp,
    check_jacobian_by_columns,
    check_jacobian_by_rows,
    check_newton_cg_step,
    check_top_eigenvalue,
    krylov_solution,
    library_uses,
    ready,
)
from course.oracle import jax, jnp

PROPERTY = settings(max_examples=10)
SMALL = {"trials": 2}


def fails(check, answer, pattern: str, **kwargs) -> str:
    with pytest.raises(CheckFailed, match=pattern) as error:
        check(answer, **kwargs)
    return str(error.value)


# ------------------------------------------------------------------------- Jacobians


def columns(f, x):
    out = []
    for j in range(len(x)):
        e = np.zeros(len(x))
        e[j] = 1.0
        out.append(np.asarray(jax.jvp(f, (x,), (e,))[1]))
    return np.stack(out, axis=1)


def columns_linearize(f, x):
    _, lin = jax.linearize(f, x)
    return np.column_stack([np.asarray(lin(e)) for e in np.eye(len(x))])


def rows(f, x):
    y, pullback = jax.vjp(f, x)
    return np.stack([np.asarray(pullback(e)[0]) for e in np.eye(len(y))])


def rows_relinearised(f, x):
    m = len(f(x))
    return np.stack([np.asarray(jax.vjp(f, x)[1](e)[0]) for e in np.eye(m)])


def columns_by_library(f, x):
    return np.asarray(jax.jacfwd(f)(x))


def rows_transposed(f, x):
    return columns(f, x).T


def test_jacobians_accept_columns_rows_and_linearize(capsys):
    check_jacobian_by_columns(columns, **SMALL)
    check_jacobian_by_columns(columns_linearize, **SMALL)
    check_jacobian_by_rows(rows, **SMALL)
    assert capsys.readouterr().out.count("\N{CHECK MARK}") == 3


def test_jacobian_mistakes_are_named():
    fails(check_jacobian_by_rows, rows_relinearised, "once per output", **SMALL)
    fails(check_jacobian_by_columns, columns_by_library, "calls `jacfwd`", **SMALL)
    fails(check_jacobian_by_rows, rows_transposed, "transpose", **SMALL)
    fails(check_jacobian_by_columns, rows_relinearised, "once per OUTPUT", **SMALL)


def test_a_vmapped_jacobian_by_rows_counts_one_trace_but_a_library_call_is_refused():
    fails(check_jacobian_by_rows, lambda f, x: np.asarray(jax.jacrev(f)(x)), "jacrev",
          **SMALL)


# ------------------------------------------------------------------------------ hvp


def hvp(f, x, v):
    return np.asarray(jax.jvp(jax.grad(f), (x,), (v,))[1])


def hvp_reverse_reverse(f, x, v):
    return np.asarray(jax.grad(lambda y: jnp.vdot(jax.grad(f)(y), v))(x))


def hvp_columns(f, x, v):
    grad = jax.grad(f)
    H = np.column_stack([np.asarray(jax.jvp(grad, (x,), (e,))[1]) for e in np.eye(len(x))])
    return H @ v


def hvp_finite_difference(f, x, v):
    grad = jax.grad(f)
    return (np.asarray(grad(x + 1e-6 * v)) - np.asarray(grad(x))) / 1e-6


def test_hvp_accepts_forward_over_reverse_and_reverse_over_reverse():
    check_hvp(hvp, big=1000, **SMALL)
    check_hvp(hvp_reverse_reverse, big=1000, **SMALL)


def test_hvp_rejects_the_hessian_by_its_cost():
    fails(check_hvp, hvp_columns, "one column at a time", big=1000, **SMALL)
    fails(check_hvp, hvp_finite_difference, "finite difference", big=1000, **SMALL)


def test_hvp_names_a_hessian_that_does_not_fit_in_memory():
    def via_dense(f, x, v):  # a dense "Hessian" too large to allocate at n = 10**6
        if len(x) > 100:
            raise MemoryError
        return hvp(f, x, v)

    fails(check_hvp, via_dense, "ran out of memory", **SMALL)


# -------------------------------------------------------------------- top_eigenvalue


def power(matvec, n, num_iters=100, seed=0):
    v = np.random.default_rng(seed).standard_normal(n)
    v /= np.linalg.norm(v)
    for _ in range(num_iters):
        w = matvec(v)
        v = w / np.linalg.norm(w)
    return float(v @ matvec(v))


def power_previous(matvec, n, num_iters=100, seed=0):
    v = np.random.default_rng(seed).standard_normal(n)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(num_iters):
        w = matvec(v)
        lam = float(v @ w)
        v = w / np.linalg.norm(w)
    return lam


def power_rebuilt(matvec, n, num_iters=100, seed=0):
    A = np.column_stack([matvec(e) for e in np.eye(n)])
    v = np.random.default_rng(seed).standard_normal(n)
    v /= np.linalg.norm(v)
    for _ in range(num_iters):
        v = A @ v
        v /= np.linalg.norm(v)
    return float(v @ A @ v)


def test_top_eigenvalue():
    check_top_eigenvalue(power, **SMALL)
    fails(check_top_eigenvalue, power_previous, "BEFORE the last step", **SMALL)
    # exact values, but n extra products: the product count gives it away
    fails(check_top_eigenvalue, power_rebuilt, "rebuilt the", **SMALL)


# ----------------------------------------------------------------------- backtracking


def search(f, x, d, g, alpha0=1.0, rho=0.5, c=1e-4):
    alpha, fx, slope = alpha0, f(x), g @ d
    while f(x + alpha * d) > fx + c * alpha * slope:
        alpha *= rho
    return alpha


def search_no_c(f, x, d, g, alpha0=1.0, rho=0.5, c=1e-4):
    alpha, fx = alpha0, f(x)
    while f(x + alpha * d) > fx:
        alpha *= rho
    return alpha


def search_wasteful(f, x, d, g, alpha0=1.0, rho=0.5, c=1e-4):
    alphas = [alpha0 * rho**j for j in range(40)]
    ok = [a for a in alphas if f(x + a * d) <= f(x) + c * a * (g @ d)]
    return ok[0]


def test_backtracking():
    check_backtracking(search, **SMALL)
    fails(check_backtracking, search_no_c, "c was left out", **SMALL)
    fails(check_backtracking, search_wasteful, "evaluated f", **SMALL)


@given(st.floats(0.1, 10.0), st.floats(0.1, 0.9), st.floats(1e-4, 0.49))
@PROPERTY
def test_armijo_returns_the_first_accepted_power(scale, rho, c):
    A = np.diag([1.0, scale])
    f = lambda x: 0.5 * x @ A @ x  # noqa: E731
    x = np.array([1.0, -2.0])
    g = A @ x
    alpha = armijo(f, x, -g, g, 1.0, rho, c)
    assert f(x - alpha * g) <= f(x) - c * alpha * g @ g
    if alpha < 1.0:
        bigger = alpha / rho
        assert f(x - bigger * g) > f(x) - c * bigger * g @ g


# ------------------------------------------------------------------ conjugate gradient


def conj_grad(matvec, b, tol=1e-10, max_iter=None):
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    for _ in range(len(b) if max_iter is None else max_iter):
        if np.linalg.norm(r) <= tol * np.linalg.norm(b):
            break
        Ap = matvec(p)
        alpha = (r @ r) / (p @ Ap)
        x = x + alpha * p
        r_new = r - alpha * Ap
        p = r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return x


def cg_absolute(matvec, b, tol=1e-10, max_iter=None):
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    for _ in range(len(b) if max_iter is None else max_iter):
        if np.linalg.norm(r) <= tol:
            break
        Ap = matvec(p)
        alpha = (r @ r) / (p @ Ap)
        x = x + alpha * p
        r_new = r - alpha * Ap
        p = r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return x


def cg_library(matvec, b, tol=1e-10, max_iter=None):
    A = np.column_stack([matvec(e) for e in np.eye(len(b))])
    return np.linalg.solve(A, b)


def cg_hidden_library(matvec, b, tol=1e-10, max_iter=None):
    A = np.column_stack([matvec(e) for e in np.eye(len(b))])
    solver = getattr(np.linalg, "so" + "lve")  # a name no text check finds
    if max_iter is not None and max_iter < len(b):
        return conj_grad(lambda v: A @ v, b, tol, max_iter)
    return solver(A, b)


def test_conjugate_gradient():
    check_conjugate_gradient(conj_grad, **SMALL)
    fails(check_conjugate_gradient, cg_absolute, "must be relative", **SMALL)
    fails(check_conjugate_gradient, cg_library, "calls `solve`", **SMALL)


def test_conjugate_gradient_catches_a_hidden_solver_by_its_products():
    fails(check_conjugate_gradient, cg_hidden_library, r"rebuilt the \d+ x \d+ matrix",
          **SMALL)


@given(st.integers(1, 7), st.integers(0, 7), st.integers(0, 2**16))
@PROPERTY
def test_krylov_solution_is_exact_after_n_steps_and_galerkin_before(n, k, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = (Q * rng.uniform(1, 10, n)) @ Q.T
    A = (A + A.T) / 2
    b = rng.normal(size=n)
    x = krylov_solution(A, b, k)
    if k >= n:
        np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-8, atol=1e-10)
    else:
        # Galerkin condition: the residual is orthogonal to K_k(A, b)
        r = b - A @ x
        v = b.copy()
        for _ in range(k):
            assert abs(v @ r) <= 1e-8 * np.linalg.norm(v) * np.linalg.norm(b)
            v = A @ v


def test_cg_matches_the_krylov_oracle_step_by_step():
    rng = np.random.default_rng(4)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    A = (Q * np.arange(1.0, 7.0)) @ Q.T
    b = rng.normal(size=6)
    for k in range(7):
        np.testing.assert_allclose(conj_grad(lambda v: A @ v, b, tol=0.0, max_iter=k),
                                   krylov_solution(A, b, k), rtol=1e-7, atol=1e-10)


# ---------------------------------------------------------------------- Newton-CG


def newton_step(f, x):
    g = np.asarray(jax.grad(f)(x))
    d = conj_grad(lambda v: hvp(f, x, v), -g)
    return x + search(f, x, d, g) * d


def newton_full_step(f, x):
    g = np.asarray(jax.grad(f)(x))
    return x + conj_grad(lambda v: hvp(f, x, v), -g)


def newton_uphill(f, x):
    g = np.asarray(jax.grad(f)(x))
    d = conj_grad(lambda v: hvp(f, x, v), g)
    return x + search(f, x, d, g) * d


def test_newton_cg_step():
    check_newton_cg_step(newton_step, trials=1, big=2000)
    fails(check_newton_cg_step, newton_full_step, "full Newton step", trials=1, big=2000)
    fails(check_newton_cg_step, newton_uphill, "descent direction", trials=1, big=2000)


# ------------------------------------------------------------- machinery and replay


_STUDENT_CODE = """
def solve(A, b):  # the student's own helper with a library's name
    return b

def own(matvec, b):
    return solve(None, b)

def helper(A, b):
    return np.linalg.solve(A, b)

def indirect(matvec, b):
    return helper(None, b)

def imported(matvec, b):
    from numpy.linalg import eigh
    return eigh
"""


def test_library_uses_reads_attributes_imports_and_helpers_not_own_names():
    namespace = {"__name__": "__main__", "np": np}
    exec(compile(_STUDENT_CODE, "<notebook cell>", "exec"), namespace)
    names = frozenset({"solve", "eigh"})
    assert library_uses(namespace["own"], names) == []
    assert library_uses(namespace["indirect"], names) == ["solve"]
    assert library_uses(namespace["imported"], names) == ["eigh"]


def test_ready_is_true_only_for_the_function_that_passed(capsys):
    _PASSED.pop("backtracking", None)
    assert not ready(search, "backtracking")
    assert "finish `backtracking`" in capsys.readouterr().out
    check_backtracking(search, **SMALL)
    assert ready(search, "backtracking")
    assert not ready(search_no_c, "backtracking")


@pytest.mark.parametrize(("check", "answer", "kwargs"), [
    (check_jacobian_by_rows, rows, SMALL),
    (check_jacobian_by_rows, rows_relinearised, SMALL),
    (check_hvp, hvp, {"big": 1000, **SMALL}),
    (check_hvp, hvp_columns, {"big": 1000, **SMALL}),
    (check_top_eigenvalue, power_rebuilt, SMALL),
    (check_conjugate_gradient, conj_grad, SMALL),
    (check_conjugate_gradient, cg_hidden_library, SMALL),
    (check_backtracking, search_no_c, SMALL),
    (check_newton_cg_step, newton_full_step, {"trials": 1, "big": 2000}),
])
def test_checks_replay_to_the_same_verdict(tmp_path, check, answer, kwargs):
    from course.recording import record_then_replay

    live, replayed = record_then_replay(check, answer, log=tmp_path / "log.jsonl", **kwargs)
    assert live == replayed
