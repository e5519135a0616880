"""Checkers for lesson 07-stochastic: mini-batches, SGD and learning-rate schedules.

Oracles, none of them the reference solution's code:

* ``minibatch_indices`` -- numpy's own ``np.random.default_rng(seed).permutation(n)`` cut
  into consecutive slices; the generator's state after the call must match too;
* ``sgd`` -- the same batches drawn from a fresh generator with the same seed, stepped
  with ``optax.sgd(lr)``; the ``grad_fn`` handed to the student records every call, so
  the batches and the parameters it saw can be compared step by step;
* ``step_decay`` -- ``optax.exponential_decay(lr0, every, factor, staircase=True)``;
* ``triangular_lr`` -- ``np.interp`` over one period ``[0, s, 2s] -> [base, max, base]``;
* ``ReduceOnPlateau`` -- literal, hand-computed learning-rate sequences, and an
  independent step-by-step transcription of PyTorch's documented algorithm
  (``torch.optim.lr_scheduler.ReduceLROnPlateau`` with ``mode="min"``,
  ``threshold_mode="rel"``, ``cooldown=0``, ``min_lr=0``) for random loss sequences.

Grading replays recorded answers (:mod:`course.recording`), so student code runs only
inside ``call``; what the recording ``grad_fn`` saw, whether a schedule is callable and
the student class's attributes are read through ``call`` too, so that a replay reaches
the same verdict as the live check (``tests/test_checks_stochastic.py`` checks this).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from course.checking import (
    CheckFailed,
    Mistake,
    Tolerance,
    as_float_array,
    call,
    expect_close,
    expect_true,
    expect_unchanged,
    fmt,
    passed,
)
from course.data import linear_regression_sample

__all__ = [
    "check_minibatch_indices",
    "check_reduce_on_plateau",
    "check_sgd",
    "check_step_decay",
    "check_triangular_lr",
]


class _Shown:
    """An input that failure messages show by a short description instead of its value."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _unchanged(before: np.ndarray, after: np.ndarray, *, name: str, arg: str) -> None:
    expect_unchanged(before, after, name=name, arg=arg, advice=(
        f"`{arg} = {arg} - ...` makes a new array, `{arg} -= ...` does not"))


# ----------------------------------------------------------------- minibatch_indices


def _numpy_batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Oracle: one call of numpy's ``Generator.permutation``, cut into consecutive slices."""
    perm = rng.permutation(n)
    return [perm[start:start + batch_size] for start in range(0, n, batch_size)]


def _same_batches(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _fmt_batches(batches: Sequence[np.ndarray], limit: int = 6) -> str:
    shown = ", ".join(
        np.array2string(np.asarray(b), separator=" ", threshold=10, edgeitems=3)
        for b in batches[:limit]
    )
    more = f", ... ({len(batches)} batches)" if len(batches) > limit else ""
    return f"[{shown}{more}]"


def _as_batches(value, *, what: str) -> list[np.ndarray]:
    if not isinstance(value, list | tuple):
        raise CheckFailed(
            f"{what} returned a {type(value).__name__}; return a list with one array of "
            "indices per batch."
        )
    batches = []
    for k, batch in enumerate(value):
        array = np.asarray(batch)
        # Grading records integer arrays as float64, so integer *values* are what is checked.
        integral = array.dtype.kind in "iu" or (
            array.dtype.kind == "f" and bool(np.all(np.isfinite(array)))
            and bool(np.all(array == np.round(array))))
        if array.ndim != 1 or (array.size and not integral):
            raise CheckFailed(
                f"{what}: batch {k} is {fmt(batch)} ({array.ndim}-D); each batch must be a 1-D "
                "array of integer indices (a slice of rng.permutation(n))."
            )
        batches.append(array.astype(np.int64))
    return batches


def _batch_mistakes(perm: np.ndarray, batch_size: int) -> Iterator[tuple[str, list[np.ndarray]]]:
    """Recognisable wrong ways of cutting the right permutation, as (explanation, batches)."""
    n, b = len(perm), batch_size

    def cut(starts, width):
        return [perm[s:s + width] for s in starts]

    if n % b:
        yield ("the last, shorter batch is missing: when n is not a multiple of batch_size the "
               "remaining n % batch_size examples form one more batch (loop over "
               "range(0, n, batch_size)).", cut(range(0, n - b + 1, b), b))
    yield ("the loop stops one batch early: range(0, n - batch_size, batch_size) skips the last "
           "batch; use range(0, n, batch_size).", cut(range(0, n - b, b), b))
    yield ("consecutive batches overlap by one index: perm[i:i + batch_size + 1] is one too long "
           "(a slice already excludes its end).", cut(range(0, n, b), b + 1))
    yield ("each batch is one index short: perm[i:i + batch_size - 1] loses an example per batch "
           "(a slice already excludes its end).", cut(range(0, n, b), b - 1))
    yield ("the batches step by batch_size + 1, skipping one example between batches.",
           cut(range(0, n, b + 1), b))
    count = -(-n // b)
    yield ("np.array_split(perm, k) makes k nearly equal batches; the convention is batches of "
           "exactly batch_size, only the last one shorter.", np.array_split(perm, count))
    if n // b:
        yield ("np.array_split(perm, n // batch_size) makes nearly equal batches; the convention "
               "is batches of exactly batch_size, only the last one shorter.",
               np.array_split(perm, n // b))


def _diagnose_batches(got: list[np.ndarray], expected: list[np.ndarray], *, batch_size: int,
                      rng_untouched: bool) -> str | None:
    perm = np.concatenate(expected)
    n = len(perm)
    flat = np.concatenate(got) if got else np.zeros(0, dtype=np.int64)
    if rng_untouched:
        return ("the generator `rng` you were given was not used (its state did not change): "
                "draw the permutation from it with rng.permutation(n), not from np.random or "
                "from a new default_rng.")
    for explanation, candidate in _batch_mistakes(perm, batch_size):
        if _same_batches(got, candidate):
            return explanation
    if flat.size == n and np.array_equal(np.sort(flat), np.arange(n)):
        if n > 1 and np.array_equal(flat, np.arange(n)):
            return ("the indices are not shuffled: an epoch visits the examples in the random "
                    "order rng.permutation(n).")
        if not np.array_equal(flat, perm):
            return ("the indices are shuffled, but not by rng.permutation(n) (rng.choice(n, n, "
                    "replace=False) or np.argsort(rng.random(n)) give other orders): call "
                    "rng.permutation(n) exactly once.")
        return ("the order is right but the batches are cut differently: consecutive slices "
                "perm[i:i + batch_size] for i in range(0, n, batch_size).")
    if len(np.unique(flat)) < flat.size:
        return ("some indices appear more than once (so others never): that is sampling with "
                "replacement (rng.integers or rng.choice(n, size)). An epoch samples without "
                "replacement: every example exactly once, in the order of rng.permutation(n).")
    if flat.size < n:
        return ("some examples are missing: together the batches must contain every index "
                "0, ..., n-1 exactly once.")
    return None


def _minibatch_cases(seed: int, trials: int) -> list[tuple[int, int, int]]:
    cases = [(10, 3, 0), (10, 5, 1), (10, 10, 2), (10, 1, 3), (7, 20, 4), (1, 1, 5),
             (2, 1, 6), (200, 32, 7), (12, 4, 42), (50, 8, 2024)]
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        n = int(rng.integers(1, 120))
        cases.append((n, int(rng.integers(1, n + 6)), int(rng.integers(0, 2**31))))
    return cases


def check_minibatch_indices(minibatch_indices: Callable, *, seed: int = 0,
                            trials: int = 20) -> None:
    """``minibatch_indices(n, b, rng)`` equals ``rng.permutation(n)`` cut into slices of ``b``.

    The oracle is numpy itself: a fresh ``np.random.default_rng(s)`` gives the permutation,
    and the student's generator must end in the same state (one call of ``permutation``).
    """
    cases = _minibatch_cases(seed, trials)
    for n, batch_size, rng_seed in cases:
        rng = np.random.default_rng(rng_seed)
        fresh_state = rng.bit_generator.state
        oracle_rng = np.random.default_rng(rng_seed)
        expected = _numpy_batches(n, batch_size, oracle_rng)
        inputs = {"n": n, "batch_size": batch_size,
                  "rng": _Shown(f"np.random.default_rng({rng_seed})")}
        what = "minibatch_indices(n, batch_size, rng)"
        value = call(minibatch_indices, n, batch_size, rng, name="minibatch_indices",
                     inputs=inputs).value
        got = _as_batches(value, what=what)
        state = rng.bit_generator.state
        where = ", ".join(f"{k}={v!r}" for k, v in inputs.items())
        if not _same_batches(got, expected):
            untouched = state == fresh_state and oracle_rng.bit_generator.state != fresh_state
            diagnosis = _diagnose_batches(got, expected, batch_size=batch_size,
                                          rng_untouched=untouched)
            message = (
                f"{what} is wrong.\n  input:    {where}\n"
                f"  expected: {_fmt_batches(expected)}  (sizes {[len(b) for b in expected][:8]})\n"
                f"  got:      {_fmt_batches(got)}  (sizes {[len(b) for b in got][:8]})"
            )
            if diagnosis:
                message += f"\n  likely mistake: {diagnosis}"
            raise CheckFailed(message)
        expect_true(
            state != fresh_state or oracle_rng.bit_generator.state == fresh_state,
            f"{what}: the generator `rng` you were given was not used (its state did not "
            f"change) for {where}; your batches match only because your own generator happens "
            "to be seeded the same. Draw the permutation from `rng`: rng.permutation(n).",
        )
        expect_true(
            state == oracle_rng.bit_generator.state,
            f"{what}: the batches are right for {where}, but `rng` was advanced differently "
            "from exactly one call of rng.permutation(n). Draw nothing else from it (no second "
            "permutation, no rng.random or rng.integers): sgd relies on the generator's state "
            "to produce the next epoch's shuffle.",
        )
    passed("minibatch_indices",
           f"{len(cases)} cases agree with slices of np.random.default_rng(seed).permutation(n), "
           "generator state included")


# ------------------------------------------------------------------------------- sgd


def _mse_grad(w: np.ndarray, Xb: np.ndarray, yb: np.ndarray) -> np.ndarray:
    r"""Gradient of the batch's mean squared error :math:`\frac1m \|X_b w - y_b\|^2`."""
    return 2.0 * Xb.T @ (Xb @ w - yb) / len(yb)


def _sse_grad(w: np.ndarray, Xb: np.ndarray, yb: np.ndarray) -> np.ndarray:
    r"""Gradient of the batch's *sum* of squared errors :math:`\|X_b w - y_b\|^2`."""
    return 2.0 * Xb.T @ (Xb @ w - yb)


def _logistic_grad(w: np.ndarray, Xb: np.ndarray, yb: np.ndarray) -> np.ndarray:
    r"""Gradient of the batch's mean logistic loss: :math:`\frac1m X_b^T(\sigma(X_b w) - y_b)`."""
    p = 0.5 * (1.0 + np.tanh(0.5 * (Xb @ w)))
    return Xb.T @ (p - yb) / len(yb)


_GRADS = {
    "mse": (_mse_grad, "grad of the batch's mean squared error"),
    "sse": (_sse_grad, "grad of the batch's SUM of squared errors"),
    "logistic": (_logistic_grad, "grad of the batch's mean logistic loss"),
}


@dataclass
class _SgdCase:
    grad: str
    params: np.ndarray
    X: np.ndarray
    y: np.ndarray
    lr: float
    batch_size: int
    epochs: int
    seed: int


class _RecordingGrad:
    """The ``grad_fn`` handed to the student: computes the gradient and records each call.

    The indices of a batch are recovered from its rows (every row of ``X`` is distinct),
    so the checker sees which mini-batch every step used and which params it started from.
    """

    def __init__(self, kind: str, X: np.ndarray, y: np.ndarray, max_calls: int) -> None:
        self.grad, self.label = _GRADS[kind]
        self.X, self.y = X.copy(), y.copy()
        self.row_of = {row.tobytes(): i for i, row in enumerate(self.X)}
        self.max_calls = max_calls
        self.batches: list[np.ndarray] = []
        self.params: list[np.ndarray] = []

    def report(self) -> dict[str, list[np.ndarray]]:
        """What sgd passed to grad_fn: the batches' indices and the params, call by call."""
        return {"batches": list(self.batches), "params": list(self.params)}

    def __call__(self, params, Xb, yb) -> np.ndarray:
        Xb = np.asarray(Xb)
        yb = np.asarray(yb)
        d = self.X.shape[1]
        if Xb.ndim != 2 or Xb.shape[1] != d:
            raise CheckFailed(
                f"grad_fn received X of shape {Xb.shape}; expected a 2-D batch of shape "
                f"(batch, {d}). Index with the whole array of indices: X[idx], y[idx]."
            )
        if yb.shape != (Xb.shape[0],):
            raise CheckFailed(
                f"grad_fn received X of shape {Xb.shape} but y of shape {yb.shape}; pass "
                "X[idx] and y[idx] with the same idx."
            )
        if len(self.batches) >= self.max_calls:
            raise CheckFailed(
                f"sgd called grad_fn more than {self.max_calls} times; one epoch makes "
                "ceil(n / batch_size) steps, so expected epochs * ceil(n / batch_size) calls."
            )
        rows = np.ascontiguousarray(Xb, dtype=np.float64)
        idx = np.array([self.row_of.get(row.tobytes(), -1) for row in rows], dtype=np.int64)
        if np.any(idx < 0):
            raise CheckFailed(
                "grad_fn received rows that are not rows of X (were they modified or converted?); "
                "pass X[idx] exactly."
            )
        if not np.array_equal(np.asarray(yb, dtype=np.float64), self.y[idx]):
            raise CheckFailed(
                "grad_fn received y values that do not belong to the rows of X it received: "
                "index X and y with the same idx, X[idx] and y[idx]."
            )
        p = np.array(params, dtype=np.float64)
        if p.shape != (d,):
            raise CheckFailed(
                f"grad_fn received params of shape {p.shape}; expected shape ({d},) like the "
                "params passed to sgd."
            )
        self.batches.append(idx)
        self.params.append(p.copy())
        return self.grad(p, rows, np.asarray(yb, dtype=np.float64))


def _epoch_batches(n: int, batch_size: int, epochs: int, seed: int) -> list[list[np.ndarray]]:
    """The contract's batches: one generator from ``seed``, one permutation per epoch."""
    rng = np.random.default_rng(seed)
    return [_numpy_batches(n, batch_size, rng) for _ in range(epochs)]


def _optax_sgd(case: _SgdCase, batches: Sequence[np.ndarray], *, lr: float | None = None,
               scale: Callable[[int], float] | None = None) -> list[np.ndarray]:
    """Trajectory ``[params0, params1, ...]`` of ``optax.sgd(lr)`` over ``batches``."""
    import optax

    from course.oracle import jnp  # switches on float64 before any array is made

    grad = _GRADS[case.grad][0]
    opt = optax.sgd(case.lr if lr is None else lr)
    params = jnp.asarray(case.params, dtype=jnp.float64)
    state = opt.init(params)
    trajectory = [np.asarray(params)]
    for idx in batches:
        g = grad(np.asarray(params), case.X[idx], case.y[idx])
        if scale is not None:
            g = g * scale(len(idx))
        updates, state = opt.update(jnp.asarray(g), state, params)
        params = optax.apply_updates(params, updates)
        trajectory.append(np.asarray(params, dtype=np.float64))
    return trajectory


def _sgd_cases(seed: int, trials: int) -> list[_SgdCase]:
    X, y = linear_regression_sample(50, seed=0)
    rng = np.random.default_rng(seed)
    Xl = np.column_stack([np.ones(30), rng.normal(size=(30, 2))])
    yl = (rng.random(30) < 0.5).astype(np.float64)
    cases = [
        _SgdCase("mse", np.zeros(2), X, y, 0.1, 8, 3, 0),
        _SgdCase("mse", np.array([3.0, -2.0]), X, y, 0.05, 1, 2, 1),
        _SgdCase("mse", np.zeros(2), X, y, 0.2, 50, 4, 2),
        _SgdCase("sse", np.zeros(2), X, y, 0.01, 10, 2, 3),
        _SgdCase("logistic", np.array([0.5, -1.0, 2.0]), Xl, yl, 0.5, 7, 3, 4),
        _SgdCase("mse", np.ones(2), X, y, 0.1, 64, 2, 5),
        _SgdCase("mse", np.zeros(2), X, y, 0.1, 16, 1, 2024),
    ]
    for _ in range(trials):
        n = int(rng.integers(3, 41))
        d = int(rng.integers(1, 4))
        kind = str(rng.choice(list(_GRADS)))
        Xr = rng.normal(size=(n, d))
        yr = (rng.random(n) < 0.5).astype(float) if kind == "logistic" else rng.normal(size=n)
        lr = float(rng.uniform(0.01, 0.2)) / (n if kind == "sse" else 1)
        cases.append(_SgdCase(kind, rng.normal(size=d), Xr, yr, lr,
                              int(rng.integers(1, n + 3)), int(rng.integers(1, 5)),
                              int(rng.integers(0, 2**31))))
    return cases


def _sgd_batch_diagnosis(got: list[np.ndarray], case: _SgdCase,
                         expected: list[list[np.ndarray]]) -> str:
    n = len(case.y)
    per_epoch = len(expected[0])
    k = len(got)
    if k and k != per_epoch * case.epochs and k % per_epoch == 0:
        ran = k // per_epoch
        reference = [b for epoch in _epoch_batches(n, case.batch_size, ran, case.seed)
                     for b in epoch]
        if _same_batches(got, reference):
            return (f"you ran {ran} epoch(s) instead of {case.epochs}: loop "
                    "`for epoch in range(epochs)`.")
    if case.epochs > 1 and k == per_epoch * case.epochs and _same_batches(
            got, expected[0] * case.epochs):
        return ("every epoch reused the first epoch's shuffle: either the batches were drawn "
                "once, before the epoch loop, or a new default_rng(seed) was created inside it. "
                "Create rng once, then call minibatch_indices(n, batch_size, rng) at the start "
                "of every epoch.")
    if k == case.epochs and all(len(b) == n for b in got):
        return ("each step used the whole data set (full-batch gradient descent): each step "
                "takes one mini-batch, grad_fn(params, X[idx], y[idx]).")
    flat = np.concatenate(got) if got else np.zeros(0, dtype=np.int64)
    if n > 1 and k and np.array_equal(flat, np.tile(np.arange(n), len(flat) // n + 1)[:len(flat)]):
        return ("the examples were visited in their original order: shuffle every epoch with "
                "minibatch_indices(n, batch_size, rng).")
    if case.epochs > 1 and k > per_epoch and _same_batches(got[:per_epoch], expected[0]):
        return ("the first epoch's batches are right but later epochs' are not: keep using the "
                "same generator for every epoch and draw nothing else from it.")
    return ("the mini-batches differ from those of rng = np.random.default_rng(seed) followed "
            "by minibatch_indices(n, batch_size, rng) once per epoch. Make sure "
            "minibatch_indices passes its own check, and that sgd creates rng from seed once.")


def _step_label(step: int, per_epoch: int) -> str:
    return f"step {step} (epoch {step // per_epoch}, batch {step % per_epoch})"


#: SGD trajectories are sums of round-off-sized differences; nothing else separates them.
_SGD = Tolerance(rtol=1e-9, atol=1e-11)


def _check_sgd_case(sgd: Callable, case: _SgdCase) -> None:
    n = len(case.y)
    expected_epochs = _epoch_batches(n, case.batch_size, case.epochs, case.seed)
    flat = [b for epoch in expected_epochs for b in epoch]
    per_epoch = len(expected_epochs[0])
    recorder = _RecordingGrad(case.grad, case.X, case.y, max_calls=10 * len(flat) + 10)
    params, X, y = case.params.copy(), case.X.copy(), case.y.copy()
    inputs = {"grad_fn": recorder, "params": params,
              "X": _Shown(f"<array of shape {X.shape}>"),
              "y": _Shown(f"<array of shape {y.shape}>"),
              "lr": case.lr, "batch_size": case.batch_size, "epochs": case.epochs,
              "seed": case.seed}
    result = call(sgd, recorder, params, X, y, case.lr, case.batch_size, case.epochs, case.seed,
                  name="sgd", inputs=inputs)
    # Read through call() so that grading, which replays answers, sees what sgd did.
    seen = call(recorder.report, name="grad_fn calls made by sgd").value
    _unchanged(case.params, params, name="sgd", arg="params")
    _unchanged(case.X, X, name="sgd", arg="X")
    _unchanged(case.y, y, name="sgd", arg="y")
    got = [np.asarray(b).astype(np.int64) for b in seen["batches"]]
    seen_params = [np.asarray(p, dtype=np.float64) for p in seen["params"]]
    where = ", ".join(f"{k}={fmt(v)}" for k, v in inputs.items())
    if not _same_batches(got, flat):
        first = next((i for i in range(min(len(got), len(flat)))
                      if not np.array_equal(got[i], flat[i])), min(len(got), len(flat)))
        detail = (f"  first difference at {_step_label(first, per_epoch)}: expected "
                  f"{_fmt_batches(flat[first:first + 1]) if first < len(flat) else 'no call'}, "
                  f"got {_fmt_batches(got[first:first + 1]) if first < len(got) else 'no call'}")
        raise CheckFailed(
            f"sgd called grad_fn with the wrong mini-batches.\n  input:    {where}\n"
            f"  expected: {len(flat)} calls ({case.epochs} epoch(s) of {per_epoch}), batches "
            f"{_fmt_batches(flat, 4)}\n"
            f"  got:      {len(got)} calls, batches {_fmt_batches(got, 4)}\n{detail}\n"
            f"  likely mistake: {_sgd_batch_diagnosis(got, case, expected_epochs)}"
        )
    trajectory = _optax_sgd(case, flat)
    hint = None
    for step, before in enumerate(seen_params):
        if not _SGD.accepts(before, trajectory[step]):
            hint = (f"the params passed to grad_fn first differ from optax.sgd's at "
                    f"{_step_label(step, per_epoch)}: expected {fmt(trajectory[step])}, got "
                    f"{fmt(before)}" + (" (the initial params)." if step == 0 else
                                        "; look at the update made just before it."))
            break

    def mistakes() -> Iterator[Mistake]:
        yield Mistake("you returned the initial params: reassign params = params - lr * "
                      "grad_fn(...) inside the loop and return the result.", case.params, _SGD)
        yield Mistake("the update's sign is flipped: params + lr * grad climbs the loss.",
                      _optax_sgd(case, flat, lr=-case.lr)[-1], _SGD)
        yield Mistake("you divided grad_fn's output by the batch size: whether the batch's "
                      "gradient is a mean or a sum is grad_fn's business; step with "
                      "lr * grad_fn(params, X[idx], y[idx]) as it is.",
                      _optax_sgd(case, flat, scale=lambda m: 1.0 / m)[-1], _SGD)
        yield Mistake("you multiplied grad_fn's output by the batch size: step with "
                      "lr * grad_fn(params, X[idx], y[idx]) as it is.",
                      _optax_sgd(case, flat, scale=float)[-1], _SGD)
        yield Mistake("you returned the params from before the last update.", trajectory[-2],
                      _SGD)

    expect_close(result.value, trajectory[-1], what="sgd(...), the final params", inputs=inputs,
                 tolerance=_SGD, mistakes=mistakes(), hint=hint)


def check_sgd(sgd: Callable, *, seed: int = 0, trials: int = 8) -> None:
    """``sgd`` visits the contract's mini-batches and ends where ``optax.sgd(lr)`` ends.

    ``grad_fn`` is a recording numpy gradient (mean or sum of squared errors, logistic
    loss); the oracle draws the batches from its own ``np.random.default_rng(seed)``
    (one permutation per epoch) and applies ``optax.sgd(lr)`` updates.
    """
    cases = _sgd_cases(seed, trials)
    for case in cases:
        _check_sgd_case(sgd, case)
    passed("sgd", f"{len(cases)} runs visit the right mini-batches and agree with optax.sgd(lr)")


# ----------------------------------------------------------------------- schedules


def _call_schedule(schedule: Callable, step: int, *, name: str, inputs: dict) -> float:
    value = call(schedule, step, name=name, inputs={**inputs, "step": step}).value
    array = as_float_array(value, what=f"{name}(step={step})")
    if array.shape != ():
        raise CheckFailed(
            f"{name}(step={step}) returned {fmt(value)} of shape {array.shape}; a schedule "
            "returns one learning rate, a float."
        )
    return float(array)


def _make_schedule(factory: Callable, args: dict, *, name: str) -> Callable:
    schedule = call(factory, *args.values(), name=name, inputs=args).value
    # Through call(): in grading's replay the answer is a snapshot, so ask the kernel.
    is_function = call(callable, schedule, name=f"{name} returned a function").value
    expect_true(
        is_function is True,
        f"{name}({', '.join(f'{k}={v}' for k, v in args.items())}) returned {fmt(schedule)}; "
        "it must return a function schedule(step) -> float (define one inside and return it).",
    )
    return schedule


def _evaluate(schedules: list[Callable], steps: list[np.ndarray], *, args: list[dict],
              rng: np.random.Generator) -> list[np.ndarray]:
    """Evaluate every schedule at its steps, interleaving schedules and shuffling steps.

    A schedule must be a pure function of ``step``: neither the order of calls nor other
    schedules created in between may change its values.
    """
    values = [np.full(len(s), np.nan) for s in steps]
    order = [(i, j) for i, s in enumerate(steps) for j in range(len(s))]
    for k in rng.permutation(len(order)):
        i, j = order[k]
        values[i][j] = _call_schedule(schedules[i], int(steps[i][j]), name="schedule",
                                      inputs=args[i])
    for schedule, t, v, a in zip(schedules, steps, values, args, strict=True):
        for j in (0, len(t) // 2, len(t) - 1):
            again = _call_schedule(schedule, int(t[j]), name="schedule", inputs=a)
            expect_true(
                again == v[j],
                f"schedule(step={int(t[j])}) for {', '.join(f'{k}={w}' for k, w in a.items())} "
                f"returned {fmt(v[j])} the first time and {fmt(again)} when called again: a "
                "schedule must be a pure function of `step` (no counters or other state that "
                "changes between calls).",
            )
    return values


#: Learning rates are computed by exact formulas; only round-off separates them (atol ~ 0
#: so that tiny late-stage learning rates are still compared relatively).
_LR = Tolerance(rtol=1e-10, atol=1e-300)


_PAD = 256  # more than the number of steps probed per step_decay case


def _step_decay_cases(seed: int, trials: int) -> list[tuple[float, float, int]]:
    cases = [(0.1, 0.5, 10), (1.0, 0.1, 3), (0.01, 0.9, 1), (0.5, 0.5, 4), (2.0, 0.95, 7),
             (0.3, 1.0, 5)]
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        cases.append((float(10 ** rng.uniform(-3, 0)), float(rng.uniform(0.1, 0.95)),
                      int(rng.integers(1, 26))))
    return cases


def check_step_decay(step_decay: Callable, *, seed: int = 0, trials: int = 10) -> None:
    r"""``step_decay(lr0, factor, every)(step)`` equals :math:`\eta_0 f^{\lfloor t / k \rfloor}`.

    Oracle: ``optax.exponential_decay(init_value=lr0, transition_steps=every,
    decay_rate=factor, staircase=True)``. All schedules are created first and then
    called in a shuffled order, so a schedule that keeps state is caught.
    """
    import optax

    from course.oracle import jnp  # switches on float64 before any array is made

    cases = _step_decay_cases(seed, trials)
    args = [{"lr0": lr0, "factor": factor, "every": every} for lr0, factor, every in cases]
    schedules = [_make_schedule(step_decay, a, name="step_decay") for a in args]
    steps = [np.unique(np.concatenate([np.arange(0, 6 * every + 3),
                                       [10 * every - 1, 10 * every, 10 * every + 1]]))
             for _, _, every in cases]
    rng = np.random.default_rng(seed)
    values = _evaluate(schedules, steps, args=args, rng=rng)
    for (lr0, factor, every), a, t, got in zip(cases, args, steps, values, strict=True):
        oracle = optax.exponential_decay(init_value=lr0, transition_steps=every,
                                         decay_rate=factor, staircase=True)
        # Padded to one length, so JAX's eager operations are compiled once, not per case.
        padded = np.zeros(_PAD, dtype=np.int64)
        padded[:len(t)] = t
        expected = np.asarray(oracle(jnp.asarray(padded)), dtype=np.float64)[:len(t)]
        tf = t.astype(np.float64)
        expect_close(
            got, expected, what="step_decay(lr0, factor, every)(step) over steps "
            f"{fmt(t)}", inputs=a, tolerance=_LR,
            mistakes=[
                Mistake("the decay is continuous: use integer division step // every so that "
                        "the rate stays constant for `every` steps, then drops.",
                        lr0 * factor ** (tf / every), _LR),
                Mistake("off by one: the first drop must come at step == every, not one step "
                        "earlier ((step + 1) // every).", lr0 * factor ** ((t + 1) // every), _LR),
                Mistake("off by one: the schedule starts at lr0 (step 0 gives factor ** 0 = 1), "
                        "not lr0 * factor.", lr0 * factor ** (t // every + 1), _LR),
                Mistake("the drop comes one step late ((step - 1) // every).",
                        lr0 * factor ** np.maximum((t - 1) // every, 0), _LR),
                Mistake("you decayed every step (factor ** step): divide the step by `every` "
                        "first.", lr0 * factor ** tf, _LR),
                Mistake("you multiplied by factor * (step // every) instead of raising factor "
                        "to that power.", lr0 * factor * (t // every), _LR),
            ],
        )
    passed("step_decay", f"{len(cases)} schedules agree with optax.exponential_decay("
           "staircase=True), called in shuffled order")


def _triangular_cases(seed: int, trials: int) -> list[tuple[float, float, int]]:
    cases = [(0.1, 1.0, 5), (0.001, 0.006, 2000), (1e-4, 1e-2, 1), (0.01, 0.1, 4),
             (0.5, 0.5, 3), (0.2, 0.7, 2)]
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        base = float(rng.uniform(1e-4, 0.1))
        cases.append((base, base + float(rng.uniform(0.01, 1.0)), int(rng.integers(1, 60))))
    return cases


def _triangle(steps: np.ndarray, base: float, top: float, period: float) -> np.ndarray:
    """Independent oracle: linear interpolation over one period, repeated."""
    return np.interp(np.mod(steps, period), [0.0, period / 2, period], [base, top, base])


def check_triangular_lr(triangular_lr: Callable, *, seed: int = 0, trials: int = 10) -> None:
    """``triangular_lr(base, max, s)(step)`` follows Smith's (2015) triangular policy.

    Oracle: ``np.interp`` of ``step mod 2s`` over ``[0, s, 2s] -> [base, max, base]``;
    peaks, troughs and their neighbours over three cycles and far later are all probed.
    """
    cases = _triangular_cases(seed, trials)
    args = [{"base_lr": b, "max_lr": m, "step_size": s} for b, m, s in cases]
    schedules = [_make_schedule(triangular_lr, a, name="triangular_lr") for a in args]
    steps = []
    for _, _, s in cases:
        stride = max(1, s // 20)
        corners = np.array([k * s + o for k in range(7) for o in (-1, 0, 1)])
        far = np.array([1000 * s, 1001 * s, 1000 * s + s // 2 + 1])
        grid = np.concatenate([np.arange(0, 6 * s + 1, stride), corners, far])
        steps.append(np.unique(grid[grid >= 0]))
    rng = np.random.default_rng(seed)
    values = _evaluate(schedules, steps, args=args, rng=rng)
    for (base, top, s), a, t, got in zip(cases, args, steps, values, strict=True):
        expected = _triangle(t, base, top, 2 * s)
        tf = t.astype(np.float64)
        amplitude = top - base
        expect_close(
            got, expected, what=f"triangular_lr(base_lr, max_lr, step_size)(step) over steps "
            f"{fmt(t)}", inputs=a, tolerance=_LR,
            mistakes=[
                Mistake("this is a sawtooth (rise over step_size, then jump back): the triangle "
                        "rises for step_size steps and falls for the next step_size.",
                        base + amplitude * np.mod(tf, s) / s, _LR),
                Mistake("this is a sawtooth rising over the whole cycle: the triangle peaks in "
                        "the middle of the cycle, at step_size.",
                        base + amplitude * np.mod(tf, 2 * s) / (2 * s), _LR),
                Mistake("the period is twice too long: step_size is HALF a cycle (rise for "
                        "step_size, fall for step_size).", _triangle(t, base, top, 4 * s), _LR),
                Mistake("the period is twice too short: a full cycle lasts 2 * step_size.",
                        _triangle(t, base, top, s), _LR),
                Mistake("the triangle is upside down: it starts at base_lr (step 0) and peaks "
                        "at max_lr (step step_size).", base + top - expected, _LR),
                Mistake("base_lr is missing: lr = base_lr + (max_lr - base_lr) * max(0, 1 - x).",
                        expected - base, _LR),
                Mistake("the amplitude is max_lr - base_lr, not max_lr.",
                        base + top * (expected - base) / amplitude if amplitude else expected,
                        _LR),
                Mistake("the rate never leaves base_lr: cycle = floor(1 + step / (2 "
                        "step_size)) needs the 1 +.", np.full_like(expected, base), _LR),
                Mistake("the abs is missing: x = abs(step / step_size - 2 cycle + 1), so that "
                        "the rate falls again in the second half of each cycle.",
                        base + amplitude * np.maximum(
                            0.0, 1.0 - (tf / s - 2.0 * np.floor(1.0 + tf / (2 * s)) + 1.0)),
                        _LR),
            ],
        )
    passed("triangular_lr", f"{len(cases)} schedules agree with np.interp over one period "
           "[0, s, 2s] -> [base, max, base], called in shuffled order")


# ---------------------------------------------------------------- ReduceOnPlateau


@dataclass
class _Plateau:
    """One step of the trace: what the scheduler knew and decided."""

    loss: float
    best_before: float
    improved: bool
    num_bad: int  # after counting this loss, before a reduction resets it
    reduced: bool
    lr: float


@dataclass
class _Variant:
    """Switches that turn the correct trace into a recognisable mistake."""

    absolute: bool = False       # improvement iff loss < best - threshold
    at_patience: bool = False    # reduce when num_bad >= patience
    keep_count: bool = False     # num_bad not reset after a reduction
    ties_improve: bool = False   # improvement iff loss <= best * (1 - threshold)
    vs_previous: bool = False    # compare with the previous loss, not the best
    lr_before: bool = False      # return the lr from before processing the loss
    initial_best: float = np.inf  # best before the first loss
    explanation: str = ""


def _plateau_trace(lr: float, factor: float, patience: int, threshold: float,
                   losses: Sequence[float], variant: _Variant | None = None) -> list[_Plateau]:
    """PyTorch's ``ReduceLROnPlateau`` (mode min, rel threshold, no cooldown), step by step.

    Start with ``best = +inf`` and ``num_bad = 0``. For each loss:

    1. it is an improvement iff ``loss < best * (1 - threshold)``; then ``best = loss``
       and ``num_bad = 0``; otherwise ``num_bad += 1``;
    2. if ``num_bad > patience``: ``lr = lr * factor`` and ``num_bad = 0``;
    3. the step reports the (possibly reduced) ``lr``.
    """
    v = variant or _Variant()
    best, num_bad, trace = v.initial_best, 0, []
    previous = np.inf
    for loss in losses:
        reference = previous if v.vs_previous else best
        if v.absolute:
            improved = loss < reference - threshold
        elif v.ties_improve:
            improved = loss <= reference * (1 - threshold)
        else:
            improved = loss < reference * (1 - threshold)
        before, lr_before = best, lr
        if improved:
            best, num_bad = loss, 0
        else:
            num_bad += 1
        previous = loss
        counted = num_bad
        reduce = num_bad >= patience if v.at_patience else num_bad > patience
        if reduce:
            lr *= factor
            if not v.keep_count:
                num_bad = 0
        trace.append(_Plateau(loss, before, improved, counted, reduce,
                              lr_before if v.lr_before else lr))
    return trace


_PLATEAU_VARIANTS = (
    _Variant(absolute=True, explanation=(
        "you used an absolute threshold (loss < best - threshold); the relative rule is "
        "loss < best * (1 - threshold).")),
    _Variant(at_patience=True, explanation=(
        "you reduced when num_bad_epochs == patience; PyTorch waits until num_bad_epochs > "
        "patience (patience bad epochs are tolerated, the next one reduces).")),
    _Variant(keep_count=True, explanation=(
        "the bad-epoch counter is not reset after a reduction: set num_bad_epochs = 0 when you "
        "reduce the learning rate.")),
    _Variant(ties_improve=True, explanation=(
        "a loss equal to the best counted as an improvement: improvement needs loss < best * "
        "(1 - threshold), strictly.")),
    _Variant(vs_previous=True, explanation=(
        "you compared each loss with the previous loss; compare with the BEST loss so far.")),
    _Variant(lr_before=True, explanation=(
        "step(loss) returned the learning rate from before processing the loss; return it "
        "after a possible reduction.")),
    _Variant(initial_best=0.0, explanation=(
        "best started at 0, so no positive loss ever counts as an improvement: in mode min "
        "start with best = float('inf'), which the first loss always improves.")),
)


#: Hand-computed sequences (PyTorch ReduceLROnPlateau, mode="min", threshold_mode="rel",
#: cooldown=0). best starts at +inf; "bad k" is num_bad_epochs after the step.
_HAND_CASES: list[tuple[dict, list[float], list[float]]] = [
    (
        {"lr": 1.0, "factor": 0.5, "patience": 2, "threshold": 0.0},
        [5.0, 4.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0],
        # 5 < inf: best 5 | 4 < 5: best 4 | 4 not < 4: bad 1 | bad 2 (2 > 2? no) |
        # bad 3 > 2: lr 0.5, bad 0 | 3 < 4: best 3 | bad 1 | bad 2 | bad 3: lr 0.25, bad 0 |
        # bad 1 | bad 2 | bad 3: lr 0.125
        [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125],
    ),
    (
        {"lr": 0.1, "factor": 0.1, "patience": 1, "threshold": 0.1},
        [100.0, 95.0, 91.0, 89.0, 85.0, 80.0, 79.0, 70.0],
        # 100 < inf: best 100 | 95 < 100 * 0.9 = 90? no: bad 1 | 91 < 90? no: bad 2 > 1:
        # lr 0.01, bad 0 | 89 < 90: best 89 | 85 < 80.1? no: bad 1 | 80 < 80.1: best 80 |
        # 79 < 72? no: bad 1 | 70 < 72: best 70.  (An absolute threshold, loss < best - 0.1,
        # would call every one of these an improvement and never reduce.)
        [0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01],
    ),
    (
        {"lr": 0.01},  # defaults: factor 0.1, patience 10, threshold 1e-4
        [1.0] + [0.99995] * 11 + [0.5] * 12,
        # 1.0: best 1 | 0.99995 < 1 * (1 - 1e-4) = 0.9999? no: bad 1 ... bad 10 (10 > 10? no)
        # | bad 11 > 10: lr 0.001, bad 0 | 0.5 < 0.99995: best 0.5 | 0.5 not < 0.49995: bad 1
        # ... bad 10 | bad 11: lr 0.0001
        [0.01] * 11 + [0.001] * 12 + [0.0001],
    ),
    (
        {"lr": 1.0, "factor": 0.5, "patience": 0, "threshold": 0.0},
        [3.0, 2.0, 2.0, 1.0, 1.0, 1.0, 0.5],
        # best 3 | best 2 | 2 not < 2: bad 1 > 0: lr 0.5 | best 1 | bad 1: lr 0.25 |
        # bad 1: lr 0.125 | best 0.5
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.125, 0.125],
    ),
    (
        {"lr": 0.1, "factor": 0.1, "patience": 1, "threshold": 1e-4},
        [1.0, 1.1, 1.2, 1.3, 1.4, 1.5],
        # best 1 | bad 1 | bad 2 > 1: lr 0.01, bad 0 | bad 1 | bad 2: lr 0.001, bad 0 | bad 1
        [0.1, 0.1, 0.01, 0.01, 0.001, 0.001],
    ),
    (
        {"lr": 1.0, "factor": 0.5, "patience": 1, "threshold": 0.0},
        [1.0, 2.0, 1.5, 1.2, 1.1, 0.9],
        # best 1 | 2: bad 1 | 1.5 (better than 2, not than best 1): bad 2 > 1: lr 0.5, bad 0 |
        # 1.2: bad 1 | 1.1: bad 2: lr 0.25, bad 0 | 0.9 < 1: best 0.9
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25],
    ),
]


def _plateau_args(kwargs: dict) -> tuple[float, float, int, float]:
    return (kwargs["lr"], kwargs.get("factor", 0.1), kwargs.get("patience", 10),
            kwargs.get("threshold", 1e-4))


def _random_losses(rng: np.random.Generator, length: int) -> list[float]:
    """Losses that improve, stall (exact repeats), creep (near the threshold) and worsen."""
    value, losses = float(rng.uniform(0.5, 5.0)), []
    for _ in range(length):
        u = rng.random()
        if u < 0.3:
            value *= rng.uniform(0.85, 0.999)
        elif u < 0.45:
            pass
        elif u < 0.65:
            value *= 1.0 - rng.uniform(0.0, 2e-3)
        else:
            value *= rng.uniform(1.0, 1.1)
        losses.append(float(value))
    return losses


def _plateau_cases(seed: int, trials: int) -> list[tuple[dict, list[float], list[float]]]:
    cases = [(kw, losses, expected) for kw, losses, expected in _HAND_CASES]
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        kwargs = {"lr": float(10 ** rng.uniform(-2, 0)),
                  "factor": float(rng.choice([0.1, 0.5, rng.uniform(0.2, 0.9)])),
                  "patience": int(rng.integers(0, 6)),
                  "threshold": float(rng.choice([0.0, 1e-4, 1e-3, 0.02]))}
        losses = _random_losses(rng, int(rng.integers(20, 60)))
        trace = _plateau_trace(*_plateau_args(kwargs), losses)
        # Keep the rate above 1e-6 of where it started, where PyTorch's eps=1e-8 (skip
        # reductions smaller than eps) could matter.
        keep = next((i for i, s in enumerate(trace) if s.lr < 1e-6 * kwargs["lr"]), len(trace))
        cases.append((kwargs, losses[:keep], [s.lr for s in trace[:keep]]))
    return cases


def _plateau_message(kwargs: dict, losses: list[float], expected: list[float],
                     got: list[float]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    first = next(i for i in range(len(expected)) if not _LR.accepts(
        np.asarray(got[i]), np.asarray(expected[i])))
    trace = _plateau_trace(*_plateau_args(kwargs), losses)
    s = trace[first]
    _, factor, patience, threshold = _plateau_args(kwargs)
    if s.improved:
        why = (f"loss {fmt(s.loss)} < best {fmt(s.best_before)} * (1 - {threshold}) is an "
               "improvement: best is updated and num_bad_epochs reset to 0")
    else:
        why = (f"loss {fmt(s.loss)} is not < best {fmt(s.best_before)} * (1 - {threshold}), "
               f"so num_bad_epochs becomes {s.num_bad}")
        why += (f" > patience {patience}: the lr is multiplied by {factor}" if s.reduced else
                f" (not > patience {patience}: no reduction)")
    lo, hi = max(0, first - 3), min(len(losses), first + 4)
    message = (
        f"ReduceOnPlateau({args}).step(loss) returned the wrong learning rate.\n"
        f"  losses:   {fmt(np.array(losses))}\n"
        f"  expected: {fmt(np.array(expected))}\n"
        f"  got:      {fmt(np.array(got))}\n"
        f"  first difference at call {first} (0-based): {why}; expected lr {fmt(expected[first])}, "
        f"got {fmt(got[first])}.\n"
        f"  calls {lo}..{hi - 1}: losses {fmt(np.array(losses[lo:hi]))}, expected "
        f"{fmt(np.array(expected[lo:hi]))}, got {fmt(np.array(got[lo:hi]))}"
    )
    for variant in _PLATEAU_VARIANTS:
        candidate = [t.lr for t in _plateau_trace(*_plateau_args(kwargs), losses, variant)]
        if _LR.accepts(np.asarray(got), np.asarray(candidate)):
            message += f"\n  likely mistake: {variant.explanation}"
            break
    return message


def _class_state(cls) -> dict[str, str]:
    """The class's own data attributes, by repr, to spot state shared between instances."""
    return {k: repr(v) for k, v in vars(cls).items()
            if not k.startswith("__") and not callable(v)
            and not isinstance(v, staticmethod | classmethod | property)} if isinstance(
                cls, type) else {}


def check_reduce_on_plateau(cls: Callable, *, seed: int = 0, trials: int = 12) -> None:
    """``ReduceOnPlateau(...).step(loss)`` returns PyTorch's learning rate after each loss.

    Oracles: literal sequences worked out by hand (``_HAND_CASES``) and, for seeded
    random loss sequences, a step-by-step transcription of PyTorch's documented
    algorithm. All instances are stepped in an interleaved order, so instances that
    share state (class attributes, globals) are caught.
    """
    cases = _plateau_cases(seed, trials)
    class_state = call(_class_state, cls, name="ReduceOnPlateau's class attributes").value
    objects = []
    for kwargs, _, _ in cases:
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        lr = kwargs["lr"]
        rest = {k: v for k, v in kwargs.items() if k != "lr"}
        objects.append(call(cls, lr, **rest, name=f"ReduceOnPlateau({args})").value)
    got: list[list[float]] = [[] for _ in cases]
    longest = max(len(losses) for _, losses, _ in cases)
    for t in range(longest):
        for i, (_, losses, _) in enumerate(cases):
            if t >= len(losses):
                continue
            name = "ReduceOnPlateau(...).step"
            value = call(objects[i].step, losses[t], name=name,
                         inputs={"loss": losses[t]}).value
            array = as_float_array(value, what=f"{name}({losses[t]!r})")
            expect_true(array.shape == (),
                        f"{name}(loss) returned {fmt(value)}; return the learning rate, a float.")
            got[i].append(float(array))
    for (kwargs, losses, expected), values in zip(cases, got, strict=True):
        if not _LR.accepts(np.asarray(values), np.asarray(expected)):
            message = _plateau_message(kwargs, losses, expected, values)
            after = call(_class_state, cls, name="ReduceOnPlateau's class attributes").value
            changed = [k for k, v in after.items() if class_state.get(k) != v]
            if changed:
                message += (
                    f"\n  note:     step() changed the class attribute(s) {', '.join(changed)}, "
                    "which every instance shares: keep the state on `self` (set it in "
                    "__init__); here several schedulers are stepped in turn."
                )
            raise CheckFailed(message)
    randoms = len(cases) - len(_HAND_CASES)
    passed("ReduceOnPlateau", f"{len(_HAND_CASES)} hand-computed and {randoms} random loss "
           "sequences follow PyTorch's rule (mode min, relative threshold)")
