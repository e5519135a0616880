"""The nbgrader configuration of the course, in one place.

``nbgrader_config.py`` at the repository root loads :func:`course_config`, so the
command line ``nbgrader``, the JupyterLab extension and :mod:`autograder` agree.
Each setting below closes a known trap of notebook grading.
"""

from __future__ import annotations

import os
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)
from traitlets.config import Config

from autograder.notebooks import ANNOTATIONS_KEY, CELL_TIMEOUT
from autograder.preprocessors import HideHiddenTests, SafeFeedbackExporter, ScrubHiddenText
from autograder.sandbox import default_hidden_paths
from autograder.structure import LenientNotebookExporter, RebuildGradedCells
from autograder.trusted import TrustedExecute

COURSE_ID = "differentiable-programming"
REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRECTORY = "solutions"
RELEASE_DIRECTORY = "lessons"
#: Where instructors' grading data lives, relative to the course root (never committed).
DATA_DIRECTORY = "course-data"


#: Environment variable holding a SQLAlchemy URL for a shared gradebook (default: SQLite).
GRADEBOOK_ENV = "COURSE_GRADEBOOK_URL"
#: The PostgreSQL driver the course installs (psycopg 3), for URLs that name none.
POSTGRES_DRIVER = "postgresql+psycopg"

#: Seconds a whole submission may run before its remaining cells count as not run.
NOTEBOOK_TIMEOUT = 900

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def gradebook_url(url: str | None, root: Path) -> str:
    """The gradebook's SQLAlchemy URL: ``url``, or SQLite's ``gradebook.db`` in ``root``.

    A PostgreSQL URL that names no driver (``postgresql://`` or ``postgres://``) gets
    psycopg 3, which the course installs; SQLAlchemy's default for it, psycopg2, is not.
    """
    if not url:
        return f"sqlite:///{root / 'gradebook.db'}"
    scheme, separator, rest = url.partition("://")
    if separator and scheme in ("postgresql", "postgres"):
        return f"{POSTGRES_DRIVER}://{rest}"
    return url


def course_config(
    root: Path | str = REPO_ROOT,
    *,
    source_directory: Path | str = SOURCE_DIRECTORY,
    release_directory: Path | str = RELEASE_DIRECTORY,
    db_url: str | None = None,
    cell_timeout: int = CELL_TIMEOUT,
    notebook_timeout: int = NOTEBOOK_TIMEOUT,
) -> Config:
    """nbgrader settings for a course rooted at ``root``.

    Directories may be relative to ``root`` or absolute (nbgrader joins them with
    ``os.path.join``, which keeps an absolute path as it is).
    """
    root = Path(root).resolve()
    data = Path(DATA_DIRECTORY)
    c = Config()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = str(source_directory)
    c.CourseDirectory.release_directory = str(release_directory)
    c.CourseDirectory.submitted_directory = str(data / "submitted")
    c.CourseDirectory.autograded_directory = str(data / "autograded")
    c.CourseDirectory.feedback_directory = str(data / "feedback")
    c.CourseDirectory.db_url = gradebook_url(db_url or os.environ.get(GRADEBOOK_ENV), root)

    # Released stubs: the function's signature and docstring stay, the body raises.
    c.ClearSolutions.code_stub = {"python": CODE_STUB}

    # A cell that hangs is interrupted and counted as failed; the notebook goes on.
    c.Execute.timeout = CELL_TIMEOUT
    c.Execute.interrupt_on_timeout = True
    c.TrustedExecute.timeout = cell_timeout
    c.TrustedExecute.interrupt_on_timeout = True
    c.TrustedExecute.notebook_timeout = notebook_timeout
    # A graded kernel has nothing to save: stop it at once rather than wait for it to
    # shut down cleanly (half a second per notebook).
    c.TrustedExecute.shutdown_kernel = "immediate"

    # nbgrader scores a test cell zero when anything reaches stderr. A warning
    # printed by numpy or by a library is not a failed test: only errors are.
    c.IgnorePattern.pattern = r"[\s\S]*"

    # Honest structural mistakes (a deleted, copied, reordered or re-labelled graded cell,
    # broken metadata) are graded for what is there: the graded cells are rebuilt from
    # the gradebook before nbgrader's own checks, which would stop with a traceback.
    c.Autograde.exporter_class = LenientNotebookExporter
    c.Autograde.sanitize_preprocessors = [
        RebuildGradedCells, ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
        CheckCellMetadata,
    ]

    # Student code runs in a sandboxed kernel that only records its answers; the
    # tests are decided in the grader's own process (autograder/trusted.py).
    c.Autograde.autograde_preprocessors = [
        TrustedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata,
    ]
    c.SandboxKernelManager.hide = default_hidden_paths(
        REPO_ROOT, keep=("course", ".venv", "lessons", "README.md", "pyproject.toml")
    ) + ([str(root)] if root != REPO_ROOT else []) + [str(Path(source_directory).resolve())
                                                      if Path(source_directory).is_absolute()
                                                      else str(root / source_directory)]

    # Grading's notes and review flags (autograder.notebooks.annotate) survive the
    # metadata clean-up that follows execution.
    c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {
        ("language_info", "name"), (ANNOTATIONS_KEY,)}

    # Huge outputs are cut before they reach the gradebook or the feedback.
    c.LimitOutput.max_lines = 500
    c.LimitOutput.max_traceback = 60

    # A deleted test cell is restored from the gradebook and runs; it cannot be
    # dodged by deleting it.
    c.OverwriteCells.add_missing_cells = True

    # Feedback never shows hidden tests: neither their source nor a traceback that
    # quotes them, nor any output that read them back; and it runs no code: outputs are
    # text, sanitized HTML or images, and the page's body is sanitized once rendered.
    c.GenerateFeedback.preprocessors = [GetGrades, ScrubHiddenText, HideHiddenTests,
                                        CSSHTMLHeaderPreprocessor]
    c.GenerateFeedback.exporter_class = SafeFeedbackExporter
    return c
