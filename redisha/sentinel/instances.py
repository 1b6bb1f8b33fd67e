"""What a sentinel knows: its masters, their replicas, the other sentinels, and the links.

Plain records, no I/O and no decisions (those are in `decisions` and `core`). Times are
seconds on the sentinel's clock; 0 means "never". Three differences from `sentinel.c`'s
one `sentinelRedisInstance` struct, each because the struct's sharing caused a bug:

- A `Link` belongs to one record and is identified by `Link.id`; a reply is delivered only
  to the record that still owns the link it arrived on. When a replica is promoted its
  link moves to the new master record with fresh timers (`Link.restart_timers`), instead
  of the master record keeping the old master's link and its pending-PING clock.
- A master has an `incarnation`, bumped whenever its address changes (switch-master,
  reset). Other sentinels' answers to `IS-MASTER-DOWN-BY-ADDR` are stored with the
  incarnation they were asked about (`DownReport`) and count toward ODOWN only for that
  incarnation, so votes about the previous master can never bring down the new one.
- Per-replica reconfiguration progress is a `Reconf` state, not three flag bits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Address:
    """An instance's announced address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class Role(str, enum.Enum):
    """A role as INFO reports it."""

    MASTER = "master"
    SLAVE = "slave"


class Kind(str, enum.Enum):
    """What a record describes (`sentinelRedisInstanceTypeStr`)."""

    MASTER = "master"
    SLAVE = "slave"
    SENTINEL = "sentinel"


class FailoverState(str, enum.Enum):
    """The failover state machine's states, by their names in `SENTINEL MASTER`."""

    NONE = "none"
    WAIT_START = "wait_start"
    SELECT_SLAVE = "select_slave"
    SEND_SLAVEOF_NOONE = "send_slaveof_noone"
    WAIT_PROMOTION = "wait_promotion"
    RECONF_SLAVES = "reconf_slaves"
    UPDATE_CONFIG = "update_config"

    @property
    def rank(self) -> int:
        return _FAILOVER_ORDER.index(self)


_FAILOVER_ORDER = list(FailoverState)


class Reconf(str, enum.Enum):
    """A replica's progress toward the promoted master during a failover."""

    NONE = ""
    SENT = "reconf_sent"
    """REPLICAOF <new master> sent."""
    INPROG = "reconf_inprog"
    """INFO shows it following the new master."""
    DONE = "reconf_done"
    """INFO shows its link to the new master up."""


class Conn(str, enum.Enum):
    """One connection of a link."""

    CMD = "cmd"
    PUBSUB = "pubsub"


class ConnState(str, enum.Enum):
    DOWN = "down"
    CONNECTING = "connecting"
    UP = "up"


@dataclass
class Link:
    """The sentinel's connections to one instance, and the PING clock over them.

    Redis instances get a command connection and a pub/sub connection (subscribed to the
    hello channel); sentinels only a command connection. PINGs go over the command
    connection, so the PING clock depends only on it.
    """

    id: int
    pubsub: bool
    """Whether the link has a pub/sub connection (masters and replicas)."""
    cmd: ConnState = ConnState.DOWN
    sub: ConnState = ConnState.DOWN
    cmd_since: float = 0.0
    """When the command connection came up."""
    sub_since: float = 0.0
    sub_last_activity: float = 0.0
    last_attempt: float = 0.0
    """When a connection was last attempted."""
    failed_attempts: int = 0
    """Connection attempts failed in a row (0: reconnect at once)."""
    local_ip: str = ""
    """Our address on the command connection (the announced IP unless configured)."""
    pending: int = 0
    act_ping_time: float = 0.0
    """When the oldest unanswered PING was sent; 0 when none is outstanding."""
    last_ping_time: float = 0.0
    last_pong_time: float = 0.0
    """Any reply to a PING."""
    last_avail_time: float = 0.0
    """The last *valid* reply to a PING (PONG, LOADING, MASTERDOWN)."""

    @classmethod
    def fresh(cls, link_id: int, *, pubsub: bool, now: float) -> Link:
        """A new, unconnected link; `link_id` is never reused by its sentinel."""
        link = cls(id=link_id, pubsub=pubsub)
        link.restart_timers(now)
        return link

    @property
    def disconnected(self) -> bool:
        """Sentinel's `link->disconnected`: a needed connection is not up."""
        return self.cmd is not ConnState.UP or (self.pubsub and self.sub is not ConnState.UP)

    def restart_timers(self, now: float) -> None:
        """Start the PING clock afresh: the instance counts as available now, and a PING
        still unanswered counts as sent now — not as answered: a link whose replies stopped
        may be too full to take another PING (`max_pending_commands`), and without the
        outstanding one the instance would never be found down."""
        self.act_ping_time = now if self.act_ping_time else 0.0
        self.last_ping_time = 0.0
        self.last_pong_time = now
        self.last_avail_time = now


@dataclass
class Instance:
    """What masters, replicas and sentinels have in common."""

    address: Address
    link: Link
    runid: str = ""
    s_down: bool = False
    s_down_since: float = 0.0
    last_pub_time: float = 0.0
    """When a hello was last published to it."""
    down_after_ms: int = 30_000

    @property
    def kind(self) -> Kind:
        raise NotImplementedError


@dataclass
class Redis(Instance):
    """A Redis server (master or replica): what its INFO said."""

    info: str = ""
    info_refresh: float = 0.0
    """When the last INFO reply came (0: never)."""
    info_sent: float = 0.0
    """When INFO was last asked for (so a slow instance is not asked again and again)."""
    role_reported: Role = Role.MASTER
    role_reported_time: float = 0.0
    master_link_down_time_ms: int = 0


@dataclass
class Replica(Redis):
    """A replica of a monitored master."""

    master_host: str = ""
    master_port: int = 0
    master_link_up: bool = False
    priority: int = 100
    repl_offset: int = 0
    announced: bool = True
    conf_change_time: float = 0.0
    """When its master_host/port (or role) last changed."""
    promoted: bool = False
    reconf: Reconf = Reconf.NONE
    reconf_sent_time: float = 0.0

    @property
    def kind(self) -> Kind:
        return Kind.SLAVE

    @property
    def name(self) -> str:
        return str(self.address)


@dataclass(frozen=True)
class DownReport:
    """A peer's answer to IS-MASTER-DOWN-BY-ADDR about one incarnation of a master."""

    incarnation: int
    down: bool
    at: float


@dataclass
class Peer(Instance):
    """Another sentinel monitoring the same master."""

    last_hello_time: float = 0.0
    leader: str = ""
    """Who it voted for (its reply to our vote request), '' if unknown."""
    leader_epoch: int = 0
    report: DownReport | None = None
    last_ask_time: float = 0.0

    @property
    def kind(self) -> Kind:
        return Kind.SENTINEL

    @property
    def name(self) -> str:
        return self.runid


@dataclass
class Master(Redis):
    """A monitored master, its replicas and sentinels, and its failover state."""

    name: str = ""
    quorum: int = 2
    failover_timeout_ms: int = 180_000
    parallel_syncs: int = 1
    config_epoch: int = 0
    incarnation: int = 0
    o_down: bool = False
    o_down_since: float = 0.0
    replicas: dict[Address, Replica] = field(default_factory=dict)
    sentinels: dict[str, Peer] = field(default_factory=dict)
    """By run id."""
    leader: str = ""
    """Our vote: the sentinel we voted for as failover leader."""
    leader_epoch: int = 0
    voted_at: float = 0.0
    deferred_vote: tuple[int, str] = (0, "")
    """(epoch, run id) of the first vote request we refused only because we did not see
    the master down yet; granted when we do, if that epoch is still current."""
    failover_state: FailoverState = FailoverState.NONE
    failover_state_change_time: float = 0.0
    failover_started: float = 0.0
    """When our current (or last) failover attempt began."""
    planned_start: float = 0.0
    """When we mean to start a failover of an ODOWN master (0: not planned)."""
    next_attempt_after: float = 0.0
    """No failover attempt of ours before this time (Sentinel's failover_start_time +
    2 × failover-timeout rule)."""
    failover_epoch: int = 0
    forced: bool = False
    """The current attempt was asked for by `SENTINEL FAILOVER`."""
    promoted: Replica | None = None
    delay_logged: float = 0.0

    @property
    def kind(self) -> Kind:
        return Kind.MASTER

    @property
    def in_failover(self) -> bool:
        return self.failover_state is not FailoverState.NONE

    def current_address(self) -> Address:
        """Where clients should go: the promoted replica once it accepted the role."""
        if (self.in_failover and self.promoted is not None
                and self.failover_state.rank >= FailoverState.RECONF_SLAVES.rank):
            return self.promoted.address
        return self.address

    def flags(self) -> str:
        return _flags(self)


def _flags(record: Instance) -> str:
    """The `flags` field of SENTINEL MASTER/REPLICAS/SENTINELS."""
    parts: list[str] = []
    if record.s_down:
        parts.append("s_down")
    if isinstance(record, Master) and record.o_down:
        parts.append("o_down")
    parts.append(record.kind.value)
    if record.link.disconnected:
        parts.append("disconnected")
    if isinstance(record, Peer) and record.report is not None and record.report.down:
        parts.append("master_down")
    if isinstance(record, Master):
        if record.in_failover:
            parts.append("failover_in_progress")
        if record.forced and record.in_failover:
            parts.append("force_failover")
    if isinstance(record, Replica):
        if record.promoted:
            parts.append("promoted")
        if record.reconf is not Reconf.NONE:
            parts.append(record.reconf.value)
    return ",".join(parts)


def flags_of(record: Instance) -> str:
    return _flags(record)


def describe(record: Instance, master: Master | None = None) -> str:
    """Sentinel's `%@`: `master mymaster 10.0.0.1 6379`, or for a replica or sentinel
    `slave 10.0.0.2:6379 10.0.0.2 6379 @ mymaster 10.0.0.1 6379`."""
    if isinstance(record, Master):
        return f"master {record.name} {record.address.host} {record.address.port}"
    name = record.name if isinstance(record, (Replica, Peer)) else str(record.address)
    text = f"{record.kind.value} {name} {record.address.host} {record.address.port}"
    if master is not None:
        text += f" @ {master.name} {master.address.host} {master.address.port}"
    return text
