"""A persistent JAX compilation cache for grading, written only by trusted code.

Most of a lesson's running time in a grading kernel is XLA compiling the same small
programs again: the checkers' oracles and the lesson's own JAX demonstrations. JAX can
keep compiled programs on disk and load them in later processes. A cache is also
a way in, though: an entry is native code, so a cache that student code can write would
let one submission change what another submission's kernel -- or the grader's own
oracle -- computes. Hence:

* the cache is written only from the instructor's code: each lesson's *source*
  notebook, run once into a staging folder whose entries the grader then copies in
  atomically. A class run does it with the lesson's solution canary, which runs that
  notebook through the grading path anyway (:func:`filling`, :func:`harvest`); a Dask
  worker host with :func:`prime`, in a plain kernel. Student kernels never write;
* grading kernels and the grader's replays only read it (their minimum compile time
  for writing is set beyond reach);
* it is used only when kernels run as a user of their own (the grader is root, see
  :mod:`autograder.sandbox`): the folder belongs to the grader and kernels can read
  but not write it. Without root, a kernel could write anything the grader can, so no
  cache is used at all.

``COURSE_COMPILE_CACHE`` names another folder (the benchmark uses a fresh one, to
measure a cold start honestly); ``COURSE_COMPILE_CACHE=off`` turns the cache off.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat

from autograder.notebooks import execute
from autograder.sandbox import kernels_parent

CACHE_ENV = "COURSE_COMPILE_CACHE"
#: JAX's GPU caches would put the cache folder's path into every program's cache key,
#: so that a program compiled into the staging folder would never be found in the cache.
_SAME_KEYS = {"JAX_PERSISTENT_CACHE_ENABLE_XLA_CACHES": "none"}
#: Entries smaller or quicker to compile than JAX's defaults are still worth keeping:
#: lessons compile hundreds of tiny programs, and loading one takes about a millisecond.
_WRITE_EVERYTHING = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
                     "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0", **_SAME_KEYS}
_NEVER_WRITE = {"JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "1e9", **_SAME_KEYS}


def cache_dir() -> Path | None:
    """The grading cache folder, ready for use; None when no cache may be used.

    The folder and its parent belong to this process's user and only it may write them;
    one found otherwise (created beforehand by someone else) is replaced.
    """
    setting = os.environ.get(CACHE_ENV, "")
    if setting == "off" or os.geteuid() != 0:
        return None
    folder = Path(setting) if setting else kernels_parent() / "jax-cache"
    for path, mode in ((folder.parent, 0o711), (folder, 0o755)):
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
        if path.exists():
            info = path.stat()
            if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                if path == folder:
                    shutil.rmtree(path)
                else:
                    os.chown(path, os.geteuid(), os.getegid())
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
    return folder


def reader_env(folder: Path | None) -> dict[str, str]:
    """Environment for a process that may load from the cache but never add to it."""
    if folder is None:
        return {}
    return {"JAX_COMPILATION_CACHE_DIR": str(folder), **_NEVER_WRITE}


#: The staging folder inside a filling kernel's private folder.
STAGING = ".jax-staging"
_filling: list[Path] = []


@contextlib.contextmanager
def filling(folder: Path | None) -> Iterator[None]:
    """Kernels started inside write what they compile (into their own staging folder,
    see :func:`kernel_env`) for :func:`harvest` to copy into ``folder``.

    Only for kernels that run the instructor's code (a class run's solution canary):
    whatever they write becomes native code loaded by every later kernel.
    """
    if folder is None:
        yield
        return
    _filling.append(folder)
    try:
        yield
    finally:
        _filling.pop()


def filling_into() -> Path | None:
    """The cache that kernels started now fill (see :func:`filling`), or None."""
    return _filling[-1] if _filling else None


def kernel_env(folder: Path | None, workdir: Path, *, fills: Path | None = None
               ) -> dict[str, str]:
    """A grading kernel's cache settings: it reads ``folder``, or -- for a session that
    ``fills`` a cache (see :func:`filling`) -- writes everything it compiles into the
    staging folder inside its ``workdir``."""
    if fills is not None:
        return {"JAX_COMPILATION_CACHE_DIR": str(workdir / STAGING), **_WRITE_EVERYTHING}
    return reader_env(folder)


def harvest(staging: Path, folder: Path, *, max_bytes: int = 256 * 2**20) -> int:
    """Copy the entries a filling run left in ``staging`` into the cache ``folder``;
    return how many were added.

    The run has stopped (a kernel's user has no process left). Entries are copied into
    new files of the grader's own, made read-only for others and renamed into place, so
    a reader sees all of an entry or none; an entry already there is kept; links and
    anything but regular files are skipped, as is anything past ``max_bytes`` in all.
    """
    if staging.is_symlink() or not staging.is_dir():
        return 0
    added, budget = 0, max_bytes
    for entry in os.scandir(staging):
        target = folder / entry.name
        if not entry.is_file(follow_symlinks=False) or target.exists():
            continue
        size = entry.stat(follow_symlinks=False).st_size
        if size > budget:
            continue
        budget -= size
        copy = None
        try:
            descriptor = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(descriptor, "rb") as source, tempfile.NamedTemporaryFile(
                    dir=folder.parent, delete=False) as copy:
                shutil.copyfileobj(source, copy)
            os.chmod(copy.name, 0o644)
            os.replace(copy.name, target)
            added += 1
        except OSError:  # an entry that cannot be copied is left out, and no copy stays
            if copy is not None:
                with contextlib.suppress(OSError):
                    os.unlink(copy.name)
    return added


def filled_seconds(notebook: Path, folder: Path | None) -> float | None:
    """Seconds ``notebook`` ran when it filled ``folder``; None when it has not."""
    if folder is None:
        return None
    with contextlib.suppress(FileNotFoundError, ValueError):
        return float(_stamp(folder, notebook).read_text())
    return None


def mark_filled(notebook: Path, folder: Path, seconds: float) -> None:
    """Note that ``folder`` holds what running ``notebook`` compiles (it ran ``seconds``)."""
    _stamp(folder, notebook).write_text(f"{seconds:.2f}")


def use_in_this_process(folder: Path | None) -> None:
    """Let this (grader) process load the oracles' compiled programs from the cache."""
    if folder is None:
        return
    from course.oracle import jax

    jax.config.update("jax_persistent_cache_enable_xla_caches", "none")
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1e9)


def _stamp(folder: Path, notebook: Path) -> Path:
    """Marks the cache as holding ``notebook``'s programs for this course code and JAX."""
    import jax

    digest = hashlib.sha256(notebook.read_bytes())
    digest.update(jax.__version__.encode())
    course = Path(__file__).resolve().parent.parent / "course"
    for path in sorted(course.rglob("*.py")):
        digest.update(path.read_bytes())
    return folder / f"primed-{notebook.parent.name}-{digest.hexdigest()[:20]}"


def prime(notebook: Path, folder: Path | None, *, timeout: int) -> float | None:
    """Fill the cache with what running the source ``notebook`` compiles.

    Returns how many seconds the notebook ran (measured now, or when the cache was filled
    for this version), which is also a fair estimate of its grading cost; None when the
    cache is off.
    """
    if folder is None:
        return None
    seconds = filled_seconds(notebook, folder)
    if seconds is not None:
        return seconds
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=folder.parent))
    work = Path(tempfile.mkdtemp(prefix="prime-", dir=folder.parent))
    try:
        for entry in notebook.parent.iterdir():
            if entry.is_file():
                shutil.copyfile(entry, work / entry.name)
        env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(staging), **_WRITE_EVERYTHING)
        started = time.monotonic()
        execute(nbformat.read(str(notebook), as_version=4), cwd=work, timeout=timeout, env=env)
        seconds = time.monotonic() - started
        harvest(staging, folder)
        mark_filled(notebook, folder, seconds)
        return seconds
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
