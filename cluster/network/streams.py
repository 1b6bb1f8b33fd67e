"""asyncio streams that stall while a network fault separates their two ends.

A sandbox's connections are ordinary TCP connections between loopback addresses, with
`StreamReader`/`StreamWriter` subclasses on top that ask a `Gate` before handing data over:

- a read returns its data only once the gate is open, so whatever arrives during a
  partition (or while the pod is frozen) is held back, not lost;
- a write made while the gate is closed is kept in order and sent when it opens; `drain()`
  waits for that, so a program that writes and drains stalls exactly like one whose peer
  stopped acknowledging.

Nothing fails while the gate is closed: a stalled program times out by its own clock, as
against a real partition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from cluster.network.faults import Faults

log = logging.getLogger(__name__)

STREAM_LIMIT = 2 ** 16
"""asyncio's default StreamReader buffer limit."""


class Gate:
    """Whether data may flow between a pod (`local_ip`) and one peer address right now."""

    __slots__ = ("faults", "local_ip", "peer_ip")

    def __init__(self, faults: Faults, local_ip: str, peer_ip: str) -> None:
        self.faults = faults
        self.local_ip = local_ip
        self.peer_ip = peer_ip

    def is_open(self) -> bool:
        return self.faults.quiet or self.faults.allows(self.local_ip, self.peer_ip)

    async def wait_open(self) -> None:
        if not self.is_open():
            await self.faults.wait_allowed(self.local_ip, self.peer_ip)


class GatedStreamReader(asyncio.StreamReader):
    """A StreamReader whose reads complete only while its gate is open.

    Reads wait for the gate before taking bytes from the buffer, and again after (the gate
    may close while a read waits for data). A read cancelled in that second wait — a
    client's own timeout during a partition — puts its bytes back, so no data is lost:
    they were received, as a kernel would keep them in the socket buffer.
    """

    gate: Gate | None = None

    async def _before(self) -> None:
        gate = self.gate
        if gate is not None and not gate.is_open():
            await gate.wait_open()

    async def _after(self, data: bytes) -> bytes:
        gate = self.gate
        if gate is None or gate.is_open():
            return data
        try:
            await gate.wait_open()
        except BaseException:
            if data:
                self._buffer[:0] = data  # type: ignore[attr-defined]
            raise
        return data

    async def read(self, n: int = -1) -> bytes:
        await self._before()
        return await self._after(await super().read(n))

    async def readline(self) -> bytes:
        await self._before()
        return await self._after(await super().readline())

    async def readuntil(self, separator: Any = b"\n") -> bytes:
        await self._before()
        return await self._after(await super().readuntil(separator))

    async def readexactly(self, n: int) -> bytes:
        await self._before()
        return await self._after(await super().readexactly(n))


class GatedStreamWriter(asyncio.StreamWriter):
    """A StreamWriter that holds writes back while its gate is closed.

    `on_hold` is called the first time data is held, so that the owner can `flush()` it
    when the fault that closed the gate is lifted.
    """

    def __init__(self, transport: asyncio.Transport, protocol: asyncio.BaseProtocol,
                 reader: asyncio.StreamReader | None, loop: asyncio.AbstractEventLoop, *,
                 gate: Gate, on_hold: Callable[[GatedStreamWriter], None]) -> None:
        super().__init__(transport, protocol, reader, loop)
        self.gate = gate
        self._on_hold = on_hold
        self._held: list[bytes] = []
        self._eof_held = False
        self._close_held = False

    @property
    def holding(self) -> bool:
        return bool(self._held) or self._eof_held or self._close_held

    def _hold(self) -> None:
        self._on_hold(self)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._held or not self.gate.is_open():
            if self._close_held or self.transport.is_closing():
                return
            self._held.append(bytes(data))
            self._hold()
            return
        super().write(data)

    def writelines(self, data: Any) -> None:
        for chunk in data:
            self.write(chunk)

    def write_eof(self) -> None:
        if self.holding or not self.gate.is_open():
            self._eof_held = True
            self._hold()
            return
        super().write_eof()

    def close(self) -> None:
        if self.holding or not self.gate.is_open():
            # Like a kernel socket: close() returns at once, the FIN follows the data.
            self._close_held = True
            self._hold()
            return
        super().close()

    def is_closing(self) -> bool:
        return self._close_held or super().is_closing()

    async def drain(self) -> None:
        if self.holding or not self.gate.is_open():
            await self.gate.wait_open()
            self.flush()
        await super().drain()

    async def wait_closed(self) -> None:
        if self._close_held:
            return
        await super().wait_closed()

    def flush(self) -> None:
        """Send what was held, if the gate is open now; called when faults change."""
        if not self.holding or not self.gate.is_open():
            return
        held, self._held = self._held, []
        transport = self.transport
        if not transport.is_closing():
            if held:
                transport.writelines(held)
            if self._eof_held and transport.can_write_eof():
                transport.write_eof()
        self._eof_held = False
        if self._close_held:
            self._close_held = False
            transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._eof_held = self._close_held = False
        self.transport.abort()


StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class GatedServerProtocol(asyncio.StreamReaderProtocol):
    """Accepts one connection for a sandbox's server: gated streams, then the handler.

    The handler starts only once the gate to the peer is open, so a connection from across
    a partition, or to a frozen pod, sits unanswered like one in a listen backlog.
    `on_connection(transport, writer, task)` lets the sandbox track it for teardown.
    """

    def __init__(self, *, faults: Faults, local_ip: str, handler: StreamHandler,
                 on_connection: Callable[[asyncio.Transport, GatedStreamWriter,
                                          asyncio.Task[None]], None],
                 on_hold: Callable[[GatedStreamWriter], None],
                 loop: asyncio.AbstractEventLoop) -> None:
        self._reader_ref = GatedStreamReader(limit=STREAM_LIMIT, loop=loop)
        super().__init__(self._reader_ref, loop=loop)
        self._faults = faults
        self._local_ip = local_ip
        self._handler = handler
        self._on_connection = on_connection
        self._on_hold = on_hold
        self._event_loop = loop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert isinstance(transport, asyncio.Transport)
        reader, self._reader_ref = self._reader_ref, None  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        gate = Gate(self._faults, self._local_ip, peer[0] if peer else "")
        reader.gate = gate
        writer = GatedStreamWriter(transport, self, reader, self._event_loop, gate=gate,
                                   on_hold=self._on_hold)
        self._stream_writer = writer
        task = self._event_loop.create_task(self._serve(reader, writer, gate))
        self._on_connection(transport, writer, task)

    async def _serve(self, reader: GatedStreamReader, writer: GatedStreamWriter,
                     gate: Gate) -> None:
        await gate.wait_open()
        try:
            await self._handler(reader, writer)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("connection handler on %s failed", self._local_ip)
            writer.transport.close()
