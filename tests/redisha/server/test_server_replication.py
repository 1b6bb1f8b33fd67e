"""Replication between fake redis pods: sync, streaming, WAIT, partial and full resync,
promotion, effects replication, and the tutorial's log lines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aredis
from redis.exceptions import ReadOnlyError, ResponseError
from redis_pods import PodNet, RedisPod, wait_until

from redisha.server import resp


async def client(pod: RedisPod) -> aredis.Redis:
    return aredis.Redis(host=pod.ip, port=6379, socket_timeout=5)


async def replication_info(pod: RedisPod) -> dict:
    c = await client(pod)
    try:
        return await c.info("replication")
    finally:
        await c.aclose()


async def synced(replica: RedisPod) -> None:
    """Wait until `replica` finished a sync with its primary."""
    await wait_until(lambda: "MASTER <-> REPLICA sync: Finished with success" in replica.log
                     or "Master accepted a Partial Resynchronization" in replica.log,
                     message=replica.log)


@pytest.fixture
async def trio(net: PodNet) -> AsyncIterator[tuple[RedisPod, RedisPod, RedisPod]]:
    primary = await net.start("redis-0")
    a = await net.start("redis-1", "--replicaof", "redis-0.redis", "6379")
    b = await net.start("redis-2", "--replicaof", "redis-0.redis", "6379")
    await synced(a)
    await synced(b)
    yield primary, a, b


async def test_a_write_on_the_primary_is_readable_on_both_replicas_within_50ms(trio) -> None:
    """SET on the primary, then GET on both replicas: visible in well under 50 ms."""
    primary, a, b = trio
    p, ca, cb = await client(primary), await client(a), await client(b)
    await ca.get("warm-up")
    await cb.get("warm-up")
    start = time.monotonic()
    await p.set("greeting", "hello")
    seen: set[str] = set()
    while len(seen) < 2 and time.monotonic() - start < 1:
        for name, c in (("a", ca), ("b", cb)):
            if name not in seen and await c.get("greeting") == b"hello":
                seen.add(name)
    elapsed = time.monotonic() - start
    assert seen == {"a", "b"}
    assert elapsed < 0.05, f"took {elapsed * 1000:.1f} ms"
    for c in (p, ca, cb):
        await c.aclose()


async def test_info_replication_offsets_agree_once_idle(trio) -> None:
    """After writes stop, the primary's offset equals each replica's and each ACKed offset."""
    primary, a, b = trio
    p = await client(primary)
    for i in range(50):
        await p.set(f"k{i}", "v" * i)
    await p.aclose()

    async def agree() -> bool:
        pi, ai, bi = [await replication_info(x) for x in (primary, a, b)]
        offsets = {pi["master_repl_offset"], ai["master_repl_offset"],
                   bi["master_repl_offset"], ai["slave_repl_offset"], bi["slave_repl_offset"],
                   pi["slave0"]["offset"], pi["slave1"]["offset"]}
        return len(offsets) == 1 and pi["master_repl_offset"] > 0

    deadline = time.monotonic() + 3
    while not await agree():
        assert time.monotonic() < deadline, "offsets never agreed"
        await asyncio.sleep(0.02)
    info = await replication_info(primary)
    assert info["connected_slaves"] == 2
    assert info["slave0"]["state"] == "online"
    ai = await replication_info(a)
    assert ai["role"] == "slave" and ai["master_link_status"] == "up"
    assert ai["master_replid"] == info["master_replid"]


async def test_wait_returns_the_number_of_replicas_that_acknowledged(trio) -> None:
    """WAIT 2 1000 after a write returns 2."""
    primary, _, _ = trio
    p = await client(primary)
    await p.set("x", "1")
    assert await p.execute_command("WAIT", 2, 1000) == 2
    await p.aclose()


async def test_min_replicas_to_write_without_replicas_refuses_writes(net: PodNet) -> None:
    """min-replicas-to-write 1 and no replica: NOREPLICAS, reads still served."""
    primary = await net.start("redis-0", "--min-replicas-to-write", "1")
    p = await client(primary)
    with pytest.raises(ResponseError, match="^NOREPLICAS Not enough good replicas to write.$"):
        await p.set("x", "1")
    raw = await raw_command(primary, b"SET", b"x", b"1")
    assert raw == b"-NOREPLICAS Not enough good replicas to write.\r\n"
    assert await p.get("x") is None
    replica = await net.start("redis-1", "--replicaof", "redis-0.redis", "6379")
    await synced(replica)
    assert await p.set("x", "1")
    await p.aclose()


async def test_a_write_to_a_replica_is_refused_as_readonly(trio) -> None:
    """SET on a read-only replica: -READONLY; MULTI with a write then aborts."""
    _, a, _ = trio
    assert await raw_command(a, b"SET", b"x", b"1") == (
        b"-READONLY You can't write against a read only replica.\r\n")
    c = await client(a)
    with pytest.raises(ReadOnlyError):
        await c.set("x", "1")
    await c.aclose()


async def raw_command(pod: RedisPod, *args: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(pod.ip, 6379)
    writer.write(resp.encode_command(args))
    data = await reader.readline()
    writer.close()
    return data


async def test_a_replica_cut_off_for_a_second_continues_from_the_backlog(net: PodNet,
                                                                        trio) -> None:
    """Partition + dropped link for ~1 s, writes meanwhile: PSYNC answers +CONTINUE."""
    primary, a, _ = trio
    p, ca = await client(primary), await client(a)
    await p.set("before", "1")
    partition = net.faults.partition([primary.ip], [a.ip])
    await ca.execute_command("CLIENT", "KILL", "TYPE", "master")
    for i in range(5):
        await p.set(f"during{i}", "x")
    await asyncio.sleep(1)
    net.faults.heal(partition)
    for pod in (primary, a):
        pod.sandbox.flush_held()
    await wait_until(lambda: a.log.count("Successful partial resynchronization with master.") >= 1,
                     message=a.log)
    for i in range(5):
        assert await ca.get(f"during{i}") == b"x"
    assert a.log.count("Full resync from master") == 1, "only the initial sync is full"
    accepted = [m for m in primary.messages() if m.startswith("Partial resynchronization request")]
    assert accepted and "Sending 0 bytes" not in accepted[-1]
    await p.aclose()
    await ca.aclose()


async def test_a_replica_whose_backlog_was_exceeded_gets_a_full_resync(net: PodNet,
                                                                      trio) -> None:
    """Same cut, but more writes than repl-backlog-size: a second full sync."""
    primary, a, _ = trio
    p, ca = await client(primary), await client(a)
    await p.config_set("repl-backlog-size", "16kb")
    partition = net.faults.partition([primary.ip], [a.ip])
    await ca.execute_command("CLIENT", "KILL", "TYPE", "master")
    for i in range(40):
        await p.set(f"big{i}", "x" * 1024)
    await asyncio.sleep(0.5)
    net.faults.heal(partition)
    for pod in (primary, a):
        pod.sandbox.flush_held()
    await wait_until(lambda: a.log.count("Full resync from master") == 2, message=a.log)
    await wait_until(lambda: a.log.count("MASTER <-> REPLICA sync: Finished with success") == 2)
    assert "for lack of backlog" in primary.log
    assert await ca.get("big39") == b"x" * 1024
    await p.aclose()
    await ca.aclose()


async def test_a_sibling_partially_resyncs_from_a_promoted_replica(trio) -> None:
    """REPLICAOF NO ONE on one replica, REPLICAOF it on the other: +CONTINUE (PSYNC2)."""
    primary, a, b = trio
    p, ca, cb = await client(primary), await client(a), await client(b)
    await p.set("k", "v")
    assert await p.execute_command("WAIT", 2, 1000) == 2
    old_id = (await replication_info(primary))["master_replid"]
    assert await ca.execute_command("REPLICAOF", "NO", "ONE")
    info = await replication_info(a)
    assert info["role"] == "master"
    assert info["master_replid2"] == old_id
    assert "MASTER MODE enabled (user request from 'id=" in a.log
    assert await cb.execute_command("REPLICAOF", a.ip, "6379")
    await wait_until(lambda: "Master accepted a Partial Resynchronization" in b.log, message=b.log)
    assert b.log.count("Full resync from master") == 1
    assert f"Master replication ID changed to {info['master_replid']}" in b.log
    await ca.set("after", "promotion")
    assert await ca.execute_command("WAIT", 1, 1000) == 1
    assert await cb.get("after") == b"promotion"
    for c in (p, ca, cb):
        await c.aclose()


async def test_expire_on_the_primary_expires_at_the_same_moment_on_replicas(trio) -> None:
    """EXPIRE streams as PEXPIREAT: the replicas hold the primary's absolute deadline."""
    primary, a, b = trio
    p, ca, cb = await client(primary), await client(a), await client(b)
    await p.set("session", "1")
    await p.expire("session", 1)
    assert await p.execute_command("WAIT", 2, 1000) == 2
    deadline = await p.pexpiretime("session")
    assert await ca.pexpiretime("session") == deadline
    assert await cb.pexpiretime("session") == deadline
    while await p.exists("session"):
        await asyncio.sleep(0.005)
    assert not await ca.exists("session") and not await cb.exists("session")
    for c in (p, ca, cb):
        await c.aclose()


async def test_the_stream_replicates_effects_and_wraps_transactions(net: PodNet) -> None:
    """What a replica receives: PEXPIREAT for EXPIRE, SREM for SPOP, MULTI/EXEC for a
    transaction, SELECT on a db change, as RESP arrays."""
    primary = await net.start("redis-0")
    tap = await StreamTap.attach(primary)
    p = await client(primary)
    await p.set("k", "v")
    await p.expire("k", 100)
    await p.sadd("s", "only")
    await p.spop("s")
    async with p.pipeline(transaction=True) as pipe:
        pipe.set("a", "1").incr("n")
        await pipe.execute()
    await p.set("nx", "1", nx=True)
    await p.set("nx", "2", nx=True)
    await p.execute_command("SELECT", 3)
    commands = await tap.commands(until=lambda cs: cs and cs[-1][0] == b"EXEC")
    names = [c[0] for c in commands]
    assert names[:2] == [b"SELECT", b"SET"]
    expire = commands[2]
    assert expire[0] == b"PEXPIREAT" and abs(int(expire[2]) - (time.time() + 100) * 1000) < 2000
    assert commands[3] == [b"SADD", b"s", b"only"]
    assert commands[4] == [b"SREM", b"s", b"only"]
    assert commands[5:] == [[b"MULTI"], [b"SET", b"a", b"1"], [b"INCRBY", b"n", b"1"],
                            [b"EXEC"]]
    nx = await tap.commands(until=lambda cs: len(cs) >= 1)
    assert nx == [[b"SET", b"nx", b"1", b"NX"]], "the refused SET NX is not streamed"
    await tap.close()
    await p.aclose()


class StreamTap:
    """A fake replica: PSYNCs, takes the snapshot, then reads the raw stream."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = resp.ReplyParser()

    @classmethod
    async def attach(cls, pod: RedisPod) -> StreamTap:
        reader, writer = await asyncio.open_connection(pod.ip, 6379)
        tap = cls(reader, writer)
        writer.write(resp.encode_command((b"PSYNC", b"?", b"-1")))
        reply = await tap._next(lambda: tap.parser.next_frame())
        assert reply.value.startswith(b"FULLRESYNC")
        await tap._next(lambda: tap.parser.next_snapshot())
        return tap

    async def _next(self, take):
        while True:
            frame = take()
            if frame is not resp.NEED_DATA:
                return frame
            data = await asyncio.wait_for(self.reader.read(65536), 5)
            assert data, "stream closed"
            self.parser.feed(data)

    async def commands(self, until) -> list[list[bytes]]:
        found: list[list[bytes]] = []
        while not until(found):
            frame = await self._next(self.parser.next_frame)
            if frame != [b"PING"]:
                found.append(frame)
        return found

    async def close(self) -> None:
        self.writer.close()


async def test_multi_exec_appears_atomically_on_replicas(trio) -> None:
    """A transaction's writes are all visible on a replica, or none of them."""
    primary, a, _ = trio
    p, ca = await client(primary), await client(a)
    observed: list[tuple[bytes | None, bytes | None]] = []
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            observed.append(tuple(await ca.mget("t1", "t2")))

    watcher = asyncio.create_task(watch())
    for i in range(30):
        async with p.pipeline(transaction=True) as pipe:
            pipe.set("t1", i).set("t2", i)
            await pipe.execute()
    await p.execute_command("WAIT", 2, 1000)
    stop.set()
    await watcher
    assert observed and all(x == y for x, y in observed), "a half-applied transaction"
    assert await ca.mget("t1", "t2") == [b"29", b"29"]
    await p.aclose()
    await ca.aclose()


TUTORIAL_SEQUENCE = [
    "Connecting to MASTER redis-sfs-0.redis-sfs:6379",
    "MASTER <-> REPLICA sync started",
    "Non blocking connect for SYNC fired the event.",
    "Master replied to PING, replication can continue...",
    "Partial resynchronization not possible (no cached master)",
    "Full resync from master: ",
    "MASTER <-> REPLICA sync: receiving ",
    "MASTER <-> REPLICA sync: Flushing old data",
    "MASTER <-> REPLICA sync: Loading DB in memory",
    "MASTER <-> REPLICA sync: Finished with success",
]


async def test_the_tutorials_replica_logs_retries_then_syncs(net: PodNet) -> None:
    """The tutorial's StatefulSet: the replica starts before `redis-sfs-0.redis-sfs` resolves,
    logs Unable to connect… every retry, and syncs with the exact lines once it does."""
    primary = await net.start("redis-sfs-0", conf="\n", publish=False)
    replica = await net.start("redis-sfs-1", conf="slaveof redis-sfs-0.redis-sfs 6379\n",
                              publish=False)
    unable = "Unable to connect to MASTER: Resource temporarily unavailable"
    await wait_until(lambda: replica.log.count(unable) >= 3, message=replica.log)
    assert replica.task.done() is False
    net.publish(primary, service="redis-sfs")
    await synced(replica)
    messages = replica.messages()
    start = max(i for i, m in enumerate(messages) if m == TUTORIAL_SEQUENCE[0])
    tail = messages[start:]
    position = 0
    for expected in TUTORIAL_SEQUENCE:
        while position < len(tail) and not tail[position].startswith(expected):
            position += 1
        assert position < len(tail), f"missing {expected!r} in order:\n" + "\n".join(tail)
    lines = replica.lines
    assert any(line.startswith("1:S ") and line.endswith(f"# {unable}") for line in lines)
    assert "Full resync from master: " in replica.log
    full = next(m for m in messages if m.startswith("Full resync from master: "))
    replid, offset = full.split(": ")[1].split(":")
    assert len(replid) == 40 and offset == "0"
    assert "* Replica " in primary.log and "Synchronization with replica" in primary.log


async def test_replicaof_an_unresolvable_host_logs_and_retries(net: PodNet) -> None:
    """REPLICAOF nowhere.invalid: +OK, retries logged every time, the server keeps serving."""
    pod = await net.start("redis-0")
    c = await client(pod)
    assert await c.execute_command("REPLICAOF", "nowhere.invalid", "6379")
    await wait_until(lambda: pod.log.count("Unable to connect to MASTER") >= 3)
    assert pod.log.count("Connecting to MASTER nowhere.invalid:6379") >= 3
    info = await c.info("replication")
    assert info["master_link_status"] == "down" and info["master_host"] == "nowhere.invalid"
    assert await c.ping()
    assert await c.execute_command("ROLE") == [b"slave", b"nowhere.invalid", 6379, b"connect", -1]
    assert not pod.task.done()
    await c.aclose()


async def info_until(pod: RedisPod, check, timeout: float = 5.0) -> dict:
    """Poll `INFO replication` of `pod` until `check(info)` holds; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        info = await replication_info(pod)
        if check(info):
            return info
        assert time.monotonic() < deadline, info
        await asyncio.sleep(0.01)


async def test_a_replica_keeps_its_offset_after_its_primary_dies(trio) -> None:
    """As Redis caches its master on link loss, the offsets stay those last processed."""
    primary, a, _ = trio
    p = await client(primary)
    for i in range(10):
        await p.set(f"k{i}", i)
    offset = (await replication_info(primary))["master_repl_offset"]
    await info_until(a, lambda info: info["slave_repl_offset"] == offset)
    await p.aclose()
    await primary.stop()
    info = await info_until(a, lambda info: info["master_link_status"] == "down")
    assert (info["slave_repl_offset"], info["master_repl_offset"]) == (offset, offset)


async def test_offsets_advance_after_a_full_resync_from_a_restarted_primary(net: PodNet) -> None:
    """A primary restarted empty gives its replica a full sync; later writes advance both
    offsets, and the replica keeps them once that primary dies too."""
    primary = await net.start("redis-0")
    replica = await net.start("redis-1", "--replicaof", "redis-0.redis", "6379")
    await synced(replica)
    await primary.stop()
    await info_until(replica, lambda info: info["master_link_status"] == "down")
    primary = await net.start("redis-0")
    await info_until(replica, lambda info: info["master_link_status"] == "up")
    p = await client(primary)
    await p.set("tutorial", "after-restart")
    offset = (await replication_info(primary))["master_repl_offset"]
    assert offset > 0
    await info_until(replica, lambda info: info["slave_repl_offset"] == offset)
    await p.aclose()
    await primary.stop()
    info = await info_until(replica, lambda info: info["master_link_status"] == "down")
    assert (info["slave_repl_offset"], info["master_repl_offset"]) == (offset, offset)
