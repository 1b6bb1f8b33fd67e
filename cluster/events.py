"""Recording Events about objects, as client-go's EventRecorder does.

Components report what they did (`Scheduled`, `Killing`, `SuccessfulCreate`) as `Event`
objects in the involved object's namespace. Repeats of the same event (same object,
reason, message, type and source) are folded into one object whose `count` grows and whose
`lastTimestamp` moves, so a crash-looping pod does not bury the cluster in Events. Like
client-go's EventCorrelator, the recorder remembers the events it wrote in a bounded
cache; it never has to list all events to aggregate.
"""

from __future__ import annotations

import enum
import time
from collections import OrderedDict
from typing import Any, Callable

from cluster.api import errors, objects
from cluster.client import Client


MAX_SIMILAR = 10
"""Distinct messages about one object and reason before they are combined (client-go's)."""
SIMILAR_WINDOW = 600.0
"""Seconds over which similar events are counted together."""
COMBINED_PREFIX = "(combined from similar events): "
SPAM_BURST = 25
"""Events one source may write about one object before the spam filter throttles it."""
SPAM_REFILL_SECONDS = 300.0
"""One more event is allowed per this many seconds after the burst (client-go: 1/300 qps)."""


class Severity(str, enum.Enum):
    """An Event's `type`."""

    NORMAL = "Normal"
    WARNING = "Warning"


def object_reference(obj: dict[str, Any], field_path: str = "") -> dict[str, Any]:
    """The `involvedObject` of an event about `obj`."""
    m = obj.get("metadata") or {}
    ref = {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""),
           "name": m.get("name", ""), "uid": m.get("uid", ""),
           "resourceVersion": m.get("resourceVersion", "")}
    if m.get("namespace"):
        ref["namespace"] = m["namespace"]
    if field_path:
        ref["fieldPath"] = field_path
    return ref


class EventRecorder:
    """Writes Events for one component (`kubelet`, `default-scheduler`, …)."""

    def __init__(self, client: Client, *, component: str, host: str = "",
                 clock: Callable[[], float] = time.time, cache_size: int = 4096) -> None:
        self._client = client
        self._component = component
        self._host = host
        self._clock = clock
        self._cache_size = cache_size
        self._recent: OrderedDict[tuple[str, ...], str] = OrderedDict()
        self._similar: OrderedDict[tuple[str, ...], tuple[float, set[str]]] = OrderedDict()
        self._spam: OrderedDict[tuple[str, ...], tuple[float, float]] = OrderedDict()
        self._sequence = 0
        self._source = {"component": component, **({"host": host} if host else {})}
        """Every event's `source`, copied into each."""

    async def record(self, obj: dict[str, Any], severity: Severity, reason: str, message: str,
                     *, field_path: str = "") -> dict[str, Any] | None:
        """Record one occurrence; returns the Event, or None if the API refused it.

        Failing to record an event must never fail the caller's real work, so API errors
        are swallowed here, as client-go's recorder does.
        """
        ref = object_reference(obj, field_path)
        uid, kind, name = ref["uid"], ref["kind"], ref["name"]
        namespace = ref.get("namespace") or "default"
        now = self._clock()
        if not self._allowed((uid, kind, name, ref.get("namespace", "")), now):
            return None
        stamp = objects.format_time(now)
        event_type = severity.value  # read once: an Enum member's value is a slow lookup
        message, grouped_as = self._aggregate(
            (uid, kind, name, namespace, field_path, reason, event_type), message, now)
        key = (uid, kind, name, namespace, field_path, reason, grouped_as, event_type)
        known = self._recent.get(key)
        try:
            if known is not None:
                try:
                    current = await self._client.get("events", known, namespace)
                    current["count"] = int(current.get("count") or 1) + 1
                    current["lastTimestamp"] = stamp
                    current["message"] = message
                    updated = await self._client.update(current)
                    self._remember(key, known)
                    return updated
                except errors.NotFound:
                    pass
            # Names are `<object>.<hex nanoseconds>` as client-go makes them; the sequence
            # keeps two events recorded within one clock tick apart.
            self._sequence += 1
            event_name = f"{name}.{int(now * 1e9) + self._sequence:x}"
            event = {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": event_name, "namespace": namespace},
                "involvedObject": ref,
                "reason": reason, "message": message, "type": event_type,
                "source": self._source.copy(),
                "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
                "reportingComponent": self._component, "reportingInstance": self._host,
            }
            created = await self._client.create(event)
            self._remember(key, event_name)
            return created
        except errors.APIError:
            return None

    def _allowed(self, key: tuple[str, ...], now: float) -> bool:
        """client-go's EventSourceObjectSpamFilter: a token bucket per source and object
        (`key`: uid, kind, name, namespace), so a controller churning one object cannot
        flood the API with its Events."""
        spam = self._spam
        seen = spam.get(key)
        if seen is None:
            tokens = float(SPAM_BURST)
        else:
            tokens, last = seen
            tokens = min(float(SPAM_BURST), tokens + (now - last) / SPAM_REFILL_SECONDS)
            spam.move_to_end(key)
        allowed = tokens >= 1.0
        spam[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(spam) > self._cache_size:
            spam.popitem(last=False)
        return allowed

    def _aggregate(self, similar: tuple[str, ...], message: str,
                   now: float) -> tuple[str, str]:
        """client-go's EventAggregator: past `MAX_SIMILAR` distinct messages with the same
        object, reason and type (`similar`) within `SIMILAR_WINDOW`, fold them into one
        event whose message says so. A ReplicaSet creating 100 pods writes 11 Events, not
        100.

        Returns the message to write and the message part of the dedup key.
        """
        cache = self._similar
        seen = cache.get(similar)
        if seen is not None:
            cache.move_to_end(similar)
        if seen is None or now - seen[0] > SIMILAR_WINDOW:
            first, messages = now, set()
        else:
            first, messages = seen
        messages.add(message)
        cache[similar] = (first, messages)
        if len(cache) > self._cache_size:
            cache.popitem(last=False)
        if len(messages) > MAX_SIMILAR:
            return COMBINED_PREFIX + message, COMBINED_PREFIX
        return message, message

    def _remember(self, key: tuple[str, ...], name: str) -> None:
        recent = self._recent
        if key in recent:
            recent.move_to_end(key)
        recent[key] = name
        if len(recent) > self._cache_size:
            recent.popitem(last=False)

    async def normal(self, obj: dict[str, Any], reason: str, message: str) -> dict[str, Any] | None:
        return await self.record(obj, Severity.NORMAL, reason, message)

    async def warning(self, obj: dict[str, Any], reason: str, message: str) -> dict[str, Any] | None:
        return await self.record(obj, Severity.WARNING, reason, message)
