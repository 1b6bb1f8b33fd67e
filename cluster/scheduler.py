"""The scheduler: binds pending pods to nodes, as kube-scheduler does.

It watches pods, nodes and namespaces through informers and keeps a `SchedulerCache` of
per-node totals from their events. A pod is its business when it has no `spec.nodeName`,
its `spec.schedulerName` is ours (`default-scheduler` unless set), it is not being deleted
or finished, and it has no scheduling gates. One loop takes pods off the scheduling queue:

1. **Decide** (`scheduling.algorithm`, pure): filter the nodes, score the feasible ones.
2. **Assume**: count the pod on the chosen node in the cache at once, so the next pod does
   not need the binding's watch event to see the room it took.
3. **Bind** through `client.bind` (the `pods/binding` subresource) and record a `Scheduled`
   event: `Successfully assigned default/redis to node-1`.

A pod that fits nowhere gets a `FailedScheduling` warning in kube-scheduler's words and the
condition `PodScheduled=False` (reason `Unschedulable`) with the same message, then waits
in the unschedulable queue until an event may help it: a node added or changed, a placed
pod deleted or finished (resources, ports, anti-affinity), a placed pod added or relabelled
(affinity), or the periodic flush. It is never retried in a loop.

Informer handlers only update the cache and the queue; the loop yields to the event loop
after every pod so watch events keep flowing while thousands of pods are bound.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Callable

from cluster import client as client_mod
from cluster import events, informer
from cluster.api import errors, objects
from cluster.scheduling import algorithm, cache, queue
from cluster.scheduling.filters import Plugin

log = logging.getLogger(__name__)

DEFAULT_SCHEDULER_NAME = "default-scheduler"

REASON_SCHEDULED = "Scheduled"
REASON_FAILED_SCHEDULING = "FailedScheduling"
CONDITION_POD_SCHEDULED = "PodScheduled"
CONDITION_REASON_UNSCHEDULABLE = "Unschedulable"

FREED_BY_POD_REMOVAL = frozenset({Plugin.NODE_RESOURCES_FIT, Plugin.NODE_PORTS,
                                  Plugin.INTER_POD_AFFINITY})
"""Rejections a placed pod's going away may lift."""


@dataclass(frozen=True)
class SchedulerSettings:
    """kube-scheduler's knobs that matter here, with its defaults."""

    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    """Pods whose `spec.schedulerName` is this (or unset) are ours; also the event source."""

    percentage_of_nodes_to_score: int = 0
    """Stop filtering once this share of all nodes is feasible; 0 is kube-scheduler's
    adaptive default (50% minus 1% per 125 nodes, at least 5%, at least 100 nodes)."""

    unschedulable_flush_interval: float = 300.0
    """Seconds an unschedulable pod waits for a helpful event before it is retried anyway
    (kube-scheduler's podMaxInUnschedulablePodsDuration, 5 minutes)."""

    flush_check_period: float = 30.0
    """How often, in seconds, the unschedulable queue is checked for such pods."""

    initial_backoff: float = 1.0
    """Seconds before a pod that failed once may be retried; doubles per failed attempt."""

    max_backoff: float = 10.0
    """Ceiling on a pod's retry back-off, in seconds."""

    seed: int | None = None
    """Seeds the tie-breaking random generator when none is passed in; None: unseeded."""

    time_slice: float = 0.005
    """Seconds the loop may schedule pods back to back before yielding to the rest of
    the engine on the shared event loop."""


def _key(pod: dict[str, Any]) -> str:
    return objects.object_key(pod)


def _spec(pod: dict[str, Any]) -> dict[str, Any]:
    return pod.get("spec") or {}


class Scheduler:
    """Binds pending pods; `start` it, and `stop` it to leave no task behind.

    With `informers` (a shared `InformerFactory`), the caller starts and stops the factory;
    without, the scheduler makes and runs its own. `clock` gives wall-clock seconds for
    timestamps and for measuring back-off and time spent unschedulable; `rng` breaks ties
    between equally good nodes (seeded from `settings.seed` when not given).
    """

    def __init__(self, client: client_mod.Client, *, settings: SchedulerSettings | None = None,
                 informers: informer.InformerFactory | None = None,
                 recorder: events.EventRecorder | None = None,
                 clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        self.client = client
        self.settings = settings or SchedulerSettings()
        self._clock = clock
        self._factory = informers
        self._own_factory = informers is None
        self.recorder = recorder or events.EventRecorder(
            client, component=self.settings.scheduler_name, clock=clock)
        self.cache = cache.SchedulerCache()
        self.algorithm = algorithm.Algorithm(
            self.cache, percentage_of_nodes_to_score=self.settings.percentage_of_nodes_to_score,
            rng=rng if rng is not None else random.Random(self.settings.seed))
        self.queue = self._new_queue()
        self.scheduled = 0
        """Pods bound so far."""
        self.attempts = 0
        """Scheduling attempts so far, successful or not."""
        self._pods: informer.Informer | None = None
        self._registrations: list[informer.HandlerRegistration] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._scheduled_events: "asyncio.Queue[tuple[dict[str, Any], str]] | None" = None
        """Scheduled events waiting for the background writer (None until started)."""

    def _new_queue(self) -> queue.SchedulingQueue:
        return queue.SchedulingQueue(clock=self._clock,
                                     initial_backoff=self.settings.initial_backoff,
                                     max_backoff=self.settings.max_backoff)

    # -- life cycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Register with the informers and start the scheduling loop (no-op if running)."""
        if self._tasks:
            return
        if self._factory is None:
            self._factory = informer.InformerFactory(self.client)
        factory = self._factory
        self.queue = self._new_queue()
        pods = self._pods = await factory.informer("pods")
        nodes = await factory.informer("nodes")
        namespaces = await factory.informer("namespaces")
        self._registrations = [
            nodes.add_handler(self._on_node_add, self._on_node_update, self._on_node_delete),
            namespaces.add_handler(self._on_namespace, lambda old, new: self._on_namespace(new),
                                   self._on_namespace_delete),
            pods.add_handler(self._on_pod_add, self._on_pod_update, self._on_pod_delete),
        ]
        if self._own_factory:
            await factory.start()
        loop = asyncio.get_running_loop()
        self._scheduled_events = asyncio.Queue()
        self._tasks = [
            loop.create_task(self._run([pods, nodes, namespaces]), name="scheduler"),
            loop.create_task(self._flush_loop(), name="scheduler flush"),
            loop.create_task(self._event_writer(self._scheduled_events),
                             name="scheduler events"),
        ]

    async def stop(self) -> None:
        """Stop scheduling, unregister, and stop the informers it started itself."""
        self.queue.close()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for registration in self._registrations:
            registration.remove()
        self._registrations = []
        if self._own_factory and self._factory is not None:
            await self._factory.stop()

    # -- informer handlers: cache and queue only ----------------------------------------------------

    def _responsible(self, pod: dict[str, Any]) -> bool:
        """A pod this scheduler should place now."""
        spec = _spec(pod)
        if spec.get("nodeName"):
            return False
        if (spec.get("schedulerName") or DEFAULT_SCHEDULER_NAME) != self.settings.scheduler_name:
            return False
        if objects.is_terminating(pod) or cache.is_terminal(pod):
            return False
        return not spec.get("schedulingGates")

    def _placed(self, pod: dict[str, Any]) -> bool:
        """Already assumed (bound by us, the binding's event not seen yet): the informer's
        copy is stale, and scheduling it again would count it twice."""
        placed = self.cache.pods.get(_key(pod))
        return placed is not None and placed.uid == objects.uid_of(pod)

    @staticmethod
    def _priority(pod: dict[str, Any]) -> int:
        priority = _spec(pod).get("priority")
        return priority if isinstance(priority, int) else 0

    def _on_pod_add(self, pod: dict[str, Any]) -> None:
        if _spec(pod).get("nodeName"):
            self.cache.observe_pod(pod)
            self.queue.delete(_key(pod))
            self.queue.move(lambda plugins: Plugin.INTER_POD_AFFINITY in plugins)
        elif self._responsible(pod):
            self.queue.add(_key(pod), self._priority(pod))

    def _on_pod_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        key = _key(new)
        if _spec(new).get("nodeName"):
            released = self.cache.observe_pod(new)
            if not _spec(old).get("nodeName"):
                self.queue.delete(key)
            if released:
                self.queue.move(lambda plugins: bool(plugins & FREED_BY_POD_REMOVAL))
            elif objects.labels_of(old) != objects.labels_of(new):
                self.queue.move(lambda plugins: Plugin.INTER_POD_AFFINITY in plugins)
        elif self._responsible(new):
            # Our own status write (the PodScheduled condition) changes neither spec nor
            # labels and must not wake the pod up again.
            changed = _spec(old) != _spec(new) or objects.labels_of(old) != objects.labels_of(new)
            if (changed or self.queue.where(key) is None) and not self._placed(new):
                self.queue.add(key, self._priority(new))
        else:
            self.queue.delete(key)

    def _on_pod_delete(self, pod: dict[str, Any]) -> None:
        self.queue.delete(_key(pod))
        if self.cache.remove_pod(pod):
            self.queue.move(lambda plugins: bool(plugins & FREED_BY_POD_REMOVAL))

    def _on_node_add(self, node: dict[str, Any]) -> None:
        self.cache.set_node(node)
        self.queue.move()

    def _on_node_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if self.cache.set_node(new):
            self.queue.move()

    def _on_node_delete(self, node: dict[str, Any]) -> None:
        self.cache.remove_node(objects.name_of(node))

    def _on_namespace(self, namespace: dict[str, Any]) -> None:
        name = objects.name_of(namespace)
        labels = objects.labels_of(namespace)
        if self.cache.namespace_labels(name) != labels:
            self.cache.set_namespace(name, labels)
            self.queue.move(lambda plugins: Plugin.INTER_POD_AFFINITY in plugins)

    def _on_namespace_delete(self, namespace: dict[str, Any]) -> None:
        self.cache.remove_namespace(objects.name_of(namespace))

    # -- the scheduling loop ------------------------------------------------------------------------

    async def _run(self, informers: list[informer.Informer]) -> None:
        for inf in informers:
            await inf.wait_for_sync()
        slice_start = time.monotonic()
        while True:
            try:
                key = await self.queue.pop()
            except queue.QueueClosed:
                return
            try:
                await self.schedule_one(key)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler: scheduling %s failed", key)
                self.queue.retry(key)
            # The in-process client never suspends: without yielding, a burst of pods would
            # starve the informers (and everything else) until the queue ran dry. Yielding
            # after every pod starves the scheduler instead, behind every kubelet's work;
            # a short time slice keeps both moving, as kube-scheduler's own goroutine would.
            now = time.monotonic()
            if now - slice_start >= self.settings.time_slice or not len(self.queue):
                await asyncio.sleep(0)
                slice_start = time.monotonic()

    async def _event_writer(self, events: "asyncio.Queue[tuple[dict[str, Any], str]]") -> None:
        while True:
            pod, message = await events.get()
            await self.recorder.normal(pod, REASON_SCHEDULED, message)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.flush_check_period)
            self.queue.flush(self.settings.unschedulable_flush_interval)

    async def schedule_one(self, key: str) -> None:
        """One attempt for the pod under `key` (the loop's body)."""
        pod = self._pods.get(key) if self._pods is not None else None
        if pod is None or not self._responsible(pod) or self._placed(pod):
            self.queue.done(key)
            return
        self.attempts += 1
        info = self.cache.pod_info(pod)
        result = self.algorithm.schedule(info)
        if result.node is None:
            assert result.diagnosis is not None
            self.queue.unschedulable(key, result.diagnosis.plugins)
            await self._report_unschedulable(pod, result.diagnosis.message())
            return
        node = result.node
        self.cache.assume(info, node)
        try:
            await self.client.bind(info.name, info.namespace, node)
        except (errors.Conflict, errors.NotFound):
            # Bound by someone else, being deleted, or gone: the watch will say which.
            self.cache.forget(key)
            self.queue.done(key)
            return
        except errors.APIError:
            log.warning("scheduler: binding %s to %s failed; will retry", key, node,
                        exc_info=True)
            self.cache.forget(key)
            self.queue.retry(key)
            return
        self.queue.done(key)
        self.scheduled += 1
        # Like client-go's recorder, the event is written in the background: binding the
        # next pod does not wait for the Event object of this one.
        message = f"Successfully assigned {info.namespace}/{info.name} to {node}"
        if self._scheduled_events is not None:
            self._scheduled_events.put_nowait((pod, message))
        else:
            await self.recorder.normal(pod, REASON_SCHEDULED, message)

    async def _report_unschedulable(self, pod: dict[str, Any], message: str) -> None:
        """The `FailedScheduling` event, then the PodScheduled=False condition."""
        await self.recorder.warning(pod, REASON_FAILED_SCHEDULING, message)
        current = pod
        for _ in range(3):
            updated = self._with_unschedulable_condition(current, message)
            if updated is None:
                return
            try:
                await self.client.update_status(updated)
                return
            except errors.NotFound:
                return
            except errors.Conflict:
                try:
                    current = await self.client.get("pods", objects.name_of(pod),
                                                    objects.namespace_of(pod))
                except errors.NotFound:
                    return
                if not self._responsible(current):
                    return
            except errors.APIError:
                log.warning("scheduler: cannot update the status of %s", _key(pod),
                            exc_info=True)
                return

    def _with_unschedulable_condition(self, pod: dict[str, Any],
                                      message: str) -> dict[str, Any] | None:
        """A copy of `pod` with PodScheduled=False, or None if it already says so."""
        conditions = list((pod.get("status") or {}).get("conditions") or ())
        index = next((i for i, c in enumerate(conditions)
                      if isinstance(c, dict) and c.get("type") == CONDITION_POD_SCHEDULED), None)
        old = conditions[index] if index is not None else None
        if old is not None and old.get("status") == "False" \
                and old.get("reason") == CONDITION_REASON_UNSCHEDULABLE \
                and old.get("message") == message:
            return None
        transition: str | None = None
        if old is not None and old.get("status") == "False":
            transition = old.get("lastTransitionTime")
        condition = {"type": CONDITION_POD_SCHEDULED, "status": "False", "lastProbeTime": None,
                     "lastTransitionTime": transition or objects.format_time(self._clock()),
                     "reason": CONDITION_REASON_UNSCHEDULABLE, "message": message}
        updated: dict[str, Any] = objects.clone(pod)
        new_conditions = [objects.clone(c) for c in conditions]
        if index is None:
            new_conditions.append(condition)
        else:
            new_conditions[index] = condition
        updated.setdefault("status", {})["conditions"] = new_conditions
        return updated
