"""A failover's timeline: fault → sdown → odown → elected → promoted → switch → first write.

Three witnesses, each read through the API, are put side by side (pure; no I/O here):

- the RedisFailover's `status.lastFailover`, which the operator writes: `reason`, `from`,
  `to`, `epoch`, `startedAt` (the fault's detection by the API, or `+odown`),
  `promotedAt` and `completedAt` (the primary label moved: the primary Service points at
  the new pod);
- the sentinels' events from their pods' logs (`sentinel_events`): the first `+sdown`,
  `+odown`, `+elected-leader`, `+promoted-slave` and `+switch-master` about the old
  primary's address;
- the writer's log (`writes`): the first write the new primary acknowledged.

The fault itself is known only when this dashboard injected it (`FaultMark`): the API
sees a deleted pod, but a frozen process or a cut cable leaves no trace until the
sentinels' down-after has passed. Without a mark, an API-visible reason's `startedAt`
stands in for the fault (detection follows a deletion within milliseconds), and a hang's
fault time is unknown. Times are shown in milliseconds from the fault (or from the first
step known).

A failover under way (the phase says Failover, a fault was injected on the primary, or
sentinels report it down) gets a timeline too, with the steps seen so far.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cluster.api import objects
from tui.sentinel_events import SentinelEvent
from tui.writes import WriteStats

API_REASONS = frozenset({"PodDeleted", "ContainerExited", "NodeLost"})
"""`lastFailover.reason`s the API saw happen: their `startedAt` is the fault's detection."""
MARK_HORIZON = 120.0
"""A fault injected more than this many seconds before a failover is not its cause."""
PENDING_MARGIN = 15.0
"""Seconds beyond down-after that a fault on the primary (or its SDOWN) shows as a
failover under way while nothing else happens."""


class Step(str, enum.Enum):
    """The steps of a failover, in order."""

    FAULT = "fault"
    SDOWN = "sdown"
    ODOWN = "odown"
    ELECTED = "elected"
    PROMOTED = "promoted"
    SWITCH = "switch"
    FIRST_WRITE = "first write"


_EVENT_OF_STEP = {Step.SDOWN: "+sdown", Step.ODOWN: "+odown", Step.ELECTED: "+elected-leader",
                  Step.PROMOTED: "+promoted-slave", Step.SWITCH: "+switch-master"}


@dataclass(frozen=True)
class FaultMark:
    """A fault this dashboard injected: when, what, and the pods it hit (`ns/name`)."""

    at: float
    kind: str
    pods: tuple[str, ...]


@dataclass(frozen=True)
class Timeline:
    """One failover's steps; times are wall-clock seconds (None: not seen)."""

    old: str
    """The primary that was lost (pod name)."""
    new: str
    """The primary that replaced it; '' while the failover is under way."""
    reason: str
    epoch: int | None
    anchor: float
    """Time zero: the fault, or the first step known."""
    steps: tuple[tuple[Step, float | None], ...]
    done: bool
    completed: float | None = None
    """When the primary label moved (`lastFailover.completedAt`)."""
    fault: str = ""
    """What this dashboard did (`kill`, `hang`, …) when it injected the fault."""

    def at(self, step: Step) -> float | None:
        return dict(self.steps)[step]

    def ms(self, step: Step) -> int | None:
        """Milliseconds from time zero to `step`, if it was seen."""
        at = self.at(step)
        return None if at is None else round((at - self.anchor) * 1000)

    @property
    def completed_ms(self) -> int | None:
        """Milliseconds from time zero until the primary Service pointed at the new pod."""
        return None if self.completed is None else round((self.completed - self.anchor) * 1000)


def _time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return objects.parse_time(value)
    except ValueError:
        return None


def _first(events: Iterable[SentinelEvent], kind: str, master_ip: str, since: float,
           until: float, new_ip: str = "") -> SentinelEvent | None:
    for event in events:
        if event.at < since or event.at > until or event.kind != kind:
            continue
        if master_ip and event.master_ip != master_ip:
            continue
        if kind in ("+sdown", "+odown", "+elected-leader") and event.subject != "master":
            continue
        if new_ip and event.ip != new_ip:
            continue
        return event
    return None


def _mark_for(marks: Iterable[FaultMark], pod_key: str, since: float,
              until: float) -> FaultMark | None:
    found = None
    for mark in marks:
        if pod_key in mark.pods and since <= mark.at <= until:
            found = mark if found is None or mark.at > found.at else found
    return found


def build(rf: dict[str, Any], *, events: tuple[SentinelEvent, ...], writes: WriteStats,
          marks: Iterable[FaultMark], ip_of: Mapping[str, str], now: float) -> Timeline | None:
    """The timeline of `rf`'s failover under way, else of its last one; None if none.

    `ip_of` maps pod names (the RedisFailover's namespace) to their addresses now.
    """
    status = rf.get("status") or {}
    namespace = objects.namespace_of(rf)
    spec = (rf.get("spec") or {}).get("sentinel") or {}
    down_after = float(spec.get("downAfterMilliseconds") or 5000) / 1000
    last = status.get("lastFailover") or {}
    marks = list(marks)
    completed = _time(last.get("completedAt"))
    primary, primary_ip = str(status.get("primary") or ""), str(status.get("primaryIP") or "")

    if last and completed is None:
        # The operator asked the sentinels to fail over (fast path) and is waiting.
        old = str(last.get("from") or primary)
        started = _time(last.get("startedAt")) or now
        old_ip = primary_ip if old == primary else ip_of.get(old, "")
        reason = str(last.get("reason") or "")
        mark = _mark_for(marks, f"{namespace}/{old}", started - MARK_HORIZON, started)
        fault = mark.at if mark else started if reason in API_REASONS else None
        return _under_way(old, old_ip, reason, mark, fault, started, events, down_after, now)
    if primary:
        # A fault injected on the primary, or sentinels finding it down, starts a failover
        # that the operator cannot see yet; one that came to nothing (a hang thawed in
        # time) stops counting after down-after plus a margin.
        since = max(completed if completed is not None else -math.inf,
                    now - down_after - PENDING_MARGIN)
        mark = _mark_for(marks, f"{namespace}/{primary}", since, now)
        down = _first(events, "+sdown", primary_ip, since, now) if primary_ip else None
        start = mark.at if mark else down.at if down else None
        if start is None and status.get("phase") == "Failover" and \
                (completed is None or primary != last.get("to")):
            # (Right after a failover the phase stays Failover while the sentinels
            # reconfigure the replicas: that is the end of the last one, not a new one.)
            start = _unavailable_since(status) or now
        if start is not None:
            return _under_way(primary, primary_ip, "", mark, mark.at if mark else None, start,
                              events, down_after, now)
    if completed is None:
        return None
    return _finished(last, completed, namespace, primary, primary_ip, marks, events, writes,
                     ip_of, down_after)


def _unavailable_since(status: dict[str, Any]) -> float | None:
    """When the Available condition turned False (a second's precision)."""
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Available" and condition.get("status") == "False":
            return _time(condition.get("lastTransitionTime"))
    return None


def _under_way(old: str, old_ip: str, reason: str, mark: FaultMark | None,
               fault: float | None, start: float, events: tuple[SentinelEvent, ...],
               down_after: float, now: float) -> Timeline:
    since = fault if fault is not None else start - down_after - 1.0
    steps: list[tuple[Step, float | None]] = [(Step.FAULT, fault)]
    for step, kind in _EVENT_OF_STEP.items():
        event = _first(events, kind, old_ip, since, now) if old_ip else None
        steps.append((step, event.at if event else None))
    steps.append((Step.FIRST_WRITE, None))
    known = [at for _, at in steps if at is not None]
    anchor = fault if fault is not None else min(known + [start])
    return Timeline(old, "", reason, None, anchor, tuple(steps), done=False,
                    fault=mark.kind if mark else "")


def _finished(last: dict[str, Any], completed: float, namespace: str, primary: str,
              primary_ip: str, marks: list[FaultMark], events: tuple[SentinelEvent, ...],
              writes: WriteStats, ip_of: Mapping[str, str], down_after: float) -> Timeline:
    old, new = str(last.get("from") or ""), str(last.get("to") or "")
    reason = str(last.get("reason") or "")
    started = _time(last.get("startedAt")) or completed
    promoted_at = _time(last.get("promotedAt"))
    mark = _mark_for(marks, f"{namespace}/{old}", started - MARK_HORIZON, started)
    fault = mark.at if mark else started if reason in API_REASONS else None
    since = (fault if fault is not None else started - down_after) - 1.0
    until = completed + 1.0
    new_ip = primary_ip if new == primary else ip_of.get(new, "")
    switch = _first(events, "+switch-master", "", since, until, new_ip) if new_ip else None
    old_ip = switch.master_ip if switch else ""
    if not old_ip and new_ip:
        promoted = _first(events, "+promoted-slave", "", since, until, new_ip)
        old_ip = promoted.master_ip if promoted else ""
    steps: list[tuple[Step, float | None]] = [(Step.FAULT, fault)]
    for step, kind in _EVENT_OF_STEP.items():
        event = _first(events, kind, old_ip, since, until,
                       new_ip if step in (Step.PROMOTED, Step.SWITCH) else "") if old_ip \
            else None
        at = event.at if event else None
        if step is Step.PROMOTED and at is None:
            at = promoted_at
        steps.append((step, at))
    first_write = writes.first_ack(new_ip, fault if fault is not None else since) \
        if new_ip else None
    steps.append((Step.FIRST_WRITE, first_write))
    known = [at for _, at in steps if at is not None]
    anchor = fault if fault is not None else min(known + [started])
    epoch = last.get("epoch")
    return Timeline(old, new, reason, int(epoch) if isinstance(epoch, int) else None, anchor,
                    tuple(steps), done=True, completed=completed,
                    fault=mark.kind if mark else "")


def elapsed_ms(timeline: Timeline, now: float) -> int:
    """Milliseconds since time zero (for a failover under way)."""
    return max(0, round((now - timeline.anchor) * 1000))
