"""The sandbox's view of the machine: what a kernel's environment, files and processes
are, what it leaves behind, and what the grader learns before grading (preflight)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder import sandbox

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")


def run_sandboxed(code: str, workdir: Path, *, env: dict | None = None, timeout: float = 120,
                  **policy) -> subprocess.CompletedProcess:
    """Run ``code`` in a sandboxed Python exactly as a kernel would be started."""
    parent_env = dict(os.environ if env is None else env)
    uid = sandbox.sandbox_uid() if os.geteuid() == 0 else None
    kernel_env = sandbox.kernel_env(parent_env, str(workdir))
    built = sandbox.build_policy(str(workdir), parent_env, uid=uid, **policy)
    command = sandbox.launcher_command(built, [sys.executable, "-c", textwrap.dedent(code)])
    try:
        return subprocess.run(command, env=kernel_env, capture_output=True, text=True,
                              timeout=timeout)
    finally:
        if uid is not None:
            sandbox.kill_user_processes(uid)


@pytest.fixture
def workdir(request):
    folder = sandbox.private_workdir(sandbox.kernels_parent())
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))
    return folder


# ------------------------------------------------------------------------- environment


def test_kernel_env_keeps_only_the_allow_list():
    env = {"PATH": "/usr/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "COURSE_GRADING_RECORD": "/w/log", "JAX_COMPILATION_CACHE_DIR": "/c",
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "1e9", "JAX_PLATFORMS": "cpu",
           "COURSE_GRADEBOOK_URL": "postgresql://grader:pw@db/grades", "GITHUB_TOKEN": "t",
           "AWS_SECRET_ACCESS_KEY": "k", "COURSE_SANDBOX_UID": "1", "PYTHONPATH": "/secret",
           "LD_PRELOAD": "/x.so", "HOME": "/root", "TMPDIR": "/tmp"}
    kept = sandbox.kernel_env(env, "/w")
    for name in ("PATH", "LANG", "LC_ALL", "COURSE_GRADING_RECORD", "JAX_PLATFORMS",
                 "JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"):
        assert kept[name] == env[name]
    for name in ("COURSE_GRADEBOOK_URL", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY",
                 "COURSE_SANDBOX_UID", "PYTHONPATH", "LD_PRELOAD"):
        assert name not in kept
    assert kept["HOME"] == "/w" and kept["TMPDIR"] == "/w/.tmp"
    assert kept["IPYTHONDIR"].startswith("/w/") and kept["MPLCONFIGDIR"].startswith("/w/")


# ------------------------------------------------------------------------------- plan


def test_plan_keeps_links_as_links_and_binds_real_folders(tmp_path):
    real = tmp_path / "real" / "python"
    real.mkdir(parents=True)
    (tmp_path / "alias").symlink_to("real")
    policy = sandbox.Policy(visible=[str(tmp_path / "alias" / "python"), str(real / "lib"),
                                     "/does/not/exist"], workdir=str(tmp_path / "work"))
    (tmp_path / "work").mkdir()
    plan = sandbox.plan_root(policy)
    binds = [(kind, target) for kind, target, _ in plan.mounts if kind in ("ro", "rw")]
    assert sorted(binds) == [("ro", str(real)), ("rw", str(tmp_path / "work"))]
    assert plan.links == {str(tmp_path / "alias"): "real"}
    kinds = [kind for kind, _, _ in plan.mounts]
    assert kinds.index("dev") < kinds.index("ro") and kinds.count("tmpfs") == 3
    with pytest.raises(ValueError):
        sandbox.plan_root(sandbox.Policy(visible=["/"]))


def test_plan_covers_hidden_paths_only_inside_what_is_seen(tmp_path):
    (tmp_path / "seen" / "secret").mkdir(parents=True)
    policy = sandbox.Policy(visible=[str(tmp_path / "seen")],
                            hide=[str(tmp_path / "seen" / "secret"), str(tmp_path / "other")])
    assert sandbox.plan_root(policy).hide == [str(tmp_path / "seen" / "secret")]


def test_default_view_holds_python_the_venv_and_the_course_package():
    seen = sandbox.default_visible_paths()
    assert sys.base_prefix in seen and sys.prefix in seen
    assert sandbox.course_package_dir() in seen
    assert not any(p in seen for p in ("/", "/root", "/home", "/tmp", "/var"))


# --------------------------------------------------------------------------- leftovers


def test_cleanup_removes_folders_of_processes_that_are_gone(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / f"kernel-{dead.pid}-abc", tmp_path / f"grade-worker-{dead.pid}-x",
             tmp_path / "sandbox-empty-q1w2e3"]
    kept = [tmp_path / f"kernel-{os.getpid()}-mine", tmp_path / "kernel-legacy",
            tmp_path / "unrelated"]
    for folder in stale + kept:
        (folder / "inner").mkdir(parents=True)
    os.chmod(stale[2], 0)
    removed = sandbox.cleanup_stale([tmp_path], cgroups=False)
    assert sorted(removed) == sorted(stale)
    assert all(not p.exists() for p in stale) and all(p.exists() for p in kept)


@needs_root
def test_cleanup_removes_control_groups_of_graders_that_are_gone():
    if sandbox.cgroup_support() is None:
        pytest.skip("no control groups for kernels on this machine")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _, parents = sandbox._cgroup_parents()
    stale = [Path(p) / f"{sandbox.CGROUP_PREFIX}{dead.pid}-0" for p in parents]
    mine = sandbox.make_cgroups(2**30, 16)
    for folder in stale:
        folder.mkdir()
    try:
        removed = sandbox.cleanup_stale([])
        assert set(stale) <= set(removed) and not any(p.exists() for p in stale)
        assert all(os.path.isdir(p) for p in mine)
    finally:
        sandbox.remove_cgroups([*map(str, stale), *mine])


def test_owned_folders_name_their_owner(tmp_path):
    folder = sandbox.owned_tempdir("grade-worker-", dir=tmp_path)
    assert folder.name.startswith(f"grade-worker-{os.getpid()}-")
    work = sandbox.private_workdir(tmp_path / "kernels")
    assert work.name.startswith(f"kernel-{os.getpid()}-")
    assert sandbox.cleanup_stale([tmp_path, tmp_path / "kernels"], cgroups=False) == []


# ---------------------------------------------------------------------------- preflight


def test_preflight_passes_on_this_machine():
    assert sandbox.preflight() == []


@needs_root
def test_preflight_names_a_secret_the_kernel_could_see(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades")
    visible_one = shutil.which("env")  # inside /usr: part of every kernel's view
    # The course root and /root hold folders every kernel sees (course/, .venv, Python),
    # so they exist in its view, but only on the way there: that is no problem.
    from autograder.config import REPO_ROOT

    problems = sandbox.preflight([secret, visible_one, REPO_ROOT, "/root", "/tmp"])
    assert len(problems) == 1 and visible_one in problems[0]


@needs_root
def test_preflight_explains_a_sandbox_that_cannot_start(monkeypatch):
    monkeypatch.setattr(sandbox, "SYSTEM_PATHS", ())  # no /usr, no /lib: nothing can run
    problems = sandbox.preflight()
    assert problems and ("could not start" in problems[0] or "cannot import" in problems[0])
    assert "root" in problems[0]


# ------------------------------------------------------------------ sandboxed processes


@needs_root
def test_kernel_sees_only_its_allow_list(workdir):
    run = run_sandboxed("""
        import os, tempfile
        import course, numpy
        print(sorted(os.listdir("/")))
        print(tempfile.gettempdir())
        open("written.txt", "w").write("ok")
        print(open("/proc/self/status").read().split("NoNewPrivs:")[1].split()[0])
    """, workdir)
    assert run.returncode == 0, run.stderr
    top, tmp, no_new_privs = run.stdout.splitlines()[:3]
    policy = sandbox.build_policy(str(workdir), dict(os.environ), uid=sandbox.sandbox_uid())
    allowed = {Path(p).parts[1] for p in [*policy.visible, str(workdir)] if len(Path(p).parts) > 1}
    assert set(eval(top)) <= allowed | {"sys", "dev", "proc", "tmp", "var"}
    assert tmp == str(workdir / ".tmp") and no_new_privs == "1"
    assert (workdir / "written.txt").read_text() == "ok"


@needs_root
def test_visible_folders_are_read_only(workdir):
    package = sandbox.course_package_dir()
    run = run_sandboxed(f"""
        import os
        for path in ({package!r}, {sys.prefix!r}, "/usr", "/etc", "/"):
            try:
                open(os.path.join(path, "planted.py"), "w")
                print("WROTE", path)
            except OSError:
                pass
    """, workdir)
    assert run.returncode == 0, run.stderr
    assert "WROTE" not in run.stdout
    assert not Path(package, "planted.py").exists()


@needs_root
def test_scratch_folders_are_private_limited_and_gone_afterwards(workdir):
    name = f"leftover-{os.getpid()}"
    run = run_sandboxed(f"""
        import os
        for folder in ("/tmp", "/var/tmp", "/dev/shm"):
            with open(os.path.join(folder, {name!r}), "wb") as handle:
                handle.write(b"x" * 2**20)
        try:
            with open("/tmp/{name}-big", "wb") as handle:
                handle.write(b"x" * 8 * 2**20)
            print("NO LIMIT")
        except OSError as error:
            print("LIMITED", error.errno)
        print(sorted(os.listdir("/tmp")))
    """, workdir, tmp_bytes=4 * 2**20)
    assert run.returncode == 0, run.stderr
    assert "LIMITED" in run.stdout
    assert "course-kernels" in run.stdout  # only the skeleton of its own folder
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        assert not (Path(folder) / name).exists(), folder
        assert not (Path(folder) / f"{name}-big").exists()


@needs_root
def test_kernel_cannot_see_the_grader_in_proc(workdir, tmp_path):
    marker = f"--from={tmp_path}/other-students-{os.getpid()}"
    grader = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    try:
        run = run_sandboxed(f"""
            import os
            mine = os.getuid()
            found = []
            for pid in os.listdir("/proc"):
                if pid.isdigit() and int(pid) != os.getpid():  # its own command names it
                    try:
                        cmdline = open(f"/proc/{{pid}}/cmdline", "rb").read()
                    except OSError:
                        continue
                    if {marker!r}.encode() in cmdline:
                        found.append(pid)
            for path in ("/proc/1/environ", "/proc/1/cmdline", "/proc/{grader.pid}/cmdline",
                         "/proc/{os.getpid()}/environ"):
                try:
                    open(path, "rb").read()
                    found.append(path)
                except OSError:
                    pass
            print("FOUND", found)
        """, workdir)
    finally:
        grader.kill()
        grader.wait()
    assert run.returncode == 0, run.stderr
    assert "FOUND []" in run.stdout


@needs_root
def test_grader_environment_does_not_reach_the_kernel(workdir):
    env = dict(os.environ, COURSE_GRADEBOOK_URL="sqlite:////srv/secret/gradebook.db",
               LMS_API_TOKEN="tok-123", COURSE_GRADING_RECORD=str(workdir / "log"))
    run = run_sandboxed("""
        import os
        print(sorted(os.environ))
        print(open("/proc/self/environ", "rb").read().count(b"tok-123"))
    """, workdir, env=env)
    assert run.returncode == 0, run.stderr
    names, count = run.stdout.splitlines()[:2]
    assert "COURSE_GRADEBOOK_URL" not in names and "LMS_API_TOKEN" not in names
    assert "COURSE_GRADING_RECORD" in names and count == "0"


@needs_root
def test_children_share_one_memory_limit(workdir):
    if sandbox.cgroup_support() is None:
        pytest.skip("no memory control group on this machine")
    cgroups = sandbox.make_cgroups(300 * 2**20, 64)
    try:
        run = run_sandboxed("""
            import os, signal, time
            print(open("/proc/self/cgroup").read().count("course-kernel-"))
            children = []
            for _ in range(3):
                pid = os.fork()
                if pid == 0:
                    block = bytearray(150 * 2**20)
                    block[::4096] = b"x" * len(block[::4096])
                    time.sleep(3)
                    os._exit(0)
                children.append(pid)
            statuses = [os.waitpid(pid, 0)[1] for pid in children]
            print("KILLED", sum(os.WIFSIGNALED(s) and os.WTERMSIG(s) == signal.SIGKILL
                                for s in statuses))
        """, workdir, cgroups=cgroups)
    finally:
        sandbox.remove_cgroups(cgroups)
    assert run.returncode == 0, run.stderr
    joined, killed = run.stdout.splitlines()[:2]
    assert int(joined) >= 1 and int(killed.split()[1]) >= 1
    assert not any(os.path.exists(c) for c in cgroups)


@needs_root
def test_background_processes_are_killed(workdir):
    uid = sandbox.sandbox_uid()
    run = run_sandboxed("""
        import os, subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                         start_new_session=True, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
        print("started")
    """, workdir)
    assert run.returncode == 0, run.stderr
    assert sandbox.processes_of(uid) == {}


# ------------------------------------------------------------- a checkout nobody can enter

_GRADE_ONE = """
import sys
from pathlib import Path
from autograder.grading import Course
from autograder.lessons import lesson as find_lesson

lesson = "01-derivatives"
root = Path(sys.argv[1])
solution = find_lesson(lesson).solution
course = Course(root, source_directory=solution.parent.parent, release_directory=root / "rel")
course.generate(lesson)
course.submit("perfect", lesson, solution)
course.autograde(lesson, "perfect")
print("TOTAL", course.total(lesson, "perfect"))
"""


@needs_root
@pytest.mark.slow
def test_grading_works_from_a_folder_only_root_can_enter(tmp_path):
    """The checkout, the course and the temporary folder all sit in a 0700 folder, and
    Python lives in /root: the kernel still finds everything it needs, and only that."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("needs unshare and mount")
    from autograder.config import REPO_ROOT

    private = tmp_path / "home"
    (private / "checkout").mkdir(parents=True)
    (private / "tmp").mkdir()
    os.chmod(private, 0o700)
    checkout = private / "checkout"
    script = (f"mount --bind {REPO_ROOT} {checkout} && cd {checkout} && "
              f"exec {checkout}/.venv/bin/python -c \"$0\" {private / 'course'}")
    env = dict(os.environ, TMPDIR=str(private / "tmp"))
    env.pop("PYTHONPATH", None)
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                          _GRADE_ONE], env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "TOTAL (7.0, 7.0)" in run.stdout, run.stderr[-3000:]


@needs_root
@pytest.mark.slow
def test_kernels_read_the_compilation_cache_but_cannot_add_to_it(workdir, monkeypatch, tmp_path):
    """The cache is shown read-only at its own path, even inside a folder only root enters."""
    import nbformat
    from test_compile_cache import PROBE, PROGRAM

    from autograder import compile_cache

    os.chmod(tmp_path, 0o700)
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path / "kernels" / "cache"))
    folder = compile_cache.cache_dir()
    lesson = tmp_path / "source" / "00-tiny"
    lesson.mkdir(parents=True)
    notebook = lesson / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROGRAM)]),
                   str(notebook))
    compile_cache.prime(notebook, folder, timeout=120)
    before = sorted(p.name for p in folder.iterdir())

    run = run_sandboxed(PROBE, workdir, env=dict(os.environ, **compile_cache.reader_env(folder)))
    assert run.returncode == 0, run.stderr
    assert int(run.stdout.split("HITS")[1]) >= 1, run.stdout
    assert sorted(p.name for p in folder.iterdir()) == before
