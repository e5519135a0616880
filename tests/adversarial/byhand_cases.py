"""Submissions that evade the by-hand rule, or inspect the grading kernel, and what they get.

Each case edits a lesson's solution notebook (everything right) and states the exercises
that must score zero (library use seen at run time, whatever the answer cell's text) and
the review flags the graded notebook must carry (``(where, what)`` substrings of a line
of its ``review`` annotations). Everything else keeps its points. The static rule reads
only the answer cell's text, so every library use below is one it cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adversarial.edits import Edit, combine, insert_after, insert_first, replace_answer


@dataclass(frozen=True)
class ByHandCase:
    name: str
    lesson: str
    edit: Edit  # (notebook) -> None
    loses: tuple[str, ...]
    flags: tuple[tuple[str, str], ...] = field(default=())
    description: str = ""


L01, L04, L05 = "01-derivatives", "04-forward-mode", "05-reverse-mode"

_F = "lambda a, b: a**2 * b + b + 2"

#: Library use the answer cells' text does not show, one evasion per exercise.
LIBRARY = [
    ByHandCase("computed-module-name", L01, replace_answer("grad_f", (
        "import importlib\n"
        "def grad_f(x, y):\n"
        "    m = importlib.import_module('j' + 'ax')\n"
        f"    g = m.grad({_F}, argnums=(0, 1))(float(x), float(y))\n"
        "    return float(g[0]), float(g[1])\n")),
        ("grad_f",), description="jax imported through a computed name"),
    ByHandCase("sys-modules-lookup", L01, replace_answer("hessian_f", (
        "import sys, numpy as np\n"
        "def hessian_f(x, y):\n"
        "    m = sys.modules['ja' + 'x']\n"
        "    h = m.hessian(lambda v: v[0]**2 * v[1] + v[1] + 2)(m.numpy.array([x, y]))\n"
        "    return np.asarray(h, dtype=float)\n")),
        ("hessian_f",), description="jax found in sys.modules under a computed key"),
    ByHandCase("exec", L01, replace_answer("sigmoid_prime", (
        "import numpy as np\n"
        "_src = 'import jax\\ndef d(z):\\n    return jax.vmap(jax.grad(jax.nn.sigmoid))(z)\\n'\n"
        "def sigmoid_prime(z):\n"
        "    ns = {}\n"
        "    exec(_src, ns)\n"
        "    z = np.asarray(z, dtype=float)\n"
        "    return np.asarray(ns['d'](z.ravel()), dtype=float).reshape(z.shape)\n")),
        ("sigmoid_prime",), description="the library reached inside exec'd code"),
    ByHandCase("helper-in-another-cell", L01, combine(
        insert_first("import numpy as np\n"
              "def _helper(z):\n"
              "    import jax\n"
              "    z = np.asarray(z, dtype=float)\n"
              "    d = jax.vmap(jax.grad(jax.nn.relu))(z.ravel())\n"
              "    return np.where(z.ravel() > 0, np.asarray(d), 0.0).reshape(z.shape)\n"),
        replace_answer("relu_prime", "def relu_prime(z):\n    return _helper(z)\n")),
        ("relu_prime",), description="the answer calls a helper defined in the first cell"),
    ByHandCase("cell-after-answer", L01, insert_after("grad_f", (
        "import jax as _j\n"
        "def grad_f(x, y):\n"
        f"    g = _j.grad({_F}, argnums=(0, 1))(float(x), float(y))\n"
        "    return float(g[0]), float(g[1])\n")),
        ("grad_f",), description="a cell added between the answer and its check"),
    ByHandCase("course-oracle-wrapper", L01, replace_answer("hessian_f", (
        "import numpy as np\n"
        "from course import oracle as _o\n"
        "def hessian_f(x, y):\n"
        "    f = lambda v: v[0]**2 * v[1] + v[1] + 2\n"
        "    return np.asarray(_o.hessian(f, np.array([x, y], dtype=float)))\n")),
        ("hessian_f",), description="the course's own oracle module, which wraps jax"),
    ByHandCase("course-expr-to-sympy", L01, replace_answer("grad_f", (
        "from course import expr as _e\n"
        "def grad_f(x, y):\n"
        "    X, Y = _e.Var('x'), _e.Var('y')\n"
        "    f = _e.to_sympy(X**2 * Y + Y + 2)\n"
        "    at = {s: {'x': x, 'y': y}[s.name] for s in f.free_symbols}\n"
        "    return tuple(float(f.diff(s).subs(at)) for s in sorted(f.free_symbols, key=str))\n")),
        ("grad_f",), description="a course helper that wraps sympy, then sympy's diff"),
    ByHandCase("oracle-from-checker-frame", L01, replace_answer("grad_f", (
        "import sys\n"
        "def grad_f(x, y):\n"
        "    f = sys._getframe(1)\n"
        "    while f is not None and 'oracle' not in f.f_locals:\n"
        "        f = f.f_back\n"
        "    g = f.f_locals['oracle'](x, y)\n"
        "    return float(g[0]), float(g[1])\n")),
        ("grad_f",), (("grad_f", "frame inspection"),),
        "calls the oracle the checker holds in its frame, no import at all"),
    ByHandCase("oracle-through-traceback", L01, replace_answer("hessian_f", (
        "import numpy as np\n"
        "def hessian_f(x, y):\n"
        "    try:\n"
        "        raise RuntimeError\n"
        "    except RuntimeError as error:\n"
        "        f = error.__traceback__.tb_frame\n"
        "    while f is not None and '_hessian_oracle' not in f.f_globals:\n"
        "        f = f.f_back\n"
        "    return np.asarray(f.f_globals['_hessian_oracle']()(np.array([x, y])), float)\n")),
        ("hessian_f",), (("hessian_f", "tb_frame"),),
        "the checker module's oracle reached through a traceback's frames"),
    ByHandCase("cached-checker-oracle", L01, replace_answer("sigmoid_prime", (
        "import sys\n"
        "def sigmoid_prime(z):\n"
        "    return sys.modules['course.checks.derivatives']._elementwise_derivative("
        "'sigmoid')(z)\n")),
        ("sigmoid_prime",), description="the checker module's cached, compiled oracle"),
    ByHandCase("dual-through-exec", L04, insert_after("derivative", (
        "exec('import jax\\n'\n"
        "     'def derivative(f, x):\\n'\n"
        "     '    return float(f(Dual(x, 1.0)).deriv) + float(jax.numpy.zeros(()))\\n')\n")),
        ("derivative",), description="lesson 04: derivative redefined by exec'd code"),
    ByHandCase("var-helper-cell", L05, combine(
        insert_first("def _zero():\n"
              "    import jax\n"
              "    return float(jax.numpy.zeros(()))\n"),
        insert_after("grad", (
            "_own_grad = grad\n"
            "def grad(f):\n"
            "    inner = _own_grad(f)\n"
            "    def g(*xs):\n"
            "        return tuple(v + _zero() for v in inner(*xs))\n"
            "    return g\n"))),
        ("grad",), description="lesson 05: grad wrapped in an added cell, jax in a helper"),
]

#: Inspection of the grading kernel that cannot be judged for sure: flagged for review.
INSPECTION = [
    ByHandCase("inspect-stack", L01, replace_answer("mse", (
        "import inspect, numpy as np\n"
        "def mse(actual, guess):\n"
        "    _ = [frame.frame.f_locals for frame in inspect.stack()]\n"
        "    return float(np.mean((np.asarray(actual) - np.asarray(guess)) ** 2))\n")),
        (), (("mse", "frame inspection"),), "reads every frame's locals through inspect"),
    ByHandCase("gc-referrers", L01, replace_answer("relu_prime", (
        "import gc, numpy as np\n"
        "def relu_prime(z):\n"
        "    _ = gc.get_referrers(z)\n"
        "    return (np.asarray(z, dtype=float) > 0).astype(float)\n")),
        (), (("relu_prime", "gc.get_referrers"),), "walks the garbage collector's graph"),
    ByHandCase("gc-objects-in-cell", L01, insert_after("mse", (
        "import gc\n_everything = len(gc.get_objects())\n")),
        (), (("the notebook", "gc.get_objects"),), "lists every object, outside the checks"),
    ByHandCase("profiler-off", L01, replace_answer("sigmoid_prime", (
        "import sys, numpy as np\n"
        "def sigmoid_prime(z):\n"
        "    sys.setprofile(None)\n"
        "    s = 0.5 * (1 + np.tanh(np.asarray(z, dtype=float) / 2))\n"
        "    return s * (1 - s)\n")),
        (), (("sigmoid_prime", "sys.setprofile"),), "switches off the watch on library use"),
    ByHandCase("tracer", L01, replace_answer("grad_f", (
        "import sys\n"
        "def grad_f(x, y):\n"
        "    sys.settrace(lambda *a: None)\n"
        "    sys.settrace(None)\n"
        "    return 2 * x * y, x**2 + 1\n")),
        (), (("grad_f", "sys.settrace"),), "sets a tracer during the check"),
    ByHandCase("patch-course", L01, insert_after("mse", (
        "import course.checks.derivatives as _d, course.shortcuts as _s\n"
        "_d.check_relu_prime = lambda *a, **k: print('ok')\n"
        "_s.Watch.check_answer = lambda self, value: None\n")),
        ("relu_prime",), (("the course's code was patched", "check_relu_prime"),
             ("the course's code was patched", "Watch.check_answer")),
        "replaces a checker (its exercise scores zero: nothing was recorded) and a method of "
        "the watch"),
    ByHandCase("reads-log", L01, insert_after("mse", (
        "import glob\n"
        "for _path in glob.glob('.grading-record*'):\n"
        "    try:\n"
        "        print(open(_path).read()[:100])\n"
        "    except OSError as _error:\n"
        "        print(type(_error).__name__)\n")),
        (), (("the notebook", "grading log"),), "reads the kernel's record of its answers"),
]

CASES = LIBRARY + INSPECTION
