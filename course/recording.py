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

Arguments that student code mutated in place (numpy arrays, random generators, and
lists whose items were appended, removed or replaced) are logged after the call and
re-applied in replay, so "never modifies its arguments" is judged on what really
happened.

What a log line holds -- an answer entry, a cell marker, a review flag -- is defined in
:mod:`course.protocol`; this module encodes answers, writes and reads the log, and
switches between the modes.

Rules for checker authors, so that a check replays exactly:

1. run student code (constructors, operators, methods, returned callables) only
   inside ``call(...)``;
2. outside ``call``, only read plain attributes of what it returned (``r.value``);
3. test a student type by ``type(r).__name__``, not ``isinstance``.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from course import protocol
from course.protocol import CheckFailed, Entry

__all__ = [
    "RECORD_ENV",
    "AnswerTooLarge",
    "Recorded",
    "ReplayDiverged",
    "as_replayed",
    "begin_cell",
    "decode",
    "encode",
    "holds_objects",
    "mode",
    "record_then_replay",
    "replaying",
    "start_from_environment",
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


def holds_objects(data: Any) -> bool:
    """Whether encoded ``data`` contains a snapshot of a student object or callable."""
    if isinstance(data, list):
        return any(holds_objects(item) for item in data)
    if isinstance(data, dict):
        if "object" in data or "callable" in data or "opaque" in data:
            return True
        return any(holds_objects(item) for item in data.values())
    return False


def as_replayed(value: Any, data: Any) -> Any:
    """What replay will see of ``value`` (encoded as ``data``): plain data as decoded from
    the record, so that recording and replay compare the same thing; objects as they are."""
    return value if holds_objects(data) else decode(data)


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


_LIST_KEY = "#list"


def _list_arguments(args: tuple, kwargs: dict) -> Iterator[tuple[str, list]]:
    """Lists among the arguments (top-down, nested ones after their parent), with the paths
    :func:`_mutable_arguments` uses."""
    def walk(value: Any, path: str, depth: int) -> Iterator[tuple[str, list]]:
        if depth > 4 or type(value) not in (list, tuple):
            return
        if type(value) is list:
            yield path, value  # the consumer may rewrite its items before we descend
        for i, item in enumerate(value[:64]):
            yield from walk(item, f"{path}.{i}", depth + 1)

    for index, arg in enumerate(args):
        yield from walk(arg, f"a{index}", 0)
    for key, arg in sorted(kwargs.items()):
        yield from walk(arg, f"k{key}", 0)


def list_identities(args: tuple, kwargs: dict) -> dict[str, tuple[int, ...]]:
    """Which objects each list argument holds (taken before the student's call), so that
    :func:`snapshot_arguments` can tell a list the call appended to, shortened or refilled."""
    return {path: tuple(map(id, value)) for path, value in _list_arguments(args, kwargs)}


def snapshot_arguments(args: tuple, kwargs: dict,
                       before: dict[str, tuple[int, ...]] | None = None) -> dict[str, Any]:
    """Encoded state of every mutable argument (taken after the student's call).

    With ``before`` (:func:`list_identities` taken before the call), every list whose items
    are no longer the same objects is logged whole, so that replay rebuilds it.
    """
    state = {}
    for path, value in _list_arguments(args, kwargs) if before is not None else ():
        if path in before and tuple(map(id, value)) != before[path]:
            try:
                state[path + _LIST_KEY] = encode(value)
            except AnswerTooLarge:  # replay still sees how long the list became
                state[path + _LIST_KEY] = {"list": [None] * min(len(value), _MAX_ITEMS)}
    for path, value in _mutable_arguments(args, kwargs):
        if isinstance(value, np.random.Generator):
            state[path] = {"rng": json.dumps(value.bit_generator.state, default=int)}
        else:
            state[path] = encode(value)
    return state


def restore_arguments(args: tuple, kwargs: dict, state: dict[str, Any]) -> None:
    """Apply a logged post-call state to the replay's own arguments."""
    for path, value in _list_arguments(args, kwargs):
        if path + _LIST_KEY in state:
            with contextlib.suppress(ValueError, TypeError, KeyError):
                items = decode(state[path + _LIST_KEY])
                if isinstance(items, list):
                    value[:] = items
    for path, value in _mutable_arguments(args, kwargs):
        if path not in state:
            continue
        saved = state[path]
        if isinstance(value, np.random.Generator):
            value.bit_generator.state = json.loads(saved["rng"])
        else:
            after = decode(saved)
            if (isinstance(after, np.ndarray) and after.shape != value.shape
                    and after.size == value.size):
                with contextlib.suppress(AttributeError, ValueError):
                    value.shape = after.shape  # reshaped in place (`y.shape = (n, 1)`)
            if (isinstance(after, np.ndarray) and after.shape == value.shape
                    and value.flags.writeable
                    and after.astype(value.dtype).tobytes() != value.tobytes()):
                np.copyto(value, after, casting="unsafe")


# ------------------------------------------------------------------------------ modes


_dumps = json.dumps
_open = open
_monotonic = time.monotonic


class _Recorder:
    def __init__(self, path: str) -> None:
        self.path = path

    def write(self, data: dict) -> None:
        """Append one JSON object (see :mod:`course.protocol`) as a line."""
        line = _dumps(data, allow_nan=False)
        with _open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


class _Replayer:
    def __init__(self, entries: list[dict]) -> None:
        self.entries = entries
        self.position = 0

    def next(self, label: str) -> Entry:
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
        try:
            return Entry.from_json(entry)
        except ValueError as error:
            raise ReplayDiverged(f"unreadable record for `{label}`: {error}") from None


_recorder: _Recorder | None = None
_replayer: _Replayer | None = None


def mode() -> str:
    """``"replay"`` in the grader, ``"record"`` in a grading kernel, else ``"live"``."""
    if _replayer is not None:
        return "replay"
    return "record" if _recorder is not None else "live"


def record(entry: Entry) -> None:
    """Write ``entry`` to the log (in a grading kernel; elsewhere nothing happens)."""
    if _recorder is not None:
        _recorder.write(entry.to_json())


def next_entry(label: str) -> Entry:
    """In replay: the next logged entry, which must be a call of ``label``."""
    assert _replayer is not None
    return _replayer.next(label)


def begin_cell(grade_id: str) -> None:
    """Mark the start of test cell ``grade_id`` in the log (:func:`read_log` splits there)."""
    if _recorder is not None:
        _recorder.write(protocol.cell_marker(grade_id))
        _integrity.check(everything=True)


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


def _log_lines(path: str | os.PathLike) -> Iterator[Any]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue
    except FileNotFoundError:
        return


def read_log(path: str | os.PathLike) -> dict[str, list[dict]]:
    """Split a log into the entries of each test cell (by the markers :func:`begin_cell` wrote).

    Only answers are kept (:func:`course.protocol.is_answer`): review flags (:func:`flag`)
    are read by :func:`read_reviews`.
    """
    cells: dict[str, list[dict]] = {}
    current: list[dict] | None = None
    for data in _log_lines(path):
        cell = protocol.marked_cell(data)
        if cell is not None:
            current = cells[cell] = []
        elif current is not None and protocol.is_answer(data):
            current.append(data)
    return cells


def read_reviews(path: str | os.PathLike, *, limit: int = 50) -> list[str]:
    """The review flags of a log, each once, in order, each line at most 300 characters."""
    seen: list[str] = []
    for data in _log_lines(path):
        line = protocol.review_text(data)
        if line is not None and line not in seen:
            seen.append(line)
            if len(seen) >= limit:
                break
    return seen


def record_then_replay(check: Callable[..., None], *answers: Any, log: str | os.PathLike,
                       **kwargs: Any) -> tuple[str | None, str | None]:
    """Run ``check(*answers, **kwargs)`` as the grading kernel does (recording), then as the
    grader does (every answer inert, every call replayed from the log).

    Returns both verdicts, ``None`` for a pass or the failure message; a replay-safe
    checker gives the same pair for every answer. Raises :class:`ReplayDiverged` if the
    replay did not consume exactly what was recorded.
    """
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


# -------------------------------------------------------------------------- review flags
#
# What grading cannot decide for sure (the submission inspected frames or the garbage
# collector, replaced the tracer that watches library use, patched the course's code,
# touched the log) is written into the log as a review flag: the grader turns each into
# a line for a person to read (``autograder.trusted.flag_reviews``). An audit hook
# (``sys.addaudithook``, which cannot be removed) sees those events; it flags them only
# when the submission's code caused them, not the libraries' own use (IPython formatting
# a traceback, ``collections.namedtuple`` naming its module, jax's internals).

_MAX_FLAGS = 50
_AUDITED = {
    "sys._getframe": "frame inspection (sys._getframe)",
    "sys._current_frames": "frame inspection (sys._current_frames)",
    "gc.get_objects": "garbage-collector inspection (gc.get_objects)",
    "gc.get_referrers": "garbage-collector inspection (gc.get_referrers)",
    "gc.get_referents": "garbage-collector inspection (gc.get_referents)",
    "sys.settrace": "a tracer was set (sys.settrace), which switches off the watch on "
                    "library use",
    "sys.setprofile": "a profiler was set (sys.setprofile)",
    "sys.monitoring.register_callback": "a monitoring callback was set (sys.monitoring)",
    "code.__new__": "code objects built by hand",
}
_FRAME_ATTRIBUTES = {
    "tb_frame": "frame inspection (a traceback's tb_frame)",
    "gi_frame": "frame inspection (a generator's gi_frame)",
    "cr_frame": "frame inspection (a coroutine's cr_frame)",
    "ag_frame": "frame inspection (an async generator's ag_frame)",
}
_FILE_EVENTS = frozenset({"open", "os.link", "os.symlink", "os.rename", "os.remove",
                          "os.truncate", "os.chmod", "os.chown", "os.utime", "os.rmdir"})
#: Modules that inspect frames (or call C) on behalf of their caller: look past them.
_HELPERS = frozenset({"inspect", "traceback", "logging", "linecache", "ctypes", "cProfile",
                      "profile", "bdb", "pdb", "trace", "faulthandler", "gc", "sys"})

_flags: set[str] = set()
_auditing = False
_current_call: list[str] = []
_library_kinds: dict[int, bool] = {}


def flag(where: str, what: str) -> None:
    """Write a review flag ``"<where>: <what>"`` into the log (each once; at most 50)."""
    line = f"{where}: {what}"
    if _recorder is None or line in _flags or len(_flags) >= _MAX_FLAGS:
        return
    _flags.add(line)
    with contextlib.suppress(Exception):
        _recorder.write(protocol.review_flag(line))


class in_call:
    """Context manager around a checker's call of student code: names where flags arise."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> None:
        _current_call.append(self.label)
        if _recorder is not None:
            _integrity.check()

    def __exit__(self, *exc: object) -> None:
        if _current_call:
            _current_call.pop()


def _where() -> str:
    return f"`{_current_call[-1]}`" if _current_call else "the notebook"


def _is_library(namespace: dict) -> bool:
    """Whether code running with globals ``namespace`` is installed or course code."""
    known = _library_kinds.get(id(namespace))
    if known is not None:
        return known
    from course import shortcuts

    name = namespace.get("__name__")
    module = sys.modules.get(name) if isinstance(name, str) else None
    real = module is not None and getattr(module, "__dict__", None) is namespace
    library = real and name != "__main__" and shortcuts._in_library(
        getattr(module, "__file__", None))
    if real:
        _library_kinds[id(namespace)] = library
    return library


def _caused_by_submission() -> bool:
    """Whether the code that raised the audit event (past inspection helpers) is the
    submission's own."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        top = name.partition(".")[0] if isinstance(name, str) else ""
        if top not in _HELPERS or not _is_library(frame.f_globals):
            return not _is_library(frame.f_globals)
        frame = frame.f_back
    return False


def _touches_log(args: tuple) -> bool:
    if _recorder is None:
        return False
    log = os.path.abspath(_recorder.path)
    for arg in args[:2]:
        if isinstance(arg, bytes):
            arg = os.fsdecode(arg)
        if isinstance(arg, str) and arg:
            path = os.path.abspath(arg)
            if path == log or log.startswith(path.rstrip(os.sep) + os.sep) or (
                    os.path.basename(path) == os.path.basename(log)):
                return True
    return False


def _seen(event: str, args: tuple) -> str | None:
    """What an audit event shows, if it is one that flags a submission."""
    if event == "object.__getattr__":
        name = args[1] if len(args) > 1 else None
        return _FRAME_ATTRIBUTES.get(name) if isinstance(name, str) else None
    if event == "compile":
        filename = args[1] if len(args) > 1 else None
        if isinstance(filename, bytes):
            filename = os.fsdecode(filename)
        shortcuts = sys.modules.get("course.shortcuts")
        in_library = getattr(shortcuts, "_in_library", None)
        return ("code compiled under an installed or course file's name"
                if in_library is not None and in_library(filename) else None)
    if event in _FILE_EVENTS:
        return "the grading log was opened, moved or changed" if _touches_log(args) else None
    return _AUDITED.get(event)


def _audit(event: str, args: tuple) -> None:
    """The audit hook: flag what the submission's own code did (see :data:`_AUDITED`)."""
    global _auditing
    if _auditing or _recorder is None:
        return
    _auditing = True
    try:
        what = _seen(event, args)
        if what is not None and event in _FILE_EVENTS:  # only the recorder touches the log
            caused = sys._getframe(1).f_globals.get("__name__") != __name__
        else:
            caused = what is not None and _caused_by_submission()
    except Exception:  # the hook never breaks what it watches
        caused = False
    finally:
        _auditing = False
    if not caused:
        return
    flag(_where(), what)
    if event in _FILE_EVENTS:
        raise PermissionError("the grading log is not the notebook's to touch")


class _Integrity:
    """Functions and classes of the course's modules, as first seen: a change is flagged.

    Compared at each new test cell and, during a check, before a call of student code
    once :data:`INTERVAL` seconds have passed since the last comparison. A patch stays in
    place until compared, so it is flagged all the same (at the call where it is seen);
    only one undone within the interval goes unseen, as one undone within a single call
    always would. Comparing before every call cost most of a check's time: a check of
    thousands of calls compared dozens of modules thousands of times.
    """

    #: Modules every attribute of which must stay as it was.
    STRICT = ("course.protocol", "course.recording", "course.checking", "course.shortcuts")
    #: Seconds between two comparisons of all the course's modules, at least.
    INTERVAL = 0.05

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, int]] = {}
        self.compared_at = -math.inf
        self.module_count = -1
        self.modules: list[tuple[str, Any]] = []

    @staticmethod
    def _attributes(module: Any, strict: bool) -> dict[str, int]:
        import types

        kept = {}
        for name, value in list(vars(module).items()):
            if isinstance(value, types.ModuleType) or name.startswith("__"):
                continue
            if strict or isinstance(value, types.FunctionType | type):
                kept[name] = id(value)
            if isinstance(value, type) and value.__module__ == module.__name__:
                for attribute, member in list(vars(value).items()):
                    if isinstance(member, types.FunctionType):
                        kept[f"{name}.{attribute}"] = id(member)
        return kept

    @staticmethod
    def _foreign(module: Any) -> list[str]:
        """Functions in a course module that were written in the notebook."""
        import types

        from course import shortcuts

        found = []
        for name, value in list(vars(module).items()):
            members = [(k, v) for k, v in vars(value).items()  # not dataclasses' own
                       if not (k.startswith("__") and dataclasses.is_dataclass(value))
                       ] if isinstance(value, type) and (
                value.__module__ == module.__name__) else [("", value)]
            found += [f"{name}.{member}".rstrip(".") for member, function in members
                      if isinstance(function, types.FunctionType)
                      and not shortcuts._in_library(function.__code__.co_filename)]
        return found

    def _modules(self) -> list[tuple[str, Any]]:
        """The course's loaded modules; ``sys.modules`` is searched again only when it has
        grown or shrunk."""
        if len(sys.modules) != self.module_count:
            self.module_count = len(sys.modules)
            self.modules = [(name, module) for name, module in list(sys.modules.items())
                            if (name == "course" or name.startswith("course."))
                            and module is not None]
        return self.modules

    def check(self, *, everything: bool = False) -> None:
        """Compare the course's modules with what they were, when ``everything`` or once
        :data:`INTERVAL` has passed since the last comparison."""
        now = _monotonic()
        if not everything and now - self.compared_at < self.INTERVAL:
            return
        self.compared_at = now
        for name, module in self._modules():
            now_seen = self._attributes(module, name in self.STRICT)
            before = self.seen.setdefault(name, now_seen)
            changed = sorted(k for k in before.keys() | now_seen.keys()
                             if before.get(k) != now_seen.get(k))
            changed += self._foreign(module) if before is now_seen else []
            if changed:
                self.seen[name] = now_seen
                shown = ", ".join(f"{name}.{k}" for k in changed[:3])
                flag(_where(), f"the course's code was patched ({shown})")


_integrity = _Integrity()


def start_from_environment() -> None:
    """In a grading kernel (:data:`RECORD_ENV` names the log): start recording, once.

    Called by :mod:`course.checking` once it is loaded, so the snapshot of the course's
    modules (:class:`_Integrity`) is taken before any notebook code could patch them; the
    audit hook is installed at the same moment.
    """
    global _recorder
    path = os.environ.get(RECORD_ENV)
    if not path or _recorder is not None:
        return
    _recorder = _Recorder(path)
    _integrity.check(everything=True)
    sys.addaudithook(_audit)
