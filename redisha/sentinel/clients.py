"""The sentinel's client port: connections, RESP2/RESP3, and pub/sub of its events.

Each accepted connection reads commands with `resp.RequestParser` and answers them in
order through `commands.dispatch`. A connection that subscribed (`SUBSCRIBE +switch-master`,
`PSUBSCRIBE *`) receives events as Redis delivers messages: `message`/`pmessage` arrays in
RESP2, push frames in RESP3; while subscribed in RESP2 only the pub/sub commands, PING,
QUIT and RESET are accepted, with Redis' error for anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redisha.sentinel import decisions
from redisha.server import resp


class NullArray:
    """`*-1` in RESP2, `_` in RESP3 (GET-MASTER-ADDR-BY-NAME of an unknown master)."""


NULL_ARRAY = NullArray()


def encode(frame: Any, protocol: int) -> bytes:
    if isinstance(frame, NullArray):
        return b"_\r\n" if protocol == 3 else b"*-1\r\n"
    return resp.encode(frame, protocol)


@dataclass(eq=False)
class Client:
    """One connection to the sentinel's port."""

    id: int
    writer: asyncio.StreamWriter
    created: float
    addr: str = ""
    laddr: str = ""
    protocol: int = 2
    name: str = ""
    channels: set[str] = field(default_factory=set)
    patterns: set[str] = field(default_factory=set)
    closing: bool = False
    last_command: str = "NULL"
    last_interaction: float = 0.0

    @property
    def subscribed(self) -> bool:
        return bool(self.channels or self.patterns)

    def send(self, frame: Any) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(frame, self.protocol))

    def describe(self, now: float) -> str:
        """A CLIENT LIST line."""
        flags = "P" if self.subscribed else "N"
        return (f"id={self.id} addr={self.addr} laddr={self.laddr} fd=8 name={self.name} "
                f"age={int(now - self.created)} idle={int(now - self.last_interaction)} "
                f"flags={flags} db=0 sub={len(self.channels)} psub={len(self.patterns)} "
                f"ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 "
                f"obl=0 oll=0 omem=0 tot-mem=20000 events=r cmd={self.last_command} "
                f"user=default redir=-1 resp={self.protocol}")


class ClientHub:
    """Every client connection, and the pub/sub of events to them."""

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._ids = itertools.count(3)
        self.clients: dict[int, Client] = {}
        self.total_connections = 0
        self.total_commands = 0
        self.total_error_replies = 0

    def accept(self, writer: asyncio.StreamWriter) -> Client:
        peer = writer.get_extra_info("peername") or ("?", 0)
        local = writer.get_extra_info("sockname") or ("?", 0)
        now = self._clock()
        client = Client(next(self._ids), writer, now, f"{peer[0]}:{peer[1]}",
                        f"{local[0]}:{local[1]}", last_interaction=now)
        self.clients[client.id] = client
        self.total_connections += 1
        return client

    def forget(self, client: Client) -> None:
        self.clients.pop(client.id, None)

    def publish(self, channel: str, message: str) -> int:
        """Deliver to subscribers of `channel` and of patterns matching it."""
        receivers = 0
        payload = message.encode()
        name = channel.encode()
        for client in list(self.clients.values()):
            if channel in client.channels:
                client.send(_push(client, [b"message", name, payload]))
                receivers += 1
            for pattern in client.patterns:
                if decisions.glob_match(pattern, channel):
                    client.send(_push(client, [b"pmessage", pattern.encode(), name, payload]))
                    receivers += 1
        return receivers

    def channel_count(self) -> int:
        return len({c for client in self.clients.values() for c in client.channels})

    def pattern_count(self) -> int:
        return len({p for client in self.clients.values() for p in client.patterns})

    async def close(self) -> None:
        for client in list(self.clients.values()):
            client.closing = True
            with contextlib.suppress(Exception):
                client.writer.close()
        self.clients.clear()


def _push(client: Client, items: list[Any]) -> Any:
    return resp.Push(items) if client.protocol == 3 else items


SUBSCRIBED_CONTEXT = {b"subscribe", b"psubscribe", b"ssubscribe", b"unsubscribe",
                      b"punsubscribe", b"sunsubscribe", b"ping", b"quit", b"reset"}


def subscribe(client: Client, args: list[bytes]) -> list[Any]:
    """SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE: one reply per channel."""
    verb = args[0].lower()
    pattern = verb in (b"psubscribe", b"punsubscribe")
    target = client.patterns if pattern else client.channels
    kind = verb.decode()
    names = [a.decode(errors="replace") for a in args[1:]]
    replies: list[Any] = []
    if verb in (b"subscribe", b"psubscribe"):
        for name in names:
            target.add(name)
            replies.append(_push(client, [kind.encode(), name.encode(),
                                          len(client.channels) + len(client.patterns)]))
        return replies
    if not names:
        names = sorted(target)
        if not names:
            return [_push(client, [kind.encode(), None, 0])]
    for name in names:
        target.discard(name)
        replies.append(_push(client, [kind.encode(), name.encode(),
                                      len(client.channels) + len(client.patterns)]))
    return replies
