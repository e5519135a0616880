"""The lesson-08 checkers accept correct optimizer steps and diagnose the usual mistakes.

The student-like answers below are written here, independently of the notebook.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checking import CheckFailed
from course.checks.optimizers import (
    check_adadelta_step,
    check_adagrad_step,
    check_adam_step,
    check_momentum_step,
    check_nesterov_step,
    check_rmsprop_step,
)

FAST = {"trials": 3, "random_starts": 1, "steps": 20}
PROPERTY = settings(database=None, derandomize=True, deadline=None, max_examples=8)


# ------------------------------------------------------------------- momentum


def momentum(params, grads, v, lr, gamma):
    v = gamma * v + lr * grads
    return params - v, v


def momentum_loop(params, grads, v, lr, gamma):
    """Element by element, on flattened copies: the same maths."""
    new_v = np.empty_like(v, dtype=float).ravel()
    new_p = np.empty_like(params, dtype=float).ravel()
    for i, (p, g, vi) in enumerate(zip(params.ravel(), grads.ravel(), v.ravel(), strict=True)):
        new_v[i] = lr * g + gamma * vi
        new_p[i] = p - new_v[i]
    return new_p.reshape(params.shape), new_v.reshape(v.shape)


def momentum_pytorch(params, grads, v, lr, gamma):
    v = gamma * v + grads
    return params - lr * v, v


def momentum_in_place(params, grads, v, lr, gamma):
    v *= gamma
    v += lr * grads
    return params - v, v.copy()


def momentum_params_in_place(params, grads, v, lr, gamma):
    v = gamma * v + lr * grads
    params -= v
    return params.copy(), v


def momentum_other_sign(params, grads, v, lr, gamma):
    v = gamma * v - lr * grads
    return params + v, v


def momentum_no_gamma(params, grads, v, lr, gamma):
    v = v + lr * grads
    return params - v, v


def momentum_old_v(params, grads, v, lr, gamma):
    new_v = gamma * v + lr * grads
    return params - v, new_v


def momentum_stub(params, grads, v, lr, gamma):
    raise NotImplementedError()


def test_momentum_correct_forms_pass(capsys):
    check_momentum_step(momentum)
    check_momentum_step(momentum_loop, **FAST)
    out = capsys.readouterr()
    assert out.out.count("✓ momentum_step") == 2
    assert out.err == ""


@pytest.mark.parametrize(("answer", "message"), [
    (momentum_pytorch, "PyTorch form"),
    (momentum_in_place, "modified its argument `v` in place"),
    (momentum_params_in_place, "modified its argument `params` in place"),
    (momentum_other_sign, "opposite sign"),
    (momentum_no_gamma, "gamma is missing"),
    (momentum_old_v, "old velocity"),
    (momentum_stub, "not implemented yet"),
])
def test_momentum_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_momentum_step(answer)


def test_momentum_pytorch_form_is_caught_at_the_first_step_by_its_state():
    """At step 1 from v = 0 both forms move params identically; only v tells them apart."""
    p, g = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    assert np.allclose(momentum(p, g, np.zeros(2), 0.1, 0.9)[0],
                       momentum_pytorch(p, g, np.zeros(2), 0.1, 0.9)[0])
    with pytest.raises(CheckFailed, match=r"`v` returned by momentum_step"):
        check_momentum_step(momentum_pytorch)


@PROPERTY
@given(scale=st.floats(1e-6, 1.0), sign=st.sampled_from([-1.0, 1.0]))
def test_momentum_perturbed_params_are_rejected(scale, sign):
    def perturbed(params, grads, v, lr, gamma):
        p, v = momentum(params, grads, v, lr, gamma)
        return p + sign * scale * (1 + np.abs(p)), v

    with pytest.raises(CheckFailed, match="is wrong"):
        check_momentum_step(perturbed, **FAST)


@PROPERTY
@given(scale=st.floats(0.0, 1e-13))
def test_momentum_round_off_is_accepted(scale):
    def perturbed(params, grads, v, lr, gamma):
        p, v = momentum(params, grads, v, lr, gamma)
        return p * (1 + scale), v * (1 - scale)

    check_momentum_step(perturbed, **FAST)


# ------------------------------------------------------------------- Nesterov


def nesterov(params, grad_fn, v, lr, gamma):
    v = gamma * v + lr * grad_fn(params - gamma * v)
    return params - v, v


def nesterov_two_lines(params, grad_fn, v, lr, gamma):
    look_ahead = params - gamma * v
    g = np.asarray(grad_fn(look_ahead))
    new_v = lr * g + gamma * v
    return params - new_v, new_v


def nesterov_at_params(params, grad_fn, v, lr, gamma):
    v = gamma * v + lr * grad_fn(params)
    return params - v, v


def nesterov_plus(params, grad_fn, v, lr, gamma):
    v = gamma * v + lr * grad_fn(params + gamma * v)
    return params - v, v


def nesterov_pytorch(params, grad_fn, v, lr, gamma):
    g = grad_fn(params)
    v = gamma * v + g
    return params - lr * (g + gamma * v), v


def nesterov_in_place(params, grad_fn, v, lr, gamma):
    g = grad_fn(params - gamma * v)
    v *= gamma
    v += lr * g
    return params - v, v.copy()


def test_nesterov_correct_forms_pass(capsys):
    check_nesterov_step(nesterov)
    check_nesterov_step(nesterov_two_lines, **FAST)
    assert capsys.readouterr().out.count("✓ nesterov_step") == 2


@pytest.mark.parametrize(("answer", "message"), [
    (nesterov_at_params, "gradient was taken at params"),
    (nesterov_plus, "look-ahead point has the wrong sign"),
    (nesterov_pytorch, "PyTorch form of Nesterov"),
    (nesterov_in_place, "modified its argument `v` in place"),
])
def test_nesterov_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_nesterov_step(answer)


def test_nesterov_missing_lr_is_named_even_where_it_looks_like_the_pytorch_form():
    def no_lr(params, grad_fn, v, lr, gamma):
        v = gamma * v + grad_fn(params - gamma * v)
        return params - v, v

    with pytest.raises(CheckFailed, match="learning rate is missing"):
        check_nesterov_step(no_lr)


def test_nesterov_is_not_plain_momentum():
    """Plain momentum is a different method, so the checker must reject it."""
    def plain(params, grad_fn, v, lr, gamma):
        return momentum(params, grad_fn(params), v, lr, gamma)

    with pytest.raises(CheckFailed, match="plain momentum"):
        check_nesterov_step(plain)


# -------------------------------------------------------------------- Adagrad


def adagrad(params, grads, G, lr, eps=1e-8):
    G = G + grads**2
    return params - lr * grads / np.sqrt(G + eps), G


def adagrad_power(params, grads, G, lr, eps=1e-8):
    G = np.add(G, np.square(grads))
    return params - lr * grads * (G + eps) ** -0.5, G


def adagrad_eps_outside(params, grads, G, lr, eps=1e-8):
    G = G + grads**2
    return params - lr * grads / (np.sqrt(G) + eps), G


def adagrad_accumulates_g(params, grads, G, lr, eps=1e-8):
    G = G + grads
    return params - lr * grads / np.sqrt(np.abs(G) + eps), G


def adagrad_old_G(params, grads, G, lr, eps=1e-8):
    return params - lr * grads / np.sqrt(G + eps), G + grads**2


def adagrad_in_place(params, grads, G, lr, eps=1e-8):
    G += grads**2
    return params - lr * grads / np.sqrt(G + eps), G.copy()


def adagrad_wrong_default(params, grads, G, lr, eps=1e-1):
    return adagrad(params, grads, G, lr, eps)


def test_adagrad_correct_forms_pass():
    check_adagrad_step(adagrad)
    check_adagrad_step(adagrad_power, **FAST)


@pytest.mark.parametrize(("answer", "message"), [
    (adagrad_eps_outside, "epsilon is outside the square root"),
    (adagrad_accumulates_g, "accumulates the gradients themselves"),
    (adagrad_old_G, "used the old G"),
    (adagrad_in_place, "modified its argument `G` in place"),
    (adagrad_wrong_default, "relies on the defaults eps=1e-08"),
])
def test_adagrad_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_adagrad_step(answer)


# -------------------------------------------------------------------- RMSProp


def rmsprop(params, grads, Eg2, lr, gamma=0.9, eps=1e-8):
    Eg2 = gamma * Eg2 + (1 - gamma) * grads**2
    return params - lr * grads / np.sqrt(Eg2 + eps), Eg2


def rmsprop_lerp(params, grads, Eg2, lr, gamma=0.9, eps=1e-8):
    """The average written as a linear interpolation towards g**2."""
    Eg2 = Eg2 + (1 - gamma) * (grads**2 - Eg2)
    return params - lr * grads / np.sqrt(Eg2 + eps), Eg2


def rmsprop_eps_outside(params, grads, Eg2, lr, gamma=0.9, eps=1e-8):
    Eg2 = gamma * Eg2 + (1 - gamma) * grads**2
    return params - lr * grads / (np.sqrt(Eg2) + eps), Eg2


def rmsprop_swapped(params, grads, Eg2, lr, gamma=0.9, eps=1e-8):
    Eg2 = (1 - gamma) * Eg2 + gamma * grads**2
    return params - lr * grads / np.sqrt(Eg2 + eps), Eg2


def rmsprop_in_place(params, grads, Eg2, lr, gamma=0.9, eps=1e-8):
    Eg2 *= gamma
    Eg2 += (1 - gamma) * grads**2
    return params - lr * grads / np.sqrt(Eg2 + eps), Eg2.copy()


def rmsprop_wrong_default(params, grads, Eg2, lr, gamma=0.99, eps=1e-8):
    return rmsprop(params, grads, Eg2, lr, gamma, eps)


def test_rmsprop_correct_forms_pass():
    check_rmsprop_step(rmsprop)
    check_rmsprop_step(rmsprop_lerp, **FAST)


@pytest.mark.parametrize(("answer", "message"), [
    (rmsprop_eps_outside, "epsilon is outside the square root"),
    (rmsprop_swapped, "decay weights are swapped"),
    (rmsprop_in_place, "modified its argument `Eg2` in place"),
    (rmsprop_wrong_default, "relies on the defaults gamma=0.9"),
])
def test_rmsprop_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_rmsprop_step(answer)


# ------------------------------------------------------------------- Adadelta


def adadelta(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    Eg2 = gamma * Eg2 + (1 - gamma) * grads**2
    dx = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grads
    Edx2 = gamma * Edx2 + (1 - gamma) * dx**2
    return params + dx, Eg2, Edx2


def adadelta_rms(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    """With Zeiler's RMS[.] helper and the step subtracted rather than added."""
    def rms(e):
        return np.sqrt(e + eps)

    Eg2 = gamma * Eg2 + (1 - gamma) * np.square(grads)
    step = rms(Edx2) * grads / rms(Eg2)
    return params - step, Eg2, gamma * Edx2 + (1 - gamma) * step * step


def adadelta_with_lr(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    Eg2 = gamma * Eg2 + (1 - gamma) * grads**2
    dx = -0.01 * grads / np.sqrt(Eg2 + eps)
    return params + dx, Eg2, gamma * Edx2 + (1 - gamma) * dx**2


def adadelta_scaled(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    p, Eg2, Edx2 = adadelta(params, grads, Eg2, Edx2, gamma, eps)
    return params + 0.1 * (p - params), Eg2, Edx2


def adadelta_wrong_order(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    Eg2 = gamma * Eg2 + (1 - gamma) * grads**2
    Edx2 = gamma * Edx2 + (1 - gamma) * grads**2
    dx = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grads
    return params + dx, Eg2, Edx2


def adadelta_new_Edx2(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    Eg2 = gamma * Eg2 + (1 - gamma) * grads**2
    dx = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grads
    Edx2 = gamma * Edx2 + (1 - gamma) * dx**2
    dx = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grads
    return params + dx, Eg2, Edx2


def adadelta_no_eps_on_top(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    Eg2 = gamma * Eg2 + (1 - gamma) * grads**2
    dx = -np.sqrt(Edx2) / np.sqrt(Eg2 + eps) * grads
    return params + dx, Eg2, gamma * Edx2 + (1 - gamma) * dx**2


def adadelta_old_Eg2(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    dx = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grads
    Eg2 = gamma * Eg2 + (1 - gamma) * grads**2
    return params + dx, Eg2, gamma * Edx2 + (1 - gamma) * dx**2


def adadelta_ascends(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    p, Eg2, Edx2 = adadelta(params, grads, Eg2, Edx2, gamma, eps)
    return 2 * params - p, Eg2, Edx2


def adadelta_in_place(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    p, Eg2_new, Edx2_new = adadelta(params, grads, Eg2, Edx2, gamma, eps)
    Edx2[...] = Edx2_new
    return p, Eg2_new, Edx2_new


def test_adadelta_correct_forms_pass():
    check_adadelta_step(adadelta)
    check_adadelta_step(adadelta_rms, **FAST)


@pytest.mark.parametrize(("answer", "message"), [
    (adadelta_with_lr, "RMSProp with a learning rate of 0.01"),
    (adadelta_scaled, "scaled by a learning rate of 0.1"),
    (adadelta_wrong_order, "Edx2 was updated before computing dx"),
    (adadelta_new_Edx2, "numerator used the updated Edx2"),
    (adadelta_no_eps_on_top, "never moves"),
    (adadelta_old_Eg2, "denominator used the old Eg2"),
    (adadelta_ascends, "uphill"),
    (adadelta_in_place, "modified its argument `Edx2` in place"),
])
def test_adadelta_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_adadelta_step(answer)


# ----------------------------------------------------------------------- Adam


def adam(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads**2
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return params - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_folded(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Kingma & Ba's 'more efficient' order, with eps rescaled so it is exactly equivalent."""
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads**2
    c2 = np.sqrt(1 - b2**t)
    lr_t = lr * c2 / (1 - b1**t)
    return params - lr_t * m / (np.sqrt(v) + eps * c2), m, v


def adam_eps_inside(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads**2
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return params - lr * m_hat / np.sqrt(v_hat + eps), m, v


def adam_no_correction(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads**2
    return params - lr * m / (np.sqrt(v) + eps), m, v


def adam_t_from_zero(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    return adam(params, grads, m, v, t + 1, lr, b1, b2, eps)


def adam_returns_hat(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads**2
    m, v = m / (1 - b1**t), v / (1 - b2**t)
    return params - lr * m / (np.sqrt(v) + eps), m, v


def adam_in_place(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m *= b1
    m += (1 - b1) * grads
    v2 = b2 * v + (1 - b2) * grads**2
    return params - lr * (m / (1 - b1**t)) / (np.sqrt(v2 / (1 - b2**t)) + eps), m.copy(), v2


def adam_two_values(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    return adam(params, grads, m, v, t, lr, b1, b2, eps)[:2]


def test_adam_correct_forms_pass():
    check_adam_step(adam)
    check_adam_step(adam_folded, **FAST)


@pytest.mark.parametrize(("answer", "message"), [
    (adam_eps_inside, "epsilon is inside the square root"),
    (adam_no_correction, "bias correction is missing"),
    (adam_t_from_zero, "t was treated as starting at 0"),
    (adam_returns_hat, "bias-corrected m_hat as the state"),
    (adam_in_place, "modified its argument `m` in place"),
    (adam_two_values, r"return the tuple \(params, m, v\)"),
])
def test_adam_mistakes_are_named(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_adam_step(answer)


def test_failure_message_shows_input_expected_and_got():
    with pytest.raises(CheckFailed) as info:
        check_adam_step(adam_no_correction)
    text = str(info.value)
    for part in ("input:", "expected:", "got:", "likely mistake:"):
        assert part in text


def test_student_output_is_not_echoed_to_stderr(capsys):
    def noisy(params, grads, v, lr, gamma):
        import sys
        print("debug", file=sys.stderr)
        return momentum(params, grads, v, lr, gamma)

    check_momentum_step(noisy, **FAST)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------- properties of every checker

CORRECT = [
    (check_momentum_step, momentum),
    (check_nesterov_step, nesterov),
    (check_adagrad_step, adagrad),
    (check_rmsprop_step, rmsprop),
    (check_adadelta_step, adadelta),
    (check_adam_step, adam),
]


@pytest.mark.parametrize(("check", "answer"), CORRECT, ids=lambda x: getattr(x, "__name__", ""))
@settings(database=None, derandomize=True, deadline=None, max_examples=4)
@given(scale=st.floats(1e-6, 1e-1), which=st.integers(0, 2))
def test_perturbing_any_returned_array_is_rejected(check, answer, scale, which):
    """Params or any piece of state off by a relative `scale` fails, whatever the optimizer."""
    def perturbed(*args, **kwargs):
        out = list(answer(*args, **kwargs))
        i = which % len(out)
        out[i] = out[i] + scale * (1 + np.abs(out[i]))
        return tuple(out)

    with pytest.raises(CheckFailed, match="is wrong"):
        check(perturbed, **FAST)


@pytest.mark.parametrize(("check", "answer"), CORRECT, ids=lambda x: getattr(x, "__name__", ""))
def test_jax_arrays_and_lists_are_accepted(check, answer):
    """Returning jax arrays or a list instead of a tuple is fine: values are what count."""
    from course.oracle import jnp

    def as_jax(*args, **kwargs):
        return [jnp.asarray(x) for x in answer(*args, **kwargs)]

    check(as_jax, **FAST)
