"""The writer against one real redis-server: what it records per write."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import socket
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from redisha.scenario.writer import (
    Target,
    Writer,
    WriterMode,
    WriterSettings,
    read_back,
)
from tests.real_redis import requires_real_redis  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("requires_real_redis")

FAST = WriterSettings(interval=0.0005, wait_timeout_ms=20, socket_timeout=0.5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def redis_server() -> AsyncIterator[int]:
    """A throwaway redis-server on 127.0.0.1; yields its port."""
    port = _free_port()
    binary = shutil.which("redis-server")
    assert binary is not None
    process = await asyncio.create_subprocess_exec(
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    client = aioredis.Redis(port=port)
    try:
        for _ in range(500):
            try:
                await client.ping()
                break
            except OSError:
                await asyncio.sleep(0.01)
            except aioredis.ConnectionError:
                await asyncio.sleep(0.01)
        yield port
    finally:
        await client.aclose()
        if process.returncode is None:
            process.kill()
        await process.wait()


async def records_at_least(writer: Writer, count: int, timeout: float = 5.0) -> None:
    """Wait until the writer has recorded `count` writes (fail after `timeout`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(writer.records) < count:
        assert loop.time() < deadline, f"only {len(writer.records)} writes in {timeout}s"
        await asyncio.sleep(0.01)


async def test_writes_are_recorded_with_the_server_that_took_them() -> None:
    """Async mode: every write is acknowledged on +OK, names the server's address and run
    id, and reads back."""
    async with redis_server() as port:
        run_id = str((await aioredis.Redis(port=port).info("server"))["run_id"])
        writer = Writer(Target.pod("127.0.0.1", port), settings=FAST, prefix="k")
        writer.start()
        assert await writer.wait_acked(50, timeout=5)
        await writer.stop()
        records = writer.records
        assert all(w.accepted and w.acked and not w.error for w in records)
        assert {w.server for w in records} == {f"127.0.0.1:{port}#{run_id[:12]}"}
        assert [w.key for w in records[:3]] == ["k:1", "k:2", "k:3"]
        assert all(a.finished <= b.started for a, b in itertools.pairwise(records))
        back = await read_back("127.0.0.1", [w.key for w in records], port=port)
        assert back.values == {w.key: w.value for w in records}


async def test_wait_without_a_replica_acknowledges_nothing() -> None:
    """Wait mode: the primary takes the SET, but with no replica WAIT 1 answers 0."""
    async with redis_server() as port:
        writer = Writer(Target.pod("127.0.0.1", port),
                        settings=WriterSettings(mode=WriterMode.WAIT, wait_timeout_ms=10))
        writer.start()
        await records_at_least(writer, 3)
        await writer.stop()
        assert all(w.accepted and not w.acked for w in writer.records)
        assert writer.records[0].error == "WAIT: 0 replicas within 10 ms"


async def test_a_server_that_dies_leaves_failed_writes_without_a_server() -> None:
    """Writes to a dead server fail with the client's error and count for nothing."""
    async with redis_server() as port:
        writer = Writer(Target.pod("127.0.0.1", port), settings=FAST)
        writer.start()
        assert await writer.wait_acked(5, timeout=5)
    done = len(writer.records)
    await records_at_least(writer, done + 3)
    await writer.stop()
    failed = writer.records[done + 1:]
    assert failed and all(not w.accepted and not w.acked and not w.server for w in failed)
    assert all("Error" in w.error for w in failed)
