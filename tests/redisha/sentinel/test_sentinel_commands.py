"""The sentinel's client commands: Redis 7.0 Sentinel's reply shapes and errors, without
sockets (a fake host around a `SentinelCore` in a simulated world)."""

from __future__ import annotations

from typing import Any

import pytest
from fake_world import World

from redisha.sentinel import clients, commands, replies
from redisha.sentinel.actions import Event
from redisha.sentinel.clients import Client, ClientHub
from redisha.server import resp


class FakeWriter:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str) -> Any:
        return ("10.0.9.9", 5000)

    def frames(self) -> list[Any]:
        parser = resp.ReplyParser()
        parser.feed(bytes(self.data))
        out = []
        while (frame := parser.next_frame()) is not resp.NEED_DATA:
            out.append(frame)
        self.data.clear()
        return out


class Host:
    """What `commands.dispatch` needs, around a simulated world's core."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.core = world.core
        self.hub = ClientHub(clock=lambda: world.now)
        self.stopped = False

    def now(self) -> float:
        return self.world.now

    def flush(self) -> bool:
        self.world.pump()
        for event in self.world.events:
            self.hub.publish(event.type, event.text)
        self.world.events.clear()
        return True

    def facts(self) -> replies.ServerFacts:
        return replies.ServerFacts(now=0, started_at=0, pid=1, run_id="r" * 40, port=26379,
                                   config_file="/tmp/sentinel.conf", executable="x",
                                   connected_clients=1, total_connections=1, total_commands=1,
                                   pubsub_channels=0, pubsub_patterns=0,
                                   total_error_replies=self.hub.total_error_replies)

    def shutdown(self) -> None:
        self.stopped = True


@pytest.fixture
def host() -> Host:
    world = World()
    world.settle()
    return Host(world)


def run(host: Host, client: Client, *words: str) -> list[Any]:
    """Dispatch one command and read its replies back off the wire."""
    for frame in commands.dispatch(host, client, [w.encode() for w in words]):
        client.send(frame)
    writer = client.writer
    assert isinstance(writer, FakeWriter)
    return writer.frames()


def new_client(host: Host, protocol: int = 2) -> Client:
    client = host.hub.accept(FakeWriter())  # type: ignore[arg-type]
    client.protocol = protocol
    return client


def test_master_replicas_and_sentinels_are_flat_maps_of_bulk_strings(host: Host) -> None:
    """SENTINEL MASTER is name/value pairs, every value a bulk string, with Redis' field
    names; REPLICAS and SENTINELS are arrays of such; RESP3 gives maps."""
    client = new_client(host)
    [flat] = run(host, client, "SENTINEL", "MASTER", "mymaster")
    fields = dict(zip(flat[::2], flat[1::2]))
    assert list(fields)[:7] == [b"name", b"ip", b"port", b"runid", b"flags",
                                b"link-pending-commands", b"link-refcount"]
    assert fields[b"name"] == b"mymaster" and fields[b"port"] == b"6379"
    assert fields[b"flags"] == b"master" and fields[b"num-slaves"] == b"2"
    assert fields[b"num-other-sentinels"] == b"2" and fields[b"quorum"] == b"2"
    assert all(isinstance(v, bytes) for v in fields.values())
    [listed] = run(host, client, "SENTINEL", "REPLICAS", "mymaster")
    replica = dict(zip(listed[0][::2], listed[0][1::2]))
    assert replica[b"flags"] == b"slave" and replica[b"master-link-status"] == b"ok"
    assert replica[b"role-reported"] == b"slave"
    [peers] = run(host, client, "SENTINEL", "SENTINELS", "mymaster")
    assert {dict(zip(p[::2], p[1::2]))[b"flags"] for p in peers} == {b"sentinel"}
    resp3 = new_client(host, protocol=3)
    [mapped] = run(host, resp3, "SENTINEL", "MASTER", "mymaster")
    assert isinstance(mapped, dict) and mapped[b"name"] == b"mymaster"


def test_get_master_addr_and_errors_for_unknown_names(host: Host) -> None:
    """The address pair, a null array for an unknown master, Redis' error wording."""
    client = new_client(host)
    assert run(host, client, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster") == [
        [b"10.0.0.1", b"6379"]]
    client.writer.write(b"")  # type: ignore[attr-defined]
    for frame in commands.dispatch(host, client, [b"SENTINEL", b"get-master-addr-by-name",
                                                  b"nope"]):
        client.send(frame)
    assert bytes(client.writer.data) == b"*-1\r\n"  # type: ignore[attr-defined]
    client.writer.data.clear()  # type: ignore[attr-defined]
    assert run(host, client, "SENTINEL", "MASTER", "nope") == [
        resp.Error("ERR No such master with that name")]
    assert run(host, client, "SENTINEL", "FROB") == [
        resp.Error("ERR unknown subcommand 'FROB'. Try SENTINEL HELP.")]
    assert run(host, client, "SENTINEL", "MASTERS", "x") == [
        resp.Error("ERR wrong number of arguments for 'sentinel|masters' command")]
    assert run(host, client, "GET", "k") == [
        resp.Error("ERR unknown command 'GET', with args beginning with: 'k' ")]


def test_is_master_down_by_addr_replies_down_leader_and_epoch(host: Host) -> None:
    """Three elements: 0/1, the vote (or `*`), its epoch; FORCED gets a vote from a
    sentinel that sees the master up; any other sixth word is refused."""
    client = new_client(host)
    assert run(host, client, "SENTINEL", "is-master-down-by-addr", "10.0.0.1", "6379", "0",
               "*") == [[0, b"*", 0]]
    assert run(host, client, "SENTINEL", "is-master-down-by-addr", "10.0.0.1", "6379", "3",
               "c" * 40, "FORCED") == [[0, b"c" * 40, 3]]
    assert run(host, client, "SENTINEL", "is-master-down-by-addr", "10.0.0.1", "6379", "4",
               "c" * 40, "NOPE") == [resp.Error(
                   "ERR wrong number of arguments for 'sentinel|is-master-down-by-addr' "
                   "command")]


def test_set_ckquorum_failover_and_their_events(host: Host) -> None:
    """SENTINEL SET applies and publishes +set; CKQUORUM answers Redis' OK line; FAILOVER
    answers OK and then INPROG while it runs; subscribers get the events."""
    watcher = new_client(host)
    assert run(host, watcher, "PSUBSCRIBE", "*") == [[b"psubscribe", b"*", 1]]
    client = new_client(host)
    assert run(host, client, "SENTINEL", "SET", "mymaster", "down-after-milliseconds",
               "5000") == [resp.OK]
    assert host.core.masters["mymaster"].down_after_ms == 5000
    assert run(host, client, "SENTINEL", "SET", "mymaster", "quorum", "x") == [
        resp.Error("ERR Invalid argument 'x' for SENTINEL SET 'quorum'")]
    assert run(host, client, "SENTINEL", "CKQUORUM", "mymaster") == [resp.SimpleString(
        b"OK 3 usable Sentinels. Quorum and failover authorization can be reached")]
    assert run(host, client, "SENTINEL", "FAILOVER", "mymaster") == [resp.OK]
    assert run(host, client, "SENTINEL", "FAILOVER", "mymaster") == [
        resp.Error("INPROG Failover already in progress")]
    messages = watcher.writer.frames()  # type: ignore[attr-defined]
    channels = [m[2] for m in messages]
    assert b"+set" in channels and b"+try-failover" in channels
    sets = [m[3] for m in messages if m[2] == b"+set"]
    assert sets == [b"master mymaster 10.0.0.1 6379 down-after-milliseconds 5000"]


def test_info_role_hello_and_the_subscribed_context(host: Host) -> None:
    """INFO has the sentinel section; ROLE lists the masters; HELLO 3 switches to RESP3;
    a RESP2 subscriber may only use pub/sub commands and PING."""
    client = new_client(host)
    [info] = run(host, client, "INFO", "sentinel")
    text = info.decode()
    assert text.startswith("# Sentinel\r\nsentinel_masters:1\r\n")
    assert ("master0:name=mymaster,status=ok,address=10.0.0.1:6379,slaves=2,sentinels=3"
            in text)
    assert run(host, client, "ROLE") == [[b"sentinel", [b"mymaster"]]]
    [hello] = run(host, client, "HELLO", "3")
    assert hello[b"mode"] == b"sentinel" and client.protocol == 3
    subscriber = new_client(host)
    assert run(host, subscriber, "SUBSCRIBE", "+switch-master") == [
        [b"subscribe", b"+switch-master", 1]]
    assert run(host, subscriber, "PING") == [[b"pong", b""]]
    assert run(host, subscriber, "SENTINEL", "MASTERS") == [resp.Error(
        "ERR Can't execute 'sentinel|masters': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / "
        "PING / QUIT / RESET are allowed in this context")]
    assert run(host, client, "PUBLISH", "news", "x") == [
        resp.Error("ERR Only HELLO messages are accepted by Sentinel instances.")]


def test_events_reach_channel_and_pattern_subscribers_in_both_protocols() -> None:
    """`message` arrays in RESP2, push frames in RESP3, `pmessage` for patterns."""
    hub = ClientHub(clock=lambda: 0.0)
    two = hub.accept(FakeWriter())  # type: ignore[arg-type]
    three = hub.accept(FakeWriter())  # type: ignore[arg-type]
    three.protocol = 3
    clients.subscribe(two, [b"subscribe", b"+odown"])
    clients.subscribe(three, [b"psubscribe", b"+*"])
    event = Event("+odown", 0, "master mymaster 10.0.0.1 6379 #quorum 2/2")  # type: ignore[arg-type]
    assert hub.publish(event.type, event.text) == 2
    assert two.writer.frames() == [  # type: ignore[attr-defined]
        [b"message", b"+odown", b"master mymaster 10.0.0.1 6379 #quorum 2/2"]]
    assert three.writer.frames() == [resp.Push(  # type: ignore[attr-defined]
        [b"pmessage", b"+*", b"+odown", b"master mymaster 10.0.0.1 6379 #quorum 2/2"])]
