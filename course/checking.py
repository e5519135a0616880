"""The machinery every checker shares.

A checker calls the student's function on fixed and on seeded random inputs,
compares each answer with an independent oracle, and either prints one line of
success or raises :class:`CheckFailed` with a message that teaches: which input,
what was expected, what came back, and -- when the answer matches a known
mistake -- what the mistake probably was.

Design rules, each answering a known trap of notebook autograders:

* Nothing is written to stderr. nbgrader scores a test cell zero if anything
  appears there, so the student's code runs with stdout, stderr and warnings
  captured (:func:`call`).
* A checker returns ``None``. A cell whose last line evaluates to ``False``
  would otherwise score full marks in nbgrader.
* Values are compared as plain float64 numpy arrays (:func:`as_float_array`),
  so an object with an always-true ``__eq__`` gains nothing.

Inside a ``call`` a checker may run more of the student's code (:func:`guarded`) and
may find a failure it must report only later, after a comparison with an oracle made
outside the call: it returns a :class:`Verdict` (:mod:`course.protocol`), which is
recorded and replayed like any answer and settled outside by ``verdict.unwrap()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course import demos, recording, shortcuts
from course.protocol import CheckFailed, Entry, Verdict

__all__ = [
    "ANALYTIC",
    "CheckFailed",
    "Mistake",
    "Tolerance",
    "Verdict",
    "as_float_array",
    "call",
    "expect_close",
    "expect_true",
    "expect_unchanged",
    "fmt",
    "guarded",
    "merge_mistakes",
    "mistake_key",
    "named_mistake",
    "passed",
]

_MAX_ECHO_CHARS = 2_000

#: The last line of a failure message that names a known mistake: ``  mistake key: <key>``,
#: a stable name the instructor's report (:mod:`autograder.report`) counts by.
MISTAKE_KEY_LABEL = "mistake key:"
_KEY_LINE = re.compile(rf"^[ \t]*{MISTAKE_KEY_LABEL} ?([a-z0-9][a-z0-9-]{{0,79}})[ \t]*$", re.M)
#: Keys of the failures ``call`` reports for an exception of the student's code.
_FAILURE_KEYS = {"NotImplementedError": "not-implemented", "RecursionError": "recursion-too-deep",
                 "KeyboardInterrupt": "time-limit", "AnswerTooLarge": "answer-too-large"}


@dataclass(frozen=True)
class Tolerance:
    r"""Accept ``got`` when :math:`|got - expected| \le atol + rtol\,|expected|` entrywise."""

    rtol: float
    atol: float

    def accepts(self, got: np.ndarray, expected: np.ndarray) -> bool:
        return bool(np.allclose(got, expected, rtol=self.rtol, atol=self.atol, equal_nan=False))


#: For answers computed by exact formulas: only round-off separates them from the oracle.
ANALYTIC = Tolerance(rtol=1e-10, atol=1e-12)


@dataclass(frozen=True)
class Mistake:
    """A recognisable wrong answer: what it would return and how to explain it."""

    explanation: str
    value: Any
    tolerance: Tolerance = field(default=ANALYTIC)
    #: A stable key for reports (letters, digits, ``-``); default :func:`mistake_key`.
    name: str | None = None

    @property
    def key(self) -> str:
        """The key the failure message names this mistake by."""
        return self.name or mistake_key(self.explanation)


def mistake_key(explanation: str) -> str:
    """A short key for the mistake ``explanation`` describes, the same every time it is shown.

    Its first six words joined by ``-``, then four hex digits of all its words, so that two
    explanations that start alike get different keys; numbers are left out of both, so
    values filled into an explanation do not change its key.

    >>> mistake_key("you summed the squared differences; MSE takes their mean (divide by n).")
    'you-summed-the-squared-differences-mse-8e70'
    >>> mistake_key("one step too few: take exactly num_steps = 50 steps") == mistake_key(
    ...     "one step too few: take exactly num_steps = 7 steps")
    True
    """
    words = [w for w in re.findall(r"[a-z0-9]+", explanation.lower().replace("'", ""))
             if not w[0].isdigit()]
    digest = hashlib.blake2s(" ".join(words).encode(), digest_size=2).hexdigest()
    return f"{'-'.join(words[:6]) or 'mistake'}-{digest}"


def _key_line(key: str) -> str:
    return f"\n  {MISTAKE_KEY_LABEL} {key}"


def named_mistake(message: str) -> str | None:
    """The key of the mistake a failure message names (its last key line), else ``None``.

    Messages can quote what student code raised, so a key read here is a label to count
    by, never a verdict.
    """
    keys = _KEY_LINE.findall(message)
    return keys[-1] if keys else None


@dataclass(frozen=True)
class _RecordedWarning:
    """A warning as checkers see it: ``str(w.message)`` and the category's name."""

    message: str
    category: str


@dataclass
class CallResult:
    """What a student's function returned, and what it printed or warned on the way."""

    value: Any
    output: str
    warnings: list[_RecordedWarning]


def fmt(value: Any, *, precision: int = 10) -> str:
    """Format a value for a failure message: short, exact enough to compare by eye."""
    if isinstance(value, float | np.floating):
        return np.format_float_positional(float(value), precision=precision, trim="0") if (
            value == 0 or 1e-4 <= abs(value) < 1e12
        ) else np.format_float_scientific(float(value), precision=precision, trim="0")
    if isinstance(value, np.ndarray):
        text = np.array2string(
            value, precision=precision, separator=", ", threshold=12, edgeitems=3,
            max_line_width=90,
        )
        return f"array({text})"
    if isinstance(value, tuple | list) and len(value) <= 8:
        inner = ", ".join(fmt(v, precision=precision) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if callable(value):
        return str(getattr(value, "label", None) or getattr(value, "__name__", repr(value)))
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _format_inputs(inputs: dict[str, Any]) -> str:
    return ", ".join(f"{name}={fmt(value)}" for name, value in inputs.items())


def call(fn: Callable, *args, name: str | None = None, inputs: dict[str, Any] | None = None,
         **kwargs) -> CallResult:
    """Call student code with its printing and warnings captured.

    ``NotImplementedError`` becomes a friendly "not implemented yet"; any other
    exception becomes :class:`CheckFailed` naming the input that caused it.

    This is the only door through which checkers run student code; in grading it
    records the answer (see :mod:`course.recording`), and in the grader's replay it
    returns the recorded answer without running anything.
    """
    label = name or getattr(fn, "__name__", "your function")
    if recording.mode() == "replay":
        return _replay(label, args, kwargs, inputs)
    if recording.mode() == "live":  # grading decides by reading the answer cell instead
        shortcuts.warn_once(label, fn)
    out = io.StringIO()
    outcome: dict[str, Any] = {}  # the Entry's value, or what was raised
    notes: list[_RecordedWarning] = []
    watch = _watch(fn, args, kwargs, label) if recording.mode() == "record" else None
    lists = recording.list_identities(args, kwargs) if recording.mode() == "record" else None
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(out),
        ):
            warnings.simplefilter("always")
            try:
                with recording.in_call(label), watch or contextlib.nullcontext():
                    value = fn(*args, **kwargs)
                if watch is not None:
                    watch.check_answer(value)
                data = recording.encode(value)
            except CheckFailed as error:
                outcome = {"raised": "CheckFailed", "message": str(error)}
                raise
            except KeyboardInterrupt:  # the time limit (or the stop button) interrupted it
                outcome = {"raised": "KeyboardInterrupt", "message": "interrupted"}
                raise
            except BaseException as error:  # SystemExit from student code is a failure too
                kind = "AnswerTooLarge" if isinstance(error, recording.AnswerTooLarge) else (
                    type(error).__name__)
                outcome = {"raised": kind, "message": str(error)[:_MAX_ECHO_CHARS]}
                raise _student_failure(label, kind, str(error), inputs) from None
            finally:
                notes = [_RecordedWarning(str(w.message), w.category.__name__) for w in caught]
        outcome = {"value": data}
        return CallResult(value=recording.as_replayed(value, data), output=out.getvalue(),
                          warnings=notes)
    finally:
        if recording.mode() == "record":
            recording.record(Entry(
                label=label, **outcome, **_watched(watch, label),
                output=out.getvalue()[:_MAX_ECHO_CHARS],
                warnings=tuple((note.category, note.message) for note in notes),
                arguments=recording.snapshot_arguments(args, kwargs, lists),
            ))


def _checker_exercise() -> str | None:
    """The exercise of the running check: ``check_<exercise>`` among the callers of ``call``."""
    frame = sys._getframe(2)
    for _ in range(16):
        if frame is None:
            return None
        module = frame.f_globals.get("__name__")
        name = frame.f_code.co_name
        if name.startswith("check_") and isinstance(module, str) and module.startswith(
                "course.checks."):
            return name.removeprefix("check_")
        frame = frame.f_back
    return None


def _watch(fn: Callable, args: tuple, kwargs: dict, label: str) -> shortcuts.Watch | None:
    """In a grading kernel: a watch on what a by-hand exercise's call runs (else None)."""
    found = shortcuts.rule_for(_checker_exercise(), label)
    if found is None:
        return None
    return shortcuts.Watch(found[1], fn, [*args, *kwargs.values()], exercise=found[0])


def _watched(watch: shortcuts.Watch | None, label: str) -> dict[str, str]:
    """What the watch saw, as the call's entry fields (and a review flag if switched off)."""
    if watch is None:
        return {}
    if watch.tampered:
        recording.flag(label, "the tracer that watches library use was replaced "
                       "(sys.settrace or threading.settrace)")
    return {"shortcut": watch.found, "exercise": watch.exercise} if watch.found else {}


def guarded(fn: Callable, *args: Any, name: str, inputs: dict[str, Any] | None = None) -> Any:
    """``fn(*args)`` run inside a :func:`call`: an error of the student's code becomes the
    same :class:`CheckFailed` that ``call(fn, *args, name=name, inputs=inputs)`` gives.

    For student code a checker runs within a call of its own (calls do not nest: in
    replay the outer call runs nothing).
    """
    try:
        return fn(*args)
    except (CheckFailed, KeyboardInterrupt):
        raise
    except BaseException as error:  # SystemExit from student code is a failure too
        raise _student_failure(name, type(error).__name__, str(error), inputs) from None


def _student_failure(label: str, kind: str, message: str,
                    inputs: dict[str, Any] | None = None) -> CheckFailed:
    """The teaching message for an exception of type ``kind`` raised by student code."""
    where = f" for {_format_inputs(inputs)}" if inputs else ""
    key = _FAILURE_KEYS.get(kind) or "raised-" + (
        "-".join(re.findall(r"[a-z0-9]+", kind.lower()))[:60] or "error")
    if kind == "NotImplementedError":
        text = (f"`{label}` is not implemented yet: replace `raise NotImplementedError()` "
                "with your code, run that cell, then run this check again.")
    elif kind == "RecursionError":
        text = (f"`{label}` recursed too deeply{where}: look for a function that calls itself "
                "without end, or use an explicit stack instead of recursion.")
    elif kind == "KeyboardInterrupt":
        text = (f"`{label}` was interrupted{where}: it ran past the time limit. Look for a loop "
                "that never ends.")
    elif kind == "AnswerTooLarge":
        text = f"`{label}` returned an answer too large to check{where}."
    else:
        text = f"`{label}` raised {kind}{where}: {message}"
    return CheckFailed(text + _key_line(key))


def _replay(label: str, args: tuple, kwargs: dict, inputs: dict[str, Any] | None) -> CallResult:
    entry = recording.next_entry(label)
    recording.restore_arguments(args, kwargs, dict(entry.arguments))
    _replay_shortcut(entry)
    if entry.raised == "CheckFailed":
        raise CheckFailed(entry.message[:_MAX_ECHO_CHARS])
    if entry.raised is not None:
        raise _student_failure(label, entry.raised, entry.message[:_MAX_ECHO_CHARS], inputs)
    try:
        value = recording.decode(entry.value)
    except (ValueError, TypeError, KeyError) as error:
        raise recording.ReplayDiverged(f"unreadable record for `{label}`: {error}") from None
    notes = [_RecordedWarning(message, category) for category, message in entry.warnings]
    return CallResult(value=value, output=entry.output, warnings=notes)


def _replay_shortcut(entry: Entry) -> None:
    """Fail a replayed call during which the kernel saw the student's code use a library."""
    rule = shortcuts.BY_HAND.get(entry.exercise) if entry.exercise is not None else None
    if rule is not None and entry.shortcut:
        raise CheckFailed(shortcuts.message(entry.exercise, rule, [entry.shortcut[:200]]))


def as_float_array(value: Any, *, what: str) -> np.ndarray:
    """Convert an answer to a float64 array, or explain why it is not a number."""
    if isinstance(value, complex | np.complexfloating) or (
        isinstance(value, np.ndarray) and np.iscomplexobj(value)
    ):
        raise CheckFailed(
            f"{what} returned a complex value {fmt(value)}; return a real float "
            "(for example the `.real` or `.imag` part you meant)."
        )
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise CheckFailed(
            f"{what} returned {type(value).__name__} {fmt(value)}, which is not a number or an "
            f"array of numbers ({error})."
        ) from None
    return array


def expect_close(
    got: Any,
    expected: Any,
    *,
    what: str,
    inputs: dict[str, Any] | None = None,
    tolerance: Tolerance = ANALYTIC,
    mistakes: Iterable[Mistake] | Callable[[], Iterable[Mistake]] = (),
    hint: str | None = None,
) -> None:
    """Raise :class:`CheckFailed` unless ``got`` matches ``expected`` within ``tolerance``.

    ``expected`` comes from an oracle. ``mistakes`` are values that common wrong
    answers would produce; when ``got`` matches one, its explanation is shown. They
    may be given as a function returning them, called only when the answer is wrong
    (checkers that compare thousands of values then pay for diagnoses only on failure).
    """
    got_array = as_float_array(got, what=what)
    expected_array = np.asarray(expected, dtype=np.float64)
    if got_array.shape == expected_array.shape and tolerance.accepts(got_array, expected_array):
        return
    where = f"\n  input:    {_format_inputs(inputs)}" if inputs else ""
    if got_array.shape != expected_array.shape:
        raise CheckFailed(
            f"{what} has shape {got_array.shape}, expected shape {expected_array.shape}."
            f"{where}\n  expected: {fmt(expected_array)}\n  got:      {fmt(got_array)}"
        )
    found = _diagnose(got_array, mistakes() if callable(mistakes) else mistakes)
    diagnosis = found.explanation if found is not None else hint
    message = (
        f"{what} is wrong.{where}\n"
        f"  expected: {fmt(_squeeze(expected_array))}\n"
        f"  got:      {fmt(_squeeze(got_array))}"
    )
    if not np.all(np.isfinite(got_array)):
        message += "\n  note:     your answer contains nan or inf."
    if diagnosis:
        message += f"\n  likely mistake: {diagnosis}"
        message += _key_line(found.key if found is not None else mistake_key(diagnosis))
    raise CheckFailed(message)


def expect_unchanged(before: np.ndarray, after: np.ndarray, *, name: str, arg: str,
                     advice: str = "work on a copy, e.g. `x = np.array(x, dtype=float)`",
                     ) -> None:
    """Fail unless student code left the argument ``arg`` exactly as it was (bit for bit).

    ``before`` is a copy taken before the call, ``after`` the caller's array after it;
    ``advice`` says how to avoid the mutation in the lesson's own terms.
    """
    if before.shape == after.shape and before.tobytes() == after.tobytes():
        return
    raise CheckFailed(
        f"`{name}` modified its argument `{arg}` in place: graded functions must leave their "
        f"inputs unchanged ({advice})."
    )


def expect_true(condition: bool, message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message)


def merge_mistakes(mistakes: Iterable[Mistake]) -> list[Mistake]:
    """Join mistakes that give the same value on this input, so no diagnosis is a coin toss."""
    merged: list[Mistake] = []
    for mistake in mistakes:
        value = np.asarray(mistake.value, dtype=np.float64)
        for i, kept in enumerate(merged):
            other = np.asarray(kept.value, dtype=np.float64)
            if (other.shape == value.shape and np.all(np.isfinite(value))
                    and np.allclose(other, value, rtol=1e-12, atol=1e-15)):
                merged[i] = Mistake(f"{kept.explanation} Or, equally consistent with this "
                                    f"input: {mistake.explanation}", kept.value, kept.tolerance,
                                    kept.key)
                break
        else:
            merged.append(mistake)
    return merged


def _squeeze(array: np.ndarray) -> Any:
    return float(array) if array.ndim == 0 else array


def _diagnose(got: np.ndarray, mistakes: Iterable[Mistake]) -> Mistake | None:
    for mistake in mistakes:
        try:
            candidate = np.asarray(mistake.value, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if candidate.shape == got.shape and mistake.tolerance.accepts(got, candidate):
            return mistake
    return None


def passed(name: str, detail: str) -> None:
    """Report a passed check in one line on stdout; demos may now run ``name``."""
    demos.mark_passed(name)
    print(f"\N{CHECK MARK} {name}: {detail}")


# A grading kernel records from the moment checks can run (the course's modules as loaded).
recording.start_from_environment()
