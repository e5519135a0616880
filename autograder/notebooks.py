"""Reading nbgrader metadata and executing notebooks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

#: Seconds one cell may run before it is interrupted (the course's nbgrader setting uses it too).
CELL_TIMEOUT = 120


@dataclass(frozen=True)
class GradedCell:
    """An nbgrader cell that carries an id: an answer cell or a test cell."""

    grade_id: str
    kind: str  # "answer" (autograded answer) or "tests" (autograder tests)
    points: float
    index: int


def nbgrader_meta(cell: NotebookNode) -> dict:
    """A cell's nbgrader metadata, or ``{}`` when it is missing or not a mapping."""
    metadata = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return meta if isinstance(meta, dict) else {}


def graded_cells(nb: NotebookNode) -> list[GradedCell]:
    """Answer and test cells of a notebook, in order."""
    cells = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or "grade_id" not in meta:
            continue
        if meta.get("solution") and not meta.get("grade"):
            cells.append(GradedCell(meta["grade_id"], "answer", 0.0, index))
        elif meta.get("grade") and not meta.get("solution"):
            cells.append(GradedCell(meta["grade_id"], "tests", float(meta.get("points", 0)), index))
    return cells


def exercise_of(test_id: str, answer_ids: list[str]) -> str:
    """The exercise a test cell belongs to: the longest answer id its grade_id starts with."""
    owners = [a for a in answer_ids if test_id == a or test_id.startswith(a + "_")]
    if not owners:
        raise ValueError(f"test cell {test_id!r} belongs to no exercise")
    return max(owners, key=len)


def read(path: Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)


def execute(nb: NotebookNode, *, cwd: Path, timeout: int = CELL_TIMEOUT,
            env: dict[str, str] | None = None) -> NotebookNode:
    """Run every cell (errors recorded as outputs, execution goes on) and return the notebook.

    ``env`` replaces the kernel's environment (default: this process's).
    """
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", allow_errors=True, record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute(**({"env": env} if env is not None else {}))
    return nb


def errors(cell: NotebookNode) -> list[NotebookNode]:
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


#: Key of the notebook metadata where grading leaves what the instructor should read:
#: ``notes`` (one line each: what grading did about the notebook's structure, say) and
#: ``review`` (why a person should look at the submission: behaviour grading cannot
#: judge for sure). The class run copies both into the grades CSV and its summary.
ANNOTATIONS_KEY = "autograder"
ANNOTATION_KINDS = ("notes", "review")


def annotate(nb: NotebookNode, kind: str, message: str) -> None:
    """Add one line of ``kind`` ("notes" or "review") to ``nb``'s grading annotations."""
    if kind not in ANNOTATION_KINDS:
        raise ValueError(f"unknown annotation kind {kind!r}")
    entry = nb.metadata.setdefault(ANNOTATIONS_KEY, {})
    lines = entry.setdefault(kind, [])
    if message not in lines:
        lines.append(message)


def annotations(nb: NotebookNode) -> dict[str, list[str]]:
    """The grading annotations of ``nb``: ``{"notes": [...], "review": [...]}``."""
    entry = nb.get("metadata", {}).get(ANNOTATIONS_KEY, {})
    if not isinstance(entry, dict):
        return {kind: [] for kind in ANNOTATION_KINDS}
    return {kind: [str(line) for line in entry.get(kind, []) if isinstance(line, str)]
            for kind in ANNOTATION_KINDS}
