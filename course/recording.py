"""Record the answers student code gives, and replay them where the student cannot reach.

Checkers run student code only through :func:`course.checking.call`. That single
door lets grading split a check in two:

* **record** (in the student's sandboxed kernel): every call really runs and its
  result is written, as plain data, to a log -- numbers and arrays as float64 or their
  own dtype, objects as snapshots of their plain attributes, never pickles;
* **replay** (in the grader's own process, which never runs student code): the same
  test cell runs again, every ``call`` returns the next logged answer instead of
  running anything, and the oracle comparison decides. Monkeypatching checkers,
  numpy or ``assert`` inside the kernel changes nothing here; the only way to pass
  is to have given the right answers.

Arguments that student code mutated in place (numpy arrays, random generators)
are logged after the call and re-applied in replay, so "never modifies its
arguments" is judged on what really happened.

Rules for checker authors, so that a check replays exactly:

1. run student code (constructors, operators, methods, returned callables) only
   inside ``call(...)``;
2. outside ``call``, only read plain attributes of what it returned (``r.value``);
3. test a student type by ``type(r).__name__``, not ``isinstance``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = [
    "RECORD_ENV",
    "AnswerTooLarge",
    "Recorded",
    "ReplayDiverged",
    "begin_cell",
    "decode",
    "encode",
    "mode",
    "record_then_replay",
    "replaying",
]

#: Environment variable naming the log file; set by the grader in the kernel's environment.
RECORD_ENV = "COURSE_GRADING_RECORD"
_MAX_DEPTH = 64
_MAX_ITEMS = 200_000
_MAX_TEXT = 2_000


class ReplayDiverged(AssertionError):
    """The log does not match the checks being replayed (missing, extra or foreign entries)."""


class AnswerTooLarge(ValueError):
    """An answer exceeds what grading records (a guard against flooding the log)."""


# ----------------------------------------------------------------------------- encoding


class Recorded:
    """A snapshot of a student object: its type's name and its plain attributes."""

    def __init__(self, attributes: dict[str, Any]):
        self.__dict__.update(attributes)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Inert(name)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


class _CallableRecorded(Recorded):
    """A snapshot of a callable student object (calling it in replay does nothing)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Inert:
        return Inert(type(self).__name__)


_snapshot_types: dict[tuple[str, bool], type] = {}


def _snapshot_type(name: str, *, callable: bool = False) -> type:
    key = (name, callable)
    if key not in _snapshot_types:
        base = _CallableRecorded if callable else Recorded
        _snapshot_types[key] = type(name, (base,), {})
    return _snapshot_types[key]


class _Budget:
    def __init__(self) -> None:
        self.items = 0

    def spend(self) -> None:
        self.items += 1
        if self.items > _MAX_ITEMS:
            raise AnswerTooLarge("the answer is too large to record")


def _float(value: float) -> Any:
    return value if math.isfinite(value) else {"float": repr(value)}


def _is_trusted_dataclass(value: Any) -> bool:
    cls = type(value)
    return dataclasses.is_dataclass(value) and not isinstance(value, type) and (
        cls.__module__.startswith("course.")
    )


def encode(value: Any, *, depth: int = 0, budget: _Budget | None = None) -> Any:
    """Plain JSON-able data for ``value``; student objects become attribute snapshots."""
    budget = budget or _Budget()
    budget.spend()
    if depth > _MAX_DEPTH:
        return {"opaque": "too deep"}
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value if kind is not str else value[:_MAX_TEXT]
    if kind is int:
        return value if abs(value) < 2**53 else {"float": repr(float(value))}
    if kind is float:
        return _float(value)
    if kind is complex:
        return {"complex": [_float(value.real), _float(value.imag)]}
    if isinstance(value, np.generic) and kind.__module__ == "numpy":
        return encode(value.item(), depth=depth + 1, budget=budget)
    if kind is np.ndarray or kind.__module__.startswith(("jax", "jaxlib")):
        array = np.asarray(value)
        if array.dtype.kind not in "biufc":
            return {"opaque": f"array of {array.dtype}"}
        for _ in range(max(array.size // 64, 0)):
            budget.spend()
        return {"array": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode(),
                "dtype": array.dtype.str, "shape": list(array.shape)}
    if kind in (list, tuple):
        items = [encode(v, depth=depth + 1, budget=budget) for v in value]
        return {"list" if kind is list else "tuple": items}
    if kind is dict:
        return {"dict": [[str(k), encode(v, depth=depth + 1, budget=budget)]
                         for k, v in value.items()]}
    if _is_trusted_dataclass(value):
        fields = {f.name: encode(getattr(value, f.name), depth=depth + 1, budget=budget)
                  for f in dataclasses.fields(value)}
        return {"course": f"{kind.__module__}:{kind.__qualname__}", "fields": fields}
    if callable(value) and not hasattr(value, "__dict__"):
        return {"callable": getattr(kind, "__name__", "callable")}
    attributes = {}
    for name, attribute in list(getattr(value, "__dict__", {}).items())[:32]:
        if not name.startswith("_") and _is_plain(attribute):
            attributes[name] = encode(attribute, depth=depth + 1, budget=budget)
    return {"object": getattr(kind, "__name__", "object")[:100], "attributes": attributes,
            "callable": callable(value)}


def _is_plain(value: Any) -> bool:
    kind = type(value)
    return (value is None or kind in (bool, int, float, complex, str, list, tuple, dict)
            or kind is np.ndarray or isinstance(value, np.generic)
            or kind.__module__.startswith(("jax", "jaxlib")) or _is_trusted_dataclass(value)
            or hasattr(value, "__dict__"))


def decode(data: Any) -> Any:
    """The value :func:`encode` describes; objects come back as :class:`Recorded` snapshots."""
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if not isinstance(data, dict):
        raise ValueError("malformed record")
    if "float" in data:
        return float(data["float"])
    if "complex" in data:
        re, im = (decode(part) for part in data["complex"])
        return complex(re, im)
    if "array" in data:
        dtype = np.dtype(data["dtype"])
        if dtype.kind not in "biufc":
            raise ValueError("malformed record")
        raw = base64.b64decode(data["array"])
        return np.frombuffer(raw, dtype=dtype).reshape(data["shape"]).copy()
    if "list" in data:
        return [decode(v) for v in data["list"]]
    if "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    if "dict" in data:
        return {k: decode(v) for k, v in data["dict"]}
    if "course" in data:
        return _rebuild_course_object(data["course"], data["fields"])
    if "object" in data:
        snapshot = _snapshot_type(str(data["object"]), callable=bool(data.get("callable")))
        return snapshot({k: decode(v) for k, v in data["attributes"].items()})
    if "callable" in data:
        return Inert(str(data["callable"]))
    if "opaque" in data:
        return Inert(str(data["opaque"]))
    raise ValueError("malformed record")


def _rebuild_course_object(qualified: str, fields: dict[str, Any]) -> Any:
    import importlib

    module_name, _, qualname = qualified.partition(":")
    if not module_name.startswith("course."):
        raise ValueError("malformed record")
    cls = getattr(importlib.import_module(module_name), qualname)
    if not dataclasses.is_dataclass(cls):
        raise ValueError("malformed record")
    return cls(**{k: decode(v) for k, v in fields.items()})


class Inert:
    """Stands for student code in replay: it can be named and passed, never run."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Inert:
        return Inert(self.__name__)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Inert(f"{self.__name__}.{name}")

    def __repr__(self) -> str:
        return self.__name__


def _inert_operator(name: str):
    def operator(self: Inert, *args: Any) -> Inert:
        return Inert(self.__name__)
    operator.__name__ = name
    return operator


_INERT_OPERATORS = (
    "add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "pow", "rpow", "neg",
    "pos", "matmul", "rmatmul", "floordiv", "rfloordiv", "mod", "rmod", "getitem",
)
for _dunder in _INERT_OPERATORS:
    setattr(Inert, f"__{_dunder}__", _inert_operator(f"__{_dunder}__"))


# ------------------------------------------------------------------ mutable arguments


def _mutable_arguments(args: tuple, kwargs: dict) -> Iterator[tuple[str, Any]]:
    """Numpy arrays and random generators among the arguments, with a stable path each."""
    def walk(value: Any, path: str, depth: int) -> Iterator[tuple[str, Any]]:
        if depth > 4:
            return
        if type(value) is np.ndarray or isinstance(value, np.random.Generator):
            yield path, value
        elif type(value) in (list, tuple):
            for i, item in enumerate(value[:64]):
                yield from walk(item, f"{path}.{i}", depth + 1)

    for index, arg in enumerate(args):
        yield from walk(arg, f"a{index}", 0)
    for key, arg in sorted(kwargs.items()):
        yield from walk(arg, f"k{key}", 0)


def snapshot_arguments(args: tuple, kwargs: dict) -> dict[str, Any]:
    """Encoded state of every mutable argument (taken after the student's call)."""
    state = {}
    for path, value in _mutable_arguments(args, kwargs):
        if isinstance(value, np.random.Generator):
            state[path] = {"rng": json.dumps(value.bit_generator.state, default=int)}
        else:
            state[path] = encode(value)
    return state


def restore_arguments(args: tuple, kwargs: dict, state: dict[str, Any]) -> None:
    """Apply a logged post-call state to the replay's own arguments."""
    for path, value in _mutable_arguments(args, kwargs):
        if path not in state:
            continue
        saved = state[path]
        if isinstance(value, np.random.Generator):
            value.bit_generator.state = json.loads(saved["rng"])
        else:
            after = decode(saved)
            if (isinstance(after, np.ndarray) and after.shape == value.shape
                    and value.flags.writeable
                    and after.astype(value.dtype).tobytes() != value.tobytes()):
                np.copyto(value, after, casting="unsafe")


# ------------------------------------------------------------------------------ modes


class _Recorder:
    def __init__(self, path: str) -> None:
        self.path = path

    def write(self, entry: dict) -> None:
        line = json.dumps(entry, allow_nan=False)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


class _Replayer:
    def __init__(self, entries: list[dict]) -> None:
        self.entries = entries
        self.position = 0

    def next(self, label: str) -> dict:
        if self.position >= len(self.entries):
            raise ReplayDiverged(
                f"no recorded answer for `{label}`: the check did not run to this point in "
                "your notebook (it crashed, timed out or was interrupted)."
            )
        entry = self.entries[self.position]
        self.position += 1
        if not isinstance(entry, dict) or entry.get("label") != label:
            raise ReplayDiverged(
                f"the recorded answers do not match the checks at `{label}`: the notebook "
                "changed how the checks ran during grading."
            )
        return entry


_recorder: _Recorder | None = None
_replayer: _Replayer | None = None


def mode() -> str:
    """``"replay"`` in the grader, ``"record"`` in a grading kernel, else ``"live"``."""
    if _replayer is not None:
        return "replay"
    return "record" if _recorder is not None else "live"


def record(entry: dict) -> None:
    if _recorder is not None:
        _recorder.write(entry)


def next_entry(label: str) -> dict:
    assert _replayer is not None
    return _replayer.next(label)


def begin_cell(grade_id: str) -> None:
    """Mark the start of a test cell in the log (sent by the grader before each test cell)."""
    record({"cell": grade_id})


class replaying:
    """Context manager: every ``call`` inside returns the next of ``entries``."""

    def __init__(self, entries: list[dict]) -> None:
        self.replayer = _Replayer(entries)

    def __enter__(self) -> _Replayer:
        global _replayer
        self.previous = _replayer
        _replayer = self.replayer
        return self.replayer

    def __exit__(self, *exc: object) -> None:
        global _replayer
        _replayer = self.previous


def read_log(path: str | os.PathLike) -> dict[str, list[dict]]:
    """Split a log into the entries of each test cell (by the markers :func:`begin_cell` wrote)."""
    cells: dict[str, list[dict]] = {}
    current: list[dict] | None = None
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("cell"), str):
                    current = cells[entry["cell"]] = []
                elif current is not None:
                    current.append(entry)
    except FileNotFoundError:
        pass
    return cells


def record_then_replay(check: Callable[..., None], *answers: Any, log: str | os.PathLike,
                       **kwargs: Any) -> tuple[str | None, str | None]:
    """Run ``check(*answers, **kwargs)`` as the grading kernel does (recording), then as the
    grader does (every answer inert, every call replayed from the log).

    Returns both verdicts, ``None`` for a pass or the failure message; a replay-safe
    checker gives the same pair for every answer. Raises :class:`ReplayDiverged` if the
    replay did not consume exactly what was recorded.
    """
    from course.checking import CheckFailed

    global _recorder
    previous, _recorder = _recorder, _Recorder(os.fspath(log))
    verdicts: list[str | None] = []
    try:
        begin_cell("check")
        try:
            check(*answers, **kwargs)
            verdicts.append(None)
        except CheckFailed as error:
            verdicts.append(str(error))
    finally:
        _recorder = previous
    inert = [Inert(getattr(answer, "__name__", f"answer{i}")) for i, answer in enumerate(answers)]
    with replaying(read_log(log).get("check", [])) as replayer:
        try:
            check(*inert, **kwargs)
            verdicts.append(None)
        except CheckFailed as error:
            verdicts.append(str(error))
        if replayer.position != len(replayer.entries):
            raise ReplayDiverged(f"replay used {replayer.position} of "
                                 f"{len(replayer.entries)} recorded answers")
    return verdicts[0], verdicts[1]


if os.environ.get(RECORD_ENV):
    _recorder = _Recorder(os.environ[RECORD_ENV])
