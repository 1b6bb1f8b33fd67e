"""A runtime of runtimes: each container runs on the first runtime that has its image.

A node of the fake backend runs in-process images (the fake runtime) and, beside them,
a few real binaries (the process runtime: the machine's Redis Sentinel watching fake
Redis pods). A kubelet talks to one runtime, as a real kubelet talks to one CRI endpoint
that may hand containers to several low-level handlers; `HybridRuntime` is that endpoint.

- **Routing.** `pull_image` and `create_container` ask each runtime in order whether it
  has the image (its own `pull_image`); the first that does runs the container. Every
  later call names a container id and goes to the runtime that created it. The engine
  knows no images: which image lives where is the composition root's choice, made by the
  order and contents of the runtimes it passes. An image no runtime has fails with the
  first runtime's pull error (every runtime words it as containerd does).
- **Ids.** Each runtime makes random 256-bit ids; a hybrid refuses a duplicate rather than
  let one id name two containers.
- **Freezes.** A runtime freezes a pod's connections (`sandbox.set_frozen`) while any of
  its containers in that pod is frozen. With two runtimes in one pod, one of them thawing
  its last container must not thaw connections the other still holds frozen, so each
  runtime sees the pod's sandbox through one shared wrapper that counts freezes across
  runtimes (`_SharedSandbox`).
- **Name.** Container ids read `<name>://<id>` and the node reports
  `containerRuntimeVersion` as `<name>://…`: one name per node, as containerd's is whatever
  handler runs a container; by default the first runtime's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from cluster.runtime import base


class _SharedSandbox:
    """A pod sandbox whose freeze is counted across the runtimes of one hybrid.

    Each runtime calls `set_frozen(True)` when its first container of the pod freezes and
    `set_frozen(False)` when its last one thaws; the pod's connections stay frozen while
    any runtime holds them so. Everything else is the pod's sandbox itself.
    """

    __slots__ = ("_holds", "sandbox", "users")

    def __init__(self, sandbox: base.PodSandbox) -> None:
        self.sandbox = sandbox
        """The pod's own sandbox."""
        self._holds = 0
        self.users = 0
        """Containers (of any runtime) created with this wrapper and not yet removed."""

    @property
    def ip(self) -> str:
        return self.sandbox.ip

    @property
    def hostname(self) -> str:
        return self.sandbox.hostname

    @property
    def namespace(self) -> str:
        return self.sandbox.namespace

    @property
    def hosts_file(self) -> str | None:
        return self.sandbox.hosts_file

    @property
    def resolv_conf(self) -> str | None:
        return self.sandbox.resolv_conf

    def resolve(self, host: str) -> str | None:
        return self.sandbox.resolve(host)

    async def open_connection(self, host: str, port: int
                              ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await self.sandbox.open_connection(host, port)

    async def start_server(self, handler: base.StreamHandler, port: int) -> Any:
        return await self.sandbox.start_server(handler, port)

    def set_frozen(self, frozen: bool) -> None:
        if frozen:
            self._holds += 1
            if self._holds == 1:
                self.sandbox.set_frozen(True)
        elif self._holds > 0:
            self._holds -= 1
            if self._holds == 0:
                self.sandbox.set_frozen(False)

    def __getattr__(self, name: str) -> Any:
        # What the protocol does not name (the network's own attributes) is the sandbox's.
        return getattr(self.sandbox, name)


class HybridRuntime:
    """Routes each container to the first of `runtimes` that has its image; see the module
    docstring. Closing the hybrid closes every runtime it was given."""

    def __init__(self, runtimes: Sequence[base.Runtime], *, name: str | None = None) -> None:
        if not runtimes:
            raise ValueError("HybridRuntime needs at least one runtime")
        self.runtimes: tuple[base.Runtime, ...] = tuple(runtimes)
        self.name = name if name is not None else self.runtimes[0].name
        self._owners: dict[str, base.Runtime] = {}
        """Container id → the runtime that created it."""
        self._sandboxes: dict[str, _SharedSandbox] = {}
        """Container id → the wrapper its runtime was given."""
        self._shared: dict[int, _SharedSandbox] = {}
        """id(pod sandbox) → its wrapper, while a container uses it (the wrapper holds the
        sandbox, so the id is not reused meanwhile)."""
        self._isolation: base.Isolation | None = None

    # -- routing ------------------------------------------------------------------------

    async def _runtime_for(self, image: str) -> base.Runtime:
        """The first runtime having `image`; the first runtime's pull error when none has."""
        first: base.ImagePullError | None = None
        for runtime in self.runtimes:
            try:
                await runtime.pull_image(image)
            except base.ImagePullError as exc:
                first = first or exc
                continue
            return runtime
        assert first is not None
        raise first

    def _owner(self, container_id: str) -> base.Runtime:
        runtime = self._owners.get(container_id)
        if runtime is None:
            raise base.ContainerNotFound(f'container "{container_id}" not found')
        return runtime

    def _share(self, sandbox: base.PodSandbox) -> _SharedSandbox:
        """The pod's wrapper, counted as used by one more container."""
        shared = self._shared.get(id(sandbox))
        if shared is None:
            shared = self._shared[id(sandbox)] = _SharedSandbox(sandbox)
        shared.users += 1
        return shared

    def _release(self, shared: _SharedSandbox) -> None:
        """One container fewer uses `shared`; the last one drops it."""
        shared.users -= 1
        if shared.users <= 0:
            self._shared.pop(id(shared.sandbox), None)

    # -- the Runtime protocol -----------------------------------------------------------

    async def isolation(self) -> base.Isolation:
        """The weakest of the runtimes' isolation: a pod's containers may run on any of
        them, so a degraded one degrades the node."""
        if self._isolation is None:
            found = [await runtime.isolation() for runtime in self.runtimes]
            self._isolation = next((iso for iso in found if iso.degraded), found[0])
        return self._isolation

    async def pull_image(self, image: str) -> None:
        await self._runtime_for(image)

    async def create_container(self, config: base.ContainerConfig,
                               sandbox: base.PodSandbox) -> str:
        runtime = await self._runtime_for(config.image)
        shared = self._share(sandbox)
        try:
            container_id = await runtime.create_container(config, shared)
        except BaseException:
            self._release(shared)
            raise
        if container_id in self._owners:
            await runtime.remove_container(container_id)
            self._release(shared)
            raise base.ContainerError(f'container id "{container_id}" is already in use')
        self._owners[container_id] = runtime
        self._sandboxes[container_id] = shared
        return container_id

    async def start_container(self, container_id: str) -> None:
        await self._owner(container_id).start_container(container_id)

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        await self._owner(container_id).stop_container(container_id, grace_seconds)

    async def kill_container(self, container_id: str) -> None:
        await self._owner(container_id).kill_container(container_id)

    async def freeze_container(self, container_id: str) -> None:
        await self._owner(container_id).freeze_container(container_id)

    async def thaw_container(self, container_id: str) -> None:
        await self._owner(container_id).thaw_container(container_id)

    async def exec(self, container_id: str, argv: list[str], *, stdin: bytes | None = None,
                   timeout: float | None = None) -> base.ExecResult:
        return await self._owner(container_id).exec(container_id, argv, stdin=stdin,
                                                    timeout=timeout)

    def status(self, container_id: str) -> base.ContainerStatus:
        return self._owner(container_id).status(container_id)

    async def wait(self, container_id: str) -> base.ContainerStatus:
        return await self._owner(container_id).wait(container_id)

    def logs(self, container_id: str) -> base.ContainerLog:
        return self._owner(container_id).logs(container_id)

    async def remove_container(self, container_id: str) -> None:
        runtime = self._owners.get(container_id)
        if runtime is None:
            return
        await runtime.remove_container(container_id)
        self._owners.pop(container_id, None)
        shared = self._sandboxes.pop(container_id, None)
        if shared is not None:
            self._release(shared)

    def container_ids(self) -> list[str]:
        """Every container id the hybrid routes (created and not yet removed)."""
        return list(self._owners)

    async def close(self) -> None:
        """Close every runtime, even when one of them fails (the first failure is raised)."""
        results = await asyncio.gather(*(runtime.close() for runtime in self.runtimes),
                                       return_exceptions=True)
        self._owners.clear()
        self._sandboxes.clear()
        self._shared.clear()
        for result in results:
            if isinstance(result, BaseException):
                raise result
