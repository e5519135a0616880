"""The shared checker machinery: calling student code, comparing, teaching messages."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course import protocol, recording
from course.checking import (
    ANALYTIC,
    CheckFailed,
    Mistake,
    Tolerance,
    Verdict,
    as_float_array,
    call,
    expect_close,
    expect_true,
    fmt,
    guarded,
)
from course.protocol import Entry

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def test_call_captures_output_and_warnings(capsys):
    def noisy(x):
        print("debug", x)
        print("oops", file=sys.stderr)
        warnings.warn("careful", RuntimeWarning, stacklevel=1)
        return x + 1

    result = call(noisy, 1.0)
    assert result.value == 2.0
    assert "debug 1.0" in result.output and "oops" in result.output
    assert [str(w.message) for w in result.warnings] == ["careful"]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_not_implemented_becomes_friendly_failure():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="`stub` is not implemented yet"):
        call(stub, 1.0)


def test_other_exceptions_name_the_input():
    with pytest.raises(CheckFailed, match=r"`div` raised ZeroDivisionError for x=0"):
        call(lambda x: 1 / x, 0, name="div", inputs={"x": 0})


def test_runaway_recursion_is_explained():
    def forever(x):
        return forever(x)

    with pytest.raises(CheckFailed, match="recursed too deeply"):
        call(forever, 1)


class AlwaysEqual(float):
    """A hostile answer: claims equality with everything."""

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


def test_always_equal_objects_gain_nothing():
    with pytest.raises(CheckFailed):
        expect_close(AlwaysEqual(1.0), 2.0, what="f(x)")


def test_complex_answers_are_explained():
    with pytest.raises(CheckFailed, match="complex value"):
        as_float_array(1 + 2j, what="f(x)")


def test_non_numbers_are_explained():
    with pytest.raises(CheckFailed, match="not a number"):
        as_float_array("three", what="f(x)")


def test_shape_mismatch_is_reported():
    with pytest.raises(CheckFailed, match=r"has shape \(3,\), expected shape \(2,\)"):
        expect_close(np.zeros(3), np.zeros(2), what="g(x)")


def test_failure_message_teaches():
    with pytest.raises(CheckFailed) as info:
        expect_close(-2.0, 2.0, what="f(x)", inputs={"x": 1.5},
                     mistakes=[Mistake("sign flip", -2.0)])
    message = str(info.value)
    assert "x=1.5" in message and "expected: 2.0" in message and "got:      -2.0" in message
    assert "likely mistake: sign flip" in message


def test_nan_is_never_accepted():
    with pytest.raises(CheckFailed, match="nan or inf"):
        expect_close(np.nan, np.nan, what="f(x)")


@settings(max_examples=200)
@given(expected=finite, relative=st.floats(min_value=-0.5, max_value=0.5))
def test_analytic_tolerance_accepts_within(expected, relative):
    got = expected * (1 + relative * ANALYTIC.rtol)
    expect_close(got, expected, what="f(x)")


@settings(max_examples=200)
@given(expected=finite.filter(lambda v: abs(v) > 0.1),  # where atol is below rtol * |expected|
       relative=st.floats(min_value=2.0, max_value=1e6))
def test_analytic_tolerance_rejects_beyond(expected, relative):
    got = expected * (1 + relative * ANALYTIC.rtol)
    with pytest.raises(CheckFailed):
        expect_close(got, expected, what="f(x)")


@settings(max_examples=100)
@given(values=st.lists(finite, min_size=1, max_size=6))
def test_tolerance_is_entrywise(values):
    expected = np.array(values)
    perturbed = expected.copy()
    perturbed[-1] += 1.0 + abs(perturbed[-1]) * 1e-6
    assert Tolerance(1e-9, 1e-12).accepts(expected.copy(), expected)
    assert not Tolerance(1e-9, 1e-12).accepts(perturbed, expected)


def test_fmt_is_short_and_exact():
    assert fmt(6.0) == "6.0"
    assert fmt(1e-20).startswith("1.e-20") or fmt(1e-20).startswith("1.0e-20")
    assert "..." in fmt(np.arange(100.0))


# ------------------------------------------------------- the record/replay protocol


def test_an_entry_round_trips_through_a_log_line():
    entry = Entry(label="f", value={"float": "nan"}, output="hi\n",
                  warnings=(("RuntimeWarning", "careful"),), arguments={"a0": 1.0},
                  shortcut="jax", exercise="grad_f")
    line = json.dumps(entry.to_json(), allow_nan=False)
    assert Entry.from_json(json.loads(line)) == entry
    failed = Entry(label="f", raised="ZeroDivisionError", message="division by zero")
    assert "value" not in failed.to_json()
    assert Entry.from_json(json.loads(json.dumps(failed.to_json()))) == failed


@pytest.mark.parametrize("data", [
    protocol.cell_marker("f_check"), protocol.review_flag("`f`: frame inspection"),
    [1, 2], "f", {"value": 1}, {"label": 3, "value": 1},
    {"label": "f", "warnings": [["only one"]]}, {"label": "f", "arguments": [1]},
])
def test_what_is_not_an_answer_entry_is_refused(data):
    with pytest.raises(ValueError):
        Entry.from_json(data)


def test_markers_and_review_flags_are_told_apart_from_answers():
    marker, flag = protocol.cell_marker("f_check"), protocol.review_flag(" `f`:\n  slow ")
    assert protocol.marked_cell(marker) == "f_check" and protocol.marked_cell(flag) is None
    assert protocol.review_text(flag) == "`f`: slow" and protocol.review_text(marker) is None
    assert not protocol.is_answer(marker) and not protocol.is_answer(flag)
    assert protocol.is_answer(Entry(label="f").to_json())


def test_a_recorded_call_is_an_entry(monkeypatch, tmp_path):
    log = tmp_path / "log.jsonl"
    monkeypatch.setattr(recording, "_recorder", recording._Recorder(str(log)))

    def noisy(x):
        print("debug")
        warnings.warn("careful", RuntimeWarning, stacklevel=1)
        x[0] = 5.0
        return x.sum()

    recording.begin_cell("noisy_check")
    call(noisy, np.array([1.0, 2.0]), name="noisy")
    (entry,) = (Entry.from_json(data) for data in recording.read_log(log)["noisy_check"])
    assert entry.label == "noisy" and entry.raised is None
    assert recording.decode(entry.value) == 7.0
    assert entry.output == "debug\n" and entry.warnings == (("RuntimeWarning", "careful"),)
    assert recording.decode(entry.arguments["a0"]).tolist() == [5.0, 2.0]


def _check_positive_then_two(fn):
    """A checker that finds a failure inside its call but reports it after a comparison."""
    def inspect():
        got = fn(1.0)
        expect_true(got > 0, f"f(1.0) is {got}; it must be positive.")
        return got

    value, verdict = call(lambda: (fn(0.0), Verdict.of(inspect)), name="f").value
    expect_close(value, 0.0, what="f(0.0)")
    expect_close(verdict.unwrap(), 2.0, what="f(1.0)")


@pytest.mark.parametrize(("answer", "failure"), [
    (lambda x: 2.0 * x, None),
    (lambda x: -2.0 * x, "f(1.0) is -2.0; it must be positive."),
    (lambda x: 3.0 * x, "f(1.0) is wrong."),
    (lambda x: 2.0 * x + 1.0, "f(0.0) is wrong."),
])
def test_a_verdict_replays_as_it_was_recorded(tmp_path, answer, failure):
    live, replayed = recording.record_then_replay(_check_positive_then_two, answer,
                                                  log=tmp_path / "log.jsonl")
    assert live == replayed
    assert (live is None) if failure is None else live.startswith(failure)


def test_a_verdict_is_plain_data_in_the_log(monkeypatch, tmp_path):
    log = tmp_path / "log.jsonl"
    monkeypatch.setattr(recording, "_recorder", recording._Recorder(str(log)))
    recording.begin_cell("c")
    result = call(lambda: Verdict.of(lambda: (1.5, "ok")), name="f")
    assert result.value == Verdict((1.5, "ok"))
    (data,) = recording.read_log(log)["c"]
    assert data["value"]["course"] == "course.protocol:Verdict"
    assert Verdict.check(lambda: [object()]) == Verdict()  # a test's value is not kept
    with pytest.raises(CheckFailed, match="no"):
        Verdict.check(expect_true, False, "no").unwrap()


def test_student_code_run_inside_a_call_fails_as_a_call_would(tmp_path):
    def check(fn):
        call(lambda: guarded(fn, 0.0, name="inner", inputs={"x": 0.0}) + 1, name="outer")

    live, replayed = recording.record_then_replay(check, lambda x: 1 / x,
                                                  log=tmp_path / "log.jsonl")
    assert live == replayed == ("`inner` raised ZeroDivisionError for x=0.0: float division by "
                                "zero\n  mistake key: raised-zerodivisionerror")
    with pytest.raises(CheckFailed, match="`outer` raised ZeroDivisionError"):
        call(lambda: 1 / 0, name="outer")


def _check_list_untouched(fn):
    """A checker that hands a list of arrays to student code and then inspects the list."""
    items = [np.array([1.0, 2.0]), (np.array([3.0]), np.array([4.0]))]
    saved = [items[0].copy(), tuple(a.copy() for a in items[1])]
    for _ in range(2):  # a second call the recording never reaches when the first fails
        call(fn, items, name="f")
        expect_true(len(items) == 2 and isinstance(items[1], tuple),
                    f"f changed the list: it now holds {len(items)} items.")
        expect_true(np.array_equal(items[0], saved[0])
                    and all(np.array_equal(a, b) for a, b in zip(items[1], saved[1],
                                                                   strict=True)),
                    "f modified an array in the list.")


def _append(items):
    items.append(None)


def _pop(items):
    items.pop()


def _replace(items):
    items[1] = (items[1][0] * 2.0, items[1][1])


def _nested(items):
    items[1][0][0] += 1.0


@pytest.mark.parametrize(("answer", "failure"), [
    (lambda items: None, None),
    (_append, "f changed the list: it now holds 3 items."),
    (_pop, "f changed the list: it now holds 1 items."),
    (_replace, "f modified an array in the list."),
    (_nested, "f modified an array in the list."),
])
def test_a_list_changed_in_place_replays_as_it_was_recorded(tmp_path, answer, failure):
    """Items appended to, removed from or replaced in a list argument are logged, so the
    grader's replay sees the list the student's code left (and not a missing answer)."""
    live, replayed = recording.record_then_replay(_check_list_untouched, answer,
                                                  log=tmp_path / "log.jsonl")
    assert live == replayed == failure


def test_an_unreadable_list_record_is_skipped():
    items = [np.array([1.0])]
    recording.restore_arguments((items,), {}, {"a0#list": {"bogus": 1}})
    recording.restore_arguments((items,), {}, {"a0#list": {"tuple": [1.0]}})
    assert len(items) == 1 and items[0].tolist() == [1.0]
