"""The scenarios' workload: a client writing unique keys and recording every attempt.

A scenario is judged on what a client saw, so the writer is an ordinary redis-py client in
the redisha process — through the primary Service's ClusterIP, through redis-py's
`Sentinel(...).master_for("mymaster")`, or straight at one pod (the client left on the
cut-off primary's side in `partition-primary`). Each write sets a key no other write sets,
and its record keeps what the checker needs afterwards:

- whether the server **accepted** it (`+OK`) and whether it counts as **acknowledged**: the
  same thing with `--writer async`; with `--writer wait` only when `WAIT 1 <ms>`, pipelined
  right behind the SET, says a replica has it. Acknowledged writes must survive a fault.
- **which server answered**: the pod address and run id of the connection's server,
  learnt once per connection (`CLIENT INFO`'s `laddr`, `INFO server`'s `run_id`),
  pipelined in front of the connection's first write, so identifying costs no round
  trip. A connection through a Service stays with one endpoint, so this is the server
  that took the write; the run id tells a restarted pod (same address) from its previous
  incarnation.

The connection is driven below redis-py's command layer (`pool.get_connection()`, send,
read, release) so that a write is one attempt with its own timing: no silent retry on
another connection hides how long the server was unavailable.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError, ResponseError

log = logging.getLogger(__name__)

MASTER_NAME = "mymaster"
REDIS_PORT = 6379
SENTINEL_PORT = 26379
_DEMOTED = "The previous master is now a slave"
"""redis-py's Sentinel connection's message for a READONLY reply from the old master."""
_IDENTITY = "_redisha_server"
"""The attribute the connect hook leaves on a redis-py connection: its server's id."""


class WriterMode(str, enum.Enum):
    """When a write counts as acknowledged."""

    ASYNC = "async"
    """When the primary answers the SET: Redis' default, asynchronous replication."""
    WAIT = "wait"
    """When `WAIT 1 <ms>` confirms that at least one replica has it."""


class ClientMode(str, enum.Enum):
    """How the writer finds the primary."""

    SERVICE = "service"
    """The primary Service's ClusterIP (`rfrm-<name>`): the operator's labels route it."""
    SENTINEL = "sentinel"
    """redis-py's `Sentinel(...).master_for('mymaster')`: the sentinels name it."""


@dataclass(frozen=True)
class WriterSettings:
    """The writer's pace and patience."""

    mode: WriterMode = WriterMode.ASYNC
    wait_timeout_ms: int = 100
    """WAIT's timeout: a write no replica confirmed within it is not acknowledged."""
    socket_timeout: float = 0.25
    """Seconds a reply may take before the write fails and the connection is dropped
    (a hung primary answers nothing; this is how fast the writer gives up on it)."""
    connect_timeout: float = 0.25
    """Seconds a connection attempt may take (a partition makes connects hang)."""
    interval: float = 0.001
    """Least seconds between the starts of two writes: about 1,000 writes a second, a
    millisecond's resolution on every figure, and CPU left for the cluster it measures."""
    retry_pause: float = 0.001
    """Seconds to wait after a failed write before the next attempt: short, so the
    outage measured ends within a millisecond of the primary's return."""
    sentinel_timeout: float = 0.25
    """Seconds a sentinel may take to answer redis-py's questions (`--client sentinel`)."""


@dataclass(frozen=True, slots=True)
class Write:
    """One attempted write, as the client saw it (times in the writer's clock, seconds)."""

    writer: str
    """Which writer made it (`main`, or `side` for partition-primary's cut-off client)."""
    key: str
    value: str
    started: float
    finished: float
    accepted: bool
    """The server answered the SET with +OK."""
    acked: bool
    """It counts as acknowledged (see `WriterMode`)."""
    server: str = ""
    """`<ip>:<port>#<run id>` of the server that answered; '' when none did."""
    error: str = ""
    """The error reply or the failure, when not acknowledged."""

    @property
    def server_ip(self) -> str:
        return self.server.split(":", 1)[0] if self.server else ""

    @property
    def rejected(self) -> bool:
        """A server answered and refused the write (READONLY, NOREPLICAS, ...): it was
        not a writable primary at that moment."""
        return bool(self.server) and not self.accepted and self.error.startswith("server:")


@dataclass(frozen=True)
class Target:
    """Where a writer sends its writes."""

    client: ClientMode | None
    """SERVICE or SENTINEL; None for one pod, addressed directly."""
    addresses: tuple[tuple[str, int], ...]
    """The Service's ClusterIP, the sentinels' addresses, or the pod's address."""

    @classmethod
    def service(cls, cluster_ip: str, port: int = REDIS_PORT) -> Target:
        return cls(ClientMode.SERVICE, ((cluster_ip, port),))

    @classmethod
    def sentinels(cls, addresses: list[tuple[str, int]]) -> Target:
        return cls(ClientMode.SENTINEL, tuple(addresses))

    @classmethod
    def pod(cls, ip: str, port: int = REDIS_PORT) -> Target:
        return cls(None, ((ip, port),))

    def describe(self) -> str:
        where = ", ".join(f"{ip}:{port}" for ip, port in self.addresses)
        if self.client is ClientMode.SENTINEL:
            return f"Sentinel([{where}]).master_for({MASTER_NAME!r})"
        return where


async def _fresh(connection: AbstractConnection) -> None:
    """redis-py's connect hook: the usual handshake (which sends nothing here: no auth,
    db 0, RESP2, no driver info), and a note that this server is not identified yet.
    The writer identifies it in the same round trip as the connection's first write."""
    await connection.on_connect()
    setattr(connection, _IDENTITY, None)


def _identity(client_info: Any, server_info: Any, fallback: str) -> str:
    """`<laddr>#<run id>` from `CLIENT INFO` and `INFO server` replies."""
    described, info = _text(client_info), _text(server_info)
    laddr = next((word[len("laddr="):] for word in described.split()
                  if word.startswith("laddr=")), "")
    run_id = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                   if line.startswith("run_id:")), "")
    return f"{laddr or fallback}#{run_id[:12]}"


def _text(reply: Any) -> str:
    if isinstance(reply, bytes):
        return reply.decode(errors="replace")
    return str(reply)


class _Client:
    """A redis-py connection pool for a `Target` (and what must be closed with it)."""

    def __init__(self, target: Target, settings: WriterSettings) -> None:
        # No CLIENT SETINFO on connect (driver_info=None): a reconnect after a failover
        # costs the TCP handshake and one round trip, which the outage figures include.
        common: dict[str, Any] = {"socket_timeout": settings.socket_timeout,
                                  "socket_connect_timeout": settings.connect_timeout,
                                  "redis_connect_func": _fresh, "driver_info": None}
        self._redis: aioredis.Redis | None = None
        if target.client is ClientMode.SENTINEL:
            sentinel = Sentinel(list(target.addresses), sentinel_kwargs={
                "socket_timeout": settings.sentinel_timeout,
                "socket_connect_timeout": settings.sentinel_timeout, "driver_info": None})
            self._redis = sentinel.master_for(MASTER_NAME, **common)
            self.pool: ConnectionPool = self._redis.connection_pool
        else:
            (ip, port), = target.addresses
            self.pool = ConnectionPool(host=ip, port=port, **common)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
        await self.pool.disconnect()


class Writer:
    """Writes `<prefix>:<n>` = `<n>` one at a time until `stop`; `records` keeps them all.

    The clock is the one every other record of the trial uses (sentinel events, the fault's
    moment), so times compare directly.
    """

    def __init__(self, target: Target, *, settings: WriterSettings | None = None,
                 name: str = "main", prefix: str = "w",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.target = target
        self.settings = settings or WriterSettings()
        self.name = name
        self.prefix = prefix
        self.clock = clock
        self.records: list[Write] = []
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._acked = asyncio.Condition()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"scenario-writer-{self.name}")

    async def stop(self) -> None:
        """Finish the write in flight (it gives up within the socket timeout) and close."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            async with asyncio.timeout(self.settings.socket_timeout * 4 + 1.0):
                await task
        except TimeoutError:
            log.warning("writer %s did not stop in time; cancelled", self.name)

    def acked_count(self, after: float = float("-inf")) -> int:
        return sum(1 for w in self.records if w.acked and w.finished > after)

    def acked_started_after(self, moment: float) -> bool:
        """Was a write begun after `moment` acknowledged? (One begun before it and
        finished after proves nothing about the primary serving since.)"""
        for write in reversed(self.records):
            if write.started <= moment:
                return False
            if write.acked:
                return True
        return False

    async def wait_acked_started_after(self, moment: float, *, timeout: float) -> bool:
        """Wait, without polling, until `acked_started_after(moment)`."""
        async def acked() -> None:
            async with self._acked:
                await self._acked.wait_for(lambda: self.acked_started_after(moment))
        try:
            async with asyncio.timeout(timeout):
                await acked()
        except TimeoutError:
            return False
        return True

    async def wait_acked(self, count: int, *, after: float = float("-inf"),
                         timeout: float) -> bool:
        """Wait until `count` writes finishing after `after` are acknowledged."""
        async def enough() -> None:
            async with self._acked:
                await self._acked.wait_for(lambda: self.acked_count(after) >= count)
        try:
            async with asyncio.timeout(timeout):
                await enough()
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        client = _Client(self.target, self.settings)
        seq = 0
        try:
            while not self._stopping.is_set():
                seq += 1
                started = self.clock()
                record = await self._write(client.pool, seq, started)
                self.records.append(record)
                if record.acked:
                    async with self._acked:
                        self._acked.notify_all()
                pause = self.settings.interval - (self.clock() - started)
                if not record.acked and not record.accepted:
                    pause = max(pause, self.settings.retry_pause)
                if pause > 0:
                    try:
                        async with asyncio.timeout(pause):
                            await self._stopping.wait()
                    except TimeoutError:
                        pass
        finally:
            await client.close()

    async def _write(self, pool: ConnectionPool, seq: int, started: float) -> Write:
        key, value = f"{self.prefix}:{seq}", str(seq)
        wait = self.settings.mode is WriterMode.WAIT
        connection: AbstractConnection | None = None
        server, accepted, acked, error = "", False, False, ""
        try:
            connection = await pool.get_connection()
            server = getattr(connection, _IDENTITY, None) or ""
            commands: list[tuple[Any, ...]] = [("SET", key, value)]
            if wait:
                commands.append(("WAIT", 1, self.settings.wait_timeout_ms))
            if not server:
                commands[:0] = [("CLIENT", "INFO"), ("INFO", "server")]
            await connection.send_packed_command(connection.pack_commands(commands))
            if not server:
                server = _identity(await connection.read_response(),
                                   await connection.read_response(), str(connection.host))
                setattr(connection, _IDENTITY, server)
            try:
                accepted = await connection.read_response() in (b"OK", "OK", True)
            except ResponseError as exc:
                error = f"server: {exc}"
            if wait:
                try:
                    replicas = await connection.read_response()
                    acked = accepted and isinstance(replicas, int) and replicas >= 1
                    if accepted and not acked:
                        error = (f"WAIT: {replicas} replicas within "
                                 f"{self.settings.wait_timeout_ms} ms")
                except ResponseError as exc:
                    error = error or f"server: WAIT: {exc}"
            else:
                acked = accepted
        except (TimeoutError, RedisError, OSError) as exc:
            if server and not accepted and _DEMOTED in str(exc):
                # redis-py's Sentinel connection turns READONLY into this and reconnects.
                error = f"server: READONLY ({exc})"
            else:
                error = error or f"{type(exc).__name__}: {exc}"
            acked = False  # an accepted SET whose WAIT never answered stays accepted
            if connection is not None:
                await _drop(connection)
        finally:
            if connection is not None:
                await pool.release(connection)
        return Write(self.name, key, value, started, self.clock(), accepted, acked, server,
                     error)


async def _drop(connection: AbstractConnection) -> None:
    try:
        await connection.disconnect()
    except (RedisError, OSError):
        pass


@dataclass
class ReadBack:
    """What a server holds for a set of keys (None: missing)."""

    values: dict[str, str | None] = field(default_factory=dict)


async def read_back(ip: str, keys: list[str], *, port: int = REDIS_PORT,
                    timeout: float = 2.0, batch: int = 1000) -> ReadBack:
    """MGET every key from the server at `ip` (the primary after recovery)."""
    found = ReadBack()
    client = aioredis.Redis(host=ip, port=port, socket_timeout=timeout,
                            socket_connect_timeout=timeout, decode_responses=True)
    try:
        for i in range(0, len(keys), batch):
            chunk = keys[i:i + batch]
            values = await client.mget(chunk)
            found.values.update((k, None if v is None else _text(v))
                                for k, v in zip(chunk, values, strict=True))
    finally:
        await client.aclose()
    return found


__all__ = ["ClientMode", "ReadBack", "Target", "Write", "Writer", "WriterMode", "WriterSettings",
           "read_back"]
