"""The asyncio shell around the memcached protocol: accept, read, feed, write.

`MemcachedServer` owns one `MemcachedEngine` and gives every client a
`protocol.Connection`. It listens either on real addresses (`start(host, port)`, what
`python -m redisha.samples.memcached` uses) or inside a pod (`listen_in(sandbox)`, what the
fake runtime's `memcached` program uses), and `handle` is the stream handler for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from cluster.runtime.base import PodSandbox
from redisha.samples.memcached.engine import MemcachedEngine
from redisha.samples.memcached.options import MemcachedOptions
from redisha.samples.memcached.protocol import Connection

READ_SIZE = 64 * 1024
TOO_MANY_CONNECTIONS = b"ERROR Too many open connections\r\n"


def listen_addresses(options: MemcachedOptions) -> list[tuple[str | None, int]]:
    """(host, port) pairs from `-l` (`addr`, `addr:port`, comma-separated) and `-p`."""
    if not options.listen:
        return [(None, options.port)]
    pairs: list[tuple[str | None, int]] = []
    for part in options.listen.split(","):
        part = part.strip()
        if not part:
            continue
        host, port = part, options.port
        if part.startswith("["):  # [::1]:11211
            host, _, rest = part[1:].partition("]")
            if rest.startswith(":") and rest[1:].isdigit():
                port = int(rest[1:])
        elif part.count(":") == 1:
            name, _, number = part.partition(":")
            if number.isdigit():
                host, port = name, int(number)
        pairs.append((host, port))
    return pairs


class MemcachedServer:
    """One memcached server: the engine plus its listeners and client connections."""

    def __init__(self, options: MemcachedOptions | None = None, *,
                 clock: Callable[[], float] = time.time, pid: int | None = None,
                 trace: Callable[[str], None] = lambda line: None) -> None:
        """`trace` receives the `-vv` lines; `pid` is what `stats` reports (default: ours)."""
        self.options = options or MemcachedOptions()
        self.engine = MemcachedEngine(self.options, clock=clock,
                                      pid=os.getpid() if pid is None else pid, trace=trace)
        self.stopped = asyncio.Event()
        """Set when the server has been asked to stop (`close`, or the `shutdown` command)."""
        self._listeners: list[Any] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()

    async def start(self, host: str | list[str] | None = None, port: int | None = None) -> None:
        """Listen on `host` (None: every interface) and `port` (default: `-p`); raises
        OSError as bind would."""
        server = await asyncio.start_server(self.handle, host,
                                            self.options.port if port is None else port,
                                            reuse_address=True)
        self._listeners.append(server)

    async def listen_in(self, sandbox: PodSandbox) -> None:
        """Listen on a pod's address at `-p`, through its sandbox (so network faults apply)."""
        self._listeners.append(await sandbox.start_server(self.handle, self.options.port))

    async def serve(self, host: str | None, port: int) -> None:
        """Listen at (host, port) and serve until `close` or the `shutdown` command."""
        await self.start(host, port)
        try:
            await self.stopped.wait()
        finally:
            await self.close()

    @property
    def sockets(self) -> list[Any]:
        """The listening sockets (their `getsockname()` says where a port 0 ended up)."""
        return [sock for server in self._listeners for sock in (server.sockets or ())]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client until it quits, hangs up or the server closes."""
        engine = self.engine
        if self.stopped.is_set():
            writer.close()
            return
        if not engine.may_accept():
            engine.connection_rejected()
            with contextlib.suppress(OSError):
                writer.write(TOO_MANY_CONNECTIONS)
                writer.close()
            return
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._writers.add(writer)
        connection = Connection(engine, engine.connection_opened())
        try:
            while not connection.closed:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                out = connection.receive_data(data)
                if out:
                    writer.write(out)
                    await writer.drain()
                if engine.shutdown_requested:
                    self.stopped.set()
        except (ConnectionError, OSError):
            pass
        finally:
            engine.connection_closed(connection.fd)
            self._writers.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def close(self) -> None:
        """Stop listening, hang up on every client and wait for their handlers to end."""
        self.stopped.set()
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.close()
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.close()
        handlers = [t for t in self._handlers if t is not asyncio.current_task()]
        if handlers:
            _, pending = await asyncio.wait(handlers, timeout=1.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        for listener in listeners:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await listener.wait_closed()
