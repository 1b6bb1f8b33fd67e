"""The fake image's `memcached` program: flags, stop request, `shutdown`, with a stub sandbox."""

from __future__ import annotations

import asyncio
from typing import Any

from cluster.runtime import images
from redisha.samples.memcached.image import memcached_image


class LoopbackSandbox:
    """Just enough of a pod sandbox: listens on 127.0.0.1 at a free port, whatever is asked."""

    ip = "127.0.0.1"

    def __init__(self) -> None:
        self.servers: list[asyncio.Server] = []

    async def start_server(self, handler: Any, port: int) -> asyncio.Server:
        server = await asyncio.start_server(handler, self.ip, 0)
        self.servers.append(server)
        return server

    @property
    def port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1])


def context(argv: list[str], lines: list[tuple[str, str]],
            sandbox: LoopbackSandbox) -> images.ProgramContext:
    return images.ProgramContext(argv=argv, env={}, hostname="memcached-0",
                                 sandbox=sandbox,  # type: ignore[arg-type]
                                 view=None,  # type: ignore[arg-type]  # never touches files
                                 output=lambda stream, line: lines.append((stream, line)))


async def run(argv: list[str], sandbox: LoopbackSandbox | None = None
              ) -> tuple[asyncio.Task[int], images.ProgramContext, list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []
    ctx = context(argv, lines, sandbox or LoopbackSandbox())
    program = memcached_image().program(argv[0])
    assert program is not None
    return asyncio.ensure_future(images.run_program(program, ctx)), ctx, lines


async def listening(sandbox: LoopbackSandbox, task: asyncio.Task[int]) -> None:
    async with asyncio.timeout(5):
        while not sandbox.servers:
            assert not task.done(), task.result()
            await asyncio.sleep(0.001)


async def test_stop_request_ends_it_like_sigterm() -> None:
    """The sample's command line serves, prints nothing at -v, and stops with memcached's line."""
    sandbox = LoopbackSandbox()
    task, ctx, lines = await run(["memcached", "-m=64", "-o", "modern", "-v"], sandbox)
    await listening(sandbox, task)
    reader, writer = await asyncio.open_connection(sandbox.ip, sandbox.port)
    writer.write(b"version\r\nshutdown\r\n")
    assert await asyncio.wait_for(reader.readline(), 5) == b"VERSION 1.4.36\r\n"
    assert await asyncio.wait_for(reader.readline(), 5) == b"ERROR: shutdown not enabled\r\n"
    ctx.stop_requested.set()
    assert await asyncio.wait_for(task, 5) == 0
    assert lines == [("stdout", "Signal handled: Terminated.")]
    assert await asyncio.wait_for(reader.read(), 5) == b""  # the client was hung up on
    writer.close()


async def test_shutdown_command_needs_dash_a() -> None:
    """With -A, `shutdown` ends the program (exit 0) as memcached's SIGINT does."""
    sandbox = LoopbackSandbox()
    task, _ctx, lines = await run(["memcached", "-A"], sandbox)
    await listening(sandbox, task)
    _reader, writer = await asyncio.open_connection(sandbox.ip, sandbox.port)
    writer.write(b"shutdown\r\n")
    assert await asyncio.wait_for(task, 5) == 0
    assert lines == [("stdout", "Signal handled: Interrupt.")]
    writer.close()


async def test_bad_flag_exits_1_with_memcacheds_lines() -> None:
    """An unknown option never listens: two stderr lines and exit status 1."""
    sandbox = LoopbackSandbox()
    task, _ctx, lines = await run(["memcached", "-q"], sandbox)
    assert await asyncio.wait_for(task, 5) == 1
    assert lines == [("stderr", "memcached: unrecognized option: q"),
                     ("stderr", 'Illegal argument "?"')]
    assert sandbox.servers == []


async def test_version_flag() -> None:
    """`memcached -V` prints its version and exits 0."""
    task, _ctx, lines = await run(["memcached", "-V"])
    assert await asyncio.wait_for(task, 5) == 0
    assert lines == [("stdout", "memcached 1.4.36")]
