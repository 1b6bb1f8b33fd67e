"""Talking to redis pods: what one answers about itself (`NodeInfo`) and the few commands
the operator sends (`REPLICAOF`, `CONFIG SET`).

One `INFO replication` + `INFO keyspace` + `CONFIG GET min-replicas-*` per pod and
reconcile, parsed here into a record; the operator decides from records only.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from redisha.operator import resp_client
from redisha.operator.manifests import NOWHERE, REDIS_PORT
from redisha.operator.resp_client import ReplyError, Unreachable
from redisha.operator.sentinels import Address

__all__ = ["NodeInfo", "RedisNodes", "ReplyError", "Role", "Unreachable", "parse_info"]

REFUSE_ALL_WRITES = str(2 ** 31 - 1)
"""`min-replicas-to-write` no set of replicas can meet: the server answers every write
`-NOREPLICAS` for the rest of its life (a fence that, unlike CLIENT PAUSE, never expires)."""
NO_PROMOTION = "0"
"""`replica-priority 0`: Sentinel never promotes this replica."""


class Role(str, enum.Enum):
    """`role:` in INFO replication."""

    MASTER = "master"
    REPLICA = "slave"


@dataclass(frozen=True)
class AttachedReplica:
    """A `slaveN:` line of a primary's INFO replication."""

    ip: str
    port: int
    state: str
    offset: int
    lag: int


@dataclass(frozen=True)
class NodeInfo:
    """What one redis server says about itself."""

    role: Role
    offset: int = 0
    """`master_repl_offset`: how much of its replication history this server holds."""
    keys: int = 0
    """Keys in all databases (INFO keyspace)."""
    primary: Address | None = None
    """A replica's `master_host:master_port`."""
    link_up: bool = False
    """A replica's `master_link_status:up`."""
    replica_offset: int = 0
    """A replica's `slave_repl_offset`."""
    replid: str = ""
    attached: tuple[AttachedReplica, ...] = ()
    """A primary's connected replicas."""
    config: dict[str, str] = field(default_factory=dict)
    """`min-replicas-to-write` and `min-replicas-max-lag` as CONFIG GET reports them."""

    @property
    def is_master(self) -> bool:
        return self.role is Role.MASTER

    @property
    def waiting(self) -> bool:
        """A replica of nothing reachable (`NOWHERE`): started without a known primary."""
        return self.primary == Address(*NOWHERE)

    @property
    def has_data(self) -> bool:
        return self.offset > 0 or self.keys > 0


def promoted_info(last: NodeInfo | None) -> NodeInfo:
    """What a replica that was just promoted says of itself, from its last answer: a
    primary now, with the data and settings it had (the offset it reached carries over)."""
    if last is None:
        return NodeInfo(role=Role.MASTER)
    offset = max(last.offset, last.replica_offset)
    return dataclasses.replace(last, role=Role.MASTER, offset=offset, primary=None,
                               link_up=False, replica_offset=0, attached=())


def _fields(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and not key.startswith("#"):
            found[key] = value
    return found


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _attached(value: str) -> AttachedReplica | None:
    parts = dict(item.partition("=")[::2] for item in value.split(","))
    if "ip" not in parts:
        return None
    return AttachedReplica(ip=parts["ip"], port=_int(parts.get("port")),
                           state=parts.get("state", ""), offset=_int(parts.get("offset")),
                           lag=_int(parts.get("lag")))


def parse_info(replication: str, keyspace: str = "",
               config: Mapping[str, str] | None = None) -> NodeInfo:
    """A `NodeInfo` from the text of INFO replication and INFO keyspace."""
    fields = _fields(replication)
    role = Role.REPLICA if fields.get("role") == "slave" else Role.MASTER
    keys = 0
    for key, value in _fields(keyspace).items():
        if key.startswith("db"):
            parts = dict(item.partition("=")[::2] for item in value.split(","))
            keys += _int(parts.get("keys"))
    attached = []
    for key, value in fields.items():
        if key.startswith("slave") and key[5:].isdigit():
            replica = _attached(value)
            if replica is not None:
                attached.append(replica)
    primary = None
    if role is Role.REPLICA and "master_host" in fields:
        primary = Address(fields["master_host"], _int(fields.get("master_port")))
    return NodeInfo(role=role, offset=_int(fields.get("master_repl_offset")), keys=keys,
                    primary=primary, link_up=fields.get("master_link_status") == "up",
                    replica_offset=_int(fields.get("slave_repl_offset")),
                    replid=fields.get("master_replid", ""), attached=tuple(attached),
                    config=dict(config or {}))


def _config_pairs(reply: object) -> dict[str, str]:
    items = list(reply) if isinstance(reply, list) else []
    return {str(items[i]): str(items[i + 1]) for i in range(0, len(items) - 1, 2)}


class RedisNodes:
    """Commands to redis pods by IP (port 6379), one connection each."""

    def __init__(self, *, timeout: float = 0.5, port: int = REDIS_PORT) -> None:
        self.port = port
        self._conns = resp_client.Connections(timeout=timeout)

    async def info(self, ip: str) -> NodeInfo:
        """The server's replication state, key count and min-replicas settings."""
        replication, keyspace, config = await self._conns.pipeline(ip, self.port, [
            ("INFO", "replication"), ("INFO", "keyspace"),
            ("CONFIG", "GET", "min-replicas-*")])
        if isinstance(replication, ReplyError):
            raise replication
        return parse_info(str(replication), "" if isinstance(keyspace, ReplyError) else
                          str(keyspace),
                          {} if isinstance(config, ReplyError) else _config_pairs(config))

    async def replicaof(self, ip: str, primary: Address | None) -> None:
        """`REPLICAOF host port`, or `REPLICAOF NO ONE` for None."""
        if primary is None:
            await self._conns.call(ip, self.port, "REPLICAOF", "NO", "ONE")
        else:
            await self._conns.call(ip, self.port, "REPLICAOF", primary.ip, primary.port)

    async def config_set(self, ip: str, options: Mapping[str, str]) -> None:
        args: list[str] = []
        for option, value in options.items():
            args += [option, value]
        if args:
            await self._conns.call(ip, self.port, "CONFIG", "SET", *args)

    async def fence(self, ip: str, pause_ms: int) -> int:
        """Stop a primary that is going away from ever taking another write, the way
        Redis' own coordinated `FAILOVER` does before handing over; returns its final
        `master_repl_offset`, which its replicas must reach before one is promoted.

        `CLIENT PAUSE pause_ms WRITE` holds writes (clients wait; the offset freezes, as
        Redis stops even its replication pings); `min-replicas-to-write` out of reach makes
        any write after the pause fail with `-NOREPLICAS`. Either suffices; a server that
        knows only one of them (the fake image has no CLIENT PAUSE) is still fenced.
        Raises `ReplyError` when neither took, `Unreachable` when the server is silent."""
        pause, refuse, lag, replication = await self._conns.pipeline(ip, self.port, [
            ("CLIENT", "PAUSE", str(max(pause_ms, 1)), "WRITE"),
            ("CONFIG", "SET", "min-replicas-to-write", REFUSE_ALL_WRITES),
            ("CONFIG", "SET", "min-replicas-max-lag", "1"),
            ("INFO", "replication")])
        if isinstance(pause, ReplyError) and (isinstance(refuse, ReplyError)
                                              or isinstance(lag, ReplyError)):
            raise pause
        if isinstance(replication, ReplyError):
            raise replication
        return parse_info(str(replication)).offset

    async def forbid_promotion(self, ip: str) -> None:
        """`CONFIG SET replica-priority 0`: sentinels skip this replica (its pod is going
        away; a new pod starts from its config file, with the normal priority)."""
        await self.config_set(ip, {"replica-priority": NO_PROMOTION})

    def forget(self, ip: str) -> None:
        self._conns.forget(ip, self.port)

    async def close(self) -> None:
        await self._conns.close()
