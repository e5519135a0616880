"""The kernel session every grading path runs notebooks through (autograder/kernel_session.py):
the log the grader reads only through its own descriptor, the process tree's memory, and
(slow) a real sandboxed kernel that ignores interrupts, keeps memory, floods outputs or
runs until its timeout, and cells left out as demos."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from queue import Empty

import nbformat
import pytest

from autograder import notebooks
from autograder.kernel_session import (
    RECORD_FILE,
    KernelLost,
    KernelSession,
    RecordLog,
    SessionClient,
    Settings,
    left_out_output,
    parse_entries,
    parse_reviews,
    process_tree,
    proportional_bytes,
    resident_bytes,
    run_notebook,
)


def _append(path, *entries) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        for entry in entries:
            handle.write((entry if isinstance(entry, str) else json.dumps(entry)) + "\n")


# ------------------------------------------------------------------------- the log


def test_the_log_is_never_created_through_a_planted_link(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep\n")
    (tmp_path / "work").mkdir()
    os.symlink(target, tmp_path / "work" / RECORD_FILE)
    with pytest.raises(FileExistsError):
        RecordLog(tmp_path / "work")
    assert target.read_text() == "keep\n"


@pytest.mark.parametrize("replacement", ["symlink-to-file", "fifo", "dev-zero", "deleted"])
def test_the_log_is_read_from_the_graders_descriptor_whatever_the_path_becomes(
        tmp_path, replacement):
    log = RecordLog(tmp_path)
    _append(log.path, {"label": "f", "value": 1})
    size = log.size()
    other = tmp_path / "other"
    other.write_text('{"label": "forged"}\n' * 10)
    os.remove(log.path)
    if replacement == "symlink-to-file":
        os.symlink(other, log.path)
    elif replacement == "fifo":
        os.mkfifo(log.path)
    elif replacement == "dev-zero":
        os.symlink("/dev/zero", log.path)
    result: list = []
    reader = threading.Thread(target=lambda: result.append(log.read(0, log.size(), 1000)))
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "reading the log blocked"
    assert log.size() == size and log.unlinked()
    assert parse_entries(result[0]) == [{"label": "f", "value": 1}]
    log.close()


def test_a_window_above_the_cap_is_not_read(tmp_path):
    log = RecordLog(tmp_path)
    _append(log.path, "x" * 5000)
    assert log.read(0, log.size(), cap=1000) is None
    assert log.read(0, 100, cap=1000) == b"x" * 100
    log.close()


def test_review_lines_are_found_across_chunks(tmp_path):
    log = RecordLog(tmp_path)
    _append(log.path, "y" * (3 * 2**20), {"review": "frames: read"}, {"label": "a"},
            {"review": "frames: read"}, {"review": "  gc:\nused "})
    lines = log.lines_with(b'"review"', 0, log.size())
    assert parse_reviews(lines) == ["frames: read", "gc: used"]
    log.close()


def test_garbage_markers_and_flags_are_not_answers():
    data = b"\n".join([
        b'{"label": "f", "value": 1}', b"\x00\xff not json {", b'{"cell": "f_check"}',
        b'{"review": "x: y"}', b"[1, 2]", b"[" * 100_000 + b"]" * 100_000,
        b'{"label": "g"}', b"",
    ])
    assert parse_entries(data) == [{"label": "f", "value": 1}, {"label": "g"}]


def test_reviews_are_limited_and_unique():
    lines = [json.dumps({"review": f"flag {i % 70}"}).encode() for i in range(300)]
    assert parse_reviews(lines) == [f"flag {i}" for i in range(50)]


# ------------------------------------------------------------------- process memory


def test_the_process_tree_holds_children_and_their_memory():
    child = subprocess.Popen(
        [sys.executable, "-c", "import time\nhog = bytearray(200 * 2**20)\ntime.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and resident_bytes([child.pid]) < 150 * 2**20:
            time.sleep(0.1)
        tree = process_tree(os.getpid())
        assert os.getpid() in tree and child.pid in tree
        assert resident_bytes(tree) >= resident_bytes([os.getpid()]) + 150 * 2**20
    finally:
        child.kill()
        child.wait()
    assert resident_bytes([child.pid]) == 0


def test_pages_a_forked_child_shares_count_once_in_the_proportional_size():
    # The parent touches 200 MB, then forks a child that keeps sharing them.
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import os, sys, time\nhog = bytearray(200 * 2**20)\n"
         "if os.fork() == 0:\n    time.sleep(30)\n    os._exit(0)\n"
         "print('ready', flush=True)\ntime.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline() == "ready\n"
        tree = process_tree(parent.pid)
        assert len(tree) == 2
        resident, proportional = resident_bytes(tree), proportional_bytes(tree)
        assert resident >= 2 * 200 * 2**20
        assert 200 * 2**20 <= proportional <= resident - 150 * 2**20
    finally:
        for pid in process_tree(parent.pid)[::-1]:
            os.kill(pid, 9)
        parent.wait()
    assert proportional_bytes([parent.pid]) == 0


# ------------------------------------------------------------------ a real kernel

SETTINGS = {"cell_timeout": 5, "probe_timeout": 2}


def _run_cells(sources: list[str], settings: Settings, **kwargs):
    """A notebook of ``sources``, run by ``run_notebook`` in a fresh kernel session."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    with KernelSession(settings) as session:
        session.start()
        run_notebook(session, nb, test_cells=set(), deadline=time.monotonic() + 120, **kwargs)
    return nb


class _SlowStartingKernel:
    """A kernel client whose kernel answers requests in order, once it has started after
    ``start_after`` seconds, and whose IOPub connects after ``iopub_after`` seconds (the
    statuses published before are lost, as with zmq's PUB socket)."""

    def __init__(self, start_after: float, iopub_after: float) -> None:
        self.began = time.monotonic()
        self.start_after, self.iopub_after = start_after, iopub_after
        self.ids = (f"request-{n}" for n in itertools.count())
        self.requests: list[tuple[str, float]] = []
        self.replies_read = 0
        self.statuses_read = 0
        self.handled = None

    def kernel_info(self) -> str:
        request = next(self.ids)
        self.requests.append((request, time.monotonic() - self.began))
        return request

    def _answered_at(self, index: int) -> float:
        """When the kernel answers request ``index`` (each request costs it 0.05 s)."""
        return max(self.start_after, self.requests[index][1]) + 0.05 * (index + 1)

    async def _next(self, queue: list[tuple[float, dict]], timeout: float) -> dict:
        until = time.monotonic() + timeout
        while True:
            now = time.monotonic() - self.began
            if queue and queue[0][0] <= now:
                return queue.pop(0)[1]
            if time.monotonic() >= until:
                raise Empty
            await asyncio.sleep(0.01)

    def _replies(self) -> list[tuple[float, dict]]:
        return [(self._answered_at(i), {"msg_type": "kernel_info_reply",
                                        "parent_header": {"msg_id": request}, "content": {}})
                for i, (request, _) in enumerate(self.requests)][self.replies_read:]

    def _statuses(self) -> list[tuple[float, dict]]:
        published = [(self._answered_at(i), {"msg_type": "status",
                                              "parent_header": {"msg_id": request},
                                              "content": {"execution_state": "idle"}})
                     for i, (request, _) in enumerate(self.requests)]
        return [entry for entry in published if entry[0] >= self.iopub_after][
            self.statuses_read:]

    async def get_shell_msg(self, timeout: float) -> dict:
        reply = await self._next(self._replies(), timeout)
        self.replies_read += 1
        return reply

    async def get_iopub_msg(self, timeout: float) -> dict:
        status = await self._next(self._statuses(), timeout)
        self.statuses_read += 1
        return status

    async def is_alive(self) -> bool:
        return True

    def _handle_kernel_info_reply(self, reply: dict) -> None:
        self.handled = reply


@pytest.mark.parametrize("start_after, iopub_after", [(0.0, 0.0), (0.5, 0.0), (1.5, 0.0),
                                                      (2.5, 0.0), (0.0, 1.2), (1.5, 2.7)])
def test_a_kernel_slow_to_answer_is_ready_as_soon_as_it_answers(start_after, iopub_after):
    """A kernel that starts after more than the second a request is waited for answers the
    requests sent meanwhile in order: the client must take it as ready soon after it
    answers (matching each reply to the latest request only stays one reply behind, until
    the start-up timeout says the kernel did not respond)."""
    kernel = _SlowStartingKernel(start_after, iopub_after)
    client = SessionClient.__new__(SessionClient)
    client.kc = kernel
    began = time.monotonic()
    asyncio.run(client._wait_until_ready(timeout=10))
    took = time.monotonic() - began
    assert kernel.handled is not None
    assert kernel.handled["msg_type"] == "kernel_info_reply"
    assert took < max(start_after, iopub_after) + 1.5, (took, kernel.requests)


def test_a_kernel_that_never_answers_is_reported_at_the_timeout():
    kernel = _SlowStartingKernel(start_after=60, iopub_after=0)
    client = SessionClient.__new__(SessionClient)
    client.kc = kernel
    began = time.monotonic()
    with pytest.raises(RuntimeError, match="didn't respond in 2 seconds"):
        asyncio.run(client._wait_until_ready(timeout=2))
    assert 2 <= time.monotonic() - began < 4


@pytest.mark.slow
def test_a_kernel_ignoring_interrupts_is_replaced_without_waiting_again():
    with KernelSession(Settings(**SETTINGS)) as session:
        session.start()
        assert session.run("kept = 41").status == "ok"
        started = time.monotonic()
        spin = session.run("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                           "while True:\n    pass\n")
        elapsed = time.monotonic() - started
        assert spin.status == "unresponsive" and spin.lost_kernel
        assert elapsed < 5 + 2 + 6, f"took {elapsed:.1f} s"
        assert spin.outputs[-1].ename == "CellTimeoutError"
        session.restart(["kept = 41"])
        started = time.monotonic()
        after = session.run("print(kept + 1)")
        assert after.status == "ok" and after.outputs[0].text == "42\n"
        assert time.monotonic() - started < 3
        interrupted = session.run("while True:\n    pass\n")
        assert interrupted.status == "timeout" and not interrupted.lost_kernel
        assert session.run("print(kept)").outputs[0].text == "41\n"


#: Memory first touched in a virtual machine that hands freed memory back to its host can
#: come at about 80 MB/s: cells that take hundreds of megabytes get time for it.
MEMORY_SETTINGS = {**SETTINGS, "cell_timeout": 30, "restart_above_bytes": 300 * 2**20}


@pytest.mark.slow
def test_a_kernel_that_cannot_be_started_again_stops_the_run_instead_of_its_cells(
        monkeypatch):
    """After a cell kills the kernel, a new kernel that does not start is the machine's
    fault: the run stops with the reason instead of counting the later cells as not run."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "kept = 41", "import os\nos._exit(1)", "after = kept + 1")])
    with KernelSession(Settings(**SETTINGS)) as session:
        session.start()

        def cannot_start() -> None:
            raise KernelLost("the kernel did not start (RuntimeError: Kernel didn't respond "
                             "in 60 seconds)")

        monkeypatch.setattr(session, "start", cannot_start)
        with pytest.raises(KernelLost, match="after cell 1: the kernel did not start"):
            run_notebook(session, nb, test_cells=set(), deadline=time.monotonic() + 120,
                         max_restarts=3)
    assert nb.cells[0].outputs == [] and nb.cells[2].outputs == []


@pytest.mark.slow
def test_a_cell_keeping_memory_restarts_the_kernel_without_it(tmp_path):
    nb = _run_cells(["small = 1", "hog = bytearray(400 * 2**20)",
                     "print(small, 'hog' in globals())"],
                    Settings(**MEMORY_SETTINGS), max_restarts=3)
    assert nb.cells[2].outputs[0].text == "1 False\n"
    (note,) = notebooks.annotations(nb)["notes"]
    assert note.startswith("cell 1 left the kernel holding") and "restarted" in note


@pytest.mark.slow
def test_a_kernel_whose_forked_children_share_its_memory_is_not_restarted(tmp_path):
    # Four processes map the kernel's pages and its 150 MB: resident memory counts them
    # four times (above 1 GB), the proportional size once (below the 600 MB limit).
    nb = _run_cells(["import os, time\nhog = bytearray(150 * 2**20)\nchildren = []\n"
                     "for _ in range(3):\n"
                     "    pid = os.fork()\n"
                     "    if pid == 0:\n        time.sleep(60)\n        os._exit(0)\n"
                     "    children.append(pid)\n",
                     "print(len(hog) // 2**20, len(children))"],
                    Settings(**{**MEMORY_SETTINGS, "restart_above_bytes": 600 * 2**20}),
                    max_restarts=3)
    assert nb.cells[1].outputs[0].text == "150 3\n"
    assert notebooks.annotations(nb)["notes"] == []


@pytest.mark.slow
def test_test_cells_leave_no_history_and_outputs_are_capped():
    settings = Settings(**SETTINGS, max_output_bytes=10_000, max_message_bytes=2**20)
    with KernelSession(settings) as session:
        session.start()
        test = session.run("hidden = 'HIDDEN-TEST-TEXT'[:6]", test=True)
        assert test.status == "ok" and test.window is not None
        history = session.run(
            "ip = get_ipython()\n"
            "print(In, _ih, ip.history_manager.input_hist_raw, "
            "list(ip.history_manager.get_range(output=False)), ip.history_manager.enabled)")
        text = history.outputs[0].text
        assert "HIDDEN-TEST-TEXT" not in text and text.rstrip().endswith("False")
        flood = session.run("for _ in range(50):\n    print('x' * 100_000)\n")
        assert flood.status == "ok"
        assert sum(len(o.get("text", "")) for o in flood.outputs) < 20_000
        huge = session.run("print('y' * 5_000_000)\n", timeout=30)
        assert not huge.lost_kernel
        assert sum(len(o.get("text", "")) for o in huge.outputs) < 20_000
        assert session.run("print('still here')").outputs[0].text == "still here\n"


@pytest.mark.slow
def test_answers_are_kept_when_the_kernel_tampers_with_its_log_afterwards():
    with KernelSession(Settings(**SETTINGS)) as session:
        session.start()
        # Written from a shell: the kernel's own Python may refuse to touch its log.
        record = ("import os, subprocess\n"
                  "subprocess.run(['sh', '-c', 'echo \"$1\" >> \"$0\"', "
                  "os.environ['COURSE_GRADING_RECORD'], %r])\n")
        first = session.run(record % json.dumps({"label": "f", "value": 1}), test=True)
        second = session.run(record % json.dumps({"label": "f", "value": 2}), test=True)
        session.run("import subprocess, os\nlog = os.environ['COURSE_GRADING_RECORD']\n"
                    "subprocess.run(['sh', '-c', ': > \"$0\"; rm -f \"$0\"; mkfifo \"$0\"', "
                    "log])\n")
        third = session.run(record % json.dumps({"label": "f", "value": 3}), test=True,
                            timeout=3)
        assert session.answers(first.window) == [{"label": "f", "value": 1}]
        assert session.answers(second.window) == [{"label": "f", "value": 2}]
        assert session.answers(third.window) == []
        assert any("grading record" in line for line in session.reviews())


@pytest.mark.slow
def test_a_cell_that_runs_until_its_timeout_is_timed_as_a_timeout():
    from autograder import timings

    with timings.recording() as record:
        nb = _run_cells(["x = 1", "while True:\n    pass", "print(x)"],
                        Settings(cell_timeout=2, kernel_parent=""), max_restarts=1)
    assert nb.cells[2].outputs[0].text == "1\n"
    assert record["timeouts"] >= 2 > record["cells"]


@pytest.mark.slow
def test_left_out_cells_do_not_run_and_say_so():
    nb = _run_cells(["shown = []", "shown.append('demo ran')\nprint('demo')", "print(shown)"],
                    Settings(cell_timeout=60, kernel_parent=""), max_restarts=0,
                    leave_out={1})
    assert nb.cells[1].outputs == [left_out_output()]
    assert nb.cells[2].outputs[0].text == "[]\n"
