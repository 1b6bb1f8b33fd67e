"""The command bar: `:` for commands, `/` for the table's filter, with history.

It only collects a line; what the line means is `tui.commands`' business and what it does
is the app's. `esc` closes the bar without running anything; `up`/`down` walk the lines
submitted before in the same mode.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input


class BarMode(str, enum.Enum):
    COMMAND = "command"
    FILTER = "filter"

    @property
    def prompt(self) -> str:
        return ":" if self is BarMode.COMMAND else "/"


COMMAND_WORDS = (
    "pods", "nodes", "deployments", "replicasets", "statefulsets", "services", "endpoints",
    "pvc", "events", "redisfailovers", "crds", "namespaces", "ns ", "po", "no", "deploy",
    "rs", "sts", "svc", "ep", "ev", "rf", "ha", "help", "quit", "run ", "create -f ",
    "apply -f ", "delete ", "scale ", "label ", "get ", "describe ", "exec ", "logs ",
)


class CommandBar(Input):
    """A one-line input shown at the bottom while a command or filter is typed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("up", "history(-1)", "Previous", show=False),
        Binding("down", "history(1)", "Next", show=False),
    ]

    @dataclass
    class Done(Message):
        """A line was submitted (`text`) or the bar was cancelled (`text` None)."""

        mode: BarMode
        text: str | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, suggester=SuggestFromList(COMMAND_WORDS, case_sensitive=False))
        self.mode = BarMode.COMMAND
        self._history: dict[BarMode, list[str]] = {mode: [] for mode in BarMode}
        self._cursor = 0

    def start(self, mode: BarMode, text: str = "", *, select: bool = True) -> None:
        """Show the bar in `mode`, holding `text`, and focus it. With `select` the text is
        selected, so typing replaces it (the filter offered again); without, typing goes
        after it (a command begun for the user, as `s` begins `exec POD -- `)."""
        self.mode = mode
        self.select_on_focus = select
        self.border_title = mode.prompt
        self.placeholder = ("pods, no, deploy, sts, svc, rf, ns NAME, run/apply/delete/scale/"
                            "exec ..., q" if mode is BarMode.COMMAND
                            else "regex, or -l label=value")
        self.value = text
        self.cursor_position = len(text)
        self._cursor = len(self._history[mode])
        self.display = True
        self.focus()

    def _finish(self, text: str | None) -> None:
        self.display = False
        self.post_message(self.Done(self.mode, text))

    async def action_submit(self) -> None:
        text = self.value
        history = self._history[self.mode]
        if text.strip() and (not history or history[-1] != text):
            history.append(text)
        self._finish(text)

    def action_cancel(self) -> None:
        self._finish(None)

    def action_history(self, step: int) -> None:
        history = self._history[self.mode]
        if not history:
            return
        self._cursor = max(0, min(len(history), self._cursor + step))
        self.value = history[self._cursor] if self._cursor < len(history) else ""
        self.cursor_position = len(self.value)
