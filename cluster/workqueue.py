"""A rate-limited work queue of object keys, shaped like client-go's `workqueue`.

Controllers never act inside a watch callback: the callback only adds the object's key
here, and workers take keys out one at a time. Three guarantees make that safe:

- **De-duplication.** A key that is already waiting is not queued twice; ten events about
  one object while it waits cost one reconcile. (Reconcile is level-based: it reads the
  current state, so nothing is lost by merging the events.)
- **One worker per key.** A key handed out by `get` is *processing* until `done`. Adding it
  meanwhile only marks it dirty; `done` queues it again. Two workers never hold one key.
- **Per-key back-off.** `add_rate_limited` delays a key by `base_delay * 2**failures`
  (capped), optionally also held to an overall token bucket, so a failing object backs off
  without stalling the others; `forget` resets it after a success.

Everything runs on one asyncio loop: delayed adds are loop timers, `get` waits on a future.
Deadlines are measured with an injectable clock, and `release_due` is the seam a test with a
fake clock calls after advancing it.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import itertools
import time
from dataclasses import dataclass
from typing import Callable, Generic, Hashable, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)

Clock = Callable[[], float]


class ShutDown(Exception):
    """`get` on a queue that was shut down and has nothing left to hand out."""


@dataclass(frozen=True)
class QueueSettings:
    """Timing of a `WorkQueue`'s default rate limiter (client-go's controller defaults)."""

    base_delay: float = 0.005
    """Seconds of delay after a key's first failure; doubles with each further failure."""

    max_delay: float = 1000.0
    """Ceiling on one key's back-off, in seconds."""

    bucket_qps: float | None = 50.0
    """Overall rate of rate-limited re-adds across all keys; None turns the bucket off."""

    bucket_burst: int = 300
    """How many rate-limited re-adds the bucket lets through before `bucket_qps` applies."""


class RateLimiter(Protocol[K_contra]):
    """Decides how long a key waits before its next retry (client-go's `RateLimiter`)."""

    def when(self, key: K_contra) -> float:
        """Seconds to wait before retrying `key`; records one more failure."""
        ...

    def forget(self, key: K_contra) -> None:
        """Stop tracking `key`: its next failure starts from the base delay again."""
        ...

    def num_requeues(self, key: K_contra) -> int:
        """Failures recorded for `key` since it was last forgotten."""
        ...


class ItemExponentialBackoff(Generic[K]):
    """Per-key `base_delay * 2**failures`, capped at `max_delay`."""

    def __init__(self, base_delay: float, max_delay: float) -> None:
        self._base = base_delay
        self._max = max_delay
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        # Past ~1000 doublings a float overflows; the cap is reached long before that.
        if failures > 1000:
            return self._max
        return min(self._base * 2 ** failures, self._max)

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        return self._failures.get(key, 0)


class TokenBucket(Generic[K]):
    """An overall limit on retries: `burst` at once, then `qps` per second.

    Each `when` reserves one token and returns how long until that token exists, so a storm
    of failing keys is spread out instead of retried all at once.
    """

    def __init__(self, qps: float, burst: int, *, clock: Clock = time.monotonic) -> None:
        self._qps = qps
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def when(self, key: K) -> float:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self._qps

    def forget(self, key: K) -> None:
        """The bucket is shared by all keys; there is nothing per-key to forget."""

    def num_requeues(self, key: K) -> int:
        return 0


class MaxOf(Generic[K]):
    """The longest delay any of several limiters asks for."""

    def __init__(self, *limiters: RateLimiter[K]) -> None:
        self._limiters = limiters

    def when(self, key: K) -> float:
        return max(limiter.when(key) for limiter in self._limiters)

    def forget(self, key: K) -> None:
        for limiter in self._limiters:
            limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return max(limiter.num_requeues(key) for limiter in self._limiters)


def default_rate_limiter(settings: QueueSettings, *,
                         clock: Clock = time.monotonic) -> RateLimiter[K]:
    """Per-key exponential back-off, held to the token bucket when one is configured."""
    backoff: ItemExponentialBackoff[K] = ItemExponentialBackoff(settings.base_delay,
                                                                settings.max_delay)
    if settings.bucket_qps is None:
        return backoff
    return MaxOf(backoff, TokenBucket(settings.bucket_qps, settings.bucket_burst, clock=clock))


class WorkQueue(Generic[K]):
    """De-duplicating, one-worker-per-key, rate-limited queue of keys.

    Shutting down drains, as client-go's does: `get` keeps handing out keys that were queued
    before `shut_down`, and raises `ShutDown` once none are left. Adds after shutdown are
    ignored, and keys still waiting on a delay are dropped.
    """

    def __init__(self, *, settings: QueueSettings | None = None, clock: Clock = time.monotonic,
                 rate_limiter: RateLimiter[K] | None = None) -> None:
        self.settings = settings or QueueSettings()
        self._clock = clock
        self._limiter: RateLimiter[K] = rate_limiter or default_rate_limiter(self.settings,
                                                                            clock=clock)
        self._queue: collections.deque[K] = collections.deque()
        self._dirty: set[K] = set()
        """Keys that need processing: the queued ones, plus processing ones re-added."""
        self._processing: set[K] = set()
        self._getters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._shutting_down = False
        # Delayed adds: a heap of (deadline, seq, key) with lazy deletion; `_deadlines`
        # holds each key's live deadline, so an entry whose deadline differs is stale.
        self._heap: list[tuple[float, int, K]] = []
        self._deadlines: dict[K, float] = {}
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_deadline: float | None = None

    # -- the plain queue ------------------------------------------------------------------

    def add(self, key: K) -> None:
        """Queue `key` unless it is already waiting; if it is processing, queue it on `done`."""
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)
        self._wake_one()

    async def get(self) -> K:
        """The next key, waiting for one; the caller must call `done(key)` when finished.

        Raises `ShutDown` once the queue is shut down and drained.
        """
        while not self._queue:
            if self._shutting_down:
                raise ShutDown()
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                # A wake-up handed to a getter that is going away must go to another one.
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()
                raise
            finally:
                if waiter in self._getters:
                    self._getters.remove(waiter)
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        """Mark `key` finished; if it was added while processing, queue it again."""
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()

    def __len__(self) -> int:
        """Keys ready to be handed out (not those processing or waiting on a delay)."""
        return len(self._queue)

    def shut_down(self) -> None:
        """Stop accepting keys; idle getters raise `ShutDown` once the queue is drained."""
        self._shutting_down = True
        self._heap.clear()
        self._deadlines.clear()
        self._disarm()
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def _wake_one(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    # -- delays -----------------------------------------------------------------------------

    def add_after(self, key: K, delay_s: float) -> None:
        """Queue `key` after `delay_s` seconds; of two pending delays, the earlier wins."""
        if self._shutting_down:
            return
        if delay_s <= 0:
            self.add(key)
            return
        deadline = self._clock() + delay_s
        current = self._deadlines.get(key)
        if current is not None and current <= deadline:
            return
        self._deadlines[key] = deadline
        heapq.heappush(self._heap, (deadline, next(self._seq), key))
        self._arm()

    def release_due(self) -> int:
        """Queue every delayed key whose deadline has passed; returns how many.

        The loop timer calls this; a test driving a fake clock calls it after advancing.
        """
        now = self._clock()
        released = 0
        while self._heap and self._heap[0][0] <= now:
            deadline, _, key = heapq.heappop(self._heap)
            if self._deadlines.get(key) != deadline:
                continue  # superseded by an earlier deadline, already released
            del self._deadlines[key]
            self.add(key)
            released += 1
        self._arm()
        return released

    def _arm(self) -> None:
        """Point the single loop timer at the earliest live deadline."""
        while self._heap and self._deadlines.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        if not self._heap:
            self._disarm()
            return
        deadline = self._heap[0][0]
        if self._timer is not None and self._timer_deadline == deadline:
            return
        self._disarm()
        delay = max(0.0, deadline - self._clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)
        self._timer_deadline = deadline

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_deadline = None

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_deadline = None
        self.release_due()

    # -- rate limiting ----------------------------------------------------------------------

    def add_rate_limited(self, key: K) -> None:
        """Queue `key` after its back-off; each call without a `forget` doubles the delay."""
        if self._shutting_down:
            return
        self.add_after(key, self._limiter.when(key))

    def forget(self, key: K) -> None:
        """Reset `key`'s back-off (after a success); does not remove it from the queue."""
        self._limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        """Rate-limited re-adds of `key` since it was last forgotten."""
        return self._limiter.num_requeues(key)
