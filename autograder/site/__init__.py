"""The course's static site, built from what students receive (``lessons/``).

:mod:`~autograder.site.pages` runs each released lesson and quiets its checks,
:mod:`~autograder.site.launch` makes its JupyterHub, Binder and Colab links, and
:mod:`~autograder.site.build` assembles the Sphinx project under ``site/`` and builds it.
"""
