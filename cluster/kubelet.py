"""The kubelet: one per node, it runs the pods bound to its node through a runtime.

It does what Kubernetes' kubelet does, on one event loop:

- **The node.** At start it registers its `Node` (labels, capacity and allocatable, the
  Ready/MemoryPressure/DiskPressure/PIDPressure conditions with kubelet's reasons,
  addresses, nodeInfo), renews the Lease `kube-node-lease/<node>` every
  `lease_renew_interval`, and re-posts the node status when it changed (say, the node
  lifecycle controller marked it Unknown) or every `node_status_report_period`.
- **Pod workers.** It watches only its own pods (field selector `spec.nodeName=<node>`) and
  runs each pod as its own task, so one pod's slow pull or long grace period never holds
  up another. A worker's loop is level-based: every wake (a spec change, a container exit,
  a probe flip, a back-off expiring) it compares what the pod wants with what runs and
  takes the next step: create the sandbox (pod IP), run init containers in order, then
  start the containers (pull, create, start), restart exited ones by restartPolicy with
  kubelet's exponential back-off (`CrashLoopBackOff`, `ImagePullBackOff`), kill a
  container whose liveness probe failed, and stop everything with the grace period when
  the pod is deleted, then finish the deletion.
- **Status.** Workers only mark their pod dirty; one writer task per kubelet computes each
  dirty pod's status (`cluster.podstatus`, pure) and writes it when it changed, with a
  fresh read on conflict. Changes made between two turns of the writer become one write,
  so a pod normally goes Pending → Running in a single write.
- **Events** in kubelet's wording (Pulling, Pulled, Created, Started, Killing, BackOff,
  Failed, Unhealthy), queued and written by a task of their own, as client-go's
  broadcaster does, so that no pod waits on its events.
- **Volumes** (with `volumes_dir`): emptyDir, configMap, secret, hostPath and
  PersistentVolumeClaim volumes become the runtime's mounts.
- **Logs and exec** per container, current and previous attempt: what the API server
  forwards `pods/log` and `pods/exec` to (the kubelet is its node's `NodeConnection`).
- **Faults**: `kill()` (the node dies: no more heartbeats, its containers die, nothing is
  written), `kill_pod_containers` (a crash), `freeze_pod`/`thaw_pod`.

Two clocks: `clock` (wall-clock seconds, `time.time` by default) stamps what is written
(startedAt, conditions, lease renewals); intervals and back-offs run on the event loop's
monotonic clock, so tests shorten them through `KubeletSettings` rather than a fake clock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import inspect
import logging
import os
import platform
import re
import shutil
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cluster import podstatus, probes
from cluster.api import errors, objects
from cluster.api.podio import format_log_line, rfc3339_nano  # noqa: F401 - kept importable here
from cluster.client import Client
from cluster.events import EventRecorder, Severity
from cluster.informer import Informer
from cluster.podstatus import ContainerView, PodObservation, Reason, Terminated
from cluster.runtime import base

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
_EXIT_RECORD_TIMEOUT = 1.0
"""Seconds to wait, after a stop returned, for the container's exit to be observed."""
KUBELET_VERSION = "v1.32.0-redisha"


# ------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class KubeletSettings:
    """How one kubelet behaves; Kubernetes' defaults, with short values for tests."""

    capacity: Mapping[str, str] = field(default_factory=lambda: {
        "cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"})
    """The node's `status.capacity`: what the scheduler may fill."""

    allocatable: Mapping[str, str] | None = None
    """`status.allocatable`; None means the capacity (nothing reserved for the system)."""

    labels: Mapping[str, str] = field(default_factory=dict)
    """Extra node labels (kubelet's `--node-labels`), on top of hostname/os/arch."""

    instance_type: str = ""
    """`node.kubernetes.io/instance-type` label when set."""

    lease_duration_seconds: int = 40
    """The Lease's `leaseDurationSeconds`: how long the node counts as alive per renewal."""

    lease_renew_interval: float = 10.0
    """Seconds between Lease renewals (kubelet renews at a quarter of the duration)."""

    node_status_update_period: float = 10.0
    """Seconds between checks of the node status (kubelet's nodeStatusUpdateFrequency);
    a check writes only when something changed or the report period ran out."""

    node_status_report_period: float = 60.0
    """Seconds after which the node status is written even unchanged (a heartbeat)."""

    restart_backoff_initial: float = 10.0
    """First delay before restarting a crashed container again; doubles per crash."""

    restart_backoff_max: float = 300.0
    """Ceiling of the crash back-off (kubelet's MaxContainerBackOff, 5 minutes)."""

    restart_backoff_reset: float = 600.0
    """A container that ran this long without crashing starts over at the initial delay."""

    image_pull_backoff_initial: float = 10.0
    """First delay before pulling a failed image again (`ImagePullBackOff`); doubles."""

    image_pull_backoff_max: float = 300.0
    """Ceiling of the image pull back-off."""

    error_requeue: float = 1.0
    """Seconds before a pod whose last step failed (pull, create, sandbox) is synced
    again; a back-off still in force then shows as ImagePullBackOff/CrashLoopBackOff."""

    sync_period: float = 60.0
    """Every pod is re-synced at least this often, even without events."""

    pod_seconds_scale: float = 1.0
    """Multiplies the whole seconds a pod spec gives (probe delays, periods and timeouts,
    termination grace periods). 1 in production; tests use e.g. 0.05 so that a probe
    with `periodSeconds: 1` fires every 50 ms."""

    probe_defaults: probes.ProbeDefaults = field(default_factory=probes.ProbeDefaults)
    """Period, timeout and thresholds for probe fields a spec leaves out."""

    status_batch_delay: float = 0.0
    """Seconds the status writer waits after being woken, to fold more changes into one
    write; 0 = the next loop turn."""

    volumes_dir: str | None = None
    """Host directory holding pod volumes: emptyDir, configMap and secret volumes under
    `pods/<uid>/volumes/`, a PersistentVolumeClaim's data under `pvc/<namespace>/<claim>`
    (so a StatefulSet's successor pod finds it). None: volumes are not mounted."""

    max_queued_events: int = 1000
    """Events waiting to be written beyond this are dropped (client-go's broadcaster
    queue); events are written by a task of their own so that pods never wait on them."""

    kubelet_version: str = KUBELET_VERSION
    """`nodeInfo.kubeletVersion` (and kubeProxyVersion)."""

    runtime_version: str = "0.1"
    """Version in `nodeInfo.containerRuntimeVersion` (`<runtime name>://<version>`)."""


# ----------------------------------------------------------------------- pure helpers


class Backoff:
    """Exponential back-off for one key, as client-go's `flowcontrol.Backoff` keeps it.

    `next(at)` records a failure: the first (or the first after `reset` seconds of quiet)
    gets `initial`, each following one doubles the delay up to `maximum`.
    `in_backoff_since(at, now)` asks whether an event at `at` is still inside the delay.
    Times are any monotonic seconds, passed in.
    """

    def __init__(self, initial: float, maximum: float, reset: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self.reset = reset
        self.delay: float | None = None
        self._last = 0.0

    def _expired(self, at: float) -> bool:
        return at - self._last > self.reset

    def in_backoff_since(self, at: float, now: float) -> bool:
        if self.delay is None or self._expired(at):
            return False
        return now - at < self.delay

    def next(self, at: float, now: float) -> float:
        if self.delay is None or self._expired(at):
            self.delay = self.initial
        else:
            self.delay = min(self.delay * 2, self.maximum)
        self._last = now
        return self.delay


def go_duration(seconds: float) -> str:
    """A duration the way Go's `time.Duration.String()` prints it: `10s`, `5m0s`, `12ms`."""
    if seconds < 0:
        return "-" + go_duration(-seconds)
    if seconds == 0:
        return "0s"

    def trim(x: float) -> str:
        return f"{x:.9f}".rstrip("0").rstrip(".")

    if seconds < 1:
        ns = round(seconds * 1e9)
        if ns < 1_000:
            return f"{ns}ns"
        if ns < 1_000_000:
            return trim(ns / 1e3) + "µs"
        return trim(ns / 1e6) + "ms"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = trim(round(secs, 9)) + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


def should_restart(restart_policy: str, exit_code: int) -> bool:
    """Whether an exited container runs again: Always, OnFailure on non-zero, Never not."""
    if restart_policy == "Never":
        return False
    if restart_policy == "OnFailure":
        return exit_code != 0
    return True


def pod_full_name(pod: Mapping[str, Any]) -> str:
    """`name_namespace(uid)`, kubelet's `format.Pod`, as its back-off messages use it."""
    m = pod.get("metadata") or {}
    return f"{m.get('name', '')}_{m.get('namespace', '')}({m.get('uid', '')})"


_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")


def expand_vars(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion in env values, command and args: a defined variable
    is replaced, an undefined reference stays as written, `$$` escapes a `$`."""
    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR_REF.sub(repl, text)


_FIELD_PATH = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def field_ref_value(pod: Mapping[str, Any], path: str, node_ip: str, pod_ip: str) -> str:
    """The downward API: the value of `valueFrom.fieldRef.fieldPath` for this pod."""
    m = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": m.get("name", ""), "metadata.namespace": m.get("namespace", ""),
        "metadata.uid": m.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": node_ip, "status.hostIPs": node_ip,
        "status.podIP": pod_ip, "status.podIPs": pod_ip,
    }
    if path in simple:
        return str(simple[path])
    found = _FIELD_PATH.match(path)
    if found:
        return str((m.get(found.group(1)) or {}).get(found.group(2), ""))
    return ""


def _write_volume(directory: str, files: Mapping[str, str]) -> None:
    os.makedirs(directory, exist_ok=True)
    for path, content in files.items():
        target = os.path.join(directory, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write(content)


def _image_id(image: str) -> str:
    """A stable digest-shaped image ID (`redis@sha256:…`) for containerStatuses."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    repo = last.split(":", 1)[0]
    name = f"{head}/{repo}" if head else repo
    return f"{name}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


@dataclass(frozen=True)
class VolumePlan:
    """Where one pod volume lives on the host, and what must be written into it."""

    name: str
    host_path: str
    files_from: tuple[str, str] | None = None
    """("configmaps" | "secrets", object name) whose keys become files."""
    items: tuple[tuple[str, str], ...] = ()
    """(key, path) pairs selecting keys; empty means every key under its own name."""
    optional: bool = False


def plan_volumes(pod: Mapping[str, Any], root: str) -> dict[str, VolumePlan]:
    """The host directory of every volume of the pod that the kubelet can provide."""
    uid = (pod.get("metadata") or {}).get("uid", "")
    namespace = (pod.get("metadata") or {}).get("namespace", "default")
    pod_dir = os.path.join(root, "pods", uid, "volumes")
    plans: dict[str, VolumePlan] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or ():
        name = str(volume.get("name", ""))
        if isinstance(volume.get("persistentVolumeClaim"), dict):
            claim = str(volume["persistentVolumeClaim"].get("claimName", ""))
            plans[name] = VolumePlan(name, os.path.join(root, "pvc", namespace, claim))
        elif isinstance(volume.get("hostPath"), dict):
            plans[name] = VolumePlan(name, str(volume["hostPath"].get("path", "")))
        else:
            for kind, resource, key in (("configMap", "configmaps", "name"),
                                        ("secret", "secrets", "secretName")):
                source = volume.get(kind)
                if isinstance(source, dict):
                    items = tuple((str(i.get("key", "")), str(i.get("path", "")))
                                  for i in source.get("items") or ())
                    plans[name] = VolumePlan(name, os.path.join(pod_dir, kind, name),
                                             (resource, str(source.get(key, ""))), items,
                                             bool(source.get("optional")))
                    break
            else:  # emptyDir, and anything else we cannot provide, as an empty directory
                plans[name] = VolumePlan(name, os.path.join(pod_dir, "emptyDir", name))
    return plans


def container_mounts(container: Mapping[str, Any],
                     plans: Mapping[str, VolumePlan]) -> tuple[base.Mount, ...]:
    """A container's `volumeMounts` as runtime mounts (unknown volumes are skipped)."""
    mounts = []
    for mount in container.get("volumeMounts") or ():
        plan = plans.get(str(mount.get("name", "")))
        if plan is None:
            continue
        host = plan.host_path
        if mount.get("subPath"):
            host = os.path.join(host, str(mount["subPath"]))
        mounts.append(base.Mount(host, str(mount.get("mountPath", "")),
                                 bool(mount.get("readOnly"))))
    return tuple(mounts)


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


# ----------------------------------------------------------------------- collaborators


class SandboxProvider(Protocol):
    """The cluster network, as the kubelet sees it: a pod's sandbox (its IP, DNS and
    connections) is made when the pod starts and released when it is gone. Either method
    may be a coroutine."""

    def create_sandbox(self, pod: dict[str, Any]) -> base.PodSandbox | Awaitable[base.PodSandbox]: ...

    def destroy_sandbox(self, pod_uid: str) -> None | Awaitable[None]: ...


# ------------------------------------------------------------------------ pod workers


@dataclass(eq=False)
class _Container:
    """The kubelet's record of one container of a pod, across its attempts."""

    name: str
    init: bool
    field_path: str
    restart_backoff: Backoff
    pull_backoff: Backoff
    image: str = ""
    """The image of the current attempt (the spec's, when it started)."""
    id: str = ""
    """Runtime id of the current attempt; "" before the first create."""
    running_since: float | None = None
    terminated: Terminated | None = None
    exited_at: float = 0.0
    """Loop time the current attempt exited, for back-off."""
    last: Terminated | None = None
    last_id: str = ""
    waiting_reason: str = ""
    waiting_message: str = ""
    restart_count: int = 0
    has_run: bool = False
    ready: bool = False
    started: bool = False
    kill_reason: str = ""
    kill_grace: float | None = None
    skip_backoff: bool = False
    pull_failed_at: float = 0.0
    backoff_reported: float | None = None
    backoff_passed: float | None = None
    """The exit whose restart back-off has been served (a later pull error must not
    serve it again)."""
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    """The current attempt's exit waiter and probe loops."""
    waiter: asyncio.Task[None] | None = None
    """The exit waiter of the current attempt (also in `tasks`)."""

    @property
    def is_running(self) -> bool:
        return self.running_since is not None and self.terminated is None

    @property
    def succeeded(self) -> bool:
        return self.terminated is not None and self.terminated.exit_code == 0 \
            and not self.is_running

    def wait(self, reason: str, message: str = "") -> None:
        self.waiting_reason, self.waiting_message = reason, message

    def view(self, runtime_name: str, spec_image: str) -> ContainerView:
        ready = self.succeeded if self.init else self.ready and self.is_running
        return ContainerView(
            name=self.name, image=self.image or spec_image,
            image_id=_image_id(self.image) if self.has_run else "",
            container_id=f"{runtime_name}://{self.id}" if self.id else "",
            running_since=self.running_since if self.is_running else None,
            terminated=self.terminated, waiting_reason=self.waiting_reason,
            waiting_message=self.waiting_message, last_terminated=self.last,
            restart_count=self.restart_count, ready=ready, started=self.started)

    def cancel_tasks(self) -> None:
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        self.tasks = [t for t in self.tasks if t is current]


def _specs(pod: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    return [c for c in (pod.get("spec") or {}).get(key) or () if isinstance(c, dict)]


class _PodWorker:
    """Runs one pod (one uid) until it is gone from the API or the kubelet stops."""

    def __init__(self, kubelet: Kubelet, pod: dict[str, Any]) -> None:
        self.kubelet = kubelet
        self.pod = pod
        self.uid = objects.uid_of(pod)
        self.namespace = objects.namespace_of(pod)
        self.name = objects.name_of(pod)
        self.wake = asyncio.Event()
        self.gone = False
        self.sandbox: base.PodSandbox | None = None
        self.pod_ip = (pod.get("status") or {}).get("podIP", "")
        start = (pod.get("status") or {}).get("startTime")
        self.start_time: float | None = objects.parse_time(start) if start else None
        self.terminal = False
        self.terminated = False
        self.deleted = False
        self.frozen_ids: set[str] = set()
        """Containers stopped by `freeze_pod`; while any is, the sandbox stalls too."""
        self.created_ids: list[str] = []
        self.written_status: dict[str, Any] | None = None
        root = kubelet.settings.volumes_dir
        self.volumes = plan_volumes(pod, root) if root else {}
        self.volumes_ready = not self.volumes
        self.task: asyncio.Task[None] | None = None
        s = kubelet.settings
        previous = {cs.get("name"): cs for key in ("containerStatuses", "initContainerStatuses")
                    for cs in (pod.get("status") or {}).get(key) or ()}

        def record(spec: dict[str, Any], init: bool) -> _Container:
            where = "initContainers" if init else "containers"
            c = _Container(spec.get("name", ""), init, f"spec.{where}{{{spec.get('name', '')}}}",
                           Backoff(s.restart_backoff_initial, s.restart_backoff_max,
                                   s.restart_backoff_reset),
                           Backoff(s.image_pull_backoff_initial, s.image_pull_backoff_max,
                                   s.restart_backoff_reset))
            old = previous.get(c.name)
            if old:  # A kubelet that comes back continues the counts it reported.
                c.restart_count = int(old.get("restartCount") or 0)
                c.has_run = bool((old.get("state") or {}).keys() & {"running", "terminated"})
            return c

        self.init = [record(spec, True) for spec in _specs(pod, "initContainers")]
        self.containers = [record(spec, False) for spec in _specs(pod, "containers")]

    def __repr__(self) -> str:
        return f"<PodWorker {self.namespace}/{self.name} {self.uid}>"

    # -- plumbing -----------------------------------------------------------------------

    @property
    def records(self) -> list[_Container]:
        return self.init + self.containers

    def record(self, name: str) -> _Container | None:
        for c in self.records:
            if c.name == name:
                return c
        return None

    def spec_of(self, c: _Container) -> dict[str, Any]:
        for spec in _specs(self.pod, "initContainers" if c.init else "containers"):
            if spec.get("name") == c.name:
                return spec
        return {}

    def see(self, pod: dict[str, Any]) -> None:
        """A version of the pod from the watch or from our own write.

        A change of spec (a new generation) or deletion wakes the loop; a status someone
        else changed (the node lifecycle controller marking the pod not ready) only asks
        for our status to be written again; the echo of our own write does neither.
        """
        if objects.uid_of(pod) != self.uid:
            return
        old = self.pod
        try:
            if int(objects.resource_version_of(pod)) < int(objects.resource_version_of(old)):
                return
        except ValueError:
            pass
        self.pod = pod
        new_meta, old_meta = pod.get("metadata") or {}, old.get("metadata") or {}
        if new_meta.get("generation") != old_meta.get("generation") or \
                new_meta.get("deletionTimestamp") != old_meta.get("deletionTimestamp"):
            self.wake.set()
        elif pod.get("status") != self.written_status:
            self.publish()

    def mark_gone(self) -> None:
        self.gone = True
        self.wake.set()

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def event(self, c: _Container | None, severity: Severity, reason: str,
              message: str) -> None:
        self.kubelet._record(self.pod, severity, reason, message,
                             c.field_path if c else "")

    def observation(self) -> PodObservation:
        rt = self.kubelet.runtime.name
        specs = {(True, s.get("name")): s for s in _specs(self.pod, "initContainers")}
        specs.update({(False, s.get("name")): s for s in _specs(self.pod, "containers")})

        def image(c: _Container) -> str:
            return str(specs.get((c.init, c.name), {}).get("image", ""))

        return PodObservation(
            init_views=tuple(c.view(rt, image(c)) for c in self.init),
            views=tuple(c.view(rt, image(c)) for c in self.containers),
            pod_ip=self.pod_ip, host_ip=self.kubelet.node_ip, start_time=self.start_time,
            sandbox_ready=self.sandbox is not None, terminal=self.terminal or self.terminated)

    def publish(self) -> None:
        self.kubelet._status_changed(self)

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while not self.gone:
                self.wake.clear()
                deadline: float | None = None
                try:
                    if objects.is_terminating(self.pod):
                        if not self.deleted:
                            deadline = await self.terminate()
                    elif not self.terminal:
                        deadline = await self.sync()
                        if self.done():
                            await self.finish()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("kubelet %s: syncing pod %s/%s failed", self.kubelet.node_name,
                                  self.namespace, self.name)
                    deadline = self.now() + self.kubelet.settings.error_requeue
                self.publish()
                await self.sleep_until(deadline)
        finally:
            if self.gone:
                # If the kubelet is stopped meanwhile, its own teardown finishes this one.
                await self.teardown()

    async def sleep_until(self, deadline: float | None) -> None:
        """Until woken, or the deadline, or the sync period (a timer, not a task: ten
        thousand idle pods must cost next to nothing)."""
        if self.gone or self.wake.is_set():
            return
        timeout = self.kubelet.settings.sync_period
        if deadline is not None:
            timeout = min(timeout, max(0.0, deadline - self.now()))
        timer = asyncio.get_running_loop().call_later(timeout, self.wake.set)
        try:
            await self.wake.wait()
        finally:
            timer.cancel()

    def done(self) -> bool:
        """Whether the pod has reached Succeeded or Failed (nothing will run again)."""
        if self.terminal or any(c.is_running for c in self.containers):
            return False
        seen = self.observation()
        phase = podstatus.pod_phase((self.pod.get("spec") or {}).get("restartPolicy", "Always"),
                                    seen.init_views, seen.views)
        return phase.value in podstatus.TERMINAL_PHASES

    # -- sync: the next steps towards the spec ------------------------------------------------

    async def sync(self) -> float | None:
        """Take the steps the pod needs now; returns when to look again (loop time)."""
        settings = self.kubelet.settings
        if self.start_time is None:
            self.start_time = self.kubelet.clock()
        if self.sandbox is None:
            try:
                self.sandbox = await _maybe_await(self.kubelet.sandboxes.create_sandbox(self.pod))
            except Exception as exc:
                log.warning("kubelet %s: sandbox for %s/%s failed: %s", self.kubelet.node_name,
                            self.namespace, self.name, exc)
                self.event(None, Severity.WARNING, "FailedCreatePodSandBox",
                           f"Failed to create pod sandbox: {exc}")
                return self.now() + settings.error_requeue
            self.pod_ip = self.sandbox.ip
        if not self.volumes_ready:
            problem = await self.prepare_volumes()
            if problem:
                self.event(None, Severity.WARNING, "FailedMount", problem)
                return self.now() + settings.error_requeue
            self.volumes_ready = True
        for c in self.records:
            if c.kill_reason and c.is_running:
                await self.kill_for(c)
        policy = (self.pod.get("spec") or {}).get("restartPolicy", "Always")
        for c in self.init:
            if c.succeeded:
                continue
            if c.is_running:
                return None
            if c.terminated is not None and policy == "Never":
                return None  # The pod has failed; the phase says so.
            return await self.start(c)
        deadline: float | None = None
        for c in self.containers:
            spec = self.spec_of(c)
            if c.is_running:
                if spec.get("image") and c.image and spec["image"] != c.image:
                    c.kill_reason = f"Container {c.name} definition changed, will be restarted"
                    c.skip_backoff = True
                    await self.kill_for(c)
                continue
            if c.terminated is not None and not should_restart(policy, c.terminated.exit_code):
                continue
            wanted = await self.start(c)
            if wanted is not None:
                deadline = wanted if deadline is None else min(deadline, wanted)
        return deadline

    async def start(self, c: _Container) -> float | None:
        """Pull, create and start the next attempt of `c`, honouring the back-offs.

        Returns when to look again if this attempt has to wait.
        """
        kubelet = self.kubelet
        now = self.now()
        restarting = c.terminated is not None
        if restarting and not c.skip_backoff and c.backoff_passed != c.exited_at:
            if c.restart_backoff.in_backoff_since(c.exited_at, now):
                delay = c.restart_backoff.delay or 0.0
                c.wait(Reason.CRASH_LOOP_BACK_OFF.value,
                       f"back-off {go_duration(delay)} restarting failed container={c.name} "
                       f"pod={pod_full_name(self.pod)}")
                if c.backoff_reported != c.exited_at:
                    c.backoff_reported = c.exited_at
                    self.event(c, Severity.WARNING, "BackOff",
                               f"Back-off restarting failed container {c.name} in pod "
                               f"{pod_full_name(self.pod)}")
                return c.exited_at + delay
            c.restart_backoff.next(c.exited_at, now)
            c.backoff_passed = c.exited_at
        c.skip_backoff = False
        spec = self.spec_of(c)
        image = str(spec.get("image", ""))
        wait = await self.pull(c, image, str(spec.get("imagePullPolicy") or "IfNotPresent"))
        if wait is not None:
            return wait
        try:
            config = await self.container_config(c, spec, image)
        except (base.ContainerError, errors.APIError) as exc:
            c.wait(Reason.CREATE_CONTAINER_CONFIG_ERROR.value, str(exc))
            self.event(c, Severity.WARNING, "Failed", f"Error: {exc}")
            return self.now() + kubelet.settings.error_requeue
        try:
            assert self.sandbox is not None
            container_id = await kubelet.runtime.create_container(config, self.sandbox)
        except base.ImagePullError as exc:
            kubelet._images.discard(image)
            return await self.pull_failed(c, image, exc)
        except Exception as exc:
            c.wait(Reason.CREATE_CONTAINER_ERROR.value, str(exc))
            self.event(c, Severity.WARNING, "Failed", f"Error: {exc}")
            return self.now() + kubelet.settings.error_requeue
        self.created_ids.append(container_id)
        if restarting or c.has_run:
            c.restart_count += 1
        if c.terminated is not None:
            self.forget_container(c.last_id)
            c.last, c.last_id = c.terminated, c.id
        c.id, c.image, c.terminated, c.running_since = container_id, image, None, None
        c.has_run = True
        c.ready = c.started = False
        c.wait("")
        self.event(c, Severity.NORMAL, "Created", f"Created container {c.name}")
        try:
            await kubelet.runtime.start_container(container_id)
        except Exception as exc:
            stamp = kubelet.clock()
            c.terminated = Terminated(128, "StartError", stamp, stamp,
                                      f"{kubelet.runtime.name}://{container_id}", str(exc))
            c.exited_at = self.now()
            self.event(c, Severity.WARNING, "Failed", f"Error: {exc}")
            return self.now()
        c.running_since = kubelet.clock()
        self.event(c, Severity.NORMAL, "Started", f"Started container {c.name}")
        self.watch_container(c, spec, container_id)
        return None

    async def pull(self, c: _Container, image: str, policy: str) -> float | None:
        """Make sure the image is there, by the container's imagePullPolicy."""
        kubelet = self.kubelet
        present = image in kubelet._images
        if policy == "Never" and not present:
            # The runtime has no image list; an image it can provide without fetching
            # anything (the fake runtime's registered ones) counts as present.
            try:
                await kubelet.runtime.pull_image(image)
                kubelet._images.add(image)
                present = True
            except Exception:  # absent, whatever the runtime calls it
                present = False
        if policy == "Never" and not present:
            message = f'Container image "{image}" is not present with pull policy of Never'
            c.wait(Reason.ERR_IMAGE_NEVER_PULL.value, message)
            self.event(c, Severity.WARNING, "ErrImageNeverPull", message)
            return self.now() + kubelet.settings.error_requeue
        if policy != "Always" and present:
            self.event(c, Severity.NORMAL, "Pulled",
                       f'Container image "{image}" already present on machine')
            return None
        now = self.now()
        if c.pull_backoff.in_backoff_since(c.pull_failed_at, now):
            message = f'Back-off pulling image "{image}"'
            c.wait(Reason.IMAGE_PULL_BACK_OFF.value, message)
            if c.backoff_reported != c.pull_failed_at:
                c.backoff_reported = c.pull_failed_at
                self.event(c, Severity.NORMAL, "BackOff", message)
                self.event(c, Severity.WARNING, "Failed", "Error: ImagePullBackOff")
            return c.pull_failed_at + (c.pull_backoff.delay or 0.0)
        self.event(c, Severity.NORMAL, "Pulling", f'Pulling image "{image}"')
        began = self.now()
        try:
            await kubelet.runtime.pull_image(image)
        except base.ImagePullError as exc:
            return await self.pull_failed(c, image, exc)
        except Exception as exc:  # a broken runtime is a failed pull, never a crash
            return await self.pull_failed(c, image, exc)
        elapsed = self.now() - began
        took = go_duration(round(elapsed, 3) if elapsed >= 1e-3 else round(elapsed, 6))
        kubelet._images.add(image)
        self.event(c, Severity.NORMAL, "Pulled",
                   f'Successfully pulled image "{image}" in {took} ({took} including waiting)')
        return None

    async def pull_failed(self, c: _Container, image: str, exc: Exception) -> float:
        now = self.now()
        c.pull_failed_at = now
        c.pull_backoff.next(now, now)
        c.wait(Reason.ERR_IMAGE_PULL.value, str(exc))
        self.event(c, Severity.WARNING, "Failed", f'Failed to pull image "{image}": {exc}')
        self.event(c, Severity.WARNING, "Failed", "Error: ErrImagePull")
        return now + min(self.kubelet.settings.error_requeue, c.pull_backoff.delay or 0.0)

    async def prepare_volumes(self) -> str:
        """Create the pod's volume directories and write configMap/secret files; returns
        kubelet's FailedMount message when a source is missing, else ""."""
        for plan in self.volumes.values():
            files: dict[str, str] = {}
            if plan.files_from is not None:
                resource, name = plan.files_from
                kind = "configmap" if resource == "configmaps" else "secret"
                try:
                    obj = await self.kubelet.client.get(resource, name, self.namespace)
                except errors.NotFound:
                    if not plan.optional:
                        return (f'MountVolume.SetUp failed for volume "{plan.name}" : '
                                f'{kind} "{name}" not found')
                    obj = {}
                data = dict(obj.get("data") or {})
                if kind == "secret":
                    data = {k: base64.b64decode(v).decode(errors="replace")
                            for k, v in data.items()}
                pairs = plan.items or tuple((k, k) for k in data)
                files = {path: data[key] for key, path in pairs if key in data}
            await asyncio.to_thread(_write_volume, plan.host_path, files)
        return ""

    async def container_config(self, c: _Container, spec: dict[str, Any],
                               image: str) -> base.ContainerConfig:
        env: dict[str, str] = {}
        for item in spec.get("env") or ():
            name = str(item.get("name", ""))
            if "value" in item:
                env[name] = expand_vars(str(item.get("value") or ""), env)
            elif isinstance(item.get("valueFrom"), dict):
                env[name] = await self.env_from(item["valueFrom"])
        return base.ContainerConfig(
            pod_uid=self.uid, pod_name=self.name, namespace=self.namespace, name=c.name,
            image=image,
            command=tuple(expand_vars(str(a), env) for a in spec.get("command") or ()),
            args=tuple(expand_vars(str(a), env) for a in spec.get("args") or ()),
            env=env, working_dir=str(spec.get("workingDir") or ""),
            mounts=container_mounts(spec, self.volumes),
            attempt=c.restart_count + (1 if c.has_run else 0))

    async def env_from(self, source: dict[str, Any]) -> str:
        """An env var's `valueFrom`: the downward API, a ConfigMap or a Secret key.

        Raises ContainerError (the kubelet's CreateContainerConfigError) for a missing
        object or key that is not optional.
        """
        if isinstance(source.get("fieldRef"), dict):
            return field_ref_value(self.pod, str(source["fieldRef"].get("fieldPath", "")),
                                   self.kubelet.node_ip, self.pod_ip)
        for key, resource, kind in (("configMapKeyRef", "configmaps", "configmap"),
                                    ("secretKeyRef", "secrets", "secret")):
            ref = source.get(key)
            if not isinstance(ref, dict):
                continue
            name, item, optional = str(ref.get("name", "")), str(ref.get("key", "")), \
                bool(ref.get("optional"))
            try:
                obj = await self.kubelet.client.get(resource, name, self.namespace)
            except errors.NotFound:
                if optional:
                    return ""
                raise base.ContainerError(f'{kind} "{name}" not found') from None
            value = (obj.get("data") or {}).get(item)
            if value is not None and kind == "secret":
                try:
                    value = base64.b64decode(value).decode()
                except (binascii.Error, UnicodeDecodeError):
                    pass
            if value is None and not optional:
                raise base.ContainerError(f"couldn't find key {item} in "
                                          f"{kind.capitalize()} {self.namespace}/{name}")
            return "" if value is None else str(value)
        return ""

    def watch_container(self, c: _Container, spec: dict[str, Any], container_id: str) -> None:
        """Follow the attempt's exit, and run its probes."""
        c.waiter = asyncio.get_running_loop().create_task(
            self.await_exit(c, container_id), name=f"kubelet wait {self.name}/{c.name}")
        c.tasks.append(c.waiter)
        scale = self.kubelet.settings.pod_seconds_scale
        startup = None if c.init else self.parse(c, spec, probes.ProbeKind.STARTUP, scale)
        c.started = startup is None
        if startup is not None:
            self.run_probe(c, container_id, startup)
        else:
            self.start_probes(c, spec, container_id)

    def parse(self, c: _Container, spec: dict[str, Any], kind: probes.ProbeKind,
              scale: float) -> probes.ProbeSpec | None:
        try:
            return probes.parse_probe(kind, spec, scale=scale,
                                      defaults=self.kubelet.settings.probe_defaults)
        except probes.ProbeError as exc:
            log.warning("kubelet %s: %s", self.kubelet.node_name, exc)
            return None

    def start_probes(self, c: _Container, spec: dict[str, Any], container_id: str) -> None:
        scale = self.kubelet.settings.pod_seconds_scale
        readiness = None if c.init else self.parse(c, spec, probes.ProbeKind.READINESS, scale)
        liveness = None if c.init else self.parse(c, spec, probes.ProbeKind.LIVENESS, scale)
        c.ready = readiness is None and not c.init
        for probe in (liveness, readiness):
            if probe is not None:
                self.run_probe(c, container_id, probe)

    def run_probe(self, c: _Container, container_id: str, probe: probes.ProbeSpec) -> None:
        async def check() -> probes.Outcome:
            return await self.kubelet._probe_once(self, container_id, probe)

        async def report(spec: probes.ProbeSpec, outcome: probes.Outcome,
                         result: bool | None, changed: bool) -> None:
            await self.probe_result(c, container_id, spec, outcome, result, changed)

        c.tasks.append(asyncio.get_running_loop().create_task(
            probes.probe_loop(probe, check, report),
            name=f"kubelet {probe.kind.value.lower()} probe {self.name}/{c.name}"))

    async def probe_result(self, c: _Container, container_id: str, spec: probes.ProbeSpec,
                           outcome: probes.Outcome, result: bool | None, changed: bool) -> None:
        if c.id != container_id or not c.is_running or self.sandbox is None:
            return  # a late result about an attempt, or a pod, that has ended
        if not outcome.ok:
            self.event(c, Severity.WARNING, "Unhealthy",
                       f"{spec.kind.value} probe failed: {outcome.output.rstrip()}")
        if not changed:
            return
        kind = spec.kind
        if kind is probes.ProbeKind.READINESS:
            c.ready = bool(result)
        elif kind is probes.ProbeKind.LIVENESS and result is False:
            c.kill_reason = f"Container {c.name} failed liveness probe, will be restarted"
            c.kill_grace = spec.termination_grace
        elif kind is probes.ProbeKind.STARTUP:
            if result:
                c.started = True
                self.start_probes(c, self.spec_of(c), container_id)
            else:
                c.kill_reason = f"Container {c.name} failed startup probe, will be restarted"
                c.kill_grace = spec.termination_grace
        self.wake.set()

    async def await_exit(self, c: _Container, container_id: str) -> None:
        runtime = self.kubelet.runtime
        try:
            status: base.ContainerStatus | None = await runtime.wait(container_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("kubelet %s: waiting for %s failed", self.kubelet.node_name,
                          container_id)
            status = None
        if c.id != container_id:
            return
        code = status.exit_code if status is not None and status.exit_code is not None else 137
        reason = (status.reason if status is not None and status.reason else
                  (Reason.COMPLETED.value if code == 0 else Reason.ERROR.value))
        if status is None:
            reason = "ContainerStatusUnknown"
        c.terminated = Terminated(code, reason, c.running_since, self.kubelet.clock(),
                                  f"{runtime.name}://{container_id}",
                                  status.message if status is not None else
                                  "The container could not be located")
        c.exited_at = self.now()
        c.ready = c.started = False
        c.kill_reason = ""
        c.cancel_tasks()
        if container_id in self.frozen_ids:
            # A frozen process that died (killed by a failed probe, say) holds nothing
            # back any more; its successor runs normally.
            self.frozen_ids.discard(container_id)
            if not self.frozen_ids and self.sandbox is not None:
                self.sandbox.set_frozen(False)
        self.wake.set()

    def grace_seconds(self, override: float | None = None) -> float:
        if override is not None:
            return override
        spec = self.pod.get("spec") or {}
        return float(spec.get("terminationGracePeriodSeconds", 30)) \
            * self.kubelet.settings.pod_seconds_scale

    async def kill_for(self, c: _Container) -> None:
        """Stop a container the kubelet gave up on (failed liveness, changed spec)."""
        reason, c.kill_reason = c.kill_reason, ""
        grace, c.kill_grace = self.grace_seconds(c.kill_grace), None
        self.event(c, Severity.NORMAL, "Killing", reason)
        c.ready = False
        try:
            await self.kubelet.runtime.stop_container(c.id, grace)
        except Exception:
            log.exception("kubelet %s: stopping %s failed", self.kubelet.node_name, c.id)

    def forget_container(self, container_id: str) -> None:
        """Remove an attempt that is no longer current nor previous (its logs go too)."""
        if not container_id or container_id not in self.created_ids:
            return
        self.created_ids.remove(container_id)
        task = asyncio.get_running_loop().create_task(
            self._remove(container_id), name=f"kubelet remove {container_id}")
        self.kubelet._background.add(task)
        task.add_done_callback(self.kubelet._background.discard)

    async def _remove(self, container_id: str) -> None:
        try:
            await self.kubelet.runtime.remove_container(container_id)
        except Exception:
            log.debug("removing container %s failed", container_id, exc_info=True)

    # -- endings ------------------------------------------------------------------------

    async def finish(self) -> None:
        """The pod reached Succeeded/Failed: nothing will run again; release the sandbox."""
        self.terminal = True
        await self.release_sandbox()

    async def stop_containers(self, grace: float) -> None:
        running = [c for c in self.records if c.is_running]
        for c in self.records:
            c.kill_reason = ""
        for c in running:
            c.ready = False
            self.event(c, Severity.NORMAL, "Killing", f"Stopping container {c.name}")
        runtime = self.kubelet.runtime

        async def stop(c: _Container) -> None:
            try:
                await runtime.stop_container(c.id, grace)
            except Exception:
                log.exception("kubelet %s: stopping %s failed", self.kubelet.node_name, c.id)
            if c.waiter is not None and not c.waiter.done():
                # The runtime has stopped it; give the exit a moment to be recorded so
                # the final status shows the container terminated.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_EXIT_RECORD_TIMEOUT):
                        await asyncio.shield(c.waiter)

        await asyncio.gather(*(stop(c) for c in running))

    async def terminate(self) -> float | None:
        """The pod is being deleted: stop with the grace period, then finish the deletion."""
        settings = self.kubelet.settings
        if not self.terminated:
            grace_field = (self.pod.get("metadata") or {}).get("deletionGracePeriodSeconds")
            grace = self.grace_seconds(float(grace_field) * settings.pod_seconds_scale
                                       if grace_field is not None else None)
            await self.stop_containers(grace)
            for c in self.records:
                c.cancel_tasks()
            self.terminated = True
            await self.release_sandbox()
        if await self.kubelet._finish_deletion(self):
            self.deleted = True
            return None
        return self.now() + settings.error_requeue

    async def release_sandbox(self) -> None:
        if self.sandbox is None:
            return
        self.sandbox = None
        try:
            await _maybe_await(self.kubelet.sandboxes.destroy_sandbox(self.uid))
        except Exception:
            log.exception("kubelet %s: destroying the sandbox of %s failed",
                          self.kubelet.node_name, self.uid)

    async def teardown(self) -> None:
        """Kill what still runs, release the sandbox and forget every container; no API
        writes (the pod is gone, or the node died)."""
        runtime = self.kubelet.runtime
        for c in self.records:
            c.cancel_tasks()
        for container_id in list(self.created_ids):
            try:
                await runtime.kill_container(container_id)
                await runtime.remove_container(container_id)
            except Exception:  # a runtime's failure must not stop the rest of the teardown
                log.debug("kubelet %s: cleaning up %s failed", self.kubelet.node_name,
                          container_id, exc_info=True)
        self.created_ids.clear()
        await self.release_sandbox()
        root = self.kubelet.settings.volumes_dir
        if root and self.volumes:
            await asyncio.to_thread(shutil.rmtree, os.path.join(root, "pods", self.uid), True)


# -------------------------------------------------------------------------------- kubelet


class Kubelet:
    """The node agent of one node."""

    def __init__(self, client: Client, *, node_name: str, runtime: base.Runtime,
                 sandboxes: SandboxProvider, settings: KubeletSettings | None = None,
                 clock: Callable[[], float] = time.time, node_ip: str = "127.0.0.1") -> None:
        self.client = client
        self.node_name = node_name
        self.runtime = runtime
        self.sandboxes = sandboxes
        self.settings = settings or KubeletSettings()
        self.clock = clock
        self.node_ip = node_ip
        self.recorder = EventRecorder(client, component="kubelet", host=node_name, clock=clock)
        self._workers: dict[str, _PodWorker] = {}
        self._by_name: dict[tuple[str, str], _PodWorker] = {}
        self._images: set[str] = set()
        self._informer: Informer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._dirty: dict[str, _PodWorker] = {}
        self._status_wake: asyncio.Event | None = None
        self._events: deque[tuple[dict[str, Any], Severity, str, str, str]] = deque()
        self._events_wake: asyncio.Event | None = None
        self._events_dropped = 0
        self._node_uid = ""
        self._lease: dict[str, Any] | None = None
        self._last_node_report = 0.0
        self._boot_id = ""
        self._running = False

    def __repr__(self) -> str:
        return f"<Kubelet {self.node_name} pods={len(self._workers)}>"

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Register the node, start heartbeats and begin running this node's pods."""
        if self._running:
            return
        loop = asyncio.get_running_loop()
        self._status_wake = asyncio.Event()
        self._events_wake = asyncio.Event()
        self._events.clear()
        self._boot_id = str(uuid.uuid4())
        await self._register_node()
        self._record(self._node_ref(), Severity.NORMAL, "Starting", "Starting kubelet.")
        await self._renew_lease()
        self._running = True
        self._tasks = [
            loop.create_task(self._status_writer(), name=f"kubelet {self.node_name} status"),
            loop.create_task(self._event_writer(), name=f"kubelet {self.node_name} events"),
            loop.create_task(self._lease_loop(), name=f"kubelet {self.node_name} lease"),
            loop.create_task(self._node_status_loop(), name=f"kubelet {self.node_name} node"),
        ]
        self._informer = Informer(self.client, "pods",
                                  field_selector=f"spec.nodeName={self.node_name}")
        self._informer.add_handler(on_add=self._pod_seen,
                                   on_update=lambda old, new: self._pod_seen(new),
                                   on_delete=self._pod_gone)
        await self._informer.start()

    async def stop(self) -> None:
        """Stop heartbeats and every pod worker, killing this node's containers; nothing
        is written, so the API sees the node go silent (as after `kill`)."""
        await self._shutdown()

    async def kill(self) -> None:
        """The fault "kill node": heartbeats stop and every container dies at once,
        without a word to the API. The node lifecycle controller notices the silence."""
        await self._shutdown()

    async def _shutdown(self) -> None:
        if not self._running:
            return
        self._running = False
        if self._informer is not None:
            await self._informer.stop()
            self._informer = None
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        workers = list(self._workers.values())
        for w in workers:
            if w.task is not None:
                w.task.cancel()
        await asyncio.gather(*tasks, *(w.task for w in workers if w.task is not None),
                             return_exceptions=True)
        for w in workers:
            await w.teardown()
        background = list(self._background)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        self._workers.clear()
        self._by_name.clear()
        self._dirty.clear()
        self._events.clear()
        self._lease = None

    # -- pods from the watch --------------------------------------------------------------

    def _pod_seen(self, pod: dict[str, Any]) -> None:
        if not self._running:
            return
        uid = objects.uid_of(pod)
        worker = self._workers.get(uid)
        if worker is not None:
            worker.see(pod)
            return
        phase = (pod.get("status") or {}).get("phase")
        if phase in podstatus.TERMINAL_PHASES and not objects.is_terminating(pod):
            return  # Finished before we saw it (a restarted kubelet): nothing to run.
        worker = _PodWorker(self, pod)
        self._workers[uid] = worker
        self._by_name[(worker.namespace, worker.name)] = worker
        worker.task = asyncio.get_running_loop().create_task(
            self._run_worker(worker), name=f"kubelet pod {worker.namespace}/{worker.name}")

    def _pod_gone(self, pod: dict[str, Any]) -> None:
        worker = self._workers.get(objects.uid_of(pod))
        if worker is not None:
            worker.mark_gone()

    async def _run_worker(self, worker: _PodWorker) -> None:
        try:
            await worker.run()
        finally:
            if self._workers.get(worker.uid) is worker and worker.gone and self._running:
                del self._workers[worker.uid]
                key = (worker.namespace, worker.name)
                if self._by_name.get(key) is worker:
                    del self._by_name[key]
                self._dirty.pop(worker.uid, None)

    async def _finish_deletion(self, worker: _PodWorker) -> bool:
        """`delete(grace=0)` for our pod (this uid only): the API server keeps a bound pod
        until its kubelet says its containers are gone. True when done."""
        await self._write_status(worker)
        pod = worker.pod
        for _ in range(5):
            try:
                await self.client.delete("pods", worker.name, worker.namespace,
                                         grace_period_seconds=0,
                                         resource_version=objects.resource_version_of(pod))
                return True
            except errors.NotFound:
                return True
            except errors.Conflict:
                try:
                    pod = await self.client.get("pods", worker.name, worker.namespace)
                except errors.NotFound:
                    return True
                if objects.uid_of(pod) != worker.uid:
                    return True
                worker.see(pod)
            except errors.APIError as exc:
                log.warning("kubelet %s: deleting pod %s/%s failed: %s", self.node_name,
                            worker.namespace, worker.name, exc)
                return False
        return False

    # -- events -----------------------------------------------------------------------------

    def _record(self, obj: dict[str, Any], severity: Severity, reason: str, message: str,
                field_path: str = "") -> None:
        """Queue an event; the event writer records it (in order) without holding anyone up."""
        if self._events_wake is None or not self._running:
            return
        if len(self._events) >= self.settings.max_queued_events:
            if not self._events_dropped:  # once per overflow, not once per event
                log.warning("kubelet %s: event queue full, dropping %s %s and what follows "
                            "until it drains", self.node_name, reason, message)
            self._events_dropped += 1
            return
        self._events.append((obj, severity, reason, message, field_path))
        self._events_wake.set()

    async def _event_writer(self) -> None:
        assert self._events_wake is not None
        while True:
            if not self._events:
                if self._events_dropped:
                    log.warning("kubelet %s: %d events were dropped while the queue was full",
                                self.node_name, self._events_dropped)
                    self._events_dropped = 0
                self._events_wake.clear()
                await self._events_wake.wait()
                continue
            obj, severity, reason, message, field_path = self._events.popleft()
            await self.recorder.record(obj, severity, reason, message, field_path=field_path)

    # -- status -----------------------------------------------------------------------------

    def _status_changed(self, worker: _PodWorker) -> None:
        if not self._running or worker.deleted or worker.gone:
            return
        self._dirty[worker.uid] = worker
        if self._status_wake is not None:
            self._status_wake.set()

    async def _status_writer(self) -> None:
        assert self._status_wake is not None
        while True:
            await self._status_wake.wait()
            await asyncio.sleep(self.settings.status_batch_delay)
            self._status_wake.clear()
            dirty, self._dirty = self._dirty, {}
            for worker in dirty.values():
                try:
                    await self._write_status(worker)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("kubelet %s: status of %s/%s not written", self.node_name,
                                  worker.namespace, worker.name)

    async def _write_status(self, worker: _PodWorker) -> None:
        """Write the worker's computed status if it differs; re-read on conflict."""
        pod = worker.pod
        for _ in range(5):
            if worker.gone or worker.deleted:
                return
            status = podstatus.compute_status(pod, worker.observation(), self.clock())
            if status == pod.get("status"):
                return
            update = {**pod, "status": status}
            try:
                written = await self.client.update_status(update)
            except errors.NotFound:
                return
            except errors.Conflict:
                try:
                    pod = await self.client.get("pods", worker.name, worker.namespace)
                except errors.NotFound:
                    return
                if objects.uid_of(pod) != worker.uid:
                    return
                worker.see(pod)
                continue
            worker.written_status = written.get("status")
            worker.see(written)
            return

    # -- the node ---------------------------------------------------------------------------

    def _node_ref(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.node_name, "uid": self.node_name}}

    def _node_labels(self) -> dict[str, str]:
        labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": self.node_name,
                  "kubernetes.io/os": "linux"}
        if self.settings.instance_type:
            labels["node.kubernetes.io/instance-type"] = self.settings.instance_type
            labels["beta.kubernetes.io/instance-type"] = self.settings.instance_type
        labels.update(self.settings.labels)
        return labels

    def _node_conditions(self, old: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
        previous = {c.get("type"): c for c in old}
        stamp = objects.format_time(now)
        wanted = [
            ("MemoryPressure", "False", "KubeletHasSufficientMemory",
             "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID",
             "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ]
        out = []
        for type_, status, reason, message in wanted:
            before = previous.get(type_) or {}
            since = before.get("lastTransitionTime") if before.get("status") == status else None
            out.append({"type": type_, "status": status, "lastHeartbeatTime": stamp,
                        "lastTransitionTime": since or stamp,
                        "reason": reason, "message": message})
        return out

    def _node_status(self, old: dict[str, Any], now: float) -> dict[str, Any]:
        capacity = dict(self.settings.capacity)
        machine = uuid.uuid5(uuid.NAMESPACE_DNS, f"{self.node_name}.redisha").hex
        status = dict(old)
        status.update({
            "capacity": capacity,
            "allocatable": dict(self.settings.allocatable or capacity),
            "conditions": self._node_conditions(old.get("conditions") or [], now),
            "addresses": [{"type": "InternalIP", "address": self.node_ip},
                          {"type": "Hostname", "address": self.node_name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": machine, "systemUUID": str(uuid.UUID(machine)),
                "bootID": self._boot_id,
                "kernelVersion": platform.release(), "osImage": "redisha node",
                "containerRuntimeVersion": f"{self.runtime.name}://{self.settings.runtime_version}",
                "kubeletVersion": self.settings.kubelet_version,
                "kubeProxyVersion": self.settings.kubelet_version,
                "operatingSystem": "linux", "architecture": "amd64",
            },
        })
        return status

    async def _register_node(self) -> None:
        now = self.clock()
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.node_name, "labels": self._node_labels(),
                             "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                             "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
                "spec": {}}
        node["status"] = self._node_status({}, now)
        try:
            created = await self.client.create(node)
            if created.get("status") != node["status"]:
                created["status"] = node["status"]
                created = await self.client.update_status(created)
        except errors.AlreadyExists:
            existing = await self.client.get("nodes", self.node_name)
            existing["metadata"].setdefault("labels", {}).update(self._node_labels())
            existing = await self.client.update(existing)
            existing["status"] = self._node_status(existing.get("status") or {}, now)
            created = await self.client.update_status(existing)
        self._node_uid = objects.uid_of(created)
        self._last_node_report = asyncio.get_running_loop().time()

    async def _node_status_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.node_status_update_period)
            try:
                await self._update_node_status()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("kubelet %s: node status update failed", self.node_name)

    async def _update_node_status(self, *, force: bool = False) -> None:
        """Post the node status when it changed, or when the report period ran out."""
        loop = asyncio.get_running_loop()
        for _ in range(3):
            try:
                node = await self.client.get("nodes", self.node_name)
            except errors.NotFound:
                await self._register_node()
                return
            old = node.get("status") or {}
            wanted = self._node_status(old, self.clock())

            def essence(status: dict[str, Any]) -> Any:
                return ([(c.get("type"), c.get("status"), c.get("reason"))
                         for c in status.get("conditions") or ()],
                        status.get("capacity"), status.get("allocatable"),
                        status.get("addresses"))

            due = loop.time() - self._last_node_report >= self.settings.node_status_report_period
            if not force and not due and essence(wanted) == essence(old):
                return
            was_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in old.get("conditions") or ())
            node["status"] = wanted
            try:
                await self.client.update_status(node)
            except errors.Conflict:
                continue
            self._last_node_report = loop.time()
            if not was_ready:
                self._record(self._node_ref(), Severity.NORMAL, "NodeReady",
                             f"Node {self.node_name} status is now: NodeReady")
            return

    async def _lease_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_renew_interval)
            try:
                await self._renew_lease()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("kubelet %s: lease renewal failed", self.node_name)

    async def _renew_lease(self) -> None:
        """Renew `kube-node-lease/<node>`, creating it when missing."""
        stamp = objects.format_micro_time(self.clock())
        for _ in range(3):
            lease = self._lease
            if lease is None:
                try:
                    lease = await self.client.get("leases", self.node_name, LEASE_NAMESPACE)
                except errors.NotFound:
                    lease = None
            if lease is None:
                fresh = {
                    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                    "metadata": {"name": self.node_name, "namespace": LEASE_NAMESPACE,
                                 "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                                      "name": self.node_name,
                                                      "uid": self._node_uid}]},
                    "spec": {"holderIdentity": self.node_name,
                             "leaseDurationSeconds": self.settings.lease_duration_seconds,
                             "renewTime": stamp},
                }
                try:
                    self._lease = await self.client.create(fresh)
                    return
                except errors.AlreadyExists:
                    continue
            lease = objects.clone(lease)
            lease.setdefault("spec", {}).update({
                "holderIdentity": self.node_name,
                "leaseDurationSeconds": self.settings.lease_duration_seconds,
                "renewTime": stamp})
            try:
                self._lease = await self.client.update(lease)
                return
            except (errors.Conflict, errors.NotFound):
                self._lease = None
        raise RuntimeError(f"could not renew the lease of node {self.node_name}")

    # -- probes -------------------------------------------------------------------------------

    async def _probe_once(self, worker: _PodWorker, container_id: str,
                          probe: probes.ProbeSpec) -> probes.Outcome:
        if probe.action is probes.Action.EXEC:
            return await probes.run_exec(self.runtime, container_id, probe.command, probe.timeout)
        sandbox = worker.sandbox
        if sandbox is None:
            return probes.Outcome(False, "pod sandbox is gone")
        host = probe.host or sandbox.ip
        if probe.action is probes.Action.TCP:
            return await probes.run_tcp(sandbox.open_connection, host, probe.port, probe.timeout)
        return await probes.run_http(sandbox.open_connection, host, probe.port, probe.path,
                                     probe.timeout)

    # -- logs and exec ----------------------------------------------------------------------

    def _container(self, namespace: str, pod: str,
                   container: str | None) -> tuple[_PodWorker, _Container]:
        worker = self._by_name.get((namespace, pod))
        if worker is None:
            raise errors.NotFound("pods", pod)
        if not container:
            if len(worker.containers) == 1:
                return worker, worker.containers[0]
            names = " ".join(c.name for c in worker.containers)
            message = f"a container name must be specified for pod {pod}, choose one of: [{names}]"
            if worker.init:
                message += f" or one of the init containers: [{' '.join(c.name for c in worker.init)}]"
            raise errors.BadRequest(message)
        record = worker.record(container)
        if record is None:
            raise errors.BadRequest(f"container {container} is not valid for pod {pod}")
        return worker, record

    def _log_source(self, namespace: str, pod: str, container: str | None,
                    previous: bool) -> str:
        """The runtime id whose log to read, by kubelet's rules for current/previous."""
        worker, c = self._container(namespace, pod, container)
        view = c.view(self.runtime.name, "")
        last = view.shown_last_terminated
        if previous:
            if last is None or not last.container_id:
                raise errors.BadRequest(
                    f'previous terminated container "{c.name}" in pod "{pod}" not found')
            return last.container_id.split("://", 1)[-1]
        if view.is_running or (view.is_terminated and c.id):
            return c.id
        if last is not None and last.container_id:
            return last.container_id.split("://", 1)[-1]
        why = {Reason.ERR_IMAGE_PULL.value: "image can't be pulled",
               Reason.IMAGE_PULL_BACK_OFF.value: "trying and failing to pull image"}.get(
            view.waiting_reason, view.waiting_reason or (
                Reason.POD_INITIALIZING.value if worker.init else Reason.CONTAINER_CREATING.value))
        raise errors.BadRequest(f'container "{c.name}" in pod "{pod}" is waiting to start: {why}')

    def logs(self, namespace: str, pod: str, container: str | None = None,
             previous: bool = False) -> list[base.LogLine]:
        """The retained lines of a container's current (or previous) attempt."""
        return self.runtime.logs(self._log_source(namespace, pod, container, previous)).lines()

    async def follow(self, namespace: str, pod: str, container: str | None = None,
                     previous: bool = False) -> AsyncGenerator[base.LogLine, None]:
        """Every retained line, then new ones until the attempt exits (`logs -f`)."""
        source = self._log_source(namespace, pod, container, previous)
        async for line in self.runtime.logs(source).follow():
            yield line

    async def exec(self, namespace: str, pod: str, container: str | None, argv: list[str],
                   stdin: bytes | None = None, *, timeout: float | None = None) -> base.ExecResult:
        """Run a command in a running container (`kubectl exec`)."""
        _, c = self._container(namespace, pod, container)
        if not c.is_running:
            raise errors.BadRequest(
                f'unable to upgrade connection: container not found ("{c.name}")')
        try:
            return await self.runtime.exec(c.id, list(argv), stdin=stdin, timeout=timeout)
        except base.ContainerError as e:
            # The runtime could not start the command (say, no such binary): the kubelet
            # answers the stream with an internal error, as it does for a failed CRI exec.
            raise errors.APIError("Internal error occurred: error executing command in "
                                  f"container: {e}") from None

    # -- faults -------------------------------------------------------------------------------

    def _worker(self, namespace: str, name: str) -> _PodWorker:
        worker = self._by_name.get((namespace, name))
        if worker is None:
            raise errors.NotFound("pods", name)
        return worker

    async def kill_pod_containers(self, namespace: str, name: str) -> None:
        """The fault "crash": SIGKILL every running container; they restart by policy."""
        worker = self._worker(namespace, name)
        for c in worker.records:
            if c.is_running:
                await self.runtime.kill_container(c.id)

    async def freeze_pod(self, namespace: str, name: str) -> None:
        """SIGSTOP every running container and stall the pod's connections, until
        `thaw_pod` (or until the frozen containers are gone, say killed by a failed
        liveness probe: their successors run normally)."""
        worker = self._worker(namespace, name)
        for c in worker.records:
            if c.is_running:
                await self.runtime.freeze_container(c.id)
                worker.frozen_ids.add(c.id)
        if worker.sandbox is not None and worker.frozen_ids:
            worker.sandbox.set_frozen(True)

    async def thaw_pod(self, namespace: str, name: str) -> None:
        """Undo `freeze_pod`."""
        worker = self._worker(namespace, name)
        for container_id in list(worker.frozen_ids):
            await self.runtime.thaw_container(container_id)
        worker.frozen_ids.clear()
        if worker.sandbox is not None:
            worker.sandbox.set_frozen(False)

    def pods(self) -> list[tuple[str, str]]:
        """(namespace, name) of every pod this kubelet runs."""
        return sorted(self._by_name)
