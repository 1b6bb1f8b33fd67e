"""MULTI queues the commands the server answers itself (REPLICAOF, CONFIG, CLIENT KILL, ROLE),
as Redis does and as Redis Sentinel's failover needs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aredis
from redis.exceptions import ResponseError
from redis_pods import PodNet, wait_until

SENTINEL_PROMOTION = (["MULTI"], ["SLAVEOF", "NO", "ONE"], ["CONFIG", "REWRITE"],
                      ["CLIENT", "KILL", "TYPE", "normal"], ["CLIENT", "KILL", "TYPE", "pubsub"],
                      ["ROLE"])
"""What Sentinel sends a replica it promotes (plus ROLE, to see the result inside EXEC)."""


@pytest.fixture
async def conn(net: PodNet) -> AsyncIterator[aredis.Connection]:
    """One raw connection to a replica of redis-0 whose config file says so."""
    await net.start("redis-0")
    replica = await net.start("redis-1", conf="port 6379\nreplicaof redis-0.redis 6379\n")
    await wait_until(lambda: "MASTER <-> REPLICA sync: Finished with success" in replica.log)
    connection = aredis.Connection(host=replica.ip, port=6379, socket_timeout=5)
    await connection.connect()
    yield connection
    await connection.disconnect()


async def send(connection: aredis.Connection, *commands: list[str]) -> list[object]:
    """Each command's reply in turn (errors as ResponseError values, not raised)."""
    replies = []
    for command in commands:
        await connection.send_command(*command)
        try:
            replies.append(await connection.read_response())
        except ResponseError as exc:
            replies.append(exc)
    return replies


async def test_sentinels_promotion_runs_inside_exec(net: PodNet, conn) -> None:
    """MULTI, SLAVEOF NO ONE, CONFIG REWRITE, CLIENT KILL TYPE normal/pubsub, ROLE, EXEC:
    each is QUEUED, EXEC answers what Redis 7.0 answers, and every effect happened: the
    replica is a primary, its config file lost `replicaof`, the other clients are gone."""
    replica = net.pods["redis-1"]
    other = aredis.Redis(host=replica.ip, port=6379, single_connection_client=True)
    listener = aredis.Redis(host=replica.ip, port=6379).pubsub()
    try:
        await other.ping()
        await listener.subscribe("news")
        await send(conn, ["CLIENT", "SETNAME", "promoter"])
        assert await send(conn, *SENTINEL_PROMOTION) == [b"OK"] + [b"QUEUED"] * 5
        assert await send(conn, ["EXEC"]) == [[b"OK", b"OK", 1, 1, [b"master", 0, []]]]
        assert "MASTER MODE enabled (user request from 'id=" in replica.log
        with replica.ctx.open("/tmp/redis.conf") as f:
            assert "replicaof" not in f.read()
        names = [line.split(" name=")[1].split(" ")[0] for line in
                 (await send(conn, ["CLIENT", "LIST"]))[0].decode().splitlines()]
        assert names == ["promoter"]
    finally:
        await other.aclose()
        await listener.aclose()


async def test_a_watched_key_changed_discards_queued_own_commands(net: PodNet) -> None:
    """EXEC after a WATCHed key changed answers nil and runs none of the queued commands,
    the server's own (CONFIG SET) included."""
    primary = await net.start("redis-0")
    connection = aredis.Connection(host=primary.ip, port=6379, socket_timeout=5)
    writer = aredis.Redis(host=primary.ip, port=6379)
    try:
        await send(connection, ["WATCH", "k"])
        await writer.set("k", "changed")
        replies = await send(connection, ["MULTI"], ["CONFIG", "SET", "maxmemory", "12345"],
                             ["EXEC"], ["CONFIG", "GET", "maxmemory"])
        assert replies == [b"OK", b"QUEUED", None, {b"maxmemory": b"0"}]
        replies = await send(connection, ["MULTI"], ["CONFIG", "SET", "maxmemory", "12345"],
                             ["DISCARD"], ["CONFIG", "GET", "maxmemory"])
        assert replies == [b"OK", b"QUEUED", b"OK", {b"maxmemory": b"0"}]
    finally:
        await connection.disconnect()
        await writer.aclose()


async def test_no_multi_commands_still_abort_the_transaction(net: PodNet) -> None:
    """SAVE (flagged no-multi in Redis) inside MULTI is refused and EXEC aborts, so the
    CONFIG SET queued before it never runs; CLIENT SETNAME queues and runs in EXEC."""
    primary = await net.start("redis-0")
    connection = aredis.Connection(host=primary.ip, port=6379, socket_timeout=5)
    try:
        replies = await send(connection, ["MULTI"], ["CONFIG", "SET", "maxmemory", "12345"],
                             ["SAVE"], ["EXEC"], ["CONFIG", "GET", "maxmemory"])
        assert replies[:2] == [b"OK", b"QUEUED"]
        assert str(replies[2]) == "Command not allowed inside a transaction"
        assert str(replies[3]) == "Transaction discarded because of previous errors."
        assert replies[4] == {b"maxmemory": b"0"}
        replies = await send(connection, ["MULTI"], ["CLIENT", "SETNAME", "named"],
                             ["CLIENT", "INFO"], ["EXEC"])
        assert replies[:3] == [b"OK", b"QUEUED", b"QUEUED"]
        assert replies[3][0] == b"OK" and b" name=named " in replies[3][1]
    finally:
        await connection.disconnect()
