"""Machinery of the lesson-10 checkers: memory, properties of the oracles, library uses,
`ready`, and record-then-replay.

Right and wrong answers are the lesson's bank (``autograder/mutants/lesson_10.py``), run
by ``tests/test_mutant_banks.py``; these tests use the solution's answers and, for replay,
answers taken from the bank.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.mutants.inprocess import bank_answer, solution
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

LESSON = "10-second-order"
PROPERTY = settings(max_examples=10)
SMALL = {"trials": 2}


def answer(name: str):
    """The solution notebook's ``name``."""
    return solution(LESSON, name)


def test_hvp_names_a_hessian_that_does_not_fit_in_memory():
    right = answer("hvp")

    def via_dense(f, x, v):  # a dense "Hessian" too large to allocate at n = 10**6
        if len(x) > 100:
            raise MemoryError
        return right(f, x, v)

    with pytest.raises(CheckFailed, match="ran out of memory"):
        check_hvp(via_dense, **SMALL)


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
    cg = answer("conjugate_gradient")
    for k in range(7):
        np.testing.assert_allclose(cg(lambda v: A @ v, b, tol=0.0, max_iter=k),
                                   krylov_solution(A, b, k), rtol=1e-7, atol=1e-10)


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
    search = answer("backtracking")
    _PASSED.pop("backtracking", None)
    assert not ready(search, "backtracking")
    assert "finish `backtracking`" in capsys.readouterr().out
    check_backtracking(search, **SMALL)
    assert ready(search, "backtracking")
    assert not ready(bank_answer(LESSON, "backtracking", "c left out"), "backtracking")


CHECKS = {
    "jacobian_by_columns": check_jacobian_by_columns,
    "jacobian_by_rows": check_jacobian_by_rows,
    "hvp": check_hvp,
    "top_eigenvalue": check_top_eigenvalue,
    "backtracking": check_backtracking,
    "conjugate_gradient": check_conjugate_gradient,
    "newton_cg_step": check_newton_cg_step,
}
_HVP = {"big": 1000, **SMALL}
_NEWTON = {"trials": 1, "big": 2000}

#: (exercise, words, keyword arguments): the solution's answer when words is None, else the
#: answer of the bank entry whose mistake contains words.
REPLAYED = [
    ("jacobian_by_rows", None, SMALL),
    ("jacobian_by_rows", "one jax.vjp linearisation per row", SMALL),
    ("hvp", None, _HVP),
    ("hvp", "column by column", _HVP),
    ("top_eigenvalue", "rebuilt A from unit vectors", SMALL),
    ("conjugate_gradient", None, SMALL),
    ("conjugate_gradient", "then CG on the matrix", SMALL),
    ("backtracking", "c left out", SMALL),
    ("newton_cg_step", "full Newton step", _NEWTON),
]


@pytest.mark.parametrize(("exercise", "words", "kwargs"), REPLAYED,
                         ids=[f"{e}: {w or 'solution'}" for e, w, _ in REPLAYED])
def test_checks_replay_to_the_same_verdict(tmp_path, exercise, words, kwargs):
    from course.recording import record_then_replay

    student = answer(exercise) if words is None else bank_answer(LESSON, exercise, words)
    live, replayed = record_then_replay(CHECKS[exercise], student,
                                        log=tmp_path / "log.jsonl", **kwargs)
    assert live == replayed
    assert (live is None) == (words is None)
