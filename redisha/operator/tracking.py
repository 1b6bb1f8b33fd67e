"""What the operator remembers about one RedisFailover between reconciles, and the
`lastFailover` record it keeps in status.

Memory is only a cache of what the API and the sentinels say: lost on a restart, it is
rebuilt from `status` (the last primary, an unfinished `lastFailover`), so an operator
killed during a failover finishes the record when it comes back.

`lastFailover` times: `startedAt` is when the fault was detected (the API's news for the
fast path, `+odown` for the sentinels' own detection, `+try-failover` or the switch itself
otherwise); `promotedAt` when a sentinel reported the promotion (`+promoted-slave`, or
`+switch-master` if that came first); `completedAt` when the primary Service points at
the new primary (the operator labelled it); `durationMs` from start to completion.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from cluster.api import objects
from redisha.operator.nodes import NodeInfo
from redisha.operator.reasons import FailoverReason


def stamp(ts: float) -> str:
    """A status timestamp with microseconds (metav1.MicroTime's form)."""
    return objects.format_micro_time(ts)


def _parse(text: Any) -> float | None:
    try:
        return objects.parse_time(str(text)) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Fault:
    """What the API said about the primary."""

    reason: FailoverReason
    pod: str
    ip: str
    detected_at: float


@dataclass
class FailoverMemory:
    """One RedisFailover's remembered state (see the module docstring)."""

    primary_name: str = ""
    """The healthy primary the sentinels agree on, as last seen (what the fast path
    watches): name, IP, pod uid, node."""
    primary_ip: str = ""
    primary_uid: str = ""
    primary_node: str = ""
    reported_name: str = ""
    """The primary `status` names: a different healthy primary is a switch to record."""
    reported_ip: str = ""
    infos: dict[str, NodeInfo] = field(default_factory=dict)
    """Redis pod IP → its last answer (the reconcile's survey), for relabelling between
    surveys."""
    label_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while role labels are computed and written: one writer at a time, each
    working from a fresh view of the sentinels and the pods."""
    relabel: bool = False
    """A sentinel announced a switch: relabel now (the fast path does it)."""
    ever_ready: bool = False
    """A primary was agreed on and healthy at least once (bootstrap finished)."""
    first_seen: dict[str, float] = field(default_factory=dict)
    last_reset: float = float("-inf")
    fault: Fault | None = None
    """The latest fault of the primary the fast path acts on."""
    requested_ip: str = ""
    """The primary a failover was asked for (one request per primary)."""
    requested_at: float = 0.0
    attempts: int = 0
    """FAILOVER requests sent for the current fault that no sentinel could start."""
    pending: bool = False
    """Asked, and the switch not seen yet."""
    last_failover: dict[str, Any] | None = None
    started_at: float | None = None
    odown: dict[str, float] = field(default_factory=dict)
    """Primary IP → when a sentinel published `+odown` for it."""
    try_failover: dict[str, float] = field(default_factory=dict)
    promoted: tuple[str, float] | None = None
    """(new primary IP, when its promotion was reported)."""
    labelled: tuple[str, float] | None = None
    """(IP, when) of the last pod the operator labelled primary."""
    sentinel_rank: dict[str, int] = field(default_factory=dict)
    """Sentinel IP → how many other sentinels it knows (ask the best-informed first)."""
    switches: dict[str, tuple[str, float]] = field(default_factory=dict)
    """Sentinel IP → (new primary IP, when) of its latest `+switch-master`: when more
    than half of the running sentinels announced the same switch, that is their agreed
    view, and labels move without asking them again."""
    switch_window: float = 10.0
    """Seconds a `+switch-master` counts toward that majority (the failover-timeout)."""
    forbidden: set[str] = field(default_factory=set)
    """IPs of terminating replicas already given `replica-priority 0`."""
    views_read: int = 0
    """Label views begun (`_relabel` numbers each before reading)."""
    view_applied: int = 0
    """The number of the latest label view written: an older one is never written after
    it."""

    @classmethod
    def from_status(cls, rf: dict[str, Any]) -> FailoverMemory:
        status = rf.get("status") or {}
        memory = cls(primary_name=str(status.get("primary") or ""),
                     primary_ip=str(status.get("primaryIP") or ""),
                     reported_name=str(status.get("primary") or ""),
                     reported_ip=str(status.get("primaryIP") or ""),
                     ever_ready=status.get("phase") not in (None, "", "Bootstrapping"))
        last = status.get("lastFailover")
        if isinstance(last, dict) and last:
            memory.last_failover = dict(last)
            memory.started_at = _parse(last.get("startedAt"))
        return memory

    # -- the fast path --------------------------------------------------------------------

    def note_fault(self, fault: Fault) -> bool:
        """Remember a fault of the current primary; True when it is news (not yet acted on)."""
        if fault.ip != self.primary_ip or self.requested_ip == fault.ip:
            return False
        if self.fault is not None and self.fault.ip == fault.ip:
            return False
        self.fault = fault
        return True

    def start(self, fault: Fault) -> dict[str, Any]:
        """The failover the fast path asked for begins: a new `lastFailover`."""
        self.requested_ip = fault.ip
        self.requested_at = fault.detected_at
        self.pending = True
        self.started_at = fault.detected_at
        self.promoted = None
        self.last_failover = {"reason": fault.reason.value, "from": fault.pod,
                              "startedAt": stamp(fault.detected_at)}
        return dict(self.last_failover)

    def in_flight(self, now: float, timeout: float, running: set[str]) -> bool:
        """Asked for a failover, within `timeout`, and no switch announced since by more
        than half of the `running` sentinels: they are at work and their `+switch-master`
        will say when it is done, so surveying every pod and sentinel meanwhile only slows
        them down. (`-failover-abort-*` ends `pending`, and so this.)"""
        if not self.pending or now - self.requested_at > timeout:
            return False
        return self.switch_majority(running, now, since=self.requested_at) is None

    def note_switch(self, sentinel_ip: str, new_ip: str, now: float) -> None:
        self.switches[sentinel_ip] = (new_ip, now)

    def switch_majority(self, running: set[str], now: float,
                        since: float | None = None) -> str | None:
        """The new primary IP more than half of the `running` sentinels announced within
        `switch_window` (and not before `since`), if any."""
        votes: dict[str, int] = {}
        for ip, (new_ip, at) in self.switches.items():
            if ip in running and now - at <= self.switch_window and (
                    since is None or at >= since):
                votes[new_ip] = votes.get(new_ip, 0) + 1
        for new_ip, count in votes.items():
            if running and count * 2 > len(running):
                return new_ip
        return None

    def expire(self, now: float, timeout: float) -> None:
        """Give up waiting for a switch that did not come within `timeout` seconds."""
        if self.pending and now - self.requested_at > timeout:
            self.pending = False

    # -- observing the switch -------------------------------------------------------------

    def switched(self, *, old_name: str, old_ip: str, new_name: str, new_ip: str,
                 epoch: int, now: float, window: float,
                 old_alive: bool = False) -> dict[str, Any]:
        """The agreed primary moved from `old` to `new` and is labelled: fill in (or make)
        `lastFailover`. `window`: how old an `+odown` may be to count as the cause.

        A switch nobody here asked for is `ODOWN` after a recent `+odown`, else `Manual`;
        when no event was seen at all (the operator was not running), `ODOWN` if the old
        primary is gone or silent (the sentinels must have found it down), else `Manual`."""
        record = self.last_failover
        ours = (record is not None and not record.get("completedAt")
                and record.get("from") == old_name)
        if not ours:
            odown_at = self.odown.get(old_ip)
            tried_at = self.try_failover.get(old_ip)
            recent_odown = odown_at is not None and now - odown_at <= window
            recent_try = tried_at is not None and now - tried_at <= window
            reason = FailoverReason.ODOWN if recent_odown else FailoverReason.MANUAL
            if not recent_odown and not recent_try and not old_alive:
                reason = FailoverReason.ODOWN
            started = odown_at if recent_odown else tried_at if recent_try else None
            if started is None and self.promoted is not None and self.promoted[0] == new_ip:
                started = self.promoted[1]
            self.started_at = started if started is not None else now
            record = {"reason": reason.value, "from": old_name,
                      "startedAt": stamp(self.started_at)}
        assert record is not None
        started_at = self.started_at if self.started_at is not None else now
        completed_at = now
        if self.labelled is not None and self.labelled[0] == new_ip:
            completed_at = min(self.labelled[1], now)
        promoted_at = completed_at
        if self.promoted is not None and self.promoted[0] == new_ip:
            promoted_at = min(self.promoted[1], completed_at)
        record = {**record, "to": new_name, "epoch": epoch, "promotedAt": stamp(promoted_at),
                  "completedAt": stamp(completed_at),
                  "durationMs": max(round((completed_at - started_at) * 1000), 0)}
        self.last_failover = record
        self.pending = False
        self.fault = None
        self.attempts = 0
        self.promoted = None
        self.odown.pop(old_ip, None)
        self.try_failover.pop(old_ip, None)
        return dict(record)
