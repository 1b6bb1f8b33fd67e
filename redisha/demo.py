"""The dashboard's composition root: a cluster, a demo workload, and faults beyond the API.

`redisha` (= `redisha dashboard`) starts the embedded cluster on a backend, deploys the
demo, and hands the dashboard a `tui.connection.Connection`: the cluster's client, and a
`ClusterFaults` that reaches into the embedded cluster for what the API cannot do (crash a
container, freeze a process, partition pods, kill a node). The dashboard itself never sees
the engine.

Until the RedisFailover operator exists (issue 5) the demo workload is the tutorial's
master/replica StatefulSet `redis-sfs` with its headless Service; `--sentinels` and
`--down-after-ms` are accepted and reported as not yet in effect.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, TextIO

from cluster.api import errors
from cluster.client import Client
from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from cluster.network.faults import Partition
from redisha import backends
from redisha.backends import Backend
from tui import bench as tui_bench
from tui.app import DashboardApp
from tui.bench import TuiBenchResult
from tui.connection import Connection
from tui.faults import FaultError
from tui.script import (DEFAULT_SIZE, Scenario, ScriptError, demo_kill_primary, load_script,
                        run_headless, scripted)

DEMO_NAMESPACE = "default"
DEMO_NAME = "redis-sfs"
DEFAULT_REDIS = 3
DEFAULT_SENTINELS = 3
DEFAULT_DOWN_AFTER_MS = 5000


def tutorial_service() -> dict[str, Any]:
    """The tutorial's headless Service (service.yaml)."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": DEMO_NAME, "labels": {"app": DEMO_NAME}},
        "spec": {"clusterIP": "None",
                 "ports": [{"port": 6379, "name": DEMO_NAME}],
                 "selector": {"app": DEMO_NAME}},
    }


TUTORIAL_SCRIPT = """\
set -ex
ordinal=`hostname | awk -F '-' '{print $NF}'`
if [[ $ordinal -eq 0 ]]; then
  echo > /tmp/redis.conf
else
  echo "slaveof redis-sfs-0.redis-sfs 6379" > /tmp/redis.conf
fi
redis-server /tmp/redis.conf
"""
"""server.yaml's container script: pod 0 is the master, the others replicate from it."""


def tutorial_statefulset(replicas: int) -> dict[str, Any]:
    """The tutorial's StatefulSet (server.yaml) with `replicas` pods."""
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": DEMO_NAME},
        "spec": {
            "serviceName": DEMO_NAME, "replicas": replicas,
            "selector": {"matchLabels": {"app": DEMO_NAME}},
            "template": {
                "metadata": {"labels": {"app": DEMO_NAME}},
                "spec": {"containers": [{
                    "name": DEMO_NAME, "image": "redis",
                    "command": ["bash", "-c", TUTORIAL_SCRIPT],
                }]},
            },
        },
    }


async def deploy_demo(client: Client, *, redis: int = DEFAULT_REDIS) -> list[str]:
    """Create the demo workload; objects that exist already (a `--state` file reused)
    are left as they are. Returns what was created, kubectl style."""
    created = []
    for obj in (tutorial_service(), tutorial_statefulset(redis)):
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

    def notices(self) -> list[str]:
        """What the options ask for that cannot happen yet."""
        out = []
        if self.demo and (self.sentinels != DEFAULT_SENTINELS
                          or self.down_after_ms != DEFAULT_DOWN_AFTER_MS):
            out.append("--sentinels and --down-after-ms take effect with the RedisFailover "
                       "operator, which is not available yet; the demo runs the tutorial's "
                       "StatefulSet")
        return out


@contextlib.asynccontextmanager
async def start(options: DemoOptions,
                settings: ClusterSettings | None = None) -> AsyncIterator[Connection]:
    """The cluster with the demo deployed, as a dashboard connection.

    Raises `backends.BackendUnavailable` (one line) before anything starts when the
    machine cannot run the backend.
    """
    base = settings or ClusterSettings.quick()
    base = dataclasses.replace(base, nodes=options.nodes, state_path=options.state)
    async with backends.start(options.backend, base) as cluster:
        if options.demo:
            await deploy_demo(cluster.client, redis=options.redis)
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
        async with start(run.options) as connection:
            app = DashboardApp(connection, readonly=run.readonly,
                               notices=run.options.notices())
            if run.headless:
                assert scenario is not None
                directory = Path(run.screenshot_dir) if run.screenshot_dir else None
                return await run_headless(app, scenario, size=size, screenshot_dir=directory,
                                          log=lambda line: print(line, file=out, flush=True))
            await app.run_async()
            return app.return_code or 0
    except backends.BackendUnavailable as e:
        print(f"redisha: {e}", file=err)
        return 1


async def bench_tui(*, pods: int, samples: int = 100) -> TuiBenchResult:
    """`redisha bench tui`: the dashboard over `pods` pods on a node-less cluster (their
    statuses are written through the client, as kubelets would)."""
    async with start_cluster(ClusterSettings.quick(nodes=0)) as cluster:
        return await tui_bench.run(cluster.client, pods=pods, samples=samples)
