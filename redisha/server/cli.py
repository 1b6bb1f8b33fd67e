"""The `redis-cli` program of the fake `redis` image (for `kubectl exec … -- redis-cli …`).

Non-interactive, as redis-cli is when its output is not a terminal: `redis-cli [-h host]
[-p port] [-n db] [-3] [-e] [-x] [--raw|--no-raw] cmd args…`, or commands one per line on
stdin. It connects through the pod's sandbox (cluster DNS; `127.0.0.1`/`localhost` are the
pod itself) and prints replies with redis-cli's own formatting rules: raw when not on a TTY
(`PONG`, `1`, bulk strings as they are, one array element per line, errors as the message
followed by an empty line), the TTY form with `--no-raw` (`(integer) 1`, `"value"`, `1) …`,
`(error) ERR …`, `(nil)`).
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from cluster.runtime import images
from redisha.server import resp

VERSION = "redis-cli 7.0.15"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Options:
    host: str = "127.0.0.1"
    port: int = 6379
    db: int = 0
    protocol: int = 2
    raw: bool = True
    errcode: bool = False
    stdin_last_arg: bool = False
    password: str | None = None
    user: str | None = None
    command: list[str] = field(default_factory=list)


class UsageError(Exception):
    pass


def parse_args(argv: list[str]) -> Options:
    options = Options()
    i = 0

    def value() -> str:
        nonlocal i
        if i + 1 >= len(argv):
            raise UsageError(f"Unrecognized option or bad number of args for: '{argv[i]}'")
        i += 1
        return argv[i]

    while i < len(argv):
        arg = argv[i]
        if arg == "-h":
            options.host = value()
        elif arg == "-p":
            text = value()
            if not text.isdigit():
                raise UsageError(f"Invalid port: {text}")
            options.port = int(text)
        elif arg == "-n":
            options.db = int(value())
        elif arg == "-a" or arg == "--pass":
            options.password = value()
        elif arg == "--user":
            options.user = value()
        elif arg == "-u":
            _apply_uri(options, value())
        elif arg == "-3":
            options.protocol = 3
        elif arg == "-2":
            options.protocol = 2
        elif arg == "--raw":
            options.raw = True
        elif arg == "--no-raw":
            options.raw = False
        elif arg == "-e":
            options.errcode = True
        elif arg == "-x":
            options.stdin_last_arg = True
        elif arg in ("-v", "--version"):
            raise SystemExit(VERSION)
        elif arg.startswith("-") and len(arg) > 1 and not options.command:
            raise UsageError(f"Unrecognized option or bad number of args for: '{arg}'")
        else:
            options.command = argv[i:]
            break
        i += 1
    return options


def _apply_uri(options: Options, uri: str) -> None:
    rest = uri.split("://", 1)[-1]
    if "@" in rest:
        creds, rest = rest.rsplit("@", 1)
        options.password = creds.split(":", 1)[-1]
    hostport, _, db = rest.partition("/")
    host, _, port = hostport.partition(":")
    options.host = host or options.host
    if port:
        options.port = int(port)
    if db:
        options.db = int(db)


# -- formatting (pure) ---------------------------------------------------------------------

def format_raw(frame: Any) -> bytes:
    """cliFormatReplyRaw."""
    if frame is None:
        return b""
    if isinstance(frame, resp.Error):
        return frame.message.encode() + b"\n"
    if isinstance(frame, resp.SimpleString):
        return frame.value
    if isinstance(frame, bytes):
        return frame
    if isinstance(frame, resp.Verbatim):
        return frame.text
    if isinstance(frame, bool):
        return b"(true)" if frame else b"(false)"
    if isinstance(frame, int):
        return str(frame).encode()
    if isinstance(frame, resp.BigNumber):
        return str(frame.value).encode()
    if isinstance(frame, float):
        return resp.format_double(frame).encode()
    if isinstance(frame, dict):
        return b"\n".join(format_raw(k) + b" " + format_raw(v) for k, v in frame.items())
    items = _items(frame)
    return b"\n".join(format_raw(item) for item in items)


def _items(frame: Any) -> list[Any]:
    if isinstance(frame, (resp.Push, resp.RespSet)):
        return list(frame.items)
    return list(frame)


def _repr(data: bytes) -> str:
    """sdscatrepr: a quoted string with C escapes."""
    out = ['"']
    for c in data:
        ch = chr(c)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif 32 <= c < 127:
            out.append(ch)
        else:
            out.append(f"\\x{c:02x}")
    out.append('"')
    return "".join(out)


def format_tty(frame: Any, prefix: str = "") -> str:
    """cliFormatReplyTTY."""
    if isinstance(frame, resp.Error):
        return f"(error) {frame.message}\n"
    if isinstance(frame, resp.SimpleString):
        return frame.value.decode(errors="replace") + "\n"
    if isinstance(frame, bool):
        return "(true)\n" if frame else "(false)\n"
    if isinstance(frame, int):
        return f"(integer) {frame}\n"
    if isinstance(frame, float):
        return f"(double) {resp.format_double(frame)}\n"
    if isinstance(frame, bytes):
        return _repr(frame) + "\n"
    if isinstance(frame, resp.Verbatim):
        return frame.text.decode(errors="replace") + "\n"
    if frame is None:
        return "(nil)\n"
    if isinstance(frame, resp.BigNumber):
        return f"(big number) {frame.value}\n"
    is_map = isinstance(frame, dict)
    if is_map:
        pairs = list(frame.items())
        count = len(pairs)
    else:
        elements = _items(frame)
        count = len(elements)
    if count == 0:
        if is_map:
            return "(empty hash)\n"
        if isinstance(frame, resp.RespSet):
            return "(empty set)\n"
        if isinstance(frame, resp.Push):
            return "(empty push)\n"
        return "(empty array)\n"
    width = len(str(count))
    child_prefix = prefix + " " * (width + 2)
    sep = "~" if isinstance(frame, resp.RespSet) else "#" if is_map else ")"
    out = []
    for index in range(count):
        out.append(f"{'' if index == 0 else prefix}{index + 1:>{width}}{sep} ")
        if is_map:
            key, value = pairs[index]
            out.append(format_tty(key, child_prefix)[:-1] + " => ")
            formatted = format_tty(value, child_prefix)
            if isinstance(value, (list, dict, resp.RespSet, resp.Push)) and value:
                out.append("\n" + child_prefix)
            out.append(formatted)
        else:
            out.append(format_tty(elements[index], child_prefix))
    return "".join(out)


def format_reply(frame: Any, *, raw: bool, raw_strings: bool = False) -> bytes:
    """The bytes redis-cli prints for one reply, its trailing newline included."""
    if raw:
        return format_raw(frame) + b"\n"
    if raw_strings and isinstance(frame, bytes):
        return frame + b"\n"
    return format_tty(frame).encode()


_RAW_STRING_COMMANDS = {"info", "lolwut"}


def _wants_raw_strings(command: list[str]) -> bool:
    name = command[0].lower()
    if name in _RAW_STRING_COMMANDS:
        return True
    return len(command) >= 2 and name == "client" and command[1].lower() in ("list", "info")


# -- the program ---------------------------------------------------------------------------

class RedisCli:
    """`redis-cli`: see the module docstring."""

    async def run(self, ctx: images.ProgramContext) -> int:
        try:
            options = parse_args(ctx.argv[1:])
        except UsageError as exc:
            ctx.stderr(str(exc))
            return 1
        except SystemExit as exc:
            ctx.stdout(str(exc.code))
            return 0
        if options.password is not None:
            ctx.stderr("Warning: Using a password with '-a' or '-u' option on the command line "
                       "interface may not be safe.")
        commands = self._commands(ctx, options)
        host = ctx.sandbox.ip if options.host in LOOPBACK else options.host
        try:
            reader, writer = await ctx.sandbox.open_connection(host, options.port)
        except socket.gaierror:
            ctx.stderr(f"Could not connect to Redis at {options.host}:{options.port}: Name or "
                       "service not known")
            return 1
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            ctx.stderr(f"Could not connect to Redis at {options.host}:{options.port}: {reason}")
            return 1
        parser = resp.ReplyParser()
        output = _Output(ctx)
        try:
            for setup in self._setup(options):
                writer.write(resp.encode_command(setup))
                reply = await _read(reader, parser)
                if isinstance(reply, resp.Error) and setup[0] != "AUTH":
                    output.write(format_reply(reply, raw=options.raw))
            for command in commands:
                writer.write(resp.encode_command(command))
                await writer.drain()
                try:
                    reply = await _read(reader, parser)
                except ConnectionError:
                    if command and command[0].lower() == "shutdown":
                        return 0
                    output.flush()
                    ctx.stderr("Error: Server closed the connection")
                    return 1
                if isinstance(reply, resp.Error) and options.errcode:
                    output.flush()
                    ctx.stderr(reply.message)
                    return 1
                output.write(format_reply(reply, raw=options.raw,
                                          raw_strings=_wants_raw_strings(command)))
        finally:
            output.flush()
            writer.close()
        return 0

    def _commands(self, ctx: images.ProgramContext, options: Options) -> list[list[str]]:
        if options.command:
            command = list(options.command)
            if options.stdin_last_arg:
                command.append(ctx.stdin.decode(errors="surrogateescape"))
            return [command]
        commands = []
        for line in ctx.stdin.splitlines():
            words = resp.split_args(line)
            if words:
                commands.append([w.decode(errors="surrogateescape") for w in words])
        return commands

    def _setup(self, options: Options) -> list[tuple[str, ...]]:
        setup: list[tuple[str, ...]] = []
        if options.password is not None:
            setup.append(("AUTH", options.user, options.password) if options.user
                         else ("AUTH", options.password))
        if options.protocol == 3:
            setup.append(("HELLO", "3"))
        if options.db:
            setup.append(("SELECT", str(options.db)))
        return setup


class _Output:
    """redis-cli writes bytes; a container's log takes lines."""

    def __init__(self, ctx: images.ProgramContext) -> None:
        self._ctx = ctx
        self._pending = b""

    def write(self, data: bytes) -> None:
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self._ctx.stdout(line.decode(errors="backslashreplace"))

    def flush(self) -> None:
        if self._pending:
            self._ctx.stdout(self._pending.decode(errors="backslashreplace"))
            self._pending = b""


async def _read(reader: asyncio.StreamReader, parser: resp.ReplyParser) -> Any:
    while True:
        frame = parser.next_frame()
        if frame is not resp.NEED_DATA:
            return frame
        data = await reader.read(1 << 16)
        if not data:
            raise ConnectionResetError("Server closed the connection")
        parser.feed(data)
