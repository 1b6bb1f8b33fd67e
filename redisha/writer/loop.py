"""The writer's loop: one `SET` at a time through the primary Service, each one logged.

It is the demo's client workload, written the way a careful client would be: one
connection, a deadline on every connect and reply, and a dropped connection after any
failure (a reply that arrives late would otherwise be taken for the next command's). It
keeps the numbers of the writes the primary acknowledged, and whenever it finds itself
talking to another server than the one it last checked (a failover happened), it asks
the new primary for every acknowledged key with `EXISTS` before writing again: those
missing are the writes the failover lost, counted once and printed. That check is why
the counts in its log lines (`lines`) can say `lost=0` with confidence.

The loop never touches a socket itself: `dial(host, port)` gives it a stream pair — the
pod sandbox's connection in the fake runtime, a real socket from the pod's address in a
real process — and the RESP framing is `redisha.server.resp`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redisha.server import resp
from redisha.writer.lines import LineKind, Totals, format_line
from redisha.writer.options import WriterOptions

Dial = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
Output = Callable[[str], None]

_DROP_ON = ("READONLY", "MASTERDOWN", "LOADING", "NOREPLICAS")
"""Error replies meaning this server cannot take writes now: reconnect, so that the
Service routes the next connection (perhaps to a new primary)."""


class _Broken(Exception):
    """The connection failed (closed, refused, timed out, garbled); it is dropped."""


@dataclass(frozen=True)
class Server:
    """Who answered on a connection: `CLIENT INFO`'s laddr, `INFO server`'s run id, `ROLE`."""

    address: str
    run_id: str
    role: str


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, resp.SimpleString):
        return value.value.decode(errors="replace")
    return str(value)


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g}s"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


class _Link:
    """One connection: pipelined commands, each batch under a deadline."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.parser = resp.ReplyParser()
        self.server: Server | None = None

    async def call(self, commands: list[list[bytes | str | int]], timeout: float) -> list[Any]:
        """The replies to `commands`, sent in one write; raises _Broken."""
        try:
            async with asyncio.timeout(timeout):
                self.writer.write(b"".join(resp.encode_command(c) for c in commands))
                await self.writer.drain()
                replies: list[Any] = []
                while len(replies) < len(commands):
                    frame = self.parser.next_frame()
                    if frame is resp.NEED_DATA:
                        data = await self.reader.read(65536)
                        if not data:
                            raise ConnectionResetError("connection closed by the server")
                        self.parser.feed(data)
                        continue
                    replies.append(frame)
                return replies
        except (OSError, TimeoutError, resp.ProtocolError) as exc:
            raise _Broken(_describe(exc, timeout)) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class WriterLoop:
    """Writes `<prefix>:<n>` = n at `options.rate` until `stop` is set."""

    def __init__(self, options: WriterOptions, *, dial: Dial, output: Output,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.options = options
        self.dial = dial
        self.output = output
        self.clock = clock
        """Measures how long replies take (monotonic seconds)."""
        self.totals = Totals()
        self.acked: list[int] = []
        """Numbers of the acknowledged writes not (yet) found lost."""
        self.checked_run = ""
        """Run id of the server that last held every acknowledged key."""
        self.n = 0
        self._link: _Link | None = None

    def _emit(self, kind: LineKind, **fields: object) -> None:
        self.output(format_line(kind, self.totals, **fields))

    def key(self, n: int) -> str:
        return f"{self.options.prefix}:{n}"

    async def run(self, stop: asyncio.Event) -> int:
        """Write until `stop`; the exit code (0)."""
        o = self.options
        self._emit(LineKind.STARTED, prefix=f"{o.prefix}:1", target=f"{o.host}:{o.port}",
                   rate=f"{o.rate:g}")
        loop = asyncio.get_running_loop()
        interval = 1.0 / o.rate
        try:
            await self._first_connection(stop, interval)
            next_at = loop.time()
            while not stop.is_set():
                await self.write_once()
                next_at += interval
                delay = next_at - loop.time()
                if delay <= 0:
                    next_at = loop.time()  # behind (a slow reply): no burst to catch up
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await stop.wait()
        finally:
            self._drop()
        self._emit(LineKind.STOPPED)
        return 0

    async def _first_connection(self, stop: asyncio.Event, interval: float) -> None:
        """Connect before the first write: a primary Service that does not exist or answer
        yet (the RedisFailover is still bootstrapping) is waited for, not counted as failed
        writes; a `waiting` line says why, once a second at most."""
        said, said_at = "", -math.inf
        while not stop.is_set():
            try:
                await self._connected()
                return
            except _Broken as exc:
                self._drop()
                reason = str(exc)
            now = self.clock()
            if reason != said or now - said_at >= 1.0:
                self._emit(LineKind.WAITING, error=reason)
                said, said_at = reason, now
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await stop.wait()

    def _drop(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    async def write_once(self) -> bool:
        """One write attempt, logged; True when it was acknowledged."""
        self.n += 1
        n, key = self.n, self.key(self.n)
        started = self.clock()
        try:
            link = await self._connected()
            reply, = await link.call([["SET", key, n]], self.options.timeout)
        except _Broken as exc:
            self._drop()
            self._failed(n, key, str(exc))
            return False
        if isinstance(reply, resp.Error):
            if reply.code in _DROP_ON:
                self._drop()
            self._failed(n, key, reply.message)
            return False
        assert link.server is not None
        self.acked.append(n)
        self.totals = Totals(self.totals.acked + 1, self.totals.failed, self.totals.lost)
        self._emit(LineKind.ACK, n=n, key=key, server=link.server.address,
                   ms=f"{(self.clock() - started) * 1000:.2f}")
        return True

    def _failed(self, n: int, key: str, error: str) -> None:
        self.totals = Totals(self.totals.acked, self.totals.failed + 1, self.totals.lost)
        self._emit(LineKind.FAIL, n=n, key=key, error=error)

    async def _connected(self) -> _Link:
        """The open connection, or a new one: identified, and checked when its server is
        a primary other than the last one checked."""
        if self._link is not None:
            return self._link
        o = self.options
        try:
            async with asyncio.timeout(o.timeout):
                reader, writer = await self.dial(o.host, o.port)
        except (OSError, TimeoutError) as exc:
            raise _Broken(_describe(exc, o.timeout)) from None
        link = _Link(reader, writer)
        self._link = link
        client, info, role = await link.call(
            [["CLIENT", "INFO"], ["INFO", "server"], ["ROLE"]], o.timeout)
        laddr = next((w[len("laddr="):] for w in _text(client).split()
                      if w.startswith("laddr=")), "") or f"{o.host}:{o.port}"
        run_id = next((line.split(":", 1)[1].strip() for line in _text(info).splitlines()
                       if line.startswith("run_id:")), "")
        role_name = _text(role[0]) if isinstance(role, list) and role else "unknown"
        link.server = Server(laddr, run_id, role_name)
        self._emit(LineKind.CONNECTED, server=laddr, run=run_id[:12], role=role_name)
        if role_name == "master" and run_id != self.checked_run:
            if self.acked:
                await self._check(link)
            else:
                self.checked_run = run_id
        return link

    async def _check(self, link: _Link) -> None:
        """Ask this primary for every acknowledged key; count the missing ones as lost."""
        assert link.server is not None
        started = self.clock()
        size = self.options.verify_batch
        missing: list[int] = []
        deadline = self.options.verify_timeout
        for i in range(0, len(self.acked), size):
            batch = self.acked[i:i + size]
            count, = await link.call([["EXISTS", *(self.key(n) for n in batch)]], deadline)
            if isinstance(count, int) and count == len(batch):
                continue
            replies = await link.call([["EXISTS", self.key(n)] for n in batch], deadline)
            missing += [n for n, present in zip(batch, replies) if present != 1]
        self.checked_run = link.server.run_id
        if missing:
            gone = set(missing)
            self.acked = [n for n in self.acked if n not in gone]
            self.totals = Totals(self.totals.acked, self.totals.failed,
                                 self.totals.lost + len(missing))
            self._emit(LineKind.LOST, count=len(missing), first=self.key(min(missing)),
                       last=self.key(max(missing)), server=link.server.address)
        else:
            self._emit(LineKind.VERIFIED, keys=len(self.acked), server=link.server.address,
                       ms=f"{(self.clock() - started) * 1000:.1f}")
