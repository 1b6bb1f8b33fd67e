"""Informer and InformerFactory: cache convergence, relisting, handlers, indexers, sharing."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from cluster import informer as informing
from cluster.api import objects
from cluster.api.resources import ResourceRegistry
from cluster.client import ObjectList
from cluster.store import Store, StoreSettings

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

FAST_RETRY = informing.InformerSettings(retry_initial_delay=0.001, retry_max_delay=0.01)


class StoreClient:
    """The read side of `Client` over a bare `Store`, with failure injection and writes.

    Watches are the store's own, so compaction and slow-watcher drops behave for real.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry = ResourceRegistry()
        self.list_calls = 0
        self.watch_calls = 0
        self.fail_lists: list[Exception] = []
        self.fail_watches: list[Exception] = []

    async def resolve(self, resource: str):
        return self.registry.resolve(resource)

    async def list(self, resource: str, namespace: str | None = None, *,
                   label_selector: str | None = None,
                   field_selector: str | None = None) -> ObjectList:
        self.list_calls += 1
        if self.fail_lists:
            raise self.fail_lists.pop(0)
        rt = self.registry.resolve(resource)
        items, revision = self.store.list(rt.key, namespace, label_selector, field_selector)
        return ObjectList([objects.clone(o) for o in items], revision)

    def watch(self, resource: str, namespace: str | None = None, *,
              label_selector: str | None = None, field_selector: str | None = None,
              resource_version: int | None = None):
        self.watch_calls += 1
        if self.fail_watches:
            raise self.fail_watches.pop(0)
        rt = self.registry.resolve(resource)
        return self.store.watch(rt.key, namespace, label_selector, field_selector,
                                resource_version)

    # -- writes, straight to the store --------------------------------------------------------

    def put(self, name: str, namespace: str = "default", **labels: str) -> dict[str, Any]:
        """Create or replace a ConfigMap; each call is one revision."""
        obj = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": namespace, "labels": labels},
               "data": {"n": str(self.store.revision)}}
        if self.store.try_get("configmaps", namespace, name) is None:
            return self.store.create("configmaps", obj)
        return self.store.update("configmaps", obj)

    def remove(self, name: str, namespace: str = "default") -> None:
        self.store.delete("configmaps", namespace, name)

    def server_view(self, label_selector: str | None = None) -> dict[str, str]:
        items, _ = self.store.list("configmaps", None, label_selector)
        return {objects.object_key(o): objects.resource_version_of(o) for o in items}


def cache_view(inf: informing.Informer) -> dict[str, str]:
    return {objects.object_key(o): objects.resource_version_of(o) for o in inf.list()}


class Recorder:
    """Event handlers that log what they saw as (event, key, resourceVersion)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def on_add(self, obj: dict[str, Any]) -> None:
        self.events.append(("add", objects.object_key(obj), objects.resource_version_of(obj)))

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        assert objects.object_key(old) == objects.object_key(new)
        self.events.append(("update", objects.object_key(new), objects.resource_version_of(new)))

    def on_delete(self, obj: dict[str, Any]) -> None:
        self.events.append(("delete", objects.object_key(obj), objects.resource_version_of(obj)))

    def register(self, inf: informing.Informer) -> informing.HandlerRegistration:
        return inf.add_handler(self.on_add, self.on_update, self.on_delete)

    def kinds(self) -> list[tuple[str, str]]:
        return [(kind, key) for kind, key, _ in self.events]


@pytest.fixture
def client() -> StoreClient:
    return StoreClient(Store())


@pytest.fixture
async def started(client: StoreClient):
    """A started ConfigMap informer; stopped after the test."""
    inf = informing.Informer(client, "configmaps", settings=FAST_RETRY)
    yield inf
    await inf.stop()


async def test_cache_equals_server_list_under_concurrent_writes(client, wait_for) -> None:
    """Writes racing the list and the watch still leave the cache equal to the server."""
    rng = random.Random(7)
    names = [f"cm-{i}" for i in range(12)]
    for name in names[:6]:
        client.put(name)
    inf = informing.Informer(client, "configmaps", settings=FAST_RETRY)

    async def writer() -> None:
        for step in range(300):
            name = rng.choice(names)
            exists = client.store.try_get("configmaps", "default", name) is not None
            if exists and rng.random() < 0.3:
                client.remove(name)
            else:
                client.put(name, tier=str(step % 3))
            if step % 7 == 0:
                await asyncio.sleep(0)

    write = asyncio.create_task(writer())
    await inf.start()
    await asyncio.wait_for(write, 5.0)
    await wait_for(lambda: cache_view(inf) == client.server_view())
    assert inf.last_sync_revision == client.store.revision
    await inf.stop()


async def test_compacted_watch_revision_relists_and_converges(client, started,
                                                              wait_for) -> None:
    """Resuming from a compacted revision gets Expired; the relist reports what changed."""
    for name in ("keep", "change", "vanish"):
        client.put(name)
    seen = Recorder()
    seen.register(started)
    await started.start()
    await started.wait_for_sync()
    await started.stop()
    seen.events.clear()

    client.put("change", edited="yes")
    client.remove("vanish")
    client.put("new")
    client.store.compact(client.store.revision)
    assert client.list_calls == 1

    await started.start()
    await wait_for(lambda: cache_view(started) == client.server_view())
    assert client.list_calls == 2, "an expired watch must be followed by a fresh list"
    assert sorted(seen.kinds()) == [("add", "default/new"), ("delete", "default/vanish"),
                                    ("update", "default/change")]
    client.put("after")
    await wait_for(lambda: "default/after" in started.keys())


async def test_dropped_slow_watcher_relists_and_converges(wait_for) -> None:
    """A watcher that falls behind is dropped with Expired; the informer relists and catches up."""
    client = StoreClient(Store(settings=StoreSettings(watcher_buffer=5)))
    inf = informing.Informer(client, "configmaps", settings=FAST_RETRY)
    await inf.start()
    await inf.wait_for_sync()
    for i in range(30):  # no yield: the informer cannot keep up
        client.put(f"cm-{i % 10}")
    await wait_for(lambda: cache_view(inf) == client.server_view())
    assert client.list_calls >= 2
    await inf.stop()


async def test_handlers_see_add_update_delete_in_order(client, started, wait_for) -> None:
    """Handlers get on_add for the initial list and each create, on_update, then on_delete."""
    client.put("a")
    seen = Recorder()
    seen.register(started)
    await started.start()
    await started.wait_for_sync()
    client.put("b")
    client.put("a", v="2")
    client.remove("b")
    await wait_for(lambda: len(seen.events) == 4)
    assert seen.kinds() == [("add", "default/a"), ("add", "default/b"),
                            ("update", "default/a"), ("delete", "default/b")]
    assert seen.events[2][2] == objects.resource_version_of(started.get("default/a"))


async def test_late_handler_gets_synthetic_adds(client, started) -> None:
    """A handler added after sync is told about every cached object at once."""
    client.put("a")
    client.put("b", namespace="other")
    await started.start()
    await started.wait_for_sync()
    seen = Recorder()
    seen.register(started)
    assert sorted(seen.kinds()) == [("add", "default/a"), ("add", "other/b")]


async def test_failing_handler_is_logged_and_others_still_run(client, started, wait_for,
                                                              caplog) -> None:
    """An exception in one handler neither stops the watch nor the other handlers."""
    def broken(obj: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    started.add_handler(on_add=broken, on_update=lambda old, new: broken(new))
    seen = Recorder()
    seen.register(started)
    await started.start()
    await started.wait_for_sync()
    client.put("a")
    client.put("a", v="2")
    await wait_for(lambda: seen.kinds() == [("add", "default/a"), ("update", "default/a")])
    assert started.running
    assert "handler bug" in caplog.text


async def test_removed_handler_is_not_called(client, started, wait_for) -> None:
    """After registration.remove(), a handler hears nothing more."""
    gone, kept = Recorder(), Recorder()
    registration = gone.register(started)
    kept.register(started)
    await started.start()
    await started.wait_for_sync()
    registration.remove()
    client.put("a")
    await wait_for(lambda: kept.kinds() == [("add", "default/a")])
    assert gone.events == []


async def test_failed_list_backs_off_and_retries(client, started, caplog) -> None:
    """A list that fails is logged and retried until the cache syncs."""
    client.put("a")
    client.fail_lists = [ConnectionError("apiserver down"), ConnectionError("still down")]
    await started.start()
    await asyncio.wait_for(started.wait_for_sync(), 2.0)
    assert client.list_calls == 3
    assert started.keys() == ["default/a"]
    assert "apiserver down" in caplog.text


async def test_broken_watch_resumes_from_last_revision_without_relist(client, started,
                                                                      wait_for) -> None:
    """A non-Expired watch failure retries the watch from where it was, not a relist."""
    seen = Recorder()
    seen.register(started)
    await started.start()
    await started.wait_for_sync()
    await started.stop()
    client.put("a")
    client.fail_watches = [ConnectionError("reset")]
    await started.start()
    await wait_for(lambda: seen.kinds() == [("add", "default/a")])
    assert client.list_calls == 1
    assert client.watch_calls == 3


async def test_watch_events_are_cached_without_copying(client, started, wait_for) -> None:
    """The cache holds the very dict the watch delivered (shared, read-only)."""
    await started.start()
    await started.wait_for_sync()
    client.put("a")
    await wait_for(lambda: started.get("default/a") is not None)
    assert started.get("default/a") is client.store.get("configmaps", "default", "a")
    assert started.get_by_name("default", "a") is started.get("default/a")


def by_tier(obj: dict[str, Any]) -> list[str]:
    tier = objects.labels_of(obj).get("tier")
    return [tier] if tier else []


async def test_indexers_follow_changes(client, wait_for) -> None:
    """Custom and namespace indices track adds, label changes and deletes."""
    client.put("web-1", tier="web")
    client.put("db-1", namespace="data", tier="db")
    inf = informing.Informer(client, "configmaps", indexers={"tier": by_tier},
                             settings=FAST_RETRY)
    await inf.start()
    await inf.wait_for_sync()
    assert inf.index_keys("tier", "web") == ["default/web-1"]
    assert inf.index_keys(informing.NAMESPACE_INDEX, "data") == ["data/db-1"]
    client.put("web-1", tier="db")
    client.put("web-2", tier="web")
    client.remove("db-1", namespace="data")
    await wait_for(lambda: inf.index_keys("tier", "db") == ["default/web-1"])
    assert [objects.name_of(o) for o in inf.by_index("tier", "web")] == ["web-2"]
    assert inf.by_index(informing.NAMESPACE_INDEX, "data") == []
    with pytest.raises(KeyError):
        inf.by_index("nope", "x")
    await inf.stop()


async def test_indexer_added_later_indexes_cached_objects(client, started) -> None:
    """add_indexers builds the new index over what is cached; a name clash is refused."""
    client.put("a", tier="web")
    await started.start()
    await started.wait_for_sync()
    started.add_indexers({"tier": by_tier})
    assert started.index_keys("tier", "web") == ["default/a"]
    started.add_indexers({"tier": by_tier})
    with pytest.raises(ValueError, match="indexer conflict"):
        started.add_indexers({"tier": lambda obj: []})


@pytest.mark.parametrize("first, second, same", [
    pytest.param(("configmaps",), ("cm",), True, id="short-name"),
    pytest.param(("configmaps",), ("ConfigMap",), True, id="kind"),
    pytest.param(("configmaps", "a"), ("configmaps", "a"), True, id="same-namespace"),
    pytest.param(("configmaps", "a"), ("configmaps", "b"), False, id="other-namespace"),
    pytest.param(("configmaps",), ("configmaps", None, "app=web"), False, id="selector"),
    pytest.param(("nodes", "a"), ("no",), True, id="cluster-scoped-ignores-namespace"),
])
async def test_factory_shares_one_informer_per_view(client, first, second, same) -> None:
    """The factory returns one informer per resolved resource, namespace and selectors."""
    factory = informing.InformerFactory(client)
    a = await factory.informer(*first)
    b = await factory.informer(*second)
    assert (a is b) == same


async def test_factory_merges_indexers(client) -> None:
    """Asking again with indexers adds them to the shared informer."""
    factory = informing.InformerFactory(client)
    first = await factory.informer("configmaps")
    again = await factory.informer("cm", indexers={"tier": by_tier})
    assert again is first
    assert first.index_keys("tier", "web") == []


async def test_factory_start_sync_stop_leaves_nothing_running(client) -> None:
    """start + wait_for_cache_sync fills every cache; stop ends every task and watch."""
    client.put("a")
    factory = informing.InformerFactory(client, settings=FAST_RETRY)
    cms = await factory.informer("configmaps")
    await factory.start()
    pods = await factory.informer("pods")  # made after start: started at once
    assert await factory.wait_for_cache_sync(timeout=2.0)
    assert cms.keys() == ["default/a"] and pods.has_synced
    assert client.store.watcher_count() == 2
    await factory.stop()
    assert not cms.running and not pods.running
    assert client.store.watcher_count() == 0
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftover == []


async def test_wait_for_cache_sync_times_out(client) -> None:
    """wait_for_cache_sync reports False when an informer cannot list in time."""
    client.fail_lists = [ConnectionError("down")] * 1000
    factory = informing.InformerFactory(client, settings=FAST_RETRY)
    await factory.informer("configmaps")
    await factory.start()
    assert await factory.wait_for_cache_sync(timeout=0.05) is False
    await factory.stop()
