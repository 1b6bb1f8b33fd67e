"""Fault injection: partitions and freezes stall traffic, healing resumes it."""

from __future__ import annotations

import asyncio
import socket

import pytest

from cluster.apiserver import APIServer, APIServerSettings
from cluster.client import InProcessClient
from cluster.informer import InformerFactory
from cluster.network import ClusterNetwork, NetworkSettings, claim_ranges
from cluster.network.faults import KernelPartitions
from tests.cluster.conftest import WaitFor
from tests.cluster.network.conftest import Net, echo, roundtrip, tagged_echo
from tests.cluster.network.test_network_proxy import listening

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

STALL = 0.2
"""How long a read must hang to count as stalled."""


async def stalls(reader: asyncio.StreamReader) -> bool:
    try:
        await asyncio.wait_for(reader.read(100), STALL)
    except TimeoutError:
        return True
    return False


async def test_partition_hangs_both_ways_and_heals(net: Net) -> None:
    """Across a partition reads hang and connects hang; a third pod is unaffected; healing
    delivers what was held."""
    a, b, c = await net.pod("a"), await net.pod("b"), await net.pod("c")
    await b.start_server(tagged_echo("b"), 7000)
    await c.start_server(tagged_echo("c"), 7000)
    await a.start_server(tagged_echo("a"), 7000)
    ab_r, ab_w = await a.open_connection(b.ip, 7000)
    ba_r, ba_w = await b.open_connection(a.ip, 7000)
    ac_r, ac_w = await a.open_connection(c.ip, 7000)
    assert await roundtrip(ab_r, ab_w, b"1") == b"b:1"

    handle = net.network.partition([a.ip], [b.ip])
    ab_w.write(b"2")
    assert await stalls(ab_r)
    ba_w.write(b"3")
    assert await stalls(ba_r)
    assert await roundtrip(ac_r, ac_w, b"4") == b"c:4"
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(a.open_connection(b.ip, 7000), STALL)

    net.network.heal(handle)
    assert await asyncio.wait_for(ab_r.read(100), 2) == b"b:2"
    assert await asyncio.wait_for(ba_r.read(100), 2) == b"a:3"
    r, w = await asyncio.wait_for(a.open_connection(b.ip, 7000), 2)
    assert await roundtrip(r, w, b"5") == b"b:5"
    for writer in (ab_w, ba_w, ac_w, w):
        writer.close()


async def test_read_cancelled_during_partition_loses_nothing(net: Net) -> None:
    """Bytes a stalled read had taken are given back when its caller times out."""
    a, b = await net.pod("a"), await net.pod("b")
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def keep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.put_nowait((reader, writer))

    await a.start_server(keep, 7000)
    # The peer is a plain socket from b's address, as a real process would be: not gated.
    _, peer = await asyncio.open_connection(a.ip, 7000, local_addr=(b.ip, 0))
    a_reader, a_writer = await asyncio.wait_for(accepted.get(), 2)
    pending = asyncio.create_task(a_reader.read(100))
    await asyncio.sleep(0)  # let the read start waiting for data before the partition
    net.network.partition([a.ip], [b.ip])
    peer.write(b"kept")
    await peer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pending, STALL)
    net.network.heal()
    assert await asyncio.wait_for(a_reader.read(100), 2) == b"kept"
    peer.close()
    a_writer.close()


async def test_partition_applies_through_a_service(net: Net, wait_for: WaitFor) -> None:
    """A client partitioned from a Service's endpoint hangs through the ClusterIP too."""
    a, b = await net.pod("a"), await net.pod("b")
    await b.start_server(tagged_echo("b"), 7000)
    await net.service("web")
    await net.endpoints("web", [b])
    port = await listening(net, "web")
    await wait_for(lambda: bool(port.backends))
    reader, writer = await a.open_connection("web", 7000)
    assert await roundtrip(reader, writer, b"1") == b"b:1"

    handle = net.network.partition([b.ip], [a.ip])
    writer.write(b"2")
    assert await stalls(reader)
    late_r, late_w = await a.open_connection("web", 7000)
    late_w.write(b"3")
    assert await stalls(late_r)

    net.network.heal(handle)
    assert await asyncio.wait_for(reader.read(100), 2) == b"b:2"
    assert await asyncio.wait_for(late_r.read(100), 2) == b"b:3"
    writer.close()
    late_w.close()


async def test_heal_all(net: Net) -> None:
    """heal() without a handle ends every partition."""
    a, b, c = await net.pod("a"), await net.pod("b"), await net.pod("c")
    net.network.partition([a.ip], [b.ip])
    net.network.partition([a.ip], [c.ip])
    assert not net.network.faults.allows(a.ip, c.ip)
    net.network.heal()
    assert net.network.faults.allows(a.ip, b.ip) and net.network.faults.allows(c.ip, a.ip)


async def test_freeze_stalls_and_thaw_resumes(net: Net) -> None:
    """A frozen pod answers nothing, new connections to it hang; thawing resumes both."""
    a, b = await net.pod("a"), await net.pod("b")
    await b.start_server(tagged_echo("b"), 7000)
    reader, writer = await a.open_connection(b.ip, 7000)
    assert await roundtrip(reader, writer, b"1") == b"b:1"

    b.set_frozen(True)
    writer.write(b"2")
    assert await stalls(reader)
    late_r, late_w = await a.open_connection(b.ip, 7000)
    late_w.write(b"3")
    assert await stalls(late_r)

    b.set_frozen(False)
    assert await asyncio.wait_for(reader.read(100), 2) == b"b:2"
    assert await asyncio.wait_for(late_r.read(100), 2) == b"b:3"
    writer.close()
    late_w.close()


async def test_frozen_pod_cannot_send(net: Net) -> None:
    """Writes from a frozen pod are held until it thaws, in order."""
    a, b = await net.pod("a"), await net.pod("b")
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(100):
            received.put_nowait(data)

    await b.start_server(sink, 7000)
    _, writer = await a.open_connection(b.ip, 7000)
    a.set_frozen(True)
    writer.write(b"one,")
    writer.write(b"two")
    drained = asyncio.create_task(writer.drain())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(received.get(), STALL)
    assert not drained.done()
    a.set_frozen(False)
    await asyncio.wait_for(drained, 2)
    got = b""
    while got != b"one,two":
        got += await asyncio.wait_for(received.get(), 2)
    writer.close()


async def test_destroy_sandbox_closes_everything(net: Net) -> None:
    """Destroying a sandbox closes its listeners and its connections."""
    a, b = await net.pod("a"), await net.pod("b")
    await b.start_server(echo, 7000)
    reader, writer = await a.open_connection(b.ip, 7000)
    assert await roundtrip(reader, writer, b"x") == b"x"
    net.network.destroy_sandbox(b.uid)
    with pytest.raises((ConnectionResetError, AssertionError)):
        assert await asyncio.wait_for(reader.read(10), 2) != b""
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await a.open_connection(b.ip, 7000)
    with pytest.raises(OSError):
        await b.open_connection(a.ip, 7000)


@pytest.mark.skipif(not KernelPartitions.available(),
                    reason="nftables unusable here (needs `apt-get install nftables` and root)")
async def test_kernel_partition_cuts_real_sockets() -> None:
    """With nftables, plain sockets bound to pod IPs (real processes) are partitioned too."""
    ranges = claim_ranges()
    client = InProcessClient(APIServer(settings=APIServerSettings(
        service_cidr=ranges.service_cidr)))
    factory = InformerFactory(client)
    network = ClusterNetwork(client, factory, ranges=ranges,
                             settings=NetworkSettings(kernel_partitions=True))
    await network.start()
    await factory.start()
    try:
        assert network.kernel_partitions
        pod = {"metadata": {"name": "x", "namespace": "default"}}
        a = network.create_sandbox({**pod, "metadata": {**pod["metadata"], "uid": "a"}})
        b = network.create_sandbox({**pod, "metadata": {**pod["metadata"], "uid": "b"}})
        server = await asyncio.start_server(echo, b.ip, 7000)
        reader, writer = await asyncio.open_connection(b.ip, 7000, local_addr=(a.ip, 0))
        assert await roundtrip(reader, writer, b"1") == b"1"

        handle = network.partition([a.ip], [b.ip])
        writer.write(b"2")
        assert await stalls(reader)
        probe = socket.socket()
        probe.setblocking(False)
        probe.bind((a.ip, 0))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(probe, (b.ip, 7000)),
                                   STALL)
        probe.close()

        network.heal(handle)
        assert await asyncio.wait_for(reader.read(100), 5) == b"2"
        writer.close()
        server.close()
        await server.wait_closed()
    finally:
        await network.stop()
        await factory.stop()
        ranges.close()
    listing = await asyncio.create_subprocess_exec("nft", "list", "tables",
                                                   stdout=asyncio.subprocess.PIPE)
    tables = (await listing.communicate())[0].decode()
    assert f"redisha_{ranges.index}" not in tables.split()
