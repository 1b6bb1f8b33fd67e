"""`redisha-writer`'s command line, shared by the in-process program and `python -m`.

A small hand-written parser rather than argparse: the fake image's program must print its
usage errors to the container's stderr (argparse writes to this process's own and exits
it), and the options are few.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

USAGE = ("usage: redisha-writer --host HOST [--port PORT] [--rate WRITES_PER_S] "
         "[--timeout SECONDS] [--prefix PREFIX] [--bind ADDRESS]")


class UsageError(Exception):
    """A bad command line; `str()` is one line naming the option at fault."""


@dataclass(frozen=True)
class WriterOptions:
    """What to write to, how fast, and how patiently."""

    host: str
    """The primary's address: the RedisFailover's primary Service (`rfrm-<name>`)."""
    port: int = 6379
    rate: float = 50.0
    """Write attempts a second (one at a time; a slow reply lowers the pace, never
    bunches attempts up)."""
    timeout: float = 0.5
    """Seconds a connection attempt or a reply may take before the write counts as
    failed and the connection is dropped (a hung primary answers nothing)."""
    prefix: str = "writer"
    """Keys are `<prefix>:<n>`; the program defaults it to the pod's hostname, so a
    replaced writer pod never writes another one's keys."""
    bind: str = ""
    """Source address for connections (the real backend's pod address); '' lets the
    system choose."""
    verify_timeout: float = 5.0
    """Seconds the check of every acknowledged key on a new primary may take."""
    verify_batch: int = 500
    """Keys per EXISTS during that check."""


_FIELDS = {"--host": "host", "--port": "port", "--rate": "rate", "--timeout": "timeout",
           "--prefix": "prefix", "--bind": "bind"}


def _convert(flag: str, name: str, text: str) -> object:
    if name == "port":
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise UsageError(f"redisha-writer: {flag} wants a port number (1-65535), got {text!r}")
        return int(text)
    if name in ("rate", "timeout"):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise UsageError(f"redisha-writer: {flag} wants a positive number, got {text!r}")
        return value
    if not text:
        raise UsageError(f"redisha-writer: {flag} wants a value")
    return text


def parse(argv: list[str], *, default_prefix: str = "writer") -> WriterOptions:
    """Options from `argv` (without the program name); raises UsageError."""
    values: dict[str, Any] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        flag, eq, inline = arg.partition("=")
        if flag not in _FIELDS:
            raise UsageError(f"redisha-writer: unknown option {arg!r}")
        if eq:
            text = inline
        elif args:
            text = args.pop(0)
        else:
            raise UsageError(f"redisha-writer: {flag} wants a value")
        values[_FIELDS[flag]] = _convert(flag, _FIELDS[flag], text)
    if "host" not in values:
        raise UsageError("redisha-writer: --host is required")
    values.setdefault("prefix", default_prefix)
    return dataclasses.replace(WriterOptions(host=str(values.pop("host"))), **values)
