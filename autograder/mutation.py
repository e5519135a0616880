"""Mutation analysis: do the checks catch wrong answers, name the mistake, and accept right ones?

Three kinds of entries stand in for an exercise's answer cell:

* **generated** mutants: one small change to the solution's own code, made on its syntax
  tree inside ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (:func:`generate`);
* **hand-written** mutants from the banks (``autograder/mutants/lesson_NN.py``), common
  mistakes whose failure message must match the bank's ``diagnostic``;
* **alternatives** from the banks: other right answers, which must pass.

:func:`run_lesson` grades every entry of a lesson through the real path, in one
sandboxed recording kernel: the entry runs as the answer cell, the exercise's test cells
(hidden tests included) run after it, and the grader replays them with
:func:`autograder.trusted.replay_test_cell`. A generated mutant is *killed* when a test
cell fails, *equivalent* when ``autograder/mutants/equivalent.py`` explains why it computes
the same function, and *survived* otherwise. :func:`report` writes the Markdown summary
(``autograder mutants``, default ``docs/grading-quality.md``).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib
import importlib.util
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from autograder import notebooks
from autograder.lessons import layout
from autograder.lessons import lesson as find_lesson
from course import shortcuts

#: Generated mutants kept per exercise (a fixed sample when there are more).
CAP = 40
#: Seconds one entry (its answer cell and test cells) may run.
ENTRY_TIMEOUT = 120

# ------------------------------------------------------------------------------ entries


@dataclass(frozen=True)
class Entry:
    """Something to grade in place of an exercise's answer cell."""

    kind: str  # "generated", "mutant" (hand-written) or "alternative"
    exercise: str
    id: str
    description: str
    source: str
    diagnostic: str | None = None  # hand-written mutants: the message must match this


@dataclass(frozen=True)
class Outcome:
    lesson: str
    entry: Entry
    message: str | None  # None when every test cell passed, else the first failure
    seconds: float


# ---------------------------------------------------------------------------- generator

_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
            ast.Pow: "**", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.Eq: "==", ast.NotEq: "!="}
_BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
           ast.FloorDiv: ast.Div, ast.Pow: ast.Mult}
_COMPARES = {ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt,), ast.Gt: (ast.GtE, ast.Lt),
             ast.GtE: (ast.Gt,), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,)}
_WHAT = {"binop": "operator", "compare": "comparison", "const": "constant",
         "negate": "minus added", "unnegate": "minus removed", "delete": "statement deleted",
         "swapargs": "arguments swapped"}

# A change edits the copied tree in place: (node, parent of each node) -> None.
Change = Callable[[ast.AST, dict], None]


def solution_regions(source: str) -> list[tuple[int, int]]:
    """Line numbers (1-based) of each ``### BEGIN SOLUTION`` and its ``### END SOLUTION``."""
    regions, start = [], None
    for number, line in enumerate(source.splitlines(), 1):
        if line.strip() == "### BEGIN SOLUTION":
            start = number
        elif line.strip() == "### END SOLUTION" and start is not None:
            regions.append((start, number))
            start = None
    return regions


def _inside(node: ast.AST, regions: list[tuple[int, int]]) -> bool:
    line = getattr(node, "lineno", None)
    return line is not None and any(a < line and node.end_lineno < b for a, b in regions)


def _replace(parents: dict, old: ast.AST, new: ast.AST) -> None:
    parent = parents[old]
    for field, value in ast.iter_fields(parent):
        if value is old:
            setattr(parent, field, new)
        elif isinstance(value, list) and any(item is old for item in value):
            value[[id(item) for item in value].index(id(old))] = new


def _delete(node: ast.AST, parents: dict) -> None:
    parent = parents[node]
    for field, value in ast.iter_fields(parent):
        if isinstance(value, list) and any(item is node for item in value):
            value.remove(node)
            if not value and field != "orelse":
                value.append(ast.Pass())


def _swap(node: ast.Call, parents: dict) -> None:
    node.args[0], node.args[1] = node.args[1], node.args[0]


def _negatable(node: ast.expr) -> bool:
    """Worth negating: not a container, a string, a zero, a function or already negated."""
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float) and node.value != 0
    return not isinstance(node, ast.Lambda | ast.JoinedStr | ast.Dict | ast.Set | ast.Tuple
                          | ast.List | ast.ListComp | ast.DictComp | ast.Compare | ast.UnaryOp)


def _operators(node: ast.AST) -> Iterator[tuple[str, str, Change, ast.AST]]:
    """(kind, detail, change, anchor) for each mutation of ``node``.

    The anchor's position names the mutant: the changed node, or for an operator its
    right-hand operand (``a * b * c`` has two ``*`` starting at ``a``).
    """
    if isinstance(node, ast.BinOp | ast.AugAssign) and type(node.op) in _BINOPS:
        new = _BINOPS[type(node.op)]
        yield ("binop", f"{_SYMBOLS[type(node.op)]} -> {_SYMBOLS[new]}",
               lambda n, _, new=new: setattr(n, "op", new()),
               node.right if isinstance(node, ast.BinOp) else node.value)
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            for new in _COMPARES.get(type(op), ()):
                yield ("compare", f"{_SYMBOLS[type(op)]} -> {_SYMBOLS[new]}",
                       lambda n, _, i=i, new=new: n.ops.__setitem__(i, new()),
                       node.comparators[i])
    if isinstance(node, ast.Constant):
        value = node.value
        if type(value) is bool:
            values = [not value]
        elif type(value) is int:
            values = [value - 1, value + 1]
        elif type(value) is float:
            values = [value * 1.5 if value else 1.0]
        else:
            values = []
        for new in values:
            yield ("const", f"{value!r} -> {new!r}",
                   lambda n, _, new=new: setattr(n, "value", new), node)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "unnegate", "-", lambda n, p: _replace(p, n, n.operand), node
    if isinstance(node, ast.Return | ast.Assign | ast.AugAssign | ast.AnnAssign) and node.value:
        if isinstance(node.value, ast.Tuple | ast.List):
            for j, item in enumerate(node.value.elts):
                if _negatable(item):
                    yield "negate", "-", lambda n, _, j=j: n.value.elts.__setitem__(
                        j, ast.UnaryOp(ast.USub(), n.value.elts[j])), item
        elif _negatable(node.value):
            yield "negate", "-", lambda n, _: setattr(
                n, "value", ast.UnaryOp(ast.USub(), n.value)), node.value
    if isinstance(node, ast.stmt) and not isinstance(node, ast.Pass) and not (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        yield "delete", type(node).__name__, _delete, node
    if isinstance(node, ast.Call) and len(node.args) >= 2 and not any(
            isinstance(a, ast.Starred) for a in node.args[:2]) and (
            ast.dump(node.args[0]) != ast.dump(node.args[1])):
        yield "swapargs", ast.unparse(node.func)[:40], _swap, node


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _statement(node: ast.AST, parents: dict) -> str:
    """The line of code around ``node``: its simple statement, or its compound's header."""
    here = node
    while here in parents and not isinstance(here, ast.stmt):
        here = parents[here]
    text = ast.unparse(here)
    return text.splitlines()[0] if hasattr(here, "body") else " ".join(text.split())


def _difference(before: str, after: str, limit: int = 80) -> tuple[str, str]:
    """``before`` and ``after``, cut to a window around their first difference."""
    start = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
                 min(len(before), len(after)))
    start = max(0, start - limit // 3) if max(len(before), len(after)) > limit else 0
    prefix = "..." if start else ""
    return (_short(prefix + before[start:], limit + len(prefix)),
            _short(prefix + after[start:], limit + len(prefix)))


def _parents(tree: ast.AST) -> dict:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _position(mutant_id: str) -> tuple[int, int]:
    line, column = re.search(r"@L(\d+):(\d+)", mutant_id).groups()
    return int(line), int(column)


def generate(exercise: str, source: str, *, cap: int = CAP) -> list[Entry]:
    """Mutants of the answer cell ``source``, each changing one thing inside its solution.

    Deterministic: the same source gives the same mutants with the same ids, in the
    order of their position. When there are more than ``cap``, those whose id hashes
    lowest are kept.
    """
    tree = ast.parse(source)
    regions = solution_regions(source)
    nodes = list(ast.walk(tree))
    parents = _parents(tree)
    seen = {ast.unparse(tree)}
    found: list[Entry] = []
    ids: set[str] = set()
    for index, node in enumerate(nodes):
        if not _inside(node, regions):
            continue
        for kind, detail, change, anchor in _operators(node):
            mutated = copy.deepcopy(tree)
            copied = list(ast.walk(mutated))
            anchor_index = next(i for i, n in enumerate(nodes) if n is anchor)
            copied_parents = _parents(mutated)
            before = _statement(anchor, parents)
            change(copied[index], copied_parents)
            text = ast.unparse(mutated)
            if text in seen:
                continue
            seen.add(text)
            if kind == "delete":
                before, after = _short(before), "(deleted)"
            else:
                before, after = _difference(before, _statement(copied[anchor_index],
                                                               _parents(mutated)))
            base = f"{kind}@L{anchor.lineno}:{anchor.col_offset} {detail}"
            mutant_id, n = base, 1
            while mutant_id in ids:
                n += 1
                mutant_id = f"{base} #{n}"
            ids.add(mutant_id)
            found.append(Entry("generated", exercise, mutant_id,
                               f"{_WHAT[kind]}: `{before}` → `{after}`", text + "\n"))
    found.sort(key=lambda e: _position(e.id))
    if len(found) > cap:
        keep = set(sorted((hashlib.sha256(e.id.encode()).hexdigest(), e.id)
                          for e in found)[:cap])
        found = [e for e in found if (hashlib.sha256(e.id.encode()).hexdigest(), e.id) in keep]
    return found


# -------------------------------------------------------------------------------- banks


def bank(lesson: str):
    """The bank module of ``lesson`` (:attr:`autograder.lessons.Lesson.bank`), or None."""
    found = find_lesson(lesson)
    if importlib.util.find_spec(found.bank) is None:
        return None
    try:
        module = importlib.import_module(found.bank)
    except Exception as error:  # a bank being written, or stale after a solution edit
        print(f"warning: bank {found.bank.rpartition('.')[2]} skipped: "
              f"{type(error).__name__}: {error}")
        return None
    return module if getattr(module, "LESSON", None) == found.id else None


def solution(lesson: str) -> tuple[Path, NotebookNode]:
    path = find_lesson(lesson).solution
    return path, notebooks.read(path)


def entries(lesson: str, *, generated: bool = True, cap: int = CAP) -> list[Entry]:
    """Hand-written mutants and alternatives of the lesson's bank, then generated mutants."""
    found: list[Entry] = []
    module = bank(lesson)
    if module is not None:
        for i, m in enumerate(module.MUTANTS):
            found.append(Entry("mutant", m.exercise, f"mutant {i + 1}", m.mistake, m.source,
                               m.diagnostic))
        for i, a in enumerate(module.ALTERNATIVES):
            found.append(Entry("alternative", a.exercise, f"alternative {i + 1}",
                               a.description, a.source))
    _, nb = solution(lesson)
    answers = _layout(nb)[0]
    for entry in found:
        if entry.exercise not in answers:
            print(f"warning: {lesson} has no exercise {entry.exercise!r}: {entry.id} skipped")
    found = [e for e in found if e.exercise in answers]
    if generated:
        for exercise, index in answers.items():
            found += generate(exercise, nb.cells[index].source, cap=cap)
    return found


# ------------------------------------------------------------------------------- runner


def _top_level_names(source: str) -> tuple[set[str], set[tuple[str, str]]]:
    """Names a cell binds at top level, and the ``name.attr`` it assigns at top level."""
    names: set[str] = set()
    attributes: set[tuple[str, str]] = set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return names, attributes
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            for target in getattr(node, "targets", None) or [node.target]:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
                    elif isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                        attributes.add((sub.value.id, sub.attr))
    return names, attributes


def reset_source(nb: NotebookNode, answer_index: int) -> str:
    """Code that undoes the answer cell's definitions, back to the state before it ran.

    Names the answer cell binds that no earlier cell binds are deleted; attributes it sets
    on earlier objects (``Var.backward = backward``) are removed. A mutant whose cell
    fails half-way then leaves the exercise undefined, as it would be in grading.
    """
    earlier: set[str] = set()
    for cell in nb.cells[:answer_index]:
        if cell.cell_type == "code":
            earlier |= _top_level_names(cell.source)[0]
    names, attributes = _top_level_names(nb.cells[answer_index].source)
    lines = [f"for _name in {sorted(names - earlier)!r}:", "    globals().pop(_name, None)"]
    for owner, attribute in sorted(attributes):
        if owner not in names - earlier:
            lines += ["try:", f"    del {owner}.{attribute}", "except (AttributeError, NameError):",
                      "    pass"]
    return "\n".join(lines)


class _KernelLost(Exception):
    """The kernel died, hung past an interrupt or kept too much memory."""


def _session_settings():
    """The kernel session grading uses, from the course's nbgrader configuration."""
    from autograder.config import course_config
    from autograder.trusted import TrustedExecute

    return TrustedExecute(config=course_config()).session_settings()


def _layout(nb: NotebookNode) -> tuple[dict[str, int], dict[str, list[int]], set[int]]:
    """Answer cell index per exercise, test cell indices per exercise, all test indices."""
    graded = layout(nb)
    answers = {exercise: graded.answer(exercise).index for exercise in graded.answers}
    tests = {exercise: [c.index for c in graded.tests_of(exercise)]
             for exercise in graded.answers if graded.tests_of(exercise)}
    return answers, tests, {i for indices in tests.values() for i in indices}


def run_lesson(lesson: str, todo: list[Entry], *, timeout: float = ENTRY_TIMEOUT,
               progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Grade each entry as the answer cell of its exercise, in one sandboxed kernel session
    (:class:`autograder.kernel_session.KernelSession`, the one grading uses)."""
    from autograder import demo_cells
    from autograder.kernel_session import KernelLost, KernelSession

    path, nb = solution(lesson)
    answers, tests, test_indices = _layout(nb)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    outcomes: list[Outcome] = []
    # The demo cells grading leaves out of the solution (autograder.demo_cells) are left
    # out here too; an entry whose code reads one of their names keeps them in.
    cell_sources = [c.source if c.cell_type == "code" else None for c in nb.cells]
    demos = demo_cells.tagged_sources(path)
    left_out = demo_cells.plan(cell_sources, demos)

    def left_out_for(entry: Entry, a: int) -> set[int]:
        with_entry = [*cell_sources[:a], entry.source, *cell_sources[a + 1:]]
        return left_out & demo_cells.plan(with_entry, demos)

    with KernelSession(_session_settings(), files_from=path.parent) as session:

        def run(source: str, seconds: float, *, test: bool = False):
            result = session.run(source, timeout=max(1.0, seconds), test=test)
            if result.lost_kernel:
                raise _KernelLost(result.status)
            return result

        def prefix(start: int, stop: int) -> None:
            for index in range(start, stop):
                cell = nb.cells[index]
                if cell.cell_type == "code" and index not in test_indices | left_out:
                    run(cell.source, 600)

        def grade(entry: Entry, a: int, reset: str) -> str | None:
            deadline = time.monotonic() + timeout
            run(reset, 30)
            run(entry.source, deadline - time.monotonic())
            skipped = test_indices | left_out_for(entry, a)
            between = [i for i in range(a + 1, max(tests[entry.exercise]))
                       if i not in skipped and nb.cells[i].cell_type == "code"]
            windows = {}
            for index in between + tests[entry.exercise]:
                if deadline - time.monotonic() <= 0:
                    return f"TimedOut: the answer and its tests took more than {timeout:g} s"
                result = run(nb.cells[index].source, deadline - time.monotonic(),
                             test=index in test_indices)
                windows[index] = result.window
            return _decide(session, nb, entry, [(i, windows[i]) for i in tests[entry.exercise]],
                           sources)

        def restore(a: int, reset: str) -> None:
            run(reset, 30)
            run(nb.cells[a].source, 120)

        def restart(a: int) -> None:
            """A new kernel, rebuilt as grading does: the cells before the answer again."""
            session.restart(nb.cells[i].source for i in range(a)
                            if nb.cells[i].cell_type == "code"
                            and i not in test_indices | left_out)

        done = 0
        session.start()
        for exercise in sorted({e.exercise for e in todo}, key=answers.__getitem__):
            a = answers[exercise]
            prefix(done, a)
            reset = reset_source(nb, a)
            for entry in (e for e in todo if e.exercise == exercise):
                started = time.monotonic()
                try:
                    message = grade(entry, a, reset)
                except _KernelLost as lost:
                    message = (f"KernelDied: the kernel stopped or hung ({lost});"
                               " grading would lose this exercise's tests")
                    restart(a)
                outcome = Outcome(lesson, entry, message, time.monotonic() - started)
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
                try:
                    restore(a, reset)
                except (_KernelLost, KernelLost):
                    restart(a)
                    restore(a, reset)
            done = a + 1
    return outcomes


def _decide(session, nb: NotebookNode, entry: Entry, windows: list, sources: list[str]
            ) -> str | None:
    """The first failure of an entry's test cells, replayed in this process, or ``None``."""
    from autograder.trusted import replay_test_cell

    for index, window in windows:
        grade_id = notebooks.nbgrader_meta(nb.cells[index])["grade_id"]
        entries = session.answers(window)
        if entries is None:
            return "CheckFailed: the recorded answers were too large to grade"
        outputs = replay_test_cell(nb.cells[index].source, entries, grade_id=grade_id)
        errors = [o for o in outputs if o.output_type == "error"]
        if errors:
            return f"{errors[0].ename}: {errors[0].evalue}"
    answer = {entry.exercise: entry.source}
    violation = shortcuts.violations(answer, sources).get(entry.exercise)
    return f"CheckFailed: {violation}" if violation else None


def _run_job(lesson: str, todo: list[Entry], timeout: float) -> list[Outcome]:
    return run_lesson(lesson, todo, timeout=timeout)


def run(lessons: Iterable[str], *, generated: bool = True, cap: int = CAP,
        timeout: float = ENTRY_TIMEOUT, workers: int | None = None,
        done: Callable[[str, list[Outcome], float], None] | None = None) -> list[Outcome]:
    """Every lesson's entries, lessons in parallel (one kernel each, ``workers`` at a time)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    jobs = {lesson: entries(lesson, generated=generated, cap=cap) for lesson in lessons}
    outcomes: list[Outcome] = []
    from autograder.classgrade import one_thread_per_worker

    context = multiprocessing.get_context("spawn")  # jax and forked processes do not mix
    started = time.monotonic()
    with one_thread_per_worker(), ProcessPoolExecutor(workers or os.cpu_count() or 1,
                                                      mp_context=context) as pool:
        futures = {pool.submit(_run_job, lesson, todo, timeout): lesson
                   for lesson, todo in jobs.items() if todo}
        for future in as_completed(futures):
            result = future.result()
            outcomes += result
            if done:
                done(futures[future], result, time.monotonic() - started)
    order = list(jobs)
    return sorted(outcomes, key=lambda o: order.index(o.lesson))


# ------------------------------------------------------------------------------- report


def equivalent() -> dict[tuple[str, str, str], str]:
    from autograder.mutants.equivalent import EQUIVALENT

    return EQUIVALENT


def verdict(outcome: Outcome) -> str:
    """killed / equivalent / survived; killed+named / killed / survived; passed / failed."""
    entry, failed = outcome.entry, outcome.message is not None
    if entry.kind == "alternative":
        return "failed" if failed else "passed"
    if entry.kind == "mutant":
        if not failed:
            return "survived"
        return "killed+named" if re.search(entry.diagnostic or "", outcome.message) else "killed"
    if failed:
        return "killed"
    key = (outcome.lesson, entry.exercise, entry.id)
    return "equivalent" if key in equivalent() else "survived"


@dataclass
class Row:
    """Counts for one exercise (or a total)."""

    mutants: int = 0
    killed: int = 0
    named: int = 0
    generated: int = 0
    generated_killed: int = 0
    equivalent: int = 0
    alternatives: int = 0
    passing: int = 0

    def add(self, outcome: Outcome) -> None:
        v = verdict(outcome)
        kind = outcome.entry.kind
        if kind == "mutant":
            self.mutants += 1
            self.killed += v != "survived"
            self.named += v == "killed+named"
        elif kind == "alternative":
            self.alternatives += 1
            self.passing += v == "passed"
        else:
            self.generated += 1
            self.generated_killed += v == "killed"
            self.equivalent += v == "equivalent"

    @property
    def survived(self) -> int:
        return self.generated - self.generated_killed - self.equivalent

    @property
    def rate(self) -> float:
        return (self.generated_killed + self.equivalent) / self.generated if self.generated else 1

    def cells(self) -> list[str]:
        return [f"{self.killed}/{self.mutants}", f"{self.named}/{self.mutants}",
                str(self.generated_killed), str(self.equivalent), str(self.survived),
                str(self.generated), f"{100 * self.rate:.1f}%",
                f"{self.passing}/{self.alternatives}"]

    @property
    def goals_met(self) -> bool:
        return (self.named == self.mutants and self.passing == self.alternatives
                and self.rate >= 0.95)


HEADER = ["exercise", "hand-written killed", "named", "generated killed", "equivalent",
          "survived", "generated", "killed or justified", "alternatives passing"]


def rows(outcomes: list[Outcome]) -> dict[str, dict[str, Row]]:
    """lesson -> exercise -> counts, in the order the outcomes come."""
    table: dict[str, dict[str, Row]] = {}
    for outcome in outcomes:
        table.setdefault(outcome.lesson, {}).setdefault(outcome.entry.exercise, Row()).add(
            outcome)
    return table


def total(outcomes: list[Outcome]) -> Row:
    row = Row()
    for outcome in outcomes:
        row.add(outcome)
    return row


def _table(lines: list[str], body: list[list[str]]) -> None:
    lines.append("| " + " | ".join(HEADER) + " |")
    lines.append("|" + "|".join(["---"] + ["--:"] * (len(HEADER) - 1)) + "|")
    lines += ["| " + " | ".join(cells) + " |" for cells in body]


def _quote(message: str | None) -> str:
    return _short((message or "").replace("|", "\\|").replace("`", "'"), 160)


def report(outcomes: list[Outcome], *, generated: bool = True) -> str:
    """The Markdown report: tables per lesson, then everything that needs a look."""
    by_lesson = rows(outcomes)
    overall = total(outcomes)
    lines = ["# Grading quality", "",
             "Written by `autograder mutants`: every entry below was graded through the real, "
             "sandboxed grading path (answers recorded in the kernel, test cells replayed in "
             "the grader). Goals: every hand-written mutant killed with a message that names "
             "its mistake; at least 95% of generated mutants killed or justified as "
             "equivalent (`autograder/mutants/equivalent.py`); every alternative answer at "
             "full marks.", ""]
    for lesson, exercises in by_lesson.items():
        lines += [f"## {lesson}", ""]
        _table(lines, [[f"`{name}`", *row.cells()] for name, row in exercises.items()])
        lines.append("")
    lines += ["## Total", ""]
    _table(lines, [["**all**", *overall.cells()]])
    lines += ["", f"**Totals**: hand-written mutants {overall.killed}/{overall.mutants} killed, "
              f"{overall.named}/{overall.mutants} with a matching diagnostic; generated mutants "
              f"{overall.generated_killed} killed + {overall.equivalent} equivalent of "
              f"{overall.generated} ({100 * overall.rate:.1f}%); alternatives "
              f"{overall.passing}/{overall.alternatives} passing.", ""]

    def section(title: str, chosen: list[Outcome], show: Callable[[Outcome], str]) -> None:
        lines.extend([f"## {title}", ""])
        lines.extend(f"- `{o.lesson}` `{o.entry.exercise}` {show(o)}" for o in chosen)
        lines.extend(["(none)"] if not chosen else [])
        lines.append("")

    pick = {v: [o for o in outcomes if verdict(o) == v]
            for v in ("survived", "equivalent", "killed", "failed")}
    generated_ones = [o for o in pick["survived"] if o.entry.kind == "generated"]
    if generated:
        section("Surviving generated mutants", generated_ones,
                lambda o: f"`{o.entry.id}`: {o.entry.description}")
        section("Equivalent generated mutants", pick["equivalent"],
                lambda o: f"`{o.entry.id}`: {o.entry.description}. *Why equivalent:* "
                          f"{equivalent()[(o.lesson, o.entry.exercise, o.entry.id)]}")
    section("Hand-written mutants not killed, or killed without naming the mistake",
            [o for o in pick["survived"] + pick["killed"] if o.entry.kind == "mutant"],
            lambda o: f"{o.entry.id} ({o.entry.description}): "
                      + (f"killed by `{_quote(o.message)}`, which does not match "
                         f"`{o.entry.diagnostic}`" if o.message else "survived"))
    section("Alternative answers that failed", pick["failed"],
            lambda o: f"{o.entry.id} ({o.entry.description}): `{_quote(o.message)}`")
    if generated:
        produced = {(o.lesson, o.entry.exercise, o.entry.id) for o in outcomes}
        lessons = {o.lesson for o in outcomes}
        stale = [k for k in equivalent() if k[0] in lessons and k not in produced]
        killed = [o for o in outcomes if o.entry.kind == "generated" and o.message
                  and (o.lesson, o.entry.exercise, o.entry.id) in equivalent()]
        lines += ["## Equivalence entries to revisit", ""]
        lines += [f"- `{k[0]}` `{k[1]}` `{k[2]}`: no longer generated" for k in stale]
        lines += [f"- `{o.lesson}` `{o.entry.exercise}` `{o.entry.id}`: listed as equivalent "
                  f"but killed (`{_quote(o.message)}`)" for o in killed]
        lines += ["(none)"] if not stale and not killed else []
        lines.append("")
    return "\n".join(lines)
