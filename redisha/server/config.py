"""redis.conf for the fake server: the option table, the file/argv reader, CONFIG GET/SET/REWRITE.

`redis-server [conf-file] [--option value …]` builds its configuration the way Redis does:
the file's text, then every `--name v…` turned into a line `name v…`, read line by line with
sdssplitargs quoting. A malformed known option is fatal with Redis' banner (`*** FATAL CONFIG
FILE ERROR (Redis 7.0.15) ***`). Options this fake does not model are kept as written
(CONFIG GET returns them) rather than refused, so configs meant for a real redis-server run
unchanged.

Values are held as the canonical strings CONFIG GET prints (`yes`/`no`, bytes for memory
sizes); typed accessors read them. Departures from Redis 7's defaults, on purpose:
`repl-diskless-sync` is `no`, so a full sync logs the disk-based lines the tutorial shows
(`receiving N bytes from master to disk`); `port` and `bind` cannot be changed at run time.
`redisha-repl-delay-ms` (ours) delays every write a primary streams to its replicas, for
experiments with replication lag.
"""

from __future__ import annotations

import enum
import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from redisha.server import resp

REDIS_VERSION = "7.0.15"


class Kind(str, enum.Enum):
    INT = "int"
    BOOL = "bool"
    MEMORY = "memory"
    STRING = "string"
    ENUM = "enum"
    REPLICAOF = "replicaof"
    SAVE = "save"


@dataclass(frozen=True)
class Option:
    """One redis.conf option."""

    name: str
    default: str
    kind: Kind = Kind.STRING
    aliases: tuple[str, ...] = ()
    mutable: bool = True
    minimum: int = 0
    maximum: int = 2 ** 31 - 1
    choices: tuple[str, ...] = ()
    clamp: tuple[int, int] | None = None
    """Accepted range, then silently brought into this one (Redis' `hz` takes 0..INT_MAX and
    runs at 1..500: `CONFIG SET hz 1000` is OK and `CONFIG GET hz` says 500)."""


INT_MAX = 2 ** 31 - 1
LLONG_MAX = 2 ** 63 - 1
UINT_MAX = 2 ** 32 - 1

OPTIONS: tuple[Option, ...] = (
    Option("port", "6379", Kind.INT, mutable=False, maximum=65535),
    Option("bind", "* -::*", mutable=False),
    Option("replicaof", "", Kind.REPLICAOF, aliases=("slaveof",), mutable=False),
    Option("replica-priority", "100", Kind.INT, aliases=("slave-priority",)),
    Option("replica-read-only", "yes", Kind.BOOL, aliases=("slave-read-only",)),
    Option("replica-serve-stale-data", "yes", Kind.BOOL, aliases=("slave-serve-stale-data",)),
    Option("replica-announce-ip", "", aliases=("slave-announce-ip",)),
    Option("replica-announce-port", "0", Kind.INT, aliases=("slave-announce-port",),
           maximum=65535),
    Option("replica-announced", "yes", Kind.BOOL),
    Option("replica-lazy-flush", "no", Kind.BOOL, aliases=("slave-lazy-flush",)),
    Option("min-replicas-to-write", "0", Kind.INT, aliases=("min-slaves-to-write",)),
    Option("min-replicas-max-lag", "10", Kind.INT, aliases=("min-slaves-max-lag",)),
    Option("repl-backlog-size", "1048576", Kind.MEMORY, minimum=1, maximum=LLONG_MAX),
    Option("repl-backlog-ttl", "3600", Kind.INT),
    Option("repl-diskless-sync", "no", Kind.BOOL),
    Option("repl-diskless-sync-delay", "5", Kind.INT),
    Option("repl-diskless-sync-max-replicas", "0", Kind.INT),
    Option("repl-diskless-load", "disabled", Kind.ENUM,
           choices=("disabled", "on-empty-db", "swapdb")),
    Option("repl-ping-replica-period", "10", Kind.INT, aliases=("repl-ping-slave-period",),
           minimum=1),
    Option("repl-timeout", "60", Kind.INT, minimum=1),
    Option("repl-disable-tcp-nodelay", "no", Kind.BOOL),
    Option("masterauth", ""),
    Option("masteruser", ""),
    Option("requirepass", ""),
    Option("appendonly", "no", Kind.BOOL),
    Option("appendfilename", "appendonly.aof", mutable=False),
    Option("appenddirname", "appendonlydir", mutable=False),
    Option("appendfsync", "everysec", Kind.ENUM, choices=("everysec", "always", "no")),
    Option("dir", "/data"),
    Option("dbfilename", "dump.rdb"),
    Option("save", "3600 1 300 100 60 10000", Kind.SAVE),
    Option("databases", "16", Kind.INT, mutable=False, minimum=1),
    Option("loglevel", "notice", Kind.ENUM, choices=("debug", "verbose", "notice", "warning")),
    Option("logfile", "", mutable=False),
    Option("protected-mode", "yes", Kind.BOOL),
    Option("maxmemory", "0", Kind.MEMORY, maximum=LLONG_MAX),
    Option("maxmemory-policy", "noeviction", Kind.ENUM,
           choices=("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                    "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")),
    Option("maxclients", "10000", Kind.INT, minimum=1, maximum=UINT_MAX),
    Option("timeout", "0", Kind.INT),
    Option("tcp-keepalive", "300", Kind.INT),
    Option("tcp-backlog", "511", Kind.INT, mutable=False),
    Option("daemonize", "no", Kind.BOOL, mutable=False),
    Option("supervised", "no", Kind.ENUM, mutable=False,
           choices=("upstart", "systemd", "auto", "no")),
    Option("pidfile", "", mutable=False),
    Option("hz", "10", Kind.INT, clamp=(1, 500)),
    Option("shutdown-timeout", "10", Kind.INT),
    Option("rdbcompression", "yes", Kind.BOOL),
    Option("rdbchecksum", "yes", Kind.BOOL, mutable=False),
    Option("stop-writes-on-bgsave-error", "yes", Kind.BOOL),
    Option("notify-keyspace-events", ""),
    Option("redisha-repl-delay-ms", "0", Kind.INT),
)
"""Options with Redis 7.0's defaults (but see the module docstring)."""


class ConfigError(Exception):
    """A value an option does not accept; the message is Redis' (`argument must be …`)."""


@dataclass(frozen=True)
class FatalConfigError(Exception):
    """A config file Redis would refuse to start with; `banner()` is what it prints."""

    line_number: int
    line: str
    reason: str

    def banner(self) -> list[str]:
        return ["", f"*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***",
                f"Reading the configuration file, at line {self.line_number}",
                f">>> '{self.line}'", self.reason]


class _Table:
    """Options by canonical name and by alias (lower case)."""

    def __init__(self, options: Iterable[Option]) -> None:
        self.by_name: dict[str, Option] = {}
        self.names: dict[str, str] = {}
        """Every accepted spelling → canonical name."""
        for option in options:
            self.by_name[option.name] = option
            self.names[option.name] = option.name
            for alias in option.aliases:
                self.names[alias] = option.name


TABLE = _Table(OPTIONS)

_MEMORY = re.compile(r"^(\d+)(k|kb|m|mb|g|gb)?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2, "g": 1000 ** 3,
          "gb": 1024 ** 3}


def parse_memory(text: str) -> int | None:
    """`1mb` → 1048576, `1m` → 1000000 (memtoull's units); None if not a memory value."""
    match = _MEMORY.match(text.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNITS[(match.group(2) or "").lower()]


def canonical_value(option: Option, words: list[str]) -> str:
    """The value CONFIG GET prints for `words`; raises ConfigError in Redis' words."""
    if option.kind is Kind.SAVE:
        if words in ([], [""]):
            return ""
        if len(words) % 2:
            raise ConfigError("Invalid save parameters")
        for word in words:
            if not word.isdigit():
                raise ConfigError("Invalid save parameters")
        return " ".join(words)
    if option.kind is Kind.REPLICAOF:
        if len(words) != 2:
            raise ConfigError("wrong number of arguments")
        if words[0].lower() == "no" and words[1].lower() == "one":
            return ""
        if not words[1].isdigit() or not 0 <= int(words[1]) <= 65535:
            raise ConfigError("Invalid master port")
        return f"{words[0]} {int(words[1])}"
    if len(words) != 1:
        if option.kind is Kind.STRING and option.name == "bind":
            return " ".join(words)
        raise ConfigError("wrong number of arguments")
    value = words[0]
    if option.kind is Kind.BOOL:
        if value.lower() not in ("yes", "no"):
            raise ConfigError("argument must be 'yes' or 'no'")
        return value.lower()
    if option.kind is Kind.INT:
        try:
            number = int(value)
        except ValueError:
            raise ConfigError("argument couldn't be parsed into an integer") from None
        if not option.minimum <= number <= option.maximum:
            raise ConfigError(f"argument must be between {option.minimum} and "
                              f"{option.maximum} inclusive")
        if option.clamp is not None:
            number = min(max(number, option.clamp[0]), option.clamp[1])
        return str(number)
    if option.kind is Kind.MEMORY:
        size = parse_memory(value)
        if size is None:
            raise ConfigError("argument must be a memory value")
        if not option.minimum <= size <= option.maximum:
            raise ConfigError(f"argument must be between {option.minimum} and "
                              f"{option.maximum} inclusive")
        return str(size)
    if option.kind is Kind.ENUM:
        if value.lower() not in option.choices:
            raise ConfigError("argument(s) must be one of the following: "
                              + ", ".join(option.choices))
        return value.lower()
    return value


@dataclass
class ServerConfig:
    """One server's settings, as CONFIG GET would print them."""

    values: dict[str, str] = field(default_factory=dict)
    """Canonical name → value, for the options of OPTIONS."""
    extra: dict[str, str] = field(default_factory=dict)
    """Options this fake does not model, as written (name → joined words)."""
    file: str | None = None
    """The config file given on the command line (CONFIG REWRITE writes it)."""
    set_in_file: set[str] = field(default_factory=set)
    """Names given by the file or the command line (rewritten in place)."""

    def __post_init__(self) -> None:
        for option in OPTIONS:
            self.values.setdefault(option.name, option.default)

    # -- typed access ---------------------------------------------------------------------

    def get(self, name: str) -> str:
        canonical = TABLE.names.get(name.lower())
        if canonical is not None:
            return self.values[canonical]
        return self.extra.get(name.lower(), "")

    def get_int(self, name: str) -> int:
        return int(self.get(name))

    def get_bool(self, name: str) -> bool:
        return self.get(name) == "yes"

    @property
    def port(self) -> int:
        return self.get_int("port")

    @property
    def replicaof(self) -> tuple[str, int] | None:
        value = self.values["replicaof"]
        if not value:
            return None
        host, port = value.rsplit(" ", 1)
        return host, int(port)

    # -- CONFIG SET / GET ------------------------------------------------------------------

    def set(self, name: str, words: list[str], *, startup: bool = False) -> None:
        """Set one option; raises ConfigError (unknown options only at run time)."""
        key = name.lower()
        canonical = TABLE.names.get(key)
        if canonical is None:
            if not startup:
                raise ConfigError("Unknown option")
            self.extra[key] = " ".join(words)
            return
        option = TABLE.by_name[canonical]
        if not startup and not option.mutable:
            raise ConfigError("can't set immutable config")
        value = canonical_value(option, words)
        if option.kind is Kind.SAVE and startup and canonical in self.set_in_file and value:
            # `save` lines accumulate in a file; `save ""` resets.
            previous = self.values[canonical]
            value = f"{previous} {value}".strip()
        self.values[canonical] = value
        if startup:
            self.set_in_file.add(canonical)

    def matching(self, pattern: str) -> list[tuple[str, str]]:
        """CONFIG GET: (name, value) for every option (or alias) matching the glob."""
        pattern = pattern.lower()
        if not any(c in pattern for c in "*?["):
            canonical = TABLE.names.get(pattern)
            if canonical is not None:
                return [(pattern, self.values[canonical])]
            if pattern in self.extra:
                return [(pattern, self.extra[pattern])]
            return []
        found = []
        for spelling, canonical in TABLE.names.items():
            if fnmatch.fnmatchcase(spelling, pattern):
                found.append((spelling, self.values[canonical]))
        for name, value in self.extra.items():
            if fnmatch.fnmatchcase(name, pattern):
                found.append((name, value))
        return found

    # -- CONFIG REWRITE --------------------------------------------------------------------

    def rewrite(self, text: str) -> str:
        """The config file `text` with every option set to its current value: lines of
        options that changed are replaced in place, options that differ from the default and
        are not in the file are appended (as CONFIG REWRITE does)."""
        lines = text.splitlines()
        seen: set[str] = set()
        out: list[str] = []
        for line in lines:
            words = resp.split_args(line.strip().encode())
            if not words or line.strip().startswith("#"):
                out.append(line)
                continue
            canonical = TABLE.names.get(words[0].decode(errors="replace").lower())
            if canonical is None:
                out.append(line)
                continue
            if canonical in seen:
                continue
            seen.add(canonical)
            out.extend(self._lines_for(canonical))
        missing = [option.name for option in OPTIONS
                   if option.name not in seen and self.values[option.name] != option.default]
        if missing:
            out.append("# Generated by CONFIG REWRITE")
            for name in missing:
                out.extend(self._lines_for(name))
        return "\n".join(out) + "\n"

    def _lines_for(self, name: str) -> list[str]:
        value = self.values[name]
        option = TABLE.by_name[name]
        if option.kind is Kind.SAVE:
            if not value:
                return ['save ""']
            words = value.split()
            return [f"save {words[i]} {words[i + 1]}" for i in range(0, len(words), 2)]
        if option.kind is Kind.REPLICAOF:
            return [f"replicaof {value}"] if value else []
        if value == "" or " " in value:
            return [f'{name} "{value}"']
        return [f"{name} {value}"]


def config_lines(argv: list[str], read_file: Callable[[str], str]) -> tuple[str | None, str]:
    """`redis-server [file] [--opt v…]` → (the file name or None, the whole config text).

    Like Redis, a `--name` starts a new line and the words after it are its arguments.
    `read_file` raises OSError for a file that cannot be read.
    """
    path: str | None = None
    rest = argv
    if rest and not rest[0].startswith("--"):
        path, rest = rest[0], rest[1:]
    text = read_file(path) if path is not None else ""
    options: list[str] = []
    for arg in rest:
        if arg.startswith("--") and len(arg) > 2:
            options.append(arg[2:])
        elif options:
            options[-1] += " " + _quote(arg)
    if options:
        text = text + ("\n" if text else "") + "\n".join(options) + "\n"
    return path, text


def _quote(word: str) -> str:
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def load(text: str, *, file: str | None = None,
         defaults: dict[str, str] | None = None) -> ServerConfig:
    """Read config text; raises FatalConfigError as Redis would refuse it."""
    config = ServerConfig(file=file)
    for name, value in (defaults or {}).items():
        config.values[name] = value
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = resp.split_args(line.encode())
        if words is None:
            raise FatalConfigError(number, line, "Unbalanced quotes in configuration line")
        if not words:
            continue
        name = words[0].decode(errors="replace").lower()
        if name == "include":
            continue
        args = [w.decode(errors="replace") for w in words[1:]]
        if not args and TABLE.names.get(name) is None:
            raise FatalConfigError(number, line, "Bad directive or wrong number of arguments")
        try:
            config.set(name, args, startup=True)
        except ConfigError as exc:
            reason = str(exc)
            if reason == "wrong number of arguments":
                reason = "Bad directive or wrong number of arguments"
            raise FatalConfigError(number, line, reason) from None
    return config
