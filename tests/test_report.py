"""The instructor's report: what a graded class got wrong in a lesson.

A small class of lesson 01 is graded once, through the real class run (canaries, sandbox,
gradebook, state file, grades CSV): the solution, the untouched release, and two
solutions with known mistakes put into their answer cells. The report's counts, pass
rates and mistake keys are then checked exactly, and a student's hostile exception
message must reach the page escaped.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from adversarial.edits import combine, replace_answer
from conftest import released_notebook, solution_notebook
from nbgrader.api import Gradebook

from autograder import classgrade, cli, intake, notebooks, report, report_html
from autograder.config import COURSE_ID, REPO_ROOT, SOURCE_DIRECTORY
from autograder.grading import Course
from course.checking import CheckFailed, Mistake, expect_close, mistake_key, named_mistake

LESSON = "01-derivatives"
HOSTILE = "<script>alert('report')</script>"

SUMMED_MSE = replace_answer("mse", (
    "def mse(actual, guess):\n"
    "    return float(np.sum((np.asarray(actual) - np.asarray(guess)) ** 2))\n"))
#: Every mistake key of lesson 01's checkers that this class makes.
SUMMED = mistake_key("you summed the squared differences; MSE takes their mean (divide by n).")
SWAPPED = mistake_key("the two partial derivatives are swapped: return (df/dx, df/dy).")
AT_ZERO = mistake_key("at z == 0 the course's convention is relu'(0) = 0: use `z > 0`, "
                      "not `z >= 0`.")

#: The mse sum, grad_f's partial derivatives swapped.
SUMMER = combine(SUMMED_MSE, replace_answer("grad_f", (
    "def grad_f(x, y):\n"
    "    return (x**2 + 1, 2 * x * y)\n")))
#: The mse sum, grad_f returning one number (a failure without a named mistake), a right
#: hessian_f that inspects frames (flagged for review), a sigmoid_prime that raises with
#: HTML in its message, relu'(0) = 1.
HOSTILE_EDITS = combine(SUMMED_MSE, replace_answer("grad_f", (
    "def grad_f(x, y):\n"
    "    return 2 * x * y\n")), replace_answer("hessian_f", (
    "import sys\n"
    "def hessian_f(x, y):\n"
    "    sys._getframe(0)\n"
    "    return np.array([[2.0 * y, 2.0 * x], [2.0 * x, 0.0]])\n")), replace_answer(
    "sigmoid_prime", (
        "def sigmoid_prime(z):\n"
        f"    raise ValueError({HOSTILE!r})\n")), replace_answer("relu_prime", (
    "def relu_prime(z):\n"
    "    return (np.asarray(z) >= 0).astype(float)\n")))


# ----------------------------------------------------------------- keys at the source


def test_a_named_mistake_ends_its_message_with_a_stable_key():
    with pytest.raises(CheckFailed) as info:
        expect_close(3.0, 1.0, what="f(x)", mistakes=[
            Mistake("you tripled it.", 3.0), Mistake("sign flip", -1.0)])
    message = str(info.value)
    assert message.splitlines()[-2:] == ["  likely mistake: you tripled it.",
                                         "  mistake key: you-tripled-it-2e7d"]
    assert named_mistake(message) == "you-tripled-it-2e7d" == report.failure_key(message)
    with pytest.raises(CheckFailed) as info:
        expect_close(3.0, 1.0, what="f(x)", mistakes=[Mistake("any words", 3.0, name="tripled")])
    assert named_mistake(str(info.value)) == "tripled"


def test_keys_ignore_numbers_but_tell_look_alikes_apart():
    assert SUMMED == "you-summed-the-squared-differences-mse-8e70"
    assert mistake_key("take num_steps = 50 steps") == mistake_key("take num_steps = 7 steps")
    assert mistake_key("its first one is not the largest") != mistake_key(
        "its last one is not the largest")
    assert mistake_key("1/2") == mistake_key("") == "mistake-8f38"


def test_failures_without_a_key_are_keyed_by_their_likely_mistake_or_other():
    assert report.failure_key("wrong.\n  likely mistake: you tripled it.") == (
        "you-tripled-it-2e7d")
    assert report.failure_key("grad_f(3.0, 4.0) returned 24.0; return a pair") == report.OTHER
    # A key line must be a whole line of the expected form: quoted text does not count.
    assert report.failure_key("x raised ValueError: mistake key: <b>evil</b>") == report.OTHER


# ---------------------------------------------------------------------- a graded class


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """Lesson 01 graded for five students (one an empty file); a manual grade given."""
    root = tmp_path_factory.mktemp("report")
    course = Course(root / "course", source_directory=REPO_ROOT / SOURCE_DIRECTORY,
                    release_directory=root / "course" / "release")
    uploads = root / "uploads"
    for student, edit in (("ada", None), ("bob", SUMMER), ("eve", HOSTILE_EDITS)):
        nb = notebooks.read(solution_notebook(LESSON))
        if edit is not None:
            edit(nb)
        (uploads / student).mkdir(parents=True)
        nbformat.write(nb, str(uploads / student / "derivatives.ipynb"))
    (uploads / "rel").mkdir()
    (uploads / "rel" / "derivatives.ipynb").write_bytes(released_notebook(LESSON).read_bytes())
    (uploads / "nul").mkdir()
    (uploads / "nul" / "derivatives.ipynb").write_bytes(b"")
    found = intake.collect(uploads, classgrade.lesson_grade_ids(course, [LESSON]))
    results = classgrade.ClassRun(course, workers=2).run(found, progress=lambda m: None)
    assert sorted(r.student for r in results if r.problem is None) == ["ada", "bob", "eve",
                                                                       "rel"]
    grades = root / "grades.csv"
    course.export_csv(grades, problems=[r for r in results if r.problem is not None],
                      current={(r.student, r.lesson) for r in results if r.problem is None})
    with Gradebook(course.db_url, COURSE_ID) as gb:  # half of grad_f for bob, by hand
        gb.find_grade("grad_f_check", "derivatives", LESSON, "bob").manual_score = 1.0
        gb.db.commit()
    return course, grades


@pytest.fixture(scope="module")
def data(graded_class):
    course, grades = graded_class
    return report.collect(course, LESSON, grades)


@pytest.mark.slow
def test_scores_and_counts_come_from_the_gradebook_and_the_run(data):
    assert {s.student: s.total for s in data.scores} == {"ada": 7.0, "bob": 5.0, "eve": 2.0,
                                                         "rel": 0.0}
    assert data.summary() == {"graded": 4, "not_graded": 1, "flagged": 1, "mean": 3.5,
                              "median": 3.5, "max_total": 7.0}
    (empty,) = data.ungraded
    assert empty.student == "nul" and "empty" in empty.reason and empty.stored is None
    assert list(data.review) == ["eve"]
    assert "frame inspection" in data.review["eve"][0]


@pytest.mark.slow
def test_pass_rates_count_full_partial_and_zero_per_exercise(data):
    rates = {r.exercise: (r.points, r.full, r.partial, r.zero) for r in report.pass_rates(data)}
    assert rates == {"mse": (1, 1, 0, 3), "grad_f": (2, 1, 1, 2), "hessian_f": (2, 3, 0, 1),
                     "sigmoid_prime": (1, 2, 0, 2), "relu_prime": (1, 2, 0, 2)}


@pytest.mark.slow
def test_mistakes_are_counted_by_the_checkers_keys(data):
    found = {exercise: [(m.key, m.students) for m in rows]
             for exercise, rows in report.top_mistakes(data).items()}
    assert found == {
        "mse": [(SUMMED, 2), ("not-implemented", 1)],
        "grad_f": [("not-implemented", 1), (SWAPPED, 1), (report.OTHER, 1)],
        "hessian_f": [("not-implemented", 1)],
        "sigmoid_prime": [("not-implemented", 1), ("raised-valueerror", 1)],
        "relu_prime": [(AT_ZERO, 1), ("not-implemented", 1)],
    }
    rows = report.top_mistakes(data)
    summed = rows["mse"][0]
    assert summed.example.startswith("mse(actual, guess) is wrong.")
    assert "likely mistake: you summed the squared differences" in summed.example
    other = rows["grad_f"][-1]
    assert other.first_lines == (("grad_f(3.0, 4.0) returned 24.0; return a pair (df/dx, "
                                  "df/dy).", 1),)


@pytest.mark.slow
def test_the_page_shows_every_section_and_escapes_student_text(data, graded_class, tmp_path,
                                                               monkeypatch):
    course, grades = graded_class
    monkeypatch.setattr("autograder.grading.Course", lambda: course)
    target = tmp_path / "report.html"
    assert cli.main(["report", "1", "--to", str(target), "--grades", str(grades)]) == 0
    page = target.read_text(encoding="utf-8")
    for heading in report_html.HEADINGS:
        assert f">{heading}</h2>" in page
    assert page.count("<svg") == 2 and "<img" not in page
    assert not re.search(r"<script|<link|<iframe|@import|url\((?!#)", page, re.IGNORECASE)
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page, re.IGNORECASE)
    assert references and all(ref.startswith("#") for ref in references)
    assert "&lt;script&gt;alert(&#x27;report&#x27;)&lt;/script&gt;" in page
    for shown in (SUMMED, SWAPPED, AT_ZERO, "nul", "eve", "frame inspection",
                  '<dd data-stat="median">3.5</dd>', '<dd data-stat="not graded">1</dd>'):
        assert shown in page
    assert Path(course.root).exists()  # the report read the course and changed nothing


def test_a_lesson_nobody_was_graded_in_still_makes_a_page(scratch_course, tmp_path):
    """Without grades the page says so; files not graded come from the grades CSV (its
    formula escaping undone, rows of no lesson included) and from course-data/submitted."""
    grades = tmp_path / "grades.csv"
    grades.write_text("lesson,student,score,max_score,needs_manual_grade,review,notes,problem\n"
                      f"{LESSON},1003,0,,False,,,the file is empty\n"
                      "?,1004,0,,False,,,'=not a notebook\n"
                      "02-numeric,1005,0,,False,,,the file is empty\n", encoding="utf-8")
    (scratch_course.submitted / "1006" / LESSON).mkdir(parents=True)
    data = report.collect(scratch_course, LESSON, grades)
    assert data.scores == [] and data.failures == []
    assert [(n.student, n.reason) for n in data.not_graded] == [
        ("1003", "the file is empty"), ("1004", "=not a notebook (lesson not recognised)"),
        ("1006", "submitted (course-data/submitted) but no grade in the gradebook: not graded "
                 "yet, or see the grading run's output")]
    assert data.summary()["not_graded"] == 3 and data.summary()["mean"] is None
    page = report_html.render(data)
    assert page.count("<svg") == 2 and "<!-- no graded submission -->" in page  # as paths
    assert '<dd data-stat="graded">0</dd>' in page and "No failed test cell." in page


def test_reasons_for_files_not_graded_come_from_the_run_without_a_grades_csv(
        scratch_course, monkeypatch):
    """A file that reached grading and failed there is listed with its reason from the
    class run's state; for a student graded earlier it is a review line instead."""
    from autograder.run_state import RunState

    state = RunState(scratch_course.root / "course-data" / "grading-state.json")
    state.record(f"1007/{LESSON}", {"not_graded": "the grading worker died"})
    state.record(f"1008/{LESSON}", {"digest": "0" * 64, "notes": [], "review": [],
                                    "not_graded": "the kernel did not start"})
    state.record("1009/02-numeric", {"not_graded": "another lesson's"})
    state.compact()
    monkeypatch.setattr(report, "_gradebook_scores", lambda course, lesson, lesson_layout: [
        report.StudentScore("1008", 5.0, 7.0, {})])
    data = report.collect(scratch_course, LESSON)
    assert [(n.student, n.reason) for n in data.not_graded] == [
        ("1007", "the grading worker died")]
    assert data.review["1008"] == [
        "latest file not graded: the kernel did not start (the score is an earlier file's)"]
