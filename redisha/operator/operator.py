"""`RedisFailoverOperator`: reconciles RedisFailovers, and asks sentinels to fail over at
once when the API says the primary is gone.

Two controllers share one memory per RedisFailover (`tracking.FailoverMemory`):

- **reconcile** (`redisfailover`): level-based. Ensures the owned objects, asks every
  redis pod and sentinel what it believes, decides (`decisions.decide`) and acts: bootstrap
  or repair promotions, rejoins, sentinel fixes, CONFIG SET, then role labels and status.
  It runs on any change of the RedisFailover, its objects and pods, on sentinel events,
  and every `resync_period` (`busy_resync` while something is not right).
- **fast path** (`redisfailover-fastpath`): the authoritative detection. Informer handlers
  see the primary's pod deleted, its container exit or its node turn NotReady
  (`faults`), note the fault and enqueue; the worker sends `SENTINEL FAILOVER mymaster` to
  one sentinel (the next on error) and records `lastFailover`. The sentinels still elect a
  leader and promote: the operator never promotes while they can. The same worker moves
  the role labels the moment a sentinel publishes `+switch-master`, so a reconcile that
  is waiting out a frozen pod's timeout never delays the primary Service.

Handlers only note and enqueue; all work happens in the two workers and in the sentinel
event subscriptions (`watching`), which only record events and enqueue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cluster import informer as informing
from cluster import reconciling
from cluster.api import errors, objects
from cluster.client import Client, PatchType
from cluster.events import EventRecorder, Severity
from redisha.operator import decisions, faults, manifests, observing, owned
from redisha.operator import definition as crd
from redisha.operator import spec as spec_mod
from redisha.operator import status as status_mod
from redisha.operator.decisions import FixKind, Plan, Promotion, SentinelFix
from redisha.operator.nodes import RedisNodes, promoted_info
from redisha.operator.observing import Observation, RedisPod, SentinelPod
from redisha.operator.reasons import EventReason, FailoverReason, Phase
from redisha.operator.resp_client import ReplyError, Unreachable
from redisha.operator.sentinels import (
    Address,
    RespSentinelClient,
    SentinelClient,
    SentinelEvent,
)
from redisha.operator.tracking import FailoverMemory, Fault
from redisha.operator.watching import SentinelWatch

log = logging.getLogger(__name__)

COMPONENT = "redisha-operator"
"""The Events' source component."""

POD_SELECTOR = f"{manifests.NAME_LABEL}={manifests.APP_NAME}"
"""Every pod of every RedisFailover (the pod informer's filter)."""
OWNED_SELECTOR = f"{manifests.MANAGED_BY_LABEL}={manifests.MANAGER}"
POD_INDEX = "redisha.io/instance"
"""Pods by `<namespace>/<instance>/<component>`."""


def _pod_index(pod: dict[str, Any]) -> list[str]:
    labels = objects.labels_of(pod)
    instance, component = labels.get(manifests.INSTANCE_LABEL), labels.get(
        manifests.COMPONENT_LABEL)
    if not instance or not component:
        return []
    return [f"{objects.namespace_of(pod)}/{instance}/{component}"]


def _rf_key(obj: dict[str, Any]) -> str | None:
    instance = objects.labels_of(obj).get(manifests.INSTANCE_LABEL)
    if not instance:
        return None
    return f"{objects.namespace_of(obj)}/{instance}"


@dataclass(frozen=True)
class OperatorSettings:
    """How the operator runs; defaults suit the demo, tests shorten them."""

    resync_period: float = 5.0
    """Seconds between reconciles of a RedisFailover that is Ready (status stays current)."""
    busy_resync: float = 0.25
    """Seconds between reconciles while it is not Ready or a rule is waiting on a timer."""
    redis_timeout: float = 0.25
    """Seconds a redis pod gets to answer one command."""
    sentinel_timeout: float = 0.25
    """Seconds a sentinel gets to answer one command."""
    watch_retry: float = 0.5
    """Seconds before a failed sentinel event subscription is tried again."""
    failover_retry: float = 0.2
    """Seconds between SENTINEL FAILOVER attempts no sentinel could start yet."""
    catch_up_timeout: float = 0.25
    """Seconds the fast path waits, after fencing a primary whose pod is being deleted,
    for its replicas to reach its final offset before it asks for the failover."""
    catch_up_poll: float = 0.002
    """Seconds between two looks at the replicas' offsets while they catch up."""
    tuning: decisions.Tuning = field(default_factory=decisions.Tuning)
    workers: int = 4
    """RedisFailovers reconciled at once (each by one worker at a time)."""
    stop_timeout: float = 5.0


class RedisFailoverOperator:
    """Runs the RedisFailover operator until `stop`.

    `informers` is a shared `InformerFactory` (the cluster's); informers it was not yet
    running are started here and stopped on `stop`. `sentinel_client` and `redis_nodes`
    default to the RESP clients; tests pass stand-ins for the sentinels.
    """

    def __init__(self, client: Client, informers: informing.InformerFactory, *,
                 settings: OperatorSettings | None = None,
                 clock: Callable[[], float] = time.time,
                 sentinel_client: SentinelClient | None = None,
                 redis_nodes: RedisNodes | None = None) -> None:
        self.client = client
        self.informers = informers
        self.settings = settings or OperatorSettings()
        self.clock = clock
        self.sentinels: SentinelClient = sentinel_client or RespSentinelClient(
            timeout=self.settings.sentinel_timeout)
        self.nodes = redis_nodes or RedisNodes(timeout=self.settings.redis_timeout)
        self.recorder = EventRecorder(client, component=COMPONENT, clock=clock)
        self.controller = reconciling.Controller("redisfailover", self.reconcile,
                                                 workers=self.settings.workers)
        self.fastpath = reconciling.Controller("redisfailover-fastpath", self.fast_path,
                                               workers=self.settings.workers)
        self._memory: dict[str, FailoverMemory] = {}
        self._watches: dict[str, SentinelWatch] = {}
        self._registrations: list[informing.HandlerRegistration] = []
        self._started: list[informing.Informer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._pods: informing.Informer | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Watch RedisFailovers, their objects, pods and nodes; reconcile once synced.

        Raises `errors.NotFound` when the CRD is not installed (`install(client)`)."""
        if self._tasks:
            return
        f = self.informers
        rfs = await f.informer(crd.RESOURCE)
        pods = await f.informer("pods", label_selector=POD_SELECTOR,
                                indexers={POD_INDEX: _pod_index})
        nodes = await f.informer("nodes")
        owned_informers = [await f.informer(r, label_selector=OWNED_SELECTOR)
                           for r in ("statefulsets", "deployments", "services", "configmaps")]
        self._pods = pods
        self._registrations = [
            rfs.add_handler(on_add=self._rf_added, on_update=self._rf_updated,
                            on_delete=self._rf_deleted),
            pods.add_handler(on_add=self._pod_added, on_update=self._pod_updated,
                             on_delete=self._pod_deleted),
            nodes.add_handler(on_update=self._node_updated, on_delete=self._node_deleted),
        ]
        for informer in owned_informers:
            self._registrations.append(reconciling.watch_into(
                informer, self.controller, lambda o: reconciling.owner_key(o, crd.KIND)))
        for informer in (rfs, pods, nodes):
            self.controller.wait_for(informer)
            self.fastpath.wait_for(informer)
        for informer in (rfs, pods, nodes, *owned_informers):
            if not informer.running:
                await informer.start()
                self._started.append(informer)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.controller.run(), name="redisfailover-controller"),
                       loop.create_task(self.fastpath.run(), name="redisfailover-fastpath")]

    async def stop(self) -> None:
        """Stop reconciling, watching and following sentinels; close connections."""
        for registration in self._registrations:
            registration.remove()
        self._registrations = []
        await asyncio.gather(self.controller.stop(timeout=self.settings.stop_timeout),
                             self.fastpath.stop(timeout=self.settings.stop_timeout))
        tasks, self._tasks = self._tasks, []
        await asyncio.gather(*tasks, return_exceptions=True)
        for watch in list(self._watches.values()):
            await watch.close()
        self._watches.clear()
        for informer in self._started:
            await informer.stop()
        self._started = []
        await self.sentinels.close()
        await self.nodes.close()

    # -- informer handlers: note and enqueue, nothing else -----------------------------------

    def _rf_added(self, rf: dict[str, Any]) -> None:
        self.controller.enqueue(objects.object_key(rf))

    def _rf_updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        # Status-only writes (ours) do not need a reconcile; spec, labels and deletion do.
        om, nm = old.get("metadata") or {}, new.get("metadata") or {}
        if (om.get("generation") != nm.get("generation") or om.get("labels") != nm.get("labels")
                or om.get("deletionTimestamp") != nm.get("deletionTimestamp")):
            self.controller.enqueue(objects.object_key(new))

    def _rf_deleted(self, rf: dict[str, Any]) -> None:
        self.controller.enqueue(objects.object_key(rf))

    def _pod_added(self, pod: dict[str, Any]) -> None:
        key = _rf_key(pod)
        if key is not None:
            self.controller.enqueue(key)

    def _pod_updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        key = _rf_key(new)
        if key is None:
            return
        self._check_primary(key, old, new)
        memory = self._memory.get(key)
        if (memory is not None and memory.pending and objects.is_terminating(new)
                and not objects.is_terminating(old)):
            self.fastpath.enqueue(key)  # a replica going away mid-failover: no promotion
        self.controller.enqueue(key)

    def _pod_deleted(self, pod: dict[str, Any]) -> None:
        key = _rf_key(pod)
        if key is None:
            return
        self._check_primary(key, pod, None)
        self.controller.enqueue(key)

    def _check_primary(self, key: str, old: dict[str, Any], new: dict[str, Any] | None) -> None:
        memory = self._memory.get(key)
        if memory is None or not memory.primary_uid or objects.uid_of(old) != memory.primary_uid:
            return
        reason = faults.pod_fault(old, new)
        if reason is not None:
            self._fault(key, memory, reason)

    def _node_updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        reason = faults.node_fault(old, new)
        if reason is not None:
            self._node_lost(objects.name_of(new), reason)

    def _node_deleted(self, node: dict[str, Any]) -> None:
        self._node_lost(objects.name_of(node), FailoverReason.NODE_LOST)

    def _node_lost(self, node: str, reason: FailoverReason) -> None:
        for key, memory in self._memory.items():
            if memory.primary_node == node:
                self._fault(key, memory, reason)

    def _fault(self, key: str, memory: FailoverMemory, reason: FailoverReason) -> None:
        fault = Fault(reason, memory.primary_name, memory.primary_ip, self.clock())
        if memory.note_fault(fault):
            self.fastpath.enqueue(key)

    # -- the fast path --------------------------------------------------------------------

    async def fast_path(self, key: str) -> reconciling.Result | None:
        """Ask the sentinels to fail a faulty primary over now (one request per primary);
        move the role labels as soon as a sentinel announces a switch."""
        memory = self._memory.get(key)
        if memory is None:
            return None
        retry = None
        namespace, name = objects.split_key(key)
        if memory.fault is not None:
            retry = await self._request_failover(key, memory)
        if memory.pending:
            await self._forbid_promotion(
                [observing.redis_pod(p) for p in
                 self._component_pods(namespace, name, manifests.REDIS)
                 if objects.is_terminating(p) and observing.container_running(
                     p, manifests.REDIS) and (p.get("status") or {}).get("podIP")
                 != memory.requested_ip], memory)
        if memory.relabel:
            memory.relabel = False
            running = set(self._sentinel_ips(namespace, name, memory))
            agreed_ip = memory.switch_majority(running, self.clock())
            await self._relabel(namespace, name, memory,
                                agreed=Address(agreed_ip, manifests.REDIS_PORT)
                                if agreed_ip else None)
            self.controller.enqueue(key)
        return reconciling.Result(requeue_after=retry) if retry is not None else None

    async def _request_failover(self, key: str, memory: FailoverMemory) -> float | None:
        """Send SENTINEL FAILOVER for the faulty primary to one sentinel, the next on an
        error. Returns seconds until another try when none could start one yet (say
        `-NOGOODSLAVE` because they have no fresh INFO from the replicas), for as long
        as the sentinels' own down-after + failover-timeout would take."""
        fault = memory.fault
        assert fault is not None
        if memory.requested_ip == fault.ip or fault.ip != memory.primary_ip:
            return None
        namespace, name = objects.split_key(key)
        rf = await self._get_rf(namespace, name)
        candidates = self._sentinel_ips(namespace, name, memory)
        if rf is None or not candidates:
            memory.fault = None  # nobody to ask: the reconcile's rules take over
            self.controller.enqueue(key)
            return None
        first_try = memory.attempts == 0
        if first_try:
            handover = await self._hand_over(namespace, name, fault, memory)
            if not handover.candidates:
                # Every replica is going away too: a failover now would promote one of
                # them and need a second. The pods come back; the reconcile repairs.
                memory.requested_ip, memory.fault = fault.ip, None
                self.controller.enqueue(key)
                await self._event(rf, EventReason.FAILOVER_DEFERRED,
                                  f"{fault.reason.value}: no replica of {fault.pod} "
                                  f"({fault.ip}) can take over; waiting for the pods to "
                                  "return")
                return None
        elif await self._moved_on(candidates, fault):
            # A retry, and meanwhile the primary was replaced another way (the reconcile's
            # repair, or the sentinels themselves): asking now would fail over the new one.
            memory.fault, memory.attempts, memory.pending = None, 0, False
            self.controller.enqueue(key)
            return None
        memory.attempts += 1
        record = memory.start(fault)
        asked, outcome = "", ""
        for ip in candidates:
            try:
                await self.sentinels.failover(ip)
            except ReplyError as exc:
                if exc.code == "INPROG":
                    asked, outcome = ip, "a failover was already in progress"
                    break
                outcome = exc.message
                continue
            except Unreachable as exc:
                outcome = str(exc)
                continue
            asked = ip
            break
        where = f"{fault.pod} ({fault.ip})"
        if first_try:
            await self._patch_status(rf, {"lastFailover": record, "phase": Phase.FAILOVER.value})
        self.controller.enqueue(key)
        if asked:
            memory.attempts = 0
            await self._event(rf, EventReason.FAILOVER_REQUESTED,
                              f"{fault.reason.value}: asked sentinel {asked} to fail over "
                              f"{where}" + (f" ({outcome})" if outcome else ""))
            return None
        memory.requested_ip, memory.pending = "", False
        spec = spec_mod.parse(rf)
        patience = (spec.sentinel.down_after_ms + spec.sentinel.failover_timeout_ms) / 1000
        if first_try:
            await self._event(rf, EventReason.FAILOVER_FAILED,
                              f"{fault.reason.value}: no sentinel could start a failover of "
                              f"{where} yet: {outcome}; retrying", Severity.WARNING)
        if self.clock() - fault.detected_at < patience:
            return self.settings.failover_retry
        memory.fault, memory.attempts = None, 0
        return None

    async def _moved_on(self, sentinel_ips: list[str], fault: Fault) -> bool:
        """Does a sentinel name a primary other than the faulty one?"""
        for ip in sentinel_ips:
            try:
                named = await self.sentinels.get_master_addr(ip)
            except (Unreachable, ReplyError):
                continue
            if named is not None and named.ip != fault.ip:
                return True
        return False

    async def _hand_over(self, namespace: str, name: str, fault: Fault,
                         memory: FailoverMemory) -> decisions.Handover:
        """Prepare the replicas before the sentinels choose one, as Redis' coordinated
        `FAILOVER` does: a primary whose pod is being deleted still runs and takes
        writes until the kubelet stops it, so it is fenced (`RedisNodes.fence`: no write
        ever again) and its replicas are given until `catch_up_timeout` to reach its final
        offset; the sentinels then read their INFO afresh and promote one that holds every
        write another replica acknowledged. Replicas whose pods are terminating too get
        `replica-priority 0`. Returns the plan; no candidates means do not ask."""
        async def fence() -> int | None:
            if fault.reason is not FailoverReason.POD_DELETED:
                return None  # the process is gone (or restarting in place as a replica)
            old = next((p for p in self._component_pods(namespace, name, manifests.REDIS)
                        if (p.get("status") or {}).get("podIP") == fault.ip), None)
            grace = ((old or {}).get("spec") or {}).get("terminationGracePeriodSeconds")
            pause_ms = int(float(grace if grace is not None else 30) * 1000) + 1000
            try:
                return await self.nodes.fence(fault.ip, pause_ms)
            except (Unreachable, ReplyError) as exc:
                log.info("fencing %s (%s) failed: %s", fault.pod, fault.ip, exc)
                return None

        # Fence first (it is what makes the writes stop); list the pods meanwhile.
        final_offset, listed = await asyncio.gather(fence(), self.client.list(
            "pods", namespace, label_selector=manifests.selector(name, manifests.REDIS)))
        records = [observing.redis_pod(p) for p in listed.items]
        plan = decisions.plan_handover(fault.ip, records)
        live = [p for p in listed.items if not objects.is_terminating(p)
                and (p.get("status") or {}).get("podIP") != fault.ip]
        replies, _ = await asyncio.gather(observing.ask_redis(self.nodes, live),
                                          self._forbid_promotion(plan.forbid, memory))
        asked = {p.ip: p for p in replies}
        deadline = asyncio.get_running_loop().time() + self.settings.catch_up_timeout
        while True:
            pods = [asked.get(r.ip, r) for r in records]
            plan = decisions.plan_handover(fault.ip, pods, final_offset)
            if not plan.behind or asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(self.settings.catch_up_poll)
            behind = {p.ip for p in plan.behind}
            for p in await observing.ask_redis(
                    self.nodes, [o for o in live
                                 if (o.get("status") or {}).get("podIP") in behind]):
                asked[p.ip] = p
        log.debug("handover of %s: offset %s, candidates %s, forbidden %s", fault.pod,
                  final_offset, [p.name for p in plan.candidates],
                  [p.name for p in plan.forbid])
        if plan.behind:
            log.warning("replicas %s did not reach offset %s of %s in time",
                        [p.name for p in plan.behind], final_offset, fault.pod)
        return plan

    async def _forbid_promotion(self, pods: tuple[RedisPod, ...] | list[RedisPod],
                                memory: FailoverMemory) -> None:
        """`replica-priority 0` on replicas whose pods are terminating (once each)."""
        async def forbid(pod: RedisPod) -> None:
            try:
                await self.nodes.forbid_promotion(pod.ip)
            except (Unreachable, ReplyError) as exc:
                log.info("replica-priority 0 on %s failed: %s", pod.name, exc)
                return
            memory.forbidden.add(pod.ip)
        await asyncio.gather(*(forbid(p) for p in pods if p.ip not in memory.forbidden))

    def _sentinel_ips(self, namespace: str, name: str, memory: FailoverMemory) -> list[str]:
        """Running sentinel pods' IPs, the best-informed first (a sentinel that knows all
        its peers can win the election it starts)."""
        ips = [(p.get("status") or {}).get("podIP") or ""
               for p in self._component_pods(namespace, name, manifests.SENTINEL)
               if observing.container_running(p, manifests.SENTINEL)
               and not objects.is_terminating(p)]
        ips = [ip for ip in ips if ip]
        return sorted(ips, key=lambda ip: -memory.sentinel_rank.get(ip, 0))

    async def _poll_switch(self, memory: FailoverMemory, running: list[str]) -> None:
        """Note as switches the sentinels that name a primary other than the one a
        failover was requested for (GET-MASTER-ADDR-BY-NAME, one short call each)."""
        async def named(ip: str) -> Address | None:
            try:
                return await self.sentinels.get_master_addr(ip)
            except (Unreachable, ReplyError):
                return None

        answers = await asyncio.gather(*(named(ip) for ip in running))
        now = self.clock()
        for ip, address in zip(running, answers):
            if address is not None and address.ip != memory.requested_ip:
                known = memory.switches.get(ip)
                if known is None or known[0] != address.ip or known[1] < memory.requested_at:
                    memory.note_switch(ip, address.ip, now)

    # -- sentinel events ------------------------------------------------------------------

    def _on_sentinel_event(self, key: str, ip: str, event: SentinelEvent) -> None:
        memory = self._memory.get(key)
        if memory is None:
            return
        now = self.clock()
        kind = event.kind
        log.debug("sentinel %s: %s %s", ip, kind, event.address)
        if kind == "+odown" and event.address is not None:
            memory.odown.setdefault(event.address.ip, now)
        elif kind == "+try-failover" and event.address is not None:
            memory.try_failover.setdefault(event.address.ip, now)
        elif kind == "+promoted-slave" and event.address is not None:
            if memory.promoted is None or memory.promoted[0] != event.address.ip:
                memory.promoted = (event.address.ip, now)
        elif kind == "+switch-master" and event.address is not None:
            if memory.promoted is None or memory.promoted[0] != event.address.ip:
                memory.promoted = (event.address.ip, now)
            memory.note_switch(ip, event.address.ip, now)
            running = set(self._sentinel_ips(*objects.split_key(key), memory))
            if memory.switch_majority(running, now) == event.address.ip:
                # More than half announced it: their agreed view, relabel at once (the
                # fast path then wakes the reconcile).
                memory.relabel = True
                self.fastpath.enqueue(key)
            elif not memory.in_flight(now, memory.switch_window, running):
                self.controller.enqueue(key)  # it asks them all, then relabels
        elif kind.startswith("-failover-abort"):
            memory.pending = False
            self.controller.enqueue(key)
        elif kind in ("+failover-end", "+failover-end-for-timeout", "+convert-to-slave"):
            self.controller.enqueue(key)

    def _follow_sentinels(self, key: str, sentinels: tuple[SentinelPod, ...]) -> None:
        watch = self._watches.get(key)
        if watch is None:
            watch = self._watches[key] = SentinelWatch(
                self.sentinels, lambda ip, event: self._on_sentinel_event(key, ip, event),
                retry=self.settings.watch_retry, name=key)
        wanted = {s.ip for s in sentinels if s.running and s.ip}
        for gone in watch.following - wanted:
            self.sentinels.forget(gone)
        watch.sync(wanted)

    # -- reconcile --------------------------------------------------------------------------

    async def _get_rf(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            return await self.client.get(crd.RESOURCE, name, namespace)
        except errors.NotFound:
            return None

    def _component_pods(self, namespace: str, name: str, component: str) -> list[dict[str, Any]]:
        if self._pods is None:
            return []
        return self._pods.by_index(POD_INDEX, f"{namespace}/{name}/{component}")

    async def _forget(self, key: str) -> None:
        self._memory.pop(key, None)
        watch = self._watches.pop(key, None)
        if watch is not None:
            await watch.close()

    async def reconcile(self, key: str) -> reconciling.Result | None:
        """One level-based pass over the RedisFailover `ns/name` (see the module docstring)."""
        namespace, name = objects.split_key(key)
        rf = await self._get_rf(namespace, name)
        if rf is None or objects.is_terminating(rf):
            await self._forget(key)
            return None  # its objects go with it (ownerReferences)
        spec = spec_mod.parse(rf)
        memory = self._memory.get(key)
        if memory is None:
            memory = self._memory[key] = FailoverMemory.from_status(rf)
        now = self.clock()
        memory.expire(now, 2 * spec.sentinel.failover_timeout_ms / 1000)
        memory.switch_window = spec.sentinel.failover_timeout_ms / 1000
        running = self._sentinel_ips(namespace, name, memory)
        timeout = spec.sentinel.failover_timeout_ms / 1000
        if memory.in_flight(now, timeout, set(running)):
            # The sentinels are failing over at our request; their +switch-master (or
            # -failover-abort) wakes us. Surveying now would only compete with them, but
            # an event can be missed (a subscription not yet made, or lost), so ask each
            # for the one address it names before waiting on.
            await self._poll_switch(memory, running)
            if memory.in_flight(self.clock(), timeout, set(running)):
                return reconciling.Result(requeue_after=self.settings.busy_resync)
        await self._ensure_base(rf, spec)
        sentinel_config = await owned.get_or_none(
            self.client, "configmaps", manifests.sentinel_name(name), namespace)
        if sentinel_config is not None:
            await owned.ensure(self.client, manifests.sentinel_deployment(rf, spec))
        # Redis first, sentinels second: a pod seen as a primary before the sentinels were
        # asked is either theirs (then they say so, or say a failover is under way) or a
        # stray; asked the other way round, a promotion in between would look like a stray.
        redis = await observing.ask_redis(
            self.nodes, self._component_pods(namespace, name, manifests.REDIS))
        for gone in set(memory.infos) - {p.ip for p in redis}:
            self.nodes.forget(gone)  # a pod that went away: close its connection
        memory.infos = {p.ip: p.info for p in redis if p.ip and p.info is not None}
        sentinels = await observing.ask_sentinels(
            self.sentinels, self._component_pods(namespace, name, manifests.SENTINEL))
        self._follow_sentinels(key, sentinels)
        for s in sentinels:
            if s.master is not None:
                memory.sentinel_rank[s.ip] = s.master.num_other_sentinels
        obs = Observation(redis=redis, sentinels=sentinels,
                          bootstrapped=sentinel_config is not None)
        timing = decisions.Timing(
            now=now, first_seen=memory.first_seen, last_reset=memory.last_reset,
            failover_pending=memory.pending,
            bootstrapping=not memory.ever_ready)
        plan = decisions.decide(obs, spec, timing, self.settings.tuning)
        memory.first_seen = {c: memory.first_seen.get(c, now) for c in plan.conditions}
        worked = await self._act(rf, spec, obs, plan, memory, sentinel_config)
        if plan.promotion is None and obs.bootstrapped:
            worked = await self._relabel(namespace, name, memory) or worked
        last_failover = await self._track_primary(rf, obs, plan, memory)
        await self._write_status(rf, obs, plan, memory, last_failover)
        if worked or plan.promotion is not None:
            return reconciling.Result(requeue_after=0)
        if plan.phase is Phase.READY and not plan.conditions:
            return reconciling.Result(requeue_after=self.settings.resync_period)
        return reconciling.Result(requeue_after=self.settings.busy_resync)

    async def _ensure_base(self, rf: dict[str, Any], spec: spec_mod.FailoverSpec) -> None:
        """Services, the redis ConfigMap and the StatefulSet (the sentinels come after
        bootstrap)."""
        for service in manifests.services(rf):
            await owned.ensure(self.client, service)
        await owned.ensure(self.client, manifests.redis_config_map(rf, spec))
        await owned.ensure(self.client, manifests.redis_statefulset(rf, spec))

    async def _relabel(self, namespace: str, name: str, memory: FailoverMemory, *,
                       agreed: Address | None = None) -> bool:
        """Set the role labels from the sentinels' view as it is now; True if any changed.

        Called by the reconcile after acting and by the fast path on `+switch-master`
        (with `agreed` when more than half of the running sentinels announced the same
        switch: that is their agreed view, no need to ask again). Otherwise the sentinels
        are asked again; the pods are listed from the API and the agreed primary asked
        again. All of that I/O happens *outside* the label lock (a frozen old primary
        costs a whole timeout, and a relabel must not wait behind it); each view is
        numbered when its reading begins, and under the lock a view older than the last
        one written is dropped, so labels never go back to an older view.
        Other pods' answers come from the last survey.
        """
        memory.views_read += 1
        view = memory.views_read
        announced = agreed is not None
        if agreed is None:
            sentinels = await observing.ask_sentinels(
                self.sentinels, self._component_pods(namespace, name, manifests.SENTINEL))
            agreed = decisions.agreed_primary(sentinels)
        else:
            sentinels = ()
        if agreed is None:
            return False
        infos = dict(memory.infos)
        for pod in self._component_pods(namespace, name, manifests.REDIS):
            if (pod.get("status") or {}).get("podIP") != agreed.ip \
                    or objects.is_terminating(pod) \
                    or not observing.container_running(pod, manifests.REDIS):
                continue
            if announced:
                # More than half of the sentinels announced the switch, and a sentinel
                # announces one only once it saw the promotion in the replica's INFO:
                # asking it again would only delay the label by a round trip.
                infos[agreed.ip] = promoted_info(infos.get(agreed.ip))
                continue
            try:
                infos[agreed.ip] = await self.nodes.info(agreed.ip)
            except (Unreachable, ReplyError) as exc:
                log.debug("relabel: %s: %s", agreed.ip, exc)
                infos.pop(agreed.ip, None)
        async with memory.label_lock:
            if view < memory.view_applied:
                return False  # a view read after this one was written meanwhile
            memory.view_applied = view
            # The labels as they are now (another view may have just written them).
            listed = await self.client.list(
                "pods", namespace, label_selector=manifests.selector(name, manifests.REDIS))
            pods = tuple(observing.redis_pod(
                p, infos.get((p.get("status") or {}).get("podIP") or "")) for p in listed.items)
            obs = Observation(redis=pods, sentinels=sentinels, bootstrapped=True)
            candidate = obs.pod_at(agreed)
            primary = candidate if decisions.is_healthy(candidate) else None
            changes = decisions.plan_labels(obs, agreed, primary)
            # Primary label off before on: never two pods behind the primary Service.
            for pod_name, role in sorted(changes.items(),
                                         key=lambda item: item[1] == manifests.PRIMARY):
                try:
                    await self.client.patch(
                        "pods", pod_name, {"metadata": {"labels": {manifests.ROLE_LABEL: role}}},
                        namespace)
                except errors.NotFound:
                    continue
                log.debug("labelled %s %s (view %d)", pod_name, role, view)
                if role == manifests.PRIMARY:
                    memory.labelled = (agreed.ip, self.clock())
            if primary is not None:
                obj = next((p for p in listed.items if objects.name_of(p) == primary.name), None)
                self._remember_primary(memory, primary, obj)
            return bool(changes)

    @staticmethod
    def _remember_primary(memory: FailoverMemory, primary: RedisPod,
                          obj: dict[str, Any] | None) -> None:
        """What the fast path watches: this pod, its container and its node."""
        if memory.primary_ip != primary.ip:
            memory.fault = None
            memory.forbidden.clear()  # those pods are gone; their IPs may be reused
        memory.primary_name, memory.primary_ip = primary.name, primary.ip
        memory.primary_node = primary.node
        if obj is not None:
            memory.primary_uid = objects.uid_of(obj)

    # -- acting on a plan -----------------------------------------------------------------

    async def _act(self, rf: dict[str, Any], spec: spec_mod.FailoverSpec, obs: Observation,
                   plan: Plan, memory: FailoverMemory,
                   sentinel_config: dict[str, Any] | None) -> bool:
        """Carry out `plan`; True when something was changed (reconcile again soon)."""
        worked = False
        if plan.promotion is not None:
            await self._promote(rf, spec, obs, plan.promotion, memory)
            return True
        if plan.primary is not None:
            for pod in plan.rejoin:
                if await self._replicaof(pod, plan.primary.address):
                    await self._event(rf, EventReason.POD_REJOINED,
                                      f"{pod.name} ({pod.ip}) now replicates the primary "
                                      f"{plan.primary.name} ({plan.primary.ip})")
                    worked = True
        options = decisions.config_options(spec)
        applied = []
        for pod in plan.config:
            try:
                await self.nodes.config_set(pod.ip, options)
            except (Unreachable, ReplyError) as exc:
                log.info("CONFIG SET on %s failed: %s", pod.name, exc)
                continue
            applied.append(pod.name)
        if applied:
            worked = True
            await self._event(rf, EventReason.CONFIG_APPLIED,
                              "CONFIG SET " + " ".join(f"{k} {v}" for k, v in options.items())
                              + " on " + ", ".join(applied))
        for fix in plan.fixes:
            if await self._fix_sentinel(rf, fix, memory):
                worked = True
        if plan.primary is not None:
            wanted = manifests.sentinel_config_map(rf, spec, plan.primary.ip)
            if sentinel_config is None or (sentinel_config.get("data") or {}) != wanted["data"]:
                # For sentinels started from now on; running ones are kept right by commands.
                await owned.ensure(self.client, wanted)
        return worked

    async def _replicaof(self, pod: RedisPod, primary: Address | None) -> bool:
        try:
            await self.nodes.replicaof(pod.ip, primary)
        except (Unreachable, ReplyError) as exc:
            log.info("REPLICAOF %s on %s failed: %s", primary or "NO ONE", pod.name, exc)
            return False
        return True

    async def _promote(self, rf: dict[str, Any], spec: spec_mod.FailoverSpec,
                       obs: Observation, promotion: Promotion, memory: FailoverMemory) -> None:
        """Bootstrap or repair: make one pod the primary, the rest its replicas, and tell
        the sentinels (the sentinel ConfigMap and Deployment at bootstrap)."""
        chosen = promotion.primary
        if not await self._replicaof(chosen, None):
            return
        for pod in promotion.replicas:
            await self._replicaof(pod, chosen.address)
        info = chosen.info
        data = f"offset {info.offset}, {info.keys} keys" if info is not None else ""
        await owned.ensure(self.client, manifests.sentinel_config_map(rf, spec, chosen.ip))
        await owned.ensure(self.client, manifests.sentinel_deployment(rf, spec))
        if promotion.reason is EventReason.REPAIRED:
            for s in obs.sentinels:
                if s.running and s.answered:
                    await self._fix_sentinel(rf, SentinelFix(
                        s.name, s.ip, FixKind.MONITOR, chosen.address,
                        spec.sentinel.options(), f"repaired: now {chosen.address}"), memory,
                        quiet=True)
            memory.first_seen.pop(decisions.LOST, None)
        await self._event(rf, promotion.reason,
                          f"{chosen.name} ({chosen.ip}) is the primary ({data}); "
                          f"{len(promotion.replicas)} replicas follow it: {promotion.why}")

    async def _fix_sentinel(self, rf: dict[str, Any], fix: SentinelFix, memory: FailoverMemory,
                            *, quiet: bool = False) -> bool:
        ip = fix.ip
        try:
            if fix.kind is FixKind.MONITOR:
                assert fix.primary is not None
                await self.sentinels.remove(ip)
                quorum = int(fix.options.get("quorum", "2"))
                await self.sentinels.monitor(ip, fix.primary, quorum)
                await self.sentinels.set(ip, {k: v for k, v in fix.options.items()
                                              if k != "quorum"})
                memory.switches.pop(ip, None)  # a new history: its old switches are moot
            elif fix.kind is FixKind.SET:
                await self.sentinels.set(ip, fix.options)
            else:
                await self.sentinels.reset(ip)
                memory.last_reset = self.clock()
                memory.first_seen.pop(f"stale:{ip}", None)
        except (Unreachable, ReplyError) as exc:
            log.info("fixing sentinel %s (%s) failed: %s", fix.sentinel, fix.kind.value, exc)
            return False
        if not quiet:
            reason = EventReason.SENTINEL_RESET if fix.kind is FixKind.RESET \
                else EventReason.SENTINEL_RECONFIGURED
            verb = {FixKind.MONITOR: "MONITOR", FixKind.SET: "SET", FixKind.RESET: "RESET"}
            await self._event(rf, reason, f"sentinel {fix.sentinel} ({ip}): "
                                          f"{verb[fix.kind]}: {fix.why}")
        return True

    async def _event(self, rf: dict[str, Any], reason: EventReason, message: str,
                     severity: Severity = Severity.NORMAL) -> None:
        await self.recorder.record(rf, severity, reason.value, message)

    # -- the primary's identity, lastFailover, status -------------------------------------

    async def _track_primary(self, rf: dict[str, Any], obs: Observation, plan: Plan,
                             memory: FailoverMemory) -> dict[str, Any] | None:
        """Record a switch of the healthy primary (status, lastFailover, an Event)."""
        primary = plan.primary
        if primary is None:
            return memory.last_failover
        old_name, old_ip = memory.reported_name, memory.reported_ip
        memory.reported_name, memory.reported_ip = primary.name, primary.ip
        first = not memory.ever_ready
        memory.ever_ready = True
        if old_ip and old_ip != primary.ip:
            spec = spec_mod.parse(rf)
            window = (spec.sentinel.down_after_ms + 2 * spec.sentinel.failover_timeout_ms) / 1000
            epoch = status_mod.epoch_of(obs, plan)
            old_pod = obs.pod_at(Address(old_ip, manifests.REDIS_PORT))
            record = memory.switched(old_name=old_name, old_ip=old_ip, new_name=primary.name,
                                     new_ip=primary.ip, epoch=epoch, now=self.clock(),
                                     window=window,
                                     old_alive=old_pod is not None and old_pod.reachable)
            await self._event(rf, EventReason.PRIMARY_ELECTED,
                              f"{primary.name} ({primary.ip}) is the primary, epoch {epoch} "
                              f"({record['reason']}: was {old_name or old_ip})")
            return record
        if first and not old_ip:
            await self._event(rf, EventReason.PRIMARY_ELECTED,
                              f"the sentinels agree: {primary.name} ({primary.ip}) is the "
                              "primary")
        return memory.last_failover

    async def _write_status(self, rf: dict[str, Any], obs: Observation, plan: Plan,
                            memory: FailoverMemory,
                            last_failover: dict[str, Any] | None) -> None:
        status = status_mod.build(rf, obs, plan, now=self.clock(), last_failover=last_failover)
        if status == (rf.get("status") or {}):
            return
        updated = dict(rf)
        updated["status"] = status
        try:
            await self.client.update_status(updated)
        except errors.Conflict:
            self.controller.enqueue(objects.object_key(rf))
        except errors.NotFound:
            pass

    async def _patch_status(self, rf: dict[str, Any], patch: dict[str, Any]) -> None:
        try:
            await self.client.patch(crd.RESOURCE, objects.name_of(rf), {"status": patch},
                                    objects.namespace_of(rf), patch_type=PatchType.MERGE,
                                    subresource="status")
        except errors.NotFound:
            pass
