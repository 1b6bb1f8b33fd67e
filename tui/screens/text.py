"""A full-screen, read-only text: describe, YAML, and long command output."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, TextArea


class TextScreen(Screen[None]):
    """`esc` (or `q`) goes back to the table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Back"),
        Binding("q", "dismiss", "Back", show=False),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        area = TextArea(self.text, read_only=True, show_line_numbers=False, soft_wrap=False,
                        id="text-body")
        area.border_title = self.title_text
        yield area
        yield Footer()
