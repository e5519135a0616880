"""The grading compilation cache: filled only by the grader, read by sandboxed kernels."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder import compile_cache

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="the cache is used only when kernels run as a user of their own")

PROGRAM = textwrap.dedent("""\
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    triple_sine = jax.jit(lambda x: 3.0 * jnp.sin(x))
    print(triple_sine(jnp.arange(4.0)))
""")

PROBE = PROGRAM.replace("import jax\n", textwrap.dedent("""\
    import jax

    hits = []
    jax.monitoring.register_event_listener(
        lambda event, **kwargs: hits.append(event)
        if event == "/jax/compilation_cache/cache_hits" else None)
"""), 1) + textwrap.dedent("""\
    print(jax.jit(lambda x: jnp.cos(x) ** 2)(jnp.arange(5.0)))  # new: must not be written
    print("HITS", len(hits))
""")


def test_no_cache_when_turned_off(monkeypatch):
    monkeypatch.setenv(compile_cache.CACHE_ENV, "off")
    assert compile_cache.cache_dir() is None
    assert compile_cache.reader_env(None) == {}


@pytest.mark.skipif(os.geteuid() == 0, reason="checks the behaviour without root")
def test_no_cache_without_root(monkeypatch, tmp_path):
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path / "cache"))
    assert compile_cache.cache_dir() is None


@needs_root
def test_a_folder_made_by_someone_else_is_replaced(monkeypatch, tmp_path):
    folder = tmp_path / "kernels" / "cache"
    folder.mkdir(parents=True)
    (folder / "jit_planted-0123-cache").write_bytes(b"not a program of ours")
    for path in (folder, folder.parent):
        os.chown(path, 123_456, 123_456)
    os.chmod(folder, 0o777)
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(folder))

    assert compile_cache.cache_dir() == folder
    assert list(folder.iterdir()) == []
    for path, mode in ((folder, 0o755), (folder.parent, 0o711)):
        info = path.stat()
        assert info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) == mode


def _reachable_by_others(path: Path) -> bool:
    """Whether every folder above ``path`` lets other users through (o+x)."""
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [path, *path.parents])


@needs_root
@pytest.mark.slow
@pytest.mark.skipif(not _reachable_by_others(Path(sys.prefix)),
                    reason="this test runs another user outside the sandbox, which cannot "
                           "reach a checkout in a private folder (the sandbox can)")
def test_the_grader_fills_it_and_another_user_only_reads_it(monkeypatch, tmp_path, request):
    lesson = tmp_path / "source" / "00-tiny"
    lesson.mkdir(parents=True)
    notebook = lesson / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROGRAM)]),
                   str(notebook))
    # grading kernels reach the cache through world-traversable folders, as under /tmp
    outside = Path(tempfile.mkdtemp(prefix="cache-test-"))
    request.addfinalizer(lambda: shutil.rmtree(outside, ignore_errors=True))
    os.chmod(outside, 0o711)
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(outside / "kernels" / "cache"))
    folder = compile_cache.cache_dir()

    seconds = compile_cache.prime(notebook, folder, timeout=60)
    programs = {p.name for p in folder.iterdir() if p.name.endswith("-cache")}
    assert seconds > 0 and any(name.startswith("jit__lambda") for name in programs)
    # once per version of the notebook and the course: the second time only reads the stamp
    assert compile_cache.prime(notebook, folder, timeout=60) == pytest.approx(seconds, abs=0.01)

    if shutil.which("setpriv") is None:
        pytest.skip("setpriv is needed to run the reader as another user")
    env = dict(os.environ, HOME="/", **compile_cache.reader_env(folder))
    run = subprocess.run(
        ["setpriv", "--reuid=123457", "--regid=123457", "--clear-groups", sys.executable,
         "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, cwd="/",
    )
    assert run.returncode == 0, run.stderr
    assert int(run.stdout.split("HITS")[1]) >= 1, run.stdout  # loaded what the grader compiled
    after = {p.name for p in folder.iterdir() if p.name.endswith("-cache")}
    assert after == programs  # and added nothing


@needs_root
def test_a_filling_kernel_adds_what_it_compiled_and_a_student_kernel_only_reads(
        monkeypatch, request):
    """A class run's solution canary fills the cache from its sandboxed kernel: the grader
    copies the entries in as its own, read-only files; a student kernel loads them and
    writes nothing."""
    from autograder.kernel_session import KernelSession, Settings

    outside = Path(tempfile.mkdtemp(prefix="cache-test-"))
    request.addfinalizer(lambda: shutil.rmtree(outside, ignore_errors=True))
    os.chmod(outside, 0o711)
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(outside / "kernels" / "cache"))
    folder = compile_cache.cache_dir()
    settings = Settings(cell_timeout=120, kernel_parent=str(outside / "kernels"))

    with compile_cache.filling(folder), KernelSession(settings) as canary:
        canary.start()
        assert canary.run(PROGRAM).status == "ok"
    assert canary.harvested >= 1
    programs = {p.name for p in folder.iterdir() if p.name.endswith("-cache")}
    assert any(name.startswith("jit__lambda") for name in programs)
    for name in programs:
        info = (folder / name).lstat()
        assert stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid()
        assert stat.S_IMODE(info.st_mode) == 0o644

    with KernelSession(settings) as student:
        student.start()
        run = student.run(PROBE)
        assert run.status == "ok", run.outputs
        text = "".join(output.get("text", "") for output in run.outputs)
        assert int(text.split("HITS")[1]) >= 1, text
    assert student.harvested == 0
    assert {p.name for p in folder.iterdir() if p.name.endswith("-cache")} == programs


def test_harvest_copies_regular_files_only_and_within_its_budget(tmp_path):
    staging = tmp_path / "kernel" / compile_cache.STAGING
    staging.mkdir(parents=True)
    folder = tmp_path / "cache"
    folder.mkdir()
    (staging / "small-cache").write_bytes(b"x" * 10)
    (staging / "large-cache").write_bytes(b"y" * 100)
    secret = tmp_path / "secret"
    secret.write_text("not an entry")
    (staging / "link-cache").symlink_to(secret)
    os.mkfifo(staging / "pipe-cache")
    (staging / "folder-cache").mkdir()
    (folder / "kept-cache").write_bytes(b"old")
    (staging / "kept-cache").write_bytes(b"new")

    assert compile_cache.harvest(staging, folder, max_bytes=50) == 1
    assert sorted(p.name for p in folder.iterdir()) == ["kept-cache", "small-cache"]
    assert (folder / "small-cache").read_bytes() == b"x" * 10
    assert (folder / "kept-cache").read_bytes() == b"old"  # an entry is never replaced
    assert not (folder / "small-cache").is_symlink()


def test_a_staging_folder_that_is_a_link_is_not_followed(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "entry-cache").write_bytes(b"x")
    (tmp_path / "kernel").mkdir()
    (tmp_path / "kernel" / compile_cache.STAGING).symlink_to(elsewhere)
    folder = tmp_path / "cache"
    folder.mkdir()
    assert compile_cache.harvest(tmp_path / "kernel" / compile_cache.STAGING, folder) == 0
    assert list(folder.iterdir()) == []
