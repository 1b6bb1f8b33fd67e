"""A whole cluster on one event loop, started and stopped in one call.

`EmbeddedCluster` is what kind is to Kubernetes: the control plane (store, API server),
the controller manager's controllers, the scheduler, the cluster network (addresses,
DNS, service proxy) and N nodes, each a kubelet with its own container runtime. The
tutorial runner, the scenarios and the dashboard all start from here.

The cluster knows no images: the caller passes a `runtime_factory` that builds each
node's runtime with the images it registered (the composition root's job), or gets the
fake runtime with only the built-in `pause` image.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Protocol

from cluster.apiserver import APIServer, APIServerSettings
from cluster.client import InProcessClient
from cluster.controllers.deployment import DeploymentController, DeploymentSettings
from cluster.controllers.endpoints import EndpointsController, EndpointsSettings
from cluster.controllers.gc import GarbageCollector, GCSettings
from cluster.controllers.nodelifecycle import NodeLifecycleController, NodeLifecycleSettings
from cluster.controllers.pvcbinder import PVCBinder, PVCBinderSettings
from cluster.controllers.replicaset import ReplicaSetController, ReplicaSetSettings
from cluster.controllers.statefulset import StatefulSetController, StatefulSetSettings
from cluster.informer import InformerFactory
from cluster.kubelet import Kubelet, KubeletSettings
from cluster.network import addresses
from cluster.network.cluster_network import ClusterNetwork, NetworkSettings
from cluster.runtime import base, containers, isolation
from cluster.runtime.fake import FakeRuntime
from cluster.scheduler import Scheduler, SchedulerSettings
from cluster.store import Store, StoreSettings

log = logging.getLogger(__name__)


class RuntimeFactory(Protocol):
    """Builds one node's container runtime."""

    def __call__(self, node_name: str, settings: containers.RuntimeSettings) -> base.Runtime: ...


def fake_runtime(node_name: str, settings: containers.RuntimeSettings) -> base.Runtime:
    """The default: the fake runtime with only the built-in `pause` image."""
    return FakeRuntime(settings=settings)


@dataclass(frozen=True)
class ClusterSettings:
    """Everything that shapes one embedded cluster; defaults are Kubernetes'."""

    nodes: int = 3
    """How many nodes (kubelets) start with the cluster."""
    node_name_format: str = "node-{}"
    """Node names, numbered from 1."""
    state_path: str | None = None
    """SQLite file for the store; None keeps the cluster in memory."""
    store: StoreSettings = field(default_factory=StoreSettings)
    apiserver: APIServerSettings = field(default_factory=APIServerSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    runtime: containers.RuntimeSettings = field(default_factory=containers.RuntimeSettings)
    kubelet: KubeletSettings = field(default_factory=KubeletSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    replicaset: ReplicaSetSettings = field(default_factory=ReplicaSetSettings)
    deployment: DeploymentSettings = field(default_factory=DeploymentSettings)
    statefulset: StatefulSetSettings = field(default_factory=StatefulSetSettings)
    endpoints: EndpointsSettings = field(default_factory=EndpointsSettings)
    node_lifecycle: NodeLifecycleSettings = field(default_factory=NodeLifecycleSettings)
    gc: GCSettings = field(default_factory=GCSettings)
    pvc_binder: PVCBinderSettings = field(default_factory=PVCBinderSettings)
    full_gc_threshold: int | None = 1000
    """CPython's threshold for full (generation 2) collections while the cluster runs,
    counted in generation-1 collections; None leaves the process's setting alone.

    The cluster's state is hundreds of thousands of long-lived JSON dicts and lists, none
    of them in a reference cycle, which reference counting frees on its own. At Python's
    default (10), every 25% growth of that heap sets off a full collection that walks all
    of it: a quarter of the engine's CPU while 10,000 pods start. Cycles (tasks,
    tracebacks) still die young in generations 0 and 1, and full collections still run,
    just less often. The previous thresholds come back on `stop`."""

    @classmethod
    def quick(cls, **overrides: Any) -> "ClusterSettings":
        """Short intervals for tests and demos: a silent node is NotReady after 2 s and
        its pods are evicted 2 s later; crash back-off starts at 0.2 s."""
        base_settings = cls(
            apiserver=APIServerSettings(default_toleration_seconds=2),
            kubelet=KubeletSettings(
                lease_duration_seconds=2, lease_renew_interval=0.25,
                node_status_update_period=0.5, node_status_report_period=5.0,
                restart_backoff_initial=0.2, restart_backoff_max=3.0,
                image_pull_backoff_initial=0.2, image_pull_backoff_max=3.0,
                error_requeue=0.2, sync_period=5.0),
            node_lifecycle=NodeLifecycleSettings(
                node_monitor_grace_period=2.0, node_startup_grace_period=4.0,
                default_toleration_seconds=2.0),
            scheduler=SchedulerSettings(unschedulable_flush_interval=5.0,
                                        flush_check_period=1.0, initial_backoff=0.1,
                                        max_backoff=1.0),
            gc=GCSettings(scan_period=5.0),
        )
        return dataclasses.replace(base_settings, **overrides)


class EmbeddedCluster:
    """One running cluster. Use `start_cluster()` or `await start()` / `await stop()`."""

    def __init__(self, settings: ClusterSettings | None = None, *,
                 runtime_factory: RuntimeFactory = fake_runtime,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings or ClusterSettings()
        self._runtime_factory = runtime_factory
        self._clock = clock
        self.kubelets: dict[str, Kubelet] = {}
        self.runtimes: dict[str, base.Runtime] = {}
        self._components: list[Any] = []
        self._ranges: addresses.AddressRanges | None = None
        self._runtime_settings: containers.RuntimeSettings | None = None
        self._started = False
        self._saved_gc_threshold: tuple[int, ...] | None = None

    # The parts, available after start().
    store: Store
    api: APIServer
    client: InProcessClient
    informers: InformerFactory
    network: ClusterNetwork
    scheduler: Scheduler

    async def start(self) -> "EmbeddedCluster":
        if self._started:
            return self
        s = self.settings
        self._ranges = addresses.claim_ranges(index=s.network.range_index)
        self._tune_gc()
        try:
            self.store = Store(settings=s.store, path=s.state_path)
            self.api = APIServer(
                store=self.store, clock=self._clock,
                settings=dataclasses.replace(s.apiserver, service_cidr=self._ranges.service_cidr))
            self.client = InProcessClient(self.api)
            self.informers = InformerFactory(self.client)
            self.network = ClusterNetwork(self.client, self.informers, settings=s.network,
                                          ranges=self._ranges)
            await self.network.start()
            self._components.append(self.network)
            for component in self._control_plane():
                await component.start()
                self._components.append(component)
            await self.informers.start()
            runtime_settings = s.runtime
            if runtime_settings.isolation is None:
                # One probe for every node's runtime, not one per node.
                runtime_settings = dataclasses.replace(runtime_settings,
                                                       isolation=await isolation.probe())
            self._runtime_settings = runtime_settings
            await asyncio.gather(*(self.add_node(s.node_name_format.format(i + 1))
                                   for i in range(s.nodes)))
        except BaseException:
            await self.stop()
            raise
        self._started = True
        return self

    def _control_plane(self) -> list[Any]:
        s, c, f = self.settings, self.client, self.informers
        self.scheduler = Scheduler(c, settings=s.scheduler, informers=f, clock=self._clock)
        return [
            ReplicaSetController(c, f, s.replicaset, clock=self._clock),
            DeploymentController(c, f, s.deployment, clock=self._clock),
            StatefulSetController(c, factory=f, settings=s.statefulset, clock=self._clock),
            EndpointsController(c, factory=f, settings=s.endpoints),
            NodeLifecycleController(c, factory=f, settings=s.node_lifecycle, clock=self._clock),
            GarbageCollector(c, factory=f, settings=s.gc),
            PVCBinder(c, factory=f, settings=s.pvc_binder),
            self.scheduler,
        ]

    async def add_node(self, name: str, *, kubelet: KubeletSettings | None = None) -> Kubelet:
        """Start one more node (a kubelet with its own runtime); `kubelet` gives this node
        settings of its own (another capacity, say) instead of the cluster's."""
        assert self._runtime_settings is not None
        runtime = self._runtime_factory(name, self._runtime_settings)
        node = Kubelet(self.client, node_name=name, runtime=runtime, sandboxes=self.network,
                       settings=kubelet or self.settings.kubelet, clock=self._clock)
        self.runtimes[name] = runtime
        self.kubelets[name] = node
        await node.start()
        # Logs and exec reach this kubelet only through the API server, as in Kubernetes.
        self.api.register_node_connection(name, node)
        return node

    async def kill_node(self, name: str) -> None:
        """The fault: the node's kubelet stops heartbeating and its containers die.
        The node object stays; the node lifecycle controller notices the silence."""
        kubelet = self.kubelets.pop(name)
        self.api.unregister_node_connection(name)
        await kubelet.kill()
        runtime = self.runtimes.pop(name)
        await runtime.close()

    async def stop(self) -> None:
        """Stop nodes, then the control plane, then the network; release the addresses."""
        for name in list(self.kubelets):
            self.api.unregister_node_connection(name)
            with contextlib.suppress(Exception):
                await self.kubelets.pop(name).stop()
        for name in list(self.runtimes):
            with contextlib.suppress(Exception):
                await self.runtimes.pop(name).close()
        for component in reversed(self._components):
            try:
                await component.stop()
            except Exception:  # a failed stop must not keep the rest running
                log.exception("stopping %r failed", component)
        self._components.clear()
        if hasattr(self, "informers"):
            await self.informers.stop()
        if hasattr(self, "store"):
            self.store.close()
        if self._ranges is not None:
            self._ranges.close()
            self._ranges = None
        self._restore_gc()
        self._started = False

    def _tune_gc(self) -> None:
        """Raise the full-collection threshold; a process that already has it as high
        (another cluster running, or its own choice) is left alone and not restored."""
        threshold = self.settings.full_gc_threshold
        current = gc.get_threshold()
        if threshold is None or self._saved_gc_threshold is not None or current[2] >= threshold:
            return
        self._saved_gc_threshold = current
        gc.set_threshold(current[0], current[1], threshold)

    def _restore_gc(self) -> None:
        saved, self._saved_gc_threshold = self._saved_gc_threshold, None
        if saved is not None:
            current = gc.get_threshold()
            gc.set_threshold(current[0], current[1], saved[2])


@contextlib.asynccontextmanager
async def start_cluster(settings: ClusterSettings | None = None, *,
                        runtime_factory: RuntimeFactory = fake_runtime,
                        clock: Callable[[], float] = time.time) -> AsyncIterator[EmbeddedCluster]:
    """`async with start_cluster(ClusterSettings.quick(nodes=3)) as cluster: ...`"""
    cluster = EmbeddedCluster(settings, runtime_factory=runtime_factory, clock=clock)
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop()
