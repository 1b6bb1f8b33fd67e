"""The log pane: one container's log, followed, with k9s's toggles.

Lines arrive from `client.follow_pod_logs` one by one; appending each to the screen would
redraw the pane per line, so they collect in a buffer and a timer writes them in one batch
(at most `batch_interval` apart). The pane keeps the last `max_lines` lines itself, so
wrap and timestamps can be toggled by re-rendering what it already has.

Keys while the pane has focus (k9s's): `s` follow on/off, `w` wrap, `t` timestamps,
`p` the previous container.

"Follow" is k9s's autoscroll: the log is always streamed as `kubectl logs -f` streams it,
and follow only decides whether the view keeps jumping to the newest line. Turning it off
therefore keeps the lines coming and the view where it is, so a person can stop and read;
scrolling back (up, page up, home, the mouse wheel) turns it off by itself, since otherwise
the next batch of lines would yank the view back to the end. `s` turns it on again.
"""

from __future__ import annotations

import collections
import datetime as _dt
from dataclasses import dataclass, replace
from typing import Any, AsyncIterator, ClassVar, Protocol

from rich.text import Text
from textual import events, work
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import RichLog

from cluster.api import errors
from cluster.client import Client


class LogLineLike(Protocol):
    time: float
    stream: str
    text: str


def format_timestamp(ts: float) -> str:
    """RFC 3339 with nanoseconds, as `kubectl logs --timestamps` prints it."""
    moment = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def format_line(line: LogLineLike, timestamps: bool) -> str:
    return f"{format_timestamp(line.time)} {line.text}" if timestamps else line.text


@dataclass(frozen=True)
class LogTarget:
    """Which container's log the pane shows, and how."""

    namespace: str
    pod: str
    container: str | None = None
    previous: bool = False
    follow: bool = True
    wrap: bool = False
    timestamps: bool = False

    @property
    def title(self) -> str:
        flags = [name for name, on in (("follow", self.follow), ("wrap", self.wrap),
                                       ("timestamps", self.timestamps),
                                       ("previous", self.previous)) if on]
        where = f"{self.namespace}/{self.pod}" + (f" ({self.container})" if self.container else "")
        return f"logs {where}" + (f" · {' '.join(flags)}" if flags else "")


class LogView(RichLog):
    """The pane's RichLog; it says when the user scrolls back towards older lines."""

    class ScrolledBack(Message):
        """The user moved the view towards the start of the log."""

    def _scrolled_back(self) -> None:
        self.post_message(self.ScrolledBack())

    def action_scroll_up(self) -> None:
        self._scrolled_back()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._scrolled_back()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._scrolled_back()
        super().action_scroll_home()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._scrolled_back()


class LogPane(Vertical, can_focus=False):
    """A bordered RichLog fed by a follow worker; `open(target)` starts it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "switch('follow')", "Follow"),
        Binding("w", "switch('wrap')", "Wrap"),
        Binding("t", "switch('timestamps')", "Timestamps"),
        Binding("p", "switch('previous')", "Previous"),
    ]

    def __init__(self, client: Client, *, batch_interval: float = 0.1, max_lines: int = 5000,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._client = client
        self._batch_interval = batch_interval
        self._lines: collections.deque[Any] = collections.deque(maxlen=max_lines)
        self._pending: list[Any] = []
        self.target: LogTarget | None = None
        self.error: str = ""
        """The last failure reading the log (shown in the pane, and kept for tests)."""

    def compose(self):  # type: ignore[no-untyped-def]
        yield LogView(id="log-view", max_lines=self._lines.maxlen, wrap=False, markup=False,
                      highlight=False, auto_scroll=True)

    @property
    def view(self) -> RichLog:
        return self.query_one("#log-view", RichLog)

    def on_mount(self) -> None:
        self.set_interval(self._batch_interval, self._write_pending)

    # -- opening ---------------------------------------------------------------------------

    def open(self, target: LogTarget) -> None:
        """Show this container's log (replacing whatever the pane showed)."""
        self.target = target
        self.error = ""
        self._lines.clear()
        self._pending.clear()
        self.view.clear()
        self.view.wrap = target.wrap
        self.view.auto_scroll = target.follow
        self.border_title = target.title
        self._read(target)

    def close(self) -> None:
        self.target = None
        self.workers.cancel_group(self, "logs")

    def action_switch(self, what: str) -> None:
        """Flip one of follow, wrap, timestamps, previous."""
        if self.target is None or what not in ("follow", "wrap", "timestamps", "previous"):
            return
        flipped: dict[str, Any] = {what: not getattr(self.target, what)}
        target = replace(self.target, **flipped)
        if what == "previous":
            self.open(target)
            return
        if what == "follow":
            self._set_follow(target.follow)
            return
        self.target = target
        self.border_title = target.title
        self.view.wrap = target.wrap
        self._rerender()

    def _set_follow(self, follow: bool) -> None:
        """Autoscroll on or off; the stream goes on either way. On jumps to the end."""
        if self.target is None or self.target.follow == follow:
            return
        self.target = replace(self.target, follow=follow)
        self.border_title = self.target.title
        self.view.auto_scroll = follow
        if follow:
            self._write_pending()
            self.view.scroll_end(animate=False)

    def on_log_view_scrolled_back(self, event: LogView.ScrolledBack) -> None:
        event.stop()
        self._set_follow(False)

    @property
    def text(self) -> str:
        """Every line the pane holds, as shown (for tests and scripts)."""
        assert self.target is not None
        return "\n".join(format_line(line, self.target.timestamps) for line in self._lines)

    # -- reading ---------------------------------------------------------------------------

    @work(exclusive=True, group="logs")
    async def _read(self, target: LogTarget) -> None:
        try:
            stream: AsyncIterator[Any] = self._client.follow_pod_logs(
                target.pod, target.namespace, container=target.container,
                previous=target.previous)
            async for line in stream:
                self._pending.append(line)
        except errors.APIError as e:
            self._fail(e.message)

    def _fail(self, message: str) -> None:
        self.error = message
        self._write_pending()
        self.view.write(Text(message, style="bold red"))

    def _write_pending(self) -> None:
        if not self._pending or self.target is None:
            return
        batch, self._pending = self._pending, []
        self._lines.extend(batch)
        timestamps = self.target.timestamps
        self.view.write(Text("\n".join(format_line(line, timestamps) for line in batch)),
                        scroll_end=self.target.follow)

    def _rerender(self) -> None:
        assert self.target is not None
        self.view.clear()
        if self._lines:
            self.view.write(Text(self.text), scroll_end=self.target.follow)
