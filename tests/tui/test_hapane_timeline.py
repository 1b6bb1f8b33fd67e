"""The HA pane's failover timeline as text: one step a line, or two (compact, for an
80-column terminal)."""

from __future__ import annotations

from tui.haview import HAView, WritesRow
from tui.timeline import Step, Timeline
from tui.widgets.hapane import timeline_content

T = 1_800_000_000.0


def _view() -> HAView:
    steps = ((Step.FAULT, T), (Step.SDOWN, None), (Step.ODOWN, None),
             (Step.ELECTED, T + 0.079), (Step.PROMOTED, T + 0.086), (Step.SWITCH, T + 0.091),
             (Step.FIRST_WRITE, T + 1.176))
    timeline = Timeline(old="rfr-demo-0", new="rfr-demo-2", reason="PodDeleted", epoch=1,
                        anchor=T, steps=steps, done=True, completed=T + 0.115, fault="kill")
    return HAView(key="default/demo", phase="Ready", primary="rfr-demo-2",
                  primary_ip="10.0.0.2", epoch="1", replicas=(), sentinels=(),
                  writes=WritesRow(present=True), timeline=timeline)


def test_one_step_a_line() -> None:
    """The wide form: a title, then each of the seven steps on its own line."""
    lines = str(timeline_content(_view())).splitlines()
    assert lines[0] == "rfr-demo-0 → rfr-demo-2 · 115 ms"
    assert len(lines) == 8
    assert lines[1].split() == ["fault", "kill", "0", "ms"]
    assert lines[7].split() == ["first", "write", "+1,176", "ms"]


def test_compact_puts_two_steps_a_line_within_35_columns() -> None:
    """Compact: the title and four lines (the first write alone on the last), none wider
    than the 35 columns the pane gives the timeline at 80 columns."""
    lines = str(timeline_content(_view(), compact=True)).splitlines()
    assert len(lines) == 5 and all(len(line) <= 35 for line in lines), lines
    assert lines[1].split() == ["kill", "0", "ms", "sdown", "—"]
    assert lines[2].split() == ["odown", "—", "elected", "+79", "ms"]
    assert lines[3].split() == ["promoted", "+86", "ms", "switch", "+91", "ms"]
    assert lines[4].split() == ["first", "write", "+1,176", "ms"]
