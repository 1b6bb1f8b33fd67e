"""`redisha bench engine`: how fast the embedded cluster turns Deployments into Running pods.

It starts an embedded cluster with N nodes (fake runtime, `pause` image), creates
`pods / 100` Deployments of 100 replicas each, and waits — watching pods, as a user's
`kubectl get pods -w` would — until every pod is Running. The figures:

- **all_running_s**: from the first Deployment create to the last pod seen Running.
- **scheduled_pods_per_s**: pods bound ÷ (last binding − first binding), bindings seen
  on the same watch. The ReplicaSet controller creates pods faster than they can be
  bound, so pods are pending from the first binding to the last: this is the
  scheduler's throughput while pods are pending, the figure kube-scheduler's benchmarks
  report — but on a loop the scheduler shares with everything else, the kubelets of
  the pods it has just bound included, not on cores of its own. (Were the scheduler
  ever to wait for pods, the figure would fall to the creation rate: it never
  overstates.)
- **peak_rss_mib**: the process's high-water mark (getrusage), the whole engine included.
- **start_s**: cluster start-up (nodes registered), which the other figures leave out.
"""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import asdict, dataclass
from typing import Any

from cluster.api.watch import EventType
from cluster.embedded import ClusterSettings, EmbeddedCluster
from cluster.kubelet import KubeletSettings

REPLICAS_PER_DEPLOYMENT = 100


@dataclass
class EngineFigures:
    nodes: int
    pods: int
    start_s: float
    all_running_s: float
    scheduled_pods_per_s: float
    peak_rss_mib: float

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}

    def to_text(self) -> str:
        return "\n".join([
            f"engine benchmark: {self.nodes} nodes, {self.pods} pause pods "
            f"as {self.pods // REPLICAS_PER_DEPLOYMENT} Deployments of {REPLICAS_PER_DEPLOYMENT}",
            f"  cluster start-up          {self.start_s:8.2f} s",
            f"  create -> all Running     {self.all_running_s:8.2f} s",
            f"  scheduling throughput     {self.scheduled_pods_per_s:8.0f} pods/s",
            f"  peak RSS                  {self.peak_rss_mib:8.0f} MiB",
        ])


def _deployment(i: int, replicas: int) -> dict[str, Any]:
    name = f"bench-{i:03d}"
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{
                             "name": "pause", "image": "pause",
                             "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}},
        },
    }


async def run(*, nodes: int = 1000, pods: int = 10_000, timeout: float = 600.0) -> EngineFigures:
    """Measure one cluster; raises TimeoutError if the pods are not all Running in time."""
    settings = ClusterSettings(
        nodes=nodes,
        kubelet=KubeletSettings(capacity={"cpu": "32", "memory": "64Gi", "pods": "250"}))
    cluster = EmbeddedCluster(settings)
    t0 = time.perf_counter()
    await cluster.start()
    start_s = time.perf_counter() - t0
    try:
        watch = cluster.client.watch("pods", resource_version=cluster.api.revision)
        bound: set[str] = set()
        running: set[str] = set()
        first_bind = last_bind = 0.0
        deployments = pods // REPLICAS_PER_DEPLOYMENT
        t_create = time.perf_counter()
        for i in range(deployments):
            await cluster.client.create(_deployment(i, REPLICAS_PER_DEPLOYMENT))
        remaining = timeout - (time.perf_counter() - t_create)
        try:
            # One deadline for the whole wait: a timer per event would be the bench's own
            # largest cost, 30,000 times over.
            async with asyncio.timeout(max(remaining, 0.0)), watch:
                async for event in watch:
                    if event.type is EventType.DELETED:
                        continue
                    obj = event.object
                    name = obj["metadata"]["name"]
                    if obj["spec"].get("nodeName") and name not in bound:
                        now = time.perf_counter()
                        bound.add(name)
                        first_bind = first_bind or now
                        last_bind = now
                    if (obj.get("status") or {}).get("phase") == "Running":
                        running.add(name)
                        if len(running) >= pods:
                            break
        except TimeoutError:
            raise TimeoutError(
                f"{len(running)}/{pods} pods Running after {timeout:.0f} s") from None
        if len(running) < pods:
            raise RuntimeError(f"the pods watch ended with {len(running)}/{pods} pods Running")
        all_running_s = time.perf_counter() - t_create
    finally:
        await cluster.stop()
    span = max(last_bind - first_bind, 1e-9)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return EngineFigures(nodes=nodes, pods=pods, start_s=start_s, all_running_s=all_running_s,
                         scheduled_pods_per_s=(len(bound) - 1) / span if len(bound) > 1 else 0.0,
                         peak_rss_mib=rss_kib / 1024)
