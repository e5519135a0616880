"""Execute a submission in its kernel, decide its tests in the grader.

:class:`TrustedExecute` replaces nbgrader's ``Execute`` preprocessor:

1. the notebook runs in a (sandboxed) kernel whose checkers *record* every answer the
   student's code gives (:mod:`course.recording`); the grader writes a marker into the
   log before each test cell;
2. a crash (``os._exit``, segfault, memory limit) or a hang costs only the cell it
   happened in: the kernel is restarted, the cells before are replayed to rebuild
   the student's definitions, and execution goes on;
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
import copy
import io
import os
import shutil
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, Type, Unicode

from autograder import compile_cache
from autograder.notebooks import exercise_of, nbgrader_meta
from autograder.sandbox import SandboxKernelManager, kernels_parent, private_workdir
from course import recording, shortcuts

RECORD_FILE = ".grading-record.jsonl"
_MAX_MESSAGE = 2_000


def _is_test_cell(cell: NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue[:_MAX_MESSAGE],
                        traceback=[f"{ename}: {evalue[:_MAX_MESSAGE]}"])


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


def fail_shortcuts(nb: NotebookNode) -> None:
    """Fail the tests of exercises to be done by hand whose answer used a library instead.

    The rule and the detector are in :mod:`course.shortcuts` (the visible checks warn with
    the same message); the answer cells are read, never run.
    """
    answers = {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells
               if c.cell_type == "code" and nbgrader_meta(c).get("solution")
               and not nbgrader_meta(c).get("grade") and "grade_id" in nbgrader_meta(c)}
    failed = shortcuts.violations(answers, [c.source for c in nb.cells if c.cell_type == "code"])
    for cell in nb.cells:
        if failed and _is_test_cell(cell):
            with contextlib.suppress(ValueError):
                exercise = exercise_of(nbgrader_meta(cell)["grade_id"], list(answers))
                if exercise in failed:
                    cell.outputs = [_error_output("CheckFailed", failed[exercise])]


class TrustedExecute(Execute):
    """nbgrader's Execute, hardened: records in the kernel, decides in the grader."""

    kernel_manager_class = Type(SandboxKernelManager, klass=AsyncKernelManager,
                                config=True, help="Kernel manager that starts sandboxed kernels")
    notebook_timeout = Integer(900, help="Seconds the whole notebook may run").tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts after crashes before giving up").tag(
        config=True)
    max_output_bytes = Integer(1_000_000, help="Output kept per cell, in bytes").tag(config=True)

    def __init__(self, *args, **kwargs):
        # nbgrader's Execute would otherwise force a plain AsyncKernelManager.
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    kernel_parent = Unicode("", help="Folder for the kernels' private working folders").tag(
        config=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxKernelManager):
            km.use_workdir(str(self._workdir))
        return km

    def preprocess(self, nb, resources=None, km=None):
        self._check_assign_resources(resources)
        submission = Path(resources.get("metadata", {}).get("path") or os.getcwd())
        parent = Path(self.kernel_parent) if self.kernel_parent else kernels_parent()
        self._workdir = private_workdir(parent, files_from=submission)
        try:
            return self._preprocess_in(nb, self._workdir)
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def _preprocess_in(self, nb, workdir: Path):
        resources = self.resources
        log = workdir / RECORD_FILE
        log.unlink(missing_ok=True)
        log.touch()
        os.chmod(log, 0o666)
        env = dict(os.environ, **{recording.RECORD_ENV: str(log)},
                   **compile_cache.reader_env(compile_cache.cache_dir()))
        self._run_all(nb, resources, env, log)
        entries = recording.read_log(log)
        log.unlink(missing_ok=True)
        for cell in nb.cells:
            if _is_test_cell(cell):
                grade_id = nbgrader_meta(cell)["grade_id"]
                cell.outputs = replay_test_cell(cell.source, entries.get(grade_id, []),
                                                grade_id=grade_id)
        fail_shortcuts(nb)
        return nb, self.resources

    # -------------------------------------------------------------- execution

    def _run_all(self, nb, resources, env: dict, log: Path) -> None:
        deadline = time.monotonic() + self.notebook_timeout
        crashed: set[int] = set()
        start = 0
        restarts = 0
        while start < len(nb.cells):
            index = start
            try:
                from nbclient import NotebookClient

                NotebookClient.__init__(self, nb, None)
                self.reset_execution_trackers()
                with self.setup_kernel(env=env, cwd=str(self._workdir)):
                    self.wait_for_reply(self.kc.kernel_info())
                    self._rebuild(nb, resources, until=start, skip=crashed)
                    for index in range(start, len(nb.cells)):
                        cell = nb.cells[index]
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            self._not_run(nb, index, "the notebook's time limit ran out")
                            return
                        if _is_test_cell(cell):
                            with open(log, "a", encoding="utf-8") as handle:
                                handle.write(f'{{"cell": "{nbgrader_meta(cell)["grade_id"]}"}}\n')
                        self._execute_one(cell, index, resources, timeout=remaining)
                return
            except (DeadKernelError, RuntimeError, TimeoutError, OSError) as error:
                cell = nb.cells[index]
                if cell.cell_type == "code":
                    cell.outputs = [_error_output(
                        "KernelDied",
                        f"the kernel stopped while running this cell ({type(error).__name__}): "
                        "a crash, os._exit, sys.exit at top level, or a memory or CPU limit. "
                        "Grading went on with the next cell.",
                    )]
                crashed.add(index)
                restarts += 1
                start = index + 1
                if restarts > self.max_restarts:
                    self._not_run(nb, start, "the kernel crashed too many times")
                    return

    def _execute_one(self, cell, index: int, resources, *, timeout: float) -> None:
        self.timeout = int(max(1, min(self.timeout or 120, timeout)))
        with contextlib.suppress(CellExecutionError, CellTimeoutError):
            self.preprocess_cell(cell, resources, index)

    def _rebuild(self, nb, resources, *, until: int, skip: set[int]) -> None:
        """After a restart, re-run the definitions made before ``until`` (outputs untouched)."""
        for index in range(until):
            cell = nb.cells[index]
            if index in skip or cell.cell_type != "code" or _is_test_cell(cell):
                continue
            scratch = copy.deepcopy(cell)
            with contextlib.suppress(CellExecutionError, CellTimeoutError):
                self.execute_cell(scratch, index, store_history=False)

    @staticmethod
    def _not_run(nb, start: int, reason: str) -> None:
        for cell in nb.cells[start:]:
            if cell.cell_type == "code":
                cell.outputs = [_error_output("NotRun", f"not run: {reason}")]

    # ------------------------------------------------------------ output cap

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``max_output_bytes`` of output per cell; drop the rest."""
        sizes = self.__dict__.setdefault("_output_sizes", {})
        sizes[cell_index] = sizes.get(cell_index, 0) + len(str(msg.get("content", "")))
        if sizes[cell_index] > self.max_output_bytes:
            if sizes[cell_index] - len(str(msg.get("content", ""))) <= self.max_output_bytes:
                outs.append(NotebookNode(output_type="stream", name="stdout",
                                         text="\n[output limit reached; the rest was dropped]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)
