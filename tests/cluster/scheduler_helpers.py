"""Builders for the scheduler's tests: Kubernetes-shaped nodes and pods, and records."""

from __future__ import annotations

from typing import Any

from cluster.scheduling.cache import SchedulerCache
from cluster.scheduling.infos import NodeInfo, PodInfo
from cluster.scheduling.resources import QuantityParser


def node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
         ready: str | None = "True", labels: dict[str, str] | None = None,
         taints: list[dict[str, str]] | None = None, unschedulable: bool = False,
         allocatable: dict[str, str] | None = None) -> dict[str, Any]:
    """A Node as a kubelet would report it (Ready unless told otherwise)."""
    alloc = {"cpu": cpu, "memory": memory, "pods": pods, **(allocatable or {})}
    spec: dict[str, Any] = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    status: dict[str, Any] = {"capacity": dict(alloc), "allocatable": alloc}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready}]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name,
                         "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": spec, "status": status}


def container(name: str = "c", *, cpu: str | None = None, memory: str | None = None,
              **extra: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    out: dict[str, Any] = {"name": name, "image": "redis", **extra}
    if requests:
        out["resources"] = {"requests": requests}
    return out


def pod(name: str, *containers: dict[str, Any], namespace: str = "default",
        labels: dict[str, str] | None = None, uid: str | None = None,
        owner_uid: str | None = None, node_name: str | None = None,
        init_containers: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    """A Pod; `spec` keywords go into its spec verbatim (nodeSelector=..., affinity=...)."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "uid": uid or f"uid-{name}"}
    if labels:
        meta["labels"] = labels
    if owner_uid:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                    "name": f"rs-{owner_uid}", "uid": owner_uid,
                                    "controller": True, "blockOwnerDeletion": True}]
    body: dict[str, Any] = {"containers": list(containers) or [container()], **spec}
    if init_containers:
        body["initContainers"] = init_containers
    if node_name:
        body["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body}


def anti_affinity(labels: dict[str, str], *, required: bool = True, weight: int = 100,
                  topology_key: str = "kubernetes.io/hostname") -> dict[str, Any]:
    """`affinity` with one pod anti-affinity term over `labels`."""
    term = {"labelSelector": {"matchLabels": labels}, "topologyKey": topology_key}
    if required:
        return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": weight, "podAffinityTerm": term}]}}


def pod_info(obj: dict[str, Any]) -> PodInfo:
    return PodInfo(obj, QuantityParser())


def node_info(obj: dict[str, Any], *placed: dict[str, Any]) -> NodeInfo:
    """A NodeInfo for `obj` holding the `placed` pods."""
    parser = QuantityParser()
    info = NodeInfo(obj["metadata"]["name"])
    info.set_node(obj, parser)
    for p in placed:
        placed_info = PodInfo(p, parser)
        placed_info.node_name = info.name
        info.add_pod(placed_info)
    return info


def cache_with(nodes: list[dict[str, Any]], placed: list[dict[str, Any]] = ()) -> SchedulerCache:
    """A SchedulerCache fed with `nodes` and bound `placed` pods (each with spec.nodeName)."""
    cache = SchedulerCache()
    for n in nodes:
        cache.set_node(n)
    for p in placed:
        cache.observe_pod(p)
    return cache
