"""Execute solutions and released lessons and check how they behave.

* A solution notebook runs without any error: every test passes.
* A released lesson fails every graded test with a failed check
  (``CheckFailed``, an ``AssertionError``) and raises nothing anywhere else, so
  a student who opens it sees only "not implemented yet" at the checks.

Both run the way grading runs a submission (:func:`graded`): in the sandboxed kernel
session of :mod:`autograder.kernel_session`, with every test cell decided by replaying
its recorded answers against the oracle in this process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from autograder import notebooks
from autograder.config import REPO_ROOT
from autograder.lessons import layout, lesson

FAILED_CHECK_NAMES = {"CheckFailed", "AssertionError"}


@dataclass
class Report:
    notebook: Path
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _label(nb, index: int) -> str:
    meta = notebooks.nbgrader_meta(nb.cells[index])
    return f"cell {index}" + (f" ({meta['grade_id']})" if "grade_id" in meta else "")


def graded(path: Path) -> NotebookNode:
    """The notebook at ``path`` run as grading runs it (test cells replayed here)."""
    from autograder.config import course_config
    from autograder.trusted import TrustedExecute

    nb = notebooks.read(path)
    TrustedExecute(config=course_config()).preprocess(
        nb, {"metadata": {"path": str(path.parent)}})
    return nb


def verify_solution(path: Path) -> Report:
    nb = graded(path)
    report = Report(path)
    for index, cell in enumerate(nb.cells):
        for error in notebooks.errors(cell):
            report.problems.append(f"{_label(nb, index)} raised {error.ename}: {error.evalue}")
    if not any(c.kind == "tests" for c in layout(nb).cells):
        report.problems.append("no autograder test cells")
    return report


def verify_lesson(path: Path) -> Report:
    nb = graded(path)
    report = Report(path)
    test_cells = {c.index for c in layout(nb).cells if c.kind == "tests"}
    for index, cell in enumerate(nb.cells):
        errors = notebooks.errors(cell)
        if index in test_cells:
            if not errors:
                report.problems.append(f"{_label(nb, index)} passes with the unsolved stub")
            elif errors[0].ename not in FAILED_CHECK_NAMES:
                report.problems.append(
                    f"{_label(nb, index)} fails with {errors[0].ename}, not a failed check: "
                    f"{errors[0].evalue}"
                )
        elif errors:
            report.problems.append(
                f"{_label(nb, index)} raised {errors[0].ename} in the released lesson: "
                f"{errors[0].evalue}"
            )
    return report


def verify(assignments: list[str], root: Path = REPO_ROOT) -> list[Report]:
    """A report on each assignment's solution, then on its release."""
    reports = []
    for assignment in assignments:
        found = lesson(assignment, root)
        reports.append(verify_solution(found.solution))
        if found.release.exists():
            reports.append(verify_lesson(found.release))
        else:
            reports.append(Report(found.release, ["missing: run `autograder release`"]))
    return reports
