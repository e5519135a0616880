"""Execute a submission in its kernel, decide its tests in the grader.

:class:`TrustedExecute` replaces nbgrader's ``Execute`` preprocessor:

1. the notebook runs in a sandboxed kernel (:mod:`autograder.kernel_session`) whose
   checkers *record* every answer the student's code gives (:mod:`course.recording`);
   the grader notes where in the log each test cell's answers are, and reads them
   only through its own file descriptor;
2. a crash (``os._exit``, segfault, memory limit), a hang, a kernel that ignores
   interrupts or one that keeps too much memory costs only the cell it happened in:
   the kernel is restarted, the cells before are replayed to rebuild the student's
   definitions, and execution goes on;
3. each test cell is then run again *in the grader's process* with its answers
   replayed from the log (:func:`replay_test_cell`). The kernel's own outputs for
   test cells are discarded: whatever the submission patched or printed there, the
   score comes from the oracle comparison done here;
4. an exercise to be done by hand whose answer cell hands the work to a library (jax,
   sympy, optax, ...) fails with a message saying why (:func:`fail_shortcuts`).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import os
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, Type, Unicode

from autograder import demo_cells, timings
from autograder.kernel_session import (
    RECORD_FILE,
    KernelLost,
    KernelSession,
    Settings,
    error_output,
    run_notebook,
)
from autograder.notebooks import annotate, exercise_of, nbgrader_meta
from autograder.sandbox import SandboxKernelManager
from course import recording, shortcuts
from course.protocol import Entry

__all__ = ["RECORD_FILE", "KernelNotStarted", "TrustedExecute", "fail_shortcuts",
           "replay_test_cell"]
_MAX_MESSAGE = 2_000


def _is_test_cell(cell: NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


_error_output = error_output


class KernelNotStarted(RuntimeError):
    """The submission's kernel did not start, or could not be started again after a cell
    lost it: a fault of the grading machine (overloaded, out of sandbox users, ...), not
    of the submission, which has no part in a start (each gets a fresh folder, and the
    last kernel's processes are gone). It is not graded, so no score of zero is stored for
    it, and the next run grades it again."""


def _free_names(source: str) -> set[str]:
    """Names a cell reads without defining them: the student's functions and classes."""
    tree = ast.parse(source)
    bound: set[str] = set()
    loaded: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return loaded - bound - set(dir(builtins))


def replay_test_cell(source: str, entries: list[dict], *, grade_id: str) -> list[NotebookNode]:
    """Run a test cell in this (trusted) process, answering every student call from ``entries``.

    Returns the outputs the cell should show: the checkers' printed lines, or an
    error whose message is the checker's teaching message.
    """
    namespace = {name: recording.Inert(name) for name in _free_names(source)}
    namespace["__name__"] = f"replay_{grade_id}"
    printed = io.StringIO()
    try:
        code = compile(source, f"<test cell {grade_id}>", "exec")
        with recording.replaying(entries), contextlib.redirect_stdout(printed):
            exec(code, namespace)
    except Exception as error:
        outputs = []
        if printed.getvalue():
            outputs.append(NotebookNode(output_type="stream", name="stdout",
                                        text=printed.getvalue()[:_MAX_MESSAGE]))
        name = type(error).__name__
        if isinstance(error, recording.ReplayDiverged):
            name = "CheckFailed"
        outputs.append(_error_output(name, str(error)))
        return outputs
    text = printed.getvalue()
    return [NotebookNode(output_type="stream", name="stdout", text=text)] if text else []


def fail_shortcuts(nb: NotebookNode, entries: dict[str, list[dict]] | None = None) -> None:
    """Fail the tests of exercises to be done by hand whose answer used a library instead.

    The rule and the detectors are in :mod:`course.shortcuts` (the visible checks warn with
    the same message). Two decide: the answer cells' text, read, never run; and the
    ``entries`` the grading kernel recorded per test cell, where a call during which the
    student's code reached a forbidden library carries what it reached.
    """
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
               if c.cell_type == "code" and nbgrader_meta(c).get("solution")
               and not nbgrader_meta(c).get("grade") and "grade_id" in nbgrader_meta(c)}
    failed = shortcuts.violations(answers, [c.source for c in nb.cells if c.cell_type == "code"])
    for cell in nb.cells:
        if _is_test_cell(cell):
            with contextlib.suppress(ValueError):
                grade_id = nbgrader_meta(cell)["grade_id"]
                exercise = exercise_of(grade_id, list(answers))
                message = failed.get(exercise) or _used_at_run_time(
                    exercise, (entries or {}).get(grade_id, []))
                if message:
                    cell.outputs = [_error_output("CheckFailed", message)]


def _used_at_run_time(exercise: str, entries: list[dict]) -> str | None:
    """The failure message for ``exercise`` if a recorded call of its test used a library."""
    rule = shortcuts.BY_HAND.get(exercise)
    used = next((entry.shortcut for entry in _readable(entries) if entry.shortcut), None)
    if rule is None or not used:
        return None
    return shortcuts.message(exercise, rule, [used[:200]])


def _readable(entries: list[dict]) -> list[Entry]:
    """The entries among logged objects that read as answers (the rest: garbage, skipped)."""
    readable = []
    for data in entries:
        with contextlib.suppress(ValueError):
            readable.append(Entry.from_json(data))
    return readable


def flag_reviews(nb: NotebookNode, reviews: list[str]) -> None:
    """Put what grading could not decide for sure (:func:`course.recording.flag`) in the
    graded notebook's ``review`` annotations, for a person to look at."""
    for line in reviews:
        annotate(nb, "review", line)


class TrustedExecute(Execute):
    """nbgrader's Execute, hardened: records in the kernel, decides in the grader.

    The notebook runs in a :class:`~autograder.kernel_session.KernelSession` (the same
    kernel session ``autograder mutants`` and ``verify`` use); its settings come from
    this preprocessor's configuration (:meth:`session_settings`).
    """

    kernel_manager_class = Type(SandboxKernelManager, klass=AsyncKernelManager,
                                config=True, help="Kernel manager that starts sandboxed kernels")
    notebook_timeout = Integer(900, help="Seconds the whole notebook may run").tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts after crashes before giving up").tag(
        config=True)
    max_output_bytes = Integer(1_000_000, help="Output kept per cell, in bytes").tag(config=True)
    probe_timeout = Integer(5, help="Seconds a kernel has to answer after an interrupt").tag(
        config=True)
    restart_above_mb = Integer(1536, help="Memory (MiB, proportional set size) of a kernel's "
                               "processes after a cell above which the kernel is restarted"
                               ).tag(config=True)
    max_record_mb = Integer(64, help="Recorded answers read per test cell, in MiB").tag(
        config=True)
    kernel_parent = Unicode("", help="Folder for the kernels' private working folders").tag(
        config=True)
    leave_out_demos = Bool(True, help="Leave out the lesson's demo cells that no graded cell "
                           "needs (see autograder.demo_cells)").tag(config=True)

    def __init__(self, *args, **kwargs):
        # nbgrader's Execute would otherwise force a plain AsyncKernelManager.
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    def session_settings(self) -> Settings:
        """The kernel session's settings, from this preprocessor's configuration."""
        return Settings(
            cell_timeout=self.timeout or 120, probe_timeout=self.probe_timeout,
            startup_timeout=self.startup_timeout, max_output_bytes=self.max_output_bytes,
            max_record_bytes=self.max_record_mb * 2**20,
            restart_above_bytes=self.restart_above_mb * 2**20,
            kernel_name=self.kernel_name or "python3", kernel_parent=self.kernel_parent,
            config=self.config,
        )

    def preprocess(self, nb, resources=None, km=None):
        self._check_assign_resources(resources)
        submission = Path(self.resources.get("metadata", {}).get("path") or os.getcwd())
        with KernelSession(self.session_settings(), files_from=submission) as session:
            tests = {i for i, cell in enumerate(nb.cells) if _is_test_cell(cell)}
            try:
                session.start()
                windows = run_notebook(session, nb, test_cells=tests,
                                       max_restarts=self.max_restarts,
                                       deadline=time.monotonic() + self.notebook_timeout,
                                       leave_out=self._left_out(nb))
            except KernelLost as error:
                raise KernelNotStarted(f"{error}; not graded, a later run grades it again"
                                       ) from None
            session.stop()
            recorded: dict[str, list[dict]] = {}
            with timings.phase("replay"):
                for index in sorted(tests):
                    entries = session.answers(windows.get(index))
                    self._replay(nb.cells[index], entries)
                    recorded[nbgrader_meta(nb.cells[index])["grade_id"]] = entries or []
            reviews = session.reviews()
        with timings.phase("replay"):
            fail_shortcuts(nb, recorded)
        flag_reviews(nb, reviews)
        return nb, self.resources

    def _left_out(self, nb: NotebookNode) -> set[int]:
        """The submission's demo cells that need not run (:func:`demo_cells.plan`)."""
        info = self.resources.get("nbgrader", {})
        if not self.leave_out_demos or "assignment" not in info or "notebook" not in info:
            return set()
        directory = self.config.CourseDirectory
        source = (Path(directory.root) / directory.source_directory / info["assignment"]
                  / f"{info['notebook']}.ipynb")
        try:
            demos = demo_cells.tagged_sources(source)
            return demo_cells.plan(
                [cell.source if cell.cell_type == "code" and isinstance(cell.source, str)
                 else None for cell in nb.cells], demos) if demos else set()
        except Exception:  # leaving demos out only saves time: never fail grading for it
            return set()

    @staticmethod
    def _replay(cell: NotebookNode, entries: list[dict] | None) -> None:
        """Decide a test cell here, from its recorded answers (``None``: too large to read)."""
        grade_id = nbgrader_meta(cell)["grade_id"]
        if entries is None:
            cell.outputs = [_error_output(
                "CheckFailed", "the answers recorded for this cell were too large to grade")]
            return
        cell.outputs = replay_test_cell(cell.source, entries, grade_id=grade_id)
