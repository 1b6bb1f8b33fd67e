"""The commands a sentinel answers on its port, with Redis 7.0 Sentinel's replies and errors.

`dispatch(host, client, args)` runs one command and returns its reply frames (several for
SUBSCRIBE). Commands: PING, SENTINEL (MASTERS, MASTER, REPLICAS/SLAVES, SENTINELS,
GET-MASTER-ADDR-BY-NAME, FAILOVER, IS-MASTER-DOWN-BY-ADDR, SET, MONITOR, REMOVE, RESET,
CKQUORUM, MYID, CONFIG GET/SET, FLUSHCONFIG, INFO-CACHE, HELP), INFO, ROLE, HELLO, CLIENT
(SETNAME, GETNAME, ID, INFO, LIST, SETINFO), AUTH, PUBLISH (hello messages only), SUBSCRIBE,
PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, COMMAND, SHUTDOWN, QUIT; anything else is
`unknown command`, as in sentinel mode.
"""

from __future__ import annotations

from typing import Any, Protocol

from redisha.sentinel import clients, decisions, replies
from redisha.sentinel.actions import FORCED, CommandError
from redisha.sentinel.clients import NULL_ARRAY, Client, ClientHub
from redisha.sentinel.config import is_ip
from redisha.sentinel.core import SentinelCore
from redisha.server import resp
from redisha.server.config import REDIS_VERSION
from redisha.server.server import unknown_command


class Host(Protocol):
    """What the commands need of the running sentinel."""

    core: SentinelCore
    hub: ClientHub

    def now(self) -> float: ...

    def flush(self) -> bool:
        """Carry out what the core decided; False when the config file could not be saved."""
        ...

    def facts(self) -> replies.ServerFacts: ...

    def shutdown(self) -> None: ...


SENTINEL_ARITY = {
    "masters": 2, "master": 3, "replicas": 3, "slaves": 3, "sentinels": 3, "myid": 2,
    "get-master-addr-by-name": 3, "failover": 3, "reset": 3, "monitor": 6, "remove": 3,
    "ckquorum": 3, "flushconfig": 2, "pending-scripts": 2, "help": 2,
    "is-master-down-by-addr": -6, "set": -5, "config": -3, "info-cache": -3,
    "simulate-failure": -3, "debug": -2,
}
"""Redis 7.0's arity of each SENTINEL subcommand (negative: at least)."""

HELP = [
    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Fail over the master now: an election among the Sentinels, the master taken as",
    "    down for it.",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid> [FORCED]",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration parameters for certain masters.",
    "HELP",
    "    Prints this help.",
]


def wrong_args(name: str) -> resp.Error:
    return resp.Error(f"ERR wrong number of arguments for '{name}' command")


def _text(word: bytes) -> str:
    return word.decode(errors="replace")


def _int(word: bytes) -> int | None:
    try:
        return int(word)
    except ValueError:
        return None


NOT_INTEGER = resp.Error("ERR value is not an integer or out of range")

CLIENT_SUBCOMMANDS = frozenset({b"setname", b"getname", b"id", b"info", b"list", b"setinfo"})
COMMAND_SUBCOMMANDS = frozenset({b"count", b"docs", b"info", b"list"})


def full_name(args: list[bytes]) -> str:
    """Redis' full name of a command: `role`, or `sentinel|masters` for a known
    subcommand of a container (CLIENT LIST's `cmd=`, the subscribed-context refusal)."""
    name = args[0].lower()
    known = SUBCOMMANDS.get(name)
    if known is not None and len(args) >= 2 and args[1].lower() in known:
        name += b"|" + args[1].lower()
    return _text(name)


def dispatch(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    """Run one command; its reply frames. As in Redis, an unknown command is refused as
    unknown before the subscribed context is considered."""
    frames = _dispatch(host, client, args)
    host.hub.total_error_replies += sum(1 for f in frames if isinstance(f, resp.Error))
    return frames


def _dispatch(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    name = args[0].lower()
    client.last_interaction = host.now()
    host.hub.total_commands += 1
    handler = _HANDLERS.get(name)
    if handler is None:
        client.last_command = _text(name)
        return [unknown_command(args)]
    full = full_name(args)
    client.last_command = full
    container = name in SUBCOMMANDS and len(args) >= 2
    if (client.subscribed and client.protocol == 2 and name not in clients.SUBSCRIBED_CONTEXT
            and (not container or "|" in full)):
        return [resp.Error(f"ERR Can't execute '{full}': only (P|S)SUBSCRIBE / "
                           "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")]
    try:
        return handler(host, client, args)
    except CommandError as exc:
        return [resp.Error(str(exc))]


def _ping(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    if len(args) > 2:
        return [wrong_args("ping")]
    if client.subscribed and client.protocol == 2:
        return [[b"pong", args[1] if len(args) == 2 else b""]]
    return [args[1] if len(args) == 2 else resp.PONG]


def _sentinel(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    if len(args) < 2:
        return [wrong_args("sentinel")]
    sub = _text(args[1]).lower()
    arity = SENTINEL_ARITY.get(sub)
    if arity is None:
        return [resp.Error(f"ERR unknown subcommand '{_text(args[1])[:128]}'. Try SENTINEL "
                           "HELP.")]
    if (arity > 0 and len(args) != arity) or (arity < 0 and len(args) < -arity):
        return [wrong_args(f"sentinel|{sub}")]
    core = host.core
    now = host.now()
    if sub == "help":
        return [[line.encode() for line in HELP]]
    if sub == "masters":
        return [replies.listed(list(core.masters.values()), now)]
    if sub == "master":
        return [replies.instance_fields(core.master_named(_text(args[2])), now)]
    if sub in ("replicas", "slaves"):
        master = core.master_named(_text(args[2]))
        return [replies.listed(list(master.replicas.values()), now)]
    if sub == "sentinels":
        master = core.master_named(_text(args[2]))
        return [replies.listed(list(master.sentinels.values()), now)]
    if sub == "myid":
        return [core.myid.encode()]
    if sub == "get-master-addr-by-name":
        found = core.masters.get(_text(args[2]))
        if found is None:
            return [NULL_ARRAY]
        address = found.current_address()
        return [[address.host.encode(), str(address.port).encode()]]
    if sub == "is-master-down-by-addr":
        return [_is_master_down(host, args)]
    if sub == "failover":
        core.failover(_text(args[2]), now)
        host.flush()
        return [resp.OK]
    if sub == "reset":
        count = core.reset(_text(args[2]), now)
        host.flush()
        return [count]
    if sub == "monitor":
        return [_monitor(host, args)]
    if sub == "remove":
        core.remove(_text(args[2]))
        return [_saved(host)]
    if sub == "set":
        core.set_options(_text(args[2]), [_text(a) for a in args[3:]])
        return [_saved(host)]
    if sub == "ckquorum":
        ok, usable, problems = core.quorum_check(_text(args[2]))
        if ok:
            return [resp.SimpleString(f"OK {usable} usable Sentinels. Quorum and failover "
                                      "authorization can be reached".encode())]
        return [resp.Error(f"NOQUORUM {usable} usable Sentinels. " + ". ".join(problems))]
    if sub == "config":
        return [_config(host, args)]
    if sub == "flushconfig":
        core.request_flush()
        return [_saved(host)]
    if sub == "info-cache":
        return [_info_cache(host, args)]
    if sub == "pending-scripts":
        return [[]]
    return [resp.Error(f"ERR unknown subcommand '{_text(args[1])[:128]}'. Try SENTINEL HELP.")]


def _saved(host: Host) -> Any:
    if host.flush():
        return resp.OK
    return resp.Error("ERR Failed to save config file. Check server logs.")


def _is_master_down(host: Host, args: list[bytes]) -> Any:
    if len(args) > 7 or (len(args) == 7 and args[6].upper() != FORCED.encode()):
        return wrong_args("sentinel|is-master-down-by-addr")
    port, epoch = _int(args[3]), _int(args[4])
    if port is None or epoch is None:
        return NOT_INTEGER
    down, leader, leader_epoch = host.core.is_master_down_by_addr(
        _text(args[2]), port, epoch, _text(args[5]), forced=len(args) == 7, now=host.now())
    host.flush()
    return [down, leader.encode(), leader_epoch]


def _monitor(host: Host, args: list[bytes]) -> Any:
    quorum = _int(args[5])
    if quorum is None:
        return resp.Error("ERR Invalid quorum")
    port = _int(args[4])
    if port is None:
        return resp.Error("ERR Invalid port")
    if quorum <= 0:
        return resp.Error("ERR Quorum must be 1 or greater.")
    host_name = _text(args[3])
    core = host.core
    if not core.resolve_hostnames and not is_ip(host_name):
        return resp.Error("ERR Invalid IP address or hostname specified")
    if not 0 < port <= 65535:
        return resp.Error("ERR Invalid port number.")
    core.monitor(_text(args[2]), host_name, port, quorum, host.now())
    return _saved(host)


def _config(host: Host, args: list[bytes]) -> Any:
    verb = args[2].lower()
    if verb == b"get" and len(args) == 4:
        pattern = _text(args[3])
        out: dict[bytes, bytes] = {}
        for key, value in host.core.global_options().items():
            if decisions.glob_match(pattern, key, nocase=True):
                out[key.encode()] = value.encode()
        return out
    if verb == b"set" and len(args) == 5:
        host.core.set_global(_text(args[3]), _text(args[4]))
        return _saved(host)
    return resp.Error("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are "
                      "supported.")


def _info_cache(host: Host, args: list[bytes]) -> Any:
    core = host.core
    now = host.now()
    names = [_text(a) for a in args[2:]] or list(core.masters)
    out: list[Any] = []
    for name in names:
        master = core.masters.get(name)
        if master is None:
            continue
        entries = []
        for record in (master, *master.replicas.values()):
            age = int((now - record.info_refresh) * 1000) if record.info_refresh else 0
            entries.append([age, record.info.encode() if record.info else None])
        out += [master.name.encode(), entries]
    return out


def _info(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    sections = replies.wanted_sections([_text(a) for a in args[1:]])
    text = replies.info_text(sections, host.facts(), list(host.core.masters.values()))
    return [text.encode()]  # A bulk string in RESP3 too: Sentinel's INFO is not verbatim.


def _role(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    if len(args) != 1:
        return [wrong_args("role")]
    return [[b"sentinel", [name.encode() for name in host.core.masters]]]


def _hello(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    i = 1
    if len(args) >= 2:
        version = _int(args[1])
        if version is None:
            return [resp.Error("ERR Protocol version is not an integer or out of range")]
        if version not in (2, 3):
            return [resp.Error("NOPROTO unsupported protocol version")]
        i = 2
        protocol = version
    else:
        protocol = client.protocol
    while i < len(args):
        option = args[i].lower()
        if option == b"auth" and i + 2 < len(args):
            i += 3
        elif option == b"setname" and i + 1 < len(args):
            client.name = _text(args[i + 1])
            i += 2
        else:
            return [resp.Error(f"ERR Syntax error in HELLO option '{_text(args[i])}'")]
    client.protocol = protocol
    return [{b"server": b"redis", b"version": REDIS_VERSION.encode(), b"proto": protocol,
             b"id": client.id, b"mode": b"sentinel", b"modules": []}]


def _client(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    if len(args) < 2:
        return [wrong_args("client")]
    sub = args[1].lower()
    if sub == b"setname" and len(args) == 3:
        if any(c <= 32 or c >= 127 for c in args[2]):
            return [resp.Error("ERR Client names cannot contain spaces, newlines or special "
                               "characters.")]
        client.name = _text(args[2])
        return [resp.OK]
    if sub == b"getname" and len(args) == 2:
        return [client.name.encode() if client.name else None]
    if sub == b"id" and len(args) == 2:
        return [client.id]
    if sub == b"info" and len(args) == 2:
        return [resp.Verbatim("txt", (client.describe(host.now()) + "\n").encode())]
    if sub == b"list":
        chosen = _client_list_filter(host, args[2:])
        if chosen is None:
            return [resp.Error("ERR syntax error")]
        now = host.now()
        text = "".join(c.describe(now) + "\n" for c in chosen)
        return [resp.Verbatim("txt", text.encode())]
    if sub == b"setinfo" and len(args) == 4:
        return [resp.OK]
    if sub in (b"setname", b"getname", b"id", b"info", b"setinfo"):
        return [wrong_args(f"client|{_text(sub)}")]
    return [resp.Error(f"ERR unknown subcommand '{_text(args[1])[:128]}'. Try CLIENT HELP.")]


def _client_list_filter(host: Host, words: list[bytes]) -> list[Client] | None:
    """CLIENT LIST's `TYPE normal|pubsub|master|replica` or `ID id…` (None: a syntax
    error, as Redis answers for anything else)."""
    everyone = list(host.hub.clients.values())
    if not words:
        return everyone
    if words[0].lower() == b"type" and len(words) == 2:
        kind = words[1].lower()
        if kind == b"pubsub":
            return [c for c in everyone if c.subscribed]
        if kind == b"normal":
            return [c for c in everyone if not c.subscribed]
        if kind in (b"master", b"replica", b"slave"):
            return []
        return None
    if words[0].lower() == b"id" and len(words) >= 2:
        ids = [_int(w) for w in words[1:]]
        if any(i is None or i <= 0 for i in ids):
            return None
        return [c for c in everyone if c.id in ids]
    return None


def _auth(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    if len(args) not in (2, 3):
        return [wrong_args("auth")]
    return [resp.Error("ERR AUTH <password> called without any password configured for the "
                       "default user. Are you sure your configuration is correct?")]


def _publish(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    if len(args) != 3:
        return [wrong_args("publish")]
    if _text(args[1]) != decisions.HELLO_CHANNEL:
        return [resp.Error("ERR Only HELLO messages are accepted by Sentinel instances.")]
    host.core.hello_received(_text(args[2]), host.now())
    host.flush()
    return [1]


def _subscribe(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    if len(args) < 2 and args[0].lower() in (b"subscribe", b"psubscribe"):
        return [wrong_args(_text(args[0]).lower())]
    return clients.subscribe(client, args)


def _command(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    sub = args[1].lower() if len(args) > 1 else b""
    if sub == b"count":
        return [len(_HANDLERS)]
    if sub == b"docs":
        return [{}]
    if sub == b"list":
        names = [n for n in _HANDLERS if n != b"quit"]  # QUIT is not in Redis' table.
        names += [top + b"|" + s for top, known in SUBCOMMANDS.items() for s in sorted(known)]
        return [names]
    return [[]]


def _shutdown(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    host.shutdown()
    client.closing = True
    return []


def _quit(host: Host, client: Client, args: list[bytes]) -> list[Any]:
    client.closing = True
    return [resp.OK]


UNSUPPORTED_SENTINEL = frozenset({"debug", "simulate-failure"})
"""Redis' SENTINEL subcommands this sentinel does not have (its timing is not Redis'; it
simulates no crashes): refused as unknown subcommands."""

SUBCOMMANDS = {b"sentinel": frozenset(k.encode() for k in SENTINEL_ARITY
                                      if k not in UNSUPPORTED_SENTINEL),
               b"client": CLIENT_SUBCOMMANDS, b"command": COMMAND_SUBCOMMANDS}
"""The commands with subcommands, and the subcommands they know."""

_HANDLERS = {
    b"ping": _ping, b"sentinel": _sentinel, b"info": _info, b"role": _role, b"hello": _hello,
    b"client": _client, b"auth": _auth, b"publish": _publish, b"subscribe": _subscribe,
    b"psubscribe": _subscribe, b"unsubscribe": _subscribe, b"punsubscribe": _subscribe,
    b"command": _command, b"shutdown": _shutdown, b"quit": _quit,
}
