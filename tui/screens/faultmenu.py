"""The fault menu (`f`): what can be done to the selected pod or node, and what cannot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.faults import FaultKind


@dataclass(frozen=True)
class FaultChoice:
    """One menu entry; `reason` says why it is disabled ('' when it is available)."""

    kind: FaultKind
    target: str
    """What it acts on when that is not the menu's subject (a pod's node: `node-1`)."""
    reason: str = ""


class FaultMenu(ModalScreen[FaultKind | None]):
    """Dismisses with the chosen fault, or None on `esc`."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Cancel")]

    def __init__(self, title: str, choices: list[FaultChoice]) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices

    def compose(self) -> ComposeResult:
        options = []
        for choice in self.choices:
            label = Content.styled(choice.kind.label, "bold")
            if choice.target:
                label = Content.assemble(label, " ", (f"({choice.target})", "$text-muted"))
            if choice.reason:
                label = Content.assemble(label, "  ", (f"({choice.reason})", "$text-warning"))
            options.append(Option(label, id=choice.kind.value, disabled=bool(choice.reason)))
        with Vertical(id="fault-box") as box:
            box.border_title = self.title_text
            yield OptionList(*options, id="fault-options")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None
        self.dismiss(FaultKind(event.option.id))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
