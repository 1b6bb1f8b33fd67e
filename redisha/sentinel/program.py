"""The `redis-sentinel` program of the fake `redisha/sentinel` image (and `redis-server
CONF --sentinel`).

`redis-sentinel /tmp/sentinel.conf [--option value …]` as Redis runs it: the config file
is read through the container's filesystem and must be writable (the sentinel rewrites it
with its state), the startup banner is logged, the sentinel listens on the pod's address
(port 26379 by default) and connects out through the pod's sandbox, so the cluster
network's partitions and freezes apply to its links. It runs until SHUTDOWN or the
container's stop request.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

from cluster.runtime import images
from redisha.sentinel import config as config_module
from redisha.sentinel.service import SentinelService
from redisha.sentinel.settings import SentinelSettings
from redisha.server.config import REDIS_VERSION, FatalConfigError, config_lines
from redisha.server.logs import Level, Role, ServerLog
from redisha.server.program import ContainerFiles

PID = 1

VERSION_LINE = (f"Redis server v={REDIS_VERSION} sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 "
                "build=0")


@dataclass
class _ContainerConfigFile:
    """The config file through the container's filesystem."""

    ctx: images.ProgramContext
    path: str

    def read(self) -> str:
        with self.ctx.open(self.path, "r", errors="surrogateescape") as handle:
            return str(handle.read())

    def write(self, text: str) -> None:
        ContainerFiles(self.ctx).write(self.path, text.encode(errors="surrogateescape"))

    def check_writable(self) -> str:
        """'' when the sentinel may write the file, else why not (`access(W_OK)`'s answer,
        found by writing the content back unchanged)."""
        try:
            self.write(self.read())
        except OSError as exc:
            return exc.strerror or str(exc)
        return ""


def banner(log: ServerLog, port: int) -> None:
    """What redis-sentinel logs before it runs."""
    log.warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    log.warning(f"Redis version={REDIS_VERSION}, bits=64, commit=00000000, modified=0, "
                f"pid={log.pid}, just started")
    log.warning("Configuration loaded")
    log.notice("monotonic clock: POSIX clock_gettime")
    log.notice(f"Running mode=sentinel, port={port}.")


@dataclass
class SentinelProgram:
    """One sentinel process in a fake container."""

    settings: SentinelSettings = field(default_factory=SentinelSettings)
    via_server: bool = False
    """Run as `redis-server` (which needs `--sentinel`)."""

    async def run(self, ctx: images.ProgramContext) -> int:
        argv = ctx.argv[1:]
        if argv and argv[0] in ("-v", "--version"):
            ctx.stdout(VERSION_LINE)
            return 0
        if self.via_server:
            if "--sentinel" not in argv:
                ctx.stderr("redis-server: the redisha/sentinel image runs only Sentinel: "
                           "start it as redis-sentinel CONF or redis-server CONF --sentinel")
                return 1
            argv = [a for a in argv if a != "--sentinel"]
        log = ServerLog(ctx.stdout, pid=PID, clock=ctx.clock)
        log.role = Role.SENTINEL

        def read_text(path: str) -> str:
            with ctx.open(path, "r", errors="surrogateescape") as handle:
                return str(handle.read())

        try:
            path, text = config_lines(argv, read_text)
        except OSError as exc:
            log.warning(f"Fatal error, can't open config file '{argv[0]}': "
                        f"{exc.strerror or exc}")
            return 1
        if path is None:
            log.warning("Sentinel needs config file on disk to save state. Exiting...")
            return 1
        file = _ContainerConfigFile(ctx, path)
        problem = file.check_writable()
        if problem:
            log.warning(f"Sentinel config file {path} is not writable: {problem}. Exiting...")
            return 1
        try:
            config = config_module.parse(text, file=path)
        except FatalConfigError as exc:
            for line in exc.banner():
                ctx.stderr(line)
            return 1
        log.level = Level.named(config.loglevel)
        banner(log, config.port)
        service = SentinelService(config, config_file=file, dial=ctx.sandbox.open_connection,
                                  listen=ctx.sandbox.start_server, log=log,
                                  settings=self.settings,
                                  clock=asyncio.get_running_loop().time, wall_clock=ctx.clock,
                                  pid=PID)
        try:
            await service.start()
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            log.warning(f"Warning: Could not create server TCP listening socket "
                        f"{ctx.sandbox.ip}:{config.port}: bind: {reason}")
            log.warning(f"Failed listening on port {config.port} (tcp), aborting.")
            await service.close()
            return 1
        return await run_until_stopped(service, ctx.stop_requested)


async def run_until_stopped(service: SentinelService, stop: asyncio.Event) -> int:
    """Serve until `stop` (SIGTERM) or SHUTDOWN; 0 either way."""
    stop_wait = asyncio.ensure_future(stop.wait())
    stopped_wait = asyncio.ensure_future(service.stopped.wait())
    try:
        await asyncio.wait({stop_wait, stopped_wait}, return_when=asyncio.FIRST_COMPLETED)
        if not service.stopped.is_set():
            service.log.signal("Received SIGTERM scheduling shutdown...")
            service.shutdown()
    finally:
        stop_wait.cancel()
        stopped_wait.cancel()
        await service.close()
    return 0
