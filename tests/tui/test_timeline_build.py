"""A failover's timeline from the RedisFailover's status, sentinel events, the writer's
acks and the faults the dashboard injected (pure)."""

from __future__ import annotations

from typing import Any

from cluster.api import objects
from tui import timeline
from tui.sentinel_events import SentinelEvent
from tui.timeline import FaultMark, Step
from tui.writes import WriteStats, parse_writer_line

T = 1_800_000_000.0
OLD, NEW = "10.0.0.1", "10.0.0.2"


def _rf(status: dict[str, Any], down_after_ms: int = 500) -> dict[str, Any]:
    return {"apiVersion": "redisha.io/v1", "kind": "RedisFailover",
            "metadata": {"name": "demo", "namespace": "default"},
            "spec": {"sentinel": {"downAfterMilliseconds": down_after_ms}}, "status": status}


def _last(reason: str, started: float, promoted: float, completed: float) -> dict[str, Any]:
    return {"reason": reason, "from": "rfr-0", "to": "rfr-1", "epoch": 1,
            "startedAt": objects.format_micro_time(started),
            "promotedAt": objects.format_micro_time(promoted),
            "completedAt": objects.format_micro_time(completed)}


def _event(at: float, kind: str, subject: str = "master", master: str = OLD,
           ip: str = OLD) -> SentinelEvent:
    return SentinelEvent(at, "s1", kind, subject, master, ip)


SWITCH_EVENTS = (
    _event(T + 0.060, "+elected-leader"),
    _event(T + 0.080, "+promoted-slave", "slave", OLD, NEW),
    _event(T + 0.085, "+switch-master", "", OLD, NEW),
    _event(T + 0.090, "+switch-master", "", OLD, NEW),
)


def _writes(*acks: tuple[float, str]) -> WriteStats:
    stats = WriteStats()
    for at, ip in acks:
        line = parse_writer_line(f"ack n=1 key=k server={ip}:6379 acked=1 failed=0 lost=0")
        assert line is not None
        stats.add("w", at, line)
    return stats


def _ms(t: timeline.Timeline | None) -> dict[Step, int | None]:
    assert t is not None
    return {step: t.ms(step) for step, _ in t.steps}


def test_a_killed_primary_runs_from_the_key_press_to_the_first_write() -> None:
    """PodDeleted with the dashboard's kill mark: fault 0, no SDOWN/ODOWN (the API path),
    the sentinels' election, promotion and switch, then the first write on the new
    primary; done, with the time until the primary Service moved."""
    status = {"phase": "Ready", "primary": "rfr-1", "primaryIP": NEW,
              "lastFailover": _last("PodDeleted", T + 0.004, T + 0.080, T + 0.120)}
    t = timeline.build(_rf(status), events=SWITCH_EVENTS,
                       writes=_writes((T - 1, OLD), (T + 0.150, NEW), (T + 0.170, NEW)),
                       marks=[FaultMark(T, "kill", ("default/rfr-0",))], ip_of={}, now=T + 5)
    assert t is not None and t.done and (t.old, t.new, t.fault) == ("rfr-0", "rfr-1", "kill")
    assert _ms(t) == {Step.FAULT: 0, Step.SDOWN: None, Step.ODOWN: None, Step.ELECTED: 60,
                      Step.PROMOTED: 80, Step.SWITCH: 85, Step.FIRST_WRITE: 150}
    assert t.completed_ms == 120


def test_without_a_mark_an_odown_failover_starts_at_its_first_step() -> None:
    """A hang nobody here injected: the fault time is unknown, time zero is the first
    SDOWN, and events of an earlier failover are not mixed in."""
    events = (_event(T - 100, "+sdown"), _event(T, "+sdown"), _event(T + 0.02, "+odown"),
              *SWITCH_EVENTS)
    status = {"phase": "Ready", "primary": "rfr-1", "primaryIP": NEW,
              "lastFailover": _last("ODOWN", T + 0.02, T + 0.08, T + 0.1)}
    ms = _ms(timeline.build(_rf(status), events=events, writes=_writes(), marks=[],
                            ip_of={}, now=T + 5))
    assert ms == {Step.FAULT: None, Step.SDOWN: 0, Step.ODOWN: 20, Step.ELECTED: 60,
                  Step.PROMOTED: 80, Step.SWITCH: 85, Step.FIRST_WRITE: None}


def test_a_fault_on_the_primary_shows_a_failover_under_way() -> None:
    """The dashboard hung the primary: under way at once, steps filling in as the
    sentinels log them."""
    status = {"phase": "Ready", "primary": "rfr-0", "primaryIP": OLD}
    marks = [FaultMark(T, "hang", ("default/rfr-0",))]
    events = (_event(T + 0.55, "+sdown"),)
    t = timeline.build(_rf(status), events=events, writes=_writes(), marks=marks, ip_of={},
                       now=T + 0.6)
    assert t is not None and not t.done and (t.old, t.new) == ("rfr-0", "")
    assert _ms(t)[Step.FAULT] == 0 and _ms(t)[Step.SDOWN] == 550
    assert _ms(t)[Step.ODOWN] is None and timeline.elapsed_ms(t, T + 0.6) == 600


def test_a_fault_that_came_to_nothing_stops_counting() -> None:
    """A hang thawed before down-after: once down-after plus the margin passed with no
    SDOWN, the pane is back to the last failover (here: none)."""
    status = {"phase": "Ready", "primary": "rfr-0", "primaryIP": OLD}
    marks = [FaultMark(T, "hang", ("default/rfr-0",))]
    later = T + 0.5 + timeline.PENDING_MARGIN + 1
    assert timeline.build(_rf(status), events=(), writes=_writes(), marks=marks, ip_of={},
                          now=later) is None


def test_the_failover_phase_right_after_a_switch_is_not_a_new_failover() -> None:
    """The phase stays Failover while sentinels reconfigure replicas after the switch: the
    timeline is the finished one, not one of the new primary."""
    status = {"phase": "Failover", "primary": "rfr-1", "primaryIP": NEW,
              "lastFailover": _last("PodDeleted", T, T + 0.08, T + 0.1)}
    t = timeline.build(_rf(status), events=SWITCH_EVENTS, writes=_writes(), marks=[],
                       ip_of={}, now=T + 0.3)
    assert t is not None and t.done and t.new == "rfr-1"


def test_a_requested_failover_not_yet_completed_is_under_way() -> None:
    """The operator's fast path wrote `lastFailover` without `completedAt`: under way, from
    the pod it names."""
    status = {"phase": "Failover", "primary": "rfr-0", "primaryIP": OLD,
              "lastFailover": {"reason": "PodDeleted", "from": "rfr-0",
                               "startedAt": objects.format_micro_time(T)}}
    t = timeline.build(_rf(status), events=(_event(T + 0.06, "+elected-leader"),),
                       writes=_writes(), marks=[], ip_of={}, now=T + 0.1)
    assert t is not None and not t.done and t.reason == "PodDeleted"
    assert _ms(t)[Step.FAULT] == 0 and _ms(t)[Step.ELECTED] == 60  # detection ≈ the fault


def test_no_failover_no_timeline() -> None:
    """A fresh, healthy RedisFailover has no timeline."""
    status = {"phase": "Ready", "primary": "rfr-0", "primaryIP": OLD}
    assert timeline.build(_rf(status), events=(), writes=_writes(), marks=[], ip_of={},
                          now=T) is None
