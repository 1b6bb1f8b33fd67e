"""The scheduling queue: active, back-off and unschedulable pods (kube-scheduler's three).

- **Active** pods wait for their turn, higher `spec.priority` first, then first come.
- **Unschedulable** pods fit nowhere last time and wait for the cluster to change. They are
  *not* retried in a loop: `move` brings them back when an event could help them (a node
  appeared or changed, a placed pod went away...), and `flush` brings back those that have
  waited longer than the flush interval, in case an event was missed.
- **Back-off** holds a pod that failed recently until `initial * 2**(attempts-1)` seconds
  (capped) have passed since its last attempt, so a storm of events cannot spin one pod.

A pod that is being scheduled when an event arrives that could help it goes to back-off
instead of unschedulable when its attempt fails: the attempt may have read the cluster
before the change (kube-scheduler's `moveRequestCycle`).
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Callable

from cluster.scheduling.filters import Plugin

Clock = Callable[[], float]


class QueueClosed(Exception):
    """`pop` on a closed queue."""


class Where(str, enum.Enum):
    ACTIVE = "active"
    BACKOFF = "backoff"
    UNSCHEDULABLE = "unschedulable"
    IN_FLIGHT = "in-flight"


@dataclass(slots=True)
class _Entry:
    key: str
    priority: int
    where: Where = Where.ACTIVE
    ticket: int = 0
    """Which heap push is current; older pushes of this key are stale."""
    attempts: int = 0
    last_attempt: float = 0.0
    since: float = 0.0
    """When the pod became unschedulable."""
    plugins: frozenset[Plugin] = field(default_factory=frozenset)
    """The filters that rejected it last time."""
    moved: bool = False
    """An event that could help arrived while it was in flight."""


class SchedulingQueue:
    """Keys of pending pods, handed to the scheduling loop one at a time."""

    def __init__(self, *, clock: Clock = time.time, initial_backoff: float = 1.0,
                 max_backoff: float = 10.0) -> None:
        self._clock = clock
        self._initial = initial_backoff
        self._max = max_backoff
        self._entries: dict[str, _Entry] = {}
        self._waiting: dict[str, _Entry] = {}
        """Entries that are unschedulable or in flight: the only ones `move` must visit, so
        an event costs nothing while every pod schedules at the first attempt."""
        self._active: list[tuple[int, int, str]] = []
        self._backoff: list[tuple[float, int, str]] = []
        self._tickets = itertools.count()
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._closed = False

    # -- what the informer handlers call ----------------------------------------------------------

    def add(self, key: str, priority: int = 0) -> None:
        """A pending pod appeared or changed: queue it, or retry it if it was parked."""
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry(key, priority)
            self._push_active(entry)
            return
        entry.priority = priority
        if entry.where is Where.UNSCHEDULABLE:
            self._activate(entry)
        elif entry.where is Where.IN_FLIGHT:
            entry.moved = True

    def delete(self, key: str) -> None:
        """The pod is gone, bound, or not ours any more (stale heap items are skipped)."""
        self._entries.pop(key, None)
        self._waiting.pop(key, None)

    def move(self, helps: Callable[[frozenset[Plugin]], bool] | None = None) -> int:
        """Retry unschedulable pods an event may help (all of them when `helps` is None).

        Pods in flight are marked, so a failure they are about to report is retried.
        Returns how many parked pods were moved.
        """
        moved = 0
        for entry in list(self._waiting.values()):
            if helps is not None and not helps(entry.plugins):
                continue
            if entry.where is Where.UNSCHEDULABLE:
                self._activate(entry)
                moved += 1
            elif entry.where is Where.IN_FLIGHT:
                entry.moved = True
        return moved

    def flush(self, max_age: float) -> int:
        """Retry pods that have been unschedulable for longer than `max_age` seconds."""
        now = self._clock()
        stale = [e for e in self._waiting.values()
                 if e.where is Where.UNSCHEDULABLE and now - e.since >= max_age]
        for entry in stale:
            self._activate(entry)
        return len(stale)

    # -- what the scheduling loop calls -----------------------------------------------------------

    async def pop(self) -> str:
        """The next pod to schedule; it is in flight until `done` or a requeue."""
        while True:
            while self._active:
                _, ticket, key = heapq.heappop(self._active)
                entry = self._entries.get(key)
                if entry is None or entry.where is not Where.ACTIVE or entry.ticket != ticket:
                    continue
                self._place(entry, Where.IN_FLIGHT)
                entry.moved = False
                entry.attempts += 1
                entry.last_attempt = self._clock()
                return key
            if self._closed:
                raise QueueClosed()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def done(self, key: str) -> None:
        """The pod was bound (or needs no scheduling): forget it.

        Only the attempt in flight is forgotten: a pod re-created under the same name
        while its predecessor was being scheduled keeps its place.
        """
        entry = self._entries.get(key)
        if entry is not None and entry.where is Where.IN_FLIGHT:
            del self._entries[key]
            self._waiting.pop(key, None)

    def unschedulable(self, key: str, plugins: frozenset[Plugin]) -> None:
        """The pod fits nowhere: park it until an event about `plugins` (or a flush)."""
        entry = self._entries.get(key)
        if entry is None or entry.where is not Where.IN_FLIGHT:
            return
        entry.plugins = plugins
        if entry.moved:
            self._to_backoff(entry)
            return
        self._place(entry, Where.UNSCHEDULABLE)
        entry.since = self._clock()

    def retry(self, key: str) -> None:
        """The attempt failed for a passing reason (an API error): retry after back-off."""
        entry = self._entries.get(key)
        if entry is not None and entry.where is Where.IN_FLIGHT:
            self._to_backoff(entry)

    def close(self) -> None:
        self._closed = True
        self._disarm()
        self._wake()

    # -- introspection ---------------------------------------------------------------------------

    def where(self, key: str) -> Where | None:
        entry = self._entries.get(key)
        return entry.where if entry is not None else None

    def __len__(self) -> int:
        return len(self._entries)

    def count(self, where: Where) -> int:
        return sum(1 for e in self._entries.values() if e.where is where)

    # -- internals ---------------------------------------------------------------------------------

    def backoff_duration(self, attempts: int) -> float:
        if attempts <= 0:
            return 0.0
        return float(min(self._initial * 2.0 ** min(attempts - 1, 62), self._max))

    def _place(self, entry: _Entry, where: Where) -> None:
        entry.where = where
        if where is Where.UNSCHEDULABLE or where is Where.IN_FLIGHT:
            self._waiting[entry.key] = entry
        else:
            self._waiting.pop(entry.key, None)

    def _activate(self, entry: _Entry) -> None:
        ready_at = entry.last_attempt + self.backoff_duration(entry.attempts)
        if entry.attempts and ready_at > self._clock():
            self._to_backoff(entry)
        else:
            self._push_active(entry)

    def _push_active(self, entry: _Entry) -> None:
        self._place(entry, Where.ACTIVE)
        entry.ticket = next(self._tickets)
        heapq.heappush(self._active, (-entry.priority, entry.ticket, entry.key))
        self._wake()

    def _to_backoff(self, entry: _Entry) -> None:
        self._place(entry, Where.BACKOFF)
        entry.ticket = next(self._tickets)
        ready_at = entry.last_attempt + self.backoff_duration(entry.attempts)
        heapq.heappush(self._backoff, (ready_at, entry.ticket, entry.key))
        self._arm()

    def _release_backoff(self) -> None:
        self._timer = None
        self._timer_at = None
        now = self._clock()
        while self._backoff and self._backoff[0][0] <= now:
            _, ticket, key = heapq.heappop(self._backoff)
            entry = self._entries.get(key)
            if entry is not None and entry.where is Where.BACKOFF and entry.ticket == ticket:
                self._push_active(entry)
        self._arm()

    def _arm(self) -> None:
        if self._closed:
            return
        while self._backoff:
            _, ticket, key = self._backoff[0]
            entry = self._entries.get(key)
            if entry is not None and entry.where is Where.BACKOFF and entry.ticket == ticket:
                break
            heapq.heappop(self._backoff)
        if not self._backoff:
            self._disarm()
            return
        at = self._backoff[0][0]
        if self._timer is not None and self._timer_at == at:
            return
        self._disarm()
        self._timer = asyncio.get_running_loop().call_later(max(0.0, at - self._clock()),
                                                            self._release_backoff)
        self._timer_at = at

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
