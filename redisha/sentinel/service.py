"""A running sentinel: the core, its links, its client port, its timer, its log and file.

`SentinelService` is the thin asyncio shell around `core.SentinelCore` shared by both ways
the sentinel runs — the fake image's in-process program (`program`) and the standalone
process of the real backend (`process`); they differ only in how connections are made
(`dial`, `listen`) and how the config file is read and written (`ConfigFile`).

After every timer tick, every client command and every reply, `flush` carries out what the
core decided: actions to `LinkPool`, events to the log (`1:X 26 Nov 2026 16:11:48.232 #
+sdown master mymaster 10.0.0.1 6379`) and to subscribers of their channels, and the state
to the config file as Sentinel's config rewrite would write it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redisha.sentinel import commands, replies
from redisha.sentinel import config as config_module
from redisha.sentinel.actions import Event
from redisha.sentinel.clients import ClientHub
from redisha.sentinel.config import SentinelConfig
from redisha.sentinel.core import SentinelCore
from redisha.sentinel.links import Dial, LinkPool
from redisha.sentinel.settings import SentinelSettings
from redisha.server import resp
from redisha.server.logs import Level, ServerLog

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Listen = Callable[[Handler, int], Awaitable[Any]]
"""`listen(handler, port)` → a server object with `close()` (the pod's address only)."""


class ConfigFile(Protocol):
    """The sentinel's config file, as the container sees it."""

    path: str

    def read(self) -> str: ...

    def write(self, text: str) -> None:
        """Replace the file's content (raises OSError)."""
        ...


class SentinelService:
    """One sentinel process's event loop side; see the module docstring."""

    def __init__(self, config: SentinelConfig, *, config_file: ConfigFile, dial: Dial,
                 listen: Listen, log: ServerLog, settings: SentinelSettings | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, rng: random.Random | None = None,
                 pid: int = 1, executable: str = "/usr/local/bin/redis-sentinel") -> None:
        self.settings = settings or SentinelSettings()
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        self.log = log
        self.config = config
        self.config_file = config_file
        self.core = SentinelCore(config, settings=self.settings, rng=self._rng, now=clock())
        self.hub = ClientHub(clock=clock)
        self.links = LinkPool(self.core, dial=dial, clock=clock,
                              connect_timeout=self.settings.connect_timeout,
                              on_input=self._poke)
        self.stopped = asyncio.Event()
        """Set by SHUTDOWN."""
        self._listen = listen
        self._listener: Any = None
        self._serving: set[asyncio.Task[Any]] = set()
        """The client connections' tasks, awaited by `close`."""
        self._timer: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._pid = pid
        self._executable = executable
        self._started_wall = wall_clock()
        self._run_id = "".join(self._rng.choice("0123456789abcdef") for _ in range(40))

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen (raises OSError like bind), announce the masters, start the timer."""
        self._listener = await self._listen(self._serve, self.config.port)
        # A sentinel that just picked its ID saves it before it logs it (`sentinelIsRunning`).
        snapshot = self.core.take_config()
        if snapshot is not None:
            self._save(snapshot)
        self.core.startup_events()
        self.flush()
        self._timer = asyncio.get_running_loop().create_task(self._run_timer(),
                                                             name="sentinel timer")

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(BaseException):
                await self._timer
            self._timer = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        await self.links.close()
        await self.hub.close()
        await self._connections_ended()

    async def _connections_ended(self) -> None:
        """Let the client tasks see their closed connections and end. Left to
        `asyncio.run` they would be cancelled, and Python 3.11's stream server then prints
        a traceback per connected client to the log after Sentinel's last line."""
        pending = [task for task in self._serving if not task.done()]
        if not pending:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await asyncio.gather(*pending, return_exceptions=True)

    def shutdown(self) -> None:
        """SHUTDOWN: save the state and stop."""
        self.log.warning("User requested shutdown...")
        self.core.request_flush()
        self.flush()
        self.log.warning("Sentinel is now ready to exit, bye bye...")
        self.stopped.set()

    # -- the Host protocol of `commands` ------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def facts(self) -> replies.ServerFacts:
        return replies.ServerFacts(
            now=self._wall_clock(), started_at=self._started_wall, pid=self._pid,
            run_id=self._run_id, port=self.config.port, config_file=self.config_file.path,
            executable=self._executable, connected_clients=len(self.hub.clients),
            total_connections=self.hub.total_connections,
            total_commands=self.hub.total_commands,
            pubsub_channels=self.hub.channel_count(), pubsub_patterns=self.hub.pattern_count(),
            total_error_replies=self.hub.total_error_replies)

    def flush(self) -> bool:
        """Carry out the core's decisions; False if the config file could not be saved."""
        core = self.core
        for _ in range(1000):
            actions = core.take_actions()
            if not actions:
                break
            self.links.apply(actions)
        for item in core.take_events():
            if isinstance(item, Event):
                self.log.log(item.level, item.line)
                if item.level is not Level.DEBUG:
                    self.hub.publish(item.type, item.text)
            else:
                self.log.log(item.level, item.text)
        snapshot = core.take_config()
        if snapshot is None:
            return True
        return self._save(snapshot)

    def _save(self, snapshot: SentinelConfig) -> bool:
        try:
            old = self.config_file.read()
            self.config_file.write(config_module.rewrite(old, config_module.state_lines(snapshot)))
        except OSError as exc:
            self.log.warning("WARNING: Sentinel was not able to save the new configuration on "
                             f"disk!!!: {exc.strerror or exc}")
            return False
        self.log.notice("Sentinel new configuration saved on disk")
        return True

    # -- the timer ----------------------------------------------------------------------------

    def _poke(self) -> None:
        """Input arrived: run the timer's pass soon instead of at the next tick."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _run_timer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self.core.tick(self._clock())
            self.flush()
            delay = self.settings.tick * self._rng.uniform(0.5, 1.0)
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiter = waiter
            handle = loop.call_later(delay, self._poke)
            try:
                await waiter
            finally:
                handle.cancel()
                self._waiter = None

    # -- clients ------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
        client = self.hub.accept(writer)
        parser = resp.RequestParser()
        try:
            while not client.closing:
                data = await reader.read(1 << 16)
                if not data:
                    break
                parser.feed(data)
                while not client.closing:
                    try:
                        frame = parser.next_frame()
                    except resp.ProtocolError as exc:
                        client.send(resp.Error(f"ERR {exc}"))
                        client.closing = True
                        break
                    if frame is resp.NEED_DATA:
                        break
                    for reply in commands.dispatch(self, client, frame):
                        client.send(reply)
        except (ConnectionError, OSError):
            pass
        finally:
            self.hub.forget(client)
            with contextlib.suppress(Exception):
                writer.close()
