"""Start grading kernels in a sandbox.

:class:`SandboxKernelManager` starts each kernel through this module's launcher
(``python -m autograder.sandbox POLICY -- KERNEL_CMD``), which, before it becomes
the kernel:

* limits address space, file size and the number of processes (``setrlimit``), and
  starts a new session so the whole process tree can be killed;
* when the grader runs as root (CI, a grading server): enters a private mount
  namespace where the course's secrets -- solutions, hidden tests, the gradebook,
  other submissions, the git history -- are covered by empty read-only mounts,
  then drops to an unprivileged user of its own (one per grading worker), so
  the kernel cannot read another kernel's files or signal its processes.

Without root the limits still apply, plus a CPU-time limit in place of the per-user
kill, but files are protected only by their permissions;
``autograder/THREAT_MODEL.md`` says what that leaves open.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, List, Unicode

UID_ENV = "COURSE_SANDBOX_UID"
#: Kernels of a grading process run as user ``UID_BASE + pid``: one user per grader, so a
#: kernel can neither read nor signal the kernels of another grading process.
UID_BASE = 100_000


def sandbox_uid() -> int:
    """The unprivileged user this process's kernels run as (when the grader is root)."""
    return int(os.environ.get(UID_ENV) or UID_BASE + os.getpid())

_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 4096, 16384, 1 << 18


@dataclass
class Policy:
    """What a sandboxed kernel may use and see."""

    memory_bytes: int = 3 * 2**30
    cpu_seconds: int = 900
    max_processes: int = 512
    max_file_bytes: int = 256 * 2**20
    uid: int | None = None
    hide: list[str] = field(default_factory=list)
    workdir: str = ""


# ----------------------------------------------------------------------------- launcher


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _hide(paths: list[str]) -> None:
    """Cover each path with an empty read-only mount in a private mount namespace."""
    libc = _libc()
    _check(libc.unshare(_CLONE_NEWNS), "unshare")
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
    empty_dir = tempfile.mkdtemp(prefix="sandbox-empty-")
    os.chmod(empty_dir, 0o000)
    for path in paths:
        if not os.path.lexists(path):
            continue
        source = empty_dir if os.path.isdir(path) else "/dev/null"
        _check(libc.mount(source.encode(), path.encode(), None, _MS_BIND, None), f"hide {path}")
        flags = _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV | 32  # MS_REMOUNT
        libc.mount(None, path.encode(), None, flags, None)


def _limit(policy: Policy) -> None:
    """Set the resource limits of ``policy`` on this process (inherited by its children).

    CPU time is limited only without a user of its own. With one, every process of that
    user is killed when the notebook ends, which bounds CPU time by the wall-clock
    timeouts; and ``RLIMIT_CPU`` would cost the student something real: once it is set,
    Linux counts the process's CPU time in scheduler ticks, so ``time.process_time``
    moves in 4 ms steps and timing experiments run ten times longer.
    """
    limits = {
        resource.RLIMIT_AS: policy.memory_bytes,
        resource.RLIMIT_FSIZE: policy.max_file_bytes,
        resource.RLIMIT_CORE: 0,
    }
    if policy.uid is None:
        limits[resource.RLIMIT_CPU] = policy.cpu_seconds
    else:
        limits[resource.RLIMIT_NPROC] = policy.max_processes
    for which, value in limits.items():
        resource.setrlimit(which, (value, value))


def _drop_privileges(uid: int, connection_files: list[str], workdir: str) -> None:
    for path in [workdir, *connection_files]:
        if path and os.path.exists(path):
            os.chown(path, uid, uid)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def launch(policy: Policy, command: list[str]) -> None:
    """Apply ``policy`` to this process, then become ``command`` (never returns)."""
    if os.getsid(0) != os.getpid():  # jupyter_client usually starts a new session already
        os.setsid()
    if policy.uid is not None and os.geteuid() == 0:
        _hide(policy.hide)
        connection = [command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "-f"]
        _drop_privileges(policy.uid, connection, policy.workdir)
    _limit(policy)
    if policy.workdir:
        os.chdir(policy.workdir)
    os.execvp(command[0], command)


def kill_user_processes(uid: int) -> None:
    """Kill every process of ``uid`` (the whole tree of a kernel, fork bombs included).

    A process running as ``uid`` sends SIGKILL to -1, which reaches every process of
    that user at once, so a fork bomb cannot outrun it. It is started with ``setpriv``
    rather than by forking this (multithreaded) grader.
    """
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return
    killer = "import os, signal\nfor _ in range(20):\n    os.kill(-1, signal.SIGKILL)\n"
    deadline = time.monotonic() + 10
    while (left := processes_of(uid)) and time.monotonic() < deadline:
        if all(state == "Z" for state in left.values()):
            # Killed processes linger as zombies until init reaps them, and they still
            # count against the user's process limit: wait for them, so that the next
            # kernel of this user starts with its full allowance.
            time.sleep(0.05)
            continue
        subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
             sys.executable, "-S", "-c", killer],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30,
        )


def processes_of(uid: int) -> dict[int, str]:
    """The processes (pid: state letter, "Z" for a zombie) whose real user is ``uid``."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1 ").split()[0]) == uid:
            found[int(entry)] = fields.get("State", "?").split()[0]
    return found


# ------------------------------------------------------------------------------ manager


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start through :func:`launch`."""

    memory_mb = Integer(3072, help="Address-space limit of a kernel, in MiB").tag(config=True)
    cpu_seconds = Integer(900, help="CPU-time limit of a kernel, in seconds").tag(config=True)
    max_processes = Integer(512, help="Processes and threads of the kernel's user").tag(
        config=True)
    max_file_mb = Integer(256, help="Largest file a kernel may write, in MiB").tag(config=True)
    hide = List(Unicode(), help="Paths the kernel must not see (used when run as root)").tag(
        config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._workdir = ""
        self._uid = sandbox_uid() if os.geteuid() == 0 else None

    def use_workdir(self, workdir: str) -> None:
        self._workdir = workdir

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        policy = Policy(
            memory_bytes=self.memory_mb * 2**20, cpu_seconds=self.cpu_seconds,
            max_processes=self.max_processes, max_file_bytes=self.max_file_mb * 2**20,
            uid=self._uid, hide=list(self.hide), workdir=self._workdir,
        )
        return [sys.executable, "-m", "autograder.sandbox", json.dumps(asdict(policy)), "--",
                *command]

    async def _async_pre_start_kernel(self, **kwargs):
        if self._workdir:
            # The kernel reads its connection file after dropping root: keep it in its workdir.
            self.connection_file = os.path.join(self._workdir, ".kernel-connection.json")
        env = dict(kwargs.pop("env", None) or os.environ)
        if self._workdir:
            for name in ("HOME", "IPYTHONDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME",
                         "XDG_CONFIG_HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR"):
                env[name] = self._workdir if name == "HOME" else os.path.join(
                    self._workdir, f".{name.lower()}")
        kwargs["env"] = env
        return await super()._async_pre_start_kernel(**kwargs)

    async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False):
        try:
            await super()._async_shutdown_kernel(now=now, restart=restart)
        finally:
            if self._uid is not None:
                kill_user_processes(self._uid)

    shutdown_kernel = _async_shutdown_kernel  # AsyncKernelManager binds the base method


def default_hidden_paths(*roots: Path, keep: tuple[str, ...] = ()) -> list[str]:
    """Top-level entries of each root that a kernel must not see, except ``keep``."""
    hidden = []
    for root in roots:
        if not root.exists():
            continue
        for entry in root.iterdir():
            if entry.name not in keep:
                hidden.append(str(entry))
    return hidden


def kernels_parent() -> Path:
    """The default folder holding the kernels' private folders (and the compilation cache)."""
    return Path(tempfile.gettempdir()) / "course-kernels"


def private_workdir(parent: Path, files_from: Path | None = None) -> Path:
    """A fresh directory for one kernel, with copies of the submission's other files."""
    parent.mkdir(parents=True, exist_ok=True)
    os.chmod(parent, 0o711)
    workdir = Path(tempfile.mkdtemp(prefix="kernel-", dir=parent))
    if files_from is not None:
        for entry in files_from.iterdir():
            if entry.is_file() and entry.suffix != ".ipynb" and not entry.name.startswith("."):
                shutil.copyfile(entry, workdir / entry.name)
    os.chmod(workdir, 0o700)
    return workdir


if __name__ == "__main__":
    separator = sys.argv.index("--")
    launch(Policy(**json.loads(sys.argv[1])), sys.argv[separator + 1 :])
