"""The Redis HA pane: the primary, its replicas, what each sentinel believes, the writes,
and the last failover's timeline.

It draws an `HAView` (`tui.haview`) in three parts — topology, writes, timeline — which
the stylesheet lays out side by side under the table (`-ha-bottom`) or stacked right of
it (`-ha-right`). Only `show()` changes what it draws; the app calls it when the view
changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from cluster.api import objects
from tui.haview import HAView, SentinelRow, short_names
from tui.roles import Role
from tui.timeline import Step, Timeline
from tui.writes import Second

NO_FAILOVER = "no RedisFailover"
SPARK_LEVELS = "▁▂▃▄▅▆▇█"
_PHASE_STYLES = {"Ready": "bold $success", "Failover": "bold $error",
                 "Degraded": "bold $warning", "Bootstrapping": "bold $warning"}


def sparkline(seconds: tuple[Second, ...]) -> Content:
    """One character per second, its height the acknowledged writes (scaled to the
    busiest second); a second with failed writes is red, one with nothing at all a dot."""
    peak = max((s.acked for s in seconds), default=0)
    parts: list[tuple[str, str]] = []
    for s in seconds:
        if s.acked == 0 and s.failed == 0:
            parts.append(("·", "$text-muted"))
            continue
        level = 0 if peak == 0 else math.ceil(s.acked / peak * len(SPARK_LEVELS)) - 1
        char = SPARK_LEVELS[min(max(level, 0), len(SPARK_LEVELS) - 1)]
        parts.append((char, "$error" if s.failed else "$success"))
    return Content.assemble(*parts)


def _number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def topology(view: HAView, *, wide: bool) -> Content:
    """The primary, the replicas (offset, lag, link) and the sentinels' beliefs."""
    head: list[Any] = [("Primary ", "$text-muted"),
                       (view.primary or "none", "bold $success" if view.primary else "bold $error")]
    if wide and view.primary_ip:
        head.append((f" {view.primary_ip}", "$text-muted"))
    head += [("  epoch ", "$text-muted"), (view.epoch, "bold")]
    lines = [Content.assemble(*head)]
    width = max([10] + [len(r.name) for r in view.replicas])
    lines.append(Content.styled(f"{'REPLICA':<{width}} {'OFFSET':>8} {'LAG':>6} LINK",
                                "bold $text-muted"))
    for r in view.replicas:
        link_style = "$success" if r.link == "up" else "bold $error"
        lag_style = "$warning" if r.lag else ""
        name_style = "$primary-lighten-2" if r.role == "replica" else "bold $error"
        lines.append(Content.assemble((f"{r.name:<{width}}", name_style),
                                      f" {_number(r.offset):>8} ",
                                      (f"{_number(r.lag):>6}", lag_style), " ",
                                      (r.link or "?", link_style)))
    if not view.replicas:
        lines.append(Content.styled("no replicas", "$text-muted"))
    lines += _sentinel_lines(view.sentinels)
    return Content("\n").join(lines)


def _sentinel_lines(sentinels: tuple[SentinelRow, ...]) -> list[Content]:
    short = short_names(s.name for s in sentinels)
    width = max([8] + [len(v) for v in short.values()])
    believes_width = max([10] + [len(s.believes) for s in sentinels])
    lines = [Content.styled(f"{'SENTINEL':<{width}} {'BELIEVES':<{believes_width}} "
                            f"{'EPOCH':>5} STATE", "bold $text-muted")]
    for s in sentinels:
        state = "idle" if s.state == "none" else s.state
        lines.append(Content.assemble(
            (f"{short[s.name]:<{width}} ", "mediumpurple"),
            (f"{s.believes or '—':<{believes_width}}", "$success" if s.agrees else "bold $error"),
            f" {_number(s.epoch):>5} ",
            (state, "" if state == "idle" else "bold $warning")))
    if not sentinels:
        lines.append(Content.styled("no sentinels", "$text-muted"))
    return lines


def counters(view: HAView) -> Content:
    """Writes/s, then acknowledged, failed and lost (lost in red when any)."""
    w = view.writes
    if not w.present:
        return Content.styled("Writes: no writer pod\n(label redisha.io/writes-to)",
                              "$text-muted")
    t = w.totals
    first = Content.assemble(("Writes ", "$text-muted"), (f"{w.rate}/s", "bold"))
    second = Content.assemble(("acked ", "$text-muted"), (f"{t.acked:,}", "bold $success"),
                              ("  failed ", "$text-muted"),
                              (f"{t.failed:,}", "bold $warning" if t.failed else "bold"),
                              ("  lost ", "$text-muted"),
                              (f"{t.lost:,}", "bold $error" if t.lost else "bold"))
    return Content("\n").join([first, second])


def _step_value(timeline: Timeline, step: Step) -> tuple[str, str]:
    ms = timeline.ms(step)
    if ms is None:
        return ("…" if not timeline.done else "—"), "$text-muted"
    if step is Step.FAULT and ms == 0:
        return "0 ms", "bold"
    return f"{ms:+,} ms", "$success bold" if step is Step.FIRST_WRITE else "bold"


_COMPACT_LABEL = 8
_COMPACT_CELL = 17
"""A step in the compact timeline: its label (8) and its value (9), two to a line."""


def _step_label(timeline: Timeline, step: Step, width: int) -> str:
    if step is Step.FAULT and (timeline.fault or timeline.reason):
        return f"fault {timeline.fault or timeline.reason}"[:width]
    return step.value


def _compact_cell(timeline: Timeline, step: Step) -> Content:
    value, style = _step_value(timeline, step)
    if step is Step.FIRST_WRITE:  # alone on its line, under its full name
        label, width = step.value, 2 * _COMPACT_CELL + 1
    else:
        label = (timeline.fault or "fault") if step is Step.FAULT else step.value
        label, width = label[:_COMPACT_LABEL].ljust(_COMPACT_LABEL), _COMPACT_CELL
    return Content.assemble((label, "$text-muted"), (value.rjust(width - len(label)), style))


def _compact_steps(timeline: Timeline) -> list[Content]:
    """Two steps a line, the first write alone on the last. In an 80-column terminal this
    keeps the whole pane as short as the topology beside it, so the pods table keeps its
    rows."""
    cells = [_compact_cell(timeline, step) for step, _ in timeline.steps]
    pairs = [Content(" ").join(cells[i:i + 2]) for i in range(0, len(cells) - 1, 2)]
    return pairs + cells[len(pairs) * 2:]


def timeline_content(view: HAView, *, compact: bool = False) -> Content:
    """The last failover (or the one under way), step by step in ms from the fault;
    `compact` puts two steps on a line."""
    timeline = view.timeline
    if timeline is None:
        return Content.styled("No failover yet", "$text-muted")
    if timeline.done:
        title = Content.assemble((timeline.old, "bold"), " → ", (timeline.new, "bold $success"))
        if timeline.completed_ms is not None:
            title = Content.assemble(title, (f" · {timeline.completed_ms:,} ms", "bold"))
    else:
        elapsed = (view.elapsed_ms or 0) / 1000
        title = Content.assemble(("Failing over ", "bold $error"), (timeline.old, "bold"),
                                 (f" · {elapsed:.1f} s", "$text-muted"))
    if compact:
        return Content("\n").join([title, *_compact_steps(timeline)])
    lines = [title]
    for step, _ in timeline.steps:
        value, style = _step_value(timeline, step)
        lines.append(Content.assemble((f"{_step_label(timeline, step, 18):<18}", "$text-muted"),
                                      (f"{value:>11}", style)))
    return Content("\n").join(lines)


def without_failover(roles: Mapping[str, Role]) -> Content:
    """"no RedisFailover", and the roles known of Redis pods all the same."""
    lines = [Content.styled(NO_FAILOVER, "$text-warning")]
    for title, role, style in (("Primary", Role.PRIMARY, "bold $success"),
                               ("Replicas", Role.REPLICA, "$primary-lighten-2"),
                               ("Sentinels", Role.SENTINEL, "mediumpurple")):
        names = sorted(objects.split_key(k)[1] for k, r in roles.items() if r is role)
        if names:
            lines.append(Content.assemble((f"{title} ", "$text-muted"),
                                          (", ".join(names), style)))
    return Content("\n").join(lines)


class WriteSpark(Widget):
    """The write-rate sparkline, as many seconds as the pane is wide (newest right)."""

    DEFAULT_CSS = """
    WriteSpark { height: 1; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.seconds: tuple[Second, ...] = ()

    def update_seconds(self, seconds: tuple[Second, ...]) -> None:
        if seconds != self.seconds:
            self.seconds = seconds
            self.refresh()

    def render(self) -> Content:
        width = max(1, self.size.width)
        return sparkline(self.seconds[-width:])


class HAPane(Vertical):
    """The pane; `show(view)` draws a RedisFailover, `show(None)` says there is none."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: HAView | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content.styled(NO_FAILOVER, "$text-warning"), id="ha-topology")
        with Vertical(id="ha-side"):
            with Vertical(id="ha-writes"):
                yield Static("", id="ha-counters")
                yield WriteSpark(id="ha-spark")
            yield Static("", id="ha-timeline")

    def on_mount(self) -> None:
        self.border_title = "Redis HA"
        self.query_one("#ha-writes").display = False
        self.query_one("#ha-timeline").display = False

    def show(self, view: HAView | None, *, wide: bool = True, compact: bool = False,
             roles: Mapping[str, Role] | None = None) -> None:
        """Draw `view`; `wide` when the topology has room for the primary's address,
        `compact` when the timeline must be short (an 80-column terminal).
        Without a RedisFailover, `roles` (by `ns/name`) are what is known of Redis pods
        nobody manages (the tutorial's StatefulSet, asked with `redis-cli role`)."""
        self.view = view
        topology_widget = self.query_one("#ha-topology", Static)
        writes = self.query_one("#ha-writes")
        timeline = self.query_one("#ha-timeline", Static)
        if view is None:
            self.border_title = "Redis HA"
            self.border_subtitle = ""
            topology_widget.update(without_failover(roles or {}))
            writes.display = timeline.display = False
            return
        style = _PHASE_STYLES.get(view.phase, "bold")
        self.border_title = Content.assemble("Redis HA · ", (view.key, "bold"), " · ",
                                             (view.phase, style))
        self.border_subtitle = (f"+{len(view.others)} more: {', '.join(view.others)}"
                                if view.others else "")
        topology_widget.update(topology(view, wide=wide))
        writes.display = timeline.display = True
        self.query_one("#ha-counters", Static).update(counters(view))
        self.query_one("#ha-spark", WriteSpark).update_seconds(view.writes.seconds)
        timeline.update(timeline_content(view, compact=compact))

    @property
    def text(self) -> str:
        """What the pane says, unstyled (for tests and scripts)."""
        parts = [str(w.render()) for w in self.query(Static) if w.display]
        return "\n".join(parts)
