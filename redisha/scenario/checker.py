"""The verdict on one trial, computed from its records (pure functions, no I/O, no clock).

Inputs are what the trial recorded: the writers' `Write`s, the sentinels' events, the
moment of the fault, the topology observed after recovery and what the new primary holds
for every acknowledged key. The invariants:

- **one primary**: exactly one redis pod says `role:master`; every other pod replicates
  it with its link up; the primary Service's Endpoints hold exactly its address; every
  sentinel names it.
- **nothing acknowledged is lost**: every acknowledged key reads back with its value.
- **one failover per fault**: counted from `+switch-master` announcements — every
  sentinel announces each switch, so announcements that repeat the current master are
  one failover, not three — and from `+monitor` of another address, which is how the
  operator's repair (a promotion the sentinels could not make) reaches the sentinels.
- **no split brain**: the most primaries that accepted writes at one moment, from the
  writes' servers. A server's accepted writes form a *term* that lasts until that server
  refuses a write (READONLY, NOREPLICAS); two terms overlapping in time mean two
  writable primaries at once. A single client writing through a Service writes one key at
  a time, so overlap shows up as interleaving: A, then B, then A again.
  `partition-primary` allows the cut-off primary a bounded window (`Expectation`).

Unavailability is the longest stretch without an acknowledged write from the last one
before the fault until recovery; for one fault that is the first acknowledged write after
the fault minus the last one before it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from redisha.scenario.timeline import SentinelEvent
from redisha.scenario.writer import Write

MAIN = "main"
"""The writer whose writes measure availability (the side writer's do not)."""

TIMELINE_EVENTS = {"sdown": "+sdown", "odown": "+odown", "elected": "+elected-leader",
                   "promoted": "+promoted-slave", "switch": "+switch-master"}
"""Timeline entries taken from sentinel events: the first of each kind after the fault."""


@dataclass(frozen=True)
class Expectation:
    """What a scenario tolerates."""

    max_failovers: int = 1
    """More failovers than this fails the trial (one per fault; 0 where none is due)."""
    writable_window_ms: float | None = None
    """partition-primary only: how long after the fault the cut-off primary may still
    accept writes (minReplicasMaxLagSeconds, plus Redis' one-second lag resolution);
    None: two writable primaries at once always fail."""


@dataclass(frozen=True)
class RedisView:
    """One redis pod as it answered `ROLE` after recovery."""

    name: str
    ip: str
    role: str = ""
    """`master`, `slave`, or '' when it did not answer."""
    master_ip: str = ""
    link_up: bool = False
    error: str = ""


@dataclass(frozen=True)
class SentinelView:
    """One sentinel's `GET-MASTER-ADDR-BY-NAME` after recovery."""

    name: str
    ip: str
    master_ip: str = ""
    error: str = ""


@dataclass(frozen=True)
class Topology:
    """The replication topology, Endpoints and sentinels' view at one moment."""

    redis: tuple[RedisView, ...] = ()
    endpoints: tuple[str, ...] = ()
    """The primary Service's ready endpoint addresses."""
    sentinels: tuple[SentinelView, ...] = ()
    expected_redis: int = 3
    expected_sentinels: int = 3

    @property
    def primaries(self) -> list[RedisView]:
        return [r for r in self.redis if r.role == "master"]

    @property
    def primary_ip(self) -> str:
        primaries = self.primaries
        return primaries[0].ip if len(primaries) == 1 else ""


def topology_problems(topology: Topology) -> list[str]:
    """Why `topology` is not one primary, followed by every replica, the primary Service
    and every sentinel ([] when it is)."""
    problems: list[str] = []
    if len(topology.redis) != topology.expected_redis:
        problems.append(f"{len(topology.redis)} redis pods running, "
                        f"{topology.expected_redis} expected")
    if len(topology.sentinels) != topology.expected_sentinels:
        problems.append(f"{len(topology.sentinels)} sentinels running, "
                        f"{topology.expected_sentinels} expected")
    silent = [r for r in topology.redis if not r.role]
    for r in silent:
        problems.append(f"redis pod {r.name} ({r.ip}) did not answer ROLE"
                        + (f": {r.error}" if r.error else ""))
    primaries = topology.primaries
    if not primaries:
        problems.append("no primary: no redis pod says role:master")
        return problems
    if len(primaries) > 1:
        problems.append(f"{len(primaries)} primaries: "
                        + ", ".join(f"{p.name} ({p.ip})" for p in primaries))
        return problems
    primary = primaries[0]
    for r in topology.redis:
        if r is primary or not r.role:
            continue
        if r.master_ip != primary.ip:
            problems.append(f"replica {r.name} ({r.ip}) follows {r.master_ip or 'nothing'}, "
                            f"not the primary {primary.name} ({primary.ip})")
        elif not r.link_up:
            problems.append(f"replica {r.name} ({r.ip}) has its link to the primary down")
    if tuple(topology.endpoints) != (primary.ip,):
        problems.append(f"the primary Service points at [{', '.join(topology.endpoints)}], "
                        f"not at the primary {primary.name} ({primary.ip})")
    for s in topology.sentinels:
        if s.master_ip != primary.ip:
            problems.append(f"sentinel {s.name} ({s.ip}) names "
                            f"{s.master_ip or s.error or 'no master'}, not {primary.ip}")
    return problems


def primary_change(event: SentinelEvent) -> tuple[str, str] | None:
    """(old ip, new ip) when `event` announces a primary: `+switch-master` (a failover)
    or `+monitor` (a sentinel told to watch a primary: the operator's repair; old '')."""
    if event.kind == "+monitor":
        words = event.text.split()
        return ("", words[2]) if len(words) >= 3 and words[0] == "master" else None
    return event.switch()


def count_failovers(events: Iterable[SentinelEvent], initial_primary_ip: str,
                    since: float = float("-inf")) -> int:
    """Changes of primary announced after `since`, however many sentinels announce each:
    failovers (`+switch-master`) and repairs (`+monitor` of another address)."""
    current = initial_primary_ip
    seen: set[tuple[str, str]] = set()
    count = 0
    for event in sorted(events, key=lambda e: e.at):
        change = primary_change(event)
        if change is None or event.at < since:
            continue
        old, new = change
        if new == current or (old, new) in seen:
            continue  # another sentinel announcing a change already counted
        seen.add((old, new))
        current = new
        count += 1
    return count


@dataclass(frozen=True)
class Term:
    """A server's stretch of accepted writes (seconds, the writes' finishing times)."""

    server: str
    start: float
    end: float
    writes: int


def writable_terms(writes: Iterable[Write]) -> list[Term]:
    """Each server's terms: runs of accepted writes, ended by a write it refused."""
    open_terms: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    terms: list[Term] = []
    for w in sorted(writes, key=lambda w: w.finished):
        if not w.server:
            continue
        if w.accepted:
            span = open_terms.setdefault(w.server, [w.finished, w.finished])
            span[1] = w.finished
            counts[w.server] = counts.get(w.server, 0) + 1
        elif w.rejected and w.server in open_terms:
            start, end = open_terms.pop(w.server)
            terms.append(Term(w.server, start, end, counts.pop(w.server)))
    for server, (start, end) in open_terms.items():
        terms.append(Term(server, start, end, counts[server]))
    return sorted(terms, key=lambda t: (t.start, t.server))


@dataclass(frozen=True)
class SplitBrain:
    """The most servers writable at once, and for how long two or more were."""

    max_writable: int
    overlap_s: float


def split_brain(terms: Sequence[Term]) -> SplitBrain:
    """Sweep the terms: the largest number overlapping at one instant (ends inclusive)."""
    points: list[tuple[float, int]] = []
    for t in terms:
        points.append((t.start, 0))  # starts before ends at the same instant
        points.append((t.end, 1))
    points.sort()
    active = best = 0
    overlap, since = 0.0, None
    for at, kind in points:
        if kind == 0:
            active += 1
            best = max(best, active)
            if active == 2:
                since = at
        else:
            if active == 2 and since is not None:
                overlap += at - since
                since = None
            active -= 1
    return SplitBrain(best, overlap)


def lost_writes(writes: Iterable[Write], present: Mapping[str, str | None]) -> list[Write]:
    """Acknowledged writes whose value the new primary does not hold."""
    return [w for w in writes if w.acked and present.get(w.key) != w.value]


@dataclass(frozen=True)
class Outage:
    """The longest stretch without an acknowledged write (seconds)."""

    last_before: float
    first_after: float

    @property
    def ms(self) -> float:
        return (self.first_after - self.last_before) * 1000


def outage(writes: Iterable[Write], fault_at: float, until: float | None = None) -> Outage | None:
    """The longest gap between consecutive acknowledged main writes that ends after the
    fault (and starts before `until`, the recovery); None when no acknowledged write came
    after the fault."""
    acked = sorted(w.finished for w in writes if w.acked and w.writer == MAIN)
    before = [t for t in acked if t <= fault_at]
    start = before[-1] if before else fault_at
    later = [t for t in acked if t > start]
    best: Outage | None = None
    previous = start
    for t in later:
        if until is not None and previous > until:
            break
        if best is None or t - previous > best.first_after - best.last_before:
            best = Outage(previous, t)
        previous = t
    return best


def ms_after(at: float | None, fault_at: float) -> float | None:
    return None if at is None else round((at - fault_at) * 1000, 1)


def timeline(events: Iterable[SentinelEvent], fault_at: float, gap: Outage | None, *,
             recovered_at: float | None = None,
             extra: Mapping[str, float | None] | None = None) -> dict[str, float | None]:
    """The trial's timeline in ms from the fault: the first of each sentinel event after
    it, the acknowledged write that ended the outage, recovery, and `extra` moments."""
    line: dict[str, float | None] = {"fault": 0.0}
    after = sorted((e for e in events if e.at >= fault_at), key=lambda e: e.at)
    for name, kind in TIMELINE_EVENTS.items():
        # +sdown/+odown of the master only: a replica or a sentinel can be down too.
        first = next((e for e in after if e.kind == kind
                      and (e.about_master or kind not in ("+sdown", "+odown"))), None)
        line[name] = ms_after(first.at if first else None, fault_at)
    line["first_ack"] = ms_after(gap.first_after if gap else None, fault_at)
    line["recovered"] = ms_after(recovered_at, fault_at)
    for name, at in (extra or {}).items():
        line[name] = ms_after(at, fault_at)
    return line


@dataclass(frozen=True)
class TrialRecords:
    """Everything a trial recorded, for `judge`."""

    writes: tuple[Write, ...]
    events: tuple[SentinelEvent, ...]
    fault_at: float
    initial_primary: str
    """The primary's `ip` before the fault."""
    initial_server: str = ""
    """The primary's server id (`ip:port#runid`) before the fault, when known."""
    recovered_at: float | None = None
    """When the topology was first whole again after the fault; None: never."""
    topology: Topology = field(default_factory=Topology)
    """The final observation, after recovery and settling."""
    present: Mapping[str, str | None] = field(default_factory=dict)
    """The new primary's value for every acknowledged key."""
    read_error: str = ""
    """Why the acknowledged keys could not be read back ('' when they were)."""
    problems: tuple[str, ...] = ()
    """What went wrong while running the trial (a fault that could not be injected, ...)."""
    endpoints: tuple[tuple[float, tuple[str, ...]], ...] = ()
    """Every change of the primary Service's ready addresses: (when, addresses)."""
    sentinels: int = 3
    """Sentinels in the RedisFailover (a majority of them is the agreed view)."""


@dataclass(frozen=True)
class TrialVerdict:
    """One trial's figures and what failed."""

    unavailable_ms: float | None
    acked: int
    lost: int
    failovers: int
    max_writable_primaries: int
    timeline: dict[str, float | None]
    failures: tuple[str, ...]
    accepted: int = 0
    lost_keys: tuple[str, ...] = ()
    split_brain_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def judge(records: TrialRecords, expectation: Expectation) -> TrialVerdict:
    """The verdict: figures from the records, and every invariant that does not hold."""
    failures = list(records.problems)
    writes = records.writes
    fault_at = records.fault_at
    if records.recovered_at is None:
        failures.append("did not recover before the deadline")
    failures.extend(topology_problems(records.topology))
    gap = outage(writes, fault_at, records.recovered_at)
    if gap is None:
        failures.append("no acknowledged write after the fault")
    if records.read_error:
        failures.append(f"could not read the acknowledged writes back: {records.read_error}")
        lost: list[Write] = []
    else:
        lost = lost_writes(writes, records.present)
    if lost:
        failures.append(f"{len(lost)} acknowledged writes lost (first: {lost[0].key} via "
                        f"{lost[0].server or '?'})")
    failovers = count_failovers(records.events, records.initial_primary, since=fault_at)
    if failovers > expectation.max_failovers:
        failures.append(f"{failovers} failovers for one fault (at most "
                        f"{expectation.max_failovers} allowed)")
    terms = writable_terms(writes)
    brain = split_brain(terms)
    old_last = _last_accepted(writes, records.initial_server, records.initial_primary,
                              fault_at)
    extra: dict[str, float | None] = {
        "switch_majority": switch_majority(records.events, fault_at, records.sentinels),
        "service": service_moved(records.endpoints, records.initial_primary, fault_at)}
    if expectation.writable_window_ms is not None:
        extra["old_primary_last_write"] = old_last
        window = None if old_last is None else (old_last - fault_at) * 1000
        if window is not None and window > expectation.writable_window_ms:
            failures.append(f"the cut-off primary accepted writes for {window:.0f} ms after "
                            f"the fault (at most {expectation.writable_window_ms:.0f} ms)")
        if brain.max_writable > 2:
            failures.append(f"{brain.max_writable} primaries accepted writes at once")
    elif brain.max_writable > 1:
        failures.append(f"{brain.max_writable} primaries accepted writes at once "
                        f"for {brain.overlap_s * 1000:.0f} ms")
    return TrialVerdict(
        unavailable_ms=round(gap.ms, 1) if gap else None,
        acked=sum(1 for w in writes if w.acked),
        lost=len(lost),
        failovers=failovers,
        max_writable_primaries=brain.max_writable,
        timeline=timeline(records.events, fault_at, gap, recovered_at=records.recovered_at,
                          extra=extra),
        failures=tuple(failures),
        accepted=sum(1 for w in writes if w.accepted),
        lost_keys=tuple(w.key for w in lost[:20]),
        split_brain_ms=round(brain.overlap_s * 1000, 1),
    )


def service_moved(changes: Iterable[tuple[float, tuple[str, ...]]], old_ip: str,
                  fault_at: float) -> float | None:
    """When, after the fault, the primary Service first pointed at one pod other than the
    old primary: the operator's relabelling as the Endpoints show it."""
    return next((at for at, ips in sorted(changes) if at >= fault_at and len(ips) == 1
                 and ips[0] != old_ip), None)


def switch_majority(events: Iterable[SentinelEvent], fault_at: float,
                    sentinels: int) -> float | None:
    """When, after the fault, a majority of the sentinels had announced `+switch-master` to
    one new master: the moment the operator may relabel (it follows the agreed view)."""
    announced: dict[str, set[str]] = {}
    for event in sorted(events, key=lambda e: e.at):
        switch = event.switch()
        if switch is None or event.at < fault_at:
            continue
        who = announced.setdefault(switch[1], set())
        who.add(event.sentinel)
        if len(who) > sentinels // 2:
            return event.at
    return None


def _last_accepted(writes: Iterable[Write], server: str, ip: str,
                   fault_at: float) -> float | None:
    """The last write the pre-fault primary accepted after the fault."""
    times = [w.finished for w in writes if w.accepted and w.finished > fault_at
             and (w.server == server if server else w.server_ip == ip)]
    return max(times) if times else None


@dataclass(frozen=True)
class Summary:
    """min/median/max unavailability and the worst of everything else over the trials."""

    unavailable_ms: dict[str, float | None]
    lost: int
    max_failovers: int
    max_writable_primaries: int
    ok: bool


def summarize(verdicts: Sequence[TrialVerdict]) -> Summary:
    figures = [v.unavailable_ms for v in verdicts if v.unavailable_ms is not None]
    spread: dict[str, float | None] = {
        "min": min(figures) if figures else None,
        "median": round(statistics.median(figures), 1) if figures else None,
        "max": max(figures) if figures else None,
    }
    return Summary(
        unavailable_ms=spread,
        lost=sum(v.lost for v in verdicts),
        max_failovers=max((v.failovers for v in verdicts), default=0),
        max_writable_primaries=max((v.max_writable_primaries for v in verdicts), default=0),
        ok=bool(verdicts) and all(v.ok for v in verdicts),
    )


__all__ = [
    "Expectation",
    "Outage",
    "RedisView",
    "SentinelView",
    "SplitBrain",
    "Summary",
    "Term",
    "Topology",
    "TrialRecords",
    "TrialVerdict",
    "count_failovers",
    "judge",
    "lost_writes",
    "outage",
    "primary_change",
    "service_moved",
    "split_brain",
    "summarize",
    "switch_majority",
    "timeline",
    "topology_problems",
    "writable_terms",
]
