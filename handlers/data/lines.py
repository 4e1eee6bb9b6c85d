"""Where each data row is in the file, as an editor numbers its lines.

Errors name a row twice: `data row 13` counts the rows after the header (what the row is), and
`line 14 of the file` is where an editor shows it. The two differ by the lines before the first
row (the header, Excel's `sep=` line) and by whatever comes between rows: blank lines, and line
breaks inside quoted fields. Only the rows where that difference changes are kept, so a regular
file costs nothing; past `LIMIT` changes a row's line is no longer known (None) and errors name
the data row alone.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

LIMIT = 100_000


class Lines:
    def __init__(self, before: int = 1) -> None:
        self.before = before  # lines before the first row: the header, and a `sep=` line
        self._rows: list[int] = []  # the data rows where the extra lines change...
        self._extra: list[int] = []  # ...and how many there are from that row on
        self._known = 0  # rows recorded so far (their lines are known)
        self._complete = True

    def record(self, first_row: int, lines: np.ndarray) -> None:
        """The lines (1-based, of the file) where data rows `first_row`, `first_row + 1`...
        start."""
        if not len(lines) or not self._complete:
            return
        extra = lines - np.arange(first_row, first_row + len(lines)) - self.before
        last = self._extra[-1] if self._extra else 0
        changes = np.flatnonzero(np.diff(extra, prepend=last))
        if len(self._rows) + len(changes) > LIMIT:
            self._complete = False
            return
        self._rows += (first_row + changes).tolist()
        self._extra += extra[changes].tolist()
        self._known = first_row + len(lines) - 1

    def line_of(self, row: int) -> int | None:
        """The line data row `row` (1-based) starts on, if known."""
        if row < 1 or row > self._known:
            return None
        at = bisect_right(self._rows, row) - 1
        return row + self.before + (self._extra[at] if at >= 0 else 0)


def where(row: int, line: int | None, within: str = "the file") -> str:
    """`data row 13 (line 14 of the file)`, or `data row 13` when the line is not known."""
    return f"data row {row}" + ("" if line is None else f" (line {line} of {within})")
