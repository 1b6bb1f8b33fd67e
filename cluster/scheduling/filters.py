"""Filters: can this pod run on this node? Pure functions of (pod, node, the node's pods).

Each filter returns None (the node passes) or a `Rejection` carrying kube-scheduler's own
reason strings, which end up counted in the `FailedScheduling` message. They run in the
order of kube-scheduler's default profile (NodeUnschedulable, TaintToleration,
NodeAffinity, NodePorts, NodeResourcesFit, InterPodAffinity) and, as there, the first
failing filter decides a node's reasons.

The first three read only the node object and the pod's spec (the "static" filters); their
verdicts can be cached per pod shape until a node changes. The others read what is placed
on the node.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable

from cluster.scheduling import constraints
from cluster.scheduling.constraints import NamespaceLabels, PodAffinityTerm, Taint
from cluster.scheduling.infos import ANY_IP, NodeInfo, PodInfo
from cluster.scheduling.resources import EPHEMERAL_STORAGE

REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_PORTS = "node(s) didn't have free ports for the requested pod ports"
REASON_TOO_MANY_PODS = "Too many pods"
REASON_AFFINITY = "node(s) didn't match pod affinity rules"
REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"


def untolerated_taint_reason(taint: Taint) -> str:
    return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"


def insufficient_reason(resource: str) -> str:
    return f"Insufficient {resource}"


class Plugin(str, enum.Enum):
    """The kube-scheduler plugin a filter stands for; what an event must change to help."""

    NODE_UNSCHEDULABLE = "NodeUnschedulable"
    TAINT_TOLERATION = "TaintToleration"
    NODE_AFFINITY = "NodeAffinity"
    NODE_PORTS = "NodePorts"
    NODE_RESOURCES_FIT = "NodeResourcesFit"
    INTER_POD_AFFINITY = "InterPodAffinity"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a node cannot take the pod."""

    plugin: Plugin
    reasons: tuple[str, ...]
    resolvable: bool
    """Whether evicting pods could make room (kube-scheduler's `Unschedulable`, as opposed
    to `UnschedulableAndUnresolvable`); it decides the preemption part of the message."""


# -- static filters: the node object and the pod spec only ------------------------------------

def node_unschedulable(pod: PodInfo, node: NodeInfo) -> Rejection | None:
    """A cordoned node takes only pods that tolerate `node.kubernetes.io/unschedulable`."""
    if not node.unschedulable:
        return None
    taint = Taint(constraints.TAINT_NODE_UNSCHEDULABLE, "",
                  constraints.TaintEffect.NO_SCHEDULE.value)
    if constraints.tolerated(taint, pod.tolerations):
        return None
    return Rejection(Plugin.NODE_UNSCHEDULABLE, (REASON_UNSCHEDULABLE,), False)


def taint_toleration(pod: PodInfo, node: NodeInfo) -> Rejection | None:
    """Every NoSchedule and NoExecute taint must be tolerated; the first that is not is
    the reason. PreferNoSchedule taints only lower the score."""
    for taint in node.taints:
        if not constraints.tolerated(taint, pod.tolerations):
            return Rejection(Plugin.TAINT_TOLERATION, (untolerated_taint_reason(taint),), False)
    return None


def node_affinity(pod: PodInfo, node: NodeInfo) -> Rejection | None:
    """`spec.nodeSelector` and required node affinity must both match."""
    labels = node.labels
    for key, value in pod.node_selector:
        if labels.get(key) != value:
            return Rejection(Plugin.NODE_AFFINITY, (REASON_NODE_AFFINITY,), False)
    if pod.required_node is not None and not pod.required_node.matches(node.name, labels):
        return Rejection(Plugin.NODE_AFFINITY, (REASON_NODE_AFFINITY,), False)
    return None


STATIC_FILTERS: tuple[Callable[[PodInfo, NodeInfo], Rejection | None], ...] = (
    node_unschedulable, taint_toleration, node_affinity)


def static_filters(pod: PodInfo, node: NodeInfo) -> Rejection | None:
    for check in STATIC_FILTERS:
        rejection = check(pod, node)
        if rejection is not None:
            return rejection
    return None


# -- dynamic filters: what is placed on the node ----------------------------------------------

def node_ports(pod: PodInfo, node: NodeInfo) -> Rejection | None:
    """A host port is taken when the same protocol and port is held on the same IP, or
    when either side binds every address."""
    used = node.used_ports
    if not pod.host_ports or not used:
        return None
    for ip, protocol, port in pod.host_ports:
        holders = used.get((protocol, port))
        if holders and (ip == ANY_IP or ip in holders or ANY_IP in holders):
            return Rejection(Plugin.NODE_PORTS, (REASON_PORTS,), True)
    return None


def resources_fit(pod: PodInfo, node: NodeInfo) -> Rejection | None:
    """Requests must fit allocatable minus what the node's pods already request.

    Every shortfall is a reason of its own (`Insufficient cpu`, `Insufficient memory`), as
    kube-scheduler's NodeResourcesFit reports them all; `Too many pods` comes first.
    """
    reasons: list[str] = []
    if len(node.pods) + 1 > node.alloc_pods:
        reasons.append(REASON_TOO_MANY_PODS)
    if pod.milli_cpu or pod.memory or pod.scalar:
        if pod.milli_cpu and pod.milli_cpu > node.alloc_cpu - node.req_cpu:
            reasons.append(insufficient_reason("cpu"))
        if pod.memory and pod.memory > node.alloc_mem - node.req_mem:
            reasons.append(insufficient_reason("memory"))
        if pod.scalar:
            names = sorted(pod.scalar, key=lambda n: (n != EPHEMERAL_STORAGE, n))
            for name in names:
                free = node.alloc_scalar.get(name, 0) - node.req_scalar.get(name, 0)
                if pod.scalar[name] > free:
                    reasons.append(insufficient_reason(name))
    if reasons:
        return Rejection(Plugin.NODE_RESOURCES_FIT, tuple(reasons), True)
    return None


TopologyPair = tuple[str, str]


@dataclass(slots=True)
class AffinityState:
    """kube-scheduler's InterPodAffinity pre-filter state for one scheduling attempt:
    matching pods counted per topology domain, so each node is checked by lookups."""

    affinity: dict[TopologyPair, int] = field(default_factory=dict)
    """Pods matching all of the incoming pod's required affinity terms, per domain."""
    anti: dict[TopologyPair, int] = field(default_factory=dict)
    """Pods matching one of the incoming pod's required anti-affinity terms, per domain."""
    existing_anti: dict[TopologyPair, int] = field(default_factory=dict)
    """Placed pods whose own required anti-affinity the incoming pod matches, per domain."""
    self_affinity: bool = False
    """No pod anywhere matches the affinity terms but the pod matches them itself: the first
    pod of a group with affinity to itself may go anywhere its topology keys exist."""

    @property
    def empty(self) -> bool:
        return not (self.affinity or self.anti or self.existing_anti)


def affinity_state(pod: PodInfo, *,
                   candidates: Callable[[PodAffinityTerm], Iterable[PodInfo]],
                   with_required_anti: Iterable[PodInfo],
                   node_of: Callable[[str], NodeInfo | None],
                   namespace_labels: NamespaceLabels) -> AffinityState:
    """Count matching placed pods per topology domain.

    `candidates(term)` yields placed pods that may match `term` (a superset is fine);
    `with_required_anti` yields placed pods that carry required anti-affinity terms.
    """
    state = AffinityState()
    ns_labels = namespace_labels

    def domain(p: PodInfo, key: str) -> TopologyPair | None:
        node = node_of(p.node_name)
        value = node.topology_value(key) if node is not None else None
        return None if value is None else (key, value)

    if pod.required_affinity:
        terms = pod.required_affinity
        for other in candidates(terms[0]):
            if all(t.matches(other.namespace, other.labels, ns_labels) for t in terms):
                for term in terms:
                    pair = domain(other, term.topology_key)
                    if pair is not None:
                        state.affinity[pair] = state.affinity.get(pair, 0) + 1
        if not state.affinity:
            state.self_affinity = all(t.matches(pod.namespace, pod.labels, ns_labels)
                                      for t in terms)
    for term in pod.required_anti:
        for other in candidates(term):
            if term.matches(other.namespace, other.labels, ns_labels):
                pair = domain(other, term.topology_key)
                if pair is not None:
                    state.anti[pair] = state.anti.get(pair, 0) + 1
    for other in with_required_anti:
        for term in other.required_anti:
            if term.matches(pod.namespace, pod.labels, ns_labels):
                pair = domain(other, term.topology_key)
                if pair is not None:
                    state.existing_anti[pair] = state.existing_anti.get(pair, 0) + 1
    return state


def inter_pod_affinity(pod: PodInfo, node: NodeInfo, state: AffinityState) -> Rejection | None:
    """Required pod affinity, then the pod's anti-affinity, then placed pods' anti-affinity."""
    if pod.required_affinity:
        found = True
        for term in pod.required_affinity:
            value = node.topology_value(term.topology_key)
            if value is None:
                return Rejection(Plugin.INTER_POD_AFFINITY, (REASON_AFFINITY,), False)
            if state.affinity.get((term.topology_key, value), 0) <= 0:
                found = False
        if not found and not (not state.affinity and state.self_affinity):
            return Rejection(Plugin.INTER_POD_AFFINITY, (REASON_AFFINITY,), False)
    if state.anti:
        for term in pod.required_anti:
            value = node.topology_value(term.topology_key)
            if value is not None and state.anti.get((term.topology_key, value), 0) > 0:
                return Rejection(Plugin.INTER_POD_AFFINITY, (REASON_ANTI_AFFINITY,), True)
    if state.existing_anti:
        for (key, value), count in state.existing_anti.items():
            if count > 0 and node.topology_value(key) == value:
                return Rejection(Plugin.INTER_POD_AFFINITY, (REASON_EXISTING_ANTI_AFFINITY,),
                                 True)
    return None


def dynamic_filters(pod: PodInfo, node: NodeInfo,
                    state: AffinityState | None) -> Rejection | None:
    rejection = node_ports(pod, node) or resources_fit(pod, node)
    if rejection is None and state is not None:
        rejection = inter_pod_affinity(pod, node, state)
    return rejection


def run_filters(pod: PodInfo, node: NodeInfo, state: AffinityState | None) -> Rejection | None:
    """Every filter in kube-scheduler's order; the slow, uncached path (and the reference
    the algorithm's cached path must agree with)."""
    return static_filters(pod, node) or dynamic_filters(pod, node, state)
