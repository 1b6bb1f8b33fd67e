"""Real processes in a pod resolve cluster names through the pod's resolv.conf and the
cluster DNS server, as in Kubernetes: a name that does not exist yet fails."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest
from runtime_helpers import config

from cluster.network import Sandbox
from cluster.runtime import base, process
from tests.cluster.network.conftest import Net, started_net

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and port 53 need root")

SHELL = process.ProcessImage("shell", entrypoint=("sh",))
REDIS = process.ProcessImage("redis", entrypoint=("redis-server",),
                             programs={"redis-server": "redis-server"})


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    async with started_net(dns_server=True) as built:
        yield built


async def run_in(runtime: process.ProcessRuntime, sandbox: Sandbox, image: str,
                 *args: str) -> str:
    """Start a container of `image` with `args` in the pod of `sandbox`."""
    cid = await runtime.create_container(config(sandbox.name, image, args=args), sandbox)
    await runtime.start_container(cid)
    return cid


async def test_getent_resolves_through_cluster_dns(make_process, net: Net, wait_for) -> None:
    """`getent hosts <pod>.<svc>` fails until the headless Service exists, then answers."""
    runtime = make_process(SHELL)
    await net.pod("redis-sfs-0", subdomain="redis-sfs", hostname="redis-sfs-0")
    replica = await net.pod("redis-sfs-1", subdomain="redis-sfs", hostname="redis-sfs-1")
    cid = await run_in(runtime, replica, "shell", "-c", "sleep 30")
    await wait_for(lambda: runtime.status(cid).state is base.ContainerState.RUNNING)
    await wait_for(lambda: net.network.idle)

    before = await runtime.exec(cid, ["getent", "hosts", "redis-sfs-0.redis-sfs"], timeout=5)
    assert before.exit_code == 2 and before.stdout == b""
    resolv = await runtime.exec(cid, ["cat", "/etc/resolv.conf"], timeout=5)
    assert f"nameserver {net.network.dns_ip}\n".encode() in resolv.stdout

    await net.service("redis-sfs", headless=True)
    await wait_for(lambda: net.network.resolve("redis-sfs-0.redis-sfs") is not None)
    primary_ip = net.network.resolve("redis-sfs-0.redis-sfs")
    after = await runtime.exec(cid, ["getent", "hosts", "redis-sfs-0.redis-sfs"], timeout=5)
    assert after.exit_code == 0
    assert after.stdout.decode().split() == [primary_ip,
                                             "redis-sfs-0.redis-sfs.default.svc.cluster.local"]
    own = await runtime.exec(cid, ["getent", "hosts", "redis-sfs-1"], timeout=5)
    assert own.stdout.decode().split()[0] == replica.ip  # its own name: from /etc/hosts


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
async def test_real_replica_logs_the_tutorials_line(make_process, net: Net, wait_for) -> None:
    """A real redis-server whose master does not resolve yet logs EAGAIN's message."""
    runtime = make_process(REDIS)
    replica = await net.pod("redis-sfs-1", subdomain="redis-sfs", hostname="redis-sfs-1")
    cid = await run_in(runtime, replica, "redis", "--port", "6379", "--bind", replica.ip,
                       "--save", "", "--replicaof", "redis-sfs-0.redis-sfs", "6379")
    wanted = "Unable to connect to MASTER: Resource temporarily unavailable"

    def logged() -> bool:
        return any(wanted in line.text for line in runtime.logs(cid).lines())

    await wait_for(logged, timeout=5)
