"""Sphinx configuration of the course's site (built by ``python3 tasks.py site``).

The build copies this file, ``index.md`` and ``_static/`` into ``site/_build/src`` next
to the executed lessons (``lessons/<id>.ipynb``) and MathJax (``_static/mathjax``).
Nothing on a page is loaded from another host: MathJax is served from the site, and
myst-nb's ipywidgets scripts (a CDN) are switched off.
"""

project = "Differentiable programming"
author = "The course's authors"
copyright = "the course's authors, MIT licence"

extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The lessons were executed by the build (autograder/site/pages.py), never here.
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # by default myst-nb loads require.js and ipywidgets from a CDN
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 2

# MathJax 3 from the site itself (site/package.json pins 3.2.2: Sphinx's mathjax3_config
# and this single-file component are MathJax 3's; MathJax 4 fetches its fonts from a CDN by
# default). A relative path is relative to _static.
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "sphinx_book_theme"
html_title = "Differentiable programming"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_copy_source = False  # no _sources/ copies of the notebooks
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}
