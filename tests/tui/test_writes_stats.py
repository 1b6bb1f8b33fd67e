"""The writer's log lines → counters, rates and the first write on a server."""

from __future__ import annotations

import pytest

from redisha.writer.lines import LineKind, format_line
from redisha.writer.lines import Totals as WriterTotals
from tui.writes import Second, Totals, WriteStats, parse_writer_line


def _ack(n: int, server: str = "10.0.0.1", acked: int | None = None, failed: int = 0,
         lost: int = 0) -> str:
    return format_line(LineKind.ACK, WriterTotals(acked if acked is not None else n, failed, lost),
                       n=n, key=f"w:{n}", server=f"{server}:6379", ms="0.40")


def test_the_writers_own_lines_parse() -> None:
    """What `redisha.writer` prints is what the dashboard reads (one format, two sides)."""
    line = parse_writer_line(_ack(7, acked=5, failed=2))
    assert line is not None
    assert (line.kind, line.server_ip, line.totals) == ("ack", "10.0.0.1", Totals(5, 2, 0))
    fail = parse_writer_line(format_line(LineKind.FAIL, WriterTotals(5, 3, 0), n=8, key="w:8",
                                         error='timed out after 0.5s "really"'))
    assert fail is not None and fail.fields["error"] == "timed out after 0.5s 'really'"


@pytest.mark.parametrize("text", [
    pytest.param("Traceback (most recent call last):", id="traceback"),
    pytest.param("ack n=1 key=w:1", id="no-totals"),
    pytest.param("ack acked=x failed=0 lost=0", id="bad-number"),
])
def test_other_lines_are_ignored(text: str) -> None:
    """Anything without the totals is not counted."""
    assert parse_writer_line(text) is None


def test_totals_come_from_the_latest_line_of_each_run() -> None:
    """Each pod's latest totals count; a restarted run (`started`) adds to the earlier
    one's; two writer pods add up."""
    stats = WriteStats()
    started = format_line(LineKind.STARTED, WriterTotals(), prefix="w:1", target="x:6379",
                          rate="50")
    for at, text in ((1.0, started), (1.1, _ack(1)), (1.2, _ack(2, failed=1, lost=1)),
                     (5.0, started), (5.1, _ack(1))):
        line = parse_writer_line(text)
        assert line is not None
        stats.add("pod-a", at, line)
    other = parse_writer_line(_ack(3))
    assert other is not None
    stats.add("pod-b", 5.2, other)
    assert stats.totals() == Totals(2 + 1 + 3, 1, 1)


def test_rate_and_seconds_count_acks_and_failures_per_second() -> None:
    """The rate is the last complete second's acks; seconds carry acks and failures."""
    stats = WriteStats()
    fail = parse_writer_line(format_line(LineKind.FAIL, WriterTotals(0, 1, 0), n=1, key="k",
                                         error="x"))
    assert fail is not None
    for at in (10.1, 10.5, 11.2, 11.4, 11.6):
        line = parse_writer_line(_ack(1))
        assert line is not None
        stats.add("p", at, line)
    stats.add("p", 12.3, fail)
    assert stats.rate(12.5) == 3
    assert stats.seconds(13.0, 3) == (Second(2, 0), Second(3, 0), Second(0, 1))


def test_first_ack_finds_the_first_write_a_server_took_after_a_time() -> None:
    """The first acknowledged write on the new primary after the switch."""
    stats = WriteStats()
    for at, server in ((1.0, "10.0.0.1"), (1.5, "10.0.0.1"), (3.0, "10.0.0.2"),
                       (3.5, "10.0.0.2")):
        line = parse_writer_line(_ack(1, server=server))
        assert line is not None
        stats.add("p", at, line)
    assert stats.first_ack("10.0.0.2", 2.0) == 3.0
    assert stats.first_ack("10.0.0.1", 2.0) is None
    assert stats.first_ack("10.0.0.1", 0.0) == 1.0
