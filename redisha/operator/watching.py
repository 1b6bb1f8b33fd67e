"""Following the sentinels' pub/sub events (`+switch-master`, `+odown`, …) per RedisFailover.

One subscription per sentinel pod, kept in step with the running sentinels by `sync`.
Events go to a callback that only records them and enqueues a reconcile: the reconcile
decides. A subscription that fails is retried after a delay while its pod is wanted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

from redisha.operator.resp_client import ReplyError, Unreachable
from redisha.operator.sentinels import SentinelClient, SentinelEvent

log = logging.getLogger(__name__)

EventHandler = Callable[[str, SentinelEvent], None]
"""Called with the sentinel's IP and the event."""


class SentinelWatch:
    """The event subscriptions of one RedisFailover's sentinels."""

    def __init__(self, client: SentinelClient, on_event: EventHandler, *, retry: float,
                 name: str = "") -> None:
        self._client = client
        self._on_event = on_event
        self._retry = retry
        self._name = name
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def following(self) -> set[str]:
        return set(self._tasks)

    def sync(self, ips: Iterable[str]) -> None:
        """Follow exactly these sentinels."""
        wanted = {ip for ip in ips if ip}
        for ip in list(self._tasks):
            if ip not in wanted:
                self._tasks.pop(ip).cancel()
        for ip in wanted - set(self._tasks):
            self._tasks[ip] = asyncio.get_running_loop().create_task(
                self._follow(ip), name=f"sentinel events {self._name} {ip}")

    async def _follow(self, ip: str) -> None:
        while True:
            try:
                async for event in self._client.events(ip):
                    try:
                        self._on_event(ip, event)
                    except Exception:
                        log.exception("handling sentinel event %s from %s failed", event, ip)
            except (Unreachable, ReplyError):
                pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("following sentinel %s failed", ip, exc_info=True)
            await asyncio.sleep(self._retry)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
