"""What the sentinels announced, and when: their pub/sub events, gathered from every sentinel.

Sentinels publish each event on a channel named after it (`+sdown`, `+odown`,
`+elected-leader`, `+promoted-slave`, `+switch-master`, ...) with the event's text as the
message — the built-in sentinel and Redis' own alike. `SentinelEvents` keeps one
`PSUBSCRIBE *` per sentinel pod, follows the pods as they come and go (`follow`), and
stamps every event with the scenario's clock when it arrives, so the timeline and the
writer's records share one time line. Events published while a subscription is down (a
sentinel pod being replaced) are not seen: a dead sentinel publishes nothing anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SENTINEL_PORT = 26379
HELLO_CHANNEL = "__sentinel__:hello"


@dataclass(frozen=True, slots=True)
class SentinelEvent:
    """One event as a sentinel published it."""

    at: float
    """When it arrived, in the scenario's clock (seconds)."""
    sentinel: str
    """The publishing sentinel's pod IP."""
    kind: str
    """The channel: `+switch-master`, `+sdown`, ..."""
    text: str
    """The message, in Sentinel's format (`master mymaster 127.0.0.5 6379`)."""

    @property
    def about_master(self) -> bool:
        """The event concerns the monitored master itself (`master <name> ...`)."""
        return self.text.startswith("master ")

    def switch(self) -> tuple[str, str] | None:
        """(old ip, new ip) of a `+switch-master <name> <old ip> <port> <new ip> <port>`."""
        words = self.text.split()
        if self.kind != "+switch-master" or len(words) < 5:
            return None
        return words[1], words[3]


class SentinelEvents:
    """Subscriptions to every sentinel in `follow(...)`; `events` in arrival order."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 retry: float = 0.1, connect_timeout: float = 0.5) -> None:
        self.clock = clock
        self.retry = retry
        self.connect_timeout = connect_timeout
        self.events: list[SentinelEvent] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._subscribed: dict[str, asyncio.Event] = {}
        self._arrived = asyncio.Condition()

    @property
    def sentinels(self) -> list[str]:
        return sorted(self._tasks)

    def follow(self, ips: Iterable[str]) -> None:
        """Subscribe to these sentinels (and only these)."""
        wanted = {ip for ip in ips if ip}
        for ip in set(self._tasks) - wanted:
            self._tasks.pop(ip).cancel()
            self._subscribed.pop(ip, None)
        loop = asyncio.get_running_loop()
        for ip in wanted - set(self._tasks):
            self._subscribed[ip] = asyncio.Event()
            self._tasks[ip] = loop.create_task(self._subscribe(ip),
                                               name=f"scenario-sentinel-events-{ip}")

    async def wait_subscribed(self, timeout: float) -> bool:
        """Wait until every followed sentinel's subscription is up."""
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(e.wait() for e in list(self._subscribed.values())))
        except TimeoutError:
            return False
        return True

    async def wait_for(self, predicate: Callable[[SentinelEvent], bool], *,
                       timeout: float) -> SentinelEvent | None:
        """The first event (already seen or to come) matching `predicate`, or None."""
        async def found() -> SentinelEvent:
            async with self._arrived:
                await self._arrived.wait_for(lambda: any(predicate(e) for e in self.events))
            return next(e for e in self.events if predicate(e))
        try:
            async with asyncio.timeout(timeout):
                return await found()
        except TimeoutError:
            return None

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        self._subscribed.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _subscribe(self, ip: str) -> None:
        while True:
            client = aioredis.Redis(host=ip, port=SENTINEL_PORT,
                                    socket_connect_timeout=self.connect_timeout,
                                    decode_responses=True)
            pubsub = client.pubsub()
            try:
                await pubsub.psubscribe("*")
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if message.get("type") == "psubscribe":
                        self._subscribed[ip].set()
                        continue
                    if message.get("type") != "pmessage":
                        continue
                    channel = str(message.get("channel") or "")
                    if channel == HELLO_CHANNEL:
                        continue
                    await self._record(SentinelEvent(self.clock(), ip, channel,
                                                     str(message.get("data") or "")))
            except (RedisError, OSError) as exc:
                log.debug("sentinel %s event subscription: %s", ip, exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(self.retry)

    async def _record(self, event: SentinelEvent) -> None:
        self.events.append(event)
        async with self._arrived:
            self._arrived.notify_all()


__all__ = ["SentinelEvent", "SentinelEvents"]
