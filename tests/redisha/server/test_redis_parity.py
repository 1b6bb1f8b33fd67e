"""Replies, INFO fields and log lines the fake server shares with redis-server 7.0.15, word for
word: each expected string below is what the real server answered to the same request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis_pods import PodNet, RedisPod, wait_until

from redisha.server import resp


class Wire:
    """One raw RESP connection: send a command, get its reply frames (errors as values)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = resp.ReplyParser()

    async def __call__(self, *args: str, replies: int = 1) -> Any:
        self.writer.write(resp.encode_command(tuple(a.encode() for a in args)))
        frames: list[Any] = []
        async with asyncio.timeout(5):
            while len(frames) < replies:
                frame = self.parser.next_frame()
                if frame is resp.NEED_DATA:
                    data = await self.reader.read(65536)
                    if not data:
                        frames.append(EOFError())
                        break
                    self.parser.feed(data)
                    continue
                frames.append(frame)
        return frames[0] if replies == 1 else frames


@pytest.fixture
async def pod(net: PodNet) -> RedisPod:
    return await net.start("redis-0")


@pytest.fixture
async def wire(pod: RedisPod) -> AsyncIterator[Wire]:
    reader, writer = await asyncio.open_connection(pod.ip, 6379)
    yield Wire(reader, writer)
    writer.close()


def error(message: str) -> resp.Error:
    return resp.Error(message)


async def test_config_set_refusals_are_redis_words_and_change_nothing(wire: Wire) -> None:
    """CONFIG SET: unknown first, then immutable/duplicate as typed; odd pairs; arity; HELP."""
    failed = "ERR CONFIG SET failed (possibly related to argument "
    assert await wire("CONFIG", "SET", "maxclients", "1", "FOO", "2") == error(
        "ERR Unknown option or number of arguments for CONFIG SET - 'FOO'")
    assert await wire("CONFIG", "SET", "maxclients", "100", "maxclients", "200") == error(
        failed + "'maxclients') - duplicate parameter")
    assert await wire("CONFIG", "SET", "Daemonize", "yes", "maxclients", "1",
                      "maxclients", "2") == error(failed + "'Daemonize') - can't set immutable config")
    assert await wire("CONFIG", "SET", "maxclients", "0") == error(
        failed + "'maxclients') - argument must be between 1 and 4294967295 inclusive")
    assert await wire("CONFIG", "SET", "appendfsync", "maybe") == error(
        failed + "'appendfsync') - argument(s) must be one of the following: everysec, always, no")
    assert await wire("CONFIG", "SET", "a", "b", "c") == error("ERR syntax error")
    assert await wire("CONFIG", "GET", "maxclients") == [b"maxclients", b"10000"]
    assert await wire("CONFIG", "SET", "slave-priority", "1", "replica-priority", "2") == resp.OK
    assert await wire("CONFIG", "SET", "hz", "1000") == resp.OK
    assert await wire("CONFIG", "GET", "hz") == [b"hz", b"500"]
    assert await wire("CONFIG", "REWRITE", "x") == error(
        "ERR wrong number of arguments for 'config|rewrite' command")
    assert await wire("CONFIG", "RESETSTAT", "x") == error(
        "ERR wrong number of arguments for 'config|resetstat' command")
    help_lines = await wire("CONFIG", "HELP")
    assert help_lines[:3] == [
        resp.SimpleString(b"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
        resp.SimpleString(b"GET <pattern>"),
        resp.SimpleString(b"    Return parameters matching the glob-like <pattern> and their values.")]


async def test_client_debug_and_shutdown_errors_are_redis_words(wire: Wire) -> None:
    """CLIENT/DEBUG arity and filters, DEBUG SLEEP's strtod, SHUTDOWN's illegal mixes."""
    assert await wire("CLIENT") == error("ERR wrong number of arguments for 'client' command")
    assert await wire("CLIENT", "KILL") == error(
        "ERR wrong number of arguments for 'client|kill' command")
    assert await wire("CLIENT", "KILL", "MAXAGE", "x") == error("ERR syntax error")
    assert await wire("CLIENT", "KILL", "USER", "nobody") == error("ERR No such user 'nobody'")
    assert await wire("DEBUG") == error("ERR wrong number of arguments for 'debug' command")
    assert await wire("DEBUG", "SLEEP") == error(
        "ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.")
    assert await wire("DEBUG", "SLEEP", "x") == resp.OK
    for words in (["NOSAVE", "SAVE"], ["ABORT", "NOW"], ["FOO", "ABORT"]):
        assert await wire("SHUTDOWN", *words) == error("ERR syntax error"), words
    assert await wire("SHUTDOWN", "ABORT") == error("ERR No shutdown in progress.")
    assert await wire("PING") == resp.SimpleString(b"PONG")


async def test_a_subscribed_connection_is_limited_in_resp2_only(pod: RedisPod, wire: Wire) -> None:
    """RESP2: Redis' 'Can't execute' refusal (own commands too); RESP3: anything runs."""
    assert await wire("SUBSCRIBE", "news") == [b"subscribe", b"news", 1]
    context = "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    assert await wire("GET", "a") == error(f"ERR Can't execute 'get': {context}")
    assert await wire("CLIENT", "LIST") == error(f"ERR Can't execute 'client|list': {context}")
    reader, writer = await asyncio.open_connection(pod.ip, 6379)
    resp3 = Wire(reader, writer)
    await resp3("HELLO", "3")
    assert await resp3("SUBSCRIBE", "news") == resp.Push([b"subscribe", b"news", 1])
    assert await resp3("SET", "a", "1") == resp.OK
    listing = (await resp3("CLIENT", "LIST")).text.decode()
    assert "flags=P" in listing and "cmd=client|list" in listing
    writer.close()


async def test_wait_inside_multi_answers_at_once(wire: Wire) -> None:
    """WAIT queued in MULTI answers the replicas acknowledged so far instead of blocking."""
    assert await wire("MULTI") == resp.OK
    assert await wire("WAIT", "1", "0") == resp.SimpleString(b"QUEUED")
    assert await wire("EXEC") == [0]


async def test_info_persistence_and_stats_have_redis_fields_in_order(wire: Wire) -> None:
    """INFO persistence and stats list Redis 7.0.15's fields, in its order."""
    persistence = (await wire("INFO", "persistence")).decode()
    names = [line.split(":")[0] for line in persistence.split("\r\n")[1:] if line]
    assert names[:9] == ["loading", "async_loading", "current_cow_peak", "current_cow_size",
                         "current_cow_size_age", "current_fork_perc",
                         "current_save_keys_processed", "current_save_keys_total",
                         "rdb_changes_since_last_save"]
    assert names[-4:] == ["aof_last_write_status", "aof_last_cow_size",
                          "module_fork_in_progress", "module_fork_last_cow_size"]
    stats = (await wire("INFO", "stats")).decode()
    assert "\r\nrejected_connections:0\r\nsync_full:0\r\nsync_partial_ok:0\r\n" \
           "sync_partial_err:0\r\nexpired_keys:0\r\n" in stats
    assert stats.rstrip().endswith("reply_buffer_shrinks:0\r\nreply_buffer_expands:0")


async def test_replica_lists_its_primary_link_and_logs_like_redis(net: PodNet) -> None:
    """A replica: flags=M client, counted; primary: sync_full; promotion and resync logs."""
    primary = await net.start("redis-0")
    replica = await net.start("redis-1", "--replicaof", "redis-0.redis", "6379")
    await wait_until(lambda: "MASTER <-> REPLICA sync: Finished with success" in replica.log)
    reader, writer = await asyncio.open_connection(replica.ip, 6379)
    wire = Wire(reader, writer)
    lines = (await wire("CLIENT", "LIST")).decode().splitlines()
    assert len(lines) == 2 and f"addr={primary.ip}:6379 " in lines[0]
    assert " flags=M " in lines[0] and " user=(superuser) " in lines[0]
    assert "\r\nconnected_clients:2\r\n" in (await wire("INFO", "clients")).decode()
    p_reader, p_writer = await asyncio.open_connection(primary.ip, 6379)
    assert "\r\nsync_full:1\r\n" in (await Wire(p_reader, p_writer)("INFO", "stats")).decode()
    p_writer.close()
    assert any(line.startswith("21:C ") and line.endswith("DB saved on disk")
               for line in primary.lines), "the forked child's own pid"

    mark = len(replica.lines)
    assert await wire("REPLICAOF", "NO", "ONE") == resp.OK
    promoted = replica.lines[mark:]
    assert any(" # Connection with master lost." in line for line in promoted)
    assert all(line.startswith("1:M ") for line in promoted), promoted

    await wire("SET", "diverged", "1")
    mark = len(replica.lines)
    assert await wire("REPLICAOF", "redis-0.redis", "6379") == resp.OK
    await wait_until(lambda: "MASTER <-> REPLICA sync: Finished with success"
                     in "\n".join(replica.lines[mark:]))
    messages = replica.messages()[mark:]
    discard = messages.index("Discarding previously cached master state.")
    assert messages[discard + 1] == "MASTER <-> REPLICA sync: Flushing old data"
    writer.close()


async def test_a_diskless_full_sync_logs_redis_lines(net: PodNet) -> None:
    """repl-diskless-sync: the primary logs an RDB transfer by a child, not a save."""
    primary = await net.start("redis-0", "--repl-diskless-sync", "yes",
                              "--repl-diskless-sync-delay", "0")
    replica = await net.start("redis-1", "--replicaof", "redis-0.redis", "6379")
    await wait_until(lambda: "Synchronization with replica" in primary.log)
    messages = primary.messages()
    assert "Background RDB transfer started by pid 21" in messages
    assert "Diskless rdb transfer, done reading from pipe, 1 replicas still up." in messages
    assert f"Streamed RDB transfer with replica {replica.ip}:6379 succeeded (socket). Waiting " \
           "for REPLCONF ACK from slave to enable streaming" in messages
