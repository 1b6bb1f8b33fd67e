"""The container runtime interface: what a kubelet may ask of a runtime (CRI's role).

Two runtimes implement it: `fake` (images are Python programs registered by the
composition root; shell scripts run in the machine's real shell) and `process` (the
container's command as a real process group). The kubelet knows only this module.

A container lives in a pod's sandbox. The sandbox is the pod's network identity — its IP,
hostname, cluster DNS, and the connections it makes and accepts — and is provided by the
cluster network (`cluster/network`), so that partitions and freezes apply to fake images'
in-process traffic and to real processes alike.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, Protocol

# Defined with the API (pods/log, pods/exec answer with them); re-exported for runtimes.
from cluster.api.podio import ExecResult as ExecResult, LogLine as LogLine


class ContainerState(str, enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"


@dataclass(frozen=True)
class Mount:
    """A host directory (a volume, a PVC's directory) seen at `container_path`."""

    host_path: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerConfig:
    """Everything the kubelet decided about one container before asking for it."""

    pod_uid: str
    pod_name: str
    namespace: str
    name: str
    image: str
    command: tuple[str, ...] = ()
    """The pod spec's `command` (replaces the image's entrypoint); empty = the image's."""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    working_dir: str = ""
    mounts: tuple[Mount, ...] = ()
    attempt: int = 0
    """Restart count of this container, so runtimes can name attempts apart."""


@dataclass(frozen=True)
class ContainerStatus:
    """What the runtime observes of one container; the kubelet turns it into containerStatuses."""

    id: str
    state: ContainerState
    image: str
    exit_code: int | None = None
    reason: str = ""
    """For exited containers: `Completed` (0), `Error` (non-zero), `OOMKilled`, `ContainerCannotRun`,
    `StartError` (the runtime could not start the command; exit code 128)."""
    message: str = ""
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    frozen: bool = False


@dataclass(frozen=True)
class Isolation:
    """How well a runtime can isolate containers on this machine (probed once).

    With Linux mount and UTS namespaces each container sees its pod's hostname, a private
    `/tmp` and the pod's `/etc/hosts` and `/etc/resolv.conf`. Without them (not root, no `unshare`) real
    processes share the host's `/tmp` and hostname and only get `TMPDIR`/`HOSTNAME` of
    their own: the kubelet reports `detail` as a Warning event on the pods it starts.
    """

    namespaces: bool
    detail: str = ""
    """Why isolation is degraded, in words fit for an event message; empty when it is not."""

    @property
    def degraded(self) -> bool:
        return not self.namespaces


class ImagePullError(Exception):
    """The image does not exist for this runtime; the kubelet reports ErrImagePull."""


class ContainerError(Exception):
    """A container could not be created or started (bad command, missing binary)."""


class ContainerNotFound(ContainerError, LookupError):
    """No container with this id (never created, or removed)."""


class ContainerLog(Protocol):
    """A container's output, current attempt: retained lines plus a way to follow."""

    def lines(self) -> list[LogLine]: ...

    def follow(self) -> AsyncIterator[LogLine]:
        """Every retained line, then new ones as they are written, until the container
        exits and its output is drained."""
        ...


StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class PodSandbox(Protocol):
    """A pod's network identity, as seen from inside its containers."""

    @property
    def ip(self) -> str: ...

    @property
    def hostname(self) -> str: ...

    @property
    def namespace(self) -> str: ...

    def resolve(self, host: str) -> str | None:
        """Cluster DNS from this pod: `<pod>.<svc>`, `<svc>`, `<svc>.<ns>.svc.cluster.local`,
        IP literals and `localhost`; None when the name does not resolve (yet)."""
        ...

    async def open_connection(self, host: str, port: int
                              ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect from this pod's address; raises OSError like a socket would (e.g.
        `socket.gaierror` for a name that does not resolve). Partitions make the
        connection hang, not fail."""
        ...

    async def start_server(self, handler: StreamHandler, port: int) -> Any:
        """Listen on this pod's IP; returns an object with `close()` and `wait_closed()`."""
        ...

    def set_frozen(self, frozen: bool) -> None:
        """Freeze (or thaw) every in-process connection of this pod: reads and writes stall,
        as they would for a SIGSTOPped process."""
        ...

    @property
    def hosts_file(self) -> str | None:
        """Path of the pod's /etc/hosts (localhost, the pod's own names), for real processes."""
        ...

    @property
    def resolv_conf(self) -> str | None:
        """Path of the pod's /etc/resolv.conf, naming the cluster DNS server (as the kubelet
        writes one for `dnsPolicy: ClusterFirst`); None leaves the machine's own."""
        ...


class Runtime(Protocol):
    """Creates, runs and observes containers. Every method is safe to call again."""

    name: str

    async def isolation(self) -> Isolation:
        """Whether containers get namespaces on this machine; probed once, then cached."""
        ...

    async def pull_image(self, image: str) -> None:
        """Raises ImagePullError when the image is unknown."""
        ...

    async def create_container(self, config: ContainerConfig, sandbox: PodSandbox) -> str:
        """Returns the container id; raises ImagePullError / ContainerError."""
        ...

    async def start_container(self, container_id: str) -> None: ...

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM (or the fake image's stop request), then SIGKILL after the grace."""
        ...

    async def kill_container(self, container_id: str) -> None:
        """SIGKILL now: the fault `crash` and the end of a grace period."""
        ...

    async def freeze_container(self, container_id: str) -> None: ...

    async def thaw_container(self, container_id: str) -> None: ...

    async def exec(self, container_id: str, argv: list[str], *, stdin: bytes | None = None,
                   timeout: float | None = None) -> ExecResult:
        """Run a command alongside the container, in its namespaces and sandbox. Raises
        ContainerError when the container is not running and TimeoutError (after killing
        the command) when `timeout` passes."""
        ...

    def status(self, container_id: str) -> ContainerStatus:
        """Raises ContainerNotFound for an unknown id (as do the other methods, except
        `remove_container`, which forgets quietly)."""
        ...

    async def wait(self, container_id: str) -> ContainerStatus:
        """Until the container has exited."""
        ...

    def logs(self, container_id: str) -> ContainerLog: ...

    async def remove_container(self, container_id: str) -> None:
        """Forget an exited container (its logs go with it)."""
        ...

    async def close(self) -> None:
        """Kill and remove everything this runtime started."""
        ...
