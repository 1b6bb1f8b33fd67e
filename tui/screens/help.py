"""`?`: every key binding and command-bar command, grouped as k9s groups them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static


@dataclass(frozen=True)
class HelpSection:
    title: str
    entries: tuple[tuple[str, str], ...]
    """(key or command, what it does)."""


class HelpScreen(Screen[None]):
    """`esc`, `q` or `?` go back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Back"),
        Binding("q", "dismiss", "Back", show=False),
        Binding("question_mark", "dismiss", "Back", show=False),
    ]

    def __init__(self, sections: list[HelpSection]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-scroll"):
            with Grid(id="help-grid"):
                for section in self.sections:
                    width = max((len(k) for k, _ in section.entries), default=0)
                    lines = [Content.styled(section.title.upper(), "bold $accent")]
                    lines += [Content.assemble((f"<{key}>".ljust(width + 2), "bold $secondary"),
                                               " ", text) for key, text in section.entries]
                    yield Static(Content("\n").join(lines), classes="help-section")
        yield Footer()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 110, "-narrow")
