"""Sentinel log lines → the events a failover timeline is made of."""

from __future__ import annotations

import datetime

import pytest

from tui.sentinel_events import SentinelEvent, SentinelEventLog, parse_line

PREFIX = "1:X 26 Nov 2026 18:51:50.554 # "


@pytest.mark.parametrize("text,expected", [
    pytest.param("+sdown master mymaster 10.0.0.1 6379",
                 ("+sdown", "master", "10.0.0.1", "10.0.0.1"), id="sdown-master"),
    pytest.param("+odown master mymaster 10.0.0.1 6379 #quorum 2/2",
                 ("+odown", "master", "10.0.0.1", "10.0.0.1"), id="odown-quorum"),
    pytest.param("+elected-leader master mymaster 10.0.0.1 6379",
                 ("+elected-leader", "master", "10.0.0.1", "10.0.0.1"), id="elected"),
    pytest.param("+promoted-slave slave 10.0.0.2:6379 10.0.0.2 6379 @ mymaster 10.0.0.1 6379",
                 ("+promoted-slave", "slave", "10.0.0.1", "10.0.0.2"), id="promoted"),
    pytest.param("+switch-master mymaster 10.0.0.1 6379 10.0.0.2 6379",
                 ("+switch-master", "", "10.0.0.1", "10.0.0.2"), id="switch"),
    pytest.param("+sdown slave 10.0.0.1:6379 10.0.0.1 6379 @ mymaster 10.0.0.2 6379",
                 ("+sdown", "slave", "10.0.0.2", "10.0.0.1"), id="sdown-replica"),
    pytest.param("+try-failover master mymaster 10.0.0.1 6379 #forced",
                 ("+try-failover", "master", "10.0.0.1", "10.0.0.1"), id="forced"),
])
def test_failover_events_are_parsed(text: str, expected: tuple[str, str, str, str]) -> None:
    """Each event's kind, subject, the master it concerns and the instance's address."""
    event = parse_line(PREFIX + text, at=12.5, sentinel="rfs-a")
    assert event is not None
    assert (event.kind, event.subject, event.master_ip, event.ip) == expected
    assert (event.at, event.sentinel) == (12.5, "rfs-a")


@pytest.mark.parametrize("text", [
    pytest.param(PREFIX + "+slave slave 10.0.0.2:6379 10.0.0.2 6379 @ mymaster 10.0.0.1 6379",
                 id="not-a-failover-event"),
    pytest.param(PREFIX + "Sentinel new configuration saved on disk", id="log-line"),
    pytest.param("+sdown master mymaster 10.0.0.1 6379", id="no-redis-prefix"),
    pytest.param(PREFIX + "+switch-master mymaster 10.0.0.1", id="truncated"),
    pytest.param("1:X 26 Nov 2026 18:51:50.554 * +sdown master", id="too-short"),
])
def test_other_lines_are_not_events(text: str) -> None:
    """Hello chatter, plain log lines and garbled events are skipped."""
    assert parse_line(text, at=0.0, sentinel="rfs-a") is None


def test_redis_7_sentinel_lines_parse_too() -> None:
    """Redis Sentinel 7's own log (pid, role X, `*`/`#` levels) reads the same."""
    event = parse_line("27163:X 01 Dec 2026 09:02:03.101 # +odown master mymaster "
                       "127.0.0.5 6379 #quorum 3/2", at=1.0, sentinel="s")
    assert event == SentinelEvent(1.0, "s", "+odown", "master", "127.0.0.5", "127.0.0.5")


def test_the_lines_own_millisecond_wins_when_it_agrees_with_the_kubelets_time() -> None:
    """A real process's lines reach the kubelet in batches: the log's own timestamp keeps
    the steps apart, unless it is far from when the line arrived (another clock)."""
    own = datetime.datetime(2026, 11, 26, 18, 51, 50, 554000).timestamp()
    line = "1:X 26 Nov 2026 18:51:50.554 # +sdown master mymaster 10.0.0.1 6379"
    event = parse_line(line, at=own + 0.3, sentinel="s")
    assert event is not None and event.at == pytest.approx(own)
    event = parse_line(line, at=own + 60, sentinel="s")
    assert event is not None and event.at == own + 60


def test_the_log_keeps_the_latest_events_in_time_order() -> None:
    """Events from several sentinels come back sorted by time; the oldest fall off."""
    log = SentinelEventLog(limit=2)
    for at in (3.0, 1.0, 2.0):
        log.add(SentinelEvent(at, "s", "+sdown", "master", "ip", "ip"))
    assert [e.at for e in log.events()] == [1.0, 2.0]
