"""Honest structural mistakes are graded for what is there (autograder/structure.py).

The fast tests rebuild notebooks against the lesson's source cells without a kernel;
the slow ones grade each case of tests/adversarial/structure_cases.py end to end.
"""

from __future__ import annotations

import copy
import json

import nbformat
import pytest
from adversarial.structure_cases import CASES, StructureCase
from conftest import LESSONS, released_notebook, solution_notebook

from autograder import notebooks
from autograder.config import REPO_ROOT
from autograder.structure import SourceCell, rebuild, source_cells

LESSON = "01-derivatives"
EXERCISES = ("mse", "grad_f", "hessian_f", "sigmoid_prime", "relu_prime")
POINTS = {"mse": 1.0, "grad_f": 2.0, "hessian_f": 2.0, "sigmoid_prime": 1.0, "relu_prime": 1.0}


def lesson_sources(*, stubs: bool = False, lesson: str = LESSON) -> list[SourceCell]:
    """A lesson's graded cells as the gradebook records them, read from the solution (or,
    with ``stubs``, answer cells from the release, whose stubs the gradebook records)."""
    release = {c.get("id"): c.source for c in notebooks.read(released_notebook(lesson)).cells}
    sources = []
    for cell in notebooks.read(solution_notebook(lesson)).cells:
        meta = notebooks.nbgrader_meta(cell)
        if "grade_id" in meta:
            meta = dict(meta, cell_type=cell.cell_type, checksum="x")
            text = release[meta["grade_id"]] if stubs and meta["solution"] else cell.source
            sources.append(SourceCell(meta["grade_id"], cell.cell_type, text, meta))
    return sources


def graded(nb) -> list[tuple[str, str]]:
    """(grade_id, kind) of every cell that carries nbgrader metadata, in order."""
    kinds = []
    for cell in nb.cells:
        meta = notebooks.nbgrader_meta(cell)
        if meta:
            kind = "test" if meta["grade"] and not meta["solution"] else "answer"
            kinds.append((meta["grade_id"], kind))
    return kinds


EXPECTED_ORDER = [(e, k) for e in EXERCISES for k in ("answer", "test")]
EXPECTED_ORDER = [(e if k == "answer" else f"{e}_check", k) for e, k in EXPECTED_ORDER]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_rebuild_gives_one_cell_per_grade_id_and_a_note(case: StructureCase):
    nb = notebooks.read(solution_notebook(LESSON))
    case.edit(nb)
    notes = rebuild(nb, lesson_sources())
    assert any(case.note in note for note in notes), notes
    ids = [grade_id for grade_id, _ in graded(nb)]
    assert len(ids) == len(set(ids)), ids
    tests = {s.grade_id: s for s in lesson_sources() if s.is_test}
    for test_id, source in tests.items():
        (test,) = [c for c in nb.cells if notebooks.nbgrader_meta(c).get("grade_id") == test_id]
        assert test.source == source.source and test.cell_type == "code"
        assert notebooks.nbgrader_meta(test)["points"] == source.nbgrader["points"]
    nbformat.validate(nb)


def test_intact_submission_is_left_as_it_is():
    nb = notebooks.read(released_notebook(LESSON))
    before = copy.deepcopy(nb)
    assert rebuild(nb, lesson_sources()) == []
    assert [c.source for c in nb.cells if "_check" not in c.get("id", "")] == [
        c.source for c in before.cells if "_check" not in c.get("id", "")]
    assert graded(nb) == EXPECTED_ORDER


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_intact_gets_no_note_and_stripped_gets_its_answers_back(lesson):
    if not released_notebook(lesson).exists():
        pytest.skip("lesson not released yet")
    sources = lesson_sources(stubs=True, lesson=lesson)
    for intact in (released_notebook(lesson), solution_notebook(lesson)):
        assert rebuild(notebooks.read(intact), sources) == []
    nb = notebooks.read(solution_notebook(lesson))
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    notes = rebuild(nb, sources)
    answers = [s.grade_id for s in sources if s.is_answer]
    assert sum("takes its place" in n for n in notes) == len(answers), notes
    assert [g for g, kind in graded(nb) if kind == "answer"] == answers


def test_pasted_copy_runs_as_plain_code_and_keeps_its_source():
    nb = notebooks.read(solution_notebook(LESSON))
    CASES[2].edit(nb)  # answer-pasted-twice
    rebuild(nb, lesson_sources())
    first, second = (i for i, c in enumerate(nb.cells) if c.source.startswith("def mse("))
    assert notebooks.nbgrader_meta(nb.cells[first])["grade_id"] == "mse"
    assert "nbgrader" not in nb.cells[second].metadata
    assert nb.cells[first].id != nb.cells[second].id
    assert graded(nb) == EXPECTED_ORDER


def test_restored_test_goes_after_the_nearest_graded_cell_before_it():
    nb = notebooks.read(solution_notebook(LESSON))
    del nb.cells[next(i for i, c in enumerate(nb.cells)
                      if notebooks.nbgrader_meta(c).get("grade_id") == "grad_f_check")]
    rebuild(nb, lesson_sources())
    assert graded(nb) == EXPECTED_ORDER
    position = {notebooks.nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells)}
    assert position["grad_f_check"] == position["grad_f"] + 1


def test_reordered_exercises_stay_where_the_student_put_them():
    nb = notebooks.read(solution_notebook(LESSON))
    CASES[10].edit(nb)  # reordered
    rebuild(nb, lesson_sources())
    ids = [g for g, _ in graded(nb)]
    assert ids[:2] == ["relu_prime", "relu_prime_check"]
    assert ids.index("grad_f_check") == ids.index("grad_f") + 1


def test_answer_cells_without_metadata_are_found_by_what_they_define():
    nb = notebooks.read(solution_notebook(LESSON))
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)
    notes = rebuild(nb, lesson_sources(stubs=True))
    assert graded(nb) == EXPECTED_ORDER
    assert "answer cell 'mse' was missing: the cell that defines mse takes its place" in notes
    answer = nb.cells[next(i for i, c in enumerate(nb.cells)
                           if notebooks.nbgrader_meta(c).get("grade_id") == "mse")]
    assert "np.mean" in answer.source  # the student's code, not the stub


def test_a_cell_that_does_not_define_the_answer_is_not_adopted():
    nb = notebooks.read(solution_notebook(LESSON))
    del nb.cells[next(i for i, c in enumerate(nb.cells)
                      if notebooks.nbgrader_meta(c).get("grade_id") == "relu_prime")]
    nb.cells.append(nbformat.v4.new_code_cell("def relu(z):\n    return z\n"))
    notes = rebuild(nb, lesson_sources(stubs=True))
    assert "relu_prime" not in [g for g, _ in graded(nb)]
    assert any("answer cell 'relu_prime' is missing" in n for n in notes)


def test_broken_cells_are_made_well_formed():
    nb = notebooks.read(solution_notebook(LESSON))
    nb.cells[1].source = ["line one\n", "line two"]
    nb.cells[2]["cell_type"] = "weird"
    nb.cells[3].source = 42
    nb.cells.append("not a cell")
    notes = rebuild(nb, lesson_sources())
    assert nb.cells[1].source == "line one\nline two"
    assert any("unknown cell type" in n for n in notes)
    assert any("not text" in n for n in notes)
    assert any("was not an object and was left out" in n for n in notes)
    nbformat.validate(nb)


# --------------------------------------------------------------------- end to end


@pytest.fixture
def course(tmp_path):
    from autograder.grading import Course

    course = Course(tmp_path, source_directory=REPO_ROOT / "solutions",
                    release_directory=tmp_path / "release", cell_timeout=60,
                    notebook_timeout=300)
    course.generate(LESSON)
    return course


def test_gradebook_gives_the_source_cells_in_notebook_order(course):
    recorded = source_cells(course.db_url, solution_notebook(LESSON).stem, LESSON)
    assert [s.grade_id for s in recorded] == [s.grade_id for s in lesson_sources()]
    for got, want in zip(recorded, lesson_sources(), strict=True):
        assert (got.is_test, got.is_answer) == (want.is_test, want.is_answer)
        if got.is_test:  # with its hidden tests; an answer cell is recorded as its stub
            assert got.source == want.source and "BEGIN HIDDEN TESTS" in got.source


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_structural_mistake_is_graded_for_what_is_there(case: StructureCase, course, tmp_path):
    nb = notebooks.read(solution_notebook(LESSON))
    case.edit(nb)
    path = tmp_path / solution_notebook(LESSON).name
    path.write_text(json.dumps(nb))  # as it is: nbformat cannot write broken metadata
    course.submit("sam", LESSON, path)

    course.autograde(LESSON, "sam")

    scores = course.cell_scores(LESSON, "sam")
    assert set(scores) == {f"{e}_check" for e in EXERCISES}
    for exercise in EXERCISES:
        score = scores[f"{exercise}_check"]
        points = POINTS[exercise]
        expected = 0.0 if exercise in case.loses else points
        assert (score.score, score.max_score) == (expected, points), f"{exercise}: {score}"
    graded_nb = notebooks.read(course.autograded / "sam" / LESSON / path.name)
    notes = notebooks.annotations(graded_nb)["notes"]
    assert any(case.note in note for note in notes), notes


def test_notebook_with_broken_json_shapes_is_read_with_notes(tmp_path):
    from autograder.structure import LenientNotebookExporter

    nb = json.loads(json.dumps(notebooks.read(solution_notebook(LESSON))))
    nb["cells"][0]["metadata"] = ["a", "list"]
    nb["cells"][1]["metadata"] = "text"
    nb["cells"].append(7)
    path = tmp_path / "broken.ipynb"
    path.write_text(json.dumps(nb))
    with pytest.raises((AttributeError, TypeError)):
        nbformat.read(str(path), as_version=4)  # what nbgrader's own reader does
    read, _ = LenientNotebookExporter().from_filename(str(path))
    notes = json.loads(read)["metadata"]["autograder"]["notes"]
    assert "cell 1: its metadata was not an object and was cleared" in notes
    assert f"cell {len(nb['cells'])} was not an object and was left out" in notes
