"""Start grading kernels in a sandbox.

:class:`SandboxKernelManager` starts each kernel through this module's launcher
(``python -m autograder.sandbox POLICY -- KERNEL_CMD``), which, before it becomes
the kernel:

* limits address space, file size and the number of processes (``setrlimit``), forbids
  gaining privileges (``PR_SET_NO_NEW_PRIVS``) and starts a new session so the whole
  process tree can be killed;
* when the grader runs as root (CI, a grading server): joins a memory and process
  control group of its own when the machine offers one (:func:`cgroup_support`), then
  enters a private mount namespace whose root is *built* from an allow-list: a fresh
  ``tmpfs`` holding, at their own absolute paths, read-only views of the system folders,
  the Python install, the virtual environment, the ``course`` package and the
  compilation cache; the kernel's own folder read-write; fresh size-limited ``tmpfs``
  for ``/tmp``, ``/var/tmp`` and ``/dev/shm``; a handful of devices; and a ``/proc``
  that shows only the kernel's own processes. Everything else -- solutions, tests,
  the gradebook wherever it is, other submissions, other kernels' folders, ``/root`` --
  is simply absent, and a private parent folder (a checkout in a 0700 home or
  ``mktemp -d`` folder) no longer matters, since the skeleton's folders are 0755.
  The launcher then drops to an unprivileged user of its own (one per grading worker).

The kernel's environment is allow-listed (:func:`kernel_env`): no token or gradebook URL
of the grader reaches it. :func:`preflight` starts the launcher once and says what to
change when a kernel could not work or could see what it must not.

Without root the limits still apply, plus a CPU-time limit in place of the per-user
kill, but files are protected only by their permissions;
``autograder/THREAT_MODEL.md`` says what that leaves open.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as errnos
import functools
import importlib.util
import itertools
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

UID_ENV = "COURSE_SANDBOX_UID"
#: Kernels of a grading process run as user ``UID_BASE + pid``: one user per grader, so a
#: kernel can neither read nor signal the kernels of another grading process.
UID_BASE = 100_000


def sandbox_uid() -> int:
    """The unprivileged user this process's kernels run as (when the grader is root)."""
    return int(os.environ.get(UID_ENV) or UID_BASE + os.getpid())


_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT = 1, 2, 4, 8, 32
_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18
_MNT_DETACH = 2
_PR_SET_NO_NEW_PRIVS = 38
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "i686": 217, "armv7l": 218}

#: System folders a kernel sees read-only (those that exist; symbolic links are kept as links).
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
                "/sys/devices/system/cpu", "/sys/devices/system/node")
#: Devices a kernel may open.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
#: Fresh, size-limited, private scratch folders of every kernel.
SCRATCH_PATHS = ("/tmp", "/var/tmp", "/dev/shm")

#: Environment variables a kernel gets from its caller (with the prefixes below); HOME,
#: TMPDIR and the configuration folders are set to the kernel's own folder.
ENV_NAMES = frozenset({
    "PATH", "LANG", "LANGUAGE", "TZ", "TERM", "PYTHONHASHSEED", "PYTHONIOENCODING",
    "PYTHONUTF8", "PYDEVD_DISABLE_FILE_VALIDATION", "MPLBACKEND", "JAX_PLATFORMS",
    "JAX_ENABLE_X64", "JAX_COMPILATION_CACHE_DIR", "XLA_FLAGS", "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "JPY_SESSION_NAME",
})
ENV_PREFIXES = ("LC_", "COURSE_GRADING_", "JAX_PERSISTENT_CACHE_")
_PRIVATE_DIRS = ("IPYTHONDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
                 "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR")
TMP_SUBDIR = ".tmp"


@dataclass
class Policy:
    """What a sandboxed kernel may use and see."""

    memory_bytes: int = 3 * 2**30
    cpu_seconds: int = 900
    max_processes: int = 512
    max_file_bytes: int = 256 * 2**20
    uid: int | None = None
    #: Paths covered even when they lie inside a visible folder.
    hide: list[str] = field(default_factory=list)
    workdir: str = ""
    #: Folders the kernel reads (as root: the only ones it sees, besides its workdir).
    visible: list[str] = field(default_factory=list)
    #: Size of each of the kernel's private /tmp, /var/tmp and /dev/shm.
    tmp_bytes: int = 256 * 2**20
    #: Control-group folders the kernel joins before dropping root.
    cgroups: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------ what is seen


def course_package_dir() -> str | None:
    """The folder the ``course`` package is imported from (an editable install's source)."""
    spec = importlib.util.find_spec("course")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.realpath(next(iter(spec.submodule_search_locations)))


@functools.cache
def _kernel_course_dir() -> str | None:
    """Where a kernel (this Python, without this process's working folder or PYTHONPATH)
    imports ``course`` from: an editable install maps it to its own folder."""
    probe = ("import importlib.util as u; s = u.find_spec('course'); "
             "print(next(iter(s.submodule_search_locations)) if s else '')")
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        run = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True,
                             text=True, timeout=60, cwd="/")
        if run.returncode == 0 and run.stdout.strip():
            return os.path.realpath(run.stdout.strip())
    return None


def default_visible_paths() -> list[str]:
    """What every kernel needs to read: system folders, Python, the venv, ``course``."""
    python = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix,
              os.path.dirname(os.path.realpath(sys.executable))}
    paths = [p for p in SYSTEM_PATHS if os.path.lexists(p)]
    paths += sorted(p for p in python if p and p != "/")
    packages = {course_package_dir(), _kernel_course_dir()}
    paths += sorted(p for p in packages if p)
    return paths


def kernel_env(env: Mapping[str, str], workdir: str = "") -> dict[str, str]:
    """The allow-listed part of ``env``, with home, temp and config folders in ``workdir``."""
    kept = {name: value for name, value in env.items()
            if name in ENV_NAMES or name.startswith(ENV_PREFIXES)}
    kept.setdefault("PATH", os.defpath)
    if workdir:
        kept["HOME"] = workdir
        kept["TMPDIR"] = os.path.join(workdir, TMP_SUBDIR)
        for name in _PRIVATE_DIRS:
            kept[name] = os.path.join(workdir, f".{name.lower()}")
    return kept


def _resolve(path: str, links: dict[str, str], depth: int = 0) -> str:
    """The real absolute path of ``path``; the symbolic links met go into ``links``."""
    parts = Path(os.path.abspath(path)).parts[1:]
    current = "/"
    for index, part in enumerate(parts):
        if part == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, part)
        if os.path.islink(candidate):
            if depth > 40:
                raise OSError(errnos.ELOOP, "too many symbolic links", path)
            target = os.readlink(candidate)
            links[candidate] = target
            rest = os.path.join(current, target, *parts[index + 1:])
            return _resolve(rest, links, depth + 1)
        current = candidate
    return current


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass
class _Plan:
    """The mounts and links that make a kernel's root, in the order they are made."""

    mounts: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, target, source)
    links: dict[str, str] = field(default_factory=dict)
    hide: list[str] = field(default_factory=list)


def plan_root(policy: Policy) -> _Plan:
    """What :func:`_build_root` mounts: the allow-list of ``policy`` at real paths."""
    plan = _Plan()
    readable: list[str] = []
    for path in policy.visible:
        if not os.path.lexists(path):
            continue
        real = _resolve(path, plan.links)
        if real == "/":
            raise ValueError("the whole file system cannot be visible to a kernel")
        if os.path.exists(real):
            readable.append(real)
    readable = sorted(set(readable))
    readable = [p for p in readable if not any(_inside(p, o) and p != o for o in readable)]
    mounts = [("ro", p, p) for p in readable]
    if policy.workdir:
        workdir = _resolve(policy.workdir, plan.links)
        mounts.append(("rw", workdir, workdir))
    mounts += [("tmpfs", p, "") for p in SCRATCH_PATHS]
    mounts += [("dev", "/dev", ""), ("proc", "/proc", "")]
    order = {"dev": 0, "tmpfs": 1, "proc": 1, "ro": 2, "rw": 3}
    plan.mounts = sorted(mounts, key=lambda m: (len(Path(m[1]).parts), order[m[0]], m[1]))
    for path in policy.hide:
        real = _resolve(path, {}) if os.path.lexists(path) else path
        if any(_inside(real, m[1]) for m in plan.mounts if m[0] in ("ro", "rw")):
            plan.hide.append(real)
    return plan


# ----------------------------------------------------------------------------- launcher


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    def encode(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    _check(_libc().mount(encode(source), target.encode(), encode(fstype), flags, encode(data)),
           f"mount {fstype or source} on {target}")


def _bind(source: str, target: str, *, readonly: bool, nodev: bool = True) -> None:
    flags = _MS_BIND | _MS_NOSUID | (_MS_NODEV if nodev else 0)
    _mount(source, target, None, flags)
    _mount(None, target, None, flags | _MS_REMOUNT | (_MS_RDONLY if readonly else 0))


def _pivot_root(new_root: str, put_old: str) -> None:
    number = _SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(errnos.ENOSYS, f"pivot_root: unknown machine {platform.machine()}")
    _check(_libc().syscall(number, new_root.encode(), put_old.encode()), "pivot_root")


def _make_target(path: str, *, directory: bool) -> None:
    if directory:
        os.makedirs(path, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        if not os.path.exists(path):
            with open(path, "x"):
                pass


def _mount_one(kind: str, target: str, source: str, policy: Policy) -> None:
    """Make one entry of the plan under ``/newroot``; the host is under ``/oldroot``."""
    new = "/newroot" + target
    if kind in ("ro", "rw"):
        old = "/oldroot" + source
        _make_target(new, directory=os.path.isdir(old))
        _bind(old, new, readonly=kind == "ro")
    elif kind == "tmpfs":
        _make_target(new, directory=True)
        _mount("tmpfs", new, "tmpfs", _MS_NOSUID | _MS_NODEV,
               f"size={policy.tmp_bytes},nr_inodes=65536,mode=1777")
    elif kind == "proc":
        _make_target(new, directory=True)
        flags = _MS_NOSUID | _MS_NODEV | _MS_NOEXEC
        try:
            _mount("proc", new, "proc", flags, "hidepid=invisible")
        except OSError:
            _mount("proc", new, "proc", flags, "hidepid=2")
    elif kind == "dev":
        _make_target(new, directory=True)
        _mount("tmpfs", new, "tmpfs", _MS_NOSUID | _MS_NOEXEC, "size=64k,mode=0755")
        for name in DEVICES:
            if os.path.exists(f"/oldroot/dev/{name}"):
                _make_target(f"{new}/{name}", directory=False)
                _bind(f"/oldroot/dev/{name}", f"{new}/{name}", readonly=False, nodev=False)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, f"{new}/{name}")


def _cover(path: str) -> None:
    new = "/newroot" + path
    if os.path.isdir(new):
        _mount("tmpfs", new, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_RDONLY, "size=4k,mode=0")
    elif os.path.lexists(new):
        _bind("/oldroot/dev/null", new, readonly=True)


def _build_root(policy: Policy) -> None:
    """Enter a private mount namespace whose root holds only what ``policy`` allows.

    As in bubblewrap: a tmpfs becomes the root for a moment, with the host's root under
    ``/oldroot``; the kernel's root is assembled in ``/newroot`` from views of the host,
    then becomes the root itself and the host's root is detached.
    """
    plan = plan_root(policy)
    libc = _libc()
    _check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    base = "/tmp" if os.path.isdir("/tmp") else "/mnt"
    _mount("tmpfs", base, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
    for name in ("oldroot", "newroot"):
        os.mkdir(f"{base}/{name}", 0o755)
    _pivot_root(base, f"{base}/oldroot")
    os.chdir("/")
    _mount("tmpfs", "/newroot", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
    for kind, target, source in plan.mounts:
        _mount_one(kind, target, source, policy)
    for link, target in plan.links.items():
        new = "/newroot" + link
        if not os.path.lexists(new):
            _make_target(os.path.dirname(new), directory=True)
            os.symlink(target, new)
    for path in plan.hide:
        _cover(path)
    _check(libc.umount2(b"/oldroot", _MNT_DETACH), "detach the host's root")
    os.chdir("/newroot")
    _pivot_root(".", ".")
    _check(libc.umount2(b".", _MNT_DETACH), "detach the first root")
    os.chdir("/")
    _mount(None, "/", None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


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


def _join_cgroups(folders: list[str]) -> None:
    for folder in folders:
        with open(os.path.join(folder, "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))


def launch(policy: Policy, command: list[str]) -> None:
    """Apply ``policy`` to this process, then become ``command`` (never returns)."""
    enter(policy, command)
    os.execvp(command[0], command)


def enter(policy: Policy, command: Sequence[str]) -> None:
    """Apply ``policy`` to this process, which is about to run ``command`` (whose ``-f``
    argument, a kernel's connection file, is handed to the kernel's user)."""
    if os.getsid(0) != os.getpid():  # jupyter_client usually starts a new session already
        os.setsid()
    if policy.workdir:
        os.makedirs(os.path.join(policy.workdir, TMP_SUBDIR), exist_ok=True)
    if policy.uid is not None and os.geteuid() == 0:
        _join_cgroups(policy.cgroups)
        mask = os.umask(0o022)
        _build_root(policy)
        os.umask(mask)
        connection = [command[i + 1] for i, arg in enumerate(command[:-1]) if arg == "-f"]
        tmp = os.path.join(policy.workdir, TMP_SUBDIR) if policy.workdir else ""
        _drop_privileges(policy.uid, [*connection, tmp], policy.workdir)
    _check(_libc().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    _limit(policy)
    if policy.workdir:
        os.chdir(policy.workdir)


# ----------------------------------------------------------------------- control groups


def _cgroup_mounts() -> dict[str, str]:
    """Where each cgroup hierarchy is mounted: {"unified" or controller name: folder}."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as info:
        for line in info:
            left, _, right = line.partition(" - ")
            fstype, _, options = [*right.split(), "", "", ""][:3]
            point = left.split()[4]
            if fstype == "cgroup2":
                found.setdefault("unified", point)
            elif fstype == "cgroup":
                for option in options.split(","):
                    found.setdefault(option, point)
    return found


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per hierarchy: {"unified" or controller name: path}."""
    own: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as lines:
        for line in lines:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in (controllers.split(",") if controllers else ["unified"]):
                own[name] = path
    return own


def _write(path: str, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _cgroup_parents() -> tuple[str, list[str]] | None:
    """("v2" or "v1", folders under which a kernel's control groups are made), or None."""
    if os.geteuid() != 0:
        return None
    mounts, own = _cgroup_mounts(), _own_cgroups()
    if "unified" in mounts and "unified" in own:
        parent = mounts["unified"] + own["unified"].rstrip("/")
        try:
            with open(f"{parent}/cgroup.controllers") as handle:
                available = handle.read().split()
            if {"memory", "pids"} <= set(available):
                with open(f"{parent}/cgroup.subtree_control") as handle:
                    enabled = set(handle.read().split())
                if not {"memory", "pids"} <= enabled:
                    _write(f"{parent}/cgroup.subtree_control", "+memory +pids")
                return "v2", [parent]
        except OSError:
            pass
    if {"memory", "pids"} <= set(mounts) and {"memory", "pids"} <= set(own):
        parents = [mounts[c] + own[c].rstrip("/") for c in ("memory", "pids")]
        if all(os.access(p, os.W_OK) for p in parents):
            return "v1", parents
    return None


@functools.cache
def cgroup_support() -> str | None:
    """"v2" or "v1" when kernels get a memory and process control group; None otherwise.

    Tried once per process: a control group is made and removed again.
    """
    found = _cgroup_parents()
    if found is None:
        return None
    made = _make_cgroups(found, "course-kernel-probe-", 2**30, 64)
    remove_cgroups(made)
    return found[0] if made else None


_CGROUP_NAMES = itertools.count()
CGROUP_PREFIX = "course-kernel-"


def _make_cgroups(found: tuple[str, list[str]], prefix: str, memory_bytes: int,
                  max_processes: int) -> list[str]:
    version, parents = found
    name = f"{prefix}{os.getpid()}-{next(_CGROUP_NAMES)}"
    made: list[str] = []
    try:
        for parent in parents:
            folder = os.path.join(parent, name)
            os.mkdir(folder)
            made.append(folder)
            if version == "v2":
                _write(f"{folder}/memory.max", str(memory_bytes))
                with contextlib.suppress(OSError):
                    _write(f"{folder}/memory.swap.max", "0")
                _write(f"{folder}/pids.max", str(max_processes))
            elif os.path.exists(f"{folder}/memory.limit_in_bytes"):
                _write(f"{folder}/memory.limit_in_bytes", str(memory_bytes))
                with contextlib.suppress(OSError):
                    _write(f"{folder}/memory.memsw.limit_in_bytes", str(memory_bytes))
            else:
                _write(f"{folder}/pids.max", str(max_processes))
    except OSError:
        remove_cgroups(made)
        return []
    return made


def make_cgroups(memory_bytes: int, max_processes: int) -> list[str]:
    """Fresh control groups limiting one kernel's processes together (empty if none)."""
    if cgroup_support() is None:
        return []
    found = _cgroup_parents()
    return _make_cgroups(found, CGROUP_PREFIX, memory_bytes, max_processes) if found else []


def remove_cgroups(folders: Iterable[str], timeout: float = 5) -> None:
    """Kill what is left in each control group, then remove it."""
    for folder in folders:
        deadline = time.monotonic() + timeout
        while os.path.isdir(folder):
            with contextlib.suppress(OSError):
                if os.path.exists(f"{folder}/cgroup.kill"):
                    _write(f"{folder}/cgroup.kill", "1")
                else:
                    with open(f"{folder}/cgroup.procs") as procs:
                        for pid in procs.read().split():
                            with contextlib.suppress(OSError):
                                os.kill(int(pid), 9)
            try:
                os.rmdir(folder)
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)


# ---------------------------------------------------------------------------- processes


def kill_user_processes(uid: int) -> None:
    """Kill every process of ``uid`` (the whole tree of a kernel, fork bombs included).

    A process running as ``uid`` sends SIGKILL to -1, which reaches every process of
    that user at once, so a fork bomb cannot outrun it. It is the system's ``kill``
    started with ``setpriv`` (a program the sandbox user can always run, unlike this
    Python, which may live in a folder only root can enter), not a fork of this
    multithreaded grader.
    """
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return
    killer = shutil.which("kill", path=os.defpath + ":/usr/bin:/bin")
    if killer is None:
        killer_cmd = [sys.executable, "-S", "-c",
                      "import os, signal\nfor _ in range(20):\n    os.kill(-1, signal.SIGKILL)\n"]
    else:
        killer_cmd = [killer, "-KILL", "-1"]
    deadline = time.monotonic() + 10
    while (left := processes_of(uid)) and time.monotonic() < deadline:
        if all(state == "Z" for state in left.values()):
            # Killed processes linger as zombies until init reaps them, and they still
            # count against the user's process limit: wait for them, so that the next
            # kernel of this user starts with its full allowance.
            time.sleep(0.05)
            continue
        subprocess.run(
            ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *killer_cmd],
            check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30,
            cwd="/",
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


def build_policy(workdir: str, env: Mapping[str, str], *, uid: int | None,
                 memory_bytes: int = Policy.memory_bytes, cpu_seconds: int = Policy.cpu_seconds,
                 max_processes: int = Policy.max_processes,
                 max_file_bytes: int = Policy.max_file_bytes, tmp_bytes: int = Policy.tmp_bytes,
                 visible: Sequence[str] = (), hide: Sequence[str] = (),
                 cgroups: Sequence[str] = ()) -> Policy:
    """The policy of a kernel in ``workdir`` started with ``env`` (its compile cache is seen)."""
    seen = [*default_visible_paths(), *visible]
    cache = env.get("JAX_COMPILATION_CACHE_DIR")
    if cache and os.path.isdir(cache):
        seen.append(cache)
    return Policy(memory_bytes=memory_bytes, cpu_seconds=cpu_seconds, max_processes=max_processes,
                  max_file_bytes=max_file_bytes, uid=uid, hide=list(hide), workdir=workdir,
                  visible=seen, tmp_bytes=tmp_bytes, cgroups=list(cgroups))


def launcher_command(policy: Policy, command: Sequence[str]) -> list[str]:
    """The command that starts ``command`` under ``policy``.

    The launcher finds this module where the grader found it, whatever the environment
    the kernel is given (it has no PYTHONPATH, for one).
    """
    root = str(Path(__file__).resolve().parent.parent)
    start = f"import sys; sys.path.insert(0, {root!r}); from autograder.sandbox import main; main()"
    return [sys.executable, "-c", start, json.dumps(asdict(policy)), "--", *command]


def _manager_class() -> type:
    """:class:`SandboxKernelManager`, defined on first use: the launcher, which imports
    this module for every kernel start, need not pay a second for jupyter_client."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Bool, Integer, List, Unicode

    class SandboxKernelManager(AsyncKernelManager):
        """A kernel manager whose kernels start through :func:`launch`."""

        memory_mb = Integer(3072, help="Address-space limit of a kernel, in MiB").tag(config=True)
        cpu_seconds = Integer(900, help="CPU-time limit of a kernel, in seconds").tag(config=True)
        max_processes = Integer(512, help="Processes and threads of the kernel's user").tag(
            config=True)
        max_file_mb = Integer(256, help="Largest file a kernel may write, in MiB").tag(config=True)
        tmp_mb = Integer(256, help="Size of a kernel's private /tmp, /var/tmp, /dev/shm, in MiB"
                         ).tag(config=True)
        hide = List(Unicode(), help="Paths covered even inside a visible folder (as root)").tag(
            config=True)
        visible = List(Unicode(), help="More folders a kernel may read (as root)").tag(config=True)

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self._workdir = ""
            self._uid = sandbox_uid() if os.geteuid() == 0 else None
            self._launch_env: Mapping[str, str] = os.environ
            self._cgroups: list[str] = []
            self._launch: tuple[Policy, list[str]] | None = None

        fork_server = Bool(True, help="Fork kernels from a server that has imported the "
                           "lessons' libraries (autograder.fork_server)").tag(config=True)

        def use_workdir(self, workdir: str) -> None:
            self._workdir = workdir

        def format_kernel_cmd(self, extra_arguments=None):
            command = super().format_kernel_cmd(extra_arguments)
            policy = build_policy(
                self._workdir, self._launch_env, uid=self._uid, memory_bytes=self.memory_mb * 2**20,
                cpu_seconds=self.cpu_seconds, max_processes=self.max_processes,
                max_file_bytes=self.max_file_mb * 2**20, tmp_bytes=self.tmp_mb * 2**20,
                visible=self.visible, hide=self.hide, cgroups=self._cgroups,
            )
            self._launch = (policy, command)
            return launcher_command(policy, command)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            """Fork the kernel from this process's fork server when it can, else start
            it with the launcher (``kernel_cmd``)."""
            from autograder import fork_server

            if self.fork_server and self._launch is not None and fork_server.serves(
                    self._launch[1]):
                policy, command = self._launch
                try:
                    server = fork_server.server()
                    # What jupyter_client tells a kernel it starts: here its parent is the
                    # server, which ends with the grader, and the kernel then ends too.
                    env = {**(kw.get("env") or {}), "JPY_PARENT_PID": str(server.process.pid)}
                    process = server.spawn(asdict(policy), command, env, kw.get("cwd"))
                except (fork_server.ForkServerError, OSError) as error:
                    fork_server.warn_once(self.log, error)
                else:
                    provisioner = self.provisioner
                    provisioner.process, provisioner.pid = process, process.pid
                    provisioner.pgid = None  # ForkedProcess signals the group while it lives
                    self._reconcile_connection_info(provisioner.connection_info)
                    return
            await super()._async_launch_kernel(kernel_cmd, **kw)

        async def _async_pre_start_kernel(self, **kwargs):
            if self._workdir:
                # The kernel reads its connection file after dropping root: keep it in its workdir.
                self.connection_file = os.path.join(self._workdir, ".kernel-connection.json")
            self._launch_env = dict(kwargs.pop("env", None) or os.environ)
            kwargs["env"] = kernel_env(self._launch_env, self._workdir)
            if self._uid is not None:
                remove_cgroups(self._cgroups)
                self._cgroups = make_cgroups(self.memory_mb * 2**20, self.max_processes)
            command, kw = await super()._async_pre_start_kernel(**kwargs)
            kw["env"] = kernel_env(kw.get("env") or {}, self._workdir)
            return command, kw

        async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False):
            try:
                await super()._async_shutdown_kernel(now=now, restart=restart)
            finally:
                if self._uid is not None:
                    kill_user_processes(self._uid)
                remove_cgroups(self._cgroups)
                self._cgroups = []

        shutdown_kernel = _async_shutdown_kernel  # AsyncKernelManager binds the base method

    SandboxKernelManager.__qualname__ = "SandboxKernelManager"
    return SandboxKernelManager


def __getattr__(name: str):
    if name == "SandboxKernelManager":
        manager = globals()[name] = _manager_class()
        return manager
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


# ------------------------------------------------------------------------------ folders

#: Folders named ``<prefix><pid>-...`` belong to process ``pid`` (see :func:`owned_tempdir`).
_OWNED = re.compile(r"^(?:kernel|grade-worker|preflight)-(\d+)-")


def owned_tempdir(prefix: str, dir: Path | str | None = None) -> Path:
    """A fresh temporary folder whose name says which process owns it.

    :func:`cleanup_stale` removes it once that process is gone (killed, say).
    """
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=dir))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_stale(folders: Iterable[Path] | None = None, *, cgroups: bool = True
                  ) -> list[Path]:
    """Remove what graders that are gone left behind; returns what was removed.

    In the temporary folder, the kernels' parent and beside the ``course`` package:
    folders of processes that no longer run (``kernel-<pid>-*``, ``grade-worker-<pid>-*``,
    ``preflight-<pid>-*``), the ``sandbox-empty-*`` folders of earlier versions; and
    control groups of kernels whose grader is gone.
    """
    if folders is None:
        package = course_package_dir()
        folders = [Path(tempfile.gettempdir()), _kernels_parent(),
                   *([Path(package).parent] if package else [])]
    removed = []
    for folder in folders:
        with contextlib.suppress(OSError):
            for entry in folder.iterdir():
                owner = _OWNED.match(entry.name)
                stale = entry.name.startswith("sandbox-empty-") or (
                    owner is not None and not _alive(int(owner.group(1))))
                if stale and entry.is_dir() and not entry.is_symlink():
                    with contextlib.suppress(OSError):
                        os.chmod(entry, 0o700)
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry)
    found = _cgroup_parents() if cgroups and os.geteuid() == 0 else None
    for parent in found[1] if found else []:
        with contextlib.suppress(OSError):
            for entry in Path(parent).iterdir():
                name = entry.name.removeprefix(CGROUP_PREFIX)
                pid = name.split("-")[0]
                if entry.name != name and pid.isdigit() and not _alive(int(pid)):
                    remove_cgroups([str(entry)], timeout=0.5)
                    removed.append(entry)
    return removed


def _kernels_parent() -> Path:
    return Path(tempfile.gettempdir()) / "course-kernels"


@functools.cache
def _cleaned_once() -> bool:
    cleanup_stale()
    return True


def kernels_parent() -> Path:
    """The default folder holding the kernels' private folders (and the compilation cache).

    The first call in a process also removes what killed graders left (:func:`cleanup_stale`).
    """
    _cleaned_once()
    return _kernels_parent()


def private_workdir(parent: Path, files_from: Path | None = None) -> Path:
    """A fresh directory for one kernel, with copies of the submission's other files."""
    parent.mkdir(parents=True, exist_ok=True)
    os.chmod(parent, 0o711)
    workdir = owned_tempdir("kernel-", dir=parent)
    if files_from is not None:
        for entry in files_from.iterdir():
            if entry.is_file() and entry.suffix != ".ipynb" and not entry.name.startswith("."):
                shutil.copyfile(entry, workdir / entry.name)
    os.chmod(workdir, 0o700)
    return workdir


# ----------------------------------------------------------------------------- preflight

_PROBE = r"""
import json, os, sys
report = {"uid": os.getuid()}
try:
    import course, numpy
    report["imports"] = "ok"
except BaseException as error:
    report["imports"] = f"{type(error).__name__}: {error}"
try:
    with open("probe.txt", "w") as handle:
        handle.write("ok")
    report["write"] = "ok"
except OSError as error:
    report["write"] = str(error)
seen = {}
for path in sys.argv[1:]:
    if os.path.lexists(path):
        try:
            seen[path] = sorted(os.listdir(path)) if os.path.isdir(path) else None
        except OSError:
            seen[path] = []
report["seen"] = seen
others = []
for pid in os.listdir("/proc"):
    try:
        if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid != os.getuid():
            others.append(pid)
    except OSError:
        pass
report["others"] = others
report["env"] = sorted(os.environ)
print("PROBE" + json.dumps(report))
"""


def _probe_advice() -> str:
    return ("a grading kernel would fail and every submission would score zero. Run the "
            "grader as root on a Linux machine that allows mount namespaces (a container "
            "needs CAP_SYS_ADMIN, e.g. docker --privileged or --cap-add SYS_ADMIN), or as "
            "an ordinary user who can read the course and its Python install")


def preflight(secrets: Sequence[Path | str] = (), *, timeout: float = 120,
              forked: bool = True) -> list[str]:
    """Start one sandboxed process as a kernel would be, and say what keeps grading unsafe.

    The process must import ``course`` and numpy, write its folder, and (as root) see
    none of ``secrets``, nor a file placed beside the ``course`` package, nor any process
    but its own. Each problem is a message saying what to change; none means go. With
    ``forked``, a second process is forked by this process's fork server
    (:mod:`autograder.fork_server`), as grading kernels are, and must pass the same
    checks; a fork server that cannot start is no problem (kernels are then started as
    the first process was), and one started here is stopped again.
    """
    problems = _preflight_once(secrets, timeout, forked=False)
    if forked and not problems:
        from autograder import fork_server

        had_one = fork_server.running()
        try:
            problems = [f"{problem} (in a kernel forked by the fork server; "
                        "c.SandboxKernelManager.fork_server = False turns it off)"
                        for problem in _preflight_once(secrets, timeout, forked=True)]
        finally:
            if not had_one:
                fork_server.close_servers()
    return problems


def _preflight_once(secrets: Sequence[Path | str], timeout: float, *, forked: bool
                    ) -> list[str]:
    parent = _kernels_parent()
    workdir = private_workdir(parent)
    beside = None
    package = course_package_dir()
    problems: list[str] = []
    try:
        if package:
            with contextlib.suppress(OSError):
                beside = owned_tempdir("preflight-", dir=os.path.dirname(package))
                (beside / "secret.txt").write_text("not for kernels")
        hidden = [str(p) for p in secrets] + ([str(beside / "secret.txt")] if beside else [])
        uid = sandbox_uid() if os.geteuid() == 0 else None
        env = kernel_env(os.environ, str(workdir))
        env["COURSE_GRADEBOOK_URL"] = "sqlite:///must-not-reach-the-kernel"
        policy = build_policy(str(workdir), env, uid=uid, max_processes=64)
        probe = [sys.executable, "-c", _PROBE, *hidden]
        try:
            run = (_run_forked(policy, probe, kernel_env(env, str(workdir)), str(workdir),
                               timeout) if forked else subprocess.run(
                launcher_command(policy, probe), env=kernel_env(env, str(workdir)),
                cwd=str(workdir), capture_output=True, text=True, timeout=timeout))
        except subprocess.TimeoutExpired:
            return [f"a sandboxed process did not answer in {timeout:.0f} s: {_probe_advice()}"]
        finally:
            if uid is not None:
                kill_user_processes(uid)
        if run is not None:
            problems = _judge(run, hidden, uid, str(workdir), policy.visible,
                              set_by_imports=_server_import_env() if forked else ())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if beside is not None:
            shutil.rmtree(beside, ignore_errors=True)
    return problems


def _server_import_env() -> list[str]:
    from autograder import fork_server

    try:
        return fork_server.server().import_env
    except fork_server.ForkServerError:
        return []


def _run_forked(policy: Policy, command: list[str], env: Mapping[str, str], cwd: str,
                timeout: float) -> subprocess.CompletedProcess | None:
    """Run ``command`` forked by the fork server, as ``subprocess.run`` would (None when
    the server cannot start it)."""
    from autograder import fork_server

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = fork_server.server().spawn(asdict(policy), command, env, cwd,
                                                 stdout=out.fileno(), stderr=err.fileno())
        except fork_server.ForkServerError:
            return None
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(command, code, out.read().decode(errors="replace"),
                                           err.read().decode(errors="replace"))


def _exposed(seen: dict[str, list[str] | None], visible: list[str]) -> list[str]:
    """The paths of ``seen`` (what the probe found: a folder's entries, or None for a file)
    that a kernel can really read: a folder on the way to a visible one, such as the
    course root above the ``course`` package, shows only that way."""
    allowed = [os.path.realpath(p) for p in visible if os.path.lexists(p)]
    exposed = []
    for path, entries in seen.items():
        real = os.path.realpath(path)
        if entries is None or any(_inside(real, a) for a in allowed):
            exposed.append(path)
            continue
        ways = {Path(a).relative_to(real).parts[0] for a in allowed
                if _inside(a, real) and a != real}
        exposed += [os.path.join(path, e) for e in entries if e not in ways]
    return exposed


def _judge(run: subprocess.CompletedProcess, hidden: list[str], uid: int | None,
           workdir: str, visible: list[str], set_by_imports: Sequence[str] = ()) -> list[str]:
    """The problems a probe's output shows (``set_by_imports``: variables a fork server's
    imports set, which its kernels get, like a kernel that imports the same libraries)."""
    line = next((x for x in run.stdout.splitlines() if x.startswith("PROBE")), None)
    if run.returncode != 0 or line is None:
        tail = (run.stderr.strip().splitlines() or ["no output"])[-1]
        return [f"a sandboxed process could not start ({tail}): {_probe_advice()}"]
    report = json.loads(line.removeprefix("PROBE"))
    problems = []
    if report["imports"] != "ok":
        problems.append(
            f"a sandboxed kernel cannot import course and numpy ({report['imports']}): "
            f"make {sys.base_prefix}, {sys.prefix} and {course_package_dir()} readable by "
            "every user, or grade as root so that the sandbox shows them")
    if report["write"] != "ok":
        problems.append(f"a sandboxed kernel cannot write its folder {workdir} "
                        f"({report['write']}): choose a temporary folder (TMPDIR) it can use")
    if uid is not None:
        for path in _exposed(report["seen"], [*visible, workdir]):
            problems.append(f"a sandboxed kernel can see {path}: it must be outside every "
                            "folder listed in SandboxKernelManager.visible and the system "
                            "folders")
        if report["others"]:
            problems.append("a sandboxed kernel can see other users' processes in /proc "
                            "(and so the grader's command line): this Linux kernel does not "
                            "support hidepid; grade on Linux 4.x or later")
    leaked = [name for name in report["env"] if name not in ENV_NAMES
              and not name.startswith(ENV_PREFIXES)
              and name not in ("HOME", "TMPDIR", *_PRIVATE_DIRS, "LC_CTYPE", "PWD", "SHLVL", "_")
              and name not in set_by_imports]
    if leaked:
        problems.append(f"a sandboxed kernel received environment variables {leaked}")
    return problems


def main() -> None:
    """The launcher: ``POLICY -- COMMAND...`` on the command line."""
    separator = sys.argv.index("--")
    launch(Policy(**json.loads(sys.argv[1])), sys.argv[separator + 1 :])


if __name__ == "__main__":
    main()
