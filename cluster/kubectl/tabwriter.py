"""Elastic tab stops, as Go's `text/tabwriter` lays them out.

kubectl's tables and `describe` both write tab-separated cells and let a tabwriter align
them, and the alignment rules are subtle enough to matter for byte-exact output: a cell is
text *terminated* by a tab (the text after a line's last tab is not part of any column),
and a column is aligned only across the contiguous block of lines that have a cell in it,
so a line with fewer cells starts a new block. This module reproduces that algorithm so
our output lines up exactly where kubectl's does.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TabWriter:
    """Collects lines of tab-separated cells and renders them aligned.

    `min_width`, `padding` follow Go's parameters (the pad character is always a space).
    With `remember_widths`, column widths only ever grow across `flush` calls — what
    kubectl's watch output relies on to keep later rows under the header.
    """

    min_width: int = 0
    padding: int = 1
    remember_widths: bool = False
    _lines: list[list[str]] = field(default_factory=list)
    _partial: str = ""
    _remembered: list[int] = field(default_factory=list)

    def write(self, text: str) -> None:
        """Append raw text; lines end at `\\n`, cells at `\\t`."""
        text = self._partial + text
        *complete, self._partial = text.split("\n")
        for line in complete:
            self._lines.append(line.split("\t"))

    def flush(self) -> str:
        """Render everything written so far (a trailing partial line is kept as is)."""
        lines = self._lines
        if self._partial:
            lines = lines + [self._partial.split("\t")]
        self._lines = []
        self._partial = ""
        out: list[str] = []
        self._format(lines, 0, len(lines), [], out)
        return "".join(out)

    # -- Go's recursive block algorithm ----------------------------------------------------

    def _format(self, lines: list[list[str]], line0: int, line1: int, widths: list[int],
                out: list[str]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            # A block of lines with a cell in this column starts here.
            self._write_lines(lines, line0, this, widths, out)
            line0 = this
            width = self.min_width
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + self.padding)
                this += 1
            if self.remember_widths:
                while len(self._remembered) <= column:
                    self._remembered.append(0)
                width = max(width, self._remembered[column])
                self._remembered[column] = width
            self._format(lines, line0, this, widths + [width], out)
            line0 = this
        self._write_lines(lines, line0, line1, widths, out)

    @staticmethod
    def _write_lines(lines: list[list[str]], line0: int, line1: int, widths: list[int],
                     out: list[str]) -> None:
        for i in range(line0, line1):
            cells = lines[i]
            parts: list[str] = []
            for j, cell in enumerate(cells):
                if j < len(widths) and j < len(cells) - 1:
                    parts.append(cell.ljust(widths[j]))
                else:
                    parts.append(cell)
            out.append("".join(parts) + "\n")


def align(text: str, *, min_width: int = 0, padding: int = 1) -> str:
    """One-shot alignment of tab-separated `text`."""
    writer = TabWriter(min_width=min_width, padding=padding)
    writer.write(text)
    return writer.flush()
