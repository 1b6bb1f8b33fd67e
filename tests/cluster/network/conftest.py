"""A live API server with a started ClusterNetwork, and helpers to write the objects a
kubelet and the endpoints controller would (neither is involved here)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from cluster.api import errors
from cluster.apiserver import APIServer, APIServerSettings
from cluster.client import InProcessClient
from cluster.informer import InformerFactory, InformerSettings
from cluster.network import ClusterNetwork, NetworkSettings, Sandbox, claim_ranges
from cluster.network.addresses import AddressRanges

FAST_INFORMERS = InformerSettings(retry_initial_delay=0.001, retry_max_delay=0.01)


@dataclass
class Net:
    """Everything a network test touches."""

    api: APIServer
    client: InProcessClient
    network: ClusterNetwork
    ranges: AddressRanges

    async def pod(self, name: str, *, namespace: str = "default", subdomain: str = "",
                  hostname: str = "", labels: dict[str, str] | None = None) -> Sandbox:
        """Create a pod, give it a sandbox and write its podIP, as a kubelet would."""
        spec: dict[str, Any] = {"containers": [{"name": "c", "image": "redis"}]}
        if subdomain:
            spec["subdomain"] = subdomain
        if hostname:
            spec["hostname"] = hostname
        created = await self.client.create({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": spec}, namespace)
        sandbox = self.network.create_sandbox(created)
        created["status"] = {**created.get("status", {}), "podIP": sandbox.ip,
                             "podIPs": [{"ip": sandbox.ip}], "phase": "Running"}
        await self.client.update_status(created)
        return sandbox

    async def service(self, name: str, *, namespace: str = "default", headless: bool = False,
                      ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"selector": {"app": name},
                                "ports": ports or [{"port": 7000, "targetPort": 7000}]}
        if headless:
            spec["clusterIP"] = "None"
        return await self.client.create({"apiVersion": "v1", "kind": "Service",
                                         "metadata": {"name": name, "namespace": namespace},
                                         "spec": spec}, namespace)

    async def endpoints(self, name: str, ready: list[Sandbox], *, not_ready: Sequence[Sandbox] = (),
                        port: int = 7000, port_name: str = "",
                        namespace: str = "default") -> dict[str, Any]:
        """Create or replace the Endpoints object, as the endpoints controller would."""
        subset: dict[str, Any] = {"ports": [{"port": port, "protocol": "TCP",
                                             **({"name": port_name} if port_name else {})}]}
        if ready:
            subset["addresses"] = [{"ip": s.ip, "targetRef": {"kind": "Pod", "name": s.name}}
                                   for s in ready]
        if not_ready:
            subset["notReadyAddresses"] = [{"ip": s.ip} for s in not_ready]
        body = {"apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": name, "namespace": namespace},
                "subsets": [subset] if ready or not_ready else []}
        try:
            current = await self.client.get("endpoints", name, namespace)
        except errors.NotFound:
            return await self.client.create(body, namespace)
        body["metadata"] = current["metadata"]
        return await self.client.update(body)


@contextlib.asynccontextmanager
async def started_net(*, dns_server: bool | None = None, proxy_mode: str = "userspace",
                      kernel_partitions: bool = False) -> AsyncIterator[Net]:
    """An API server and a started ClusterNetwork on freshly claimed ranges (the
    user-space proxy unless `proxy_mode` says otherwise)."""
    ranges = claim_ranges()
    api = APIServer(settings=APIServerSettings(service_cidr=ranges.service_cidr))
    client = InProcessClient(api)
    factory = InformerFactory(client, settings=FAST_INFORMERS)
    network = ClusterNetwork(client, factory, ranges=ranges, settings=NetworkSettings(
        kernel_partitions=kernel_partitions, dns_server=dns_server, proxy_mode=proxy_mode))
    await network.start()
    await factory.start()
    assert await factory.wait_for_cache_sync(5)
    try:
        yield Net(api, client, network, ranges)
    finally:
        await network.stop()
        await factory.stop()
        ranges.close()


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    """The network as an embedded cluster runs it (a DNS server when running as root)."""
    async with started_net() as built:
        yield built


@pytest.fixture
async def net_without_dns() -> AsyncIterator[Net]:
    """A network with no DNS server: hosts files carry the cluster names."""
    async with started_net(dns_server=False) as built:
        yield built


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo everything back, then close."""
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


def tagged_echo(tag: str):
    """An echo server that prefixes every reply with `tag:` — to tell endpoints apart."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(tag.encode() + b":" + data)
            await writer.drain()
        writer.close()
    return handler


async def roundtrip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes,
                    *, timeout: float = 2.0) -> bytes:
    writer.write(data)
    await writer.drain()
    return await asyncio.wait_for(reader.read(65536), timeout)
