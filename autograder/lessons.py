"""What a lesson is, worked out once: its id, notebooks, graded cells, checker and bank.

The naming rule. A lesson lives in the folder ``NN-slug`` (two digits, then lowercase
words joined by hyphens, e.g. ``04-forward-mode``); that folder name is the lesson's id
and its nbgrader assignment id. Everything else follows from it:

* ``number``: ``NN`` as an integer (4);
* ``name``: the slug with underscores (``forward_mode``);
* the solution notebook ``solutions/<id>/<name>.ipynb`` and its release
  ``lessons/<id>/<name>.ipynb``;
* the checker module ``course.checks.<name>``;
* the bank of mutants and alternatives ``autograder.mutants.lesson_NN``.

A lesson's graded cells follow the curriculum contract: an answer cell's grade id is
the exercise id, and each test cell's grade id is the exercise id or starts with it and
``_`` (``dual_ops_check``, ``dual_ops_hidden``); a test cell belongs to the exercise with
the longest such id.

>>> forward = lesson("04-forward-mode")
>>> forward.number, forward.name, forward.checker, forward.bank
(4, 'forward_mode', 'course.checks.forward_mode', 'autograder.mutants.lesson_04')
>>> lesson(4) == lesson("forward_mode") == forward
True
>>> forward.solution.relative_to(REPO_ROOT).as_posix()
'solutions/04-forward-mode/forward_mode.ipynb'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from nbformat import NotebookNode

from autograder import notebooks
from autograder.config import RELEASE_DIRECTORY, REPO_ROOT, SOURCE_DIRECTORY
from autograder.notebooks import GradedCell

#: A lesson folder's name: two digits, a hyphen, lowercase words joined by hyphens.
ID_PATTERN = re.compile(r"(?P<number>\d\d)-(?P<slug>[a-z][a-z0-9]*(?:-[a-z0-9]+)*)")
#: An exercise id of the contract (``dual_ops``): what every answer cell's grade id is.
EXERCISE_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


@dataclass(frozen=True)
class Exercise:
    """One graded exercise: its answer cell and the test cells that grade it."""

    id: str  # the answer cell's grade id
    tests: tuple[str, ...]  # grade ids of its test cells, in notebook order
    points: float  # the sum of its test cells' points


@dataclass(frozen=True)
class Layout:
    """The graded cells of a lesson notebook, in order, and the exercise of each."""

    cells: tuple[GradedCell, ...]

    @property
    def answers(self) -> tuple[str, ...]:
        """Grade ids of the answer cells: the lesson's exercise ids, in order."""
        return tuple(c.grade_id for c in self.cells if c.kind == "answer")

    def exercise_of(self, test_id: str) -> str:
        """The exercise a test cell belongs to (``ValueError`` when it has none)."""
        return notebooks.exercise_of(test_id, list(self.answers))

    def answer(self, exercise: str) -> GradedCell:
        """The answer cell of ``exercise`` (``KeyError`` when there is none)."""
        for cell in self.cells:
            if cell.kind == "answer" and cell.grade_id == exercise:
                return cell
        raise KeyError(f"no answer cell {exercise!r}")

    def tests_of(self, exercise: str) -> tuple[GradedCell, ...]:
        """The test cells of ``exercise``, in notebook order."""
        return tuple(c for c in self.cells
                     if c.kind == "tests" and self.exercise_of(c.grade_id) == exercise)

    @property
    def exercises(self) -> tuple[Exercise, ...]:
        """Every exercise with its test cells and points, in the order of the answers."""
        return tuple(Exercise(answer, tuple(c.grade_id for c in self.tests_of(answer)),
                              sum(c.points for c in self.tests_of(answer)))
                     for answer in self.answers)

    @property
    def grade_ids(self) -> frozenset[str]:
        """Every graded cell's id (answers and tests)."""
        return frozenset(c.grade_id for c in self.cells)


def layout(nb: NotebookNode) -> Layout:
    """The graded cells of ``nb`` (a solution, a release or a submission)."""
    return Layout(tuple(notebooks.graded_cells(nb)))


@dataclass(frozen=True)
class Lesson:
    """One lesson, every name of it derived by the module's naming rule."""

    id: str  # "04-forward-mode": the folder and nbgrader assignment id
    number: int  # 4
    name: str  # "forward_mode": the notebook's stem and the checker module's last part
    solution: Path  # the instructor's source notebook, with solutions and hidden tests
    release: Path  # the student's notebook generated from it
    checker: str  # "course.checks.forward_mode"
    bank: str  # "autograder.mutants.lesson_04"

    @classmethod
    def from_id(cls, lesson_id: str, root: Path = REPO_ROOT) -> Lesson:
        """The lesson whose folder is ``lesson_id``, in the checkout at ``root``."""
        match = ID_PATTERN.fullmatch(lesson_id)
        if match is None:
            raise ValueError(f"{lesson_id!r} is not a lesson id: the rule is two digits, a "
                             "hyphen and lowercase words joined by hyphens (04-forward-mode)")
        number, name = int(match["number"]), match["slug"].replace("-", "_")
        notebook = f"{name}.ipynb"
        return cls(lesson_id, number, name,
                   Path(root) / SOURCE_DIRECTORY / lesson_id / notebook,
                   Path(root) / RELEASE_DIRECTORY / lesson_id / notebook,
                   f"course.checks.{name}", f"autograder.mutants.lesson_{number:02d}")

    @property
    def notebook(self) -> str:
        """The notebook's file name, the same in ``solutions/``, ``lessons/`` and a submission."""
        return self.solution.name

    def source_in(self, folder: Path | str) -> Path:
        """The lesson's notebook in another course's source folder (a copy of ``solutions/``)."""
        return Path(folder) / self.id / self.notebook

    @cached_property
    def graded(self) -> Layout:
        """The graded cells of the solution notebook (read once, when first asked)."""
        return layout(notebooks.read(self.solution))


@cache
def _lessons(root: Path) -> tuple[Lesson, ...]:
    source = root / SOURCE_DIRECTORY
    folders = sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
    return tuple(Lesson.from_id(folder, root) for folder in folders)


def all_lessons(root: Path = REPO_ROOT) -> tuple[Lesson, ...]:
    """Every lesson folder under ``solutions/`` that holds a notebook, in order.

    A folder there whose name breaks the naming rule is an error, not skipped.
    """
    return _lessons(Path(root).resolve())


def lesson(key: str | int, root: Path = REPO_ROOT) -> Lesson:
    """The lesson named by its id (``"04-forward-mode"``), number (``4``, ``"04"``) or
    name (``"forward_mode"``); ``KeyError`` naming the known ids otherwise."""
    for candidate in all_lessons(root):
        if key in (candidate.id, candidate.name) or (
                str(key).isdigit() and int(key) == candidate.number):
            return candidate
    known = ", ".join(candidate.id for candidate in all_lessons(root))
    raise KeyError(f"unknown lesson {key!r}; known: {known}")


def lesson_ids(root: Path = REPO_ROOT) -> list[str]:
    """The ids of :func:`all_lessons`."""
    return [candidate.id for candidate in all_lessons(root)]

