"""What the sentinel's core asks of the world, and what it tells it.

The core (`core.SentinelCore`) never does I/O: it returns `Action`s — `Connect`, `Close`,
`Send` (with the `Purpose` that says what to do with the reply) — and `Event`s and
`LogLine`s for the log and the event channels. Client commands it refuses raise
`CommandError` with Redis' error text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from redisha.sentinel.instances import Address, Conn
from redisha.server.logs import Level

FORCED = "FORCED"
"""The optional sixth argument of `SENTINEL IS-MASTER-DOWN-BY-ADDR` marking a vote request
of a forced failover (`SENTINEL FAILOVER`): peers vote for it without seeing the master
down themselves. Real Sentinels reject the extra argument, so they never vote for it."""


class Purpose(str, enum.Enum):
    """Why a command was sent: what to do with its reply."""

    DISCARD = "discard"
    PING = "ping"
    INFO = "info"
    PUBLISH = "publish"
    ASK = "ask"
    EXEC = "exec"
    """The EXEC of the REPLICAOF transaction; an error means the server refused the
    transaction (our fake runs REPLICAOF only outside MULTI) and the commands are resent
    on their own."""


@dataclass(frozen=True)
class Send:
    """Send `args` on a link's connection; the reply comes back to `SentinelCore.reply`."""

    link: int
    args: tuple[str, ...]
    purpose: Purpose
    conn: Conn = Conn.CMD
    about: Any = None
    """For ASK, the master incarnation asked about; for EXEC, the REPLICAOF arguments."""


@dataclass(frozen=True)
class Connect:
    """Open a link's connection to `address`."""

    link: int
    address: Address
    conn: Conn


@dataclass(frozen=True)
class Close:
    """Close a link's connection (`conn` None: all of them, the link is gone)."""

    link: int
    conn: Conn | None = None


Action = Send | Connect | Close


@dataclass(frozen=True)
class Event:
    """A Sentinel event: logged as `<type> <text>`, published on channel `<type>`."""

    type: str
    level: Level
    text: str

    @property
    def line(self) -> str:
        return f"{self.type} {self.text}" if self.text else self.type


@dataclass(frozen=True)
class LogLine:
    """A plain log line that is not an event (`Sentinel ID is …`)."""

    level: Level
    text: str


class CommandError(Exception):
    """A client command refused; the message is the Redis error (`ERR …`, `INPROG …`)."""
