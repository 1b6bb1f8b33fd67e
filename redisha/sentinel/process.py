"""`python -m redisha.sentinel CONF [--option value …]`: the built-in Sentinel as a process.

The real backend runs it in pods (`real.process_image`), where the wrapper adds `--bind
<pod IP> --bind-source-addr <pod IP>`: the sentinel listens on its pod's address only and
connects from it, so the cluster network's partitions (matched on source addresses)
apply to its links as they do to redis-server's. Log lines go to stdout in Redis' format;
SIGTERM saves the state and exits 0.

Timing: `REDISHA_SENTINEL_SETTINGS` shortens the sentinel's periods, e.g. `quick` (the
tests' `SentinelSettings.quick()`) or `quick,tick=0.01`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from redisha.sentinel import config as config_module
from redisha.sentinel.program import VERSION_LINE, banner, run_until_stopped
from redisha.sentinel.service import SentinelService
from redisha.sentinel.settings import SentinelSettings
from redisha.server.config import FatalConfigError, config_lines
from redisha.server.logs import Level, Role, ServerLog

SETTINGS_ENV = "REDISHA_SENTINEL_SETTINGS"


def settings_from(text: str) -> SentinelSettings:
    """`quick`, `name=value` pairs, or both, comma-separated; raises ValueError."""
    settings = SentinelSettings()
    fields = {f.name: f.type for f in dataclasses.fields(SentinelSettings)}
    for item in filter(None, (part.strip() for part in text.split(","))):
        if item == "quick":
            settings = SentinelSettings.quick()
            continue
        name, sep, value = item.partition("=")
        if not sep or name not in fields:
            raise ValueError(f"{SETTINGS_ENV}: unknown setting '{item}'")
        number: Any = int(value) if fields[name] in ("int", int) else float(value)
        settings = dataclasses.replace(settings, **{name: number})
    return settings


@dataclass
class _File:
    path: str

    def read(self) -> str:
        with open(self.path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()

    def write(self, text: str) -> None:
        temporary = f"{self.path}.tmp-{os.getpid()}"
        with open(temporary, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)


async def serve(argv: list[str], *, env: Mapping[str, str],
                write: Callable[[str], None]) -> int:
    """Run one sentinel until SIGTERM or SHUTDOWN; the exit code."""
    if argv and argv[0] in ("-v", "--version"):
        write(VERSION_LINE)
        return 0
    argv = [a for a in argv if a != "--sentinel"]
    log = ServerLog(write, pid=os.getpid())
    log.role = Role.SENTINEL
    try:
        settings = settings_from(env.get(SETTINGS_ENV, ""))
    except ValueError as exc:
        log.warning(str(exc))
        return 1

    def read_text(path: str) -> str:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()

    try:
        path, text = config_lines(argv, read_text)
    except OSError as exc:
        log.warning(f"Fatal error, can't open config file '{argv[0]}': {exc.strerror or exc}")
        return 1
    if path is None:
        log.warning("Sentinel needs config file on disk to save state. Exiting...")
        return 1
    if not os.access(path, os.W_OK):
        log.warning(f"Sentinel config file {path} is not writable: "
                    f"{os.strerror(13)}. Exiting...")
        return 1
    try:
        config = config_module.parse(text, file=path)
    except FatalConfigError as exc:
        for line in exc.banner():
            print(line, file=sys.stderr, flush=True)
        return 1
    log.level = Level.named(config.loglevel)
    banner(log, config.port)
    source = config.bind_source_addr

    async def dial(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if source:
            return await asyncio.open_connection(host, port, local_addr=(source, 0))
        return await asyncio.open_connection(host, port)

    async def listen(handler: object, port: int) -> asyncio.Server:
        return await asyncio.start_server(handler, host=config.bind or None,  # type: ignore[arg-type]
                                          port=port, reuse_address=True)

    loop = asyncio.get_running_loop()
    service = SentinelService(config, config_file=_File(path), dial=dial, listen=listen,
                              log=log, settings=settings, clock=loop.time, pid=os.getpid(),
                              executable=sys.argv[0] or "redis-sentinel")
    try:
        await service.start()
    except OSError as exc:
        where = " ".join(config.bind) or "*"
        log.warning(f"Warning: Could not create server TCP listening socket {where}:"
                    f"{config.port}: bind: {os.strerror(exc.errno) if exc.errno else exc}")
        log.warning(f"Failed listening on port {config.port} (tcp), aborting.")
        await service.close()
        return 1
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return await run_until_stopped(service, stop)


def main(argv: list[str] | None = None) -> int:
    def write(line: str) -> None:
        print(line, flush=True)

    return asyncio.run(serve(list(sys.argv[1:] if argv is None else argv), env=os.environ,
                             write=write))
