"""A persistent JAX compilation cache for grading, written only by trusted code.

Most of a lesson's running time in a grading kernel is XLA compiling the same small
programs again: the checkers' oracles and the lesson's own JAX demonstrations. JAX can
keep compiled programs on disk and load them in later processes. A cache is also
a way in, though: an entry is native code, so a cache that student code can write would
let one submission change what another submission's kernel -- or the grader's own
oracle -- computes. Hence:

* the cache is written only by the grader, by running each lesson's *source* notebook
  (the instructor's code) once, in a plain kernel, into a staging folder whose entries
  are then moved in atomically (:func:`prime`); nothing writes while students' kernels
  read;
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
    stamp = _stamp(folder, notebook)
    with contextlib.suppress(FileNotFoundError, ValueError):
        return float(stamp.read_text())
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
        for entry in staging.iterdir():
            target = folder / entry.name
            if entry.is_file() and not target.exists():
                os.chmod(entry, 0o644)
                os.replace(entry, target)  # atomic: a reader sees all of an entry or none
        stamp.write_text(f"{seconds:.2f}")
        return seconds
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
