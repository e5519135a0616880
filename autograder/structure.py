"""Honest structural mistakes in a submission, graded for what is there.

Students delete, copy, reorder and edit cells; a text editor or another tool can break
the notebook's metadata. nbgrader's own sanitizing steps stop with a traceback on most
of these (a duplicated grade id, a test cell without ``points``, metadata that is not an
object, a deleted answer cell next to a deleted test cell), and the submission ends up
"not graded". :class:`RebuildGradedCells` runs before them and rebuilds the submission's
graded cells from the lesson's source, as recorded in the gradebook; the submission's own
nbgrader metadata is never trusted:

* every cell is made well-formed (metadata an object, source a string, known cell type,
  unique cell ids); nothing a student wrote is dropped;
* the first cell that carries a grade id of the lesson keeps it, with the source's
  metadata (kind, points, lock, schema version); a test cell also gets the source's code
  (its hidden tests included), whatever the submission's cell says;
* a later cell with the same grade id, or a cell with a grade id the lesson does not
  have, becomes a plain cell: its code still runs, so whatever the student's cells
  define last is what the kernel has;
* a missing answer cell's grade id goes to the last plain cell that defines the
  functions and classes the answer should define (so the by-hand rule still sees it); if
  there is none, the exercise is graded on whatever the notebook defines;
* a missing test cell is restored from the source after the nearest graded cell that
  precedes it in the source;
* a test cell that comes before its exercise's answer cell is moved right after it.

Each fix leaves one line for the instructor in the notebook's grading notes
(:func:`autograder.notebooks.annotate`).
"""

from __future__ import annotations

import ast
import copy
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbconvert.exporters import NotebookExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.notebooks import annotate, exercise_of

SCHEMA_VERSION = 3
CELL_TYPES = ("code", "markdown", "raw")
_CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@dataclass(frozen=True)
class SourceCell:
    """A graded, solution, task or locked cell of the lesson's source notebook."""

    grade_id: str
    cell_type: str
    source: str
    nbgrader: dict[str, Any] = field(hash=False)

    @property
    def is_test(self) -> bool:
        return bool(self.nbgrader.get("grade")) and not self.nbgrader.get("solution")

    @property
    def is_answer(self) -> bool:
        return bool(self.nbgrader.get("solution")) and not self.nbgrader.get("grade")

    @property
    def restorable(self) -> bool:
        """Cells that carry points (tests, manually graded answers, tasks) are restored."""
        return bool(self.nbgrader.get("grade") or self.nbgrader.get("task"))


def source_cells(db_url: str, notebook_id: str, assignment_id: str) -> list[SourceCell]:
    """The lesson's cells as the gradebook recorded them when the release was generated."""
    with Gradebook(db_url) as gb:
        notebook = gb.find_notebook(notebook_id, assignment_id)
        grades = {c.name: float(c.max_score) for c in notebook.grade_cells}
        tasks = {c.name: float(c.max_score) for c in notebook.task_cells}
        solutions = {c.name for c in notebook.solution_cells}
        cells = []
        for cell in notebook.source_cells:
            meta: dict[str, Any] = {
                "grade": cell.name in grades, "grade_id": cell.name, "locked": bool(cell.locked),
                "schema_version": SCHEMA_VERSION, "solution": cell.name in solutions,
                "task": cell.name in tasks, "cell_type": cell.cell_type,
                "checksum": cell.checksum,
            }
            if cell.name in grades or cell.name in tasks:
                meta["points"] = grades.get(cell.name, tasks.get(cell.name))
            cells.append(SourceCell(cell.name, cell.cell_type, cell.source or "", meta))
    return cells


# ------------------------------------------------------------------- well-formed cells


def _text(value: Any) -> str | None:
    """``value`` as cell text, or ``None`` if it is not text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return None


def _normalize_cell(cell: NotebookNode, label: str, notes: list[str]) -> None:
    """Make one cell well-formed in place (metadata, type, source, outputs)."""
    if not isinstance(cell.get("metadata"), dict):
        if "metadata" in cell:
            notes.append(f"{label}: its metadata was not an object and was cleared")
        cell["metadata"] = NotebookNode()
    meta = cell["metadata"]
    if "nbgrader" in meta and not isinstance(meta["nbgrader"], dict):
        notes.append(f"{label}: its nbgrader metadata was not an object and was removed")
        del meta["nbgrader"]
    if cell.get("cell_type") not in CELL_TYPES:
        kind = "code" if "outputs" in cell else "raw"
        notes.append(f"{label}: unknown cell type {str(cell.get('cell_type'))[:40]!r}; "
                     f"read as a {kind} cell")
        cell["cell_type"] = kind
    source = _text(cell.get("source", ""))
    if source is None:
        notes.append(f"{label}: its source was not text and was emptied")
        source = ""
    cell["source"] = source
    if cell["cell_type"] == "code":
        # Outputs are cleared before grading anyway; malformed ones must not stop it.
        cell["outputs"] = []
        cell["execution_count"] = None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def normalize(nb: NotebookNode) -> list[str]:
    """Make ``nb`` a well-formed notebook in place; return one note per fix."""
    notes: list[str] = []
    if not isinstance(nb.get("metadata"), dict):
        notes.append("the notebook's metadata was not an object and was cleared")
        nb["metadata"] = NotebookNode()
    cells = nb.get("cells")
    if not isinstance(cells, list):
        notes.append("the notebook had no list of cells")
        cells = []
    kept = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            notes.append(f"cell {index + 1} was not an object and was left out")
            continue
        cell = cell if isinstance(cell, NotebookNode) else NotebookNode(cell)
        _normalize_cell(cell, f"cell {index + 1}", notes)
        kept.append(cell)
    nb["cells"] = kept
    _fix_cell_ids(nb)
    return notes


def _fix_cell_ids(nb: NotebookNode) -> None:
    """Give every cell a valid, unique id (nbformat 4.5+) or none (older minor versions)."""
    if int(nb.get("nbformat_minor", 0) or 0) < 5:
        for cell in nb.cells:
            cell.pop("id", None)
        return
    seen: set[str] = set()
    for cell in nb.cells:
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not _CELL_ID.match(cell_id) or cell_id in seen:
            cell_id = uuid.uuid4().hex[:16]
            cell["id"] = cell_id
        seen.add(cell_id)


# ----------------------------------------------------------------------- graded cells


def _strip_nbgrader(cell: NotebookNode) -> None:
    cell.metadata.pop("nbgrader", None)
    for key in ("deletable", "editable"):
        cell.metadata.pop(key, None)


def _set_cell_type(cell: NotebookNode, cell_type: str) -> None:
    if cell.cell_type == cell_type:
        return
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _changed(found: dict, cell_type: str, source: SourceCell) -> bool:
    """Did the submission change how ``source``'s cell is graded?"""
    want = source.nbgrader
    flags = any(bool(found.get(k)) != bool(want.get(k))
                for k in ("grade", "solution", "task", "locked"))
    points = "points" in want and _number(found.get("points")) != float(want["points"])
    schema = found.get("schema_version") != SCHEMA_VERSION
    return flags or points or schema or cell_type != source.cell_type


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _apply_source(cell: NotebookNode, source: SourceCell) -> None:
    """Give ``cell`` the lesson's metadata, and for locked cells the lesson's code."""
    _set_cell_type(cell, source.cell_type)
    cell.metadata["nbgrader"] = NotebookNode(copy.deepcopy(source.nbgrader))
    cell.metadata["deletable"] = False
    if source.nbgrader.get("locked"):
        cell.metadata["editable"] = False
        cell["source"] = source.source
    else:
        cell.metadata.pop("editable", None)


def _new_cell(source: SourceCell, nb: NotebookNode) -> NotebookNode:
    cell = NotebookNode(cell_type=source.cell_type, metadata=NotebookNode(), source="")
    if source.cell_type == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    if int(nb.get("nbformat_minor", 0) or 0) >= 5:
        cell["id"] = uuid.uuid4().hex[:16]
    _apply_source(cell, source)
    return cell


def _grade_id_of(cell: NotebookNode) -> str | None:
    meta = cell.metadata.get("nbgrader")
    if not isinstance(meta, dict):
        return None
    grade_id = meta.get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def _claim_cells(nb: NotebookNode, sources: dict[str, SourceCell]) -> tuple[dict, list[str]]:
    """Give each lesson grade id to its first cell; make other nbgrader cells plain."""
    claimed: dict[str, NotebookNode] = {}
    notes: list[str] = []
    for index, cell in enumerate(nb.cells):
        if "nbgrader" not in cell.metadata:
            continue
        grade_id = _grade_id_of(cell)
        meta = cell.metadata["nbgrader"]
        if grade_id not in sources:
            if grade_id is not None or any(meta.get(k) for k in ("grade", "solution", "task")):
                name = repr(grade_id[:60]) if grade_id else "no grade id"
                notes.append(f"cell {index + 1} ({name}) is not a graded cell of this lesson: "
                             "graded as an ordinary cell")
            _strip_nbgrader(cell)
            continue
        if grade_id in claimed:
            notes.append(f"cell {index + 1} repeats the grade id {grade_id!r} (a copy?): "
                         "it runs as an ordinary cell, the first one keeps the grade id")
            _strip_nbgrader(cell)
            continue
        source = sources[grade_id]
        if _changed(meta, cell.cell_type, source):
            notes.append(f"cell {grade_id!r}: its nbgrader metadata or type had been changed; "
                         "restored from the lesson")
        _apply_source(cell, source)
        claimed[grade_id] = cell
    return claimed, notes


def _insertion_index(nb: NotebookNode, order: list[str], position: int,
                     claimed: dict[str, NotebookNode]) -> int:
    """Where a missing cell goes: after the nearest present cell before it in the source,
    else before the nearest present cell after it, else at the end."""
    for grade_id in reversed(order[:position]):
        if grade_id in claimed:
            return _index_of(nb, claimed[grade_id]) + 1
    for grade_id in order[position + 1:]:
        if grade_id in claimed:
            return _index_of(nb, claimed[grade_id])
    return len(nb.cells)


def _index_of(nb: NotebookNode, cell: NotebookNode) -> int:
    return next(i for i, c in enumerate(nb.cells) if c is cell)


def defined_names(source: str) -> set[str]:
    """Functions and classes a cell's code defines at top level (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def _adopt_answers(nb: NotebookNode, order: list[SourceCell],
                   claimed: dict[str, NotebookNode]) -> list[str]:
    """A missing answer cell's place goes to the last plain cell defining what it should."""
    notes = []
    for source in order:
        wanted = defined_names(source.source)
        if not source.is_answer or source.grade_id in claimed or not wanted:
            continue
        taken = {id(c) for c in claimed.values()}
        candidates = [c for c in nb.cells if c.cell_type == "code" and id(c) not in taken
                      and "nbgrader" not in c.metadata and wanted <= defined_names(c.source)]
        if candidates:
            _apply_source(candidates[-1], source)
            claimed[source.grade_id] = candidates[-1]
            notes.append(f"answer cell {source.grade_id!r} was missing: the cell that defines "
                         f"{', '.join(sorted(wanted))} takes its place")
    return notes


def _restore_missing(nb: NotebookNode, order: list[SourceCell],
                     claimed: dict[str, NotebookNode]) -> list[str]:
    notes = []
    ids = [s.grade_id for s in order]
    for position, source in enumerate(order):
        if source.grade_id in claimed:
            continue
        if not source.restorable:
            if source.is_answer:
                notes.append(f"answer cell {source.grade_id!r} is missing: its exercise is "
                             "graded on whatever the notebook defines")
            continue
        cell = _new_cell(source, nb)
        nb.cells.insert(_insertion_index(nb, ids, position, claimed), cell)
        claimed[source.grade_id] = cell
        notes.append(f"test cell {source.grade_id!r} was missing: restored from the lesson")
    return notes


def _order_tests(nb: NotebookNode, order: list[SourceCell],
                 claimed: dict[str, NotebookNode]) -> list[str]:
    """Move each test cell that precedes its exercise's answer cell right after it."""
    notes = []
    answers = [s.grade_id for s in order if s.is_answer]
    for source in order:
        if not source.is_test:
            continue
        try:
            exercise = exercise_of(source.grade_id, answers)
        except ValueError:
            continue
        if exercise not in claimed:
            continue
        test, answer = claimed[source.grade_id], claimed[exercise]
        if _index_of(nb, test) < _index_of(nb, answer):
            nb.cells.remove(test)
            nb.cells.insert(_index_of(nb, answer) + 1, test)
            notes.append(f"test cell {source.grade_id!r} came before its answer cell: "
                         "moved right after it")
    return notes


def rebuild(nb: NotebookNode, order: list[SourceCell]) -> list[str]:
    """Rebuild ``nb``'s graded cells from the lesson's ``order`` of source cells, in place.

    Returns one note per fix (empty for a notebook whose structure is intact).
    """
    notes = normalize(nb)
    claimed, claim_notes = _claim_cells(nb, {s.grade_id: s for s in order})
    notes += claim_notes
    notes += _adopt_answers(nb, order, claimed)
    notes += _restore_missing(nb, order, claimed)
    notes += _order_tests(nb, order, claimed)
    _fix_cell_ids(nb)
    return notes


class RebuildGradedCells(NbGraderPreprocessor):
    """Rebuild a submission's graded cells from the gradebook before nbgrader sanitizes it.

    Runs first among ``Autograde.sanitize_preprocessors``; see the module's docstring.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict):
        info = resources["nbgrader"]
        order = source_cells(info["db_url"], info["notebook"], info["assignment"])
        for note in rebuild(nb, order):
            annotate(nb, "notes", note)
        return nb, resources


# ------------------------------------------------------------------- reading leniently


def repair_json(raw: Any) -> list[str]:
    """Fix, in the notebook's raw JSON, the shapes that stop ``nbformat`` from reading it.

    ``nbformat.read`` itself fails on a cell whose metadata is not an object. Cells that
    are not objects are left out; metadata that is not an object is cleared. Returns one
    note per fix; :func:`normalize` does the rest once the notebook is read.
    """
    notes: list[str] = []
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", []), list):
        return notes
    if not isinstance(raw.get("metadata", {}), dict):
        notes.append("the notebook's metadata was not an object and was cleared")
        raw["metadata"] = {}
    cells = []
    for index, cell in enumerate(raw.get("cells", [])):
        if not isinstance(cell, dict):
            notes.append(f"cell {index + 1} was not an object and was left out")
            continue
        if not isinstance(cell.get("metadata", {}), dict):
            notes.append(f"cell {index + 1}: its metadata was not an object and was cleared")
            cell["metadata"] = {}
        cells.append(cell)
    if "cells" in raw:
        raw["cells"] = cells
    return notes


class LenientNotebookExporter(NotebookExporter):
    """nbgrader's notebook exporter, reading notebooks whose JSON has broken shapes.

    The fixes are noted in the notebook's grading notes.
    """

    def from_file(self, file_stream, resources=None, **kw):
        text = file_stream.read()
        try:
            raw = json.loads(text)
        except (TypeError, ValueError):
            raw = None
        notes = repair_json(raw)
        if not notes:
            return self.from_notebook_node(nbformat.reads(text, as_version=4),
                                           resources=resources, **kw)
        nb = nbformat.reads(json.dumps(raw), as_version=4)
        for note in notes:
            annotate(nb, "notes", note)
        return self.from_notebook_node(nb, resources=resources, **kw)
