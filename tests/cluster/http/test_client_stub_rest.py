"""`HTTPClient`'s requests and error handling against a scripted server."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp import web

from cluster.api import errors
from cluster.api.options import PatchType, PropagationPolicy
from cluster.api.resources import ResourceType
from cluster.http.client import HTTPClient, ServerUnreachable
from tests.cluster.http.client_stub import (
    TOKEN,
    configmap,
    json_reply,
    status_reply,
    stub_server,
)

CM = "/api/v1/namespaces/default/configmaps/a"
FAILOVER = ResourceType("databases.spotahome.com", "v1", "RedisFailover", "redisfailovers",
                        "redisfailover", True, ("rf",), custom=True)


async def echo(request: web.Request) -> web.StreamResponse:
    """Answer with the object the request sent (or a ConfigMap for reads)."""
    if request.can_read_body:
        body = orjson.loads(await request.read())
        if isinstance(body, dict) and body.get("kind") not in (None, "DeleteOptions"):
            return json_reply(body)
    return json_reply(configmap("a", 5))


async def missing(request: web.Request) -> web.StreamResponse:
    return status_reply(404, "NotFound", 'configmaps "a" not found')


async def test_bearer_token_and_unauthorized() -> None:
    """The token travels as a bearer header; a wrong one gets Unauthorized."""
    async with stub_server([("GET", CM, echo)]) as stub:
        async with HTTPClient(stub.url, token=TOKEN) as client:
            assert (await client.get("configmaps", "a"))["metadata"]["name"] == "a"
        assert stub.requests(CM)[0].headers["Authorization"] == f"Bearer {TOKEN}"
        async with HTTPClient(stub.url, token="wrong") as client:
            with pytest.raises(errors.Unauthorized):
                await client.version()


async def test_status_reply_raises_its_error() -> None:
    """A Status reply raises the matching error with the server's message."""
    async with stub_server([("GET", CM, missing)]) as stub, \
            HTTPClient(stub.url, token=TOKEN) as client:
        with pytest.raises(errors.NotFound, match='configmaps "a" not found'):
            await client.get("cm", "a")


async def test_unreachable_names_the_server() -> None:
    """Nothing listening: one line naming the server URL, as an APIError."""
    async with stub_server() as stub:
        url = stub.url
    async with HTTPClient(url, token=TOKEN) as client:
        with pytest.raises(ServerUnreachable) as caught:
            await client.get("pods", "x")
    assert isinstance(caught.value, errors.APIError)
    assert str(caught.value) == (f"The connection to the server {url} was refused - did you "
                                 f"specify the right host or port?")


async def test_write_requests() -> None:
    """Writes use kube's verbs, paths, patch Content-Types and DeleteOptions bodies."""
    routes = [(m, p, echo) for m in ("PUT", "PATCH", "DELETE")
              for p in (CM, CM + "/status")] + [("POST", "/api/v1/namespaces/ns1/configmaps",
                                                 echo)]
    async with stub_server(routes) as stub, HTTPClient(stub.url, token=TOKEN) as client:
        created = await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "a"}}, "ns1")
        assert created["metadata"]["name"] == "a"
        await client.update(configmap("a", 5))
        await client.update_status(configmap("a", 5))
        await client.patch("cm", "a", [{"op": "add", "path": "/data", "value": {}}],
                           patch_type=PatchType.JSON)
        await client.patch("cm", "a", {"status": {}}, subresource="status")
        await client.delete("cm", "a", propagation_policy=PropagationPolicy.FOREGROUND,
                            resource_version="5", grace_period_seconds=0)
    patches = stub.requests(CM, "PATCH") + stub.requests(CM + "/status", "PATCH")
    assert [p.headers["Content-Type"] for p in patches] == [PatchType.JSON.value,
                                                            PatchType.MERGE.value]
    assert len(stub.requests(CM + "/status", "PUT")) == 1
    assert orjson.loads(stub.requests(CM, "DELETE")[0].body) == {
        "kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground",
        "preconditions": {"resourceVersion": "5"}, "gracePeriodSeconds": 0}


@pytest.mark.parametrize("obj,words,cls", [
    pytest.param({"kind": "ConfigMap", "metadata": {"name": "a"}}, "apiVersion not set",
                 errors.BadRequest, id="no-apiversion"),
    pytest.param({"apiVersion": "v9", "kind": "Gadget", "metadata": {"name": "a"}},
                 'no matches for kind "Gadget" in version "v9"', errors.NotFound,
                 id="unknown-kind"),
])
async def test_bad_objects_fail_before_sending(obj: dict[str, Any], words: str,
                                               cls: type) -> None:
    """Objects the API server would reject for their type fail with its error, unsent."""
    async with stub_server() as stub, HTTPClient(stub.url, token=TOKEN) as client:
        with pytest.raises(cls, match=words):
            await client.create(obj)
    assert [s.method for s in stub.seen if s.method != "GET"] == []


async def test_new_kinds_resolve_after_refresh() -> None:
    """A kind discovery did not know resolves once the server serves it (refresh on miss)."""
    async with stub_server() as stub, HTTPClient(stub.url, token=TOKEN) as client:
        with pytest.raises(errors.NotFound, match='doesn\'t have a resource type "rf"'):
            await client.resolve("rf")
        stub.resources.append(FAILOVER)
        assert (await client.resolve("rf")).kind == "RedisFailover"
        assert (await client.resolve("redisfailovers.databases")).custom
        assert len(stub.requests("/api")) == 3  # first use, the miss, the refresh


async def test_legacy_discovery() -> None:
    """Without aggregated discovery the per-group documents are read instead."""
    async with stub_server(aggregated=False) as stub, \
            HTTPClient(stub.url, token=TOKEN) as client:
        assert (await client.resolve("deploy")).key == "deployments.apps"
        assert (await client.resolve("po")).has_status
        assert stub.requests("/apis/apps/v1")


def test_unusable_ca_is_refused_up_front() -> None:
    """CA data without a certificate fails when the client is made, in one line."""
    with pytest.raises(ValueError, match="not a usable PEM certificate"):
        HTTPClient("https://127.0.0.1:6443", ca_pem=b"-----BEGIN CERTIFICATE-----\nxx\n")
    with pytest.raises(ValueError, match="not an http"):
        HTTPClient("127.0.0.1:6443")
