"""The Deployment controller with the ReplicaSet controller: creation, names, scaling, restarts."""

from __future__ import annotations

import itertools
import re
from typing import Any, AsyncIterator

import pytest

from cluster.api import objects
from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.controllers.deployment import DeploymentController, pod_template_hash
from cluster.controllers.replicaset import ReplicaSetController
from cluster.informer import InformerFactory, InformerSettings

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

SAFE = "[bcdfghjklmnpqrstvwxz2456789]"


def deployment(name: str = "web", replicas: int = 3, image: str = "pause",
               **spec: Any) -> dict[str, Any]:
    """What `kubectl create deployment <name> --image=<image> --replicas=<n>` sends."""
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": image.split(":")[0],
                                                       "image": image, "resources": {}}]}},
                 **spec},
    }


def replica_sets(api: APIServer, name: str = "web") -> list[dict[str, Any]]:
    """The ReplicaSets controlled by Deployment `name`, by revision."""
    uid = api.get("deployments", name, "default")["metadata"]["uid"]
    items = [rs for rs in api.list("replicasets", "default")[0]
             if (objects.controller_of(rs) or {}).get("uid") == uid]
    return sorted(items, key=lambda rs: int(
        (rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0)))


def pods(api: APIServer, app: str = "web") -> list[dict[str, Any]]:
    """Active (not terminating) pods labelled `app`."""
    return [p for p in api.list("pods", "default", label_selector=f"app={app}")[0]
            if not objects.is_terminating(p)]


def deployment_of(api: APIServer, name: str = "web") -> dict[str, Any]:
    return api.get("deployments", name, "default")


def rolled_out(api: APIServer, name: str = "web") -> bool:
    """kubectl rollout status's 'successfully rolled out'."""
    d = deployment_of(api, name)
    status = d.get("status") or {}
    want = d["spec"]["replicas"]
    return (status.get("observedGeneration") == d["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want)


def events(api: APIServer, name: str, reason: str) -> list[str]:
    items = sorted(api.list("events", "default")[0],
                   key=lambda e: int(objects.name_of(e).rsplit(".", 1)[1], 16))
    return [e["message"] for e in items
            if e["involvedObject"]["name"] == name and e["reason"] == reason]


class Controllers:
    """The ReplicaSet and Deployment controllers on one shared informer factory."""

    def __init__(self, client: InProcessClient, **kwargs: Any) -> None:
        self.factory = InformerFactory(client, settings=InformerSettings(retry_initial_delay=0.01))
        self.replicasets = ReplicaSetController(client, self.factory)
        self.deployments = DeploymentController(client, self.factory, **kwargs)

    async def start(self) -> "Controllers":
        await self.replicasets.start()
        await self.deployments.start()
        return self

    async def stop(self) -> None:
        await self.deployments.stop()
        await self.replicasets.stop()
        await self.factory.stop()


@pytest.fixture
async def controllers(client: InProcessClient) -> AsyncIterator[Controllers]:
    running = await Controllers(client).start()
    yield running
    await running.stop()


async def test_create_deployment_names_replica_set_and_pods_by_template_hash(
        api, client, controllers, kubelet, wait_for) -> None:
    """`create deployment redis-deployment --image=redis` makes pods redis-deployment-<hash>-<5>."""
    created = await client.create(deployment("redis-deployment", replicas=1, image="redis"))
    await wait_for(lambda: rolled_out(api, "redis-deployment"))
    (rs,) = replica_sets(api, "redis-deployment")
    pod_hash = pod_template_hash(created["spec"]["template"])
    assert re.fullmatch(f"{SAFE}{{8,10}}", pod_hash)
    assert rs["metadata"]["name"] == f"redis-deployment-{pod_hash}"
    assert rs["metadata"]["labels"] == {"app": "redis-deployment", "pod-template-hash": pod_hash}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "redis-deployment",
                                                      "pod-template-hash": pod_hash}}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
    assert objects.controller_of(rs)["name"] == "redis-deployment"
    (pod,) = pods(api, "redis-deployment")
    assert re.fullmatch(f"redis-deployment-{pod_hash}-{SAFE}{{5}}", pod["metadata"]["name"])
    assert objects.labels_of(pod)["pod-template-hash"] == pod_hash
    assert objects.controller_of(pod)["name"] == rs["metadata"]["name"]
    assert rs["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1",
                                             "deployment.kubernetes.io/desired-replicas": "1",
                                             "deployment.kubernetes.io/max-replicas": "2"}
    assert deployment_of(api, "redis-deployment")["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "1"}
    assert events(api, "redis-deployment", "ScalingReplicaSet") == [
        f"Scaled up replica set redis-deployment-{pod_hash} to 1"]


async def test_hash_is_stable_across_engines_and_restarts(api, client, kubelet, wait_for) -> None:
    """A fresh engine names the ReplicaSet alike; restarted controllers keep theirs, add none."""
    first = await Controllers(client).start()
    try:
        await client.create(deployment(replicas=2))
        await wait_for(lambda: rolled_out(api))
    finally:
        await first.stop()
    (rs,) = replica_sets(api)
    pod_names = {p["metadata"]["name"] for p in pods(api)}

    second = await Controllers(client).start()  # the engine restarted on the same store
    try:
        await second.deployments.reconcile("default/web")
        await second.replicasets.reconcile(f"default/{rs['metadata']['name']}")
        assert [r["metadata"]["name"] for r in replica_sets(api)] == [rs["metadata"]["name"]]
        assert {p["metadata"]["name"] for p in pods(api)} == pod_names
    finally:
        await second.stop()

    other_api = APIServer()  # another engine, same manifest
    other_client = InProcessClient(other_api)
    other = await Controllers(other_client).start()
    try:
        await other_client.create(deployment(replicas=2))
        await wait_for(lambda: len(replica_sets(other_api)) == 1)
        assert replica_sets(other_api)[0]["metadata"]["name"] == rs["metadata"]["name"]
    finally:
        await other.stop()


async def test_template_change_makes_a_new_hash(api, client, controllers, kubelet,
                                                wait_for) -> None:
    """A new image rolls out a ReplicaSet with another hash; relabelling the Deployment does not."""
    await client.create(deployment(replicas=1))
    await wait_for(lambda: rolled_out(api))
    d = await client.get("deployments", "web", "default")
    d["metadata"]["labels"]["team"] = "a"  # not the template: no rollout
    d = await client.update(d)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "pause:2"
    await client.update(d)
    await wait_for(lambda: len(replica_sets(api)) == 2 and rolled_out(api))
    old, new = replica_sets(api)
    old_hash, new_hash = (rs["metadata"]["labels"]["pod-template-hash"] for rs in (old, new))
    assert old_hash != new_hash
    assert new["metadata"]["name"] == "web-" + pod_template_hash(
        deployment_of(api)["spec"]["template"]) == f"web-{new_hash}"


@pytest.mark.parametrize("sizes", [
    pytest.param([2, 5, 1], id="up-then-down"),
    pytest.param([3, 0, 2], id="through-zero"),
])
async def test_scaling_resizes_the_current_replica_set(api, client, controllers, kubelet,
                                                       wait_for, sizes) -> None:
    """spec.replicas goes to the one ReplicaSet, with kube's ScalingReplicaSet wording."""
    await client.create(deployment(replicas=sizes[0]))
    await wait_for(lambda: rolled_out(api))
    for size in sizes[1:]:
        d = await client.get("deployments", "web", "default")
        d["spec"]["replicas"] = size
        await client.update(d)
        await wait_for(lambda size=size: rolled_out(api) and len(pods(api)) == size,
                       message=f"scaled to {size}")
    (rs,) = replica_sets(api)
    name = rs["metadata"]["name"]
    expected = [f"Scaled up replica set {name} to {sizes[0]}"] + [
        f"Scaled {'up' if new > old else 'down'} replica set {name} to {new} from {old}"
        for old, new in itertools.pairwise(sizes)]
    assert events(api, "web", "ScalingReplicaSet") == expected
    desired = rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"]
    assert desired == str(sizes[-1])


async def test_deleted_pod_is_replaced_with_a_new_suffix(api, client, controllers, kubelet,
                                                         wait_for) -> None:
    """Deleting one of a Deployment's pods brings a replacement under the same ReplicaSet."""
    await client.create(deployment(replicas=2))
    await wait_for(lambda: rolled_out(api))
    before = {p["metadata"]["name"] for p in pods(api)}
    victim = min(before)
    await client.delete("pods", victim, "default")
    await wait_for(lambda: len(pods(api)) == 2 and rolled_out(api)
                   and victim not in {p["metadata"]["name"] for p in pods(api)})
    after = {p["metadata"]["name"] for p in pods(api)}
    (fresh,) = after - before
    prefix = replica_sets(api)[0]["metadata"]["name"] + "-"
    assert fresh.startswith(prefix) and fresh != victim


async def test_adopts_a_matching_orphan_replica_set(api, client, controllers, kubelet,
                                                    wait_for) -> None:
    """An orphan ReplicaSet with the Deployment's template is adopted and reused, not duplicated."""
    template = deployment()["spec"]["template"]
    pod_hash = pod_template_hash(template)
    labels = {"app": "web", "pod-template-hash": pod_hash}
    await client.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-by-hand", "namespace": "default", "labels": labels},
        "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": template["spec"]}}})
    await client.create(deployment(replicas=2))
    await wait_for(lambda: rolled_out(api))
    assert [rs["metadata"]["name"] for rs in replica_sets(api)] == ["web-by-hand"]
    assert len(pods(api)) == 2


async def test_hash_collision_bumps_collision_count(api, client, controllers, kubelet,
                                                   wait_for) -> None:
    """A foreign ReplicaSet named `web-<hash>` makes the controller rehash with collisionCount 1."""
    stored_template = APIServer().create(deployment())["spec"]["template"]
    taken = f"web-{pod_template_hash(stored_template)}"
    other = {"app": "other"}
    await client.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": taken, "namespace": "default", "labels": other},
        "spec": {"replicas": 0, "selector": {"matchLabels": other},
                 "template": {"metadata": {"labels": other}, "spec": stored_template["spec"]}}})
    await client.create(deployment(replicas=1))
    await wait_for(lambda: rolled_out(api))
    assert deployment_of(api)["status"]["collisionCount"] == 1
    (rs,) = replica_sets(api)
    assert rs["metadata"]["name"] == f"web-{pod_template_hash(stored_template, 1)}" != taken
    assert not api.get("replicasets", taken, "default")["metadata"].get("ownerReferences")


async def test_paused_deployment_holds_its_rollout(api, client, controllers, kubelet,
                                                   wait_for) -> None:
    """While paused a template change rolls nothing out; resuming rolls it out."""
    await client.create(deployment(replicas=2))
    await wait_for(lambda: rolled_out(api))
    d = await client.get("deployments", "web", "default")
    d["spec"]["paused"] = True
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "pause:2"
    await client.update(d)
    await wait_for(lambda: (deployment_of(api).get("status") or {}).get("observedGeneration")
                   == deployment_of(api)["metadata"]["generation"])
    progressing = next(c for c in deployment_of(api)["status"]["conditions"]
                       if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "Unknown", "DeploymentPaused", "Deployment is paused")
    assert len(replica_sets(api)) == 1
    d = await client.get("deployments", "web", "default")
    d["spec"]["paused"] = False
    await client.update(d)
    await wait_for(lambda: rolled_out(api) and len(replica_sets(api)) == 2)
    assert replica_sets(api)[-1]["spec"]["template"]["spec"]["containers"][0]["image"] == "pause:2"
