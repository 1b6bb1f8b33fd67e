"""The fake runtime: images are Python programs; shell scripts run in the real shell.

A container's argv is the pod's `command` (or the image's entrypoint) plus `args`. When
its first word (by basename) is a program of the image, the program runs in-process as
an asyncio task: no process, no namespace — it reaches the world only through its
`ProgramContext` (the pod's sandbox for the network, `ctx.open` for files), which is what
lets 10,000 `pause` containers run on one loop. Anything else (`bash -c …`, `sh -c …`)
runs as a real process in the container's namespaces (see `isolation`), with a shim
directory first on PATH, so the programs of the image that the script starts run
in-process in that container's context with their arguments (see `shim`).

`exec` follows the same rule: a program of the image runs in-process (`redis-cli ping`),
anything else is a real process in the container's namespaces (`cat /tmp/x.conf`).
Freezing a container stalls its pod's in-process connections (`sandbox.set_frozen`) and
SIGSTOPs its real processes; stopping sets the program's `stop_requested` and cancels it
after the grace period (exit 137, as SIGKILL would).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import sys
import time
from typing import Callable

from cluster.runtime import base, containers, images, isolation, shim


class ProgramRunner:
    """A container whose main program runs in-process."""

    pid = None

    def __init__(self, factory: images.ProgramFactory, ctx: images.ProgramContext, *,
                 tasks: set[asyncio.Task[object]], on_exit: Callable[[int], None]) -> None:
        self._factory = factory
        self._ctx = ctx
        self._tasks = tasks
        self._on_exit = on_exit
        self._task: asyncio.Task[int] | None = None
        self._killed = False

    async def start(self) -> None:
        self._task = asyncio.create_task(images.run_program(self._factory, self._ctx),
                                         name=f"program {self._ctx.argv[0]} {self._ctx.hostname}")
        self._tasks.add(self._task)
        self._task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[int]) -> None:
        self._tasks.discard(task)
        if self._killed or task.cancelled():
            self._on_exit(containers.KILLED)
        elif task.exception() is not None:
            self._on_exit(1)
        else:
            self._on_exit(task.result())

    async def stop(self, grace: float) -> None:
        self._ctx.stop_requested.set()
        if self._task is None:
            return
        _, pending = await asyncio.wait({self._task}, timeout=max(grace, 0.0))
        if pending:
            self.kill()

    def kill(self) -> None:
        """SIGKILL's equivalent: the container is over now, however the task unwinds."""
        self._killed = True
        if self._task is not None:
            self._task.cancel()
        self._on_exit(containers.KILLED)

    def freeze(self) -> None:
        """Nothing beyond the sandbox, which the runtime freezes for the whole pod."""

    def thaw(self) -> None:
        """See `freeze`."""


class FakeRuntime(containers.BaseRuntime):
    """Runs images registered as Python programs; see the module docstring."""

    name = "fake"

    def __init__(self, images_: images.ImageRegistry[images.Image] | None = None, *,
                 settings: containers.RuntimeSettings | None = None,
                 clock: Callable[[], float] = time.time,
                 python: str = sys.executable) -> None:
        super().__init__(settings=settings, clock=clock)
        self.images = images_ if images_ is not None else images.ImageRegistry()
        self._builtins = images.ImageRegistry([images.PAUSE])
        self._python = python
        """The interpreter the shims run with."""
        self._shims: shim.ShimServer | None = None
        self._shim_dirs: dict[str, str] = {}

    def _image(self, ref: str) -> images.Image:
        return images.find_in((self.images, self._builtins), ref)

    async def pull_image(self, image: str) -> None:
        self._image(image)

    async def create_container(self, config: base.ContainerConfig,
                               sandbox: base.PodSandbox) -> str:
        image = self._image(config.image)
        argv = images.command_line(config.command, config.args, image.entrypoint)
        factory = image.program(argv[0])
        if factory is not None:
            container = self._new_container(config, sandbox, argv=argv, image=image,
                                            private=True, in_process_only=True)
            container.env = {"HOSTNAME": sandbox.hostname, **config.env}
            ctx = self._context(container, argv, env=container.env, cwd=container.workdir,
                                output=container.log.write)
            container.runner = ProgramRunner(
                factory, ctx, tasks=container.tasks,
                on_exit=lambda code: self._finish(container, code))
            return container.id
        iso = await self.isolation()
        shim_dir = await self._shim_dir(image)
        container = self._new_container(config, sandbox, argv=argv, image=image,
                                        private=iso.namespaces, in_process_only=False)
        container.env = self._process_env(container, iso, bin_dirs=[shim_dir],
                                          extra={shim.CONTAINER_ENV: container.id})
        if not containers.resolve_command(argv[0], container.env["PATH"], container.view,
                                          container.workdir):
            del self._containers[container.id]
            raise base.ContainerError(containers.not_found(argv[0]))
        container.runner = self._process_runner(container, iso)
        return container.id

    def _context(self, container: containers.Container, argv: list[str], *,
                 env: dict[str, str], cwd: str, output: images.Output,
                 stop: asyncio.Event | None = None, stdin: bytes = b"") -> images.ProgramContext:
        return images.ProgramContext(
            argv=argv, env=env, hostname=container.sandbox.hostname, sandbox=container.sandbox,
            view=container.view, output=output, cwd=cwd,
            stop_requested=stop or asyncio.Event(), clock=self._clock, stdin=stdin,
            container_id=container.id, prepare=self._root_dir)

    async def _exec(self, container: containers.Container, argv: list[str],
                    stdin: bytes | None, timeout: float | None) -> base.ExecResult:
        factory = container.image.program(argv[0])
        if factory is None and isinstance(container.runner, ProgramRunner):
            # An in-process container: give the real command what a shell container has.
            iso = await self.isolation()
            view = dataclasses.replace(container.view, hosts_file=container.sandbox.hosts_file,
                                       resolv_conf=container.sandbox.resolv_conf,
                                       private=iso.namespaces, rootfs=None)
            shim_dir = await self._shim_dir(container.image)
            env = self._process_env(container, iso, bin_dirs=[shim_dir],
                                    extra={shim.CONTAINER_ENV: container.id})
            return await self._exec_process(container, argv, stdin, timeout, env=env, view=view)
        if factory is None:
            return await self._exec_process(container, argv, stdin, timeout)
        out: list[str] = []
        err: list[str] = []

        def output(stream: str, line: str) -> None:
            (out if stream == "stdout" else err).append(line)

        ctx = self._context(container, argv, env=dict(container.env), cwd=container.workdir,
                            output=output, stdin=stdin or b"")
        task = asyncio.create_task(images.run_program(factory, ctx))
        container.tasks.add(task)
        task.add_done_callback(container.tasks.discard)
        try:
            async with asyncio.timeout(timeout):
                code = await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            code = containers.KILLED  # the container ended under it
        return base.ExecResult(code, _joined(out), _joined(err))

    # -- shims ------------------------------------------------------------------------

    async def _shim_dir(self, image: images.Image) -> str:
        """The directory of `image`'s shims (server started, scripts written, once)."""
        if self._shims is None:
            self._shims = shim.ShimServer(self._launch_from_shim)
        await self._shims.start()
        directory = self._shim_dirs.get(image.name)
        if directory is None:
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", image.name)
            directory = os.path.join(self._root_dir(), "shims", safe)
            # The interpreter itself may sit under a /tmp the container's private /tmp hides
            # (a virtualenv in /tmp): name it through the runtime's root, as the shims are.
            python = self._python
            if python == isolation.TMP or python.startswith(isolation.TMP + "/"):
                python = f"/proc/{os.getpid()}/root{python}"
            shim.install(directory, python=python, address=self._shims.address,
                         programs=sorted(image.programs))
            self._shim_dirs[image.name] = directory
        return directory

    async def _launch_from_shim(self, request: shim.Request, output: images.Output,
                                stop: asyncio.Event) -> int:
        container = self._containers.get(request.container_id)
        if container is None or container.state is not base.ContainerState.RUNNING:
            raise LookupError("container not running")
        factory = container.image.program(request.argv[0])
        if factory is None:
            raise LookupError("command not found")
        ctx = self._context(container, request.argv, env=request.env, cwd=request.cwd,
                            output=output, stop=stop)
        task = asyncio.current_task()
        assert task is not None
        container.tasks.add(task)
        try:
            return await images.run_program(factory, ctx)
        finally:
            container.tasks.discard(task)

    async def _close_extra(self) -> None:
        if self._shims is not None:
            await self._shims.close()
            self._shims = None
        self._shim_dirs.clear()


def _joined(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode()
