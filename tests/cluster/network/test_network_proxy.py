"""The service proxy: ClusterIP listeners forwarding TCP to ready endpoints."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from cluster.network import proxy
from tests.cluster.conftest import WaitFor
from tests.cluster.network.conftest import Net, echo, roundtrip, tagged_echo

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


async def listening(net: Net, name: str, port: int = 7000) -> proxy.ServicePort:
    """Wait until the proxy listens for the Service's port; return that listener."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2
    while True:
        found = net.network.proxy.port("default", name, port)
        if found is not None and found.listening:
            return found
        if loop.time() > deadline:
            pytest.fail(f"proxy never listened for {name}:{port}")
        await asyncio.sleep(0.001)


async def test_forwards_to_ready_endpoint_and_follows_it(net: Net, wait_for: WaitFor) -> None:
    """Traffic to the Service reaches its endpoint; when it moves, the old connection
    closes and new ones reach the new endpoint."""
    a, b, client = await net.pod("a"), await net.pod("b"), await net.pod("client")
    await a.start_server(tagged_echo("a"), 7000)
    await b.start_server(tagged_echo("b"), 7000)
    await net.service("web")
    await net.endpoints("web", [a])
    port = await listening(net, "web")
    await wait_for(lambda: port.backends == [proxy.Backend(a.ip, 7000)])

    reader, writer = await client.open_connection("web", 7000)
    assert await roundtrip(reader, writer, b"hello") == b"a:hello"

    await net.endpoints("web", [b])
    assert await asyncio.wait_for(reader.read(100), 2) == b""
    writer.close()

    reader, writer = await client.open_connection("web.default.svc.cluster.local", 7000)
    assert await roundtrip(reader, writer, b"again") == b"b:again"
    writer.close()


async def test_not_ready_endpoints_get_no_traffic(net: Net, wait_for: WaitFor) -> None:
    """Connections are spread over ready endpoints only, round-robin."""
    a, b, c = await net.pod("a"), await net.pod("b"), await net.pod("c")
    for sandbox in (a, b, c):
        await sandbox.start_server(tagged_echo(sandbox.name), 7000)
    client = await net.pod("client")
    await net.service("web")
    await net.endpoints("web", [a, c], not_ready=[b])
    port = await listening(net, "web")
    await wait_for(lambda: len(port.backends) == 2)
    seen: Counter[str] = Counter()
    for _ in range(6):
        reader, writer = await client.open_connection("web", 7000)
        seen[(await roundtrip(reader, writer, b"x")).decode().split(":")[0]] += 1
        writer.close()
    assert seen == {"a": 3, "c": 3}


async def test_no_ready_endpoint_resets(net: Net, wait_for: WaitFor) -> None:
    """With only not-ready endpoints, a connection is refused at once rather than hung."""
    a = await net.pod("a")
    await a.start_server(echo, 7000)
    client = await net.pod("client")
    await net.service("web")
    await net.endpoints("web", [], not_ready=[a])
    await listening(net, "web")
    reader, writer = await client.open_connection("web", 7000)
    writer.write(b"x")
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        data = await asyncio.wait_for(reader.read(10), 2)
        if data == b"":
            raise asyncio.IncompleteReadError(b"", 1)
    writer.close()


async def test_named_port_and_plain_client(net: Net, wait_for: WaitFor) -> None:
    """A named Service port maps to the same-named endpoint port; clients outside any
    pod (plain sockets) use the ClusterIP too."""
    a = await net.pod("a")
    await a.start_server(echo, 6379)
    svc = await net.service("redis", ports=[{"name": "redis", "port": 6379,
                                             "targetPort": "redis"}])
    await net.endpoints("redis", [a], port=6379, port_name="redis")
    port = await listening(net, "redis", 6379)
    await wait_for(lambda: bool(port.backends))
    reader, writer = await asyncio.open_connection(svc["spec"]["clusterIP"], 6379)
    assert await roundtrip(reader, writer, b"PING") == b"PING"
    writer.close()
    await writer.wait_closed()


async def test_deleting_service_closes_listener(net: Net, wait_for: WaitFor) -> None:
    """A deleted Service stops listening and drops its forwarded connections."""
    a, client = await net.pod("a"), await net.pod("client")
    await a.start_server(echo, 7000)
    svc = await net.service("web")
    await net.endpoints("web", [a])
    port = await listening(net, "web")
    await wait_for(lambda: bool(port.backends))
    reader, writer = await client.open_connection("web", 7000)
    assert await roundtrip(reader, writer, b"hi") == b"hi"
    await net.client.delete("services", "web", "default")
    assert await asyncio.wait_for(reader.read(10), 2) == b""
    writer.close()
    with pytest.raises(OSError):
        await client.open_connection(svc["spec"]["clusterIP"], 7000)


async def test_large_transfer_with_half_close(net: Net, wait_for: WaitFor) -> None:
    """Megabytes pass through intact, and a client's EOF reaches the endpoint."""
    a, client = await net.pod("a"), await net.pod("client")
    await a.start_server(echo, 7000)
    await net.service("web")
    await net.endpoints("web", [a])
    port = await listening(net, "web")
    await wait_for(lambda: bool(port.backends))
    payload = bytes(range(256)) * 20_000
    reader, writer = await client.open_connection("web", 7000)

    async def send() -> None:
        writer.write(payload)
        await writer.drain()
        writer.write_eof()

    sender = asyncio.create_task(send())
    received = await asyncio.wait_for(reader.read(-1), 10)
    await sender
    assert received == payload
    writer.close()
