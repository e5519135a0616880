"""Honest structural mistakes in a lesson-01 submission, each with the score it must get.

Each case edits the solution notebook (five exercises, all right, one point each) the
way a student or a tool might, and states the exercises that must score zero and a
piece of the note grading must leave for the instructor. Everything else keeps its
points: a structural mistake is graded for what is there, never "not graded".
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from nbformat.v4 import new_code_cell, new_markdown_cell

from autograder import notebooks

STUB = "def {name}(*args, **kwargs):\n    raise NotImplementedError()\n"


@dataclass(frozen=True)
class StructureCase:
    name: str
    edit: Callable  # (notebook) -> None
    loses: tuple[str, ...]
    note: str  # a piece of one of the grading notes
    description: str


def index_of(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells)
                if notebooks.nbgrader_meta(c).get("grade_id") == grade_id)


def cell(nb, grade_id: str):
    return nb.cells[index_of(nb, grade_id)]


def delete(*grade_ids: str):
    def edit(nb):
        for grade_id in grade_ids:
            del nb.cells[index_of(nb, grade_id)]
    return edit


def paste_copy(grade_id: str, *, at: int | None = None, source: str | None = None):
    """Paste a copy of a cell (same metadata and cell id) right after it, or at ``at``."""
    def edit(nb):
        pasted = copy.deepcopy(cell(nb, grade_id))
        if source is not None:
            pasted.source = source
        nb.cells.insert(index_of(nb, grade_id) + 1 if at is None else at, pasted)
    return edit


def break_answer_fix_in_copy(nb) -> None:
    """The answer cell keeps a wrong body; a pasted copy below it fixes it."""
    right = copy.deepcopy(cell(nb, "mse"))
    cell(nb, "mse").source = "def mse(actual, guess):\n    return 0.0\n"
    nb.cells.insert(index_of(nb, "mse") + 1, right)


def new_grade_id(nb) -> None:
    extra = new_code_cell("print('my own test')")
    extra.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "locked": False,
                                  "points": 5, "schema_version": 3, "solution": False,
                                  "task": False}
    nb.cells.append(extra)


def claim_test_id_early(nb) -> None:
    """A cell at the top of the notebook carries relu_prime_check's metadata."""
    early = new_code_cell("print('all good')")
    early.metadata = copy.deepcopy(cell(nb, "relu_prime_check").metadata)
    nb.cells.insert(0, early)


def test_marked_solution(nb) -> None:
    """sigmoid_prime is wrong; its test cell is marked as an answer and emptied."""
    cell(nb, "sigmoid_prime").source = STUB.format(name="sigmoid_prime")
    test = cell(nb, "sigmoid_prime_check")
    test.metadata["nbgrader"].update(solution=True, grade=False, locked=False)
    test.source = "print('passed')"


def metadata_not_dict(nb) -> None:
    cell(nb, "hessian_f_check").metadata = "tampered"
    cell(nb, "grad_f").metadata["nbgrader"] = ["broken"]
    nb.cells[0].metadata = ["not", "a", "dict"]


def no_schema_version(nb) -> None:
    for c in nb.cells:
        notebooks.nbgrader_meta(c).pop("schema_version", None)


def reorder(nb) -> None:
    """relu_prime's exercise goes right after the imports; grad_f's test above its answer."""
    imports = next(i for i, c in enumerate(nb.cells) if "import numpy" in c.source)
    for grade_id in ("relu_prime_check", "relu_prime"):
        nb.cells.insert(imports + 1, nb.cells.pop(index_of(nb, grade_id)))
    test = nb.cells.pop(index_of(nb, "grad_f_check"))
    nb.cells.insert(index_of(nb, "grad_f"), test)


def no_nbgrader_metadata(nb) -> None:
    """Everything pasted into a fresh notebook: no cell is marked for grading."""
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)


def answer_as_markdown(nb) -> None:
    answer = cell(nb, "hessian_f")
    answer.cell_type = "markdown"
    del answer["outputs"], answer["execution_count"]
    nb.cells.insert(index_of(nb, "hessian_f"), new_markdown_cell("My hessian:"))
    nb.cells.insert(index_of(nb, "hessian_f_check"),
                    new_code_cell(cell(nb, "hessian_f").source))


def inflate_points(nb) -> None:
    cell(nb, "mse_check").metadata["nbgrader"]["points"] = 100
    cell(nb, "mse").metadata["nbgrader"].update(grade=True, points=50)


CASES = [
    StructureCase("answer-and-test-deleted", delete("grad_f_check", "grad_f"), ("grad_f",),
                  "'grad_f_check' was missing", "deletes grad_f's answer cell and its test"),
    StructureCase("test-deleted", delete("hessian_f_check"), (),
                  "'hessian_f_check' was missing", "deletes a test cell; it is restored"),
    StructureCase("answer-pasted-twice", paste_copy("mse"), (), "repeats the grade id 'mse'",
                  "a copy of an answer cell (same metadata, same cell id) right below it"),
    StructureCase("fixed-in-copy", break_answer_fix_in_copy, (), "repeats the grade id 'mse'",
                  "a wrong answer cell followed by a pasted, corrected copy: the copy counts"),
    StructureCase("test-pasted-twice", paste_copy("grad_f_check", at=0), (),
                  "repeats the grade id 'grad_f_check'",
                  "a copy of a test cell at the top of the notebook"),
    StructureCase("new-grade-id", new_grade_id, (), "('bonus') is not a graded cell",
                  "a cell with a grade id of the student's own, worth 5 points"),
    StructureCase("test-id-claimed-early", claim_test_id_early, (),
                  "repeats the grade id 'relu_prime_check'",
                  "a cell with a test cell's metadata above everything"),
    StructureCase("test-marked-solution", test_marked_solution, ("sigmoid_prime",),
                  "'sigmoid_prime_check': its nbgrader metadata",
                  "a wrong answer whose test cell was turned into an answer cell and emptied"),
    StructureCase("metadata-not-dict", metadata_not_dict, (), "was not an object",
                  "metadata that is a list or a string, nbgrader metadata that is a list"),
    StructureCase("no-schema-version", no_schema_version, (), "restored from the lesson",
                  "nbgrader metadata without schema_version"),
    StructureCase("reordered", reorder, (), "'grad_f_check' came before its answer cell",
                  "an exercise moved to the top, a test cell moved above its answer"),
    StructureCase("no-nbgrader-metadata", no_nbgrader_metadata, (),
                  "'mse_check' was missing", "every cell pasted into a fresh notebook"),
    StructureCase("answer-as-markdown", answer_as_markdown, (),
                  "'hessian_f': its nbgrader metadata or type",
                  "the answer cell turned into markdown, the code moved to a new cell"),
    StructureCase("points-inflated", inflate_points, (), "'mse_check': its nbgrader metadata",
                  "a test cell worth 100 points, an answer cell made a 50-point test"),
]
