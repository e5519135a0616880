#!/usr/bin/env python3
"""Set up the course and run it, from a fresh clone, with nothing but Python 3.11+.

    python3 tasks.py lab     # create .venv, install the course, open JupyterLab on lessons/
    python3 tasks.py test    # create .venv, install the course and test tools, run every check
    python3 tasks.py site    # build the course's static site into site/_build/html

Both commands create (or reuse) a virtual environment in ``.venv`` and reinstall
only when ``pyproject.toml`` has changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def run(*args: str | Path, **kwargs) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kwargs)


def ensure_environment(extras: str) -> None:
    """Create ``.venv`` and install the course with ``extras`` unless already current."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be run by an older python3
        sys.exit(f"The course needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print(f"Creating the virtual environment in {VENV.name}/ ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    target = f".[{extras}]" if extras else "."
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", target)
    stamp.write_text(digest)


def lab_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the students' JupyterLab (tests/browser checks it in Chromium)."""
    env = dict(os.environ if base is None else base)
    # Course settings for students: no news or update pop-ups, lessons/ first.
    env.setdefault("JUPYTERLAB_SETTINGS_DIR", str(ROOT / ".jupyter" / "lab" / "user-settings"))
    # .jupyter/ is also a Jupyter config directory: its labconfig/page_config.json and
    # jupyter_server_config.json turn off nbgrader's instructor tools (Create Assignment,
    # Formgrader, Course List) and the Assignment List with its menu, which need an
    # exchange a standalone lab has not; Validate stays.
    extra = [env["JUPYTER_CONFIG_PATH"]] if env.get("JUPYTER_CONFIG_PATH") else []
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([str(ROOT / ".jupyter"), *extra])
    return env


def lab() -> None:
    ensure_environment("")
    # Jupyter refuses to start as root unless told to (a container or a fresh VM is root).
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    run(BIN / "jupyter", "lab", "--ServerApp.root_dir", ROOT / "lessons", *as_root,
        env=lab_env())


def install_system_tools() -> None:
    """Debian's Chromium and PostgreSQL for the browser and gradebook tests, if missing.

    The scripts install only what is missing and need root or sudo for apt-get; where
    they cannot, say so and go on (browser tests then skip; PostgreSQL tests fail unless
    COURSE_TEST_NO_POSTGRES=1 says the server is unavailable on purpose).
    """
    if not sys.platform.startswith("linux"):
        return
    for script in (".ci/install-browser", ".ci/install-postgres"):
        try:
            run(ROOT / script)
        except (subprocess.CalledProcessError, OSError) as error:
            print(f"warning: {script} failed ({error}); install what it names by hand",
                  file=sys.stderr, flush=True)


def test() -> None:
    ensure_environment("test")
    install_system_tools()
    run(BIN / "ruff", "check", ".")
    run(BIN / "autograder", "release", "--check")
    workers = os.environ.get("COURSE_TEST_WORKERS", "auto")
    run(PYTHON, "-m", "pytest", "-n", workers, "--dist", "loadfile", "tests",
        "--nbval", "solutions", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
        "--nbval-cell-timeout", "240", *sys.argv[2:])
    if len(sys.argv) == 2:  # the full run also grades every mutant and alternative answer
        run(BIN / "autograder", "mutants", "--report", "test-artifacts/grading-quality.md")


def site() -> None:
    """Build the static site from lessons/ (``--lessons 01-derivatives ...`` for a subset)."""
    ensure_environment("site")
    run(PYTHON, "-m", "autograder.site", *sys.argv[2:])


COMMANDS = {"lab": lab, "test": test, "site": site,
            "setup": lambda: ensure_environment("test")}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python3 tasks.py {{{'|'.join(COMMANDS)}}} [pytest arguments]")
    try:
        COMMANDS[sys.argv[1]]()
    except subprocess.CalledProcessError as error:
        sys.exit(error.returncode)
