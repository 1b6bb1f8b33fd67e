"""The HA pane's log readers: every sentinel pod's log and every writer pod's log.

The operator's `status` says who is primary and what each sentinel believes, but not when
each step of a failover happened, nor how the clients fared. Both are in pod logs: the
sentinels log every event in Sentinel's format (`sentinel_events`), the writer logs every
write (`writes`). `HAFeed` follows those logs through the API (`client.follow_pod_logs`,
what `kubectl logs -f` does), one task per pod, for as long as the pod exists:

- the app's pod handlers call `track(pod)` / `untrack(key)`; that only starts or cancels
  a follower task, so no work happens inside a watch callback;
- a follow that ends (the container restarted, the node stopped answering) is taken up
  again after `retry` seconds; lines already counted are skipped by their time;
- the faults the dashboard injects are noted here (`note_fault`), because only the one who
  pulled the plug knows when it was pulled (see `timeline`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cluster.api import errors, objects
from cluster.client import Client
from tui.roles import COMPONENT_LABEL, INSTANCE_LABEL, WRITES_TO_LABEL
from tui.sentinel_events import SentinelEvent, SentinelEventLog, parse_line
from tui.timeline import FaultMark
from tui.writes import WriteStats, parse_writer_line

MARKS_KEPT = 50


class SourceKind(str, enum.Enum):
    """Whose log a follower reads."""

    SENTINEL = "sentinel"
    WRITER = "writer"


@dataclass(frozen=True)
class Source:
    """One followed pod."""

    key: str
    """`ns/name`."""
    uid: str
    kind: SourceKind
    failover: str
    """The RedisFailover it belongs to, `ns/name`."""


def source_of(pod: dict[str, Any]) -> Source | None:
    """The log source a pod is, by its labels: a RedisFailover's sentinel, or a writer."""
    labels = objects.labels_of(pod)
    namespace = objects.namespace_of(pod)
    if labels.get(COMPONENT_LABEL) == "sentinel" and labels.get(INSTANCE_LABEL):
        kind, owner = SourceKind.SENTINEL, labels[INSTANCE_LABEL]
    elif labels.get(WRITES_TO_LABEL):
        kind, owner = SourceKind.WRITER, labels[WRITES_TO_LABEL]
    else:
        return None
    return Source(objects.object_key(pod), objects.uid_of(pod), kind, f"{namespace}/{owner}")


def _started(pod: dict[str, Any]) -> bool:
    """Has a container of the pod run (so it has a log to follow)?"""
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        state = status.get("state") or {}
        if "running" in state or "terminated" in state or status.get("restartCount"):
            return True
    return False


class _Position:
    """Where a follower is in a pod's log, so a re-follow skips what was counted: lines
    are in time order, and lines of equal time are counted, not compared."""

    def __init__(self) -> None:
        self.time = float("-inf")
        self.same = 0

    def fresh(self, at: float, seen_at_time: int) -> bool:
        return at > self.time or (at == self.time and seen_at_time > self.same)

    def advance(self, at: float) -> None:
        if at == self.time:
            self.same += 1
        else:
            self.time, self.same = at, 1


class HAFeed:
    """Sentinel events and writer counts per RedisFailover, from pod logs."""

    def __init__(self, client: Client, *, retry: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.retry = retry
        self.clock = clock
        self.marks: list[FaultMark] = []
        self._events: dict[str, SentinelEventLog] = {}
        self._writes: dict[str, WriteStats] = {}
        self._tasks: dict[str, tuple[str, asyncio.Task[None]]] = {}
        """By pod key: the uid followed and its task."""
        self._closed = False

    # -- what the pane reads ---------------------------------------------------------------

    def events(self, failover: str) -> tuple[SentinelEvent, ...]:
        log = self._events.get(failover)
        return log.events() if log is not None else ()

    def writes(self, failover: str) -> WriteStats:
        stats = self._writes.get(failover)
        if stats is None:
            stats = self._writes[failover] = WriteStats()
        return stats

    def note_fault(self, kind: str, pods: Iterable[str], at: float | None = None) -> FaultMark:
        """A fault the dashboard injects on these pods (`ns/name`), now or `at`."""
        mark = FaultMark(self.clock() if at is None else at, kind, tuple(pods))
        self.marks.append(mark)
        del self.marks[:-MARKS_KEPT]
        return mark

    def forget(self, mark: FaultMark) -> None:
        """The fault could not be injected after all."""
        with contextlib.suppress(ValueError):
            self.marks.remove(mark)

    @property
    def following(self) -> list[str]:
        """Keys of the pods whose logs are followed (for tests)."""
        return sorted(self._tasks)

    # -- which pods ------------------------------------------------------------------------

    def track(self, pod: dict[str, Any]) -> None:
        """Follow the pod's log if it is a sentinel or a writer that has started."""
        if self._closed:
            return
        source = source_of(pod)
        if source is None or not _started(pod):
            return
        current = self._tasks.get(source.key)
        if current is not None:
            if current[0] == source.uid and not current[1].done():
                return
            current[1].cancel()
        task = asyncio.get_running_loop().create_task(self._follow(source),
                                                      name=f"ha-feed {source.key}")
        self._tasks[source.key] = (source.uid, task)

    def untrack(self, key: str) -> None:
        """The pod is gone: stop following it (what it logged stays counted)."""
        current = self._tasks.pop(key, None)
        if current is not None:
            current[1].cancel()

    async def close(self) -> None:
        self._closed = True
        tasks = [task for _, task in self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- following -------------------------------------------------------------------------

    async def _follow(self, source: Source) -> None:
        namespace, name = objects.split_key(source.key)
        position = _Position()
        while True:
            seen_at_time = 0
            last = position.time
            with contextlib.suppress(errors.APIError, OSError):
                stream = self.client.follow_pod_logs(name, namespace)
                try:
                    async for line in stream:
                        seen_at_time = seen_at_time + 1 if line.time == last else 1
                        last = line.time
                        if not position.fresh(line.time, seen_at_time):
                            continue
                        position.advance(line.time)
                        self.take(source, line.time, line.text)
                finally:
                    with contextlib.suppress(Exception):
                        await stream.aclose()  # type: ignore[attr-defined]
            await asyncio.sleep(self.retry)

    def take(self, source: Source, at: float, text: str) -> None:
        """Count one line `source` logged at `at` (what following does with each line;
        tests feed lines this way)."""
        if source.kind is SourceKind.SENTINEL:
            event = parse_line(text, at=at, sentinel=objects.split_key(source.key)[1])
            if event is not None:
                log = self._events.get(source.failover)
                if log is None:
                    log = self._events[source.failover] = SentinelEventLog()
                log.add(event)
            return
        line = parse_writer_line(text)
        if line is not None:
            self.writes(source.failover).add(source.uid, at, line)
