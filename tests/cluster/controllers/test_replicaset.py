"""The ReplicaSet controller against a live API server, with a stand-in kubelet."""

from __future__ import annotations

import asyncio
import re
from typing import Any, AsyncIterator

import pytest

from cluster import reconciling
from cluster.api import errors, objects
from cluster.apiserver import APIServer
from cluster.client import EventType, InProcessClient
from cluster.controllers.replicaset import (
    ReplicaSetController,
    ReplicaSetSettings,
    pods_to_delete,
)
from cluster.informer import InformerFactory
from tests.cluster.conftest import FakeClock
from tests.cluster.controllers.workload_sim import (
    AutoReady,
    ready_status,
    set_pod_status,
)

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

POD_NAME = re.compile(r"^web-[bcdfghjklmnpqrstvwxz2456789]{5}$")


def replica_set(replicas: int = 3, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web", "tier": "front"}},
                              "spec": {"containers": [{"name": "c", "image": "pause"}]}},
                 **spec},
    }


def bare_pod(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "pause"}]}}


def events_for(api: APIServer, name: str) -> list[tuple[str, str]]:
    """(reason, message) of the Events about `name`, oldest first."""
    items = sorted(api.list("events", "default")[0],
                   key=lambda e: int(objects.name_of(e).rsplit(".", 1)[1], 16))
    return [(e["reason"], e["message"]) for e in items if e["involvedObject"]["name"] == name]


def rs_of(api: APIServer) -> dict[str, Any]:
    return api.get("replicasets", "web", "default")


def status_of(api: APIServer) -> dict[str, Any]:
    return rs_of(api).get("status") or {}


def owned(api: APIServer) -> list[dict[str, Any]]:
    """Active pods whose controller is the ReplicaSet `web`."""
    uid = rs_of(api)["metadata"]["uid"]
    return [p for p in api.list("pods", "default")[0]
            if (objects.controller_of(p) or {}).get("uid") == uid and not objects.is_terminating(p)
            and p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]


def names(pods: list[dict[str, Any]]) -> set[str]:
    return {objects.name_of(p) for p in pods}


async def scale(client: InProcessClient, replicas: int) -> None:
    rs = await client.get("replicasets", "web", "default")
    rs["spec"]["replicas"] = replicas
    await client.update(rs)


@pytest.fixture
async def rsc(client: InProcessClient, factory: InformerFactory
              ) -> AsyncIterator[ReplicaSetController]:
    controller = ReplicaSetController(client, factory, ReplicaSetSettings(workers=2))
    await controller.start()
    yield controller
    await controller.stop()


async def test_creates_owned_pods_named_after_the_replica_set(api, client, rsc, kubelet,
                                                              wait_for) -> None:
    """Three replicas become three `web-xxxxx` pods owned by the ReplicaSet, with kube's events."""
    rs = await client.create(replica_set(replicas=3))
    await wait_for(lambda: len(owned(api)) == 3 and status_of(api).get("availableReplicas") == 3)
    pods = owned(api)
    assert all(POD_NAME.match(n) for n in names(pods)), names(pods)
    for pod in pods:
        assert objects.controller_of(pod) == {
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
            "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
        assert objects.labels_of(pod) == {"app": "web", "tier": "front"}
    assert status_of(api) == {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 3,
                              "availableReplicas": 3, "observedGeneration": 1}
    created = sorted(m for r, m in events_for(api, "web") if r == "SuccessfulCreate")
    assert created == sorted(f"Created pod: {n}" for n in names(pods))


@pytest.mark.parametrize("sizes", [
    pytest.param([3, 5, 1], id="up-then-down"),
    pytest.param([2, 0, 2], id="to-zero-and-back"),
])
async def test_scales_to_spec_replicas(api, client, rsc, kubelet, wait_for, sizes) -> None:
    """Changing spec.replicas creates or deletes pods until exactly that many are active."""
    await client.create(replica_set(replicas=sizes[0]))
    for size in sizes:
        await scale(client, size)
        generation = rs_of(api)["metadata"]["generation"]
        await wait_for(lambda size=size, generation=generation: len(owned(api)) == size
                       and status_of(api).get("replicas") == size
                       and status_of(api).get("observedGeneration") == generation,
                       message=f"scaled to {size}")
    deleted = [m for r, m in events_for(api, "web") if r == "SuccessfulDelete"]
    assert deleted and all(POD_NAME.match(m.removeprefix("Deleted pod: ")) for m in deleted)


async def test_deleted_pod_is_replaced_but_bare_pod_stays_gone(api, client, rsc, kubelet,
                                                               wait_for) -> None:
    """Deleting an owned pod brings a replacement with a new suffix; a bare pod is not recreated."""
    await client.create(replica_set(replicas=2))
    await client.create(bare_pod("loner", app="other"))
    await wait_for(lambda: len(owned(api)) == 2)
    victim = objects.name_of(owned(api)[0])
    await client.delete("pods", victim, "default")
    await client.delete("pods", "loner", "default")
    await wait_for(lambda: len(owned(api)) == 2 and victim not in names(owned(api)))
    assert all(POD_NAME.match(n) for n in names(owned(api)))
    with pytest.raises(errors.NotFound):
        await client.get("pods", "loner", "default")


async def test_adopts_a_matching_orphan(api, client, rsc, kubelet, wait_for) -> None:
    """A bare pod matching the selector is adopted and counted, so only the rest are created."""
    await client.create(bare_pod("stray", app="web"))
    await client.create(replica_set(replicas=2))
    await wait_for(lambda: len(owned(api)) == 2)
    ref = objects.controller_of(api.get("pods", "stray", "default"))
    assert ref is not None and ref["name"] == "web" and ref["blockOwnerDeletion"] is True
    assert [r for r, _ in events_for(api, "web")].count("SuccessfulCreate") == 1


async def test_releases_a_relabelled_pod(api, client, rsc, kubelet, wait_for) -> None:
    """A pod relabelled out of the selector is orphaned and replaced; it keeps running."""
    await client.create(replica_set(replicas=2))
    await wait_for(lambda: len(owned(api)) == 2)
    pod = await client.get("pods", objects.name_of(owned(api)[0]), "default")
    pod["metadata"]["labels"] = {"app": "debug"}
    await client.update(pod)
    name = objects.name_of(pod)
    await wait_for(lambda: objects.controller_of(api.get("pods", name, "default")) is None
                   and len(owned(api)) == 2)
    assert not api.get("pods", name, "default")["metadata"].get("ownerReferences")
    assert name not in names(owned(api))


async def test_terminating_and_failed_pods_are_replaced(api, client, rsc, kubelet,
                                                        wait_for) -> None:
    """A pod being deleted gracefully, or one that Failed, no longer counts and is replaced."""
    await client.create(replica_set(replicas=2))
    await wait_for(lambda: len(owned(api)) == 2)
    first, second = sorted(names(owned(api)))
    await client.bind(first, "default", "node-1")
    terminating = await client.delete("pods", first, "default")
    assert objects.is_terminating(terminating)  # a bound pod waits for its kubelet
    failed = await client.get("pods", second, "default")
    failed["status"]["phase"] = "Failed"
    await client.update_status(failed)
    await wait_for(lambda: len(owned(api)) == 2 and not {first, second} & names(owned(api))
                   and status_of(api)["replicas"] == 2)
    assert api.get("pods", first, "default")["metadata"].get("deletionTimestamp")


async def test_scale_down_deletes_the_unready_pod_first(api, client, rsc, wait_for) -> None:
    """Of three pods, scaling to two removes the one that is not Ready."""
    kubelet = AutoReady(client, ready_if=lambda pod: False)
    await kubelet.start()
    try:
        await client.create(replica_set(replicas=3))
        await wait_for(lambda: len(owned(api)) == 3)
        _unready, *keep = sorted(names(owned(api)))
        for name in keep:
            await set_pod_status(client, name, ready=True)
        await wait_for(lambda: status_of(api).get("readyReplicas") == 2)
        await scale(client, 2)
        await wait_for(lambda: len(owned(api)) == 2)
        assert names(owned(api)) == set(keep)
    finally:
        await kubelet.stop()


async def test_never_creates_more_than_replicas(api, client, rsc, kubelet, wait_for) -> None:
    """While 40 pods are created and the ReplicaSet is poked repeatedly, no more than 40 exist."""
    alive: set[str] = set()
    ever: set[str] = set()
    peak = 0

    async def watch() -> None:
        nonlocal peak
        async with client.watch("pods") as stream:
            async for event in stream:
                name = objects.name_of(event.object)
                if event.type is EventType.DELETED or objects.is_terminating(event.object):
                    alive.discard(name)
                else:
                    alive.add(name)
                    ever.add(name)
                peak = max(peak, len(alive))

    watcher = asyncio.get_running_loop().create_task(watch())
    try:
        await client.create(replica_set(replicas=40))
        for i in range(20):  # a burst of ReplicaSet events while pods are still being created
            rs = await client.get("replicasets", "web", "default")
            rs["metadata"].setdefault("annotations", {})["poke"] = str(i)
            await client.update(rs)
            await asyncio.sleep(0)
        await wait_for(lambda: len(owned(api)) == 40 and status_of(api).get("readyReplicas") == 40)
        await wait_for(lambda: len(alive) == 40)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    assert peak == 40
    assert len(ever) == 40  # no pod was created and then deleted as surplus


async def test_expectations_stop_a_second_reconcile_on_a_stale_cache(api, client, factory,
                                                                     wait_for) -> None:
    """Reconciling twice before the cache shows the first pod still creates just one pod."""
    rsc = ReplicaSetController(client, factory, ReplicaSetSettings(workers=1))
    await rsc.start()
    await rsc.controller.stop()  # no workers: this test drives reconcile itself
    try:
        await client.create(replica_set(replicas=1))
        pods_informer = await factory.informer("pods")
        rs_informer = await factory.informer("replicasets")
        await wait_for(lambda: rs_informer.get("default/web") is not None)
        await rsc.reconcile("default/web")
        await rsc.reconcile("default/web")  # the pod informer has not had a turn yet
        assert len(owned(api)) == 1
        await wait_for(lambda: len(pods_informer) == 1)
        await rsc.reconcile("default/web")
        assert len(owned(api)) == 1
    finally:
        await rsc.stop()


async def test_available_waits_for_min_ready_seconds(api, client, factory, kubelet,
                                                     wait_for) -> None:
    """Ready pods count as available only after minReadySeconds; reconcile says when to look."""
    ready_at = objects.parse_time(ready_status("10.0.0.1")["conditions"][0]["lastTransitionTime"])
    clock = FakeClock(ready_at + 4)
    rsc = ReplicaSetController(client, factory, ReplicaSetSettings(workers=1), clock=clock)
    await rsc.start()
    try:
        await client.create(replica_set(replicas=2, minReadySeconds=10))
        await wait_for(lambda: status_of(api).get("readyReplicas") == 2)
        assert "availableReplicas" not in status_of(api)
        assert await rsc.reconcile("default/web") == reconciling.Result(requeue_after=6.0)
        clock.advance(6)
        rsc.controller.enqueue("default/web")
        await wait_for(lambda: status_of(api).get("availableReplicas") == 2)
    finally:
        await rsc.stop()


class QuotaClient(InProcessClient):
    """Refuses every pod creation, as an exhausted ResourceQuota would."""

    async def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        if obj.get("kind") == "Pod":
            raise errors.Forbidden('pods "web-" is forbidden: exceeded quota: compute')
        return await super().create(obj, namespace)


async def test_failed_creation_is_reported(api, factory, wait_for) -> None:
    """A refused creation gives a FailedCreate event and a ReplicaFailure condition."""
    client = QuotaClient(api)
    rsc = ReplicaSetController(client, factory, ReplicaSetSettings(workers=1))
    await rsc.start()
    try:
        await client.create(replica_set(replicas=5))
        await wait_for(lambda: any(c["type"] == "ReplicaFailure"
                                   for c in status_of(api).get("conditions") or ()))
        cond = status_of(api)["conditions"][0]
        assert (cond["reason"], cond["status"]) == ("FailedCreate", "True")
        assert "exceeded quota" in cond["message"]
        failures = [m for r, m in events_for(api, "web") if r == "FailedCreate"]
        assert failures[0] == 'Error creating: pods "web-" is forbidden: exceeded quota: compute'
    finally:
        await rsc.stop()


def ranked_pod(name: str, *, node: str = "n1", phase: str = "Running", ready: bool = True,
               ready_at: float = 100.0, created: float = 0.0, cost: int = 0,
               restarts: int = 0) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": objects.format_time(created),
                     "annotations": {"controller.kubernetes.io/pod-deletion-cost": str(cost)}},
        "spec": {"nodeName": node},
        "status": {"phase": phase,
                   "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                   "lastTransitionTime": objects.format_time(ready_at)}],
                   "containerStatuses": [{"name": "c", "restartCount": restarts}]},
    }


@pytest.mark.parametrize("first,second", [
    pytest.param(dict(node=""), dict(phase="Pending", ready=False), id="unscheduled-first"),
    pytest.param(dict(phase="Pending", ready=False), dict(ready=False),
                 id="pending-before-running"),
    pytest.param(dict(ready=False, created=0), dict(created=50), id="unready-before-ready"),
    pytest.param(dict(cost=-5, created=0), dict(cost=10, created=50), id="lower-deletion-cost"),
    pytest.param(dict(ready_at=200), dict(ready_at=100), id="ready-for-less-time"),
    pytest.param(dict(restarts=3), dict(restarts=0), id="more-restarts"),
    pytest.param(dict(created=50), dict(created=0), id="newer-before-older"),
])
def test_scale_down_picks_the_pod_least_worth_keeping(first, second) -> None:
    """Scale down removes pods in kube's ActivePods order, each rule deciding before the next."""
    doomed, kept = ranked_pod("doomed", **first), ranked_pod("kept", **second)
    assert pods_to_delete([kept, doomed], 1) == [doomed]
    assert pods_to_delete([doomed, kept], 1) == [doomed]
