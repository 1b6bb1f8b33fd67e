"""`cluster.client.Client` over the Kubernetes REST API: the engine from another process.

The dashboard, the operator and the command layer hold a `Client` and nothing else of
the engine, so attaching them to `redisha serve` (or to any server speaking the same
API) is a matter of handing them an `HTTPClient` instead of an `InProcessClient`. Every
method keeps the in-process semantics, errors included:

- **Errors are the server's `Status`.** A non-2xx reply carrying a `Status` raises the
  matching `cluster.api.errors` class (`errors.from_status`); one without becomes the
  generic error client-go makes of that code. A server that cannot be reached raises
  `ServerUnreachable`, an `APIError` whose one-line message names the server URL, so
  callers that already report `APIError`s report this too.
- **Kinds come from discovery.** `resolve` answers from the aggregated discovery
  documents (`/api`, `/apis`; the legacy per-group documents when the server has no
  aggregated form), cached and fetched again on a miss so kinds of CRDs created later
  resolve. The same `ResourceRegistry` rules as the API server's decide between names.
- **Watches survive dropped connections.** A stream that ends or breaks is reopened from
  the last resourceVersion seen; a 410 (or an `ERROR` event saying Expired) raises
  `errors.Expired`, on which an informer relists. Asked from no revision, a watch lists
  first and delivers the list as ADDED events stamped with the list's revision, exactly
  as the in-process watch stamps its synthetic events, then watches from there.
- **Logs and exec** use `pods/log` (with `timestamps=true`, so every `LogLine` gets its
  time back) and `pods/exec` over WebSocket (`v5.channel.k8s.io`, falling back to v4).

Everything that parses or builds bytes (`resource_path`, `LineBuffer`, the watch-line,
log-line and exec-status decoders) is a pure function, tested without a socket.
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import dataclasses
import logging
import os
import random
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import orjson

from cluster import client as client_mod
from cluster.api import errors, objects
from cluster.api.options import PatchType, PropagationPolicy
from cluster.api.podio import ExecResult, LogLine
from cluster.api.resources import (
    BUILTIN_RESOURCES,
    ResourceRegistry,
    ResourceType,
    UnknownResource,
)
from cluster.api.watch import EventType, WatchEvent
from cluster.http import kubeconfig as kubeconfig_mod
from cluster.http.remotecommand import EXEC_PROTOCOLS, STREAM_CLOSE, Channel, exit_code

__all__ = ["HTTPClient", "HTTPClientSettings", "HTTPWatch", "LineBuffer", "ServerUnreachable",
           "WatchLine", "error_from_reply", "parse_discovery",
           "parse_log_line", "parse_resource_list", "parse_watch_line", "resource_path",
           "revision_of", "with_crd_details"]

log = logging.getLogger(__name__)

AGGREGATED_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                     "application/json")
"""What kubectl 1.30+ asks `/api` and `/apis` for: aggregated discovery, else legacy."""

JSON = "application/json"
STDIN, STDOUT, STDERR, ERROR_CHANNEL = (Channel.STDIN, Channel.STDOUT, Channel.STDERR,
                                        Channel.ERROR)

_CRDS_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
_BUILTIN_KEYS = frozenset(rt.key for rt in BUILTIN_RESOURCES)
_STDIN_FRAME = 32 * 1024
"""Largest stdin payload per frame, so a big stdin does not make one huge message."""


@dataclass(frozen=True)
class HTTPClientSettings:
    """Timeouts and watch retry policy of an `HTTPClient`."""

    request_timeout: float = 30.0
    """Seconds a single non-streaming request may take in total."""
    connect_timeout: float = 5.0
    """Seconds to establish a connection (TCP + TLS), streams included."""
    watch_reconnect_attempts: int = 5
    """Failed reconnects in a row after which a watch gives up with `ServerUnreachable`."""
    watch_retry_initial_delay: float = 0.05
    """Seconds before the second reconnect attempt; doubles per failure."""
    watch_retry_max_delay: float = 2.0
    """Ceiling on the delay between reconnect attempts."""
    watch_timeout: float = 300.0
    """Each watch request asks the server to end it after between this and twice this many
    seconds (`timeoutSeconds`, as client-go does); the watch then resumes from its last
    revision. A server that froze or a network that dropped the connection silently would
    otherwise leave a watch waiting forever."""


class ServerUnreachable(errors.APIError):
    """No answer from the API server: refused, reset, timed out or failed TLS.

    An `APIError` (code 503) so that callers reporting API errors report this one too;
    the message is one line naming the server URL.
    """

    code = 503


# -- pure helpers: URLs, lines, events, log lines, exec status --------------------------------


def resource_path(rt: ResourceType, namespace: str | None, name: str | None = None,
                  subresource: str | None = None) -> str:
    """The REST path of a collection, an object or an object's subresource.

    `namespace` is ignored for cluster-scoped kinds; for namespaced kinds None (or "")
    means the all-namespaces collection, so single-object callers must pass one.
    """
    parts = ["/" + rt.api_path]
    if rt.namespaced and namespace:
        parts.append("namespaces/" + quote(namespace, safe=""))
    parts.append(rt.plural)
    if name is not None:
        parts.append(quote(name, safe=""))
        if subresource:
            parts.append(subresource)
    return "/".join(parts)


class LineBuffer:
    """Splits a byte stream into `\\n`-terminated lines, whatever the chunking (sans-IO).

    `feed` returns the lines completed by a chunk (without their newline); `flush` hands
    back what is left after the stream ended.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        if b"\n" not in data:
            return []
        *lines, rest = bytes(self._buffer).split(b"\n")
        self._buffer = bytearray(rest)
        return lines

    def flush(self) -> bytes:
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest


@dataclass(frozen=True)
class WatchLine:
    """One decoded line of a watch stream: its `type` and its `object`."""

    type: str
    object: dict[str, Any]


def parse_watch_line(line: bytes) -> WatchLine | None:
    """A watch stream line as a `WatchLine`; None for a blank line (keep-alive).

    Raises ValueError (one line) for anything that is not a `{"type", "object"}` JSON
    object: a broken stream is the server's bug, not an event.
    """
    if not line.strip():
        return None
    try:
        decoded = orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise ValueError(f"malformed watch event (not JSON: {e})") from None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("type"), str) \
            or not isinstance(decoded.get("object"), dict):
        raise ValueError("malformed watch event (expected an object with type and object)")
    return WatchLine(decoded["type"], decoded["object"])


def revision_of(obj: dict[str, Any]) -> int | None:
    """An object's resourceVersion as the store revision it is (None when absent)."""
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    try:
        return int(rv) if rv not in (None, "") else None
    except (TypeError, ValueError):
        return None


def parse_log_line(text: str, *, fallback_time: float) -> LogLine:
    """A `timestamps=true` log line (`2024-05-01T10:00:00.123456789Z text`) as a LogLine.

    Lines without a leading RFC 3339 timestamp keep their whole text and `fallback_time`.
    Over HTTP the stream (stdout or stderr) is not told apart: every line is `stdout`.
    """
    stamp, space, rest = text.partition(" ")
    when = _parse_rfc3339_nano(stamp) if space or stamp.endswith("Z") else None
    if when is None:
        return LogLine(fallback_time, "stdout", text)
    return LogLine(when, "stdout", rest)


def _parse_rfc3339_nano(stamp: str) -> float | None:
    if len(stamp) < 20 or stamp[4] != "-" or stamp[10] != "T" or not stamp.endswith("Z"):
        return None
    whole, dot, fraction = stamp[:-1].partition(".")
    try:
        seconds = objects.parse_time(whole + "Z")
    except ValueError:
        return None
    if dot:
        if not fraction.isdigit():
            return None
        seconds += int(fraction) / 10 ** len(fraction)
    return seconds


_GENERIC_REASONS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    401: ("Unauthorized", "the server has asked for the client to provide credentials"),
    403: ("Forbidden", "the server does not allow access to the requested resource"),
    404: ("NotFound", "the server could not find the requested resource"),
    405: ("MethodNotAllowed", "the server does not allow this method on the requested "
                              "resource"),
    409: ("Conflict", "the server reported a conflict"),
    410: ("Expired", "the server has asked for the client to retry with a newer "
                     "resourceVersion"),
    415: ("UnsupportedMediaType", "the server does not support the media type sent"),
    422: ("Invalid", "the server rejected our request due to an error in our request"),
}


def error_from_reply(code: int, body: bytes) -> errors.APIError:
    """The error a non-2xx reply means: its `Status`, or client-go's generic one."""
    try:
        decoded = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        status = dict(decoded)
        status.setdefault("code", code)
        return _expired_if_gone(errors.from_status(status))
    reason, message = _GENERIC_REASONS.get(code, (
        "InternalError", f"an error on the server ({_one_line(body)}) has prevented the "
                         f"request from succeeding"))
    if code in _GENERIC_REASONS and body.strip() and not isinstance(decoded, dict):
        message = f"{message} ({_one_line(body)})"
    return errors.from_status({"kind": "Status", "status": "Failure", "reason": reason,
                               "message": message, "code": code})


def _expired_if_gone(error: errors.APIError) -> errors.APIError:
    """A 410 is Expired whatever its reason (`Gone` too), as client-go's reflector takes
    it: the caller must relist, not retry the same revision forever."""
    if error.code == 410 and not isinstance(error, errors.Expired):
        return errors.Expired(str(error))
    return error


def _one_line(text: bytes | str, limit: int = 200) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def parse_discovery(doc: dict[str, Any]) -> list[ResourceType]:
    """The kinds an aggregated discovery document (`APIGroupDiscoveryList`) serves.

    Each group contributes its kinds at the first version that lists them (versions come
    preferred first); kinds that are not built-ins are marked custom, so name clashes
    resolve in favour of built-ins as they do in the API server.
    """
    found: dict[str, ResourceType] = {}
    for item in doc.get("items") or ():
        group = str((item.get("metadata") or {}).get("name") or "")
        for version in item.get("versions") or ():
            for res in version.get("resources") or ():
                rt = _discovered(group, str(version.get("version", "")), res)
                if rt is not None and rt.key not in found:
                    found[rt.key] = rt
    return list(found.values())


def _discovered(group: str, version: str, res: dict[str, Any]) -> ResourceType | None:
    plural = str(res.get("resource") or "")
    kind = str((res.get("responseKind") or {}).get("kind") or "")
    if not plural or not kind or "/" in plural:
        return None
    subs = {str(s.get("subresource")) for s in res.get("subresources") or ()}
    key = f"{plural}.{group}" if group else plural
    return ResourceType(
        group=group, version=version, kind=kind, plural=plural,
        singular=str(res.get("singularResource") or kind.lower()),
        namespaced=res.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(res.get("shortNames") or ()),
        has_status="status" in subs,
        categories=tuple(res.get("categories") or ()),
        custom=key not in _BUILTIN_KEYS)


def parse_resource_list(doc: dict[str, Any]) -> list[ResourceType]:
    """The kinds of a legacy `APIResourceList` (`/api/v1`, `/apis/<group>/<version>`)."""
    group, _, version = str(doc.get("groupVersion", "")).rpartition("/")
    entries = doc.get("resources") or []
    with_status = {str(e.get("name", "")).partition("/")[0] for e in entries
                   if str(e.get("name", "")).endswith("/status")}
    found = []
    for e in entries:
        plural = str(e.get("name") or "")
        if not plural or "/" in plural or not e.get("kind"):
            continue
        key = f"{plural}.{group}" if group else plural
        found.append(ResourceType(
            group=group, version=version, kind=str(e["kind"]), plural=plural,
            singular=str(e.get("singularName") or str(e["kind"]).lower()),
            namespaced=bool(e.get("namespaced", True)),
            short_names=tuple(e.get("shortNames") or ()),
            has_status=plural in with_status,
            categories=tuple(e.get("categories") or ()),
            custom=key not in _BUILTIN_KEYS))
    return found


def with_crd_details(types: Iterable[ResourceType],
                     crds: Iterable[dict[str, Any]]) -> list[ResourceType]:
    """Custom kinds completed with their CRD's schema and printer columns.

    Discovery does not carry them; the dashboard's columns and `explain` need them, and
    the API server's own registry has them from the same CRD objects.
    """
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for crd in crds:
        spec = crd.get("spec") or {}
        by_key[(str(spec.get("group", "")), str((spec.get("names") or {}).get("plural", "")))] \
            = spec
    completed = []
    for rt in types:
        spec = by_key.get((rt.group, rt.plural)) if rt.custom else None
        version = next((v for v in (spec or {}).get("versions") or ()
                        if v.get("name") == rt.version), None)
        if version is not None:
            rt = dataclasses.replace(
                rt, schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()))
        completed.append(rt)
    return completed


def _with_type(obj: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    """Items of a List may come without apiVersion/kind (kube-apiserver leaves them out);
    every object a `Client` hands out has them."""
    if "kind" not in obj:
        obj["kind"] = rt.kind
    if "apiVersion" not in obj:
        obj["apiVersion"] = rt.api_version
    return obj


# -- the client ------------------------------------------------------------------------------


class HTTPClient:
    """`cluster.client.Client` over HTTP(S) with a bearer token.

    Make it with the server URL and credentials, or `from_kubeconfig`. The aiohttp
    session is opened on first use (inside the running loop) and closed by `close()`
    or leaving `async with`.
    """

    def __init__(self, server: str, *, token: str | None = None, ca_pem: bytes | None = None,
                 insecure: bool = False, settings: HTTPClientSettings | None = None) -> None:
        self._server = server.rstrip("/")
        try:
            parts = urlsplit(self._server)
            host, _ = parts.hostname, parts.port
        except ValueError as e:
            raise ValueError(f"server {server!r} is not a valid URL: {e}") from None
        scheme = parts.scheme
        if scheme not in ("http", "https"):
            raise ValueError(f"server {server!r} is not an http(s) URL")
        if not host:
            raise ValueError(f"server {server!r} names no host")
        self._token = token
        self._ssl = _ssl_setting(scheme, ca_pem, insecure)
        self.settings = settings or HTTPClientSettings()
        self._session: aiohttp.ClientSession | None = None
        self._registry: ResourceRegistry | None = None
        self._discovery_generation = 0
        self._discovery_lock = asyncio.Lock()

    @classmethod
    def from_kubeconfig(cls, path: Path | str, context: str | None = None, *,
                        server: str | None = None,
                        settings: HTTPClientSettings | None = None) -> HTTPClient:
        """A client for the kubeconfig's `context` (default: its current context), at
        `server` instead of the kubeconfig's when given; `kubeconfig.KubeConfigError` (one
        line) when the file cannot be used."""
        config = kubeconfig_mod.load(Path(path), context)
        return cls(server or config.server, token=config.token, ca_pem=config.ca_pem,
                   insecure=config.insecure, settings=settings)

    @property
    def server(self) -> str:
        return self._server

    async def close(self) -> None:
        """Close the connections (a later call opens new ones)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def __aenter__(self) -> HTTPClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- transport --------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            headers = {"User-Agent": "redisha-http-client"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            connector = aiohttp.TCPConnector(ssl=self._ssl)
            self._session = aiohttp.ClientSession(
                base_url=None, connector=connector, headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.settings.request_timeout,
                                              sock_connect=self.settings.connect_timeout))
        return self._session

    def _url(self, path: str) -> str:
        return self._server + path

    def unreachable(self, error: BaseException) -> ServerUnreachable:
        """The one-line error for a request that got no answer from the server."""
        if isinstance(error, aiohttp.ClientConnectorCertificateError):
            detail = _one_line(str(error.certificate_error))
            why = f"the server's certificate is not trusted ({detail})"
        elif isinstance(error, aiohttp.ClientConnectorError) and \
                isinstance(error.os_error, ConnectionRefusedError):
            return ServerUnreachable(f"The connection to the server {self._server} was "
                                     f"refused - did you specify the right host or port?")
        elif isinstance(error, TimeoutError):
            why = "timed out waiting for the server"
        elif isinstance(error, aiohttp.ClientConnectorError) and error.os_error is not None:
            why = _one_line(error.os_error.strerror or str(error.os_error)) \
                if isinstance(error.os_error, OSError) else _one_line(str(error.os_error))
        else:
            why = _one_line(str(error)) or type(error).__name__
        return ServerUnreachable(f"Unable to connect to the server {self._server}: {why}")

    async def _send(self, method: str, path: str, *, params: Any = None,
                    body: Any = None, content_type: str = JSON,
                    accept: str = JSON) -> bytes:
        """One request: the body of a 2xx reply, else the reply's error.

        A 404 that names no object means the URL itself is not served: a kind that
        discovery listed may be gone (its CRD deleted), so discovery is fetched again
        on next use."""
        headers = {"Accept": accept}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else orjson.dumps(body)
            headers["Content-Type"] = content_type
        attempts = 2 if method == "GET" else 1
        for attempt in range(attempts):
            try:
                async with self._http().request(method, self._url(path), params=params,
                                                data=data, headers=headers) as reply:
                    raw = await reply.read()
                    if reply.status < 300:
                        return raw
                    error = error_from_reply(reply.status, raw)
                    if isinstance(error, errors.NotFound) and not error.details.get("name"):
                        self._registry = None
                    raise error
            except aiohttp.ServerDisconnectedError as e:
                # A kept-alive connection the server had closed: a read is safe to retry.
                if attempt + 1 < attempts:
                    continue
                raise self.unreachable(e) from e
            except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as e:
                raise self.unreachable(e) from e
        raise AssertionError("unreachable")  # pragma: no cover

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        raw = await self._send(method, path, **kwargs)
        try:
            return orjson.loads(raw) if raw else {}
        except orjson.JSONDecodeError:
            raise errors.APIError(f"{method} {self._url(path)}: the server answered with "
                                  f"something that is not JSON: {_one_line(raw, 80)}") from None

    async def open_stream(self, path: str, params: Any) -> aiohttp.ClientResponse:
        """A streaming GET whose reply started with 2xx (the caller closes it)."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.settings.connect_timeout)
        try:
            reply = await self._http().get(self._url(path), params=params, timeout=timeout,
                                           headers={"Accept": JSON})
        except (TimeoutError, aiohttp.ClientConnectionError) as e:
            raise self.unreachable(e) from e
        if reply.status >= 300:
            try:
                raw = await reply.read()
            except (TimeoutError, aiohttp.ClientError):
                raw = b""
            finally:
                reply.release()
            raise error_from_reply(reply.status, raw)
        return reply

    # -- discovery --------------------------------------------------------------------------

    async def _discover(self) -> ResourceRegistry:
        types: list[ResourceType] = []
        for path in ("/api", "/apis"):
            doc = await self._json("GET", path, accept=AGGREGATED_ACCEPT)
            if doc.get("kind") == "APIGroupDiscoveryList":
                types += parse_discovery(doc)
            else:
                types += await self._legacy_discovery(path, doc)
        if any(rt.custom for rt in types):
            try:
                crds = await self._json("GET", _CRDS_PATH)
                types = with_crd_details(types, crds.get("items") or ())
            except errors.APIError as e:
                log.info("discovery: custom kinds without schema (%s)", e)
        return ResourceRegistry(builtins=tuple(types))

    async def _legacy_discovery(self, path: str, doc: dict[str, Any]) -> list[ResourceType]:
        """Kinds from the per-group-version documents, for a server without aggregation."""
        if path == "/api":
            versions = [str(v) for v in doc.get("versions") or ()]
            lists = [f"/api/{versions[0]}"] if versions else []
        else:
            lists = [f"/apis/{g['preferredVersion']['groupVersion']}"
                     for g in doc.get("groups") or () if g.get("preferredVersion")]
        types: list[ResourceType] = []
        for list_path in lists:
            types += parse_resource_list(await self._json("GET", list_path))
        return types

    async def _refresh(self, seen_generation: int) -> ResourceRegistry:
        """Fetch discovery again, unless someone else did since `seen_generation`."""
        async with self._discovery_lock:
            if self._registry is None or self._discovery_generation == seen_generation:
                self._registry = await self._discover()
                self._discovery_generation += 1
            return self._registry

    async def _types(self) -> ResourceRegistry:
        if self._registry is None:
            return await self._refresh(self._discovery_generation)
        return self._registry

    async def resolve(self, resource: str) -> ResourceType:
        """A served kind by any name kubectl accepts; NotFound (as the API server's)
        when discovery, fetched again, does not know it either."""
        registry = await self._types()
        generation = self._discovery_generation
        try:
            return registry.resolve(resource)
        except UnknownResource:
            pass
        registry = await self._refresh(generation)
        try:
            return registry.resolve(resource)
        except UnknownResource as e:
            raise errors.NotFound("", resource, message=str(e.args[0])) from None

    async def resources(self) -> list[ResourceType]:
        """Every served kind, as discovery reports it now."""
        return list(await self._refresh(self._discovery_generation))

    async def _type_of(self, obj: dict[str, Any]) -> ResourceType:
        if not isinstance(obj, dict):
            raise errors.BadRequest("the object is not a mapping")
        missing = [f"{f} not set" for f in ("apiVersion", "kind") if not obj.get(f)]
        if missing:
            raise errors.BadRequest("invalid object: " + ", ".join(missing))
        if not isinstance(obj.get("metadata", {}), dict):
            raise errors.BadRequest("invalid object: metadata must be a mapping")
        api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
        registry = await self._types()
        generation = self._discovery_generation
        try:
            return registry.for_object(api_version, kind)
        except UnknownResource:
            pass
        try:
            return (await self._refresh(generation)).for_object(api_version, kind)
        except UnknownResource as e:
            raise errors.NotFound("", kind, message=str(e.args[0])) from None

    # -- reads --------------------------------------------------------------------------------

    async def version(self) -> dict[str, str]:
        doc = await self._json("GET", "/version")
        return {str(k): str(v) for k, v in doc.items()}

    async def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        rt = await self.resolve(resource)
        if not name:
            raise errors.NotFound(rt.key, name)
        obj = await self._json("GET", resource_path(rt, _single_ns(rt, namespace), name))
        return _with_type(obj, rt)

    async def list(self, resource: str, namespace: str | None = None, *,
                   label_selector: client_mod.Selector = None,
                   field_selector: client_mod.Selector = None) -> client_mod.ObjectList:
        rt = await self.resolve(resource)
        return await self.list_type(rt, namespace, label_selector=label_selector,
                                    field_selector=field_selector)

    async def list_type(self, rt: ResourceType, namespace: str | None, *,
                        label_selector: client_mod.Selector = None,
                        field_selector: client_mod.Selector = None) -> client_mod.ObjectList:
        """`list` of an already resolved kind."""
        params = _selectors(label_selector, field_selector)
        doc = await self._json("GET", resource_path(rt, namespace if rt.namespaced else None),
                               params=params)
        items = [_with_type(o, rt) for o in doc.get("items") or ()]
        revision = revision_of(doc)
        if revision is None:
            raise errors.APIError(f"the server's list of {rt.key} carries no resourceVersion")
        return client_mod.ObjectList(items, revision)

    def watch(self, resource: str, namespace: str | None = None, *,
              label_selector: client_mod.Selector = None,
              field_selector: client_mod.Selector = None,
              resource_version: int | None = None) -> HTTPWatch:
        return HTTPWatch(self, resource, namespace, label_selector=label_selector,
                         field_selector=field_selector, resource_version=resource_version)

    # -- writes -------------------------------------------------------------------------------

    async def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        rt = await self._type_of(obj)
        given = (obj.get("metadata") or {}).get("namespace")
        ns = (namespace or given or "default") if rt.namespaced else None
        created = await self._json("POST", resource_path(rt, ns), body=obj)
        return _with_type(created, rt)

    async def update(self, obj: dict[str, Any]) -> dict[str, Any]:
        return await self._put(obj, None)

    async def update_status(self, obj: dict[str, Any]) -> dict[str, Any]:
        return await self._put(obj, "status")

    async def _put(self, obj: dict[str, Any], subresource: str | None) -> dict[str, Any]:
        rt = await self._type_of(obj)
        m = obj.get("metadata") or {}
        name = m.get("name")
        if not name:
            raise errors.BadRequest("metadata.name: Required value: name is required for update")
        path = resource_path(rt, _single_ns(rt, m.get("namespace")), str(name), subresource)
        return _with_type(await self._json("PUT", path, body=obj), rt)

    async def patch(self, resource: str, name: str, patch: Any, namespace: str | None = None, *,
                    patch_type: PatchType = PatchType.MERGE,
                    subresource: str | None = None) -> dict[str, Any]:
        rt = await self.resolve(resource)
        if not name:
            raise errors.NotFound(rt.key, name)
        path = resource_path(rt, _single_ns(rt, namespace), name, subresource)
        patched = await self._json("PATCH", path, body=patch,
                                   content_type=PatchType(patch_type).value)
        return _with_type(patched, rt)

    async def delete(self, resource: str, name: str, namespace: str | None = None, *,
                     propagation_policy: PropagationPolicy | None = None,
                     resource_version: str | None = None,
                     grace_period_seconds: int | None = None) -> dict[str, Any]:
        """The object after the call. For kinds whose DELETE answers with a Success
        `Status` once the object is gone (most kinds but pods and services, as in
        kube-apiserver) that is all that is known of it: a tombstone with apiVersion,
        kind, name, namespace and the uid the Status reports."""
        rt = await self.resolve(resource)
        if not name:
            raise errors.NotFound(rt.key, name)
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy is not None:
            options["propagationPolicy"] = PropagationPolicy(propagation_policy).value
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        ns = _single_ns(rt, namespace)
        gone = await self._json("DELETE", resource_path(rt, ns, name), body=options)
        if gone.get("kind") == "Status":
            return _tombstone(rt, name, ns, gone)
        return _with_type(gone, rt)

    async def bind(self, name: str, namespace: str | None, node_name: str) -> dict[str, Any]:
        rt = await self.resolve("pods")
        ns = namespace or "default"
        binding = {"apiVersion": "v1", "kind": "Binding",
                   "metadata": {"name": name, "namespace": ns},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
        status: dict[str, Any] = await self._json("POST", resource_path(rt, ns, name, "binding"),
                                                  body=binding)
        return status

    # -- logs and exec ------------------------------------------------------------------------

    def _log_params(self, container: str | None, previous: bool, tail_lines: int | None,
                    follow: bool) -> dict[str, str]:
        params = {"timestamps": "true"}
        if container:
            params["container"] = container
        if previous:
            params["previous"] = "true"
        if tail_lines is not None:
            params["tailLines"] = str(tail_lines)
        if follow:
            params["follow"] = "true"
        return params

    async def pod_logs(self, name: str, namespace: str | None = None, *,
                       container: str | None = None, previous: bool = False,
                       tail_lines: int | None = None) -> builtins.list[LogLine]:
        path = _pod_path(name, namespace, "log")
        raw = await self._send("GET", path, accept="*/*",
                               params=self._log_params(container, previous, tail_lines,
                                                       follow=False))
        now = time.time()
        text = raw.decode("utf-8", "replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [parse_log_line(line, fallback_time=now) for line in lines]

    async def follow_pod_logs(self, name: str, namespace: str | None = None, *,
                              container: str | None = None, previous: bool = False,
                              tail_lines: int | None = None) -> AsyncIterator[LogLine]:
        """`pod_logs`, then each new line until the server ends the stream (the attempt
        ended); a connection lost midway raises `ServerUnreachable`."""
        path = _pod_path(name, namespace, "log")
        reply = await self.open_stream(path, self._log_params(container, previous, tail_lines,
                                                              follow=True))
        buffer = LineBuffer()
        try:
            while True:
                try:
                    chunk = await reply.content.readany()
                except (TimeoutError, aiohttp.ClientError) as e:
                    raise self.unreachable(e) from e
                if not chunk:
                    break
                for line in buffer.feed(chunk):
                    yield parse_log_line(line.decode("utf-8", "replace"),
                                         fallback_time=time.time())
            rest = buffer.flush()
            if rest:
                yield parse_log_line(rest.decode("utf-8", "replace"), fallback_time=time.time())
        finally:
            reply.close()

    async def pod_exec(self, name: str, namespace: str | None = None, *,
                       command: builtins.list[str], container: str | None = None,
                       stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
        """Run `command` over the `pods/exec` WebSocket. When `timeout` passes the socket
        is closed (the server stops the command) and TimeoutError is raised."""
        params: builtins.list[tuple[str, str]] = [("command", c) for c in command]
        if container:
            params.append(("container", container))
        params += [("stdin", "true" if stdin is not None else "false"), ("stdout", "true"),
                   ("stderr", "true"), ("tty", "false")]
        path = _pod_path(name, namespace, "exec")
        async with asyncio.timeout(timeout):
            ws = await self._ws_connect(path, params)
            try:
                return await _run_exec(ws, stdin)
            finally:
                await ws.close()

    async def _ws_connect(self, path: str, params: Any) -> aiohttp.ClientWebSocketResponse:
        try:
            return await self._http().ws_connect(
                self._url(path), params=params, protocols=EXEC_PROTOCOLS, max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_close=self.settings.connect_timeout))
        except aiohttp.WSServerHandshakeError as e:
            if e.status and e.status >= 300:
                raise await self._refused_upgrade(path, params) from None
            raise errors.APIError(f"exec: the WebSocket handshake with {self._server} "
                                  f"failed: {e.message}") from None
        except (TimeoutError, aiohttp.ClientConnectionError) as e:
            raise self.unreachable(e) from e

    async def _refused_upgrade(self, path: str, params: Any) -> errors.APIError:
        """The Status of a refused upgrade: aiohttp drops the reply's body, so send the
        same upgrade request again as a plain request and read it."""
        headers = {"Connection": "Upgrade", "Upgrade": "websocket",
                   "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
                   "Sec-WebSocket-Protocol": ", ".join(EXEC_PROTOCOLS)}
        try:
            async with self._http().get(self._url(path), params=params,
                                        headers=headers) as reply:
                if reply.status == 101:
                    return errors.APIError(f"exec: the WebSocket handshake with "
                                           f"{self._server} failed")
                return error_from_reply(reply.status, await reply.read())
        except (TimeoutError, aiohttp.ClientError) as e:
            return self.unreachable(e)


async def _run_exec(ws: aiohttp.ClientWebSocketResponse, stdin: bytes | None) -> ExecResult:
    """Feed stdin, collect stdout and stderr, and read the exit status off channel 3."""
    if stdin is not None:
        for start in range(0, len(stdin), _STDIN_FRAME):
            await ws.send_bytes(bytes([STDIN]) + stdin[start:start + _STDIN_FRAME])
        if ws.protocol == EXEC_PROTOCOLS[0]:
            await ws.send_bytes(bytes([STREAM_CLOSE, STDIN]))
    out, err, status = bytearray(), bytearray(), bytearray()
    async for message in ws:
        if message.type is not aiohttp.WSMsgType.BINARY or not message.data:
            continue
        channel, payload = message.data[0], message.data[1:]
        if channel == STDOUT:
            out += payload
        elif channel == STDERR:
            err += payload
        elif channel == ERROR_CHANNEL:
            status += payload
    if ws.exception() is not None and not status:
        raise errors.APIError(f"exec: the connection broke: {_one_line(str(ws.exception()))}")
    code = 0
    if status.strip():
        try:
            decoded = orjson.loads(bytes(status))
        except orjson.JSONDecodeError:
            raise errors.APIError(f"exec: malformed status from the server: "
                                  f"{_one_line(bytes(status), 80)}") from None
        code = exit_code(decoded)
    return ExecResult(code, bytes(out), bytes(err))


def _ssl_setting(scheme: str, ca_pem: bytes | None, insecure: bool) -> ssl.SSLContext | bool:
    """What the connector checks the server's certificate against (False: nothing);
    ValueError (one line) for CA data that holds no usable certificate."""
    if scheme != "https":
        return True  # plain HTTP: no TLS at all, the setting is never used
    if insecure:
        return False
    if not ca_pem:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cadata=ca_pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"the certificate authority data is not a usable PEM certificate: "
                         f"{_one_line(str(e))}") from None


def _tombstone(rt: ResourceType, name: str, namespace: str | None,
               status: dict[str, Any]) -> dict[str, Any]:
    """What a Success Status of a DELETE tells of the object it removed."""
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    uid = (status.get("details") or {}).get("uid")
    if uid:
        meta["uid"] = uid
    return {"apiVersion": rt.api_version, "kind": rt.kind, "metadata": meta}


def _single_ns(rt: ResourceType, namespace: str | None) -> str | None:
    """The namespace of a single-object call: `default` when not given."""
    return (namespace or "default") if rt.namespaced else None


def _pod_path(name: str, namespace: str | None, subresource: str) -> str:
    return (f"/api/v1/namespaces/{quote(namespace or 'default', safe='')}/pods/"
            f"{quote(name, safe='')}/{subresource}")


def _selectors(label_selector: client_mod.Selector,
               field_selector: client_mod.Selector) -> dict[str, str]:
    params = {}
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    return params


# -- watch ---------------------------------------------------------------------------------


class HTTPWatch:
    """A watch over HTTP that reconnects: `cluster.client.Watch`.

    The stream opens on the first `__anext__` (or on entering `async with`). When it ends
    or breaks, it is reopened from the last resourceVersion delivered (BOOKMARK events
    advance it too), so the caller sees one uninterrupted sequence; after
    `watch_reconnect_attempts` failed reconnects in a row it raises `ServerUnreachable`.
    A 410 reply or an `ERROR` event raises the `Status`'s error (`errors.Expired` for a
    compacted revision), then every later `__anext__` raises it again, as the in-process
    watch does.
    """

    def __init__(self, client: HTTPClient, resource: str, namespace: str | None, *,
                 label_selector: client_mod.Selector = None,
                 field_selector: client_mod.Selector = None,
                 resource_version: int | None = None) -> None:
        self._client = client
        self.resource = resource
        self.namespace = namespace or None
        self.label_selector = label_selector or None
        self.field_selector = field_selector or None
        self._revision = resource_version
        """Where the next (re)connect starts: the last revision delivered."""
        self._type: ResourceType | None = None
        self._pending: deque[WatchEvent] = deque()
        self._reply: aiohttp.ClientResponse | None = None
        self._lines = LineBuffer()
        self._error: BaseException | None = None
        self._closed = False
        self._connections = 0
        self._quiet_ends = 0
        """Streams in a row that ended without delivering an event (back off on those)."""

    @property
    def revision(self) -> int | None:
        """The revision a reconnect would resume from."""
        return self._revision

    @property
    def connections(self) -> int:
        """How many times the stream was opened (reconnects included)."""
        return self._connections

    def __aiter__(self) -> HTTPWatch:
        return self

    async def __aenter__(self) -> HTTPWatch:
        if self._reply is None and not self._closed and self._error is None:
            await self._connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._closed = True
        self._drop()

    def _drop(self) -> None:
        reply, self._reply = self._reply, None
        if reply is not None:
            reply.close()

    async def __anext__(self) -> WatchEvent:
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._error is not None:
                raise self._error
            if self._closed:
                raise StopAsyncIteration
            if self._reply is None:
                await self._connect()
                continue
            reply = self._reply
            try:
                chunk = await reply.content.readany()
            except (TimeoutError, aiohttp.ClientError, OSError):
                chunk = b""
            if self._closed:
                raise StopAsyncIteration
            if not chunk:
                self._stream_ended(reply)
                continue
            try:
                for line in self._lines.feed(chunk):
                    self._take(line)
            except Exception as e:
                self._fail(e)
                raise

    def _take(self, line: bytes) -> None:
        try:
            decoded = parse_watch_line(line)
        except ValueError as e:
            raise errors.APIError(f"watch of {self.resource} from {self._client.server}: "
                                  f"{e}") from None
        if decoded is None:
            return
        obj = decoded.object
        if decoded.type == "ERROR":
            raise _expired_if_gone(errors.from_status(obj))
        revision = revision_of(obj)
        if decoded.type == "BOOKMARK":
            if revision is not None:
                self._revision = revision
            return
        try:
            event_type = EventType(decoded.type)
        except ValueError:
            log.warning("watch of %s: ignoring an event of type %r", self.resource,
                        decoded.type)
            return
        if revision is None:
            raise errors.APIError(f"watch of {self.resource} from {self._client.server}: "
                                  f"a {decoded.type} event without resourceVersion")
        if self._type is not None:
            _with_type(obj, self._type)
        self._revision = revision
        self._quiet_ends = 0
        self._pending.append(WatchEvent(event_type, obj, revision))

    def _fail(self, error: BaseException) -> None:
        self._error = error
        self._pending.clear()
        self._drop()

    def _stream_ended(self, reply: aiohttp.ClientResponse) -> None:
        """The server ended the stream or the connection broke: reconnect next time."""
        if self._reply is reply:
            self._drop()
        self._lines = LineBuffer()
        self._quiet_ends += 1

    async def _connect(self) -> None:
        """Open the stream (listing first when there is no revision to start from),
        retrying with back-off when this is a reconnect."""
        failures = 0
        settings = self._client.settings
        while True:
            if self._quiet_ends > 1 or failures:
                steps = max(self._quiet_ends - 2, 0) + failures
                await asyncio.sleep(min(settings.watch_retry_initial_delay * 2 ** min(steps, 30),
                                        settings.watch_retry_max_delay))
            if self._closed:
                return
            try:
                await self._open()
                return
            except ServerUnreachable as e:
                failures += 1
                if self._connections == 0 or failures >= settings.watch_reconnect_attempts:
                    self._fail(e)
                    raise
                log.info("watch of %s: reconnecting (%s)", self.resource, e)
            except BaseException as e:
                if not isinstance(e, asyncio.CancelledError):
                    self._fail(e)
                raise

    async def _open(self) -> None:
        if self._type is None:
            self._type = await self._client.resolve(self.resource)
        rt = self._type
        namespace = self.namespace if rt.namespaced else None
        if self._revision is None:
            listed = await self._client.list_type(rt, namespace,
                                                  label_selector=self.label_selector,
                                                  field_selector=self.field_selector)
            self._pending.extend(WatchEvent(EventType.ADDED, obj, listed.resource_version)
                                 for obj in listed.items)
            self._revision = listed.resource_version
        params = _selectors(self.label_selector, self.field_selector)
        timeout = self._client.settings.watch_timeout
        params.update(watch="true", resourceVersion=str(self._revision),
                      allowWatchBookmarks="true",
                      timeoutSeconds=str(max(1, round(random.uniform(timeout, 2 * timeout)))))
        reply = await self._client.open_stream(resource_path(rt, namespace), params)
        if self._closed:
            reply.close()
            return
        self._reply = reply
        self._lines = LineBuffer()
        self._connections += 1
