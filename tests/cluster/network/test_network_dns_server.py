"""The cluster DNS server over real sockets, the address kept for it, and pod resolv.confs."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import struct
from pathlib import Path

import pytest

from cluster.apiserver import APIServer, APIServerSettings, dns_service_ip
from cluster.network import dns_wire as w
from tests.cluster.conftest import WaitFor
from tests.cluster.network.conftest import Net

pytestmark = [pytest.mark.usefixtures("no_leaked_tasks"),
              pytest.mark.skipif(os.geteuid() != 0, reason="port 53 needs root")]


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.replies.put_nowait(data)


async def udp_exchange(server: str, data: bytes, *, timeout: float = 2.0) -> bytes:
    """Send one datagram to `server`:53 and return the reply."""
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(_Client, remote_addr=(server, 53))
    try:
        transport.sendto(data)
        return await asyncio.wait_for(client.replies.get(), timeout)
    finally:
        transport.close()


async def udp_ask(net: Net, name: str, rrtype: int = w.RRType.A) -> w.Message:
    return w.parse_message(await udp_exchange(net.network.dns_ip, w.query(name, rrtype)))


async def rcode_becomes(net: Net, wait_for: WaitFor, name: str, rcode: int) -> w.Message:
    """Ask until the server's answer for `name` has `rcode` (records follow informers)."""
    latest: list[w.Message] = []

    async def check() -> bool:
        latest[:] = [await udp_ask(net, name)]
        return latest[0].header.rcode == rcode

    deadline = asyncio.get_running_loop().time() + 3
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{name}: rcode stayed {latest[0].header.rcode}, expected {rcode}")
        await wait_for(lambda: net.network.idle)
        await asyncio.sleep(0.005)
    return latest[0]


async def test_server_listens_on_the_reserved_address(net: Net) -> None:
    """The DNS server runs at the service range's 10th address, port 53."""
    service_net = ipaddress.ip_network(net.ranges.service_cidr)
    assert net.network.dns_ip == str(service_net.network_address + 10)
    assert net.network.dns_server is not None
    assert net.network.dns_server.address == (net.network.dns_ip, 53)


async def test_pod_record_appears_only_once_the_headless_service_exists(
        net: Net, wait_for: WaitFor) -> None:
    """`<pod>.<svc>` is NXDOMAIN over UDP until the headless Service exists, then its IP."""
    name = "redis-sfs-0.redis-sfs.default.svc.cluster.local."
    primary = await net.pod("redis-sfs-0", subdomain="redis-sfs")
    await wait_for(lambda: net.network.idle)
    missing = await udp_ask(net, name)
    assert missing.header.rcode == w.RCode.NXDOMAIN
    assert [r.type for r in missing.authority] == [w.RRType.SOA]
    await net.service("redis-sfs", headless=True)
    found = await rcode_becomes(net, wait_for, name, w.RCode.NOERROR)
    assert [(r.name, r.data, r.ttl) for r in found.answers] == [(name, primary.ip, 5)]
    no_data = await udp_ask(net, name, w.RRType.AAAA)
    assert no_data.header.rcode == w.RCode.NOERROR and no_data.answers == ()


async def test_service_names_resolve_to_cluster_ips(net: Net, wait_for: WaitFor) -> None:
    """A ClusterIP Service's FQDN answers its ClusterIP; deleting it makes it NXDOMAIN."""
    web = await net.service("web")
    name = "web.default.svc.cluster.local."
    found = await rcode_becomes(net, wait_for, name, w.RCode.NOERROR)
    assert [r.data for r in found.answers] == [web["spec"]["clusterIP"]]
    await net.client.delete("services", "web", "default")
    await rcode_becomes(net, wait_for, name, w.RCode.NXDOMAIN)


async def test_garbage_gets_formerr_and_the_server_keeps_serving(net: Net) -> None:
    """A malformed datagram gets FORMERR; the next good query is answered."""
    reply = w.parse_message(await udp_exchange(net.network.dns_ip,
                                               b"\x00\x07\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xff"))
    assert reply.header.id == 7 and reply.header.rcode == w.RCode.FORMERR
    ok = await udp_ask(net, "cluster.local.", w.RRType.SOA)
    assert ok.header.rcode == w.RCode.NOERROR and ok.answers[0].type == w.RRType.SOA


async def test_queries_over_tcp(net: Net, wait_for: WaitFor) -> None:
    """Length-prefixed queries over TCP get the same answers, several per connection."""
    web = await net.service("web")
    await rcode_becomes(net, wait_for, "web.default.svc.cluster.local.", w.RCode.NOERROR)
    reader, writer = await asyncio.open_connection(net.network.dns_ip, 53)
    try:
        for ident in (1, 2):
            query = w.query("web.default.svc.cluster.local.", ident=ident)
            writer.write(struct.pack("!H", len(query)) + query)
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            reply = w.parse_message(await reader.readexactly(length))
            assert reply.header.id == ident
            assert [r.data for r in reply.answers] == [web["spec"]["clusterIP"]]
    finally:
        writer.close()
        await writer.wait_closed()


async def test_stop_releases_the_port(net: Net) -> None:
    """After stop, nothing answers at the DNS address: the port can be bound again."""
    address = net.network.dns_ip
    await net.network.stop()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind((address, 53))
    finally:
        probe.close()


def test_cluster_ip_allocator_never_hands_out_the_dns_address() -> None:
    """Dynamic ClusterIPs skip `.10`; a Service asking for it by clusterIP still gets it."""
    api = APIServer(settings=APIServerSettings(service_cidr="127.9.0.0/16"))
    assert dns_service_ip("127.9.0.0/16") == "127.9.0.10"
    ips = []
    for i in range(12):
        created = api.create({"apiVersion": "v1", "kind": "Service",
                              "metadata": {"name": f"s{i}", "namespace": "default"},
                              "spec": {"ports": [{"port": 80}]}})
        ips.append(created["spec"]["clusterIP"])
    assert "127.9.0.10" not in ips and ips[8:10] == ["127.9.0.9", "127.9.0.11"]
    kube_dns = api.create({"apiVersion": "v1", "kind": "Service",
                           "metadata": {"name": "kube-dns", "namespace": "kube-system"},
                           "spec": {"clusterIP": "127.9.0.10", "ports": [{"port": 53}]}})
    assert kube_dns["spec"]["clusterIP"] == "127.9.0.10"


def read(path: str | None) -> str:
    assert path is not None
    return Path(path).read_text()


async def test_pod_files_name_the_dns_server_and_only_the_pods_own_names(
        net: Net, wait_for: WaitFor) -> None:
    """resolv.conf is kubelet's ClusterFirst file; the hosts file lists only the pod itself."""
    await net.service("redis-sfs", headless=True)
    other = await net.pod("redis-sfs-0", subdomain="redis-sfs", hostname="redis-sfs-0")
    pod = await net.pod("redis-sfs-1", namespace="default", subdomain="redis-sfs",
                        hostname="redis-sfs-1")
    await wait_for(lambda: pod.resolve("redis-sfs-0.redis-sfs") == other.ip)
    assert read(pod.resolv_conf) == (
        "search default.svc.cluster.local svc.cluster.local cluster.local\n"
        f"nameserver {net.network.dns_ip}\n"
        "options ndots:5\n")
    hosts = read(pod.hosts_file)
    assert hosts.splitlines()[1:] == [
        f"{pod.ip}\tlocalhost", "::1\tip6-localhost ip6-loopback", "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix", "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters",
        f"{pod.ip}\tredis-sfs-1.redis-sfs.default.svc.cluster.local redis-sfs-1"]
    paths = [pod.resolv_conf, pod.hosts_file]
    net.network.destroy_sandbox(pod.uid)
    assert not any(os.path.exists(p) for p in paths if p)


async def test_dns_policy_default_keeps_the_machines_resolver(net: Net) -> None:
    """A `dnsPolicy: Default` pod gets no resolv.conf of its own."""
    created = await net.client.create({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "host-dns"},
        "spec": {"dnsPolicy": "Default", "containers": [{"name": "c", "image": "redis"}]}},
        "default")
    assert net.network.create_sandbox(created).resolv_conf is None
