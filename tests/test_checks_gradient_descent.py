"""The checkers of lesson 06 accept correct answers and name common mistakes.

Every student-like answer below is written here, independently of the lesson notebook.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checking import CheckFailed
from course.checks.gradient_descent import (
    check_gradient_descent,
    check_max_stable_lr,
    check_mixture_nll,
    check_normal_nll,
)
from course.oracle import jax, jnp

SETTINGS = settings(database=None, derandomize=True, deadline=None, max_examples=8)
LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)

# ------------------------------------------------------------ gradient_descent


def gd_loop(grad_fn, x0, lr, num_steps, tol=None):
    x = np.array(x0, dtype=float)
    xs = [x]
    for _ in range(num_steps):
        new = x - lr * np.asarray(grad_fn(x))
        xs.append(new)
        converged = tol is not None and np.max(np.abs(new - x)) < tol
        x = new
        if converged:
            break
    return np.stack(xs)


def gd_preallocated(grad_fn, x0, lr, num_steps, tol=None):
    """Alternative: fill a preallocated array, then cut it at the stop."""
    x0 = np.asarray(x0, dtype=float)
    out = np.empty((num_steps + 1, *x0.shape))
    out[0] = x0
    last = num_steps
    for k in range(1, num_steps + 1):
        out[k] = out[k - 1] - lr * np.asarray(grad_fn(out[k - 1]))
        if tol is not None and np.abs(out[k] - out[k - 1]).max() < tol:
            last = k
            break
    return out[: last + 1].copy()


def make_gd(*, keep_x0=True, update=lambda x, g, lr: x - lr * g, stop=None, late=False,
            before=False, steps_offset=0):
    """A family of gradient-descent variants; the defaults give the correct one."""

    def change_small(new, x, g, lr, tol):
        return np.max(np.abs(new - x)) < tol

    stop = stop or change_small

    def gd(grad_fn, x0, lr, num_steps, tol=None):
        x = np.array(x0, dtype=float)
        xs = [x] if keep_x0 else []
        one_more = False
        for _ in range(num_steps + steps_offset):
            g = np.asarray(grad_fn(x))
            new = update(x, g, lr)
            done = tol is not None and stop(new, x, g, lr, tol)
            if done and before:
                break
            xs.append(new)
            x = new
            if one_more:
                break
            if done:
                if late:
                    one_more = True
                    continue
                break
        return np.stack(xs)

    return gd


def test_gradient_descent_correct_answers_pass(capsys):
    check_gradient_descent(gd_loop)
    check_gradient_descent(gd_preallocated, seed=5, trials=6)
    assert capsys.readouterr().out.startswith("✓ gradient_descent")


def test_gradient_descent_accepts_list_output():
    check_gradient_descent(lambda *a: list(gd_loop(*a)), trials=2)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (make_gd(keep_x0=False), "first row must be x0"),
        (make_gd(before=True), "stopped before keeping"),
        (make_gd(late=True), "one step more"),
        (make_gd(stop=lambda new, x, g, lr, tol: np.max(np.abs(new - x)) <= tol),
         r"<= tol"),
        (make_gd(stop=lambda new, x, g, lr, tol: np.linalg.norm(new - x) < tol),
         "Euclidean norm"),
        (make_gd(stop=lambda new, x, g, lr, tol: np.max(np.abs(g)) < tol), "size of the gradient"),
        (make_gd(stop=lambda new, x, g, lr, tol: False), "ignored tol"),
        (make_gd(update=lambda x, g, lr: x + lr * g), "uphill"),
        (make_gd(update=lambda x, g, lr: x - g), "learning rate is missing"),
        (make_gd(steps_offset=-1), "one step too few"),
        (make_gd(steps_offset=1), "one step too many|one step more"),
    ],
)
def test_gradient_descent_mistakes_are_named(answer, match):
    with pytest.raises(CheckFailed, match=match):
        check_gradient_descent(answer, trials=2)


def test_gradient_descent_modifying_x0_is_rejected():
    def in_place(grad_fn, x0, lr, num_steps, tol=None):
        x = np.asarray(x0, dtype=float)  # no copy when x0 is already a float64 array
        xs = [x.copy()]
        for _ in range(num_steps):
            step = lr * np.asarray(grad_fn(x))
            x -= step
            xs.append(x.copy())
            if tol is not None and np.max(np.abs(step)) < tol:
                break
        return np.stack(xs)

    with pytest.raises(CheckFailed, match="modified its argument `x0`"):
        check_gradient_descent(in_place, trials=2)


def test_gradient_descent_storing_one_array_is_named():
    def same_array(grad_fn, x0, lr, num_steps, tol=None):
        x = np.array(x0, dtype=float)
        xs = [x]
        for _ in range(num_steps):
            x -= lr * np.asarray(grad_fn(x))
            xs.append(x)
        return np.stack(xs)

    with pytest.raises(CheckFailed, match="same array"):
        check_gradient_descent(same_array, trials=2)


def test_gradient_descent_wrong_layout_for_scalars():
    def column(grad_fn, x0, lr, num_steps, tol=None):
        return gd_loop(grad_fn, x0, lr, num_steps, tol).reshape(-1, 1)

    with pytest.raises(CheckFailed, match="1-D array"):
        check_gradient_descent(column, trials=2)


def test_gradient_descent_stub_is_not_implemented():
    def stub(grad_fn, x0, lr, num_steps, tol=None):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_gradient_descent(stub)


@SETTINGS
@given(row=st.floats(0.0, 1.0), size=st.floats(1e-6, 1.0), sign=st.sampled_from([-1.0, 1.0]))
def test_gradient_descent_perturbed_iterate_is_rejected(row, size, sign):
    def perturbed(grad_fn, x0, lr, num_steps, tol=None):
        path = gd_loop(grad_fn, x0, lr, num_steps, tol)
        path[round(row * (len(path) - 1))] += sign * size
        return path

    with pytest.raises(CheckFailed):
        check_gradient_descent(perturbed, trials=1)


@SETTINGS
@given(size=st.floats(0.0, 1e-13))
def test_gradient_descent_round_off_is_accepted(size):
    def jittered(grad_fn, x0, lr, num_steps, tol=None):
        path = gd_loop(grad_fn, x0, lr, num_steps, tol)
        return path * (1.0 + size)

    check_gradient_descent(jittered, trials=1)


# ---------------------------------------------------------------- normal_nll


def normal_formula(params, data):
    mu, sigma = params
    z = (data - mu) / sigma
    return jnp.mean(0.5 * z**2 + jnp.log(sigma) + LOG_SQRT_2PI)


def normal_scipy(params, data):
    """Alternative: JAX's log-density, summed then divided by n."""
    mu, sigma = params
    return -jnp.sum(jax.scipy.stats.norm.logpdf(data, mu, sigma)) / len(data)


def normal_with_python_if(params, data):
    """Python control flow on a value: fails under jit, fine under plain jax.grad."""
    mu, sigma = params
    if sigma <= 0:
        return jnp.inf
    return normal_formula((mu, sigma), data)


def test_normal_nll_correct_answers_pass(capsys):
    check_normal_nll(normal_formula)
    check_normal_nll(normal_scipy, seed=3, trials=2)
    assert "✓ normal_nll" in capsys.readouterr().out


def test_normal_nll_python_control_flow_falls_back_to_eager_grad(capsys):
    check_normal_nll(normal_with_python_if, trials=1)
    assert "✓ normal_nll" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (lambda p, d: len(d) * normal_formula(p, d), "summed"),
        (lambda p, d: normal_formula(p, d) - LOG_SQRT_2PI, r"log\(2 pi\) / 2"),
        (lambda p, d: normal_formula((p[0], jnp.sqrt(p[1])), d), "variance"),
        (lambda p, d: -normal_formula(p, d), "sign is flipped"),
        (lambda p, d: normal_formula(p, d) - jnp.log(p[1]), r"log\(sigma\) term"),
        (lambda p, d: np.mean(0.5 * ((d - p[0]) / p[1]) ** 2 + np.log(p[1]) + LOG_SQRT_2PI),
         "jax.numpy"),
        (lambda p, d: normal_formula((p[0], jax.lax.stop_gradient(p[1])), d),
         "gradient is not"),
    ],
)
def test_normal_nll_mistakes_are_named(answer, match):
    with pytest.raises(CheckFailed, match=match):
        check_normal_nll(answer, trials=2)


def test_normal_nll_must_not_modify_data():
    def centring(params, data):
        data -= 0.0 * data.mean() + 1e-3
        return normal_formula(params, data)

    with pytest.raises(CheckFailed, match="modified its argument `data`"):
        check_normal_nll(centring, trials=1)


# --------------------------------------------------------------- mixture_nll


def log_normal(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - jnp.log(sigma) - LOG_SQRT_2PI


def mixture_logsumexp(params, data):
    m1, s1, m2, s2 = params
    logs = jnp.stack([log_normal(data, m1, s1), log_normal(data, m2, s2)])
    return -jnp.mean(jax.scipy.special.logsumexp(logs, axis=0) + jnp.log(0.5))


def mixture_logaddexp(params, data):
    """Alternative: logaddexp with the weights inside."""
    m1, s1, m2, s2 = params
    return -jnp.mean(jnp.logaddexp(jnp.log(0.5) + log_normal(data, m1, s1),
                                   jnp.log(0.5) + log_normal(data, m2, s2)))


def mixture_with(w1, w2):
    def nll(params, data):
        m1, s1, m2, s2 = params
        return -jnp.mean(jnp.logaddexp(jnp.log(w1) + log_normal(data, m1, s1),
                                       jnp.log(w2) + log_normal(data, m2, s2)))

    return nll


def mixture_naive(params, data):
    m1, s1, m2, s2 = params
    density = 0.5 * jnp.exp(log_normal(data, m1, s1)) + 0.5 * jnp.exp(log_normal(data, m2, s2))
    return -jnp.mean(jnp.log(density))


def test_mixture_nll_correct_answers_pass(capsys):
    check_mixture_nll(mixture_logsumexp)
    check_mixture_nll(mixture_logaddexp, seed=4, trials=2)
    assert "✓ mixture_nll" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (mixture_with(1.0, 1.0), "weights 0.5 are missing"),
        (mixture_with(2 / 3, 1 / 3), "unequal"),
        (mixture_with(0.5, 1.0), "only the first component"),
        (lambda p, d: -jnp.mean(0.5 * log_normal(d, p[0], p[1]) + 0.5 * log_normal(d, p[2], p[3])),
         "averaged the two log-densities"),
        (lambda p, d: len(d) * mixture_logsumexp(p, d), "summed"),
        (lambda p, d: -mixture_logsumexp(p, d), "sign is flipped"),
        (lambda p, d: mixture_logsumexp(p, d) - LOG_SQRT_2PI, r"log\(2 pi\) / 2"),
        (lambda p, d: mixture_logsumexp((p[0], jnp.sqrt(p[1]), p[2], jnp.sqrt(p[3])), d),
         "variances"),
        (mixture_naive, "logsumexp"),
    ],
)
def test_mixture_nll_mistakes_are_named(answer, match):
    with pytest.raises(CheckFailed, match=match):
        check_mixture_nll(answer, trials=2)


# ------------------------------------------------------------- max_stable_lr


def test_max_stable_lr_correct_answers_pass(capsys):
    check_max_stable_lr(lambda H: 2.0 / np.linalg.eigvalsh(H)[-1])
    check_max_stable_lr(lambda H: 2.0 / np.linalg.norm(H, 2))  # spectral norm = lambda_max
    check_max_stable_lr(lambda H: float(2.0 / np.max(np.linalg.eigvals(H).real)))
    assert "✓ max_stable_lr" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (lambda H: 1.0 / np.linalg.eigvalsh(H)[-1], "not 1 / lambda_max"),
        (lambda H: 2.0 / np.linalg.eigvalsh(H)[0], "smallest eigenvalue"),
        (lambda H: 2.0 / np.trace(H), "trace"),
        (lambda H: 2.0 / np.max(np.diag(H)), "diagonal"),
        (lambda H: 2.0 / complex(np.linalg.eigvalsh(H)[-1]), "complex"),
        (lambda H: np.linalg.eigvalsh(H)[-1] / 2.0, "upside down"),
        (lambda H: 2.0 / np.linalg.norm(H), "Frobenius"),
        (lambda H: 2.0 / np.linalg.eigvalsh(H)[-1:], "single float"),
    ],
)
def test_max_stable_lr_mistakes_are_named(answer, match):
    with pytest.raises(CheckFailed, match=match):
        check_max_stable_lr(answer)


def test_max_stable_lr_unsorted_eigvals_is_named():
    def unsorted(H):
        return 2.0 / np.linalg.eigvals(H).real[0]

    with pytest.raises(CheckFailed, match=r"smallest|does not sort"):
        check_max_stable_lr(unsorted, trials=50)


def test_max_stable_lr_must_not_modify_H():
    def doubling(H):
        H *= 2.0
        return 4.0 / np.linalg.eigvalsh(H)[-1]

    with pytest.raises(CheckFailed, match="modified its argument `H`"):
        check_max_stable_lr(doubling)


@SETTINGS
@given(relative=st.floats(1e-7, 0.5), sign=st.sampled_from([-1.0, 1.0]))
def test_max_stable_lr_perturbation(relative, sign):
    def off(H):
        return 2.0 / np.linalg.eigvalsh(H)[-1] * (1.0 + sign * relative)

    with pytest.raises(CheckFailed):
        check_max_stable_lr(off, trials=2)
    check_max_stable_lr(lambda H: 2.0 / np.linalg.eigvalsh(H)[-1] * (1.0 + 1e-12), trials=2)
