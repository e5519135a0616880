"""Kernels forked from the fork server behave as kernels the launcher starts.

The oracle is a kernel started the usual way (``SandboxKernelManager.fork_server =
False``): the same probe cell must report the same interpreter state from both, up to
the kernel's own folder.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import pytest
from traitlets.config import Config

from autograder import fork_server, sandbox
from autograder.kernel_session import KernelSession, Settings

PROBE = r"""
import json, os, random, sys, tempfile
import jax, matplotlib
from ipykernel.kernelapp import IPKernelApp
here = os.getcwd()
def local(path):
    return str(path).replace(here, "WORKDIR")
def kinds():
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(os.readlink(f"/proc/self/fd/{fd}").split("[")[0])
        except OSError:  # the listing's own descriptor, closed by now
            pass
    return found
print(json.dumps({
    "env": sorted((k, local(v)) for k, v in os.environ.items() if k != "JPY_PARENT_PID"),
    "path": [local(p) for p in sys.path], "argv": [local(a) for a in sys.argv[1:]],
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "parent_watched": IPKernelApp.instance().parent_handle == os.getppid(),
    "backend": matplotlib.get_backend(), "mpl": local(matplotlib.get_configdir()),
    "mpl_cache": local(matplotlib.get_cachedir()), "tmp": local(tempfile.gettempdir()),
    "jax": [str(jax.config.jax_compilation_cache_dir),
            jax.config.jax_persistent_cache_min_compile_time_secs,
            jax.config.jax_platforms, bool(jax.config.jax_enable_x64)],
    "fds": sorted(kinds()), "grader": [m for m in sys.modules
                                                             if m.startswith("autograder")],
    "main": sys.modules["__main__"].__name__, "session": os.getsid(0) == os.getpid(),
    "sigint": str(__import__("signal").getsignal(__import__("signal").SIGINT)),
    "cwd": local(here), "umask": os.umask(0o022),
}, sort_keys=True))
"""


def _settings(fork: bool, **kwargs) -> Settings:
    config = Config()
    config.SandboxKernelManager.fork_server = fork
    return Settings(config=config, **kwargs)


def _probe(fork: bool, source: str = PROBE) -> dict:
    with KernelSession(_settings(fork)) as session:
        session.start()
        run = session.run(source)
    assert run.status == "ok", run.outputs
    return json.loads("".join(o.get("text", "") for o in run.outputs))


@pytest.mark.slow
def test_a_forked_kernel_reports_what_a_launched_one_does():
    before = fork_server.server().spawned
    forked = _probe(True)
    assert fork_server.server().spawned == before + 1, "the kernel was not forked"
    launched = _probe(False)
    # Its standard input is /dev/null, not a pipe from the grader: nothing else differs.
    assert set(forked.pop("fds")) - {"/dev/null"} <= set(launched.pop("fds"))
    assert forked == launched
    assert forked["parent_watched"] and forked["session"]
    assert forked["mpl"].startswith("WORKDIR") and forked["tmp"].startswith("WORKDIR")
    assert forked["grader"] == []


@pytest.mark.slow
def test_forked_kernels_do_not_share_random_state():
    source = ("import random, numpy as np, json\n"
              "print(json.dumps([random.random(), float(np.random.rand())]))")
    first, second = _probe(True, source), _probe(True, source)
    assert first[0] != second[0] and first[1] != second[1]


@pytest.mark.slow
def test_output_written_to_the_file_descriptors_is_captured_as_before():
    source = "import os\nos.write(1, b'low-level out\\n')\nprint('high-level')"
    outputs = {}
    for fork in (True, False):
        with KernelSession(_settings(fork)) as session:
            session.start()
            run = session.run(source)
            time.sleep(0.2)
        outputs[fork] = "".join(o.get("text", "") for o in run.outputs)
    # Both reach the cell's output (in an order ipykernel does not fix, and possibly on one
    # line: the low-level write arrives through a pipe of its own).
    for text in outputs.values():
        assert "low-level out" in text and "high-level" in text


@pytest.mark.slow
def test_a_forked_kernel_is_interrupted_and_a_deaf_one_replaced():
    with KernelSession(_settings(True, cell_timeout=3, probe_timeout=2)) as session:
        session.start()
        assert session.run("kept = 41").status == "ok"
        assert session.run("while True:\n    pass\n").status == "timeout"
        deaf = session.run("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                           "while True:\n    pass\n")
        assert deaf.status == "unresponsive"
        session.restart(["kept = 41"])
        after = session.run("print(kept + 1)")
        assert after.status == "ok" and after.outputs[0].text == "42\n"


def _answer(fork: bool = True) -> str:
    with KernelSession(_settings(fork)) as session:
        session.start()
        return session.run("print(6 * 7)").outputs[0].text


@pytest.mark.slow
def test_a_stopped_server_is_replaced():
    server = fork_server.server()
    server.process.kill()
    server.process.wait()
    assert _answer() == "42\n"
    replacement = fork_server.server()
    assert replacement is not server and replacement.spawned == 1


@pytest.mark.slow
def test_a_server_that_fails_mid_request_costs_one_launched_kernel():
    server = fork_server.server()
    server.sock.close()  # the next request fails after the server was found alive
    spawned = server.spawned
    assert _answer() == "42\n"  # started by the launcher instead
    assert server.spawned == spawned and not server.alive
    replacement = fork_server.server()
    assert _answer() == "42\n" and replacement.spawned == 1


def _policy(workdir) -> dict:
    from dataclasses import asdict

    return asdict(sandbox.build_policy(str(workdir), os.environ, uid=None))


def test_forked_process_polls_waits_and_kills_like_popen(tmp_path):
    process = fork_server.server().spawn(
        _policy(tmp_path), [sys.executable, "-c", "import time; time.sleep(60)"],
        sandbox.kernel_env(os.environ, str(tmp_path)), str(tmp_path))
    assert process.poll() is None
    with pytest.raises(fork_server.subprocess.TimeoutExpired):
        process.wait(timeout=0.1)
    assert os.getpgid(process.pid) == process.pid  # it leads a session of its own
    process.kill()
    assert process.wait(timeout=10) == -signal.SIGKILL
    assert process.poll() == -signal.SIGKILL
    process.send_signal(signal.SIGKILL)  # once it has ended: nothing, no error


def test_a_child_that_cannot_enter_its_sandbox_is_reported(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(fork_server.ForkServerError, match=r"NotADirectoryError|FileExistsError"):
        fork_server.server().spawn(_policy(blocker / "workdir"),
                                   [sys.executable, "-c", "pass"], {}, str(tmp_path))
    assert fork_server.server().alive


def test_only_this_interpreter_with_m_or_c_is_served():
    assert fork_server.serves([sys.executable, "-m", "ipykernel_launcher", "-f", "x"])
    assert fork_server.serves([sys.executable, "-c", "pass"])
    assert not fork_server.serves(["/bin/sh", "-c", "true"])
    assert not fork_server.serves([sys.executable, "script.py"])
    with pytest.raises(fork_server.ForkServerError):
        fork_server.server().spawn({}, ["/bin/sh", "-c", "true"], {}, None)


def test_the_server_gets_no_secret_of_the_grader(monkeypatch):
    monkeypatch.setenv("COURSE_GRADEBOOK_URL", "postgresql://secret")
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/somewhere")
    env = fork_server.server_env(os.environ, "/home-of-server")
    assert "COURSE_GRADEBOOK_URL" not in env and "JAX_COMPILATION_CACHE_DIR" not in env
    assert env["MPLBACKEND"] == fork_server.INLINE_BACKEND and env["HOME"] == "/home-of-server"


@pytest.mark.slow
def test_preflight_keeps_a_running_server_and_stops_one_it_started():
    fork_server.close_servers()
    assert sandbox.preflight() == [] and not fork_server.running()
    fork_server.server()
    assert sandbox.preflight() == [] and fork_server.running()
