"""The `memcached` program of the fake `memcached` image.

It parses the command line as memcached 1.4.36 does, prints what memcached prints before
serving (nothing at `-v`; slab classes and the listener at `-vv`), listens on the pod's
address at `-p` through the pod's sandbox, and on the container's stop request does what
memcached's SIGTERM handler does: prints `Signal handled: Terminated.` and exits 0 (the
`shutdown` command, allowed by `-A`, ends it the same way with `Interrupt.`).
`-l` is not consulted: a pod has one address, and memcached's default is all of them.
"""

from __future__ import annotations

import asyncio
import errno
import os
from dataclasses import dataclass

from cluster.runtime import images
from redisha.samples.memcached import options as options_mod
from redisha.samples.memcached.server import MemcachedServer

PID = 1
"""memcached is the container's first process."""
EX_OSERR = 71


@dataclass
class MemcachedProgram:
    """One run of `memcached [options]` inside a fake container."""

    async def run(self, ctx: images.ProgramContext) -> int:
        try:
            options = options_mod.parse(ctx.argv[1:])
        except options_mod.EarlyExit as exc:
            for line in exc.lines:
                ctx.stdout(line)
            return 0
        except options_mod.UsageError as exc:
            for line in exc.lines:
                ctx.stderr(line)
            return exc.code
        server = MemcachedServer(options, clock=ctx.clock, pid=PID, trace=ctx.stderr)
        for line in server.engine.startup_lines():
            ctx.stderr(line)
        if options.port:
            try:
                await server.listen_in(ctx.sandbox)
            except OSError as exc:
                reason = os.strerror(exc.errno or errno.EADDRINUSE)
                ctx.stderr(f"failed to listen on TCP port {options.port}: {reason}")
                await server.close()
                return EX_OSERR
        stop = asyncio.ensure_future(ctx.stop_requested.wait())
        stopped = asyncio.ensure_future(server.stopped.wait())
        try:
            await asyncio.wait({stop, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if server.engine.shutdown_requested:
                ctx.stdout("Signal handled: Interrupt.")  # `shutdown` raises SIGINT
            elif ctx.stop_requested.is_set():
                ctx.stdout("Signal handled: Terminated.")
        finally:
            stop.cancel()
            stopped.cancel()
            await asyncio.gather(stop, stopped, return_exceptions=True)
            await server.close()
        return 0
