"""The resource table: rows by key, drawn line by line, repainting only what changed.

Textual's DataTable re-renders every visible cell whenever any cell changes (its render
caches are keyed by a table-wide update counter), which with a status change a few times a
second costs tens of milliseconds a frame. This table keeps each row's rendered line and
throws it away only when that row changed, so a frame after one status change renders one
line; rows are ordered by (namespace, name) and found by key in constant time.

It is a Line-API widget (`ScrollView.render_line`): the header stays on the first line,
rows scroll under it, the cursor is a row index. Tones are component classes
(`ResourceTable > .row--primary`), so the colours live in the stylesheet.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.kinds import Row
from tui.model import TableDiff, sort_key
from tui.roles import Tone

GAP = 2
"""Spaces between columns (k9s's look)."""


def _fit(text: str, width: int) -> str:
    """Pad or cut (with an ellipsis) to exactly `width` cells."""
    length = cell_len(text)
    if length <= width:
        return text + " " * (width - length)
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…" + " " * (width - 1 - used)


class ResourceTable(ScrollView, can_focus=True):
    """Rows of one kind; the app feeds it `TableDiff`s from the model."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "resource-table--header", "resource-table--cursor",
        *(f"row--{tone.value}" for tone in Tone)}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "Select", show=False),
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "edge(0)", "Top", show=False),
        Binding("end,G", "edge(1)", "Bottom", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=False, init=False)
    """The index of the row under the cursor."""

    @dataclass
    class RowSelected(Message):
        """enter (or a click on the selected row) on the row with this key."""

        key: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.headers: tuple[str, ...] = ()
        self._keys: list[str] = []
        self._order: list[tuple[str, str]] = []
        """Sort keys of `_keys`, in the same order (for bisect)."""
        self._index: dict[str, int] | None = {}
        """key -> row index; None after removals until next needed."""
        self._rows: dict[str, Row] = {}
        self._widths: list[int] = []
        self._lines: dict[str, tuple[Strip, Strip]] = {}
        """Rendered full-width lines per key: (plain, under the cursor)."""
        self._styles: dict[str, Style] = {}

    # -- structure ------------------------------------------------------------------------

    def set_headers(self, headers: tuple[str, ...]) -> None:
        """Drop every row, then show these columns."""
        self.headers = headers
        self.clear_rows()

    def clear_rows(self) -> None:
        self._keys, self._order, self._index = [], [], {}
        self._rows.clear()
        self._lines.clear()
        self._widths = [cell_len(h) for h in self.headers]
        self.cursor_row = 0
        self._resize()
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def total_width(self) -> int:
        return sum(self._widths) + GAP * len(self._widths) if self._widths else 0

    def _resize(self) -> None:
        self.virtual_size = Size(self.total_width, len(self._keys) + 1)

    def _row_index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {key: i for i, key in enumerate(self._keys)}
        return self._index

    # -- applying diffs -------------------------------------------------------------------

    def apply(self, diff: TableDiff) -> None:
        """Remove, update, then insert rows in order; keep the cursor on its row."""
        if diff.empty:
            return
        selected = self.selected_key
        structural = bool(diff.removed or diff.added)
        if diff.removed:
            gone = set(diff.removed)
            kept = [(o, k) for o, k in zip(self._order, self._keys) if k not in gone]
            self._order = [o for o, _ in kept]
            self._keys = [k for _, k in kept]
            for key in gone:
                self._rows.pop(key, None)
                self._lines.pop(key, None)
            self._index = None
        grown = False
        for key, row, indices in diff.changed:
            if key not in self._rows:
                continue
            for i in indices:
                grown |= self.update_cell(key, i, row)
        for key, row in diff.added:
            order = sort_key(key)
            at = bisect.bisect_left(self._order, order)
            self._order.insert(at, order)
            self._keys.insert(at, key)
            self._rows[key] = row
            grown |= self._grow(row)
            if self._index is not None and at == len(self._keys) - 1:
                self._index[key] = at
            else:
                self._index = None
        if grown:
            self._lines.clear()
        if structural or grown:
            self._resize()
            if selected is not None and selected in self._rows:
                self.select_key(selected)
            else:
                self.cursor_row = min(self.cursor_row, max(0, len(self._keys) - 1))
            self.refresh()

    def update_cell(self, key: str, index: int, row: Row) -> bool:
        """Show `row`'s cell `index` for `key` (only its line is redrawn); True when the
        column had to grow."""
        self._rows[key] = row
        self._lines.pop(key, None)
        grown = self._grow(row, (index,))
        if not grown:
            line = self._row_index().get(key)
            if line is not None:
                self._refresh_row(line)
        return grown

    def _grow(self, row: Row, indices: tuple[int, ...] | None = None) -> bool:
        grown = False
        for i in indices if indices is not None else range(len(row.cells)):
            width = cell_len(row.cells[i])
            if i < len(self._widths) and width > self._widths[i]:
                self._widths[i] = width
                grown = True
        return grown

    def _refresh_row(self, index: int) -> None:
        y = index - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    # -- drawing --------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self.get_component_rich_style(name, partial=True)
            self._styles[name] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._lines.clear()

    def _render_cells(self, cells: tuple[str, ...], style: Style) -> Strip:
        text = "".join(" " + _fit(cell, width) + " "
                       for cell, width in zip(cells, self._widths))
        return Strip([Segment(text, style)], cell_len(text))

    def _row_lines(self, key: str) -> tuple[Strip, Strip]:
        lines = self._lines.get(key)
        if lines is None:
            row = self._rows[key]
            tone = self._style(f"row--{row.tone.value}")
            cursor = self._style("resource-table--cursor")
            lines = (self._render_cells(row.cells, tone),
                     self._render_cells(row.cells, tone + cursor))
            self._lines[key] = lines
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x = int(self.scroll_x)
        base = self.rich_style
        if y == 0:
            strip = self._render_cells(self.headers, self._style("resource-table--header"))
        else:
            index = int(self.scroll_y) + y - 1
            if index >= len(self._keys):
                return Strip.blank(width, base)
            plain, under_cursor = self._row_lines(self._keys[index])
            strip = under_cursor if index == self.cursor_row else plain
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, base)

    # -- cursor and selection -------------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_to_cursor()

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        if self._keys:
            self.cursor_row = max(0, min(len(self._keys) - 1, self.cursor_row + step))

    def action_page(self, step: int) -> None:
        self.action_cursor(step * max(1, self.size.height - 2))

    def action_edge(self, end: int) -> None:
        if self._keys:
            self.cursor_row = len(self._keys) - 1 if end else 0

    def action_select(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowSelected(key))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self._keys):
            if index == self.cursor_row and event.chain > 1:
                self.action_select()
            self.cursor_row = index

    @property
    def selected_key(self) -> str | None:
        """The `ns/name` key of the row under the cursor."""
        if 0 <= self.cursor_row < len(self._keys):
            return self._keys[self.cursor_row]
        return None

    def select_key(self, key: str) -> bool:
        """Move the cursor to the row with this key; False if there is none."""
        index = self._row_index().get(key)
        if index is None:
            return False
        self.cursor_row = index
        return True

    def visible_keys(self) -> list[str]:
        """Keys of the rows inside the viewport (their time-dependent cells get refreshed)."""
        top = int(self.scroll_y)
        return self._keys[top:top + max(1, self.size.height - 1)]

    def cell_text(self, key: str, column: str) -> str | None:
        """The text of one cell, None when the row or column is absent."""
        row = self._rows.get(key)
        if row is None or column not in self.headers:
            return None
        return row.cells[self.headers.index(column)]
