"""The revisioned object store: the cluster's single source of truth (etcd's role).

One global revision counts every write; an object's `metadata.resourceVersion` is the
revision of its last write. Creates and updates are compare-and-swap on that version.
Every write is one event in a bounded history, so a watch can start at any retained
revision and see every later change exactly once, in order; an older revision raises
`Expired` (HTTP 410) and the caller relists, as client-go's reflector does.

Watchers are filtered here, not by their consumers: namespace, label selector and field
selector. A watcher that pins an indexed field (`spec.nodeName=node-7`) is filed under
that value, so an event is offered only to the watchers that can want it — a thousand
kubelets do not each look at every pod. Delivery never blocks a writer: each watcher has
its own buffer, and one that falls too far behind is dropped with `Expired`.

Objects stored here are owned by the store and shared, read-only, with every reader.

With a state path, each write is committed to SQLite (WAL) before the call returns, and
the store reloads from it on start; the history does not survive a restart, so old
watches get `Expired` and relist.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterator

from cluster.api import errors, selectors
from cluster.api.watch import EventType, WatchEvent

Key = tuple[str, str]
"""(namespace, name) inside one resource; namespace is "" for cluster-scoped kinds."""

INDEXED_FIELDS: tuple[str, ...] = (
    "metadata.name", "spec.nodeName", "involvedObject.uid", "involvedObject.name",
    "metadata.namespace",
)
"""Field-selector paths that watchers are indexed by, most selective first."""


@dataclass(slots=True)
class Change:
    """One write, as kept in the history: the object after it and before it.

    Not frozen (nothing changes one after `_change`): a frozen dataclass pays a
    `object.__setattr__` per field on every write the store makes.
    """

    type: EventType
    resource: str
    object: dict[str, Any]
    previous: dict[str, Any] | None
    revision: int
    event: WatchEvent
    """The event as most watchers receive it, built once and shared by all of them."""


def _change(type: EventType, resource: str, obj: dict[str, Any],
            previous: dict[str, Any] | None, revision: int) -> Change:
    return Change(type, resource, obj, previous, revision, WatchEvent(type, obj, revision))


@dataclass(frozen=True, slots=True)
class StoreSettings:
    history: int = 200_000
    """How many past writes are kept for watches that resume from a revision."""
    watcher_buffer: int = 200_000
    """Undelivered events one watcher may hold before it is dropped with Expired."""


class Watcher:
    """One open watch: an async iterator of `WatchEvent`s, filled by the store."""

    __slots__ = ("_store", "resource", "namespace", "labels", "fields", "index_key",
                 "_buffer", "_waiter", "_error", "_closed", "_limit", "_trivial")

    def __init__(self, store: "Store", resource: str, namespace: str | None,
                 labels: selectors.Selector, fields: selectors.FieldSelector,
                 limit: int) -> None:
        self._store = store
        self.resource = resource
        self.namespace = namespace or None
        self.labels = labels
        self.fields = fields
        self._buffer: deque[WatchEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._closed = False
        self._limit = limit
        self._trivial = labels.empty and fields.empty and self.namespace is None
        self.index_key = self._choose_index()

    def _choose_index(self) -> tuple[str, str] | None:
        for path in INDEXED_FIELDS:
            if path == "metadata.namespace" and self.namespace is not None:
                return (path, self.namespace)
            value = self.fields.equality(path)
            if value is not None:
                return (path, value)
        return None

    def matches(self, obj: dict[str, Any]) -> bool:
        if self._trivial:
            return True
        m = obj["metadata"]
        if self.namespace is not None and m.get("namespace", "") != self.namespace:
            return False
        if not self.labels.empty and not self.labels.matches(m.get("labels") or {}):
            return False
        return self.fields.empty or self.fields.matches(obj)

    def _offer(self, change: Change) -> None:
        """Called by the store, synchronously, for each change that may concern us."""
        if self._closed:
            return
        if change.type is EventType.MODIFIED and not self._trivial:
            now = self.matches(change.object)
            before = self.matches(change.previous)  # type: ignore[arg-type]
            if now and before:
                event = change.event
            elif now:
                event = WatchEvent(EventType.ADDED, change.object, change.revision)
            elif before:
                # It left our filter: to us it is gone, as kube-apiserver's watch reports.
                event = WatchEvent(EventType.DELETED, change.object, change.revision)
            else:
                return
        else:
            if not self.matches(change.object):
                return
            event = change.event
        self._push(event)

    def _push(self, event: WatchEvent) -> None:
        if len(self._buffer) >= self._limit:
            self._fail(errors.Expired(
                f"watch of {self.resource} fell {self._limit} events behind and was dropped"))
            return
        self._buffer.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        self._error = error
        self._buffer.clear()
        self._store._remove_watcher(self)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pending(self) -> int:
        """Events buffered and not yet taken."""
        return len(self._buffer)

    def drain(self) -> list[WatchEvent]:
        """Take every buffered event at once, without waiting (for batch consumers)."""
        if self._error is not None and not self._buffer:
            raise self._error
        events = list(self._buffer)
        self._buffer.clear()
        return events

    def __aiter__(self) -> "Watcher":
        return self

    async def __anext__(self) -> WatchEvent:
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self._error is not None:
                raise self._error
            if self._closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def close(self) -> None:
        self.close_now()

    def close_now(self) -> None:
        if not self._closed:
            self._closed = True
            self._store._remove_watcher(self)
            self._wake()

    @property
    def closed(self) -> bool:
        return self._closed

    async def __aenter__(self) -> "Watcher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close_now()


class _WatcherIndex:
    """The watchers of one resource, filed so an event finds only its candidates."""

    __slots__ = ("unindexed", "by_field")

    def __init__(self) -> None:
        self.unindexed: dict[Watcher, None] = {}
        self.by_field: dict[str, dict[str, dict[Watcher, None]]] = {}

    def add(self, w: Watcher) -> None:
        if w.index_key is None:
            self.unindexed[w] = None
        else:
            path, value = w.index_key
            self.by_field.setdefault(path, {}).setdefault(value, {})[w] = None

    def remove(self, w: Watcher) -> None:
        if w.index_key is None:
            self.unindexed.pop(w, None)
            return
        path, value = w.index_key
        bucket = self.by_field.get(path, {}).get(value)
        if bucket is not None:
            bucket.pop(w, None)
            if not bucket:
                del self.by_field[path][value]
                if not self.by_field[path]:
                    del self.by_field[path]

    def candidates(self, change: Change) -> list[Watcher]:
        found = list(self.unindexed)
        if self.by_field:
            seen: set[Watcher] | None = None
            for path, buckets in self.by_field.items():
                values = {selectors.field_value(change.object, path)}
                if change.previous is not None:
                    values.add(selectors.field_value(change.previous, path))
                for value in values:
                    bucket = buckets.get(value)
                    if bucket:
                        if seen is None:
                            seen = set()
                        for w in bucket:
                            if w not in seen:
                                seen.add(w)
                                found.append(w)
        return found

    def __len__(self) -> int:
        return len(self.unindexed) + sum(len(b) for v in self.by_field.values()
                                         for b in v.values())


class _Persistence:
    """SQLite (WAL) mirror of the live objects; one transaction per write."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (not a power cut), which is the
        # crash this sandbox has to survive, at a fraction of FULL's fsync cost.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS objects (resource TEXT, namespace TEXT,"
                         " name TEXT, data TEXT, PRIMARY KEY (resource, namespace, name))")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)")

    def load(self) -> tuple[int, Iterator[tuple[str, dict[str, Any]]]]:
        row = self._db.execute("SELECT value FROM meta WHERE key='revision'").fetchone()
        revision = int(row[0]) if row else 0
        rows = self._db.execute("SELECT resource, data FROM objects").fetchall()
        return revision, ((r, json.loads(d)) for r, d in rows)

    def put(self, resource: str, key: Key, obj: dict[str, Any], revision: int) -> None:
        data = json.dumps(obj, separators=(",", ":"))
        db = self._db
        db.execute("BEGIN")
        try:
            db.execute("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?)",
                       (resource, key[0], key[1], data))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('revision', ?)", (revision,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def remove(self, resource: str, key: Key, revision: int) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            db.execute("DELETE FROM objects WHERE resource=? AND namespace=? AND name=?",
                       (resource, key[0], key[1]))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('revision', ?)", (revision,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()


def _key(obj: dict[str, Any]) -> Key:
    m = obj["metadata"]
    return (m.get("namespace", ""), m["name"])


def _owner_uids(obj: dict[str, Any] | None) -> tuple[str, ...]:
    if obj is None:
        return ()
    refs = obj["metadata"].get("ownerReferences")
    return tuple(r.get("uid", "") for r in refs) if refs else ()


class Store:
    """Objects by resource, namespace and name, with one revision and a watchable history.

    Callers hand objects over: `create` and `update` take ownership of the dict they are
    given (they set its resourceVersion) and readers get the very same dict back. The API
    server copies on the way in and out; the store itself never copies.
    """

    def __init__(self, *, settings: StoreSettings | None = None, path: str | None = None) -> None:
        self.settings = settings or StoreSettings()
        self._objects: dict[str, dict[Key, dict[str, Any]]] = {}
        self._revision = 0
        self._history: list[Change] = []
        self._first = 1  # revision of _history[0]
        self._watchers: dict[str, _WatcherIndex] = {}
        self._dependents: dict[str, set[tuple[str, Key]]] = {}
        self._db: _Persistence | None = None
        if path is not None:
            self._db = _Persistence(path)
            revision, rows = self._db.load()
            for resource, obj in rows:
                self._objects.setdefault(resource, {})[_key(obj)] = obj
                self._index_owners(resource, _key(obj), None, obj)
            self._revision = revision
            self._first = revision + 1

    # -- reads ---------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """The revision of the last write."""
        return self._revision

    @property
    def oldest_revision(self) -> int:
        """The oldest revision a watch may start from (events after it are all retained)."""
        return self._first - 1

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        obj = self._objects.get(resource, {}).get((namespace, name))
        if obj is None:
            raise errors.NotFound(resource, name)
        return obj

    def try_get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(resource, {}).get((namespace, name))

    def list(self, resource: str, namespace: str | None = None,
             label_selector: "str | selectors.Selector | None" = None,
             field_selector: "str | selectors.FieldSelector | None" = None,
             ) -> tuple[list[dict[str, Any]], int]:
        """Matching objects, sorted by namespace and name, and the revision they reflect."""
        labels = selectors.as_selector(label_selector)
        fields = selectors.as_field_selector(field_selector)
        bucket = self._objects.get(resource, {})
        out = []
        for key in sorted(bucket):
            if namespace and key[0] != namespace:
                continue
            obj = bucket[key]
            if not labels.empty and not labels.matches(obj["metadata"].get("labels") or {}):
                continue
            if not fields.empty and not fields.matches(obj):
                continue
            out.append(obj)
        return out, self._revision

    def count(self, resource: str) -> int:
        return len(self._objects.get(resource, {}))

    def namespaces_used(self, namespace: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every object in `namespace`, across resources."""
        for resource, bucket in self._objects.items():
            for key, obj in list(bucket.items()):
                if key[0] == namespace:
                    yield resource, obj

    def dependents(self, owner_uid: str) -> list[tuple[str, dict[str, Any]]]:
        """Objects whose ownerReferences name `owner_uid`: (resource, object)."""
        out = []
        for resource, key in sorted(self._dependents.get(owner_uid, ())):
            obj = self._objects.get(resource, {}).get(key)
            if obj is not None:
                out.append((resource, obj))
        return out

    # -- writes --------------------------------------------------------------------------

    def create(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        key = _key(obj)
        bucket = self._objects.setdefault(resource, {})
        if key in bucket:
            raise errors.AlreadyExists(resource, key[1])
        rev = self._revision + 1
        obj["metadata"]["resourceVersion"] = str(rev)
        if self._db is not None:
            self._db.put(resource, key, obj, rev)
        self._revision = rev
        bucket[key] = obj
        self._index_owners(resource, key, None, obj)
        self._publish(_change(EventType.ADDED, resource, obj, None, rev))
        return obj

    def update(self, resource: str, obj: dict[str, Any], *,
               expected_version: str | None = None) -> dict[str, Any]:
        """Replace an object; with `expected_version`, only if it is still that version."""
        key = _key(obj)
        bucket = self._objects.get(resource, {})
        old = bucket.get(key)
        if old is None:
            raise errors.NotFound(resource, key[1])
        if expected_version and old["metadata"]["resourceVersion"] != expected_version:
            raise errors.Conflict(resource, key[1])
        rev = self._revision + 1
        obj["metadata"]["resourceVersion"] = str(rev)
        if self._db is not None:
            self._db.put(resource, key, obj, rev)
        self._revision = rev
        bucket[key] = obj
        self._index_owners(resource, key, old, obj)
        self._publish(_change(EventType.MODIFIED, resource, obj, old, rev))
        return obj

    def delete(self, resource: str, namespace: str, name: str, *,
               expected_version: str | None = None) -> dict[str, Any]:
        """Remove an object; the DELETED event carries its last state at a new revision."""
        key = (namespace, name)
        bucket = self._objects.get(resource, {})
        old = bucket.get(key)
        if old is None:
            raise errors.NotFound(resource, name)
        if expected_version and old["metadata"]["resourceVersion"] != expected_version:
            raise errors.Conflict(resource, name)
        rev = self._revision + 1
        if self._db is not None:
            self._db.remove(resource, key, rev)
        self._revision = rev
        del bucket[key]
        self._index_owners(resource, key, old, None)
        # The tombstone is the last state with the deletion's revision, like etcd's
        # delete event carrying the key's final value.
        gone = dict(old)
        gone["metadata"] = dict(old["metadata"], resourceVersion=str(rev))
        self._publish(_change(EventType.DELETED, resource, gone, old, rev))
        return gone

    def _index_owners(self, resource: str, key: Key, old: dict[str, Any] | None,
                      new: dict[str, Any] | None) -> None:
        if old is not None and new is not None and \
                old["metadata"].get("ownerReferences") is new["metadata"].get("ownerReferences"):
            return  # the same list (a status write shares it): the same owners
        before, after = _owner_uids(old), _owner_uids(new)
        if before == after:
            return
        for uid in before:
            if uid not in after:
                deps = self._dependents.get(uid)
                if deps is not None:
                    deps.discard((resource, key))
                    if not deps:
                        del self._dependents[uid]
        for uid in after:
            self._dependents.setdefault(uid, set()).add((resource, key))

    def _publish(self, change: Change) -> None:
        history = self._history
        history.append(change)
        limit = self.settings.history
        if len(history) >= 2 * limit:
            drop = len(history) - limit
            del history[:drop]
            self._first += drop
        index = self._watchers.get(change.resource)
        if index is not None:
            for w in index.candidates(change):
                w._offer(change)

    def compact(self, revision: int) -> None:
        """Forget history up to and including `revision` (etcd's compaction)."""
        drop = min(max(0, revision - self._first + 1), len(self._history))
        if drop:
            del self._history[:drop]
            self._first += drop

    # -- watches -------------------------------------------------------------------------

    def watch(self, resource: str, namespace: str | None = None,
              label_selector: "str | selectors.Selector | None" = None,
              field_selector: "str | selectors.FieldSelector | None" = None,
              since: int | None = None) -> Watcher:
        """Events after revision `since`; with None, ADDED for what exists, then changes.

        Raises Expired when `since` is older than the retained history.
        """
        w = Watcher(self, resource, namespace, selectors.as_selector(label_selector),
                    selectors.as_field_selector(field_selector), self.settings.watcher_buffer)
        if since is None:
            for obj in self._matching_now(resource, w):
                w._push(WatchEvent(EventType.ADDED, obj, self._revision))
        else:
            if since < self._first - 1:
                raise errors.Expired(
                    f"too old resource version: {since} ({self._first - 1})")
            start = max(0, since + 1 - self._first)
            for change in self._history[start:]:
                if change.resource == resource:
                    w._offer(change)
        self._watchers.setdefault(resource, _WatcherIndex()).add(w)
        return w

    def _matching_now(self, resource: str, w: Watcher) -> list[dict[str, Any]]:
        if w.index_key is not None and w.index_key[0] == "metadata.name":
            obj = self._objects.get(resource, {}).get((w.namespace or "", w.index_key[1]))
            if obj is None and w.namespace is None:
                return [o for k, o in self._objects.get(resource, {}).items()
                        if k[1] == w.index_key[1] and w.matches(o)]
            return [obj] if obj is not None and w.matches(obj) else []
        return [o for o in self._objects.get(resource, {}).values() if w.matches(o)]

    def _remove_watcher(self, w: Watcher) -> None:
        index = self._watchers.get(w.resource)
        if index is not None:
            index.remove(w)

    def watcher_count(self, resource: str | None = None) -> int:
        if resource is not None:
            index = self._watchers.get(resource)
            return len(index) if index else 0
        return sum(len(i) for i in self._watchers.values())

    def close(self) -> None:
        """Close every watch and the database."""
        for index in list(self._watchers.values()):
            for w in list(index.unindexed):
                w.close_now()
            for buckets in list(index.by_field.values()):
                for bucket in list(buckets.values()):
                    for w in list(bucket):
                        w.close_now()
        if self._db is not None:
            self._db.close()
            self._db = None
