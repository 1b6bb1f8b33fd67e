"""StatefulSet claims: created once per pod, bound, re-attached, retained or deleted by policy."""

from __future__ import annotations

from typing import Any, AsyncIterator

import pytest

from cluster.api import objects
from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.controllers import pvcbinder, statefulset
from cluster.informer import InformerSettings
from tests.cluster.controllers.workload_sim import peek, set_pod_status

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

INFORMERS = InformerSettings(retry_initial_delay=0.001, retry_max_delay=0.01)


def stateful_set(replicas: int = 1, **retention: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": replicas, "serviceName": "redis", "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": {"app": "redis"}},
        "template": {"metadata": {"labels": {"app": "redis"}},
                     "spec": {"containers": [{"name": "redis", "image": "redis:7",
                                              "volumeMounts": [{"name": "data",
                                                                "mountPath": "/data"}]}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": {"tier": "db"}},
                                  "spec": {"accessModes": ["ReadWriteOnce"],
                                           "resources": {"requests": {"storage": "1Gi"}}}}],
    }
    if retention:
        spec["persistentVolumeClaimRetentionPolicy"] = retention
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "redis-sfs", "namespace": "default"}, "spec": spec}


@pytest.fixture
def api() -> APIServer:
    return APIServer()


@pytest.fixture
def client(api: APIServer) -> InProcessClient:
    return InProcessClient(api)


@pytest.fixture
async def controllers(client: InProcessClient) -> AsyncIterator[None]:
    sts = statefulset.StatefulSetController(
        client, settings=statefulset.StatefulSetSettings(informer=INFORMERS))
    binder = pvcbinder.PVCBinder(client, settings=pvcbinder.PVCBinderSettings(informer=INFORMERS))
    await sts.start()
    await binder.start()
    yield
    await binder.stop()
    await sts.stop()


def claim_volume(pod: dict[str, Any]) -> str:
    return next(v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]
                if v["name"] == "data")


@pytest.mark.usefixtures("controllers")
async def test_claim_created_once_and_reattached(api, client, wait_for) -> None:
    """data-redis-sfs-0 is made once, not owned by the pod, and mounted again by its successor."""
    await client.create(stateful_set())
    await wait_for(lambda: peek(api, "pods", "redis-sfs-0") is not None)
    first = peek(api, "pods", "redis-sfs-0")
    assert claim_volume(first) == "data-redis-sfs-0"
    claim = peek(api, "persistentvolumeclaims", "data-redis-sfs-0")
    assert claim is not None and not claim["metadata"].get("ownerReferences")
    assert claim["metadata"]["labels"] == {"tier": "db", "app": "redis"}

    await client.delete("pods", "redis-sfs-0")
    await wait_for(lambda: (peek(api, "pods", "redis-sfs-0") or first)["metadata"]["uid"]
                   != first["metadata"]["uid"])
    successor = peek(api, "pods", "redis-sfs-0")
    assert claim_volume(successor) == "data-redis-sfs-0"
    again = peek(api, "persistentvolumeclaims", "data-redis-sfs-0")
    assert again["metadata"]["uid"] == claim["metadata"]["uid"]
    creations = [e["message"] for e in api.list("events", "default")[0]
                 if e["reason"] == "SuccessfulCreate" and "Claim" in e["message"]]
    assert creations == ["create Claim data-redis-sfs-0 Pod redis-sfs-0 in StatefulSet "
                         "redis-sfs success"]


@pytest.mark.usefixtures("controllers")
async def test_claim_is_bound(api, client, wait_for) -> None:
    """The binder marks the claim Bound with its requested capacity and a pvc-<uid> volume."""
    await client.create(stateful_set())
    await wait_for(lambda: ((peek(api, "persistentvolumeclaims", "data-redis-sfs-0") or {})
                            .get("status") or {}).get("phase") == "Bound")
    claim = peek(api, "persistentvolumeclaims", "data-redis-sfs-0")
    assert claim["status"]["capacity"] == {"storage": "1Gi"}
    assert claim["status"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["volumeName"] == f"pvc-{claim['metadata']['uid']}"
    assert claim["metadata"]["annotations"][pvcbinder.BIND_COMPLETED] == "yes"


@pytest.mark.parametrize("retention, survives", [
    pytest.param({}, True, id="retain-by-default"),
    pytest.param({"whenDeleted": "Delete"}, False, id="when-deleted-delete"),
])
@pytest.mark.usefixtures("controllers")
async def test_claims_after_set_deletion(api, client, wait_for, retention, survives) -> None:
    """Deleting the set keeps its claims under Retain and removes them under whenDeleted=Delete."""
    await client.create(stateful_set(**retention))
    await wait_for(lambda: peek(api, "pods", "redis-sfs-0") is not None)
    claim = peek(api, "persistentvolumeclaims", "data-redis-sfs-0")
    if not survives:
        await wait_for(lambda: bool(peek(api, "persistentvolumeclaims", "data-redis-sfs-0")
                                    ["metadata"].get("ownerReferences")))
    await client.delete("statefulsets", "redis-sfs")
    await wait_for(lambda: peek(api, "pods", "redis-sfs-0") is None)
    left = peek(api, "persistentvolumeclaims", "data-redis-sfs-0")
    assert (left is not None and left["metadata"]["uid"] == claim["metadata"]["uid"]) == survives


@pytest.mark.parametrize("when_scaled, survives", [
    pytest.param("Retain", True, id="retain"),
    pytest.param("Delete", False, id="delete"),
])
@pytest.mark.usefixtures("controllers")
async def test_claims_after_scale_down(api, client, wait_for, when_scaled, survives) -> None:
    """Scaling down deletes the condemned pod's claim only under whenScaled=Delete."""
    await client.create(stateful_set(replicas=2, whenScaled=when_scaled))
    await wait_for(lambda: peek(api, "pods", "redis-sfs-1") is not None)
    for i in range(2):
        await set_pod_status(client, f"redis-sfs-{i}", ip=f"10.0.0.{i + 1}")
    await client.patch("statefulsets", "redis-sfs", {"spec": {"replicas": 1}})
    await wait_for(lambda: peek(api, "pods", "redis-sfs-1") is None)
    if survives:
        claim = peek(api, "persistentvolumeclaims", "data-redis-sfs-1")
        assert claim is not None and not claim["metadata"].get("ownerReferences")
    else:
        await wait_for(lambda: peek(api, "persistentvolumeclaims", "data-redis-sfs-1") is None)
    assert peek(api, "persistentvolumeclaims", "data-redis-sfs-0") is not None


def test_new_pod_replaces_template_volume_of_claim_name() -> None:
    """A template volume named like a claim template is replaced by the claim."""
    sts = stateful_set()
    sts["metadata"]["uid"] = "u1"
    template = objects.clone(sts["spec"]["template"])
    template["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}, {"name": "cfg", "emptyDir": {}}]
    pod = statefulset.new_pod(sts, template, "redis-sfs-abc", 3)
    assert pod["spec"]["volumes"] == [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-redis-sfs-3"}},
        {"name": "cfg", "emptyDir": {}}]
