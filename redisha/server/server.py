"""The fake redis-server: a thin asyncio shell around the RESP codec, fakeredis and replication.

One `RedisServer` per redis-server process. It listens on the pod's address through the
pod's sandbox; every accepted connection gets a `Connection`, which feeds what it reads to a
`resp.RequestParser` and runs each complete command in order (pipelining: all the replies
of one read go out in one write). A command is either one of the server's own
(`commands.OWN`: INFO, REPLICAOF, ROLE, WAIT, CONFIG, CLIENT LIST/KILL, SHUTDOWN, DEBUG SLEEP,
PSYNC, …) or goes to fakeredis through the connection's `engine.Session`, after the checks a
Redis primary or replica makes first (`-READONLY`, `-NOREPLICAS`, unknown command). Whatever a
write changed is handed to replication.

A `resp.ProtocolError` answers `-ERR Protocol error: …` and closes that one connection.

`DEBUG SLEEP` makes the whole server unresponsive, as it does a real one, without blocking
the event loop the rest of the cluster runs on: every connection and the replication link
wait until the server is awake again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import posixpath
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from fakeredis import FakeServer

from redisha.server import commands, engine, info, resp, snapshot
from redisha.server.backlog import new_replid
from redisha.server.config import TABLE, ServerConfig
from redisha.server.logs import Level, ServerLog
from redisha.server.replication import (
    PrimaryLink,
    ReplicaLink,
    Replication,
    ReplicationSettings,
)

HIGH_WATER = 1 << 20
"""Pending output above which a connection waits for its peer to read (drain)."""

QUEUEABLE = frozenset({b"info", b"role", b"replicaof", b"slaveof", b"config", b"client",
                       b"wait"})
"""Own commands MULTI queues like any other, as Redis does: Sentinel promotes a replica
with MULTI, REPLICAOF NO ONE, CONFIG REWRITE, CLIENT KILL TYPE normal|pubsub, EXEC; WAIT
queued answers at once (the replicas that acknowledged so far), as Redis' does inside EXEC.
The other own commands are refused inside MULTI — rightly for SAVE, PSYNC and SYNC
(`no-multi` in Redis 7.0), a simplification for HELLO, DEBUG and SHUTDOWN, which Redis
queues."""

CONTAINERS = frozenset({b"acl", b"client", b"cluster", b"command", b"config", b"function",
                        b"latency", b"memory", b"module", b"object", b"pubsub", b"script",
                        b"slowlog", b"xgroup", b"xinfo"})
"""Redis 7.0's commands with subcommands: their full name is `client|list` (CLIENT LIST's
`cmd=`, the subscribed-context refusal)."""

PUBSUB_CONTEXT = frozenset({b"ping", b"subscribe", b"ssubscribe", b"psubscribe", b"unsubscribe",
                            b"sunsubscribe", b"punsubscribe", b"quit", b"reset"})
"""What a RESP2 connection with subscriptions may run (RESP3 may run anything)."""


def full_name(args: list[bytes]) -> str:
    """Redis' `fullname` of a command: `get`, or `config|set` for a container's subcommand."""
    first = args[0].lower()
    if first in CONTAINERS and len(args) >= 2:
        first += b"|" + args[1].lower()
    return first.decode(errors="replace")


def pubsub_refusal(args: list[bytes]) -> resp.Error:
    return resp.Error(f"ERR Can't execute '{full_name(args)}': only (P|S)SUBSCRIBE / "
                      "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")


class Files(Protocol):
    """Where the server reads and writes its RDB file (the container's filesystem)."""

    def read(self, path: str) -> bytes | None: ...

    def write(self, path: str, data: bytes) -> None: ...


class NoFiles:
    """No persistence (tests, benchmarks)."""

    def read(self, path: str) -> bytes | None:
        return None

    def write(self, path: str, data: bytes) -> None:
        return None


@dataclass(frozen=True)
class ServerSettings:
    """Knobs of the fake that are not redis.conf options."""

    replication: ReplicationSettings = field(default_factory=ReplicationSettings)
    cron_period: float = 0.1
    """How often save points are checked."""


@dataclass
class Stats:
    connections: int = 0
    commands: int = 0
    rejected: int = 0
    dirty: int = 0
    """Changes since the last save (rdb_changes_since_last_save)."""
    saves: int = 0


class Connection:
    """One client of the server (or, after PSYNC, one replica)."""

    def __init__(self, server: RedisServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, fd: int) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.fd = fd
        peer = writer.get_extra_info("peername") or ("?", 0)
        local = writer.get_extra_info("sockname") or ("?", 0)
        self.peer_ip, self.peer_port = peer[0], peer[1]
        self.addr = f"{peer[0]}:{peer[1]}"
        self.laddr = f"{local[0]}:{local[1]}"
        replication = server.replication
        self.session = engine.Session(server.fake, deliver=self._deliver,
                                      on_resume=self._resumed,
                                      streaming=lambda: replication.streaming,
                                      client_info={"addr": self.addr, "laddr": self.laddr,
                                                   "fd": fd})
        self.id: int = int(self.session.info["id"])
        self.created = server.clock()
        self.last_interaction = self.created
        self.last_command = "NULL"
        self.out: list[bytes] = []
        self.processing = False
        self.closing = False
        self.replica: ReplicaLink | None = None
        self.repl_listening_port = 0
        self.repl_ip: str | None = None
        self.in_exec = False
        """An own command queued in MULTI is running inside EXEC (WAIT must not block)."""
        self._resume = asyncio.Event()

    # -- output ---------------------------------------------------------------------------

    def reply(self, frame: Any) -> None:
        self.out.append(resp.encode(frame, self.session.protocol))

    @contextlib.contextmanager
    def replies_into(self, frames: list[Any]) -> Iterator[None]:
        """Collect the frames `reply` is given, unencoded, instead of sending them: EXEC
        puts the replies of queued own commands into its array. (An instance attribute
        shadows the method only meanwhile, so the usual path pays nothing.)"""
        self.reply = frames.append  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            del self.reply

    def flush(self) -> None:
        if self.out:
            data = b"".join(self.out) if len(self.out) > 1 else self.out[0]
            self.out.clear()
            if not self.writer.is_closing():
                self.writer.write(data)

    def _deliver(self, frame: Any) -> None:
        """A reply that was not an immediate answer (a served BLPOP, a pub/sub message)."""
        if self.closing:
            return
        self.reply(frame)
        if not self.processing:
            self.flush()

    def _resumed(self) -> None:
        self._resume.set()

    def kill(self) -> None:
        """CLIENT KILL: the connection ends once the current command's reply is out."""
        self.closing = True
        if not self.processing:
            self.writer.close()

    # -- input ----------------------------------------------------------------------------

    async def run(self) -> None:
        parser = resp.RequestParser()
        reader = self.reader
        server = self.server
        while not self.closing:
            data = await reader.read(1 << 16)
            if not data:
                return
            if not server.awake.is_set():
                await server.awake.wait()
            self.last_interaction = server.clock()
            parser.feed(data)
            self.processing = True
            try:
                await self._process(parser)
            finally:
                self.processing = False
                self.flush()
            if self.closing:
                return
            transport = self.writer.transport
            if transport.get_write_buffer_size() > HIGH_WATER:
                await self.writer.drain()

    async def _process(self, parser: resp.RequestParser) -> None:
        dispatch = self.server.dispatch
        session = self.session
        while not self.closing:
            if session.blocked:
                self.flush()
                self._resume.clear()
                if session.blocked:
                    await self._resume.wait()
                continue
            try:
                frame = parser.next_frame()
            except resp.ProtocolError as exc:
                self.reply(resp.Error(f"ERR {exc}"))
                self.closing = True
                return
            if frame is resp.NEED_DATA:
                return
            pending = dispatch(self, frame)
            if pending is not None:
                self.flush()
                await pending

    # -- CLIENT LIST ----------------------------------------------------------------------

    def flags(self) -> str:
        flags = ""
        if self.replica is not None:
            flags += "S"
        if self.session.subscriptions:
            flags += "P"
        if self.session.queueing:
            flags += "x"
        if self.session.blocked:
            flags += "b"
        return flags or "N"

    def kind(self) -> str:
        if self.replica is not None:
            return "slave"
        if self.session.subscriptions:
            return "pubsub"
        return "normal"

    def describe(self) -> str:
        """A CLIENT LIST line."""
        now = self.server.clock()
        session = self.session
        queued = len(session.queued) if session.queueing else -1
        return (f"id={self.id} addr={self.addr} laddr={self.laddr} fd={self.fd} "
                f"name={session.info.get('name', '')} age={int(now - self.created)} "
                f"idle={int(now - self.last_interaction)} flags={self.flags()} db={session.db} "
                f"sub={session.subscriptions} psub=0 ssub=0 multi={queued} qbuf=0 "
                "qbuf-free=20474 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 "
                f"tot-mem=22272 events=r cmd={self.last_command} user=default redir=-1 "
                f"resp={session.protocol}")


@dataclass(frozen=True)
class PrimaryClient:
    """A replica's link to its primary as CLIENT LIST shows it: a client like the others,
    flagged `M`, run by `(superuser)`, whose `cmd` is the last command the stream applied."""

    link: PrimaryLink
    clock: Callable[[], float]

    @property
    def id(self) -> int:
        return int(self.link.session.info["id"])

    def kind(self) -> str:
        return "master"

    def describe(self) -> str:
        link = self.link
        now = self.clock()
        peer = link.writer.get_extra_info("peername") or ("?", 0)
        local = link.writer.get_extra_info("sockname") or ("?", 0)
        last = link.session.current.replace(" ", "|") or "NULL"
        return (f"id={self.id} addr={peer[0]}:{peer[1]} laddr={local[0]}:{local[1]} fd=7 name= "
                f"age={int(now - link.created)} idle={int(now - link.last_io)} flags=M "
                f"db={link.session.db} sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 "
                "argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1840 "
                f"events=r cmd={last} user=(superuser) redir=-1 resp=2")


class RedisServer:
    """One fake redis-server: its data, its clients, its replication."""

    def __init__(self, config: ServerConfig, *, sandbox: Any, log: ServerLog,
                 clock: Callable[[], float] = time.time, files: Files | None = None,
                 settings: ServerSettings | None = None) -> None:
        self.config = config
        self.sandbox = sandbox
        self.log = log
        self.clock = clock
        self.files = files or NoFiles()
        self.settings = settings or ServerSettings()
        self.fake = FakeServer(version=(7, 0))
        # Re-entrant (before any database exists): REPLICAOF queued in MULTI runs inside
        # EXEC, which holds the lock, and turning a primary into a replica opens a session,
        # which takes it again — with a plain Lock the whole event loop deadlocks.
        self.fake.lock = threading.RLock()  # type: ignore[assignment]
        self.run_id = new_replid()
        self.started_at = clock()
        self.clients: dict[int, Connection] = {}
        self.stats = Stats()
        self.last_save = int(clock())
        self.awake = asyncio.Event()
        self.awake.set()
        self.stopped = asyncio.Event()
        """Set by SHUTDOWN: the program exits."""
        self.replication = Replication(
            fake=self.fake, config=config, log=log, sandbox=sandbox, clock=clock,
            settings=self.settings.replication, awake=self.awake)
        self._fds = itertools.count(8)
        self._listener: Any = None
        self._cron: asyncio.Task[None] | None = None
        self._own: dict[bytes, commands.Handler] = commands.handlers(self)

    def listed_clients(self) -> list[Connection | PrimaryClient]:
        """CLIENT LIST's clients in id order: the connections, and a replica's primary link."""
        listed: list[Connection | PrimaryClient] = list(self.clients.values())
        link = self.replication.link
        if link is not None:
            listed.append(PrimaryClient(link, self.clock))
        return sorted(listed, key=lambda client: client.id)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def rdb_path(self) -> str:
        return posixpath.join(self.config.get("dir") or "/", self.config.get("dbfilename"))

    def load_from_disk(self) -> None:
        """Load the RDB file if there is one (Redis' loadDataFromDisk)."""
        payload = self.files.read(self.rdb_path)
        if payload is None:
            return
        started = self.clock()
        self.log.notice("Loading RDB produced by version 7.0.15")
        try:
            stats = snapshot.load(self.fake, payload, now=self.clock())
        except snapshot.SnapshotError as exc:
            self.log.warning(f"{exc}")
            return
        self.replication.last_load = (stats.keys_loaded, stats.keys_expired)
        self.log.notice(f"RDB age {max(0, int(self.clock() - stats.created_at))} seconds")
        self.log.notice(f"RDB memory usage when created {stats.memory_mb:.2f} Mb")
        self.log.notice(f"Done loading RDB, keys loaded: {stats.keys_loaded}, keys expired: "
                        f"{stats.keys_expired}.")
        self.log.notice(f"DB loaded from disk: {self.clock() - started:.3f} seconds")
        replid, offset = stats.meta.get("replid"), stats.meta.get("offset")
        if isinstance(replid, str) and isinstance(offset, int):
            self.replication.restore_ids(replid, offset)

    def prepare(self) -> None:
        """Before listening: the replication role from the config, then the RDB file."""
        self.replication.configure_from_startup()
        self.load_from_disk()

    async def start(self) -> None:
        """Listen on the pod's address (raises OSError like bind would); start the crons."""
        self._listener = await self.sandbox.start_server(self._serve, self.config.port)
        self.replication.start()
        self._cron = asyncio.get_running_loop().create_task(self._run_cron(),
                                                            name="redis serverCron")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._cron is not None:
            self._cron.cancel()
            with contextlib.suppress(BaseException):
                await self._cron
        await self.replication.close()
        for conn in list(self.clients.values()):
            conn.closing = True
            conn.writer.close()
        self.clients.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer, next(self._fds))
        self.stats.connections += 1
        if len(self.clients) >= self.config.get_int("maxclients"):
            self.stats.rejected += 1
            writer.write(b"-ERR max number of clients reached\r\n")
            writer.close()
            conn.session.close()
            return
        self.clients[conn.id] = conn
        try:
            await conn.run()
        except (ConnectionError, OSError):
            pass
        finally:
            self.clients.pop(conn.id, None)
            conn.closing = True
            conn.session.close()
            if conn.replica is not None:
                self.replication.replica_lost(conn.replica)
            with contextlib.suppress(Exception):
                conn.flush()
                writer.close()

    # -- the command path -----------------------------------------------------------------

    def dispatch(self, conn: Connection, args: list[bytes]) -> Awaitable[None] | None:
        """Run one command for `conn`; replies go to `conn.out`. Returns an awaitable for the
        few commands that wait (WAIT, DEBUG SLEEP, PSYNC)."""
        self.stats.commands += 1
        if conn.replica is not None:
            self._from_replica(conn, args)
            return None
        first = args[0].lower()
        handler = self._own.get(first)
        session = conn.session
        if handler is not None:
            if session.subscriptions and session.protocol == 2 and first not in PUBSUB_CONTEXT:
                conn.reply(pubsub_refusal(args))
                return None
            conn.last_command = full_name(args)
            if session.queueing and first != b"quit":
                self._queue_own(conn, first, handler, args)
                return None
            return handler(conn, args)
        self.execute(conn, args)
        return None

    def _queue_own(self, conn: Connection, first: bytes, handler: commands.Handler,
                   args: list[bytes]) -> None:
        """An own command sent inside MULTI: queued as Redis queues it, or refused."""
        session = conn.session
        if first == b"client" and (len(args) < 2 or args[1].lower() not in commands.CLIENT_OWN):
            self.execute(conn, args)  # fakeredis' CLIENT subcommands queue there
        elif first in QUEUEABLE:
            session.queue_own(first.decode(), lambda: self._run_queued(conn, handler, args))
            conn.reply(resp.QUEUED)
        else:
            session.fail_transaction()
            conn.reply(resp.Error("ERR Command not allowed inside a transaction"))

    @staticmethod
    def _run_queued(conn: Connection, handler: commands.Handler, args: list[bytes]) -> Any:
        """An own command queued in MULTI, run by EXEC: the frame of its reply."""
        frames: list[Any] = []
        conn.in_exec = True
        try:
            with conn.replies_into(frames):
                handler(conn, args)
        finally:
            conn.in_exec = False
        return frames[0] if frames else resp.OK

    def execute(self, conn: Connection, args: list[bytes]) -> None:
        """A command for fakeredis, after the checks Redis makes before running one."""
        session = conn.session
        name = engine.command_name(args)
        conn.last_command = name.replace(" ", "|")
        if not engine.is_known(name):
            session.fail_transaction()
            first = args[0].decode(errors="replace").lower()
            if first in engine.CONTAINER_COMMANDS and len(args) >= 2:
                conn.reply(resp.Error(
                    f"ERR unknown subcommand '{args[1].decode(errors='replace')[:128]}'. Try "
                    f"{first.upper()} HELP."))
            else:
                conn.reply(unknown_command(args))
            return
        if engine.is_write(name):
            refusal = self.write_refusal()
            if refusal is not None:
                session.fail_transaction()
                conn.reply(refusal)
                return
        elif name == "exec" and session.queueing and any(
                engine.is_write(sig.name) for _, sig, _ in session.queued):
            refusal = self.write_refusal()
            if refusal is not None:
                session.discard_transaction()
                conn.reply(resp.Error(
                    f"EXECABORT Transaction discarded because of: {refusal.message}"))
                return
        if session.subscriptions and session.protocol == 2 \
                and args[0].lower() not in PUBSUB_CONTEXT:
            conn.reply(pubsub_refusal(args))
            return
        replies = session.execute(args, name)
        protocol = session.protocol
        out = conn.out
        for frame in replies:
            out.append(resp.encode(frame, protocol))
        if session.changes:
            self.stats.dirty += session.changes
            session.changes = 0
            effects = session.take_effects()
            if effects:
                self.replication.propagate(effects)

    def config_changed(self, names: list[str]) -> None:
        """CONFIG SET's side effects."""
        changed = {TABLE.names.get(n, n) for n in names}
        if "repl-backlog-size" in changed:
            self.replication.resize_backlog()
        if "loglevel" in changed:
            self.log.level = Level.named(self.config.get("loglevel"))
        if "redisha-repl-delay-ms" in changed:
            delay = self.config.get_int("redisha-repl-delay-ms") / 1000
            for link in self.replication.replicas:
                link.delay = delay

    def write_refusal(self) -> resp.Error | None:
        """Why a write may not run here now, or None."""
        replication = self.replication
        if replication.is_replica:
            if self.config.get_bool("replica-read-only"):
                return resp.Error("READONLY You can't write against a read only replica.")
            return None
        if replication.writes_refused():
            return resp.Error("NOREPLICAS Not enough good replicas to write.")
        return None

    def _from_replica(self, conn: Connection, args: list[bytes]) -> None:
        """After PSYNC a connection only sends REPLCONF ACK; nothing is answered."""
        conn.last_command = "replconf"
        if len(args) >= 3 and args[0].lower() == b"replconf" and args[1].lower() == b"ack":
            try:
                offset = int(args[2])
            except ValueError:
                return
            assert conn.replica is not None
            self.replication.replica_ack(conn.replica, offset)
        return

    # -- persistence ----------------------------------------------------------------------

    def save(self) -> bool:
        """Write the RDB file (SAVE, BGSAVE, shutdown, save points)."""
        meta = {"replid": self.replication.ids.replid, "offset": self.replication.ids.offset}
        payload = snapshot.dump(self.fake, now=self.clock(), meta=meta)
        try:
            self.files.write(self.rdb_path, payload)
        except OSError as exc:
            self.log.warning(f"Failed opening the temp RDB file temp-{self.log.pid}.rdb "
                             f"(in server root dir {self.config.get('dir')}) for saving: "
                             f"{exc.strerror or exc}")
            return False
        self.stats.dirty = 0
        self.stats.saves += 1
        self.last_save = int(self.clock())
        self.fake.lastsave = self.last_save
        return True

    def _save_points(self) -> list[tuple[int, int]]:
        words = self.config.get("save").split()
        return [(int(words[i]), int(words[i + 1])) for i in range(0, len(words) - 1, 2)]

    async def _run_cron(self) -> None:
        while True:
            await asyncio.sleep(self.settings.cron_period)
            if not self.awake.is_set() or not self.stats.dirty:
                continue
            now = int(self.clock())
            for seconds, changes in self._save_points():
                if self.stats.dirty >= changes and now - self.last_save >= seconds:
                    self.log.notice(f"{changes} changes in {seconds} seconds. Saving...")
                    self.log.notice(f"Background saving started by pid {self.log.pid + 1}")
                    if self.save():
                        self.log.notice("Background saving terminated with success")
                    break

    def shutdown(self, *, save: bool | None = None) -> None:
        """SHUTDOWN / SIGTERM: save if configured, then stop (the program exits)."""
        self.log.warning("User requested shutdown...")
        if save is None:
            save = bool(self._save_points())
        if save:
            self.log.notice("Saving the final RDB snapshot before exiting.")
            if self.save():
                self.log.notice("DB saved on disk")
        self.log.warning("Redis is now ready to exit, bye bye...")
        self.stopped.set()

    # -- facts for INFO -------------------------------------------------------------------

    def facts(self) -> info.Facts:
        keyspace = []
        now = self.clock()
        for number in sorted(self.fake.dbs):
            db = self.fake.dbs[number]
            db.time = now
            keys = len(db)
            if keys:
                deadlines = [item.expireat for item in db._dict.values()
                             if item.expireat is not None]
                avg_ttl = (int(sum(max(0.0, d - now) for d in deadlines) * 1000 / len(deadlines))
                           if deadlines else 0)
                keyspace.append(info.KeyspaceEntry(number, keys, len(deadlines), avg_ttl))
        replication = self.replication
        sync = replication.sync_stats
        # A replica's link to its primary is a client too (flags=M), and counted as one.
        primary_client = int(replication.link is not None)
        return info.Facts(
            now=self.clock(), started_at=self.started_at, pid=self.log.pid, run_id=self.run_id,
            port=self.config.port, config_file=self.config.file or "",
            connected_clients=primary_client + sum(1 for c in self.clients.values()
                                                   if c.replica is None),
            blocked_clients=sum(1 for c in self.clients.values() if c.session.blocked),
            maxclients=self.config.get_int("maxclients"),
            used_memory=900_000 + 100 * sum(e.keys for e in keyspace),
            total_connections=self.stats.connections, total_commands=self.stats.commands,
            rejected_connections=self.stats.rejected, changes_since_save=self.stats.dirty,
            last_save=self.last_save, saves=self.stats.saves,
            aof_enabled=self.config.get_bool("appendonly"),
            replication=self.replication.info_lines(), keyspace=keyspace,
            pubsub_channels=len(self.fake.subscribers), pubsub_patterns=len(self.fake.psubscribers),
            hz=self.config.get_int("hz"), sync_full=sync.full, sync_partial_ok=sync.partial_ok,
            sync_partial_err=sync.partial_err, last_load_keys_loaded=replication.last_load[0],
            last_load_keys_expired=replication.last_load[1])


def unknown_command(args: list[bytes]) -> resp.Error:
    """Redis' wording: `ERR unknown command 'FOO', with args beginning with: 'a' 'b' `."""
    name = args[0].decode(errors="replace")[:128]
    rest = ""
    for arg in args[1:]:
        if len(rest) >= 128:
            break
        rest += f"'{arg.decode(errors='replace')[:128 - len(rest)]}' "
    return resp.Error(f"ERR unknown command '{name}', with args beginning with: {rest}")
