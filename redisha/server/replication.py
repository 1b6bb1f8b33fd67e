"""Replication as Redis 7 does it, for one fake server: both the primary and the replica side.

**Replica side.** `set_primary(host, port)` (REPLICAOF, or `replicaof` in the config) starts
a link: resolve the name through the pod's cluster DNS — a name that does not resolve yet logs
`Unable to connect to MASTER: Resource temporarily unavailable` and is retried every second,
never fatal — connect through the pod's sandbox (so partitions and freezes apply), handshake
(PING, REPLCONF listening-port / capa, PSYNC replid offset), then either load the primary's
snapshot (`+FULLRESYNC`) or continue from its backlog (`+CONTINUE`), and apply the stream:
every command the primary streams is run against the local data by a session that bypasses
the read-only check, and its bytes advance the offset, feed this server's own backlog and are
passed on verbatim to sub-replicas. The replica acknowledges its offset (`REPLCONF ACK`) every
`ack_period` and at once when asked (`REPLCONF GETACK *`, sent by a primary serving WAIT). A
primary silent for `repl-timeout` seconds is dropped and reconnected to; the link's state is
cached, so the reconnection asks for a partial resync.

**Primary side.** `psync()` answers a replica's PSYNC (`backlog.decide_psync`), sends the
snapshot or the missed bytes, and from then on `propagate()` streams every write (SELECT
when the database changes, MULTI/EXEC around a write that produced several commands), pings
replicas every `repl-ping-replica-period`, and drops replicas silent for `repl-timeout`.
`redisha-repl-delay-ms` delays what is streamed, for experiments.

**Role changes.** `REPLICAOF NO ONE` shifts the replication id (PSYNC2), so former siblings
can continue from the new primary; REPLICAOF on a primary synthesizes a cached primary from
its own id and offset, so a demoted primary can continue from its successor.

Every log line is redis-server 7.0.15's for the same event.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakeredis import FakeServer

from redisha.server import engine, resp, snapshot
from redisha.server.backlog import Backlog, ReplicationIds, decide_psync, new_replid
from redisha.server.config import REDIS_VERSION, ServerConfig
from redisha.server.logs import Level, Role, ServerLog


class LinkState(str, enum.Enum):
    """A replica's link to its primary (ROLE's state words)."""

    NONE = "none"
    CONNECT = "connect"
    CONNECTING = "connecting"
    HANDSHAKE = "handshake"
    TRANSFER = "sync"
    CONNECTED = "connected"


class ReplicaState(str, enum.Enum):
    """An attached replica, as INFO's `slaveN:…state=` shows it."""

    WAIT_BGSAVE = "wait_bgsave"
    SEND_BULK = "send_bulk"
    ONLINE = "online"


@dataclass
class SyncStats:
    """INFO stats' sync_full, sync_partial_ok and sync_partial_err (primary side)."""

    full: int = 0
    partial_ok: int = 0
    partial_err: int = 0


@dataclass(frozen=True)
class ReplicationSettings:
    """Intervals that are not redis.conf options."""

    ack_period: float = 0.1
    """How often a replica sends REPLCONF ACK (Redis: once a second)."""
    cron_period: float = 0.05
    """How often timeouts, pings and reconnections are checked."""
    connect_retry: float = 1.0
    """Between attempts to reach a primary that cannot be reached (replicationCron's second)."""


class HandshakeError(Exception):
    """The primary answered the handshake in a way that ends this attempt (already logged)."""


@dataclass(eq=False)
class ReplicaLink:
    """One replica attached to this server."""

    client_id: int
    ip: str
    port: int
    writer: asyncio.StreamWriter
    state: ReplicaState = ReplicaState.WAIT_BGSAVE
    ack_offset: int = 0
    ack_time: float = 0.0
    delay: float = 0.0
    clock: Callable[[], float] = time.time
    _queue: deque[tuple[float, bytes]] = field(default_factory=deque)
    _sender: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return f"{self.ip}:{self.port}" if self.port else f"{self.ip}:<unknown-replica-port>"

    def send(self, data: bytes, now: float) -> None:
        if self.delay <= 0 and not self._queue:
            self.writer.write(data)
            return
        self._queue.append((now + self.delay, data))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_delayed())

    async def _send_delayed(self) -> None:
        while self._queue:
            due, data = self._queue[0]
            wait = due - self.clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self._queue.popleft()
            if self.writer.is_closing():
                self._queue.clear()
                return
            self.writer.write(data)

    def close(self) -> None:
        self._queue.clear()
        if self._sender is not None:
            self._sender.cancel()
        self.writer.close()


@dataclass
class PrimaryLink:
    """This replica's live connection to its primary."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_io: float
    session: engine.Session
    created: float = 0.0
    """When the link came up (CLIENT LIST's `age=` of the master client)."""


def _strerror(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return "Resource temporarily unavailable"
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return str(exc) or exc.__class__.__name__


class Replication:
    """One server's replication: its ids and backlog, its replicas, and its primary link."""

    def __init__(self, *, fake: FakeServer, config: ServerConfig, log: ServerLog,
                 sandbox: Any, clock: Callable[[], float],
                 settings: ReplicationSettings = ReplicationSettings(),
                 awake: asyncio.Event | None = None) -> None:
        self._fake = fake
        self._config = config
        self._log = log
        self._sandbox = sandbox
        self._clock = clock
        self._settings = settings
        self._awake = awake
        """Cleared while the server sleeps (DEBUG SLEEP): no stream applied, no cron."""
        self.ids = ReplicationIds(replid=new_replid())
        self.backlog: Backlog | None = None
        self.replicas: list[ReplicaLink] = []
        self.sync_stats = SyncStats()
        self.last_load = (0, 0)
        """Keys loaded and expired by the last RDB load (from disk or a primary)."""
        self._seldb = -1
        """The database the stream last selected; -1 forces a SELECT before the next write."""
        self._last_ping = 0.0
        self._ack_changed = asyncio.Event()
        # Replica side.
        self.primary_host: str | None = None
        self.primary_port = 0
        self.link_state = LinkState.NONE
        self.link: PrimaryLink | None = None
        self._cached_session: engine.Session | None = None
        """The cached primary: its session (selected db); PSYNC offers ids.replid/offset."""
        self._link_task: asyncio.Task[None] | None = None
        self._transfer_lastio = 0.0
        self._next_connect = 0.0
        self._last_ack_sent = 0.0
        self.down_since = 0.0
        self.read_offset = 0
        self.sync_in_progress = False
        self._cron: asyncio.Task[None] | None = None
        self._child_pids = iter(range(log.pid + 20, 1 << 22))
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._cron = asyncio.get_running_loop().create_task(self._run_cron(),
                                                             name="redis replicationCron")

    async def close(self) -> None:
        self._closed = True
        tasks = [t for t in (self._cron, self._link_task) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._close_link()
        for link in list(self.replicas):
            link.close()
        self.replicas.clear()

    @property
    def is_replica(self) -> bool:
        return self.primary_host is not None

    @property
    def role(self) -> Role:
        return Role.REPLICA if self.is_replica else Role.PRIMARY

    # -- writes (primary side) ------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        """Is there a stream to feed (a backlog or a replica)? If not, writes cost nothing."""
        return self.backlog is not None or bool(self.replicas)

    def propagate(self, effects: list[engine.Effect]) -> None:
        """Stream the commands one client command produced (a unit: MULTI/EXEC if several)."""
        if not self.streaming or not effects:
            return
        parts: list[bytes] = []
        wrap = len(effects) > 1
        if wrap:
            parts.append(resp.encode_command((b"MULTI",)))
        for effect in effects:
            if effect.db != self._seldb:
                parts.append(resp.encode_command((b"SELECT", str(effect.db).encode())))
                self._seldb = effect.db
            parts.append(resp.encode_command(effect.args))
        if wrap:
            parts.append(resp.encode_command((b"EXEC",)))
        self.feed(b"".join(parts))

    def feed(self, data: bytes) -> None:
        """Append bytes to the stream: offset, backlog, every online replica."""
        if self.backlog is None:
            if not self.replicas:
                return
            self._create_backlog()
        assert self.backlog is not None
        self.backlog.append(data)
        self.ids.offset += len(data)
        now = self._clock()
        for link in self.replicas:
            if link.state is ReplicaState.ONLINE:
                link.send(data, now)

    def _create_backlog(self) -> None:
        self.backlog = Backlog(self._config.get_int("repl-backlog-size"), self.ids.offset)

    def resize_backlog(self) -> None:
        if self.backlog is not None:
            self.backlog.resize(self._config.get_int("repl-backlog-size"))

    def good_replicas(self) -> int:
        """Online replicas whose last ACK is at most min-replicas-max-lag seconds old."""
        max_lag = self._config.get_int("min-replicas-max-lag")
        now = int(self._clock())
        return sum(1 for link in self.replicas if link.state is ReplicaState.ONLINE
                   and now - int(link.ack_time) <= max_lag)

    def writes_refused(self) -> bool:
        """min-replicas-to-write is not met (`-NOREPLICAS`)."""
        needed = self._config.get_int("min-replicas-to-write")
        if not needed or self.is_replica or not self._config.get_int("min-replicas-max-lag"):
            return False
        return self.good_replicas() < needed

    def acked(self, offset: int) -> int:
        return sum(1 for link in self.replicas
                   if link.state is ReplicaState.ONLINE and link.ack_offset >= offset)

    async def wait(self, numreplicas: int, timeout_ms: int) -> int:
        """WAIT: replicas that acknowledged everything streamed so far, waiting up to
        `timeout_ms` (0: forever) for `numreplicas` of them; asks them to ACK at once."""
        target = self.ids.offset
        count = self.acked(target)
        if count >= numreplicas:
            return count
        self.feed(resp.encode_command((b"REPLCONF", b"GETACK", b"*")))
        loop = asyncio.get_running_loop()
        deadline = None if timeout_ms <= 0 else loop.time() + timeout_ms / 1000
        while True:
            count = self.acked(target)
            if count >= numreplicas:
                return count
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return count
            event = self._ack_changed
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                return self.acked(target)

    def _acks_changed(self) -> None:
        event, self._ack_changed = self._ack_changed, asyncio.Event()
        event.set()

    # -- PSYNC (primary side) -------------------------------------------------------------

    def can_serve_sync(self) -> resp.Error | None:
        """A replica whose own primary link is down refuses PSYNC (`-NOMASTERLINK`)."""
        if self.is_replica and self.link_state is not LinkState.CONNECTED:
            return resp.Error("NOMASTERLINK Can't SYNC while not connected with my master")
        return None

    async def psync(self, *, client_id: int, ip: str, port: int, replid: str, offset: int,
                    writer: asyncio.StreamWriter) -> ReplicaLink:
        """Answer PSYNC on `writer` and attach the replica; returns its link."""
        link = ReplicaLink(client_id=client_id, ip=ip, port=port, writer=writer,
                           ack_time=self._clock(), clock=self._clock,
                           delay=self._config.get_int("redisha-repl-delay-ms") / 1000)
        log = self._log
        log.notice(f"Replica {link.name} asks for synchronization")
        decision = decide_psync(self.ids, self.backlog, replid, offset, link.name)
        if decision.partial:
            assert self.backlog is not None
            self.sync_stats.partial_ok += 1
            link.state = ReplicaState.ONLINE
            self.replicas.append(link)
            data = self.backlog.read_from(offset)
            writer.write(b"+CONTINUE %s\r\n" % self.ids.replid.encode())
            if data:
                writer.write(data)
            log.notice(f"Partial resynchronization request from {link.name} accepted. Sending "
                       f"{len(data)} bytes of backlog starting from offset {offset}.")
            return link
        log.notice(decision.reason)
        if replid != "?":
            self.sync_stats.partial_err += 1
        self.sync_stats.full += 1
        self.replicas.append(link)
        if self.backlog is None:
            self.ids.replid = new_replid()
            self.ids.clear_secondary()
            self._create_backlog()
            log.notice(f"Replication backlog created, my new replication IDs are "
                       f"'{self.ids.replid}' and '{self.ids.replid2}'")
        diskless = self._config.get_bool("repl-diskless-sync")
        if diskless:
            delay = self._config.get_int("repl-diskless-sync-delay")
            if delay > 0:
                log.notice("Delay next BGSAVE for diskless SYNC")
                await asyncio.sleep(delay)
                if writer.is_closing():
                    self._forget(link)
                    return link
        log.notice("Starting BGSAVE for SYNC with target: "
                   + ("replicas sockets" if diskless else "disk"))
        child = next(self._child_pids)
        log.notice(f"Background {'RDB transfer' if diskless else 'saving'} started by pid "
                   f"{child}")
        payload = snapshot.dump(self._fake, now=self._clock())
        writer.write(b"+FULLRESYNC %s %d\r\n" % (self.ids.replid.encode(), self.ids.offset))
        if diskless:
            mark = os.urandom(20).hex().encode()
            writer.write(b"$EOF:%s\r\n%s%s" % (mark, payload, mark))
            log.log(Level.NOTICE, "Fork CoW for RDB: current 0 MB, peak 0 MB, average 0 MB",
                    role=Role.CHILD, pid=child)
            log.warning("Diskless rdb transfer, done reading from pipe, 1 replicas still up.")
        else:
            log.log(Level.NOTICE, "DB saved on disk", role=Role.CHILD, pid=child)
            log.log(Level.NOTICE, "Fork CoW for RDB: current 0 MB, peak 0 MB, average 0 MB",
                    role=Role.CHILD, pid=child)
            log.notice("Background saving terminated with success")
            writer.write(b"$%d\r\n%s" % (len(payload), payload))
        self._seldb = -1
        link.state = ReplicaState.ONLINE
        link.ack_time = self._clock()
        if diskless:
            log.notice("Background RDB transfer terminated with success")
            log.notice("Streamed RDB transfer with replica "
                       f"{link.name} succeeded (socket). Waiting for REPLCONF ACK from slave "
                       "to enable streaming")
        log.notice(f"Synchronization with replica {link.name} succeeded")
        return link

    def replica_ack(self, link: ReplicaLink, offset: int) -> None:
        link.ack_offset = max(link.ack_offset, offset)
        link.ack_time = self._clock()
        self._acks_changed()

    def replica_lost(self, link: ReplicaLink) -> None:
        if link in self.replicas:
            self._log.warning(f"Connection with replica {link.name} lost.")
            self._forget(link)

    def _forget(self, link: ReplicaLink) -> None:
        if link in self.replicas:
            self.replicas.remove(link)
        link.close()
        self._acks_changed()

    def disconnect_replicas(self) -> None:
        for link in list(self.replicas):
            self.replica_lost(link)

    # -- role changes ---------------------------------------------------------------------

    def configure_from_startup(self) -> None:
        """`replicaof` in the config: become a replica; the first cron tick connects."""
        target = self._config.replicaof
        if target is None:
            self._log.role = Role.PRIMARY
            return
        self.primary_host, self.primary_port = target
        self.link_state = LinkState.CONNECT
        self._log.role = Role.REPLICA

    def restore_ids(self, replid: str, offset: int) -> None:
        """The replication id and offset an RDB file was saved with: a restarted server
        resumes its history, and a replica offers it to its primary (partial resync)."""
        self.ids.replid = replid
        self.ids.offset = offset
        self.ids.clear_secondary()
        self._create_backlog()
        if self.primary_host is not None:
            self._log.notice(
                "Before turning into a replica, using my own master parameters to synthesize a "
                "cached master: I may be able to synchronize with the new master with just a "
                "partial transfer.")
            self._cached_session = self._new_primary_session()

    def set_primary(self, host: str, port: int) -> bool:
        """REPLICAOF host port. False when already replicating from exactly that primary."""
        if self.primary_host is not None and self.primary_host.lower() == host.lower() \
                and self.primary_port == port:
            self._log.notice("REPLICAOF would result into synchronization with the master we "
                             "are already connected with. No operation performed.")
            return False
        was_primary = self.primary_host is None
        self._drop_link(cache=True)
        self.primary_host, self.primary_port = host, port
        self._config.values["replicaof"] = f"{host} {port}"
        self._log.role = Role.REPLICA
        if was_primary:
            self._cached_session = None
            self._log.notice(
                "Before turning into a replica, using my own master parameters to synthesize a "
                "cached master: I may be able to synchronize with the new master with just a "
                "partial transfer.")
            if self.backlog is None:
                self._create_backlog()
            self._cached_session = self._new_primary_session()
        self.link_state = LinkState.CONNECT
        self._log.notice(f"Connecting to MASTER {host}:{port}")
        self._connect()
        return True

    def unset_primary(self) -> bool:
        """REPLICAOF NO ONE. False when already a primary."""
        if self.primary_host is None:
            return False
        # Redis forgets the primary before freeing its link: from the first line on, the
        # log's role character is already M.
        self._log.role = Role.PRIMARY
        self._drop_link(cache=True)
        if self._cached_session is not None:
            self._log.notice("Discarding previously cached master state.")
            self._cached_session.close()
            self._cached_session = None
        self.primary_host = None
        self.primary_port = 0
        self._config.values["replicaof"] = ""
        self.ids.shift()
        self._log.warning(f"Setting secondary replication ID to {self.ids.replid2}, valid up "
                          f"to offset: {self.ids.second_offset}. New replication ID is "
                          f"{self.ids.replid}")
        self.disconnect_replicas()
        self.link_state = LinkState.NONE
        self._seldb = -1
        self.down_since = 0.0
        if self.backlog is None:
            self._create_backlog()
        return True

    def kill_primary_link(self) -> int:
        """CLIENT KILL TYPE master: drop the link (it reconnects)."""
        if self.link is None:
            return 0
        self._primary_lost()
        return 1

    # -- the link to the primary ----------------------------------------------------------

    def _new_primary_session(self) -> engine.Session:
        return engine.Session(self._fake, deliver=lambda _msg: None, record=False,
                              client_info={"name": "", "flags": "M"})

    def _connect(self) -> None:
        """connectWithMaster: resolve now (failure is logged and retried by the cron),
        connect in the background."""
        assert self.primary_host is not None
        now = self._clock()
        self._next_connect = now + self._settings.connect_retry
        ip = self._sandbox.resolve(self.primary_host)
        if ip is None:
            self._log.warning("Unable to connect to MASTER: Resource temporarily unavailable")
            self.link_state = LinkState.CONNECT
            return
        self._transfer_lastio = now
        self.link_state = LinkState.CONNECTING
        self._log.notice("MASTER <-> REPLICA sync started")
        self._link_task = asyncio.get_running_loop().create_task(
            self._run_link(ip, self.primary_port), name=f"redis link to {self.primary_host}")

    async def _run_link(self, ip: str, port: int) -> None:
        try:
            reader, writer = await self._sandbox.open_connection(ip, port)
        except OSError as exc:
            self._log.warning(f"Error condition on socket for SYNC: {_strerror(exc)}")
            self.link_state = LinkState.CONNECT
            return
        self._log.notice("Non blocking connect for SYNC fired the event.")
        parser = resp.ReplyParser()
        try:
            session = await self._handshake(reader, writer, parser)
        except (HandshakeError, OSError, resp.ProtocolError, asyncio.IncompleteReadError,
                snapshot.SnapshotError) as exc:
            if isinstance(exc, (OSError, asyncio.IncompleteReadError)):
                self._log.warning(f"I/O error trying to sync with MASTER: "
                                  f"{'connection lost' if not isinstance(exc, OSError) else _strerror(exc)}")
            elif isinstance(exc, (resp.ProtocolError, snapshot.SnapshotError)):
                self._log.warning(str(exc))
            writer.close()
            self.link_state = LinkState.CONNECT
            self.sync_in_progress = False
            return
        now = self._clock()
        self.link = PrimaryLink(reader=reader, writer=writer, last_io=now, session=session,
                                created=now)
        self.link_state = LinkState.CONNECTED
        self.down_since = 0.0
        self._send_ack()
        try:
            await self._stream(self.link, parser)
        except (OSError, resp.ProtocolError):
            pass
        if self.link is not None and self.link.reader is reader:
            self._primary_lost()

    async def _read_reply(self, reader: asyncio.StreamReader, parser: resp.ReplyParser) -> Any:
        while True:
            frame = parser.next_frame()
            if frame is not resp.NEED_DATA:
                self._transfer_lastio = self._clock()
                return frame
            data = await reader.read(65536)
            if not data:
                raise asyncio.IncompleteReadError(b"", None)
            parser.feed(data)

    async def _handshake(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         parser: resp.ReplyParser) -> engine.Session:
        self.link_state = LinkState.HANDSHAKE
        writer.write(resp.encode_command((b"PING",)))
        reply = await self._read_reply(reader, parser)
        if isinstance(reply, resp.Error) and not reply.message.startswith(
                ("NOAUTH", "NOPERM", "ERR operation not permitted")):
            self._log.warning(f"Error reply to PING from master: '-{reply.message}'")
            raise HandshakeError
        self._log.notice("Master replied to PING, replication can continue...")
        commands: list[tuple[bytes, ...]] = [
            (b"REPLCONF", b"listening-port", self._announced_port())]
        announce_ip = self._config.get("replica-announce-ip")
        if announce_ip:
            commands.append((b"REPLCONF", b"ip-address", announce_ip.encode()))
        commands.append((b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"))
        writer.write(b"".join(resp.encode_command(c) for c in commands))
        for command in commands:
            reply = await self._read_reply(reader, parser)
            if isinstance(reply, resp.Error):
                self._log.notice(f"(Non critical) Master does not understand REPLCONF "
                                 f"{command[1].decode()}: -{reply.message}")
        cached = self._cached_session is not None
        if cached:
            psync_id, psync_offset = self.ids.replid, str(self.ids.offset + 1)
            self._log.notice(f"Trying a partial resynchronization (request "
                             f"{psync_id}:{psync_offset}).")
        else:
            psync_id, psync_offset = "?", "-1"
            self._log.notice("Partial resynchronization not possible (no cached master)")
        writer.write(resp.encode_command((b"PSYNC", psync_id.encode(), psync_offset.encode())))
        reply = await self._read_reply(reader, parser)
        text = reply.value.decode() if isinstance(reply, resp.SimpleString) else ""
        if text.startswith("FULLRESYNC"):
            return await self._full_sync(text, reader, parser)
        if text.startswith("CONTINUE"):
            return self._continue(text)
        if isinstance(reply, resp.Error) and reply.message.startswith(("NOMASTERLINK",
                                                                       "LOADING")):
            self._log.notice(f"Master is currently unable to PSYNC but should be in the "
                             f"future: -{reply.message}")
        elif isinstance(reply, resp.Error):
            self._log.notice(f"Master does not support PSYNC or is in error state (reply: "
                             f"-{reply.message})")
        else:
            self._log.warning(f"Unexpected reply to PSYNC from master: {reply!r}")
        raise HandshakeError

    def _announced_port(self) -> bytes:
        port = self._config.get_int("replica-announce-port") or self._config.port
        return str(port).encode()

    async def _full_sync(self, text: str, reader: asyncio.StreamReader,
                         parser: resp.ReplyParser) -> engine.Session:
        _, replid, offset_text = (text.split(" ") + ["", ""])[:3]
        offset = int(offset_text)
        log = self._log
        log.notice(f"Full resync from master: {replid}:{offset}")
        self.link_state = LinkState.TRANSFER
        self.sync_in_progress = True
        announced = False
        while True:
            payload = parser.next_snapshot()
            if payload is not resp.NEED_DATA:
                break
            if not announced:
                announced = self._announce_transfer(parser, log)
            data = await reader.read(1 << 20)
            if not data:
                raise asyncio.IncompleteReadError(b"", None)
            self._transfer_lastio = self._clock()
            parser.feed(data)
        if not announced:
            self._announce_transfer(parser, log, size=len(payload.data))
        if self._cached_session is not None:
            log.notice("Discarding previously cached master state.")
            self._cached_session.close()
            self._cached_session = None
        log.notice("MASTER <-> REPLICA sync: Flushing old data")
        self.disconnect_replicas()
        snapshot.flush(self._fake)
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        log.notice(f"Loading RDB produced by version {REDIS_VERSION}")
        stats = snapshot.load(self._fake, payload.data, now=self._clock())
        self.last_load = (stats.keys_loaded, stats.keys_expired)
        log.notice(f"RDB age {max(0, int(self._clock() - stats.created_at))} seconds")
        log.notice(f"RDB memory usage when created {stats.memory_mb:.2f} Mb")
        log.notice(f"Done loading RDB, keys loaded: {stats.keys_loaded}, keys expired: "
                   f"{stats.keys_expired}.")
        self.ids.replid = replid
        self.ids.clear_secondary()
        self.ids.offset = offset
        self.read_offset = offset
        self.backlog = None
        self._create_backlog()
        self.sync_in_progress = False
        log.notice("MASTER <-> REPLICA sync: Finished with success")
        return self._new_primary_session()

    def _announce_transfer(self, parser: resp.ReplyParser, log: ServerLog,
                           size: int | None = None) -> bool:
        if size is None:
            size = parser.snapshot_size()
            if size is None:
                return False
        if size < 0:
            log.notice("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF "
                       "to disk")
        else:
            log.notice(f"MASTER <-> REPLICA sync: receiving {size} bytes from master to disk")
        return True

    def _continue(self, text: str) -> engine.Session:
        log = self._log
        log.notice("Successful partial resynchronization with master.")
        words = text.split(" ")
        new_id = words[1] if len(words) > 1 else ""
        if new_id and new_id != self.ids.replid:
            self.ids.replid2 = self.ids.replid
            self.ids.second_offset = self.ids.offset + 1
            self.ids.replid = new_id
            log.warning(f"Master replication ID changed to {new_id}")
            self.disconnect_replicas()
        if self.backlog is None:
            self._create_backlog()
        self.read_offset = self.ids.offset
        log.notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
        session = self._cached_session or self._new_primary_session()
        self._cached_session = None
        return session

    async def _stream(self, link: PrimaryLink, parser: resp.ReplyParser) -> None:
        """Apply the primary's stream until the link ends."""
        while True:
            if self._awake is not None and not self._awake.is_set():
                await self._awake.wait()
            self._apply_buffered(link, parser)
            data = await link.reader.read(1 << 16)
            if not data:
                return
            link.last_io = self._clock()
            self.read_offset += len(data)
            parser.feed(data)

    def _apply_buffered(self, link: PrimaryLink, parser: resp.ReplyParser) -> None:
        while True:
            frame = parser.next_frame_raw()
            if frame is resp.NEED_DATA:
                return
            args, raw = frame
            if not isinstance(args, list) or not args:
                continue
            if len(args) >= 2 and args[0].lower() == b"replconf" \
                    and args[1].lower() == b"getack":
                self._send_ack()
                self._advance(raw)
                continue
            link.session.execute(args, engine.command_name(args))
            link.session.take_effects()
            self._advance(raw)

    def _advance(self, raw: bytes) -> None:
        """Applied stream bytes: our offset, our backlog, our own replicas (verbatim)."""
        if self.backlog is None:
            self._create_backlog()
        assert self.backlog is not None
        self.backlog.append(raw)
        self.ids.offset += len(raw)
        now = self._clock()
        for replica in self.replicas:
            if replica.state is ReplicaState.ONLINE:
                replica.send(raw, now)

    def _send_ack(self) -> None:
        link = self.link
        if link is None:
            return
        self._last_ack_sent = self._clock()
        link.writer.write(resp.encode_command(
            (b"REPLCONF", b"ACK", str(self.ids.offset).encode())))

    def _primary_lost(self) -> None:
        """The link ended (EOF, error, timeout, CLIENT KILL): cache it, reconnect."""
        self._drop_link(cache=True)
        self.down_since = self._clock()
        if self.primary_host is not None and not self._closed:
            self._log.notice(f"Reconnecting to MASTER {self.primary_host}:{self.primary_port}")
            self._connect()

    def _drop_link(self, *, cache: bool) -> None:
        """Close the link or the handshake in progress; a live link becomes the cached one."""
        link = self.link
        self._close_link()
        if link is not None:
            self._log.warning("Connection with master lost.")
            if cache:
                self._log.notice("Caching the disconnected master state.")
                if self._cached_session is not None:
                    self._cached_session.close()
                self._cached_session = link.session
            else:
                link.session.close()
        self.sync_in_progress = False
        if self.primary_host is not None:
            self.link_state = LinkState.CONNECT

    def _close_link(self) -> None:
        task, self._link_task = self._link_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        link, self.link = self.link, None
        if link is not None:
            link.writer.close()

    # -- cron -----------------------------------------------------------------------------

    async def _run_cron(self) -> None:
        while True:
            if self._awake is not None and not self._awake.is_set():
                await self._awake.wait()
            try:
                self.cron()
            except Exception:
                self._log.warning("replication cron failed")
                raise
            await asyncio.sleep(self._settings.cron_period)

    def cron(self) -> None:
        """One replicationCron pass: reconnect, timeouts, pings, ACKs."""
        now = self._clock()
        timeout = self._config.get_int("repl-timeout")
        if self.primary_host is not None:
            state = self.link_state
            if state in (LinkState.CONNECTING, LinkState.HANDSHAKE) \
                    and now - self._transfer_lastio > timeout:
                self._log.warning("Timeout connecting to the MASTER...")
                self._cancel_handshake()
            elif state is LinkState.TRANSFER and now - self._transfer_lastio > timeout:
                self._log.warning("Timeout receiving bulk data from MASTER... If the problem "
                                  "persists try to set the 'repl-timeout' parameter in "
                                  "redis.conf to a larger value.")
                self._cancel_handshake()
            elif state is LinkState.CONNECTED and self.link is not None \
                    and now - self.link.last_io > timeout:
                self._log.warning("MASTER timeout: no data nor PING received...")
                self._primary_lost()
            if self.link_state is LinkState.CONNECT and now >= self._next_connect:
                self._log.notice(f"Connecting to MASTER {self.primary_host}:{self.primary_port}")
                self._connect()
            if self.link is not None and now - self._last_ack_sent >= self._settings.ack_period:
                self._send_ack()
        if self.replicas:
            period = self._config.get_int("repl-ping-replica-period")
            if not self.is_replica and now - self._last_ping >= period:
                self._last_ping = now
                self.feed(resp.encode_command((b"PING",)))
            for link in list(self.replicas):
                if link.state is ReplicaState.ONLINE and now - link.ack_time > timeout:
                    self._log.warning(f"Disconnecting timedout replica (streaming sync): "
                                      f"{link.name}")
                    self._forget(link)
        else:
            self._last_ping = now - self._config.get_int("repl-ping-replica-period") + 1

    def _cancel_handshake(self) -> None:
        self._close_link()
        self.sync_in_progress = False
        self.link_state = LinkState.CONNECT
        self._log.notice(f"Reconnecting to MASTER {self.primary_host}:{self.primary_port} "
                         "after failure")
        self._connect()

    # -- introspection --------------------------------------------------------------------

    def role_reply(self) -> list[Any]:
        if self.primary_host is None:
            return [b"master", self.ids.offset,
                    [[link.ip.encode(), str(link.port).encode(), str(link.ack_offset).encode()]
                     for link in self.replicas if link.state is ReplicaState.ONLINE]]
        return [b"slave", self.primary_host.encode(), self.primary_port,
                self.link_state.value.encode(), self.ids.offset if self.link else -1]

    def info_lines(self) -> list[str]:
        """INFO replication, field by field as Redis 7.0 prints them."""
        now = self._clock()
        lines = [f"role:{'slave' if self.is_replica else 'master'}"]
        config = self._config
        if self.is_replica:
            connected = self.link_state is LinkState.CONNECTED
            offset = self.ids.offset if (self.link or self._cached_session) else 1
            lines += [
                f"master_host:{self.primary_host}",
                f"master_port:{self.primary_port}",
                f"master_link_status:{'up' if connected else 'down'}",
                f"master_last_io_seconds_ago:{int(now - self.link.last_io) if self.link else -1}",
                f"master_sync_in_progress:{int(self.sync_in_progress)}",
                f"slave_read_repl_offset:{max(self.read_offset, offset)}",
                f"slave_repl_offset:{offset}",
            ]
            if not connected:
                down = int(now - self.down_since) if self.down_since else -1
                lines.append(f"master_link_down_since_seconds:{down}")
            lines += [
                f"slave_priority:{config.get_int('replica-priority')}",
                f"slave_read_only:{int(config.get_bool('replica-read-only'))}",
                f"replica_announced:{int(config.get_bool('replica-announced'))}",
            ]
        lines.append(f"connected_slaves:{len(self.replicas)}")
        if config.get_int("min-replicas-to-write") and config.get_int("min-replicas-max-lag"):
            lines.append(f"min_slaves_good_slaves:{self.good_replicas()}")
        for index, link in enumerate(self.replicas):
            lag = int(now) - int(link.ack_time) if link.state is ReplicaState.ONLINE else 0
            lines.append(f"slave{index}:ip={link.ip},port={link.port},state={link.state.value},"
                         f"offset={link.ack_offset},lag={lag}")
        backlog = self.backlog
        lines += [
            "master_failover_state:no-failover",
            f"master_replid:{self.ids.replid}",
            f"master_replid2:{self.ids.replid2}",
            f"master_repl_offset:{self.ids.offset}",
            f"second_repl_offset:{self.ids.second_offset}",
            f"repl_backlog_active:{int(backlog is not None)}",
            f"repl_backlog_size:{config.get_int('repl-backlog-size')}",
            f"repl_backlog_first_byte_offset:{backlog.first_byte_offset if backlog else 0}",
            f"repl_backlog_histlen:{backlog.histlen if backlog else 0}",
        ]
        return lines


