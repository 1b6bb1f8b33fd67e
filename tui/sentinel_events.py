"""Sentinel events, read from sentinel pods' logs in Sentinel's own format.

Every sentinel logs each event it publishes, Redis' log line around the event's text:

```
1:X 26 Nov 2026 18:51:50.554 # +switch-master mymaster 127.10.0.2 6379 127.10.0.3 6379
1:X 26 Nov 2026 18:51:50.511 # +sdown master mymaster 127.10.0.2 6379
1:X 26 Nov 2026 18:51:50.538 # +promoted-slave slave 127.10.0.3:6379 127.10.0.3 6379 @ mymaster 127.10.0.2 6379
```

(the built-in sentinel and Redis Sentinel 7 alike). The text after the event name is
Sentinel's `%@` form: `master <name> <ip> <port>` for a master, `<type> <name> <ip> <port>
@ <master name> <master ip> <master port>` for a replica or a sentinel, and
`+switch-master` has its own `<name> <old ip> <old port> <new ip> <new port>`. The
dashboard reads those lines through the API (`client.follow_pod_logs`), as `kubectl logs`
would. Each event is stamped with the line's own timestamp (the sentinel's local time, to
the millisecond) when it agrees with the time the kubelet received the line, else with
the kubelet's time (`_stamped`); both are the wall clock the operator stamps
`status.lastFailover` with.
"""

from __future__ import annotations

import datetime
import re
from collections import deque
from dataclasses import dataclass

FAILOVER_KINDS = frozenset({
    "+sdown", "-sdown", "+odown", "-odown", "+try-failover", "+elected-leader",
    "+promoted-slave", "+switch-master", "+failover-end", "+failover-end-for-timeout",
    "+failover-abort-no-good-slave",
})
"""The events a failover's timeline is made of; the rest (hello, +slave, +sentinel) are
not kept."""

_LINE = re.compile(
    r"^\d+:[XCMS] (?P<stamp>\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d(?:\.\d+)?) "
    r"[.\-*#] (?P<kind>[+-][a-z][a-z-]*)(?: (?P<rest>.*))?$")
STAMP_TRUST = 2.0
"""A line's own timestamp is used when it is within this many seconds of the kubelet's."""


@dataclass(frozen=True, slots=True)
class SentinelEvent:
    """One event one sentinel logged."""

    at: float
    """When its line reached the kubelet (wall-clock seconds)."""
    sentinel: str
    """The sentinel pod's name."""
    kind: str
    """`+sdown`, `+switch-master`, …"""
    subject: str
    """`master`, `slave` or `sentinel`; '' for events without an instance
    (`+switch-master`)."""
    master_ip: str
    """The master the event concerns (`+switch-master`: the old one)."""
    ip: str
    """The instance's address (a promoted replica's; `+switch-master`: the new master's)."""


def parse_line(text: str, *, at: float, sentinel: str) -> SentinelEvent | None:
    """The event in one sentinel log line, if it is one the timeline uses."""
    match = _LINE.match(text)
    if match is None or match["kind"] not in FAILOVER_KINDS:
        return None
    at = _stamped(match["stamp"], at)
    kind, words = match["kind"], (match["rest"] or "").split()
    if kind == "+switch-master":
        if len(words) < 5:
            return None
        return SentinelEvent(at, sentinel, kind, "", words[1], words[3])
    if len(words) < 4:
        return None
    subject, ip = words[0], words[2]
    if subject == "master":
        return SentinelEvent(at, sentinel, kind, subject, ip, ip)
    if len(words) >= 7 and words[4] == "@":
        return SentinelEvent(at, sentinel, kind, subject, words[6], ip)
    return None


def _stamped(stamp: str, received: float) -> float:
    """The line's own time (Redis logs local time, to the millisecond) when it agrees with
    when the kubelet received the line. A real process's output reaches the kubelet in
    batches, so the kubelet's times lump a failover's steps together; the log's own keep
    them apart. A clock or time zone that disagrees falls back to the kubelet's time."""
    try:
        own = datetime.datetime.strptime(stamp, "%d %b %Y %H:%M:%S.%f").timestamp()
    except ValueError:
        return received
    return own if abs(own - received) <= STAMP_TRUST else received


class SentinelEventLog:
    """The latest failover events of one RedisFailover's sentinels, oldest first."""

    def __init__(self, limit: int = 2000) -> None:
        self._events: deque[SentinelEvent] = deque(maxlen=limit)

    def add(self, event: SentinelEvent) -> None:
        self._events.append(event)

    def events(self) -> tuple[SentinelEvent, ...]:
        """Sorted by time (lines of several sentinels arrive interleaved)."""
        return tuple(sorted(self._events, key=lambda e: e.at))

    def __len__(self) -> int:
        return len(self._events)
