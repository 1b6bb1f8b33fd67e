"""The kernel service proxy: ClusterIP:port DNATed by nftables to ready endpoints."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from cluster.apiserver import APIServer, APIServerSettings
from cluster.client import InProcessClient
from cluster.informer import InformerFactory
from cluster.network import (
    ClusterNetwork,
    NetworkSettings,
    claim_ranges,
    kernel_proxy,
    netlink,
)
from cluster.network.cluster_network import ProxyMode
from cluster.network.kernel_proxy import KernelProxy, KernelServicePort
from cluster.network.nftables import Nft, NftTable
from cluster.network.proxy import Backend
from tests.cluster.network.conftest import (
    Net,
    echo,
    roundtrip,
    started_net,
    tagged_echo,
)

REASON = kernel_proxy.unavailable_reason()
needs_kernel = pytest.mark.skipif(bool(REASON), reason=f"kernel proxy unusable here: {REASON}")

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

STALL = 0.3
"""How long traffic must stay stuck to count as stalled."""


@pytest.fixture
async def knet() -> AsyncIterator[Net]:
    """A network whose Services are proxied by nftables (and partitioned by it too)."""
    async with started_net(proxy_mode="nftables", kernel_partitions=True) as built:
        assert built.network.kernel_proxy
        yield built


async def served(net: Net, name: str, port: int = 7000, *, backends: int = 1
                 ) -> KernelServicePort:
    """Wait until the kernel holds the Service port's rules for `backends` endpoints."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2
    while True:
        found = net.network.proxy.port("default", name, port)
        if found is not None and found.listening and len(found.backends) == backends:
            assert isinstance(found, KernelServicePort)
            return found
        if loop.time() > deadline:
            pytest.fail(f"kernel proxy never served {name}:{port} with {backends} endpoint(s)")
        await asyncio.sleep(0.001)


async def dropped(reader: asyncio.StreamReader) -> bool:
    """The connection was ended under the reader (aborted, reset or EOF) within 2 s."""
    try:
        return await asyncio.wait_for(reader.read(100), 2) == b""
    except (ConnectionAbortedError, ConnectionResetError):
        return True


async def stalls(reader: asyncio.StreamReader) -> bool:
    try:
        await asyncio.wait_for(reader.read(100), STALL)
    except TimeoutError:
        return True
    return False


async def nft_tables() -> list[str]:
    listing = await asyncio.create_subprocess_exec("nft", "list", "tables",
                                                   stdout=asyncio.subprocess.PIPE)
    return (await listing.communicate())[0].decode().split()


# -- rules, without the kernel ----------------------------------------------------------------

@pytest.mark.parametrize(("backends", "rule"), [
    pytest.param([], "meta l4proto tcp reject with tcp reset", id="none-rejects"),
    pytest.param([Backend("127.8.0.2", 6379)], "meta l4proto tcp dnat to 127.8.0.2:6379",
                 id="one"),
    pytest.param([Backend("127.8.0.2", 6379), Backend("127.8.0.3", 6380)],
                 "meta l4proto tcp dnat ip addr . port to numgen inc mod 2 "
                 "map { 0 : 127.8.0.2 . 6379, 1 : 127.8.0.3 . 6380 }", id="round-robin"),
])
def test_endpoint_rule(backends: list[Backend], rule: str) -> None:
    """A port's chain DNATs to its one endpoint, round-robins over several, or rejects."""
    port = KernelServicePort(service=("default", "web"), cluster_ip="127.9.0.5", port=7000,
                             name="", backends=backends)
    assert kernel_proxy.endpoint_rule(port) == f'{rule} comment "default/web:7000"'
    assert kernel_proxy.dispatch_rule(port) == (
        "ip daddr 127.9.0.5 tcp dport 7000 goto svc/default/web/7000")


def test_unknown_proxy_mode_is_refused() -> None:
    """A proxy mode that does not exist fails with one line naming it and the choices."""
    ranges = claim_ranges()
    try:
        client = InProcessClient(APIServer(settings=APIServerSettings(
            service_cidr=ranges.service_cidr)))
        with pytest.raises(ValueError, match="unknown proxy mode 'ipvs'.*userspace, "
                                             "nftables, auto"):
            ClusterNetwork(client, InformerFactory(client), ranges=ranges,
                           settings=NetworkSettings(proxy_mode="ipvs"))
    finally:
        ranges.close()


def test_auto_falls_back_to_userspace(monkeypatch: pytest.MonkeyPatch) -> None:
    """`auto` without a usable kernel proxy runs the user-space one; `nftables` refuses
    to start, saying why."""
    monkeypatch.setattr(kernel_proxy, "unavailable_reason",
                        lambda nft=None: "conntrack cannot be read over netlink")
    ranges = claim_ranges()
    try:
        client = InProcessClient(APIServer(settings=APIServerSettings(
            service_cidr=ranges.service_cidr)))
        auto = ClusterNetwork(client, InformerFactory(client), ranges=ranges,
                              settings=NetworkSettings(proxy_mode="auto",
                                                       kernel_partitions=False))
        assert auto.proxy_mode is ProxyMode.USERSPACE and not auto.kernel_proxy
        with pytest.raises(RuntimeError, match="^proxy mode nftables requested but "
                                               "conntrack cannot be read over netlink$"):
            ClusterNetwork(client, InformerFactory(client), ranges=ranges,
                           settings=NetworkSettings(proxy_mode="nftables"))
    finally:
        ranges.close()


# -- in the kernel ----------------------------------------------------------------------------

@needs_kernel
async def test_auto_picks_nftables_when_usable() -> None:
    """Where the kernel proxy works, `auto` chooses it."""
    async with started_net(proxy_mode="auto") as net:
        assert net.network.proxy_mode is ProxyMode.NFTABLES
        assert isinstance(net.network.proxy, KernelProxy)


@needs_kernel
async def test_forwards_to_ready_endpoint_and_follows_it(knet: Net) -> None:
    """A fake pod reaches the endpoint through the ClusterIP; when the endpoint moves, its
    connection is dropped at once and new ones reach the new endpoint."""
    a, b, client = await knet.pod("a"), await knet.pod("b"), await knet.pod("client")
    await a.start_server(tagged_echo("a"), 7000)
    await b.start_server(tagged_echo("b"), 7000)
    await knet.service("web")
    await knet.endpoints("web", [a])
    port = await served(knet, "web")
    assert port.backends == [Backend(a.ip, 7000)]

    reader, writer = await client.open_connection("web", 7000)
    assert await roundtrip(reader, writer, b"hello") == b"a:hello"

    await knet.endpoints("web", [b])
    assert await dropped(reader)
    writer.close()

    reader, writer = await client.open_connection("web.default.svc.cluster.local", 7000)
    assert await roundtrip(reader, writer, b"again") == b"b:again"
    writer.close()


@needs_kernel
async def test_only_connections_to_the_leaving_endpoint_drop(knet: Net) -> None:
    """Of two endpoints, the one that leaves loses its connections; the other's live on."""
    a, b, client = await knet.pod("a"), await knet.pod("b"), await knet.pod("client")
    await a.start_server(tagged_echo("a"), 7000)
    await b.start_server(tagged_echo("b"), 7000)
    await knet.service("web")
    await knet.endpoints("web", [a, b])
    await served(knet, "web", backends=2)
    by_endpoint = {}
    for _ in range(2):
        reader, writer = await client.open_connection("web", 7000)
        tag = (await roundtrip(reader, writer, b"x")).split(b":")[0]
        by_endpoint[tag] = (reader, writer)
    assert set(by_endpoint) == {b"a", b"b"}

    await knet.endpoints("web", [a])
    await served(knet, "web", backends=1)
    assert await dropped(by_endpoint[b"b"][0])
    assert await roundtrip(*by_endpoint[b"a"], b"still") == b"a:still"
    for _, writer in by_endpoint.values():
        writer.close()


@needs_kernel
async def test_a_connection_through_the_service_is_found_by_its_tuple(knet: Net) -> None:
    """`Conntrack.flows_of` (a lookup per client socket, what the proxy does when an
    endpoint leaves) finds the connection DNATed to the endpoint; a tuple conntrack does
    not know is left out; `forget` deletes the entry."""
    a, client = await knet.pod("a"), await knet.pod("client")
    await a.start_server(tagged_echo("a"), 7000)
    await knet.service("web")
    await knet.endpoints("web", [a])
    port = await served(knet, "web")
    reader, writer = await client.open_connection("web", 7000)
    assert await roundtrip(reader, writer, b"x") == b"a:x"
    local = writer.get_extra_info("sockname")[:2]
    conntrack = netlink.Conntrack()
    try:
        flows = conntrack.flows_of([(local, port.destination),
                                    (("127.255.255.253", 1), port.destination)])
        assert [(f.client, f.replier) for f in flows] == [(local, (a.ip, 7000))]
        assert conntrack.forget(flows[0]) and not conntrack.forget(flows[0])
        assert conntrack.flows_of([(local, port.destination)]) == []
    finally:
        conntrack.close()
    writer.close()


@needs_kernel
async def test_round_robin_over_ready_endpoints_only(knet: Net) -> None:
    """New connections take the ready endpoints in turn; a not-ready one gets none."""
    a, b, c = await knet.pod("a"), await knet.pod("b"), await knet.pod("c")
    for sandbox in (a, b, c):
        await sandbox.start_server(tagged_echo(sandbox.name), 7000)
    client = await knet.pod("client")
    await knet.service("web")
    await knet.endpoints("web", [a, c], not_ready=[b])
    await served(knet, "web", backends=2)
    seen: Counter[str] = Counter()
    for _ in range(6):
        reader, writer = await client.open_connection("web", 7000)
        seen[(await roundtrip(reader, writer, b"x")).decode().split(":")[0]] += 1
        writer.close()
    assert seen == {"a": 3, "c": 3}


@needs_kernel
async def test_no_ready_endpoint_refuses(knet: Net) -> None:
    """A Service with no ready endpoint refuses connections at once, and serves them as
    soon as an endpoint is ready."""
    a = await knet.pod("a")
    await a.start_server(echo, 7000)
    svc = await knet.service("web")
    await knet.endpoints("web", [], not_ready=[a])
    await served(knet, "web", backends=0)
    cluster_ip = svc["spec"]["clusterIP"]
    with pytest.raises(ConnectionRefusedError):
        await asyncio.wait_for(asyncio.open_connection(cluster_ip, 7000), 2)

    await knet.endpoints("web", [a])
    await served(knet, "web")
    reader, writer = await asyncio.open_connection(cluster_ip, 7000)
    assert await roundtrip(reader, writer, b"up") == b"up"
    writer.close()
    await writer.wait_closed()


@needs_kernel
async def test_named_port_large_transfer_and_half_close(knet: Net) -> None:
    """A named port maps to the same-named endpoint port; from a plain socket outside any
    pod, megabytes pass intact and the client's EOF reaches the endpoint."""
    a = await knet.pod("a")
    await a.start_server(echo, 6379)
    svc = await knet.service("redis", ports=[{"name": "redis", "port": 6379,
                                              "targetPort": "redis"}])
    await knet.endpoints("redis", [a], port=6379, port_name="redis")
    await served(knet, "redis", 6379)
    payload = bytes(range(256)) * 20_000
    reader, writer = await asyncio.open_connection(svc["spec"]["clusterIP"], 6379)

    async def send() -> None:
        writer.write(payload)
        await writer.drain()
        writer.write_eof()

    sender = asyncio.create_task(send())
    assert await asyncio.wait_for(reader.read(-1), 10) == payload
    await sender
    writer.close()
    await writer.wait_closed()


@needs_kernel
async def test_deleting_service_drops_connections_and_rules(knet: Net) -> None:
    """A deleted Service's connections are dropped and its ClusterIP no longer answers."""
    a, client = await knet.pod("a"), await knet.pod("client")
    await a.start_server(echo, 7000)
    svc = await knet.service("web")
    await knet.endpoints("web", [a])
    await served(knet, "web")
    reader, writer = await client.open_connection("web", 7000)
    assert await roundtrip(reader, writer, b"hi") == b"hi"
    await knet.client.delete("services", "web", "default")
    assert await dropped(reader)
    writer.close()
    assert knet.network.proxy.port("default", "web", 7000) is None
    with pytest.raises(OSError):
        await asyncio.wait_for(client.open_connection(svc["spec"]["clusterIP"], 7000), 2)


@needs_kernel
async def test_partition_applies_to_dnated_flows(knet: Net) -> None:
    """Plain sockets bound to pod IPs (real processes) talking through a ClusterIP are cut
    by a partition between client and endpoint — established and new connections hang —
    while an unpartitioned client still gets through; healing lets the data through."""
    loop = asyncio.get_running_loop()
    a, b, c = await knet.pod("a"), await knet.pod("b"), await knet.pod("c")
    server = await asyncio.start_server(echo, b.ip, 7000)  # a real process: no gates
    svc = await knet.service("web")
    await knet.endpoints("web", [b])
    await served(knet, "web")
    cluster_ip = svc["spec"]["clusterIP"]
    reader, writer = await asyncio.open_connection(cluster_ip, 7000, local_addr=(a.ip, 0))
    assert await roundtrip(reader, writer, b"1") == b"1"

    handle = knet.network.partition([a.ip], [b.ip])
    writer.write(b"2")
    assert await stalls(reader)
    probe = socket.socket()
    probe.setblocking(False)
    probe.bind((a.ip, 0))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(loop.sock_connect(probe, (cluster_ip, 7000)), STALL)
    probe.close()
    other_reader, other_writer = await asyncio.open_connection(cluster_ip, 7000,
                                                               local_addr=(c.ip, 0))
    assert await roundtrip(other_reader, other_writer, b"c") == b"c"
    other_writer.close()

    knet.network.heal(handle)
    assert await asyncio.wait_for(reader.read(100), 5) == b"2"
    writer.close()
    server.close()
    await server.wait_closed()


@needs_kernel
async def test_table_replaced_at_start_and_removed_at_stop() -> None:
    """A stale table left with the same ranges is replaced at start, and nothing of the
    cluster's stays in nftables after stop."""
    ranges = claim_ranges()
    ranges_index = ranges.index
    nft = Nft()
    stale = NftTable(f"redisha_{ranges_index}", nft=nft)
    stale.apply([f"add chain {stale.ref} leftover"])
    client = InProcessClient(APIServer(settings=APIServerSettings(
        service_cidr=ranges.service_cidr)))
    factory = InformerFactory(client)
    network = ClusterNetwork(client, factory, ranges=ranges,
                             settings=NetworkSettings(proxy_mode="nftables"))
    try:
        await network.start()
        await factory.start()
        listing = await asyncio.create_subprocess_exec(
            "nft", "list", "table", "ip", f"redisha_{ranges_index}",
            stdout=asyncio.subprocess.PIPE)
        rules = (await listing.communicate())[0].decode()
        assert "chain services" in rules and "leftover" not in rules
    finally:
        await network.stop()
        await factory.stop()
        ranges.close()
        nft.close()
    assert f"redisha_{ranges_index}" not in await nft_tables()


@needs_kernel
async def test_partition_cuts_the_endpoints_replies_too(knet: Net) -> None:
    """What the endpoint sends back through a DNATed connection is held by a partition
    too (the filter sees the endpoint's address before un-DNAT), and arrives after heal."""
    a, b = await knet.pod("a"), await knet.pod("b")
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await reader.read(1)
        writer.close()

    server = await asyncio.start_server(hold, b.ip, 7000)
    svc = await knet.service("web")
    await knet.endpoints("web", [b])
    await served(knet, "web")
    reader, writer = await asyncio.open_connection(svc["spec"]["clusterIP"], 7000,
                                                   local_addr=(a.ip, 0))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2
    while not accepted and loop.time() < deadline:
        await asyncio.sleep(0.001)
    assert accepted

    handle = knet.network.partition([a.ip], [b.ip])
    accepted[0].write(b"pushed")
    assert await stalls(reader)
    knet.network.heal(handle)
    assert await asyncio.wait_for(reader.read(100), 5) == b"pushed"
    writer.close()
    server.close()
    await server.wait_closed()
