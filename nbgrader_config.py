"""nbgrader settings for this course; the single source is autograder/config.py."""

from autograder.config import course_config

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
c.merge(course_config())
