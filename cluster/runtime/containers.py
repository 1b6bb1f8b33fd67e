"""What both runtimes share: container records, their lifecycle, real processes, cleanup.

A container is a record (`Container`) plus a runner that makes it go: `ProcessRunner`
for a real process group (here) or the fake runtime's in-process `ProgramRunner`. The
runner reports the exit code; `BaseRuntime` keeps states, timestamps, freezes (counted
per pod sandbox, since the network freezes a whole pod's connections), execs and files,
and implements everything of `base.Runtime` that does not depend on the image kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from cluster.runtime import base, isolation, logs, processes
# `isolation` is also a method name in BaseRuntime, so annotations there use this name.
from cluster.runtime.isolation import ContainerView

KILLED = processes.SIGKILL_EXIT


@dataclass(frozen=True)
class RuntimeSettings:
    """How a runtime runs containers; the defaults suit production, tests shrink them."""

    state_dir: str | None = None
    """Where the runtime makes its directory (containers' /tmp, shims), removed on close;
    None = the system's temporary directory."""
    log_lines: int = logs.DEFAULT_LIMIT
    """Log lines retained per container attempt."""
    isolation: base.Isolation | None = None
    """A probe result to use instead of probing (the composition root probes once for
    all nodes' runtimes); `base.Isolation(namespaces=False, detail=...)` forces the
    degraded mode."""
    cancel_wait: float = 1.0
    """How long `kill`/`close` wait for a cancelled in-process program to unwind."""


class Runner(Protocol):
    """Makes one container go; reports its exit through the callback it was built with."""

    @property
    def pid(self) -> int | None:
        """The live main process, for exec to enter its namespaces (None: in-process)."""
        ...

    async def start(self) -> None: ...

    async def stop(self, grace: float) -> None: ...

    def kill(self) -> None: ...

    def freeze(self) -> None: ...

    def thaw(self) -> None: ...


@dataclass(eq=False)
class Container:
    """One container attempt as a runtime keeps it."""

    id: str
    config: base.ContainerConfig
    sandbox: base.PodSandbox
    argv: tuple[str, ...]
    view: isolation.ContainerView
    env: dict[str, str]
    workdir: str
    directory: str
    log: logs.LogBuffer
    created_at: float
    image: Any = None
    """The runtime's image object (fake: `images.Image`; process: `ProcessImage`)."""
    runner: Runner | None = None
    state: base.ContainerState = base.ContainerState.CREATED
    exit_code: int | None = None
    reason: str = ""
    message: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    frozen: bool = False
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    execs: set[processes.ProcessGroup] = field(default_factory=set)
    """Real processes exec'd into the container, still running."""
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    """In-process programs of the container (main, exec'd, started by shims)."""

    def status(self) -> base.ContainerStatus:
        return base.ContainerStatus(
            id=self.id, state=self.state, image=self.config.image, exit_code=self.exit_code,
            reason=self.reason, message=self.message, created_at=self.created_at,
            started_at=self.started_at, finished_at=self.finished_at, frozen=self.frozen)


class ProcessRunner:
    """A container whose main process is real: a process group in its namespaces."""

    def __init__(self, command: Callable[[], tuple[list[str], str]], *, env: dict[str, str],
                 log: logs.LogBuffer, on_exit: Callable[[int], None]) -> None:
        self._command = command
        """Builds (argv to spawn, host cwd) at start, once the host side is prepared."""
        self._env = env
        self._log = log
        self._on_exit = on_exit
        self.group: processes.ProcessGroup | None = None

    @property
    def pid(self) -> int | None:
        return self.group.pid if self.group is not None and not self.group.exited else None

    async def start(self) -> None:
        argv, cwd = self._command()
        log = self._log

        async def stdout(reader: asyncio.StreamReader) -> None:
            await logs.pump_lines(reader, lambda line: log.write(logs.STDOUT, line))

        async def stderr(reader: asyncio.StreamReader) -> None:
            await logs.pump_lines(reader, lambda line: log.write(logs.STDERR, line))

        try:
            self.group = await processes.ProcessGroup.spawn(
                argv, env=self._env, cwd=cwd, stdout=stdout, stderr=stderr)
        except OSError as exc:
            raise base.ContainerError(f'exec: "{argv[0]}": {exc.strerror or exc}') from exc
        self.group.done.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[int]) -> None:
        if task.cancelled() or task.exception() is not None:
            self._on_exit(KILLED)
        else:
            self._on_exit(task.result())

    async def stop(self, grace: float) -> None:
        if self.group is not None:
            await self.group.stop(grace)

    def kill(self) -> None:
        if self.group is not None:
            self.group.kill()
        else:
            self._on_exit(KILLED)

    def freeze(self) -> None:
        if self.group is not None:
            self.group.signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.group is not None:
            self.group.signal(signal.SIGCONT)


class BaseRuntime:
    """Container bookkeeping common to the fake and process runtimes."""

    name = "base"

    def __init__(self, *, settings: RuntimeSettings | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings or RuntimeSettings()
        self._clock = clock
        self._containers: dict[str, Container] = {}
        self._ids = random.Random()
        """Container ids: random, 64 hex digits as containerd's, and not secrets (an
        `os.urandom` call per container was a measurable share of starting a pod)."""
        self._root: str | None = None
        """The runtime's directory, once made (`_root_dir`)."""
        self._root_name: str | None = None
        """Its path, chosen at the first container: an in-process container (the `pause`
        of a thousand pods) never writes a file, so nothing is made until something does."""
        self._isolation = self.settings.isolation
        self._probe_lock = asyncio.Lock()
        self._frozen_sandboxes: dict[int, list[Any]] = {}
        """id(sandbox) → [sandbox, number of its containers frozen]."""
        self._mountpoints: list[str] = []
        """Mount points created on the host, removed on close."""

    # -- capabilities -----------------------------------------------------------------

    async def isolation(self) -> base.Isolation:
        if self._isolation is None:
            async with self._probe_lock:
                if self._isolation is None:
                    self._isolation = await isolation.probe()
        return self._isolation

    # -- lifecycle --------------------------------------------------------------------

    async def start_container(self, container_id: str) -> None:
        container = self._get(container_id)
        if container.state is not base.ContainerState.CREATED or container.runner is None:
            return
        container.state = base.ContainerState.RUNNING
        container.started_at = self._clock()
        try:
            await container.runner.start()
        except base.ContainerError as exc:
            self._finish(container, 128, reason="StartError", message=str(exc))
            raise

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        container = self._get(container_id)
        if container.state is base.ContainerState.CREATED or container.runner is None:
            self._finish(container, 0)
        elif container.state is base.ContainerState.RUNNING:
            self._release_freeze(container)
            await container.runner.stop(grace_seconds)
        await container.exited.wait()

    async def kill_container(self, container_id: str) -> None:
        container = self._get(container_id)
        if container.state is base.ContainerState.RUNNING and container.runner is not None:
            container.runner.kill()
        elif container.state is base.ContainerState.CREATED:
            self._finish(container, KILLED)
        await container.exited.wait()

    async def freeze_container(self, container_id: str) -> None:
        container = self._get(container_id)
        if container.state is not base.ContainerState.RUNNING or container.frozen:
            return
        container.frozen = True
        entry = self._frozen_sandboxes.setdefault(id(container.sandbox), [container.sandbox, 0])
        entry[1] += 1
        if entry[1] == 1:
            container.sandbox.set_frozen(True)
        if container.runner is not None:
            container.runner.freeze()
        for group in container.execs:
            group.signal(signal.SIGSTOP)

    async def thaw_container(self, container_id: str) -> None:
        container = self._get(container_id)
        if not container.frozen:
            return
        self._release_freeze(container)
        if container.runner is not None:
            container.runner.thaw()
        for group in container.execs:
            group.signal(signal.SIGCONT)

    def _release_freeze(self, container: Container) -> None:
        if not container.frozen:
            return
        container.frozen = False
        entry = self._frozen_sandboxes.get(id(container.sandbox))
        if entry is not None:
            entry[1] -= 1
            if entry[1] <= 0:
                del self._frozen_sandboxes[id(container.sandbox)]
                container.sandbox.set_frozen(False)

    def _finish(self, container: Container, code: int, *, reason: str = "",
                message: str = "") -> None:
        """The container's main program or process is over (first report wins)."""
        if container.state is base.ContainerState.EXITED:
            return
        if container.frozen:
            self._release_freeze(container)
            if container.runner is not None:
                container.runner.thaw()
        container.state = base.ContainerState.EXITED
        container.exit_code = code
        container.reason = reason or ("Completed" if code == 0 else "Error")
        container.message = message
        container.finished_at = self._clock()
        container.log.close()
        for group in container.execs:
            group.kill()
        for task in container.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        container.exited.set()

    # -- observation ------------------------------------------------------------------

    def status(self, container_id: str) -> base.ContainerStatus:
        return self._get(container_id).status()

    async def wait(self, container_id: str) -> base.ContainerStatus:
        container = self._get(container_id)
        await container.exited.wait()
        return container.status()

    def logs(self, container_id: str) -> base.ContainerLog:
        return self._get(container_id).log

    def container_ids(self) -> list[str]:
        return list(self._containers)

    # -- exec -------------------------------------------------------------------------

    async def exec(self, container_id: str, argv: list[str], *, stdin: bytes | None = None,
                   timeout: float | None = None) -> base.ExecResult:
        container = self._get(container_id)
        if container.state is not base.ContainerState.RUNNING:
            raise base.ContainerError(f"container not running ({container_id})")
        if not argv:
            raise base.ContainerError("exec: no command given")
        return await self._exec(container, list(argv), stdin, timeout)

    async def _exec(self, container: Container, argv: list[str], stdin: bytes | None,
                    timeout: float | None) -> base.ExecResult:
        return await self._exec_process(container, argv, stdin, timeout)

    async def _exec_process(self, container: Container, argv: list[str], stdin: bytes | None,
                            timeout: float | None, *, env: dict[str, str] | None = None,
                            view: ContainerView | None = None) -> base.ExecResult:
        """A real process alongside the container, in its namespaces (`env` and `view`
        override the container's, for containers that have no real process of their own)."""
        env = container.env if env is None else env
        view = container.view if view is None else view
        if not resolve_command(argv[0], env.get("PATH", ""), view, container.workdir):
            raise base.ContainerError(not_found(argv[0]))
        iso = await self.isolation()
        pid = container.runner.pid if container.runner is not None else None
        if iso.namespaces and pid is not None:
            full, cwd = isolation.enter_argv(pid, argv, workdir=container.workdir), "/"
        elif iso.namespaces:
            self._root_dir()
            self._mountpoints += isolation.prepare_host(view)
            full, cwd = isolation.launch_argv(view, argv, workdir=container.workdir), "/"
        else:
            self._root_dir()
            os.makedirs(view.tmp_dir, exist_ok=True)
            full, cwd = argv, isolation.degraded_workdir(view, container.workdir)
        try:
            return await processes.run_captured(
                full, env=env, cwd=cwd, stdin=stdin, timeout=timeout,
                track=container.execs, start_stopped=container.frozen)
        except TimeoutError:
            raise  # an OSError too, but the caller's to handle
        except OSError as exc:
            raise base.ContainerError(f'exec: "{argv[0]}": {exc.strerror or exc}') from exc

    # -- removal ----------------------------------------------------------------------

    async def remove_container(self, container_id: str) -> None:
        container = self._containers.get(container_id)
        if container is None:
            return
        if container.state is not base.ContainerState.EXITED:
            await self.kill_container(container_id)
        await self._settle(container)
        self._containers.pop(container_id, None)
        shutil.rmtree(container.directory, ignore_errors=True)

    async def close(self) -> None:
        """Kill every container and exec, reap every process, remove every file."""
        containers = list(self._containers.values())
        for container in containers:
            if container.state is base.ContainerState.RUNNING and container.runner is not None:
                container.runner.kill()
            elif container.state is base.ContainerState.CREATED:
                self._finish(container, KILLED)
        await asyncio.gather(*(c.exited.wait() for c in containers))
        await asyncio.gather(*(self._settle(c) for c in containers))
        await self._close_extra()
        self._containers.clear()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
        for path in reversed(self._mountpoints):
            with contextlib.suppress(OSError):
                os.rmdir(path) if os.path.isdir(path) else _remove_empty_file(path)
        self._mountpoints.clear()

    async def _settle(self, container: Container) -> None:
        """Wait for an exited container's execs and in-process programs to be gone."""
        for group in list(container.execs):
            group.kill()
        waiting: list[asyncio.Future[Any]] = [g.done for g in container.execs]
        tasks = [t for t in container.tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        waiting += tasks
        if waiting:
            await asyncio.wait(waiting, timeout=self.settings.cancel_wait + processes.DRAIN_SECONDS)

    async def _close_extra(self) -> None:
        """Subclasses close what else they started."""

    # -- helpers for subclasses -------------------------------------------------------

    def _get(self, container_id: str) -> Container:
        container = self._containers.get(container_id)
        if container is None:
            raise base.ContainerNotFound(f'container "{container_id}" not found')
        return container

    def _root_path(self) -> str:
        """Where the runtime's directory is, or will be once `_root_dir` makes it.

        The name is random (as `mkdtemp`'s), so no one can have put anything there first.
        """
        if self._root_name is None:
            parent = self.settings.state_dir or tempfile.gettempdir()
            self._root_name = os.path.join(parent,
                                           f"redisha-{self.name}-{secrets.token_hex(8)}")
        return self._root_name

    def _root_dir(self) -> str:
        """The runtime's directory, made (private, as `mkdtemp` makes it) on first need."""
        if self._root is None:
            parent = self.settings.state_dir
            if parent is not None:
                os.makedirs(parent, exist_ok=True)
            path = self._root_path()
            os.mkdir(path, 0o700)
            self._root = path
        return self._root

    def _new_container(self, config: base.ContainerConfig, sandbox: base.PodSandbox, *,
                       argv: list[str], image: Any, private: bool,
                       in_process_only: bool) -> Container:
        """A registered record with its view, directory and log (files made lazily)."""
        container_id = f"{self._ids.getrandbits(256):064x}"
        directory = os.path.join(self._root_path(), "containers", container_id)
        view = isolation.ContainerView(
            hostname=sandbox.hostname, tmp_dir=os.path.join(directory, "tmp"),
            mounts=tuple(config.mounts),
            # Only real processes read it; asking makes the network write the file.
            hosts_file=None if in_process_only else sandbox.hosts_file, private=private,
            resolv_conf=None if in_process_only else sandbox.resolv_conf,
            rootfs=os.path.join(directory, "rootfs") if in_process_only else None)
        container = Container(
            id=container_id, config=config, sandbox=sandbox, argv=tuple(argv), view=view,
            env={}, workdir=config.working_dir or "/", directory=directory,
            log=logs.LogBuffer(limit=self.settings.log_lines, clock=self._clock),
            created_at=self._clock(), image=image)
        self._containers[container_id] = container
        return container

    def _process_env(self, container: Container, iso: base.Isolation, *,
                     bin_dirs: list[str], extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a container's real processes."""
        env = {"PATH": os.environ.get("PATH") or isolation.DEFAULT_PATH,
               "HOSTNAME": container.sandbox.hostname, "HOME": "/root"}
        env.update(container.config.env)
        dirs = list(bin_dirs)
        if iso.degraded:
            hostname_dir = os.path.join(self._root_dir(), "bin", "degraded")
            if not os.path.exists(hostname_dir):
                isolation.install_hostname_shim(hostname_dir)
            dirs.append(hostname_dir)
            env["TMPDIR"] = container.view.tmp_dir
        if dirs:
            visible = [isolation.visible_path(d, container.view) if iso.namespaces else d
                       for d in dirs]
            env["PATH"] = ":".join([*visible, env["PATH"]])
        env.update(extra or {})
        return env

    def _process_runner(self, container: Container, iso: base.Isolation) -> ProcessRunner:
        """Run `container.argv` as a real process group in the container's namespaces."""

        def command() -> tuple[list[str], str]:
            self._root_dir()
            if iso.namespaces:
                self._mountpoints.extend(isolation.prepare_host(container.view))
                return (isolation.launch_argv(container.view, container.argv,
                                              workdir=container.workdir), "/")
            os.makedirs(container.view.tmp_dir, exist_ok=True)
            return list(container.argv), isolation.degraded_workdir(container.view,
                                                                  container.workdir)

        return ProcessRunner(command, env=container.env, log=container.log,
                             on_exit=lambda code: self._finish(container, code))


def resolve_command(command: str, path: str, view: isolation.ContainerView, cwd: str) -> bool:
    """Whether `command` names an executable for the container (as `execvp` would)."""
    if "/" in command:
        target = view.host_path(command, cwd) if view.private else command
        return os.path.isfile(target) and os.access(target, os.X_OK)
    return shutil.which(command, path=path) is not None


def not_found(command: str) -> str:
    """runc's words for a command that is not there."""
    return f'exec: "{command}": executable file not found in $PATH'


def _remove_empty_file(path: str) -> None:
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        os.remove(path)
