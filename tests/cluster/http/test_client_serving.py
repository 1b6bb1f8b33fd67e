"""`HTTPClient` against `redisha serve`'s server (HTTPS, kubeconfig) over an embedded cluster."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cluster.api import errors
from cluster.api.options import PatchType
from cluster.api.watch import EventType
from cluster.embedded import EmbeddedCluster
from cluster.http.client import HTTPClient, HTTPClientSettings, ServerUnreachable
from redisha.serve import Served, serving
from tests.cluster.conftest import WaitFor
from tests.cluster.pod_io_helpers import Feed, pod, started, toolbox_cluster

SETTINGS = HTTPClientSettings(request_timeout=10.0, watch_reconnect_attempts=200,
                              watch_retry_initial_delay=0.005, watch_retry_max_delay=0.02)


@dataclass
class World:
    """A one-node toolbox cluster served over HTTPS, and an HTTPClient from its kubeconfig."""

    cluster: EmbeddedCluster
    feed: Feed
    served: Served
    client: HTTPClient
    state_dir: Path
    stack: contextlib.AsyncExitStack
    """Holds the running server (`restarted` stops and starts it)."""


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with toolbox_cluster(nodes=1) as (cluster, feed):
        stack = contextlib.AsyncExitStack()
        served = await stack.enter_async_context(
            serving(cluster.client.apiserver, state_dir=tmp_path))
        world = World(cluster, feed, served,
                      HTTPClient.from_kubeconfig(served.kubeconfig, settings=SETTINGS),
                      tmp_path, stack)
        try:
            yield world
        finally:
            await world.client.close()
            await world.stack.aclose()


def configmap(name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


async def test_crud_round_trip(world: World) -> None:
    """Create, get, update, patch (three kinds), delete, with the API server's errors."""
    c = world.client
    created = await c.create(configmap("cm"))
    assert created["metadata"]["namespace"] == "default" and created["kind"] == "ConfigMap"
    with pytest.raises(errors.AlreadyExists, match='configmaps "cm" already exists'):
        await c.create(configmap("cm"))
    got = await c.get("cm", "cm")
    got["data"]["k"] = "v2"
    updated = await c.update(got)
    assert updated["data"] == {"k": "v2"}
    with pytest.raises(errors.Conflict):
        await c.update(got)  # its resourceVersion is stale now
    await c.patch("configmaps", "cm", {"data": {"m": "1"}})
    await c.patch("configmaps", "cm", {"metadata": {"labels": {"a": "b"}}},
                  patch_type=PatchType.STRATEGIC)
    patched = await c.patch("configmaps", "cm", [{"op": "remove", "path": "/data/k"}],
                            patch_type=PatchType.JSON)
    assert patched["data"] == {"m": "1"} and patched["metadata"]["labels"] == {"a": "b"}
    gone = await c.delete("configmaps", "cm")
    assert (gone["kind"], gone["metadata"]["name"], gone["metadata"]["uid"]) == (
        "ConfigMap", "cm", created["metadata"]["uid"])
    with pytest.raises(errors.NotFound, match='configmaps "cm" not found'):
        await c.get("configmaps", "cm")
    with pytest.raises(errors.Invalid) as invalid:
        await c.create(configmap("Not_Valid"))
    assert invalid.value.details["causes"][0]["field"] == "metadata.name"


async def test_list_with_selectors(world: World) -> None:
    """Lists honour namespaces, label and field selectors, and carry the store revision."""
    c = world.client
    await c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    await c.create(configmap("a", app="web"))
    await c.create(configmap("b", app="db"))
    await c.create(configmap("c", "other", app="web"))
    web_here = await c.list("cm", "default", label_selector="app=web")
    assert [o["metadata"]["name"] for o in web_here.items] == ["a"]
    everywhere = await c.list("configmaps", label_selector="app=web")
    assert sorted(o["metadata"]["name"] for o in everywhere.items) == ["a", "c"]
    named = await c.list("configmaps", field_selector="metadata.name=b")
    assert [(o["kind"], o["metadata"]["name"]) for o in named.items] == [("ConfigMap", "b")]
    assert named.resource_version == world.cluster.client.apiserver.revision


async def test_discovery_version_and_crds(world: World) -> None:
    """Version, kinds by any name, and a CRD's kind (with its columns) once it exists."""
    c = world.client
    assert (await c.version())["minor"] == "32"
    assert (await c.resolve("deploy")).key == "deployments.apps"
    assert {rt.key for rt in await c.resources()} >= {"pods", "statefulsets.apps"}
    columns = [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]
    await c.create({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                           "shortNames": ["wd"]},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "subresources": {"status": {}},
                               "additionalPrinterColumns": columns,
                               "schema": {"openAPIV3Schema": {
                                   "type": "object",
                                   "x-kubernetes-preserve-unknown-fields": True}}}]}})
    rt = await c.resolve("wd")
    assert (rt.kind, rt.custom, rt.printer_columns) == ("Widget", True, tuple(columns))
    made = await c.create({"apiVersion": "example.com/v1", "kind": "Widget",
                           "metadata": {"name": "w"}, "spec": {"size": 3}})
    assert made["spec"] == {"size": 3}
    assert [o["metadata"]["name"] for o in (await c.list("widgets")).items] == ["w"]
    made["status"], made["spec"] = {"ready": 1}, {"size": 9}
    written = await c.update_status(made)
    assert (written["status"], written["spec"]) == ({"ready": 1}, {"size": 3})
    patched = await c.patch("wd", "w", {"status": {"ready": 2}}, subresource="status")
    assert patched["status"] == {"ready": 2}
    await c.delete("crd", "widgets.example.com")
    with pytest.raises(errors.NotFound):
        await c.list("wd")  # discovery still had it: the server's 404 makes it look again
    with pytest.raises(errors.NotFound, match='doesn\'t have a resource type "wd"'):
        await c.resolve("wd")


async def test_watch_without_revision_lists_first(world: World) -> None:
    """From no revision: ADDED for what exists, stamped with the list's revision, then
    the changes after it."""
    c, api = world.client, world.cluster.client.apiserver
    await c.create(configmap("old"))
    async with c.watch("configmaps", "default", field_selector="metadata.name!=x") as w:
        first = await anext(w)
        assert (first.type, first.object["metadata"]["name"]) == (EventType.ADDED, "old")
        assert first.revision == api.revision
        await c.create(configmap("new"))
        second = await anext(w)
    assert (second.type, second.object["metadata"]["name"]) == (EventType.ADDED, "new")


async def test_bind(world: World) -> None:
    """Binding a pending pod answers a Success Status and sets its node."""
    c = world.client
    stuck = pod("stuck", node_selector={"nowhere": "true"})
    await c.create(stuck)
    node = next(iter(world.cluster.kubelets))
    status = await c.bind("stuck", None, node)
    assert (status["kind"], status["status"]) == ("Status", "Success")
    assert (await c.get("pods", "stuck"))["spec"]["nodeName"] == node
    with pytest.raises(errors.Conflict):
        await c.bind("stuck", "default", node)


async def test_watch_sees_changes(world: World) -> None:
    """A watch from a list's revision sees a create, an update and a delete, in order."""
    c = world.client
    listed = await c.list("configmaps", "default")
    async with c.watch("configmaps", "default", resource_version=listed.resource_version) as w:
        await c.create(configmap("x"))
        await c.patch("configmaps", "x", {"data": {"k": "w"}})
        await c.delete("configmaps", "x")
        seen = []
        async for event in w:
            seen.append((event.type, event.object["metadata"]["name"]))
            assert event.revision == int(event.object["metadata"]["resourceVersion"])
            if len(seen) == 3:
                break
    assert seen == [(EventType.ADDED, "x"), (EventType.MODIFIED, "x"), (EventType.DELETED, "x")]


@contextlib.asynccontextmanager
async def restarted(world: World) -> AsyncIterator[None]:
    """Stop the HTTPS server (closing every stream), run the block, serve again on the
    same port and state (so the same kubeconfig works)."""
    port = int(world.served.url.rsplit(":", 1)[1])
    await world.stack.aclose()
    yield
    world.stack = contextlib.AsyncExitStack()
    world.served = await world.stack.enter_async_context(
        serving(world.cluster.client.apiserver, state_dir=world.state_dir, port=port))


async def test_watch_resumes_after_server_restart(world: World) -> None:
    """A watch whose server went away resumes from its last revision: nothing is lost
    or repeated of what changed while it was down."""
    api = world.cluster.client.apiserver
    w = world.client.watch("configmaps", "default", resource_version=api.revision)
    api.create(configmap("before"))
    assert (await anext(w)).object["metadata"]["name"] == "before"
    async with restarted(world):
        api.create(configmap("while-down"))
        api.delete("configmaps", "before", "default")
    api.create(configmap("after"))
    seen = [(e.type, e.object["metadata"]["name"]) for e in [await anext(w) for _ in range(3)]]
    await w.close()
    assert seen == [(EventType.ADDED, "while-down"), (EventType.DELETED, "before"),
                    (EventType.ADDED, "after")]
    assert w.connections == 2


async def test_expired_revision(world: World) -> None:
    """A watch from a compacted revision raises Expired (410 from the server)."""
    api = world.cluster.client.apiserver
    old = api.revision
    api.create(configmap("a"))
    api.store.compact(api.revision)
    with pytest.raises(errors.Expired):
        async with world.client.watch("configmaps", resource_version=old) as w:
            await anext(w)


async def test_informer_stays_in_sync(world: World, wait_for: WaitFor) -> None:
    """An informer over HTTP follows changes, and relists (Expired) after a restart
    that outlived the server's history, reporting what vanished meanwhile."""
    from cluster.informer import InformerFactory, InformerSettings

    api = world.cluster.client.apiserver
    factory = InformerFactory(world.client, settings=InformerSettings(retry_initial_delay=0.01,
                                                                      retry_max_delay=0.05))
    informer = await factory.informer("cm", "default")
    lists = 0
    plain_list = world.client.list

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal lists
        lists += 1
        return await plain_list(*args, **kwargs)

    world.client.list = counted  # type: ignore[method-assign]
    deleted: list[str] = []
    informer.add_handler(on_delete=lambda o: deleted.append(o["metadata"]["name"]))
    api.create(configmap("a"))
    await factory.start()
    try:
        assert await factory.wait_for_cache_sync(5.0)
        api.create(configmap("b"))
        await wait_for(lambda: informer.get("default/b") is not None, 5.0)
        async with restarted(world):
            api.delete("configmaps", "a", "default")
            api.create(configmap("c"))
            api.store.compact(api.revision)
        await wait_for(lambda: sorted(informer.keys()) == ["default/b", "default/c"], 5.0,
                       "informer relisted")
        assert deleted == ["a"] and lists == 2  # the first list and the relist
    finally:
        await factory.stop()


async def test_logs_and_follow(world: World) -> None:
    """Logs come back with their times; a follow sees new lines and ends with the attempt."""
    c = world.client
    await c.create(pod("talk"))
    await started(world.cluster, "talk")
    lines = await c.pod_logs("talk")
    assert [line.text for line in lines] == ["attempt 0"]
    in_process = world.cluster.client.apiserver.pod_logs("talk")
    assert abs(lines[0].time - in_process[0].time) < 1e-6
    follow = c.follow_pod_logs("talk")
    assert (await anext(follow)).text == "attempt 0"
    world.feed.say("talk", "hello")
    assert (await anext(follow)).text == "hello"
    assert [line.text for line in await c.pod_logs("talk", tail_lines=1)] == ["hello"]
    world.feed.say("talk", "exit 0")
    assert [line.text async for line in follow] == []


async def test_exec(world: World) -> None:
    """Exec returns output and exit codes; stdin reaches the command; errors are typed."""
    c = world.client
    await c.create(pod("box"))
    await started(world.cluster, "box")
    echoed = await c.pod_exec("box", command=["echo", "hi", "there"])
    assert (echoed.exit_code, echoed.stdout) == (0, b"hi there\n")
    piped = await c.pod_exec("box", command=["cat"], stdin=b"one\ntwo\n")
    assert piped.stdout == b"one\ntwo\n"
    failed = await c.pod_exec("box", command=["fail", "3"])
    assert (failed.exit_code, failed.stderr) == (3, b"boom\n")
    with pytest.raises(errors.NotFound, match='pods "nope" not found'):
        await c.pod_exec("nope", command=["echo"])


async def test_credentials_are_checked(world: World) -> None:
    """A wrong token is Unauthorized; a server certificate not trusted is unreachable."""
    async with HTTPClient(world.served.url, token="wrong", ca_pem=world.served.ca_pem) as bad:
        with pytest.raises(errors.Unauthorized):
            await bad.list("pods")
    async with HTTPClient(world.served.url, token=world.served.token) as untrusting:
        with pytest.raises(ServerUnreachable, match="certificate is not trusted"):
            await untrusting.list("pods")
    async with HTTPClient(world.served.url, token=world.served.token, insecure=True) as blind:
        assert (await blind.list("namespaces")).items
