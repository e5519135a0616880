r"""Checkers for lesson 08-optimizers.

Oracle: optax in float64 JAX, with every hyperparameter given explicitly. Each
checker (1) takes single steps from fixed and seeded random states and (2) runs
50-step trajectories on the lesson's landscapes (ravine, Rosenbrock, Beale) from
their usual start and from seeded random starts, feeding the student's returned
state back in. Every iterate is compared twice: with one optax step taken from
the student's own previous state (tight tolerance, mistakes diagnosed), and with
an independent optax trajectory from the same start.

How the textbook conventions of the contract map onto optax
------------------------------------------------------------

*Momentum.* The textbook velocity is :math:`v_t = \gamma v_{t-1} + \eta g_t`,
:math:`\theta_t = \theta_{t-1} - v_t`. ``optax.sgd(lr, momentum=gamma)`` keeps the
PyTorch trace :math:`b_t = \gamma b_{t-1} + g_t` and steps
:math:`\theta_t = \theta_{t-1} - \eta b_t`. At a constant learning rate
:math:`v_t = \eta b_t` solves the textbook recursion (multiply the trace's by
:math:`\eta`), so the parameters coincide and the states differ by the factor
:math:`\eta`: the oracle runs optax on ``trace = v / lr`` and reports
``v = lr * trace``.

*Nesterov.* Textbook NAG evaluates the gradient at the look-ahead point,
:math:`v_t = \gamma v_{t-1} + \eta \nabla f(\theta_{t-1} - \gamma v_{t-1})`,
:math:`\theta_t = \theta_{t-1} - v_t`. ``optax.sgd(lr, momentum=gamma,
nesterov=True)`` (Bengio et al.'s 2013 rewriting, also PyTorch's) evaluates the gradient at the
parameters it stores, :math:`b_t = \gamma b_{t-1} + g_t`,
:math:`\phi_t = \phi_{t-1} - \eta (g_t + \gamma b_t)` with
:math:`g_t = \nabla f(\phi_{t-1})`. Change variables to the look-ahead point
:math:`\phi = \theta - \gamma v` and :math:`b = v / \eta`. Then

.. math::

    \phi_t = \theta_t - \gamma v_t = \phi_{t-1} + \gamma v_{t-1} - (1 + \gamma) v_t
           = \phi_{t-1} - \gamma^2 v_{t-1} - (1 + \gamma)\,\eta\, g_t,

and optax's step expands to the same thing:
:math:`\phi_{t-1} - \eta g_t - \eta\gamma(g_t + \gamma b_{t-1})
= \phi_{t-1} - (1+\gamma)\eta g_t - \gamma^2 \eta b_{t-1}`. So the oracle starts optax
at :math:`\phi = \theta - \gamma v`, trace :math:`v / \eta`, and maps the result back with
:math:`v_t = \eta b_t`, :math:`\theta_t = \phi_t + \gamma v_t`.

*Epsilon placement* (read from optax 0.2.8's source, ``optax/_src/transform.py``):

* ``scale_by_rss`` (Adagrad) multiplies by ``where(G > 0, rsqrt(G + eps), 0)``: eps
  inside the square root, as in the contract. The ``where`` only matters when an
  entry of :math:`G` is exactly zero, and then :math:`g = 0` too, so both give 0.
  ``initial_accumulator_value=0`` makes optax's :math:`G_0` the contract's.
* ``scale_by_rms`` (RMSProp) has ``eps_in_sqrt=True`` by default, so it divides by
  :math:`\sqrt{E[g^2] + \epsilon}` as in the contract (PyTorch puts it outside; optax's
  docstring warns about that).
* ``scale_by_adadelta`` scales by
  :math:`\sqrt{E[\Delta x^2]_{t-1} + \epsilon} / \sqrt{E[g^2]_t + \epsilon}`, exactly
  Zeiler's Algorithm 1, and accumulates the squared update *before* the learning rate
  scales it, so ``learning_rate=1.0`` gives Zeiler's method. (Its default
  ``learning_rate=None`` skips the sign flip and ascends.)
* ``scale_by_adam`` divides by :math:`\sqrt{\hat v} + \epsilon` (``eps_root=0``): outside,
  as in the contract.

So every comparison is exact (round-off only); no case needs ``eps = 0``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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
    expect_unchanged,
    fmt,
    merge_mistakes,
    passed,
)
from course.landscapes import BEALE, RAVINE, ROSENBROCK, Landscape

__all__ = [
    "check_adadelta_step",
    "check_adagrad_step",
    "check_adam_step",
    "check_momentum_step",
    "check_nesterov_step",
    "check_rmsprop_step",
]

#: One step against optax from the same state: only round-off separates them.
STEP = Tolerance(rtol=1e-9, atol=1e-12)
#: A whole trajectory against an independent optax run: round-off may grow a little.
TRAJECTORY = Tolerance(rtol=1e-7, atol=1e-10)
#: Trajectories stop early if optax's iterate leaves this box (a diverging run teaches nothing).
_FAR = 1e6


# ----------------------------------------------------------------------- the optax oracles


def _optax_step(name: str) -> Callable:
    """The jitted one-step optax oracle ``name``; hyperparameters are traced, so each
    compiles once per process (per input shape)."""
    return _oracle.compiled(("optimizers", name), _OPTAX_STEPS[name],
                            **({"static_argnames": "nesterov"} if name == "sgd" else {}))


def _replace(state, cls, **fields):
    return tuple(s._replace(**fields) if isinstance(s, cls) else s for s in state)


def _run(opt, params, grads, cls, **fields):
    """One ``opt`` step from the state whose ``cls`` part holds ``fields``."""
    import optax

    state = _replace(opt.init(params), cls, **fields)
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), next(s for s in state if isinstance(s, cls))


def _sgd(jax, jnp):
    import optax

    def sgd(params, grads, trace, lr, gamma, nesterov=False):
        opt = optax.sgd(lr, momentum=gamma, nesterov=nesterov)
        params, state = _run(opt, params, grads, optax.TraceState, trace=trace)
        return params, state.trace

    return sgd


def _adagrad(jax, jnp):
    import optax

    def adagrad(params, grads, G, lr, eps):
        opt = optax.adagrad(lr, initial_accumulator_value=0.0, eps=eps)
        params, state = _run(opt, params, grads, optax.ScaleByRssState, sum_of_squares=G)
        return params, state.sum_of_squares

    return adagrad


def _rmsprop(jax, jnp):
    import optax

    def rmsprop(params, grads, Eg2, lr, gamma, eps):
        opt = optax.rmsprop(lr, decay=gamma, eps=eps)
        params, state = _run(opt, params, grads, optax.ScaleByRmsState, nu=Eg2)
        return params, state.nu

    return rmsprop


def _adadelta(jax, jnp):
    import optax

    def adadelta(params, grads, Eg2, Edx2, gamma, eps):
        opt = optax.adadelta(learning_rate=1.0, rho=gamma, eps=eps)
        params, state = _run(opt, params, grads, optax.ScaleByAdaDeltaState, e_g=Eg2, e_x=Edx2)
        return params, state.e_g, state.e_x

    return adadelta


def _adam(jax, jnp):
    import optax

    def adam(params, grads, m, v, t, lr, b1, b2, eps):
        opt = optax.adam(lr, b1, b2, eps)
        count = jnp.asarray(t - 1, dtype=jnp.int32)  # optax counts steps already taken
        params, state = _run(opt, params, grads, optax.ScaleByAdamState, count=count, mu=m, nu=v)
        return params, state.mu, state.nu

    return adam


_OPTAX_STEPS = {"sgd": _sgd, "adagrad": _adagrad, "rmsprop": _rmsprop, "adadelta": _adadelta,
                "adam": _adam}


def _np(*values) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(v, dtype=np.float64) for v in values)


def optax_momentum(params, grads, v, lr, gamma):
    """Textbook momentum by optax.sgd: trace = v / lr in, v = lr * trace out."""
    new_params, trace = _optax_step("sgd")(params, grads, v / lr, lr, gamma)
    return _np(new_params, lr * trace)


def optax_nesterov(params, grad_fn, v, lr, gamma):
    """Textbook NAG by optax.sgd(nesterov=True) at the look-ahead point phi = params - gamma v."""
    phi = params - gamma * v
    g = np.asarray(grad_fn(phi), dtype=np.float64)
    new_phi, trace = _optax_step("sgd")(phi, g, v / lr, lr, gamma, nesterov=True)
    new_phi, new_v = _np(new_phi, lr * trace)
    return new_phi + gamma * new_v, new_v


def optax_adagrad(params, grads, G, lr, eps):
    return _np(*_optax_step("adagrad")(params, grads, G, lr, eps))


def optax_rmsprop(params, grads, Eg2, lr, gamma, eps):
    return _np(*_optax_step("rmsprop")(params, grads, Eg2, lr, gamma, eps))


def optax_adadelta(params, grads, Eg2, Edx2, gamma, eps):
    return _np(*_optax_step("adadelta")(params, grads, Eg2, Edx2, gamma, eps))


def optax_adam(params, grads, m, v, t, lr, b1, b2, eps):
    return _np(*_optax_step("adam")(params, grads, m, v, int(t), lr, b1, b2, eps))


def _landscape_gradient(landscape: Landscape) -> Callable[[np.ndarray], np.ndarray]:
    """``jax.grad`` of a landscape, compiled once per process."""
    grad = _oracle.compiled(("optimizers", "gradient", landscape),
                            lambda jax, jnp: jax.grad(landscape.using(jnp)))
    return lambda x: np.asarray(grad(np.asarray(x, dtype=np.float64)), dtype=np.float64)


class GradFn:
    """A gradient function handed to student code: float64 arrays in and out."""

    def __init__(self, grad: Callable[[np.ndarray], np.ndarray], label: str):
        self._grad = grad
        self.label = label

    def __call__(self, x) -> np.ndarray:
        return np.array(self._grad(np.array(x, dtype=np.float64)), dtype=np.float64)

    def __repr__(self) -> str:
        return f"grad of {self.label}"


def _quadratic_gradient(rng: np.random.Generator, n: int) -> GradFn:
    """grad of 0.5 x^T A x - b^T x with a random symmetric positive definite A."""
    Q = rng.normal(size=(n, n))
    A = Q @ Q.T / n + np.eye(n)
    b = rng.normal(size=n)
    return GradFn(lambda x: A @ x - b, f"a random {n}-d quadratic")


# ------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class _Exercise:
    """How to call one step function, what optax says, and which mistakes to recognise."""

    name: str
    arguments: tuple[str, ...]            # positional arguments before the hyperparameters
    state: tuple[str, ...]                # names of the returned state, after params
    hyper: tuple[str, ...]                # hyperparameters in signature order
    defaults: dict[str, float]            # the contract's defaults
    oracle: Callable[..., tuple[np.ndarray, ...]]
    oracle_label: str
    mistakes: Callable[..., dict[str, list[Mistake]]]
    trajectory_hyper: dict[str, dict[str, float]] = field(default_factory=dict)
    check_order: tuple[str, ...] = ()     # outputs compared in this order (state first)

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("params", *self.state)


def _unchanged(before: Any, after: Any, *, name: str, arg: str) -> None:
    if isinstance(before, np.ndarray):
        expect_unchanged(before, np.asarray(after), name=name, arg=arg, advice=(
            f"the optimizer steps must return new arrays: write `{arg} = {arg} + ...` or work "
            f"on a copy, not `{arg} += ...` or `{arg}[...] = ...`"))


#: At a zero state, for instance, Adadelta with the old ``Eg2`` and Adadelta with ``Edx2``
#: updated too early take the same first step; the message then names both.
_merge = merge_mistakes


def _unpack(value: Any, ex: _Exercise) -> tuple[Any, ...]:
    expected = ", ".join(ex.outputs)
    if not isinstance(value, tuple | list) or len(value) != len(ex.outputs):
        raise CheckFailed(
            f"`{ex.name}` returned {fmt(value)}; return the tuple ({expected})."
        )
    return tuple(value)


def _step(fn: Callable, ex: _Exercise, args: dict[str, Any], hyper: dict[str, float], *,
          given: int | None = None, where: str = "") -> tuple[np.ndarray, ...]:
    """Call the student's step once, check inputs untouched, compare every output with optax.

    ``given`` is how many hyperparameters are passed (the rest take the student's defaults).
    """
    given = len(ex.hyper) if given is None else given
    full = {**ex.defaults, **hyper}
    positional = [args[a] for a in ex.arguments] + [full[h] for h in ex.hyper[:given]]
    shown = {a: args[a] for a in ex.arguments} | {h: full[h] for h in ex.hyper[:given]}
    copies = {a: (v.copy() if isinstance(v, np.ndarray) else v) for a, v in args.items()}
    # the student gets its own copies so that an in-place change cannot corrupt our inputs
    student_args = [v.copy() if isinstance(v, np.ndarray) else v for v in positional]
    result = call(fn, *student_args, name=ex.name, inputs=shown)
    for a, arg in zip(ex.arguments, student_args, strict=False):
        _unchanged(copies[a], arg, name=ex.name, arg=a)
    outputs = _unpack(result.value, ex)
    expected = ex.oracle(*[args[a] for a in ex.arguments], *[full[h] for h in ex.hyper])

    @functools.cache
    def mistakes() -> dict[str, list[Mistake]]:  # worked out only when an output is wrong
        return ex.mistakes(*[args[a] for a in ex.arguments], *[full[h] for h in ex.hyper])

    defaults_hint = None
    if given < len(ex.hyper):
        omitted = ", ".join(f"{h}={ex.defaults[h]}" for h in ex.hyper[given:])
        defaults_hint = f"this call relies on the defaults {omitted}: check your signature."
    got = dict(zip(ex.outputs, outputs, strict=True))
    want = dict(zip(ex.outputs, expected, strict=True))
    for out in ex.check_order or ex.outputs:
        expect_close(
            got[out], want[out], what=f"`{out}` returned by {ex.name}{where}", inputs=shown,
            tolerance=STEP, mistakes=lambda out=out: _merge(mistakes().get(out, ())),
            hint=defaults_hint,
        )
    return tuple(as_float_array(got[o], what=o).copy() for o in ex.outputs)


@dataclass(frozen=True)
class _Run:
    landscape: Landscape
    start: np.ndarray


def _initial_state(ex: _Exercise, params: np.ndarray) -> dict[str, np.ndarray]:
    return {s: np.zeros_like(params) for s in ex.state}


def _step_args(ex: _Exercise, params, state: dict, grad_fn: GradFn, t: int) -> dict[str, Any]:
    args: dict[str, Any] = {"params": params, **state}
    if "grad_fn" in ex.arguments:
        args["grad_fn"] = grad_fn
    else:
        args["grads"] = grad_fn(params)
    if "t" in ex.arguments:
        args["t"] = t
    return args


def _trajectory(fn: Callable, ex: _Exercise, run: _Run, steps: int) -> int:
    """Run student and optax side by side; return how many steps were compared."""
    landscape = run.landscape
    hyper = ex.trajectory_hyper[landscape.name]
    grad = _landscape_gradient(landscape)
    oracle_fn = GradFn(grad, landscape.name)
    # the independent optax trajectory, stopped where it leaves the plot's world
    params, state = run.start.copy(), _initial_state(ex, run.start)
    reference = [params]
    full = {**ex.defaults, **hyper}
    for t in range(1, steps + 1):
        args = _step_args(ex, params, state, oracle_fn, t)
        new = ex.oracle(*[args[a] for a in ex.arguments], *[full[h] for h in ex.hyper])
        if not (np.all(np.isfinite(new[0])) and np.max(np.abs(new[0])) < _FAR):
            break
        params, state = new[0], dict(zip(ex.state, new[1:], strict=True))
        reference.append(params)
    # the student's trajectory, its own state fed back in, each step checked against optax
    student_fn = GradFn(grad, landscape.name)
    params, state = run.start.copy(), _initial_state(ex, run.start)
    path = [params]
    start = fmt(run.start, precision=4)
    for t in range(1, len(reference)):
        where = f" at step {t} of a run on the {landscape.name} function from {start}"
        args = _step_args(ex, params, state, student_fn, t)
        new = _step(fn, ex, args, hyper, where=where)
        params, state = new[0], dict(zip(ex.state, new[1:], strict=True))
        path.append(params)
    got, want = np.array(path), np.array(reference)
    if not TRAJECTORY.accepts(got, want):
        bad = int(np.argmax(~np.all(np.isclose(got, want, rtol=TRAJECTORY.rtol,
                                               atol=TRAJECTORY.atol), axis=1)))
        raise CheckFailed(
            f"{ex.name}'s trajectory on the {landscape.name} function from {start} drifts away "
            f"from optax's at step {bad}:\n  expected: {fmt(want[bad])}\n  got:      "
            f"{fmt(got[bad])}\n  each step agreed with optax from your own state, so the "
            "state you return must differ slightly from what you use (e.g. rounding or a copy)."
        )
    return len(reference) - 1


def _runs(rng: np.random.Generator, random_starts: int,
          landscapes: Sequence[Landscape] = (RAVINE, ROSENBROCK, BEALE)) -> list[_Run]:
    runs = [_Run(ls, np.array(ls.start, dtype=np.float64)) for ls in landscapes]
    for i in range(random_starts):
        ls = (RAVINE, ROSENBROCK)[i % 2]
        (x0, x1), (y0, y1) = ls.xlim, ls.ylim
        shrink = 0.25  # stay inside the window, away from its edges
        dx, dy = shrink * (x1 - x0), shrink * (y1 - y0)
        start = np.array([rng.uniform(x0 + dx, x1 - dx), rng.uniform(y0 + dy, y1 - dy)])
        runs.append(_Run(ls, start))
    return runs


def _check(fn: Callable, ex: _Exercise, cases: list[tuple[dict, dict, int | None]], *,
           seed: int, random_starts: int, steps: int) -> None:
    for args, hyper, given in cases:
        _step(fn, ex, args, hyper, given=given)
    rng = np.random.default_rng(seed + 1)
    compared = [_trajectory(fn, ex, run, steps) for run in _runs(rng, random_starts)]
    passed(ex.name, f"{len(cases)} single steps and {len(compared)} trajectories "
                    f"({sum(compared)} iterates) agree with {ex.oracle_label}")


# ------------------------------------------------------------------ random inputs

_SHAPES = ((2,), (5,), (3, 4))


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    return _SHAPES[int(rng.integers(len(_SHAPES)))]


def _loguniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _grads(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.normal(size=shape) * (10.0 ** rng.integers(-3, 3))


def _positive(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.exponential(size=shape) * (10.0 ** rng.integers(-4, 2))


def _eps(rng: np.random.Generator) -> float:
    return float(rng.choice([1e-8, 1e-6, 1e-3, 0.1, 1.0]))


# ------------------------------------------------------------------------- momentum


def _momentum_mistakes(params, grads, v, lr, gamma):
    v_new = gamma * v + lr * grads
    torch_v = gamma * v + grads
    return {
        "v": [
            Mistake("this is the PyTorch form v = gamma v + g (the learning rate applied later); "
                    "the textbook form asked for puts lr inside: v = gamma v + lr g.", torch_v),
            Mistake("the velocity has the opposite sign (v = gamma v - lr g with params + v is "
                    "another convention); here v = gamma v + lr g and params = params - v.",
                    gamma * v - lr * grads),
            Mistake("gamma is missing: v = gamma v + lr g decays the old velocity.",
                    v + lr * grads),
            Mistake("lr and gamma are swapped.", lr * v + gamma * grads),
            Mistake("this is an exponential moving average v = gamma v + (1 - gamma) lr g; the "
                    "textbook velocity has no (1 - gamma).", gamma * v + (1 - gamma) * lr * grads),
            Mistake("you returned the old velocity: return the updated v.", v),
        ],
        "params": [
            Mistake("params moved uphill: subtract the velocity, params - v.", params + v_new),
            Mistake("params were updated with the old velocity; update v first, then "
                    "params = params - (new v).", params - v),
            Mistake("you applied the learning rate twice: v already contains lr.",
                    params - lr * v_new),
        ],
    }


_MOMENTUM = _Exercise(
    name="momentum_step",
    arguments=("params", "grads", "v"),
    state=("v",),
    hyper=("lr", "gamma"),
    defaults={},
    oracle=optax_momentum,
    oracle_label="optax.sgd(lr, momentum=gamma) (v = lr * trace)",
    mistakes=_momentum_mistakes,
    trajectory_hyper={"ravine": {"lr": 0.02, "gamma": 0.9},
                      "Rosenbrock": {"lr": 1e-4, "gamma": 0.9},
                      "Beale": {"lr": 1e-2, "gamma": 0.8}},
    check_order=("v", "params"),
)


def check_momentum_step(momentum_step: Callable, *, seed: int = 0, trials: int = 10,
                        random_starts: int = 2, steps: int = 50) -> None:
    r"""``momentum_step``: :math:`v \leftarrow \gamma v + \eta g`, then :math:`\theta - v`.

    Oracle: ``optax.sgd(lr, momentum=gamma)`` run on ``trace = v / lr`` (see the module
    docstring for why the PyTorch trace times ``lr`` is the textbook velocity).
    """
    rng = np.random.default_rng(seed)
    p, g = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    cases: list[tuple[dict, dict, int | None]] = [
        ({"params": p, "grads": g, "v": np.zeros(2)}, {"lr": 0.1, "gamma": 0.9}, None),
        ({"params": p, "grads": g, "v": np.array([0.2, -0.1])}, {"lr": 0.1, "gamma": 0.9}, None),
        ({"params": p, "grads": g, "v": np.array([1.0, 1.0])}, {"lr": 0.01, "gamma": 0.5}, None),
    ]
    for _ in range(trials):
        shape = _shape(rng)
        args = {"params": rng.normal(0, 2, shape), "grads": _grads(rng, shape),
                "v": rng.normal(0, 0.5, shape)}
        cases.append((args, {"lr": _loguniform(rng, 1e-3, 1.0),
                             "gamma": float(rng.uniform(0.5, 0.99))}, None))
    _check(momentum_step, _MOMENTUM, cases, seed=seed, random_starts=random_starts, steps=steps)


# ------------------------------------------------------------------------- Nesterov


def _nesterov_mistakes(params, grad_fn, v, lr, gamma):
    g_look = np.asarray(grad_fn(params - gamma * v))
    g_here = np.asarray(grad_fn(params))
    g_plus = np.asarray(grad_fn(params + gamma * v))
    v_here = gamma * v + lr * g_here
    v_plus = gamma * v + lr * g_plus
    v_new = gamma * v + lr * g_look
    torch_v = gamma * v + g_here
    return {
        "v": [
            Mistake("the gradient was taken at params, not at the look-ahead point "
                    "params - gamma v: that is plain momentum, not Nesterov.", v_here),
            Mistake("the look-ahead point has the wrong sign: evaluate grad_fn(params - gamma v) "
                    "(we move against the velocity).", v_plus),
            Mistake("this is the PyTorch form of Nesterov (v = gamma v + g at params, step "
                    "lr (g + gamma v)); the textbook form asked for is v = gamma v + lr "
                    "grad_fn(params - gamma v).", torch_v),
            Mistake("the learning rate is missing from the velocity: v = gamma v + lr g.",
                    gamma * v + g_look),
            Mistake("the velocity has the opposite sign (v = gamma v - lr g, params + v is "
                    "another convention); here params = params - v.", gamma * v - lr * g_plus),
            Mistake("you returned the old velocity: return the updated v.", v),
        ],
        "params": [
            Mistake("params moved uphill: params = params - v.", params + v_new),
            Mistake("params were updated with the old velocity; compute the new v first.",
                    params - v),
            Mistake("params were moved from the look-ahead point; the step starts at params: "
                    "params - v, not params - gamma v - v.", params - gamma * v - v_new),
        ],
    }


_NESTEROV = _Exercise(
    name="nesterov_step",
    arguments=("params", "grad_fn", "v"),
    state=("v",),
    hyper=("lr", "gamma"),
    defaults={},
    oracle=optax_nesterov,
    oracle_label="optax.sgd(lr, momentum=gamma, nesterov=True) at the look-ahead point",
    mistakes=_nesterov_mistakes,
    trajectory_hyper=_MOMENTUM.trajectory_hyper,
    check_order=("v", "params"),
)


def check_nesterov_step(nesterov_step: Callable, *, seed: int = 0, trials: int = 10,
                        random_starts: int = 2, steps: int = 50) -> None:
    r"""``nesterov_step``: the gradient at the look-ahead point :math:`\theta - \gamma v`.

    :math:`v \leftarrow \gamma v + \eta \nabla f(\theta - \gamma v)`,
    :math:`\theta \leftarrow \theta - v`.

    Oracle: ``optax.sgd(lr, momentum=gamma, nesterov=True)`` through the change of
    variables :math:`\phi = \theta - \gamma v`, trace :math:`= v/\eta` (module docstring).
    """
    rng = np.random.default_rng(seed)
    rosen = GradFn(_landscape_gradient(ROSENBROCK), "Rosenbrock")
    ravine = GradFn(_landscape_gradient(RAVINE), "ravine")
    cases: list[tuple[dict, dict, int | None]] = [
        ({"params": np.array([-1.5, 2.0]), "grad_fn": ravine, "v": np.zeros(2)},
         {"lr": 0.1, "gamma": 0.9}, None),
        ({"params": np.array([-1.5, 2.0]), "grad_fn": ravine, "v": np.array([0.5, -0.3])},
         {"lr": 0.1, "gamma": 0.9}, None),
        ({"params": np.array([0.5, 0.5]), "grad_fn": rosen, "v": np.array([-0.05, 0.02])},
         {"lr": 1e-3, "gamma": 0.9}, None),
    ]
    for _ in range(trials):
        n = int(rng.integers(2, 7))
        args = {"params": rng.normal(0, 2, n), "grad_fn": _quadratic_gradient(rng, n),
                "v": rng.normal(0, 0.5, n)}
        cases.append((args, {"lr": _loguniform(rng, 1e-3, 0.5),
                             "gamma": float(rng.uniform(0.5, 0.99))}, None))
    _check(nesterov_step, _NESTEROV, cases, seed=seed, random_starts=random_starts, steps=steps)


# -------------------------------------------------------------------------- Adagrad


def _adagrad_mistakes(params, grads, G, lr, eps):
    G_new = G + grads**2
    with np.errstate(all="ignore"):
        return {
            "G": [
                Mistake("G accumulates the gradients themselves; it must add their squares, "
                        "G = G + g**2.", G + grads),
                Mistake("G was replaced by g**2 instead of accumulated: G = G + g**2.",
                        grads**2),
                Mistake("you returned the old G: return the updated accumulator.", G),
            ],
            "params": [
                Mistake("epsilon is outside the square root; the convention here is "
                        "lr g / sqrt(G + eps).", params - lr * grads / (np.sqrt(G_new) + eps)),
                Mistake("the step used the old G; add g**2 first, then divide by "
                        "sqrt(G + eps).", params - lr * grads / np.sqrt(G + eps)),
                Mistake("the square root is missing: divide by sqrt(G + eps), not (G + eps).",
                        params - lr * grads / (G_new + eps)),
                Mistake("params moved uphill: subtract the step.",
                        params + lr * grads / np.sqrt(G_new + eps)),
            ],
        }


_ADAGRAD = _Exercise(
    name="adagrad_step",
    arguments=("params", "grads", "G"),
    state=("G",),
    hyper=("lr", "eps"),
    defaults={"eps": 1e-8},
    oracle=optax_adagrad,
    oracle_label="optax.adagrad(lr, initial_accumulator_value=0, eps=eps)",
    mistakes=_adagrad_mistakes,
    trajectory_hyper={"ravine": {"lr": 1.0, "eps": 1e-8},
                      "Rosenbrock": {"lr": 0.5, "eps": 1e-8},
                      "Beale": {"lr": 0.5, "eps": 1e-3}},
    check_order=("G", "params"),
)


def check_adagrad_step(adagrad_step: Callable, *, seed: int = 0, trials: int = 10,
                       random_starts: int = 2, steps: int = 50) -> None:
    r"""``adagrad_step``: a per-coordinate step shrinking with the sum of squared gradients.

    :math:`G \leftarrow G + g^2`, :math:`\theta \leftarrow \theta - \eta g / \sqrt{G + \epsilon}`.

    Oracle: ``optax.adagrad(lr, initial_accumulator_value=0, eps=eps)``, which also puts
    eps inside the square root.
    """
    rng = np.random.default_rng(seed)
    p, g = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    cases: list[tuple[dict, dict, int | None]] = [
        ({"params": p, "grads": g, "G": np.zeros(2)}, {"lr": 0.1, "eps": 1e-8}, None),
        ({"params": p, "grads": g, "G": np.array([1.0, 4.0])}, {"lr": 0.5}, 1),
        ({"params": p, "grads": np.array([1e-3, -2e-2]), "G": np.array([1e-4, 0.0])},
         {"lr": 0.1, "eps": 1e-2}, None),
        ({"params": p, "grads": np.array([0.3, -0.1]), "G": np.zeros(2)},
         {"lr": 1.0, "eps": 1.0}, None),
    ]
    for _ in range(trials):
        shape = _shape(rng)
        args = {"params": rng.normal(0, 2, shape), "grads": _grads(rng, shape),
                "G": _positive(rng, shape)}
        cases.append((args, {"lr": _loguniform(rng, 1e-3, 1.0), "eps": _eps(rng)}, None))
    _check(adagrad_step, _ADAGRAD, cases, seed=seed, random_starts=random_starts, steps=steps)


# -------------------------------------------------------------------------- RMSProp


def _rmsprop_mistakes(params, grads, Eg2, lr, gamma, eps):
    E_new = gamma * Eg2 + (1 - gamma) * grads**2
    E_swap = (1 - gamma) * Eg2 + gamma * grads**2
    with np.errstate(all="ignore"):
        return {
            "Eg2": [
                Mistake("the decay weights are swapped: Eg2 = gamma Eg2 + (1 - gamma) g**2 keeps "
                        "most of the old average.", E_swap),
                Mistake("the average must be of squared gradients: (1 - gamma) g**2, not "
                        "(1 - gamma) g.", gamma * Eg2 + (1 - gamma) * grads),
                Mistake("that is Adagrad's sum Eg2 + g**2; RMSProp keeps a decaying average.",
                        Eg2 + grads**2),
                Mistake("you returned the old Eg2: return the updated average.", Eg2),
            ],
            "params": [
                Mistake("epsilon is outside the square root; the convention here (and optax's "
                        "default) is lr g / sqrt(Eg2 + eps).",
                        params - lr * grads / (np.sqrt(E_new) + eps)),
                Mistake("the step used the old Eg2; update the average first.",
                        params - lr * grads / np.sqrt(Eg2 + eps)),
                Mistake("the square root is missing: divide by sqrt(Eg2 + eps).",
                        params - lr * grads / (E_new + eps)),
                Mistake("params moved uphill: subtract the step.",
                        params + lr * grads / np.sqrt(E_new + eps)),
            ],
        }


_RMSPROP = _Exercise(
    name="rmsprop_step",
    arguments=("params", "grads", "Eg2"),
    state=("Eg2",),
    hyper=("lr", "gamma", "eps"),
    defaults={"gamma": 0.9, "eps": 1e-8},
    oracle=optax_rmsprop,
    oracle_label="optax.rmsprop(lr, decay=gamma, eps=eps)",
    mistakes=_rmsprop_mistakes,
    trajectory_hyper={"ravine": {"lr": 0.1, "gamma": 0.9, "eps": 1e-8},
                      "Rosenbrock": {"lr": 0.01, "gamma": 0.9, "eps": 1e-8},
                      "Beale": {"lr": 0.01, "gamma": 0.99, "eps": 1e-3}},
    check_order=("Eg2", "params"),
)


def check_rmsprop_step(rmsprop_step: Callable, *, seed: int = 0, trials: int = 10,
                       random_starts: int = 2, steps: int = 50) -> None:
    r"""``rmsprop_step``: Adagrad with a decaying average instead of a sum.

    :math:`E \leftarrow \gamma E + (1-\gamma) g^2`,
    :math:`\theta \leftarrow \theta - \eta g/\sqrt{E + \epsilon}`.

    Oracle: ``optax.rmsprop(lr, decay=gamma, eps=eps)`` (``eps_in_sqrt=True`` by default).
    """
    rng = np.random.default_rng(seed)
    p, g = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    cases: list[tuple[dict, dict, int | None]] = [
        ({"params": p, "grads": g, "Eg2": np.zeros(2)}, {"lr": 0.01, "gamma": 0.9, "eps": 1e-8},
         None),
        ({"params": p, "grads": g, "Eg2": np.array([1.0, 4.0])}, {"lr": 0.01}, 1),
        ({"params": p, "grads": np.array([1e-3, -2e-2]), "Eg2": np.array([1e-4, 1e-6])},
         {"lr": 0.1, "gamma": 0.5, "eps": 1e-2}, None),
        ({"params": p, "grads": np.array([0.3, -0.1]), "Eg2": np.array([0.2, 0.0])},
         {"lr": 1.0, "gamma": 0.7, "eps": 1.0}, None),
    ]
    for _ in range(trials):
        shape = _shape(rng)
        args = {"params": rng.normal(0, 2, shape), "grads": _grads(rng, shape),
                "Eg2": _positive(rng, shape)}
        cases.append((args, {"lr": _loguniform(rng, 1e-3, 1.0),
                             "gamma": float(rng.uniform(0.5, 0.99)), "eps": _eps(rng)}, None))
    _check(rmsprop_step, _RMSPROP, cases, seed=seed, random_starts=random_starts, steps=steps)


# ------------------------------------------------------------------------- Adadelta

_TYPICAL_LRS = (1.0, 0.1, 0.01, 1e-3)


def _adadelta_mistakes(params, grads, Eg2, Edx2, gamma, eps):
    E_new = gamma * Eg2 + (1 - gamma) * grads**2
    dx = -np.sqrt(Edx2 + eps) / np.sqrt(E_new + eps) * grads
    Edx2_new = gamma * Edx2 + (1 - gamma) * dx**2
    early = gamma * Edx2 + (1 - gamma) * grads**2   # Edx2 "updated" before dx exists
    with np.errstate(all="ignore"):
        with_lr = [
            Mistake(f"that is RMSProp with a learning rate of {lr:g}: Adadelta has no learning "
                    "rate; the numerator sqrt(Edx2 + eps) (RMS of past updates) replaces it.",
                    params - lr * grads / np.sqrt(E_new + eps))
            for lr in _TYPICAL_LRS
        ] + [
            Mistake(f"the Adadelta step was scaled by a learning rate of {lr:g}; Zeiler's "
                    "method has none (optax's learning_rate=1.0).", params + lr * dx)
            for lr in _TYPICAL_LRS[1:]
        ]
        return {
            "Eg2": [
                Mistake("the decay weights are swapped: Eg2 = gamma Eg2 + (1 - gamma) g**2.",
                        (1 - gamma) * Eg2 + gamma * grads**2),
                Mistake("the average must be of squared gradients.",
                        gamma * Eg2 + (1 - gamma) * grads),
                Mistake("you returned the old Eg2: return the updated average.", Eg2),
            ],
            "params": [
                Mistake("params moved uphill: dx = -sqrt(Edx2 + eps) / sqrt(Eg2 + eps) g is "
                        "added (this is what optax.adadelta does with its default "
                        "learning_rate=None).", params - dx),
                Mistake("wrong order of updates: Edx2 was updated before computing dx (with "
                        "g**2 standing in for dx**2); the numerator must use the previous "
                        "Edx2.", params - np.sqrt(early + eps) / np.sqrt(E_new + eps) * grads),
                Mistake("wrong order of updates: the numerator used the updated Edx2; dx must "
                        "be computed from the previous Edx2, and Edx2 updated afterwards.",
                        params - np.sqrt(Edx2_new + eps) / np.sqrt(E_new + eps) * grads),
                Mistake("the denominator used the old Eg2; update Eg2 first.",
                        params - np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps) * grads),
                Mistake("eps is missing from the numerator: with Edx2 = 0 at the start, "
                        "sqrt(Edx2) = 0 and Adadelta never moves. Use sqrt(Edx2 + eps).",
                        params - np.sqrt(Edx2) / np.sqrt(E_new + eps) * grads),
                Mistake("eps belongs inside both square roots, as in Zeiler's RMS[x] = "
                        "sqrt(E[x**2] + eps).",
                        params - (np.sqrt(Edx2) + eps) / (np.sqrt(E_new) + eps) * grads),
                Mistake("numerator and denominator are swapped: dx = -sqrt(Edx2 + eps) / "
                        "sqrt(Eg2 + eps) g.",
                        params - np.sqrt(E_new + eps) / np.sqrt(Edx2 + eps) * grads),
                *with_lr,
            ],
            "Edx2": [
                Mistake("Edx2 must accumulate the squared *update* dx**2, not g**2.", early),
                Mistake("the decay weights are swapped: Edx2 = gamma Edx2 + (1 - gamma) dx**2.",
                        (1 - gamma) * Edx2 + gamma * dx**2),
                Mistake("Edx2 must average squared updates: (1 - gamma) dx**2, not "
                        "(1 - gamma) dx.", gamma * Edx2 + (1 - gamma) * dx),
                Mistake("you returned the old Edx2: return the updated average.", Edx2),
            ],
        }


_ADADELTA = _Exercise(
    name="adadelta_step",
    arguments=("params", "grads", "Eg2", "Edx2"),
    state=("Eg2", "Edx2"),
    hyper=("gamma", "eps"),
    defaults={"gamma": 0.9, "eps": 1e-6},
    oracle=optax_adadelta,
    oracle_label="optax.adadelta(learning_rate=1.0, rho=gamma, eps=eps)",
    mistakes=_adadelta_mistakes,
    trajectory_hyper={"ravine": {"gamma": 0.9, "eps": 1e-2},
                      "Rosenbrock": {"gamma": 0.9, "eps": 1e-4},
                      "Beale": {"gamma": 0.95, "eps": 1e-3}},
    check_order=("Eg2", "params", "Edx2"),
)


def check_adadelta_step(adadelta_step: Callable, *, seed: int = 0, trials: int = 10,
                        random_starts: int = 2, steps: int = 50) -> None:
    r"""``adadelta_step`` is Zeiler's Algorithm 1, with no learning rate.

    .. math::
        E[g^2] \leftarrow \gamma E[g^2] + (1-\gamma) g^2,\quad
        \Delta x = -\frac{\sqrt{E[\Delta x^2] + \epsilon}}{\sqrt{E[g^2] + \epsilon}}\, g,\quad
        E[\Delta x^2] \leftarrow \gamma E[\Delta x^2] + (1-\gamma) \Delta x^2,\quad
        \theta \leftarrow \theta + \Delta x.

    Oracle: ``optax.adadelta(learning_rate=1.0, rho=gamma, eps=eps)``.
    """
    rng = np.random.default_rng(seed)
    p, g = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    cases: list[tuple[dict, dict, int | None]] = [
        ({"params": p, "grads": g, "Eg2": np.zeros(2), "Edx2": np.zeros(2)},
         {"gamma": 0.9, "eps": 1e-6}, None),
        ({"params": p, "grads": g, "Eg2": np.array([1.0, 4.0]), "Edx2": np.array([0.01, 0.04])},
         {}, 0),
        ({"params": p, "grads": np.array([1e-3, -2e-2]), "Eg2": np.array([1e-4, 1e-6]),
          "Edx2": np.array([1e-3, 2e-2])}, {"gamma": 0.5, "eps": 1e-2}, None),
        ({"params": p, "grads": np.array([0.3, -0.1]), "Eg2": np.array([0.2, 0.0]),
          "Edx2": np.array([0.5, 0.1])}, {"gamma": 0.7, "eps": 1.0}, None),
    ]
    for _ in range(trials):
        shape = _shape(rng)
        args = {"params": rng.normal(0, 2, shape), "grads": _grads(rng, shape),
                "Eg2": _positive(rng, shape), "Edx2": _positive(rng, shape)}
        cases.append((args, {"gamma": float(rng.uniform(0.5, 0.99)), "eps": _eps(rng)}, None))
    _check(adadelta_step, _ADADELTA, cases, seed=seed, random_starts=random_starts, steps=steps)


# ----------------------------------------------------------------------------- Adam


@dataclass(frozen=True)
class _NanAware(Tolerance):
    """Like :class:`Tolerance`, but nan matches nan: for mistakes whose value is nan."""

    def accepts(self, got: np.ndarray, expected: np.ndarray) -> bool:
        return bool(np.allclose(got, expected, rtol=self.rtol, atol=self.atol, equal_nan=True))


_SAME_NAN = _NanAware(rtol=STEP.rtol, atol=STEP.atol)


def _adam_mistakes(params, grads, m, v, t, lr, b1, b2, eps):
    m_new = b1 * m + (1 - b1) * grads
    v_new = b2 * v + (1 - b2) * grads**2
    m_hat, v_hat = m_new / (1 - b1**t), v_new / (1 - b2**t)

    def step(mh, vh, *, inside=False):
        return params - lr * mh / (np.sqrt(vh + eps) if inside else np.sqrt(vh) + eps)

    with np.errstate(all="ignore"):
        t_minus = [
            Mistake("the bias correction used t - 1: t counts from 1, so the first step divides "
                    "by 1 - b1**1.",
                    step(m_new / (1 - b1 ** (t - 1)), v_new / (1 - b2 ** (t - 1))))
        ] if t > 1 else [
            Mistake("the bias correction divided by zero: with t - 1 in place of t, the first "
                    "step divides by 1 - b1**0 = 0. t counts from 1 and is used as given.",
                    step(m_new / (1 - b1 ** (t - 1)), v_new / (1 - b2 ** (t - 1))),
                    _SAME_NAN)
        ]
        return {
            "m": [
                Mistake("the decay weights of m are swapped: m = b1 m + (1 - b1) g.",
                        (1 - b1) * m + b1 * grads),
                Mistake("m was updated with b2 instead of b1.", b2 * m + (1 - b2) * grads),
                Mistake("you returned the bias-corrected m_hat as the state; keep the raw "
                        "moving average m and correct a copy.", m_hat),
                Mistake("you returned the old m: return the updated average.", m),
            ],
            "v": [
                Mistake("the decay weights of v are swapped: v = b2 v + (1 - b2) g**2.",
                        (1 - b2) * v + b2 * grads**2),
                Mistake("v was updated with b1 instead of b2.", b1 * v + (1 - b1) * grads**2),
                Mistake("v must average squared gradients: (1 - b2) g**2, not (1 - b2) g.",
                        b2 * v + (1 - b2) * grads),
                Mistake("you returned the bias-corrected v_hat as the state; keep the raw "
                        "moving average v and correct a copy.", v_hat),
                Mistake("you returned the old v: return the updated average.", v),
            ],
            "params": [
                Mistake("epsilon is inside the square root; Adam's convention is "
                        "m_hat / (sqrt(v_hat) + eps).", step(m_hat, v_hat, inside=True)),
                Mistake("the bias correction is missing: divide m by (1 - b1**t) and v by "
                        "(1 - b2**t).", step(m_new, v_new)),
                Mistake("only m is bias-corrected: v_hat = v / (1 - b2**t) too.",
                        step(m_hat, v_new)),
                Mistake("only v is bias-corrected: m_hat = m / (1 - b1**t) too.",
                        step(m_new, v_hat)),
                Mistake("t was treated as starting at 0 (the correction used t + 1); t counts "
                        "from 1 and is used as given.",
                        step(m_new / (1 - b1 ** (t + 1)), v_new / (1 - b2 ** (t + 1)))),
                *t_minus,
                Mistake("the step used the old m and v; update the moments first.",
                        step(m / (1 - b1**t), v / (1 - b2**t))),
                Mistake("the numerator is the raw gradient (that is RMSProp with bias "
                        "correction); use m_hat.", step(grads, v_hat)),
                Mistake("the square root is missing: divide by sqrt(v_hat) + eps.",
                        params - lr * m_hat / (v_hat + eps)),
                Mistake("params moved uphill: subtract the step.",
                        2 * params - step(m_hat, v_hat)),
            ],
        }


_ADAM = _Exercise(
    name="adam_step",
    arguments=("params", "grads", "m", "v", "t"),
    state=("m", "v"),
    hyper=("lr", "b1", "b2", "eps"),
    defaults={"lr": 1e-3, "b1": 0.9, "b2": 0.999, "eps": 1e-8},
    oracle=optax_adam,
    oracle_label="optax.adam(lr, b1, b2, eps)",
    mistakes=_adam_mistakes,
    trajectory_hyper={"ravine": {"lr": 0.3, "b1": 0.9, "b2": 0.999, "eps": 1e-8},
                      "Rosenbrock": {"lr": 0.05, "b1": 0.9, "b2": 0.999, "eps": 1e-8},
                      "Beale": {"lr": 0.05, "b1": 0.9, "b2": 0.99, "eps": 1e-3}},
    check_order=("m", "v", "params"),
)


def check_adam_step(adam_step: Callable, *, seed: int = 0, trials: int = 10,
                    random_starts: int = 2, steps: int = 50) -> None:
    r"""``adam_step`` is bias-corrected Adam with t counting from 1 and eps outside the root.

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,
        \quad \theta \leftarrow \theta
        - \eta\,\frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}.

    Oracle: ``optax.adam(lr, b1, b2, eps)`` with its step count set to ``t - 1``.
    """
    rng = np.random.default_rng(seed)
    p, g = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    zeros = np.zeros(2)
    cases: list[tuple[dict, dict, int | None]] = [
        ({"params": p, "grads": g, "m": zeros, "v": zeros, "t": 1},
         {"lr": 0.1, "b1": 0.9, "b2": 0.999, "eps": 1e-8}, None),
        ({"params": p, "grads": g, "m": np.array([0.05, 0.3]), "v": np.array([2.5e-4, 9e-3]),
          "t": 2}, {}, 0),
        ({"params": p, "grads": np.array([0.3, -0.1]), "m": np.array([0.1, -0.2]),
          "v": np.array([0.05, 0.02]), "t": 3}, {"lr": 0.1, "b1": 0.8, "b2": 0.9, "eps": 0.1},
         None),
        ({"params": p, "grads": np.array([1e-3, -2e-2]), "m": np.array([1e-3, 1e-2]),
          "v": np.array([1e-5, 1e-4]), "t": 10}, {"lr": 0.01, "b1": 0.9, "b2": 0.99,
                                                 "eps": 1e-2}, None),
        ({"params": p, "grads": g, "m": np.array([0.2, 0.5]), "v": np.array([0.3, 1.0]),
          "t": 1000}, {"lr": 0.01}, 1),
    ]
    for _ in range(trials):
        shape = _shape(rng)
        args = {"params": rng.normal(0, 2, shape), "grads": _grads(rng, shape),
                "m": rng.normal(0, 0.5, shape), "v": _positive(rng, shape),
                "t": int(rng.integers(1, 30))}
        cases.append((args, {"lr": _loguniform(rng, 1e-3, 0.5), "b1": float(rng.uniform(0.5, 0.95)),
                             "b2": float(rng.uniform(0.9, 0.9999)), "eps": _eps(rng)}, None))
    _check(adam_step, _ADAM, cases, seed=seed, random_starts=random_starts, steps=steps)
