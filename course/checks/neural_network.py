r"""Checkers for lesson 09-neural-network: a two-layer perceptron written by hand.

Shape convention (the lesson states it, and every message repeats it):

* ``params = [(W1, b1), (W2, b2)]`` with ``W1`` (d, h), ``b1`` (h,), ``W2`` (h, 1), ``b2`` (1,);
* ``X`` has shape (n, d), one example per row; labels ``y`` have shape (n,), values 0 or 1;
* ``mlp_forward(params, X)`` returns :math:`p = \sigma(\tanh(X W_1 + b_1) W_2 + b_2)`, one
  probability per row: shape (n,). The (n, 1) column that the matrix product produces is
  accepted too;
* ``mlp_backward(params, X, y)`` returns ``[(dW1, db1), (dW2, db2)]``, each gradient of the
  mean binary cross-entropy with the shape of its parameter.

Oracles: JAX in float64. The forward pass is written in ``jax.numpy`` from the definition
above; the gradients are ``jax.grad`` of the mean binary cross-entropy written with
``jax.nn.log_sigmoid`` of the logits, which is stable for any logit. Wrong answers are
matched against numpy models of common mistakes (missing tanh', sum instead of mean, an
extra sigmoid' factor, flipped sign, ...) to name the likely slip.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from course import oracle as _oracle
from course.checking import (
    CheckFailed,
    Mistake,
    Tolerance,
    as_float_array,
    call,
    expect_close,
    expect_true,
    fmt,
    passed,
)

__all__ = [
    "SHAPE_CONVENTION",
    "XOR_X",
    "XOR_Y",
    "check_mlp_backward",
    "check_mlp_forward",
    "check_train_xor",
]

#: One sentence that every shape message ends with.
SHAPE_CONVENTION = (
    "The lesson's convention: params = [(W1, b1), (W2, b2)] with W1 (d, h), b1 (h,), "
    "W2 (h, 1), b2 (1,); X (n, d); y (n,); mlp_forward returns shape (n,) (or (n, 1))."
)

#: The four XOR points and their labels (inputs 0/1, label 1 when exactly one input is 1).
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])

#: Only round-off separates a correct answer from the oracle.
_EXACT = Tolerance(rtol=1e-8, atol=1e-11)

#: (n, d, h) of the random problems: hidden sizes 1, 2, 3, 4, 8; a few with d == h so that a
#: transposed W1 still has the right shape and is caught by value. A fixed menu keeps the
#: number of jit compilations (about 0.1 s each) small.
_SHAPES: tuple[tuple[int, int, int], ...] = (
    (4, 2, 2), (1, 1, 1), (6, 3, 3), (8, 2, 4), (5, 3, 8),
)


# ------------------------------------------------------------------------------ oracles


def _logits(params, X):
    r""":math:`z_2 = \tanh(X W_1 + b_1) W_2 + b_2`, shape (n, 1), in ``jax.numpy``."""
    from course.oracle import jnp

    (W1, b1), (W2, b2) = params
    return jnp.tanh(X @ W1 + b1) @ W2 + b2


def _mean_bce(params, X, y, weights):
    r"""Weighted mean binary cross-entropy
    :math:`-\sum_i w_i\,[y_i\log p_i + (1-y_i)\log(1-p_i)] / \sum_i w_i`.

    With every :math:`w_i = 1` it is the mean over the rows; a padding row has weight 0.
    Written with :math:`\log p = \log\sigma(z)` and :math:`\log(1-p) = \log\sigma(-z)` so
    that it never takes the log of a rounded 0.
    """
    from course.oracle import jax, jnp

    z = _logits(params, X)[:, 0]
    terms = y * jax.nn.log_sigmoid(z) + (1.0 - y) * jax.nn.log_sigmoid(-z)
    return -jnp.sum(weights * terms) / jnp.sum(weights)


#: Shape buckets of the network oracles (rows n, inputs d, hidden units h). Padding with
#: zeros is exact: a zero row of X has weight 0 in the mean, a zero input meets a zero row of
#: W1, and a hidden unit with zero weights in and out adds tanh(0) * 0 = 0. So the menu of
#: problem shapes and any XOR net up to 128 hidden units share one compilation per oracle.
_ROWS, _INPUTS, _HIDDEN = (8, 64, 512), (4, 16, 64), (8, 32, 128)


def _fit(n: int, sizes: tuple[int, ...]) -> int:
    """The bucket of ``n``, or ``n`` itself beyond the largest bucket."""
    return _oracle.bucket(n, sizes) if n <= sizes[-1] else n


def _padded(params, X, y=None) -> tuple[tuple, tuple[int, int, int]]:
    """``((W1, b1, W2, b2, X, y, weights), (n, d, h))`` zero-padded to the shape buckets."""
    (W1, b1), (W2, b2) = params
    n, d = np.shape(X)
    h = np.shape(W1)[1]
    N, D, H = _fit(n, _ROWS), _fit(d, _INPUTS), _fit(h, _HIDDEN)

    def put(array, shape):
        value = np.asarray(array, dtype=np.float64)
        out = np.zeros(shape)
        out[tuple(slice(0, k) for k in value.shape)] = value
        return out

    weights = put(np.ones(n), (N,))
    labels = put(np.zeros(n) if y is None else y, (N,))
    arrays = (put(W1, (D, H)), put(b1, (H,)), put(W2, (H, 1)), put(b2, (1,)), put(X, (N, D)),
              labels, weights)
    return arrays, (n, d, h)


def _forward(jax, jnp):
    def forward(W1, b1, W2, b2, X, y, weights):
        return jax.nn.sigmoid(_logits([(W1, b1), (W2, b2)], X))[:, 0]
    return forward


def _gradients(jax, jnp):
    def loss(W1, b1, W2, b2, X, y, weights):
        return _mean_bce([(W1, b1), (W2, b2)], X, y, weights)
    return jax.grad(loss, argnums=(0, 1, 2, 3))


def _oracle_probabilities(params, X) -> np.ndarray:
    arrays, (n, _, _) = _padded(params, X)
    forward = _oracle.compiled(("neural_network", "forward"), _forward)
    return np.asarray(forward(*arrays), dtype=np.float64)[:n]


def _oracle_gradients(params, X, y) -> list[np.ndarray]:
    """``[dW1, db1, dW2, db2]`` from ``jax.grad`` of the mean BCE, as float64 numpy arrays."""
    arrays, (_, d, h) = _padded(params, X, y)
    grads = _oracle.compiled(("neural_network", "gradients"), _gradients)(*arrays)
    dW1, db1, dW2, db2 = (np.asarray(g, dtype=np.float64) for g in grads)
    return [dW1[:d, :h], db1[:h], dW2[:h], db2]


# ------------------------------------------------------------------------------ problems


def _random_problem(rng: np.random.Generator, n: int, d: int, h: int):
    params = [
        (rng.normal(0.0, 1.0, (d, h)), rng.normal(0.0, 0.5, h)),
        (rng.normal(0.0, 1.0, (h, 1)), rng.normal(0.0, 0.5, 1)),
    ]
    X = rng.normal(0.0, 1.0, (n, d))
    y = (rng.random(n) < 0.5).astype(np.float64)
    return params, X, y


def _fixed_problem():
    """XOR inputs and a hand-written net that nearly solves XOR (hidden units OR and NAND)."""
    params = [
        (np.array([[2.0, -2.0], [2.0, -2.0]]), np.array([-1.0, 3.0])),
        (np.array([[2.0], [2.0]]), np.array([-2.0])),
    ]
    return params, XOR_X.copy(), XOR_Y.copy()


def _problems(seed: int, trials: int):
    rng = np.random.default_rng(seed)
    yield _fixed_problem()
    for k in range(trials):
        yield _random_problem(rng, *_SHAPES[k % len(_SHAPES)])


def _copies(params, *arrays):
    return [(W.copy(), b.copy()) for W, b in params], [a.copy() for a in arrays]


def _expect_unchanged(name: str, params, saved_params, arrays: dict, saved: list) -> None:
    expect_true(
        isinstance(params, list | tuple) and len(params) == len(saved_params)
        and all(isinstance(layer, tuple | list) and len(layer) == 2 for layer in params),
        f"`{name}` changed the list `params` in place: graded functions must leave their "
        "inputs unchanged (build a new list instead).",
    )
    for (W, b), (W0, b0), layer in zip(params, saved_params, (1, 2), strict=True):
        for now, before, arg in ((W, W0, f"W{layer}"), (b, b0, f"b{layer}")):
            expect_true(
                np.array_equal(now, before),
                f"`{name}` modified the parameter {arg} in place: graded functions must leave "
                "their inputs unchanged (write `W = W - ...` or work on a copy, never `W -= ...` "
                "on an argument).",
            )
    for (arg, now), before in zip(arrays.items(), saved, strict=True):
        expect_true(
            np.shape(now) == np.shape(before),
            f"`{name}` changed the shape of its argument `{arg}` in place (from "
            f"{np.shape(before)} to {np.shape(now)}, e.g. `{arg}.shape = ...`): graded functions "
            f"must leave their inputs unchanged; `{arg}.reshape(...)` or `{arg}[:, None]` "
            "return a new array instead.",
        )
        expect_true(
            np.array_equal(now, before),
            f"`{name}` modified its argument `{arg}` in place: graded functions must leave "
            "their inputs unchanged (work on a copy).",
        )


def _inputs(params, X, y=None) -> dict[str, Any]:
    (W1, b1), (W2, b2) = params
    inputs: dict[str, Any] = {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "X": X}
    if y is not None:
        inputs["y"] = y
    return inputs


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _is_jax_array(value: Any) -> bool:
    return type(value).__module__.split(".")[0] in {"jax", "jaxlib"}


# --------------------------------------------------------------------------- mlp_forward


def _forward_mistakes(params, X) -> list[Mistake]:
    (W1, b1), (W2, b2) = params
    z1 = X @ W1 + b1
    a1 = np.tanh(z1)
    z2 = (a1 @ W2 + b2)[:, 0]
    mistakes = [
        Mistake("you returned the logit z2 = a1 W2 + b2: the output layer applies the sigmoid, "
                "p = sigmoid(z2).", z2),
        Mistake("the hidden layer used the sigmoid; this network's hidden activation is tanh.",
                _sigmoid((_sigmoid(z1) @ W2 + b2)[:, 0])),
        Mistake("the hidden layer used ReLU; this network's hidden activation is tanh.",
                _sigmoid((np.maximum(z1, 0.0) @ W2 + b2)[:, 0])),
        Mistake("the hidden layer has no activation: apply tanh to X W1 + b1.",
                _sigmoid((z1 @ W2 + b2)[:, 0])),
        Mistake("the output used tanh instead of the sigmoid (a probability lies in [0, 1]).",
                np.tanh(z2)),
        Mistake("the hidden bias b1 is missing: z1 = X W1 + b1.",
                _sigmoid((np.tanh(X @ W1) @ W2 + b2)[:, 0])),
        Mistake("the output bias b2 is missing: z2 = a1 W2 + b2.",
                _sigmoid((a1 @ W2)[:, 0])),
        Mistake("you returned 1 - p, the probability of class 0; return p = P(y = 1).",
                1.0 - _sigmoid(z2)),
    ]
    if W1.shape[0] == W1.shape[1]:
        mistakes.append(Mistake(
            "you multiplied by W1 transposed: with W1 of shape (d, h) the hidden layer is "
            "X @ W1 + b1, not W1 @ x per example.",
            _sigmoid((np.tanh(X @ W1.T + b1) @ W2 + b2)[:, 0])))
    return mistakes


def _forward_shape_problem(shape: tuple[int, ...], n: int, h: int) -> str:
    if shape == ():
        return ("you returned a single number: mlp_forward returns one probability per row "
                "of X (do not average or sum over the batch).")
    if shape == (1, n):
        return "you returned a row (1, n): return shape (n,) (or the column (n, 1))."
    if shape == (n, h):
        return "you returned the hidden activations (n, h): apply the output layer as well."
    if len(shape) == 2 and shape[0] == n and shape[1] == n and n > 1:
        return ("an (n, n) result comes from broadcasting an (n, 1) column against an (n,) "
                "vector, e.g. adding a b2 or W2 of the wrong shape.")
    return "return one probability per row of X."


def check_mlp_forward(mlp_forward: Callable, *, seed: int = 0, trials: int = 14) -> None:
    r"""``mlp_forward(params, X)`` equals :math:`\sigma(\tanh(X W_1 + b_1) W_2 + b_2)` (JAX).

    Shape (n,) is the convention; an (n, 1) column is accepted.
    """
    count = 0
    for params, X, _y in _problems(seed, trials):
        inputs = _inputs(params, X)
        saved_params, saved = _copies(params, X)
        result = call(mlp_forward, params, X, name="mlp_forward", inputs=inputs)
        _expect_unchanged("mlp_forward", params, saved_params, {"X": X}, saved)
        n, h = X.shape[0], params[0][0].shape[1]
        got = as_float_array(result.value, what="mlp_forward(params, X)")
        if got.shape == (n, 1):
            got = got[:, 0]
        if got.shape != (n,):
            raise CheckFailed(
                f"mlp_forward(params, X) returned shape {got.shape} for X of shape {X.shape} "
                f"and h = {h} hidden units; expected ({n},) (one probability per row; ({n}, 1) "
                f"is accepted too).\n  likely mistake: {_forward_shape_problem(got.shape, n, h)}"
                f"\n  {SHAPE_CONVENTION}"
            )
        expected = _oracle_probabilities(params, X)
        expect_close(got, expected, what="mlp_forward(params, X)", inputs=inputs,
                     tolerance=_EXACT, mistakes=_forward_mistakes(params, X))
        count += 1
    passed("mlp_forward", f"{count} networks (hidden sizes 1-8, the XOR net included) agree "
                          "with the JAX forward pass")


# -------------------------------------------------------------------------- mlp_backward

_GRAD_NAMES = ("dW1 = grads[0][0]", "db1 = grads[0][1]", "dW2 = grads[1][0]",
               "db2 = grads[1][1]")
_PARAM_NAMES = ("W1", "b1", "W2", "b2")


def _backward_variants(params, X, y) -> dict[str, list[np.ndarray]]:
    """What common wrong backward passes return, as ``[dW1, db1, dW2, db2]`` (numpy models)."""
    (W1, b1), (W2, b2) = params
    n = X.shape[0]
    z1 = X @ W1 + b1
    a1 = np.tanh(z1)
    p = _sigmoid(a1 @ W2 + b2)
    col = y[:, None]

    def from_delta2(delta2, *, tanh_prime=None, hidden=a1):
        tanh_prime = 1.0 - a1**2 if tanh_prime is None else tanh_prime
        delta1 = (delta2 @ W2.T) * tanh_prime
        return [X.T @ delta1, delta1.sum(axis=0), hidden.T @ delta2, delta2.sum(axis=0)]

    right = from_delta2((p - col) / n)
    return {
        "right": right,
        "no tanh'": from_delta2((p - col) / n, tanh_prime=np.ones_like(a1)),
        "tanh' of z": from_delta2((p - col) / n, tanh_prime=1.0 - z1**2),
        "sum": [g * n for g in right],
        "mean twice": [g / n for g in right],
        "sign": [-g for g in right],
        "sigmoid'": from_delta2((p - col) * p * (1.0 - p) / n),
        "mse": from_delta2(2.0 * (p - col) * p * (1.0 - p) / n),
        "z1 in dW2": from_delta2((p - col) / n, hidden=z1),
        "reversed": [right[2], right[3], right[0], right[1]],
        "(1 - a1)**2": from_delta2((p - col) / n, tanh_prime=(1.0 - a1) ** 2),
        "tanh twice": from_delta2((p - col) / n, tanh_prime=1.0 - np.tanh(a1) ** 2),
    }


_EXPLAIN = {
    "no tanh'": "the hidden layer's delta is missing the tanh' factor: "
                "delta1 = (delta2 @ W2.T) * (1 - a1**2), with a1 = tanh(z1).",
    "tanh' of z": "tanh'(z1) = 1 - tanh(z1)**2 = 1 - a1**2: square the activation a1, not the "
                  "pre-activation z1.",
    "sum": "you summed over the examples: the loss is the MEAN cross-entropy, so divide by n "
           "(once: delta2 = (p - y) / n).",
    "mean twice": "you divided by n twice (e.g. delta2 = (p - y) / n and then a mean over the "
                  "batch): divide once, then SUM over the batch.",
    "sign": "the sign is flipped: return the gradient of the loss (uphill); the optimiser "
            "subtracts it.",
    "sigmoid'": "you multiplied by sigmoid'(z2) = p (1 - p) on top of the cross-entropy: for "
                "sigmoid + BCE the two cancel and dL/dz2 = (p - y) / n exactly.",
    "mse": "this is the gradient of the squared error (p - y)**2; the loss here is the binary "
           "cross-entropy, for which dL/dz2 = (p - y) / n.",
    "z1 in dW2": "dW2 uses the hidden activations: dW2 = a1.T @ delta2 with a1 = tanh(z1), not "
                 "the pre-activations z1.",
    "reversed": "the layers are in reverse order (backprop computes the output layer first, but "
                "return [(dW1, db1), (dW2, db2)], the order of params).",
    "(1 - a1)**2": "tanh'(z1) is 1 - a1**2 (square a1, then subtract from 1), not (1 - a1)**2.",
    "tanh twice": "tanh'(z1) = 1 - a1**2 where a1 is already tanh(z1): you applied tanh twice "
                  "(1 - tanh(a1)**2).",
}


def _backward_mistakes(index: int, variants: dict[str, list[np.ndarray]], expected: np.ndarray
                       ) -> list[Mistake]:
    mistakes = [Mistake(_EXPLAIN[key], value[index], _EXACT)
                for key, value in variants.items() if key != "right"]
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1]:
        mistakes.append(Mistake(
            f"your {_PARAM_NAMES[index]} gradient is transposed: d{_PARAM_NAMES[index]} has the "
            f"shape of {_PARAM_NAMES[index]}, e.g. dW1 = X.T @ delta1 (d, h) and "
            "dW2 = a1.T @ delta2 (h, 1).", expected.T, _EXACT))
    return mistakes


def _gradient_shape_problem(index: int, got: tuple, params_shapes: list[tuple], n: int) -> str:
    want = params_shapes[index]
    name = _PARAM_NAMES[index]
    if len(want) == 2 and got == want[::-1]:
        return (f"d{name} is transposed: it must have the shape of {name}, {want} "
                f"(dW1 = X.T @ delta1, dW2 = a1.T @ delta2).")
    if len(want) == 1 and got in {(n, want[0]), (1, want[0])}:
        return (f"d{name} was not summed over the batch: the bias is shared by all n examples, "
                f"so d{name} = delta.sum(axis=0), shape {want} (no keepdims).")
    if len(want) == 1 and got == ():
        return (f"d{name} is a scalar; keep the shape of {name}, {want}: "
                "use delta.sum(axis=0) rather than delta.sum().")
    if len(want) == 1 and got == (n,):
        return (f"d{name} was summed over the wrong axis: sum over the batch (axis 0), keeping "
                f"one entry per unit, shape {want}.")
    if index == 2 and len(got) == 2 and got[1] == n and n > 1:
        return ("p - y has shape (n, n): p is a column (n, 1) and y a vector (n,), and numpy "
                "broadcasts them against each other. Use y[:, None] (or p[:, 0]) first.")
    return f"each gradient has the shape of its parameter: d{name} has shape {want}."


def _structure(grads: Any) -> list[Any]:
    """Flatten ``[(dW1, db1), (dW2, db2)]`` or explain what is wrong with its structure."""
    shape_hint = ("mlp_backward returns the same structure as params: "
                  "[(dW1, db1), (dW2, db2)], a list of two (weight gradient, bias gradient) pairs.")
    expect_true(isinstance(grads, list | tuple) and len(grads) == 2,
                f"mlp_backward returned {type(grads).__name__} {fmt(grads)}. {shape_hint}")
    for layer, pair in enumerate(grads, start=1):
        expect_true(isinstance(pair, list | tuple) and len(pair) == 2,
                    f"layer {layer} of the result is {type(pair).__name__} {fmt(pair)}, not a "
                    f"pair (dW{layer}, db{layer}). {shape_hint}")
    return [g for pair in grads for g in pair]


def _numpy_only(mlp_backward: Callable) -> Callable:
    """Wrap the student's function so that JAX arrays in its answer fail the check.

    The test runs inside :func:`call` (answers are recorded as plain arrays, which no
    longer tell numpy from JAX), so a failure raised here is recorded and replayed too.
    """

    def numpy_only(*args):
        grads = mlp_backward(*args)
        if isinstance(grads, list | tuple) and any(
            _is_jax_array(g) for pair in grads if isinstance(pair, list | tuple) for g in pair
        ):
            raise CheckFailed(
                "mlp_backward returned JAX arrays: this exercise is backpropagation written by "
                "hand in numpy (jax.grad is the checker's oracle and appears in the lesson's "
                "demo). Compute the gradients with numpy operations."
            )
        return grads

    return numpy_only


def _shape_check(flat: list[np.ndarray], params, n: int) -> None:
    shapes = [array.shape for layer in params for array in layer]  # W1, b1, W2, b2
    got_shapes = [g.shape for g in flat]
    if got_shapes == shapes:
        return
    listing = ", ".join(f"d{name} {shape}" for name, shape in zip(_PARAM_NAMES, got_shapes,
                                                                    strict=True))
    wanted = ", ".join(f"{name} {shape}" for name, shape in zip(_PARAM_NAMES, shapes,
                                                                  strict=True))
    if got_shapes == [shapes[1], shapes[0], shapes[3], shapes[2]]:
        diagnosis = ("each pair is (db, dW): return (dW, db), weight gradient first, as in "
                     "params = [(W1, b1), (W2, b2)].")
    elif got_shapes == [shapes[2], shapes[3], shapes[0], shapes[1]]:
        diagnosis = _EXPLAIN["reversed"]
    else:
        index = next(i for i, (g, s) in enumerate(zip(got_shapes, shapes, strict=True))
                     if g != s)
        diagnosis = _gradient_shape_problem(index, got_shapes[index], shapes, n)
    raise CheckFailed(
        f"mlp_backward returned gradients of shapes {listing}, but the parameters have shapes "
        f"{wanted} (n = {n} examples).\n  likely mistake: {diagnosis}\n  {SHAPE_CONVENTION}"
    )


def _value_error_hint(message: str, n: int) -> str:
    """Name the (n, 1) - (n,) broadcast when numpy's complaint shows an (n, n) array."""
    square = re.search(rf"\(\s*{n}\s*,\s*{n}\s*\)|size 1 is different from {n}\)", message)
    if n > 1 and square:
        return (f"likely mistake: an (n, n) = ({n}, {n}) array appeared. Subtracting y of "
                f"shape (n,) from the column p of shape (n, 1) broadcasts `p - y` to an (n, n) "
                "matrix without complaint; the error surfaces later. Make them the same shape "
                f"first: `y[:, None]` or `y.reshape(-1, 1)`. {SHAPE_CONVENTION}")
    return (f"hint: a shape does not fit. {SHAPE_CONVENTION} Mixing a column (n, 1) with a "
            "vector (n,) is the usual culprit.")


def check_mlp_backward(mlp_backward: Callable, *, seed: int = 0, trials: int = 14) -> None:
    r"""``mlp_backward(params, X, y)`` equals ``jax.grad`` of the mean binary cross-entropy.

    Expected: ``[(dW1, db1), (dW2, db2)]`` with the shapes of the parameters, where
    :math:`\delta_2 = (p - y)/n`, :math:`dW_2 = a_1^\top\delta_2`, :math:`db_2 = \sum_i\delta_2`,
    :math:`\delta_1 = \delta_2 W_2^\top \odot (1 - a_1^2)`, :math:`dW_1 = X^\top\delta_1`,
    :math:`db_1 = \sum_i \delta_1`.
    """
    count = 0
    for params, X, y in _problems(seed, trials):
        inputs = _inputs(params, X, y)
        saved_params, saved = _copies(params, X, y)
        try:
            result = call(_numpy_only(mlp_backward), params, X, y, name="mlp_backward",
                          inputs=inputs)
        except CheckFailed as failure:
            if "raised ValueError" in str(failure):
                raise CheckFailed(f"{failure}\n  {_value_error_hint(str(failure), X.shape[0])}"
                                  ) from None
            raise
        _expect_unchanged("mlp_backward", params, saved_params, {"X": X, "y": y}, saved)
        flat = [as_float_array(g, what=f"mlp_backward's {name}")
                for g, name in zip(_structure(result.value), _GRAD_NAMES, strict=True)]
        _shape_check(flat, params, X.shape[0])
        expected = _oracle_gradients(params, X, y)
        variants = _backward_variants(params, X, y)
        for index, (got, want) in enumerate(zip(flat, expected, strict=True)):
            expect_close(
                got, want, what=f"mlp_backward's {_GRAD_NAMES[index]} (dL/d{_PARAM_NAMES[index]})",
                inputs=inputs, tolerance=_EXACT,
                mistakes=_backward_mistakes(index, variants, want),
            )
        count += 1
    passed("mlp_backward", f"{count} networks (hidden sizes 1-8) agree with jax.grad of the "
                           "mean binary cross-entropy")


# ----------------------------------------------------------------------------- train_xor


def _xor_params(params: Any, seed: int) -> list[np.ndarray]:
    """Validate ``[(W1, b1), (W2, b2)]`` for XOR (d = 2) and return ``[W1, b1, W2, b2]``."""
    where = f"train_xor({seed})"
    expect_true(
        isinstance(params, list | tuple) and len(params) == 2
        and all(isinstance(p, list | tuple) and len(p) == 2 for p in params),
        f"{where} returned {type(params).__name__} {fmt(params)}; return the trained "
        f"parameters [(W1, b1), (W2, b2)]. {SHAPE_CONVENTION}",
    )
    flat = [as_float_array(a, what=f"{where}'s {name}")
            for a, name in zip((a for p in params for a in p), _PARAM_NAMES, strict=True)]
    W1 = flat[0]
    expect_true(W1.ndim == 2 and W1.shape[0] == 2 and W1.shape[1] >= 1,
                f"{where} returned W1 of shape {W1.shape}; XOR has d = 2 inputs, so W1 has "
                f"shape (2, h). {SHAPE_CONVENTION}")
    h = W1.shape[1]
    for array, name, shape in zip(flat[1:], _PARAM_NAMES[1:], [(h,), (h, 1), (1,)],
                                  strict=True):
        expect_true(array.shape == shape,
                    f"{where} returned {name} of shape {array.shape}; with W1 of shape "
                    f"{W1.shape} it must have shape {shape}. {SHAPE_CONVENTION}")
    expect_true(all(np.all(np.isfinite(a)) for a in flat),
                f"{where} returned parameters containing nan or inf: the training diverged "
                "(try a smaller learning rate).")
    return flat


def check_train_xor(train_xor: Callable, *, seeds: Sequence[int] = (0,)) -> None:
    """``train_xor(seed)`` returns params whose forward pass (JAX oracle) classifies XOR.

    For each seed: the structure and shapes follow the convention with d = 2; the four XOR
    points get :math:`p > 0.5` exactly where the label is 1; a second call with the same seed
    returns identical parameters. With several seeds, different seeds must start (and so
    end) differently.
    """
    trained: dict[int, list[np.ndarray]] = {}
    for seed in seeds:
        first = _xor_params(call(train_xor, seed, name="train_xor", inputs={"seed": seed}).value,
                            seed)
        again = _xor_params(call(train_xor, seed, name="train_xor", inputs={"seed": seed}).value,
                            seed)
        expect_true(
            all(np.array_equal(a, b) for a, b in zip(first, again, strict=True)),
            f"train_xor({seed}) returned different parameters on two calls: make it "
            "deterministic for a seed (rng = np.random.default_rng(seed), no global "
            "np.random state).",
        )
        W1, b1, W2, b2 = first
        p = _oracle_probabilities([(W1, b1), (W2, b2)], XOR_X)
        wrong = [i for i in range(4) if (p[i] > 0.5) != bool(XOR_Y[i])]
        if wrong:
            rows = "\n".join(
                f"    x = {XOR_X[i].astype(int).tolist()}  label {int(XOR_Y[i])}  "
                f"p = {p[i]:.4f}{'   <- wrong' if i in wrong else ''}" for i in range(4)
            )
            raise CheckFailed(
                f"train_xor({seed}) returned a network that misclassifies {len(wrong)} of the "
                f"4 XOR points (class 1 means p > 0.5):\n{rows}\n  likely mistake: too few "
                "steps or too small a learning rate, a gradient with the wrong sign, or "
                "parameters that are not updated (Adam returns new arrays: keep them). "
                "Start from random weights: all-equal weights give identical hidden units "
                "that never separate."
            )
        trained[seed] = first
    if len(trained) > 1:
        items = list(trained.items())
        for (s1, a), (s2, b) in itertools.pairwise(items):
            expect_true(
                not all(np.array_equal(x, z) for x, z in zip(a, b, strict=True)),
                f"train_xor({s1}) and train_xor({s2}) returned identical parameters: the seed "
                "must choose the random starting weights (rng = np.random.default_rng(seed)).",
            )
    passed("train_xor", f"seed{'s' if len(trained) > 1 else ''} "
                        f"{', '.join(map(str, trained))}: all four XOR points classified "
                        "correctly, same parameters on a repeated call")
