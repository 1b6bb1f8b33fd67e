"""The Kubernetes API over HTTP(S): an aiohttp app in front of one `APIServer`.

This module is the routing and the edges: a bearer-token check on every path (kubectl
sends the token on every request, /version and discovery included), discovery and
OpenAPI documents, health endpoints, and the REST tree handed to `cluster.http.rest`.
Any `APIError` a handler raises becomes its `Status` with its code; a path nothing
serves is kube-apiserver's generic 404 Status, a verb a path does not take its 405.

`APIHTTPServer` runs the app on a socket. It cancels the handlers of clients that go
away (a watch must close its store watcher when kubectl is interrupted) and cancels
open streams when it stops, so shutting down never waits on a `get -w` left open.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from cluster.api import errors
from cluster.api.resources import ResourceType
from cluster.apiserver import APIServer
from cluster.http import discovery, endpointslices, openapi, rest, reviews, statuses

log = logging.getLogger(__name__)

MAX_BODY = 3 * 1024 * 1024
"""The largest request body accepted (kube-apiserver's limit is 3 MiB as well)."""

HEALTH_PATHS = ("/healthz", "/livez", "/readyz")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _authorized(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def _guard(token: str) -> Middleware:
    """The middleware: authenticate, then turn every failure into a Status reply."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not _authorized(request, token):
            return statuses.error_response(statuses.unauthorized())
        try:
            return await handler(request)
        except errors.APIError as e:
            return statuses.error_response(e)
        except web.HTTPMethodNotAllowed:
            return statuses.error_response(statuses.method_not_allowed())
        except web.HTTPNotFound:
            return statuses.error_response(statuses.path_not_found())
        except web.HTTPRequestEntityTooLarge:
            return statuses.error_response(statuses.too_large(MAX_BODY))
        except web.HTTPException:
            raise
        except Exception as e:  # a bug: say so in one line, keep the trace in the log
            log.exception("%s %s failed", request.method, request.path)
            return statuses.error_response(statuses.internal_error(e))

    return guard


def _context(request: web.Request) -> rest.ServerContext:
    return request.app[rest.CONTEXT]


VERSION_FIELDS = ("major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate",
                  "goVersion", "compiler", "platform")
"""Every field of apimachinery's version.Info, in its order: typed clients (the official
Python client's VersionInfo) require all of them, so those the engine leaves out are empty."""


async def _version(request: web.Request) -> web.Response:
    known = _context(request).api.version()
    info = {f: known.get(f, "") for f in VERSION_FIELDS}
    info.update(known)
    return statuses.json_response(info)


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


def _discovered(request: web.Request) -> list[ResourceType]:
    """What discovery lists: the engine's kinds, and those the HTTP layer answers itself
    (the reviews, the EndpointSlice views)."""
    return [*_context(request).api.registry, *reviews.REVIEW_TYPES,
            endpointslices.ENDPOINT_SLICE]


def _discovery_reply(request: web.Request, *, core: bool) -> web.Response:
    """`/api` or `/apis`: aggregated when the Accept header asks for it, else legacy."""
    resources = _discovered(request)
    if discovery.wants_aggregated(request.headers.get("Accept", "")):
        response = statuses.json_response(
            discovery.aggregated(resources, core=core, serves_scale=True),
            content_type=discovery.AGGREGATED)
    elif core:
        response = statuses.json_response(discovery.api_versions())
    else:
        response = statuses.json_response(discovery.api_group_list(resources))
    response.headers["Vary"] = "Accept"
    return response


async def _core_discovery(request: web.Request) -> web.Response:
    return _discovery_reply(request, core=True)


async def _groups_discovery(request: web.Request) -> web.Response:
    return _discovery_reply(request, core=False)


def _found(doc: dict[str, Any] | None) -> web.Response:
    if doc is None:
        raise statuses.path_not_found()
    return statuses.json_response(doc)


async def _core_resources(request: web.Request) -> web.Response:
    resources = list(_context(request).api.registry)
    return _found(discovery.api_resource_list(resources, "", "v1", serves_scale=True))


async def _group(request: web.Request) -> web.Response:
    return _found(discovery.api_group(_discovered(request), request.match_info["group"]))


async def _group_resources(request: web.Request) -> web.Response:
    info = request.match_info
    return _found(discovery.api_resource_list(_discovered(request), info["group"],
                                              info["version"], serves_scale=True))


async def _openapi_index(request: web.Request) -> web.Response:
    return statuses.json_response(openapi.index(list(_context(request).api.registry)))


async def _openapi_document(request: web.Request) -> web.Response:
    # kubectl asks `/openapi/v3/apis/apps/v1?hash=...`; the hash only busts its cache.
    return _found(openapi.document(list(_context(request).api.registry),
                                   request.match_info["path"].strip("/")))


OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
OPENAPI_V2_PROTOBUF_REPLY = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
"""What the reply's Content-Type says instead: Go's mime parser rejects the `@`."""


async def _openapi_v2(request: web.Request) -> web.Response:
    """An empty Swagger 2.0 document: every kind's schema is in /openapi/v3.

    kubectl falls back to v2 to validate a kind v3 does not list (a custom resource
    whose CRD is missing); a 404 there aborts `apply` with "could not find the requested
    resource", while an empty document lets it go on to the real error (`no matches
    for kind`), as against kube-apiserver. It asks for protobuf, in which an empty
    message is zero bytes.
    """
    if OPENAPI_V2_PROTOBUF in request.headers.get("Accept", ""):
        return web.Response(body=b"", headers={"Content-Type": OPENAPI_V2_PROTOBUF_REPLY})
    return statuses.json_response({"swagger": "2.0", "info": {"title": "Kubernetes",
                                                              "version": "unversioned"},
                                   "paths": {}, "definitions": {}})


async def _core_rest(request: web.Request) -> web.StreamResponse:
    return await rest.handle(request, _context(request), "", "v1", request.match_info["tail"])


async def _group_rest(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    if reviews.serves(info["group"], info["version"]):
        return await reviews.handle(request, info["group"], info["version"], info["tail"])
    if endpointslices.serves(info["group"], info["version"]):
        return await endpointslices.handle(request, _context(request), info["group"],
                                           info["version"], info["tail"])
    return await rest.handle(request, _context(request), info["group"], info["version"],
                             info["tail"])


async def _cancel_streams(app: web.Application) -> None:
    """On shutdown: end every watch, log follow and exec still open."""
    streams = list(app[rest.CONTEXT].streams)
    for task in streams:
        task.cancel()
    if streams:
        await asyncio.gather(*streams, return_exceptions=True)


def build_app(api: APIServer, *, token: str,
              clock: Callable[[], float] = time.time) -> web.Application:
    """The API as an aiohttp app; every request needs `Authorization: Bearer <token>`.

    `clock` ages the cells of server-side Tables (the cluster's clock, when it has one).
    Run it with `handler_cancellation=True` (as `APIHTTPServer` does): a watch notices
    that its client left only when its handler is cancelled or its next write fails.
    """
    if not token:
        raise ValueError("the API's bearer token must not be empty")
    app = web.Application(middlewares=[_guard(token)], client_max_size=MAX_BODY)
    app[rest.CONTEXT] = rest.ServerContext(api=api, clock=clock)
    app.on_shutdown.append(_cancel_streams)
    r = app.router
    r.add_get("/version", _version)
    r.add_get("/version/", _version)  # the official Python client's VersionApi asks this
    for path in HEALTH_PATHS:
        r.add_get(path, _health)
    r.add_get("/api", _core_discovery)
    r.add_get("/apis", _groups_discovery)
    r.add_get("/api/v1", _core_resources)
    r.add_route("*", "/api/v1/{tail:.+}", _core_rest)
    r.add_get("/apis/{group}", _group)
    r.add_get("/apis/{group}/{version}", _group_resources)
    r.add_route("*", "/apis/{group}/{version}/{tail:.+}", _group_rest)
    r.add_get("/openapi/v2", _openapi_v2)
    r.add_get("/openapi/v3", _openapi_index)
    r.add_get("/openapi/v3/{path:.+}", _openapi_document)
    return app


class APIHTTPServer:
    """`build_app` listening on a socket, over TLS when given an SSL context."""

    def __init__(self, api: APIServer, *, token: str, ssl_context: ssl.SSLContext | None,
                 clock: Callable[[], float] = time.time) -> None:
        self._app = build_app(api, token=token, clock=clock)
        self._ssl = ssl_context
        self._runner: web.AppRunner | None = None
        self._url = ""

    @property
    def url(self) -> str:
        """`https://127.0.0.1:<port>` (http without TLS), with the port really bound."""
        if not self._url:
            raise RuntimeError("the API server is not started")
        return self._url

    async def start(self, host: str = "127.0.0.1", port: int = 6443) -> None:
        """Listen on host:port (port 0: any free port); OSError naming the address when
        it cannot be bound."""
        if self._runner is not None:
            raise RuntimeError("the API server is already started")
        runner = web.AppRunner(self._app, access_log=None, handler_cancellation=True,
                               shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port, ssl_context=self._ssl)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise OSError(e.errno, f"cannot listen on {host}:{port}: "
                                   f"{e.strerror or e}") from None
        self._runner = runner
        bound = runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        self._url = f"{'https' if self._ssl else 'http'}://{shown}:{bound}"

    async def stop(self) -> None:
        """Close open streams and the socket; a no-op when not started."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
