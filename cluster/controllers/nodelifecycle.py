"""The node lifecycle controller: notices silent kubelets, taints their nodes, evicts pods.

Kubelets prove they are alive by renewing a Lease named after their node in
`kube-node-lease` (and by the heartbeat in their node's Ready condition). This controller
does what kube-controller-manager's node lifecycle controller and taint-eviction
controller do together:

- **Health.** A node whose last heartbeat (the newer of lease `renewTime` and the Ready
  condition's `lastHeartbeatTime`) is older than `node_monitor_grace_period` gets its
  Ready, MemoryPressure, DiskPressure and PIDPressure conditions set to `Unknown`, reason
  `NodeStatusUnknown`, message `Kubelet stopped posting node status.`. A node that never
  reported gets `node_startup_grace_period` instead, and `NodeStatusNeverUpdated`.
  The controller's own start counts as a heartbeat, so restarting the engine does not
  condemn every node at once.
- **Taints.** Taints follow conditions: Ready `Unknown` → `node.kubernetes.io/unreachable`,
  Ready `False` → `node.kubernetes.io/not-ready`, both as `NoExecute` and `NoSchedule`;
  pressure conditions and `spec.unschedulable` add their `NoSchedule` taints. New taints
  carry `timeAdded`. When the kubelet reports Ready again, the taints go.
- **Pods.** When a node stops being Ready its pods' Ready condition is set False (event
  `NodeNotReady`), so Endpoints drop them at once. Pods that do not tolerate a `NoExecute`
  taint are evicted (`TaintManagerEviction`, `Marking for deletion Pod ns/name`): at once
  without a matching toleration, after `tolerationSeconds` (counted from the taint's
  `timeAdded`) with one, never with one that has no `tolerationSeconds`. For the
  not-ready/unreachable taints a pod without a toleration is treated as if it had the
  300 s one Kubernetes' DefaultTolerationSeconds admission adds (`default_toleration_seconds`).
  On an unreachable node no kubelet will finish a graceful deletion, so pods there are
  deleted with grace 0, and pods already terminating there are force-deleted once their
  grace period is over (kube's pod GC does the equivalent for orphaned terminating pods).

Reconciles are per node and level-based; each returns when it next needs a look (the
lease deadline, the next eviction), and `resync()` enqueues every node, which is what a
test driving a fake clock calls after advancing it.
"""

from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from cluster import informer as informing
from cluster import reconciling
from cluster.api import errors, objects
from cluster.client import Client
from cluster.events import EventRecorder

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
TAINT_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
TAINT_DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
TAINT_PID_PRESSURE = "node.kubernetes.io/pid-pressure"
TAINT_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"

NO_SCHEDULE_TAINTS: dict[tuple[str, str], str] = {
    ("Ready", "False"): TAINT_NOT_READY,
    ("Ready", "Unknown"): TAINT_UNREACHABLE,
    ("MemoryPressure", "True"): TAINT_MEMORY_PRESSURE,
    ("DiskPressure", "True"): TAINT_DISK_PRESSURE,
    ("PIDPressure", "True"): TAINT_PID_PRESSURE,
    ("NetworkUnavailable", "True"): TAINT_NETWORK_UNAVAILABLE,
}
"""Condition (type, status) → the NoSchedule taint it implies (kube's nodeConditionToTaintKeyStatusMap)."""

NO_EXECUTE_TAINTS: dict[str, str] = {"False": TAINT_NOT_READY, "Unknown": TAINT_UNREACHABLE}
"""Ready condition status → the NoExecute taint it implies."""

MANAGED_KEYS = frozenset(NO_SCHEDULE_TAINTS.values()) | {TAINT_UNSCHEDULABLE}
"""Taint keys this controller owns: it adds and removes them; other taints are left alone."""

DEFAULT_TOLERATED = frozenset({TAINT_NOT_READY, TAINT_UNREACHABLE})
"""Taints a pod without a matching toleration still tolerates for the default period."""

MONITORED_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
"""Conditions set to Unknown when the kubelet goes silent."""

POD_NODE_INDEX = "nodelifecycle.controller/node-name"
"""Pods by `spec.nodeName`."""


class TaintEffect(str, enum.Enum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


@dataclass(frozen=True)
class NodeLifecycleSettings:
    """Timing of node health checks and evictions (kube-controller-manager's defaults)."""

    node_monitor_grace_period: float = 40.0
    """Seconds without a heartbeat before a node's conditions become Unknown."""

    node_startup_grace_period: float = 60.0
    """Seconds a node that never reported Ready gets before it is declared Unknown."""

    default_toleration_seconds: float = 300.0
    """How long pods without their own toleration stay on a not-ready/unreachable node."""

    lease_namespace: str = "kube-node-lease"
    """Where kubelets renew their node's Lease."""

    workers: int = 4
    """Nodes reconciled concurrently."""

    informer: informing.InformerSettings = field(default_factory=informing.InformerSettings)
    """Retry timing of the informers this controller creates when it has no shared factory."""


# --------------------------------------------------------------------------- pure functions


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == kind:
            return cond
    return None


def ready_status(node: dict[str, Any]) -> str:
    """`True`, `False` or `Unknown` (also when the kubelet never posted a Ready condition)."""
    cond = condition(node, "Ready")
    return str(cond.get("status") or "Unknown") if cond else "Unknown"


def _time(text: Any) -> float | None:
    if not text or not isinstance(text, str):
        return None
    try:
        return objects.parse_time(text)
    except ValueError:
        return None


def health_deadline(node: dict[str, Any], lease: dict[str, Any] | None, *,
                    settings: NodeLifecycleSettings, started_at: float) -> float:
    """When the node is overdue: its newest sign of life plus the applicable grace."""
    ready = condition(node, "Ready")
    signs = [started_at, _time((node.get("metadata") or {}).get("creationTimestamp")) or 0.0]
    if lease is not None:
        signs.append(_time((lease.get("spec") or {}).get("renewTime")) or 0.0)
    if ready is not None:
        signs.append(_time(ready.get("lastHeartbeatTime")) or 0.0)
        grace = settings.node_monitor_grace_period
    else:
        grace = settings.node_startup_grace_period
    return max(signs) + grace


def unknown_conditions(node: dict[str, Any], now: float) -> list[dict[str, Any]] | None:
    """The node's conditions with the monitored ones Unknown; None when nothing changes."""
    stamp = objects.format_time(now)
    conditions = [objects.clone(c) for c in (node.get("status") or {}).get("conditions") or ()]
    by_type = {c.get("type"): c for c in conditions}
    changed = False
    for kind in MONITORED_CONDITIONS:
        cond = by_type.get(kind)
        if cond is None:
            conditions.append({
                "type": kind, "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                "message": "Kubelet never posted node status.",
                "lastHeartbeatTime": (node.get("metadata") or {}).get("creationTimestamp"),
                "lastTransitionTime": stamp})
            changed = True
        elif cond.get("status") != "Unknown":
            cond.update(status="Unknown", reason="NodeStatusUnknown",
                        message="Kubelet stopped posting node status.",
                        lastTransitionTime=stamp)
            changed = True
    return conditions if changed else None


def desired_taints(node: dict[str, Any], now: float) -> list[dict[str, Any]]:
    """The node's taints with the controller-managed ones derived from its conditions.

    Taints the controller does not manage are kept as they are; managed ones that stay keep
    their `timeAdded`, new ones get `now`.
    """
    wanted: list[tuple[str, str]] = []
    for cond in (node.get("status") or {}).get("conditions") or ():
        key = NO_SCHEDULE_TAINTS.get((cond.get("type"), cond.get("status")))
        if key is not None:
            wanted.append((key, TaintEffect.NO_SCHEDULE.value))
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.append((TAINT_UNSCHEDULABLE, TaintEffect.NO_SCHEDULE.value))
    no_execute = NO_EXECUTE_TAINTS.get(ready_status(node))
    if no_execute is not None:
        wanted.append((no_execute, TaintEffect.NO_EXECUTE.value))
    current = list((node.get("spec") or {}).get("taints") or ())
    kept = [t for t in current
            if t.get("key") not in MANAGED_KEYS or (t.get("key"), t.get("effect")) in wanted]
    have = {(t.get("key"), t.get("effect")) for t in kept}
    stamp = objects.format_time(now)
    for key, effect in wanted:
        if (key, effect) not in have:
            kept.append({"key": key, "effect": effect, "timeAdded": stamp})
    return kept


def tolerates(toleration: dict[str, Any], taint: dict[str, Any]) -> bool:
    """kube's Toleration.ToleratesTaint."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if not key:
        return False  # an empty key only makes sense with Exists
    return (toleration.get("value") or "") == (taint.get("value") or "")


def eviction_time(pod: dict[str, Any], taints: list[dict[str, Any]], *,
                  default_seconds: float, added: Callable[[dict[str, Any]], float]) -> float | None:
    """When the pod must leave a node with these NoExecute taints; None means never.

    Per taint the first matching toleration counts, as in kube's GetMatchingTolerations;
    the earliest deadline over all taints wins. `added(taint)` is when the taint appeared.
    """
    tolerations = (pod.get("spec") or {}).get("tolerations") or ()
    deadline: float | None = None
    for taint in taints:
        match = next((t for t in tolerations if tolerates(t, taint)), None)
        if match is None:
            if taint.get("key") not in DEFAULT_TOLERATED:
                return float("-inf")
            seconds: Any = default_seconds
        else:
            seconds = match.get("tolerationSeconds")
            if seconds is None:
                continue
        due = added(taint) + max(0.0, float(seconds))
        deadline = due if deadline is None else min(deadline, due)
    return deadline


def _node_index(pod: dict[str, Any]) -> list[str]:
    node = (pod.get("spec") or {}).get("nodeName")
    if not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return []
    return [node]


# --------------------------------------------------------------------------- the controller


class NodeLifecycleController:
    """Marks silent nodes Unknown, keeps condition taints, and evicts pods from tainted nodes."""

    def __init__(self, client: Client, *, factory: informing.InformerFactory | None = None,
                 settings: NodeLifecycleSettings | None = None,
                 clock: Callable[[], float] = time.time,
                 recorder: EventRecorder | None = None,
                 eviction_recorder: EventRecorder | None = None) -> None:
        self.client = client
        self.settings = settings or NodeLifecycleSettings()
        self._clock = clock
        self._own_factory = factory is None
        self.factory = factory or informing.InformerFactory(client, settings=self.settings.informer)
        self.recorder = recorder or EventRecorder(client, component="node-controller", clock=clock)
        self.eviction_recorder = eviction_recorder or EventRecorder(
            client, component="taint-eviction-controller", clock=clock)
        self.controller = reconciling.Controller("nodelifecycle", self.reconcile,
                                                 workers=self.settings.workers)
        self._nodes: informing.Informer | None = None
        self._leases: informing.Informer | None = None
        self._pods: informing.Informer | None = None
        self._task: asyncio.Task[None] | None = None
        self._started_at = clock()
        self._first_seen: dict[tuple[str, str, str], float] = {}
        """When a taint without `timeAdded` was first seen, by (node, key, effect)."""
        self._attention: dict[str, tuple[dict[str, Any], bool]] = {}
        """Node name -> (the cached node object, whether its pods need a look), so that
        each pod write does not re-read its node's conditions and taints."""

    async def start(self) -> None:
        if self._task is not None:
            return
        self._started_at = self._clock()
        self._nodes = await self.factory.informer("nodes")
        self._leases = await self.factory.informer("leases.coordination.k8s.io",
                                                   namespace=self.settings.lease_namespace)
        self._pods = await self.factory.informer("pods", indexers={POD_NODE_INDEX: _node_index})
        reconciling.watch_into(self._nodes, self.controller)
        reconciling.watch_into(self._leases, self.controller, key_fn=objects.name_of)
        self.controller.wait_for(self._pods)
        self._pods.add_handler(on_add=self._pod_changed,
                               on_update=lambda old, new: self._pod_changed(new))
        await self.factory.start()
        self._task = asyncio.get_running_loop().create_task(self.controller.run(),
                                                            name="node lifecycle controller")

    async def stop(self) -> None:
        await self.controller.stop()
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if self._own_factory:
            await self.factory.stop()

    def resync(self) -> None:
        """Look at every node again now (kube's periodic node monitor pass)."""
        if self._nodes is not None:
            for key in self._nodes.keys():
                self.controller.enqueue(key)

    def _pod_changed(self, pod: dict[str, Any]) -> None:
        """Only pods on unhealthy or NoExecute-tainted nodes need their node looked at."""
        assert self._nodes is not None
        name = str((pod.get("spec") or {}).get("nodeName") or "")
        node = self._nodes.get(name) if name else None
        if node is None:
            self._attention.pop(name, None)
            return
        seen = self._attention.get(name)
        if seen is not None and seen[0] is node:
            needs_look = seen[1]
        else:
            needs_look = ready_status(node) != "True" or any(
                t.get("effect") == TaintEffect.NO_EXECUTE.value
                for t in (node.get("spec") or {}).get("taints") or ())
            self._attention[name] = (node, needs_look)
        if needs_look:
            self.controller.enqueue(name)

    # -- reconcile ----------------------------------------------------------------------------

    async def reconcile(self, key: str) -> reconciling.Result | None:
        assert self._nodes is not None and self._leases is not None
        node = self._nodes.get(key)
        if node is None:
            self._first_seen = {k: v for k, v in self._first_seen.items() if k[0] != key}
            return None
        now = self._clock()
        wake: list[float] = []
        lease = self._leases.get_by_name(self.settings.lease_namespace, key)
        deadline = health_deadline(node, lease, settings=self.settings,
                                   started_at=self._started_at)
        if now >= deadline:
            node = await self._mark_unknown(node, now)
        else:
            wake.append(deadline)
        taints = desired_taints(node, now)
        if taints != ((node.get("spec") or {}).get("taints") or []):
            updated = objects.clone(node)
            updated.setdefault("spec", {})["taints"] = taints
            if not taints:
                del updated["spec"]["taints"]
            node = await self.client.update(updated)
        if ready_status(node) != "True":
            await self._mark_pods_not_ready(node, now)
        wake.extend(await self._evict(node, now))
        if not wake:
            return None
        return reconciling.Result(requeue_after=max(0.0, min(wake) - now))

    async def _mark_unknown(self, node: dict[str, Any], now: float) -> dict[str, Any]:
        conditions = unknown_conditions(node, now)
        if conditions is None:
            return node
        was_ready = ready_status(node) == "True"
        updated = objects.clone(node)
        updated.setdefault("status", {})["conditions"] = conditions
        node = await self.client.update_status(updated)
        if was_ready:
            await self.recorder.normal(node, "NodeNotReady",
                                       f"Node {objects.name_of(node)} status is now: NodeNotReady")
        return node

    def _pods_on(self, node: dict[str, Any]) -> list[dict[str, Any]]:
        assert self._pods is not None
        return self._pods.by_index(POD_NODE_INDEX, objects.name_of(node))

    async def _mark_pods_not_ready(self, node: dict[str, Any], now: float) -> None:
        """Pods on a node that is not Ready are not Ready either (kube's MarkPodsNotReady)."""
        for pod in self._pods_on(node):
            cond = condition(pod, "Ready")
            if cond is None or cond.get("status") == "False":
                continue
            updated = objects.clone(pod)
            for c in updated["status"]["conditions"]:
                if c.get("type") == "Ready":
                    c["status"] = "False"
                    c["lastTransitionTime"] = objects.format_time(now)
            try:
                pod = await self.client.update_status(updated)
            except errors.NotFound:
                continue
            await self.recorder.warning(pod, "NodeNotReady", "Node is not ready")

    def _taint_added(self, node: str) -> Callable[[dict[str, Any]], float]:
        def added(taint: dict[str, Any]) -> float:
            stamp = _time(taint.get("timeAdded"))
            if stamp is not None:
                return stamp
            key = (node, str(taint.get("key")), str(taint.get("effect")))
            return self._first_seen.setdefault(key, self._clock())
        return added

    async def _evict(self, node: dict[str, Any], now: float) -> list[float]:
        """Evict the pods whose tolerations ran out; returns the times of later evictions."""
        name = objects.name_of(node)
        taints = [t for t in (node.get("spec") or {}).get("taints") or ()
                  if t.get("effect") == TaintEffect.NO_EXECUTE.value]
        unreachable = ready_status(node) == "Unknown"
        wake: list[float] = []
        if not taints and not unreachable:
            return wake
        added = self._taint_added(name)
        for pod in self._pods_on(node):
            if objects.is_terminating(pod):
                if unreachable:
                    gone_at = _time(pod["metadata"].get("deletionTimestamp")) or now
                    if gone_at <= now:
                        await self._delete(pod, force=True)
                    else:
                        wake.append(gone_at)
                continue
            if not taints:
                continue
            due = eviction_time(pod, taints, default_seconds=self.settings.default_toleration_seconds,
                                added=added)
            if due is None:
                continue
            if due > now:
                wake.append(due)
                continue
            await self.eviction_recorder.normal(
                pod, "TaintManagerEviction",
                f"Marking for deletion Pod {objects.namespace_of(pod)}/{objects.name_of(pod)}")
            await self._delete(pod, force=unreachable)
        return wake

    async def _delete(self, pod: dict[str, Any], *, force: bool) -> None:
        try:
            await self.client.delete("pods", objects.name_of(pod), objects.namespace_of(pod),
                                     grace_period_seconds=0 if force else None)
        except errors.NotFound:
            pass
