"""Watch streams over HTTP: chunked JSON events, resume from a resourceVersion, 410 as
an ERROR event, timeouts, Tables, and closing the store's watcher when the client goes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from http_server_helpers import TABLE_ACCEPT, Served, configmap, pod, serving

from cluster.apiserver import APIServer
from cluster.store import Store, StoreSettings

PODS = "/api/v1/namespaces/default/pods"
CMS = "/api/v1/namespaces/default/configmaps"


async def _events(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """Each JSON line of a watch stream, as it arrives."""
    while True:
        line = await response.content.readline()
        if not line:
            return
        yield orjson.loads(line)


async def _next(events: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    return await asyncio.wait_for(anext(events), timeout=5)


async def _open(s: Served, path: str, **params: str) -> aiohttp.ClientResponse:
    response = await s.session.get(s.url + path, params={"watch": "true", **params})
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Transfer-Encoding"] == "chunked"
    return response


async def test_watch_without_version_starts_with_synthetic_added() -> None:
    """No resourceVersion: ADDED for what exists, then live changes as they happen."""
    async with serving() as s:
        s.api.create(configmap("old"), "default")
        response = await _open(s, CMS)
        events = _events(response)
        first = await _next(events)
        assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "old")
        assert first["object"]["kind"] == "ConfigMap"
        s.api.create(configmap("new"), "default")
        s.api.patch("configmaps", "new", {"data": {"a": "1"}}, "default")
        s.api.delete("configmaps", "old", "default")
        seen = [await _next(events) for _ in range(3)]
        assert [(e["type"], e["object"]["metadata"]["name"]) for e in seen] == [
            ("ADDED", "new"), ("MODIFIED", "new"), ("DELETED", "old")]
        response.close()


async def test_watch_from_a_version_replays_only_later_changes() -> None:
    """resourceVersion=N: only writes after N, none of the objects that already existed."""
    async with serving() as s:
        s.api.create(configmap("before"), "default")
        since = s.api.revision
        s.api.create(configmap("after"), "default")
        response = await _open(s, CMS, resourceVersion=str(since))
        events = _events(response)
        first = await _next(events)
        assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "after")
        response.close()


async def test_watch_selectors_filter_events() -> None:
    """labelSelector and fieldSelector apply to watch streams."""
    async with serving() as s:
        response = await _open(s, PODS, labelSelector="app=web")
        events = _events(response)
        s.api.create(pod("db", app="db"), "default")
        s.api.create(pod("web", app="web"), "default")
        first = await _next(events)
        assert first["object"]["metadata"]["name"] == "web"
        response.close()
        response = await _open(s, PODS, fieldSelector="metadata.name=db")
        events = _events(response)
        only = await _next(events)
        assert only["object"]["metadata"]["name"] == "db"
        response.close()


async def test_expired_version_is_an_error_event_with_410() -> None:
    """A compacted resourceVersion yields one ERROR event carrying a 410 Expired Status."""
    api = APIServer(store=Store(settings=StoreSettings(history=2)))
    async with serving(api) as s:
        for i in range(5):
            s.api.create(configmap(f"c{i}"), "default")
        async with s.session.get(s.url + CMS, params={"watch": "1", "resourceVersion": "1"}) as r:
            assert r.status == 200
            lines = (await r.read()).splitlines()
        assert len(lines) == 1
        event = orjson.loads(lines[0])
        assert event["type"] == "ERROR"
        assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"


async def test_timeout_seconds_ends_the_stream() -> None:
    """timeoutSeconds closes the stream cleanly and releases the store watcher."""
    async with serving() as s:
        async with s.session.get(s.url + CMS, params={"watch": "true",
                                                      "timeoutSeconds": "0"}) as r:
            assert r.status == 200
            assert await asyncio.wait_for(r.read(), timeout=5) == b""
        assert s.api.store.watcher_count("configmaps") == 0


async def test_client_going_away_closes_the_store_watcher(wait_for: Any) -> None:
    """When the client disconnects, the server closes the watch it held open."""
    async with serving() as s:
        response = await _open(s, CMS)
        await wait_for(lambda: s.api.store.watcher_count("configmaps") == 1)
        response.close()
        await wait_for(lambda: s.api.store.watcher_count("configmaps") == 0, timeout=5)


async def test_stopping_the_server_ends_open_watches(wait_for: Any) -> None:
    """stop() cancels open watch streams instead of waiting on them."""
    async with serving() as s:
        response = await _open(s, CMS)
        await wait_for(lambda: s.api.store.watcher_count("configmaps") == 1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await s.server.stop()
        assert loop.time() - started < 1  # aiohttp alone would wait its 2 s shutdown timeout
        assert s.api.store.watcher_count("configmaps") == 0
        response.close()


async def test_watch_with_table_accept_sends_one_row_tables() -> None:
    """Each event's object is a Table with one row; only the first carries columns."""
    async with serving() as s:
        s.api.create(pod("p1"), "default")
        response = await s.session.get(s.url + PODS, params={"watch": "true"},
                                       headers={"Accept": TABLE_ACCEPT})
        events = _events(response)
        first = await _next(events)
        assert first["type"] == "ADDED" and first["object"]["kind"] == "Table"
        assert first["object"]["columnDefinitions"]
        assert [r["cells"][0] for r in first["object"]["rows"]] == ["p1"]
        s.api.patch("pods", "p1", {"metadata": {"labels": {"a": "b"}}}, "default")
        second = await _next(events)
        assert second["type"] == "MODIFIED" and second["object"]["kind"] == "Table"
        assert not second["object"]["columnDefinitions"]
        response.close()


async def test_send_initial_events_ends_with_a_bookmark() -> None:
    """sendInitialEvents=true: the existing objects, then the initial-events-end bookmark."""
    async with serving() as s:
        s.api.create(configmap("a"), "default")
        s.api.create(configmap("b"), "default")
        response = await _open(s, CMS, sendInitialEvents="true",
                               resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true")
        events = _events(response)
        seen = [await _next(events) for _ in range(3)]
        assert [e["type"] for e in seen] == ["ADDED", "ADDED", "BOOKMARK"]
        mark = seen[2]["object"]
        assert mark["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        assert mark["metadata"]["resourceVersion"] == str(s.api.revision)
        response.close()


async def test_bad_watch_parameters_fail_before_the_stream() -> None:
    """A malformed resourceVersion or selector is a 400 Status, not a stream."""
    async with serving() as s:
        for params in ({"resourceVersion": "abc"}, {"labelSelector": "a in (b"},
                       {"timeoutSeconds": "soon"}):
            reply = await s.call("GET", CMS, params={"watch": "true", **params})
            assert reply.status == 400 and reply.body["reason"] == "BadRequest"
        assert s.api.store.watcher_count("configmaps") == 0
        missing = await s.call("GET", "/api/v1/namespaces/default/widgets",
                               params={"watch": "true"})
        assert missing.status == 404
