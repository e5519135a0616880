"""The by-hand rule at run time (course.shortcuts.Watch), its record and replay, and the
review flags of course.recording (audit hook, patched course code, the log itself)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import notebooks
from autograder.trusted import fail_shortcuts, flag_reviews
from course import checking, recording, shortcuts
from course.checking import CheckFailed

GRAD_F = shortcuts.BY_HAND["grad_f"]
DIFF = shortcuts.BY_HAND["diff"]


def _watched(fn, *args, rule=GRAD_F):
    with shortcuts.Watch(rule, fn, args) as watch:
        value = fn(*args)
    watch.check_answer(value)
    return watch


def honest(x, y):
    return 2 * x * y, x**2 + 1


def with_jax(x, y):
    import jax

    g = jax.grad(lambda a, b: a**2 * b + b + 2, argnums=(0, 1))(x, y)
    return float(g[0]), float(g[1])


def computed_name(x, y):
    import importlib

    module = importlib.import_module("j" + "ax")
    return float(module.numpy.sin(x)), y


def through_exec(x, y):
    space: dict = {}
    exec("import jax\nvalue = float(jax.numpy.cos(1.0))", space)
    return space["value"], y


def _helper(x):
    import jax.numpy as jnp

    return float(jnp.tanh(x))


def through_helper(x, y):
    return _helper(x), y


def through_course_oracle(x, y):
    from course import oracle

    return tuple(oracle.gradient(lambda v: v[0] ** 2 * v[1] + v[1] + 2, np.array([x, y])))


def in_a_thread(x, y):
    out = []
    worker = threading.Thread(target=lambda: out.append(with_jax(x, y)))
    worker.start()
    worker.join()
    return out[0]


@pytest.mark.parametrize("fn", [with_jax, computed_name, through_exec, through_helper,
                                through_course_oracle, in_a_thread])
def test_library_reached_by_the_student_is_seen(fn):
    watch = _watched(fn, 3.0, 4.0)
    assert watch.found and shortcuts.matches(watch.found, GRAD_F.forbidden), watch.found


def test_honest_code_is_not_flagged():
    assert _watched(honest, 3.0, 4.0).found is None


def test_a_forbidden_answer_type_is_seen():
    import jax.numpy as jnp

    def returns_array(x, y):
        return (x, y) if x is None else [jnp.zeros(2)]

    watch = shortcuts.Watch(GRAD_F, returns_array, ())
    watch.check_answer([jnp.zeros(2)])
    assert watch.found and watch.found.startswith("jax")


def _as_course_code(fn):
    """``fn`` as if a checker had defined it: its code's file in the course's folder."""
    import course.checks

    where = os.path.join(os.path.dirname(course.checks.__file__), "derivatives.py")
    fn.__code__ = fn.__code__.replace(co_filename=where)
    return fn


def test_a_function_claiming_a_course_module_is_still_the_students():
    def sneaky(x, y):
        return with_jax(x, y)

    sneaky.__module__ = "course.checks.derivatives"
    assert _watched(sneaky, 3.0, 4.0).found == "jax"


def test_callables_the_checker_passes_may_use_the_library():
    import jax
    import jax.numpy as jnp

    from course.checks import derivatives  # course code: trusted when passed as argument

    oracle = derivatives._grad_oracle(jax, jnp)

    def grad_fn(x, y):  # stands for a checker's function: course code only by module
        return oracle(x, y)

    grad_fn = _as_course_code(grad_fn)

    def student_step(grad, x, y):
        g = grad(x, y)
        return float(g[0]) - 0.0, y

    assert _watched(student_step, grad_fn, 3.0, 4.0).found is not None  # float(jax array)

    def student_step_numpy(grad, x, y):
        return grad(x, y)

    def numpy_grad(x, y):
        return np.asarray(oracle(x, y))

    numpy_grad = _as_course_code(numpy_grad)
    assert _watched(student_step_numpy, numpy_grad, 3.0, 4.0).found is None


def test_course_helper_that_wraps_sympy_is_forbidden_in_lesson_03():
    from course import expr

    def diff(e, name):
        return expr.from_sympy(expr.to_sympy(e).diff(name))

    x = expr.Var("x")
    watch = _watched(diff, x * x, "x", rule=DIFF)
    assert watch.found and ("sympy" in watch.found or "to_sympy" in watch.found)

    def evaluate_only(e, name):
        return expr.evaluate(e, {name: 2.0})

    assert _watched(evaluate_only, x * x, "x", rule=DIFF).found is None


def test_switching_the_tracer_off_is_noticed():
    def off(x, y):
        sys.settrace(None)
        return honest(x, y)

    with shortcuts.Watch(GRAD_F, off, ()) as watch:
        off(1.0, 2.0)
    assert watch.tampered


def test_rule_for_finds_the_exercise_of_the_running_check():
    assert shortcuts.rule_for("grad_f", "anything") == ("grad_f", GRAD_F)
    assert shortcuts.rule_for("diff_property", "x") == ("diff", DIFF)
    assert shortcuts.rule_for("mse", "mse") is None
    assert shortcuts.rule_for(None, "Dual")[0] == "dual_ops"
    with pytest.raises(TypeError):
        shortcuts.BY_HAND["mse"] = GRAD_F  # type: ignore[index]


# ------------------------------------------------------------------ record and replay


def test_replay_fails_a_call_recorded_with_a_shortcut():
    entry = {"label": "grad_f", "value": {"tuple": [24.0, 10.0]}, "shortcut": "jax",
             "exercise": "grad_f"}
    with recording.replaying([entry]), pytest.raises(CheckFailed, match="uses jax"):
        checking.call(recording.Inert("grad_f"), 3.0, 4.0, name="grad_f")
    forged = dict(entry, exercise="mse")  # no rule: nothing to fail
    with recording.replaying([forged]):
        assert checking.call(recording.Inert("grad_f"), 3.0, 4.0, name="grad_f").value


def test_review_lines_are_not_answers(tmp_path):
    log = tmp_path / "log.jsonl"
    lines = [{"cell": "a_check"}, {"review": "`a`: frame inspection"},
             {"label": "a", "value": 1}, {"review": "`a`: frame inspection"},
             {"review": "the notebook:  x\n y"}]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert recording.read_log(log) == {"a_check": [{"label": "a", "value": 1}]}
    assert recording.read_reviews(log) == ["`a`: frame inspection", "the notebook: x y"]


def _notebook() -> nbformat.NotebookNode:
    def cell(source, grade_id, **meta):
        c = new_code_cell(source)
        c.metadata["nbgrader"] = {"grade_id": grade_id, **meta}
        return c
    return new_notebook(cells=[
        cell("def grad_f(x, y):\n    return helper(x, y)\n", "grad_f", solution=True,
             grade=False),
        cell("check_grad_f(grad_f)", "grad_f_check", grade=True, solution=False, points=1),
    ])


def test_fail_shortcuts_uses_what_the_kernel_saw_and_flags_become_review_lines():
    nb = _notebook()
    nb.cells[1].outputs = [nbformat.NotebookNode(output_type="stream", name="stdout",
                                                 text="ok")]
    fail_shortcuts(nb, {"grad_f_check": [{"label": "grad_f", "shortcut": "jax"}]})
    assert nb.cells[1].outputs[0]["ename"] == "CheckFailed"
    assert "`grad_f` uses jax" in nb.cells[1].outputs[0]["evalue"]
    flag_reviews(nb, ["`grad_f`: frame inspection (sys._getframe)"])
    assert notebooks.annotations(nb)["review"] == ["`grad_f`: frame inspection (sys._getframe)"]


# ---------------------------------------------------------------- a recording kernel


_KERNEL = """
import collections, gc, inspect, json, os, sys
from course import checking, recording, shortcuts
from course.checks import derivatives

collections.namedtuple("Point", "x y")       # the library's own frame use: no flag
import enum
enum.Enum("Color", "RED GREEN")              # enum's functional API reads frames: no flag

def looks(x, y):
    inspect.currentframe()
    return 2 * x * y, x**2 + 1

def uses_jax(x, y):
    import importlib
    jax = importlib.import_module("ja" + "x")
    return tuple(float(v) for v in jax.grad(lambda a, b: a**2 * b + b + 2,
                                             argnums=(0, 1))(x, y))

recording.begin_cell("grad_f_check")
derivatives.check_grad_f(looks, trials=1)
derivatives.check_grad_f(uses_jax, trials=1)
gc.get_objects()
derivatives.check_mse = lambda *a: None
derivatives.check_hessian_f(lambda x, y: [[2 * y, 2 * x], [2 * x, 0.0]], trials=1)
try:
    open(os.environ["COURSE_GRADING_RECORD"]).read()
    print("READ")
except PermissionError:
    print("BLOCKED")
"""


def test_a_recording_kernel_flags_inspection_and_records_library_use(tmp_path):
    log = tmp_path / "record.jsonl"
    log.touch()
    env = dict(os.environ, **{recording.RECORD_ENV: str(log)})
    script = tmp_path / "kernel.py"
    script.write_text(textwrap.dedent(_KERNEL))
    run = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "BLOCKED" in run.stdout
    reviews = recording.read_reviews(log)
    assert any(line.startswith("`grad_f`: frame inspection") for line in reviews), reviews
    assert any(line.startswith("the notebook: garbage-collector") for line in reviews)
    assert any("patched" in line and "check_mse" in line for line in reviews), reviews
    assert any("grading log" in line for line in reviews), reviews
    assert not any(line.startswith("the notebook: frame") for line in reviews), reviews
    entries = recording.read_log(log)["grad_f_check"]
    used = [e.get("shortcut") for e in entries if e.get("label") == "grad_f"]
    assert used[0] is None and "jax" in used
