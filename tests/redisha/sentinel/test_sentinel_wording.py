"""Replies, errors and log lines compared with a real redis-sentinel 7.0.15 on the same
commands (INFO, HELLO, SENTINEL SET/CONFIG/HELP, CLIENT LIST, the subscribed context,
startup), checked without sockets or with an in-memory config file."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fake_world import World
from test_sentinel_commands import FakeWriter, Host, new_client, run

from redisha.sentinel import commands, config
from redisha.sentinel.clients import Client
from redisha.sentinel.service import SentinelService
from redisha.sentinel.settings import SentinelSettings
from redisha.server import resp
from redisha.server.logs import ServerLog


@pytest.fixture
def host() -> Host:
    world = World()
    world.settle()
    return Host(world)


def raw(host: Host, client: Client, *words: str) -> bytes:
    """The bytes one command puts on the wire."""
    for frame in commands.dispatch(host, client, [w.encode() for w in words]):
        client.send(frame)
    writer = client.writer
    assert isinstance(writer, FakeWriter)
    data = bytes(writer.data)
    writer.data.clear()
    return data


def test_info_has_redis_section_order_titles_and_stats_fields(host: Host) -> None:
    """Server, Clients, Stats, CPU, Sentinel (`# CPU`), Redis' stats fields in order,
    errors counted, and a bulk string even in RESP3, as Sentinel sends it."""
    client = new_client(host)
    run(host, client, "SENTINEL", "MASTER", "nope")
    [text] = run(host, client, "INFO")
    lines = text.decode().split("\r\n")
    assert [line for line in lines if line.startswith("#")] == [
        "# Server", "# Clients", "# Stats", "# CPU", "# Sentinel"]
    stats = lines[lines.index("# Stats") + 1:lines.index("# CPU") - 1]
    names = [line.split(":")[0] for line in stats]
    assert names[:4] == ["total_connections_received", "total_commands_processed",
                         "instantaneous_ops_per_sec", "total_net_input_bytes"]
    assert names[-3:] == ["io_threaded_writes_processed", "reply_buffer_shrinks",
                          "reply_buffer_expands"]
    assert len(names) == 50 and "total_error_replies:1" in stats
    [cpu] = run(host, client, "INFO", "cpu")
    assert cpu.decode().startswith("# CPU\r\nused_cpu_sys:")
    resp3 = new_client(host, protocol=3)
    assert raw(host, resp3, "INFO", "sentinel").startswith(b"$")


def test_hello_in_sentinel_mode_has_no_role(host: Host) -> None:
    """HELLO's map in sentinel mode: server, version, proto, id, mode, modules."""
    client = new_client(host)
    [hello] = run(host, client, "HELLO", "3")
    assert list(hello) == [b"server", b"version", b"proto", b"id", b"mode", b"modules"]


def test_sentinel_set_reads_like_redis_and_applies_all_or_nothing(host: Host) -> None:
    """The master is looked up first; the first bad option is the one named; a command
    refused part way changes nothing and publishes no +set."""
    client = new_client(host)
    master = host.core.masters["mymaster"]
    assert run(host, client, "SENTINEL", "SET", "nope", "quorum", "2", "x") == [
        resp.Error("ERR No such master with that name")]
    assert run(host, client, "SENTINEL", "SET", "mymaster", "foo", "1", "quorum") == [
        resp.Error("ERR Unknown option or number of arguments for SENTINEL SET 'foo'")]
    assert run(host, client, "SENTINEL", "SET", "mymaster", "quorum", "3",
               "parallel-syncs") == [resp.Error(
                   "ERR Unknown option or number of arguments for SENTINEL SET "
                   "'parallel-syncs'")]
    assert run(host, client, "SENTINEL", "SET", "mymaster", "quorum", "3",
               "failover-timeout", "0") == [
        resp.Error("ERR Invalid argument '0' for SENTINEL SET 'failover-timeout'")]
    assert master.quorum == 2 and master.failover_timeout_ms != 0
    assert not [e for e in host.world.events if e.type == "+set"]
    assert run(host, client, "SENTINEL", "SET", "mymaster", "quorum", "3",
               "parallel-syncs", "2") == [resp.OK]
    assert (master.quorum, master.parallel_syncs) == (3, 2)


def test_sentinel_config_help_and_unsupported_subcommands(host: Host) -> None:
    """CONFIG with a bad verb gets Redis' usage line; HELP's wording; DEBUG is refused."""
    client = new_client(host)
    only = resp.Error("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are "
                      "supported.")
    assert run(host, client, "SENTINEL", "CONFIG", "foo") == [only]
    assert run(host, client, "SENTINEL", "CONFIG", "GET") == [only]
    [help_lines] = run(host, client, "SENTINEL", "HELP")
    assert help_lines[-1] == b"    Prints this help."
    assert b"PENDING-SCRIPTS" in help_lines
    assert run(host, client, "SENTINEL", "DEBUG") == [
        resp.Error("ERR unknown subcommand 'DEBUG'. Try SENTINEL HELP.")]


def test_client_list_filters_and_full_command_names(host: Host) -> None:
    """CLIENT LIST TYPE/ID filter, anything else is a syntax error; `cmd=` and the
    subscribed-context refusal use full names; an unknown command is unknown first."""
    client = new_client(host)
    subscriber = new_client(host)
    run(host, subscriber, "SUBSCRIBE", "+sdown")
    [listed] = run(host, client, "CLIENT", "LIST", "TYPE", "pubsub")
    assert listed.count(b"\n") == 1 and f"id={subscriber.id} ".encode() in listed
    [by_id] = run(host, client, "CLIENT", "LIST", "ID", str(client.id))
    assert by_id.startswith(f"id={client.id} ".encode())
    assert run(host, client, "CLIENT", "LIST", "x") == [resp.Error("ERR syntax error")]
    [info] = run(host, client, "CLIENT", "INFO")
    assert b" cmd=client|info " in info
    assert run(host, subscriber, "NOPE") == [
        resp.Error("ERR unknown command 'NOPE', with args beginning with: ")]
    assert run(host, subscriber, "CLIENT", "INFO") == [resp.Error(
        "ERR Can't execute 'client|info': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
        "QUIT / RESET are allowed in this context")]


class MemoryFile:
    """A config file in memory."""

    def __init__(self, text: str) -> None:
        self.path = "/tmp/sentinel.conf"
        self.text = text

    def read(self) -> str:
        return self.text

    def write(self, text: str) -> None:
        self.text = text


class NoServer:
    def close(self) -> None:
        pass


async def test_a_new_sentinel_saves_its_id_before_logging_it() -> None:
    """Without `sentinel myid`, the config is saved first, then `Sentinel ID is …`, then
    `+monitor`, in sentinelIsRunning's order."""
    text = "port 26379\nsentinel monitor mymaster 10.0.0.1 6379 2\n"
    lines: list[str] = []

    async def listen(handler: Any, port: int) -> NoServer:
        return NoServer()

    async def dial(host: str, port: int) -> Any:
        raise OSError("unreachable")

    service = SentinelService(config.parse(text, file="/tmp/sentinel.conf"),
                              config_file=MemoryFile(text), dial=dial, listen=listen,
                              log=ServerLog(lines.append), settings=SentinelSettings.quick())
    await service.start()
    try:
        messages = [line.split(" ", 5)[5] for line in lines]
        assert messages[:3] == [
            "* Sentinel new configuration saved on disk",
            f"# Sentinel ID is {service.core.myid}",
            "# +monitor master mymaster 10.0.0.1 6379 quorum 2"]
    finally:
        await service.close()
        await asyncio.sleep(0)
