"""nbgrader preprocessors of the course."""

from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
#: Lines a checker prints on success start with this mark; they may stay in feedback.
SUCCESS_MARK = "\N{CHECK MARK}"
_MAX_MESSAGE = 2_000


def strip_hidden_region(source: str) -> tuple[str, bool]:
    """Remove every ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region."""
    kept, hidden, removed = [], False, False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = removed = True
            continue
        if HIDDEN_END in line:
            hidden = False
            continue
        if not hidden:
            kept.append(line)
    return "\n".join(kept), removed


class HideHiddenTests(NbGraderPreprocessor):
    """Keep hidden tests out of student feedback.

    In a cell that held hidden tests: the hidden source is removed; an error is
    reduced to its type and message (a traceback would quote the hidden line);
    printed output is reduced to the checkers' own success lines, since student
    code could have printed anything, including the test's source.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int):
        if cell.cell_type != "code":
            return cell, resources
        cell.source, removed = strip_hidden_region(cell.source)
        if not removed:
            return cell, resources
        outputs = []
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                message = str(output.get("evalue", ""))[:_MAX_MESSAGE]
                output.traceback = [f"{output.get('ename', 'Error')}: {message}"]
                outputs.append(output)
            elif output.output_type == "stream":
                text = "".join(output.text) if isinstance(output.text, list) else output.text
                lines = [ln for ln in text.splitlines() if ln.startswith(SUCCESS_MARK)]
                if lines:
                    output.text = "\n".join(lines) + "\n"
                    outputs.append(output)
        cell.outputs = outputs
        if not cell.source.strip():
            cell.source = "# (hidden tests)"
        return cell, resources
