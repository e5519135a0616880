"""Build the course's static site: ``python3 tasks.py site [--lessons 01-derivatives ...]``.

The site is Sphinx with ``myst-nb`` (Jupyter Book 1's engine), pip packages only, and
MathJax served from the site itself (the ``mathjax`` npm package, installed with
``npm ci`` from ``site/package-lock.json``): nothing is fetched from a CDN or from
GitHub, at build time or when a reader opens a page.

Layout under the build folder (``site/_build`` unless told otherwise, git-ignored):
``src/`` (the Sphinx project assembled for this build), ``html/`` (the site: open
``html/index.html``), ``doctrees/`` and ``cache/`` (executed lessons, see
:mod:`autograder.site.pages`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat

from autograder.config import REPO_ROOT
from autograder.lessons import Lesson, all_lessons, lesson
from autograder.site import launch, pages

SITE = REPO_ROOT / "site"
DEFAULT_BUILD = SITE / "_build"
#: The committed Sphinx project: configuration, index page, style.
PROJECT_FILES = ("conf.py", "index.md", "_static/course.css")
MATHJAX = SITE / "node_modules" / "mathjax"
#: The parts of MathJax's ``es5`` folder the site serves: the TeX-to-HTML component the
#: pages load, the TeX extensions it loads on demand, its fonts, and the accessibility
#: and menu parts its context menu loads.
MATHJAX_PARTS = ("tex-chtml.js", "input/tex", "output/chtml", "a11y", "ui", "sre")


@contextlib.contextmanager
def _npm_lock():
    """Hold a lock on ``site/node_modules`` (``npm ci`` empties it: two builds may run at once)."""
    try:
        import fcntl
    except ImportError:  # Windows: no concurrent builds expected
        yield
        return
    DEFAULT_BUILD.mkdir(parents=True, exist_ok=True)
    with (DEFAULT_BUILD / "node_modules.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _locked_mathjax_version() -> str:
    lock = json.loads((SITE / "package-lock.json").read_text())
    return lock["packages"]["node_modules/mathjax"]["version"]


def ensure_mathjax() -> Path:
    """MathJax's ``es5`` folder, run ``npm ci`` first when it is missing or not the locked one."""
    installed = MATHJAX / "package.json"
    wanted = _locked_mathjax_version()
    if not installed.exists() or json.loads(installed.read_text())["version"] != wanted:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("the site needs npm (Node.js) to install MathJax from "
                             "site/package-lock.json")
        print(f"+ npm ci (mathjax {wanted})", flush=True)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=SITE, check=True)
    return MATHJAX / "es5"


def _copy_mathjax(es5: Path, target: Path) -> None:
    for part in MATHJAX_PARTS:
        source = es5 / part
        if source.is_dir():
            shutil.copytree(source, target / part)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)


def resolve(names: Sequence[str] | None) -> list[Lesson]:
    """The lessons named (ids like ``01-derivatives``, or numbers), or every released one."""
    if not names:
        return [item for item in all_lessons() if item.release.exists()]
    chosen = [lesson(name) for name in names]
    return sorted(set(chosen), key=lambda item: item.number)


def assemble(chosen: Sequence[Lesson], source: Path, cache: Path,
             config: launch.LaunchConfig) -> None:
    """Write the Sphinx project of this build into ``source`` (emptied first)."""
    if source.exists():
        shutil.rmtree(source)
    for name in PROJECT_FILES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(SITE / name, source / name)
    with _npm_lock():
        _copy_mathjax(ensure_mathjax(), source / "_static" / "mathjax")
    (source / "lessons").mkdir()
    for item in chosen:
        started = time.monotonic()
        executed = pages.executed_release(item, cache)
        notebook = f"{item.id}/{item.notebook}"
        page = pages.for_site(executed, item, launch.markdown(config, notebook))
        nbformat.write(page, source / "lessons" / f"{item.id}.ipynb")
        print(f"  {item.id}: {time.monotonic() - started:.1f} s", flush=True)


def build(names: Sequence[str] | None = None, *, out: Path = DEFAULT_BUILD,
          cache: Path | None = None, config: launch.LaunchConfig | None = None) -> Path:
    """Build the site of ``names`` (default: every lesson) into ``out``; its ``index.html``."""
    chosen = resolve(names)
    config = config or launch.load(SITE / "site.toml")
    cache = cache or out / "cache"
    source, html = out / "src", out / "html"
    print(f"site: {len(chosen)} lesson(s) into {html}", flush=True)
    assemble(chosen, source, cache, config)
    if html.exists():
        shutil.rmtree(html)  # a subset build must not keep pages of an earlier build
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-E", "-q", "--keep-going",
                    "-d", str(out / "doctrees"), str(source), str(html)], check=True)
    return html / "index.html"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of ``python -m autograder.site`` (and ``tasks.py site``)."""
    parser = argparse.ArgumentParser(prog="tasks.py site", description=__doc__.split("\n")[0])
    parser.add_argument("--lessons", nargs="+", metavar="LESSON",
                        help="build only these lessons (ids or numbers); default: all")
    parser.add_argument("--out", type=Path, default=DEFAULT_BUILD, help="build folder")
    parser.add_argument("--repository", help="public git URL of the course (launch links)")
    parser.add_argument("--branch", help="branch the launch links open")
    parser.add_argument("--jupyterhub", help="the course's JupyterHub URL (nbgitpuller)")
    args = parser.parse_args(argv)
    config = launch.load(SITE / "site.toml")
    overrides = {k: getattr(args, k) for k in ("repository", "branch", "jupyterhub")
                 if getattr(args, k) is not None}
    config = launch.LaunchConfig(**{**config.__dict__, **overrides})
    started = time.monotonic()
    index = build(args.lessons, out=args.out.resolve(), config=config)
    print(f"site built in {time.monotonic() - started:.0f} s: {index}")
    return 0
