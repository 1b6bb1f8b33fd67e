"""The fake runtime on the cluster network's real PodSandbox: traffic, freezes, /etc/hosts
and /etc/resolv.conf."""

from __future__ import annotations

import asyncio
import os
from typing import Any, AsyncIterator

import pytest
from runtime_helpers import config

from cluster.apiserver import APIServer, APIServerSettings
from cluster.client import InProcessClient
from cluster.informer import InformerFactory, InformerSettings
from cluster.network import ClusterNetwork, NetworkSettings, claim_ranges
from cluster.runtime import images

PORT = 7000


class EchoServer:
    """Echoes lines on the pod's IP until stopped."""

    async def run(self, ctx: images.ProgramContext) -> int:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while line := await reader.readline():
                writer.write(line)
                await writer.drain()
            writer.close()

        server = await ctx.sandbox.start_server(echo, PORT)
        ctx.stdout("listening")
        await ctx.stop_requested.wait()
        server.close()
        return 0


class Ping:
    """Sends one line to `argv[1]` and prints the answer."""

    async def run(self, ctx: images.ProgramContext) -> int:
        reader, writer = await ctx.sandbox.open_connection(ctx.argv[1], PORT)
        writer.write(b"ping\n")
        await writer.drain()
        ctx.stdout((await reader.readline()).decode().strip())
        writer.close()
        return 0


ECHO = images.Image("echo", {"echo-server": EchoServer, "ping": Ping},
                    entrypoint=("echo-server",))


@pytest.fixture
async def network() -> AsyncIterator[ClusterNetwork]:
    ranges = claim_ranges()
    api = APIServer(settings=APIServerSettings(service_cidr=ranges.service_cidr))
    factory = InformerFactory(InProcessClient(api),
                              settings=InformerSettings(retry_initial_delay=0.001))
    net = ClusterNetwork(InProcessClient(api), factory, ranges=ranges,
                         settings=NetworkSettings(kernel_partitions=False))
    await net.start()
    await factory.start()
    try:
        yield net
    finally:
        await net.stop()
        await factory.stop()
        ranges.close()


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
            "spec": {"containers": [{"name": "c", "image": "echo"}]}}


async def test_freezing_a_program_container_stalls_its_pods_traffic(make_fake, network,
                                                                    wait_for) -> None:
    """On the real network, a frozen pod's in-process server stops answering until thawed."""
    runtime = make_fake(ECHO)
    server_box, client_box = network.create_sandbox(pod("srv-0")), network.create_sandbox(pod("cli-0"))
    server = await runtime.create_container(config("srv-0", "echo"), server_box)
    client = await runtime.create_container(config("cli-0", "echo"), client_box)
    await runtime.start_container(server)
    await runtime.start_container(client)
    await wait_for(lambda: [l.text for l in runtime.logs(server).lines()] == ["listening"])
    assert (await runtime.exec(client, ["ping", server_box.ip], timeout=2)).stdout == b"ping\n"
    await runtime.freeze_container(server)
    with pytest.raises(TimeoutError):
        await runtime.exec(client, ["ping", server_box.ip], timeout=0.3)
    await runtime.thaw_container(server)
    assert (await runtime.exec(client, ["ping", server_box.ip], timeout=2)).stdout == b"ping\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")
async def test_shell_container_sees_the_pods_hosts_file(make_fake, network, wait_for) -> None:
    """A real process resolves its pod's name through the hosts file and names the cluster
    DNS server in its resolv.conf; exec'd commands see the same files."""
    runtime = make_fake(ECHO)
    box = network.create_sandbox(pod("web-0"))
    script = "getent hosts web-0; hostname; grep nameserver /etc/resolv.conf; sleep 30"
    cid = await runtime.create_container(config("web-0", "echo", command=("sh", "-c", script)),
                                         box)
    await runtime.start_container(cid)
    nameserver = f"nameserver {network.dns_ip}"
    await wait_for(lambda: len(runtime.logs(cid).lines()) == 3, timeout=5)
    lines = [line.text for line in runtime.logs(cid).lines()]
    assert lines[0].split() == [box.ip, "web-0"]
    assert lines[1:] == ["web-0", nameserver]
    exec_result = await runtime.exec(cid, ["grep", "nameserver", "/etc/resolv.conf"], timeout=5)
    assert exec_result.stdout.decode().strip() == nameserver


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")
async def test_exec_into_a_program_container_sees_the_pods_resolv_conf(make_fake, network,
                                                                        wait_for) -> None:
    """A real command exec'd into an in-process container gets the pod's resolv.conf."""
    runtime = make_fake(ECHO)
    box = network.create_sandbox(pod("srv-0"))
    cid = await runtime.create_container(config("srv-0", "echo"), box)
    await runtime.start_container(cid)
    await wait_for(lambda: [l.text for l in runtime.logs(cid).lines()] == ["listening"])
    result = await runtime.exec(cid, ["grep", "nameserver", "/etc/resolv.conf"], timeout=5)
    assert result.stdout.decode().strip() == f"nameserver {network.dns_ip}"
