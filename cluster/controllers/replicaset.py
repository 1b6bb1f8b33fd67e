"""The ReplicaSet controller: keep `spec.replicas` pods running that match the selector.

As kube-controller-manager's, a reconcile of one ReplicaSet:

1. gathers its candidate pods from the pod informer's indexes (the pods it controls and the
   orphans of its namespace), drops the inactive ones (Succeeded, Failed, being deleted),
   and claims the rest: adopting matching orphans, releasing owned pods whose labels no
   longer match;
2. if its expectations are met (the cache shows every pod it created or deleted), creates
   or deletes the difference: creations in slow-start batches of 1, 2, 4, … under a burst
   cap, named `<rs>-<5 chars>` through `generateName`; deletions of the pods least worth
   keeping (`deletion_order`);
3. writes `status` (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas,
   observedGeneration, a ReplicaFailure condition while creating or deleting fails) when
   it changed, and comes back when a Ready pod is due to count as available.

Events read like kube's: `SuccessfulCreate` `Created pod: web-8z8k5`, `SuccessfulDelete`
`Deleted pod: web-8z8k5`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from cluster import informer as informing
from cluster import reconciling
from cluster.api import errors, objects, selectors
from cluster.client import Client
from cluster.controllers import podcontrol
from cluster.events import EventRecorder

log = logging.getLogger(__name__)

KIND = "ReplicaSet"
COMPONENT = "replicaset-controller"
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"


@dataclass(frozen=True)
class ReplicaSetSettings:
    """Tuning of the ReplicaSet controller (kube-controller-manager's defaults)."""

    workers: int = 5
    """ReplicaSets reconciled concurrently (`--concurrent-replicaset-syncs`)."""

    burst_replicas: int = 500
    """Most pods created or deleted for one ReplicaSet in one reconcile."""

    slow_start_initial_batch: int = 1
    """Size of the first batch of creations; each later batch doubles."""

    expectations_timeout: float = 300.0
    """Seconds after which unobserved creations/deletions stop blocking a ReplicaSet."""

    stop_timeout: float = 5.0
    """Seconds `stop` lets in-flight reconciles finish before cancelling them."""

    coalesce: float = 0.1
    """A busy key is reconciled at most once per this many seconds (the first event of a
    quiet key still acts at once): a hundred pods turning Running cost a few status
    syncs, not a hundred. 0 reconciles on every event, as kube-controller-manager does."""


PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}
"""kube's `podPhaseToOrdinal`: how far along a pod is (any other phase counts as 0)."""


def deletion_order(pod: dict[str, Any]) -> tuple[Any, ...]:
    """Sort key putting the pods to delete first on scale down (kube's `ActivePods`).

    Unscheduled before scheduled; Pending before Unknown before Running; not Ready before
    Ready; lower `controller.kubernetes.io/pod-deletion-cost` first; Ready for less time
    before Ready for longer; more container restarts first; newer before older. Kube's
    ranking by how many sibling pods share a node and its logarithmic bucketing of times
    (the LogarithmicScaleDown feature) are left out to keep the order easy to predict.
    """
    spec = pod.get("spec") or {}
    ready = podcontrol.is_pod_ready(pod)
    meta = pod.get("metadata") or {}
    try:
        cost = int((meta.get("annotations") or {}).get(DELETION_COST_ANNOTATION, 0))
    except (TypeError, ValueError):
        cost = 0
    since = podcontrol.ready_since(pod) if ready else None
    restarts = podcontrol.max_restarts(pod)
    created = meta.get("creationTimestamp")
    try:
        created_at = objects.parse_time(created) if created else None
    except ValueError:
        created_at = None
    return (
        1 if spec.get("nodeName") else 0,
        PHASE_ORDINAL.get(podcontrol.phase_of(pod), 0),
        1 if ready else 0,
        cost,
        -(since if since is not None else float("inf")),
        -restarts,
        -(created_at if created_at is not None else float("inf")),
    )


def pods_to_delete(pods: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The `count` pods a scale down removes."""
    if count >= len(pods):
        return list(pods)
    return sorted(pods, key=deletion_order)[:count]


def calculate_status(rs: dict[str, Any], pods: list[dict[str, Any]], *, now: float,
                     failure: tuple[str, str] | None) -> dict[str, Any]:
    """The status a ReplicaSet with these active, claimed pods should report.

    `failure` is (reason, message) when creating or deleting pods failed this round: it
    sets the ReplicaFailure condition, which a clean round removes. Zero counts are left
    out, as Go's `omitempty` leaves them out of real objects (`replicas` always appears).
    """
    spec = rs.get("spec") or {}
    old = rs.get("status") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    fully = ready = available = 0
    for pod in pods:
        labels = objects.labels_of(pod)
        if all(labels.get(k) == v for k, v in template_labels.items()):
            fully += 1
        if podcontrol.is_pod_ready(pod):
            ready += 1
            if podcontrol.is_pod_available(pod, min_ready, now):
                available += 1
    generation = int((rs.get("metadata") or {}).get("generation") or 0)
    status: dict[str, Any] = {"replicas": len(pods)}
    for name, value in (("fullyLabeledReplicas", fully), ("readyReplicas", ready),
                        ("availableReplicas", available), ("observedGeneration", generation)):
        if value:
            status[name] = value
    conditions = [c for c in old.get("conditions") or () if c.get("type") != "ReplicaFailure"]
    existing = next((c for c in old.get("conditions") or ()
                     if c.get("type") == "ReplicaFailure"), None)
    if failure is not None:
        reason, message = failure
        conditions.append(existing if existing is not None else {
            "type": "ReplicaFailure", "status": "True",
            "lastTransitionTime": objects.format_time(now), "reason": reason,
            "message": message})
    if conditions:
        status["conditions"] = conditions
    return status


def _next_availability(pods: list[dict[str, Any]], min_ready: int, now: float) -> float | None:
    """Seconds until the next Ready pod has been Ready for `min_ready` seconds, if any."""
    waits = []
    for pod in pods:
        since = podcontrol.ready_since(pod)
        if since is not None and since + min_ready > now:
            waits.append(since + min_ready - now)
    return min(waits) if waits else None


class ReplicaSetController:
    """Reconciles every ReplicaSet; `start` wires informers and workers, `stop` ends them.

    `start` starts the informers it needs if the factory has not (sharing them with other
    controllers); `stop` leaves them running, since they are the factory's to stop.
    """

    def __init__(self, client: Client, informers: informing.InformerFactory,
                 settings: ReplicaSetSettings | None = None, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.informers = informers
        self.settings = settings or ReplicaSetSettings()
        self._clock = clock
        self.recorder = EventRecorder(client, component=COMPONENT, clock=clock)
        self.pod_control = podcontrol.PodControl(client, self.recorder)
        self.expectations = podcontrol.Expectations(timeout=self.settings.expectations_timeout,
                                                    clock=monotonic)
        self.controller = reconciling.Controller("replicaset", self.reconcile,
                                                 workers=self.settings.workers,
                                                 coalesce=self.settings.coalesce,
                                                 clock=monotonic)
        self._pod_router = podcontrol.OwnerRouter(self.controller, KIND, self._enqueue_matching)
        self._replica_sets: informing.Informer | None = None
        self._pods: informing.Informer | None = None
        self._registrations: list[informing.HandlerRegistration] = []
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is not None:
            return
        self._replica_sets = await self.informers.informer(
            "replicasets", indexers=podcontrol.OWNERSHIP_INDEXERS)
        self._pods = await self.informers.informer("pods", indexers=podcontrol.OWNERSHIP_INDEXERS)
        self._registrations = [
            reconciling.watch_into(self._replica_sets, self.controller),
            self._pods.add_handler(on_add=self._pod_router.added,
                                   on_update=self._pod_router.updated,
                                   on_delete=self._pod_router.deleted),
        ]
        self.controller.wait_for(self._pods)
        await self._replica_sets.start()
        await self._pods.start()
        self._task = asyncio.get_running_loop().create_task(self.controller.run(),
                                                            name="replicaset-controller")

    async def stop(self) -> None:
        for registration in self._registrations:
            registration.remove()
        self._registrations = []
        await self.controller.stop(timeout=self.settings.stop_timeout)
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    # -- event handlers: they only enqueue keys -------------------------------------------------

    def _enqueue_matching(self, pod: dict[str, Any]) -> None:
        """An orphan appeared or changed: every ReplicaSet that could adopt it looks."""
        if self._replica_sets is None:
            return
        labels = objects.labels_of(pod)
        for rs in self._replica_sets.by_index(informing.NAMESPACE_INDEX, objects.namespace_of(pod)):
            try:
                selector = selectors.from_label_selector((rs.get("spec") or {}).get("selector"))
            except errors.APIError:
                continue
            if not selector.empty and selector.matches(labels):
                self.controller.enqueue(objects.object_key(rs))

    # -- reconcile ------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> reconciling.Result | None:
        assert self._replica_sets is not None and self._pods is not None, "start() first"
        cached = self._replica_sets.get(key)
        if cached is None:
            self.expectations.forget(key)
            return None
        spec = cached.get("spec") or {}
        try:
            selector = selectors.from_label_selector(spec.get("selector"))
        except errors.APIError as exc:
            raise reconciling.TerminalError(f"{key}: invalid selector: {exc}") from exc
        if selector.empty:
            return None  # would claim every pod of the namespace; validation forbids it
        # Create or delete only on a cache that shows our own earlier creations and deletions.
        may_act = self.expectations.satisfied(key, self._pods.last_sync_revision)
        active = [p for p in podcontrol.candidates(self._pods, cached)
                  if podcontrol.is_pod_active(p)]
        refs = podcontrol.RefManager(self.client, cached, selector, resource="pods",
                                     on_write=lambda obj: self.expectations.expect(key, obj))
        pods = await refs.claim(active)
        failure: tuple[str, str] | None = None
        error: BaseException | None = None
        if may_act and not objects.is_terminating(cached):
            failure, error = await self._manage_replicas(key, cached, pods)
        now = self._clock()
        status = calculate_status(cached, pods, now=now, failure=failure)
        await self._write_status(cached, status)
        if error is not None:
            raise error
        min_ready = int(spec.get("minReadySeconds") or 0)
        if min_ready > 0:
            wait = _next_availability(pods, min_ready, now)
            if wait is not None:
                return reconciling.Result(requeue_after=wait)
        return None

    async def _manage_replicas(self, key: str, rs: dict[str, Any], pods: list[dict[str, Any]]
                               ) -> tuple[tuple[str, str] | None, BaseException | None]:
        """Create or delete the difference; returns the failure to report and to raise."""
        spec = rs.get("spec") or {}
        diff = len(pods) - int(spec.get("replicas", 1))
        if diff < 0:
            count = min(-diff, self.settings.burst_replicas)
            template = spec.get("template") or {}
            prefix = podcontrol.pods_prefix(objects.name_of(rs))

            async def create_one() -> None:
                created = await self.pod_control.create_pod(rs, template, generate_name=prefix)
                self.expectations.expect(key, created)

            _, error = await podcontrol.slow_start_batch(
                count, self.settings.slow_start_initial_batch, create_one)
            if error is None or podcontrol.namespace_terminating(error):
                return None, None
            return ("FailedCreate", str(error)), error
        if diff > 0:
            victims = pods_to_delete(pods, min(diff, self.settings.burst_replicas))
            results = await asyncio.gather(*(self._delete_one(key, rs, pod) for pod in victims),
                                           return_exceptions=True)
            for result in results:
                if isinstance(result, asyncio.CancelledError):
                    raise result
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                return ("FailedDelete", str(failed[0])), failed[0]
        return None, None

    async def _delete_one(self, key: str, rs: dict[str, Any], pod: dict[str, Any]) -> None:
        gone = await self.pod_control.delete_pod(rs, pod)
        self.expectations.expect(key, gone)

    async def _write_status(self, cached: dict[str, Any], status: dict[str, Any]) -> None:
        if (cached.get("status") or {}) == status:
            return
        updated = objects.clone(cached)
        updated["status"] = status
        try:
            await self.client.update_status(updated)
        except errors.Conflict:
            # The ReplicaSet changed since the cache showed it; that change is on its way
            # to the informer, whose event reconciles this key again.
            log.debug("replicaset %s: status update conflicted; waiting for the newer version",
                      objects.object_key(cached))
        except errors.NotFound:
            pass
