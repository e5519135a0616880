"""Hostile submissions against the sandbox's view of the machine: every secret of the
course and of the grading machine is absent from the kernel, and nothing it writes
outside its own folder survives (see tests/adversarial/sandbox_cases.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid

import nbformat
import pytest
from adversarial.sandbox_cases import CASES, SandboxCase
from conftest import solution_notebook

from autograder import notebooks, sandbox
from autograder.config import REPO_ROOT

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root")]
LESSON = "01-derivatives"


def _with_probes(context: dict) -> nbformat.NotebookNode:
    nb = notebooks.read(solution_notebook(LESSON))
    for case in CASES:
        source = case.source.format(**context)
        nb.cells.append(nbformat.v4.new_code_cell(
            f"# probe {case.name}\ntry:\n" + "".join(f"    {line}\n" for line in
                                                   source.splitlines())
            + f"except Exception as _error:\n    print('PROBE FAILED', repr(_error))\n"
            f"print('RAN {case.name}')\n"))
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Lesson 01's solution with every probe appended, graded once in a hostile setting."""
    from autograder.grading import Course

    base = tmp_path_factory.mktemp("sandbox-cases")
    outside = tmp_path_factory.mktemp("elsewhere")
    context = {"repo": str(REPO_ROOT), "course": str(base / "course"),
               "gradebook": str(outside / "gradebook.db"),
               "submissions": str(outside / "download"), "token": f"tok-{uuid.uuid4().hex}",
               "victim": f"victim-{uuid.uuid4().hex}", "tag": uuid.uuid4().hex,
               "kernels": str(sandbox.kernels_parent()), "pgpass": str(outside / "pgpass")}
    course = Course(base / "course", source_directory=REPO_ROOT / "solutions",
                    release_directory=base / "release", db_url=f"sqlite:///{context['gradebook']}",
                    cell_timeout=60, notebook_timeout=600)
    course.generate(LESSON)
    victim = notebooks.read(solution_notebook(LESSON))
    victim.cells.append(nbformat.v4.new_markdown_cell(context["victim"]))
    (outside / "download").mkdir()
    victim_path = outside / "download" / f"alice_1234_5678_{solution_notebook(LESSON).name}"
    nbformat.write(victim, str(victim_path))
    course.submit("victim", LESSON, victim_path, name=solution_notebook(LESSON).name)
    decoy_kernel = sandbox.owned_tempdir("kernel-", dir=sandbox.kernels_parent())
    (decoy_kernel / "answers.py").write_text(context["victim"])
    os.chmod(decoy_kernel, 0o755)

    probes = base / solution_notebook(LESSON).name
    nbformat.write(_with_probes(context), str(probes))
    course.submit("mallory", LESSON, probes)
    grader = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)",
                               f"--from={context['submissions']}"])
    # The grader's secrets: a token, and a PostgreSQL gradebook's password in its URL, in
    # PGPASSWORD and in the .pgpass file PGPASSFILE names (the course grades into SQLite).
    (outside / "pgpass").write_text(f"*:*:*:grader:{context['token']}\n")
    secrets = {"GRADER_API_TOKEN": context["token"], "PGPASSWORD": context["token"],
               "PGPASSFILE": context["pgpass"],
               "COURSE_GRADEBOOK_URL": f"postgresql+psycopg://grader:{context['token']}"
                                       "@gradebook.invalid/course"}
    saved = {name: os.environ.get(name) for name in secrets}
    os.environ.update(secrets)
    try:
        course.autograde(LESSON, "mallory")
    finally:
        grader.kill()
        grader.wait()
        shutil.rmtree(decoy_kernel, ignore_errors=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    nb = notebooks.read(course.autograded / "mallory" / LESSON / probes.name)
    outputs = {}
    for cell in nb.cells:
        first = cell.source.splitlines()[0] if cell.source else ""
        if cell.cell_type == "code" and first.startswith("# probe "):
            outputs[first.removeprefix("# probe ")] = "".join(
                str(o.get("text", "")) + str(o.get("evalue", "")) for o in cell.outputs)
    return course, context, outputs


def test_probes_keep_full_marks(graded):
    course, _, _ = graded
    assert course.total(LESSON, "mallory") == (7.0, 7.0)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_kernel_finds_nothing(case: SandboxCase, graded):
    _, context, outputs = graded
    output = outputs[case.name]
    assert f"RAN {case.name}" in output, output  # the probe really ran in the kernel
    assert "LEAK" not in output, output
    assert context["victim"] not in output and context["token"] not in output
    for path in case.leaves:
        assert not os.path.exists(path.format(**context)), path
