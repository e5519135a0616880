r"""Checkers for lesson 11-custom-rules.

Every exercise is written with JAX, so every checker runs JAX transformations of the
student's function (``jax.grad``, ``jax.jvp``, ``jax.vjp``, ``jax.jit``, the saved-residual
listing) *inside* :func:`course.checking.call`: grading records what they returned, as plain
data, and the replay compares it with the oracles here.

Oracles, never the solution's code:

* ``safe_norm``: ``numpy.linalg.norm`` and the closed form :math:`x / \lVert x\rVert`; 0 at 0.
* ``softplus``: ``numpy.logaddexp(0, x)`` and ``scipy.special.expit`` (the sigmoid).
* ``clip_gradient`` and ``straight_through_round``: ``numpy.clip`` and ``numpy.round`` of the
  cotangent and of the input; the rule's presence read from the traced program.
* ``checkpointed_chain``: the plain chain differentiated by ``jax.grad``; JAX's own listing of
  the residuals reverse mode saves (``saved_residuals``, what
  ``jax.ad_checkpoint.print_saved_residuals`` prints) must hold one activation per block
  boundary, which a chain that does not checkpoint (or checkpoints other blocks) cannot fake.
* ``fixed_point_grad``: a fixed-point iteration run to convergence and differentiated by
  ``jax.jacfwd``; maps with a known fixed point :math:`x^\star = h(\theta)`, differentiated as
  ``jax.jacfwd(h)``, including slowly contracting and *repelling* fixed points, where an
  unrolled iteration is far off or diverges; central differences as a second witness; and the
  number of times ``g`` is called (an unrolled solver calls it once per iteration).
* ``ridge_hypergrad``: ``jax.grad`` of the closed form
  :math:`w^\star(\lambda) = (X^\top X + \lambda I)^{-1} X^\top y`; central differences of it in
  numpy as a second witness; ill-conditioned problems on which an unrolled iterative solver has
  not converged.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
from collections.abc import Callable
from typing import Any

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

__all__ = [
    "check_checkpointed_chain",
    "check_clip_gradient",
    "check_fixed_point_grad",
    "check_ridge_hypergrad",
    "check_safe_norm",
    "check_softplus",
    "check_straight_through_round",
    "ready",
    "saved_residuals",
]

EXACT = Tolerance(rtol=0.0, atol=0.0)
#: Closed forms against JAX or numpy: round-off only.
CLOSE = Tolerance(rtol=1e-12, atol=1e-300)
#: Linear solves: round-off grows with the condition number (up to about 1e7 here).
SOLVE = Tolerance(rtol=1e-7, atol=1e-12)
#: Central differences, the second witness.
WITNESS = Tolerance(rtol=1e-5, atol=1e-8)
#: How many times `fixed_point_grad` may call g (two Jacobians and a few evaluations).
MAX_G_CALLS = 10

_TRACER_HINT = ("jax could not trace your function: write it with jax.numpy and jax.lax, "
                "never a Python `if` on a traced value or a conversion to float or numpy.")


def _jax():
    from course.oracle import jax, jnp

    return jax, jnp


def saved_residuals(f: Callable, *args) -> list[tuple[tuple[int, ...], str]]:
    """(shape, description) of every value reverse mode saves for ``f(*args)``.

    JAX's own listing, the one ``jax.ad_checkpoint.print_saved_residuals`` prints.
    """
    from jax._src.ad_checkpoint import saved_residuals as listing

    return [(tuple(aval.shape), str(source)) for aval, source in listing(f, *args)]


def _kind(fn: Any) -> str:
    """The type name of a (possibly jit-wrapped) function: 'custom_jvp', 'custom_vjp', ..."""
    seen = 0
    while seen < 5:
        name = type(fn).__name__
        if name in ("custom_jvp", "custom_vjp"):
            return name
        inner = getattr(fn, "__wrapped__", None)
        if inner is None:
            return name
        fn, seen = inner, seen + 1
    return type(fn).__name__


_LAST_CHECKED: list[Any] = []


def _fresh_caches(fn: Any) -> None:
    """Drop JAX's compiled code when a check starts on a new answer.

    Every answer compiles programs of its own (its functions, traced anew), and JAX keeps
    them all: a kernel that checks many answers in turn (the grading-quality runs) would grow
    without bound. The visible and the hidden checks of one answer share the compilations.
    In the grader's replay no student code runs, so nothing is compiled for it.
    """
    from course import recording

    if recording.mode() == "replay" or (_LAST_CHECKED and _LAST_CHECKED[0] is fn):
        return
    if _LAST_CHECKED:
        jax, _ = _jax()
        jax.clear_caches()
        _TRANSFORMED.clear()
    _LAST_CHECKED[:] = [fn]


def _with_hint(failure: CheckFailed) -> CheckFailed:
    text = str(failure)
    if "Tracer" in text or "Concretization" in text or "concrete value" in text:
        return CheckFailed(f"{text}\n  hint: {_TRACER_HINT}")
    return failure


def _arrays(value: Any, what: str) -> np.ndarray:
    return as_float_array(value, what=what)


# ----------------------------------------------------------------- demos use the student's code

_READY: dict[int, tuple[Any, bool]] = {}


def ready(fn: Any, name: str) -> bool:
    """True when ``fn`` is implemented and passes its visible check (demos then use it);
    otherwise print one line naming the exercise to finish."""
    known = _READY.get(id(fn))
    if known is not None and known[0] is fn:
        return known[1]
    check = globals()[f"check_{name}"]
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            check(fn)
        ok = True
    except Exception:
        ok = False
    _READY[id(fn)] = (fn, ok)
    if not ok:
        print(f"Finish the exercise `{name}` (its check must pass) to run this demo with "
              "your own function.")
    return ok


# ------------------------------------------------------------------------------ safe_norm


_TRANSFORMED: dict[tuple[int, str], tuple[Any, Callable]] = {}


def _transformed(fn: Callable, kind: str, make: Callable[[], Callable]) -> Callable:
    """One jax transformation of ``fn`` per kind, reused so that jit compiles once per shape."""
    key = (id(fn), kind)
    known = _TRANSFORMED.get(key)
    if known is None or known[0] is not fn:
        if any(held is not fn for held, _ in _TRANSFORMED.values()):
            _TRANSFORMED.clear()  # keep one function's compilations, not every answer's
        known = _TRANSFORMED[key] = (fn, make())
    return known[1]


def _safe_norm_probe(fn: Callable, x: np.ndarray) -> dict[str, Any]:
    jax, jnp = _jax()
    value = fn(jnp.asarray(x))
    grad = _transformed(fn, "grad", lambda: jax.grad(fn))(jnp.asarray(x))
    facts = {"value": np.asarray(value, dtype=float), "grad": np.asarray(grad, dtype=float)}
    try:
        facts["jit_value"] = np.asarray(_transformed(fn, "jit", lambda: jax.jit(fn))(x),
                                        dtype=float)
        facts["jit_grad"] = np.asarray(
            _transformed(fn, "jit_grad", lambda: jax.jit(jax.grad(fn)))(x), dtype=float)
    except Exception as error:
        facts["jit_error"] = f"{type(error).__name__}: {str(error)[:300]}"
    return facts


def _safe_norm_case(safe_norm: Callable, x: np.ndarray) -> None:
    inputs = {"x": x}
    try:
        facts = call(_safe_norm_probe, safe_norm, x, name="safe_norm", inputs=inputs).value
    except CheckFailed as failure:
        raise _with_hint(failure) from None
    norm = float(np.linalg.norm(x))
    at_zero = norm == 0.0
    value = _arrays(facts["value"], "safe_norm(x)")
    expect_close(value, norm, what="safe_norm(x)", inputs=inputs,
                 tolerance=EXACT if at_zero else CLOSE,
                 hint=(
                     "a constant added inside the square root (sqrt(sum(x**2) + eps)) shifts "
                     "the norm of small vectors: keep the value exact and use the double "
                     "`jnp.where` instead.") if value.shape == () and value > norm else None)
    grad = _arrays(facts["grad"], "jax.grad(safe_norm)(x)")
    if at_zero:
        hint = ("jax.grad gives nan at x = 0: the square root's derivative 1 / (2 sqrt(s)) is "
                "inf at s = 0, and `jnp.where` differentiates BOTH branches, so 0 * inf = nan "
                "leaks into the gradient even from the branch it does not select. Use the "
                "double where: feed the square root a harmless s (e.g. 1) where s == 0, then "
                "select 0.") if not np.all(np.isfinite(grad)) else (
                "at x = 0 the gradient of the safe norm is defined as exactly 0.")
        expect_close(grad, np.zeros_like(x), what="jax.grad(safe_norm)(x) at x = 0",
                     inputs=inputs, tolerance=EXACT, hint=hint)
    else:
        expect_close(grad, x / norm, what="jax.grad(safe_norm)(x)", inputs=inputs,
                     tolerance=CLOSE, hint=(
                         "away from 0 the gradient must be exactly x / norm(x): a constant "
                         "inside the square root changes it near 0."))
    if "jit_error" in facts:
        raise CheckFailed(f"`safe_norm` fails under jax.jit for x = {fmt(x)}: "
                          f"{facts['jit_error']}\n  hint: {_TRACER_HINT} "
                          "Choose with `jnp.where`, not `if`.")
    expect_close(facts["jit_value"], facts["value"], what="jax.jit(safe_norm)(x)", inputs=inputs,
                 tolerance=CLOSE)
    expect_close(facts["jit_grad"], grad, what="jax.jit(jax.grad(safe_norm))(x)",
                 inputs=inputs, tolerance=EXACT if at_zero else CLOSE)


def check_safe_norm(safe_norm: Callable, *, seed: int = 0, trials: int = 4) -> None:
    """Value, gradient (exactly 0 at 0, never nan) and jit of ``safe_norm``."""
    _fresh_caches(safe_norm)
    rng = np.random.default_rng(seed)
    cases = [np.zeros(3), np.array([3.0, 4.0]), np.zeros(1), np.array([-2.0]),
             np.array([1e-100, -2e-100, 2e-100]), np.array([1e-7, 0.0, -3e-7])]
    for _ in range(trials):
        n = int(rng.choice([1, 2, 3]))
        scale = 10.0 ** rng.integers(-6, 4)
        cases.append(rng.normal(size=n) * scale)
    cases.append(np.zeros(2))
    for x in cases:
        _safe_norm_case(safe_norm, x)
    passed("safe_norm", f"value, jax.grad and jax.jit agree with the closed form at "
                        f"{len(cases)} points, gradient exactly 0 at x = 0")


# ------------------------------------------------------------------------------- softplus

_SOFTPLUS_FIXED = np.array([-1000.0, -745.0, -700.0, -100.0, -40.0, -20.0, -1.0, -1e-8, 0.0,
                            1e-8, 0.5, 1.0, 20.0, 36.0, 40.0, 100.0, 709.0, 710.0, 800.0,
                            1000.0])


def _softplus_probe(fn: Callable, x: np.ndarray, t: np.ndarray) -> dict[str, Any]:
    jax, jnp = _jax()
    xs = jnp.asarray(x)
    primal, tangent = jax.jvp(fn, (xs,), (jnp.asarray(t),))
    facts = {
        "kind": _kind(fn),
        "value": np.asarray(fn(xs), dtype=float),
        "grad": np.asarray(jax.grad(lambda v: jnp.sum(fn(v)))(xs), dtype=float),
        "jvp_primal": np.asarray(primal, dtype=float),
        "jvp_tangent": np.asarray(tangent, dtype=float),
        "scalar": np.asarray(fn(float(x[0])), dtype=float),
        "scalar_grad": np.asarray(jax.grad(fn)(float(x[0])), dtype=float),
    }
    try:
        facts["jit_value"] = np.asarray(jax.jit(fn)(xs), dtype=float)
    except Exception as error:
        facts["jit_error"] = f"{type(error).__name__}: {str(error)[:300]}"
    return facts


def _sigmoid(x: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(x)


def _softplus_value_mistakes(x: np.ndarray) -> list[Mistake]:
    with np.errstate(all="ignore"):
        naive = np.log(1.0 + np.exp(x))
        no_log1p = np.maximum(x, 0.0) + np.log(1.0 + np.exp(-np.abs(x)))
    return [
        Mistake("log(1 + exp(x)) as written: exp(x) overflows to inf for x > 709 and 1 + "
                "exp(x) rounds to 1 for x < -37. Use max(x, 0) + log1p(exp(-|x|)).", naive,
                CLOSE),
        Mistake("1 + exp(-|x|) rounds to 1 when exp(-|x|) < 1e-16, so tiny values become 0: "
                "use jnp.log1p(jnp.exp(-jnp.abs(x))), which keeps them.", no_log1p, CLOSE),
    ]


def _softplus_grad_mistakes(x: np.ndarray) -> list[Mistake]:
    with np.errstate(all="ignore"):
        return [
            Mistake("the derivative of log(1 + e^x) is e^x / (1 + e^x) = sigmoid(x), not "
                    "sigmoid(-x).", _sigmoid(-x), CLOSE),
            Mistake("exp(x) is the derivative of the inner function only: divide by 1 + e^x "
                    "(sigmoid(x)).", np.exp(x), CLOSE),
        ]


_NAN_SLOPE = ("the derivative is nan or inf: exp(x) / (1 + exp(x)) is inf / inf for x > 709. "
              "Write sigmoid(x) so that it never overflows (jax.nn.sigmoid, or "
              "1 / (1 + exp(-x)), whose exp only overflows where the result is 0).")


def _softplus_case(softplus: Callable, x: np.ndarray, t: np.ndarray, label: str) -> None:
    inputs = {"x": x}
    try:
        facts = call(_softplus_probe, softplus, x, t, name="softplus", inputs=inputs).value
    except CheckFailed as failure:
        raise _with_hint(failure) from None
    expect_true(facts["kind"] == "custom_jvp", (
        f"`softplus` is a {facts['kind']}, not a jax.custom_jvp function: decorate it with "
        "`@jax.custom_jvp` and give it its derivative rule with `@softplus.defjvp` (a library "
        "softplus is what this exercise builds)."))
    expected = np.logaddexp(0.0, x)
    slope = _sigmoid(x)
    expect_close(facts["value"], expected, what=f"softplus(x) on {label}", inputs=inputs,
                 tolerance=CLOSE, mistakes=lambda: _softplus_value_mistakes(x))
    expect_close(facts["jvp_primal"], expected, what="the primal output of your jvp rule",
                 inputs=inputs, tolerance=CLOSE, mistakes=lambda: _softplus_value_mistakes(x))
    expect_close(facts["jvp_tangent"], slope * t, what=f"jax.jvp(softplus, (x,), (t,)) on {label}",
                 inputs={"x": x, "t": t}, tolerance=Tolerance(rtol=1e-10, atol=1e-15),
                 mistakes=lambda: [
                     Mistake("the rule ignores the incoming tangent x_dot: return "
                             "sigmoid(x) * x_dot, not sigmoid(x).", slope, CLOSE),
                     *[Mistake(m.explanation, m.value * t, m.tolerance)
                       for m in _softplus_grad_mistakes(x)]],
                 hint=_NAN_SLOPE if not np.all(np.isfinite(
                     _arrays(facts["jvp_tangent"], "the jvp tangent"))) else None)
    grad = _arrays(facts["grad"], "jax.grad of softplus")
    hint = None
    if not np.all(np.isfinite(grad)):
        hint = _NAN_SLOPE
    expect_close(grad, slope, what=f"jax.grad of softplus on {label}", inputs=inputs,
                 tolerance=Tolerance(rtol=1e-10, atol=1e-15),
                 mistakes=lambda: _softplus_grad_mistakes(x), hint=hint)
    expect_close(facts["scalar"], expected[0], what=f"softplus({fmt(float(x[0]))}) (a float)",
                 tolerance=CLOSE)
    expect_close(facts["scalar_grad"], slope[0],
                 what=f"jax.grad(softplus)({fmt(float(x[0]))})",
                 tolerance=Tolerance(rtol=1e-10, atol=1e-15))
    if "jit_error" in facts:
        raise CheckFailed(f"`softplus` fails under jax.jit: {facts['jit_error']}\n  hint: "
                          f"{_TRACER_HINT}")
    expect_close(facts["jit_value"], expected, what="jax.jit(softplus)(x)", inputs=inputs,
                 tolerance=CLOSE)


def check_softplus(softplus: Callable, *, seed: int = 0, trials: int = 2) -> None:
    """Values on [-1000, 1000], jax.grad (sigmoid, finite), jvp tangents, jit, custom_jvp."""
    _fresh_caches(softplus)
    rng = np.random.default_rng(seed)
    batches = [(_SOFTPLUS_FIXED, "fixed points from -1000 to 1000")]
    for i in range(trials):
        batches.append((rng.uniform(-1000.0, 1000.0, size=12), f"random points {i + 1}"))
        batches.append((rng.uniform(-45.0, 45.0, size=12), f"random points near 0, {i + 1}"))
    for x, label in batches:
        _softplus_case(softplus, x, rng.normal(size=x.shape), label)
    count = sum(len(x) for x, _ in batches)
    passed("softplus", f"a jax.custom_jvp whose values, gradients and jvp tangents agree with "
                       f"logaddexp(0, x) and sigmoid(x) at {count} points in [-1000, 1000]")


# ---------------------------------------------------------------- clip_gradient, straight-through


def _vjp_probe(fn: Callable, args: tuple, x: np.ndarray, ct: np.ndarray,
               weights: np.ndarray, jit: bool) -> dict[str, Any]:
    jax, jnp = _jax()

    def f(v):
        return fn(v, *args)

    xs = jnp.asarray(x)
    value, pullback = jax.vjp(f, xs)
    facts = {
        "kind": _kind(fn),
        "value": np.asarray(value, dtype=float),
        "pullback": np.asarray(pullback(jnp.asarray(ct))[0], dtype=float),
        # a loss on top: the cotangent reaching the rule is 2 * weights * f(x)
        "grad": np.asarray(jax.grad(lambda v: jnp.sum(weights * f(v) ** 2))(xs), dtype=float),
    }
    if not jit:
        return facts
    try:
        jv, jpull = jax.jit(lambda v, c: (f(v), jax.vjp(f, v)[1](c)[0]))(xs, jnp.asarray(ct))
        facts["jit_value"], facts["jit_pullback"] = (np.asarray(jv, dtype=float),
                                                     np.asarray(jpull, dtype=float))
    except Exception as error:
        facts["jit_error"] = f"{type(error).__name__}: {str(error)[:300]}"
    return facts


def _require_custom_vjp(facts: dict, name: str) -> None:
    expect_true(facts["kind"] == "custom_vjp", (
        f"`{name}` is a {facts['kind']}, not a jax.custom_vjp function: decorate it with "
        f"`@jax.custom_vjp` and attach the forward and backward rules with "
        f"`{name}.defvjp(fwd, bwd)`."))


def _clip_case(clip_gradient: Callable, x: np.ndarray, lo: float, hi: float, ct: np.ndarray,
               weights: np.ndarray, jit: bool) -> None:
    inputs = {"x": x, "lo": lo, "hi": hi}
    try:
        facts = call(_vjp_probe, clip_gradient, (lo, hi), x, ct, weights, jit,
                     name="clip_gradient", inputs=inputs).value
    except CheckFailed as failure:
        raise _with_hint(failure) from None
    _require_custom_vjp(facts, "clip_gradient")
    expect_close(facts["value"], x, what="clip_gradient(x, lo, hi)", inputs=inputs,
                 tolerance=EXACT, mistakes=[Mistake(
                     "the forward pass clipped x: clip_gradient is the identity forward; only "
                     "the cotangent is clipped, in the backward rule.", np.clip(x, lo, hi),
                     EXACT)])
    norm = float(np.linalg.norm(ct))
    scale = min(1.0, hi / norm) if norm > 0 and hi > 0 else 1.0
    mistakes = [
        Mistake("the backward rule returns the cotangent unchanged: clip it with "
                "jnp.clip(g, lo, hi).", ct, EXACT),
        Mistake("the backward rule clipped the saved input x instead of the incoming "
                "cotangent g.", np.clip(x, lo, hi), EXACT),
        Mistake("lo and hi are swapped in the clip.", np.clip(ct, hi, lo), EXACT),
        Mistake("the cotangent's norm was clipped: this rule clips each entry to [lo, hi].",
                ct * scale, CLOSE),
    ]
    expect_close(facts["pullback"], np.clip(ct, lo, hi),
                 what="the pullback of clip_gradient applied to the cotangent g",
                 inputs={**inputs, "g": ct}, tolerance=EXACT, mistakes=mistakes)
    incoming = 2.0 * weights * x
    expect_close(facts["grad"], np.clip(incoming, lo, hi),
                 what="jax.grad of sum(w * clip_gradient(x, lo, hi)**2)",
                 inputs={**inputs, "w": weights}, tolerance=CLOSE, mistakes=[
                     Mistake("the cotangent passes unclipped.", incoming, CLOSE)])
    if not jit:
        return
    if "jit_error" in facts:
        raise CheckFailed(f"`clip_gradient` fails under jax.jit: {facts['jit_error']}")
    expect_close(facts["jit_value"], x, what="clip_gradient under jax.jit", tolerance=EXACT)
    expect_close(facts["jit_pullback"], np.clip(ct, lo, hi),
                 what="the pullback of clip_gradient under jax.jit", tolerance=EXACT)


def check_clip_gradient(clip_gradient: Callable, *, seed: int = 0, trials: int = 3) -> None:
    """Identity forward; the pullback clips each cotangent entry to [lo, hi] (also under jit)."""
    _fresh_caches(clip_gradient)
    rng = np.random.default_rng(seed)
    cases = [(np.array([0.5, -2.0, 3.0]), -1.0, 1.0, np.array([2.0, -0.5, -3.0])),
             (np.array([1.0, 2.0, 3.0, 4.0]), -0.1, 2.0, np.array([5.0, -5.0, 0.05, 1.5])),
             (np.array([-1.0, 0.0]), 0.0, 0.5, np.array([-2.0, 2.0]))]
    for _ in range(trials):
        n = int(rng.integers(2, 9))
        lo = -float(rng.uniform(0.05, 2.0))
        hi = float(rng.uniform(0.05, 2.0))
        cases.append((rng.normal(0, 2, n), lo, hi, rng.normal(0, 3, n)))
    for i, (x, lo, hi, ct) in enumerate(cases):  # jit compiles per case: twice is enough
        _clip_case(clip_gradient, x, lo, hi, ct, rng.uniform(0.2, 2.0, size=x.shape), i < 2)
    passed("clip_gradient", f"a jax.custom_vjp: identity forward, cotangents clipped to "
                            f"[lo, hi] in {len(cases)} cases (plain, inside a loss, and under jit)")


def _ste_case(straight_through_round: Callable, x: np.ndarray, ct: np.ndarray,
              weights: np.ndarray, jit: bool) -> None:
    inputs = {"x": x}
    try:
        facts = call(_vjp_probe, straight_through_round, (), x, ct, weights, jit,
                     name="straight_through_round", inputs=inputs).value
    except CheckFailed as failure:
        raise _with_hint(failure) from None
    _require_custom_vjp(facts, "straight_through_round")
    with np.errstate(all="ignore"):
        half_up = np.floor(x + 0.5)
    expect_close(facts["value"], np.round(x), what="straight_through_round(x)", inputs=inputs,
                 tolerance=EXACT, mistakes=[
                     Mistake("halves were rounded up (floor(x + 0.5)); jnp.round rounds "
                             "them to the nearest even integer, as the forward pass must.",
                             half_up, EXACT),
                     Mistake("the forward pass must round: it returned x itself.", x, EXACT)])
    expect_close(facts["pullback"], ct, what="the pullback of straight_through_round applied "
                 "to the cotangent g", inputs={**inputs, "g": ct}, tolerance=EXACT, mistakes=[
                     Mistake("the backward rule returns 0: that is jnp.round's own derivative "
                             "(0 almost everywhere), which the straight-through estimator "
                             "replaces by passing g unchanged.", np.zeros_like(ct), EXACT),
                     Mistake("the backward rule rounded the cotangent: pass it unchanged.",
                             np.round(ct), EXACT),
                     Mistake("the backward rule returned the input x, not the cotangent g.",
                             x, EXACT)])
    expect_close(facts["grad"], 2.0 * weights * np.round(x),
                 what="jax.grad of sum(w * straight_through_round(x)**2)",
                 inputs={**inputs, "w": weights}, tolerance=CLOSE)
    if not jit:
        return
    if "jit_error" in facts:
        raise CheckFailed(f"`straight_through_round` fails under jax.jit: {facts['jit_error']}")
    expect_close(facts["jit_value"], np.round(x), what="straight_through_round under jax.jit",
                 tolerance=EXACT)
    expect_close(facts["jit_pullback"], ct, what="its pullback under jax.jit", tolerance=EXACT)


def check_straight_through_round(straight_through_round: Callable, *, seed: int = 0,
                                 trials: int = 3) -> None:
    """jnp.round forward (halves to even); the pullback passes the cotangent unchanged."""
    _fresh_caches(straight_through_round)
    rng = np.random.default_rng(seed)
    cases = [np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.2, -2.7]), np.array([3.49, -3.51, 0.0])]
    for _ in range(trials):
        n = int(rng.integers(2, 9))
        x = rng.normal(0, 4, n)
        x[0] = np.floor(x[0]) + 0.5  # one exact half in every case
        cases.append(x)
    for i, x in enumerate(cases):
        _ste_case(straight_through_round, x, rng.normal(0, 2, x.shape),
                  rng.uniform(0.2, 2.0, size=x.shape), i < 2)
    passed("straight_through_round", f"a jax.custom_vjp: jnp.round forward, cotangent passed "
                                     f"unchanged, in {len(cases)} cases (also under jit)")


# -------------------------------------------------------------------------- checkpointed_chain


def _dense_layer(p, x):
    _, jnp = _jax()
    W, b = p
    return jnp.tanh(x @ W + b)


def _wave_layer(p, x):
    _, jnp = _jax()
    return x + 0.5 * jnp.sin(p * x)


def _plain_chain(layer: Callable, params: list, x):
    for p in params:
        x = layer(p, x)
    return x


def _flat(tree) -> np.ndarray:
    jax, _ = _jax()
    leaves = jax.tree_util.tree_leaves(tree)
    return np.concatenate([np.ravel(np.asarray(leaf, dtype=float)) for leaf in leaves])


def _chain_probe(fn: Callable, layer: Callable, params: list, x: np.ndarray,
                 segment: int, weights: np.ndarray) -> dict[str, Any]:
    jax, jnp = _jax()
    before = list(params)

    def loss(ps, v):
        return jnp.sum(weights * fn(layer, list(ps), v, segment))

    value = fn(layer, list(params), jnp.asarray(x), segment)
    grads = jax.grad(loss, argnums=(0, 1))(list(params), jnp.asarray(x))
    residuals = saved_residuals(loss, list(params), jnp.asarray(x))
    same = len(before) == len(params) and all(a is b for a, b in zip(before, params, strict=True))
    return {"value": np.asarray(value, dtype=float), "grads": _flat(grads),
            "residuals": [[list(shape), text] for shape, text in residuals],
            "params_unchanged": same}


def _activations(residuals: list) -> list:
    """Residuals computed by the chain (not arguments or constants passed in)."""
    return [r for r in residuals
            if not str(r[1]).startswith(("from the argument", "from a constant"))]


def _chain_case(checkpointed_chain: Callable, layer: Callable, label: str, params: list,
                x: np.ndarray, segment: int, weights: np.ndarray) -> None:
    jax, jnp = _jax()
    n = len(params)
    inputs = {"layer": label, "params_list": f"{n} layers", "x": x, "segment": segment}
    try:
        facts = call(_chain_probe, checkpointed_chain, layer, params, x, segment, weights,
                     name="checkpointed_chain", inputs=inputs).value
    except CheckFailed as failure:
        raise _with_hint(failure) from None
    expect_true(bool(facts["params_unchanged"]),
                "`checkpointed_chain` modified `params_list`: leave the list as it was.")

    def loss(ps, v):
        return jnp.sum(weights * _plain_chain(layer, list(ps), v))

    expected = np.asarray(_plain_chain(layer, params, jnp.asarray(x)), dtype=float)
    expect_close(facts["value"], expected, what="checkpointed_chain(layer, params_list, x, "
                 "segment)", inputs=inputs, tolerance=CLOSE, hint=(
                     "apply every layer exactly once, in order: x = layer(p, x)."))
    want = _flat(jax.grad(loss, argnums=(0, 1))(list(params), jnp.asarray(x)))
    expect_close(facts["grads"], want, what="the gradient of sum(w * output) with respect to "
                 "params_list and x (flattened)", inputs=inputs, tolerance=Tolerance(1e-10, 1e-13))
    blocks = math.ceil(n / segment)
    expected_count = blocks - 1
    got = _activations(facts["residuals"])
    plain = _activations(saved_residuals(loss, list(params), jnp.asarray(x)))
    shapes_ok = all(tuple(r[0]) == x.shape for r in got)
    if len(got) == expected_count and shapes_ok:
        return
    if len(got) == len(plain):
        why = ("nothing is checkpointed: reverse mode keeps every layer's intermediate values. "
               "Wrap each block of `segment` consecutive layers in jax.checkpoint.")
    elif len(got) == n - 1 and segment > 1:
        why = ("each layer is checkpointed on its own: wrap blocks of `segment` consecutive "
               "layers, so that only the blocks' inputs are kept.")
    elif len(got) == 0:
        why = ("the whole chain is one checkpoint: reverse mode then recomputes everything "
               "from x. Checkpoint blocks of `segment` layers.")
    else:
        why = "checkpoint blocks of exactly `segment` consecutive layers (the last may be shorter)."
    listing = "; ".join(f"{tuple(r[0])} {r[1]}" for r in got[:6])
    raise CheckFailed(
        f"reverse mode through checkpointed_chain saves {len(got)} intermediate values, "
        f"expected {expected_count} (one activation of shape {x.shape} at each boundary "
        f"between the {blocks} blocks of {segment} of {n} layers).\n  input:    "
        f"{', '.join(f'{k}={fmt(v)}' for k, v in inputs.items())}\n  saved:    "
        f"{listing or 'none'}{' ...' if len(got) > 6 else ''}\n  likely mistake: {why}")


def check_checkpointed_chain(checkpointed_chain: Callable, *, seed: int = 0,
                             trials: int = 2) -> None:
    """Value and gradient equal the plain chain's; residuals only at block boundaries."""
    _fresh_caches(checkpointed_chain)
    rng = np.random.default_rng(seed)

    def dense(n, d, batch):
        params = [(rng.normal(size=(d, d)) / np.sqrt(d), rng.normal(0, 0.1, d))
                  for _ in range(n)]
        return params, rng.normal(size=(batch, d))

    def wave(n, d):
        return [rng.uniform(0.5, 2.0, d) for _ in range(n)], rng.normal(size=d)

    cases = []
    for n, segment in ((12, 4), (12, 3), (10, 4), (6, 1), (6, 6), (5, 8)):
        params, x = dense(n, 3, 2)
        cases.append((_dense_layer, "tanh(x @ W + b)", params, x, segment))
    for _ in range(trials):
        n = int(rng.integers(4, 17))
        segment = int(rng.integers(2, n))
        params, x = wave(n, int(rng.integers(2, 5)))
        cases.append((_wave_layer, "x + 0.5 sin(p x)", params, x, segment))
    for layer, label, params, x, segment in cases:
        _chain_case(checkpointed_chain, layer, label, params, x, segment,
                    rng.normal(size=x.shape))
    passed("checkpointed_chain", f"{len(cases)} chains: values and gradients equal the plain "
                                 "chain's, and JAX's residual listing holds exactly one "
                                 "activation per block boundary")


# ---------------------------------------------------------------------------- fixed_point_grad


class _Map:
    """g(x, theta) handed to student code: counts how often it is called (or traced)."""

    def __init__(self, fn: Callable, label: str):
        self.fn, self.label, self.calls = fn, label, 0

    def __call__(self, x, theta):
        self.calls += 1
        return self.fn(x, theta)

    def __repr__(self) -> str:
        return self.label


def _fixed_point_probe(fn: Callable, g: _Map, x_star: np.ndarray, theta: np.ndarray):
    g.calls = 0
    x_copy, theta_copy = x_star.copy(), theta.copy()
    J = fn(g, x_copy, theta_copy)
    return np.asarray(J, dtype=float), g.calls


class _Problem:
    """A fixed-point problem: g, x*, theta, and the oracle's Jacobian dx*/dtheta."""

    def __init__(self, g: Callable, x_star, theta, J, label: str, witness=None):
        self.g, self.x_star, self.theta, self.J, self.label = g, x_star, theta, J, label
        self.witness = witness


@functools.cache
def _contraction_oracles() -> dict[str, Callable]:
    """Jitted: the fixed point of 0.5 tanh(W x + U theta + c) by 400 iterations, and its
    jacfwd (each compiles once per shape)."""
    jax, jnp = _jax()

    def solve(W, U, c, theta):  # 0.7**400 ~ 1e-62: converged to round-off, and differentiable
        def step(_, x):
            return 0.5 * jnp.tanh(W @ x + U @ theta + c)
        return jax.lax.fori_loop(0, 400, step, jnp.zeros(W.shape[0]))

    return {"solve": jax.jit(solve), "jacobian": jax.jit(jax.jacfwd(solve, argnums=3))}


def _contracting(rng: np.random.Generator, n: int, p: int) -> _Problem:
    """g = 0.5 tanh(W x + U theta + c) with ||W|| = 1.4: iterate to convergence, jacfwd it."""
    _, jnp = _jax()
    W = rng.normal(size=(n, n))
    W *= 1.4 / np.linalg.norm(W, 2)
    U, c = rng.normal(size=(n, p)), rng.normal(0, 0.3, n)

    def g(x, theta):
        return 0.5 * jnp.tanh(W @ x + U @ theta + c)

    oracles = _contraction_oracles()
    theta = rng.normal(size=p)
    x_star = np.asarray(oracles["solve"](W, U, c, theta), dtype=float)
    J = np.asarray(oracles["jacobian"](W, U, c, theta), dtype=float)
    h = 1e-6
    witness = np.column_stack([
        (np.asarray(oracles["solve"](W, U, c, theta + h * e))
         - np.asarray(oracles["solve"](W, U, c, theta - h * e))) / (2 * h)
        for e in np.eye(p)])
    return _Problem(g, x_star, theta, J, f"g = 0.5 tanh(W x + U theta + c), n = {n}",
                    witness)


def _known(rng: np.random.Generator, n: int, p: int, eigenvalues, label: str) -> _Problem:
    """g(x, th) = h(th) + M (x - h(th)) + 0.5 (x - h(th))**2: its fixed point is h(theta)."""
    jax, jnp = _jax()
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    M = Q @ np.diag(eigenvalues) @ Q.T
    A, b = rng.normal(size=(n, p)), rng.normal(0, 0.5, n)

    def h(theta):
        return jnp.tanh(A @ theta + b)

    def g(x, theta):
        r = x - h(theta)
        return h(theta) + M @ r + 0.5 * r**2

    theta = rng.normal(size=p)
    return _Problem(g, np.asarray(h(theta), dtype=float), theta,
                    np.asarray(jax.jacfwd(h)(theta), dtype=float), label)


def _fixed_point_mistakes(problem: _Problem) -> list[Mistake]:
    jax, _ = _jax()
    x, th = problem.x_star, problem.theta
    Gx = np.asarray(jax.jacfwd(problem.g, argnums=0)(x, th), dtype=float)
    Gt = np.asarray(jax.jacfwd(problem.g, argnums=1)(x, th), dtype=float)
    eye = np.eye(len(x))
    tol = Tolerance(1e-7, 1e-10)
    out = [Mistake("the sign: solve (I - dg/dx) J = dg/dtheta, not (I + dg/dx).",
                   np.linalg.solve(eye + Gx, Gt), tol),
           Mistake("you returned dg/dtheta alone: x* moves with theta too, which is what "
                   "(I - dg/dx) accounts for.", Gt, tol),
           Mistake("the overall sign is flipped: it is (I - dg/dx), not (dg/dx - I).",
                   -np.linalg.solve(eye - Gx, Gt), tol),
           Mistake("dg/dx is transposed: jax.jacobian(g, argnums=0) has shape (n, n) with "
                   "rows for the outputs.", np.linalg.solve(eye - Gx.T, Gt), tol),
           Mistake("you multiplied by (I - dg/dx) instead of solving with it.",
                   (eye - Gx) @ Gt, tol)]
    with contextlib.suppress(np.linalg.LinAlgError):
        out.append(Mistake("the identity is missing: solve (I - dg/dx) J = dg/dtheta, not "
                           "(dg/dx) J = dg/dtheta.", np.linalg.solve(Gx, Gt), tol))
    return out


def _fixed_point_case(fixed_point_grad: Callable, problem: _Problem) -> None:
    g = _Map(problem.g, problem.label)
    inputs = {"g": problem.label, "x_star": problem.x_star, "theta": problem.theta}
    x_before, theta_before = problem.x_star.copy(), problem.theta.copy()
    try:
        J, calls = call(_fixed_point_probe, fixed_point_grad, g, problem.x_star, problem.theta,
                        name="fixed_point_grad", inputs=inputs).value
    except CheckFailed as failure:
        raise _with_hint(failure) from None
    expect_unchanged(x_before, problem.x_star, name="fixed_point_grad", arg="x_star")
    expect_unchanged(theta_before, problem.theta, name="fixed_point_grad", arg="theta")
    expect_true(int(calls) <= MAX_G_CALLS, (
        f"`fixed_point_grad` called g {int(calls)} times for {problem.label}: that is an "
        "unrolled iteration. The implicit function theorem needs only the Jacobians of g at "
        f"(x_star, theta), a handful of calls (at most {MAX_G_CALLS} here)."))
    hint = None
    if "repelling" in problem.label or "slowly" in problem.label:
        hint = ("on this map an iteration x <- g(x, theta) converges very slowly or not at all, "
                "so unrolling it cannot give dx*/dtheta: solve (I - dg/dx) J = dg/dtheta.")
    expect_close(J, problem.J, what="fixed_point_grad(g, x_star, theta)", inputs=inputs,
                 tolerance=Tolerance(1e-7, 1e-10), mistakes=lambda: _fixed_point_mistakes(problem),
                 hint=hint)
    if problem.witness is not None:
        expect_close(J, problem.witness, what="fixed_point_grad against central differences of "
                     "the converged fixed point", inputs=inputs, tolerance=WITNESS)


def check_fixed_point_grad(fixed_point_grad: Callable, *, seed: int = 0, trials: int = 1) -> None:
    """dx*/dtheta on contracting, slowly contracting and repelling fixed points; g's call count."""
    _fresh_caches(fixed_point_grad)
    rng = np.random.default_rng(seed)
    problems = [_contracting(rng, 3, 2),
                _known(rng, 4, 2, [0.999, 0.5, -0.3, 0.1],
                       "a slowly contracting map (dg/dx has eigenvalue 0.999), n = 4"),
                _known(rng, 3, 2, [1.8, -2.5, 0.3],
                       "a repelling fixed point (dg/dx has eigenvalues 1.8 and -2.5), n = 3")]
    for i in range(trials):
        n, p = ((3, 2), (5, 3))[i % 2]
        problems.append(_contracting(rng, n, p))
        eigs = rng.uniform(-0.9, 0.9, n)
        eigs[0] = 0.9995
        problems.append(_known(rng, n, p, eigs, f"a slowly contracting map (dg/dx has "
                                                f"eigenvalue 0.9995), n = {n}"))
        eigs = rng.uniform(-3.0, 3.0, n)
        eigs[0] = -1.5
        eigs[np.abs(eigs - 1.0) < 0.2] = 0.5
        problems.append(_known(rng, n, p, eigs, f"a repelling fixed point (dg/dx has "
                                                f"eigenvalue -1.5), n = {n}"))
    for problem in problems:
        _fixed_point_case(fixed_point_grad, problem)
    passed("fixed_point_grad", f"{len(problems)} fixed points (contracting, slowly contracting, "
                               "repelling): dx*/dtheta agrees with the converged iteration, the "
                               "known fixed-point map and central differences, calling g at "
                               f"most {MAX_G_CALLS} times")


# ------------------------------------------------------------------------------ ridge_hypergrad


@functools.cache
def _ridge_oracle_jitted() -> Callable:
    """jax.grad of the validation MSE of the closed-form ridge solution, jitted."""
    jax, jnp = _jax()

    def val_loss(lam, X, y, X_val, y_val):
        w = jnp.linalg.solve(X.T @ X + lam * jnp.eye(X.shape[1]), X.T @ y)
        return jnp.mean((X_val @ w - y_val) ** 2)

    return jax.jit(jax.grad(val_loss))


def _ridge_oracle(X, y, lam, X_val, y_val) -> float:
    return float(_ridge_oracle_jitted()(float(lam), X, y, X_val, y_val))


def _ridge_numpy(X, y, lam, X_val, y_val, *, factor=1.0, train_val=False) -> float:
    w = np.linalg.solve(X.T @ X + factor * lam * np.eye(X.shape[1]), X.T @ y)
    Xv, yv = (X, y) if train_val else (X_val, y_val)
    return float(np.mean((Xv @ w - yv) ** 2))


def _ridge_witness(X, y, lam, X_val, y_val) -> float:
    h = 1e-4 * lam
    return (_ridge_numpy(X, y, lam + h, X_val, y_val)
            - _ridge_numpy(X, y, lam - h, X_val, y_val)) / (2 * h)


def _ridge_grad(X, y, lam, X_val, y_val, *, factor=1.0, train_val=False) -> float:
    """d/dlam by the implicit formula, for the mistakes (numpy)."""
    A = X.T @ X + factor * lam * np.eye(X.shape[1])
    w = np.linalg.solve(A, X.T @ y)
    Xv, yv = (X, y) if train_val else (X_val, y_val)
    dL_dw = 2.0 * Xv.T @ (Xv @ w - yv) / len(yv)
    return float(-factor * dL_dw @ np.linalg.solve(A, w))


def _ridge_mistakes(X, y, lam, X_val, y_val) -> list[Mistake]:
    g = _ridge_grad(X, y, lam, X_val, y_val)
    tol = Tolerance(1e-6, 1e-12)
    return [
        Mistake("the sign is flipped: dw*/dlam = -(X^T X + lam I)^-1 w*.", -g, tol),
        Mistake("the validation MSE is a mean: divide the sum of squares by the number of "
                "validation points.", g * len(y_val), tol),
        Mistake("a factor 2 is missing: the gradient of mean((X_val w - y_val)**2) with "
                "respect to w is 2 X_val^T (X_val w - y_val) / m.", g / 2, tol),
        Mistake("that is the derivative with respect to log(lam), lam times d/dlam: return "
                "d/dlam itself.", g * lam, tol),
        Mistake("the validation loss was computed on the training data; use X_val, y_val.",
                _ridge_grad(X, y, lam, X_val, y_val, train_val=True), tol),
        Mistake("w*(lam) minimises norm(X w - y)**2 + lam norm(w)**2 (a sum, not a mean over "
                "the n training points): (X^T X + lam I) w = X^T y.",
                _ridge_grad(X, y, lam, X_val, y_val, factor=len(y)), tol),
        Mistake("w*(lam) minimises norm(X w - y)**2 + lam norm(w)**2, whose normal equations "
                "are (X^T X + lam I) w = X^T y (no factor 1/2 on lam).",
                _ridge_grad(X, y, lam, X_val, y_val, factor=0.5), tol),
    ]


def _ridge_problem(rng: np.random.Generator, n: int, d: int, m: int, lam: float,
                   condition: float | None = None):
    X = rng.normal(size=(n, d))
    if condition is not None:  # singular values spread over `condition`, log-uniformly
        U, _, Vt = np.linalg.svd(X, full_matrices=False)
        X = U @ np.diag(np.geomspace(3.0, 3.0 / condition, min(n, d))) @ Vt
    w_true = rng.normal(size=d)
    y = X @ w_true + rng.normal(0, 0.3, n)
    X_val = rng.normal(size=(m, d))
    if condition is not None:
        X_val = X_val @ Vt.T @ np.diag(np.geomspace(3.0, 3.0 / condition, d)) @ Vt
    y_val = X_val @ w_true + rng.normal(0, 0.3, m)
    return X, y, lam, X_val, y_val


def _ridge_case(ridge_hypergrad: Callable, problem, label: str, witness: bool) -> None:
    X, y, lam, X_val, y_val = problem
    inputs = {"X": X, "y": y, "lam": lam, "X_val": X_val, "y_val": y_val}
    copies = [a.copy() for a in (X, y, X_val, y_val)]
    try:
        got = call(ridge_hypergrad, X, y, lam, X_val, y_val, name="ridge_hypergrad",
                   inputs=inputs).value
    except CheckFailed as failure:
        raise _with_hint(failure) from None
    for before, after, arg in zip(copies, (X, y, X_val, y_val), ("X", "y", "X_val", "y_val"),
                                  strict=True):
        expect_unchanged(before, after, name="ridge_hypergrad", arg=arg)
    expected = _ridge_oracle(X, y, lam, X_val, y_val)
    hint = None
    if "ill-conditioned" in label:
        hint = ("on this ill-conditioned problem an iterative solver unrolled for any practical "
                "number of steps has not converged, so differentiating through it is far off: "
                "use the linear solves of the implicit function theorem.")
    expect_close(got, expected, what=f"ridge_hypergrad on {label}", inputs=inputs,
                 tolerance=SOLVE, mistakes=lambda: _ridge_mistakes(X, y, lam, X_val, y_val),
                 hint=hint)
    if witness:
        expect_close(got, _ridge_witness(X, y, lam, X_val, y_val),
                     what=f"ridge_hypergrad on {label} against central differences",
                     inputs=inputs, tolerance=WITNESS)


def check_ridge_hypergrad(ridge_hypergrad: Callable, *, seed: int = 0, trials: int = 2) -> None:
    """d/dlam of the validation MSE against jax.grad of the closed form, on easy and on
    ill-conditioned problems (where an unrolled solver has not converged)."""
    _fresh_caches(ridge_hypergrad)
    rng = np.random.default_rng(seed)
    cases = [(_ridge_problem(rng, 30, 5, 20, 0.7), "a 30 x 5 problem", True),
             (_ridge_problem(rng, 12, 20, 10, 2.5), "a wide 12 x 20 problem", True),
             (_ridge_problem(rng, 50, 8, 30, 1e-4, condition=1e5),
              "an ill-conditioned 50 x 8 problem (condition number 1e5)", False)]
    for i in range(trials):  # the shapes above, new data: the oracle compiles once per shape
        n, d, m = ((30, 5, 20), (12, 20, 10))[i % 2]
        lam = float(10.0 ** rng.uniform(-2, 2))
        cases.append((_ridge_problem(rng, n, d, m, lam), f"a random {n} x {d} problem", True))
        cases.append((_ridge_problem(rng, 50, 8, 30, float(10.0 ** rng.uniform(-5, -3)),
                                     condition=10.0 ** rng.uniform(4, 5.5)),
                      "an ill-conditioned random 50 x 8 problem", False))
    for problem, label, witness in cases:
        _ridge_case(ridge_hypergrad, problem, label, witness)
    passed("ridge_hypergrad", f"{len(cases)} problems: d/dlam of the validation MSE agrees with "
                              "jax.grad of the closed form (and with central differences), "
                              "ill-conditioned ones included")
