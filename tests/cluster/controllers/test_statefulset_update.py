"""StatefulSet rolling updates: descending ordinals, one at a time, honouring the partition."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest

from cluster.api import objects
from cluster.apiserver import APIServer
from cluster.client import EventType, InProcessClient
from cluster.controllers import statefulset
from cluster.informer import InformerSettings
from tests.cluster.controllers.workload_sim import AutoReady, peek, set_pod_status

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

FAST = statefulset.StatefulSetSettings(
    informer=InformerSettings(retry_initial_delay=0.001, retry_max_delay=0.01))


def stateful_set(replicas: int = 3, partition: int = 0) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas, "serviceName": "web",
            "selector": {"matchLabels": {"app": "web"}},
            "updateStrategy": {"type": "RollingUpdate",
                               "rollingUpdate": {"partition": partition}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "redis:7.0"}]}},
        },
    }


@pytest.fixture
def api() -> APIServer:
    return APIServer()


@pytest.fixture
def client(api: APIServer) -> InProcessClient:
    return InProcessClient(api)


@pytest.fixture
async def running(client: InProcessClient) -> AsyncIterator[None]:
    """The controller plus a kubelet stand-in that makes every new pod Ready."""
    ctrl = statefulset.StatefulSetController(client, settings=FAST)
    kubelet = AutoReady(client)
    await kubelet.start()
    await ctrl.start()
    yield
    await ctrl.stop()
    await kubelet.stop()


def image_of(api: APIServer, name: str) -> str | None:
    pod = peek(api, "pods", name)
    return pod["spec"]["containers"][0]["image"] if pod else None


def status_of(api: APIServer) -> dict[str, Any]:
    return (peek(api, "statefulsets", "web") or {}).get("status") or {}


class Deletions:
    """Records the order in which pods are deleted."""

    def __init__(self, client: InProcessClient) -> None:
        self.names: list[str] = []
        self._client = client
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Deletions":
        watch = self._client.watch("pods", "default", resource_version=None)

        async def run() -> None:
            async with watch:
                async for event in watch:
                    if event.type is EventType.DELETED:
                        self.names.append(objects.name_of(event.object))
        self._task = asyncio.get_running_loop().create_task(run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _roll_out(api, client, wait_for, image: str, partition: int) -> None:
    await client.patch("statefulsets", "web", {"spec": {
        "updateStrategy": {"rollingUpdate": {"partition": partition}},
        "template": {"spec": {"containers": [{"name": "web", "image": image}]}}}},
        patch_type=statefulset.PatchType.STRATEGIC)


@pytest.mark.usefixtures("running")
async def test_rolling_update_descends_to_partition(api, client, wait_for) -> None:
    """With partition 1, web-2 then web-1 are replaced; web-0 keeps the old template."""
    await client.create(stateful_set())
    await wait_for(lambda: status_of(api).get("readyReplicas") == 3)
    old_revision = status_of(api)["currentRevision"]

    async with Deletions(client) as deletions:
        await _roll_out(api, client, wait_for, "redis:7.2", partition=1)
        await wait_for(lambda: image_of(api, "web-1") == "redis:7.2"
                       and status_of(api).get("readyReplicas") == 3
                       and status_of(api).get("updatedReplicas") == 2)
    assert deletions.names == ["web-2", "web-1"]
    assert image_of(api, "web-0") == "redis:7.0"
    status = status_of(api)
    assert status["currentRevision"] == old_revision != status["updateRevision"]
    assert status["currentReplicas"] == 1

    # A pod below the partition that is deleted comes back at the current revision.
    await client.delete("pods", "web-0")
    await wait_for(lambda: image_of(api, "web-0") == "redis:7.0"
                   and status_of(api).get("readyReplicas") == 3)
    assert peek(api, "pods", "web-0")["metadata"]["labels"][statefulset.REVISION_LABEL] \
        == old_revision

    # Lowering the partition to 0 finishes the rollout; the update revision becomes current.
    await client.patch("statefulsets", "web",
                       {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}})
    await wait_for(lambda: image_of(api, "web-0") == "redis:7.2"
                   and status_of(api).get("currentRevision") == status["updateRevision"])
    assert status_of(api)["currentReplicas"] == 3


async def test_update_waits_for_replacement_ready(api, client, wait_for) -> None:
    """The next pod is not deleted until the replacement of the previous one is Ready."""
    ctrl = statefulset.StatefulSetController(client, settings=FAST)
    kubelet = AutoReady(client, ready_if=lambda pod: pod["metadata"]["labels"].get("rev") != "2")
    await kubelet.start()
    await ctrl.start()
    try:
        await client.create(stateful_set(replicas=2))
        await wait_for(lambda: status_of(api).get("readyReplicas") == 2)
        await client.patch("statefulsets", "web", {"spec": {"template": {"metadata": {
            "labels": {"app": "web", "rev": "2"}}}}})
        # web-1's replacement runs but never turns Ready: the rollout must stall there.
        await wait_for(lambda: status_of(api).get("updatedReplicas") == 1
                       and status_of(api).get("readyReplicas") == 1
                       and ((peek(api, "pods", "web-1") or {}).get("status") or {})
                       .get("phase") == "Running")
        assert "rev" not in peek(api, "pods", "web-0")["metadata"]["labels"]
        assert not objects.is_terminating(peek(api, "pods", "web-0"))

        await set_pod_status(client, "web-1", ip="10.9.9.9")
        await wait_for(lambda: (peek(api, "pods", "web-0") or {"metadata": {"labels": {}}})
                       ["metadata"]["labels"].get("rev") == "2")
    finally:
        await ctrl.stop()
        await kubelet.stop()


@pytest.mark.usefixtures("running")
async def test_rollback_reuses_revision(api, client, wait_for) -> None:
    """Going back to an earlier template reuses its ControllerRevision, renumbered on top."""
    await client.create(stateful_set(replicas=1))
    await wait_for(lambda: status_of(api).get("readyReplicas") == 1)
    first = status_of(api)["updateRevision"]
    await _roll_out(api, client, wait_for, "redis:7.2", partition=0)
    await wait_for(lambda: status_of(api).get("updateRevision") != first
                   and status_of(api).get("currentRevision") == status_of(api)["updateRevision"])
    await _roll_out(api, client, wait_for, "redis:7.0", partition=0)
    await wait_for(lambda: status_of(api).get("updateRevision") == first
                   and status_of(api).get("currentRevision") == first)
    assert peek(api, "controllerrevisions", first)["revision"] == 3
    assert len(api.list("controllerrevisions", "default")[0]) == 2


def test_revision_hash_is_stable_and_safe() -> None:
    """The revision hash depends only on the template and uses kube's safe alphabet."""
    a = statefulset.revision_data(stateful_set())
    b = statefulset.revision_data(stateful_set(replicas=5))
    digest = statefulset.revision_hash(a)
    assert digest == statefulset.revision_hash(b)
    assert set(digest) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert statefulset.revision_hash(a, collision_count=1) != digest
