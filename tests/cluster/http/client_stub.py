"""A scripted API server for `HTTPClient` tests: discovery plus whatever routes a test adds.

The client's reconnect, resume, error and streaming logic is tested against a real socket
here, with the server's behaviour written out in each test (drop the stream after two
events, answer 410, refuse the upgrade), which the real server cannot be made to do.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from cluster.api.resources import BUILTIN_RESOURCES, ResourceType
from cluster.http import discovery

TOKEN = "stub-token"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """One request the stub received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Stub:
    """A running stub: its URL and every request it saw, in order."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    resources: list[ResourceType] = field(default_factory=lambda: list(BUILTIN_RESOURCES))

    def requests(self, path: str, method: str = "GET") -> list[Seen]:
        return [s for s in self.seen if s.path == path and s.method == method]


def json_reply(body: Any, status: int = 200, content_type: str = "application/json"
               ) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=None,
                        headers={"Content-Type": content_type})


def status_reply(code: int, reason: str, message: str) -> web.Response:
    return json_reply({"kind": "Status", "apiVersion": "v1", "metadata": {},
                       "status": "Failure", "message": message, "reason": reason,
                       "code": code}, status=code)


def event_line(type_: str, obj: dict[str, Any]) -> bytes:
    return orjson.dumps({"type": type_, "object": obj}) + b"\n"


def configmap(name: str, rv: int, namespace: str = "default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(rv)}}


@contextlib.asynccontextmanager
async def stub_server(routes: Iterable[tuple[str, str, Handler]] = (),
                      *, check_token: bool = True, aggregated: bool = True
                      ) -> AsyncIterator[Stub]:
    """Serve discovery for the stub's `resources` plus `routes` (method, path, handler)
    on 127.0.0.1:<free port> over plain HTTP; 401 without the stub's token. With
    `aggregated=False` only the legacy discovery documents are served."""
    stub = Stub(url="")

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read() if request.can_read_body else b""
        stub.seen.append(Seen(request.method, request.path,
                              {k: request.query.getall(k) for k in request.query},
                              dict(request.headers), body))
        if check_token and request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return status_reply(401, "Unauthorized", "Unauthorized")
        return await handler(request)

    async def api(request: web.Request) -> web.StreamResponse:
        if not aggregated:
            return json_reply(discovery.api_versions())
        return json_reply(discovery.aggregated(stub.resources, core=True),
                          content_type=discovery.AGGREGATED)

    async def apis(request: web.Request) -> web.StreamResponse:
        if not aggregated:
            return json_reply(discovery.api_group_list(stub.resources))
        return json_reply(discovery.aggregated(stub.resources, core=False),
                          content_type=discovery.AGGREGATED)

    async def resource_list(request: web.Request) -> web.StreamResponse:
        group = request.match_info.get("group", "")
        found = discovery.api_resource_list(stub.resources, group,
                                            request.match_info["version"])
        return json_reply(found) if found else status_reply(404, "NotFound", "not found")

    app = web.Application(middlewares=[record])
    app.router.add_get("/api", api)
    app.router.add_get("/apis", apis)
    if not aggregated:
        app.router.add_get("/api/{version}", resource_list)
        app.router.add_get("/apis/{group}/{version}", resource_list)
    for method, path, handler in routes:
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    stub.url = f"http://{host}:{port}"
    try:
        yield stub
    finally:
        await runner.cleanup()
