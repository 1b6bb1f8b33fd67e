"""Real processes for containers and execs: process groups, signals, exit codes.

Each process starts a session of its own (`start_new_session=True`), so it leads a
process group that holds everything it forks; signals go to the whole group. When the
leader exits, the rest of the group is killed, as the end of a container's pid namespace
would; its output is then drained (for a bounded time, since an escaped grandchild may
keep a pipe open) and the exit code reported. All of it on the event loop: asyncio
subprocesses, no threads of ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any, Callable, Coroutine, Mapping

from cluster.runtime import base

Sink = Callable[[asyncio.StreamReader], Coroutine[Any, Any, None]]
"""Consumes one output pipe until EOF."""

DRAIN_SECONDS = 1.0
"""How long output may keep coming after the group is gone."""

SIGKILL_EXIT = 128 + signal.SIGKILL


def exit_code(returncode: int) -> int:
    """A shell's view of a wait status: killed by signal N → 128+N."""
    return 128 - returncode if returncode < 0 else returncode


class ProcessGroup:
    """A started process leading its own group, with its output fed to sinks."""

    def __init__(self, proc: asyncio.subprocess.Process, sinks: list[asyncio.Task[None]]) -> None:
        self._proc = proc
        self.pid = proc.pid
        self._sinks = sinks
        self.done: asyncio.Task[int] = asyncio.create_task(self._supervise())
        """The exit code, once the group is gone and its output drained."""

    @classmethod
    async def spawn(cls, argv: list[str], *, env: Mapping[str, str], cwd: str,
                    stdout: Sink, stderr: Sink, stdin: bytes | None = None) -> ProcessGroup:
        """Start `argv`; raises OSError when it cannot be executed."""
        proc = await asyncio.create_subprocess_exec(
            *argv, env=dict(env), cwd=cwd, start_new_session=True,
            stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        sinks: list[asyncio.Task[None]] = [asyncio.create_task(stdout(proc.stdout)),
                 asyncio.create_task(stderr(proc.stderr))]
        if stdin is not None:
            sinks.append(asyncio.create_task(_feed(proc, stdin)))
        return cls(proc, sinks)

    @property
    def exited(self) -> bool:
        return self._proc.returncode is not None

    def signal(self, signum: int) -> None:
        """Signal the whole group (quietly, if it is gone)."""
        if self.done.done():
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    async def stop(self, grace: float) -> int:
        """SIGTERM (and SIGCONT, in case it is frozen), SIGKILL after `grace` seconds."""
        self.signal(signal.SIGTERM)
        self.signal(signal.SIGCONT)
        try:
            async with asyncio.timeout(max(grace, 0.0)):
                return await asyncio.shield(self.done)
        except TimeoutError:
            self.kill()
            return await asyncio.shield(self.done)

    async def _supervise(self) -> int:
        try:
            returncode = await self._proc.wait()
        except asyncio.CancelledError:
            self.kill()
            await self._proc.wait()
            raise
        finally:
            # The leader is reaped; whatever it left in its group goes with it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        _, pending = await asyncio.wait(self._sinks, timeout=DRAIN_SECONDS)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._sinks, return_exceptions=True)
        return exit_code(returncode)


async def _feed(proc: asyncio.subprocess.Process, data: bytes) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(data)
        await proc.stdin.drain()
    proc.stdin.close()


def collect(into: bytearray) -> Sink:
    """A sink that keeps everything (for exec)."""

    async def sink(reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(65536):
            into.extend(chunk)

    return sink


async def run_captured(argv: list[str], *, env: Mapping[str, str], cwd: str,
                       stdin: bytes | None, timeout: float | None,
                       track: set[ProcessGroup] | None = None,
                       start_stopped: bool = False) -> base.ExecResult:
    """Run `argv` to completion and capture its output; TimeoutError after killing it.

    `track` holds the group while it runs (so a container's freeze and end reach it);
    `start_stopped` SIGSTOPs it at once, for an exec into a frozen container.
    """
    out, err = bytearray(), bytearray()
    group = await ProcessGroup.spawn(argv, env=env, cwd=cwd, stdin=stdin,
                                     stdout=collect(out), stderr=collect(err))
    if track is not None:
        track.add(group)
    if start_stopped:
        group.signal(signal.SIGSTOP)
    try:
        async with asyncio.timeout(timeout):
            code = await asyncio.shield(group.done)
    except TimeoutError:
        group.kill()
        await asyncio.shield(group.done)
        raise
    except asyncio.CancelledError:
        group.kill()
        await asyncio.shield(group.done)
        raise
    finally:
        if track is not None:
            track.discard(group)
    return base.ExecResult(code, bytes(out), bytes(err))
