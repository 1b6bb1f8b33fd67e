"""The scenarios: each a fault injected through the engine, and what it is allowed to cost.

A fault goes in the way it would happen to a real cluster — through the API (a pod
deleted), a kubelet (a container killed, a pod frozen), the node (its kubelet and
containers gone), the network (a partition) or the operator's process (stopped) — never
by telling the operator or the sentinels what happened. Each `inject` marks the fault's
moment (`FaultContext.mark_fault`) right before the destructive call, and heals what
heals by itself in real life only after the cluster has reacted: a frozen primary is
thawed, a partition healed, a stopped operator restarted once the sentinels have failed
over. The runner then waits for recovery and checks.

Scenarios are data (`Scenario`): the expectations the checker applies and the
RedisFailover settings they need (`partition-primary` runs with `minReplicasToWrite: 1`,
`kill-all` with persistence).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import re
import types
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cluster.api import errors, objects
from cluster.embedded import EmbeddedCluster
from cluster.kubelet import Kubelet
from redisha.operator import manifests
from redisha.operator.definition import RESOURCE as RF_RESOURCE
from redisha.scenario import observing
from redisha.scenario.checker import Expectation, Topology, topology_problems
from redisha.scenario.observing import PodRef
from redisha.scenario.timeline import SentinelEvents
from redisha.scenario.writer import Writer

log = logging.getLogger(__name__)


class ScenarioName(str, enum.Enum):
    KILL_PRIMARY = "kill-primary"
    CRASH_PRIMARY = "crash-primary"
    HANG_PRIMARY = "hang-primary"
    KILL_NODE = "kill-node"
    PARTITION_PRIMARY = "partition-primary"
    KILL_ALL = "kill-all"
    ROLLING_RESTART = "rolling-restart"
    KILL_SENTINEL = "kill-sentinel"
    KILL_OPERATOR = "kill-operator"


class OperatorControl(Protocol):
    """The operator's process, as kill-operator sees it."""

    async def stop(self) -> None: ...

    async def start(self) -> None: ...


@dataclass
class FaultContext:
    """What a fault needs to know and touch; the runner builds one per trial."""

    cluster: EmbeddedCluster
    namespace: str
    name: str
    """The RedisFailover's name."""
    primary: PodRef
    """The primary before the fault."""
    rng: random.Random
    clock: Callable[[], float]
    events: SentinelEvents
    operator: OperatorControl
    down_after_ms: int
    failover_timeout_ms: int
    expected_redis: int = 3
    expected_sentinels: int = 3
    max_lag_seconds: int = 10
    side_writer: Writer | None = None
    poll: float = 0.05
    fault_at: float | None = None
    notes: list[str] = field(default_factory=list)
    """What did not go to plan while injecting (each fails the trial)."""

    def mark_fault(self) -> float:
        """The fault's moment (the first call wins)."""
        if self.fault_at is None:
            self.fault_at = self.clock()
        return self.fault_at

    @property
    def failover_deadline(self) -> float:
        """Seconds the sentinels may take to fail over a primary found down."""
        return (self.down_after_ms + 2 * self.failover_timeout_ms) / 1000 + 5.0

    async def topology(self) -> Topology:
        return await observing.observe(self.cluster.client, self.namespace, self.name,
                                       expected_redis=self.expected_redis,
                                       expected_sentinels=self.expected_sentinels)

    async def wait_whole(self, timeout: float) -> list[str]:
        """Wait until the topology has no problem; returns the last problems ([] = whole)."""
        return await wait_whole(self.topology, timeout=timeout, poll=self.poll)

    async def wait_ready(self, timeout: float) -> bool:
        """Wait until the operator reports the RedisFailover Ready: beyond a whole
        topology, the sentinels know every replica and each other, so a failover now
        would find a replica to promote."""
        async def ready() -> bool:
            try:
                rf = await self.cluster.client.get(RF_RESOURCE, self.name, self.namespace)
            except errors.NotFound:
                return False
            return (rf.get("status") or {}).get("phase") == "Ready"
        return await poll_until(ready, timeout=timeout, poll=self.poll)

    async def wait_primary_moved(self, timeout: float) -> bool:
        """Wait until the primary Service points at one pod, not the old primary."""
        service = manifests.primary_service_name(self.name)

        async def moved() -> bool:
            ips = await observing.endpoint_ips(self.cluster.client, self.namespace, service)
            return len(ips) == 1 and ips[0] != self.primary.ip
        return await poll_until(moved, timeout=timeout, poll=self.poll)


async def poll_until(condition: Callable[[], Awaitable[bool]], *, timeout: float,
                     poll: float) -> bool:
    """Poll an async condition until it holds (True) or `timeout` seconds pass (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if await condition():
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(poll)


async def wait_whole(observe: Callable[[], Awaitable[Topology]], *, timeout: float,
                     poll: float) -> list[str]:
    """Poll `observe()` until `topology_problems` finds none; the last problems found."""
    last: list[str] = ["not observed"]

    async def whole() -> bool:
        nonlocal last
        last = topology_problems(await observe())
        return not last
    await poll_until(whole, timeout=timeout, poll=poll)
    return last


# -- the faults --------------------------------------------------------------------------------


async def _delete_pod(ctx: FaultContext, name: str) -> None:
    try:
        await ctx.cluster.client.delete("pods", name, ctx.namespace)
    except errors.NotFound:
        ctx.notes.append(f"pod {name} was already gone")


def _kubelet(ctx: FaultContext, node: str) -> Kubelet:
    kubelet = ctx.cluster.kubelets.get(node)
    if kubelet is None:
        raise FaultError(f"node {node} has no running kubelet")
    return kubelet


class FaultError(Exception):
    """The fault could not be injected; the text says why."""


async def kill_primary(ctx: FaultContext) -> None:
    """Delete the primary's pod (as `kubectl delete pod`, with its grace period)."""
    ctx.mark_fault()
    await _delete_pod(ctx, ctx.primary.name)


async def crash_primary(ctx: FaultContext) -> None:
    """SIGKILL the primary's container; the kubelet restarts it in place."""
    kubelet = _kubelet(ctx, ctx.primary.node)
    ctx.mark_fault()
    await kubelet.kill_pod_containers(ctx.namespace, ctx.primary.name)


async def hang_primary(ctx: FaultContext) -> None:
    """Freeze the primary (SIGSTOP, connections stalled) until another pod is the
    primary behind the Service, then thaw it: it comes back believing it is the primary."""
    kubelet = _kubelet(ctx, ctx.primary.node)
    ctx.mark_fault()
    await kubelet.freeze_pod(ctx.namespace, ctx.primary.name)
    try:
        if not await ctx.wait_primary_moved(ctx.failover_deadline):
            ctx.notes.append("no other primary behind the Service while the primary hung")
    finally:
        await kubelet.thaw_pod(ctx.namespace, ctx.primary.name)


async def kill_node(ctx: FaultContext) -> None:
    """Kill the primary's node: its kubelet stops and its containers die."""
    if ctx.primary.node not in ctx.cluster.kubelets:
        raise FaultError(f"node {ctx.primary.node} has no running kubelet")
    ctx.mark_fault()
    await ctx.cluster.kill_node(ctx.primary.node)


async def partition_primary(ctx: FaultContext) -> None:
    """Cut the primary off from the sentinels and the replicas (clients outside the
    cluster, the side writer among them, still reach it) until another pod is the primary
    and the cut-off one refuses writes (min-replicas-to-write) — or its allowance is over —
    then heal."""
    client = ctx.cluster.client
    others = [observing.pod_ref(p).ip
              for component in (manifests.REDIS, manifests.SENTINEL)
              for p in await observing.pods(client, ctx.namespace, ctx.name, component)]
    others = [ip for ip in others if ip and ip != ctx.primary.ip]
    fault_at = ctx.mark_fault()
    handle = ctx.cluster.network.partition({ctx.primary.ip}, others)
    try:
        if not await ctx.wait_primary_moved(ctx.failover_deadline):
            ctx.notes.append("no other primary behind the Service during the partition")
        side = ctx.side_writer
        if side is not None:
            allowance = ctx.max_lag_seconds + 3.0

            async def refused() -> bool:
                return any(w.rejected and w.finished > fault_at for w in side.records)
            remaining = allowance - (ctx.clock() - fault_at)
            if remaining > 0:
                await poll_until(refused, timeout=remaining, poll=ctx.poll)
    finally:
        ctx.cluster.network.heal(handle)


async def kill_all(ctx: FaultContext) -> None:
    """Delete every redis pod at once."""
    names = [objects.name_of(p) for p in await observing.pods(
        ctx.cluster.client, ctx.namespace, ctx.name, manifests.REDIS)]
    ctx.mark_fault()
    await asyncio.gather(*(_delete_pod(ctx, n) for n in names))


_ORDINAL = re.compile(r"-(\d+)$")


def _ordinal(pod: dict[str, object]) -> int:
    match = _ORDINAL.search(objects.name_of(pod))
    return int(match.group(1)) if match else 0


async def rolling_restart(ctx: FaultContext) -> None:
    """Restart the redis pods one at a time, highest ordinal first (as a StatefulSet's
    rolling update does), each once the set is whole again."""
    client = ctx.cluster.client
    listed = await observing.pods(client, ctx.namespace, ctx.name, manifests.REDIS)
    for pod in sorted(listed, key=_ordinal, reverse=True):
        name, uid = objects.name_of(pod), objects.uid_of(pod)
        ctx.mark_fault()
        await _delete_pod(ctx, name)

        async def replaced(name: str = name, uid: str = uid) -> bool:
            try:
                now = await client.get("pods", name, ctx.namespace)
            except errors.NotFound:
                return False
            return objects.uid_of(now) != uid and observing.is_running(now)
        if not await poll_until(replaced, timeout=ctx.failover_deadline + 10, poll=ctx.poll):
            ctx.notes.append(f"pod {name} was not replaced in time")
            return
        problems = await ctx.wait_whole(ctx.failover_deadline + 10)
        if problems:
            ctx.notes.append(f"after restarting {name}: {problems[0]}")
            return
        # As one rolls an operator-managed set: the next pod only once the RedisFailover is
        # Ready again (its sentinels know the recreated pod's new address).
        if not await ctx.wait_ready(ctx.failover_deadline + 10):
            ctx.notes.append(f"after restarting {name}: the RedisFailover never became Ready")
            return


async def kill_sentinel(ctx: FaultContext) -> None:
    """Delete one sentinel pod, chosen by the seed."""
    sentinels = await observing.pods(ctx.cluster.client, ctx.namespace, ctx.name,
                                     manifests.SENTINEL)
    if not sentinels:
        raise FaultError("no running sentinel pod to kill")
    victim = ctx.rng.choice(sentinels)
    ctx.mark_fault()
    await _delete_pod(ctx, objects.name_of(victim))


async def kill_operator(ctx: FaultContext) -> None:
    """Stop the operator, delete the primary's pod, and start the operator again once
    the sentinels have announced the new primary: the failover runs without it."""
    await ctx.operator.stop()
    try:
        fault_at = ctx.mark_fault()
        await _delete_pod(ctx, ctx.primary.name)
        switched = await ctx.events.wait_for(
            lambda e: e.kind == "+switch-master" and e.at >= fault_at,
            timeout=ctx.failover_deadline)
        if switched is None:
            ctx.notes.append("the sentinels announced no new primary while the operator "
                             "was down")
    finally:
        await ctx.operator.start()


@dataclass(frozen=True)
class Scenario:
    """One scenario: its fault, what the checker tolerates, the RedisFailover it needs."""

    name: ScenarioName
    summary: str
    inject: Callable[[FaultContext], Awaitable[None]]
    max_failovers: int = 1
    min_replicas_to_write: int = 0
    max_lag_seconds: int = 10
    persistence: bool = False
    side_writer: bool = False
    extra_recovery_s: float = 0.0
    """Seconds beyond the usual deadline recovery may take (a lost node's pods are
    evicted only after the node's grace period and tolerations)."""

    def expectation(self) -> Expectation:
        window = None
        if self.side_writer:
            # Redis counts a replica's lag in whole seconds from acks sent once a second.
            window = (self.max_lag_seconds + 1) * 1000.0
        return Expectation(max_failovers=self.max_failovers, writable_window_ms=window)


_SCENARIOS: Mapping[ScenarioName, Scenario] = types.MappingProxyType({s.name: s for s in (
    Scenario(ScenarioName.KILL_PRIMARY, "the primary's pod deleted", kill_primary),
    Scenario(ScenarioName.CRASH_PRIMARY, "the primary's container killed; it restarts in "
             "place", crash_primary),
    Scenario(ScenarioName.HANG_PRIMARY, "the primary frozen (SIGSTOP) until replaced",
             hang_primary),
    Scenario(ScenarioName.KILL_NODE, "the primary's node killed", kill_node,
             extra_recovery_s=15.0),
    Scenario(ScenarioName.PARTITION_PRIMARY, "the primary cut off from sentinels and "
             "replicas; a client on its side keeps writing", partition_primary,
             min_replicas_to_write=1, max_lag_seconds=2, side_writer=True),
    Scenario(ScenarioName.KILL_ALL, "every redis pod deleted at once", kill_all,
             persistence=True, extra_recovery_s=10.0),
    Scenario(ScenarioName.ROLLING_RESTART, "the redis pods restarted one at a time",
             rolling_restart, extra_recovery_s=30.0),
    Scenario(ScenarioName.KILL_SENTINEL, "one sentinel pod deleted", kill_sentinel,
             max_failovers=0),
    Scenario(ScenarioName.KILL_OPERATOR, "the operator stopped, the primary's pod "
             "deleted, the operator started again after the failover", kill_operator),
)})


def scenario(name: ScenarioName | str) -> Scenario:
    """The scenario called `name` (ValueError for an unknown one)."""
    return _SCENARIOS[ScenarioName(name)]


def names() -> list[str]:
    return [n.value for n in ScenarioName]


__all__ = ["FaultContext", "FaultError", "OperatorControl", "Scenario", "ScenarioName",
           "names", "poll_until", "scenario", "wait_whole"]
