"""Running a scenario: trials, each on a fresh embedded cluster, and their verdicts.

One trial:

1. boot a 3-node cluster on the chosen backend (`redisha.backends.start`), install the
   RedisFailover CRD, start the operator in this process and create RedisFailover
   `scenario` (3 redis pods, 3 sentinels, the chosen sentinel image and down-after);
2. wait until the topology is whole (one primary, replicas following, the Service and
   every sentinel pointing at it), subscribe to every sentinel's events, start the writer
   and let it get acknowledged writes;
3. inject the fault (`faults`), wait for recovery with a deadline, then keep writing and
   listening a little longer (`settle`) so that a repeated failover is seen;
4. stop the writer, read every acknowledged key back from the primary and judge
   (`checker.judge`).

A fresh cluster per trial keeps trials independent: nothing one trial broke can help or
hurt the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import redisha.operator as rf_operator
from cluster.embedded import ClusterSettings, EmbeddedCluster
from redisha import backends
from redisha.backends import Backend, BackendUnavailable
from redisha.operator import OperatorSettings, Tuning, manifests
from redisha.scenario import checker, faults, observing
from redisha.scenario.checker import Summary, TrialRecords, TrialVerdict
from redisha.scenario.faults import FaultContext, FaultError, Scenario, ScenarioName
from redisha.scenario.timeline import SentinelEvents
from redisha.scenario.writer import (
    ClientMode,
    Target,
    Writer,
    WriterMode,
    WriterSettings,
    read_back,
)

log = logging.getLogger(__name__)

NAMESPACE = "default"
RF_NAME = "scenario"
"""The RedisFailover every trial creates: Services `rfrm-scenario`, `rfs-scenario`."""


class SentinelChoice(str, enum.Enum):
    """Which Sentinel watches the redis pods."""

    BUILTIN = "builtin"
    """redisha's own (`redisha/sentinel`)."""
    REDIS = "redis"
    """This machine's Redis Sentinel 7.0 (`bitnami/redis-sentinel`), for comparison."""

    @property
    def image(self) -> str:
        return {SentinelChoice.BUILTIN: "redisha/sentinel",
                SentinelChoice.REDIS: "bitnami/redis-sentinel"}[self]


@dataclass(frozen=True)
class ScenarioOptions:
    """What the user asked for (`redisha scenario NAME ...`)."""

    scenario: ScenarioName
    backend: Backend = Backend.FAKE
    sentinel: SentinelChoice = SentinelChoice.BUILTIN
    writer: WriterMode = WriterMode.ASYNC
    client: ClientMode = ClientMode.SERVICE
    trials: int = 1
    seed: int = 0
    down_after_ms: int = 1000


def _operator_settings() -> OperatorSettings:
    return OperatorSettings(
        resync_period=1.0, busy_resync=0.1, redis_timeout=0.25, sentinel_timeout=0.25,
        watch_retry=0.1,
        tuning=Tuning(sentinel_fix_grace=1.0, reset_grace=1.0, reset_interval=1.0,
                      repair_grace=0.5))


@dataclass(frozen=True)
class RunnerSettings:
    """Deadlines and pacing of a trial."""

    cluster: Callable[[], ClusterSettings] = lambda: ClusterSettings.quick(nodes=3)
    """The cluster each trial boots (3 quick nodes)."""
    operator: OperatorSettings = field(default_factory=_operator_settings)
    writer: WriterSettings = field(default_factory=WriterSettings)
    ready_timeout: float = 60.0
    """Seconds for the RedisFailover to come up whole before the fault."""
    warmup_acks: int = 50
    """Acknowledged writes before the fault."""
    fault_jitter: float = 0.2
    """Up to this many seconds (seeded) between the warm-up and the fault, so that faults
    do not always land at the same phase of the sentinels' timers."""
    recovery_timeout: float = 20.0
    """Seconds for recovery beyond the sentinels' own deadline (down-after plus twice
    the failover timeout) and the scenario's extra."""
    settle_min: float = 2.0
    settle_down_afters: float = 2.0
    """After recovery, keep writing and listening for max(settle_min, this many
    down-afters) seconds: Redis Sentinel's repeated failovers at a short down-after (a
    freshly promoted primary found down, stale votes) come within a second or two."""
    poll: float = 0.05
    failover_timeout_ms: int | None = None
    """The RedisFailover's failoverTimeoutMilliseconds; None: max(3000, 5 × down-after)."""

    def settle(self, down_after_ms: int) -> float:
        return max(self.settle_min, self.settle_down_afters * down_after_ms / 1000)

    def failover_timeout(self, down_after_ms: int) -> int:
        if self.failover_timeout_ms is not None:
            return self.failover_timeout_ms
        return max(3000, 5 * down_after_ms)


@dataclass(frozen=True)
class ScenarioReport:
    """Every trial's verdict and the summary over them."""

    options: ScenarioOptions
    verdicts: tuple[TrialVerdict, ...]
    summary: Summary

    @property
    def ok(self) -> bool:
        return self.summary.ok


class ScenarioUnavailable(Exception):
    """The scenario cannot run on this machine; `str()` is one line saying why."""


# -- the cluster and the operator ------------------------------------------------------------


def _sentinel_images_missing(backend: Backend, image: str) -> bool:
    """Does the composition root leave `image` out of `backend`'s images?"""
    if backend is Backend.FAKE:
        images: list[Any] = [*backends.fake_images(), *backends.fake_process_images()]
    else:
        images = list(backends.real_images())
    return image not in {i.name for i in images}


def check_available(options: ScenarioOptions) -> None:
    """Raise `BackendUnavailable` or `ScenarioUnavailable` (one line each) when this
    machine cannot run `options`, before any cluster starts."""
    backends.require(options.backend)
    image = options.sentinel.image
    if _sentinel_images_missing(options.backend, image):
        raise ScenarioUnavailable(
            f"the {options.backend.value} backend has no {image} image "
            f"(needed by --sentinel {options.sentinel.value})")


@contextlib.asynccontextmanager
async def _cluster(options: ScenarioOptions,
                   settings: RunnerSettings) -> AsyncIterator[EmbeddedCluster]:
    check_available(options)
    async with backends.start(options.backend, settings.cluster()) as cluster:
        yield cluster


class _Operator:
    """The operator in this process; `stop` and `start` for kill-operator (a fresh
    instance each start, as a restarted process would be)."""

    def __init__(self, cluster: EmbeddedCluster, settings: OperatorSettings) -> None:
        self.cluster = cluster
        self.settings = settings
        self.running: rf_operator.RedisFailoverOperator | None = None

    async def start(self) -> None:
        if self.running is None:
            self.running = rf_operator.RedisFailoverOperator(
                self.cluster.client, self.cluster.informers, settings=self.settings)
            await self.running.start()

    async def stop(self) -> None:
        running, self.running = self.running, None
        if running is not None:
            await running.stop()


def failover_manifest(options: ScenarioOptions, scenario: Scenario,
                      failover_timeout_ms: int) -> dict[str, Any]:
    """The RedisFailover a trial creates."""
    redis: dict[str, Any] = {"replicas": 3,
                             "minReplicasToWrite": scenario.min_replicas_to_write,
                             "minReplicasMaxLagSeconds": scenario.max_lag_seconds}
    if scenario.persistence:
        redis["persistence"] = {"enabled": True}
    sentinel = {"replicas": 3, "quorum": 2, "downAfterMilliseconds": options.down_after_ms,
                "failoverTimeoutMilliseconds": failover_timeout_ms,
                "image": options.sentinel.image}
    return rf_operator.sample(RF_NAME, NAMESPACE, {"redis": redis, "sentinel": sentinel})


# -- one trial ----------------------------------------------------------------------------------


async def _target(options: ScenarioOptions, cluster: EmbeddedCluster) -> Target:
    client = cluster.client
    if options.client is ClientMode.SENTINEL:
        ip = await observing.service_ip(client, NAMESPACE, manifests.sentinel_name(RF_NAME))
        return Target.sentinels([(ip, manifests.SENTINEL_PORT)])
    ip = await observing.service_ip(client, NAMESPACE, manifests.primary_service_name(RF_NAME))
    return Target.service(ip)


async def _follow_sentinels(cluster: EmbeddedCluster, events: SentinelEvents,
                            period: float) -> None:
    """Keep `events` subscribed to the sentinel pods that run now."""
    while True:
        running = await observing.pods(cluster.client, NAMESPACE, RF_NAME, manifests.SENTINEL)
        events.follow(observing.pod_ref(p).ip for p in running)
        await asyncio.sleep(period)


async def _watch_endpoints(cluster: EmbeddedCluster, changes: list[tuple[float,
                                                                        tuple[str, ...]]],
                           clock: Callable[[], float]) -> None:
    """Record every change of the primary Service's ready addresses, as it happens."""
    service = manifests.primary_service_name(RF_NAME)
    async with cluster.client.watch("endpoints", NAMESPACE,
                                    field_selector=f"metadata.name={service}") as watch:
        async for event in watch:
            ips = tuple(sorted(a.get("ip", "") for subset in event.object.get("subsets") or ()
                               for a in subset.get("addresses") or ()))
            if not changes or changes[-1][1] != ips:
                changes.append((clock(), ips))


def _failed(reason: str) -> TrialVerdict:
    return TrialVerdict(unavailable_ms=None, acked=0, lost=0, failovers=0,
                        max_writable_primaries=0, timeline={"fault": None},
                        failures=(reason,))


async def run_trial(options: ScenarioOptions, trial: int, *,
                    settings: RunnerSettings | None = None,
                    clock: Callable[[], float] = time.monotonic) -> TrialVerdict:
    """One trial on a fresh cluster (see the module docstring)."""
    settings = settings or RunnerSettings()
    scenario = faults.scenario(options.scenario)
    rng = random.Random(f"{options.seed}/{trial}")
    failover_timeout = settings.failover_timeout(options.down_after_ms)
    writer_settings = dataclasses.replace(settings.writer, mode=options.writer)
    async with _cluster(options, settings) as cluster:
        client = cluster.client
        await rf_operator.install(client)
        operator = _Operator(cluster, settings.operator)
        events = SentinelEvents(clock=clock)
        writers: list[Writer] = []
        endpoint_changes: list[tuple[float, tuple[str, ...]]] = []
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(_watch_endpoints(cluster, endpoint_changes, clock),
                                  name="scenario-watch-endpoints")]
        try:
            await operator.start()
            await client.create(failover_manifest(options, scenario, failover_timeout),
                                NAMESPACE)

            async def topology() -> checker.Topology:
                return await observing.observe(client, NAMESPACE, RF_NAME, expected_redis=3,
                                               expected_sentinels=3)
            problems = await faults.wait_whole(topology, timeout=settings.ready_timeout,
                                               poll=settings.poll)
            if problems:
                return _failed(f"never whole before the fault: {problems[0]}")
            before = await topology()
            primary = next((observing.pod_ref(p) for p in await observing.pods(
                client, NAMESPACE, RF_NAME, manifests.REDIS)
                if observing.pod_ref(p).ip == before.primary_ip), None)
            if primary is None:
                return _failed("no primary before the fault: "
                               + "; ".join(checker.topology_problems(before)))
            initial_server = await observing.server_id(primary.ip)
            events.follow(observing.pod_ref(p).ip for p in await observing.pods(
                client, NAMESPACE, RF_NAME, manifests.SENTINEL))
            tasks.append(loop.create_task(_follow_sentinels(cluster, events, 0.25),
                                          name="scenario-follow-sentinels"))
            if not await events.wait_subscribed(5.0):
                return _failed("could not subscribe to every sentinel's events")
            main = Writer(await _target(options, cluster), settings=writer_settings,
                          name=checker.MAIN, prefix="w", clock=clock)
            writers.append(main)
            side: Writer | None = None
            if scenario.side_writer:
                side = Writer(Target.pod(primary.ip), settings=writer_settings, name="side",
                              prefix="s", clock=clock)
                writers.append(side)
            for w in writers:
                w.start()
            if not await main.wait_acked(settings.warmup_acks, timeout=10.0):
                last = main.records[-1].error if main.records else "no write finished"
                return _failed(f"the writer got no acknowledged writes before the fault: {last}")
            await asyncio.sleep(rng.uniform(0, settings.fault_jitter))
            ctx = FaultContext(
                cluster=cluster, namespace=NAMESPACE, name=RF_NAME, primary=primary, rng=rng,
                clock=clock, events=events, operator=operator,
                down_after_ms=options.down_after_ms, failover_timeout_ms=failover_timeout,
                max_lag_seconds=scenario.max_lag_seconds, side_writer=side,
                poll=settings.poll)
            try:
                await scenario.inject(ctx)
            except FaultError as exc:
                ctx.notes.append(f"could not inject {scenario.name.value}: {exc}")
            fault_at = ctx.mark_fault()
            recovered_at = await _wait_recovered(ctx, main, fault_at, timeout=(
                ctx.failover_deadline + settings.recovery_timeout + scenario.extra_recovery_s))
            if recovered_at is not None:
                await asyncio.sleep(settings.settle(options.down_after_ms))
            for w in writers:
                await w.stop()
            final = await topology()
            present, read_error = await _read_back(final, writers)
            records = TrialRecords(
                writes=tuple(w for writer in writers for w in writer.records),
                events=tuple(events.events), fault_at=fault_at, initial_primary=primary.ip,
                initial_server=initial_server, recovered_at=recovered_at, topology=final,
                present=present, read_error=read_error, problems=tuple(ctx.notes),
                endpoints=tuple(endpoint_changes))
            return checker.judge(records, scenario.expectation())
        finally:
            for w in writers:
                await w.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await events.close()
            await operator.stop()


async def _wait_recovered(ctx: FaultContext, main: Writer, fault_at: float, *,
                          timeout: float) -> float | None:
    """When the topology was whole again with an acknowledged write after the fault.

    The writer's first acknowledged write is awaited first, without asking anything:
    polling every pod and sentinel meanwhile would load the very loop whose failover is
    being timed (on the fake backend they all share it)."""
    deadline = ctx.clock() + timeout
    if not await main.wait_acked_started_after(fault_at, timeout=timeout):
        return None

    async def recovered() -> bool:
        return not checker.topology_problems(await ctx.topology())
    if await faults.poll_until(recovered, timeout=max(deadline - ctx.clock(), 0.0),
                               poll=ctx.poll):
        return ctx.clock()
    return None


async def _read_back(final: checker.Topology,
                     writers: list[Writer]) -> tuple[dict[str, str | None], str]:
    keys = [w.key for writer in writers for w in writer.records if w.acked]
    if not final.primary_ip:
        return {}, "no single primary to read from"
    try:
        found = await read_back(final.primary_ip, keys)
    except Exception as exc:  # noqa: BLE001 - reported as the trial's failure
        return {}, f"{type(exc).__name__}: {exc}"
    return found.values, ""


# -- many trials ---------------------------------------------------------------------------


async def run(options: ScenarioOptions, *, settings: RunnerSettings | None = None,
              on_trial: Callable[[int, TrialVerdict], None] | None = None) -> ScenarioReport:
    """Every trial of `options`, one after another; `on_trial(n, verdict)` after each."""
    verdicts: list[TrialVerdict] = []
    for trial in range(1, options.trials + 1):
        verdict = await run_trial(options, trial, settings=settings)
        verdicts.append(verdict)
        if on_trial is not None:
            on_trial(trial, verdict)
    return ScenarioReport(options, tuple(verdicts), checker.summarize(verdicts))


__all__ = [
    "BackendUnavailable",
    "RunnerSettings",
    "ScenarioOptions",
    "ScenarioReport",
    "ScenarioUnavailable",
    "SentinelChoice",
    "check_available",
    "failover_manifest",
    "run",
    "run_trial",
]
