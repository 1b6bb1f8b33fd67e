"""Rollouts: RollingUpdate availability, Recreate, revision history and status conditions."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest

from cluster.api import objects
from cluster.client import EventType, InProcessClient
from cluster.controllers.deployment import pod_template_hash
from tests.cluster.conftest import FakeClock
from tests.cluster.controllers.test_deployment import (
    Controllers,
    deployment,
    deployment_of,
    events,
    pods,
    replica_sets,
    rolled_out,
)
from tests.cluster.controllers.workload_sim import AutoReady

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def is_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


class Observer:
    """Watches the Deployment's pods and ReplicaSets and remembers every moment's counts."""

    def __init__(self, client: InProcessClient) -> None:
        self.client = client
        self.pods: dict[str, dict[str, Any]] = {}
        self.replica_sets: dict[str, dict[str, Any]] = {}
        self.ready_counts: list[int] = []
        self.total_specs: list[int] = []
        self.hash_mixes: list[frozenset[str]] = []
        """The pod-template hashes among active pods, at every pod event."""
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> "Observer":
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._watch("pods")),
                       loop.create_task(self._watch("replicasets"))]
        await asyncio.sleep(0)
        return self

    async def settled(self, wait_for: Any, count: int) -> None:
        """Wait until the watches replayed `count` ready pods, then forget that replay."""
        await wait_for(lambda: len(self.pods) == count
                       and all(is_ready(p) for p in self.pods.values()) and self.replica_sets)
        self.ready_counts.clear()
        self.total_specs.clear()
        self.hash_mixes.clear()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _watch(self, resource: str) -> None:
        into = self.pods if resource == "pods" else self.replica_sets
        async with self.client.watch(resource, "default") as stream:
            async for event in stream:
                obj = event.object
                if objects.labels_of(obj).get("app") != "web":
                    continue
                if event.type is EventType.DELETED or objects.is_terminating(obj):
                    into.pop(objects.name_of(obj), None)
                else:
                    into[objects.name_of(obj)] = obj
                if resource == "pods":
                    self.ready_counts.append(sum(1 for p in self.pods.values() if is_ready(p)))
                    self.hash_mixes.append(frozenset(
                        objects.labels_of(p).get(HASH_LABEL, "") for p in self.pods.values()))
                else:
                    self.total_specs.append(sum(int(rs["spec"]["replicas"])
                                                for rs in self.replica_sets.values()))


def caches_current(api: Any, controllers: Controllers) -> bool:
    """The controllers' informers hold what the server holds for the Deployment's objects."""
    views = [(controllers.deployments.deployments, [deployment_of(api)]),
             (controllers.deployments.replica_sets, replica_sets(api)),
             (controllers.deployments.pods, pods(api))]
    for informer, stored in views:
        assert informer is not None
        for obj in stored:
            cached = informer.get(objects.object_key(obj))
            version = objects.resource_version_of(obj)
            if cached is None or objects.resource_version_of(cached) != version:
                return False
    return True


@pytest.fixture
async def controllers(client: InProcessClient) -> AsyncIterator[Controllers]:
    running = await Controllers(client).start()
    yield running
    await running.stop()


async def set_image(client: InProcessClient, image: str) -> None:
    d = await client.get("deployments", "web", "default")
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    await client.update(d)


ROLLING = {"strategy": {"type": "RollingUpdate",
                        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}}


@pytest.mark.parametrize("strategy", [
    pytest.param(ROLLING, id="ints"),
    pytest.param({"strategy": {"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}},
                 id="percentages"),
])
async def test_rolling_update_keeps_replicas_minus_max_unavailable_ready(
        api, client, controllers, kubelet, wait_for, strategy) -> None:
    """4 replicas, surge 1, unavailable 1: never fewer than 3 ready pods or more than 5 wanted."""
    await client.create(deployment(replicas=4, **strategy))
    await wait_for(lambda: rolled_out(api))
    observer = await Observer(client).start()
    try:
        await observer.settled(wait_for, 4)
        await set_image(client, "pause:2")
        await wait_for(lambda: rolled_out(api) and len(replica_sets(api)) == 2
                       and len(observer.pods) == 4
                       and all(is_ready(p) for p in observer.pods.values()), timeout=5)
    finally:
        await observer.stop()
    assert observer.ready_counts and min(observer.ready_counts) >= 3, observer.ready_counts
    assert max(observer.total_specs) <= 5, observer.total_specs
    old, new = replica_sets(api)
    new_hash = new["metadata"]["labels"][HASH_LABEL]
    assert {objects.labels_of(p)[HASH_LABEL] for p in pods(api)} == {new_hash}
    assert len(pods(api)) == 4
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (0, 4)
    assert (old["metadata"]["annotations"][REVISION], new["metadata"]["annotations"][REVISION],
            deployment_of(api)["metadata"]["annotations"][REVISION]) == ("1", "2", "2")
    scaling = events(api, "web", "ScalingReplicaSet")
    assert scaling[-1] == f"Scaled down replica set {old['metadata']['name']} to 0 from 1"
    assert f"Scaled up replica set {new['metadata']['name']} to 1" in scaling


async def test_rollout_with_unready_new_pods_stops_at_max_unavailable(
        api, client, controllers, wait_for) -> None:
    """When new pods never turn Ready, the rollout stalls with 3 old pods still ready."""
    created = await client.create(deployment(replicas=4, **ROLLING))
    first_hash = pod_template_hash(created["spec"]["template"])
    kubelet = AutoReady(client, ready_if=lambda pod: objects.labels_of(pod).get(HASH_LABEL)
                        == first_hash)
    await kubelet.start()
    try:
        await wait_for(lambda: rolled_out(api))
        await set_image(client, "pause:broken")
        await wait_for(lambda: len(replica_sets(api)) == 2
                       and [rs["spec"]["replicas"] for rs in replica_sets(api)] == [3, 2]
                       and (deployment_of(api).get("status") or {}).get("updatedReplicas") == 2)
        # Once the caches show all of that, one more reconcile of each must change nothing.
        await wait_for(lambda: caches_current(api, controllers))
        await controllers.deployments.reconcile("default/web")
        for rs in replica_sets(api):
            await controllers.replicasets.reconcile(objects.object_key(rs))
        assert [rs["spec"]["replicas"] for rs in replica_sets(api)] == [3, 2]
        assert sum(1 for p in pods(api) if is_ready(p)) == 3
        status = deployment_of(api)["status"]
        assert status["unavailableReplicas"] == 2
        available = next(c for c in status["conditions"] if c["type"] == "Available")
        assert (available["status"], available["reason"]) == ("True", "MinimumReplicasAvailable")
    finally:
        await kubelet.stop()


async def test_recreate_removes_old_pods_before_creating_new(api, client, controllers, kubelet,
                                                            wait_for) -> None:
    """Recreate: old and new pods never run together, and the new ReplicaSet starts at full size."""
    await client.create(deployment(replicas=3, strategy={"type": "Recreate"}))
    await wait_for(lambda: rolled_out(api))
    observer = await Observer(client).start()
    try:
        await observer.settled(wait_for, 3)
        await set_image(client, "pause:2")
        await wait_for(lambda: rolled_out(api) and len(replica_sets(api)) == 2)
    finally:
        await observer.stop()
    assert observer.hash_mixes and all(len(mix) <= 1 for mix in observer.hash_mixes)
    old, new = replica_sets(api)
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (0, 3)
    assert events(api, "web", "ScalingReplicaSet")[-2:] == [
        f"Scaled down replica set {old['metadata']['name']} to 0 from 3",
        f"Scaled up replica set {new['metadata']['name']} to 3"]


async def test_revision_history_limit_prunes_old_replica_sets(api, client, controllers, kubelet,
                                                              wait_for) -> None:
    """With revisionHistoryLimit 1, three rollouts leave the current and one old ReplicaSet."""
    await client.create(deployment(replicas=1, revisionHistoryLimit=1))
    await wait_for(lambda: rolled_out(api))
    for n in (2, 3, 4):
        await set_image(client, f"pause:{n}")
        await wait_for(lambda n=n: rolled_out(api) and len(replica_sets(api)) <= 2
                       and replica_sets(api)[-1]["metadata"]["annotations"][REVISION] == str(n),
                       message=f"revision {n}")
    await wait_for(lambda: [rs["metadata"]["annotations"][REVISION]
                            for rs in replica_sets(api)] == ["3", "4"])
    assert deployment_of(api)["metadata"]["annotations"][REVISION] == "4"
    old, new = replica_sets(api)
    assert old["spec"]["template"]["spec"]["containers"][0]["image"] == "pause:3"
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (0, 1)


async def test_rolling_back_reuses_the_old_replica_set_with_a_new_revision(
        api, client, controllers, kubelet, wait_for) -> None:
    """Going back to an earlier template reuses its ReplicaSet, now revision 3 with history 1."""
    await client.create(deployment(replicas=2))
    await wait_for(lambda: rolled_out(api))
    first = replica_sets(api)[0]["metadata"]["name"]
    await set_image(client, "pause:2")
    await wait_for(lambda: rolled_out(api) and len(replica_sets(api)) == 2)
    await set_image(client, "pause")
    await wait_for(lambda: rolled_out(api)
                   and replica_sets(api)[-1]["metadata"]["name"] == first)
    rs = api.get("replicasets", first, "default")
    assert rs["metadata"]["annotations"][REVISION] == "3"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert rs["spec"]["replicas"] == 2 and len(replica_sets(api)) == 2
    assert deployment_of(api)["metadata"]["annotations"][REVISION] == "3"


def conditions(api) -> dict[str, tuple[str, str, str]]:
    status = deployment_of(api).get("status") or {}
    return {c["type"]: (c["status"], c["reason"], c["message"])
            for c in status.get("conditions") or ()}


async def test_status_and_conditions_of_a_finished_rollout(api, client, controllers, kubelet,
                                                           wait_for) -> None:
    """A finished rollout reports every count and kube's Available/Progressing conditions."""
    await client.create(deployment(replicas=3))
    await wait_for(lambda: rolled_out(api) and conditions(api).get("Progressing", ("",))[0:2]
                   == ("True", "NewReplicaSetAvailable"))
    d = deployment_of(api)
    rs_name = replica_sets(api)[0]["metadata"]["name"]
    status = {k: v for k, v in d["status"].items() if k != "conditions"}
    assert status == {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
                      "readyReplicas": 3, "availableReplicas": 3}
    assert conditions(api) == {
        "Available": ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
        "Progressing": ("True", "NewReplicaSetAvailable",
                        f'ReplicaSet "{rs_name}" has successfully progressed.'),
    }
    assert [c["type"] for c in d["status"]["conditions"]] == ["Available", "Progressing"]


async def test_unready_rollout_reports_progress_then_times_out(api, client, wait_for) -> None:
    """Unready pods: Available False while Progressing, then ProgressDeadlineExceeded."""
    clock = FakeClock(2_000_000_000.0)
    running = await Controllers(client, clock=clock).start()
    kubelet = AutoReady(client, ready_if=lambda pod: False)
    await kubelet.start()
    try:
        await client.create(deployment(replicas=2, progressDeadlineSeconds=60))
        await wait_for(lambda: (deployment_of(api).get("status") or {}).get("replicas") == 2)
        rs_name = replica_sets(api)[0]["metadata"]["name"]
        await wait_for(lambda: conditions(api).get("Available", ("",))[0] == "False")
        assert conditions(api)["Available"] == (
            "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        assert conditions(api)["Progressing"][:2] in {("True", "NewReplicaSetCreated"),
                                                      ("True", "ReplicaSetUpdated")}
        assert deployment_of(api)["status"]["unavailableReplicas"] == 2
        clock.advance(61)
        running.deployments.controller.enqueue("default/web")
        await wait_for(lambda: conditions(api)["Progressing"][1] == "ProgressDeadlineExceeded")
        timed_out = f'ReplicaSet "{rs_name}" has timed out progressing.'
        assert conditions(api)["Progressing"] == ("False", "ProgressDeadlineExceeded", timed_out)
    finally:
        await kubelet.stop()
        await running.stop()
