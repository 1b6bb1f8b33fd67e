"""The sentinel's outgoing connections: the I/O shell that carries out the core's actions.

`LinkPool.apply(actions)` opens and closes connections and writes commands; what comes
back is fed to the core (`reply`, `message`, `connected`, …) with the time it arrived, and
`on_input` is called so the owner runs the core's timer soon. Connections are made with
`dial(host, port)` — the pod's sandbox in the fake image (so partitions and freezes apply
to the sentinel's links), a plain `asyncio.open_connection` from the pod's address in the
standalone process. Replies on a command connection answer its commands in order; on a
pub/sub connection, `message` pushes are hello messages.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redisha.sentinel.actions import Action, Close, Connect, Send
from redisha.sentinel.core import SentinelCore
from redisha.sentinel.instances import Address, Conn
from redisha.server import resp

Dial = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@dataclass(eq=False)
class _Connection:
    """One TCP connection of a link."""

    link: int
    conn: Conn
    address: Address
    writer: asyncio.StreamWriter | None = None
    waiting: collections.deque[Send] = field(default_factory=collections.deque)
    task: asyncio.Task[None] | None = None
    closed: bool = False


class LinkPool:
    """Connections by (link id, connection kind), driven by the core's actions."""

    def __init__(self, core: SentinelCore, *, dial: Dial, clock: Callable[[], float],
                 connect_timeout: float, on_input: Callable[[], None]) -> None:
        self._core = core
        self._dial = dial
        self._clock = clock
        self._connect_timeout = connect_timeout
        self._on_input = on_input
        self._conns: dict[tuple[int, Conn], _Connection] = {}

    def apply(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Send):
                self._write(action)
            elif isinstance(action, Connect):
                self._open(action)
            elif isinstance(action, Close):
                kinds = (action.conn,) if action.conn is not None else tuple(Conn)
                for kind in kinds:
                    self._close((action.link, kind), notify=False)

    async def close(self) -> None:
        tasks = []
        for key in list(self._conns):
            connection = self._conns[key]
            if connection.task is not None:
                tasks.append(connection.task)
            self._close(key, notify=False)
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    # -- connections --------------------------------------------------------------------------

    def _open(self, action: Connect) -> None:
        key = (action.link, action.conn)
        self._close(key, notify=False)
        connection = _Connection(action.link, action.conn, action.address)
        self._conns[key] = connection
        connection.task = asyncio.get_running_loop().create_task(
            self._run(connection), name=f"sentinel link {action.link} {action.conn.value}")

    async def _run(self, connection: _Connection) -> None:
        core = self._core
        try:
            async with asyncio.timeout(self._connect_timeout):
                reader, writer = await self._dial(connection.address.host,
                                                  connection.address.port)
        except (TimeoutError, OSError, socket.gaierror):
            if not connection.closed:
                self._conns.pop((connection.link, connection.conn), None)
                core.connect_failed(connection.link, connection.conn, self._clock())
                self._on_input()
            return
        if connection.closed:
            writer.close()
            return
        connection.writer = writer
        local = writer.get_extra_info("sockname") or ("", 0)
        core.connected(connection.link, connection.conn, self._clock(), local_ip=str(local[0]))
        self._on_input()
        parser = resp.ReplyParser()
        try:
            while not connection.closed:
                data = await reader.read(1 << 16)
                if not data:
                    break
                parser.feed(data)
                while True:
                    frame = parser.next_frame()
                    if frame is resp.NEED_DATA:
                        break
                    self._deliver(connection, frame)
                self._on_input()
        except (OSError, resp.ProtocolError):
            pass
        finally:
            if not connection.closed:
                self._close((connection.link, connection.conn), notify=True)
                self._on_input()

    def _deliver(self, connection: _Connection, frame: Any) -> None:
        now = self._clock()
        core = self._core
        if connection.conn is Conn.PUBSUB:
            items = frame.items if isinstance(frame, resp.Push) else frame
            if (isinstance(items, list) and len(items) == 3 and items[0] == b"message"
                    and isinstance(items[1], bytes) and isinstance(items[2], bytes)):
                core.message(connection.link, items[1].decode(errors="replace"),
                             items[2].decode(errors="replace"), now)
            else:
                core.pubsub_activity(connection.link, now)
            return
        if not connection.waiting:
            return
        core.reply(connection.waiting.popleft(), frame, now)

    def _write(self, send: Send) -> None:
        connection = self._conns.get((send.link, send.conn))
        if connection is None or connection.writer is None or connection.closed:
            # Not connected: the reply will never come.
            self._core.reply(send, None, self._clock())
            return
        if send.conn is Conn.CMD:
            connection.waiting.append(send)
        try:
            connection.writer.write(resp.encode_command(send.args))
        except (OSError, RuntimeError):
            self._close((send.link, send.conn), notify=True)

    def _close(self, key: tuple[int, Conn], *, notify: bool) -> None:
        connection = self._conns.pop(key, None)
        if connection is None:
            return
        connection.closed = True
        if connection.writer is not None:
            with contextlib.suppress(Exception):
                connection.writer.close()
        if connection.task is not None and connection.task is not asyncio.current_task():
            connection.task.cancel()
        now = self._clock()
        waiting, connection.waiting = connection.waiting, collections.deque()
        for send in waiting:
            self._core.reply(send, None, now)
        if notify:
            self._core.disconnected(connection.link, connection.conn, now)
