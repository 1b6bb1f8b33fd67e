"""How a writer workload's writes fare, from its pods' log lines.

The demo's writer (`redisha.writer`) logs one line per write attempt and per connection,
logfmt-shaped, each ending with its running totals:

```
ack n=41 key=w:41 server=127.10.0.3:6379 ms=0.42 acked=41 failed=0 lost=0
fail n=42 key=w:42 error="timed out after 0.5s" acked=41 failed=1 lost=0
lost count=1 first=w:41 last=w:41 server=127.10.0.4:6379 acked=41 failed=1 lost=1
```

The dashboard follows those lines through the API (`client.follow_pod_logs`), as a
person would with `kubectl logs -f`, rather than asking the writer anything: the totals
come from the latest line (so a dashboard that attaches late still has them), the write
rate and its sparkline from counting `ack` and `fail` lines per second of arrival, and
the first write on a new primary from the first `ack` that names its address.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

_FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')
_KINDS = frozenset({"started", "waiting", "connected", "ack", "fail", "verified", "lost", "stopped"})


@dataclass(frozen=True)
class Totals:
    """Acknowledged, failed and lost writes."""

    acked: int = 0
    failed: int = 0
    lost: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.acked + other.acked, self.failed + other.failed,
                      self.lost + other.lost)


@dataclass(frozen=True)
class WriterLine:
    """One parsed writer line."""

    kind: str
    fields: dict[str, str]
    totals: Totals

    @property
    def server_ip(self) -> str:
        return self.fields.get("server", "").rsplit(":", 1)[0]


def parse_writer_line(text: str) -> WriterLine | None:
    """The line's kind, fields and totals; None for anything else (a traceback, say)."""
    kind, _, rest = text.partition(" ")
    if kind not in _KINDS:
        return None
    fields = {name: value.strip('"') for name, value in _FIELD.findall(rest)}
    try:
        totals = Totals(int(fields["acked"]), int(fields["failed"]), int(fields["lost"]))
    except (KeyError, ValueError):
        return None
    return WriterLine(kind, fields, totals)


@dataclass(frozen=True)
class Second:
    """Writes seen in one second."""

    acked: int = 0
    failed: int = 0


class WriteStats:
    """Every writer pod's totals and recent per-second counts, for one RedisFailover."""

    def __init__(self, *, window: int = 300) -> None:
        self.window = window
        """Seconds of per-second counts kept (the sparkline's history)."""
        self._base: dict[str, Totals] = {}
        """Per source: totals of its finished runs (a restarted container counts anew)."""
        self._current: dict[str, Totals] = {}
        self._acks: Counter[int] = Counter()
        self._fails: Counter[int] = Counter()
        self._server: dict[str, str] = {}
        self._switches: list[tuple[float, str]] = []
        """(time, server ip) of every ack to another server than the source's last ack."""
        self.last_at = -math.inf

    @property
    def present(self) -> bool:
        """Has any writer line been seen?"""
        return bool(self._current)

    def add(self, source: str, at: float, line: WriterLine) -> None:
        """Count one line of `source` (a writer pod's uid) that arrived at `at`."""
        self.last_at = max(self.last_at, at)
        if line.kind == "started" and source in self._current:
            self._base[source] = self._base.get(source, Totals()) + self._current[source]
        self._current[source] = line.totals
        second = math.floor(at)
        if line.kind == "ack":
            self._acks[second] += 1
            ip = line.server_ip
            if ip and self._server.get(source) != ip:
                self._server[source] = ip
                self._switches.append((at, ip))
                del self._switches[:-100]
        elif line.kind == "fail":
            self._fails[second] += 1
        if len(self._acks) + len(self._fails) > 2 * self.window + 10:
            self._prune(second)

    def _prune(self, now_second: int) -> None:
        oldest = now_second - self.window
        for counter in (self._acks, self._fails):
            for second in [s for s in counter if s < oldest]:
                del counter[second]

    def totals(self) -> Totals:
        out = Totals()
        for source, current in self._current.items():
            out = out + self._base.get(source, Totals()) + current
        return out

    def rate(self, now: float) -> int:
        """Acknowledged writes in the last complete second."""
        return self._acks.get(math.floor(now) - 1, 0)

    def seconds(self, now: float, count: int) -> tuple[Second, ...]:
        """The last `count` complete seconds, oldest first."""
        last = math.floor(now) - 1
        return tuple(Second(self._acks.get(s, 0), self._fails.get(s, 0))
                     for s in range(last - count + 1, last + 1))

    def first_ack(self, server_ip: str, since: float) -> float | None:
        """When a write was first acknowledged by `server_ip` at or after `since`."""
        for at, ip in self._switches:
            if ip == server_ip and at >= since:
                return at
        return None

