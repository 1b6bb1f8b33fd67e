"""Node lifecycle: stale leases make nodes Unknown and tainted, pods go after their tolerations."""

from __future__ import annotations

import time
from typing import Any, AsyncIterator

import pytest

from cluster.api import objects
from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.controllers import nodelifecycle
from cluster.informer import InformerSettings
from tests.cluster.conftest import FakeClock
from tests.cluster.controllers.workload_sim import peek, set_pod_status

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

INFORMERS = InformerSettings(retry_initial_delay=0.001, retry_max_delay=0.01)
SETTINGS = nodelifecycle.NodeLifecycleSettings(node_monitor_grace_period=40,
                                               node_startup_grace_period=60,
                                               default_toleration_seconds=300,
                                               informer=INFORMERS)


def node(name: str, now: float, *, ready: bool = True) -> dict[str, Any]:
    stamp = objects.format_time(now)
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                 "lastHeartbeatTime": stamp, "lastTransitionTime": stamp},
                {"type": "Ready", "status": "True" if ready else "False",
                 "reason": "KubeletReady", "message": "kubelet is posting ready status",
                 "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}],
                "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}


def lease(name: str, now: float) -> dict[str, Any]:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                     "renewTime": objects.format_micro_time(now)}}


def pod(name: str, node_name: str = "n1", tolerations: list[dict[str, Any]] | None = None
        ) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeName": node_name,
                            "containers": [{"name": "c", "image": "redis"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def unreachable_for(seconds: int | None) -> list[dict[str, Any]]:
    toleration: dict[str, Any] = {"key": nodelifecycle.TAINT_UNREACHABLE, "operator": "Exists",
                                  "effect": "NoExecute"}
    if seconds is not None:
        toleration["tolerationSeconds"] = seconds
    return [toleration]


class RecordingController(nodelifecycle.NodeLifecycleController):
    """Remembers the clock reading at the start of every finished reconcile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.finished: list[float] = []

    async def reconcile(self, key: str):
        started = self._clock()
        try:
            return await super().reconcile(key)
        finally:
            self.finished.append(started)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def api(clock: FakeClock) -> APIServer:
    return APIServer(clock=clock)


@pytest.fixture
def client(api: APIServer) -> InProcessClient:
    return InProcessClient(api)


@pytest.fixture
async def controller(client, clock) -> AsyncIterator[RecordingController]:
    ctrl = RecordingController(client, settings=SETTINGS, clock=clock)
    await ctrl.start()
    yield ctrl
    await ctrl.stop()


async def tick(controller: RecordingController, clock: FakeClock, seconds: float,
               wait_for) -> None:
    """Advance the fake clock, look at every node, and wait for a pass at the new time."""
    clock.advance(seconds)
    seen = len(controller.finished)
    controller.resync()
    await wait_for(lambda: any(t >= clock.now for t in controller.finished[seen:]))


def ready_condition(api: APIServer, name: str = "n1") -> dict[str, Any]:
    return nodelifecycle.condition(peek(api, "nodes", name, None), "Ready") or {}


def taints(api: APIServer, name: str = "n1") -> set[tuple[str, str]]:
    spec = peek(api, "nodes", name, None).get("spec") or {}
    return {(t["key"], t["effect"]) for t in spec.get("taints", ())}


def messages(api: APIServer, reason: str) -> list[str]:
    return sorted(e["message"] for e in api.list("events")[0] if e["reason"] == reason)


UNREACHABLE = {(nodelifecycle.TAINT_UNREACHABLE, "NoExecute"),
               (nodelifecycle.TAINT_UNREACHABLE, "NoSchedule")}


async def test_stale_lease_taints_evicts_and_heals(api, client, clock, controller, wait_for) -> None:
    """Stale lease → Unknown + unreachable taints → evictions by toleration → fresh lease heals."""
    await client.create(node("n1", clock.now))
    await client.create(lease("n1", clock.now))
    await client.create(pod("short", tolerations=unreachable_for(60)))
    await client.create(pod("default"))
    await client.create(pod("forever", tolerations=unreachable_for(None)))
    for i, name in enumerate(("short", "default", "forever")):
        await set_pod_status(client, name, ip=f"10.0.0.{i + 1}")

    await tick(controller, clock, 30, wait_for)
    assert ready_condition(api)["status"] == "True", "marked Unknown inside the grace period"

    await tick(controller, clock, 11, wait_for)  # 41 s without a heartbeat
    await wait_for(lambda: taints(api) == UNREACHABLE)
    ready = ready_condition(api)
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    memory = nodelifecycle.condition(peek(api, "nodes", "n1", None), "MemoryPressure")
    assert memory["status"] == "Unknown"
    assert all(t.get("timeAdded") for t in peek(api, "nodes", "n1", None)["spec"]["taints"])
    await wait_for(lambda: len(messages(api, "NodeNotReady")) == 4)
    assert messages(api, "NodeNotReady") == ["Node is not ready"] * 3 + [
        "Node n1 status is now: NodeNotReady"]
    for name in ("short", "default", "forever"):
        assert nodelifecycle.condition(peek(api, "pods", name), "Ready")["status"] == "False"

    await tick(controller, clock, 59, wait_for)
    assert peek(api, "pods", "short") is not None, "evicted before tolerationSeconds"

    await tick(controller, clock, 2, wait_for)
    await wait_for(lambda: peek(api, "pods", "short") is None)
    assert messages(api, "TaintManagerEviction") == ["Marking for deletion Pod default/short"]
    assert peek(api, "pods", "default") is not None

    await tick(controller, clock, 240, wait_for)  # 301 s after the taint: default toleration over
    await wait_for(lambda: peek(api, "pods", "default") is None)
    assert peek(api, "pods", "forever") is not None

    # The kubelet comes back: fresh lease and a Ready status.
    renewed = await client.get("leases", "n1", "kube-node-lease")
    renewed["spec"]["renewTime"] = objects.format_micro_time(clock.now)
    await client.update(renewed)
    back = await client.get("nodes", "n1")
    back["status"] = node("n1", clock.now)["status"]
    await client.update_status(back)
    await wait_for(lambda: taints(api) == set())
    assert ready_condition(api)["status"] == "True"
    assert peek(api, "pods", "forever") is not None


async def test_never_reporting_node_uses_startup_grace(api, client, clock, controller,
                                                       wait_for) -> None:
    """A node with no lease and no conditions turns Unknown only after the startup grace."""
    await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    await tick(controller, clock, 45, wait_for)
    assert ready_condition(api) == {}
    await tick(controller, clock, 20, wait_for)
    await wait_for(lambda: ready_condition(api).get("status") == "Unknown")
    ready = ready_condition(api)
    assert (ready["reason"], ready["message"]) == ("NodeStatusNeverUpdated",
                                                   "Kubelet never posted node status.")
    await wait_for(lambda: taints(api) == UNREACHABLE)


async def test_not_ready_kubelet_taints_not_ready(api, client, clock, controller, wait_for) -> None:
    """A kubelet reporting Ready=False gets the not-ready taints, and its pods are marked unready."""
    await client.create(node("n1", clock.now, ready=False))
    await client.create(lease("n1", clock.now))
    await client.create(pod("p", tolerations=[]))
    await set_pod_status(client, "p")
    await wait_for(lambda: taints(api) == {(nodelifecycle.TAINT_NOT_READY, "NoExecute"),
                                           (nodelifecycle.TAINT_NOT_READY, "NoSchedule")})
    await wait_for(lambda: nodelifecycle.condition(peek(api, "pods", "p"), "Ready")["status"]
                   == "False")


async def test_user_taints_kept_and_untolerated_noexecute_evicts(api, client, clock, controller,
                                                                 wait_for) -> None:
    """A user NoExecute taint evicts intolerant pods at once; the controller keeps the taint."""
    await client.create(node("n1", clock.now))
    await client.create(lease("n1", clock.now))
    await client.create(pod("intolerant"))
    await client.create(pod("tolerant", tolerations=[{"key": "dedicated", "operator": "Exists"}]))
    current = await client.get("nodes", "n1")
    current["spec"] = {"taints": [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]}
    await client.update(current)
    await wait_for(lambda: peek(api, "pods", "intolerant") is None
                   or objects.is_terminating(peek(api, "pods", "intolerant")))
    assert not objects.is_terminating(peek(api, "pods", "tolerant"))
    assert taints(api) == {("dedicated", "NoExecute")}


async def test_terminating_pod_on_unreachable_node_is_force_deleted(
        api, client, clock, controller, wait_for) -> None:
    """A pod stuck Terminating on an unreachable node is removed once its grace period is over."""
    await client.create(node("n1", clock.now))
    await client.create(pod("stuck", tolerations=unreachable_for(None)))
    await tick(controller, clock, 41, wait_for)
    await wait_for(lambda: taints(api) == UNREACHABLE)
    await client.delete("pods", "stuck")  # bound: waits for a kubelet that will never answer
    assert objects.is_terminating(peek(api, "pods", "stuck"))
    await tick(controller, clock, 1, wait_for)
    assert peek(api, "pods", "stuck") is not None, "removed before its grace period ended"
    await tick(controller, clock, 30, wait_for)
    await wait_for(lambda: peek(api, "pods", "stuck") is None)


async def test_real_clock_short_grace(wait_for) -> None:
    """With the real clock and a short grace, a node whose lease stops is marked Unknown unprompted."""
    api = APIServer()
    client = InProcessClient(api)
    settings = nodelifecycle.NodeLifecycleSettings(node_monitor_grace_period=0.3,
                                                   informer=INFORMERS)
    ctrl = nodelifecycle.NodeLifecycleController(client, settings=settings)
    await ctrl.start()
    try:
        await client.create(node("n1", time.time()))
        await client.create(lease("n1", time.time()))
        await wait_for(lambda: ready_condition(api).get("status") == "Unknown", timeout=3.0)
    finally:
        await ctrl.stop()


@pytest.mark.parametrize("toleration, taint, expected", [
    pytest.param({"operator": "Exists"}, {"key": "k", "effect": "NoExecute"}, True, id="exists-all"),
    pytest.param({"key": "k", "operator": "Equal", "value": "v"},
                 {"key": "k", "value": "v", "effect": "NoExecute"}, True, id="equal-value"),
    pytest.param({"key": "k", "value": "x"}, {"key": "k", "value": "v", "effect": "NoExecute"},
                 False, id="other-value"),
    pytest.param({"key": "k", "operator": "Exists", "effect": "NoSchedule"},
                 {"key": "k", "effect": "NoExecute"}, False, id="other-effect"),
    pytest.param({"key": "j", "operator": "Exists"}, {"key": "k", "effect": "NoExecute"},
                 False, id="other-key"),
])
def test_tolerates(toleration, taint, expected) -> None:
    """Toleration matching follows kube's ToleratesTaint."""
    assert nodelifecycle.tolerates(toleration, taint) is expected


def test_eviction_time_takes_earliest_tolerated_deadline() -> None:
    """With two taints the earliest toleration deadline wins; untolerated non-default taints evict now."""
    taints_ = [{"key": nodelifecycle.TAINT_UNREACHABLE, "effect": "NoExecute"},
               {"key": nodelifecycle.TAINT_NOT_READY, "effect": "NoExecute"}]
    p = pod("p", tolerations=unreachable_for(100))
    assert nodelifecycle.eviction_time(p, taints_, default_seconds=300, added=lambda t: 10.0) == 110.0
    other = [{"key": "dedicated", "effect": "NoExecute"}]
    assert nodelifecycle.eviction_time(p, other, default_seconds=300,
                                       added=lambda t: 10.0) == float("-inf")


def test_health_deadline_prefers_newest_heartbeat() -> None:
    """The deadline counts from the newer of the Ready heartbeat and the lease renewal."""
    settings = nodelifecycle.NodeLifecycleSettings()
    n = node("n1", 1000.0)
    n["metadata"]["creationTimestamp"] = objects.format_time(900.0)
    assert nodelifecycle.health_deadline(n, None, settings=settings, started_at=0.0) == 1040.0
    assert nodelifecycle.health_deadline(n, lease("n1", 1010.0), settings=settings,
                                         started_at=0.0) == pytest.approx(1050.0)
