"""The kubelet with the real fake runtime and the cluster network (integration)."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass

from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.informer import InformerFactory, InformerSettings
from cluster.kubelet import Kubelet
from cluster.network import ClusterNetwork, NetworkSettings
from cluster.runtime import images
from cluster.runtime.fake import FakeRuntime
from tests.cluster.conftest import WaitFor
from tests.cluster.kubelet_helpers import FAST, Env, Sandboxes, container, pod


class Listen:
    """Accepts connections on port 7000 of its pod until stopped."""

    async def run(self, ctx: images.ProgramContext) -> int:
        server = await ctx.sandbox.start_server(lambda r, w: w.close(), 7000)
        ctx.stdout("listening on 7000")
        await ctx.stop_requested.wait()
        server.close()
        await server.wait_closed()
        return 0


APP = images.Image("app", {"listen": Listen}, entrypoint=("listen",))


@dataclass
class Cluster(Env):
    network: ClusterNetwork | None = None


@contextlib.asynccontextmanager
async def fake_cluster(tmp_path) -> AsyncIterator[Cluster]:
    api = APIServer()
    client = InProcessClient(api)
    factory = InformerFactory(client, settings=InformerSettings(retry_initial_delay=0.001,
                                                                retry_max_delay=0.01))
    network = ClusterNetwork(client, factory, settings=NetworkSettings(
        kernel_partitions=False, hosts_dir=str(tmp_path)))
    await network.start()
    await factory.start()
    runtime = FakeRuntime(images.ImageRegistry([APP]))
    kubelet = Kubelet(client, node_name="node-1", runtime=runtime, sandboxes=network,
                      settings=FAST)
    await kubelet.start()
    try:
        yield Cluster(api, client, runtime, Sandboxes(), kubelet, network)  # type: ignore[arg-type]
    finally:
        await kubelet.stop()
        await runtime.close()
        await network.stop()
        await factory.stop()


async def test_pause_pod_runs_with_a_network_address(wait_for: WaitFor, tmp_path) -> None:
    """A `pause` pod is Running and Ready within 2 s, its IP taken from the cluster's pod range."""
    async with fake_cluster(tmp_path) as env:
        await env.create(pod("p", container("main", image="pause")))
        await wait_for(lambda: env.condition("p", "Ready").get("status") == "True", timeout=2.0)
        ip = ipaddress.ip_address(env.status("p")["podIP"])
        assert ip in ipaddress.ip_network(env.network.pod_cidr)
        uid = env.pod("p")["metadata"]["uid"]
        assert env.network.sandbox(uid) is not None
        await env.client.delete("pods", "p", "default")
        await wait_for(lambda: env.pod("p") is None)
        await wait_for(lambda: env.network.sandbox(uid) is None, message="sandbox destroyed")


async def test_shell_script_exit_code_logs_and_hostname(wait_for: WaitFor, tmp_path) -> None:
    """A `sh -c` container's output is its log, its hostname the pod name, its exit code the status."""
    async with fake_cluster(tmp_path) as env:
        await env.create(pod("script", container("main", "sh", "-c", "echo I am $(hostname); exit 3",
                                                 image="app"), restart_policy="Never"))
        await wait_for(lambda: env.phase("script") == "Failed", timeout=5.0)
        assert env.container_status("script")["state"]["terminated"]["exitCode"] == 3
        assert [line.text for line in env.kubelet.logs("default", "script")] == ["I am script"]


async def test_each_pod_reads_its_own_tmp(wait_for: WaitFor, tmp_path) -> None:
    """Two pods write /tmp/x.conf with their ordinal and each reads back its own (exec)."""
    script = ("ordinal=$(hostname | awk -F- '{print $NF}'); echo \"ordinal $ordinal\" > /tmp/x.conf; "
              "exec sleep 3600")
    async with fake_cluster(tmp_path) as env:
        for name in ("web-0", "web-1"):
            await env.create(pod(name, container("main", "sh", "-c", script, image="app")))
        await wait_for(lambda: env.phase("web-0") == env.phase("web-1") == "Running", timeout=5.0)

        async def written(name: str) -> bytes:
            result = await env.kubelet.exec("default", name, "main", ["cat", "/tmp/x.conf"])
            return result.stdout

        for name, want in (("web-0", b"ordinal 0\n"), ("web-1", b"ordinal 1\n")):
            for _ in range(200):  # the script may not have written it yet
                if await written(name) == want:
                    break
            assert await written(name) == want


async def test_tcp_readiness_probe_against_an_in_process_server(wait_for: WaitFor,
                                                                tmp_path) -> None:
    """A tcpSocket readiness probe reaches a fake program listening in the pod's sandbox."""
    async with fake_cluster(tmp_path) as env:
        probe = {"tcpSocket": {"port": 7000}, "periodSeconds": 1, "failureThreshold": 1}
        await env.create(pod("srv", container("main", image="app", readinessProbe=probe)))
        await wait_for(lambda: env.condition("srv", "Ready").get("status") == "True", timeout=3.0)
        assert env.kubelet.logs("default", "srv")[0].text == "listening on 7000"


async def test_crash_loop_and_unknown_image_with_the_fake_runtime(wait_for: WaitFor,
                                                                  tmp_path) -> None:
    """A failing script crash-loops and an unknown image backs off, without harming the engine."""
    async with fake_cluster(tmp_path) as env:
        await env.create(pod("loop", container("main", "sh", "-c", "exit 1", image="app")))
        await env.create(pod("ghost", container("main", image="nosuch")))
        await wait_for(lambda: env.container_status("loop").get("restartCount", 0) >= 2, timeout=5.0)
        await wait_for(lambda: env.container_status("ghost").get("state", {}).get("waiting", {})
                       .get("reason") in ("ErrImagePull", "ImagePullBackOff"))
        await env.create(pod("fine", container("main", image="pause")))
        await wait_for(lambda: env.phase("fine") == "Running")
