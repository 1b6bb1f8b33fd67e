"""Shared informers: one list+watch per resource, a local cache, and event handlers.

An `Informer` lists a resource, then watches from the list's revision, keeping a cache that
converges on the server's state; controllers read the cache instead of asking the API on
every reconcile, and register handlers that enqueue keys. This is client-go's reflector +
indexer + shared informer, on one asyncio loop:

- **Expired watches relist.** When the watch's revision was compacted (or the server dropped
  a slow watcher), iteration raises `errors.Expired`. The informer lists again and reconciles
  the cache with the fresh list: handlers see `on_add`/`on_update` for what appeared or
  changed and `on_delete` (with the last state the cache held) for what vanished meanwhile.
- **Other failures back off.** A failed list or a broken watch is logged and retried after
  an exponential delay; a watch that merely closed resumes from the last revision seen.
- **Shared objects.** The cache stores the objects from watch events as they are, shared
  with the store and every other watcher, so that an informer costs no copies. Treat what
  `get`, `list`, `by_index` and handlers hand out as read-only; `objects.clone` before
  changing one.
- **Handlers only enqueue.** They run synchronously inside the watch loop, so they must be
  cheap; one that raises is logged and the informer carries on. A handler registered after
  the cache filled gets a synthetic `on_add` for every cached object, as in client-go.

`InformerFactory` hands out one informer per (resource, namespace, selectors), so every
controller interested in pods shares one watch and one cache.
"""

from __future__ import annotations

import builtins

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from cluster import client as client_mod
from cluster.api import errors, objects

log = logging.getLogger(__name__)

Indexer = Callable[[dict[str, Any]], list[str]]
"""Maps an object to the index values it is filed under (client-go's IndexFunc)."""

AddHandler = Callable[[dict[str, Any]], None]
UpdateHandler = Callable[[dict[str, Any], dict[str, Any]], None]
DeleteHandler = Callable[[dict[str, Any]], None]

_ADDED, _MODIFIED, _DELETED = (client_mod.EventType.ADDED, client_mod.EventType.MODIFIED,
                               client_mod.EventType.DELETED)

NAMESPACE_INDEX = "namespace"
"""The index every informer keeps: objects by `metadata.namespace` (`""` if cluster-scoped)."""


def _by_namespace(obj: dict[str, Any]) -> list[str]:
    return [objects.namespace_of(obj)]


@dataclass(frozen=True)
class InformerSettings:
    """How an informer retries after failures (client-go's reflector back-off)."""

    retry_initial_delay: float = 0.8
    """Seconds before the first retry of a failed list or watch; doubles per failure."""

    retry_max_delay: float = 30.0
    """Ceiling on the retry delay, in seconds."""


@dataclass(frozen=True, eq=False)
class _Handlers:
    on_add: AddHandler | None
    on_update: UpdateHandler | None
    on_delete: DeleteHandler | None


class HandlerRegistration:
    """What `add_handler` returns; `remove()` stops the handlers from being called."""

    def __init__(self, informer: "Informer", handlers: _Handlers) -> None:
        self._informer = informer
        self._handlers = handlers

    def remove(self) -> None:
        self._informer._remove_handlers(self._handlers)


class Informer:
    """A list+watch of one resource (optionally one namespace and selectors) into a cache.

    `namespace=None` watches all namespaces. Keys are `objects.object_key`: `ns/name`, or
    `name` for cluster-scoped kinds.
    """

    def __init__(self, client: client_mod.Client, resource: str, *,
                 namespace: str | None = None, label_selector: str | None = None,
                 field_selector: str | None = None,
                 indexers: Mapping[str, Indexer] | None = None,
                 settings: InformerSettings | None = None) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace or None
        self.label_selector = label_selector or None
        self.field_selector = field_selector or None
        self.settings = settings or InformerSettings()
        self._items: dict[str, dict[str, Any]] = {}
        self._indexers: dict[str, Indexer] = {NAMESPACE_INDEX: _by_namespace}
        self._indices: dict[str, dict[str, dict[str, None]]] = {NAMESPACE_INDEX: {}}
        """index name -> value -> keys (a dict used as an insertion-ordered set)."""
        self._filed: dict[str, dict[str, tuple[str, ...]]] = {}
        """key -> index name -> the values the cached object is filed under, so that an
        update recomputes each index once and touches it only when the values changed
        (a pod's status write changes none of them)."""
        self._handlers: list[_Handlers] = []
        self._synced = asyncio.Event()
        self._revision: int | None = None
        """Where the next watch starts; None means list first."""
        self._last_sync_revision: int | None = None
        self._watch_events = 0
        self._task: asyncio.Task[None] | None = None
        if indexers:
            self.add_indexers(indexers)

    def __repr__(self) -> str:
        where = f" namespace={self.namespace}" if self.namespace else ""
        return f"<Informer {self.resource}{where} items={len(self._items)}>"

    # -- reading the cache --------------------------------------------------------------------

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached object under `ns/name` (or `name`), shared: do not mutate it."""
        return self._items.get(key)

    def get_by_name(self, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> list[dict[str, Any]]:
        """Every cached object, shared: do not mutate them."""
        return list(self._items.values())

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def by_index(self, index: str, value: str) -> builtins.list[dict[str, Any]]:
        """Cached objects filed under `value` in `index`; KeyError for an unknown index."""
        return [self._items[key] for key in self.index_keys(index, value)]

    def index_keys(self, index: str, value: str) -> builtins.list[str]:
        if index not in self._indices:
            raise KeyError(f"informer for {self.resource} has no index {index!r}")
        return list(self._indices[index].get(value, ()))

    @property
    def has_synced(self) -> bool:
        """True once the first list has been delivered to the cache and the handlers."""
        return self._synced.is_set()

    async def wait_for_sync(self) -> None:
        await self._synced.wait()

    @property
    def last_sync_revision(self) -> int | None:
        """The store revision the cache reflects: the last list's or the last event's."""
        return self._last_sync_revision

    # -- indexers and handlers ----------------------------------------------------------------

    def add_indexers(self, indexers: Mapping[str, Indexer]) -> None:
        """Add named indexers and index what is cached already.

        Re-adding the same function under a name is a no-op; a different function under a
        taken name raises ValueError, because two callers would read each other's index.
        """
        for name, fn in indexers.items():
            existing = self._indexers.get(name)
            if existing is fn:
                continue
            if existing is not None:
                raise ValueError(f"indexer conflict: {self.resource} already has index {name!r}")
            self._indexers[name] = fn
            index: dict[str, dict[str, None]] = {}
            self._indices[name] = index
            for key, obj in self._items.items():
                values = self._index_values(name, obj)
                self._filed.setdefault(key, {})[name] = values
                for value in values:
                    index.setdefault(value, {})[key] = None

    def add_handler(self, on_add: AddHandler | None = None,
                    on_update: UpdateHandler | None = None,
                    on_delete: DeleteHandler | None = None) -> HandlerRegistration:
        """Call these on changes; replays `on_add` for every object already cached."""
        handlers = _Handlers(on_add, on_update, on_delete)
        self._handlers.append(handlers)
        if on_add is not None:
            for obj in list(self._items.values()):
                self._call(on_add, obj)
        return HandlerRegistration(self, handlers)

    def _remove_handlers(self, handlers: _Handlers) -> None:
        if handlers in self._handlers:
            self._handlers.remove(handlers)

    # -- running ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listing and watching in a background task (no-op if already running)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"informer {self.resource}")

    async def stop(self) -> None:
        """Cancel the watch task and wait for it; the cache keeps its last state."""
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        """List and watch forever; relist on Expired, back off on other failures."""
        failures = 0
        while True:
            self._watch_events = 0
            try:
                if self._revision is None:
                    await self._relist()
                await self._watch()
                outcome = "closed"
            except asyncio.CancelledError:
                raise
            except errors.Expired as exc:
                log.info("informer %s: watch expired (%s); relisting", self.resource, exc)
                self._revision = None
                outcome = "expired"
            except Exception:
                log.warning("informer %s: list/watch failed; retrying", self.resource,
                            exc_info=True)
                outcome = "failed"
            if self._watch_events:
                failures = 0
                if outcome != "failed":
                    continue
            # An expiry right after progress relists at once, as client-go does; expiring
            # again without progress, or any failure, backs off so a sick server is not
            # hammered and the loop always yields.
            if outcome == "expired" and failures == 0:
                failures = 1
                continue
            failures += 1
            delay = min(self.settings.retry_initial_delay * 2 ** min(failures - 1, 30),
                        self.settings.retry_max_delay)
            await asyncio.sleep(delay)

    async def _relist(self) -> None:
        """Replace the cache with a fresh list, telling handlers what changed."""
        listed = await self.client.list(self.resource, self.namespace,
                                        label_selector=self.label_selector,
                                        field_selector=self.field_selector)
        fresh = {objects.object_key(obj): obj for obj in listed.items}
        for key in [key for key in self._items if key not in fresh]:
            old = self._items[key]
            self._forget(key, old)
            self._emit_delete(old)
        for key, obj in fresh.items():
            old = self._items.get(key)
            if old is None:
                self._put(key, obj, None)
                self._emit_add(obj)
            elif objects.resource_version_of(old) != objects.resource_version_of(obj):
                self._put(key, obj, old)
                self._emit_update(old, obj)
        self._revision = listed.resource_version
        self._last_sync_revision = listed.resource_version
        self._synced.set()

    async def _watch(self) -> None:
        """Apply watch events from `self._revision` until the watch ends or fails."""
        watch = self.client.watch(self.resource, self.namespace,
                                  label_selector=self.label_selector,
                                  field_selector=self.field_selector,
                                  resource_version=self._revision)
        try:
            async for event in watch:
                self._watch_events += 1
                self._apply(event)
        finally:
            await watch.close()

    def _apply(self, event: client_mod.WatchEvent) -> None:
        obj = event.object
        key = objects.object_key(obj)
        old = self._items.get(key)
        kind = event.type
        if kind is _DELETED or kind == _DELETED:
            if old is not None:
                self._forget(key, old)
            self._emit_delete(obj)
        elif kind is _MODIFIED or kind is _ADDED or kind in (_ADDED, _MODIFIED):
            self._put(key, obj, old)
            if old is None:
                self._emit_add(obj)
            else:
                self._emit_update(old, obj)
        else:
            log.warning("informer %s: ignoring watch event of type %r", self.resource,
                        event.type)
        self._revision = event.revision
        self._last_sync_revision = event.revision

    # -- the cache and its indices --------------------------------------------------------------

    def _put(self, key: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        self._items[key] = obj
        before = self._filed.get(key) or {}
        filed: dict[str, tuple[str, ...]] = {}
        for name, indexer in self._indexers.items():
            try:
                values = filed[name] = tuple(indexer(obj))
            except Exception:
                log.exception("informer %s: indexer %r failed on %s", self.resource, name, key)
                values = filed[name] = ()
            previous = before.get(name, ())
            if values != previous:
                index = self._indices[name]
                self._unfile(index, key, previous)
                for value in values:
                    index.setdefault(value, {})[key] = None
        self._filed[key] = filed

    def _forget(self, key: str, old: dict[str, Any]) -> None:
        for name, values in (self._filed.pop(key, None) or {}).items():
            self._unfile(self._indices[name], key, values)
        del self._items[key]

    def _index_values(self, name: str, obj: dict[str, Any]) -> tuple[str, ...]:
        try:
            return tuple(self._indexers[name](obj))
        except Exception:
            log.exception("informer %s: indexer %r failed on %s", self.resource, name,
                          objects.object_key(obj))
            return ()

    @staticmethod
    def _unfile(index: dict[str, dict[str, None]], key: str, values: tuple[str, ...]) -> None:
        for value in values:
            bucket = index.get(value)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del index[value]

    # -- handlers -------------------------------------------------------------------------------

    def _emit_add(self, obj: dict[str, Any]) -> None:
        for handlers in tuple(self._handlers):
            if handlers.on_add is not None:
                self._call(handlers.on_add, obj)

    def _emit_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        for handlers in tuple(self._handlers):
            if handlers.on_update is not None:
                self._call(handlers.on_update, old, new)

    def _emit_delete(self, obj: dict[str, Any]) -> None:
        for handlers in tuple(self._handlers):
            if handlers.on_delete is not None:
                self._call(handlers.on_delete, obj)

    def _call(self, handler: Callable[..., None], *args: dict[str, Any]) -> None:
        try:
            handler(*args)
        except Exception:
            log.exception("informer %s: event handler %r failed", self.resource, handler)


class InformerFactory:
    """Hands out one shared `Informer` per (resource, namespace, selectors).

    Informers asked for after `start` are started at once; `stop` cancels every watch.
    """

    def __init__(self, client: client_mod.Client, *,
                 settings: InformerSettings | None = None) -> None:
        self.client = client
        self.settings = settings or InformerSettings()
        self._informers: dict[tuple[str, str | None, str | None, str | None], Informer] = {}
        self._started = False

    async def informer(self, resource: str, namespace: str | None = None,
                       label_selector: str | None = None, field_selector: str | None = None,
                       indexers: Mapping[str, Indexer] | None = None) -> Informer:
        """The shared informer for this view; asking again merges `indexers` into it.

        Async because `resource` is resolved through the client, so `po`, `pod` and `pods`
        share one informer.
        """
        rt = await self.client.resolve(resource)
        ns = (namespace or None) if rt.namespaced else None
        key = (rt.key, ns, label_selector or None, field_selector or None)
        informer = self._informers.get(key)
        if informer is None:
            informer = Informer(self.client, rt.key, namespace=ns,
                                label_selector=label_selector, field_selector=field_selector,
                                indexers=indexers, settings=self.settings)
            self._informers[key] = informer
            if self._started:
                await informer.start()
        elif indexers:
            informer.add_indexers(indexers)
        return informer

    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    async def start(self) -> None:
        """Start every informer made so far, and those made from now on."""
        self._started = True
        for informer in list(self._informers.values()):
            await informer.start()

    async def wait_for_cache_sync(self, timeout: float | None = None) -> bool:
        """Wait until every informer has listed once; False if `timeout` ran out first."""
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(i.wait_for_sync() for i in self._informers.values()))
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Cancel every informer's watch and wait for the tasks to end."""
        self._started = False
        await asyncio.gather(*(i.stop() for i in self._informers.values()))
