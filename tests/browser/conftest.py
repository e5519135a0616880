"""Fixtures for the browser tests: JupyterLab on a copy of the course, Chromium via Playwright.

The server is started the way ``python3 tasks.py lab`` starts it (same settings and
configuration, from the repository root so that ``nbgrader_config.py`` applies), but
with private Jupyter config, runtime and data folders, a free port, a token, and a
temporary copy of ``solutions/`` and ``lessons/`` as its root: the repository's
notebooks are never touched.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``.ci/install-browser``),
driven by the Python ``playwright`` package; Playwright's own browser download is not
used. Outside CI a missing browser skips these tests; with ``CI=true`` it fails them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
#: The course's shipped student settings (see ``tasks.py lab``).
STUDENT_CONFIG = REPO_ROOT / ".jupyter"
STUDENT_SETTINGS = STUDENT_CONFIG / "lab" / "user-settings"

#: Flags Chromium needs on a headless machine without a GPU, sandbox or network.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
    # Offline like a student without network: only this machine resolves. (No Playwright
    # request routing: with the sync API it stalls the page whenever Python is busy.)
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
SERVER_START_TIMEOUT = 180  # seconds: a cold start on a busy 2-core machine is slow


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def lessons() -> list[tuple[str, str]]:
    """``(lesson, notebook name)`` for every lesson in ``solutions/`` released in ``lessons/``."""
    from autograder.lessons import all_lessons

    return [(lesson.id, lesson.notebook) for lesson in all_lessons() if lesson.release.exists()]


def chromium_path() -> str | None:
    candidates = [os.environ.get("COURSE_CHROMIUM"), "/usr/bin/chromium",
                  shutil.which("chromium"), shutil.which("chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def missing_requirements() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    problems = []
    if chromium_path() is None:
        problems.append("Chromium is not installed (looked for /usr/bin/chromium, "
                        "$COURSE_CHROMIUM and chromium on PATH)")
    if importlib.util.find_spec("playwright") is None:
        problems.append(f"the Python package 'playwright' is not installed in {sys.prefix}")
    if not problems:
        return None
    return "; ".join(problems) + ". Run .ci/install-browser to install them."


@pytest.fixture(scope="session")
def browser_requirements() -> str:
    """The Chromium executable; skip (fail under ``CI=true``) when the tools are missing."""
    problem = missing_requirements()
    if problem:
        if in_ci():
            pytest.fail(f"browser tests cannot run in CI: {problem}", pytrace=False)
        pytest.skip(problem)
    return chromium_path()


def student_lab_environment(base: dict[str, str]) -> dict[str, str]:
    """The environment ``tasks.py lab`` gives JupyterLab (its ``lab_env`` when it has one)."""
    spec = importlib.util.spec_from_file_location("course_tasks", REPO_ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    if hasattr(tasks, "lab_env"):
        return tasks.lab_env(base)
    env = dict(base)
    env.setdefault("JUPYTERLAB_SETTINGS_DIR", str(STUDENT_SETTINGS))
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in (str(STUDENT_CONFIG), base.get("JUPYTER_CONFIG_PATH")) if p)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class JupyterLab:
    """A running JupyterLab server whose root is a scratch copy of the course."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def lab_url(self, path: str, workspace: str) -> str:
        """URL that opens ``path`` in a fresh workspace (nothing restored from earlier)."""
        return f"{self.url}/lab/workspaces/{workspace}/tree/{path}?token={self.token}"

    def shut_down_kernels(self, *, quiet: bool = False) -> None:
        """Close every notebook session (and its kernel); ``quiet`` for clean-up code."""
        try:
            for session in self.api("sessions"):
                self.api(f"sessions/{session['id']}", method="DELETE")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if not quiet:
                raise


def _die_with_parent() -> None:
    """In the server's process: end it if pytest itself is killed (Linux), no orphans."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_until_answers(lab: JupyterLab) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {lab.process.returncode}:\n"
                               + lab.log.read_text()[-4000:])
        try:
            lab.api("status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n"
                       + lab.log.read_text()[-4000:])


@pytest.fixture(scope="session")
def settings_snapshot():
    """The shipped student settings, to check that running the lab never rewrites them."""
    return {p: p.read_bytes() for p in sorted(STUDENT_CONFIG.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def jupyter_lab(browser_requirements, tmp_path_factory, settings_snapshot):
    """JupyterLab as ``tasks.py lab`` runs it, on a scratch copy of solutions/ and lessons/."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "course"
    for lesson, name in lessons():
        for kind in ("solutions", "lessons"):
            target = root / kind / lesson
            target.mkdir(parents=True)
            shutil.copy2(REPO_ROOT / kind / lesson / name, target / name)
    private = {name: base / name.lower() for name in
               ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR",
                "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR")}
    for folder in private.values():
        folder.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "IPYTHON"))}
    env.update({k: str(v) for k, v in private.items()})
    env["PYTHONUNBUFFERED"] = "1"
    env = student_lab_environment(env)

    token = os.urandom(16).hex()
    port = free_port()
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI runs as root
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / "jupyter-server.log"
    with log.open("w") as out:
        # From the repository root, like tasks.py lab: nbgrader_config.py applies to Validate.
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=_die_with_parent)
    lab = JupyterLab(url=f"http://127.0.0.1:{port}", token=token, root=root,
                     process=process, log=log)
    try:
        _wait_until_answers(lab)
        yield lab
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="session")
def browser_context(browser_requirements, tmp_path_factory):
    """A headless Chromium that may only talk to localhost (the student's lab works offline)."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=browser_requirements, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser_context, request):
    """A fresh tab; its console errors, and on failure a screenshot, go to the artifacts."""
    tab = browser_context.new_page()
    messages: list[str] = []
    tab.on("console", lambda m: messages.append(f"{m.type}: {m.text}")
           if m.type in {"error", "warning"} else None)
    tab.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    try:
        yield tab
    finally:
        name = request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}-console.log").write_text("\n".join(messages) + "\n")
        report = getattr(request.node, "report_call", None)
        if report is None or report.failed:
            try:
                tab.screenshot(path=ARTIFACTS / f"{name}-failure.png", timeout=10_000)
            except Exception as error:  # the page may be gone; the report says why
                messages.append(f"no failure screenshot: {error}")
        tab.close()
