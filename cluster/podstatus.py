"""A pod's status as the kubelet computes it: phase, conditions and container statuses.

Everything here is pure. The kubelet observes its containers (what ran, how it ended,
whether probes pass) and hands those observations over as `ContainerView`s; this module
turns them into the `status` a real kubelet would write, with Kubernetes' rules and
wording: the phase follows kubelet's `getPhase`, the conditions follow its
`status/generate.go` (reasons `ContainersNotReady`, `ContainersNotInitialized`,
`PodCompleted`, `PodFailed`), container statuses are sorted by name and init container
statuses keep spec order, and a condition's `lastTransitionTime` moves only when its
status does. Keeping this apart from the kubelet's effects lets each rule be tested on
plain data.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from collections.abc import Iterable, Mapping
from typing import Any

from cluster.api import objects

KUBELET_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
"""The pod conditions the kubelet owns, in the order it writes them; others (PodScheduled,
DisruptionTarget) belong to other components and are kept as they are."""


class Phase(str, enum.Enum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


TERMINAL_PHASES = (Phase.SUCCEEDED.value, Phase.FAILED.value)


class Reason(str, enum.Enum):
    """Container waiting reasons and condition reasons, in kubelet's spelling."""

    CONTAINER_CREATING = "ContainerCreating"
    POD_INITIALIZING = "PodInitializing"
    CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
    ERR_IMAGE_PULL = "ErrImagePull"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
    CREATE_CONTAINER_ERROR = "CreateContainerError"
    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    RUN_CONTAINER_ERROR = "RunContainerError"
    COMPLETED = "Completed"
    ERROR = "Error"
    CONTAINERS_NOT_READY = "ContainersNotReady"
    CONTAINERS_NOT_INITIALIZED = "ContainersNotInitialized"
    POD_COMPLETED = "PodCompleted"
    POD_FAILED = "PodFailed"
    UNKNOWN_CONTAINER_STATUSES = "UnknownContainerStatuses"


@dataclass(frozen=True)
class Terminated:
    """One finished run of a container."""

    exit_code: int
    reason: str
    started_at: float | None = None
    finished_at: float | None = None
    container_id: str = ""
    message: str = ""

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"exitCode": self.exit_code, "reason": self.reason}
        if self.container_id:
            out["containerID"] = self.container_id
        if self.message:
            out["message"] = self.message
        out["startedAt"] = _stamp(self.started_at)
        out["finishedAt"] = _stamp(self.finished_at)
        return out


@dataclass(frozen=True)
class ContainerView:
    """What the kubelet knows of one container: enough to write its containerStatus.

    The state is the first that applies: `waiting_reason` set → waiting (a back-off, a
    pull error); `running_since` set → running; `terminated` set → terminated; nothing →
    waiting with the pod's default reason (`ContainerCreating`, or `PodInitializing` in a
    pod with init containers).
    """

    name: str
    image: str
    image_id: str = ""
    container_id: str = ""
    running_since: float | None = None
    terminated: Terminated | None = None
    waiting_reason: str = ""
    waiting_message: str = ""
    last_terminated: Terminated | None = None
    restart_count: int = 0
    ready: bool = False
    started: bool = False

    @property
    def is_running(self) -> bool:
        return not self.waiting_reason and self.running_since is not None

    @property
    def is_terminated(self) -> bool:
        return not self.waiting_reason and self.running_since is None \
            and self.terminated is not None

    @property
    def is_waiting(self) -> bool:
        return not self.is_running and not self.is_terminated

    @property
    def shown_last_terminated(self) -> Terminated | None:
        """`lastState.terminated`: while waiting to restart, the run that just ended."""
        if self.is_waiting and self.terminated is not None:
            return self.terminated
        return self.last_terminated


def container_status(view: ContainerView, default_waiting: str) -> dict[str, Any]:
    """One entry of `containerStatuses` / `initContainerStatuses`."""
    state: dict[str, Any]
    if view.is_running:
        state = {"running": {"startedAt": _stamp(view.running_since)}}
    elif view.is_terminated:
        assert view.terminated is not None
        state = {"terminated": view.terminated.to_api()}
    else:
        waiting: dict[str, Any] = {"reason": view.waiting_reason or default_waiting}
        if view.waiting_message:
            waiting["message"] = view.waiting_message
        state = {"waiting": waiting}
    last = view.shown_last_terminated
    out: dict[str, Any] = {"name": view.name, "state": state,
                           "lastState": {"terminated": last.to_api()} if last else {},
                           "ready": view.ready, "restartCount": view.restart_count,
                           "image": view.image, "imageID": view.image_id,
                           "started": view.is_running and view.started}
    container_id = view.container_id if (view.is_running or view.is_terminated) else ""
    if container_id:
        out["containerID"] = container_id
    return out


def pod_phase(restart_policy: str, init_views: Iterable[ContainerView],
              views: Iterable[ContainerView], *, terminal: bool = False) -> Phase:
    """The pod's phase from its containers, as kubelet's `getPhase` decides it.

    `views` must hold one entry per container of the spec (a container the kubelet has
    never seen counts as unknown when absent). `terminal` says the kubelet has stopped
    the pod for good (deleted, or done), so Always no longer means "restarting".
    """
    pending_init = failed_init = 0
    for v in init_views:
        if v.is_running:
            pending_init += 1
        elif v.is_terminated:
            assert v.terminated is not None
            if v.terminated.exit_code != 0:
                failed_init += 1
        elif v.shown_last_terminated is not None:
            if v.shown_last_terminated.exit_code != 0:
                failed_init += 1
        else:
            pending_init += 1
    views = list(views)
    running = waiting = stopped = succeeded = 0
    for v in views:
        if v.is_running:
            running += 1
        elif v.is_terminated:
            assert v.terminated is not None
            stopped += 1
            succeeded += v.terminated.exit_code == 0
        elif v.shown_last_terminated is not None:
            stopped += 1
        else:
            waiting += 1
    if failed_init and restart_policy == "Never":
        return Phase.FAILED
    any_regular_started = any(v.is_running or v.is_terminated for v in views)
    if (pending_init and not any_regular_started) or waiting:
        return Phase.PENDING
    if running:
        return Phase.RUNNING
    if stopped:
        if terminal:
            return Phase.SUCCEEDED if stopped == succeeded else Phase.FAILED
        if restart_policy == "Always":
            return Phase.RUNNING
        if stopped == succeeded:
            return Phase.SUCCEEDED
        if restart_policy == "Never":
            return Phase.FAILED
        return Phase.RUNNING
    return Phase.PENDING


def _names(names: list[str]) -> str:
    """Go's `%s` of a []string: `[a b]`."""
    return "[" + " ".join(names) + "]"


def _condition(type_: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": type_, "status": "True" if ok else "False"}
    if reason:
        out["reason"] = reason
    if message:
        out["message"] = message
    return out


def initialized_condition(init_views: list[ContainerView], views: list[ContainerView],
                          phase: Phase) -> dict[str, Any]:
    """`Initialized`: every init container has exited 0 (or a regular one has started)."""
    incomplete = [v.name for v in init_views if not (v.is_terminated and v.terminated
                                                     and v.terminated.exit_code == 0)]
    if phase is Phase.SUCCEEDED:
        return _condition("Initialized", True, Reason.POD_COMPLETED.value)
    if not incomplete or any(v.is_running or v.is_terminated for v in views):
        return _condition("Initialized", True)
    return _condition("Initialized", False, Reason.CONTAINERS_NOT_INITIALIZED.value,
                      f"containers with incomplete status: {_names(incomplete)}")


def containers_ready_condition(views: list[ContainerView], phase: Phase,
                               type_: str = "ContainersReady") -> dict[str, Any]:
    """`ContainersReady` (and, without readiness gates, `Ready`): every container ready."""
    if phase is Phase.SUCCEEDED:
        return _condition(type_, False, Reason.POD_COMPLETED.value)
    if phase is Phase.FAILED:
        return _condition(type_, False, Reason.POD_FAILED.value)
    unready = [v.name for v in views if not v.ready]
    if unready:
        return _condition(type_, False, Reason.CONTAINERS_NOT_READY.value,
                          f"containers with unready status: {_names(unready)}")
    return _condition(type_, True)


def ready_condition(spec: Mapping[str, Any], views: list[ContainerView], phase: Phase,
                    conditions: list[dict[str, Any]]) -> dict[str, Any]:
    """`Ready`: containers ready and every readiness gate's condition True."""
    containers = containers_ready_condition(views, phase, "Ready")
    if containers["status"] != "True":
        return containers
    by_type = {c.get("type"): c for c in conditions}
    problems = []
    for gate in spec.get("readinessGates") or ():
        kind = gate.get("conditionType", "")
        found = by_type.get(kind)
        if found is None:
            problems.append(f'corresponding condition of pod readiness gate "{kind}" does not exist.')
        elif found.get("status") != "True":
            problems.append(f'the status of pod readiness gate "{kind}" is not "True", '
                            f'but {found.get("status")}')
    if problems:
        return _condition("Ready", False, "ReadinessGatesNotReady", ", ".join(problems))
    return containers


@dataclass(frozen=True)
class PodObservation:
    """Everything the kubelet observed of one pod, in one record."""

    init_views: tuple[ContainerView, ...]
    views: tuple[ContainerView, ...]
    pod_ip: str = ""
    host_ip: str = ""
    start_time: float | None = None
    sandbox_ready: bool = False
    terminal: bool = False


def compute_status(pod: Mapping[str, Any], seen: PodObservation, now: float) -> dict[str, Any]:
    """The pod's new `status`: the kubelet's fields computed from `seen`, merged onto the
    current status so that other components' conditions and fields survive.

    `now` is the wall-clock time stamped on conditions whose status changed.
    """
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    init_views = list(seen.init_views)
    views = list(seen.views)
    phase = pod_phase(spec.get("restartPolicy", "Always"), init_views, views,
                      terminal=seen.terminal)
    status = {k: v for k, v in old.items()}
    status["phase"] = phase.value
    if seen.host_ip:
        status["hostIP"] = seen.host_ip
        status["hostIPs"] = [{"ip": seen.host_ip}]
    if seen.pod_ip:
        status["podIP"] = seen.pod_ip
        status["podIPs"] = [{"ip": seen.pod_ip}]
    if seen.start_time is not None and "startTime" not in old:
        status["startTime"] = objects.format_time(seen.start_time)
    default_waiting = (Reason.POD_INITIALIZING if spec.get("initContainers")
                       else Reason.CONTAINER_CREATING).value
    if init_views:
        status["initContainerStatuses"] = [container_status(v, default_waiting)
                                           for v in init_views]
    status["containerStatuses"] = [container_status(v, default_waiting)
                                   for v in sorted(views, key=lambda v: v.name)]
    foreign = [c for c in old.get("conditions") or () if c.get("type") not in KUBELET_CONDITIONS]
    owned = [
        _condition("PodReadyToStartContainers", seen.sandbox_ready),
        initialized_condition(init_views, views, phase),
        ready_condition(spec, views, phase, foreign),
        containers_ready_condition(views, phase),
    ]
    status["conditions"] = merge_conditions(old.get("conditions") or [], owned, foreign, now)
    return status


def merge_conditions(old: list[dict[str, Any]], owned: list[dict[str, Any]],
                     foreign: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """Owned conditions first (kubelet's order), then the others; a condition keeps its
    `lastTransitionTime` unless its status changed."""
    previous = {c.get("type"): c for c in old}
    merged = []
    for cond in owned:
        before = previous.get(cond["type"])
        stamp = before.get("lastTransitionTime") if before and \
            before.get("status") == cond["status"] else None
        merged.append({**cond, "lastProbeTime": None,
                       "lastTransitionTime": stamp or objects.format_time(now)})
    return merged + foreign


def _stamp(ts: float | None) -> str | None:
    return objects.format_time(ts) if ts is not None else None
