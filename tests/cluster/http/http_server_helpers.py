"""A live `APIHTTPServer` over plain HTTP on a free port, and a small client for it.

The server tests talk HTTP for real (aiohttp's client over a socket) rather than calling
handlers, so routing, the middleware, chunked watch streams and disconnects are what a
real client meets.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from cluster.apiserver import APIServer
from cluster.http.server import APIHTTPServer

TOKEN = "test-token"
T0 = 1_700_000_000.0
TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")


@dataclass
class Reply:
    """One HTTP answer: status, content type and the parsed JSON body (None if not JSON)."""

    status: int
    content_type: str
    body: Any


@dataclass
class Served:
    """An engine and its HTTP front, with an authenticated session."""

    api: APIServer
    server: APIHTTPServer
    session: aiohttp.ClientSession

    @property
    def url(self) -> str:
        return self.server.url

    async def call(self, method: str, path: str, body: Any = None, *,
                   content_type: str | None = "application/json",
                   headers: dict[str, str] | None = None, raw: bytes | None = None,
                   params: dict[str, str] | None = None) -> Reply:
        sent = dict(headers or {})
        data: bytes | None = raw
        if body is not None:
            data = orjson.dumps(body)
        if data is not None and content_type:
            sent["Content-Type"] = content_type
        skip = () if content_type else ("Content-Type",)
        async with self.session.request(method, self.url + path, data=data, headers=sent,
                                        params=params, skip_auto_headers=skip) as r:
            text = await r.read()
            try:
                parsed = orjson.loads(text) if text else None
            except orjson.JSONDecodeError:
                parsed = None
            return Reply(r.status, r.headers.get("Content-Type", ""), parsed)


@contextlib.asynccontextmanager
async def serving(api: APIServer | None = None, *, clock: Any = None, token: str = TOKEN,
                  ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[Served]:
    """Serve `api` (a fresh one by default) on 127.0.0.1:<free port>, over HTTP unless
    given an SSL context (the session then skips certificate checks)."""
    api = api if api is not None else APIServer(clock=lambda: T0)
    server = APIHTTPServer(api, token=token, ssl_context=ssl_context,
                           clock=clock or (lambda: T0))
    await server.start("127.0.0.1", 0)
    session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"},
                                    connector=aiohttp.TCPConnector(ssl=False))
    try:
        yield Served(api, server, session)
    finally:
        await session.close()
        await server.stop()


def pod(name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    """A minimal valid Pod manifest."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": "main", "image": "redis:7"}]}}


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": dict(data)}


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "redis"}]}}}}
