"""The `redis` image on the embedded cluster: the tutorial's StatefulSet runs unchanged."""

from __future__ import annotations

import asyncio
from typing import Any

import yaml
from redis_pods import FAST, wait_until

from cluster.embedded import ClusterSettings, start_cluster
from cluster.runtime import base, containers
from cluster.runtime.fake import FakeRuntime
from cluster.runtime.images import ImageRegistry
from redisha.server.image import redis_image

from tests.tutorial_manifests import TUTORIAL_MANIFESTS

def runtime(node: str, settings: containers.RuntimeSettings) -> base.Runtime:
    return FakeRuntime(ImageRegistry([redis_image(FAST)]), settings=settings)


async def test_the_tutorials_statefulset_replicates_through_cluster_dns() -> None:
    """server.yaml's bash script starts redis-server in each pod; the replica retries until
    the headless Service exists, then syncs; exec redis-cli reaches the primary by name."""
    async with start_cluster(ClusterSettings.quick(nodes=2), runtime_factory=runtime) as cluster:
        client = cluster.client
        await client.create(yaml.safe_load(TUTORIAL_MANIFESTS["server.yaml"]), "default")
        pods: dict[str, Any] = {}

        async def running(name: str) -> bool:
            try:
                pod = await client.get("pods", name, "default")
            except Exception:  # noqa: BLE001 - not created yet
                return False
            pods[name] = pod
            return bool(pod.get("status", {}).get("containerStatuses", [{}])[0]
                        .get("containerID"))

        for name in ("redis-sfs-0", "redis-sfs-1"):
            for _ in range(400):
                if await running(name):
                    break
                await asyncio.sleep(0.05)
        replica = pods["redis-sfs-1"]
        node_runtime = cluster.runtimes[replica["spec"]["nodeName"]]
        container = replica["status"]["containerStatuses"][0]["containerID"].split("://")[-1]

        def log() -> str:
            return "\n".join(line.text for line in node_runtime.logs(container).lines())

        unable = "Unable to connect to MASTER: Resource temporarily unavailable"
        await wait_until(lambda: log().count(unable) >= 2, timeout=15, message=log())
        await client.create(yaml.safe_load(TUTORIAL_MANIFESTS["service.yaml"]), "default")
        await wait_until(lambda: "MASTER <-> REPLICA sync: Finished with success" in log(),
                         timeout=15, message=log())
        result = await node_runtime.exec(container, [
            "redis-cli", "-h", "redis-sfs-0.redis-sfs.default.svc.cluster.local", "ping"])
        assert (result.exit_code, result.stdout) == (0, b"PONG\n")
        result = await node_runtime.exec(container, ["redis-cli", "role"])
        assert result.stdout.decode().splitlines()[:2] == ["slave", "redis-sfs-0.redis-sfs"]
