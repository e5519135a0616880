"""Demo cells left out of grading (autograder/demo_cells.py): the reading of names, the
side effects that keep a demo in, the plan for a submission, and, for every lesson, that
its tagged cells are left out of its own solution and that leaving them out changes no
check cell's output."""

from __future__ import annotations

import builtins

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder import demo_cells, notebooks
from autograder.demo_cells import bound_names, free_names, plan, side_effects
from tests.conftest import LESSONS, solution_notebook

# ------------------------------------------------------------------ names a cell reads


@pytest.mark.parametrize(("source", "free"), [
    ("fig, ax = plt.subplots()\nax.plot(xs)", {"plt", "xs"}),
    ("if ready():\n    fig = make()\n    fig.show()", {"ready", "make"}),
    ("if flag:\n    ax = 1\nprint(ax)", {"flag", "ax"}),  # maybe unbound: read from before
    ("if flag:\n    ax = 1\nelse:\n    ax = 2\nprint(ax)", {"flag"}),
    ("for i in range(3):\n    total = i\nprint(total)", {"total"}),
    ("x = x + 1", {"x"}),
    ("x += 1", {"x"}),
    ("def f():\n    return ax\nax = 1", set()),  # bound for sure by the cell's end
    ("def f():\n    return ax\nif c:\n    ax = 1", {"c", "ax"}),
    ("def f(a, *, b=default):\n    c = a + b\n    return c + g", {"default", "g"}),
    ("g = lambda v: v * scale", {"scale"}),
    ("ys = [y * k for y in ys]", {"ys", "k"}),
    ("ys = [y for y in range(3)]\nprint(y)", {"y"}),
    ("with open_it() as h:\n    h.read()", {"open_it"}),
    ("try:\n    v = f()\nexcept E as e:\n    print(e, v)", {"f", "E", "v"}),
    ("import numpy as np\nnp.zeros(3)", set()),
    ("class A(Base):\n    k = K\n    def m(self):\n        return G", {"Base", "K", "G"}),
    ("match p:\n    case Point(x=0, y=yy):\n        print(yy, z)", {"p", "Point", "z"}),
    ("del w", {"w"}),
    ("obj.attr = value", {"obj", "value"}),
    ("if (n := size()) > 2:\n    print(n)", {"size"}),
    ("print(len([]))", set()),  # builtins are not names of earlier cells
    ("def f(x: Array, *rest: Row) -> Out:\n    return x", {"Array", "Row", "Out"}),
    ("n: Count = 3", {"Count"}),
])
def test_free_names_are_the_names_read_before_the_cell_binds_them(source, free):
    assert free_names(source) == free


@pytest.mark.parametrize("source", [
    "exec('ax = 1')", "print(globals()['ax'])", "vars()['a'] = 1", "%time y = ax",
    "f.__globals__['ax']", "def (:", "import __main__\nprint(__main__.ax)",
    "import sys\nsys.modules['__main__'].ax", "from __main__ import ax",
    "import inspect\ninspect.currentframe().f_globals['ax']",
    "get_ipython().user_ns['ax']", "importlib.import_module('__main__').ax",
])
def test_a_cell_that_reads_names_in_ways_not_followed_cannot_be_read(source):
    assert free_names(source) is None


def test_bound_names_cover_every_branch_and_global_declarations():
    source = ("import numpy as np\nfrom a import b as c\nif x:\n    p = 1\nelse:\n    q, *r = s\n"
              "for i in t:\n    pass\nwith m() as (u, v):\n    pass\n"
              "def f():\n    global g\n    local = 1\nclass K:\n    inside = 2\n"
              "try:\n    pass\nexcept E as err:\n    pass\nw = (z := 3)")
    assert bound_names(source) == {"np", "c", "p", "q", "r", "i", "u", "v", "f", "g", "K",
                                   "err", "w", "z"}


@st.composite
def _straight_line_cells(draw):
    names = st.sampled_from(["a", "b", "c", "d"])
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        target, left, right = draw(names), draw(names), draw(names)
        lines.append(draw(st.sampled_from([
            f"{target} = ({left}, {right})", f"{target} = 1",
            f"if {left}:\n    {target} = {right}", f"def {target}():\n    return {left}",
            f"{target} = [{left} for {right} in range(2)]", f"({left}, {right})"])))
    return "\n".join(lines)


class _Recorder(dict):
    """Globals that note every name looked up before it was set (builtins pass through)."""

    def __init__(self) -> None:
        super().__init__(__builtins__=builtins)
        self.read_first: set[str] = set()

    def __getitem__(self, key):
        if super().__contains__(key):
            return super().__getitem__(key)
        if hasattr(builtins, key):
            raise KeyError(key)
        self.read_first.add(key)
        return 1


@given(_straight_line_cells())
def test_free_names_include_every_name_the_cell_reads_from_outside(source):
    """Oracle: run the cell in globals that record lookups of names not yet set, then
    call every function it defined (which reads its globals when called)."""
    recorder = _Recorder()
    exec(compile(source, "<cell>", "exec"), recorder)
    for value in [v for k, v in dict(recorder).items() if k != "__builtins__"]:
        if callable(value):
            value()
    assert recorder.read_first <= free_names(source)


# ------------------------------------------------------------------ side effects


@pytest.mark.parametrize(("source", "reason"), [
    ("jax.config.update('jax_enable_x64', True)", "calls .update() on jax"),
    ("history.append(3)", "calls .append() on history"),
    ("h = history\nh.append(3)", "calls .append() on h"),  # an alias of another's object
    ("np.random.seed(0)", "uses the global random state"),
    ("x = np.random.normal(size=3)", "uses the global random state"),
    ("import random\nrandom.shuffle(xs)", "uses the global random state"),
    ("plt.rcParams['lines.linewidth'] = 3", "assigns into plt"),
    ("model.weights = w", "assigns into model"),
    ("params[0] += 1", "assigns into params"),
    ("def f():\n    global counter\n    counter = 1\nf()", "declares counter global"),
    ("from numpy import *", "imports * from numpy"),
    ("del results", "deletes names or items"),
    ("setattr(model, 'w', 1)", "calls setattr()"),
    ("open('out.txt', 'w').write('x')", "calls open()"),
    ("%matplotlib inline", "calls get_ipython()"),
    ("def f(:", "does not parse"),
])
def test_side_effects_keep_a_demo_in(source, reason):
    imports = {"np": "numpy", "jax": "jax", "plt": "matplotlib.pyplot"}
    found = side_effects(source, imports)
    assert any(line.startswith(reason) for line in found), found


@pytest.mark.parametrize("source", [
    "fig, ax = plt.subplots()\nax.plot(xs, ys)\nax.set_title('loss')\nplt.show()",
    "rng = np.random.default_rng(0)\nx = rng.normal(size=3)",
    "key = jax.random.PRNGKey(0)\nx = jax.random.normal(key, (3,))",
    "seen = []\nfor x in xs:\n    seen.append(x)\nprint(seen)",
    "class Box:\n    def __init__(self, v):\n        self.v = v\nb = Box(1)\nb.v = 2",
    "table = {}\ntable['a'] = 1",
])
def test_cells_that_only_show_or_change_their_own_objects_have_no_side_effects(source):
    assert side_effects(source, {"np": "numpy", "jax": "jax",
                                 "plt": "matplotlib.pyplot"}) == []


# ------------------------------------------------------------------ the plan


DEMO = "fig, ax = plt.subplots()\nsteps = run(10)\nax.plot(steps)"


def test_a_demo_nothing_later_reads_is_left_out():
    sources = ["import matplotlib.pyplot as plt", "def run(n):\n    return list(range(n))",
               DEMO, None, "check(run)"]
    assert plan(sources, {DEMO}) == {2}


def test_a_demo_whose_names_a_later_cell_reads_runs():
    sources = ["import matplotlib.pyplot as plt", DEMO, "answer = len(steps)"]
    assert plan(sources, {DEMO}) == set()


def test_a_cell_that_rebinds_the_name_before_reading_it_does_not_need_the_demo():
    sources = ["import matplotlib.pyplot as plt", DEMO, "steps = [1]\nprint(steps)"]
    assert plan(sources, {DEMO}) == {1}


def test_a_students_function_reading_a_demos_name_keeps_the_demo():
    sources = ["import matplotlib.pyplot as plt", DEMO,
               "def answer():\n    return steps[-1]", "check(answer)"]
    assert plan(sources, {DEMO}) == set()


def test_an_edited_demo_is_the_students_cell_and_runs():
    sources = ["import matplotlib.pyplot as plt", DEMO + "\nsecret = 1"]
    assert plan(sources, {DEMO}) == set()


def test_chained_demos_are_left_out_together_unless_a_running_cell_needs_them():
    data = "xs = load()"
    show = "ax.plot(xs)"
    assert plan([data, show, "check(f)"], {data, show}) == {0, 1}
    assert plan([data, show, "check(f, xs)"], {data, show}) == {1}
    assert plan([data, show + " # edited", "check(f)"], {data, show}) == set()


def test_a_running_cell_that_cannot_be_read_leaves_nothing_out():
    sources = ["import matplotlib.pyplot as plt", DEMO, "exec(code)"]
    assert plan(sources, {DEMO}) == set()
    sources = ["import matplotlib.pyplot as plt", DEMO, "%timeit f()"]
    assert plan(sources, {DEMO}) == set()


def test_a_cell_too_deeply_nested_to_read_leaves_nothing_out():
    shallow = "x = a" + " + a" * 10
    deep = "x = a" + " + a" * 1500  # parses, but reading it goes deeper than Python's limit
    assert plan(["import matplotlib.pyplot as plt", DEMO, shallow], {DEMO}) == {1}
    assert plan(["import matplotlib.pyplot as plt", DEMO, deep], {DEMO}) == set()


def test_a_submission_with_too_much_code_leaves_nothing_out():
    bulk = "x = 1\n" * (demo_cells.MAX_CODE_CHARS // 6 + 1)
    assert plan(["import matplotlib.pyplot as plt", DEMO, "y = 2"], {DEMO}) == {1}
    assert plan(["import matplotlib.pyplot as plt", DEMO, bulk], {DEMO}) == set()


def test_a_tagged_cell_with_side_effects_runs():
    seeding = "np.random.seed(0)\nprint('seeded')"
    assert plan(["import numpy as np", seeding, "check(f)"], {seeding}) == set()


# ------------------------------------------------------------------ the lessons


def _sources(nb) -> list[str | None]:
    return [cell.source if cell.cell_type == "code" else None for cell in nb.cells]


@pytest.mark.parametrize("lesson_id", LESSONS)
def test_every_tagged_cell_of_a_lesson_is_left_out_of_its_solution(lesson_id):
    path = solution_notebook(lesson_id)
    nb = notebooks.read(path)
    tagged = {i for i, cell in enumerate(nb.cells) if demo_cells.is_tagged(cell)}
    assert tagged, f"{lesson_id} tags no demo cell"
    assert not any(notebooks.nbgrader_meta(nb.cells[i]) for i in tagged), \
        "a graded, answer or locked cell cannot be a demo"
    imports = demo_cells.import_aliases(s for s in _sources(nb) if s)
    kept = tagged - plan(_sources(nb), demo_cells.tagged_sources(path))
    assert not kept, {i: side_effects(nb.cells[i].source, imports)
                      or sorted(bound_names(nb.cells[i].source)) for i in kept}


def test_review_tells_an_author_what_is_left_out_what_runs_and_what_could_be_tagged():
    cells = [nbformat.v4.new_code_cell("import numpy as np"),
             nbformat.v4.new_code_cell("xs = np.arange(3)"),
             nbformat.v4.new_code_cell("print(xs)"),
             nbformat.v4.new_code_cell("np.random.seed(1)"),
             nbformat.v4.new_code_cell("total = xs.sum()"),
             nbformat.v4.new_code_cell("check(total)")]
    for index in (1, 3):
        cells[index].metadata["tags"] = ["demo"]
    cells[5].metadata["nbgrader"] = {"grade": True, "grade_id": "total_check", "points": 1,
                                     "solution": False, "locked": True}
    rows = demo_cells.review(nbformat.v4.new_notebook(cells=cells))
    assert rows == [
        (1, "runs", "a later cell that runs reads xs"),
        (2, "could be tagged", "print(xs)"),
        (3, "runs", "uses the global random state (np.random.seed, line 1)"),
    ]
