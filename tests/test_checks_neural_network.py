"""Tests of the lesson 09 checkers: right answers pass, recognisable mistakes are named."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.checking import CheckFailed
from course.checks.neural_network import (
    XOR_X,
    XOR_Y,
    check_mlp_backward,
    check_mlp_forward,
    check_train_xor,
)

FAST = {"trials": 7}
HYPOTHESIS = settings(database=None, derandomize=True, deadline=None, max_examples=10)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ------------------------------------------------------------------ student-like answers


def forward(params, X):
    (W1, b1), (W2, b2) = params
    return sigmoid(np.tanh(X @ W1 + b1) @ W2 + b2)[:, 0]


def forward_column(params, X):
    (W1, b1), (W2, b2) = params
    return sigmoid(np.tanh(X @ W1 + b1) @ W2 + b2)  # (n, 1) is accepted too


def forward_loop(params, X):
    (W1, b1), (W2, b2) = params
    out = []
    for x in X:
        hidden = [np.tanh(sum(x[i] * W1[i, j] for i in range(len(x))) + b1[j])
                  for j in range(len(b1))]
        z = sum(hidden[j] * W2[j, 0] for j in range(len(hidden))) + b2[0]
        out.append(0.5 * (1 + np.tanh(z / 2)))
    return np.array(out)


def parts(params, X):
    (W1, b1), (W2, b2) = params
    z1 = X @ W1 + b1
    a1 = np.tanh(z1)
    p = sigmoid(a1 @ W2 + b2)
    return z1, a1, p


def backward(params, X, y):
    (_, _), (W2, _) = params
    _, a1, p = parts(params, X)
    delta2 = (p - y[:, None]) / len(y)
    delta1 = delta2 @ W2.T * (1 - a1**2)
    return [(X.T @ delta1, delta1.sum(axis=0)), (a1.T @ delta2, delta2.sum(axis=0))]


def backward_chain(params, X, y):
    """Without the p - y shortcut: dL/dp times sigmoid'(z2), as tuples of tuples."""
    (_, _), (W2, _) = params
    _, a1, p = parts(params, X)
    col = y.reshape(-1, 1)
    dL_dp = (-(col / p) + (1 - col) / (1 - p)) / len(y)
    delta2 = dL_dp * p * (1 - p)
    delta1 = delta2 @ W2.T * (1 - a1**2)
    return ((X.T @ delta1, delta1.sum(axis=0)), (a1.T @ delta2, delta2.sum(axis=0)))


def backward_loop(params, X, y):
    """Accumulate per-example gradients, then average."""
    (W1, b1), (W2, b2) = params
    grads = [np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), np.zeros_like(b2)]
    for x, t in zip(X, y, strict=True):
        a = np.tanh(x @ W1 + b1)
        p = sigmoid(a @ W2 + b2)  # (1,)
        d2 = p - t
        d1 = (W2[:, 0] * d2[0]) * (1 - a**2)
        for g, value in zip(grads, (np.outer(x, d1), d1, np.outer(a, d2), d2), strict=True):
            g += value
    n = len(y)
    return [(grads[0] / n, grads[1] / n), (grads[2] / n, grads[3] / n)]


def wrong_backward(kind):
    def student(params, X, y):
        (W1, _), (W2, _) = params
        z1, a1, p = parts(params, X)
        n = len(y)
        delta2 = (p - y[:, None]) / n
        if kind == "sigmoid'":
            delta2 = delta2 * p * (1 - p)
        if kind == "mse":
            delta2 = 2 * delta2 * p * (1 - p)
        if kind == "sum":
            delta2 = delta2 * n
        tanh_prime = {"no tanh'": 1.0, "tanh' of z": 1 - z1**2}.get(kind, 1 - a1**2)
        delta1 = delta2 @ W2.T * tanh_prime
        dW1, db1 = X.T @ delta1, delta1.sum(axis=0)
        dW2 = (z1 if kind == "z1" else a1).T @ delta2
        db2 = delta2.sum(axis=0)
        if kind == "mean twice":
            db1, db2 = delta1.mean(axis=0), delta2.mean(axis=0)
            dW1, dW2 = dW1 / n, dW2 / n
        if kind == "sign":
            return [(-dW1, -db1), (-dW2, -db2)]
        if kind == "swapped":
            return [(db1, dW1), (db2, dW2)]
        if kind == "reversed":
            return [(dW2, db2), (dW1, db1)]
        if kind == "transposed":
            return [(dW1.T, db1), (dW2, db2)]
        if kind == "not summed":
            return [(dW1, delta1), (dW2, db2)]
        if kind == "scalar db2":
            return [(dW1, db1), (dW2, delta2.sum())]
        if kind == "flat":
            return [dW1, db1, dW2, db2]
        if kind == "in place":
            W1 -= 0.1 * dW1
        if kind == "y reshaped in place":
            y.shape = (n, 1)
        return [(dW1, db1), (dW2, db2)]

    return student


def broadcast_bug(params, X, y):
    (_, _), (W2, _) = params
    _, a1, p = parts(params, X)
    delta2 = (p - y) / len(y)  # (n, 1) - (n,) -> (n, n)
    delta1 = delta2 @ W2.T * (1 - a1**2)
    return [(X.T @ delta1, delta1.sum(axis=0)), (a1.T @ delta2, delta2.sum(axis=0))]


def jax_backward(params, X, y):
    from course.oracle import jax, jnp

    def loss(ps):
        (W1, b1), (W2, b2) = ps
        p = jax.nn.sigmoid(jnp.tanh(X @ W1 + b1) @ W2 + b2)[:, 0]
        return -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))

    return [tuple(layer) for layer in jax.grad(loss)([tuple(map(jnp.asarray, lay))
                                                        for lay in params])]


def adam(theta, g, m, v, t, lr):
    m = 0.9 * m + 0.1 * g
    v = 0.999 * v + 0.001 * g**2
    return theta - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8), m, v


def make_train_xor(*, hidden=8, steps=300, lr=0.05, init="seeded", train=True):
    def train_xor(seed):
        rng = {"seeded": np.random.default_rng(seed), "fixed": np.random.default_rng(0),
               "global": np.random.default_rng()}[init]
        arrays = [rng.normal(size=(2, hidden)), np.zeros(hidden), rng.normal(size=(hidden, 1)),
                  np.zeros(1)]
        state = [(np.zeros_like(a), np.zeros_like(a)) for a in arrays]
        for t in range(1, (steps if train else 0) + 1):
            grads = [g for pair in backward([(arrays[0], arrays[1]), (arrays[2], arrays[3])],
                                            XOR_X, XOR_Y) for g in pair]
            for i, g in enumerate(grads):
                arrays[i], m, v = adam(arrays[i], g, *state[i], t, lr)
                state[i] = (m, v)
        return [(arrays[0], arrays[1]), (arrays[2], arrays[3])]

    return train_xor


# -------------------------------------------------------------------------- mlp_forward


@pytest.mark.parametrize("answer", [forward, forward_column, forward_loop])
def test_forward_accepts_correct_answers(answer, capsys):
    check_mlp_forward(answer, **FAST)
    assert "✓ mlp_forward" in capsys.readouterr().out


def _forward_variant(kind):
    def student(params, X):
        (W1, b1), (W2, b2) = params
        act = {"relu": lambda z: np.maximum(z, 0), "sigmoid": sigmoid}.get(kind, np.tanh)
        W = W1.T if kind == "transposed" else W1
        a1 = act(X @ W + (0 if kind == "no b1" else b1))
        z2 = (a1 @ W2 + (0 if kind == "no b2" else b2))[:, 0]
        if kind == "logits":
            return z2
        if kind == "tanh out":
            return np.tanh(z2)
        if kind == "1 - p":
            return 1 - sigmoid(z2)
        if kind == "mean":
            return np.mean(sigmoid(z2))
        if kind == "row":
            return sigmoid(z2)[None, :]
        if kind == "in place":
            X[0, 0] += 1.0
        return sigmoid(z2)

    return student


@pytest.mark.parametrize(("kind", "message"), [
    ("logits", "applies the sigmoid"),
    ("relu", "ReLU"),
    ("sigmoid", "hidden layer used the sigmoid"),
    ("no b1", "hidden bias b1 is missing"),
    ("no b2", "output bias b2 is missing"),
    ("tanh out", "output used tanh"),
    ("1 - p", "1 - p"),
    ("transposed", "W1 transposed"),
    ("mean", "single number"),
    ("row", r"row \(1, n\)"),
    ("in place", "modified its argument `X` in place"),
])
def test_forward_names_mistakes(kind, message):
    with pytest.raises(CheckFailed, match=message):
        check_mlp_forward(_forward_variant(kind), **FAST)


def test_forward_not_implemented_is_friendly():
    def stub(params, X):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check_mlp_forward(stub)


@HYPOTHESIS
@given(st.floats(1e-6, 0.5))
def test_forward_rejects_perturbations(eps):
    with pytest.raises(CheckFailed, match="is wrong"):
        check_mlp_forward(lambda params, X: forward(params, X) * (1 + eps), **FAST)


@HYPOTHESIS
@given(st.floats(-1e-13, 1e-13))
def test_forward_accepts_round_off(eps):
    check_mlp_forward(lambda params, X: forward(params, X) * (1 + eps), **FAST)


# ------------------------------------------------------------------------- mlp_backward


@pytest.mark.parametrize("answer", [backward, backward_chain, backward_loop])
def test_backward_accepts_correct_answers(answer, capsys):
    check_mlp_backward(answer, **FAST)
    assert "✓ mlp_backward" in capsys.readouterr().out


@pytest.mark.parametrize(("kind", "message"), [
    ("no tanh'", "missing the tanh' factor"),
    ("tanh' of z", "not the pre-activation"),
    ("sum", "MEAN cross-entropy"),
    ("mean twice", "divided by n twice"),
    ("sign", "sign is flipped"),
    ("sigmoid'", "sigmoid'\\(z2\\) = p \\(1 - p\\) on top"),
    ("mse", "squared error"),
    ("z1", "not the pre-activations z1"),
    ("swapped", r"each pair is \(db, dW\)"),
    ("reversed", "reverse order"),
    ("transposed", "transposed"),
    ("not summed", "not summed over the batch"),
    ("scalar db2", "db2 is a scalar"),
    ("flat", "list of two"),
    ("in place", "modified the parameter W1 in place"),
    ("y reshaped in place", r"changed the shape of its argument `y` in place"),
])
def test_backward_names_mistakes(kind, message):
    with pytest.raises(CheckFailed, match=message):
        check_mlp_backward(wrong_backward(kind), **FAST)


def test_backward_transposed_dW1_of_other_shape_is_named():
    def student(params, X, y):
        (dW1, db1), rest = backward(params, X, y)
        return [(dW1.T, db1), rest]

    # the first case is square (d = h = 2): caught by value; later ones by shape
    with pytest.raises(CheckFailed, match="transposed"):
        check_mlp_backward(student, **FAST)


def test_backward_explains_broadcasting_error():
    with pytest.raises(CheckFailed, match=r"likely mistake: an \(n, n\) = \(4, 4\) array "
                       r"appeared\. Subtracting y of shape \(n,\) from the column p"):
        check_mlp_backward(broadcast_bug, **FAST)


def test_backward_rejects_jax_arrays():
    with pytest.raises(CheckFailed, match="JAX arrays"):
        check_mlp_backward(jax_backward, **FAST)


@HYPOTHESIS
@given(st.floats(1e-6, 1.0), st.integers(0, 3))
def test_backward_rejects_perturbations(eps, which):
    def student(params, X, y):
        flat = [g for pair in backward(params, X, y) for g in pair]
        flat[which] = flat[which] * (1 + eps)
        return [(flat[0], flat[1]), (flat[2], flat[3])]

    with pytest.raises(CheckFailed, match="is wrong"):
        check_mlp_backward(student, **FAST)


@HYPOTHESIS
@given(st.floats(-1e-13, 1e-13))
def test_backward_accepts_round_off(eps):
    def student(params, X, y):
        return [tuple(g * (1 + eps) for g in pair) for pair in backward(params, X, y)]

    check_mlp_backward(student, **FAST)


# ---------------------------------------------------------------------------- train_xor


def test_train_xor_accepts_a_trained_network(capsys):
    check_train_xor(make_train_xor(), seeds=(0, 1, 2))
    assert "all four XOR points" in capsys.readouterr().out


def test_train_xor_accepts_other_recipes():
    check_train_xor(make_train_xor(hidden=5, steps=600, lr=0.03), seeds=(3, 4))


def test_train_xor_rejects_an_untrained_network():
    with pytest.raises(CheckFailed, match="misclassifies"):
        check_train_xor(make_train_xor(train=False), seeds=(0,))


def test_train_xor_rejects_unseeded_randomness():
    with pytest.raises(CheckFailed, match="different parameters on two calls"):
        check_train_xor(make_train_xor(init="global"))


def test_train_xor_rejects_ignoring_the_seed():
    with pytest.raises(CheckFailed, match="identical parameters"):
        check_train_xor(make_train_xor(init="fixed"), seeds=(0, 1))


def test_train_xor_explains_shapes():
    def flat_w2(seed):
        (W1, b1), (W2, b2) = make_train_xor()(seed)
        return [(W1, b1), (W2[:, 0], b2)]

    with pytest.raises(CheckFailed, match=r"W2 of shape \(8,\).*\(8, 1\)"):
        check_train_xor(flat_w2)


def test_train_xor_rejects_divergence():
    def diverged(seed):
        (W1, b1), (W2, b2) = make_train_xor(train=False)(seed)
        return [(W1 * np.nan, b1), (W2, b2)]

    with pytest.raises(CheckFailed, match="nan or inf"):
        check_train_xor(diverged)


def test_xor_data():
    assert XOR_X.shape == (4, 2)
    assert np.array_equal(XOR_Y, np.logical_xor(XOR_X[:, 0], XOR_X[:, 1]).astype(float))


# ------------------------------------------------------------------ record and replay


def _record_then_replay(checker, answer, path, monkeypatch, **kwargs):
    """Record a check as the grading kernel does, replay it as the grader does."""
    from course.recording import record_then_replay

    return list(record_then_replay(checker, answer, log=path / "record.jsonl", **kwargs))


@pytest.mark.parametrize(("checker", "answer", "kwargs"), [
    (check_mlp_forward, forward, FAST),
    (check_mlp_forward, _forward_variant("in place"), FAST),
    (check_mlp_forward, _forward_variant("relu"), FAST),
    (check_mlp_backward, backward, FAST),
    (check_mlp_backward, wrong_backward("in place"), FAST),
    (check_mlp_backward, wrong_backward("y reshaped in place"), FAST),
    (check_mlp_backward, wrong_backward("sigmoid'"), FAST),
    (check_mlp_backward, broadcast_bug, FAST),
    (check_mlp_backward, jax_backward, FAST),
    (check_train_xor, make_train_xor(), {"seeds": (0, 1)}),
    (check_train_xor, make_train_xor(init="global"), {}),
    (check_train_xor, make_train_xor(init="fixed"), {"seeds": (0, 1)}),
])
def test_replay_reaches_the_same_verdict(checker, answer, kwargs, tmp_path, monkeypatch):
    live, replayed = _record_then_replay(checker, answer, tmp_path, monkeypatch, **kwargs)
    if "jax" in getattr(answer, "__name__", "") and live is not None:
        # A library answer to a by-hand exercise: grading's replay fails it with the
        # by-hand rule's own message, the recording run with the checker's.
        assert replayed is not None
        return
    assert live == replayed
