"""The lesson-11 checkers accept right answers, name the usual mistakes, and replay exactly.

The student-like answers below are written here, independently of the notebook.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checking import CheckFailed
from course.checks.custom_rules import (
    check_checkpointed_chain,
    check_clip_gradient,
    check_fixed_point_grad,
    check_ridge_hypergrad,
    check_safe_norm,
    check_softplus,
    check_straight_through_round,
    ready,
    saved_residuals,
)
from course.oracle import jax, jnp

PROPERTY = settings(max_examples=6)
FAST = {"trials": 1}


# ------------------------------------------------------------------------------ safe_norm


def safe_norm(x):
    s = jnp.sum(jnp.square(x))
    ok = s > 0
    return jnp.where(ok, jnp.sqrt(jnp.where(ok, s, 1.0)), 0.0)


@jax.custom_jvp
def safe_norm_custom(x):
    return jnp.sqrt(jnp.sum(x * x))


@safe_norm_custom.defjvp
def _safe_norm_custom_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    n = safe_norm_custom(x)
    return n, jnp.where(n > 0, jnp.vdot(x, dx) / jnp.where(n > 0, n, 1.0), 0.0)


def norm_single_where(x):
    s = jnp.sum(x**2)
    return jnp.where(s > 0, jnp.sqrt(s), 0.0)


def norm_eps(x):
    return jnp.sqrt(jnp.sum(x**2) + 1e-30)


def norm_python_if(x):
    s = jnp.sum(x**2)
    if s == 0:
        return 0.0 * s
    return jnp.sqrt(s)


def test_safe_norm_right_answers_pass(capsys):
    check_safe_norm(safe_norm)
    check_safe_norm(safe_norm_custom, **FAST)
    assert capsys.readouterr().out.count("✓ safe_norm") == 2


@pytest.mark.parametrize(("answer", "message"), [
    (norm_single_where, "differentiates BOTH branches"),
    (jnp.linalg.norm, "differentiates BOTH branches"),
    (norm_eps, "constant added inside the square root"),
    (norm_python_if, "fails under jax.jit"),
])
def test_safe_norm_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_safe_norm(answer, **FAST)


# ------------------------------------------------------------------------------- softplus


def _softplus_with(value, slope, *, use_tangent=True):
    @jax.custom_jvp
    def f(x):
        return value(x)

    @f.defjvp
    def _jvp(primals, tangents):
        (x,), (dx,) = primals, tangents
        return f(x), slope(x) * dx if use_tangent else slope(x)

    return f


def _stable(x):
    return jnp.maximum(x, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(x)))


softplus = _softplus_with(_stable, jax.nn.sigmoid)
softplus_logaddexp = _softplus_with(lambda x: jnp.logaddexp(x, 0.0),
                                    lambda x: 1.0 / (1.0 + jnp.exp(-x)))


def test_softplus_right_answers_pass(capsys):
    check_softplus(softplus)
    check_softplus(softplus_logaddexp, **FAST)
    assert capsys.readouterr().out.count("✓ softplus") == 2


@pytest.mark.parametrize(("answer", "message"), [
    (_softplus_with(lambda x: jnp.log(1 + jnp.exp(x)), jax.nn.sigmoid), "overflows to inf"),
    (_softplus_with(lambda x: jnp.maximum(x, 0.0) + jnp.log(1 + jnp.exp(-jnp.abs(x))),
                    jax.nn.sigmoid), "log1p"),
    (_softplus_with(_stable, lambda x: jax.nn.sigmoid(-x)), "not sigmoid\\(-x\\)"),
    (_softplus_with(_stable, lambda x: jnp.exp(x) / (1 + jnp.exp(x))), "inf / inf"),
    (_softplus_with(_stable, jnp.exp), "derivative of the inner function"),
    (_softplus_with(_stable, jax.nn.sigmoid, use_tangent=False), "ignores the incoming tangent"),
    (jax.nn.softplus, "not a jax.custom_jvp"),
    (_stable, "not a jax.custom_jvp"),
])
def test_softplus_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_softplus(answer, **FAST)


# ------------------------------------------------------------- clip_gradient, straight-through


def _clip_with(backward, forward=lambda x, lo, hi: x):
    @jax.custom_vjp
    def clip(x, lo, hi):
        return forward(x, lo, hi)

    def fwd(x, lo, hi):
        return clip(x, lo, hi), (x, lo, hi)

    def bwd(res, g):
        x, lo, hi = res
        return backward(g, x, lo, hi), None, None

    clip.defvjp(fwd, bwd)
    return clip


clip_gradient = _clip_with(lambda g, x, lo, hi: jnp.clip(g, lo, hi))


def _clip_nondiff():
    from functools import partial

    @partial(jax.custom_vjp, nondiff_argnums=(1, 2))
    def clip(x, lo, hi):
        return x

    clip.defvjp(lambda x, lo, hi: (x, None),
                lambda lo, hi, _, g: (jnp.minimum(jnp.maximum(g, lo), hi),))
    return clip


def test_clip_gradient_right_answers_pass(capsys):
    check_clip_gradient(clip_gradient)
    check_clip_gradient(_clip_nondiff(), **FAST)
    assert capsys.readouterr().out.count("✓ clip_gradient") == 2


@pytest.mark.parametrize(("answer", "message"), [
    (_clip_with(lambda g, x, lo, hi: g), "returns the cotangent unchanged"),
    (_clip_with(lambda g, x, lo, hi: jnp.clip(x, lo, hi)), "clipped the saved input x"),
    (_clip_with(lambda g, x, lo, hi: jnp.clip(g, hi, lo)), "swapped"),
    (_clip_with(lambda g, x, lo, hi: jnp.clip(g, lo, hi),
                forward=lambda x, lo, hi: jnp.clip(x, lo, hi)), "forward pass clipped x"),
    (_clip_with(lambda g, x, lo, hi: g * jnp.minimum(1.0, hi / jnp.linalg.norm(g))),
     "norm was clipped"),
    (lambda x, lo, hi: jnp.clip(x, lo, hi), "not a jax.custom_vjp"),
])
def test_clip_gradient_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_clip_gradient(answer, **FAST)


def _ste_with(backward, forward=jnp.round):
    @jax.custom_vjp
    def ste(x):
        return forward(x)

    ste.defvjp(lambda x: (forward(x), x), lambda x, g: (backward(g, x),))
    return ste


straight_through_round = _ste_with(lambda g, x: g)


def test_straight_through_round_passes(capsys):
    check_straight_through_round(straight_through_round)
    assert "✓ straight_through_round" in capsys.readouterr().out


@pytest.mark.parametrize(("answer", "message"), [
    (_ste_with(lambda g, x: jnp.zeros_like(g)), "jnp.round's own derivative"),
    (_ste_with(lambda g, x: g, forward=lambda x: jnp.floor(x + 0.5)), "halves were rounded up"),
    (_ste_with(lambda g, x: x), "returned the input x"),
    (_ste_with(lambda g, x: g, forward=lambda x: x), "must round"),
    (lambda x: x + jax.lax.stop_gradient(jnp.round(x) - x), "not a jax.custom_vjp"),
])
def test_straight_through_round_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_straight_through_round(answer, **FAST)


# -------------------------------------------------------------------------- checkpointed_chain


def _blocks(params_list, segment):
    return [params_list[i:i + segment] for i in range(0, len(params_list), segment)]


def checkpointed_chain(layer, params_list, x, segment):
    def block(chunk, x):
        for p in chunk:
            x = layer(p, x)
        return x

    for chunk in _blocks(params_list, segment):
        x = jax.checkpoint(block)(chunk, x)
    return x


def chain_remainder_first(layer, params_list, x, segment):
    """Blocks counted from the end: the short block comes first. Also a right answer."""
    n = len(params_list)
    first = n % segment or segment
    bounds = [0, *range(first, n + 1, segment)]
    for a, b in itertools.pairwise(bounds):
        chunk = params_list[a:b]
        x = jax.checkpoint(lambda x, chunk=chunk: _apply(layer, chunk, x))(x)
    return x


def _apply(layer, chunk, x):
    for p in chunk:
        x = layer(p, x)
    return x


def chain_plain(layer, params_list, x, segment):
    return _apply(layer, params_list, x)


def chain_each_layer(layer, params_list, x, segment):
    for p in params_list:
        x = jax.checkpoint(layer)(p, x)
    return x


def chain_whole(layer, params_list, x, segment):
    return jax.checkpoint(lambda ps, x: _apply(layer, ps, x))(params_list, x)


def chain_skips_last(layer, params_list, x, segment):
    for chunk in _blocks(params_list, segment)[:-1]:
        x = jax.checkpoint(lambda ps, x: _apply(layer, ps, x))(chunk, x)
    return x


def test_checkpointed_chain_right_answers_pass(capsys):
    check_checkpointed_chain(checkpointed_chain)
    check_checkpointed_chain(chain_remainder_first, **FAST)
    assert capsys.readouterr().out.count("✓ checkpointed_chain") == 2


@pytest.mark.parametrize(("answer", "message"), [
    (chain_plain, "nothing is checkpointed"),
    (chain_each_layer, "each layer is checkpointed on its own"),
    (chain_whole, "the whole chain is one checkpoint"),
    (chain_skips_last, "apply every layer exactly once"),
])
def test_checkpointed_chain_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_checkpointed_chain(answer, **FAST)


def test_saved_residuals_lists_one_activation_per_boundary():
    def layer(p, x):
        return jnp.tanh(p * x)

    params = [np.full(3, 0.5 + i) for i in range(8)]

    def loss(ps, x):
        return jnp.sum(checkpointed_chain(layer, ps, x, 2))

    computed = [r for r in saved_residuals(loss, params, np.ones(3))
                if not r[1].startswith("from the argument")]
    assert len(computed) == 3 and all(shape == (3,) for shape, _ in computed)


# ---------------------------------------------------------------------------- fixed_point_grad


def fixed_point_grad(g, x_star, theta):
    A = jax.jacobian(g, argnums=0)(x_star, theta)
    B = jax.jacobian(g, argnums=1)(x_star, theta)
    return np.linalg.solve(np.eye(len(x_star)) - np.asarray(A), np.asarray(B))


def fixed_point_grad_vjp(g, x_star, theta):
    """Row by row with vjp and a linear solve of the transposed system: also right."""
    _, pullback = jax.vjp(g, x_star, theta)
    n = len(x_star)
    rows = [pullback(e) for e in np.eye(n)]
    A = np.array([np.asarray(r[0]) for r in rows])
    B = np.array([np.asarray(r[1]) for r in rows])
    return np.linalg.solve(np.eye(n) - A, B)


def fixed_point_unrolled(g, x_star, theta):
    def solve(th):
        x = jnp.asarray(x_star)
        for _ in range(200):
            x = g(x, th)
        return x

    return np.asarray(jax.jacfwd(solve)(theta))


def fixed_point_scan(g, x_star, theta):
    def solve(th):
        return jax.lax.fori_loop(0, 500, lambda _, x: g(x, th), jnp.asarray(x_star))

    return np.asarray(jax.jacfwd(solve)(theta))


def _fp_variant(transform):
    def answer(g, x_star, theta):
        A = np.asarray(jax.jacobian(g, argnums=0)(x_star, theta))
        B = np.asarray(jax.jacobian(g, argnums=1)(x_star, theta))
        return transform(np.eye(len(x_star)), A, B)
    return answer


def test_fixed_point_grad_right_answers_pass(capsys):
    check_fixed_point_grad(fixed_point_grad)
    check_fixed_point_grad(fixed_point_grad_vjp, **FAST)
    assert capsys.readouterr().out.count("✓ fixed_point_grad") == 2


@pytest.mark.parametrize(("answer", "message"), [
    (fixed_point_unrolled, "called g 200 times"),
    (fixed_point_scan, "converges very slowly or not at all"),
    (_fp_variant(lambda eye, A, B: np.linalg.solve(eye + A, B)), "not \\(I \\+ dg/dx\\)"),
    (_fp_variant(lambda eye, A, B: B), "dg/dtheta alone"),
    (_fp_variant(lambda eye, A, B: np.linalg.solve(A - eye, B)), "overall sign"),
    (_fp_variant(lambda eye, A, B: np.linalg.solve(eye - A.T, B)), "transposed"),
    (_fp_variant(lambda eye, A, B: (eye - A) @ B), "instead of solving"),
])
def test_fixed_point_grad_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_fixed_point_grad(answer, **FAST)


# ------------------------------------------------------------------------------ ridge_hypergrad


def ridge_hypergrad(X, y, lam, X_val, y_val, *, factor=1.0, scale=1.0, train=False):
    A = X.T @ X + factor * lam * np.eye(X.shape[1])
    w = np.linalg.solve(A, X.T @ y)
    Xv, yv = (X, y) if train else (X_val, y_val)
    dL_dw = 2.0 * Xv.T @ (Xv @ w - yv) / len(yv)
    return scale * float(-factor * np.linalg.solve(A, dL_dw) @ w)


def ridge_jax(X, y, lam, X_val, y_val):
    """Differentiating through a direct solve: JAX's solve rule is implicit itself."""
    def loss(lam):
        w = jnp.linalg.solve(X.T @ X + lam * jnp.eye(X.shape[1]), X.T @ y)
        return jnp.mean((X_val @ w - y_val) ** 2)
    return jax.grad(loss)(lam)


def ridge_unrolled(X, y, lam, X_val, y_val, steps=300):
    def loss(lam):
        A = X.T @ X + lam * jnp.eye(X.shape[1])
        lr = 1.0 / jnp.linalg.norm(A, 2)
        w = jax.lax.fori_loop(0, steps, lambda _, w: w - lr * (A @ w - X.T @ y),
                              jnp.zeros(X.shape[1]))
        return jnp.mean((X_val @ w - y_val) ** 2)
    return float(jax.grad(loss)(lam))


def test_ridge_hypergrad_right_answers_pass(capsys):
    check_ridge_hypergrad(ridge_hypergrad)
    check_ridge_hypergrad(ridge_jax, **FAST)
    assert capsys.readouterr().out.count("✓ ridge_hypergrad") == 2


@pytest.mark.parametrize(("answer", "message"), [
    (lambda *a: ridge_hypergrad(*a, scale=-1.0), "sign is flipped"),
    (lambda *a: ridge_hypergrad(*a, scale=0.5), "factor 2 is missing"),
    (lambda *a: ridge_hypergrad(*a, train=True), "on the training data"),
    (lambda *a: ridge_hypergrad(*a, factor=0.5), "no factor 1/2"),
    (lambda *a: ridge_hypergrad(*a) * a[2], "log\\(lam\\)"),
    (lambda *a: ridge_hypergrad(*a) * len(a[4]), "is a mean"),
    (ridge_unrolled, "unrolled for any practical"),
])
def test_ridge_hypergrad_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_ridge_hypergrad(answer, **FAST)


@PROPERTY
@given(rel=st.floats(1e-5, 1e-2), sign=st.sampled_from([-1.0, 1.0]))
def test_ridge_hypergrad_small_errors_are_rejected(rel, sign):
    with pytest.raises(CheckFailed, match="is wrong"):
        check_ridge_hypergrad(lambda *a: ridge_hypergrad(*a) * (1 + sign * rel), trials=0)


@PROPERTY
@given(rel=st.floats(0.0, 1e-10))
def test_ridge_hypergrad_round_off_is_accepted(rel):
    check_ridge_hypergrad(lambda *a: ridge_hypergrad(*a) * (1 + rel), trials=0)


@PROPERTY
@given(rel=st.floats(1e-6, 1e-2))
def test_fixed_point_grad_small_errors_are_rejected(rel):
    def perturbed(g, x_star, theta):
        return fixed_point_grad(g, x_star, theta) * (1 + rel)
    with pytest.raises(CheckFailed, match="is wrong"):
        check_fixed_point_grad(perturbed, trials=0)


# ------------------------------------------------------------------------- machinery


def test_stubs_say_not_implemented():
    def stub(*args):
        raise NotImplementedError()

    for check in (check_safe_norm, check_softplus, check_clip_gradient,
                  check_straight_through_round, check_checkpointed_chain,
                  check_fixed_point_grad, check_ridge_hypergrad):
        with pytest.raises(CheckFailed, match="not implemented yet"):
            check(stub)


def test_ready_runs_the_visible_check_once(capsys):
    assert ready(straight_through_round, "straight_through_round")
    assert ready(straight_through_round, "straight_through_round")

    def stub(x):
        raise NotImplementedError()

    assert not ready(stub, "straight_through_round")
    out = capsys.readouterr().out
    assert out.count("Finish the exercise `straight_through_round`") == 1
    assert "✓" not in out


@pytest.mark.parametrize(("check", "answer"), [
    (check_softplus, softplus),
    (check_softplus, _softplus_with(_stable, lambda x: jax.nn.sigmoid(-x))),
    (check_clip_gradient, clip_gradient),
    (check_clip_gradient, _clip_with(lambda g, x, lo, hi: g)),
    (check_straight_through_round, _ste_with(lambda g, x: jnp.zeros_like(g))),
    (check_safe_norm, norm_single_where),
    (check_checkpointed_chain, checkpointed_chain),
    (check_checkpointed_chain, chain_plain),
    (check_fixed_point_grad, fixed_point_grad),
    (check_fixed_point_grad, fixed_point_unrolled),
    (check_ridge_hypergrad, ridge_hypergrad),
    (check_ridge_hypergrad, lambda *a: ridge_hypergrad(*a, scale=-1.0)),
])
def test_checks_replay_to_the_same_verdict(tmp_path, check, answer):
    from course.recording import record_then_replay

    live, replayed = record_then_replay(check, answer, log=tmp_path / "log.jsonl", trials=1)
    assert live == replayed
