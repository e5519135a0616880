"""Machinery of the lesson 07 checkers: properties, the reference traces, replay.

Right and wrong answers are the lesson's bank (``autograder/mutants/lesson_07.py``), run
by ``tests/test_mutant_banks.py``; these tests use the solution's answers and, for replay,
answers taken from the bank.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.mutants.inprocess import bank_answer, solution
from course.checking import CheckFailed
from course.checks import stochastic as S
from course.checks.stochastic import (
    check_minibatch_indices,
    check_reduce_on_plateau,
    check_sgd,
    check_step_decay,
    check_triangular_lr,
)

LESSON = "07-stochastic"
FAST = settings(max_examples=25)


def answer(name: str):
    """The solution notebook's ``name``."""
    return solution(LESSON, name)


# ----------------------------------------------------------------------- properties


@FAST
@given(seed=st.integers(0, 2**31 - 1), swap=st.integers(0, 10**6))
def test_minibatch_indices_rejects_any_swap_of_two_indices(seed, swap):
    right = answer("minibatch_indices")

    def swapped(n, b, rng):
        batches = right(n, b, rng)
        flat = np.concatenate(batches)
        if n > 1:
            i, j = swap % n, (swap // n + 1 + swap % n) % n
            if i == j:
                j = (i + 1) % n
            flat[[i, j]] = flat[[j, i]]
        return [flat[k:k + b] for k in range(0, n, b)]

    with pytest.raises(CheckFailed):
        check_minibatch_indices(swapped, seed=seed, trials=3)


@FAST
@given(relative=st.floats(1e-6, 1e-1), sign=st.sampled_from([-1.0, 1.0]))
def test_sgd_rejects_perturbed_final_params(relative, sign):
    right = answer("sgd")

    def perturbed(*args):
        params = right(*args)
        return params * (1 + sign * relative) + sign * relative

    with pytest.raises(CheckFailed, match="final params"):
        check_sgd(perturbed, trials=0)


@settings(max_examples=8)
@given(relative=st.floats(0.0, 1e-12))
def test_sgd_accepts_round_off(relative):
    right = answer("sgd")
    check_sgd(lambda *args: right(*args) * (1 + relative), trials=1)


@FAST
@given(relative=st.floats(1e-8, 0.5))
def test_step_decay_rejects_perturbation(relative):
    with pytest.raises(CheckFailed):
        check_step_decay(lambda a, f, k: (lambda t: a * f ** (t // k) * (1 + relative)),
                         trials=0)


# ------------------------------------------------------------------- ReduceOnPlateau

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


@settings(max_examples=40)
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
    check_reduce_on_plateau(answer("ReduceOnPlateau"), seed=seed, trials=3)


def test_checkers_print_one_line_and_nothing_on_stderr(capsys):
    check_minibatch_indices(answer("minibatch_indices"), trials=1)
    check_sgd(answer("sgd"), trials=1)
    check_step_decay(answer("step_decay"), trials=1)
    check_triangular_lr(answer("triangular_lr"), trials=1)
    check_reduce_on_plateau(answer("ReduceOnPlateau"), trials=1)
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


#: (checker, exercise, words): the solution's answer when words is None, else the answer
#: of the bank entry whose mistake contains words.
REPLAYED = [
    (check_minibatch_indices, "minibatch_indices", None),
    (check_minibatch_indices, "minibatch_indices", "rng advanced twice"),
    (check_minibatch_indices, "minibatch_indices", "default_rng(0)"),
    (check_sgd, "sgd", None),
    (check_sgd, "sgd", "batches drawn once"),
    (check_sgd, "sgd", "the caller's params updated in place"),
    (check_sgd, "sgd", "divided by the batch size"),
    (check_sgd, "sgd", "one example at a time"),
    (check_step_decay, "step_decay", None),
    (check_step_decay, "step_decay", "counts its own calls"),
    (check_step_decay, "step_decay", "returned the number lr0"),
    (check_triangular_lr, "triangular_lr", None),
    (check_triangular_lr, "triangular_lr", "sawtooth"),
    (check_reduce_on_plateau, "reduce_on_plateau", None),
    (check_reduce_on_plateau, "reduce_on_plateau", "num_bad_epochs >= patience"),
    (check_reduce_on_plateau, "reduce_on_plateau", "class attributes"),
]


@pytest.mark.parametrize(("checker", "exercise", "words"), REPLAYED,
                         ids=[f"{e}: {w or 'solution'}" for _, e, w in REPLAYED])
def test_checks_replay_to_the_same_verdict(checker, exercise, words, tmp_path, monkeypatch):
    name = "ReduceOnPlateau" if exercise == "reduce_on_plateau" else exercise
    student = answer(name) if words is None else bank_answer(LESSON, exercise, words, name)
    live, replayed = _record_then_replay(checker, student, tmp_path, monkeypatch, trials=2)
    assert live == replayed
