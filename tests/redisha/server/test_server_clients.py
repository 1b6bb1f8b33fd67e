"""Clients against a fake redis pod over TCP: redis-py (sync and asyncio, RESP2 and RESP3),
Debian's redis-cli, the image's own redis-cli, and bad input."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import shutil
import subprocess
import time
from collections.abc import Callable

import pytest
import redis
import redis.asyncio as aredis
from redis_pods import PodNet, RedisPod, in_thread, wait_until

from redisha.server import resp

REDIS_CLI = shutil.which("redis-cli")
needs_redis_cli = pytest.mark.skipif(REDIS_CLI is None,
                                     reason="Debian's redis-cli is not installed (redis-tools)")


@pytest.fixture
async def pod(net: PodNet) -> RedisPod:
    return await net.start("redis-0")


async def raw(pod: RedisPod, data: bytes) -> bytes:
    """Send raw bytes, return everything the server sends before closing or going quiet."""
    reader, writer = await asyncio.open_connection(pod.ip, 6379)
    writer.write(data)
    out = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 0.3):
            out += chunk
    except TimeoutError:
        pass
    writer.close()
    return out


async def test_redis_py_sync_client_sets_gets_and_pipelines(pod: RedisPod) -> None:
    """The blocking redis-py client: commands, a pipeline, types."""
    def session() -> tuple:
        c = redis.Redis(host=pod.ip, port=6379, socket_timeout=5)
        c.set("a", "1")
        pipe = c.pipeline(transaction=False)
        for i in range(100):
            pipe.incr("counter")
        pipe.rpush("list", "x", "y")
        pipe.hset("h", mapping={"f": "v"})
        results = pipe.execute()
        out = (c.get("a"), results[99], c.lrange("list", 0, -1), c.hgetall("h"), c.ping())
        c.close()
        return out

    assert await in_thread(session) == (b"1", 100, [b"x", b"y"], {b"f": b"v"}, True)


async def test_redis_py_asyncio_client_speaks_resp3_after_hello(pod: RedisPod) -> None:
    """protocol=3: HELLO 3 answers as redis 7.0.15, maps come back as RESP3 maps."""
    c = aredis.Redis(host=pod.ip, port=6379, protocol=3)
    await c.hset("h", mapping={"a": "1"})
    assert await c.hgetall("h") == {b"a": b"1"}
    hello = await c.execute_command("HELLO", 3)
    assert hello[b"server"] == b"redis" and hello[b"version"] == b"7.0.15"
    assert hello[b"proto"] == 3 and hello[b"role"] == b"master"
    await c.aclose()
    assert (await raw(pod, b"HELLO 3\r\nHGETALL h\r\n")).endswith(b"%1\r\n$1\r\na\r\n$1\r\n1\r\n")


async def test_pipelined_commands_are_answered_in_order_in_one_go(pod: RedisPod) -> None:
    """A thousand commands in one write: a thousand replies, in order."""
    commands = b"".join(resp.encode_command((b"INCR", b"n")) for _ in range(1000))
    reader, writer = await asyncio.open_connection(pod.ip, 6379)
    writer.write(commands)
    parser = resp.ReplyParser()
    replies: list[object] = []
    while len(replies) < 1000:
        parser.feed(await reader.read(65536))
        while (frame := parser.next_frame()) is not resp.NEED_DATA:
            replies.append(frame)
    assert replies == list(range(1, 1001))
    writer.close()


async def test_publish_reaches_subscribers_in_resp2_and_resp3(pod: RedisPod) -> None:
    """SUBSCRIBE in RESP2 gets arrays, in RESP3 push frames; PUBLISH counts receivers."""
    r2_reader, r2 = await asyncio.open_connection(pod.ip, 6379)
    r3_reader, r3 = await asyncio.open_connection(pod.ip, 6379)
    r2.write(resp.encode_command((b"SUBSCRIBE", b"news")))
    r3.write(b"HELLO 3\r\n" + resp.encode_command((b"PSUBSCRIBE", b"ne*")))
    await r2_reader.readuntil(b":1\r\n")
    await r3_reader.readuntil(b">3\r\n$10\r\npsubscribe\r\n$3\r\nne*\r\n:1\r\n")
    c = aredis.Redis(host=pod.ip, port=6379)
    assert await c.publish("news", "hi") == 2
    assert await r2_reader.readuntil(b"hi\r\n") == b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    assert (await r3_reader.readuntil(b"hi\r\n")).startswith(b">4\r\n$8\r\npmessage\r\n")
    await c.aclose()
    r2.close()
    r3.close()


async def test_a_blocking_pop_does_not_block_other_clients(pod: RedisPod) -> None:
    """BLPOP parks only its own connection; RPUSH from another client serves it."""
    waiter, pusher = aredis.Redis(host=pod.ip, port=6379), aredis.Redis(host=pod.ip, port=6379)
    pop = asyncio.create_task(waiter.blpop(["jobs"], timeout=5))
    await asyncio.sleep(0.05)
    start = time.monotonic()
    assert await pusher.ping()
    assert time.monotonic() - start < 0.5
    await pusher.rpush("jobs", "j1")
    assert tuple(await asyncio.wait_for(pop, 2)) == (b"jobs", b"j1")
    await waiter.aclose()
    await pusher.aclose()


@pytest.mark.parametrize(("request_", "reply"), [
    pytest.param(b"FOO bar baz\r\n",
                 b"-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n",
                 id="unknown-command"),
    pytest.param(b"GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n",
                 id="wrong-arity"),
    pytest.param(b"CONFIG FOO\r\n", b"-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n",
                 id="unknown-subcommand"),
    pytest.param(b"WAIT 1 x\r\n", b"-ERR timeout is not an integer or out of range\r\n",
                 id="wait-timeout"),
    pytest.param(b"CONFIG SET port abc\r\n",
                 b"-ERR CONFIG SET failed (possibly related to argument 'port') - can't set "
                 b"immutable config\r\n", id="config-immutable"),
    pytest.param(b"CONFIG SET replica-priority x\r\n",
                 b"-ERR CONFIG SET failed (possibly related to argument 'replica-priority') - "
                 b"argument couldn't be parsed into an integer\r\n", id="config-bad-value"),
    pytest.param(b"CONFIG SET nope 1\r\n",
                 b"-ERR Unknown option or number of arguments for CONFIG SET - 'nope'\r\n",
                 id="config-unknown"),
    pytest.param(b"REPLICAOF host port\r\n", b"-ERR Invalid master port\r\n", id="bad-port"),
    pytest.param(b"HELLO 4\r\n", b"-NOPROTO unsupported protocol version\r\n", id="hello-4"),
])
async def test_bad_commands_get_redis_errors_and_the_connection_stays(pod: RedisPod,
                                                                       request_: bytes,
                                                                       reply: bytes) -> None:
    """Each bad command gets Redis 7.0's exact error; the next command is still answered."""
    assert await raw(pod, request_ + b"PING\r\n") == reply + b"+PONG\r\n"


@pytest.mark.parametrize("garbage", [
    pytest.param(b"*1\r\n$x\r\n", id="bad-bulk-length"),
    pytest.param(b"*2\r\n:1\r\n", id="integer-in-request"),
    pytest.param(b'GET "unterminated\r\n', id="unbalanced-quotes"),
])
async def test_a_malformed_frame_closes_that_connection_only(pod: RedisPod,
                                                            garbage: bytes) -> None:
    """Protocol error: -ERR Protocol error… then EOF; other clients keep being served."""
    other = aredis.Redis(host=pod.ip, port=6379)
    await other.set("still", "here")
    reader, writer = await asyncio.open_connection(pod.ip, 6379)
    writer.write(b"PING\r\n" + garbage + b"PING\r\n")
    data = await asyncio.wait_for(reader.read(), 2)
    assert data.startswith(b"+PONG\r\n-ERR Protocol error: ")
    assert data.count(b"\r\n") == 2, "nothing after the error, then EOF"
    writer.close()
    assert await other.get("still") == b"here"
    await other.aclose()


async def test_config_get_set_and_info_fields(pod: RedisPod) -> None:
    """CONFIG SET/GET round-trips (aliases too); INFO has Redis' section and field names."""
    c = aredis.Redis(host=pod.ip, port=6379)
    assert await c.config_set("replica-priority", 42)
    assert await c.config_get("slave-priority") == {"slave-priority": "42"}
    assert (await c.config_get("repl-backlog-*"))["repl-backlog-size"] == "1048576"
    assert await c.config_set("repl-backlog-size", "2mb")
    assert await c.config_get("repl-backlog-size") == {"repl-backlog-size": "2097152"}
    await c.set("k", "v", ex=100)
    info = await c.info()
    assert info["redis_version"] == "7.0.15" and len(info["run_id"]) == 40
    assert info["tcp_port"] == 6379 and info["role"] == "master"
    db0 = info["db0"]
    assert (db0["keys"], db0["expires"]) == (1, 1) and 90_000 < db0["avg_ttl"] <= 100_000
    assert "rdb_changes_since_last_save" in info and "connected_clients" in info
    assert await c.execute_command("ROLE") == [b"master", 0, []]
    await c.aclose()


async def test_client_list_setname_and_kill(pod: RedisPod) -> None:
    """CLIENT SETNAME shows in CLIENT LIST; CLIENT KILL ID closes that connection."""
    victim = aredis.Redis(host=pod.ip, port=6379, client_name="victim")
    await victim.ping()
    admin = aredis.Redis(host=pod.ip, port=6379)
    listing = await admin.client_list()
    target = next(entry for entry in listing if entry["name"] == "victim")
    assert target["flags"] == "N" and target["cmd"] == "ping" and target["resp"] == "3"
    assert await admin.execute_command("CLIENT", "KILL", "ID", target["id"]) == 1
    assert await raw(pod, b'CLIENT SETNAME "has space"\r\n') == (
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
    assert [e["name"] for e in await admin.client_list()].count("victim") == 0
    await victim.aclose()
    await admin.aclose()


async def test_debug_sleep_stalls_the_whole_server(pod: RedisPod) -> None:
    """DEBUG SLEEP 0.3: another client's PING waits until the server wakes up."""
    sleeper, other = aredis.Redis(host=pod.ip, port=6379), aredis.Redis(host=pod.ip, port=6379)
    await other.ping()
    sleeping = asyncio.create_task(sleeper.execute_command("DEBUG", "SLEEP", "0.3"))
    await asyncio.sleep(0.02)
    start = time.monotonic()
    assert await other.ping()
    assert time.monotonic() - start >= 0.2
    assert await sleeping
    await sleeper.aclose()
    await other.aclose()


async def test_shutdown_and_sigterm_log_like_redis_and_exit_zero(net: PodNet) -> None:
    """SHUTDOWN NOSAVE ends the program with Redis' lines; a stop request logs SIGTERM."""
    first = await net.start("redis-0")
    assert (await raw(first, b"SHUTDOWN NOSAVE\r\n")) == b""
    assert await asyncio.wait_for(first.task, 2) == 0
    assert first.messages()[-2:] == ["User requested shutdown...",
                                     "Redis is now ready to exit, bye bye..."]
    second = await net.start("redis-1")
    assert await second.stop() == 0
    assert "1:signal-handler (" in second.log
    assert "Received SIGTERM scheduling shutdown..." in second.log


async def test_saved_data_is_loaded_after_a_restart(net: PodNet) -> None:
    """SAVE writes dir/dbfilename in the container; a restarted server loads it."""
    first = await net.start("redis-0")
    c = aredis.Redis(host=first.ip, port=6379)
    await c.set("durable", "yes")
    assert await c.save()
    await c.aclose()
    assert await first.stop() == 0
    first.sandbox.destroy()
    net.pods.pop("redis-0")
    again = await net.start("redis-0")
    assert "Done loading RDB, keys loaded: 1, keys expired: 0." in again.log
    c = aredis.Redis(host=again.ip, port=6379)
    assert await c.get("durable") == b"yes"
    await c.aclose()


@needs_redis_cli
@pytest.mark.parametrize(("args", "stdout"), [
    pytest.param(["ping"], "PONG\n", id="status"),
    pytest.param(["set", "a", "1"], "OK\n", id="ok"),
    pytest.param(["incr", "n"], "1\n", id="integer"),
    pytest.param(["get", "nope"], "\n", id="nil"),
    pytest.param(["foo", "bar"],
                 "ERR unknown command 'foo', with args beginning with: 'bar' \n\n", id="error"),
    pytest.param(["rpush", "l", "x", "y"], "2\n", id="rpush"),
    pytest.param(["role"], "master\n0\n\n", id="array"),
])
async def test_debians_redis_cli_with_arguments(pod: RedisPod, args: list[str],
                                               stdout: str) -> None:
    """/usr/bin/redis-cli in a pipe prints exactly what it prints against a real server."""
    result = await in_thread(lambda: subprocess.run(
        [REDIS_CLI, "-h", pod.ip, "-p", "6379", *args], capture_output=True, text=True,
        timeout=10, check=False))
    assert (result.returncode, result.stdout) == (0, stdout)


@needs_redis_cli
async def test_debians_redis_cli_interactive_on_a_terminal(pod: RedisPod) -> None:
    """redis-cli on a pty: prompt, `set`, `get` with TTY formatting, `quit`."""
    def interact() -> str:
        master, slave = pty.openpty()
        proc = subprocess.Popen([REDIS_CLI, "-h", pod.ip, "-p", "6379"], stdin=slave,
                                stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        out = b""

        def pump(done: Callable[[], bool]) -> None:
            nonlocal out
            deadline = time.monotonic() + 10
            while not done() and time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.05)
                if ready:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:
                        return
                    out += chunk
                    if b"\x1b[6n" in chunk:  # linenoise asks where the cursor is
                        os.write(master, b"\x1b[1;80R" * chunk.count(b"\x1b[6n"))

        try:
            for line, answer in ((b"", b"> "), (b"set greeting hello\r", b"OK"),
                                 (b"get greeting\r", b'"hello"'),
                                 (b"incr n\r", b"(integer) 1")):
                os.write(master, line)
                pump(lambda answer=answer: answer in out)
                pump(lambda: out.endswith(b"> "))
            os.write(master, b"quit\r")
            pump(lambda: proc.poll() is not None)
            return out.decode(errors="replace")
        finally:
            proc.kill()
            proc.wait()
            os.close(master)

    transcript = await in_thread(interact)
    assert f"{pod.ip}:6379> " in transcript
    assert '"hello"' in transcript and "(integer) 1" in transcript


async def test_the_images_redis_cli_formats_like_redis_cli(net: PodNet, pod: RedisPod) -> None:
    """`kubectl exec … -- redis-cli …`: raw output by default, TTY form with --no-raw,
    other pods by cluster name, and Redis' connection error."""
    assert await net.cli(pod, "ping") == (0, "PONG\n", "")
    assert await net.cli(pod, "rpush", "l", "a", "b") == (0, "2\n", "")
    assert await net.cli(pod, "lrange", "l", "0", "-1") == (0, "a\nb\n", "")
    assert await net.cli(pod, "--no-raw", "lrange", "l", "0", "-1") == (0, '1) "a"\n2) "b"\n', "")
    assert await net.cli(pod, "--no-raw", "get", "none") == (0, "(nil)\n", "")
    assert await net.cli(pod, "--no-raw", "incr", "n") == (0, "(integer) 1\n", "")
    assert await net.cli(pod, "foo") == (
        0, "ERR unknown command 'foo', with args beginning with: \n\n", "")
    other = await net.start("redis-1")
    code, out, _ = await net.cli(other, "-h", "redis-0.redis.default.svc.cluster.local", "ping")
    assert (code, out) == (0, "PONG\n")
    code, _, err = await net.cli(other, "-h", "nowhere", "ping")
    assert code == 1 and err == "Could not connect to Redis at nowhere:6379: Name or service not known\n"
    code, _, err = await net.cli(other, "-p", "6380", "ping")
    assert code == 1 and err == "Could not connect to Redis at 127.0.0.1:6380: Connection refused\n"
    assert await net.cli(pod, stdin=b"set x 1\nget x\n") == (0, "OK\n1\n", "")
    await wait_until(lambda: True)
