"""Shims: how a real shell script starts a fake image's in-process programs.

A shell container's PATH starts with a directory holding one tiny executable per program
of its image (`redis-server`, `redis-cli`, …). Run, a shim connects to its runtime's unix
socket (an abstract address, so no container's mount namespace can hide it) and sends
its container id (`$REDISHA_CONTAINER_ID`), working directory, argv and environment. The
runtime runs the program in-process in that container's context and sends back its
output lines, which the shim writes to its own stdout/stderr (so redirections and pipes
in the script work), and finally the exit code, which the shim exits with.

SIGTERM/SIGINT to the shim become the program's stop request; when the shim dies
(SIGKILL, the container killed) the connection closes and the program is cancelled.
The shim is Python started with `-S -E` and only builtin modules (`_socket`, `_signal`):
about 15 ms on this machine; stdin is not forwarded.

Wire format. Shim → runtime: `<length>\\n` then `length` bytes of NUL-separated fields
(container id, cwd, argc, argv…, `KEY=value`…), then control lines `t` (SIGTERM) or
`i` (SIGINT). Runtime → shim: lines `o<text>` (stdout), `e<text>` (stderr), `x<code>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from dataclasses import dataclass
from typing import Any, Callable, Coroutine

from cluster.runtime import images

CONTAINER_ENV = "REDISHA_CONTAINER_ID"
"""The env var carrying a shell container's id to its shims."""

MAX_REQUEST = 1 << 20

SOURCE = '''#!{python} -SE
# A stand-in for an in-process program of this container's image: the container runtime
# runs the program and this process relays its output and exit code.
import _signal, _socket, os, sys

ADDRESS = {address!r}


def write(fd, data):
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass


def main():
    name = sys.argv[0].rpartition("/")[2]
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(ADDRESS)
    except OSError as exc:
        write(2, ("%s: the container runtime is unreachable: %s\\n" % (name, exc)).encode())
        return 126
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = "/"
    fields = [os.environ.get("{container_env}", ""), cwd, str(len(sys.argv)), name]
    fields += sys.argv[1:]
    payload = b"\\0".join([os.fsencode(f) for f in fields]
                         + [k + b"=" + v for k, v in os.environb.items()])
    sock.sendall(b"%d\\n" % len(payload) + payload)

    def forward(signum, frame):
        try:
            sock.sendall(b"t\\n" if signum == _signal.SIGTERM else b"i\\n")
        except OSError:
            pass

    _signal.signal(_signal.SIGTERM, forward)
    _signal.signal(_signal.SIGINT, forward)
    pending = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            write(2, ("%s: lost the container runtime\\n" % name).encode())
            return 137
        pending += chunk
        while b"\\n" in pending:
            line, _, pending = pending.partition(b"\\n")
            kind, body = line[:1], line[1:]
            if kind == b"o":
                write(1, body + b"\\n")
            elif kind == b"e":
                write(2, body + b"\\n")
            elif kind == b"x":
                return int(body)


sys.exit(main())
'''


def install(directory: str, *, python: str, address: str,
            programs: list[str] | tuple[str, ...]) -> None:
    """Write a shim per program name into `directory` (one script, symlinked by name)."""
    os.makedirs(directory, exist_ok=True)
    script = os.path.join(directory, ".shim")
    if not os.path.exists(script):
        with open(script, "w") as f:
            f.write(SOURCE.format(python=python, address=address, container_env=CONTAINER_ENV))
        os.chmod(script, 0o755)
    for name in programs:
        link = os.path.join(directory, name)
        if not os.path.lexists(link):
            os.symlink(".shim", link)


@dataclass(frozen=True)
class Request:
    """What a shim asks for: run `argv` in container `container_id`."""

    container_id: str
    cwd: str
    argv: list[str]
    env: dict[str, str]


def encode_request(request: Request) -> bytes:
    fields = [request.container_id, request.cwd, str(len(request.argv)), *request.argv,
              *(f"{k}={v}" for k, v in request.env.items())]
    payload = b"\0".join(os.fsencode(f) for f in fields)
    return b"%d\n" % len(payload) + payload


def decode_request(payload: bytes) -> Request:
    fields = [os.fsdecode(f) for f in payload.split(b"\0")]
    container_id, cwd, argc = fields[0], fields[1], int(fields[2])
    argv = fields[3:3 + argc]
    env = dict(entry.partition("=")[::2] for entry in fields[3 + argc:] if entry)
    return Request(container_id, cwd, argv, env)


Launch = Callable[[Request, images.Output, asyncio.Event], Coroutine[Any, Any, int]]
"""Runs a request's program: given where its output goes and its stop-request event,
returns its exit code. Raising LookupError means "no such container or program"."""


class ShimServer:
    """The runtime's end of the shims: one abstract unix socket, one session per shim."""

    def __init__(self, launch: Launch) -> None:
        self._launch = launch
        self.address = f"\0redisha-runtime-{os.getpid()}-{secrets.token_hex(8)}"
        self._server: asyncio.Server | None = None
        self._starting: asyncio.Task[asyncio.Server] | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen (once, however many containers ask at the same time)."""
        if self._starting is None:
            self._starting = asyncio.create_task(
                asyncio.start_unix_server(self._accept, path=self.address))
        self._server = await asyncio.shield(self._starting)

    async def close(self) -> None:
        if self._starting is not None and self._server is None:
            with contextlib.suppress(OSError):
                self._server = await self._starting
        self._starting = None
        if self._server is not None:
            self._server.close()
        for task in list(self._sessions):
            task.cancel()
        if self._sessions:
            await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self._session(reader, writer)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # closing; asyncio 3.11's streams would log a cancelled callback task
        finally:
            self._sessions.discard(task)
            writer.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        size = int(await reader.readline())
        if not 0 < size <= MAX_REQUEST:
            raise ValueError("bad shim request")
        request = decode_request(await reader.readexactly(size))

        def output(stream: str, text: str) -> None:
            if writer.is_closing():
                return
            kind = b"o" if stream == "stdout" else b"e"
            for line in text.split("\n"):
                writer.write(kind + line.encode("utf-8", "surrogateescape") + b"\n")

        stop = asyncio.Event()
        program: asyncio.Task[int] = asyncio.create_task(self._launch(request, output, stop))
        control = asyncio.create_task(_control(reader, stop))
        try:
            await asyncio.wait({program, control}, return_when=asyncio.FIRST_COMPLETED)
            if not program.done():  # the shim went away: so does its program
                program.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await program
                return
            try:
                code = 137 if program.cancelled() else program.result()
            except LookupError as exc:
                output("stderr", f"{request.argv[0]}: {exc.args[0] if exc.args else exc}")
                code = 127
            writer.write(b"x%d\n" % code)
            await writer.drain()
        finally:
            for task in (program, control):
                task.cancel()
            await asyncio.gather(program, control, return_exceptions=True)


async def _control(reader: asyncio.StreamReader, stop: asyncio.Event) -> None:
    """Turn the shim's signal lines into the stop request; returns when the shim is gone."""
    while line := await reader.readline():
        if line.strip() in (b"t", b"i"):
            stop.set()
