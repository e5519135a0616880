"""The class run's bookkeeping: a journal that survives a killed run, and the time
breakdown per lesson."""

from __future__ import annotations

import json

from autograder import timings
from autograder.run_state import RunState


def test_results_survive_a_run_killed_before_compaction(tmp_path):
    path = tmp_path / "grading-state.json"
    path.write_text(json.dumps({"1001/01": {"digest": "old"}, "1002/01": "not an entry"}))
    state = RunState(path)
    state.record("1001/01", {"digest": "new", "notes": [], "review": ["gc"]})
    state.record("1003/01", {"digest": "third"})
    # Killed here: the file is as before, the journal holds both results (and the run
    # died while writing a third line).
    assert json.loads(path.read_text())["1001/01"] == {"digest": "old"}
    with open(state.journal_path, "a") as journal:
        journal.write('{"key": "1004/01", "entry": {"dig')

    again = RunState(path)
    assert again.get("1001/01") == {"digest": "new", "notes": [], "review": ["gc"]}
    assert again.get("1003/01") == {"digest": "third"}
    assert again.get("1002/01") == {} and again.get("1004/01") == {}
    again.compact()
    assert not again.journal_path.exists()
    stored = json.loads(path.read_text())
    assert stored["1003/01"] == {"digest": "third"} and stored["1001/01"]["digest"] == "new"


def test_compacting_without_results_writes_nothing(tmp_path):
    state = RunState(tmp_path / "data" / "grading-state.json")
    state.compact()
    assert not (tmp_path / "data").exists()


def test_a_journal_line_costs_the_same_however_many_results_came_before(tmp_path):
    state = RunState(tmp_path / "grading-state.json")
    for number in range(2_000):
        state.record(f"{number}/01", {"digest": str(number)})
    size = state.journal_path.stat().st_size
    state.record("last/01", {"digest": "x"})
    assert state.journal_path.stat().st_size - size < 100  # one line, not the whole state
    state.compact()
    assert len(json.loads(state.path.read_text())) == 2_001


def test_phases_are_timed_once_and_broken_down_per_lesson():
    with timings.recording() as record:
        with timings.phase("cells"), timings.phase("replay"):  # nested: the outer counts
            pass
        with timings.phase("kernel start"):
            pass
    assert set(record) == {"cells", "kernel start"}
    with timings.recording() as renamed, timings.phase("cells") as timed:
        timed.name = "timeouts"  # the cell turned out to run until its timeout
    assert set(renamed) == {"timeouts"}
    with timings.phase("cells"):  # no recording: nothing happens
        pass
    means = timings.breakdown([("01", {"cells": 2.0, "storage": 0.5}),
                               ("01", {"cells": 4.0, "storage": 0.1}), ("02", {"cells": 1.0})])
    assert means["01"] == {"notebooks": 2, "cells": 3.0, "storage": 0.3}
    lines = timings.table(means)
    assert lines[0].split() == ["lesson", "notebooks", "cells", "storage", "total"]
    assert lines[1].split() == ["01", "2", "3.00", "0.30", "3.30"]
    assert timings.imports_only("import numpy as np\nfrom course import checks")
    assert not timings.imports_only("import numpy as np\nx = 1")
    assert not timings.imports_only("")


def test_the_csv_annotations_include_what_a_killed_run_journaled(tmp_path):
    """A run killed before folding its journal still has its notes and flags read back
    (by the CSV export, say), as the next run reads them."""
    from autograder.config import DATA_DIRECTORY, REPO_ROOT, SOURCE_DIRECTORY
    from autograder.grading import STATE_FILE, Course

    course = Course(tmp_path, source_directory=REPO_ROOT / SOURCE_DIRECTORY,
                    release_directory=tmp_path / "release")
    state = RunState(tmp_path / DATA_DIRECTORY / STATE_FILE)
    state.record("s1/01-derivatives", {"digest": "a", "notes": [], "review": ["frames"]})
    state.compact()
    killed = RunState(tmp_path / DATA_DIRECTORY / STATE_FILE)
    killed.record("s2/01-derivatives", {"digest": "b", "notes": ["rebuilt"], "review": []})
    del killed  # no compact: the journal stays, as after a kill
    found = course.stored_annotations()
    assert found[("s1", "01-derivatives")]["review"] == ["frames"]
    assert found[("s2", "01-derivatives")]["notes"] == ["rebuilt"]
