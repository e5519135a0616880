"""Hostile and broken submissions of lesson 01, each with the score it must get.

Each case edits the solution notebook (all five exercises right, one point each)
and states the exercises that must score zero. Everything else must keep its points,
so a case also proves that one bad cell does not take the rest of the notebook down.
"""

from __future__ import annotations

from dataclasses import dataclass

from adversarial.edits import Edit, append_cell, append_to_answer, replace_answer

WRONG_MSE = "def mse(actual, guess):\n    return 0.0\n"


@dataclass(frozen=True)
class Case:
    name: str
    edit: Edit  # (notebook, context) -> None
    loses: tuple[str, ...]
    description: str
    needs_root: bool = False


CASES = [
    Case("patch-checker", replace_answer("mse", WRONG_MSE + (
        "import course.checks.derivatives as _d\n_d.check_mse = lambda *a, **k: None\n")),
        ("mse",), "wrong mse, and the checker replaced by a function that always passes"),
    Case("patch-comparison", replace_answer("grad_f", (
        "def grad_f(x, y):\n    return (0.0, 0.0)\n"
        "import course.checking as _c, course.checks.derivatives as _d\n"
        "_c.expect_close = _d.expect_close = lambda *a, **k: None\n")),
        ("grad_f",), "wrong grad_f, and the comparison helper disabled"),
    Case("patch-numpy", replace_answer("hessian_f", (
        "import numpy as np\n"
        "def hessian_f(x, y):\n    return np.zeros((2, 2))\n"
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.array_equal = lambda *a, **k: True\n")),
        ("hessian_f",), "wrong hessian_f, and numpy's comparisons patched to always agree"),
    Case("always-equal", replace_answer("mse", (
        "class Anything(float):\n"
        "    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n"
        "    __hash__ = float.__hash__\n"
        "def mse(actual, guess):\n    return Anything(0.0)\n")),
        ("mse",), "returns an object that claims to equal everything"),
    Case("detects-grading", replace_answer("relu_prime", (
        "import os, numpy as np\n"
        "def relu_prime(z):\n    return np.zeros_like(np.asarray(z, dtype=float))\n"
        "if any('GRADING' in key for key in os.environ):\n"
        "    import course.checks.derivatives as _d\n"
        "    _d.check_relu_prime = lambda *a, **k: print('\\N{{CHECK MARK}} relu_prime')\n")),
        ("relu_prime",), "patches the checker only when it notices it is being graded"),
    Case("reads-solutions", replace_answer("mse", (
        "import json, pathlib\n"
        "def mse(actual, guess):\n    return 0.0\n"
        "for path in pathlib.Path({repo!r}).glob('solutions/*/*.ipynb'):\n"
        "    try:\n"
        "        for cell in json.loads(path.read_text())['cells']:\n"
        "            if cell['metadata'].get('nbgrader', {{}}).get('grade_id') == 'mse':\n"
        "                exec(''.join(cell['source']))\n"
        "    except OSError:\n        pass\n")),
        ("mse",), "tries to copy the instructor's solution from solutions/", needs_root=True),
    Case("writes-gradebook", append_cell(
        "import glob\n"
        "for path in glob.glob({course!r} + '/**/*.db', recursive=True) + [{gradebook!r}]:\n"
        "    try:\n        open(path, 'r+b').write(b'corrupted' * 1000)\n"
        "    except OSError:\n        pass\n"),
        (), "tries to overwrite the gradebook", needs_root=True),
    Case("exits-kernel", append_to_answer("sigmoid_prime", "import os\nos._exit(1)\n"),
         ("sigmoid_prime",), "kills its kernel with os._exit in an answer cell"),
    Case("crashes-in-check", replace_answer("relu_prime", (
        "import os\ndef relu_prime(z):\n    os._exit(3)\n")),
        ("relu_prime",), "kills the kernel from inside the function the check calls"),
    Case("infinite-loop", replace_answer("grad_f", (
        "def grad_f(x, y):\n    while True:\n        pass\n")),
        ("grad_f",), "an infinite loop inside the graded function"),
    Case("memory-bomb", replace_answer("hessian_f", (
        "import numpy as np\ndef hessian_f(x, y):\n"
        "    hog = np.ones(4 * 10**9)\n    return hog[:4].reshape(2, 2)\n")),
        ("hessian_f",), "allocates 32 GB"),
    Case("huge-output", append_cell(
        "import sys\nfor _ in range(300):\n    sys.stdout.write('x' * 1_000_000)\n"),
        (), "prints 300 MB"),
    Case("fork-bomb", append_cell(
        "import os, time\n"
        "for _ in range(5000):\n"
        "    try:\n"
        "        if os.fork() == 0:\n            time.sleep(600)\n            os._exit(0)\n"
        "    except OSError:\n        break\n"),
        (), "forks until it cannot", needs_root=True),
]
