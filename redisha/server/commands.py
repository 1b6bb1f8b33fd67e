"""The commands the server answers itself, around fakeredis: replication, INFO, CONFIG, CLIENT
LIST/KILL, HELLO, SHUTDOWN, DEBUG SLEEP, WAIT, PSYNC/REPLCONF, SAVE.

Each handler takes the connection and the command's words, appends its reply to the
connection, and returns an awaitable only when it has to wait (WAIT, DEBUG SLEEP, PSYNC).
Error messages are Redis 7.0's.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from redisha.server import info, resp
from redisha.server.config import REDIS_VERSION, TABLE, ConfigError
from redisha.server.logs import Level

if TYPE_CHECKING:
    from redisha.server.server import Connection, RedisServer

Handler = Callable[["Connection", list[bytes]], "Awaitable[None] | None"]

SYNTAX_ERROR = resp.Error("ERR syntax error")
NOT_INTEGER = resp.Error("ERR value is not an integer or out of range")


def wrong_args(name: str) -> resp.Error:
    return resp.Error(f"ERR wrong number of arguments for '{name}' command")


def unknown_subcommand(sub: bytes, command: str) -> resp.Error:
    return resp.Error(f"ERR unknown subcommand '{sub.decode(errors='replace')[:128]}'. Try "
                      f"{command} HELP.")


def _text(word: bytes) -> str:
    return word.decode(errors="replace")


def _int(word: bytes) -> int | None:
    try:
        return int(word)
    except ValueError:
        return None


def _help(lines: list[str]) -> list[resp.SimpleString]:
    """A HELP reply: status strings, as addReplyHelp sends them (redis-cli prints them bare)."""
    return [resp.SimpleString(line.encode()) for line in lines]


def _strtod(word: bytes) -> float:
    """C's strtod on a word: its longest numeric prefix, 0 when there is none (DEBUG SLEEP
    reads its argument so: `DEBUG SLEEP x` sleeps 0 seconds and answers OK)."""
    text = word[:64].decode(errors="replace").strip().split("_", 1)[0]
    for end in range(len(text), 0, -1):
        try:
            value = float(text[:end])
        except ValueError:
            continue
        return 0.0 if math.isnan(value) else value
    return 0.0


CONFIG_HELP = _help([
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
])

DEBUG_HELP = _help([
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
])

USERS = frozenset({"default"})
"""ACL users this fake knows (CLIENT KILL USER of another: `No such user`)."""

CLIENT_OWN = frozenset({b"list", b"info", b"kill"})
"""CLIENT subcommands answered here; the others (SETNAME, ID, REPLY …) are fakeredis'."""


def handlers(server: RedisServer) -> dict[bytes, Handler]:
    own = OwnCommands(server)
    return {
        b"info": own.info, b"role": own.role, b"replicaof": own.replicaof,
        b"slaveof": own.replicaof, b"wait": own.wait, b"config": own.config,
        b"shutdown": own.shutdown, b"debug": own.debug, b"client": own.client,
        b"hello": own.hello, b"replconf": own.replconf, b"psync": own.psync,
        b"sync": own.sync, b"quit": own.quit, b"save": own.save, b"bgsave": own.bgsave,
    }


class OwnCommands:
    def __init__(self, server: RedisServer) -> None:
        self.server = server

    # -- INFO, ROLE -----------------------------------------------------------------------

    def info(self, conn: Connection, args: list[bytes]) -> None:
        sections = info.wanted_sections([_text(a) for a in args[1:]])
        text = info.render(sections, self.server.facts())
        conn.reply(resp.Verbatim("txt", text.encode()))

    def role(self, conn: Connection, args: list[bytes]) -> None:
        if len(args) != 1:
            conn.reply(wrong_args("role"))
            return
        conn.reply(self.server.replication.role_reply())

    # -- REPLICAOF ------------------------------------------------------------------------

    def replicaof(self, conn: Connection, args: list[bytes]) -> None:
        name = _text(args[0]).lower()
        if len(args) != 3:
            conn.reply(wrong_args(name))
            return
        server = self.server
        replication = server.replication
        if args[1].lower() == b"no" and args[2].lower() == b"one":
            if replication.unset_primary():
                server.log.notice(f"MASTER MODE enabled (user request from "
                                  f"'{conn.describe()}')")
            conn.reply(resp.OK)
            return
        if conn.replica is not None:
            conn.reply(resp.Error("ERR Command is not valid when client is a replica."))
            return
        port = _int(args[2])
        if port is None or not 0 <= port <= 65535:
            conn.reply(resp.Error("ERR Invalid master port"))
            return
        host = _text(args[1])
        if not replication.set_primary(host, port):
            conn.reply(resp.SimpleString(b"OK Already connected to specified master"))
            return
        server.log.notice(f"REPLICAOF {host}:{port} enabled (user request from "
                          f"'{conn.describe()}')")
        conn.reply(resp.OK)

    # -- WAIT -----------------------------------------------------------------------------

    def wait(self, conn: Connection, args: list[bytes]) -> Awaitable[None] | None:
        if len(args) != 3:
            conn.reply(wrong_args("wait"))
            return None
        replication = self.server.replication
        if replication.is_replica:
            conn.reply(resp.Error(
                "ERR WAIT cannot be used with replica instances. Please also note that since "
                "Redis 4.0 if a replica is configured to be writable (which is not the default) "
                "writes to replicas are just local and are not propagated."))
            return None
        numreplicas = _int(args[1])
        if numreplicas is None:
            conn.reply(NOT_INTEGER)
            return None
        timeout = _int(args[2])
        if timeout is None:
            conn.reply(resp.Error("ERR timeout is not an integer or out of range"))
            return None
        if timeout < 0:
            conn.reply(resp.Error("ERR timeout is negative"))
            return None
        if conn.in_exec:
            conn.reply(replication.acked(replication.ids.offset))
            return None

        async def waiting() -> None:
            conn.reply(await replication.wait(numreplicas, timeout))

        return waiting()

    # -- CONFIG ---------------------------------------------------------------------------

    def config(self, conn: Connection, args: list[bytes]) -> None:
        if len(args) < 2:
            conn.reply(wrong_args("config"))
            return
        sub = args[1].lower()
        if sub == b"get":
            self._config_get(conn, args)
        elif sub == b"set":
            self._config_set(conn, args)
        elif sub in (b"rewrite", b"resetstat", b"help") and len(args) != 2:
            conn.reply(wrong_args(f"config|{sub.decode()}"))
        elif sub == b"rewrite":
            self._config_rewrite(conn, args)
        elif sub == b"resetstat":
            stats = self.server.stats
            stats.connections = stats.commands = stats.rejected = 0
            conn.reply(resp.OK)
        elif sub == b"help":
            conn.reply(CONFIG_HELP)
        else:
            conn.reply(unknown_subcommand(args[1], "CONFIG"))

    def _config_get(self, conn: Connection, args: list[bytes]) -> None:
        if len(args) < 3:
            conn.reply(wrong_args("config|get"))
            return
        found: dict[bytes, bytes] = {}
        for pattern in args[2:]:
            for name, value in self.server.config.matching(_text(pattern)):
                found.setdefault(name.encode(), value.encode())
        conn.reply(found)

    def _config_set(self, conn: Connection, args: list[bytes]) -> None:
        if len(args) < 4:
            conn.reply(wrong_args("config|set"))
            return
        if len(args) % 2:
            conn.reply(SYNTAX_ERROR)
            return
        refusal = _config_set_refusal([_text(args[i]) for i in range(2, len(args), 2)])
        if refusal is not None:
            conn.reply(refusal)
            return
        config = self.server.config
        pairs = [(_text(args[i]).lower(), _text(args[i + 1])) for i in range(2, len(args), 2)]
        saved = dict(config.values)
        for name, value in pairs:
            words = value.split() if name in ("save", "replicaof", "slaveof") else [value]
            try:
                config.set(name, words)
            except ConfigError as exc:
                config.values = saved
                if str(exc) == "Unknown option":
                    conn.reply(resp.Error(f"ERR Unknown option or number of arguments for "
                                          f"CONFIG SET - '{name}'"))
                else:
                    conn.reply(resp.Error(f"ERR CONFIG SET failed (possibly related to argument "
                                          f"'{name}') - {exc}"))
                return
        self.server.config_changed([name for name, _ in pairs])
        conn.reply(resp.OK)

    def _config_rewrite(self, conn: Connection, args: list[bytes]) -> None:
        server = self.server
        path = server.config.file
        if path is None:
            conn.reply(resp.Error("ERR The server is running without a config file"))
            return
        try:
            current = server.files.read(path) or b""
            server.files.write(path, server.config.rewrite(current.decode()).encode())
        except OSError as exc:
            server.log.warning(f"CONFIG REWRITE failed: {exc.strerror or exc}")
            conn.reply(resp.Error(f"ERR Rewriting config file: {exc.strerror or exc}"))
            return
        server.log.notice("CONFIG REWRITE executed with success.")
        conn.reply(resp.OK)

    # -- CLIENT ---------------------------------------------------------------------------

    def client(self, conn: Connection, args: list[bytes]) -> None:
        if len(args) < 2:
            conn.reply(wrong_args("client"))
            return
        sub = args[1].lower()
        if sub == b"list":
            self._client_list(conn, args)
        elif sub == b"info":
            conn.reply(resp.Verbatim("txt", (conn.describe() + "\n").encode()))
        elif sub == b"kill":
            self._client_kill(conn, args)
        elif sub == b"setname" and len(args) == 3 and any(
                c <= 32 or c >= 127 for c in args[2]):
            conn.reply(resp.Error("ERR Client names cannot contain spaces, newlines or special "
                                  "characters."))
        else:
            self.server.execute(conn, args)

    def _client_list(self, conn: Connection, args: list[bytes]) -> None:
        clients = self.server.listed_clients()
        i = 2
        while i < len(args):
            option = args[i].lower()
            if option == b"type" and i + 1 < len(args):
                kind = args[i + 1].lower()
                if kind not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
                    conn.reply(resp.Error(f"ERR Unknown client type '{_text(args[i + 1])}'"))
                    return
                wanted = "slave" if kind == b"replica" else kind.decode()
                clients = [c for c in clients if c.kind() == wanted]
                i += 2
            elif option == b"id" and i + 1 < len(args):
                ids = set()
                for word in args[i + 1:]:
                    number = _int(word)
                    if number is None or number <= 0:
                        conn.reply(resp.Error("ERR Invalid client ID"))
                        return
                    ids.add(number)
                clients = [c for c in clients if c.id in ids]
                i = len(args)
            else:
                conn.reply(SYNTAX_ERROR)
                return
        text = "".join(c.describe() + "\n" for c in clients)
        conn.reply(resp.Verbatim("txt", text.encode()))

    def _client_kill(self, conn: Connection, args: list[bytes]) -> None:
        server = self.server
        if len(args) < 3:
            conn.reply(wrong_args("client|kill"))
            return
        if len(args) == 3:
            target = _text(args[2])
            for other in list(server.clients.values()):
                if other.addr == target:
                    conn.reply(resp.OK)
                    self._kill(other)
                    return
            conn.reply(resp.Error("ERR No such client"))
            return
        if len(args) < 4 or len(args) % 2:
            conn.reply(SYNTAX_ERROR)
            return
        filters: dict[str, Any] = {"skipme": True}
        for i in range(2, len(args), 2):
            option, value = args[i].lower(), args[i + 1]
            if option == b"id":
                number = _int(value)
                if number is None or number <= 0:
                    conn.reply(resp.Error("ERR client-id should be greater than 0"))
                    return
                filters["id"] = number
            elif option == b"type":
                kind = value.lower()
                if kind not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
                    conn.reply(resp.Error(f"ERR Unknown client type '{_text(value)}'"))
                    return
                filters["type"] = "slave" if kind == b"replica" else kind.decode()
            elif option == b"addr":
                filters["addr"] = _text(value)
            elif option == b"laddr":
                filters["laddr"] = _text(value)
            elif option == b"user":
                if _text(value) not in USERS:
                    conn.reply(resp.Error(f"ERR No such user '{_text(value)}'"))
                    return
                filters["user"] = _text(value)
            elif option == b"skipme":
                if value.lower() not in (b"yes", b"no"):
                    conn.reply(SYNTAX_ERROR)
                    return
                filters["skipme"] = value.lower() == b"yes"
            elif option == b"maxage":
                number = _int(value)
                if number is None:
                    conn.reply(SYNTAX_ERROR)
                    return
                filters["maxage"] = number
            else:
                conn.reply(SYNTAX_ERROR)
                return
        killed = 0
        if filters.get("type") == "master":
            killed += server.replication.kill_primary_link()
        now = server.clock()
        for other in list(server.clients.values()):
            if filters["skipme"] and other is conn:
                continue
            if "id" in filters and other.id != filters["id"]:
                continue
            if "type" in filters and other.kind() != filters["type"]:
                continue
            if "addr" in filters and other.addr != filters["addr"]:
                continue
            if "laddr" in filters and other.laddr != filters["laddr"]:
                continue
            if "user" in filters and filters["user"] != "default":
                continue
            if "maxage" in filters and now - other.created < filters["maxage"]:
                continue
            killed += 1
            self._kill(other)
        conn.reply(killed)

    def _kill(self, other: Connection) -> None:
        if other.replica is not None:
            self.server.replication.replica_lost(other.replica)
        other.kill()

    # -- HELLO ----------------------------------------------------------------------------

    def hello(self, conn: Connection, args: list[bytes]) -> None:
        if len(args) >= 2:
            version = _int(args[1])
            if version is None:
                conn.reply(resp.Error("ERR Protocol version is not an integer or out of range"))
                return
            if version not in (2, 3):
                conn.reply(resp.Error("NOPROTO unsupported protocol version"))
                return
        normalized = [args[0], *(a.upper() if a.lower() in (b"auth", b"setname") else a
                                 for a in args[1:])]
        replies = conn.session.execute(normalized, "hello")
        if replies and isinstance(replies[0], resp.Error):
            conn.reply(replies[0])
            return
        server = self.server
        conn.reply({
            b"server": b"redis", b"version": REDIS_VERSION.encode(),
            b"proto": conn.session.protocol, b"id": conn.id, b"mode": b"standalone",
            b"role": b"replica" if server.replication.is_replica else b"master",
            b"modules": [],
        })

    # -- replication handshake (primary side) ---------------------------------------------

    def replconf(self, conn: Connection, args: list[bytes]) -> None:
        if len(args) % 2 == 0:
            conn.reply(SYNTAX_ERROR)
            return
        for i in range(1, len(args), 2):
            option, value = args[i].lower(), args[i + 1]
            if option == b"listening-port":
                port = _int(value)
                if port is None:
                    conn.reply(NOT_INTEGER)
                    return
                conn.repl_listening_port = port
            elif option == b"ip-address":
                conn.repl_ip = _text(value)
            elif option in (b"capa", b"rdb-only", b"rdb-filter-only", b"getack", b"ack",
                            b"fack"):
                continue
            else:
                conn.reply(resp.Error(f"ERR Unrecognized REPLCONF option: {_text(args[i])}"))
                return
        conn.reply(resp.OK)

    def psync(self, conn: Connection, args: list[bytes]) -> Awaitable[None] | None:
        if len(args) != 3:
            conn.reply(wrong_args("psync"))
            return None
        offset = _int(args[2])
        if offset is None:
            conn.reply(NOT_INTEGER)
            return None
        return self._attach(conn, _text(args[1]), offset)

    def sync(self, conn: Connection, args: list[bytes]) -> Awaitable[None] | None:
        if len(args) != 1:
            conn.reply(wrong_args("sync"))
            return None
        return self._attach(conn, "?", -1)

    def _attach(self, conn: Connection, replid: str, offset: int) -> Awaitable[None] | None:
        if conn.replica is not None:
            return None
        replication = self.server.replication
        refusal = replication.can_serve_sync()
        if refusal is not None:
            conn.reply(refusal)
            return None

        async def attaching() -> None:
            conn.flush()
            conn.replica = await replication.psync(
                client_id=conn.id, ip=conn.repl_ip or conn.peer_ip,
                port=conn.repl_listening_port, replid=replid, offset=offset,
                writer=conn.writer)

        return attaching()

    # -- lifecycle ------------------------------------------------------------------------

    def shutdown(self, conn: Connection, args: list[bytes]) -> None:
        """SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: every word is read before anything
        happens, so a bad word or an illegal mix (NOSAVE with SAVE, ABORT with anything)
        answers `syntax error` and the server keeps running."""
        words = {a.lower() for a in args[1:]}
        if not words <= {b"nosave", b"save", b"now", b"force", b"abort"} \
                or {b"nosave", b"save"} <= words or (b"abort" in words and len(words) > 1):
            conn.reply(SYNTAX_ERROR)
            return
        if b"abort" in words:
            conn.reply(resp.Error("ERR No shutdown in progress."))
            return
        save = False if b"nosave" in words else True if b"save" in words else None
        self.server.shutdown(save=save)
        conn.closing = True

    def debug(self, conn: Connection, args: list[bytes]) -> Awaitable[None] | None:
        if len(args) < 2:
            conn.reply(wrong_args("debug"))
            return None
        sub = args[1].lower()
        if sub == b"sleep" and len(args) == 3:
            return self._sleep(conn, _strtod(args[2]))
        if sub == b"set-active-expire" and len(args) == 3:
            conn.reply(resp.OK)
            return None
        if sub == b"help" and len(args) == 2:
            conn.reply(DEBUG_HELP)
            return None
        conn.reply(resp.Error(f"ERR unknown subcommand or wrong number of arguments for "
                              f"'{_text(args[1])[:128]}'. Try DEBUG HELP."))
        return None

    async def _sleep(self, conn: Connection, seconds: float) -> None:
        """The whole server stops answering (connections and replication wait)."""
        awake = self.server.awake
        awake.clear()
        try:
            await asyncio.sleep(max(0.0, seconds))
        finally:
            awake.set()
        conn.reply(resp.OK)

    def quit(self, conn: Connection, args: list[bytes]) -> None:
        conn.reply(resp.OK)
        conn.closing = True

    def save(self, conn: Connection, args: list[bytes]) -> None:
        if len(args) != 1:
            conn.reply(wrong_args("save"))
            return
        if self.server.save():
            self.server.log.notice("DB saved on disk")
            conn.reply(resp.OK)
        else:
            conn.reply(resp.Error("ERR"))

    def bgsave(self, conn: Connection, args: list[bytes]) -> None:
        if len(args) > 2 or (len(args) == 2 and args[1].lower() != b"schedule"):
            conn.reply(SYNTAX_ERROR)
            return
        server = self.server
        server.log.notice(f"Background saving started by pid {server.log.pid + 1}")
        conn.reply(resp.SimpleString(b"Background saving started"))
        if server.save():
            server.log.log(Level.NOTICE, "DB saved on disk")
            server.log.notice("Background saving terminated with success")



def _config_set_refusal(names: list[str]) -> resp.Error | None:
    """What CONFIG SET refuses before looking at any value, in Redis' precedence: an unknown
    name anywhere, else the first immutable or repeated one (named as typed; an alias and its
    option are different parameters, as in Redis 7.0)."""
    for name in names:
        if TABLE.names.get(name.lower()) is None:
            return resp.Error(f"ERR Unknown option or number of arguments for CONFIG SET - "
                              f"'{name}'")
    seen: set[str] = set()
    for name in names:
        key = name.lower()
        problem = None
        if not TABLE.by_name[TABLE.names[key]].mutable:
            problem = "can't set immutable config"
        elif key in seen:
            problem = "duplicate parameter"
        seen.add(key)
        if problem is not None:
            return resp.Error(f"ERR CONFIG SET failed (possibly related to argument '{name}') - "
                              f"{problem}")
    return None
