"""`HTTPWatch` against a scripted server: resume after drops, Expired, list-then-watch."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from cluster.api import errors
from cluster.api.watch import EventType
from cluster.http.client import HTTPClient, HTTPClientSettings, ServerUnreachable
from tests.cluster.http.client_stub import (
    TOKEN,
    Stub,
    configmap,
    event_line,
    json_reply,
    status_reply,
    stub_server,
)
from tests.waiting import wait_until

PATH = "/api/v1/namespaces/default/configmaps"
FAST = HTTPClientSettings(watch_retry_initial_delay=0.01, watch_retry_max_delay=0.02,
                          watch_reconnect_attempts=3, request_timeout=5.0)


class ScriptedWatch:
    """Each watch connection plays the next script: lines to send, then close or hold."""

    def __init__(self, *scripts: tuple[list[bytes], str]) -> None:
        self.scripts = list(scripts)
        self.hold = asyncio.Event()
        self.opened = asyncio.Event()
        """A watch stream was answered (its headers sent)."""
        self.list_body: dict[str, Any] = {"kind": "ConfigMapList", "apiVersion": "v1",
                                          "metadata": {"resourceVersion": "10"}, "items": []}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") != "true":
            return json_reply(self.list_body)
        if not self.scripts:
            return status_reply(500, "InternalError", "no more scripts")
        lines, end = self.scripts.pop(0)
        if isinstance(lines, web.Response):
            return lines
        reply = web.StreamResponse(headers={"Content-Type": "application/json"})
        reply.enable_chunked_encoding()
        await reply.prepare(request)
        self.opened.set()
        for line in lines:
            await reply.write(line)
        if end == "hold":
            await self.hold.wait()
        elif end == "break":
            assert request.transport is not None
            request.transport.close()
            return reply
        await reply.write_eof()
        return reply


def watches(stub: Stub) -> list[dict[str, list[str]]]:
    return [s.query for s in stub.requests(PATH) if s.query.get("watch") == ["true"]]


async def test_resumes_from_last_revision_after_drop() -> None:
    """A stream the server ends (or breaks) is reopened from the last revision delivered."""
    script = ScriptedWatch(
        ([event_line("ADDED", configmap("a", 11)), event_line("MODIFIED", configmap("a", 12))],
         "close"),
        ([event_line("BOOKMARK", {"kind": "ConfigMap", "metadata": {"resourceVersion": "14"}})],
         "break"),
        ([event_line("DELETED", configmap("a", 15))], "hold"))
    async with stub_server([("GET", PATH, script.handle)]) as stub, \
            HTTPClient(stub.url, token=TOKEN, settings=FAST) as client:
        got = []
        async with client.watch("configmaps", "default", resource_version=10,
                                label_selector="app=x") as watch:
            async for event in watch:
                got.append((event.type, event.object["metadata"]["name"], event.revision))
                if len(got) == 3:
                    break
        script.hold.set()
    assert got == [(EventType.ADDED, "a", 11), (EventType.MODIFIED, "a", 12),
                   (EventType.DELETED, "a", 15)]
    assert [q["resourceVersion"] for q in watches(stub)] == [["10"], ["12"], ["14"]]
    assert all(q["labelSelector"] == ["app=x"] for q in watches(stub))
    # Each request asks the server to end it within [t, 2t] (client-go's rule), so a
    # silent server or a connection lost without a reset cannot hold a watch forever.
    timeout = FAST.watch_timeout
    assert all(timeout <= int(q["timeoutSeconds"][0]) <= 2 * timeout for q in watches(stub))


async def test_no_revision_lists_first() -> None:
    """Without a revision the watch lists, delivers ADDED at the list's revision, then
    watches from it."""
    script = ScriptedWatch(([event_line("MODIFIED", configmap("a", 11))], "hold"))
    script.list_body["items"] = [{"metadata": {"name": "a", "namespace": "default",
                                               "resourceVersion": "7"}}]
    async with stub_server([("GET", PATH, script.handle)]) as stub, \
            HTTPClient(stub.url, token=TOKEN, settings=FAST) as client:
        watch = client.watch("cm", "default")
        first, second = await anext(watch), await anext(watch)
        await watch.close()
        script.hold.set()
    assert (first.type, first.revision, first.object["kind"]) == (EventType.ADDED, 10,
                                                                  "ConfigMap")
    assert (second.type, second.revision) == (EventType.MODIFIED, 11)
    assert watches(stub)[0]["resourceVersion"] == ["10"]


@pytest.mark.parametrize("script", [
    pytest.param((status_reply(410, "Expired", "too old resource version: 3 (9)"), "close"),
                 id="410-reply"),
    pytest.param(([event_line("ERROR", {"kind": "Status", "status": "Failure", "code": 410,
                                        "reason": "Expired",
                                        "message": "too old resource version: 3 (9)"})],
                  "hold"), id="error-event"),
])
async def test_expired_raises_and_stays_raised(script: Any) -> None:
    """A 410 or an ERROR Expired event raises errors.Expired, again on every next step."""
    scripted = ScriptedWatch(script)
    async with stub_server([("GET", PATH, scripted.handle)]) as stub, \
            HTTPClient(stub.url, token=TOKEN, settings=FAST) as client:
        watch = client.watch("configmaps", "default", resource_version=3)
        with pytest.raises(errors.Expired, match="too old resource version"):
            await anext(watch)
        with pytest.raises(errors.Expired):
            await anext(watch)
        scripted.hold.set()
        await watch.close()


async def test_gives_up_after_reconnects_fail() -> None:
    """When reconnects keep failing the watch raises ServerUnreachable naming the server."""
    script = ScriptedWatch(([event_line("ADDED", configmap("a", 11))], "close"))
    async with stub_server([("GET", PATH, script.handle)]) as stub:
        client = HTTPClient(stub.url, token=TOKEN, settings=FAST)
        watch = client.watch("configmaps", "default", resource_version=10)
        assert (await anext(watch)).revision == 11
    # The server is gone: reconnecting is refused every time.
    with pytest.raises(ServerUnreachable, match=f"connection to the server {stub.url} was "
                                                "refused"):
        await anext(watch)
    await watch.close()
    await client.close()


async def test_close_wakes_a_waiting_reader() -> None:
    """Closing a watch another task is reading ends that task's iteration at once."""
    script = ScriptedWatch(([], "hold"))
    async with stub_server([("GET", PATH, script.handle)]) as stub, \
            HTTPClient(stub.url, token=TOKEN, settings=FAST) as client:
        watch = client.watch("configmaps", "default", resource_version=10)
        await watch.__aenter__()

        async def drain() -> list[Any]:
            return [event async for event in watch]

        reader = asyncio.create_task(drain())
        await wait_until(lambda: len(watches(stub)) == 1 and script.opened.is_set(), 5,
                         "the watch request reached the stub")
        assert not reader.done()
        await watch.close()
        assert await asyncio.wait_for(reader, 2.0) == []
        script.hold.set()
    assert watch.connections == 1


async def test_first_connect_failure_is_immediate() -> None:
    """A watch whose first connection is refused fails at once, without retrying."""
    async with stub_server() as stub:
        client = HTTPClient(stub.url, token=TOKEN, settings=FAST)
        await client.resolve("pods")  # discovery is cached; only the watch will fail
    watch = client.watch("pods", resource_version=1)
    with pytest.raises(ServerUnreachable, match="refused"):
        await anext(watch)
    assert watch.connections == 0
    await client.close()
