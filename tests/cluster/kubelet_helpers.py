"""Small doubles and builders for the kubelet's tests.

`ScriptRuntime` is a `Runtime` whose containers follow a tiny command language instead of
running anything, so that the kubelet's decisions can be tested in milliseconds:

- no command, or `run`: runs until stopped;
- `exit N`: writes `exiting N` and exits with code N;
- `print A B …`: writes each word as a line and exits 0;
- `attempt`: writes `attempt N` (its restart count) and runs until stopped;
- `ignore-term`: runs and ignores the stop request until the grace period runs out.

`exec` understands `echo …` (stdout, exit 0), `healthy` (exit 0 while the test's
`health[(pod, container)]` is true, default true) and `false`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field
from collections.abc import AsyncIterator
from typing import Any

from cluster.api import errors
from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.kubelet import Kubelet, KubeletSettings
from cluster.runtime import base


@dataclass
class _Box:
    config: base.ContainerConfig
    id: str
    state: base.ContainerState = base.ContainerState.CREATED
    exit_code: int | None = None
    lines: list[base.LogLine] = field(default_factory=list)
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    started_at: float | None = None
    frozen: bool = False
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)

    def write(self, text: str, stream: str = "stdout") -> None:
        self.lines.append(base.LogLine(time.time(), stream, text))
        self.changed.set()


class _Log:
    def __init__(self, box: _Box) -> None:
        self._box = box

    def lines(self) -> list[base.LogLine]:
        return list(self._box.lines)

    async def follow(self) -> AsyncIterator[base.LogLine]:
        sent = 0
        while True:
            while sent < len(self._box.lines):
                yield self._box.lines[sent]
                sent += 1
            if self._box.exited.is_set():
                return
            self._box.changed.clear()
            waiter = asyncio.ensure_future(self._box.changed.wait())
            done = asyncio.ensure_future(self._box.exited.wait())
            await asyncio.wait({waiter, done}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            done.cancel()


class ScriptRuntime:
    """A `base.Runtime` double driven by the command language above."""

    name = "script"

    def __init__(self, images: tuple[str, ...] = ("pause", "redis", "busybox")) -> None:
        self.images = set(images)
        self.boxes: dict[str, _Box] = {}
        self.health: dict[tuple[str, str], bool] = {}
        self.pulls: list[str] = []
        self.removed: list[str] = []
        self.starts: list[tuple[str, str, float]] = []
        """(pod, container, loop time) of every start, kept after removal."""
        self._ids = itertools.count(1)

    def started(self, pod: str, container: str) -> list[float]:
        """Loop times at which each attempt of one container started."""
        return [t for p, c, t in self.starts if (p, c) == (pod, container)]

    def by_container(self, pod: str, container: str) -> list[_Box]:
        """The attempts of one container the runtime still holds, oldest first."""
        return [b for b in self.boxes.values()
                if b.config.pod_name == pod and b.config.name == container]

    async def pull_image(self, image: str) -> None:
        self.pulls.append(image)
        if image not in self.images:
            raise base.ImagePullError(f'pull access denied for {image}, repository does not exist')

    async def create_container(self, config: base.ContainerConfig, sandbox: base.PodSandbox) -> str:
        if config.image not in self.images:
            raise base.ImagePullError(f"no image {config.image}")
        box = _Box(config, f"c{next(self._ids)}")
        self.boxes[box.id] = box
        return box.id

    async def start_container(self, container_id: str) -> None:
        box = self.boxes[container_id]
        box.state = base.ContainerState.RUNNING
        box.started_at = time.time()
        self.starts.append((box.config.pod_name, box.config.name,
                            asyncio.get_running_loop().time()))
        box.task = asyncio.get_running_loop().create_task(self._run(box))

    async def _run(self, box: _Box) -> None:
        argv = list(box.config.command) + list(box.config.args)
        if argv[:1] == ["exit"]:
            box.write(f"exiting {argv[1]}")
            self._exit(box, int(argv[1]))
        elif argv[:1] == ["attempt"]:
            box.write(f"attempt {box.config.attempt}")
            await asyncio.Event().wait()
        elif argv[:1] == ["print"]:
            for word in argv[1:]:
                box.write(word)
            self._exit(box, 0)
        else:
            box.write("running")
            await asyncio.Event().wait()

    def _exit(self, box: _Box, code: int) -> None:
        if box.state is base.ContainerState.EXITED:
            return
        box.state = base.ContainerState.EXITED
        box.exit_code = code
        box.exited.set()
        box.changed.set()

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        box = self.boxes.get(container_id)
        if box is None or box.state is not base.ContainerState.RUNNING:
            return
        box.stop_requested.set()
        if "ignore-term" not in box.config.command:
            if box.task:
                box.task.cancel()
            self._exit(box, 143)
            return
        try:
            await asyncio.wait_for(box.exited.wait(), grace_seconds)
        except TimeoutError:
            await self.kill_container(container_id)

    async def kill_container(self, container_id: str) -> None:
        box = self.boxes.get(container_id)
        if box is None or box.state is not base.ContainerState.RUNNING:
            return
        if box.task:
            box.task.cancel()
        self._exit(box, 137)

    async def freeze_container(self, container_id: str) -> None:
        self.boxes[container_id].frozen = True

    async def thaw_container(self, container_id: str) -> None:
        self.boxes[container_id].frozen = False

    async def exec(self, container_id: str, argv: list[str], *, stdin: bytes | None = None,
                   timeout: float | None = None) -> base.ExecResult:
        box = self.boxes[container_id]
        if box.frozen:
            await asyncio.Event().wait()
        if argv[:1] == ["echo"]:
            return base.ExecResult(0, (" ".join(argv[1:]) + "\n").encode(), b"")
        if argv[:1] == ["cat"]:
            return base.ExecResult(0, stdin or b"", b"")
        if argv[:1] == ["healthy"]:
            ok = self.health.get((box.config.pod_name, box.config.name), True)
            return base.ExecResult(0 if ok else 1, b"" if ok else b"not healthy\n", b"")
        return base.ExecResult(1, b"", f"{argv[0]}: failed\n".encode())

    def status(self, container_id: str) -> base.ContainerStatus:
        box = self.boxes[container_id]
        reason = "" if box.exit_code is None else ("Completed" if box.exit_code == 0 else "Error")
        return base.ContainerStatus(box.id, box.state, box.config.image, box.exit_code, reason,
                                    started_at=box.started_at)

    async def wait(self, container_id: str) -> base.ContainerStatus:
        await self.boxes[container_id].exited.wait()
        return self.status(container_id)

    def logs(self, container_id: str) -> _Log:
        return _Log(self.boxes[container_id])

    async def remove_container(self, container_id: str) -> None:
        box = self.boxes.pop(container_id, None)
        if box is not None:
            self.removed.append(container_id)
            if box.task:
                box.task.cancel()

    async def close(self) -> None:
        for box in list(self.boxes.values()):
            if box.task:
                box.task.cancel()
        self.boxes.clear()


class _Sandbox:
    """A sandbox double: an IP, and connections that go to 127.0.0.1 on the same port."""

    def __init__(self, ip: str, hostname: str, namespace: str) -> None:
        self.ip = ip
        self.hostname = hostname
        self.namespace = namespace
        self.frozen = False
        self.hosts_file = None

    def resolve(self, host: str) -> str | None:
        return host

    async def open_connection(self, host: str, port: int
                              ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.frozen:
            await asyncio.Event().wait()
        return await asyncio.open_connection("127.0.0.1", port)

    async def start_server(self, handler: Any, port: int) -> Any:
        return await asyncio.start_server(handler, "127.0.0.1", port)

    def set_frozen(self, frozen: bool) -> None:
        self.frozen = frozen


class Sandboxes:
    """Hands out pod IPs 10.244.0.N; records what was released."""

    def __init__(self) -> None:
        self.live: dict[str, _Sandbox] = {}
        self.released: list[str] = []
        self._n = itertools.count(10)

    def create_sandbox(self, pod: dict[str, Any]) -> _Sandbox:
        m = pod["metadata"]
        box = _Sandbox(f"10.244.0.{next(self._n)}", m["name"], m.get("namespace", "default"))
        self.live[m["uid"]] = box
        return box

    def destroy_sandbox(self, pod_uid: str) -> None:
        if self.live.pop(pod_uid, None) is not None:
            self.released.append(pod_uid)


def pod(name: str, *containers: dict[str, Any], node: str = "node-1",
        restart_policy: str = "Always", init: list[dict[str, Any]] | None = None,
        grace: int | None = None) -> dict[str, Any]:
    """A pod bound to `node` with the given containers (default: one `pause`)."""
    spec: dict[str, Any] = {"nodeName": node, "restartPolicy": restart_policy,
                            "containers": list(containers) or [{"name": "main", "image": "pause"}]}
    if init:
        spec["initContainers"] = init
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def container(name: str, *command: str, image: str = "busybox", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "image": image, **extra}
    if command:
        out["command"] = list(command)
    return out


FAST = KubeletSettings(
    lease_renew_interval=0.05, node_status_update_period=0.05, node_status_report_period=1.0,
    restart_backoff_initial=0.05, restart_backoff_max=1.0, restart_backoff_reset=600.0,
    image_pull_backoff_initial=0.3, image_pull_backoff_max=1.0, error_requeue=0.05,
    sync_period=1.0, pod_seconds_scale=0.05)
"""Kubelet settings for tests: every interval in tens of milliseconds."""


@dataclass
class Env:
    """A live API, one kubelet on `node-1` with the doubles, and shortcuts."""

    api: APIServer
    client: InProcessClient
    runtime: ScriptRuntime
    sandboxes: Sandboxes
    kubelet: Kubelet

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        return await self.client.create(obj)

    def pod(self, name: str) -> dict[str, Any] | None:
        """The stored pod right now (shared; read only), or None."""
        try:
            return self.api.get("pods", name, "default")
        except errors.NotFound:
            return None

    def status(self, name: str) -> dict[str, Any]:
        return (self.pod(name) or {}).get("status") or {}

    def phase(self, name: str) -> str:
        return self.status(name).get("phase", "")

    def container_status(self, name: str, container: str = "main",
                         init: bool = False) -> dict[str, Any]:
        key = "initContainerStatuses" if init else "containerStatuses"
        for cs in self.status(name).get(key) or ():
            if cs.get("name") == container:
                return cs
        return {}

    def condition(self, name: str, type_: str) -> dict[str, Any]:
        for c in self.status(name).get("conditions") or ():
            if c.get("type") == type_:
                return c
        return {}

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        items, _ = self.api.list("events")
        return [e for e in items if name is None or e["involvedObject"].get("name") == name]

    def messages(self, name: str, reason: str | None = None) -> list[str]:
        return [e["message"] for e in self.events(name) if reason is None or e["reason"] == reason]


@contextlib.asynccontextmanager
async def running_kubelet(settings: KubeletSettings = FAST,
                          node: str = "node-1") -> AsyncIterator[Env]:
    """Start a kubelet on a fresh API; stop it (and close the runtime) afterwards."""
    api = APIServer()
    client = InProcessClient(api)
    runtime = ScriptRuntime()
    sandboxes = Sandboxes()
    kubelet = Kubelet(client, node_name=node, runtime=runtime, sandboxes=sandboxes,
                      settings=settings)
    await kubelet.start()
    try:
        yield Env(api, client, runtime, sandboxes, kubelet)
    finally:
        await kubelet.stop()
        await runtime.close()
