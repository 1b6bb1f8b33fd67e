"""Talking to sentinels: the `SentinelClient` the operator uses, its records, and its events.

The operator reaches each sentinel pod by its pod IP on port 26379 and uses only the
commands of the shared contract (docs/operator.md). `SentinelClient` is a Protocol so that
tests can stand in for the sentinels; `RespSentinelClient` is the real one, over
`resp_client`. Replies are parsed into records here, so nothing else in the operator reads
raw Sentinel replies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from redisha.operator import resp_client
from redisha.operator.manifests import MASTER_NAME, SENTINEL_PORT
from redisha.operator.resp_client import ReplyError, Unreachable

__all__ = ["Address", "MasterState", "ReplyError", "RespSentinelClient", "SentinelClient",
           "SentinelEvent", "SentinelView", "Unreachable", "parse_event"]


@dataclass(frozen=True, order=True)
class Address:
    """A redis instance's address as sentinels name it."""

    ip: str
    port: int

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True)
class MasterState:
    """One sentinel's `SENTINEL MASTER mymaster`: what it monitors and how."""

    address: Address
    flags: frozenset[str] = frozenset()
    config_epoch: int = 0
    num_slaves: int = 0
    num_other_sentinels: int = 0
    quorum: int = 0
    down_after_ms: int = 0
    failover_timeout_ms: int = 0
    parallel_syncs: int = 0
    failover_state: str = "none"

    @property
    def failover_in_progress(self) -> bool:
        """True while this sentinel runs (or takes part as leader in) a failover."""
        return "failover_in_progress" in self.flags or self.failover_state not in ("", "none")

    @property
    def down(self) -> bool:
        return bool({"s_down", "o_down"} & self.flags)

    def options(self) -> dict[str, str]:
        """The settings `SENTINEL SET` changes, as `SentinelSpec.options` names them."""
        return {"down-after-milliseconds": str(self.down_after_ms),
                "failover-timeout": str(self.failover_timeout_ms),
                "parallel-syncs": str(self.parallel_syncs),
                "quorum": str(self.quorum)}

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> MasterState:
        def number(key: str) -> int:
            try:
                return int(fields.get(key, "0"))
            except ValueError:
                return 0

        flags = frozenset(f for f in fields.get("flags", "").split(",") if f)
        return cls(address=Address(fields.get("ip", ""), number("port")), flags=flags,
                   config_epoch=number("config-epoch"), num_slaves=number("num-slaves"),
                   num_other_sentinels=number("num-other-sentinels"), quorum=number("quorum"),
                   down_after_ms=number("down-after-milliseconds"),
                   failover_timeout_ms=number("failover-timeout"),
                   parallel_syncs=number("parallel-syncs"),
                   failover_state=fields.get("failover-state", "none") or "none")


@dataclass(frozen=True)
class SentinelView:
    """One sentinel's answers about `mymaster`, taken in one round trip."""

    named: Address | None
    """GET-MASTER-ADDR-BY-NAME: the primary it names (during a failover the leader
    already names the promoted replica)."""
    master: MasterState | None
    """SENTINEL MASTER: what it monitors and how; None when it monitors nothing."""
    replicas: tuple[Address, ...] = ()
    sentinels: tuple[Address, ...] = ()


@dataclass(frozen=True)
class SentinelEvent:
    """One message from a sentinel's pub/sub channels (`+switch-master`, `+odown`, …).

    `address` is the instance the event is about; for `+switch-master` it is the new
    primary and `previous` the old one; for a replica's or sentinel's event `master` is the
    primary it belongs to."""

    kind: str
    message: str
    instance_type: str = ""
    address: Address | None = None
    master: Address | None = None
    previous: Address | None = None
    extra: tuple[str, ...] = field(default=())


def _address(ip: str, port: str) -> Address | None:
    try:
        return Address(ip, int(port))
    except ValueError:
        return None


def parse_event(channel: str, message: str) -> SentinelEvent:
    """A sentinel event from its channel and message, in Sentinel's formats:
    `master mymaster 127.0.0.5 6379 #quorum 2/2`,
    `slave 127.0.0.6:6379 127.0.0.6 6379 @ mymaster 127.0.0.5 6379`,
    `mymaster 127.0.0.5 6379 127.0.0.6 6379` (`+switch-master`)."""
    words = message.split()
    if channel == "+switch-master" and len(words) >= 5:
        return SentinelEvent(kind=channel, message=message, instance_type="master",
                             address=_address(words[3], words[4]),
                             previous=_address(words[1], words[2]))
    if len(words) >= 4 and words[0] == "master":
        return SentinelEvent(kind=channel, message=message, instance_type="master",
                             address=_address(words[2], words[3]), extra=tuple(words[4:]))
    if len(words) >= 4 and words[0] in ("slave", "replica", "sentinel"):
        master = None
        rest = tuple(words[4:])
        if "@" in words:
            at = words.index("@")
            if len(words) >= at + 4:
                master = _address(words[at + 2], words[at + 3])
            rest = tuple(words[4:at]) + tuple(words[at + 4:])
        return SentinelEvent(kind=channel, message=message, instance_type=words[0],
                             address=_address(words[2], words[3]), master=master, extra=rest)
    return SentinelEvent(kind=channel, message=message, extra=tuple(words))


def _pairs(reply: Any) -> dict[str, str]:
    if isinstance(reply, dict):
        return {str(k): str(v) for k, v in reply.items()}
    items = list(reply or [])
    return {str(items[i]): str(items[i + 1]) for i in range(0, len(items) - 1, 2)}


class SentinelClient(Protocol):
    """What the operator asks of one sentinel, by the sentinel pod's IP.

    Every call raises `Unreachable` when the sentinel does not answer in time and
    `ReplyError` for an error reply."""

    async def get_master_addr(self, ip: str) -> Address | None:
        """`SENTINEL GET-MASTER-ADDR-BY-NAME mymaster`; None when it monitors no such master."""
        ...

    async def master(self, ip: str) -> MasterState | None:
        """`SENTINEL MASTER mymaster`; None when it monitors no such master."""
        ...

    async def replicas(self, ip: str) -> list[Address]:
        """`SENTINEL REPLICAS mymaster`: the replicas it knows of."""
        ...

    async def sentinels(self, ip: str) -> list[Address]:
        """`SENTINEL SENTINELS mymaster`: the other sentinels it knows of."""
        ...

    async def observe(self, ip: str) -> SentinelView:
        """GET-MASTER-ADDR-BY-NAME, MASTER, REPLICAS and SENTINELS in one round trip."""
        ...

    async def monitor(self, ip: str, primary: Address, quorum: int) -> None: ...

    async def remove(self, ip: str) -> None: ...

    async def set(self, ip: str, options: Mapping[str, str]) -> None: ...

    async def reset(self, ip: str) -> int: ...

    async def failover(self, ip: str) -> None:
        """`SENTINEL FAILOVER mymaster`: start an (authoritative) failover now."""
        ...

    def events(self, ip: str) -> AsyncIterator[SentinelEvent]:
        """Every event the sentinel publishes, until the connection fails (`Unreachable`)."""
        ...

    def forget(self, ip: str) -> None:
        """Drop what is kept for a sentinel that went away."""
        ...

    async def close(self) -> None: ...


def _addresses(reply: Any) -> list[Address]:
    found = []
    for entry in reply or []:
        fields = _pairs(entry)
        address = _address(fields.get("ip", ""), fields.get("port", ""))
        if address is not None:
            found.append(address)
    return found


_NO_SUCH_MASTER = ("No such master", "IDONTKNOW")


def _is_unknown_master(exc: ReplyError) -> bool:
    return any(marker.lower() in exc.message.lower() for marker in _NO_SUCH_MASTER)


class RespSentinelClient:
    """`SentinelClient` over RESP/TCP to `<ip>:26379`."""

    def __init__(self, *, timeout: float = 0.5, port: int = SENTINEL_PORT,
                 master_name: str = MASTER_NAME) -> None:
        self.port = port
        self.master_name = master_name
        self.timeout = timeout
        self._conns = resp_client.Connections(timeout=timeout)

    async def _call(self, ip: str, *args: str | int) -> Any:
        return await self._conns.call(ip, self.port, "SENTINEL", *args)

    async def get_master_addr(self, ip: str) -> Address | None:
        try:
            reply = await self._call(ip, "GET-MASTER-ADDR-BY-NAME", self.master_name)
        except ReplyError as exc:
            if _is_unknown_master(exc):
                return None
            raise
        if not reply or len(reply) < 2:
            return None
        return _address(str(reply[0]), str(reply[1]))

    async def master(self, ip: str) -> MasterState | None:
        try:
            reply = await self._call(ip, "MASTER", self.master_name)
        except ReplyError as exc:
            if _is_unknown_master(exc):
                return None
            raise
        return MasterState.from_fields(_pairs(reply))

    async def _instances(self, ip: str, what: str) -> list[Address]:
        try:
            reply = await self._call(ip, what, self.master_name)
        except ReplyError as exc:
            if _is_unknown_master(exc):
                return []
            raise
        return _addresses(reply)

    async def observe(self, ip: str) -> SentinelView:
        named, master, replicas, others = await self._conns.pipeline(ip, self.port, [
            ("SENTINEL", what, self.master_name)
            for what in ("GET-MASTER-ADDR-BY-NAME", "MASTER", "REPLICAS", "SENTINELS")])
        if isinstance(master, ReplyError):
            if _is_unknown_master(master):
                return SentinelView(None, None)
            raise master
        address = None
        if isinstance(named, list) and len(named) >= 2:
            address = _address(str(named[0]), str(named[1]))
        return SentinelView(
            named=address, master=MasterState.from_fields(_pairs(master)),
            replicas=tuple([] if isinstance(replicas, ReplyError) else _addresses(replicas)),
            sentinels=tuple([] if isinstance(others, ReplyError) else _addresses(others)))

    async def replicas(self, ip: str) -> list[Address]:
        return await self._instances(ip, "REPLICAS")

    async def sentinels(self, ip: str) -> list[Address]:
        return await self._instances(ip, "SENTINELS")

    async def monitor(self, ip: str, primary: Address, quorum: int) -> None:
        await self._call(ip, "MONITOR", self.master_name, primary.ip, primary.port, quorum)

    async def remove(self, ip: str) -> None:
        try:
            await self._call(ip, "REMOVE", self.master_name)
        except ReplyError as exc:
            if not _is_unknown_master(exc):
                raise

    async def set(self, ip: str, options: Mapping[str, str]) -> None:
        args: list[str] = []
        for option, value in options.items():
            args += [option, value]
        if args:
            await self._call(ip, "SET", self.master_name, *args)

    async def reset(self, ip: str) -> int:
        return int(await self._call(ip, "RESET", self.master_name) or 0)

    async def failover(self, ip: str) -> None:
        await self._call(ip, "FAILOVER", self.master_name)

    async def events(self, ip: str) -> AsyncIterator[SentinelEvent]:
        async for channel, message in resp_client.subscribe(ip, self.port, "*",
                                                            timeout=self.timeout):
            yield parse_event(channel, message)

    def forget(self, ip: str) -> None:
        self._conns.forget(ip, self.port)

    async def close(self) -> None:
        await self._conns.close()
