"""A minimal RESP2 client over asyncio TCP: the operator's line to redis and sentinel pods.

Small on purpose: the operator needs a handful of commands with a hard deadline each (a
frozen pod must cost one timeout, not a stuck reconcile), and pub/sub. Framing is the
sans-IO parser of `redisha.server.resp`; this module only moves bytes.

`Connections` keeps one connection per address and runs one command at a time on it; a
command that fails or times out closes that connection (its reply might still arrive and
would be taken for the next command's), and the next call dials again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redisha.server import resp


class Unreachable(Exception):
    """The address did not answer in time, refused, or closed the connection."""


class ReplyError(Exception):
    """The server answered with an error reply (`-ERR …`, `-NOGOODSLAVE …`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        """The first word: `ERR`, `NOGOODSLAVE`, `INPROG`, …"""
        return self.message.split(" ", 1)[0]


def text(value: Any) -> Any:
    """A reply with every bulk string decoded (UTF-8, lossless for invalid bytes)."""
    if isinstance(value, bytes):
        return value.decode(errors="surrogateescape")
    if isinstance(value, resp.SimpleString):
        return value.value.decode(errors="surrogateescape")
    if isinstance(value, list):
        return [text(item) for item in value]
    return value


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    parser: resp.ReplyParser

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


async def _read_frame(conn: _Conn) -> Any:
    while True:
        frame = conn.parser.next_frame()
        if frame is not resp.NEED_DATA:
            return frame
        data = await conn.reader.read(65536)
        if not data:
            raise ConnectionResetError("connection closed by the server")
        conn.parser.feed(data)


async def _dial(host: str, port: int, timeout: float) -> _Conn:
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as exc:
        raise Unreachable(f"{host}:{port}: {exc or 'timed out'}") from None
    return _Conn(reader, writer, resp.ReplyParser())


class Connections:
    """One connection per `(host, port)`, commands run one at a time on each."""

    def __init__(self, *, timeout: float) -> None:
        """`timeout`: seconds for connecting and for each command's reply."""
        self.timeout = timeout
        self._conns: dict[tuple[str, int], _Conn] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    async def call(self, host: str, port: int, *args: str | bytes | int,
                   timeout: float | None = None) -> Any:
        """Send one command and return its decoded reply; `ReplyError` for `-…` replies."""
        (reply,) = await self.pipeline(host, port, [args], timeout=timeout)
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    async def pipeline(self, host: str, port: int,
                       commands: list[tuple[str | bytes | int, ...]],
                       timeout: float | None = None) -> list[Any]:
        """Send `commands` at once and read their replies within one timeout; an error
        reply comes back as a `ReplyError` in its place (not raised)."""
        key = (host, port)
        lock = self._locks.setdefault(key, asyncio.Lock())
        limit = self.timeout if timeout is None else timeout
        async with lock:
            conn = self._conns.get(key)
            if conn is not None and conn.reader.at_eof():
                # The server closed it while idle (Sentinel's CLIENT KILL after a
                # promotion, a restart): dial again rather than fail this call.
                self._drop(key)
                conn = None
            try:
                async with asyncio.timeout(limit):
                    if conn is None:
                        conn = self._conns[key] = await _dial(host, port, limit)
                    conn.writer.write(b"".join(resp.encode_command(c) for c in commands))
                    frames = [await _read_frame(conn) for _ in commands]
            except (OSError, TimeoutError, resp.ProtocolError, Unreachable) as exc:
                self._drop(key)
                if isinstance(exc, Unreachable):
                    raise
                raise Unreachable(f"{host}:{port}: {exc or 'timed out'}") from None
            except BaseException:
                self._drop(key)  # cancelled mid-command: the reply would be misread later
                raise
        return [ReplyError(f.message) if isinstance(f, resp.Error) else text(f) for f in frames]

    def _drop(self, key: tuple[str, int]) -> None:
        conn = self._conns.pop(key, None)
        if conn is not None:
            conn.close()

    def forget(self, host: str, port: int) -> None:
        """Close the connection to an address that went away (a deleted pod)."""
        self._drop((host, port))

    def addresses(self) -> list[tuple[str, int]]:
        return list(self._conns)

    async def close(self) -> None:
        for key in list(self._conns):
            self._drop(key)


async def subscribe(host: str, port: int, pattern: str, *,
                    timeout: float) -> AsyncIterator[tuple[str, str]]:
    """`PSUBSCRIBE pattern` on a connection of its own; yields `(channel, message)`.

    Connecting and the subscription's confirmation must come within `timeout`; after that
    the stream waits as long as it takes. Ends by raising `Unreachable` when the
    connection fails; closes it when the caller stops iterating.
    """
    conn = await _dial(host, port, timeout)
    try:
        try:
            conn.writer.write(resp.encode_command(("PSUBSCRIBE", pattern)))
            async with asyncio.timeout(timeout):
                await _read_frame(conn)
            while True:
                frame = text(await _read_frame(conn))
                if isinstance(frame, list) and len(frame) == 4 and frame[0] == "pmessage":
                    yield str(frame[2]), str(frame[3])
                elif isinstance(frame, list) and len(frame) == 3 and frame[0] == "message":
                    yield str(frame[1]), str(frame[2])
        except (OSError, TimeoutError, resp.ProtocolError) as exc:
            raise Unreachable(f"{host}:{port}: {exc or 'timed out'}") from None
    finally:
        conn.close()
