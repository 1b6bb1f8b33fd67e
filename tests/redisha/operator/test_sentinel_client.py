"""`RespSentinelClient` against this machine's Redis Sentinel 7.0: the replies it parses
and the errors it maps are the real ones."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from redisha.operator.resp_client import ReplyError, Unreachable
from redisha.operator.sentinels import Address, RespSentinelClient

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs redis-server (Debian's redis-server package)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _listening(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.01)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
async def sentinel(tmp_path: Path) -> AsyncIterator[tuple[RespSentinelClient, int]]:
    """A real redis-server and a real Sentinel (`redis-server CONF --sentinel`, which is
    what `redis-sentinel` runs) monitoring it."""
    redis_port, sentinel_port = _free_port(), _free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {redis_port} 2\n"
                    "sentinel down-after-milliseconds mymaster 5000\n")
    processes = [
        await asyncio.create_subprocess_exec(
            "redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL),
        await asyncio.create_subprocess_exec(
            "redis-server", str(conf), "--sentinel",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL),
    ]
    client = RespSentinelClient(timeout=2, port=sentinel_port)
    try:
        await _listening(redis_port)
        await _listening(sentinel_port)
        yield client, redis_port
    finally:
        await client.close()
        for process in processes:
            process.terminate()
            await process.wait()


async def test_reading_a_real_sentinel(sentinel: tuple[RespSentinelClient, int]) -> None:
    """GET-MASTER-ADDR-BY-NAME, MASTER (settings, epoch), REPLICAS and SENTINELS parse."""
    client, redis_port = sentinel
    primary = Address("127.0.0.1", redis_port)
    assert await client.get_master_addr("127.0.0.1") == primary
    view = await client.observe("127.0.0.1")
    state = view.master
    assert state is not None and view.named == primary
    assert (state.address, state.quorum, state.down_after_ms, state.config_epoch) == \
        (primary, 2, 5000, 0)
    assert "master" in state.flags and not state.failover_in_progress
    assert (view.replicas, view.sentinels) == ((), ())


async def test_reconfiguring_a_real_sentinel_and_its_events(
        sentinel: tuple[RespSentinelClient, int]) -> None:
    """SET, REMOVE, MONITOR, RESET do what they say; the event stream carries +monitor;
    FAILOVER without replicas is NOGOODSLAVE; an unknown master reads as None."""
    client, redis_port = sentinel
    primary = Address("127.0.0.1", redis_port)
    events = client.events("127.0.0.1")
    seen: list[str] = []

    async def follow() -> None:
        async for event in events:
            seen.append(event.kind)

    follower = asyncio.create_task(follow())
    try:
        await client.set("127.0.0.1", {"down-after-milliseconds": "1500", "parallel-syncs": "2"})
        state = await client.master("127.0.0.1")
        assert state is not None and (state.down_after_ms, state.parallel_syncs) == (1500, 2)
        with pytest.raises(ReplyError) as failed:
            await client.failover("127.0.0.1")
        assert failed.value.code == "NOGOODSLAVE"
        await client.remove("127.0.0.1")
        assert await client.master("127.0.0.1") is None
        assert await client.get_master_addr("127.0.0.1") is None
        await client.monitor("127.0.0.1", primary, 2)
        assert await client.reset("127.0.0.1") == 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while "+monitor" not in seen and loop.time() < deadline:
            await asyncio.sleep(0.01)
        assert {"-monitor", "+monitor"} <= set(seen)
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)


async def test_an_address_nobody_listens_on_is_unreachable() -> None:
    """Refused connections become `Unreachable`, one line naming the address."""
    client = RespSentinelClient(timeout=0.5, port=_free_port())
    try:
        with pytest.raises(Unreachable, match="127.0.0.1:"):
            await client.master("127.0.0.1")
    finally:
        await client.close()
