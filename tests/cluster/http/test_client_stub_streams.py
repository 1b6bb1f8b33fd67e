"""`pods/log` and `pods/exec` through `HTTPClient` against a scripted server."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiohttp import WSMsgType, web

from cluster.api import errors, podio
from cluster.http.client import HTTPClient
from tests.cluster.http.client_stub import TOKEN, status_reply, stub_server

LOG = "/api/v1/namespaces/default/pods/p/log"
EXEC = "/api/v1/namespaces/default/pods/p/exec"
T = 1_700_000_000.5
LINES = [f"{podio.rfc3339_nano(T + i)} line {i}\n".encode() for i in range(3)]


async def logs(request: web.Request) -> web.StreamResponse:
    """All lines at once, or (follow) in chunks that cut lines in odd places."""
    body = b"".join(LINES)
    if request.query.get("follow") != "true":
        return web.Response(body=body, content_type="text/plain")
    reply = web.StreamResponse(headers={"Content-Type": "text/plain"})
    reply.enable_chunked_encoding()
    await reply.prepare(request)
    for start in range(0, len(body), 7):
        await reply.write(body[start:start + 7])
    await reply.write(b"no newline at the end")
    await reply.write_eof()
    return reply


async def test_pod_logs_parse_times() -> None:
    """Lines come back with the times the server stamped; the options become the query."""
    async with stub_server([("GET", LOG, logs)]) as stub, \
            HTTPClient(stub.url, token=TOKEN) as client:
        got = await client.pod_logs("p", container="c", previous=True, tail_lines=3)
    assert [(line.time, line.text) for line in got] == [(T + i, f"line {i}") for i in range(3)]
    assert stub.requests(LOG)[0].query == {"timestamps": ["true"], "container": ["c"],
                                           "previous": ["true"], "tailLines": ["3"]}


async def test_follow_pod_logs_reassembles_lines() -> None:
    """A followed stream yields whole lines whatever the chunking, then its tail."""
    async with stub_server([("GET", LOG, logs)]) as stub, \
            HTTPClient(stub.url, token=TOKEN) as client:
        got = [line.text async for line in client.follow_pod_logs("p")]
    assert got == ["line 0", "line 1", "line 2", "no newline at the end"]


async def test_follow_errors_on_first_step() -> None:
    """A refused follow raises the Status's error from the first step of the iteration."""
    async def refuse(request: web.Request) -> web.StreamResponse:
        return status_reply(400, "BadRequest", "container c is not valid for pod p")

    async with stub_server([("GET", LOG, refuse)]) as stub, \
            HTTPClient(stub.url, token=TOKEN) as client:
        stream = client.follow_pod_logs("p", container="c")
        with pytest.raises(errors.BadRequest, match="container c is not valid"):
            await anext(stream)


class ExecServer:
    """Echo stdin to stdout until channel 0 is closed; exit with the last byte's code."""

    def __init__(self) -> None:
        self.protocol = ""
        self.closed_stdin = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.getall("command") == ["missing"]:
            return status_reply(404, "NotFound", 'pods "p" not found')
        ws = web.WebSocketResponse(protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"))
        await ws.prepare(request)
        self.protocol = ws.ws_protocol or ""
        command = request.query.getall("command")
        if command == ["sleep"]:
            await ws.receive()  # until the client goes away
            return ws
        received = bytearray()
        if request.query.get("stdin") == "true":
            async for message in ws:
                assert message.type is WSMsgType.BINARY
                if message.data == b"\xff\x00":
                    self.closed_stdin = True
                    break
                received += message.data[1:]
        await ws.send_bytes(b"\x01" + bytes(received))
        await ws.send_bytes(b"\x02" + " ".join(command).encode())
        code = received[-1] - ord("0") if received else 0
        status = {"metadata": {}, "status": "Success"} if code == 0 else {
            "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: exit {code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
        await ws.send_bytes(b"\x03" + orjson.dumps(status))
        await ws.close()
        return ws


async def test_exec_round_trip() -> None:
    """stdin goes in on channel 0 then is closed (v5); stdout, stderr, exit code come back."""
    server = ExecServer()
    async with stub_server([("GET", EXEC, server.handle)]) as stub, \
            HTTPClient(stub.url, token=TOKEN) as client:
        result = await client.pod_exec("p", command=["cat", "-"], container="c",
                                       stdin=b"x" * 70_000 + b"3")
        quiet = await client.pod_exec("p", command=["true"])
    assert server.protocol == "v5.channel.k8s.io" and server.closed_stdin
    assert result == podio.ExecResult(3, b"x" * 70_000 + b"3", b"cat -")
    assert quiet == podio.ExecResult(0, b"", b"true")
    query = stub.requests(EXEC)[0].query
    assert query["command"] == ["cat", "-"] and query["container"] == ["c"]
    assert stub.requests(EXEC)[1].query["stdin"] == ["false"]


async def test_exec_refused_upgrade_raises_status() -> None:
    """An exec refused before the upgrade raises the Status the server sent."""
    async with stub_server([("GET", EXEC, ExecServer().handle)]) as stub, \
            HTTPClient(stub.url, token=TOKEN) as client:
        with pytest.raises(errors.NotFound, match='pods "p" not found'):
            await client.pod_exec("p", command=["missing"])


async def test_exec_timeout() -> None:
    """A command outliving `timeout` raises TimeoutError and the socket is closed."""
    async with stub_server([("GET", EXEC, ExecServer().handle)]) as stub, \
            HTTPClient(stub.url, token=TOKEN) as client:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await client.pod_exec("p", command=["sleep"], timeout=0.2)
        assert loop.time() - started < 2.0
