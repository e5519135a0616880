r"""Checkers for lesson 06-gradient-descent.

Oracles, all independent of the lesson's reference solution:

* ``gradient_descent`` -- on a quadratic :math:`f(x) = \tfrac12 (x - x^*)^\top A (x - x^*)`
  the iterates have the closed form :math:`x_k = x^* + (I - \alpha A)^k (x_0 - x^*)`
  (``numpy.linalg.matrix_power``); on other functions the trajectory of ``optax.sgd(lr)``
  (JAX, float64).
* ``normal_nll`` and ``mixture_nll`` -- ``jax.scipy.stats.norm.logpdf`` and
  ``jax.scipy.special.logsumexp`` in float64, for the value and for ``jax.grad``.
* ``max_stable_lr`` -- ``numpy.linalg.eigvalsh``.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
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
    expect_unchanged,
    fmt,
    passed,
)
from course.data import belt_sizes

__all__ = [
    "check_gradient_descent",
    "check_max_stable_lr",
    "check_mixture_nll",
    "check_normal_nll",
]

#: Iterates agree with the oracle up to round-off accumulated over the steps.
_PATH = Tolerance(rtol=1e-9, atol=1e-11)
#: Log-likelihoods are sums of a few exact operations on float64.
_LIKELIHOOD = Tolerance(rtol=1e-9, atol=1e-12)
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _unchanged(before: np.ndarray, after: np.ndarray, *, name: str, arg: str) -> None:
    expect_unchanged(before, after, name=name, arg=arg, advice=(
        "write `x = x - lr * g`, which makes a new array, not `x -= lr * g` on the caller's "
        "array"))


# ------------------------------------------------------------- gradient_descent


@dataclass(frozen=True)
class _Problem:
    """A function to descend: the gradient handed to the student, and the oracle's iterates."""

    label: str
    grad_fn: Callable[[Any], Any]
    #: ``path(x0, lr, n)`` -> the n + 1 iterates x_0, ..., x_n stacked on axis 0.
    path: Callable[[Any, float, int], np.ndarray]
    #: Iterates of the mistaken update ``x + lr * grad`` (quadratics only).
    ascent: Callable[[Any, float, int], np.ndarray] | None = None
    max_steps: int | None = None


def _labelled(fn: Callable, label: str) -> Callable:
    fn.label = label
    fn.__name__ = "grad_fn"
    return fn


def _quadratic(A, x_star, label: str) -> _Problem:
    r"""Gradient :math:`A (x - x^*)` and closed-form iterates; scalar when ``A`` is a number."""
    scalar = np.ndim(A) == 0
    A = np.atleast_2d(np.asarray(A, dtype=np.float64))
    x_star = np.atleast_1d(np.asarray(x_star, dtype=np.float64))
    eye = np.eye(len(A))

    def grad_fn(x):
        g = A @ (np.atleast_1d(np.asarray(x, dtype=np.float64)) - x_star)
        return float(g[0]) if scalar else g

    def iterates(factor: np.ndarray, x0, n: int) -> np.ndarray:
        d = np.atleast_1d(np.asarray(x0, dtype=np.float64)) - x_star
        rows = np.array([x_star + np.linalg.matrix_power(factor, k) @ d for k in range(n + 1)])
        return rows[:, 0] if scalar else rows

    return _Problem(
        label=label,
        grad_fn=_labelled(grad_fn, label),
        path=lambda x0, lr, n: iterates(eye - lr * A, x0, n),
        ascent=lambda x0, lr, n: iterates(eye + lr * A, x0, n),
    )


def _random_spd(rng: np.random.Generator, dim: int, low: float, high: float) -> np.ndarray:
    """Q diag(lambda) Q^T with eigenvalues log-uniform in [low, high]."""
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    eigenvalues = np.exp(rng.uniform(np.log(low), np.log(high), dim))
    return (q * eigenvalues) @ q.T


def _smooth_losses() -> dict[str, tuple[Callable, tuple[int, ...], float]]:
    """Non-quadratic test functions: name -> (loss in jax.numpy, shape of x, stable lr)."""
    from course.oracle import jnp

    return {
        "grad of a narrow Rosenbrock valley (1 - x0)**2 + 5 (x1 - x0**2)**2": (
            lambda x: (1.0 - x[0]) ** 2 + 5.0 * (x[1] - x[0] ** 2) ** 2, (2,), 0.004),
        "grad of sum(log(cosh(x - c))) + 0.05 * sum(x**2), c = (1, -2, 0.5)": (
            lambda x: jnp.sum(jnp.log(jnp.cosh(x - jnp.array([1.0, -2.0, 0.5]))))
            + 0.05 * jnp.sum(x**2), (3,), 0.8),
        "grad of w**4 / 4 - w + cos(w)": (lambda w: w**4 / 4 - w + jnp.cos(w), (), 0.05),
    }


_SMOOTH_STEPS = 40


@cache
def _smooth_problems() -> tuple[_Problem, ...]:
    """Problems whose oracle is ``optax.sgd(lr)``, run for ``_SMOOTH_STEPS + 1`` steps."""
    import optax

    from course.oracle import jnp

    problems = []
    for label, (loss, _shape, _lr) in _smooth_losses().items():
        grad = _oracle.compiled(("gradient_descent", "grad", label),
                                lambda jax, jnp, loss=loss: jax.grad(loss))

        def make_run(jax, jnp, grad=grad):
            def sgd_path(x0, lr, n):
                opt = optax.sgd(lr)

                def body(carry, _):
                    x, state = carry
                    updates, state = opt.update(grad(x), state, x)
                    x = optax.apply_updates(x, updates)
                    return (x, state), x

                _, xs = jax.lax.scan(body, (x0, opt.init(x0)), None, length=n)
                return jnp.concatenate([x0[None], xs])
            return sgd_path

        run = _oracle.compiled(("gradient_descent", "sgd path", label), make_run,
                               static_argnums=2)

        def grad_fn(x, grad=grad):
            g = np.asarray(grad(jnp.asarray(x, dtype=jnp.float64)), dtype=np.float64)
            return float(g) if g.ndim == 0 else g

        def path(x0, lr, n, run=run):
            full = run(jnp.asarray(x0, dtype=jnp.float64), jnp.float64(lr), _SMOOTH_STEPS + 1)
            return np.asarray(full, dtype=np.float64)[: n + 1]

        problems.append(_Problem(label=label, grad_fn=_labelled(grad_fn, label), path=path,
                                 max_steps=_SMOOTH_STEPS))
    return tuple(problems)


def _changes(path: np.ndarray, norm: str = "max") -> np.ndarray:
    """Size of each step: ``changes[j - 1]`` belongs to the step x_{j-1} -> x_j."""
    flat = np.asarray(path, dtype=np.float64).reshape(len(path), -1)
    diff = np.abs(np.diff(flat, axis=0))
    return diff.max(axis=1) if norm == "max" else np.sqrt((diff**2).sum(axis=1))


def _first(hits: np.ndarray, default: int) -> int:
    found = np.flatnonzero(hits)
    return int(found[0]) if found.size else default


def _stop(path: np.ndarray, tol: float | None, num_steps: int, *, norm: str = "max",
          inclusive: bool = False) -> int:
    """Index k of the last iterate kept: the first step whose change is < tol (or num_steps)."""
    if tol is None:
        return num_steps
    changes = _changes(path[: num_steps + 1], norm)
    hits = changes <= tol if inclusive else changes < tol
    return _first(hits, num_steps - 1) + 1 if num_steps > 0 else 0


def _path_mistakes(problem: _Problem, path: np.ndarray, x0, lr: float, num_steps: int,
                   tol: float | None) -> list[Mistake]:
    """Wrong trajectories that common slips produce (``path`` has num_steps + 2 iterates)."""
    k = _stop(path, tol, num_steps)
    kept = path[: k + 1]
    stacked_final = np.stack([kept[-1]] * (k + 1))
    mistakes = [
        Mistake("the first row must be x0 itself: start the list with x0, then append each "
                "new iterate.", path[1 : k + 1], _PATH),
        Mistake("you returned only the last iterate: return them all, [x0, x1, ...] stacked "
                "on axis 0.", kept[-1], _PATH),
        Mistake("you updated x in place (`x -= ...`) and stored the same array at every step, "
                "so every row shows the final x: use `x = x - lr * g` to make a new array.",
                stacked_final, _PATH),
        Mistake("you stored x0 and then the same array (updated in place) at every step: "
                "use `x = x - lr * g` to make a new array.",
                np.concatenate([kept[:1], stacked_final[1:]]), _PATH),
    ]
    if tol is None:
        mistakes += [
            Mistake(f"one step too few: take exactly num_steps = {num_steps} steps, giving "
                    "num_steps + 1 iterates including x0.", path[:num_steps], _PATH),
            Mistake(f"one step too many: take exactly num_steps = {num_steps} steps, giving "
                    "num_steps + 1 iterates including x0.", path[: num_steps + 2], _PATH),
        ]
    else:
        # Checked first: where "change <= tol" and "stopped one iterate early" give the same
        # rows (a change exactly equal to tol), an earlier case without a tie has already
        # ruled out stopping early.
        k_inclusive = _stop(path, tol, num_steps, inclusive=True)
        if k_inclusive != k:
            mistakes.append(Mistake(
                "you stopped when the change was <= tol; the rule is strictly < tol.",
                path[: k_inclusive + 1], _PATH))
        if k > 0:
            mistakes.append(Mistake(
                "you stopped before keeping the iterate whose change was < tol: append the "
                "new x first, then test the change and break.", path[:k], _PATH))
        if k < num_steps:
            mistakes.append(Mistake("you took one step more than the rule: stop right after "
                                    "the first step whose change is < tol.", path[: k + 2],
                                    _PATH))
        alternatives = [
            (_stop(path, tol, num_steps, norm="l2"),
             "you measured the change with the Euclidean norm; the rule uses the largest "
             "absolute change of any coordinate, max(abs(x_new - x))."),
        ]
        signed = np.diff(np.asarray(path[: num_steps + 1], dtype=np.float64)
                         .reshape(num_steps + 1, -1), axis=0).max(axis=1)
        signed_stop = _first(signed < tol, num_steps - 1) + 1 if num_steps > 0 else 0
        if signed_stop < num_steps:  # else it looks like ignoring tol, named below
            alternatives.append((
                signed_stop,
                "you compared the signed change max(x_new - x) with tol, so any step that "
                "decreases x looks converged: take the absolute value, max(abs(x_new - x))."))
        grads = [problem.grad_fn(x) for x in path[: num_steps + 1]]
        grad_sizes = np.array([np.max(np.abs(np.asarray(g, dtype=np.float64))) for g in grads])
        small_grad = _first(grad_sizes < tol, num_steps)
        grad_text = ("you compared the size of the gradient with tol; the rule compares the "
                     "change of x, max(abs(x_new - x)) = lr * max(abs(g)).")
        alternatives += [(small_grad, grad_text), (min(small_grad + 1, num_steps), grad_text)]
        mistakes += [Mistake(text, path[: j + 1], _PATH) for j, text in alternatives if j != k]
        if k < num_steps:  # last: ignoring tol is ruled out by the early scalar cases
            mistakes.append(Mistake(f"you ignored tol: with tol = {fmt(tol)} the run stops "
                                    f"after step {k} of {num_steps}.", path[: num_steps + 1],
                                    _PATH))
    if problem.ascent is not None:
        mistakes += [
            Mistake("you stepped uphill: the update is x - lr * grad_fn(x), not x + lr * ...",
                    problem.ascent(x0, lr, k), _PATH),
            Mistake("the learning rate is missing: the update is x - lr * grad_fn(x).",
                    problem.path(x0, 1.0, k), _PATH),
        ]
    return mistakes


def _expect_path(got: Any, expected: np.ndarray, *, inputs: dict[str, Any],
                 mistakes: Callable[[], list[Mistake]], scalar: bool) -> None:
    """Like :func:`expect_close`, but a wrong shape is also matched against the mistakes.

    ``mistakes`` is only called (to compute the wrong trajectories) when ``got`` is wrong.
    """
    what = "gradient_descent(grad_fn, x0, lr, num_steps, tol)"
    got_array = as_float_array(got, what=what)
    if got_array.shape == expected.shape and _PATH.accepts(got_array, expected):
        return
    with np.errstate(all="ignore"):
        candidates = mistakes()
    if got_array.shape == expected.shape:
        expect_close(got_array, expected, what=what, inputs=inputs, tolerance=_PATH,
                     mistakes=candidates)
    explanation = next(
        (m.explanation for m in candidates
         if np.shape(m.value) == got_array.shape
         and m.tolerance.accepts(got_array, np.asarray(m.value, dtype=np.float64))),
        "for this x0 the answer is "
        + ("a 1-D array, one number per iterate" if scalar
           else "one row per iterate, each row shaped like x0")
        + f"; here {len(expected)} iterates, x0 first.",
    )
    raise CheckFailed(
        f"{what} returned shape {got_array.shape}, expected shape {expected.shape}.\n"
        f"  input:    {', '.join(f'{k}={fmt(v)}' for k, v in inputs.items())}\n"
        f"  expected: {fmt(expected)}\n"
        f"  got:      {fmt(got_array)}\n"
        f"  likely mistake: {explanation}"
    )


def _run_case(gradient_descent: Callable, problem: _Problem, x0, lr: float, num_steps: int,
              tol: float | None) -> None:
    inputs = {"grad_fn": problem.grad_fn, "x0": x0, "lr": lr, "num_steps": num_steps,
              "tol": tol}
    x0_before = np.array(x0, copy=True)
    result = call(gradient_descent, problem.grad_fn, x0, lr, num_steps, tol,
                  name="gradient_descent", inputs=inputs)
    if isinstance(x0, np.ndarray):
        _unchanged(x0_before, x0, name="gradient_descent", arg="x0")
    path = problem.path(x0, lr, num_steps + 1)
    expected = path[: _stop(path, tol, num_steps) + 1]
    _expect_path(result.value, expected, inputs=inputs, scalar=np.ndim(x0) == 0,
                 mistakes=lambda: _path_mistakes(problem, path, x0, lr, num_steps, tol))


def _pick_tol(path: np.ndarray, num_steps: int, rng: np.random.Generator) -> float | None:
    """A tol that stops the run after a random step, far from any step's change in size.

    tol lies strictly between the change c_k of the chosen step and the smallest change of
    the steps before it, at their geometric mean, so round-off cannot decide the stop.
    """
    changes = _changes(path[: num_steps + 1])
    scale = max(float(np.max(np.abs(path))), 1.0)
    for k in rng.permutation(np.arange(1, num_steps + 1)):
        before = changes[: k - 1].min() if k > 1 else np.inf
        c_k = changes[k - 1]
        if c_k > 1e-6 * scale and c_k < (1 - 1e-3) * before:
            return float(np.sqrt(c_k * before)) if np.isfinite(before) else float(2 * c_k)
    return None


def _fixed_gradient_cases() -> list[tuple[_Problem, Any, float, int, float | None]]:
    belts = belt_sizes()
    inches, cm = belts["inches"].to_numpy(), belts["cm"].to_numpy()
    by_hand = _quadratic(2.0, 1.0, "grad of J(w) = w**2 - 2w + 5, i.e. 2w - 2")
    belt = _quadratic(2.0 * np.mean(inches**2), np.mean(inches * cm) / np.mean(inches**2),
                      "grad of the belt-size MSE, 2 mean(x (k x - y))")
    halving = _quadratic(1.0, 0.0, "grad of x**2 / 2, i.e. x")
    halving_2d = _quadratic(np.eye(2), np.zeros(2), "grad of |x|**2 / 2, i.e. x")
    ravine = _quadratic(np.array([[10.0, 3.0], [3.0, 1.5]]), np.array([1.0, -1.0]),
                        "grad of (x - x*)^T A (x - x*) / 2, A = [[10, 3], [3, 1.5]]")
    return [
        (by_hand, 0.0, 0.1, 10, None),
        (by_hand, 0.0, 0.1, 200, 1e-3),
        # Step changes are 4, 2, 1, 0.5, ...: exact in floating point, so a stop on
        # "change <= tol" (at 1) differs from the rule's "change < tol" (at 0.5).
        (halving, 8.0, 0.5, 20, 1.0),
        (halving_2d, np.array([8.0, -2.0]), 0.5, 20, 1.0),
        # Steps shrink by 0.8 and have equal coordinates: the largest change drops below
        # tol at step 7, the Euclidean length (sqrt(3) times larger) only at step 9.
        (_quadratic(np.eye(3), np.zeros(3), "grad of |x|**2 / 2, i.e. x"),
         np.array([8.0, 8.0, 8.0]), 0.2, 30, 0.5),
        (ravine, np.array([-1.0, 2.0]), 0.15, 30, None),
        (ravine, np.array([-1.0, 2.0]), 0.15, 0, None),
        (ravine, np.array([-1.0, 2.0]), 0.15, 0, 1e-3),
        (ravine, np.array([-1.0, 2.0]), 0.15, 25, 1e3),
        (ravine, np.array([-1.0, 2.0]), 0.15, 15, 1e-30),
        (belt, 0.0, 1e-5, 1000, None),
    ]


def check_gradient_descent(gradient_descent: Callable, *, seed: int = 0,
                           trials: int = 10) -> None:
    r"""``gradient_descent`` returns the iterates :math:`x_{k+1} = x_k - \alpha\,\nabla f(x_k)`.

    Quadratics (closed form with ``matrix_power``) and smooth non-quadratic functions
    (``optax.sgd``), scalar and vector ``x0``, with and without ``tol``: the run stops after
    the first step with ``max(abs(x_{k+1} - x_k)) < tol`` and keeps that iterate.
    """
    rng = np.random.default_rng(seed)
    cases = _fixed_gradient_cases()
    smooth_starts = {(2,): np.array([-1.2, 1.0]), (3,): np.array([2.0, 1.0, -1.0]), (): 1.5}
    for problem, (_, shape, lr) in zip(_smooth_problems(), _smooth_losses().values(),
                                       strict=True):
        x0 = smooth_starts[shape]
        cases.append((problem, x0, lr, 30, None))
        cases.append((problem, x0, lr, _SMOOTH_STEPS,
                      _pick_tol(problem.path(x0, lr, _SMOOTH_STEPS), _SMOOTH_STEPS, rng)))
    for trial in range(trials):
        dim = int(rng.integers(0, 5))  # 0 means a scalar x0
        A = _random_spd(rng, max(dim, 1), 0.2, 20.0)
        x_star = rng.uniform(-3, 3, max(dim, 1))
        if dim == 0:
            problem = _quadratic(float(A[0, 0]), float(x_star[0]), "grad of a(x - x*)**2 / 2, "
                                 f"a = {A[0, 0]:.4g}, x* = {x_star[0]:.4g}")
            x0 = float(rng.uniform(-5, 5))
        else:
            problem = _quadratic(A, x_star, f"grad of a random {dim}-d quadratic "
                                 "(x - x*)^T A (x - x*) / 2")
            x0 = rng.uniform(-5, 5, dim)
        lr = float(rng.uniform(0.1, 0.9) * 2.0 / np.linalg.eigvalsh(A).max())
        num_steps = int(rng.integers(1, 40))
        tol = _pick_tol(problem.path(x0, lr, num_steps), num_steps, rng) if trial % 2 else None
        cases.append((problem, x0, lr, num_steps, tol))
        smooth = _smooth_problems()[trial % 3]
        _, shape, smooth_lr = list(_smooth_losses().values())[trial % 3]
        x0 = smooth_starts[shape] + rng.uniform(-0.5, 0.5, shape)
        x0 = float(x0) if shape == () else x0
        steps = int(rng.integers(1, _SMOOTH_STEPS + 1))
        lr = smooth_lr * float(rng.uniform(0.3, 1.0))
        tol = _pick_tol(smooth.path(x0, lr, steps), steps, rng) if trial % 2 else None
        cases.append((smooth, x0, lr, steps, tol))
    for problem, x0, lr, num_steps, tol in cases:
        _run_case(gradient_descent, problem, x0, lr, num_steps, tol)
    passed("gradient_descent", f"{len(cases)} runs agree with the closed form on quadratics "
           "and with optax.sgd elsewhere, tol rule included")


# -------------------------------------------------------------- likelihoods


def _likelihoods(jax, jnp) -> dict[str, Callable]:
    r"""The two negative log-likelihoods: :math:`-\frac1n\sum_i \log N(x_i; \mu, \sigma^2)`
    and the same with the equal-weight mixture of two normals inside the log."""
    from jax.scipy.special import logsumexp
    from jax.scipy.stats import norm

    def normal(p, data):
        return -jnp.mean(norm.logpdf(data, p[0], p[1]))

    def mixture(p, data):
        logs = jnp.stack([norm.logpdf(data, p[0], p[1]), norm.logpdf(data, p[2], p[3])])
        return -jnp.mean(logsumexp(logs, axis=0, b=0.5))

    return {"normal_nll": normal, "mixture_nll": mixture}


def _likelihood_oracle(name: str) -> Callable:
    """jit-compiled ``value_and_grad`` of the negative log-likelihood ``name`` (float64)."""
    return _oracle.compiled(("gradient_descent", name),
                            lambda jax, jnp: jax.value_and_grad(_likelihoods(jax, jnp)[name]))


def _log_density(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """log N(x; mu, sigma**2) in numpy (for the mistakes only; the oracle is JAX's)."""
    return -_LOG_SQRT_2PI - np.log(sigma) - 0.5 * ((x - mu) / sigma) ** 2


_TRACER_HINT = (
    " -- jax.grad could not trace your function: compute it with `jax.numpy` (jnp.log, "
    "jnp.mean, ...) instead of numpy or math, and do not convert to float inside it."
)


class _StudentNLL:
    """``jax.value_and_grad`` of the student's NLL with respect to its params tuple.

    Compiled with ``jax.jit`` once per data length (eager JAX compiles every primitive
    for every new shape, which is slow); code that only works eagerly (Python ``if`` on
    a value) falls back to the plain, unjitted ``jax.value_and_grad``.
    """

    def __init__(self, fn: Callable, name: str, count: int):
        from course.oracle import jax

        def as_tuple(p, data):
            return fn(tuple(p[i] for i in range(count)), data)

        self.name = name
        self.eager = jax.value_and_grad(as_tuple)
        self.jitted: Callable | None = jax.jit(self.eager)

    def __call__(self, params: tuple[float, ...], data: np.ndarray,
                 inputs: dict[str, Any]) -> tuple[Any, np.ndarray]:
        from course.oracle import jnp

        p = jnp.array(params, dtype=jnp.float64)
        what = f"jax.grad of {self.name}"
        if self.jitted is not None:
            try:
                value, grad = call(self.jitted, p, data, name=what, inputs=inputs).value
                return value, np.asarray(grad, dtype=np.float64)
            except CheckFailed:
                self.jitted = None  # retry eagerly: the message then names the real problem
        try:
            value, grad = call(self.eager, p, data, name=what, inputs=inputs).value
        except CheckFailed as failure:
            text = str(failure)
            if "Tracer" in text or "Concretization" in text:
                raise CheckFailed(text + _TRACER_HINT) from None
            raise
        return value, np.asarray(grad, dtype=np.float64)


#: Every data set has this many points, so that JAX compiles each function only once
#: (eager JAX compiles each primitive for each new shape: about 0.5 s for a mixture).
_DATA_LENGTH = 5

_STUDENT_NLLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _student_nll(fn: Callable, name: str, count: int) -> _StudentNLL:
    """One compiled gradient per student function, reused by the visible and hidden tests."""
    try:
        return _STUDENT_NLLS[fn]
    except (KeyError, TypeError):
        compiled = _StudentNLL(fn, name, count)
        with contextlib.suppress(TypeError):
            _STUDENT_NLLS[fn] = compiled
        return compiled


def _likelihood_case(fn: Callable, name: str, student: _StudentNLL,
                     params: tuple[float, ...], data: np.ndarray, mistakes: list[Mistake],
                     hint_if_not_finite: str | None = None) -> None:
    """Value (a plain call with Python floats and a numpy array) and gradient of the
    student's NLL against the oracle."""
    from course.oracle import jnp

    n = len(data)
    inputs = {"params": params, "data": data}
    oracle_value, oracle_grad = _likelihood_oracle(name)(
        jnp.array(params, dtype=jnp.float64), jnp.asarray(data))
    expected = float(oracle_value)
    expected_grad = np.asarray(oracle_grad, dtype=np.float64)
    data_before = data.copy()
    value = call(fn, params, data, name=name, inputs=inputs).value
    _unchanged(data_before, data, name=name, arg="data")
    got = as_float_array(value, what=f"{name}(params, data)")
    not_finite = got.shape == () and not np.isfinite(got)
    expect_close(
        got, expected, what=f"{name}(params, data)", inputs=inputs, tolerance=_LIKELIHOOD,
        mistakes=[
            *mistakes,
            Mistake(f"you summed over the {n} data points; take the mean (divide by n).",
                    n * expected, _LIKELIHOOD),
            Mistake("the sign is flipped: return the NEGATIVE log-likelihood, "
                    "-mean(log p(x)), which gradient descent minimises.", -expected,
                    _LIKELIHOOD),
            Mistake("the constant log(2 pi) / 2 of the normal log-density is missing "
                    "(it changes no gradient, but the value is wrong).",
                    expected - _LOG_SQRT_2PI, _LIKELIHOOD),
        ],
        hint=hint_if_not_finite if not_finite else None,
    )
    _, grad = student(params, data, inputs)
    expect_close(
        grad, expected_grad, what=f"jax.grad of {name} with respect to params", inputs=inputs,
        tolerance=_LIKELIHOOD,
        mistakes=[Mistake("the gradient is exactly minus the right one: check the sign.",
                          -expected_grad, _LIKELIHOOD)],
        hint="the value is right but its gradient is not: is part of the computation hidden "
             "from JAX (numpy calls on traced values, jax.lax.stop_gradient, float(...))?",
    )


def _likelihood_inputs(rng: np.random.Generator, trials: int, count: int,
                       ) -> list[tuple[tuple[float, ...], np.ndarray]]:
    """Random params (sigmas in [0.3, 3]) and data from a two-bump distribution."""
    cases = []
    for _ in range(trials):
        n = _DATA_LENGTH
        data = np.where(rng.random(n) < 0.5, rng.normal(-1, 1, n), rng.normal(2, 1.5, n))
        params = []
        for _ in range(count // 2):
            params += [float(rng.uniform(-3, 3)), float(rng.uniform(0.3, 3.0))]
        cases.append((tuple(params), data))
    return cases


def check_normal_nll(normal_nll: Callable, *, seed: int = 0, trials: int = 10) -> None:
    r"""``normal_nll((mu, sigma), data)`` is the mean negative log-density.

    :math:`-\frac1n\sum_i \log \mathcal N(x_i; \mu, \sigma^2)`.

    Value and ``jax.grad`` with respect to the parameters are compared with
    ``jax.scipy.stats.norm.logpdf`` in float64.
    """
    cases = [  # sigma != 1 first, where mistaking sigma for the variance shows in the value
        ((2.0, 0.5), np.array([1.0, 2.0, 3.0, 2.5, 1.5])),
        ((1.0, 1.7), np.array([-0.5, 1.0, 4.0, 0.0, 2.0])),
        ((0.0, 1.0), np.zeros(_DATA_LENGTH)),
    ]
    cases += _likelihood_inputs(np.random.default_rng(seed), trials, 2)
    student = _student_nll(normal_nll, "normal_nll", 2)
    for params, data in cases:
        mu, sigma = params
        variance = -np.mean(_log_density(data, mu, np.sqrt(sigma)))
        _likelihood_case(normal_nll, "normal_nll", student, params, data, mistakes=[
            Mistake("you used sigma as the variance: params hold the standard deviation, "
                    "so the density has (x - mu)**2 / (2 sigma**2) and log(sigma).",
                    variance, _LIKELIHOOD),
            Mistake("the log(sigma) term of the log-density is missing.",
                    -np.mean(_log_density(data, mu, sigma)) - np.log(sigma), _LIKELIHOOD),
            Mistake("the factor 1/2 of the squared term is missing: the log-density has "
                    "-(x - mu)**2 / (2 sigma**2), i.e. -z**2 / 2.",
                    -np.mean(_log_density(data, mu, sigma))
                    + 0.5 * np.mean(((data - mu) / sigma) ** 2), _LIKELIHOOD),
        ])
    passed("normal_nll", f"{len(cases)} cases agree with jax.scipy.stats.norm.logpdf "
           "(value and jax.grad)")


_UNDERFLOW_HINT = (
    "far from both means the densities exp(log p) underflow to 0, so log(0.5 p1 + 0.5 p2) "
    "is -inf: keep everything in logs and combine the two log-densities with "
    "jax.scipy.special.logsumexp (or jnp.logaddexp), e.g. logaddexp(log 0.5 + l1, log 0.5 + l2)."
)


def check_mixture_nll(mixture_nll: Callable, *, seed: int = 0, trials: int = 10) -> None:
    r"""``mixture_nll((mu1, s1, mu2, s2), data)`` is the mixture's mean negative log-density.

    :math:`-\frac1n\sum_i \log(\tfrac12 p_1(x_i) + \tfrac12 p_2(x_i))`.

    Compared with ``logsumexp`` of ``jax.scipy.stats.norm.logpdf`` in float64, value and
    ``jax.grad``; one case puts points 40 standard deviations from both components,
    where densities underflow and only a log-space computation stays finite.
    """
    cases = [  # sigmas != 1 first, where mistaking them for variances shows in the value
        ((-1.0, 0.8, 4.0, 1.5), np.array([-1.0, 0.5, 3.5, 4.0, -2.0])),
        ((0.0, 1.0, 3.0, 1.0), np.array([0.0, 1.5, 3.0, 0.5, 2.5])),
        ((1.0, 1.7, 1.0, 1.7), np.array([-1.0, 0.5, 4.0, 1.0, 2.0])),
    ]
    cases += _likelihood_inputs(np.random.default_rng(seed), trials, 4)
    student = _student_nll(mixture_nll, "mixture_nll", 4)
    far = ((0.0, 1.0, 3.0, 1.0), np.array([-40.0, 0.0, 1.0, 3.0, 45.0]))
    for params, data in [*cases, far]:
        mu1, s1, mu2, s2 = params
        l1, l2 = _log_density(data, mu1, s1), _log_density(data, mu2, s2)

        def nll(w1, w2, l1=l1, l2=l2):
            return -np.mean(np.logaddexp(np.log(w1) + l1, np.log(w2) + l2))

        v1 = _log_density(data, mu1, np.sqrt(s1))
        v2 = _log_density(data, mu2, np.sqrt(s2))
        _likelihood_case(mixture_nll, "mixture_nll", student, params, data, mistakes=[
            Mistake("the weights 0.5 are missing: p(x) = 0.5 p1(x) + 0.5 p2(x).",
                    nll(1.0, 1.0), _LIKELIHOOD),
            Mistake("the weights are unequal (2/3 and 1/3); the model has equal weights 0.5.",
                    nll(2 / 3, 1 / 3), _LIKELIHOOD),
            Mistake("the weights are unequal (1/3 and 2/3); the model has equal weights 0.5.",
                    nll(1 / 3, 2 / 3), _LIKELIHOOD),
            Mistake("only the first component is weighted by 0.5; both are.", nll(0.5, 1.0),
                    _LIKELIHOOD),
            Mistake("only the second component is weighted by 0.5; both are.", nll(1.0, 0.5),
                    _LIKELIHOOD),
            Mistake("you averaged the two log-densities; the mixture averages the densities "
                    "and then takes the log: log(0.5 p1 + 0.5 p2).",
                    -np.mean(0.5 * l1 + 0.5 * l2), _LIKELIHOOD),
            Mistake("you added the two normal NLLs; the mixture's density is "
                    "0.5 p1 + 0.5 p2 inside one log.", -np.mean(l1) - np.mean(l2), _LIKELIHOOD),
            Mistake("you used the sigmas as variances: params hold standard deviations.",
                    -np.mean(np.logaddexp(np.log(0.5) + v1, np.log(0.5) + v2)), _LIKELIHOOD),
            Mistake("logsumexp without axis=0 sums over the data points too, giving one "
                    "number: combine the two components per data point (axis=0 of the "
                    "stacked (2, n) array), then take the mean.",
                    -np.logaddexp.reduce(np.log(0.5) + np.concatenate([l1, l2])), _LIKELIHOOD),
            Mistake("the factor 1/2 of the squared term is missing: each log-density has "
                    "-(x - mu)**2 / (2 sigma**2).",
                    nll(0.5, 0.5, l1 - 0.5 * ((data - mu1) / s1) ** 2,
                        l2 - 0.5 * ((data - mu2) / s2) ** 2), _LIKELIHOOD),
        ], hint_if_not_finite=_UNDERFLOW_HINT)
    passed("mixture_nll", f"{len(cases) + 1} cases agree with logsumexp of norm.logpdf "
           "(value and jax.grad), finite far from both components")


# ------------------------------------------------------------ max_stable_lr

_EIGEN = Tolerance(rtol=1e-9, atol=0.0)


def check_max_stable_lr(max_stable_lr: Callable, *, seed: int = 0, trials: int = 20) -> None:
    r"""``max_stable_lr(H)`` is :math:`2 / \lambda_{\max}(H)` (``numpy.linalg.eigvalsh``)."""
    rng = np.random.default_rng(seed)
    cases = [
        np.array([[2.0]]),
        np.diag([1.0, 10.0]),
        np.array([[2.0, 1.0], [1.0, 2.0]]),
        np.array([[10.0, 3.0], [3.0, 1.5]]),
        np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]]),
    ]
    cases += [_random_spd(rng, int(rng.integers(2, 7)), 0.05, 50.0) for _ in range(trials)]
    for H in cases:
        H_before = H.copy()
        inputs = {"H": H}
        got = call(max_stable_lr, H, name="max_stable_lr", inputs=inputs).value
        _unchanged(H_before, H, name="max_stable_lr", arg="H")
        if np.iscomplexobj(got):
            raise CheckFailed(
                f"max_stable_lr returned the complex number {fmt(got)} for H = {fmt(H)}: "
                "np.linalg.eigvals and eig return complex numbers for general matrices. H is "
                "symmetric, so use np.linalg.eigvalsh: real eigenvalues in ascending order."
            )
        expect_true(np.ndim(got) == 0, f"max_stable_lr(H) returned {fmt(got)} for H = {fmt(H)}; "
                    "return a single float, 2 / (largest eigenvalue).")
        eigenvalues = np.linalg.eigvalsh(H)
        expected = 2.0 / eigenvalues[-1]
        unsorted = np.linalg.eigvals(H).real
        expect_close(got, expected, what="max_stable_lr(H)", inputs=inputs, tolerance=_EIGEN,
                     mistakes=[
            Mistake("the limit is 2 / lambda_max, not 1 / lambda_max (1 / lambda_max is the "
                    "step that removes the stiffest direction's error in one step).",
                    1.0 / eigenvalues[-1], _EIGEN),
            Mistake("you used the smallest eigenvalue; the LARGEST one (the stiffest "
                    "direction) limits the step size.", 2.0 / eigenvalues[0], _EIGEN),
            Mistake("you used the trace (the sum of all eigenvalues), not the largest "
                    "eigenvalue.", 2.0 / np.trace(H), _EIGEN),
            Mistake("you used the largest diagonal entry; unless H is diagonal, its largest "
                    "eigenvalue is bigger.", 2.0 / np.max(np.diag(H)), _EIGEN),
            Mistake("np.linalg.eigvals does not sort its eigenvalues, so its last one is not "
                    "the largest: take the max, or use np.linalg.eigvalsh (sorted ascending).",
                    2.0 / unsorted[-1], _EIGEN),
            Mistake("np.linalg.eigvals does not sort its eigenvalues, so its first one is not "
                    "the largest: take the max, or use np.linalg.eigvalsh (sorted ascending).",
                    2.0 / unsorted[0], _EIGEN),
            Mistake("you used the Frobenius norm of H instead of its largest eigenvalue.",
                    2.0 / np.linalg.norm(H), _EIGEN),
            Mistake("the fraction is upside down: the step size is 2 / lambda_max.",
                    eigenvalues[-1] / 2.0, _EIGEN),
        ])
    passed("max_stable_lr", f"{len(cases)} symmetric positive definite matrices agree with "
           "2 / max(numpy.linalg.eigvalsh(H))")
