"""The scheduler against a live API server: binds, events, conditions and retries."""

from __future__ import annotations

import asyncio
import random
from typing import Any, AsyncIterator

import pytest

from cluster.api import errors
from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.scheduler import Scheduler, SchedulerSettings
from tests.cluster.conftest import WaitFor
from tests.cluster.scheduler_helpers import anti_affinity, container, node, pod

FAST = SchedulerSettings(initial_backoff=0.01, max_backoff=0.05, flush_check_period=0.05,
                         unschedulable_flush_interval=3600.0)


async def wait_until(check: Any, timeout: float = 2.0) -> None:
    """Poll an async predicate with a deadline (the conftest `wait_for` takes sync ones)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            pytest.fail("the scheduler did not catch up with the API in time")
        await asyncio.sleep(0.001)


class Env:
    """An API server, a client and a running scheduler, with synchronous peeks for tests."""

    def __init__(self, settings: SchedulerSettings = FAST, seed: int = 0) -> None:
        self.api = APIServer()
        self.client = InProcessClient(self.api)
        self.scheduler = Scheduler(self.client, settings=settings, rng=random.Random(seed))

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        try:
            return self.api.get("pods", name, namespace)
        except errors.NotFound:
            return None

    def node_of(self, name: str) -> str | None:
        obj = self.pod(name)
        return (obj or {}).get("spec", {}).get("nodeName")

    def bound(self, *names: str) -> bool:
        return all(self.node_of(n) for n in names)

    def events(self, name: str, reason: str | None = None) -> list[dict[str, Any]]:
        items, _ = self.api.list("events", "default")
        return [e for e in items if e["involvedObject"]["name"] == name
                and (reason is None or e["reason"] == reason)]

    def condition(self, name: str) -> dict[str, Any] | None:
        obj = self.pod(name) or {}
        for c in obj.get("status", {}).get("conditions") or ():
            if c["type"] == "PodScheduled":
                return c
        return None

    async def add(self, *objs: dict[str, Any]) -> None:
        """Create objects; nodes first, and pods only once the scheduler has seen the nodes.

        Nodes and pods arrive through two informers whose order is not fixed; waiting keeps
        a pod from being tried (and reported) against a cluster that is still appearing.
        """
        nodes = [o for o in objs if o["kind"] == "Node"]
        others = [o for o in objs if o["kind"] != "Node"]
        for obj in nodes:
            await self._create(obj)
        if nodes and others:
            await self.sees_nodes(*(n["metadata"]["name"] for n in nodes))
        for obj in others:
            await self._create(obj)

    async def _create(self, obj: dict[str, Any]) -> None:
        obj["metadata"].pop("uid", None)  # the API server assigns uids
        await self.client.create(obj)

    async def sees_nodes(self, *names: str) -> None:
        """Wait until the running scheduler's cache holds these nodes as they are stored."""
        if not self.scheduler._tasks:
            return
        async def current() -> bool:
            for name in names:
                info = self.scheduler.cache.node(name)
                stored = self.api.get("nodes", name)
                if info is None or info.node is None or \
                        info.node["metadata"]["resourceVersion"] != \
                        stored["metadata"]["resourceVersion"]:
                    return False
            return True
        await wait_until(current)

    async def update_node(self, obj: dict[str, Any]) -> None:
        """Write a node and wait until the scheduler has seen the write."""
        await self.client.update(obj)
        await self.sees_nodes(obj["metadata"]["name"])


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    e = Env()
    await e.scheduler.start()
    yield e
    await e.scheduler.stop()


def tutorial_pod() -> dict[str, Any]:
    return pod("redis", container("redis", memory="2Gi"), container("sidecar", memory="2Gi"))


async def test_tutorial_example_lands_on_node2_for_every_seed(wait_for: WaitFor):
    """Two containers of 2Gi: node1 (3.5Gi) is never chosen, node2 (4Gi) always is."""
    for seed in range(12):
        e = Env(seed=seed)
        await e.add(node("node1", memory="3584Mi"), node("node2", memory="4Gi"), tutorial_pod())
        await e.scheduler.start()
        try:
            await wait_for(lambda e=e: e.bound("redis"))
            assert e.node_of("redis") == "node2", seed
            [event] = e.events("redis", "Scheduled")
            assert event["type"] == "Normal"
            assert event["message"] == "Successfully assigned default/redis to node2"
            assert event["source"]["component"] == "default-scheduler"
        finally:
            await e.scheduler.stop()


async def test_tutorial_example_counts_what_is_already_bound(env: Env, wait_for: WaitFor):
    """Free room is allocatable minus bound requests: 3.5Gi free on the big node1 and 4Gi on
    node2, so the pod goes to node2 (were bound pods ignored, node1 would look emptier)."""
    await env.add(node("node1", memory="16Gi"), node("node2", memory="8Gi"),
                  pod("a", container(memory="12800Mi"), node_name="node1"),
                  pod("b", container(memory="4Gi"), node_name="node2"), tutorial_pod())
    await wait_for(lambda: env.bound("redis"))
    assert env.node_of("redis") == "node2"
    assert env.events("a") == [] and env.events("b") == []  # bound pods are left alone


INSUFFICIENT = ("0/2 nodes are available: 2 Insufficient memory. preemption: 0/2 nodes are "
                "available: 2 No preemption victims found for incoming pod.")


async def test_pod_too_big_for_every_node_stays_pending_until_a_node_fits(env: Env,
                                                                            wait_for: WaitFor):
    """FailedScheduling and PodScheduled=False in kubectl's words; a big node then takes it."""
    await env.add(node("node1", memory="3Gi"), node("node2", memory="3Gi"),
                  pod("big", container(memory="6Gi")))
    await wait_for(lambda: env.condition("big") is not None)
    [event] = env.events("big", "FailedScheduling")
    assert (event["type"], event["message"]) == ("Warning", INSUFFICIENT)
    assert event["source"]["component"] == "default-scheduler"
    cond = env.condition("big")
    assert cond is not None
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False", "Unschedulable", INSUFFICIENT)
    assert env.node_of("big") is None

    # Not retried in a loop: another pod comes and goes through the scheduler meanwhile.
    await env.add(pod("small", container(memory="1Gi")))
    await wait_for(lambda: env.bound("small"))
    assert env.scheduler.attempts == 2

    await env.add(node("node3", memory="16Gi"))
    await wait_for(lambda: env.bound("big"))
    assert env.node_of("big") == "node3"
    await wait_for(lambda: len(env.events("big", "Scheduled")) == 1)  # written in the background


async def test_deleting_a_bound_pod_frees_room_for_a_pending_one(env: Env, wait_for: WaitFor):
    """A pod waiting for memory is retried when a bound pod goes away."""
    await env.add(node("node1", memory="4Gi"), pod("hog", container(memory="3Gi")))
    await wait_for(lambda: env.bound("hog"))
    await env.add(pod("next", container(memory="2Gi")))
    await wait_for(lambda: env.condition("next") is not None)
    await env.client.delete("pods", "hog", grace_period_seconds=0)
    await wait_for(lambda: env.bound("next"))


async def test_finished_pod_frees_its_room(env: Env, wait_for: WaitFor):
    """A bound pod that Succeeded no longer holds memory, and the waiting pod is retried."""
    await env.add(node("node1", memory="4Gi"), pod("job", container(memory="3Gi")))
    await wait_for(lambda: env.bound("job"))
    await env.add(pod("next", container(memory="2Gi")))
    await wait_for(lambda: env.condition("next") is not None)
    job = await env.client.get("pods", "job")
    job["status"]["phase"] = "Succeeded"
    await env.client.update_status(job)
    await wait_for(lambda: env.bound("next"))


async def test_node_selector(env: Env, wait_for: WaitFor):
    """spec.nodeSelector picks the labelled node; an unmatched selector stays Pending."""
    await env.add(node("node1"), node("node2", labels={"disk": "ssd"}),
                  pod("fast", nodeSelector={"disk": "ssd"}),
                  pod("lost", nodeSelector={"disk": "tape"}))
    await wait_for(lambda: env.bound("fast") and env.condition("lost") is not None)
    assert env.node_of("fast") == "node2"
    assert env.condition("lost")["message"] == (
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")


async def test_required_node_affinity(env: Env, wait_for: WaitFor):
    """Required node affinity with In and Gt operators selects the one matching node."""
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a", "b"]},
            {"key": "cores", "operator": "Gt", "values": ["8"]}]}]}}}
    await env.add(node("node1", labels={"zone": "a", "cores": "4"}),
                  node("node2", labels={"zone": "c", "cores": "32"}),
                  node("node3", labels={"zone": "b", "cores": "16"}),
                  pod("p", affinity=affinity))
    await wait_for(lambda: env.bound("p"))
    assert env.node_of("p") == "node3"


UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}


async def test_taints_and_tolerations(env: Env, wait_for: WaitFor):
    """Untolerated taints keep a pod off; tolerating the unreachable taint lets it on.

    As on a real cluster, every pod tolerates `unreachable:NoExecute` for 300s (the API
    server's DefaultTolerationSeconds), so what keeps it off an unreachable node is the
    NoSchedule taint that goes with the node's Unknown Ready condition.
    """
    await env.add(node("node1", ready="Unknown", taints=[UNREACHABLE]),
                  node("node2", taints=[{"key": "dedicated", "value": "gpu",
                                         "effect": "NoSchedule"}]),
                  pod("plain"),
                  pod("tolerant", tolerations=[{"key": "node.kubernetes.io/unreachable",
                                                "operator": "Exists"}]))
    await wait_for(lambda: env.bound("tolerant") and env.condition("plain") is not None)
    assert env.node_of("tolerant") == "node1"
    assert env.condition("plain")["message"] == (
        "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
        "1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. preemption: "
        "0/2 nodes are available: 2 Preemption is not helpful for scheduling.")

    # Removing the taint is a node update: the waiting pod is retried and placed.
    node2 = await env.client.get("nodes", "node2")
    node2["spec"]["taints"] = []
    await env.update_node(node2)
    await wait_for(lambda: env.bound("plain"))
    assert env.node_of("plain") == "node2"


async def test_not_ready_and_cordoned_nodes_are_skipped(env: Env, wait_for: WaitFor):
    """Only the Ready, schedulable node gets pods; the others are reported as such."""
    await env.add(node("node1", ready="False"), node("node2", unschedulable=True),
                  node("node3", ready="Unknown"), node("node4"),
                  *(pod(f"p{i}") for i in range(4)))
    await wait_for(lambda: env.bound(*(f"p{i}" for i in range(4))))
    assert {env.node_of(f"p{i}") for i in range(4)} == {"node4"}

    node4 = await env.client.get("nodes", "node4")
    node4["spec"]["unschedulable"] = True
    await env.update_node(node4)
    await env.add(pod("late"))
    await wait_for(lambda: env.condition("late") is not None)
    assert env.condition("late")["message"] == (
        "0/4 nodes are available: 1 node(s) had untolerated taint "
        "{node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint "
        "{node.kubernetes.io/unreachable: }, 2 node(s) were unschedulable. preemption: "
        "0/4 nodes are available: 4 Preemption is not helpful for scheduling.")


async def test_required_anti_affinity_spreads_three_and_leaves_the_fourth(env: Env,
                                                                          wait_for: WaitFor):
    """Three replicas land on three nodes; the fourth has nowhere to go until one leaves."""
    labels = {"app": "redis"}
    await env.add(node("node1"), node("node2"), node("node3"),
                  *(pod(f"redis-{i}", labels=labels, affinity=anti_affinity(labels))
                    for i in range(4)))
    names = [f"redis-{i}" for i in range(4)]
    await wait_for(lambda: sum(env.bound(n) for n in names) == 3
                   and any(env.condition(n) and env.condition(n)["status"] == "False"
                           for n in names))
    placed = {env.node_of(n) for n in names} - {None}
    assert placed == {"node1", "node2", "node3"}
    [waiting] = [n for n in names if not env.bound(n)]
    assert env.condition(waiting)["message"] == (
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: "
        "0/3 nodes are available: 3 No preemption victims found for incoming pod.")

    gone = next(n for n in names if env.bound(n))
    freed = env.node_of(gone)
    await env.client.delete("pods", gone, grace_period_seconds=0)
    await wait_for(lambda: env.bound(waiting))
    assert env.node_of(waiting) == freed


async def replicaset(env: Env, name: str) -> dict[str, Any]:
    return await env.client.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "redis"}]}}}})


def owned(obj: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    obj["metadata"]["ownerReferences"] = [{
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    return obj


@pytest.mark.parametrize("seed", range(5))
async def test_replicaset_pods_spread_over_nodes(wait_for: WaitFor, seed: int):
    """Pods of one ReplicaSet go to different nodes, even when one node is emptier."""
    e = Env(seed=seed)
    await e.add(node("node1", cpu="4"), node("node2", cpu="4"), node("node3", cpu="64"))
    rs = await replicaset(e, "web")
    await e.scheduler.start()
    try:
        for i in range(3):
            await e.add(owned(pod(f"web-{i}", container(cpu="100m"), labels={"app": "web"}), rs))
            await wait_for(lambda i=i: e.bound(f"web-{i}"))
        assert {e.node_of(f"web-{i}") for i in range(3)} == {"node1", "node2", "node3"}
    finally:
        await e.scheduler.stop()


async def test_preferred_anti_affinity_spreads_and_still_schedules(env: Env, wait_for: WaitFor):
    """Preferred anti-affinity puts replicas apart, and a fourth still runs somewhere."""
    labels = {"app": "cache"}
    await env.add(node("node1"), node("node2"), node("node3"))
    names = [f"cache-{i}" for i in range(4)]
    for name in names:
        await env.add(pod(name, labels=labels, affinity=anti_affinity(labels, required=False)))
        await wait_for(lambda name=name: env.bound(name))
    assert {env.node_of(n) for n in names[:3]} == {"node1", "node2", "node3"}
    assert env.node_of(names[3]) is not None


async def test_init_container_counts_as_its_maximum_not_the_sum(env: Env, wait_for: WaitFor):
    """An init container needing 2Gi and containers needing 1Gi fit a 2Gi node; 3Gi does not."""
    await env.add(node("node1", memory="2Gi"),
                  pod("fits", container(memory="1Gi"),
                      init_containers=[container("init", memory="2Gi")]))
    await wait_for(lambda: env.bound("fits"))
    await env.client.delete("pods", "fits", grace_period_seconds=0)
    await env.add(pod("toobig", container(memory="1Gi"),
                      init_containers=[container("init", memory="3Gi")]))
    await wait_for(lambda: env.condition("toobig") is not None)
    assert env.condition("toobig")["message"].startswith(
        "0/1 nodes are available: 1 Insufficient memory.")


async def test_pods_of_other_schedulers_and_bound_pods_are_ignored(env: Env, wait_for: WaitFor):
    """Only unbound pods for `default-scheduler` are scheduled; the others get no events."""
    await env.add(node("node1"),
                  pod("mine"),
                  pod("theirs", schedulerName="my-scheduler"),
                  pod("prebound", node_name="node1"))
    await wait_for(lambda: env.bound("mine"))
    await env.add(pod("after"))
    await wait_for(lambda: env.bound("after"))
    assert env.node_of("theirs") is None
    assert env.events("theirs") == [] and env.events("prebound") == []
    assert env.scheduler.scheduled == 2


async def test_periodic_flush_retries_without_events(wait_for: WaitFor):
    """With a short flush interval, an unschedulable pod is retried even with no event."""
    e = Env(settings=SchedulerSettings(initial_backoff=0.01, max_backoff=0.01,
                                       flush_check_period=0.01,
                                       unschedulable_flush_interval=0.02))
    await e.add(node("node1", memory="1Gi"), pod("big", container(memory="2Gi")))
    await e.scheduler.start()
    try:
        await wait_for(lambda: e.scheduler.attempts >= 3)
        [event] = e.events("big", "FailedScheduling")
        assert event["count"] >= 2  # the same event, counted, not a new one per attempt
    finally:
        await e.scheduler.stop()


async def test_no_nodes_at_all(env: Env, wait_for: WaitFor):
    """Without any node the message is kube-scheduler's `no nodes available`."""
    await env.add(pod("alone"))
    await wait_for(lambda: env.condition("alone") is not None)
    assert env.condition("alone")["message"] == "no nodes available to schedule pods"
    await env.add(node("node1"))
    await wait_for(lambda: env.bound("alone"))


@pytest.mark.usefixtures("no_leaked_tasks")
async def test_stop_leaves_no_tasks_behind(wait_for: WaitFor):
    """start then stop cancels the loop, the flush timer and its own informers."""
    e = Env()
    await e.add(node("node1"), pod("p"))
    await e.scheduler.start()
    await wait_for(lambda: e.bound("p"))
    await e.scheduler.stop()
