"""`python -m redisha.samples.memcached [memcached options]`: the fake memcached as a process.

The same server the fake image runs, on real sockets: `-l ADDR` (comma-separated, each
optionally `ADDR:PORT`) and `-p PORT` say where to listen. SIGTERM and SIGINT stop it the
way they stop memcached (`Signal handled: Terminated.` on stdout, exit 0); a port that
cannot be bound exits 71 with memcached's `failed to listen on TCP port …` line.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sys

from redisha.samples.memcached import options as options_mod
from redisha.samples.memcached.program import EX_OSERR
from redisha.samples.memcached.server import MemcachedServer, listen_addresses


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def serve(options: options_mod.MemcachedOptions) -> int:
    """Run until a signal or the `shutdown` command; returns the exit status."""
    server = MemcachedServer(options, trace=_stderr)
    for line in server.engine.startup_lines():
        _stderr(line)
    try:
        if options.port:
            for host, port in listen_addresses(options):
                await server.start(host, port)
    except OSError as exc:
        reason = os.strerror(exc.errno or errno.EADDRINUSE)
        _stderr(f"failed to listen on TCP port {options.port}: {reason}")
        await server.close()
        return EX_OSERR
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def on_signal(number: int) -> None:
        received.append(number)
        server.stopped.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, on_signal, number)
    try:
        await server.stopped.wait()
        if received:
            print(f"Signal handled: {signal.strsignal(received[0])}.", flush=True)
        elif server.engine.shutdown_requested:  # memcached's `shutdown` raises SIGINT
            print(f"Signal handled: {signal.strsignal(signal.SIGINT)}.", flush=True)
    finally:
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)
        await server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        options = options_mod.parse(sys.argv[1:] if argv is None else argv)
    except options_mod.EarlyExit as exc:
        print("\n".join(exc.lines), flush=True)
        return 0
    except options_mod.UsageError as exc:
        for line in exc.lines:
            _stderr(line)
        return exc.code
    return asyncio.run(serve(options))


if __name__ == "__main__":
    sys.exit(main())
