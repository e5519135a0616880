"""Grading-quality tooling: generated mutants, the real-path runner, and the rule that an
exercise to be done by hand scores zero when its answer hands the work to a library."""

from __future__ import annotations

import ast
import contextlib

import nbformat
import pytest
from conftest import LESSONS, solution_notebook

from autograder import mutation, notebooks
from autograder.lessons import all_lessons
from autograder.mutants import solution_source
from autograder.mutants.equivalent import EQUIVALENT
from course import checking, recording, shortcuts

CELL = '''\
SCALE = 2


def f(x, y):
    """Docstring, never mutated."""
    ### BEGIN SOLUTION
    if x < 0:
        return -x
    z = x * SCALE + 1.5
    return g(x, y) - z
    ### END SOLUTION
'''


def _ids(entries) -> list[str]:
    return [e.id for e in entries]


# --------------------------------------------------------------------------- generator


def test_solution_regions_are_found():
    assert mutation.solution_regions(CELL) == [(6, 11)]
    two = ("### BEGIN SOLUTION\na\n### END SOLUTION\nb\n"
           "    ### BEGIN SOLUTION\nc\n    ### END SOLUTION")
    assert mutation.solution_regions(two) == [(1, 3), (5, 7)]


def test_every_operator_is_generated_with_a_stable_id():
    ids = _ids(mutation.generate("f", CELL))
    expected = [
        "compare@L7:11 < -> <=", "compare@L7:11 < -> >", "const@L7:11 0 -> -1",
        "const@L7:11 0 -> 1", "unnegate@L8:15 -", "binop@L9:12 * -> /",
        "binop@L9:20 + -> -", "const@L9:20 1.5 -> 2.25", "swapargs@L10:11 g",
        "binop@L10:21 - -> +", "delete@L7:4 If", "delete@L8:8 Return",
        "delete@L9:4 Assign", "delete@L10:4 Return", "negate@L9:8 -", "negate@L10:11 -",
    ]
    assert sorted(ids) == sorted(expected)
    assert ids == _ids(mutation.generate("f", CELL)), "not deterministic"
    positions = [mutation._position(i) for i in ids]
    assert positions == sorted(positions), "not in the order of the code"


def test_mutants_change_one_thing_inside_the_solution_only():
    original = ast.parse(CELL)
    for entry in mutation.generate("f", CELL):
        tree = ast.parse(entry.source)
        assert ast.unparse(tree.body[0]) == "SCALE = 2", entry.id
        function = tree.body[1]
        assert ast.get_docstring(function) == "Docstring, never mutated.", entry.id
        assert ast.unparse(tree) != ast.unparse(original), entry.id
        assert entry.kind == "generated" and entry.exercise == "f"
        assert "→" in entry.description


def test_deleting_the_only_statement_of_a_block_leaves_pass():
    (entry,) = [e for e in mutation.generate("f", CELL) if e.id == "delete@L8:8 Return"]
    assert "if x < 0:\n        pass" in entry.source


def test_the_cap_keeps_a_fixed_sample_in_code_order():
    full = _ids(mutation.generate("f", CELL))
    capped = _ids(mutation.generate("f", CELL, cap=5))
    assert len(capped) == 5 and set(capped) <= set(full)
    assert capped == [i for i in full if i in capped]
    assert capped == _ids(mutation.generate("f", CELL, cap=5))


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_solution_answer_cell_yields_runnable_mutants(lesson):
    nb = notebooks.read(solution_notebook(lesson))
    for cell in notebooks.graded_cells(nb):
        if cell.kind == "answer":
            entries = mutation.generate(cell.grade_id, nb.cells[cell.index].source)
            assert 0 < len(entries) <= mutation.CAP, cell.grade_id
            assert len(set(_ids(entries))) == len(entries)
            for entry in entries:
                compile(entry.source, entry.id, "exec")


def test_equivalent_mutants_carry_a_reason():
    for (lesson, exercise, mutant_id), reason in EQUIVALENT.items():
        assert lesson in LESSONS
        assert mutation._position(mutant_id)
        assert len(reason) > 20, (lesson, exercise, mutant_id)


def test_every_equivalence_names_a_mutant_of_the_current_solution():
    """Ids carry the line in the answer cell: editing a docstring above the solution moves
    them, and a stale entry would let a real survivor count as justified elsewhere."""
    generated: dict[tuple[str, str], set[str]] = {}
    for lesson, exercise, mutant_id in EQUIVALENT:
        if (lesson, exercise) not in generated:
            generated[lesson, exercise] = set(_ids(mutation.generate(
                exercise, solution_source(lesson, exercise))))
        assert mutant_id in generated[lesson, exercise], (lesson, exercise, mutant_id)


def test_reset_undoes_names_and_attribute_patches():
    _, nb = mutation.solution("05-reverse-mode")
    answers, _, _ = mutation._layout(nb)
    reset = mutation.reset_source(nb, answers["backward"])
    assert "del Var.backward" in reset and "'backward'" in reset
    assert "'Var'" not in reset  # defined by an earlier cell: kept


# ---------------------------------------------------------------------------- detector

NOTEBOOK = ["import numpy as np\nimport jax\nimport jax.numpy as jnp\n",
            "from course.expr import Const, to_sympy\n"]


@pytest.mark.parametrize(("answer", "found"), [
    ("def grad_f(x, y):\n    return (2 * x * y, x**2 + 1)\n", []),
    ("import jax\ndef grad_f(x, y):\n    return jax.grad(f)(x)\n", ["jax"]),
    ("def grad_f(x, y):\n    from jax import grad\n    return grad(f)(x)\n", ["jax.grad"]),
    ("def grad_f(x, y):\n    return jnp.array([2 * x * y, x**2 + 1])\n", ["jax.numpy"]),
    ("def grad_f(x, y):\n    return jax.grad(f)(x)\n", ["jax"]),
    ("jnp = np\ndef grad_f(x, y):\n    return jnp.array([2 * x * y, x**2 + 1])\n", []),
    ("def grad_f(x, y):\n    return __import__('sympy').diff(x)\n", ["sympy"]),
    ("import importlib\ndef f(x):\n    return importlib.import_module('torch.func')\n",
     ["torch.func"]),
    ("from course.oracle import gradient\ndef grad_f(x, y):\n    return gradient(f, x)\n",
     ["course.oracle.gradient"]),
    ("def grad_f(x, y):\n    return np.gradient(x)\n", []),
    ("%time 1\ndef grad_f(x, y):\n    return jnp.ones(2)\n", ["jax.numpy"]),
])
def test_forbidden_uses_reads_the_answer_and_the_notebook_imports(answer, found):
    bindings = shortcuts.notebook_bindings(NOTEBOOK)
    assert shortcuts.forbidden_uses(answer, shortcuts.AUTODIFF, bindings) == found


def test_violations_apply_only_to_exercises_done_by_hand():
    jnp_answer = "def f(params, data):\n    return jnp.mean(data)\n"
    failed = shortcuts.violations({"normal_nll": jnp_answer, "grad_f": jnp_answer,
                                   "simplify": "def simplify(e):\n    return to_sympy(e)\n",
                                   "adam_step": "import optax\n"}, NOTEBOOK)
    assert set(failed) == {"grad_f", "simplify", "adam_step"}
    assert failed["grad_f"].startswith("`grad_f` uses jax (`jax.numpy`): this exercise asks you to "
                                       "compute the derivative by hand")
    assert "scores zero" in failed["adam_step"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_solution_breaks_its_own_rule(lesson):
    nb = notebooks.read(solution_notebook(lesson))
    answers = {c.grade_id: nb.cells[c.index].source
               for c in notebooks.graded_cells(nb) if c.kind == "answer"}
    assert shortcuts.violations(answers, [c.source for c in nb.cells]) == {}


def test_every_rule_names_a_graded_exercise():
    graded = {exercise for found in all_lessons() for exercise in found.graded.answers}
    assert set(shortcuts.BY_HAND) <= graded
    assert not {"normal_nll", "mixture_nll", "mse"} & set(shortcuts.BY_HAND)


def _notebook_code(source: str) -> dict:
    """Run ``source`` as a notebook cell would (module ``__main__``)."""
    namespace = {"__name__": "__main__"}
    exec(compile(source, "<cell>", "exec"), namespace)
    return namespace


def test_live_detection_follows_the_students_code():
    ns = _notebook_code(
        "import math\nimport jax\nimport numpy as np\n"
        "def helper(z):\n    return jax.nn.sigmoid(z)\n"
        "def sigmoid_prime(z):\n    s = helper(z)\n    return s * (1 - s)\n"
        "def relu_prime(z):\n    return np.where(np.asarray(z) > 0, 1.0, 0.0)\n"
        "class Dual:\n    def __mul__(self, other):\n        from jax import numpy\n"
        "        return numpy.sin(other)\n"
        "def factory():\n    def g(x):\n        return math.sin(x)\n    return g\n")
    assert shortcuts.forbidden_in(ns["sigmoid_prime"], shortcuts.AUTODIFF) == "jax"
    assert shortcuts.forbidden_in(ns["relu_prime"], shortcuts.AUTODIFF) is None
    assert shortcuts.forbidden_in(ns["Dual"], shortcuts.AUTODIFF) == "jax"
    assert shortcuts.forbidden_in(ns["Dual"](), shortcuts.AUTODIFF) == "jax"
    assert shortcuts.forbidden_in(ns["factory"], shortcuts.AUTODIFF) is None


def test_live_detection_looks_inside_a_library_wrapper_only_at_its_closure():
    student = _notebook_code("import jax\ndef mlp_backward(p, X, y):\n    return jax.grad(p)\n")

    def wrap(fn):
        def wrapper(*args):
            return fn(*args)
        wrapper.__module__ = "course.checking"  # a library function, like a checker's wrapper
        return wrapper

    assert shortcuts.forbidden_in(wrap(student["mlp_backward"]), shortcuts.AUTODIFF) == "jax"
    assert shortcuts.forbidden_in(wrap(len), shortcuts.AUTODIFF) is None


def test_a_live_check_warns_once_on_stdout(capsys, monkeypatch):
    monkeypatch.setattr(shortcuts, "_checked", {})
    ns = _notebook_code("import jax\ndef grad_f(x, y):\n    return jax.grad(lambda a: a)(x), 1\n"
                        "def mse(a, b):\n    return jax.numpy.mean(a - b)\n")
    assert recording.mode() == "live"
    for _ in range(3):
        checking.call(ns["grad_f"], 1.0, 2.0, name="grad_f")
        checking.call(ns["mse"], 1.0, 2.0, name="mse")
    out, err = capsys.readouterr()
    assert out.count("\N{WARNING SIGN}") == 1
    assert out.startswith("\N{WARNING SIGN} `grad_f` uses jax")
    assert err == ""


# ------------------------------------------------------------------------- real paths

JAX_GRAD_F = '''\
import jax


def grad_f(x, y):
    """Gradient (df/dx, df/dy) of f(x, y) = x**2 * y + y + 2."""
    dx, dy = jax.grad(lambda a, b: a**2 * b + b + 2, argnums=(0, 1))(float(x), float(y))
    return (float(dx), float(dy))
'''


@pytest.mark.slow
def test_entries_are_graded_through_the_sandboxed_kernel():
    lesson = "01-derivatives"
    (mutant,) = [e for e in mutation.generate("grad_f", solution_source(lesson, "grad_f"))
                 if e.id.startswith("binop@") and e.id.endswith(":30 + -> -")]
    todo = [mutant,
            mutation.Entry("alternative", "grad_f", "jax", "jax.grad", JAX_GRAD_F),
            mutation.Entry("alternative", "grad_f", "solution", "the solution itself",
                           solution_source(lesson, "grad_f"))]
    outcomes = mutation.run_lesson(lesson, todo)
    assert [mutation.verdict(o) for o in outcomes] == ["killed", "failed", "passed"]
    assert "grad_f" in outcomes[0].message
    assert "uses jax" in outcomes[1].message and "scores zero" in outcomes[1].message
    report = mutation.report(outcomes)
    assert "| `grad_f` | 0/0 | 0/0 | 1 | 0 | 0 | 1 | 100.0% | 1/2 |" in report


@pytest.mark.slow
def test_a_jax_grad_f_scores_zero_for_grad_f_only(scratch_course, tmp_path):
    lesson = "01-derivatives"
    course = scratch_course
    course.generate(lesson)
    source = solution_notebook(lesson)
    nb = notebooks.read(source)
    (answer,) = [c for c in nb.cells if notebooks.nbgrader_meta(c).get("grade_id") == "grad_f"]
    answer.source = JAX_GRAD_F
    path = tmp_path / source.name
    nbformat.write(nb, str(path))
    course.submit("sam", lesson, path)

    course.autograde(lesson, "sam")

    scores = course.cell_scores(lesson, "sam")
    assert scores["grad_f_check"].score == 0
    assert all(s.score == s.max_score for g, s in scores.items() if g != "grad_f_check")
    graded = notebooks.read(course.autograded / "sam" / lesson / source.name)
    (check,) = [c for c in graded.cells
                if notebooks.nbgrader_meta(c).get("grade_id") == "grad_f_check"]
    assert check.outputs[0].ename == "CheckFailed"
    assert "compute the derivative by hand" in check.outputs[0].evalue


@pytest.mark.slow
def test_a_crash_or_a_hang_costs_only_its_entry():
    lesson = "01-derivatives"
    solution = solution_source(lesson, "grad_f")
    todo = [mutation.Entry("generated", "grad_f", "crash", "os._exit",
                           "import os\n\ndef grad_f(x, y):\n    os._exit(1)\n"),
            mutation.Entry("generated", "grad_f", "hang", "endless loop",
                           "def grad_f(x, y):\n    while True:\n        pass\n"),
            mutation.Entry("alternative", "grad_f", "solution", "after both", solution)]
    outcomes = mutation.run_lesson(lesson, todo, timeout=8)
    assert [o.message is None for o in outcomes] == [False, False, True]
    assert outcomes[0].message.startswith("KernelDied")
    assert "`grad_f` was interrupted" in outcomes[1].message


def test_a_checker_wrapper_around_the_students_function_is_seen_through(capsys, monkeypatch):
    from course.checks.neural_network import check_mlp_backward

    monkeypatch.setattr(shortcuts, "_checked", {})
    source = solution_source("09-neural-network", "mlp_backward").replace(
        "a1 = np.tanh(X @ W1 + b1)", "a1 = np.asarray(jax.numpy.tanh(X @ W1 + b1))")
    ns = _notebook_code("import jax\nimport numpy as np\n"
                        "def sigmoid(z):\n    return 0.5 * (1.0 + np.tanh(0.5 * z))\n" + source)
    with contextlib.suppress(checking.CheckFailed):  # float32 jax may miss the tolerance
        check_mlp_backward(ns["mlp_backward"])
    assert capsys.readouterr().out.startswith("\N{WARNING SIGN} `mlp_backward` uses jax")
