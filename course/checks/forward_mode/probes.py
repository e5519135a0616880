"""Probe functions for ``derivative`` and ``forward_gradient``.

At the point x the oracle (``jax.value_and_grad``) gives f(x) and the gradient g, and
a forward pass with any seed t has the derivative part g . t (the JVP), so a probe
can answer every seeding, right or wrong, and record it for the diagnosis. Those two
checks therefore need from the student's ``Dual`` class only ``Dual(value, deriv)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from course.checking import CheckFailed, Verdict, as_float_array, call, fmt

from .duals import COMPOSITE, _scalar

# ------------------------------------------------------------ probes for f


def _dual_parts_of_input(obj: Any, *, who: str, hint: str) -> tuple[float, float]:
    if not (hasattr(obj, "value") and hasattr(obj, "deriv")):
        raise CheckFailed(f"{who} received {type(obj).__name__} {fmt(obj)}, not a Dual: {hint}")
    return (_scalar(obj.value, what=f"the value of the Dual {who} received"),
            _scalar(obj.deriv, what=f"the deriv of the Dual {who} received"))


def _build_like(template: Any, value: float, deriv: float) -> Any:
    try:
        return type(template)(value, deriv)
    except NotImplementedError:
        raise
    except Exception as error:
        raise CheckFailed(
            f"could not build the result Dual({fmt(value)}, {fmt(deriv)}) with your Dual "
            f"class: {type(error).__name__}: {error}"
        ) from None


class _Probe:
    """``f`` for ``derivative`` (one Dual in) or ``forward_gradient`` (a list of n Duals in).

    Answers ``Dual(f(x), g . seed)`` from the oracle's value ``f(x)`` and gradient ``g``,
    and records the seeds of every pass.
    """

    def __init__(self, label: str, x: float | np.ndarray, value: float, grad: np.ndarray,
                 *, vector: bool) -> None:
        self.label = f"f(x) = {label}"
        self.vector = vector
        self.x = np.atleast_1d(np.array(x, dtype=np.float64))
        self.n = len(self.x)
        self.value = value
        self.grad = np.atleast_1d(np.asarray(grad, dtype=np.float64))
        self.passes: list[np.ndarray] = []

    def _inputs(self, *args: Any, **kwargs: Any) -> list[Any]:
        if not self.vector:
            if len(args) != 1 or kwargs:
                raise CheckFailed(f"f was called with {len(args) + len(kwargs)} arguments; f "
                                  "takes one Dual: f(Dual(x, 1.0)).")
            return [args[0]]
        if len(args) != 1 or kwargs:
            raise CheckFailed(
                f"f was called with {len(args) + len(kwargs)} arguments; f takes ONE argument, "
                f"a list of n = {self.n} Duals: f([Dual(x[0], ...), Dual(x[1], ...), ...])."
            )
        hint = (f"pass a list of n = {self.n} Duals, "
                "[Dual(x[j], 1.0 if j == i else 0.0) for j in range(n)].")
        if hasattr(args[0], "value") and hasattr(args[0], "deriv"):
            raise CheckFailed(f"f received a single Dual {fmt(args[0])}: {hint}")
        try:
            items = list(args[0])
        except TypeError:
            raise CheckFailed(
                f"f received {type(args[0]).__name__} {fmt(args[0])}: {hint}") from None
        if len(items) != self.n:
            raise CheckFailed(f"f received {len(items)} items; {hint}")
        return items

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        items = self._inputs(*args, **kwargs)
        hint = ("call f(Dual(x, 1.0)) so that the derivative travels with x." if not self.vector
                else "build Dual(x[j], 1.0 if j == i else 0.0) for each input j.")
        parts = [_dual_parts_of_input(item, who="f" if not self.vector else f"f (item {j})",
                                      hint=hint) for j, item in enumerate(items)]
        values = np.array([p[0] for p in parts])
        seeds = np.array([p[1] for p in parts])
        if not np.allclose(values, self.x, rtol=1e-15, atol=0.0):
            shown = fmt(values if self.vector else float(values[0]))
            point = fmt(self.x if self.vector else float(self.x[0]))
            raise CheckFailed(
                f"f received the values {shown}, but it must be evaluated at x = {point}: the "
                "value part of each input Dual is the input itself."
            )
        self.passes.append(seeds)
        return _build_like(items[0], self.value, float(self.grad @ seeds))


# ------------------------------------------------------------------ derivative


def _derivative_pass(derivative: Callable, probe: _Probe, x: float, *, where: str
                     ) -> tuple[list[float], Verdict]:
    """Inside a call: the seed of every pass ``derivative(probe, x)`` made, and a report of
    its answer: a verdict holding ``(float,)`` or the failure message."""
    got = derivative(probe, x)
    seeds = [float(s[0]) for s in probe.passes]

    def answer() -> tuple[float]:
        if hasattr(got, "deriv"):
            raise CheckFailed(f"{where} returned a Dual {fmt(got)}: return its derivative part "
                              "`.deriv`, a float.")
        return (_scalar(got, what="derivative(f, x)"),)

    return seeds, Verdict.of(answer)


def _check_seeds(passes: list[np.ndarray], n: int, where: str) -> None:
    """The seeds of every pass (as the probe recorded them) must be the n unit vectors."""
    for k, seeds in enumerate(passes):
        nonzero = np.flatnonzero(seeds)
        if len(nonzero) == 0:
            raise CheckFailed(f"{where}: pass {k + 1} seeded no input (all derivs 0): in pass i "
                              "give input i the deriv 1.0 and every other input 0.0.")
        earlier = set(np.flatnonzero(passes[k - 1])) if k else set()
        if len(nonzero) > 1 and earlier and earlier < set(nonzero):
            raise CheckFailed(
                f"{where}: pass {k + 1} seeded inputs {nonzero.tolist()} together (derivs "
                f"{fmt(seeds)}): the deriv set in an earlier pass was never reset to 0.0. Build "
                "fresh Duals in every pass: [Dual(x[j], 1.0 if j == i else 0.0) for j ...]."
            )
        if len(nonzero) == n and n > 1 and np.all(seeds == 1.0):
            raise CheckFailed(
                f"{where}: pass {k + 1} seeded EVERY input with deriv 1.0. That computes the "
                "directional derivative along (1, ..., 1), the sum of all partials; seed one "
                "input per pass: Dual(x[j], 1.0 if j == i else 0.0)."
            )
        if len(nonzero) > 1:
            raise CheckFailed(
                f"{where}: pass {k + 1} seeded inputs {nonzero.tolist()} together (derivs "
                f"{fmt(seeds)}); each pass seeds exactly one input with 1.0 and all others "
                "with 0.0. Build fresh Duals in every pass."
            )
        if seeds[nonzero[0]] != 1.0:
            raise CheckFailed(
                f"{where}: pass {k + 1} seeded input {int(nonzero[0])} with deriv "
                f"{fmt(float(seeds[nonzero[0]]))}; seed with 1.0 (dx_i/dx_i = 1)."
            )
    seeded = [int(np.flatnonzero(s)[0]) for s in passes]
    if sorted(seeded) != list(range(n)):
        missing = sorted(set(range(n)) - set(seeded))
        made = f"{len(passes)} pass" + ("" if len(passes) == 1 else "es")
        raise CheckFailed(
            f"{where} made {made} seeding inputs {seeded}; forward mode "
            f"needs exactly n = {n} passes, one per input"
            + (f" (input(s) {missing} never seeded)." if missing else ".")
        )


def _gradient_pass(forward_gradient: Callable, probe: _Probe, x: np.ndarray, *, where: str
                   ) -> tuple[list[np.ndarray], Verdict]:
    """Inside a call: the seeds of every pass ``forward_gradient(probe, x)`` made, and a
    report of its answer: a verdict holding ``(float array,)`` or the failure message.

    ``x`` is an argument of the ``call``, so that changes made to it in place are
    recorded and replayed.
    """
    got = forward_gradient(probe, x)
    passes = [np.array(seeds, dtype=np.float64) for seeds in probe.passes]

    def answer() -> tuple[np.ndarray]:
        if not isinstance(got, np.ndarray):
            raise CheckFailed(f"{where} returned {type(got).__name__} {fmt(got)}; return a "
                              "numpy array, e.g. np.array(partials).")
        if got.dtype == object:
            raise CheckFailed(f"{where} returned an array of objects {fmt(got)}: store each "
                              "pass's `.deriv` (a float), not the Dual.")
        return (np.array(as_float_array(got, what="forward_gradient(f, x)")),)

    return passes, Verdict.of(answer)


def _check_one_gradient(forward_gradient: Callable, probe: _Probe, x: np.ndarray) -> None:
    x_before = x.copy()
    where = f"forward_gradient(f, {fmt(x)}) for {probe.label}"
    passes, report = call(_gradient_pass, forward_gradient, probe, x, where=where,
                          name="forward_gradient", inputs={"f": probe, "x": x}).value
    if not np.array_equal(x, x_before):
        raise CheckFailed(f"{where} modified x in place (now {fmt(x)}): graded functions "
                          "leave their arguments unchanged.")
    _check_seeds(passes, probe.n, where)
    (got_array,) = report.unwrap()
    expected = probe.grad
    if got_array.shape != expected.shape:
        raise CheckFailed(f"{where} has shape {got_array.shape}; expected {expected.shape}, "
                          "one partial derivative per input.")
    if COMPOSITE.accepts(got_array, expected):
        return
    hint = "entry i is the .deriv of the pass that seeds input i."
    if expected.size > 1 and COMPOSITE.accepts(got_array, expected[::-1]):
        hint = "the partials are in reverse order: entry i belongs to input i."
    elif COMPOSITE.accepts(got_array, np.full_like(expected, probe.value)):
        hint = "you stored the value part f(x); the partial derivative is the `.deriv` part."
    raise CheckFailed(f"{where} is wrong.\n  expected: {fmt(expected)}\n"
                      f"  got:      {fmt(got_array)}\n  likely mistake: {hint}")
