"""The kubelet's node: registration, status, the Lease heartbeat, and the node dying."""

from __future__ import annotations

import dataclasses

import pytest

from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.kubelet import Kubelet, KubeletSettings
from tests.cluster.conftest import WaitFor
from tests.cluster.kubelet_helpers import (FAST, Sandboxes, ScriptRuntime, container, pod,
                                          running_kubelet)


async def test_registers_its_node() -> None:
    """start() creates the Node with labels, capacity, kubelet's conditions, addresses and nodeInfo."""
    settings = dataclasses.replace(FAST, capacity={"cpu": "2", "memory": "4Gi", "pods": "10"},
                                   allocatable={"cpu": "2", "memory": "3584Mi", "pods": "10"},
                                   instance_type="redisha.small")
    async with running_kubelet(settings, node="worker-7") as env:
        node = await env.client.get("nodes", "worker-7")
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.io/hostname"] == "worker-7"
        assert labels["kubernetes.io/os"] == "linux"
        assert labels["node.kubernetes.io/instance-type"] == "redisha.small"
        status = node["status"]
        assert status["capacity"] == {"cpu": "2", "memory": "4Gi", "pods": "10"}
        assert status["allocatable"]["memory"] == "3584Mi"
        conditions = {c["type"]: c for c in status["conditions"]}
        assert set(conditions) == {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
        ready = conditions["Ready"]
        assert (ready["status"], ready["reason"], ready["message"]) == (
            "True", "KubeletReady", "kubelet is posting ready status")
        assert conditions["MemoryPressure"]["reason"] == "KubeletHasSufficientMemory"
        assert {"type": "Hostname", "address": "worker-7"} in status["addresses"]
        assert any(a["type"] == "InternalIP" for a in status["addresses"])
        assert status["nodeInfo"]["kubeletVersion"] == "v1.32.0-redisha"
        assert status["nodeInfo"]["containerRuntimeVersion"] == "script://0.1"


async def test_default_capacity() -> None:
    """Without settings, a node offers 4 cpu, 8Gi of memory and 110 pods."""
    async with running_kubelet(KubeletSettings(lease_renew_interval=60.0)) as env:
        capacity = (await env.client.get("nodes", "node-1"))["status"]["capacity"]
        assert (capacity["cpu"], capacity["memory"], capacity["pods"]) == ("4", "8Gi", "110")


async def test_renews_its_lease(wait_for: WaitFor) -> None:
    """The Lease kube-node-lease/<node> exists after start and its renewTime keeps moving."""
    async with running_kubelet() as env:
        lease = env.api.get("leases", "node-1", "kube-node-lease")
        assert lease["spec"]["holderIdentity"] == "node-1"
        assert lease["spec"]["leaseDurationSeconds"] == 40
        assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
        first = lease["spec"]["renewTime"]
        await wait_for(lambda: env.api.get("leases", "node-1", "kube-node-lease")
                       ["spec"]["renewTime"] != first)


async def test_reposts_ready_after_someone_marks_it_unknown(wait_for: WaitFor) -> None:
    """When the node lifecycle controller sets Ready=Unknown on a live node, the kubelet fixes it."""
    async with running_kubelet() as env:
        node = await env.client.get("nodes", "node-1")
        for c in node["status"]["conditions"]:
            if c["type"] == "Ready":
                c.update(status="Unknown", reason="NodeStatusUnknown",
                         message="Kubelet stopped posting node status.")
        await env.client.update_status(node)

        def ready() -> str:
            node = env.api.get("nodes", "node-1")
            return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")

        await wait_for(lambda: ready() == "True")


async def test_kill_stops_heartbeats_and_containers_without_writes(wait_for: WaitFor) -> None:
    """kill(): the lease stops moving (while a live node's keeps moving), containers die,
    and the pod is left as it was."""
    api = APIServer()
    client = InProcessClient(api)
    runtime = ScriptRuntime()
    doomed = Kubelet(client, node_name="doomed", runtime=runtime, sandboxes=Sandboxes(),
                     settings=FAST)
    alive = Kubelet(client, node_name="alive", runtime=ScriptRuntime(), sandboxes=Sandboxes(),
                    settings=FAST)
    await doomed.start()
    await alive.start()
    try:
        await client.create(pod("victim", node="doomed"))
        await wait_for(lambda: api.get("pods", "victim", "default")["status"]["phase"] == "Running")
        box = runtime.by_container("victim", "main")[0]
        before = api.get("pods", "victim", "default")["metadata"]["resourceVersion"]
        await doomed.kill()
        assert box.exit_code == 137
        frozen = api.get("leases", "doomed", "kube-node-lease")["spec"]["renewTime"]
        renewals = []

        def alive_renewed_three_times() -> bool:
            stamp = api.get("leases", "alive", "kube-node-lease")["spec"]["renewTime"]
            if not renewals or renewals[-1] != stamp:
                renewals.append(stamp)
            return len(renewals) >= 4

        await wait_for(alive_renewed_three_times)
        assert api.get("leases", "doomed", "kube-node-lease")["spec"]["renewTime"] == frozen
        assert api.get("pods", "victim", "default")["metadata"]["resourceVersion"] == before
    finally:
        await doomed.stop()
        await alive.stop()


async def test_restarted_kubelet_runs_its_pods_again(wait_for: WaitFor) -> None:
    """After kill() then start(), the node's pods run again with their restart counts kept."""
    async with running_kubelet() as env:
        await env.create(pod("phoenix"))
        await wait_for(lambda: env.phase("phoenix") == "Running")
        await env.kubelet.kill()
        await env.kubelet.start()
        await wait_for(lambda: env.container_status("phoenix").get("restartCount") == 1)
        assert len(env.runtime.started("phoenix", "main")) == 2
        await wait_for(lambda: "running" in env.container_status("phoenix")["state"])


@pytest.mark.usefixtures("no_leaked_tasks")
async def test_stop_leaves_no_tasks_behind(wait_for: WaitFor) -> None:
    """stop() with running pods, probes and a crash loop in flight leaves no task running."""
    async with running_kubelet() as env:
        probe = {"exec": {"command": ["healthy"]}, "periodSeconds": 1}
        await env.create(pod("probed", container("main", "run", readinessProbe=probe,
                                                 livenessProbe=probe)))
        await env.create(pod("looping", container("main", "exit", "1")))
        await wait_for(lambda: env.condition("probed", "Ready").get("status") == "True")
        await wait_for(lambda: env.container_status("looping").get("restartCount", 0) >= 1)
