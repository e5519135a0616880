"""Every lesson follows the one naming rule of :mod:`autograder.lessons`: one solution
notebook and its release, grade ids in the curriculum contract's form, an importable
checker and a bank of mutants."""

from __future__ import annotations

import importlib
import importlib.util

import pytest

from autograder import notebooks
from autograder.lessons import EXERCISE_PATTERN, Lesson, all_lessons, layout, lesson

LESSONS = all_lessons()


def test_there_are_lessons_numbered_one_after_another():
    assert [found.number for found in LESSONS] == list(range(1, len(LESSONS) + 1))


@pytest.mark.parametrize("found", LESSONS, ids=lambda found: found.id)
def test_folder_holds_exactly_one_solution_and_one_release(found: Lesson):
    assert sorted(found.solution.parent.glob("*.ipynb")) == [found.solution]
    assert sorted(found.release.parent.glob("*.ipynb")) == [found.release]


@pytest.mark.parametrize("found", LESSONS, ids=lambda found: found.id)
def test_grade_ids_have_the_contract_form(found: Lesson):
    graded = found.graded
    assert graded.answers, "no answer cell"
    assert len(set(graded.answers)) == len(graded.answers), "an answer id repeats"
    for exercise in graded.answers:
        assert EXERCISE_PATTERN.fullmatch(exercise), exercise
    tests = [c.grade_id for c in graded.cells if c.kind == "tests"]
    assert len(set(tests)) == len(tests), "a test cell id repeats"
    for exercise in graded.exercises:
        assert exercise.tests, f"{exercise.id} has no test cell"
        assert exercise.points >= 0, f"{exercise.id} has negative points"
        for test_id in exercise.tests:
            assert test_id == exercise.id or test_id.startswith(exercise.id + "_"), test_id
    assert sum(exercise.points for exercise in graded.exercises) > 0, "the lesson is worth nothing"


@pytest.mark.parametrize("found", LESSONS, ids=lambda found: found.id)
def test_release_keeps_the_solutions_graded_cells(found: Lesson):
    released = layout(notebooks.read(found.release))
    assert [(c.grade_id, c.kind, c.points) for c in released.cells] == [
        (c.grade_id, c.kind, c.points) for c in found.graded.cells]


@pytest.mark.parametrize("found", LESSONS, ids=lambda found: found.id)
def test_checker_module_imports(found: Lesson):
    assert importlib.import_module(found.checker).__name__ == found.checker


@pytest.mark.parametrize("found", LESSONS, ids=lambda found: found.id)
def test_bank_is_present_and_names_its_lesson(found: Lesson):
    assert importlib.util.find_spec(found.bank) is not None, f"no {found.bank}"
    assert found.id == importlib.import_module(found.bank).LESSON


def test_a_lesson_is_found_by_id_number_or_name():
    forward = lesson("04-forward-mode")
    assert lesson(4) is lesson("04") is lesson("forward_mode") is forward
    with pytest.raises(KeyError, match="known: 01-derivatives"):
        lesson("forward-mode-2")


def test_a_folder_name_outside_the_rule_is_refused(tmp_path):
    for bad in ("4-forward-mode", "04_forward_mode", "04-Forward", "forward-mode"):
        with pytest.raises(ValueError, match="not a lesson id"):
            Lesson.from_id(bad, tmp_path)


def test_another_checkout_gets_its_own_paths(tmp_path):
    (tmp_path / "solutions" / "02-numeric").mkdir(parents=True)
    (tmp_path / "solutions" / "02-numeric" / "numeric.ipynb").write_text("{}")
    (found,) = all_lessons(tmp_path)
    assert found.solution == tmp_path.resolve() / "solutions" / "02-numeric" / "numeric.ipynb"
    assert found.source_in(tmp_path / "copy") == tmp_path / "copy" / "02-numeric" / "numeric.ipynb"


def test_the_command_line_takes_ids_numbers_and_names():
    from autograder import cli

    assert cli._lessons(["4", "numeric", "11-custom-rules"]) == [
        "04-forward-mode", "02-numeric", "11-custom-rules"]
    assert cli._lessons([]) == [found.id for found in LESSONS]
    with pytest.raises(SystemExit, match=r"unknown lesson\(s\): 99; known: 01-derivatives"):
        cli._lessons(["99"])
