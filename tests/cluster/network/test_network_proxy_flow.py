"""The service proxy's forwarding path: back-pressure, resets and half-closes."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from cluster.network import proxy
from tests.cluster.conftest import WaitFor
from tests.cluster.network.conftest import Net, echo, roundtrip
from tests.cluster.network.test_network_proxy import listening

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

PAYLOAD = bytes(range(256)) * 32 * 1024
"""8 MiB: more than a small receive buffer, the proxy's socket buffer and its high-water
mark together."""


async def _plain_client(ip: str, port: int, *, rcvbuf: int | None = None) -> socket.socket:
    """A connected non-blocking socket from outside any pod (small receive buffer if asked)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (ip, port))
    return sock


async def _service_to(net: Net, wait_for: WaitFor, handler: object) -> tuple[str, proxy.ServicePort]:
    pod = await net.pod("a")
    await pod.start_server(handler, 7000)  # type: ignore[arg-type]
    svc = await net.service("web")
    await net.endpoints("web", [pod])
    port = await listening(net, "web")
    await wait_for(lambda: bool(port.backends))
    return svc["spec"]["clusterIP"], port


async def test_slow_reader_pauses_the_endpoint_and_loses_nothing(net: Net,
                                                                  wait_for: WaitFor) -> None:
    """While the client does not read, what the proxy holds for it stops near the
    high-water mark (it stops reading from the endpoint); then everything arrives intact."""
    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(PAYLOAD)
        await writer.drain()
        writer.close()

    cluster_ip, port = await _service_to(net, wait_for, flood)
    sock = await _plain_client(cluster_ip, 7000, rcvbuf=16 * 1024)
    await wait_for(lambda: port.connection_count() == 1)
    (pipe,) = next(iter(port.pipes.values()))
    await wait_for(lambda: "flow" in pipe.upstream.pauses, timeout=10)
    settings = net.network.proxy.settings
    held = len(pipe.client.pending or b"")
    assert settings.write_buffer_high < held <= settings.write_buffer_high + settings.read_buffer

    reader, writer = await asyncio.open_connection(sock=sock)
    assert await asyncio.wait_for(reader.read(-1), 10) == PAYLOAD
    writer.close()
    await wait_for(lambda: port.connection_count() == 0)


async def test_client_reset_ends_the_upstream_connection(net: Net, wait_for: WaitFor) -> None:
    """A client that resets its connection: the endpoint sees its connection end and the
    proxy forgets the pipe."""
    ended = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
        except ConnectionError:
            pass
        ended.set()
        writer.close()

    cluster_ip, port = await _service_to(net, wait_for, hold)
    sock = await _plain_client(cluster_ip, 7000)
    reader, writer = await asyncio.open_connection(sock=sock)
    assert await roundtrip(reader, writer, b"hello") == b"hello"
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    await asyncio.wait_for(ended.wait(), 2)
    await wait_for(lambda: port.connection_count() == 0)


async def test_endpoint_half_close_reaches_the_client(net: Net, wait_for: WaitFor) -> None:
    """The endpoint's EOF after its reply reaches the client, which can still send; the
    pipe ends once both sides have closed."""
    got: list[bytes] = []

    async def answer_then_shut(reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
        writer.write(b"bye")
        writer.write_eof()
        got.append(await reader.read(-1))
        writer.close()

    cluster_ip, port = await _service_to(net, wait_for, answer_then_shut)
    reader, writer = await asyncio.open_connection(sock=await _plain_client(cluster_ip, 7000))
    assert await asyncio.wait_for(reader.read(-1), 2) == b"bye"
    writer.write(b"late words")
    writer.write_eof()
    await wait_for(lambda: got == [b"late words"])
    await wait_for(lambda: port.connection_count() == 0)
    writer.close()


async def test_many_connections_pipelined_at_once(net: Net, wait_for: WaitFor) -> None:
    """Fifty clients each with several requests in flight all get their own bytes back."""
    cluster_ip, port = await _service_to(net, wait_for, echo)

    async def client(n: int) -> bytes:
        reader, writer = await asyncio.open_connection(
            sock=await _plain_client(cluster_ip, 7000))
        message = f"client {n};".encode() * 16
        for _ in range(20):
            writer.write(message)
        writer.write_eof()
        data = await asyncio.wait_for(reader.read(-1), 5)
        writer.close()
        return data

    replies = await asyncio.gather(*(client(n) for n in range(50)))
    assert replies == [f"client {n};".encode() * 16 * 20 for n in range(50)]
    await wait_for(lambda: port.connection_count() == 0)
