"""Start grading kernels from a process that has already imported the lesson's libraries.

A fresh Python interpreter that imports ipykernel, JAX, matplotlib, optax, sympy and
pandas spends about a second and a half on it, for every graded notebook. A *fork
server* pays that once per grading process: it imports :data:`PRELOAD` and then, for each
kernel, forks a child that enters the sandbox exactly as the launcher does
(:func:`autograder.sandbox.enter`: session, control groups, the built root, the kernel's
own user, limits) and only then becomes the kernel (``python -m ipykernel_launcher``,
run in-process). Every submission still gets a new kernel process of its own, under
the sandbox's user, never reused; what it shares with the others is a copy of a
process that never ran student code and never read anything but installed libraries.

What a forked kernel would otherwise inherit is reset in the child before the kernel
starts: the environment (the kernel's own, allow-listed), the settings JAX and
matplotlib read from it when they were imported, numpy's and Python's random state,
the temporary folder, signal dispositions, ``sys.path`` and ``sys.argv``, every file
descriptor but the standard three, and the grader's own modules.

The grader side (:class:`ForkServer`, one per grading process) asks the server over a
socket pair; the server answers with the child's process id and a pidfd
(:func:`os.pidfd_open`), which :class:`ForkedProcess` uses to poll and signal the kernel
the way :class:`subprocess.Popen` does for a kernel the grader started itself. When the
server cannot serve (it died, a library failed to import, a command it does not run),
the kernel is started the usual way: slower, never different.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Modules the server imports before it forks (what the lessons' import cells load).
PRELOAD = (
    "numpy", "jax", "jax.numpy", "jax.scipy.special", "optax", "sympy", "pandas",
    "palmerpenguins", "PIL.Image", "matplotlib", "matplotlib.pyplot", "matplotlib.animation",
    "IPython", "IPython.display", "zmq", "ipykernel.kernelapp", "ipykernel.ipkernel",
    "ipykernel_launcher",
)
#: The inline backend ipykernel chooses when nothing else is set (it reads ``MPLBACKEND``
#: when matplotlib is imported, which is now before the kernel exists).
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Seconds a child may take to enter the sandbox before the server gives up on it.
ENTER_TIMEOUT = 30.0
#: Seconds the grader waits for the server to import :data:`PRELOAD`.
READY_TIMEOUT = 120.0
_HEADER = struct.Struct("!I")
_MAX_MESSAGE = 16 * 2**20
_PER_KERNEL_ENV = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_")


class ForkServerError(RuntimeError):
    """The server could not start a kernel (the caller starts it the usual way)."""


# ----------------------------------------------------------------------- wire format


def _send(sock: socket.socket, message: Mapping, fds: Sequence[int] = ()) -> None:
    data = json.dumps(message).encode()
    packet = _HEADER.pack(len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [packet], list(fds))
        packet = packet[sent:]
    if packet:
        sock.sendall(packet)


def _receive(sock: socket.socket, *, with_fds: bool = False) -> tuple[dict, list[int]]:
    """One message (and the descriptors sent with its first bytes); EOFError at the end."""
    fds: list[int] = []
    if with_fds:
        data, fds, _flags, _address = socket.recv_fds(sock, _HEADER.size, 4)
    else:
        data = sock.recv(_HEADER.size)
    if not data:
        raise EOFError("the other side closed the connection")
    data += _read_exactly(sock, _HEADER.size - len(data))
    (size,) = _HEADER.unpack(data)
    if size > _MAX_MESSAGE:
        raise ForkServerError(f"a message of {size} bytes")
    return json.loads(_read_exactly(sock, size)), fds


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 2**20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------------- the server


def server_env(env: Mapping[str, str], home: str) -> dict[str, str]:
    """The server's environment: a kernel's allow-listed one without the settings that
    differ per kernel, with the inline backend and JAX on the CPU as a kernel has them."""
    from autograder.sandbox import kernel_env

    kept = {name: value for name, value in kernel_env(env).items()
            if not name.startswith(_PER_KERNEL_ENV)}
    kept.setdefault("MPLBACKEND", INLINE_BACKEND)
    kept.setdefault("JAX_PLATFORMS", "cpu")  # as course/__init__ sets before JAX loads
    kept.update(HOME=home, MPLCONFIGDIR=os.path.join(home, "matplotlib"),
                XDG_CACHE_HOME=os.path.join(home, "cache"), TMPDIR=home)
    return kept


def serve(fd: int, grader_path: str) -> None:
    """The server's main loop on socket ``fd``: import, report, then fork on request."""
    if sys.path and sys.path[0] == grader_path:
        del sys.path[0]  # put there to find this module; a kernel's path never has it
    sock = socket.socket(fileno=fd)
    os.chdir("/")
    from autograder import sandbox  # noqa: F401 - each child enters its sandbox with it
    # Reap each kernel as soon as it ends: the grader waits until none of the kernel
    # user's processes is left, zombies included.
    signal.signal(signal.SIGCHLD, lambda _number, _frame: _reap())
    try:
        before = dict(os.environ)
        preloaded = _preload()
        # What the imports set for themselves (JAX sets TF_CPP_MIN_LOG_LEVEL, say): a
        # kernel that imports them finds it in its environment, so a forked one gets it.
        _import_env.update({name: value for name, value in os.environ.items()
                            if before.get(name) != value})
    except Exception as error:
        _send(sock, {"ready": False, "error": f"{type(error).__name__}: {error}"})
        return
    # What the imports cached there (matplotlib's font list) is in memory now; the folder
    # goes, so that no kernel finds anything another left in it.
    shutil.rmtree(os.environ["HOME"], ignore_errors=True)
    _send(sock, {"ready": True, "preloaded": preloaded, "import_env": sorted(_import_env)})
    while True:
        try:
            request, fds = _receive(sock, with_fds=True)
        except (EOFError, OSError, ValueError):
            return
        if "exit_code" in request:
            _reap()
            _send(sock, {"exit_code": _exit_codes.pop(int(request["exit_code"]), None)})
            continue
        try:
            pid, pidfd = _fork(request, sock, fds)
        except Exception as error:
            _send(sock, {"error": f"{type(error).__name__}: {error}"})
            continue
        finally:
            for fd in fds:
                os.close(fd)
        try:
            _send(sock, {"pid": pid}, [pidfd])
        finally:
            os.close(pidfd)


_import_env: dict[str, str] = {}


def _preload() -> list[str]:
    loaded = []
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
            loaded.append(name)
    problems = []
    if "jax" in sys.modules:
        from jax._src import xla_bridge

        if xla_bridge.backends_are_initialized():
            problems.append("JAX's backend started while importing (its threads do not fork)")
    if threading.active_count() != 1:
        problems.append(f"{threading.active_count()} Python threads after the imports")
    if any(name == "course" or name.startswith("course.") for name in sys.modules):
        problems.append("the course package was imported (a kernel must load it itself)")
    if problems:
        raise ForkServerError("; ".join(problems))
    return loaded


#: Exit codes of ended kernels, as :attr:`subprocess.Popen.returncode` gives them, until
#: the grader asks (the oldest are forgotten beyond :data:`_MAX_EXIT_CODES`).
_exit_codes: dict[int, int] = {}
_MAX_EXIT_CODES = 10_000


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        _exit_codes[pid] = os.waitstatus_to_exitcode(status)
        while len(_exit_codes) > _MAX_EXIT_CODES:
            del _exit_codes[next(iter(_exit_codes))]


def _fork(request: dict, sock: socket.socket, stdio: Sequence[int]) -> tuple[int, int]:
    """Fork a child for ``request`` (with ``stdio``, when given, as its standard output and
    error); return its pid and a pidfd once it is in its sandbox."""
    ready_read, ready_write = os.pipe()
    # Not reaped before the pidfd is open, so the pid cannot name another process.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(ready_read)
        _child(request, sock, ready_write, stdio)
    os.close(ready_write)
    try:
        try:
            pidfd = os.pidfd_open(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        report = b""
        deadline = time.monotonic() + ENTER_TIMEOUT
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([ready_read], [], [], left)[0]:
                raise ForkServerError(f"the kernel did not enter its sandbox in {ENTER_TIMEOUT} s")
            chunk = os.read(ready_read, 65536)
            if not chunk:
                break
            report += chunk[: 65536 - len(report)]
        if report:
            raise ForkServerError(report.decode(errors="replace"))
        return pid, pidfd
    except BaseException:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)
        raise
    finally:
        os.close(ready_read)


def _child(request: dict, sock: socket.socket, ready: int, stdio: Sequence[int]) -> None:
    """In the forked child: enter the sandbox, reset what the server left, run the kernel."""
    status = 1
    try:
        sock.close()
        for target, fd in zip((1, 2), stdio, strict=False):
            os.dup2(fd, target)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python sets it at start-up
        argv = list(request["argv"])
        os.environ.clear()
        os.environ.update(request["env"])
        for name, value in _import_env.items():
            os.environ.setdefault(name, value)
        from autograder import sandbox

        sandbox.enter(sandbox.Policy(**request["policy"]), argv)
        os.chdir(request.get("cwd") or os.getcwd())
        os.closerange(3, ready)
        os.closerange(ready + 1, _max_fd())
        _reset_libraries()
        program = _program(argv)
        for name in [name for name in sys.modules if name.split(".")[0] == "autograder"]:
            del sys.modules[name]
    except BaseException:
        with contextlib.suppress(OSError):
            os.write(ready, traceback.format_exc(limit=4).encode()[-60000:] or b"failed")
        os._exit(127)
    os.close(ready)  # the grader now learns that the kernel is in its sandbox
    try:
        program()
        status = 0
    except SystemExit as done:
        status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(BaseException):
                stream.flush()
        os._exit(status)


def _max_fd() -> int:
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 65536


def _reset_libraries() -> None:
    """What the server's imports read from its environment, read again from the kernel's."""
    tempfile.tempdir = None
    if "ipykernel.kernelapp" in sys.modules and os.environ.get("JPY_PARENT_PID", "").isdigit():
        _reset_parent_handle(sys.modules["ipykernel.kernelapp"].IPKernelApp,
                             int(os.environ["JPY_PARENT_PID"]))
    if "numpy.random" in sys.modules:
        sys.modules["numpy.random"].seed()  # Python's random reseeds itself after a fork
    if "matplotlib" in sys.modules:  # where it keeps its caches: the kernel's own folder
        import matplotlib

        for cached in (matplotlib.get_configdir, matplotlib.get_cachedir):
            _forget(cached)
    if "jax" in sys.modules:
        _reset_jax_config()


def _forget(function) -> None:
    """Make a function memoized by matplotlib's ``_logged_cached`` compute its value again."""
    names = function.__code__.co_freevars
    if "called" in names and function.__closure__ is not None:
        function.__closure__[names.index("called")].cell_contents = False


def _reset_parent_handle(app: type, pid: int) -> None:
    """ipykernel read ``JPY_PARENT_PID`` into the default of ``IPKernelApp.parent_handle``
    when it was imported (traitlets keeps a copy of such defaults per class)."""
    app.parent_handle.default_value = pid
    for klass in app.__mro__:
        defaults = klass.__dict__.get("_static_immutable_initial_values")
        if isinstance(defaults, dict) and "parent_handle" in defaults:
            defaults["parent_handle"] = pid


def _reset_jax_config() -> None:
    """Every ``JAX_*`` setting of the kernel's environment, as JAX reads it at import."""
    import jax
    from jax._src import config

    for name, holder in config.config._value_holders.items():
        variable = name.upper()
        if variable not in os.environ:
            continue
        current = holder.value
        if isinstance(current, bool):
            value = config.bool_env(variable, current)
        elif isinstance(current, int):
            value = config.int_env(variable, current)
        elif isinstance(current, float):
            value = float(os.environ[variable])
        else:
            value = os.environ[variable]
        if value != current:
            jax.config.update(name, value)


def _program(argv: Sequence[str]):
    """What ``python ARGV...`` runs after start-up, as a function of no arguments."""
    import runpy

    if len(argv) >= 3 and argv[1] == "-m":
        module = argv[2]
        sys.argv = [module, *argv[3:]]  # runpy puts the module's path in sys.argv[0]
        if sys.path and sys.path[0] == "":
            sys.path[0] = os.getcwd()  # as ``python -m`` has it

        def run_module() -> None:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        return run_module
    if len(argv) >= 3 and argv[1] == "-c":
        code = argv[2]
        sys.argv = ["-c", *argv[3:]]

        def run_code() -> None:
            exec(compile(code, "<string>", "exec"), {"__name__": "__main__",
                                                     "__builtins__": __builtins__})
        return run_code
    raise ForkServerError(f"not a command the server runs: {list(argv[:2])}")


def serves(command: Sequence[str]) -> bool:
    """Whether the server can run ``command`` (this interpreter, ``-m`` or ``-c``)."""
    return (len(command) >= 3 and command[1] in ("-m", "-c")
            and os.path.realpath(command[0]) == os.path.realpath(sys.executable))


# ----------------------------------------------------------------------- the grader


class ForkedProcess:
    """A kernel the server forked, handled like :class:`subprocess.Popen` through a pidfd.

    It is the server's child: its exit code comes from the server once it has ended
    (``-SIGKILL`` when the grader killed it and the server cannot say, else 1).
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int, server: ForkServer | None = None) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.server = server
        self.returncode: int | None = None
        self._killed = False

    def poll(self) -> int | None:
        if self.returncode is None and self.pidfd >= 0 and select.select(
                [self.pidfd], [], [], 0)[0]:
            self._ended()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self.pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            self._ended()
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, number: int) -> None:
        """Signal the kernel's process group (it leads a session of its own), as
        jupyter_client does for its own kernels; nothing once the kernel has ended, when
        its process id may already belong to another process."""
        if self.poll() is None:
            if number == signal.SIGKILL:
                self._killed = True
            try:
                os.killpg(self.pid, number)
            except OSError:
                signal.pidfd_send_signal(self.pidfd, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def _ended(self) -> None:
        code = None
        if self.server is not None:
            with contextlib.suppress(ForkServerError):
                code = self.server.exit_code(self.pid)
        self.returncode = code if code is not None else (-signal.SIGKILL if self._killed else 1)
        os.close(self.pidfd)
        self.pidfd = -1

    def __del__(self) -> None:
        if getattr(self, "pidfd", -1) >= 0:
            with contextlib.suppress(OSError):
                os.close(self.pidfd)


class ForkServer:
    """The grader's side of one fork server (started at once, ready when it has imported)."""

    def __init__(self) -> None:
        from autograder.sandbox import owned_tempdir

        grader_path = str(Path(__file__).resolve().parent.parent)
        self.home = owned_tempdir("grading-fork-server-")  # removed by the server once ready
        self.sock, theirs = socket.socketpair()
        start = (f"import sys; sys.path.insert(0, {grader_path!r}); "
                 f"from autograder.fork_server import serve; serve({theirs.fileno()}, "
                 f"{grader_path!r})")
        self.process = subprocess.Popen(
            [sys.executable, "-c", start], pass_fds=[theirs.fileno()], cwd="/",
            env=server_env(os.environ, str(self.home)), stdin=subprocess.DEVNULL,
            start_new_session=True)
        theirs.close()
        self.preloaded: list[str] | None = None
        #: Environment variables the server's imports set, which its kernels get too.
        self.import_env: list[str] = []
        self.broken: str | None = None
        #: Kernels this server has started.
        self.spawned = 0
        self.lock = threading.Lock()

    def _ready(self) -> None:
        if self.preloaded is not None:
            return
        if self.broken is None:
            try:
                self.sock.settimeout(READY_TIMEOUT)
                answer, _ = _receive(self.sock)
                self.sock.settimeout(None)
                if answer.get("ready"):
                    self.preloaded = list(answer.get("preloaded", []))
                    self.import_env = list(answer.get("import_env", []))
                    return
                self.broken = str(answer.get("error", "it did not start"))
            except (OSError, EOFError, ValueError) as error:
                self.broken = f"{type(error).__name__}: {error}"
        raise ForkServerError(f"the fork server cannot start kernels ({self.broken})")

    def spawn(self, policy: Mapping, argv: Sequence[str], env: Mapping[str, str],
              cwd: str | None, *, stdout: int | None = None, stderr: int | None = None
              ) -> ForkedProcess:
        """A kernel running ``argv`` under ``policy`` with ``env`` in ``cwd`` (standard
        output and error: the file descriptors given, else the server's, which are the
        grader's)."""
        if not serves(argv):
            raise ForkServerError(f"not a command the server runs: {list(argv[:2])}")
        stdio = [] if stdout is None and stderr is None else [
            sys.stdout.fileno() if stdout is None else stdout,
            sys.stderr.fileno() if stderr is None else stderr]
        answer, fds = self._ask({"policy": dict(policy), "argv": list(argv), "env": dict(env),
                                 "cwd": cwd}, stdio)
        if "pid" not in answer or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise ForkServerError(str(answer.get("error", "no kernel")))
        self.spawned += 1
        return ForkedProcess(int(answer["pid"]), fds[0], self)

    def exit_code(self, pid: int) -> int | None:
        """The exit code of kernel ``pid``, which has ended (None if the server cannot say)."""
        answer, fds = self._ask({"exit_code": pid})
        for fd in fds:
            os.close(fd)
        code = answer.get("exit_code")
        return code if isinstance(code, int) else None

    def _ask(self, request: Mapping, fds: Sequence[int] = ()) -> tuple[dict, list[int]]:
        with self.lock:
            self._ready()
            try:
                _send(self.sock, request, fds)
                return _receive(self.sock, with_fds=True)
            except (OSError, EOFError, ValueError) as error:
                self.broken = f"{type(error).__name__}: {error}"
                self.preloaded = None
                raise ForkServerError(f"the fork server stopped ({self.broken})") from error

    @property
    def alive(self) -> bool:
        return self.broken is None and self.process.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.home, ignore_errors=True)


_servers: dict[int, ForkServer] = {}
_started: dict[int, int] = {}
_servers_lock = threading.Lock()
#: Servers a process starts at most (the first, and replacements for stopped ones).
MAX_SERVERS = 3


def server() -> ForkServer:
    """This process's fork server, started on first use (and again if it stopped, up to
    :data:`MAX_SERVERS` in all: then ForkServerError, and kernels start the usual way)."""
    with _servers_lock:
        pid = os.getpid()
        found = _servers.get(pid)
        if found is None or not found.alive:
            if found is not None:
                found.close()
                del _servers[pid]
            if _started.get(pid, 0) >= MAX_SERVERS:
                raise ForkServerError(f"{MAX_SERVERS} fork servers stopped in this process"
                                      + (f" (the last: {found.broken})" if found else ""))
            _started[pid] = _started.get(pid, 0) + 1
            found = _servers[pid] = ForkServer()
            if _started[pid] == 1:
                atexit.register(close_servers)
        return found


def running() -> bool:
    """Whether this process has a fork server now."""
    found = _servers.get(os.getpid())
    return found is not None and found.alive


def close_servers() -> None:
    """Stop the fork server this process started, if any (a later one may start again)."""
    with _servers_lock:
        found = _servers.pop(os.getpid(), None)
        if found is not None:
            _started[os.getpid()] -= 1
            found.close()


_warned: set[int] = set()


def warn_once(log, error: Exception) -> None:
    """Say once per process that kernels start without the fork server, and why."""
    if os.getpid() not in _warned:
        _warned.add(os.getpid())
        log.warning("Grading kernels start without the fork server (slower, otherwise "
                    "the same): %s", error)
