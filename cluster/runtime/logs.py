"""A container's output: a bounded buffer of lines that readers can follow.

Both runtimes write here: fake programs through `ProgramContext.stdout/stderr`, real
processes through `pump_lines`, which cuts a pipe into lines. The buffer keeps the last
`limit` lines of the current attempt (the kubelet keeps previous attempts), and `follow()`
streams them and then whatever comes next, until the container has exited and its output
is drained (`close()`), as `kubectl logs -f` does.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import AsyncIterator, Callable

from cluster.runtime import base

STDOUT = "stdout"
STDERR = "stderr"

DEFAULT_LIMIT = 10_000
"""Lines retained per container attempt."""

MAX_LINE_BYTES = 64 * 1024
"""A longer run of bytes without a newline is cut into several lines, as containerd does."""


class LogBuffer:
    """The retained lines of one container attempt; implements `base.ContainerLog`."""

    __slots__ = ("_clock", "_closed", "_lines", "_waiter", "_written")

    def __init__(self, *, limit: int = DEFAULT_LIMIT,
                 clock: Callable[[], float] = time.time) -> None:
        self._lines: deque[base.LogLine] = deque(maxlen=limit)
        self._written = 0
        """Lines ever written; with len(_lines) it tells followers what fell off the front."""
        self._closed = False
        self._waiter: asyncio.Future[None] | None = None
        self._clock = clock

    @property
    def closed(self) -> bool:
        return self._closed

    def write(self, stream: str, text: str) -> None:
        """Append `text` (split at newlines) as lines of `stream`; ignored once closed."""
        if self._closed:
            return
        now = self._clock()
        for part in text.split("\n") if "\n" in text else (text,):
            self._lines.append(base.LogLine(now, stream, part))
            self._written += 1
        self._wake()

    def close(self) -> None:
        """No more lines will come: followers finish after the last one."""
        self._closed = True
        self._wake()

    def lines(self) -> list[base.LogLine]:
        return list(self._lines)

    async def follow(self) -> AsyncIterator[base.LogLine]:
        position = self._written - len(self._lines)
        while True:
            first = self._written - len(self._lines)
            position = max(position, first)
            if position < self._written:
                line = self._lines[position - first]
                position += 1
                yield line
                continue
            if self._closed:
                return
            if self._waiter is None:
                self._waiter = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._waiter)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def pump_lines(reader: asyncio.StreamReader, write: Callable[[str], None]) -> None:
    """Feed `reader` to `write` a line at a time (without the newline) until EOF."""
    pending = bytearray()
    while chunk := await reader.read(65536):
        pending += chunk
        start = 0
        while (end := pending.find(b"\n", start)) >= 0:
            write(_decode(pending[start:end]))
            start = end + 1
        del pending[:start]
        while len(pending) >= MAX_LINE_BYTES:
            write(_decode(pending[:MAX_LINE_BYTES]))
            del pending[:MAX_LINE_BYTES]
    if pending:
        write(_decode(pending))


def _decode(raw: bytes | bytearray) -> str:
    return raw.decode("utf-8", "replace").removesuffix("\r")
