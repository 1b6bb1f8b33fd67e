"""The `redis-server` program of the fake `redis` image.

`redis-server [conf-file] [--option value …]` as Redis runs it: the configuration is read
(the file through the container's filesystem, so a container's private /tmp works: the
tutorial's `echo "slaveof …" > /tmp/redis.conf; redis-server /tmp/redis.conf`), the startup
banner is logged, the RDB file in `dir` is loaded if there is one, the server listens on the
pod's address, and it runs until SHUTDOWN or the container's stop request (SIGTERM: it logs
`Received SIGTERM scheduling shutdown...`, saves if save points are configured, and exits 0).
"""

from __future__ import annotations

import asyncio
import errno
import os
from dataclasses import dataclass, field

from cluster.runtime import images
from redisha.server import config as config_module
from redisha.server.config import REDIS_VERSION, FatalConfigError
from redisha.server.logs import Level, Role, ServerLog
from redisha.server.server import RedisServer, ServerSettings

PID = 1
"""redis-server is the container's first process in the official image."""


@dataclass
class ContainerFiles:
    """The RDB file and CONFIG REWRITE's target, in the container's filesystem.

    Only paths the container owns (its private directories and its volumes) are written: a
    fake container without namespaces must not write into the host's own /data.
    """

    ctx: images.ProgramContext

    def _owned(self, path: str) -> str | None:
        real = self.ctx.host_path(path)
        view = self.ctx.view
        if view.is_private(real):
            return real
        for mount in view.mounts:
            root = mount.host_path.rstrip("/")
            if (real == root or real.startswith(root + "/")) and not mount.read_only:
                return real
        return None

    def read(self, path: str) -> bytes | None:
        real = self._owned(path)
        if real is None:
            return None
        try:
            with open(real, "rb") as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def write(self, path: str, data: bytes) -> None:
        real = self._owned(path)
        if real is None:
            raise OSError(errno.EACCES, "Permission denied")
        temporary = path + ".tmp"
        with self.ctx.open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(self.ctx.host_path(temporary), real)


@dataclass
class RedisServerProgram:
    """One redis-server process."""

    settings: ServerSettings = field(default_factory=ServerSettings)

    async def run(self, ctx: images.ProgramContext) -> int:
        argv = ctx.argv[1:]
        if argv and argv[0] in ("-v", "--version"):
            ctx.stdout(f"Redis server v={REDIS_VERSION} sha=00000000:0 malloc=jemalloc-5.3.0 "
                       "bits=64 build=0")
            return 0
        log = ServerLog(ctx.stdout, pid=PID, clock=ctx.clock)

        def read_text(path: str) -> str:
            with ctx.open(path, "r", errors="surrogateescape") as handle:
                return handle.read()

        try:
            path, text = config_module.config_lines(argv, read_text)
        except OSError as exc:
            log.warning(f"Fatal error, can't open config file '{argv[0]}': "
                        f"{exc.strerror or exc}")
            return 1
        try:
            config = config_module.load(text, file=path, defaults={"dir": ctx.cwd or "/"})
        except FatalConfigError as exc:
            for line in exc.banner():
                ctx.stderr(line)
            return 1
        log.warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
        log.warning(f"Redis version={REDIS_VERSION}, bits=64, commit=00000000, modified=0, "
                    f"pid={PID}, just started")
        if path is None:
            log.warning("Warning: no config file specified, using the default config. In order "
                        "to specify a config file use redis-server /path/to/redis.conf")
        else:
            log.warning("Configuration loaded")
        log.level = Level.named(config.get("loglevel"))
        log.role = Role.REPLICA if config.replicaof else Role.PRIMARY
        log.notice("monotonic clock: POSIX clock_gettime")
        log.notice(f"Running mode=standalone, port={config.port}.")
        log.warning("Server initialized")
        server = RedisServer(config, sandbox=ctx.sandbox, log=log, clock=ctx.clock,
                             files=ContainerFiles(ctx), settings=self.settings)
        server.prepare()
        try:
            await server.start()
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            log.warning(f"Warning: Could not create server TCP listening socket "
                        f"{ctx.sandbox.ip}:{config.port}: bind: {reason}")
            log.warning(f"Failed listening on port {config.port} (tcp), aborting.")
            await server.close()
            return 1
        log.notice("Ready to accept connections")
        stop = asyncio.ensure_future(ctx.stop_requested.wait())
        stopped = asyncio.ensure_future(server.stopped.wait())
        try:
            await asyncio.wait({stop, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not server.stopped.is_set():
                log.signal("Received SIGTERM scheduling shutdown...")
                server.shutdown()
        finally:
            stop.cancel()
            stopped.cancel()
            await server.close()
        return 0
