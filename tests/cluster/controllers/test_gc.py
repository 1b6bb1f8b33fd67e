"""Garbage collector: dependents of vanished owners go; one live owner keeps an object."""

from __future__ import annotations

from typing import Any, AsyncIterator

import pytest

from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.controllers import gc
from cluster.informer import InformerSettings
from tests.cluster.controllers.workload_sim import peek

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

SETTINGS = gc.GCSettings(scan_period=3600,
                         informer=InformerSettings(retry_initial_delay=0.001, retry_max_delay=0.01))


def configmap(name: str, *owners: dict[str, Any], kind: str = "ConfigMap") -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    if kind == "ConfigMap":
        obj["data"] = {"k": "v"}
    if owners:
        obj["metadata"]["ownerReferences"] = list(owners)
    return obj


def ref(owner: dict[str, Any] | None = None, *, name: str = "ghost",
        uid: str = "00000000-0000-4000-8000-000000000000", kind: str = "ConfigMap",
        api_version: str = "v1") -> dict[str, Any]:
    if owner is not None:
        name, uid = owner["metadata"]["name"], owner["metadata"]["uid"]
    return {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid}


@pytest.fixture
def api() -> APIServer:
    return APIServer()


@pytest.fixture
def client(api: APIServer) -> InProcessClient:
    return InProcessClient(api)


class RecordingCollector(gc.GarbageCollector):
    """Remembers every key it finished judging."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.judged: list[str] = []

    async def reconcile(self, key: str):
        try:
            return await super().reconcile(key)
        finally:
            self.judged.append(key)


@pytest.fixture
async def collector(client: InProcessClient) -> AsyncIterator[RecordingCollector]:
    collector = RecordingCollector(client, settings=SETTINGS)
    await collector.start()
    yield collector
    await collector.stop()


async def test_dangling_dependent_deleted_live_one_kept(api, client, collector, wait_for) -> None:
    """A dependent whose owner never existed is deleted; one whose owner lives stays."""
    owner = await client.create(configmap("owner"))
    await client.create(configmap("kept", ref(owner)))
    await client.create(configmap("orphaned", ref()))
    await wait_for(lambda: peek(api, "configmaps", "orphaned") is None)
    assert peek(api, "configmaps", "kept") is not None
    assert peek(api, "configmaps", "owner") is not None


async def test_one_live_owner_keeps_object_and_drops_dangling_reference(
        api, client, collector, wait_for) -> None:
    """With one owner alive and one gone, the object stays and loses only the dangling reference."""
    owner = await client.create(configmap("owner"))
    await client.create(configmap("shared", ref(), ref(owner)))
    await wait_for(lambda: len(peek(api, "configmaps", "shared")["metadata"]["ownerReferences"]) == 1)
    assert peek(api, "configmaps", "shared")["metadata"]["ownerReferences"] == [ref(owner)]


async def test_namesake_with_other_uid_is_not_the_owner(api, client, collector, wait_for) -> None:
    """An owner recreated under the same name (new uid) does not keep the old dependents."""
    await client.create(configmap("owner"))
    await client.create(configmap("dep", ref(name="owner")))
    await wait_for(lambda: peek(api, "configmaps", "dep") is None)
    assert peek(api, "configmaps", "owner") is not None


async def test_dangling_before_start_is_collected(api, client, wait_for) -> None:
    """Garbage left while the collector was down (a crash) is found when it starts."""
    await client.create(configmap("leftover", ref()))
    collector = gc.GarbageCollector(client, settings=SETTINGS)
    await collector.start()
    try:
        await wait_for(lambda: peek(api, "configmaps", "leftover") is None)
    finally:
        await collector.stop()


async def test_scan_covers_unwatched_kinds(api, client, collector, wait_for) -> None:
    """Kinds without an informer (Endpoints here) are collected by the periodic scan."""
    owner = await client.create(configmap("owner"))
    await client.create(configmap("ep-dangling", ref(), kind="Endpoints"))
    await client.create(configmap("ep-kept", ref(owner), kind="Endpoints"))
    configmaps = await collector.factory.informer("configmaps")
    await wait_for(lambda: configmaps.get("default/owner") is not None)
    assert await collector.scan() == 1  # the owner is in the cache: only the dangling one
    await wait_for(lambda: peek(api, "endpoints", "ep-dangling") is None)
    assert peek(api, "endpoints", "ep-kept") is not None


async def test_unserved_owner_kind_is_not_judged(api, client, collector, wait_for) -> None:
    """An owner of a kind the server does not serve is no proof of absence: the object stays."""
    await client.create(configmap("mystery", ref(kind="Widget", api_version="example.com/v1")))
    await wait_for(lambda: "configmaps/default/mystery" in collector.judged)
    assert peek(api, "configmaps", "mystery") is not None


async def test_cluster_scoped_owner_of_namespaced_dependent(api, client, collector,
                                                            wait_for) -> None:
    """A Lease owned by a live Node stays; one owned by a missing Node goes."""
    node = await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    for name, owner in (("n1", ref(node, kind="Node")), ("n2", ref(name="n2", kind="Node"))):
        await client.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                             "metadata": {"name": name, "namespace": "kube-node-lease",
                                          "ownerReferences": [owner]},
                             "spec": {"holderIdentity": name}})
    await wait_for(lambda: peek(api, "leases", "n2", "kube-node-lease") is None)
    assert peek(api, "leases", "n1", "kube-node-lease") is not None
