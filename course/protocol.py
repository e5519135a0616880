"""The record/replay protocol: what a grading log holds, and how a verdict crosses ``call``.

Grading splits every check in two (:mod:`course.recording`): the student's kernel
*records* what the student's code returned, one JSON object a line; the grader
*replays* the test cell in its own process and reads those answers back. This module
is the one place that says what those lines are, so writer and reader cannot drift:

* an :class:`Entry` -- one run of student code through :func:`course.checking.call`:
  the value it returned (or the error it raised), what it printed and warned, the
  arguments it changed in place, and what the by-hand watch saw it use;
* a cell marker (:func:`cell_marker`, read by :func:`marked_cell`): the entries after
  it belong to that test cell;
* a review flag (:func:`review_flag`, read by :func:`review_text`): something grading
  could not decide for sure, for a person to read.

A checker that finds a failure *inside* a ``call`` but must report it only after a
comparison made outside it returns a :class:`Verdict`: plain data that ``call`` records
and replays like any other answer, settled outside by :meth:`Verdict.unwrap`.

This module imports nothing from the course: recording and checking both build on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MARKER_KEY",
    "REVIEW_KEY",
    "CheckFailed",
    "Entry",
    "Verdict",
    "cell_marker",
    "is_answer",
    "marked_cell",
    "review_flag",
    "review_text",
]

#: Key of a cell marker, ``{"cell": grade_id}``.
MARKER_KEY = "cell"
#: Key of a review flag, ``{"review": text}``.
REVIEW_KEY = "review"
_MAX_REVIEW_CHARS = 300


class CheckFailed(AssertionError):
    """A student's answer disagrees with the oracle; the message says how."""


# ------------------------------------------------------------------------------ verdicts


@dataclass(frozen=True)
class Verdict:
    """A checker's finding made inside ``call``: what it read, or why the answer fails.

    Exactly one of the two matters: ``failure is None`` means the inspection passed and
    ``value`` is what it read (plain data, so that replay sees the same); otherwise
    ``failure`` is the :class:`CheckFailed` message, raised by :meth:`unwrap`.
    """

    value: Any = None
    failure: str | None = None

    @classmethod
    def of(cls, inspect: Callable[..., Any], *args: Any, **kwargs: Any) -> Verdict:
        """``inspect(*args, **kwargs)`` as a verdict: its value, or the failure it raised."""
        try:
            return cls(value=inspect(*args, **kwargs))
        except CheckFailed as failure:
            return cls(failure=str(failure))

    @classmethod
    def check(cls, test: Callable[..., Any], *args: Any, **kwargs: Any) -> Verdict:
        """``test(*args, **kwargs)`` as a verdict on the failure it may raise alone: what it
        returns is dropped (so a test that returns student objects records none of them)."""
        return cls(failure=cls.of(test, *args, **kwargs).failure)

    @property
    def passed(self) -> bool:
        return self.failure is None

    def unwrap(self) -> Any:
        """Outside ``call``: the value read, or raise the failure found."""
        if self.failure is not None:
            raise CheckFailed(self.failure)
        return self.value


# ------------------------------------------------------------------------------- entries


@dataclass(frozen=True)
class Entry:
    """One run of student code through ``call``, as the log holds it.

    ``value`` is the answer as :func:`course.recording.encode` wrote it (plain JSON data);
    it is meaningful only when ``raised`` is ``None``. Otherwise ``raised`` names the
    exception (``"CheckFailed"`` for a checker's own failure inside the call) and
    ``message`` is its text. ``warnings`` are ``(category, message)`` pairs;
    ``arguments`` maps a mutable argument's path to its encoded state after the call;
    ``shortcut`` is the library the by-hand watch saw the call reach, for ``exercise``.
    """

    label: str
    value: Any = None
    raised: str | None = None
    message: str = ""
    output: str = ""
    warnings: tuple[tuple[str, str], ...] = ()
    arguments: Mapping[str, Any] = field(default_factory=dict)
    shortcut: str | None = None
    exercise: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this entry (one line of the log)."""
        data: dict[str, Any] = {"label": self.label}
        if self.raised is None:
            data["value"] = self.value
        else:
            data["raised"], data["message"] = self.raised, self.message
        if self.shortcut is not None:
            data["shortcut"], data["exercise"] = self.shortcut, self.exercise
        data["output"] = self.output
        data["warnings"] = [[category, message] for category, message in self.warnings]
        data["arguments"] = dict(self.arguments)
        return data

    @classmethod
    def from_json(cls, data: Any) -> Entry:
        """The entry a JSON object describes; :class:`ValueError` if it is not one.

        The log comes from the student's kernel, so nothing in it is trusted: every field
        is checked for its type, and text fields are read as text.
        """
        if not is_answer(data) or not isinstance(data.get("label"), str):
            raise ValueError("not an answer entry")
        raised = data.get("raised")
        try:
            warnings = tuple((str(category), str(message))
                             for category, message in data.get("warnings") or ())
        except (TypeError, ValueError):
            raise ValueError("malformed warnings") from None
        arguments = data.get("arguments") or {}
        if not isinstance(arguments, dict):
            raise ValueError("malformed arguments")
        shortcut, exercise = data.get("shortcut"), data.get("exercise")
        return cls(
            label=data["label"],
            value=data.get("value") if raised is None else None,
            raised=None if raised is None else str(raised),
            message=str(data.get("message", "")),
            output=str(data.get("output", "")),
            warnings=warnings,
            arguments=arguments,
            shortcut=shortcut if isinstance(shortcut, str) else None,
            exercise=exercise if isinstance(exercise, str) else None,
        )


# ------------------------------------------------------------------ markers and flags


def cell_marker(grade_id: str) -> dict[str, str]:
    """The log line that starts test cell ``grade_id``: the entries after it are its own."""
    return {MARKER_KEY: grade_id}


def marked_cell(data: Any) -> str | None:
    """The grade id a log object marks the start of, or ``None`` if it is no cell marker."""
    if isinstance(data, dict) and isinstance(data.get(MARKER_KEY), str):
        return data[MARKER_KEY]
    return None


def review_flag(text: str) -> dict[str, str]:
    """The log line of a review flag (see :func:`course.recording.flag`)."""
    return {REVIEW_KEY: text}


def review_text(data: Any) -> str | None:
    """A review flag's text, whitespace folded and cut to 300 characters; else ``None``."""
    text = data.get(REVIEW_KEY) if isinstance(data, dict) else None
    if not isinstance(text, str):
        return None
    return " ".join(text.split())[:_MAX_REVIEW_CHARS] or None


def is_answer(data: Any) -> bool:
    """Whether a log object stands for an answer: a JSON object that is no marker or flag."""
    return isinstance(data, dict) and MARKER_KEY not in data and REVIEW_KEY not in data
