"""One sandboxed recording kernel, driven cell by cell: the only way grading runs student code.

Grading (:class:`autograder.trusted.TrustedExecute`), ``autograder mutants``
(:func:`autograder.mutation.run_lesson`) and ``autograder verify`` all run notebooks
through a :class:`KernelSession`, so every rule below holds for all three.

* **A private folder per kernel.** Each start (the first and every restart) gets a fresh
  folder from :func:`autograder.sandbox.private_workdir`, so the grader never writes a
  path a previous kernel could have replaced (the connection file, say).
* **The recording log is the grader's file descriptor.** The log is created
  (``O_CREAT | O_EXCL | O_NOFOLLOW``) before the kernel starts and the grader keeps its
  descriptor. It never opens the log by path again: right after each test cell it reads,
  with ``pread``, the bytes the cell added (at most :attr:`Settings.max_record_bytes`)
  and copies them into a spool of its own (an anonymous temporary file the kernel
  cannot name), then empties the log through that descriptor, after every cell.
  Replacing the log by a symbolic link, a named pipe or another file, truncating it or
  filling it with garbage afterwards changes nothing; doing it before a test cell costs
  the submission that cell's answers and nothing else, and a flood fills one cell's log
  at most. The kernel writes no cell markers; the grader opens no path in the kernel's
  folder once the kernel runs.
* **A cell cannot cost more than itself.** A cell that runs out of time is interrupted;
  if the kernel then does not answer a short probe (it ignores ``SIGINT``), it is killed
  and restarted at once instead of making every later cell wait its full timeout. After
  each cell the memory of the kernel's processes is measured from ``/proc`` (their
  proportional set size, so that pages a forked child shares with the kernel count once);
  above :attr:`Settings.restart_above_bytes` the kernel is restarted without that cell's
  definitions. A restart replays the definitions made so far (:meth:`KernelSession.restart`).
* **Outputs are capped where they arrive.** The client's sockets refuse messages above
  :attr:`Settings.max_message_bytes` (zmq's ``MAXMSGSIZE``) and queue a bounded number of
  them; at most :attr:`Settings.max_output_bytes` of output is kept per cell.
* **Hidden tests are not kept in the kernel's history.** Kernels start with IPython's
  history off, and test cells run with ``store_history=False``: a later cell finds their
  source in neither ``In``, ``_ih`` nor a history database.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellControlSignal, CellExecutionError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from traitlets import Integer, Type
from traitlets.config import Config

from autograder import compile_cache, timings
from autograder.notebooks import annotate
from autograder.sandbox import SandboxKernelManager, kernels_parent, private_workdir
from course import protocol, recording

#: Name of the recording log in a kernel's private folder.
RECORD_FILE = ".grading-record.jsonl"
_MAX_MESSAGE = 2_000
_MAX_REVIEWS = 50
_TRUNCATED = "\n[output limit reached; the rest was dropped]\n"
_TOO_LARGE = "\n[an output too large to receive was dropped]\n"
#: Arguments that turn IPython's history off in a grading kernel.
#: Key of a review flag in the log (not an answer; see :mod:`course.protocol`).
REVIEW_KEY = protocol.REVIEW_KEY
HISTORY_OFF = ["--HistoryManager.enabled=False", "--HistoryManager.hist_file=:memory:"]
#: A grading kernel's own log shows errors only: its warning that the grader talks to it
#: over local TCP (authenticated by the key in its private folder) was one stderr line
#: per kernel on the instructor's terminal, two per graded notebook.
QUIET = ["--IPKernelApp.log_level=ERROR"]


def error_output(ename: str, evalue: str) -> NotebookNode:
    """An error output with a one-line traceback (no source quoted)."""
    return NotebookNode(output_type="error", ename=ename, evalue=evalue[:_MAX_MESSAGE],
                        traceback=[f"{ename}: {evalue[:_MAX_MESSAGE]}"])


# --------------------------------------------------------------------------- settings


@dataclass
class Settings:
    """How a session runs its kernels (grading's values come from ``TrustedExecute``)."""

    cell_timeout: float = 120
    #: Seconds a kernel has to answer after an interrupt before it is killed.
    probe_timeout: float = 5
    startup_timeout: int = 60
    max_output_bytes: int = 1_000_000
    #: Largest message the grader accepts from a kernel; larger ones are dropped by zmq.
    max_message_bytes: int = 8 * 2**20
    #: Messages queued per socket before zmq drops more (bounds the grader's memory).
    max_queued_messages: int = 64
    #: Recorded answers read per test cell at most; a larger record is ignored.
    max_record_bytes: int = 64 * 2**20
    #: Bytes of a log searched for review flags after one cell, at most.
    max_log_bytes: int = 64 * 2**20
    #: Memory of the kernel's processes (proportional set size) above which the kernel
    #: is restarted.
    restart_above_bytes: int = 1536 * 2**20
    kernel_name: str = "python3"
    #: Folder for the kernels' private folders (default: :func:`sandbox.kernels_parent`).
    kernel_parent: str = ""
    #: nbgrader/traitlets configuration passed to the kernel manager (hidden paths, limits).
    config: Config = field(default_factory=Config)
    #: Extra environment of the kernel (on top of the grader's and the recording's).
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Window:
    """Where one test cell's recorded answers are kept: a byte range of the session's spool
    (``too_large``: the cell recorded more than the cap, and nothing was kept)."""

    start: int
    end: int
    too_large: bool = False


@dataclass
class Run:
    """What running one cell did."""

    outputs: list[NotebookNode]
    #: "ok", "error", "timeout" (interrupted, the kernel answered afterwards),
    #: "unresponsive" (killed after an interrupt), "died" or "memory" (kept too much).
    status: str
    execution_count: int | None = None
    window: Window | None = None
    #: What the kernel's processes held after the cell (:meth:`KernelSession.memory`).
    memory_bytes: int = 0

    @property
    def lost_kernel(self) -> bool:
        """The kernel is gone or must be replaced before the next cell."""
        return self.status in {"unresponsive", "died", "memory"}


class KernelLost(RuntimeError):
    """The kernel could not be (re)started or rebuilt."""


# ------------------------------------------------------------------------- the client


class SessionClient(NotebookClient):
    """nbclient's client with capped sockets, capped outputs and a timeout flag."""

    kernel_manager_class = Type(SandboxKernelManager, klass=AsyncKernelManager, config=True)
    max_output_bytes = Integer(1_000_000)
    max_message_bytes = Integer(8 * 2**20)
    max_queued_messages = Integer(64)

    def __init__(self, workdir: str, **kwargs) -> None:
        super().__init__(nbformat.v4.new_notebook(), **kwargs)
        self.workdir = workdir
        self.settings_iopub_timeout = self.iopub_timeout
        self.timed_out = self.saw_idle = False
        self.output_bytes = 0
        self.context: zmq.asyncio.Context | None = None

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, SandboxKernelManager):
            km.use_workdir(self.workdir)
        return km

    async def async_start_new_kernel_client(self):
        """As nbclient's, but the client's zmq context caps message size and queue length."""
        assert self.km is not None
        context = self.context = zmq.asyncio.Context()
        context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        context.setsockopt(zmq.RCVHWM, self.max_queued_messages)
        # A socket that connects before the kernel listens tries again after this many
        # milliseconds (zmq's default, 100, is longer than a forked kernel takes to start).
        context.setsockopt(zmq.RECONNECT_IVL, 10)
        try:
            self.kc = self.km.client(context=context)
            await ensure_async(self.kc.start_channels())
            await self._wait_until_ready(self.startup_timeout)
        except Exception:
            await self._async_cleanup_kernel()
            raise
        self.kc.allow_stdin = False
        return self.kc

    async def _wait_until_ready(self, timeout: float) -> None:
        """Wait until the kernel answers a ``kernel_info`` request and IOPub carries the idle
        status of an answered request (then IOPub is connected too).

        A new request goes out each second without a reply. A kernel slow to start answers
        all of them, in order, so a reply to any request sent counts, and idle statuses
        read while looking for another request's are kept: taking only the latest
        request's reply would stay one reply behind for good. (jupyter_client's
        ``wait_for_ready`` then waits for 0.2 s of quiet on IOPub, a fifth of a second of
        every kernel start; outputs of earlier requests are ignored by nbclient anyway,
        which matches each message to its cell.)
        """
        kc = self.kc
        deadline = time.monotonic() + timeout
        sent: set[str] = set()
        answered: dict[str, dict] = {}
        idle: set[str] = set()
        while True:
            sent.add(kc.kernel_info())
            with contextlib.suppress(Empty):
                reply = await ensure_async(kc.get_shell_msg(timeout=1))
                request = reply["parent_header"].get("msg_id")
                if reply["msg_type"] == "kernel_info_reply" and request in sent:
                    answered[request] = reply
            if answered and await self._idle_status_of(answered, idle):
                kc._handle_kernel_info_reply(answered[next(iter(answered.keys() & idle))])
                return
            if not await ensure_async(kc.is_alive()):
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    async def _idle_status_of(self, requests: Iterable[str], idle: set[str],
                              wait: float = 0.2) -> bool:
        """Whether IOPub has brought, or brings within ``wait`` seconds, the idle status of
        one of ``requests``; the requests whose idle status is read are added to ``idle``
        (it misses them while it is not connected yet: the caller asks again)."""
        until = time.monotonic() + wait
        while idle.isdisjoint(requests):
            if (left := until - time.monotonic()) <= 0:
                return False
            try:
                msg = await ensure_async(self.kc.get_iopub_msg(timeout=left))
            except Empty:
                return False
            if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
                idle.add(msg["parent_header"].get("msg_id"))
        return True

    # nbclient binds the synchronous wrapper to its own coroutine: bind it to this one.
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        self.iopub_timeout = 1  # the outputs of an interrupted cell are not worth waiting for
        return await super()._async_handle_timeout(timeout, cell)

    def process_message(self, msg, cell, cell_index):
        content = msg.get("content", {})
        if msg.get("msg_type") == "status" and content.get("execution_state") == "idle":
            self.saw_idle = True
        return super().process_message(msg, cell, cell_index)

    def reconnect_iopub(self, timeout: float = 5) -> None:
        """A new output socket, once a message too large for the old one broke it.

        zmq drops the connection of a socket that receives a message above its
        ``MAXMSGSIZE`` for good; the new socket is ready once a kernel_info request's
        status reaches it.
        """
        assert self.kc is not None
        channel = self.kc._iopub_channel  # jupyter_client makes it anew when it is None
        if channel is not None:
            channel.close()
        self.kc._iopub_channel = None
        self.kc.iopub_channel.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.wait_for_reply(self.kc.kernel_info())
            try:
                run_sync(self.kc.iopub_channel.get_msg)(timeout=0.2)
            except Exception:  # queue.Empty: not subscribed yet
                continue
            break
        while True:  # drop what the probes left
            try:
                run_sync(self.kc.iopub_channel.get_msg)(timeout=0.05)
            except Exception:
                break

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``max_output_bytes`` of output per cell; drop the rest."""
        size = len(str(msg.get("content", "")))
        before, self.output_bytes = self.output_bytes, self.output_bytes + size
        if self.output_bytes > self.max_output_bytes:
            if before <= self.max_output_bytes:
                outs.append(NotebookNode(output_type="stream", name="stdout", text=_TRUNCATED))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def execute(self, source: str, *, timeout: float,
                store_history: bool) -> tuple[NotebookNode, dict | None]:
        """Run ``source``; returns the cell (with its outputs) and the execute reply."""
        cell = nbformat.v4.new_code_cell(source)
        self.nb = nbformat.v4.new_notebook(cells=[cell])
        self.reset_execution_trackers()
        self.timed_out = self.saw_idle = False
        self.output_bytes = 0
        self.iopub_timeout = self.settings_iopub_timeout
        self.timeout = max(1, int(timeout))
        replies: list[dict] = []
        self.on_cell_executed = lambda **kw: replies.append(kw.get("execute_reply"))
        self.execute_cell(cell, 0, store_history=store_history)
        if not self.saw_idle and not self.timed_out:
            self.reconnect_iopub()
            cell.outputs.append(NotebookNode(output_type="stream", name="stdout",
                                             text=_TOO_LARGE))
        return cell, (replies[0] if replies else None)

    def close_context(self) -> None:
        """Destroy the zmq context this client made (nbclient leaves it to the collector)."""
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
        if self.context is not None:
            with contextlib.suppress(Exception):
                self.context.destroy(linger=0)
            self.context = None


# ---------------------------------------------------------------------- the kernel log


class RecordLog:
    """A recording log the grader created and reads only through its own descriptor."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / RECORD_FILE
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        self.fd = os.open(self.path, flags, 0o600)
        # The kernel may run as a user of its own: it appends through the path. The folder
        # is private to that kernel, so nobody else can reach the file.
        os.fchmod(self.fd, 0o666)

    def size(self) -> int:
        """Bytes in the log now (of the file the grader created, whatever the path holds)."""
        try:
            return os.fstat(self.fd).st_size
        except OSError:
            return 0

    def read(self, start: int, end: int, cap: int) -> bytes | None:
        """Bytes ``start:end`` of the log, or ``None`` when they exceed ``cap``."""
        if end - start > cap:
            return None
        chunks: list[bytes] = []
        position = start
        while position < end:
            chunk = os.pread(self.fd, min(end - position, 2**20), position)
            if not chunk:
                break
            chunks.append(chunk)
            position += len(chunk)
        return b"".join(chunks)

    def lines_with(self, needle: bytes, start: int, end: int) -> list[bytes]:
        """The whole lines of bytes ``start:end`` that contain ``needle`` (read in chunks)."""
        found: list[bytes] = []
        rest = b""
        position = start
        while position < end:
            chunk = os.pread(self.fd, min(end - position, 2**20), position)
            if not chunk:
                break
            position += len(chunk)
            *whole, rest = (rest + chunk).split(b"\n")
            found += [line for line in whole if needle in line]
            if len(rest) > 2**20:  # a line this long is no flag
                rest = b""
        return found + ([rest] if needle in rest else [])

    def unlinked(self) -> bool:
        """The log's path no longer names the file the grader created."""
        try:
            return os.fstat(self.fd).st_nlink == 0
        except OSError:
            return True

    def clear(self) -> None:
        """Empty the log through the grader's descriptor (the kernel appends, so its next
        line lands at the start; nothing is opened by path)."""
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def parse_entries(data: bytes) -> list[dict]:
    """The recorded answers in ``data``: JSON objects one a line; garbage and markers skipped."""
    entries = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            entry = json.loads(line.decode("utf-8", errors="replace"))
        except (json.JSONDecodeError, RecursionError):
            continue
        if protocol.is_answer(entry):
            entries.append(entry)
    return entries


def parse_reviews(lines: Iterable[bytes], *, limit: int = 50) -> list[str]:
    """The review flags (:func:`course.recording.flag`) among ``lines``, each once, in order."""
    seen: list[str] = []
    for line in lines:
        try:
            entry = json.loads(line.decode("utf-8", errors="replace"))
        except (json.JSONDecodeError, RecursionError):
            continue
        text = protocol.review_text(entry)
        if text is not None and text not in seen:
            seen.append(text)
            if len(seen) >= limit:
                break
    return seen


# ----------------------------------------------------------------- kernel memory (/proc)


def _stat_fields(pid: int) -> tuple[int, int] | None:
    """(parent pid, session id) of ``pid`` from ``/proc``, or ``None`` if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode("ascii", errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[3])


def process_tree(root: int) -> list[int]:
    """``root`` and every process descending from it or in its session (daemons included)."""
    parents: dict[int, int] = {}
    members = {root}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None:
                parents[int(entry)] = fields[0]
                if fields[1] == root:
                    members.add(int(entry))
    grew = True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in members} - members
        members |= found
        grew = bool(found)
    return sorted(pid for pid in members if pid in parents)


def resident_bytes(pids: Iterable[int]) -> int:
    """Resident memory of ``pids`` together (``/proc/PID/statm``), in bytes."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def proportional_bytes(pids: Iterable[int]) -> int:
    """Proportional set size of ``pids`` together (``Pss`` of ``/proc/PID/smaps_rollup``).

    A resident page mapped by n processes counts 1/n in each, so the pages a forked child
    still shares with its parent count once, not once per process as in
    :func:`resident_bytes`. A process whose rollup cannot be read counts its resident
    memory instead.
    """
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                total += next(int(line.split()[1]) * 1024 for line in handle
                              if line.startswith("Pss:"))
        except (OSError, IndexError, ValueError, StopIteration):
            total += resident_bytes([pid])
    return total


# --------------------------------------------------------------------------- session


class KernelSession:
    """A sandboxed recording kernel in a private folder, run one cell at a time.

    Use as a context manager; :meth:`start` runs the first kernel, :meth:`run` a cell,
    :meth:`restart` replaces a lost kernel and replays definitions, :meth:`answers`
    reads a test cell's recorded answers, :meth:`close` stops everything and removes the
    kernels' folders.
    """

    def __init__(self, settings: Settings, *, files_from: Path | None = None) -> None:
        self.settings = settings
        self.files_from = files_from
        self.client: SessionClient | None = None
        self.workdir: Path | None = None
        self.logs: list[RecordLog] = []
        self.spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._reviews: list[str] = []
        self._tampered = False
        self._folders: list[Path] = []
        self._stack: contextlib.ExitStack | None = None
        #: The compilation cache this session's kernels fill (a canary's), or None.
        self.fills = compile_cache.filling_into()
        #: Compiled programs this session added to that cache.
        self.harvested = 0

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> KernelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def log(self) -> RecordLog:
        """The log of the current kernel."""
        return self.logs[-1]

    def start(self) -> None:
        """Start a kernel in a fresh private folder, with a fresh log."""
        self.stop()
        parent = Path(self.settings.kernel_parent) if self.settings.kernel_parent else (
            kernels_parent())
        self.workdir = private_workdir(parent, files_from=self.files_from)
        self._folders.append(self.workdir)
        self.logs.append(RecordLog(self.workdir))
        self._tampered = False
        env = dict(os.environ, **self.settings.env,
                   **{recording.RECORD_ENV: str(self.log.path)},
                   **compile_cache.kernel_env(compile_cache.cache_dir(), self.workdir,
                                               fills=self.fills))
        self.client = SessionClient(
            str(self.workdir), config=self.settings.config, kernel_name=self.settings.kernel_name,
            timeout=int(self.settings.cell_timeout), startup_timeout=self.settings.startup_timeout,
            interrupt_on_timeout=True, raise_on_iopub_timeout=False, allow_errors=True,
            record_timing=False, shutdown_kernel="immediate",
            extra_arguments=[*HISTORY_OFF, *QUIET],
            error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": []},
            max_output_bytes=self.settings.max_output_bytes,
            max_message_bytes=self.settings.max_message_bytes,
            max_queued_messages=self.settings.max_queued_messages,
        )
        self._stack = contextlib.ExitStack()
        try:
            with timings.phase("kernel start"):
                self._stack.enter_context(self.client.setup_kernel(env=env,
                                                                   cwd=str(self.workdir)))
        except Exception as error:
            self.stop()
            raise KernelLost(f"the kernel did not start ({type(error).__name__}: {error})"
                             ) from error
        # Before any cell of the notebook: importing course.checking starts the recording
        # (course.recording's audit hook, which flags frame and gc inspection, and the
        # snapshot that shows patched course code), in a namespace of its own.
        with timings.phase("imports"):
            self.run('exec("import course.checking", {})', store_history=False)

    def stop(self) -> None:
        """Stop the current kernel and every process it started (its folder stays for now)."""
        client, stack = self.client, self._stack
        self.client = self._stack = None
        if stack is not None:
            with contextlib.suppress(Exception):
                stack.close()
        if client is not None:
            client.close_context()
            if client.km is not None:  # setup failed half-way: make sure nothing is left
                with contextlib.suppress(Exception):
                    client._cleanup_kernel()

    def close(self) -> None:
        """Stop the kernel, close the logs and remove every folder this session made
        (after copying what a filling kernel compiled into the cache)."""
        self.stop()
        if self.fills is not None:
            for folder in self._folders:
                self.harvested += compile_cache.harvest(folder / compile_cache.STAGING,
                                                        self.fills)
        for log in self.logs:
            log.close()
        self.logs = []
        self.spool.close()
        for folder in self._folders:
            shutil.rmtree(folder, ignore_errors=True)
        self._folders = []

    def restart(self, definitions: Iterable[str]) -> None:
        """A new kernel, with ``definitions`` (cell sources) run again, their outputs dropped.

        A definition that now kills or hangs the kernel is left out and the kernel started
        again; raises :class:`KernelLost` when the kernel cannot be started at all.
        """
        todo = [source for source in definitions if source.strip()]
        for _attempt in range(len(todo) + 1):
            try:
                self.start()
            except KernelLost:  # once more: a kernel can die while the last one is reaped
                self.start()
            for position, source in enumerate(todo):
                with timings.phase("cells"):
                    lost = self.run(source, store_history=False).lost_kernel
                if lost:
                    del todo[position]
                    break
            else:
                return
        raise KernelLost("the kernel could not be rebuilt")

    # ---------------------------------------------------------------------- cells

    def memory(self) -> int:
        """Bytes the current kernel's processes hold, as the restart limit compares them.

        Their resident memory is cheap to read and never below their proportional set
        size, but counts the pages forked children share with the kernel once per process;
        above :attr:`Settings.restart_above_bytes` the proportional set size
        (:func:`proportional_bytes`, about 1 ms a process) is read instead and decides.
        """
        km = self.client.km if self.client is not None else None
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if not pid:
            return 0
        tree = process_tree(pid)
        resident = resident_bytes(tree)
        if resident <= self.settings.restart_above_bytes:
            return resident
        return proportional_bytes(tree)

    def run(self, source: str, *, timeout: float | None = None, test: bool = False,
            store_history: bool | None = None) -> Run:
        """Run ``source`` as one cell. A test cell's answers are in ``Run.window``.

        Never raises for what the cell did; a result whose :attr:`Run.lost_kernel` is set
        needs :meth:`restart` before the next cell.
        """
        if self.client is None:
            raise KernelLost("no kernel is running")
        timeout = self.settings.cell_timeout if timeout is None else timeout
        history = (not test) if store_history is None else store_history
        start = self.log.size()
        try:
            cell, reply = self.client.execute(source, timeout=timeout, store_history=history)
        except (DeadKernelError, CellControlSignal, RuntimeError, OSError, zmq.ZMQError,
                TimeoutError) as error:
            return self._lost("died", error, test=test, start=start)
        except CellExecutionError:  # not raised with allow_errors; kept for safety
            cell, reply = nbformat.v4.new_code_cell(source), None
        result = Run(outputs=list(cell.outputs), status="ok",
                     execution_count=cell.get("execution_count"))
        if reply is not None and reply.get("content", {}).get("status") == "error":
            result.status = "error"
        if self.client.timed_out:
            result.status = "timeout"
            result.outputs.append(error_output(
                "CellTimeoutError", f"the cell ran longer than its {int(timeout)} s limit and "
                "was interrupted"))
            if not self._answers_probe():
                result.status = "unresponsive"
                result.outputs[-1] = error_output(
                    "CellTimeoutError", f"the cell ran longer than its {int(timeout)} s limit "
                    "and the kernel did not stop when interrupted; it was restarted")
        if test:
            result.window = self._keep(start)
        self._harvest()
        if not result.lost_kernel:
            result.memory_bytes = self.memory()
            if result.memory_bytes > self.settings.restart_above_bytes:
                result.status = "memory"
        if result.lost_kernel:
            self.stop()
        return result

    def _answers_probe(self) -> bool:
        """After an interrupt: does the kernel run a trivial cell within the probe timeout?"""
        assert self.client is not None
        try:
            self.client.execute("None", timeout=self.settings.probe_timeout,
                                store_history=False)
        except Exception:  # any failure here means the kernel is lost
            return False
        return not self.client.timed_out

    def _lost(self, status: str, error: BaseException, *, test: bool, start: int) -> Run:
        window = self._keep(start) if test else None
        self._harvest()
        self.stop()
        message = (f"the kernel stopped while running this cell ({type(error).__name__}): a "
                   "crash, os._exit, sys.exit at top level, or a memory or CPU limit. Grading "
                   "went on with the next cell.")
        return Run([error_output("KernelDied", message)], status, window=window)

    # -------------------------------------------------------------------- answers

    def _keep(self, start: int) -> Window:
        """Copy what the current log gained since ``start`` into the spool (up to the cap)."""
        end = self.log.size()
        data = self.log.read(start, max(start, end), self.settings.max_record_bytes)
        self.spool.seek(0, os.SEEK_END)
        position = self.spool.tell()
        if data is None:
            return Window(position, position, too_large=True)
        self.spool.write(data)
        self.spool.flush()
        return Window(position, position + len(data))

    def answers(self, window: Window | None) -> list[dict] | None:
        """The answers kept for ``window``; ``None`` when the cell recorded too much."""
        if window is None:
            return []
        if window.too_large:
            return None
        self.spool.seek(window.start)
        return parse_entries(self.spool.read(window.end - window.start))

    def reviews(self) -> list[str]:
        """The review flags the kernels wrote, and what the grader saw done to the logs."""
        return list(self._reviews)

    def _review(self, line: str) -> None:
        if line not in self._reviews and len(self._reviews) < _MAX_REVIEWS:
            self._reviews.append(line)

    def _harvest(self) -> None:
        """After a cell: collect the review flags the log gained, notice a log that was
        removed or replaced, then empty the log (a flood costs one cell at most)."""
        log = self.log
        if not self._tampered and log.unlinked():
            self._tampered = True
            self._review("the notebook: the grading record was removed or replaced while "
                         "the notebook ran")
        end = min(log.size(), self.settings.max_log_bytes)
        for line in parse_reviews(log.lines_with(json.dumps(REVIEW_KEY).encode(), 0, end)):
            self._review(line)
        log.clear()


# ------------------------------------------------------------------ whole notebooks


def not_run(nb: NotebookNode, start: int, reason: str) -> None:
    """Mark the code cells from ``start`` on as not run, for ``reason``."""
    for cell in nb.cells[start:]:
        if cell.cell_type == "code":
            cell.outputs = [error_output("NotRun", f"not run: {reason}")]


def _memory_note(index: int, run: Run) -> str:
    return (f"cell {index} left the kernel holding {run.memory_bytes / 2**20:.0f} MB; the "
            "kernel was restarted without that cell's definitions")


def left_out_output() -> NotebookNode:
    """What a demo cell left out of grading shows (:mod:`autograder.demo_cells`)."""
    return nbformat.v4.new_output(
        "stream", name="stdout",
        text="(A demo: not run while grading; no graded cell needs what it makes.)\n")


def run_notebook(session: KernelSession, nb: NotebookNode, *, test_cells: set[int],
                 deadline: float, max_restarts: int,
                 leave_out: set[int] = frozenset()) -> dict[int, Window]:
    """Run the code cells of ``nb`` in ``session``, storing each cell's outputs in ``nb``.

    Cells in ``leave_out`` (demo cells, :func:`autograder.demo_cells.plan`) do not run.

    Test cells run without history and their answers' windows are returned (by cell
    index). A lost kernel costs only its cell: the kernel is restarted and the
    definitions made so far (every other code cell that ran, except cells that timed out
    or kept too much memory) are replayed, at most ``max_restarts`` times. A kernel that
    cannot be started again raises :class:`KernelLost`: that is the machine's fault, and
    the cells after would count as not run for it.
    """
    windows: dict[int, Window] = {}
    definitions: list[int] = []
    restarts = 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if index in leave_out:
            cell.outputs = [left_out_output()]
            cell.execution_count = None
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            not_run(nb, index, "the notebook's time limit ran out")
            break
        test = index in test_cells
        with timings.phase("imports" if timings.imports_only(cell.source) else "cells") as timed:
            result = session.run(cell.source, test=test,
                                 timeout=min(session.settings.cell_timeout, remaining))
            if result.status in {"timeout", "unresponsive"}:
                timed.name = "timeouts"
        cell.outputs = result.outputs
        cell.execution_count = result.execution_count
        if test:
            windows[index] = result.window
        elif result.status in {"ok", "error"}:
            definitions.append(index)
        if not result.lost_kernel:
            continue
        if result.status == "memory":
            annotate(nb, "notes", _memory_note(index, result))
        restarts += 1
        if restarts > max_restarts:
            not_run(nb, index + 1, "the kernel crashed too many times")
            break
        try:
            session.restart(nb.cells[i].source for i in definitions)
        except KernelLost as error:
            raise KernelLost(f"after cell {index}: {error}") from None
    return windows
