"""Make ``lessons/`` from ``solutions/`` with nbgrader, and check that it is current."""

from __future__ import annotations

import filecmp
import tempfile
from pathlib import Path

from nbgrader.apps import NbGraderAPI

from autograder.config import RELEASE_DIRECTORY, REPO_ROOT, course_config
from autograder.lessons import lesson_ids


class ReleaseError(RuntimeError):
    """nbgrader could not generate an assignment."""


def generate(assignments: list[str], *, root: Path = REPO_ROOT,
             release_directory: Path | str = RELEASE_DIRECTORY) -> None:
    """Run ``nbgrader generate_assignment`` for each assignment into ``release_directory``.

    The release does not need the course gradebook (grading registers the
    assignment itself), so a throw-away one is used: releasing never touches grades.
    """
    with tempfile.TemporaryDirectory(prefix="release-") as scratch:
        db_url = f"sqlite:///{Path(scratch) / 'gradebook.db'}"
        api = NbGraderAPI(config=course_config(root, release_directory=release_directory,
                                               db_url=db_url))
        for assignment in assignments:
            result = api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise ReleaseError(
                    f"{assignment}: {result.get('error', '')}\n{result.get('log', '')}"
                )


def differences(expected: Path, actual: Path) -> list[str]:
    """Files that differ, are missing or are extra in ``actual`` compared with ``expected``."""
    problems: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        problems.extend(f"missing: {prefix}{name}" for name in sorted(cmp.left_only))
        problems.extend(f"extra: {prefix}{name}" for name in sorted(cmp.right_only))
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        problems.extend(f"differs: {prefix}{name}" for name in sorted(mismatch + errors))
        for name, sub in sorted(cmp.subdirs.items()):
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(expected, actual, ignore=[".ipynb_checkpoints", "__pycache__"]), "")
    return problems


def check_release(root: Path = REPO_ROOT) -> list[str]:
    """Regenerate every lesson in a scratch folder and compare with the committed ``lessons/``."""
    with tempfile.TemporaryDirectory(prefix="release-check-") as scratch:
        fresh = Path(scratch) / "lessons"
        generate(lesson_ids(root), root=root, release_directory=fresh)
        return differences(fresh, root / RELEASE_DIRECTORY)
