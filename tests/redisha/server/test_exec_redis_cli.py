"""`kubectl exec redis -- redis-cli ping` through the API, on the fake `redis` image."""

from __future__ import annotations

import asyncio
import time

import yaml

from cluster.embedded import ClusterSettings, start_cluster
from cluster.kubectl import Kubectl
from cluster.runtime import base, containers
from cluster.runtime.fake import FakeRuntime
from cluster.runtime.images import ImageRegistry
from redisha.server.image import redis_image
from tests.tutorial_manifests import TUTORIAL_MANIFESTS


def runtime(node: str, settings: containers.RuntimeSettings) -> base.Runtime:
    return FakeRuntime(ImageRegistry([redis_image()]), settings=settings)


async def test_exec_redis_cli_ping_answers_pong() -> None:
    """The tutorial's pod.yaml runs redis; `exec redis -- redis-cli ping` prints PONG."""
    async with start_cluster(ClusterSettings.quick(nodes=1), runtime_factory=runtime) as cluster:
        kubectl = Kubectl(cluster.client)
        await cluster.client.create(yaml.safe_load(TUTORIAL_MANIFESTS["pod.yaml"]))
        deadline = time.monotonic() + 10
        while True:  # until the container runs and redis-server listens
            result = await kubectl.run(["exec", "redis", "--", "redis-cli", "ping"])
            if result.exit_code == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.02)
        assert (result.exit_code, result.stdout, result.stderr) == (0, "PONG\n", "")
