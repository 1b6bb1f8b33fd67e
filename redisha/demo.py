"""The dashboard's composition root: a cluster, the Redis HA demo, and faults beyond the API.

`redisha` (= `redisha dashboard`) starts the embedded cluster on a backend, installs the
RedisFailover CRD, runs the operator in this process, and deploys the demo:

- RedisFailover `demo` (`--redis` redis pods, `--sentinels` sentinels, `--down-after-ms`);
- Deployment `demo-writer`: one pod of image `redisha/writer` (`redisha.writer`) writing
  `SET`s through the primary Service `rfrm-demo` and logging every acknowledged, failed and
  lost write. Its pods carry `redisha.io/writes-to=demo`, which is how the dashboard finds
  the log it reads the HA pane's write counters from.

Then it hands the dashboard a `tui.connection.Connection`: the cluster's client, and a
`ClusterFaults` that reaches into the embedded cluster for what the API cannot do (crash a
container, freeze a process, partition pods, kill a node). The dashboard itself never sees
the engine. `--no-demo` starts the cluster alone: no CRD, no operator, no workload.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import redisha.operator as rf_operator
from cluster.api import errors
from cluster.client import Client
from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from cluster.network.faults import Partition
from redisha import backends, remote
from redisha.backends import Backend
from redisha.operator import OperatorSettings
from redisha.remote import RemoteError, RemoteTarget
from redisha.sentinel.settings import SentinelSettings
from redisha.server.server import ServerSettings
from redisha.writer.image import IMAGE_NAME as WRITER_IMAGE
from tui import bench as tui_bench
from tui.app import DashboardApp, DashboardSettings
from tui.bench import TuiBenchResult
from tui.connection import Connection
from tui.faults import FaultError
from tui.roles import COMPONENT_LABEL, WRITES_TO_LABEL
from tui.script import (
    DEFAULT_SIZE,
    Scenario,
    ScriptError,
    demo_kill_primary,
    load_script,
    run_headless,
    scripted,
)

DEMO_NAMESPACE = "default"
DEMO_NAME = "demo"
"""The RedisFailover: pods `rfr-demo-N`, primary Service `rfrm-demo`."""
WRITER_NAME = "demo-writer"
DEFAULT_REDIS = 3
DEFAULT_SENTINELS = 3
DEFAULT_DOWN_AFTER_MS = 5000
DEFAULT_WRITE_RATE = 50.0
"""The writer's writes a second: enough for a sparkline and a first write within 20 ms
of the primary's return, nothing a laptop notices."""


def demo_failover(redis: int = DEFAULT_REDIS, sentinels: int = DEFAULT_SENTINELS,
                  down_after_ms: int = DEFAULT_DOWN_AFTER_MS,
                  failover_timeout_ms: int | None = None) -> dict[str, Any]:
    """RedisFailover `demo`; the quorum is a majority of the sentinels."""
    sentinel: dict[str, Any] = {"replicas": sentinels, "quorum": sentinels // 2 + 1,
                                "downAfterMilliseconds": down_after_ms}
    if failover_timeout_ms is not None:
        sentinel["failoverTimeoutMilliseconds"] = failover_timeout_ms
    return rf_operator.sample(DEMO_NAME, spec={"redis": {"replicas": redis},
                                               "sentinel": sentinel})


def writer_deployment(rate: float = DEFAULT_WRITE_RATE, *,
                      failover: str = DEMO_NAME) -> dict[str, Any]:
    """The writer workload: one pod writing through RedisFailover `failover`'s primary
    Service, labelled for the dashboard (`redisha.io/writes-to`)."""
    labels = {"app.kubernetes.io/name": "redisha-writer", COMPONENT_LABEL: "writer",
              WRITES_TO_LABEL: failover}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"{failover}-writer", "labels": dict(labels)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dict(labels)},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"terminationGracePeriodSeconds": 2,
                         "containers": [{
                             "name": "writer", "image": WRITER_IMAGE,
                             "args": ["--host", f"rfrm-{failover}", "--port", "6379",
                                      "--rate", f"{rate:g}"],
                         }]},
            },
        },
    }


async def deploy_demo(client: Client, *, redis: int = DEFAULT_REDIS,
                      sentinels: int = DEFAULT_SENTINELS,
                      down_after_ms: int = DEFAULT_DOWN_AFTER_MS,
                      failover_timeout_ms: int | None = None,
                      write_rate: float = DEFAULT_WRITE_RATE) -> list[str]:
    """Create the CRD (unless it exists), RedisFailover `demo` and its writer; objects that
    exist already (a `--state` file reused) are left as they are. Returns what was
    created, kubectl style."""
    created = []
    await rf_operator.install(client)
    for obj in (demo_failover(redis, sentinels, down_after_ms, failover_timeout_ms),
                writer_deployment(write_rate)):
        try:
            await client.create(obj, DEMO_NAMESPACE)
        except errors.AlreadyExists:
            continue
        created.append(f"{obj['kind'].lower()}/{obj['metadata']['name']} created")
    return created


@dataclass
class ClusterFaults:
    """`tui.faults.Faults` over an embedded cluster's kubelets and network."""

    cluster: EmbeddedCluster
    partitions: list[Partition] = field(default_factory=list)

    async def _pod(self, namespace: str, name: str) -> dict[str, Any]:
        try:
            return await self.cluster.client.get("pods", name, namespace)
        except errors.NotFound:
            raise FaultError(f'pod "{name}" not found in namespace "{namespace}"') from None

    async def _kubelet_of(self, namespace: str, name: str) -> Any:
        pod = await self._pod(namespace, name)
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            raise FaultError(f'pod "{name}" is not scheduled to a node yet')
        kubelet = self.cluster.kubelets.get(node)
        if kubelet is None:
            raise FaultError(f'node "{node}" of pod "{name}" is not running (killed)')
        return kubelet

    async def _on_kubelet(self, verb: str, namespace: str, name: str) -> None:
        kubelet = await self._kubelet_of(namespace, name)
        try:
            await getattr(kubelet, verb)(namespace, name)
        except errors.NotFound:
            raise FaultError(f'pod "{name}" is not running on its node') from None

    async def crash(self, namespace: str, pod: str) -> str:
        await self._on_kubelet("kill_pod_containers", namespace, pod)
        return f"pod/{pod} crashed (its containers were killed)"

    async def hang(self, namespace: str, pod: str) -> str:
        await self._on_kubelet("freeze_pod", namespace, pod)
        return f"pod/{pod} hung (its processes are frozen until thawed)"

    async def thaw(self, namespace: str, pod: str) -> str:
        await self._on_kubelet("thaw_pod", namespace, pod)
        return f"pod/{pod} thawed"

    async def _ip(self, namespace: str, name: str) -> str:
        pod = await self._pod(namespace, name)
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            raise FaultError(f'pod "{name}" has no IP yet')
        return str(ip)

    async def partition(self, namespace: str, pod: str, peers: list[str]) -> str:
        if not peers:
            raise FaultError(f"nothing to partition pod/{pod} from")
        ip = await self._ip(namespace, pod)
        peer_ips = [await self._ip(namespace, peer) for peer in peers]
        try:
            self.partitions.append(self.cluster.network.partition([ip], peer_ips))
        except (ValueError, RuntimeError) as e:
            raise FaultError(f"cannot partition pod/{pod}: {e}") from None
        return f"pod/{pod} partitioned from {', '.join(peers)}"

    async def heal(self) -> str:
        count = len(self.cluster.network.faults.partitions)
        try:
            self.cluster.network.heal()
        except RuntimeError as e:
            raise FaultError(f"cannot heal: {e}") from None
        self.partitions.clear()
        return f"healed {count} partition{'s' if count != 1 else ''}"

    async def kill_node(self, node: str) -> str:
        if node not in self.cluster.kubelets:
            raise FaultError(f'node "{node}" is not running (already killed, or unknown)')
        await self.cluster.kill_node(node)
        return f"node/{node} killed (its kubelet and containers are gone)"


@dataclass(frozen=True)
class DemoOptions:
    """`redisha dashboard`'s options."""

    backend: Backend = Backend.FAKE
    nodes: int = 3
    redis: int = DEFAULT_REDIS
    sentinels: int = DEFAULT_SENTINELS
    down_after_ms: int = DEFAULT_DOWN_AFTER_MS
    state: str | None = None
    demo: bool = True
    """False (`--no-demo`) starts an empty cluster."""
    operator: bool = True
    """False: the demo's objects without the operator, for one attached over HTTP
    (`redisha serve --no-operator`, then `redisha operator`)."""

    def notices(self) -> list[str]:
        """What the dashboard should warn about once it is up."""
        out = []
        if self.demo and self.redis < 2:
            out.append(f"--redis {self.redis}: with no replica there is nothing to fail "
                       f"over to")
        return out


@dataclass(frozen=True)
class DemoTuning:
    """The demo's timers beyond the options; tests shorten them, the demo keeps each
    part's defaults."""

    cluster: ClusterSettings = field(default_factory=ClusterSettings.quick)
    operator: OperatorSettings = field(default_factory=OperatorSettings)
    sentinel: SentinelSettings | None = None
    """The built-in sentinel's timers on the fake backend (None: Redis Sentinel's own)."""
    server: ServerSettings | None = None
    """The fake redis image's settings (None: its defaults)."""
    failover_timeout_ms: int | None = None
    """The RedisFailover's failoverTimeoutMilliseconds (None: the CRD's default)."""
    write_rate: float = DEFAULT_WRITE_RATE


@contextlib.asynccontextmanager
async def cluster_with_demo(options: DemoOptions,
                            tuning: DemoTuning | None = None) -> AsyncIterator[EmbeddedCluster]:
    """The cluster with the demo deployed and the operator running (with `options.demo`);
    the dashboard (`start`) and `redisha serve` share this start-up.

    Raises `backends.BackendUnavailable` (one line) before anything starts when the
    machine cannot run the backend.
    """
    tuning = tuning or DemoTuning()
    base = dataclasses.replace(tuning.cluster, nodes=options.nodes, state_path=options.state)
    async with backends.start(options.backend, base, server_settings=tuning.server,
                              sentinel_settings=tuning.sentinel) as cluster:
        operator: rf_operator.RedisFailoverOperator | None = None
        if options.demo:
            await deploy_demo(cluster.client, redis=options.redis, sentinels=options.sentinels,
                              down_after_ms=options.down_after_ms,
                              failover_timeout_ms=tuning.failover_timeout_ms,
                              write_rate=tuning.write_rate)
            if options.operator:
                operator = rf_operator.RedisFailoverOperator(
                    cluster.client, cluster.informers, settings=tuning.operator)
                await operator.start()
        try:
            yield cluster
        finally:
            if operator is not None:
                await operator.stop()


@contextlib.asynccontextmanager
async def start(options: DemoOptions,
                tuning: DemoTuning | None = None) -> AsyncIterator[Connection]:
    """`cluster_with_demo`, as a dashboard connection.

    Raises `backends.BackendUnavailable` (one line) before anything starts when the
    machine cannot run the backend.
    """
    async with cluster_with_demo(options, tuning) as cluster:
        context = f"embedded ({options.backend.value}, {options.nodes} nodes)"
        yield Connection(cluster.client, ClusterFaults(cluster), context=context,
                         namespace=DEMO_NAMESPACE)


class DemoScenario(str, enum.Enum):
    """Built-in headless demos (`--demo`)."""

    KILL_PRIMARY = "kill-primary"


@dataclass(frozen=True)
class DashboardRun:
    """One `redisha dashboard` invocation."""

    options: DemoOptions = field(default_factory=DemoOptions)
    readonly: bool = False
    headless: bool = False
    script: str | None = None
    """A YAML script to run headless (`--script FILE`)."""
    demo: DemoScenario | None = None
    """A built-in scenario to run headless (`--demo kill-primary`)."""
    screenshot_dir: str | None = None
    tuning: DemoTuning | None = None
    """The demo's timers (None: `DemoTuning()`'s)."""
    settings: DashboardSettings | None = None
    """The dashboard's rhythms (None: its defaults)."""
    remote: RemoteTarget | None = None
    """Attach to this cluster over HTTP instead of starting one (`--kubeconfig`)."""


async def run_dashboard(run: DashboardRun, *, out: TextIO | None = None,
                        err: TextIO | None = None) -> int:
    """Start the cluster and the dashboard; headless runs return the scenario's verdict.

    Every failure before the dashboard starts (a bad script, a backend this machine cannot
    run) is one line on `err` and a non-zero exit. `out` and `err` default to whatever
    `sys.stdout` and `sys.stderr` are at the call.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    scenario: Scenario | None = None
    size = DEFAULT_SIZE
    if run.script is not None:
        try:
            script = load_script(run.script)
        except ScriptError as e:
            print(f"redisha: {e}", file=err)
            return 2
        scenario, size = scripted(script), script.size
    elif run.demo is DemoScenario.KILL_PRIMARY:
        scenario = demo_kill_primary()
    try:
        async with _connection(run) as connection:
            app = DashboardApp(connection, readonly=run.readonly, settings=run.settings,
                               notices=[] if run.remote else run.options.notices())
            if run.headless:
                assert scenario is not None
                directory = Path(run.screenshot_dir) if run.screenshot_dir else None
                return await run_headless(app, scenario, size=size, screenshot_dir=directory,
                                          log=lambda line: print(line, file=out, flush=True))
            await app.run_async()
            return app.return_code or 0
    except (backends.BackendUnavailable, RemoteError) as e:
        print(f"redisha: {e}", file=err)
        return 1


@contextlib.asynccontextmanager
async def _connection(run: DashboardRun) -> AsyncIterator[Connection]:
    """The embedded cluster with its demo, or the remote cluster `run.remote` names
    (faults beyond the API then are not available: nothing reaches its processes)."""
    if run.remote is None:
        async with start(run.options, run.tuning) as connection:
            yield connection
        return
    async with remote.connect(run.remote) as client:
        yield Connection(client, None, context=client.server, namespace=DEMO_NAMESPACE)


async def bench_tui(*, pods: int, samples: int = 100) -> TuiBenchResult:
    """`redisha bench tui`: the dashboard over `pods` pods on a node-less cluster (their
    statuses are written through the client, as kubelets would)."""
    async with start_cluster(ClusterSettings.quick(nodes=0)) as cluster:
        return await tui_bench.run(cluster.client, pods=pods, samples=samples)
