"""`python -m redisha.writer --host HOST [options]`: the demo's writer as a real process.

The real backend's `redisha/writer` image runs this, with `--bind` set to the pod's
address so that its connections come from the pod (and partitions of the pod apply).
SIGTERM and SIGINT end it after the write under way, with a `stopped` line.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

from redisha.writer import options as options_mod
from redisha.writer.loop import WriterLoop


def _stdout(line: str) -> None:
    print(line, flush=True)


async def serve(options: options_mod.WriterOptions) -> int:
    """Write until a signal; the exit status."""
    async def dial(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        local = (options.bind, 0) if options.bind else None
        return await asyncio.open_connection(host, port, local_addr=local)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    try:
        return await WriterLoop(options, dial=dial, output=_stdout).run(stop)
    finally:
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(number)


def main(argv: list[str] | None = None) -> int:
    try:
        options = options_mod.parse(sys.argv[1:] if argv is None else argv,
                                    default_prefix=socket.gethostname())
    except options_mod.UsageError as exc:
        print(exc, file=sys.stderr)
        print(options_mod.USAGE, file=sys.stderr)
        return 2
    return asyncio.run(serve(options))


if __name__ == "__main__":
    sys.exit(main())
