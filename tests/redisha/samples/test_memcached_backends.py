"""The memcached image on both backends, as `redisha.backends` composes them."""

from __future__ import annotations

import asyncio

import pytest

from redisha.backends import Backend, start
from tests.real_redis import need_real_redis
from tests.redisha.samples.memcached_cluster import wait_until

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "memcached"},
       "spec": {"containers": [{"name": "memcached", "image": "memcached:1.4.36-alpine",
                                "command": ["memcached", "-m=64", "-o", "modern", "-v"]}]}}


async def _ask(ip: str, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(ip, 11211)
    try:
        writer.write(request)
        await writer.drain()
        return await reader.readuntil(b"\r\n")
    finally:
        writer.close()


@pytest.mark.parametrize("backend", [Backend.FAKE, Backend.REAL], ids=["fake", "real"])
async def test_memcached_pod_answers_at_its_address(backend: Backend) -> None:
    """A memcached pod listens at its own address on 11211 and answers `version`."""
    if backend is Backend.REAL:
        need_real_redis()
    async with start(backend) as cluster:
        await cluster.client.create(POD, "default")
        ip = ""

        async def running() -> bool:
            nonlocal ip
            pod = await cluster.client.get("pods", "memcached", "default")
            ip = pod.get("status", {}).get("podIP", "")
            return pod.get("status", {}).get("phase") == "Running" and bool(ip)

        await wait_until(running, timeout=10)

        async def answers() -> bool:
            try:
                return (await _ask(ip, b"version\r\n")).startswith(b"VERSION ")
            except OSError:
                return False

        await wait_until(answers, timeout=10, message=f"memcached at {ip}:11211")
