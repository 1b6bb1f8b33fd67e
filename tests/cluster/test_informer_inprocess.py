"""Informers and controllers against the real APIServer through InProcessClient."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from cluster import informer as informing
from cluster import reconciling
from cluster.api import errors, objects
from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.store import Store, StoreSettings

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

FAST_RETRY = informing.InformerSettings(retry_initial_delay=0.001, retry_max_delay=0.01)


def configmap(name: str, namespace: str = "default", **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "data": {"k": "v"}}


@pytest.fixture
def api() -> APIServer:
    return APIServer(store=Store(settings=StoreSettings(watcher_buffer=50)))


class CountingClient(InProcessClient):
    """InProcessClient that counts lists, to tell a relist from a resumed watch."""

    lists = 0

    async def list(self, *args: Any, **kwargs: Any):
        self.lists += 1
        return await super().list(*args, **kwargs)


@pytest.fixture
def client(api: APIServer) -> CountingClient:
    return CountingClient(api)


async def server_view(client: InProcessClient, label_selector: str | None = None) -> dict[str, str]:
    listed = await client.list("configmaps", label_selector=label_selector)
    return {objects.object_key(o): objects.resource_version_of(o) for o in listed.items}


def cache_view(inf: informing.Informer) -> dict[str, str]:
    return {objects.object_key(o): objects.resource_version_of(o) for o in inf.list()}


async def random_writes(client: InProcessClient, rng: random.Random, steps: int) -> None:
    """Creates, label changes and deletes across two namespaces, yielding now and then."""
    for step in range(steps):
        ns = rng.choice(["default", "other"])
        name = f"cm-{rng.randrange(10)}"
        try:
            current = await client.get("configmaps", name, ns)
        except errors.NotFound:
            await client.create(configmap(name, ns, tier=rng.choice(["web", "db"])))
        else:
            if rng.random() < 0.3:
                await client.delete("configmaps", name, ns)
            else:
                current["metadata"]["labels"] = {"tier": rng.choice(["web", "db"])}
                await client.update(current)
        if step % 5 == 0:
            await asyncio.sleep(0)


async def test_caches_equal_server_lists_under_concurrent_writes(client, wait_for) -> None:
    """All-namespace and label-selected informers converge on the server's lists while written to."""
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    rng = random.Random(11)
    await random_writes(client, rng, 20)
    factory = informing.InformerFactory(client, settings=FAST_RETRY)
    everything = await factory.informer("configmaps")
    web = await factory.informer("cm", label_selector="tier=web")
    writer = asyncio.create_task(random_writes(client, rng, 400))
    await factory.start()
    await asyncio.wait_for(writer, 10.0)
    expected_all = await server_view(client)
    expected_web = await server_view(client, "tier=web")
    await wait_for(lambda: cache_view(everything) == expected_all
                   and cache_view(web) == expected_web)
    assert expected_web and set(expected_web) < set(expected_all)
    await factory.stop()


async def test_watch_from_compacted_revision_relists_and_converges(api, client,
                                                                   wait_for) -> None:
    """After compaction the resumed watch gets Expired; the relist fixes the cache."""
    for name in ("keep", "change", "vanish"):
        await client.create(configmap(name))
    inf = informing.Informer(client, "configmaps", settings=FAST_RETRY)
    deleted: list[str] = []
    inf.add_handler(on_delete=lambda obj: deleted.append(objects.name_of(obj)))
    await inf.start()
    await inf.wait_for_sync()
    await inf.stop()

    changed = await client.get("configmaps", "change")
    changed["data"] = {"k": "edited"}
    await client.update(changed)
    await client.delete("configmaps", "vanish")
    await client.create(configmap("new"))
    api.store.compact(api.revision)

    expected = await server_view(client)
    lists_before = client.lists
    await inf.start()
    await wait_for(lambda: cache_view(inf) == expected)
    assert client.lists == lists_before + 1, "the compacted watch must end in a relist"
    assert deleted == ["vanish"]
    assert inf.get("default/change")["data"] == {"k": "edited"}
    assert inf.last_sync_revision == api.revision
    await inf.stop()


def annotated(obj: dict[str, Any]) -> bool:
    return (objects.meta(obj).get("annotations") or {}).get("seen") == "yes"


async def test_controller_reconciles_every_object_from_the_cache(client, wait_for) -> None:
    """An informer + watch_into + Controller annotates every ConfigMap, including new ones."""
    for i in range(5):
        await client.create(configmap(f"cm-{i}"))
    factory = informing.InformerFactory(client, settings=FAST_RETRY)
    cms = await factory.informer("configmaps")
    reconciled: list[str] = []

    async def reconcile(key: str) -> reconciling.Result | None:
        reconciled.append(key)
        obj = cms.get(key)
        if obj is None:
            return None
        if annotated(obj):
            return None
        namespace, name = objects.split_key(key)
        await client.patch("configmaps", name, {"metadata": {"annotations": {"seen": "yes"}}},
                           namespace)
        return None

    controller = reconciling.Controller("annotator", reconcile, workers=2)
    reconciling.watch_into(cms, controller)
    await factory.start()
    run = asyncio.create_task(controller.run())
    await client.create(configmap("late"))

    await wait_for(lambda: len(cms) == 6 and all(annotated(o) for o in cms.list()))
    listed = await client.list("configmaps")
    assert len(listed.items) == 6 and all(annotated(o) for o in listed.items)
    assert "default/late" in reconciled
    assert set(cms.keys()) == set(await server_view(client))
    await controller.stop()
    await asyncio.wait_for(run, 2.0)
    await factory.stop()
