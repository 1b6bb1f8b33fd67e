"""What the dashboard's tests share: small clusters, an app under a pilot, and waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from textual.pilot import Pilot

from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from redisha import backends, demo
from redisha.backends import Backend
from redisha.demo import ClusterFaults, DemoOptions, DemoTuning
from redisha.operator import OperatorSettings, Tuning
from redisha.sentinel.settings import SentinelSettings
from redisha.tutorial.manifests import TUTORIAL
from tui.app import DashboardApp, DashboardSettings
from tui.connection import Connection
from tui.script import screen_text

FAST = DashboardSettings(role_probe_interval=0.2, clock_interval=0.25, header_interval=0.1,
                         log_batch_interval=0.05)
"""Quicker rhythms than a person needs, so waits end sooner."""


async def until(condition: Callable[[], bool], timeout: float = 5.0, message: str = "") -> None:
    """Yield to the loop until `condition()` holds; fail the test after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"not within {timeout}s: {message}")
        await asyncio.sleep(0.02)


def pod(name: str, *, labels: dict[str, str] | None = None, image: str = "pause",
        command: list[str] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": image}
    if command:
        container["command"] = command
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [container], "terminationGracePeriodSeconds": 1}}


@dataclass
class RecordingFaults:
    """A `Faults` that only records what it was asked."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)

    async def crash(self, namespace: str, pod: str) -> str:
        self.calls.append(("crash", namespace, pod))
        return f"pod/{pod} crashed"

    async def hang(self, namespace: str, pod: str) -> str:
        self.calls.append(("hang", namespace, pod))
        return f"pod/{pod} hung"

    async def thaw(self, namespace: str, pod: str) -> str:
        self.calls.append(("thaw", namespace, pod))
        return f"pod/{pod} thawed"

    async def partition(self, namespace: str, pod: str, peers: list[str]) -> str:
        self.calls.append(("partition", namespace, pod, tuple(peers)))
        return f"pod/{pod} partitioned from {', '.join(peers)}"

    async def heal(self) -> str:
        self.calls.append(("heal",))
        return "healed"

    async def kill_node(self, node: str) -> str:
        self.calls.append(("kill-node", node))
        return f"node/{node} killed"


@contextlib.asynccontextmanager
async def bare_cluster(nodes: int = 2) -> AsyncIterator[EmbeddedCluster]:
    """Nodes with the fake runtime's `pause` image only: pods run in milliseconds."""
    async with start_cluster(ClusterSettings.quick(nodes=nodes)) as cluster:
        yield cluster


@contextlib.asynccontextmanager
async def redis_cluster(replicas: int = 2) -> AsyncIterator[EmbeddedCluster]:
    """The fake backend with the tutorial's StatefulSet (`redis-sfs`) and its headless
    Service: Redis pods nobody labels."""
    async with backends.start(Backend.FAKE, ClusterSettings.quick(nodes=2)) as cluster:
        manifests = dict(TUTORIAL)
        statefulset = yaml.safe_load(manifests["server.yaml"])
        statefulset["spec"]["replicas"] = replicas
        await cluster.client.create(yaml.safe_load(manifests["service.yaml"]), "default")
        await cluster.client.create(statefulset, "default")
        yield cluster


FAST_DEMO = DemoTuning(
    operator=OperatorSettings(
        resync_period=0.5, busy_resync=0.05, redis_timeout=0.3, sentinel_timeout=0.3,
        watch_retry=0.1, tuning=Tuning(sentinel_fix_grace=0.3, reset_grace=0.2,
                                       reset_interval=0.3, repair_grace=0.2)),
    sentinel=SentinelSettings.quick(), failover_timeout_ms=2000)
"""The demo with short timers: grace periods of tenths of a second, quick sentinels."""
DOWN_AFTER_MS = 500


@contextlib.asynccontextmanager
async def ha_demo(backend: Backend = Backend.FAKE) -> AsyncIterator[Connection]:
    """The dashboard's demo (RedisFailover `demo`, its writer, the operator) on 3 quick
    nodes, with a 500 ms down-after."""
    options = DemoOptions(backend=backend, down_after_ms=DOWN_AFTER_MS)
    async with demo.start(options, FAST_DEMO) as connection:
        yield connection


@contextlib.asynccontextmanager
async def dashboard(connection: Connection, *, size: tuple[int, int] = (120, 40),
                    readonly: bool = False, settings: DashboardSettings = FAST,
                    ) -> AsyncIterator[tuple[DashboardApp, Pilot[Any]]]:
    """The app under a pilot, attached to the cluster."""
    app = DashboardApp(connection, readonly=readonly, settings=settings)
    async with app.run_test(size=size) as pilot:
        await asyncio.wait_for(app.attached.wait(), 10)
        yield app, pilot


def connect(cluster: EmbeddedCluster, faults: Any = None, *,
            namespace: str | None = "default") -> Connection:
    return Connection(cluster.client, faults, context="test", namespace=namespace)


def real_faults(cluster: EmbeddedCluster) -> ClusterFaults:
    return ClusterFaults(cluster)


def notifications(app: DashboardApp) -> list[str]:
    return [n.message for n in app._notifications]


async def row(app: DashboardApp, name: str, column: str | None = None, *,
              equals: str | None = None, timeout: float = 5.0) -> None:
    """Wait until the table shows the row (and the cell holds `equals`)."""
    def shown() -> bool:
        assert app.model is not None
        key = next((k for k in app.model.shown if k.rpartition("/")[2] == name), None)
        if key is None:
            return False
        if column is None:
            return True
        return app.table.cell_text(key, column) == equals
    await until(shown, timeout, f"row {name} {column}={equals}: {screen_text(app)}")


async def gone(app: DashboardApp, name: str, timeout: float = 5.0) -> None:
    def absent() -> bool:
        assert app.model is not None
        return not any(k.rpartition("/")[2] == name for k in app.model.shown)
    await until(absent, timeout, f"row {name} gone: {screen_text(app)}")
