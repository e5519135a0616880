"""The class run's resumable state: per ``student/lesson``, the digest of the graded file
and grading's notes and review lines.

The state lives in one JSON file (``grading-state.json``, read by
:meth:`autograder.grading.Course.stored_annotations`). During a run each graded
submission appends one line to a journal beside it (``grading-state.json.journal``),
so recording a result costs the same whether it is the tenth or the ten-thousandth;
the journal is folded into the file at the end of the run (:meth:`RunState.compact`).
A run that is killed leaves its journal behind, and the next one reads it: what was
graded stays graded. A torn last line (the run died while writing it) is skipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO


class RunState:
    """The state of ``path`` and its journal; use :meth:`get`, :meth:`record`, :meth:`compact`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.entries: dict[str, dict] = _read_state(self.path)
        self._journaled = False
        for key, entry in _read_journal(self.journal_path):
            self.entries[key] = entry
            self._journaled = True
        self._journal: IO[str] | None = None

    def get(self, key: str) -> dict:
        """The entry of ``key`` (``student/lesson``); empty when there is none."""
        entry = self.entries.get(key)
        return entry if isinstance(entry, dict) else {}

    def record(self, key: str, entry: dict) -> None:
        """Set ``key``'s entry and append it to the journal at once (flushed)."""
        self.entries[key] = entry
        if self._journal is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._journal = open(self.journal_path, "a", encoding="utf-8")  # noqa: SIM115
        self._journal.write(json.dumps({"key": key, "entry": entry}, sort_keys=True) + "\n")
        self._journal.flush()
        self._journaled = True

    def compact(self) -> None:
        """Write every entry into the state file (atomically) and remove the journal.

        Does nothing when nothing was recorded since the file was written.
        """
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        if not self._journaled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
        os.replace(temporary, self.path)
        self.journal_path.unlink(missing_ok=True)
        self._journaled = False


def _read_state(path: Path) -> dict:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _read_journal(path: Path) -> list[tuple[str, dict]]:
    """The journal's (key, entry) lines in order; unreadable lines are skipped."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if (isinstance(record, dict) and isinstance(record.get("key"), str)
                and isinstance(record.get("entry"), dict)):
            found.append((record["key"], record["entry"]))
    return found
