"""The reconcile loop: workers take keys off a `WorkQueue` and call a reconcile function.

This is controller-runtime's contract. A reconcile function gets only a key (`ns/name`),
never the event that caused it: reconciliation is level-based, it reads the current state
(from informer caches) and moves the world towards it, so it is safe to run again at any
time, and ten events can be merged into one call. What it returns decides what happens next:

- raises → the key is re-added with per-key exponential back-off, and the error logged;
- raises `TerminalError` → logged, the back-off forgotten, not retried (until a new event);
- raises `errors.NotFound` → the object is gone, which is success: nothing left to do;
- returns `Result(requeue_after=s)` → back-off forgotten, the key re-added after `s` seconds
  (`0` means at once);
- returns `None` or `Result()` → success: the back-off is forgotten.

`done(key)` is always called, so a key re-added while it was being reconciled gets its turn
afterwards, and no key is ever reconciled by two workers at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Protocol

from cluster import workqueue
from cluster.api import errors, objects

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Result:
    """What a successful reconcile asks for next."""

    requeue_after: float | None = None
    """Seconds until this key should be reconciled again even without events; None: never."""


Reconcile = Callable[[str], Awaitable["Result | None"]]


class TerminalError(Exception):
    """A reconcile failure that retrying cannot fix (a spec that can never work).

    It is logged and not retried with back-off; the next change to the object enqueues it
    again, as with controller-runtime's `reconcile.TerminalError`.
    """


class Syncable(Protocol):
    """Something whose cache must be filled before reconciling: an `Informer`."""

    @property
    def has_synced(self) -> bool: ...

    async def wait_for_sync(self) -> None: ...


class EventSource(Protocol):
    """What `watch_into` needs of an informer."""

    @property
    def has_synced(self) -> bool: ...

    async def wait_for_sync(self) -> None: ...

    def add_handler(self, on_add: Callable[[dict[str, Any]], None] | None = None,
                    on_update: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
                    on_delete: Callable[[dict[str, Any]], None] | None = None) -> Any: ...


class Controller:
    """Runs `reconcile(key)` for enqueued keys on `workers` concurrent workers.

    `run` waits for every informer wired in with `watch_into` (or passed as `informers`) to
    sync before the first reconcile, so a reconcile never mistakes an empty cache for an
    empty cluster. It then returns only after `stop`.
    """

    def __init__(self, name: str, reconcile: Reconcile, *,
                 queue: workqueue.WorkQueue[str] | None = None, workers: int = 1,
                 informers: Iterable[Syncable] = (), coalesce: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`coalesce`: a key reconciled less than this many seconds ago is queued for the
        end of that window instead of at once, so a burst of events about one object (a
        hundred pods of one ReplicaSet turning Running) costs one reconcile per window,
        while the first event of a quiet key is still handled immediately."""
        if workers < 1:
            raise ValueError("a controller needs at least one worker")
        self.name = name
        self.queue: workqueue.WorkQueue[str] = queue if queue is not None else workqueue.WorkQueue()
        self.workers = workers
        self._reconcile = reconcile
        self._informers: list[Syncable] = list(informers)
        self._stopping = False
        self._workers: list[asyncio.Task[None]] = []
        self._run_task: asyncio.Task[None] | None = None
        self._coalesce = coalesce
        self._clock = clock
        self._last_started: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"<Controller {self.name} queued={len(self.queue)}>"

    def wait_for(self, informer: Syncable) -> None:
        """Require `informer` to have synced before workers start."""
        if informer not in self._informers:
            self._informers.append(informer)

    def enqueue(self, key: str) -> None:
        if self._coalesce > 0:
            last = self._last_started.get(key)
            if last is not None:
                wait = last + self._coalesce - self._clock()
                if wait > 0:
                    self.queue.add_after(key, wait)
                    return
        self.queue.add(key)

    def enqueue_owner(self, obj: dict[str, Any], owner_kind: str, *,
                      owner_namespaced: bool = True) -> None:
        """Enqueue the controller owner of `obj` if it is a `owner_kind`.

        How a ReplicaSet controller hears about its pods: the pod's event becomes its owner's
        key. Owners of a namespaced object live in its namespace, unless cluster-scoped.
        """
        key = owner_key(obj, owner_kind, owner_namespaced=owner_namespaced)
        if key is not None:
            self.enqueue(key)

    async def run(self) -> None:
        """Wait for the informers to sync, then reconcile until `stop`."""
        if self._stopping:
            return
        self._run_task = asyncio.current_task()
        try:
            for informer in list(self._informers):
                await informer.wait_for_sync()
            if self._stopping:
                return
            loop = asyncio.get_running_loop()
            self._workers = [loop.create_task(self._worker(), name=f"{self.name} worker {i}")
                             for i in range(self.workers)]
            await asyncio.gather(*self._workers)
        finally:
            for task in self._workers:
                task.cancel()
            if self._workers:
                await asyncio.gather(*self._workers, return_exceptions=True)
            self._workers = []
            self._run_task = None

    async def stop(self, *, timeout: float | None = None) -> None:
        """Shut the queue, let in-flight reconciles finish, and drop the rest.

        Returns when `run` has returned. Keys still queued are not reconciled: a controller
        that stops is not expected to act again, unlike a client-go queue being drained.
        Reconciles still running after `timeout` seconds are cancelled.
        """
        self._stopping = True
        self.queue.shut_down()
        task = self._run_task
        if task is None or task is asyncio.current_task():
            return
        if not self._workers:
            task.cancel()  # still waiting for caches to sync
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(task)
        except TimeoutError:
            log.warning("%s: reconciles still running after %ss; cancelling", self.name, timeout)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except workqueue.ShutDown:
                return
            try:
                if self._stopping:
                    continue
                await self.reconcile_key(key)
            finally:
                self.queue.done(key)

    async def reconcile_key(self, key: str) -> None:
        """Reconcile one key and requeue it as the outcome says (the worker's body)."""
        if self._coalesce > 0:
            now = self._clock()
            self._last_started[key] = now
            if len(self._last_started) > 10_000:
                horizon = now - self._coalesce
                self._last_started = {k: t for k, t in self._last_started.items() if t > horizon}
        try:
            result = await self._reconcile(key)
        except errors.NotFound:
            result = None
        except TerminalError:
            log.error("%s: reconciling %s failed permanently", self.name, key, exc_info=True)
            self.queue.forget(key)
            return
        except Exception:
            log.warning("%s: reconciling %s failed; retry %d", self.name, key,
                        self.queue.num_requeues(key) + 1, exc_info=True)
            self.queue.add_rate_limited(key)
            return
        self.queue.forget(key)
        if result is not None and result.requeue_after is not None:
            self.queue.add_after(key, result.requeue_after)


KeyFunc = Callable[[dict[str, Any]], "str | None"]


def owner_key(obj: dict[str, Any], owner_kind: str, *,
              owner_namespaced: bool = True) -> str | None:
    """The key of `obj`'s controller owner when that owner is a `owner_kind`, else None."""
    ref = objects.controller_of(obj)
    if ref is None or ref.get("kind") != owner_kind or not ref.get("name"):
        return None
    namespace = objects.namespace_of(obj) if owner_namespaced else ""
    return f"{namespace}/{ref['name']}" if namespace else ref["name"]


def watch_into(informer: EventSource, controller: Controller,
               key_fn: KeyFunc = objects.object_key) -> Any:
    """Enqueue `key_fn(obj)` into `controller` on every add, update and delete.

    `key_fn` returning None skips the event, so `lambda o: owner_key(o, "ReplicaSet")` wires
    owned objects to their owner. The controller also waits for `informer` to sync before it
    reconciles. Returns the informer's handler registration.
    """
    def enqueue(obj: dict[str, Any]) -> None:
        key = key_fn(obj)
        if key is not None:
            controller.enqueue(key)

    controller.wait_for(informer)
    return informer.add_handler(on_add=enqueue,
                                on_update=lambda old, new: enqueue(new),
                                on_delete=enqueue)
