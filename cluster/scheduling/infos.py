"""`PodInfo` and `NodeInfo`: the records filters and scores read.

A `PodInfo` is a pod's scheduling-relevant facts, parsed once (requests, tolerations,
selectors, affinity terms, owner); a `NodeInfo` is a node's facts plus running totals over
the pods placed on it (requests, pod count, pods per owner, host ports). The totals are
updated one pod at a time, so no decision ever sums over a node's pods: that is what lets
the scheduler keep up with thousands of pods on a thousand nodes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from cluster.api import objects
from cluster.scheduling import constraints, resources
from cluster.scheduling.constraints import Taint, TaintEffect

HostPort = tuple[str, str, int]
"""(hostIP, protocol, hostPort) a container asks for."""

ANY_IP = "0.0.0.0"


class NodeReadiness(str, enum.Enum):
    """The node's `Ready` condition, as the taint the node lifecycle controller would set."""

    READY = "True"
    NOT_READY = "False"
    UNKNOWN = "Unknown"


def readiness_of(node: Mapping[str, Any]) -> NodeReadiness:
    """A node without a Ready condition has not reported yet, so it is not ready."""
    for condition in (node.get("status") or {}).get("conditions") or ():
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            status = condition.get("status")
            if status == "True":
                return NodeReadiness.READY
            if status == "Unknown":
                return NodeReadiness.UNKNOWN
            return NodeReadiness.NOT_READY
    return NodeReadiness.NOT_READY


def condition_taint(readiness: NodeReadiness) -> Taint | None:
    """The NoSchedule taint Kubernetes puts on a node that is not Ready.

    kube-scheduler does not look at node conditions: the node lifecycle controller turns
    them into `node.kubernetes.io/not-ready` / `unreachable` NoSchedule taints and the taint
    filter rejects the node. We derive the same taint from the condition here, so a
    NotReady node is skipped (and reported) exactly as on a real cluster even before our
    controller has tainted it, and a pod that tolerates it may still go there.
    """
    if readiness is NodeReadiness.READY:
        return None
    key = (constraints.TAINT_NODE_UNREACHABLE if readiness is NodeReadiness.UNKNOWN
           else constraints.TAINT_NODE_NOT_READY)
    return Taint(key, "", TaintEffect.NO_SCHEDULE.value)


def _host_ports(spec: Mapping[str, Any]) -> tuple[HostPort, ...]:
    ports: list[HostPort] = []
    for container in spec.get("containers") or ():
        for port in (container.get("ports") or ()) if isinstance(container, Mapping) else ():
            if isinstance(port, Mapping) and isinstance(port.get("hostPort"), int) \
                    and port["hostPort"] > 0:
                ports.append((str(port.get("hostIP") or ANY_IP),
                              str(port.get("protocol") or "TCP"), port["hostPort"]))
    return tuple(ports)


_SHAPE_FIELDS = ("priority", "preempt_never", "milli_cpu", "memory", "scalar", "nonzero_cpu",
                 "nonzero_mem", "host_ports", "tolerations", "node_selector", "required_node",
                 "preferred_node", "required_affinity", "preferred_affinity", "required_anti",
                 "preferred_anti", "has_pod_affinity", "static_key")


class PodShape:
    """What a pod's spec (in its namespace) says to the scheduler, parsed once.

    Every replica of a Deployment has the same spec, so `SchedulerCache` parses it once per
    shape and stamps it onto each replica's `PodInfo`. Immutable, hence shareable.
    """

    __slots__ = _SHAPE_FIELDS

    def __init__(self, spec: Mapping[str, Any], namespace: str,
                 parser: resources.QuantityParser) -> None:
        priority = spec.get("priority")
        self.priority: int = priority if isinstance(priority, int) else 0
        self.preempt_never = spec.get("preemptionPolicy") == "Never"
        requests = resources.pod_requests(spec, parser)
        self.milli_cpu = requests.milli_cpu
        self.memory = requests.memory
        self.scalar: dict[str, int] = requests.scalar
        nonzero = resources.pod_requests(spec, parser, non_zero=True)
        self.nonzero_cpu = nonzero.milli_cpu
        self.nonzero_mem = nonzero.memory
        self.host_ports = _host_ports(spec)
        self.tolerations = constraints.tolerations_of(spec)
        selector = spec.get("nodeSelector")
        self.node_selector: tuple[tuple[str, str], ...] = tuple(sorted(
            (str(k), str(v)) for k, v in selector.items())) if isinstance(selector, Mapping) else ()
        affinity = spec.get("affinity") or {}
        node_affinity = affinity.get("nodeAffinity") or {}
        required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
        self.required_node = constraints.NodeSelector.from_json(required) if required else None
        self.preferred_node = constraints.preferred_scheduling_terms(
            node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution"))
        pod_affinity = affinity.get("podAffinity") or {}
        anti = affinity.get("podAntiAffinity") or {}
        ns = namespace
        self.required_affinity = constraints.pod_affinity_terms(
            pod_affinity.get("requiredDuringSchedulingIgnoredDuringExecution"), ns)
        self.preferred_affinity = constraints.weighted_pod_affinity_terms(
            pod_affinity.get("preferredDuringSchedulingIgnoredDuringExecution"), ns)
        self.required_anti = constraints.pod_affinity_terms(
            anti.get("requiredDuringSchedulingIgnoredDuringExecution"), ns)
        self.preferred_anti = constraints.weighted_pod_affinity_terms(
            anti.get("preferredDuringSchedulingIgnoredDuringExecution"), ns)
        self.has_pod_affinity = bool(self.required_affinity or self.preferred_affinity
                                     or self.required_anti or self.preferred_anti)
        # Pods whose node-only constraints are equal see the same nodes pass the static
        # filters; this key lets the algorithm reuse that verdict across a Deployment.
        self.static_key: tuple[Any, ...] = (self.tolerations, self.node_selector,
                                            self.required_node)


class PodInfo:
    """One pod's scheduling facts. Immutable except `labels`, `node_name` and `obj`."""

    __slots__ = ("key", "uid", "namespace", "name", "labels", "node_name", "obj",
                 "owner_uid") + _SHAPE_FIELDS

    def __init__(self, pod: dict[str, Any], parser: resources.QuantityParser,
                 shape: PodShape | None = None) -> None:
        """`shape` is the pod's `PodShape` when the caller has it (parsed from this very
        spec and namespace); otherwise it is parsed here."""
        m = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        self.obj = pod
        self.namespace: str = m.get("namespace", "")
        self.name: str = m.get("name", "")
        self.key = f"{self.namespace}/{self.name}" if self.namespace else self.name
        self.uid: str = m.get("uid", "")
        self.labels: dict[str, str] = m.get("labels") or {}
        self.node_name: str = spec.get("nodeName") or ""
        owner = objects.controller_of(pod)
        self.owner_uid: str = (owner or {}).get("uid") or ""
        if shape is None:
            shape = PodShape(spec, self.namespace, parser)
        self.priority = shape.priority
        self.preempt_never = shape.preempt_never
        self.milli_cpu = shape.milli_cpu
        self.memory = shape.memory
        self.scalar = shape.scalar
        self.nonzero_cpu = shape.nonzero_cpu
        self.nonzero_mem = shape.nonzero_mem
        self.host_ports = shape.host_ports
        self.tolerations = shape.tolerations
        self.node_selector = shape.node_selector
        self.required_node = shape.required_node
        self.preferred_node = shape.preferred_node
        self.required_affinity = shape.required_affinity
        self.preferred_affinity = shape.preferred_affinity
        self.required_anti = shape.required_anti
        self.preferred_anti = shape.preferred_anti
        self.has_pod_affinity = shape.has_pod_affinity
        self.static_key = shape.static_key

    def __repr__(self) -> str:
        return f"<PodInfo {self.key} node={self.node_name or '-'}>"


class NodeInfo:
    """A node's facts and the running totals of the pods placed on it (bound or assumed).

    `node` is None for a node the pods informer mentions but the nodes informer does not
    (yet) know: its totals are kept, but nothing is scheduled there.
    """

    __slots__ = ("name", "node", "labels", "taints", "unschedulable", "readiness",
                 "alloc_cpu", "alloc_mem", "alloc_pods", "alloc_scalar", "req_cpu", "req_mem",
                 "req_scalar", "nz_cpu", "nz_mem", "pods", "owners", "used_ports",
                 "prefer_no_schedule", "free_cpu", "free_mem", "free_pods", "free_nz_cpu",
                 "free_nz_mem", "cpu_divisor", "mem_divisor", "memo_profile", "memo_fits",
                 "memo_score", "touched")

    def __init__(self, name: str, *, touched: set["NodeInfo"] | None = None) -> None:
        """`touched` is a set this node adds itself to whenever its memo is reset, so a
        scheduler that keeps a verdict over all nodes knows which ones to look at again."""
        self.name = name
        self.touched = touched
        self.node: dict[str, Any] | None = None
        self.labels: Mapping[str, str] = {}
        self.taints: tuple[Taint, ...] = ()
        """Every taint that affects scheduling, the derived not-ready one included."""
        self.prefer_no_schedule: tuple[Taint, ...] = ()
        self.unschedulable = False
        self.readiness = NodeReadiness.NOT_READY
        self.alloc_cpu = 0
        self.alloc_mem = 0
        self.alloc_pods = 0
        self.alloc_scalar: dict[str, int] = {}
        self.req_cpu = 0
        self.req_mem = 0
        self.req_scalar: dict[str, int] = {}
        self.nz_cpu = 0
        self.nz_mem = 0
        self.pods: dict[str, PodInfo] = {}
        self.owners: dict[str, int] = {}
        self.used_ports: dict[tuple[str, int], dict[str, int]] = {}
        """(protocol, port) -> host IP -> how many pods hold it."""
        # Derived from the above and kept current by `_refresh`, so that the algorithm's
        # per-node checks are plain attribute reads.
        self.free_cpu = 0
        self.free_mem = 0
        self.free_pods = 0
        self.free_nz_cpu = 0
        """Allocatable cpu minus the non-zero requests: what LeastAllocated scores."""
        self.free_nz_mem = 0
        self.cpu_divisor = 1
        """Allocatable cpu, or 1 when there is none (the score is then 0 or less)."""
        self.mem_divisor = 1
        self.memo_profile: tuple[int, int, int, int] | None = None
        """The request profile `memo_fits` and `memo_score` were computed for; reset by
        every change to the node or its pods."""
        self.memo_fits = False
        self.memo_score = 0

    def __repr__(self) -> str:
        return f"<NodeInfo {self.name} pods={len(self.pods)}>"

    def set_node(self, node: dict[str, Any], parser: resources.QuantityParser) -> None:
        m = node.get("metadata") or {}
        spec = node.get("spec") or {}
        self.node = node
        self.labels = m.get("labels") or {}
        self.unschedulable = bool(spec.get("unschedulable"))
        self.readiness = readiness_of(node)
        taints = constraints.taints_of(node)
        implied = condition_taint(self.readiness)
        if implied is not None and not any(t.key == implied.key and t.effect == implied.effect
                                           for t in taints):
            taints = taints + (implied,)
        self.taints = tuple(t for t in taints if t.effect != TaintEffect.PREFER_NO_SCHEDULE.value)
        self.prefer_no_schedule = tuple(t for t in taints
                                        if t.effect == TaintEffect.PREFER_NO_SCHEDULE.value)
        alloc = resources.node_allocatable(node, parser)
        self.alloc_cpu = alloc.milli_cpu
        self.alloc_mem = alloc.memory
        self.alloc_pods = alloc.pods
        self.alloc_scalar = alloc.scalar
        self._refresh()

    def _refresh(self) -> None:
        self.memo_profile = None
        if self.touched is not None:
            self.touched.add(self)
        self.free_cpu = self.alloc_cpu - self.req_cpu
        self.free_mem = self.alloc_mem - self.req_mem
        self.free_pods = self.alloc_pods - len(self.pods)
        self.free_nz_cpu = self.alloc_cpu - self.nz_cpu
        self.free_nz_mem = self.alloc_mem - self.nz_mem
        self.cpu_divisor = self.alloc_cpu or 1
        self.mem_divisor = self.alloc_mem or 1

    def fit_and_score(self, profile: tuple[int, int, int, int]) -> bool:
        """Whether a plain pod (cpu and memory requests only) fits, remembering that and
        its LeastAllocated score for the next pod of the same `profile`.

        `profile` is (cpu, memory, non-zero cpu, non-zero memory) of the pod. This is
        `filters.resources_fit(...) is None` and `scores.least_allocated` folded into one
        memo: pods of one Deployment share a profile, and a node changes only when a pod
        lands on it, so most nodes answer from the memo.
        """
        if self.memo_profile is profile:
            return self.memo_fits
        cpu, mem, nz_cpu, nz_mem = profile
        fits = self.free_pods > 0 and (not cpu or cpu <= self.free_cpu) \
            and (not mem or mem <= self.free_mem)
        c = (self.free_nz_cpu - nz_cpu) * 100 // self.cpu_divisor
        m = (self.free_nz_mem - nz_mem) * 100 // self.mem_divisor
        self.memo_score = ((c if c > 0 else 0) + (m if m > 0 else 0)) // 2
        self.memo_fits = fits
        self.memo_profile = profile
        return fits

    def static_state(self) -> tuple[Any, ...]:
        """What the node-only filters read; a change here invalidates cached verdicts."""
        return (self.node is not None, self.labels, self.taints, self.prefer_no_schedule,
                self.unschedulable)

    @property
    def pod_count(self) -> int:
        return len(self.pods)

    def topology_value(self, key: str) -> str | None:
        """The node's domain for `key`; every node is its own hostname domain, even
        when it does not carry the `kubernetes.io/hostname` label."""
        value = self.labels.get(key)
        if value is None and key == constraints.HOSTNAME_LABEL:
            return self.name
        return value

    def add_pod(self, pod: PodInfo) -> None:
        if pod.key in self.pods:
            self.remove_pod(self.pods[pod.key])
        self.pods[pod.key] = pod
        self.req_cpu += pod.milli_cpu
        self.req_mem += pod.memory
        self.nz_cpu += pod.nonzero_cpu
        self.nz_mem += pod.nonzero_mem
        for name, amount in pod.scalar.items():
            self.req_scalar[name] = self.req_scalar.get(name, 0) + amount
        if pod.owner_uid:
            self.owners[pod.owner_uid] = self.owners.get(pod.owner_uid, 0) + 1
        for ip, protocol, port in pod.host_ports:
            ips = self.used_ports.setdefault((protocol, port), {})
            ips[ip] = ips.get(ip, 0) + 1
        self._refresh()

    def remove_pod(self, pod: PodInfo) -> None:
        held = self.pods.pop(pod.key, None)
        if held is None:
            return
        self.req_cpu -= held.milli_cpu
        self.req_mem -= held.memory
        self.nz_cpu -= held.nonzero_cpu
        self.nz_mem -= held.nonzero_mem
        for name, amount in held.scalar.items():
            left = self.req_scalar.get(name, 0) - amount
            if left:
                self.req_scalar[name] = left
            else:
                self.req_scalar.pop(name, None)
        if held.owner_uid:
            left = self.owners.get(held.owner_uid, 0) - 1
            if left > 0:
                self.owners[held.owner_uid] = left
            else:
                self.owners.pop(held.owner_uid, None)
        for ip, protocol, port in held.host_ports:
            ips = self.used_ports.get((protocol, port))
            if ips is None:
                continue
            if ips.get(ip, 0) > 1:
                ips[ip] -= 1
            else:
                ips.pop(ip, None)
                if not ips:
                    del self.used_ports[(protocol, port)]
        self._refresh()
