"""A bare aiohttp app routing `pods/log` and `pods/exec` to `cluster.http.podstreams`,
over an embedded cluster whose node runs the `toolbox` and fake `redis` images.

The app is the least a server needs for these two routes (an APIError becomes a Status
reply), so the streaming handlers are tested apart from the full API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from cluster.api import errors
from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from cluster.http import podstreams
from cluster.runtime import base, containers, images
from cluster.runtime.fake import FakeRuntime
from redisha.server.image import redis_image
from tests.cluster.pod_io_helpers import Feed

Handler = Callable[..., Awaitable[web.StreamResponse]]


@dataclass
class Served:
    """The cluster, its feed (for the toolbox's talker), the app's URL and a session."""

    cluster: EmbeddedCluster
    feed: Feed
    base_url: str
    session: aiohttp.ClientSession
    finished: list[str] = field(default_factory=list)
    """Names of the handlers ("log", "exec") that have returned, in order."""
    clock_offset: float = 0.0
    """Seconds the log handler's wall clock runs ahead of the real one (`sinceSeconds`)."""

    def url(self, pod: str, sub: str, namespace: str = "default") -> str:
        return f"{self.base_url}/api/v1/namespaces/{namespace}/pods/{pod}/{sub}"

    async def wait_finished(self, name: str, timeout: float = 5.0) -> None:
        """Until the handler `name` has returned, failing after `timeout` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while name not in self.finished:
            assert loop.time() < deadline, f"handler {name} still running"
            await asyncio.sleep(0.01)


def build_app(served: Served) -> web.Application:
    @web.middleware
    async def statuses(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except errors.APIError as e:
            return web.json_response(e.to_status(), status=e.code)

    def route(name: str, serve: Handler) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            api = served.cluster.client.apiserver
            try:
                return await serve(request, api, request.match_info["namespace"],
                                   request.match_info["name"])
            finally:
                served.finished.append(name)
        return handle

    app = web.Application(middlewares=[statuses])
    base_path = "/api/v1/namespaces/{namespace}/pods/{name}"
    log = route("log", functools.partial(podstreams.serve_log, disconnect_poll=0.02,
                                         now=lambda: time.time() + served.clock_offset))
    run = route("exec", podstreams.serve_exec)
    app.router.add_get(base_path + "/log", log)
    app.router.add_get(base_path + "/exec", run)
    app.router.add_post(base_path + "/exec", run)
    return app


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[Served]:
    """A one-node cluster (toolbox and redis images) with the pod-stream routes served."""
    feed = Feed()
    registry = images.ImageRegistry([feed.image(), redis_image()])

    def runtime(node: str, settings: containers.RuntimeSettings) -> base.Runtime:
        return FakeRuntime(registry, settings=settings)

    async with start_cluster(ClusterSettings.quick(nodes=1), runtime_factory=runtime) as c:
        served = Served(c, feed, "", None)  # type: ignore[arg-type]
        # aiohttp's defaults (no handler cancellation on disconnect), unlike TestServer's,
        # so that a follow must notice a vanished client by itself.
        runner = web.AppRunner(build_app(served))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        served.base_url, served.session = f"http://127.0.0.1:{port}", aiohttp.ClientSession()
        try:
            yield served
        finally:
            await served.session.close()
            await runner.cleanup()


@dataclass
class Session:
    """What an exec client saw: bytes per channel, the Status on channel 3, the
    negotiated protocol, and the order of (channel, payload) messages."""

    protocol: str | None
    output: dict[int, bytes]
    status: dict[str, Any] | None
    messages: list[tuple[int, bytes]]

    @property
    def stdout(self) -> bytes:
        return self.output.get(podstreams.Channel.STDOUT, b"")

    @property
    def stderr(self) -> bytes:
        return self.output.get(podstreams.Channel.STDERR, b"")


def exec_params(command: list[str], **flags: Any) -> list[tuple[str, str]]:
    """The query kubectl sends: each argument as its own `command`, booleans as words."""
    params = [("command", word) for word in command]
    for key, value in flags.items():
        params.append((key, ("true" if value else "false") if isinstance(value, bool)
                       else str(value)))
    return params


async def run_exec(served: Served, pod: str, command: list[str], *,
                   protocols: tuple[str, ...] = (podstreams.StreamProtocol.V5.value,),
                   send: list[bytes | str] | None = None, stdin: bool = False,
                   tty: bool = False, **flags: Any) -> Session:
    """Exec over a WebSocket as client-go does: send `send`, then read to the close."""
    wanted = {"stdout": True, "stderr": not tty, "stdin": stdin, "tty": tty, **flags}
    async with served.session.ws_connect(served.url(pod, "exec"), protocols=protocols,
                                         params=exec_params(command, **wanted)) as ws:
        negotiated = ws.protocol
        framing = podstreams.StreamProtocol(negotiated or podstreams.StreamProtocol.V1.value)
        for message in send or ():
            if isinstance(message, str):
                await ws.send_str(message)
            else:
                await ws.send_bytes(message)
        output: dict[int, bytes] = {}
        messages: list[tuple[int, bytes]] = []
        async for msg in ws:
            assert msg.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT), msg
            frame = podstreams.decode_frame(framing, msg.data)
            assert frame is not None, msg.data
            messages.append((frame.channel, frame.data))
            output[frame.channel] = output.get(frame.channel, b"") + frame.data
    error = output.get(podstreams.Channel.ERROR, b"")
    status = orjson.loads(error) if error and framing.has_status else None
    return Session(negotiated, output, status, messages)


def redis_pod(name: str = "redis") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "redis", "image": "redis"}]}}
