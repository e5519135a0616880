"""Instructor tooling for the course, built on nbgrader.

* ``autograder release`` -- make ``lessons/`` from ``solutions/``
  (``--check``: verify that it is current);
* ``autograder verify`` -- run every solution (all tests pass) and every lesson (every graded
  test fails, nothing else does);
* ``autograder grade`` / ``feedback`` / ``export`` -- grade submissions, write feedback,
  export grades;
* ``autograder mutants`` -- grade wrong and alternative answers through the grading path
  and report how well the checks catch and name mistakes (``docs/grading-quality.md``).
"""

import os
import sys
from pathlib import Path

# nbgrader runs the `alembic` command by name to manage the gradebook schema; make
# sure the environment's own scripts are found even when it was not activated.
_scripts = str(Path(sys.executable).parent)
if _scripts not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _scripts + os.pathsep + os.environ.get("PATH", "")

__all__: list[str] = []
