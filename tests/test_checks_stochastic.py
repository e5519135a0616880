"""Tests of the lesson 07 checkers: right answers pass, recognisable mistakes are named.

Every student-like answer below is written here, independently of the lesson notebook.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checking import CheckFailed
from course.checks import stochastic as S
from course.checks.stochastic import (
    check_minibatch_indices,
    check_reduce_on_plateau,
    check_sgd,
    check_step_decay,
    check_triangular_lr,
)

FAST = settings(database=None, derandomize=True, deadline=None, max_examples=25)


# ------------------------------------------------------------------ minibatch_indices


def batches_sliced(n, batch_size, rng):
    perm = rng.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def batches_shuffle_split(n, batch_size, rng):
    order = np.arange(n)
    rng.shuffle(order)  # the same draw as rng.permutation(n)
    return list(np.split(order, np.arange(batch_size, n, batch_size)))


def batches_while_loop(n, batch_size, rng):
    perm, out, start = rng.permuted(np.arange(n)), [], 0
    while start < n:
        out.append(perm[start:min(start + batch_size, n)])
        start += batch_size
    return out


@pytest.mark.parametrize("answer", [batches_sliced, batches_shuffle_split, batches_while_loop])
def test_minibatch_indices_accepts_correct_answers(answer, capsys):
    check_minibatch_indices(answer)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} minibatch_indices")


def drop_last(n, b, rng):
    perm = rng.permutation(n)
    return [perm[i:i + b] for i in range(0, n - b + 1, b)]


def overlapping(n, b, rng):
    perm = rng.permutation(n)
    return [perm[i:i + b + 1] for i in range(0, n, b)]


def global_rng(n, b, rng):
    perm = np.random.default_rng(0).permutation(n)
    return [perm[i:i + b] for i in range(0, n, b)]


def numpy_global(n, b, rng):
    perm = np.random.permutation(n)
    return [perm[i:i + b] for i in range(0, n, b)]


def choice_shuffle(n, b, rng):
    perm = rng.choice(n, n, replace=False)
    return [perm[i:i + b] for i in range(0, n, b)]


def argsort_shuffle(n, b, rng):
    perm = np.argsort(rng.random(n))
    return [perm[i:i + b] for i in range(0, n, b)]


def with_replacement(n, b, rng):
    draws = rng.integers(0, n, n)
    return [draws[i:i + b] for i in range(0, n, b)]


def extra_draw(n, b, rng):
    perm = rng.permutation(n)
    rng.random()
    return [perm[i:i + b] for i in range(0, n, b)]


def balanced_split(n, b, rng):
    return np.array_split(rng.permutation(n), math.ceil(n / b))


def unshuffled(n, b, rng):
    rng.permutation(n)
    return [np.arange(n)[i:i + b] for i in range(0, n, b)]


def as_2d_array(n, b, rng):
    return rng.permutation(n).reshape(-1, 1)


def half_indices(n, b, rng):
    perm = rng.permutation(n) / 2
    return [perm[i:i + b] for i in range(0, n, b)]


@pytest.mark.parametrize(("answer", "message"), [
    (drop_last, "last, shorter batch is missing"),
    (overlapping, "overlap by one index"),
    (global_rng, "was not used"),
    (numpy_global, "was not used"),
    (choice_shuffle, "not by rng.permutation"),
    (argsort_shuffle, "not by rng.permutation"),
    (with_replacement, "with replacement"),
    (extra_draw, "advanced differently"),
    (balanced_split, "array_split"),
    (unshuffled, "not shuffled"),
    (as_2d_array, "return a list"),
    (half_indices, "integer indices"),
])
def test_minibatch_indices_names_mistakes(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_minibatch_indices(answer)


@FAST
@given(seed=st.integers(0, 2**31 - 1), swap=st.integers(0, 10**6))
def test_minibatch_indices_rejects_any_swap_of_two_indices(seed, swap):
    def swapped(n, b, rng):
        batches = batches_sliced(n, b, rng)
        flat = np.concatenate(batches)
        if n > 1:
            i, j = swap % n, (swap // n + 1 + swap % n) % n
            if i == j:
                j = (i + 1) % n
            flat[[i, j]] = flat[[j, i]]
        return [flat[k:k + b] for k in range(0, n, b)]

    with pytest.raises(CheckFailed):
        check_minibatch_indices(swapped, seed=seed, trials=3)


# ------------------------------------------------------------------------------ sgd


def sgd_reference(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    params = np.asarray(params, dtype=float)
    for _ in range(epochs):
        for idx in batches_sliced(len(y), batch_size, rng):
            params = params - lr * grad_fn(params, X[idx], y[idx])
    return params


def sgd_inplace_on_copy(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    w = np.array(params, dtype=float, copy=True)
    n = X.shape[0]
    for _epoch in range(epochs):
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            w -= lr * grad_fn(w, X[idx], y[idx])
    return w


@pytest.mark.parametrize("answer", [sgd_reference, sgd_inplace_on_copy])
def test_sgd_accepts_correct_answers(answer, capsys):
    check_sgd(answer)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} sgd")


def sgd_batches_once(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    batches = batches_sliced(len(y), batch_size, np.random.default_rng(seed))
    for _ in range(epochs):
        for idx in batches:
            params = params - lr * grad_fn(params, X[idx], y[idx])
    return params


def sgd_fresh_rng_per_epoch(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    for _ in range(epochs):
        rng = np.random.default_rng(seed)
        for idx in batches_sliced(len(y), batch_size, rng):
            params = params - lr * grad_fn(params, X[idx], y[idx])
    return params


def sgd_modifies_params(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for idx in batches_sliced(len(y), batch_size, rng):
            params -= lr * grad_fn(params, X[idx], y[idx])
    return params


def sgd_one_epoch_too_many(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    return sgd_reference(grad_fn, params, X, y, lr, batch_size, epochs + 1, seed)


def sgd_ascent(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    return sgd_reference(grad_fn, params, X, y, -lr, batch_size, epochs, seed)


def sgd_averages_again(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for idx in batches_sliced(len(y), batch_size, rng):
            params = params - lr * grad_fn(params, X[idx], y[idx]) / len(idx)
    return params


def sgd_returns_initial(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    sgd_reference(grad_fn, params, X, y, lr, batch_size, epochs, seed)
    return params


def sgd_full_batch(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    for _ in range(epochs):
        params = params - lr * grad_fn(params, X, y)
    return params


def sgd_no_shuffle(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    for _ in range(epochs):
        for start in range(0, len(y), batch_size):
            idx = np.arange(start, min(start + batch_size, len(y)))
            params = params - lr * grad_fn(params, X[idx], y[idx])
    return params


def sgd_single_rows(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for i in rng.permutation(len(y)):
            params = params - lr * grad_fn(params, X[i], y[i])
    return params


@pytest.mark.parametrize(("answer", "message"), [
    (sgd_batches_once, "reused the first epoch's shuffle"),
    (sgd_fresh_rng_per_epoch, "reused the first epoch's shuffle"),
    (sgd_modifies_params, "modified its argument `params` in place"),
    (sgd_one_epoch_too_many, r"epoch\(s\) instead of"),
    (sgd_ascent, "sign is flipped"),
    (sgd_averages_again, "divided grad_fn's output by the batch size"),
    (sgd_returns_initial, "returned the initial params"),
    (sgd_full_batch, "whole data set"),
    (sgd_no_shuffle, "original order"),
    (sgd_single_rows, "2-D batch"),
])
def test_sgd_names_mistakes(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_sgd(answer, trials=2)


@FAST
@given(relative=st.floats(1e-6, 1e-1), sign=st.sampled_from([-1.0, 1.0]))
def test_sgd_rejects_perturbed_final_params(relative, sign):
    def perturbed(*args):
        params = sgd_reference(*args)
        return params * (1 + sign * relative) + sign * relative

    with pytest.raises(CheckFailed, match="final params"):
        check_sgd(perturbed, trials=0)


@settings(database=None, derandomize=True, deadline=None, max_examples=8)
@given(relative=st.floats(0.0, 1e-12))
def test_sgd_accepts_round_off(relative):
    check_sgd(lambda *args: sgd_reference(*args) * (1 + relative), trials=1)


# ----------------------------------------------------------------------- step_decay


def step_decay_power(lr0, factor, every):
    return lambda step: lr0 * factor ** (step // every)


def step_decay_loop(lr0, factor, every):
    def schedule(step):
        lr = lr0
        for _ in range(math.floor(step / every)):
            lr *= factor
        return lr
    return schedule


@pytest.mark.parametrize("answer", [step_decay_power, step_decay_loop])
def test_step_decay_accepts_correct_answers(answer, capsys):
    check_step_decay(answer)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} step_decay")


def step_decay_stateful(lr0, factor, every):
    calls = {"count": 0}

    def schedule(step):
        calls["count"] += 1
        return lr0 * factor ** ((calls["count"] - 1) // every)
    return schedule


@pytest.mark.parametrize(("answer", "message"), [
    (lambda lr0, f, k: (lambda t: lr0 * f ** (t / k)), "continuous"),
    (lambda lr0, f, k: (lambda t: lr0 * f ** ((t + 1) // k)), "one step earlier"),
    (lambda lr0, f, k: (lambda t: lr0 * f ** (t // k + 1)), "starts at lr0"),
    (lambda lr0, f, k: (lambda t: lr0 * f ** t), "decayed every step"),
    (lambda lr0, f, k: lr0, "must return a function"),
    (lambda lr0, f, k: (lambda t: np.array([lr0 * f ** (t // k)])), "a float"),
    (step_decay_stateful, "pure function of `step`"),
])
def test_step_decay_names_mistakes(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_step_decay(answer)


@FAST
@given(relative=st.floats(1e-8, 0.5))
def test_step_decay_rejects_perturbation(relative):
    with pytest.raises(CheckFailed):
        check_step_decay(lambda a, f, k: (lambda t: a * f ** (t // k) * (1 + relative)),
                         trials=0)


# -------------------------------------------------------------------- triangular_lr


def triangular_smith(base_lr, max_lr, step_size):
    def schedule(step):
        cycle = math.floor(1 + step / (2 * step_size))
        x = abs(step / step_size - 2 * cycle + 1)
        return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)
    return schedule


def triangular_distance(base_lr, max_lr, step_size):
    def schedule(step):
        phase = step % (2 * step_size)
        distance = min(phase, 2 * step_size - phase)  # steps from the nearest trough
        return base_lr + (max_lr - base_lr) * distance / step_size
    return schedule


@pytest.mark.parametrize("answer", [triangular_smith, triangular_distance])
def test_triangular_lr_accepts_correct_answers(answer, capsys):
    check_triangular_lr(answer)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} triangular_lr")


def triangular_sawtooth(b, m, s):
    return lambda t: b + (m - b) * (t % s) / s


def triangular_double_period(b, m, s):
    return triangular_smith(b, m, 2 * s)


def triangular_inverted(b, m, s):
    f = triangular_smith(b, m, s)
    return lambda t: b + m - f(t)


def triangular_no_base(b, m, s):
    f = triangular_smith(b, m, s)
    return lambda t: f(t) - b


def triangular_no_one_plus(b, m, s):
    def schedule(step):
        cycle = math.floor(step / (2 * s))
        x = abs(step / s - 2 * cycle + 1)
        return b + (m - b) * max(0.0, 1 - x)
    return schedule


@pytest.mark.parametrize(("answer", "message"), [
    (triangular_sawtooth, "sawtooth"),
    (triangular_double_period, "twice too long"),
    (triangular_inverted, "upside down"),
    (triangular_no_base, "base_lr is missing"),
    (triangular_no_one_plus, "needs the 1 +"),
])
def test_triangular_lr_names_mistakes(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_triangular_lr(answer)


# ------------------------------------------------------------------- ReduceOnPlateau


class PlateauReference:
    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4):
        self.lr, self.factor, self.patience, self.threshold = lr, factor, patience, threshold
        self.best, self.bad = math.inf, 0

    def step(self, loss):
        if loss < self.best * (1 - self.threshold):
            self.best, self.bad = loss, 0
        else:
            self.bad += 1
        if self.bad > self.patience:
            self.lr, self.bad = self.lr * self.factor, 0
        return self.lr


class PlateauCountdown:
    """Counts down the remaining patience instead of counting bad epochs up."""

    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4):
        self._lr, self._factor, self._patience = float(lr), factor, patience
        self._threshold, self._best, self._left = threshold, None, patience

    def step(self, loss):
        if self._best is None or loss < self._best - self._threshold * self._best:
            self._best, self._left = loss, self._patience
        elif self._left == 0:
            self._lr *= self._factor
            self._left = self._patience
        else:
            self._left -= 1
        return self._lr


@pytest.mark.parametrize("answer", [PlateauReference, PlateauCountdown])
def test_reduce_on_plateau_accepts_correct_answers(answer, capsys):
    check_reduce_on_plateau(answer)
    assert capsys.readouterr().out.startswith("\N{CHECK MARK} ReduceOnPlateau")


class PlateauAbsolute(PlateauReference):
    def step(self, loss):
        if loss < self.best - self.threshold:
            self.best, self.bad = loss, 0
        else:
            self.bad += 1
        if self.bad > self.patience:
            self.lr, self.bad = self.lr * self.factor, 0
        return self.lr


class PlateauAtPatience(PlateauReference):
    def step(self, loss):
        if loss < self.best * (1 - self.threshold):
            self.best, self.bad = loss, 0
        else:
            self.bad += 1
        if self.bad >= self.patience:
            self.lr, self.bad = self.lr * self.factor, 0
        return self.lr


class PlateauKeepsCount(PlateauReference):
    def step(self, loss):
        if loss < self.best * (1 - self.threshold):
            self.best, self.bad = loss, 0
        else:
            self.bad += 1
        if self.bad > self.patience:
            self.lr *= self.factor
        return self.lr


class PlateauTiesImprove(PlateauReference):
    def step(self, loss):
        if loss <= self.best * (1 - self.threshold):
            self.best, self.bad = loss, 0
        else:
            self.bad += 1
        if self.bad > self.patience:
            self.lr, self.bad = self.lr * self.factor, 0
        return self.lr


class PlateauVsPrevious(PlateauReference):
    def step(self, loss):
        improved = loss < self.best * (1 - self.threshold)
        self.best = loss
        self.bad = 0 if improved else self.bad + 1
        if self.bad > self.patience:
            self.lr, self.bad = self.lr * self.factor, 0
        return self.lr


class PlateauReturnsOld(PlateauReference):
    def step(self, loss):
        old = self.lr
        super().step(loss)
        return old


class PlateauShared:
    """State kept on the class: every instance shares one counter and one best."""

    best, bad = math.inf, 0

    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4):
        self.lr, self.factor, self.patience, self.threshold = lr, factor, patience, threshold

    def step(self, loss):
        cls = type(self)
        if loss < cls.best * (1 - self.threshold):
            cls.best, cls.bad = loss, 0
        else:
            cls.bad += 1
        if cls.bad > self.patience:
            self.lr, cls.bad = self.lr * self.factor, 0
        return self.lr


@pytest.mark.parametrize(("answer", "message"), [
    (PlateauAbsolute, "absolute threshold"),
    (PlateauAtPatience, "num_bad_epochs == patience"),
    (PlateauKeepsCount, "not reset after a reduction"),
    (PlateauTiesImprove, "equal to the best"),
    (PlateauVsPrevious, "previous loss"),
    (PlateauReturnsOld, "before processing the loss"),
    (PlateauShared, "class attribute"),
])
def test_reduce_on_plateau_names_mistakes(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_reduce_on_plateau(answer)


def test_hand_cases_agree_with_the_trace():
    for kwargs, losses, expected in S._HAND_CASES:
        trace = S._plateau_trace(*S._plateau_args(kwargs), losses)
        np.testing.assert_allclose([s.lr for s in trace], expected, rtol=1e-12)


@functools.cache
def _optax_plateau(factor: float, threshold: float):
    """Scales of optax.contrib.reduce_on_plateau over a sequence, compiled once per config.

    optax reduces when its count REACHES patience, PyTorch when num_bad_epochs EXCEEDS it:
    optax's patience + 1 is PyTorch's patience.
    """
    import optax

    from course.oracle import jax, jnp

    def run(losses, patience):
        rop = optax.contrib.reduce_on_plateau(factor=factor, patience=patience + 1,
                                              rtol=threshold, atol=0.0)
        params = jnp.zeros(1)

        def body(state, loss):
            _, state = rop.update(params, state, value=loss)
            return state, state.scale

        return jax.lax.scan(body, rop.init(params), losses)[1]

    return jax.jit(run)


_PADDED = 30


@settings(database=None, derandomize=True, deadline=None, max_examples=40)
@given(
    losses=st.lists(st.sampled_from([1.0, 0.9, 0.95, 0.99995, 1.2, 0.5, 0.49]), min_size=1,
                    max_size=_PADDED),
    patience=st.integers(0, 4),
    threshold=st.sampled_from([1e-4, 0.05]),
    factor=st.sampled_from([0.1, 0.5]),
)
def test_trace_agrees_with_optax_contrib_reduce_on_plateau(losses, patience, threshold, factor):
    kwargs = {"lr": 1.0, "factor": factor, "patience": patience, "threshold": threshold}
    trace = S._plateau_trace(*S._plateau_args(kwargs), losses)
    padded = np.array(losses + [1.0] * (_PADDED - len(losses)))
    scales = np.asarray(_optax_plateau(factor, threshold)(padded, patience))[:len(losses)]
    np.testing.assert_allclose([s.lr for s in trace], scales, rtol=1e-12)


@FAST
@given(seed=st.integers(0, 2**31 - 1))
def test_reduce_on_plateau_reference_passes_any_seed(seed):
    check_reduce_on_plateau(PlateauReference, seed=seed, trials=3)


def test_checkers_print_one_line_and_nothing_on_stderr(capsys):
    check_minibatch_indices(batches_sliced, trials=1)
    check_sgd(sgd_reference, trials=1)
    check_step_decay(step_decay_power, trials=1)
    check_triangular_lr(triangular_smith, trials=1)
    check_reduce_on_plateau(PlateauReference, trials=1)
    captured = capsys.readouterr()
    assert captured.err == ""
    assert len(captured.out.strip().splitlines()) == 5


def test_not_implemented_is_friendly():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for checker in (check_minibatch_indices, check_sgd, check_step_decay, check_triangular_lr,
                    check_reduce_on_plateau):
        with pytest.raises(CheckFailed, match="not implemented yet"):
            checker(stub)


# ------------------------------------------------------------ grading: record, then replay


def _record_then_replay(checker, answer, path, monkeypatch, **kwargs):
    """Record a check as the grading kernel does, replay it as the grader does."""
    from course.recording import record_then_replay

    return list(record_then_replay(checker, answer, log=path / "record.jsonl", **kwargs))


@pytest.mark.parametrize(("checker", "answer"), [
    (check_minibatch_indices, batches_sliced),
    (check_minibatch_indices, extra_draw),
    (check_minibatch_indices, global_rng),
    (check_sgd, sgd_reference),
    (check_sgd, sgd_batches_once),
    (check_sgd, sgd_modifies_params),
    (check_sgd, sgd_averages_again),
    (check_sgd, sgd_single_rows),
    (check_step_decay, step_decay_power),
    (check_step_decay, step_decay_stateful),
    (check_step_decay, lambda lr0, f, k: lr0),
    (check_triangular_lr, triangular_smith),
    (check_triangular_lr, triangular_sawtooth),
    (check_reduce_on_plateau, PlateauReference),
    (check_reduce_on_plateau, PlateauAtPatience),
    (check_reduce_on_plateau, PlateauShared),
])
def test_checks_replay_to_the_same_verdict(checker, answer, tmp_path, monkeypatch):
    live, replayed = _record_then_replay(checker, answer, tmp_path, monkeypatch, trials=2)
    assert live == replayed
