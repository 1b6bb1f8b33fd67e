"""The whole engine on one loop: the tutorial's cluster behaviours, end to end."""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator

import pytest

from cluster.api import errors
from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from cluster.kubectl import Kubectl
from cluster.runtime import base, containers, images
from cluster.runtime.fake import FakeRuntime


class EchoServer:
    """A fake program: echoes TCP on the port given as argv[1], tagged with its hostname."""

    async def run(self, ctx: images.ProgramContext) -> int:
        port = int(ctx.argv[1]) if len(ctx.argv) > 1 else 7000

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while line := await reader.readline():
                writer.write(f"{ctx.hostname}:{line.decode()}".encode())
                await writer.drain()
            writer.close()

        server = await ctx.sandbox.start_server(handle, port)
        ctx.stdout(f"listening on {ctx.sandbox.ip}:{port}")
        await ctx.stop_requested.wait()
        server.close()
        return 0


BUSYBOX = images.Image(name="busybox", programs={"echo-server": EchoServer},
                       entrypoint=("sh",))


def runtime_with_busybox(node: str, settings: containers.RuntimeSettings) -> base.Runtime:
    return FakeRuntime(images.ImageRegistry([BUSYBOX]), settings=settings)


@pytest.fixture
async def cluster() -> AsyncIterator[EmbeddedCluster]:
    async with start_cluster(ClusterSettings.quick(nodes=3),
                             runtime_factory=runtime_with_busybox) as c:
        yield c


async def wait_until(predicate, timeout: float = 5.0, what: str = "") -> Any:
    """Poll an async predicate until it returns something truthy, within a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.02)


async def pods(c: EmbeddedCluster | Any, selector: str | None = None) -> list[dict[str, Any]]:
    client = c.client if isinstance(c, EmbeddedCluster) else c
    return (await client.list("pods", "default", label_selector=selector)).items


def running(p: dict[str, Any]) -> bool:
    return p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")


async def test_three_node_cluster_starts_within_a_second() -> None:
    """Control plane, network and three kubelets up, nodes Ready, in <= 1 s."""
    t0 = time.perf_counter()
    async with start_cluster(ClusterSettings.quick(nodes=3)) as c:
        elapsed = time.perf_counter() - t0
        nodes = (await c.client.list("nodes")).items
        assert [n["metadata"]["name"] for n in nodes] == ["node-1", "node-2", "node-3"]
        assert all(any(cond["type"] == "Ready" and cond["status"] == "True"
                       for cond in n["status"]["conditions"]) for n in nodes)
    assert elapsed <= 1.0


async def test_run_reaches_running_within_two_seconds(cluster: EmbeddedCluster) -> None:
    """`kubectl run redis --image=busybox --command -- echo-server` → Running in <= 2 s."""
    k = Kubectl(cluster.client)
    t0 = time.perf_counter()
    result = await k.run(["run", "redis", "--image=busybox", "--command", "--",
                          "echo-server", "7000"])
    assert result.stdout.strip() == "pod/redis created"
    pod = await wait_until(lambda: _running_pod(cluster, "redis"), 2.0, "redis Running")
    assert time.perf_counter() - t0 <= 2.0
    assert pod["status"]["podIP"].startswith("127.") and pod["spec"]["nodeName"].startswith("node-")
    table = (await k.run(["get", "pods"])).stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert table[1].split()[:4] == ["redis", "1/1", "Running", "0"]


async def _running_pod(c: EmbeddedCluster, name: str) -> dict[str, Any] | None:
    try:
        pod = await c.client.get("pods", name)
    except errors.NotFound:
        return None
    return pod if running(pod) else None


async def test_deployment_pod_is_replaced_but_bare_pod_stays_gone(cluster: EmbeddedCluster) -> None:
    """The tutorial's step 3.4: a new suffix for the Deployment's pod, the bare pod gone."""
    k = Kubectl(cluster.client)
    await k.run(["run", "redis", "--image=pause"])
    await k.run(["create", "deployment", "redis-deployment", "--image=pause"])
    first = await wait_until(lambda: _deployment_pods(cluster, 1), 3.0, "deployment pod")
    old = first[0]["metadata"]["name"]
    prefix, _, suffix = old.rpartition("-")
    assert prefix.startswith("redis-deployment-") and len(suffix) == 5
    await wait_until(lambda: _running_pod(cluster, "redis"), 3.0, "bare pod Running")
    out = await k.run(["delete", "pod", "redis", old])
    assert out.exit_code == 0, out.stderr
    replaced = await wait_until(
        lambda: _deployment_pods(cluster, 1, exclude=old), 5.0, "replacement pod")
    new = replaced[0]["metadata"]["name"]
    assert new.rpartition("-")[0] == prefix and new != old
    await wait_until(lambda: _gone(cluster, "redis"), 5.0, "bare pod deleted")


async def _deployment_pods(c: EmbeddedCluster, n: int, exclude: str = "") -> list[dict[str, Any]] | None:
    found = [p for p in await pods(c, "app=redis-deployment")
             if running(p) and p["metadata"]["name"] != exclude]
    return found if len(found) == n else None


async def _gone(c: EmbeddedCluster, name: str) -> bool:
    try:
        await c.client.get("pods", name)
        return False
    except errors.NotFound:
        return True


async def test_unschedulable_pod_stays_pending_with_the_schedulers_event(
        cluster: EmbeddedCluster) -> None:
    """A pod asking for more memory than any node has: Pending, FailedScheduling."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"},
           "spec": {"containers": [{"name": "c", "image": "pause",
                                    "resources": {"requests": {"memory": "1Ti"}}}]}}
    await cluster.client.create(pod)

    async def failed() -> list[dict[str, Any]]:
        events = (await cluster.client.list(
            "events", field_selector="involvedObject.name=huge,reason=FailedScheduling")).items
        return events

    events = await wait_until(failed, 3.0, "FailedScheduling")
    assert events[0]["message"].startswith("0/3 nodes are available: 3 Insufficient memory.")
    assert (await cluster.client.get("pods", "huge"))["status"]["phase"] == "Pending"


async def test_unknown_image_is_err_image_pull_not_a_crash(cluster: EmbeddedCluster) -> None:
    """An image no runtime has: ErrImagePull, then ImagePullBackOff; the engine carries on."""
    await Kubectl(cluster.client).run(["run", "bad", "--image=nosuchimage"])

    async def waiting_reason() -> str | None:
        pod = await cluster.client.get("pods", "bad")
        for cs in pod["status"].get("containerStatuses") or ():
            reason = (cs.get("state") or {}).get("waiting", {}).get("reason")
            if reason == "ImagePullBackOff":
                return reason
        return None

    assert await wait_until(waiting_reason, 5.0, "ImagePullBackOff") == "ImagePullBackOff"
    reasons = {e["reason"] for e in (await cluster.client.list(
        "events", field_selector="involvedObject.name=bad")).items}
    assert {"Failed", "BackOff"} <= reasons
    await Kubectl(cluster.client).run(["run", "fine", "--image=pause"])
    await wait_until(lambda: _running_pod(cluster, "fine"), 3.0, "a healthy pod after a bad one")


async def test_failing_command_crash_loops_with_growing_delays(cluster: EmbeddedCluster) -> None:
    """`sh -c 'exit 3'` restarts with back-off: CrashLoopBackOff, delays grow."""
    await Kubectl(cluster.client).run(["run", "crasher", "--image=busybox", "--command", "--",
                                       "sh", "-c", "exit 3"])
    starts: list[float] = []

    async def three_restarts() -> bool:
        pod = await cluster.client.get("pods", "crasher")
        statuses = pod["status"].get("containerStatuses") or [{}]
        count = statuses[0].get("restartCount", 0)
        if count > len(starts):
            starts.append(time.monotonic())
        return count >= 3

    await wait_until(three_restarts, 8.0, "three restarts")
    pod = await cluster.client.get("pods", "crasher")
    cs = pod["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 3
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps[-1] > gaps[0]
    reasons = {e["reason"] for e in (await cluster.client.list(
        "events", field_selector="involvedObject.name=crasher")).items}
    assert "BackOff" in reasons


async def test_readiness_failure_removes_pod_from_endpoints(cluster: EmbeddedCluster) -> None:
    """A pod whose readiness probe fails leaves its Service's ready addresses."""
    c = cluster.client
    await c.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo"},
                    "spec": {"selector": {"app": "echo"}, "ports": [{"port": 7000}]}})
    await c.create({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "echo", "labels": {"app": "echo"}},
                    "spec": {"containers": [{
                        "name": "echo", "image": "busybox", "command": ["echo-server", "7000"],
                        "readinessProbe": {"exec": {"command": ["sh", "-c", "test ! -e /tmp/down"]},
                                           "periodSeconds": 1, "failureThreshold": 1}}]}})

    async def addresses(kind: str) -> list[str] | None:
        try:
            ep = await c.get("endpoints", "echo")
        except errors.NotFound:
            return None
        found = [a["targetRef"]["name"] for s in ep.get("subsets") or () for a in s.get(kind) or ()]
        return found or None

    assert await wait_until(lambda: addresses("addresses"), 8.0, "ready address") == ["echo"]
    exec_result = await cluster.kubelets[(await c.get("pods", "echo"))["spec"]["nodeName"]].exec(
        "default", "echo", "echo", ["sh", "-c", "touch /tmp/down"])
    assert exec_result.exit_code == 0
    assert await wait_until(lambda: addresses("notReadyAddresses"), 8.0, "not ready") == ["echo"]
    assert await addresses("addresses") is None


async def test_service_proxy_reaches_the_ready_pod(cluster: EmbeddedCluster) -> None:
    """A TCP echo through the Service's ClusterIP lands on the pod behind it."""
    c = cluster.client
    svc = await c.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo"},
                          "spec": {"selector": {"app": "echo"}, "ports": [{"port": 7000}]}})
    await Kubectl(c).run(["run", "echo-0", "--image=busybox", "--labels=app=echo", "--command",
                          "--", "echo-server", "7000"])

    async def ready() -> bool:
        try:
            ep = await c.get("endpoints", "echo")
        except errors.NotFound:
            return False
        return any(s.get("addresses") for s in ep.get("subsets") or ())

    await wait_until(ready, 5.0, "endpoint")
    reader, writer = await asyncio.open_connection(svc["spec"]["clusterIP"], 7000)
    writer.write(b"hello\n")
    assert await asyncio.wait_for(reader.readline(), 3) == b"echo-0:hello\n"
    writer.close()


async def test_statefulset_orders_pods_and_keeps_names_and_claims(cluster: EmbeddedCluster) -> None:
    """OrderedReady: 0 Running before 1 exists; a deleted pod returns with its name and PVC."""
    c = cluster.client
    await c.create({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "redis-sfs"},
        "spec": {"serviceName": "redis-sfs", "replicas": 2,
                 "selector": {"matchLabels": {"app": "redis-sfs"}},
                 "template": {"metadata": {"labels": {"app": "redis-sfs"}},
                              "spec": {"containers": [{"name": "c", "image": "pause"}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                     "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}]}})
    seen: list[tuple[str, bool]] = []

    async def both_running() -> bool:
        ps = {p["metadata"]["name"]: p for p in await pods(c, "app=redis-sfs")}
        for name, p in ps.items():
            if (name, running(p)) not in seen:
                seen.append((name, running(p)))
        return len(ps) == 2 and all(running(p) for p in ps.values())

    await wait_until(both_running, 5.0, "both StatefulSet pods")
    first_one = next(i for i, (n, _) in enumerate(seen) if n == "redis-sfs-1")
    assert ("redis-sfs-0", True) in seen[:first_one]
    claim = await c.get("persistentvolumeclaims", "data-redis-sfs-1")
    old_uid = (await c.get("pods", "redis-sfs-1"))["metadata"]["uid"]
    await c.delete("pods", "redis-sfs-1")
    await wait_until(lambda: _replaced(c, "redis-sfs-1", old_uid), 5.0, "redis-sfs-1 back")
    again = await c.get("persistentvolumeclaims", "data-redis-sfs-1")
    assert again["metadata"]["uid"] == claim["metadata"]["uid"]
    pod = await c.get("pods", "redis-sfs-1")
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]
              if "persistentVolumeClaim" in v]
    assert claims == ["data-redis-sfs-1"]


async def _replaced(c, name: str, old_uid: str) -> bool:
    """A new pod (another uid) under the same name, Running."""
    try:
        pod = await c.get("pods", name)
    except errors.NotFound:
        return False
    return running(pod) and pod["metadata"]["uid"] != old_uid


async def test_killed_node_goes_not_ready_and_its_pods_move(cluster: EmbeddedCluster) -> None:
    """Kill a node: NotReady, unreachable taint, its Deployment pods Running elsewhere."""
    c = cluster.client
    await Kubectl(c).run(["create", "deployment", "web", "--image=pause", "--replicas=3"])
    placed = await wait_until(lambda: _deployment_running(c, "web", 3), 5.0, "3 web pods")
    victim = placed[0]["spec"]["nodeName"]
    await cluster.kill_node(victim)

    async def not_ready() -> bool:
        node = await c.get("nodes", victim)
        ready = next(x for x in node["status"]["conditions"] if x["type"] == "Ready")
        taints = {t["key"] for t in node["spec"].get("taints") or ()}
        return ready["status"] == "Unknown" and "node.kubernetes.io/unreachable" in taints

    await wait_until(not_ready, 8.0, "node NotReady")

    async def moved() -> list[dict[str, Any]] | None:
        found = await _deployment_running(c, "web", 3)
        return found if found and all(p["spec"]["nodeName"] != victim for p in found) else None

    await wait_until(moved, 12.0, "pods rescheduled off the dead node")


async def _deployment_running(c, name: str, n: int) -> list[dict[str, Any]] | None:
    found = [p for p in (await c.list("pods", "default", label_selector=f"app={name}")).items
             if running(p)]
    return found if len(found) == n else None
