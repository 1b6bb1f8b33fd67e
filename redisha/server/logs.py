"""Log lines as redis-server 7 writes them: `<pid>:<role> <dd Mon yyyy HH:MM:SS.mmm> <level> <msg>`.

The role character is the server's role at the moment of the line (`M` primary, `S`
replica, `C` a child process or before the role is known, `X` sentinel); the level character
is `.` debug, `-` verbose, `*` notice, `#` warning. Lines below the configured `loglevel` are
dropped, as Redis does. Times are UTC: containers run with TZ unset.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class Level(enum.IntEnum):
    DEBUG = 0
    VERBOSE = 1
    NOTICE = 2
    WARNING = 3

    @property
    def char(self) -> str:
        return ".-*#"[self]

    @classmethod
    def named(cls, name: str) -> Level:
        return cls[name.upper()]


class Role(str, enum.Enum):
    PRIMARY = "M"
    REPLICA = "S"
    CHILD = "C"
    SENTINEL = "X"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def timestamp(now: float) -> str:
    """`26 Nov 2026 16:11:48.232`."""
    t = time.gmtime(now)
    millis = int((now - int(now)) * 1000)
    return (f"{t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{millis:03d}")


def format_line(pid: int, role: Role, now: float, level: Level, message: str) -> str:
    return f"{pid}:{role.value} {timestamp(now)} {level.char} {message}"


class ServerLog:
    """Where one server's lines go (`write`, e.g. `ctx.stdout`), with its pid and role."""

    def __init__(self, write: Callable[[str], None], *, pid: int = 1,
                 clock: Callable[[], float] = time.time, level: Level = Level.NOTICE) -> None:
        self._write = write
        self.pid = pid
        self._clock = clock
        self.level = level
        self.role = Role.CHILD

    def log(self, level: Level, message: str, *, role: Role | None = None,
            pid: int | None = None) -> None:
        """`pid` for a line a child process writes (a fork saving the RDB has its own)."""
        if level < self.level:
            return
        self._write(format_line(pid or self.pid, role or self.role, self._clock(), level,
                                message))

    def notice(self, message: str) -> None:
        self.log(Level.NOTICE, message)

    def warning(self, message: str) -> None:
        self.log(Level.WARNING, message)

    def verbose(self, message: str) -> None:
        self.log(Level.VERBOSE, message)

    def signal(self, message: str) -> None:
        """What the signal handler writes: `1:signal-handler (1795709530) Received SIGTERM…`."""
        self._write(f"{self.pid}:signal-handler ({int(self._clock())}) {message}")
