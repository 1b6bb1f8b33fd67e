"""The kubelet's probes: readiness gates Ready, liveness restarts, startup holds the others."""

from __future__ import annotations

import asyncio
import socket

from tests.cluster.conftest import WaitFor
from tests.cluster.kubelet_helpers import container, pod, running_kubelet


def exec_probe(*command: str, **fields: int) -> dict:
    return {"exec": {"command": list(command)}, "periodSeconds": 1, "failureThreshold": 1,
            **fields}


async def test_failing_readiness_probe_flips_ready_and_back(wait_for: WaitFor) -> None:
    """Readiness failing → container and pod not Ready (ContainersNotReady); passing → Ready again."""
    async with running_kubelet() as env:
        await env.create(pod("svc", container("main", "run", readinessProbe=exec_probe("healthy"))))
        await wait_for(lambda: env.condition("svc", "Ready").get("status") == "True")
        env.runtime.health[("svc", "main")] = False
        await wait_for(lambda: env.condition("svc", "Ready").get("status") == "False")
        ready = env.condition("svc", "Ready")
        assert (ready["reason"], ready["message"]) == (
            "ContainersNotReady", "containers with unready status: [main]")
        assert env.container_status("svc")["ready"] is False
        assert env.phase("svc") == "Running"
        await wait_for(lambda: "Readiness probe failed: not healthy" in env.messages("svc", "Unhealthy"))
        env.runtime.health[("svc", "main")] = True
        await wait_for(lambda: env.condition("svc", "Ready").get("status") == "True")
        assert env.container_status("svc")["restartCount"] == 0


async def test_readiness_starts_false_until_first_success(wait_for: WaitFor) -> None:
    """A container with a readiness probe is not ready before the probe has passed."""
    async with running_kubelet() as env:
        env.runtime.health[("slow", "main")] = False
        await env.create(pod("slow", container("main", "run", readinessProbe=exec_probe("healthy"))))
        await wait_for(lambda: env.phase("slow") == "Running")
        assert env.container_status("slow")["ready"] is False
        env.runtime.health[("slow", "main")] = True
        await wait_for(lambda: env.container_status("slow").get("ready") is True)


async def test_failing_liveness_probe_restarts_the_container(wait_for: WaitFor) -> None:
    """Liveness failing past its threshold → `Killing` event, the container restarts."""
    async with running_kubelet() as env:
        await env.create(pod("live", container("main", "run", livenessProbe=exec_probe(
            "healthy", failureThreshold=2))))
        await wait_for(lambda: env.phase("live") == "Running")
        env.runtime.health[("live", "main")] = False
        await wait_for(lambda: env.container_status("live").get("restartCount", 0) >= 1)
        env.runtime.health[("live", "main")] = True
        await wait_for(lambda: "Container main failed liveness probe, will be restarted" in
                       env.messages("live", "Killing"))
        assert "Liveness probe failed: not healthy" in env.messages("live", "Unhealthy")
        await wait_for(lambda: "running" in env.container_status("live")["state"])
        last = env.container_status("live")["lastState"]["terminated"]
        assert last["exitCode"] == 143 and last["reason"] == "Error"


async def test_tcp_readiness_probe_follows_the_listener(wait_for: WaitFor) -> None:
    """A tcpSocket readiness probe passes while something listens on the port, fails after."""
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with running_kubelet() as env:
        probe = {"tcpSocket": {"port": "web"}, "periodSeconds": 1, "failureThreshold": 1}
        await env.create(pod("tcp", container("main", "run", readinessProbe=probe,
                                              ports=[{"name": "web", "containerPort": port}])))
        await wait_for(lambda: env.condition("tcp", "Ready").get("status") == "True")
        server.close()
        await server.wait_closed()
        await wait_for(lambda: env.condition("tcp", "Ready").get("status") == "False")
        await wait_for(lambda: env.messages("tcp", "Unhealthy"))
        message = env.messages("tcp", "Unhealthy")[-1]
        assert message.startswith("Readiness probe failed: dial tcp ") and f":{port}: " in message


async def test_startup_probe_holds_readiness_until_it_passes(wait_for: WaitFor) -> None:
    """With a startup probe, the container is neither started nor ready until it succeeds."""
    async with running_kubelet() as env:
        env.runtime.health[("boot", "main")] = False
        await env.create(pod("boot", container("main", "run", startupProbe=exec_probe(
            "healthy", failureThreshold=1000))))
        await wait_for(lambda: env.phase("boot") == "Running")
        cs = env.container_status("boot")
        assert cs["started"] is False and cs["ready"] is False
        env.runtime.health[("boot", "main")] = True
        await wait_for(lambda: env.container_status("boot").get("ready") is True)
        assert env.container_status("boot")["started"] is True


async def test_frozen_pod_fails_its_tcp_probe(wait_for: WaitFor) -> None:
    """freeze_pod stalls the pod's connections, so a tcpSocket liveness probe times out."""
    with socket.socket() as probe_sock:
        probe_sock.bind(("127.0.0.1", 0))
        probe_sock.listen()
        port = probe_sock.getsockname()[1]
        async with running_kubelet() as env:
            probe = {"tcpSocket": {"port": port}, "periodSeconds": 1, "timeoutSeconds": 1,
                     "failureThreshold": 1}
            await env.create(pod("ice", container("main", "run", livenessProbe=probe)))
            await wait_for(lambda: env.phase("ice") == "Running")
            await env.kubelet.freeze_pod("default", "ice")
            assert env.runtime.by_container("ice", "main")[0].frozen
            await wait_for(lambda: env.container_status("ice").get("restartCount", 0) >= 1)
            await wait_for(lambda: any(m.endswith("i/o timeout")
                                       for m in env.messages("ice", "Unhealthy")))
            await env.kubelet.thaw_pod("default", "ice")
            assert not env.sandboxes.live[env.pod("ice")["metadata"]["uid"]].frozen
