"""Helper library for the differentiable-programming course.

Submodules, each with one job:

- :mod:`course.data` -- belt sizes, Palmer penguins, synthetic samples;
- :mod:`course.plotting` -- one consistent figure style and the course's standard plots;
- :mod:`course.oracle` -- independent reference derivatives (JAX in float64);
- :mod:`course.checking` -- the machinery every checker shares (calling student
  code safely, comparing values, teaching failure messages);
- :mod:`course.checks` -- one checker module per lesson.

Importing :mod:`course` is cheap: JAX is only loaded by the modules that need it.
"""

import os

# The course runs on laptops and CI machines without accelerators; asking JAX for
# the CPU explicitly also keeps it from printing a "no GPU found" warning on stderr,
# which nbgrader would count as a failed test.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

__version__ = "0.1.0"
