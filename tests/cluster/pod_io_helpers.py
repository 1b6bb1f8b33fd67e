"""A small test image and cluster builder for the logs/exec tests (API and kubectl level).

The `toolbox` image's main program, `talker`, writes `attempt N` (N counts its runs in
that pod, so a restart is visible) and then whatever the test sends it with `Feed.say`;
`say(pod, "exit 3")` makes it exit with that code (every container of the pod listens to
the same feed). For exec it has `echo` (arguments on
stdout), `cat` (stdin on stdout) and `fail CODE` (`boom` on stderr, exit CODE).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from cluster.runtime import base, containers, images
from cluster.runtime.fake import FakeRuntime


class Feed:
    """Lines for each pod's `talker` to write, and how many times each container's ran."""

    def __init__(self) -> None:
        self.queues: defaultdict[str, asyncio.Queue[str]] = defaultdict(asyncio.Queue)
        self.runs: defaultdict[str, int] = defaultdict(int)

    def say(self, pod: str, text: str) -> None:
        self.queues[pod].put_nowait(text)

    def image(self) -> images.Image:
        feed = self

        class Talker:
            async def run(self, ctx: images.ProgramContext) -> int:
                key = "/".join([ctx.hostname, *ctx.argv[1:]])  # pod/container
                attempt = feed.runs[key]
                feed.runs[key] += 1
                ctx.stdout(f"attempt {attempt}")
                queue = feed.queues[ctx.hostname]
                stop = asyncio.ensure_future(ctx.stop_requested.wait())
                try:
                    while True:
                        get = asyncio.ensure_future(queue.get())
                        await asyncio.wait({get, stop}, return_when=asyncio.FIRST_COMPLETED)
                        if not get.done():
                            get.cancel()
                            return 0
                        text = get.result()
                        if text.startswith("exit "):
                            return int(text.split()[1])
                        ctx.stdout(text)
                finally:
                    stop.cancel()

        class Echo:
            async def run(self, ctx: images.ProgramContext) -> int:
                ctx.stdout(" ".join(ctx.argv[1:]))
                return 0

        class Cat:
            async def run(self, ctx: images.ProgramContext) -> int:
                for line in ctx.stdin.decode().splitlines():
                    ctx.stdout(line)
                return 0

        class Fail:
            async def run(self, ctx: images.ProgramContext) -> int:
                ctx.stderr("boom")
                return int(ctx.argv[1])

        return images.Image(name="toolbox", entrypoint=("talker",), programs={
            "talker": Talker, "echo": Echo, "cat": Cat, "fail": Fail})


def pod(name: str, *container_names: str, node_selector: dict[str, str] | None = None,
        image: str = "toolbox", restart: str = "Always",
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A pod whose containers (default: one named `main`) all run `talker`."""
    spec: dict[str, Any] = {
        "containers": [{"name": c, "image": image, "args": [c]}
                       for c in container_names or ("main",)],
        "restartPolicy": restart}
    if node_selector:
        spec["nodeSelector"] = node_selector
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


@contextlib.asynccontextmanager
async def toolbox_cluster(nodes: int = 2) -> AsyncIterator[tuple[EmbeddedCluster, Feed]]:
    """A quick embedded cluster whose nodes run the toolbox image, and its feed."""
    feed = Feed()
    image = feed.image()

    def runtime(node: str, settings: containers.RuntimeSettings) -> base.Runtime:
        return FakeRuntime(images.ImageRegistry([image]), settings=settings)

    async with start_cluster(ClusterSettings.quick(nodes=nodes), runtime_factory=runtime) as c:
        yield c, feed


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 5.0,
                     what: str = "") -> Any:
    """Poll an async check until it returns something truthy, failing after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or check}")
        await asyncio.sleep(0.01)


async def started(cluster: EmbeddedCluster, name: str, *, restarts: int = 0) -> dict[str, Any]:
    """The pod once all its containers run (after `restarts` restarts of the first)."""
    async def check() -> dict[str, Any] | None:
        p = await cluster.client.get("pods", name)
        statuses = (p.get("status") or {}).get("containerStatuses") or []
        if statuses and all("running" in (s.get("state") or {}) for s in statuses) \
                and statuses[0].get("restartCount", 0) >= restarts:
            return p
        return None
    return await eventually(check, what=f"pod {name} running")
