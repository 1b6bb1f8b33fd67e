"""StatefulSet controller: ordinal names, OrderedReady vs Parallel, identity, scale down."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest

from cluster.api import objects
from cluster.apiserver import APIServer
from cluster.client import EventType, InProcessClient
from cluster.controllers import statefulset
from cluster.informer import InformerSettings
from tests.cluster.controllers.workload_sim import peek, set_pod_status

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

FAST = statefulset.StatefulSetSettings(
    informer=InformerSettings(retry_initial_delay=0.001, retry_max_delay=0.01))


def stateful_set(name: str = "redis-sfs", replicas: int = 3, *,
                 policy: str = "OrderedReady", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas, "serviceName": "redis", "podManagementPolicy": policy,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "redis", "image": "redis:7"}]}},
            **spec,
        },
    }


@pytest.fixture
def api() -> APIServer:
    return APIServer()


@pytest.fixture
def client(api: APIServer) -> InProcessClient:
    return InProcessClient(api)


@pytest.fixture
async def controller(client: InProcessClient) -> AsyncIterator[statefulset.StatefulSetController]:
    ctrl = statefulset.StatefulSetController(client, settings=FAST)
    await ctrl.start()
    yield ctrl
    await ctrl.stop()


def status_of(api: APIServer, name: str = "redis-sfs") -> dict[str, Any]:
    return (peek(api, "statefulsets", name) or {}).get("status") or {}


def events(api: APIServer, reason: str) -> list[str]:
    return [e["message"] for e in api.list("events", "default")[0] if e["reason"] == reason]


async def test_ordered_ready_creates_next_ordinal_only_after_ready(
        api, client, controller, wait_for) -> None:
    """OrderedReady: redis-sfs-1 appears only once redis-sfs-0 is Running and Ready."""
    await client.create(stateful_set())
    await wait_for(lambda: peek(api, "pods", "redis-sfs-0") is not None)
    await wait_for(lambda: status_of(api).get("replicas") == 1
                   and status_of(api).get("observedGeneration") == 1)
    assert peek(api, "pods", "redis-sfs-1") is None

    await set_pod_status(client, "redis-sfs-0", ip="10.0.0.10")
    await wait_for(lambda: peek(api, "pods", "redis-sfs-1") is not None)
    await wait_for(lambda: status_of(api).get("replicas") == 2)
    assert peek(api, "pods", "redis-sfs-2") is None, "created 2 while 1 was not Ready"

    await set_pod_status(client, "redis-sfs-1", ip="10.0.0.11")
    await wait_for(lambda: peek(api, "pods", "redis-sfs-2") is not None)
    assert events(api, "SuccessfulCreate")[:3] == [
        f"create Pod redis-sfs-{i} in StatefulSet redis-sfs successful" for i in range(3)]


async def test_pod_identity(api, client, controller, wait_for) -> None:
    """A member pod carries its name as hostname, the service as subdomain, and the set's labels."""
    await client.create(stateful_set(replicas=1))
    await wait_for(lambda: peek(api, "pods", "redis-sfs-0") is not None)
    pod = peek(api, "pods", "redis-sfs-0")
    sts = peek(api, "statefulsets", "redis-sfs")
    assert pod["spec"]["hostname"] == "redis-sfs-0"
    assert pod["spec"]["subdomain"] == "redis"
    labels = pod["metadata"]["labels"]
    assert labels["app"] == "redis-sfs"
    assert labels[statefulset.POD_NAME_LABEL] == "redis-sfs-0"
    assert labels[statefulset.POD_INDEX_LABEL] == "0"
    assert labels[statefulset.REVISION_LABEL].startswith("redis-sfs-")
    assert objects.controller_of(pod)["uid"] == sts["metadata"]["uid"]
    revision = peek(api, "controllerrevisions", labels[statefulset.REVISION_LABEL])
    assert revision is not None and revision["revision"] == 1


async def test_parallel_creates_all_at_once(api, client, controller, wait_for) -> None:
    """Parallel: every ordinal is created without waiting for readiness."""
    await client.create(stateful_set(policy="Parallel"))
    await wait_for(lambda: all(peek(api, "pods", f"redis-sfs-{i}") for i in range(3)))
    assert not any((peek(api, "pods", f"redis-sfs-{i}").get("status") or {}).get("phase")
                   == "Running" for i in range(3))


async def test_deleted_pod_returns_with_same_name(api, client, controller, wait_for) -> None:
    """Deleting a member pod brings back a new pod under the same name."""
    await client.create(stateful_set(replicas=1))
    await wait_for(lambda: peek(api, "pods", "redis-sfs-0") is not None)
    first_uid = peek(api, "pods", "redis-sfs-0")["metadata"]["uid"]
    await client.delete("pods", "redis-sfs-0")
    await wait_for(lambda: (peek(api, "pods", "redis-sfs-0") or {}).get("metadata", {})
                   .get("uid", first_uid) != first_uid)


@pytest.mark.parametrize("phase", [pytest.param("Failed", id="failed"),
                                   pytest.param("Succeeded", id="succeeded")])
async def test_finished_pod_is_recreated(api, client, controller, wait_for, phase) -> None:
    """A Failed or Succeeded member is deleted and recreated under the same name."""
    await client.create(stateful_set(replicas=1))
    await wait_for(lambda: peek(api, "pods", "redis-sfs-0") is not None)
    first_uid = peek(api, "pods", "redis-sfs-0")["metadata"]["uid"]
    await set_pod_status(client, "redis-sfs-0", phase=phase, ready=False)
    await wait_for(lambda: (peek(api, "pods", "redis-sfs-0") or {}).get("metadata", {})
                   .get("uid", first_uid) != first_uid)
    assert events(api, "SuccessfulDelete") == [
        "delete Pod redis-sfs-0 in StatefulSet redis-sfs successful"]


async def _all_ready(api, client, wait_for, count: int) -> None:
    for i in range(count):
        await wait_for(lambda i=i: peek(api, "pods", f"redis-sfs-{i}") is not None)
        await client.bind(f"redis-sfs-{i}", "default", "node-1")
        await set_pod_status(client, f"redis-sfs-{i}", ip=f"10.0.0.{i + 1}")
    await wait_for(lambda: status_of(api).get("readyReplicas") == count)


async def test_scale_down_highest_ordinal_first_one_at_a_time(
        api, client, controller, wait_for) -> None:
    """OrderedReady scale down deletes sfs-2, waits until it is gone, then deletes sfs-1."""
    await client.create(stateful_set())
    await _all_ready(api, client, wait_for, 3)
    await client.patch("statefulsets", "redis-sfs", {"spec": {"replicas": 1}})

    # Bound pods terminate gracefully: sfs-2 stays Terminating until its "kubelet" removes it.
    await wait_for(lambda: objects.is_terminating(peek(api, "pods", "redis-sfs-2")))
    await wait_for(lambda: status_of(api).get("currentReplicas") == 2)
    assert not objects.is_terminating(peek(api, "pods", "redis-sfs-1"))

    await client.delete("pods", "redis-sfs-2", grace_period_seconds=0)
    await wait_for(lambda: objects.is_terminating(peek(api, "pods", "redis-sfs-1") or {"metadata": {"deletionTimestamp": "x"}}))
    await client.delete("pods", "redis-sfs-1", grace_period_seconds=0)
    await wait_for(lambda: status_of(api).get("replicas") == 1)
    assert peek(api, "pods", "redis-sfs-0") is not None
    assert events(api, "SuccessfulDelete") == [
        "delete Pod redis-sfs-2 in StatefulSet redis-sfs successful",
        "delete Pod redis-sfs-1 in StatefulSet redis-sfs successful"]


async def test_parallel_scale_down_deletes_together(api, client, controller, wait_for) -> None:
    """Parallel scale down marks every condemned pod for deletion at once."""
    await client.create(stateful_set(policy="Parallel"))
    await _all_ready(api, client, wait_for, 3)
    await client.patch("statefulsets", "redis-sfs", {"spec": {"replicas": 1}})
    await wait_for(lambda: all(objects.is_terminating(peek(api, "pods", f"redis-sfs-{i}"))
                               for i in (1, 2)))
    assert not objects.is_terminating(peek(api, "pods", "redis-sfs-0"))


async def test_orphan_with_member_name_is_adopted(api, client, controller, wait_for) -> None:
    """A matching pod named like a member, with no controller, is adopted rather than duplicated."""
    await client.create({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": "redis-sfs-0", "labels": {"app": "redis-sfs"}},
                         "spec": {"containers": [{"name": "c", "image": "redis"}]}})
    await client.create(stateful_set(replicas=1))
    sts_uid = peek(api, "statefulsets", "redis-sfs")["metadata"]["uid"]
    await wait_for(lambda: (objects.controller_of(peek(api, "pods", "redis-sfs-0")) or {})
                   .get("uid") == sts_uid)
    assert events(api, "SuccessfulCreate") == []


async def test_status_counts(api, client, controller, wait_for) -> None:
    """Status reports replicas, ready, current and updated counts and the revisions."""
    await client.create(stateful_set(replicas=2, policy="Parallel"))
    await _all_ready(api, client, wait_for, 2)
    status = status_of(api)
    assert status["replicas"] == 2 and status["readyReplicas"] == 2
    assert status["availableReplicas"] == 2
    assert status["currentReplicas"] == 2 and status["updatedReplicas"] == 2
    assert status["currentRevision"] == status["updateRevision"]
    assert status["observedGeneration"] == 1 and status["collisionCount"] == 0


def test_plan_ordered_ready_waits_for_unready_predecessor() -> None:
    """The planner proposes nothing while ordinal 0 exists but is not ready (OrderedReady)."""
    pending = {"metadata": {"name": "w-0", "labels": {statefulset.REVISION_LABEL: "r1"}},
               "status": {"phase": "Pending"}}
    view = statefulset.SetView(replicas=2, start=0, pods={0: pending}, monotonic=True,
                               rolling=True, partition=0, current_revision="r1",
                               update_revision="r1")
    assert statefulset.plan_actions(view) == []
    parallel = statefulset.SetView(replicas=2, start=0, pods={0: pending}, monotonic=False,
                                   rolling=True, partition=0, current_revision="r1",
                                   update_revision="r1")
    assert statefulset.plan_actions(parallel) == [
        statefulset.Action(statefulset.Step.CREATE, 1, "r1")]


async def test_deleting_set_deletes_pods(api, client, controller, wait_for) -> None:
    """Pods and revisions are owned by the set and go with it."""
    await client.create(stateful_set(replicas=1))
    await wait_for(lambda: peek(api, "pods", "redis-sfs-0") is not None)
    await client.delete("statefulsets", "redis-sfs")
    await wait_for(lambda: peek(api, "pods", "redis-sfs-0") is None)
    assert api.list("controllerrevisions", "default")[0] == []


async def test_watch_sees_creations_in_ordinal_order(api, client, controller, wait_for) -> None:
    """With every pod made ready at once, creations still happen 0, 1, 2."""
    created: list[str] = []

    async def observe() -> None:
        async with client.watch("pods", "default") as watch:
            async for event in watch:
                if event.type is EventType.ADDED:
                    created.append(objects.name_of(event.object))
                    await set_pod_status(client, objects.name_of(event.object))

    task = asyncio.get_running_loop().create_task(observe())
    try:
        await asyncio.sleep(0)
        await client.create(stateful_set())
        await wait_for(lambda: len(created) == 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert created == ["redis-sfs-0", "redis-sfs-1", "redis-sfs-2"]
