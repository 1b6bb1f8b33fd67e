"""A simulated world for `SentinelCore`: Redis servers and peer sentinels that answer the
core's commands at once, on a clock that moves only when the test says so — no sockets.

`World.run(seconds)` advances the clock in small steps; at each step the core ticks, and
every action it took is carried out: connections open (or fail, for a server that is
down), commands get the reply the simulated server gives (none while it hangs), and
REPLICAOF changes the simulated server's role. A module with its own name, so tests import
it unambiguously.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redisha.sentinel.actions import Close, Connect, Event, Send
from redisha.sentinel.config import MasterConfig, SentinelConfig
from redisha.sentinel.core import SentinelCore
from redisha.sentinel.instances import Address, Conn
from redisha.sentinel.settings import SentinelSettings
from redisha.server import resp

MY_IP = "10.0.0.100"


def run_id(n: int) -> str:
    return f"{n:040x}"


@dataclass
class FakeRedis:
    """A simulated redis-server."""

    address: Address
    runid: str
    master: Address | None = None
    """Whom it replicates (None: it is a master)."""
    offset: int = 1000
    priority: int = 100
    alive: bool = True
    """False: connections are refused."""
    hung: bool = False
    """True: connections open but nothing is answered (a freeze or partition)."""
    link_up: bool = True
    sync_delay: float = 0.0
    """After REPLICAOF <host>, the link is up this much later (the sync's duration)."""
    synced_at: float = 0.0

    def info(self, world: World) -> str:
        lines = ["# Server", f"run_id:{self.runid}", "", "# Replication"]
        if self.master is None:
            lines.append("role:master")
            replicas = [r for r in world.redis.values()
                        if r.master == self.address and r.alive and not r.hung]
            lines.append(f"connected_slaves:{len(replicas)}")
            for i, r in enumerate(replicas):
                lines.append(f"slave{i}:ip={r.address.host},port={r.address.port},"
                             f"state=online,offset={r.offset},lag=0")
            lines.append(f"master_repl_offset:{self.offset}")
        else:
            primary = world.redis.get(self.master)
            up = (self.link_up and primary is not None and primary.alive and not primary.hung
                  and primary.master is None and world.now >= self.synced_at)
            lines += ["role:slave", f"master_host:{self.master.host}",
                      f"master_port:{self.master.port}",
                      f"master_link_status:{'up' if up else 'down'}",
                      f"slave_repl_offset:{self.offset}", f"slave_priority:{self.priority}",
                      "replica_announced:1"]
            if not up:
                lines.append("master_link_down_since_seconds:1")
        return "\r\n".join(lines) + "\r\n"


@dataclass
class FakePeer:
    """A simulated other sentinel: answers IS-MASTER-DOWN-BY-ADDR by its own rules."""

    address: Address
    runid: str
    sees_down: set[Address] = field(default_factory=set)
    """Masters it reports down."""
    votes: dict[int, str] = field(default_factory=dict)
    """Its vote per epoch (one each)."""
    answers: bool = True
    alive: bool = True

    def ask(self, args: tuple[str, ...]) -> Any:
        address = Address(args[2], int(args[3]))
        epoch, runid = int(args[4]), args[5]
        leader, leader_epoch = "*", 0
        if runid != "*":
            if epoch not in self.votes:
                self.votes[epoch] = runid
            leader, leader_epoch = self.votes[epoch], epoch
        return [int(address in self.sees_down), leader.encode(), leader_epoch]


class World:
    """The simulated servers and sentinels around one `SentinelCore`."""

    def __init__(self, *, down_after_ms: int = 200, failover_timeout_ms: int = 2000,
                 quorum: int = 2, settings: SentinelSettings | None = None,
                 replicas: int = 2, peers: int = 2, seed: int = 1) -> None:
        import random

        self.now = 1000.0
        self.redis: dict[Address, FakeRedis] = {}
        self.peers: dict[Address, FakePeer] = {}
        primary = Address("10.0.0.1", 6379)
        self.redis[primary] = FakeRedis(primary, run_id(1))
        for i in range(replicas):
            address = Address(f"10.0.0.{i + 2}", 6379)
            self.redis[address] = FakeRedis(address, run_id(i + 2), master=primary,
                                            offset=1000 - i)
        known = []
        for i in range(peers):
            address = Address(f"10.0.1.{i + 1}", 26379)
            peer = FakePeer(address, run_id(100 + i))
            self.peers[address] = peer
            known.append((address.host, address.port, peer.runid))
        config = SentinelConfig(myid=run_id(99), masters={"mymaster": MasterConfig(
            "mymaster", primary.host, primary.port, quorum, down_after_ms=down_after_ms,
            failover_timeout_ms=failover_timeout_ms, known_sentinels=known)})
        self.core = SentinelCore(config, settings=settings or SentinelSettings.quick(),
                                 rng=random.Random(seed), now=self.now)
        self.events: list[Event] = []
        self.sent: list[tuple[Address, tuple[str, ...]]] = []
        self.held: list[Send] = []
        """Commands to hung servers/peers, never answered unless `release`d."""
        self.interceptor: Any = None
        """Called with (address, send) before answering; return False to hold the send."""

    @property
    def master(self) -> Any:
        return self.core.masters["mymaster"]

    def address_of(self, link: int) -> Address | None:
        owned = self.core.owner(link)
        return owned[1].address if owned is not None else None

    # -- running ----------------------------------------------------------------------------

    def run(self, seconds: float, step: float = 0.005) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now = round(self.now + step, 6)
            self.core.tick(self.now)
            self.pump()

    def run_until(self, predicate: Any, limit: float = 10.0, step: float = 0.005) -> float:
        """Run until `predicate()`; the simulated seconds it took (fails at `limit`)."""
        start = self.now
        while not predicate():
            assert self.now - start < limit, f"not within {limit}s: {self.event_lines()}"
            self.run(step, step)
        return self.now - start

    def pump(self) -> None:
        for _ in range(1000):
            actions = self.core.take_actions()
            if not actions:
                break
            for action in actions:
                self._carry_out(action)
        for item in self.core.take_events():
            if isinstance(item, Event):
                self.events.append(item)
        self.core.take_config()

    def _carry_out(self, action: Any) -> None:
        core = self.core
        if isinstance(action, Close):
            return
        if isinstance(action, Connect):
            target = self.redis.get(action.address) or self.peers.get(action.address)
            if target is None or not target.alive:
                core.connect_failed(action.link, action.conn, self.now)
            else:
                core.connected(action.link, action.conn, self.now, local_ip=MY_IP)
            return
        assert isinstance(action, Send)
        address = self.address_of(action.link)
        if address is None:
            return
        self.sent.append((address, action.args))
        if action.conn is Conn.PUBSUB:
            return
        if self.interceptor is not None and self.interceptor(address, action) is False:
            self.held.append(action)
            return
        reply = self.answer(address, action.args)
        if reply is _HOLD:
            self.held.append(action)
        else:
            core.reply(action, reply, self.now)

    def release(self, keep: Any = None) -> None:
        """Answer the held commands now (those `keep(send)` says, or all)."""
        held, self.held = self.held, []
        for send in held:
            if keep is not None and not keep(send):
                self.held.append(send)
                continue
            address = self.address_of(send.link)
            if address is None:
                continue
            self.core.reply(send, self.answer(address, send.args, force=True), self.now)
        self.pump()

    def answer(self, address: Address, args: tuple[str, ...], *, force: bool = False) -> Any:
        verb = args[0].upper()
        peer = self.peers.get(address)
        if peer is not None:
            if not force and (not peer.alive or not peer.answers):
                return _HOLD
            if verb == "PING":
                return resp.PONG
            if verb == "SENTINEL":
                return peer.ask(args)
            if verb == "PUBLISH":
                return 1
            return resp.OK
        server = self.redis[address]
        if not force and (server.hung or not server.alive):
            return _HOLD
        if verb == "PING":
            return resp.PONG
        if verb == "INFO":
            return server.info(self).encode()
        if verb == "PUBLISH":
            return 0
        if verb in ("SLAVEOF", "REPLICAOF"):
            if args[1].upper() == "NO" and args[2].upper() == "ONE":
                server.master = None
            else:
                server.master = Address(args[1], int(args[2]))
                server.synced_at = self.now + server.sync_delay
            return resp.SimpleString(b"QUEUED")
        if verb == "EXEC":
            return [resp.OK] * 4
        return resp.OK

    # -- reading ----------------------------------------------------------------------------

    def event_lines(self, kind: str | None = None) -> list[str]:
        return [e.line for e in self.events if kind is None or e.type == kind]

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.type == kind)

    def settle(self) -> None:
        """Let the sentinel connect and learn the master's replicas."""
        self.run_until(lambda: len(self.master.replicas) == sum(
            1 for r in self.redis.values() if r.master is not None) and all(
            r.info_refresh for r in self.master.replicas.values()), limit=5)


class _Hold:
    pass


_HOLD = _Hold()
