"""``python -m autograder.site``: build the course's site (see :mod:`autograder.site.build`)."""

import sys

from autograder.site.build import main

sys.exit(main())
