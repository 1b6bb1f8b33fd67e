"""What the HA pane shows, as plain records built from what the dashboard read (pure).

One RedisFailover at a time: its `status` (the operator keeps the primary, every replica's
offset, lag and link, and what each sentinel believes current), the addresses of its pods
(to name the primary each sentinel believes in), the writer's counts (`writes`) and the
failover timeline (`timeline`). The widget only draws an `HAView`; two equal views draw
the same, so the app redraws the pane only when the view changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cluster.api import objects
from tui import timeline as timeline_mod
from tui.sentinel_events import SentinelEvent
from tui.timeline import FaultMark, Timeline
from tui.writes import Second, Totals, WriteStats

SPARK_SECONDS = 60
"""Seconds of write history the view carries (the pane shows as many as fit)."""


@dataclass(frozen=True)
class ReplicaRow:
    """A redis pod other than the primary, as `status.replicas[]` has it."""

    name: str
    role: str
    offset: int | None
    lag: int | None
    link: str


@dataclass(frozen=True)
class SentinelRow:
    """One sentinel and the primary it believes in."""

    name: str
    believes: str
    """The pod it names (its address when no pod has it); '' when it monitors nothing."""
    agrees: bool
    """It names the primary the status names."""
    epoch: int | None
    state: str
    """Its failover state: `none` when idle."""


@dataclass(frozen=True)
class WritesRow:
    """The writer's counts; `present` False when no writer pod logged anything."""

    present: bool
    rate: int = 0
    seconds: tuple[Second, ...] = ()
    totals: Totals = field(default_factory=Totals)


@dataclass(frozen=True)
class HAView:
    """Everything the pane draws for one RedisFailover."""

    key: str
    phase: str
    primary: str
    primary_ip: str
    epoch: str
    replicas: tuple[ReplicaRow, ...]
    sentinels: tuple[SentinelRow, ...]
    writes: WritesRow
    timeline: Timeline | None
    elapsed_ms: int | None = None
    """For a failover under way: milliseconds since its time zero (to a tenth of a second,
    so the pane is not redrawn for every millisecond)."""
    others: tuple[str, ...] = ()
    """Other RedisFailovers in view (`ns/name`), named under the first."""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def addresses(pods: Iterable[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    """(name by IP, IP by name) of pods; a pod being deleted loses to a live one."""
    by_ip: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for pod in sorted(pods, key=objects.is_terminating, reverse=True):
        ip = (pod.get("status") or {}).get("podIP")
        if ip:
            by_ip[str(ip)] = objects.name_of(pod)
            by_name[objects.name_of(pod)] = str(ip)
    return by_ip, by_name


def build(rf: dict[str, Any], *, pods: Iterable[dict[str, Any]],
          events: tuple[SentinelEvent, ...], writes: WriteStats,
          marks: Iterable[FaultMark], now: float, others: tuple[str, ...] = ()) -> HAView:
    """The view of `rf`; `pods` are its pods (for their addresses)."""
    status = rf.get("status") or {}
    by_ip, by_name = addresses(pods)
    primary = str(status.get("primary") or "")
    primary_ip = str(status.get("primaryIP") or "")
    replicas = tuple(
        ReplicaRow(str(r.get("name") or ""), str(r.get("role") or ""), _int(r.get("offset")),
                   _int(r.get("lagBytes")), str(r.get("link") or ""))
        for r in status.get("replicas") or ())
    sentinels = []
    for s in status.get("sentinels") or ():
        named = str(s.get("primary") or "")
        ip = named.rsplit(":", 1)[0]
        believes = by_ip.get(ip, named) if named else ""
        sentinels.append(SentinelRow(
            str(s.get("name") or ""), believes, bool(named) and ip == primary_ip,
            _int(s.get("epoch")), str(s.get("failoverState") or ("" if named else "—"))))
    epoch = status.get("epoch")
    timeline = timeline_mod.build(rf, events=events, writes=writes, marks=marks, ip_of=by_name,
                                  now=now)
    elapsed = None
    if timeline is not None and not timeline.done:
        elapsed = timeline_mod.elapsed_ms(timeline, now) // 100 * 100
    totals_seen = writes.present
    writes_row = WritesRow(totals_seen, writes.rate(now), writes.seconds(now, SPARK_SECONDS),
                           writes.totals()) if totals_seen else WritesRow(False)
    return HAView(
        key=objects.object_key(rf), phase=str(status.get("phase") or "Pending"),
        primary=primary, primary_ip=primary_ip,
        epoch="—" if epoch is None else str(epoch), replicas=replicas,
        sentinels=tuple(sentinels), writes=writes_row,
        timeline=timeline, elapsed_ms=elapsed, others=others)


def short_names(names: Iterable[str]) -> dict[str, str]:
    """Sentinel pods' names without the part they share (`rfs-demo-7d9f8-abcde` → `abcde`):
    a Deployment's pods differ only in their last segment."""
    names = list(names)
    if len(names) < 2:
        return {n: n for n in names}
    prefix = names[0]
    for name in names[1:]:
        while prefix and not name.startswith(prefix):
            prefix = prefix[:-1]
    cut = prefix.rfind("-") + 1
    return {n: (n[cut:] or n) for n in names}

