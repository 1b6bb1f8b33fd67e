"""The app's edges: the bearer token, Status replies for bad paths and verbs, and the
non-REST routes (version, health, discovery, OpenAPI)."""

from __future__ import annotations

import aiohttp
import pytest
from http_server_helpers import TOKEN, pod, serving

from cluster.http import discovery


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="missing"),
    pytest.param({"Authorization": "Bearer wrong"}, id="wrong"),
    pytest.param({"Authorization": f"Basic {TOKEN}"}, id="not-bearer"),
])
async def test_requests_without_the_token_get_401_status(headers: dict[str, str]) -> None:
    """A missing or wrong token is kube's 401 Unauthorized Status, on every path."""
    async with serving() as s, aiohttp.ClientSession() as anon:
        for path in ("/version", "/api", "/api/v1/namespaces/default/pods", "/nope"):
            async with anon.get(s.url + path, headers=headers) as r:
                assert r.status == 401
                assert await r.json() == {
                    "kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Failure", "message": "Unauthorized",
                    "reason": "Unauthorized", "code": 401}


async def test_unauthorized_write_stores_nothing() -> None:
    """A POST with a wrong token creates nothing."""
    async with serving() as s, aiohttp.ClientSession() as anon:
        async with anon.post(s.url + "/api/v1/namespaces/default/pods", json=pod("p"),
                             headers={"Authorization": "Bearer nope"}) as r:
            assert r.status == 401
        assert s.api.list("pods")[0] == []


async def test_bearer_scheme_is_case_insensitive() -> None:
    """`bearer <token>` is accepted, as kube-apiserver accepts it."""
    async with serving() as s:
        reply = await s.call("GET", "/version", headers={"Authorization": f"bearer {TOKEN}"})
        assert reply.status == 200


async def test_version_and_health() -> None:
    """/version is the engine's version document with every version.Info field; the
    health paths answer `ok`."""
    async with serving() as s:
        reply = await s.call("GET", "/version")
        assert reply.status == 200 and reply.body["minor"] == "32"
        assert reply.body["gitVersion"] == s.api.version()["gitVersion"]
        assert list(reply.body) == ["major", "minor", "gitVersion", "gitCommit",
                                    "gitTreeState", "buildDate", "goVersion", "compiler",
                                    "platform"]
        assert (await s.call("GET", "/version/")).body == reply.body
        for path in ("/healthz", "/livez", "/readyz"):
            async with s.session.get(s.url + path) as r:
                assert r.status == 200 and await r.text() == "ok"


@pytest.mark.parametrize("path", [
    "/nope", "/api/v2", "/api/v1/widgets", "/apis/apps/v1/widgets", "/apis/nogroup",
    "/apis/apps/v9", "/openapi/v3/apis/nogroup/v1",
    "/api/v1/pods/p1",  # a namespaced kind named without its namespace
    "/api/v1/namespaces/default/nodes",  # a cluster-scoped kind under a namespace
    "/api/v1/namespaces/default/pods/p1/portforward",
    "/api/v1/namespaces/default/configmaps/c/status",  # no status subresource
])
async def test_unknown_paths_get_the_generic_404_status(path: str) -> None:
    """Anything nothing serves is kube's `could not find the requested resource` 404."""
    async with serving() as s:
        reply = await s.call("GET", path)
        assert reply.status == 404
        assert reply.body == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Failure",
                              "message": "the server could not find the requested resource",
                              "reason": "NotFound", "details": {}, "code": 404}


@pytest.mark.parametrize("method,path", [
    ("PUT", "/api/v1/namespaces/default/pods"),
    ("POST", "/api/v1/pods"),  # creating needs a namespace
    ("POST", "/api/v1/namespaces/default/pods/p1"),
    ("POST", "/version"),
    ("DELETE", "/api/v1/namespaces/default/pods/p1/status"),
])
async def test_wrong_verbs_get_405_status(method: str, path: str) -> None:
    """A verb a path does not take is a 405 MethodNotAllowed Status."""
    async with serving() as s:
        reply = await s.call(method, path, {"x": 1})
        assert reply.status == 405
        assert reply.body["reason"] == "MethodNotAllowed"
        assert reply.body["message"] == (
            "the server does not allow this method on the requested resource")


async def test_discovery_is_aggregated_when_asked_and_legacy_otherwise() -> None:
    """/api and /apis answer aggregated discovery with its exact content type on request."""
    async with serving() as s:
        accept = discovery.AGGREGATED + ",application/json"
        agg = await s.call("GET", "/apis", headers={"Accept": accept})
        assert agg.status == 200 and agg.content_type == discovery.AGGREGATED
        assert agg.body["kind"] == "APIGroupDiscoveryList"
        legacy = await s.call("GET", "/api")
        assert legacy.body["kind"] == "APIVersions"
        groups = await s.call("GET", "/apis")
        assert groups.body["kind"] == "APIGroupList"
        core = await s.call("GET", "/api/v1")
        assert "pods" in [r["name"] for r in core.body["resources"]]
        apps = await s.call("GET", "/apis/apps/v1")
        assert "deployments" in [r["name"] for r in apps.body["resources"]]
        group = await s.call("GET", "/apis/apps")
        assert group.body["kind"] == "APIGroup"


async def test_openapi_index_and_documents_are_served() -> None:
    """/openapi/v3 lists documents whose URLs (with their hash query) are served."""
    async with serving() as s:
        index = await s.call("GET", "/openapi/v3")
        url = index.body["paths"]["apis/apps/v1"]["serverRelativeURL"]
        assert "?hash=" in url
        async with s.session.get(s.url + url) as r:
            assert r.status == 200
            doc = await r.json()
        assert doc["openapi"].startswith("3.")


async def test_engine_bug_is_a_one_line_500_status() -> None:
    """An unexpected exception is a 500 InternalError Status, not a dropped connection."""
    async with serving() as s:
        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("boom")
        s.api.version = broken  # type: ignore[method-assign]
        reply = await s.call("GET", "/version")
        assert reply.status == 500
        assert reply.body["reason"] == "InternalError"
        assert reply.body["message"] == "Internal error occurred: RuntimeError: boom"


async def test_port_in_use_is_one_clear_error() -> None:
    """Starting on a bound port raises OSError naming the address."""
    from cluster.http.server import APIHTTPServer
    async with serving() as s:
        port = int(s.url.rsplit(":", 1)[1])
        other = APIHTTPServer(s.api, token=TOKEN, ssl_context=None)
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            await other.start("127.0.0.1", port)


async def test_openapi_v2_is_an_empty_document() -> None:
    """/openapi/v2 is empty (zero-byte protobuf when asked so), so kubectl's validation of
    an unknown kind goes on to the `no matches for kind` error instead of failing."""
    async with serving() as s:
        accept = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
        async with s.session.get(s.url + "/openapi/v2", headers={"Accept": accept}) as r:
            assert r.status == 200 and await r.read() == b""
            # Go's mime parser rejects the `@` of the requested type in a reply.
            assert "@" not in r.headers["Content-Type"]
        doc = await s.call("GET", "/openapi/v2")
        assert doc.body["swagger"] == "2.0" and doc.body["paths"] == {}


async def test_pod_streams_and_protobuf_bodies_are_routed() -> None:
    """pods/log and pods/exec reach the pod-stream handlers; protobuf bodies the decoder."""
    async with serving() as s:
        log = await s.call("GET", "/api/v1/namespaces/default/pods/ghost/log")
        assert log.status == 404 and log.body["message"] == 'pods "ghost" not found'
        exec_ = await s.call("POST", "/api/v1/namespaces/default/pods/ghost/exec",
                             params={"command": "ls", "stdout": "true"})
        assert exec_.status == 404 and exec_.body["message"] == 'pods "ghost" not found'
        garbage = await s.call("POST", "/api/v1/namespaces/default/configmaps",
                               raw=b"not protobuf",
                               content_type="application/vnd.kubernetes.protobuf")
        assert garbage.status == 400 and garbage.body["reason"] == "BadRequest"
        assert s.api.list("configmaps", "default")[0] == []


async def test_oversized_body_is_413_status() -> None:
    """A body over 3 MiB is refused with kube's 413 Status and nothing is stored."""
    from cluster.http.server import MAX_BODY
    async with serving() as s:
        reply = await s.call("POST", "/api/v1/namespaces/default/configmaps",
                             raw=b" " * (MAX_BODY + 1))
        assert reply.status == 413 and reply.body["reason"] == "RequestEntityTooLarge"
        assert reply.body["message"] == f"Request entity too large: limit is {MAX_BODY}"
        assert s.api.list("configmaps", "default")[0] == []
