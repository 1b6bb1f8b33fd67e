"""Scores: how good is this feasible node for this pod? Pure functions, 0..100 per plugin.

Each plugin scores every feasible node, its scores are normalised to 0..100 across those
nodes, and the node's total is the weighted sum, with kube-scheduler's default weights:

| plugin | weight | here |
| --- | --- | --- |
| NodeResourcesFit (LeastAllocated) | 1 | free cpu and memory share after placing the pod |
| PodTopologySpread | 2 | fewer pods of the same controller on the node is better |
| InterPodAffinity | 2 | preferred (anti-)affinity weights, per matching placed pod |
| NodeAffinity | 2 | weights of matching preferred node selector terms |
| TaintToleration | 3 | fewer untolerated PreferNoSchedule taints is better |

Spreading here is by controller owner (what the default topology spread constraints boil
down to on one zone: pods of one ReplicaSet spread over hostnames), scored as the old
SelectorSpread plugin did: `100 * (max - count) / max`. InterPodAffinity counts only the
incoming pod's preferred terms (not placed pods' preferences towards it). Balanced
allocation and image locality are left out: they cannot tell our uniform nodes apart.

The algorithm computes LeastAllocated and spreading from per-node memos and indexes rather
than through these functions; tests hold the two to the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cluster.scheduling import constraints
from cluster.scheduling.filters import TopologyPair
from cluster.scheduling.infos import NodeInfo, PodInfo

MAX_NODE_SCORE = 100

NodeLookup = Callable[[str], "NodeInfo | None"]

WEIGHT_RESOURCES = 1
WEIGHT_SPREAD = 2
WEIGHT_INTER_POD_AFFINITY = 2
WEIGHT_NODE_AFFINITY = 2
WEIGHT_TAINT_TOLERATION = 3


def least_requested(requested: int, capacity: int) -> int:
    """The free share of one resource after placing the pod, 0..100."""
    if capacity <= 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def least_allocated(pod: PodInfo, node: NodeInfo) -> int:
    """Mean of the cpu and memory free shares, counting request-less containers as
    100m/200Mi so that they spread too."""
    return (least_requested(node.nz_cpu + pod.nonzero_cpu, node.alloc_cpu)
            + least_requested(node.nz_mem + pod.nonzero_mem, node.alloc_mem)) // 2


def owner_count(pod: PodInfo, node: NodeInfo) -> int:
    """Pods of the same controller already on the node."""
    return node.owners.get(pod.owner_uid, 0) if pod.owner_uid else 0


def spread_scores(counts: Sequence[int]) -> list[int]:
    """Fewer same-owner pods score higher; all 100 when no node has any."""
    highest = max(counts, default=0)
    if highest <= 0:
        return [MAX_NODE_SCORE] * len(counts)
    return [MAX_NODE_SCORE * (highest - c) // highest for c in counts]


def untolerated_prefer_no_schedule(pod: PodInfo, node: NodeInfo) -> int:
    """PreferNoSchedule taints the pod does not tolerate (tolerations with an empty or
    PreferNoSchedule effect count)."""
    if not node.prefer_no_schedule:
        return 0
    tolerations = tuple(t for t in pod.tolerations
                        if t.effect in ("", constraints.TaintEffect.PREFER_NO_SCHEDULE.value))
    return sum(1 for taint in node.prefer_no_schedule
               if not constraints.tolerated(taint, tolerations))


def preferred_node_affinity(pod: PodInfo, node: NodeInfo) -> int:
    """Sum of the weights of the preferred node selector terms the node matches."""
    return sum(p.weight for p in pod.preferred_node if p.term.matches(node.name, node.labels))


def default_normalize(scores: Sequence[int], *, reverse: bool = False) -> list[int]:
    """Scale to 0..100 by the maximum (kube-scheduler's DefaultNormalizeScore); `reverse`
    makes the highest raw score the lowest."""
    highest = max(scores, default=0)
    if highest == 0:
        return [MAX_NODE_SCORE if reverse else 0] * len(scores)
    out = [MAX_NODE_SCORE * s // highest for s in scores]
    return [MAX_NODE_SCORE - s for s in out] if reverse else out


def min_max_normalize(scores: Sequence[int]) -> list[int]:
    """Scale to 0..100 between the lowest and the highest (InterPodAffinity's)."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    if high == low:
        return [0] * len(scores)
    return [int(MAX_NODE_SCORE * (s - low) / (high - low)) for s in scores]


def pod_affinity_weights(pod: PodInfo, placed: Sequence[PodInfo],
                         node_of: NodeLookup,
                         namespace_labels: constraints.NamespaceLabels) -> dict[TopologyPair, int]:
    """Per topology domain: +weight for every placed pod matching a preferred affinity term,
    -weight for one matching a preferred anti-affinity term."""
    weights: dict[TopologyPair, int] = {}
    terms = [(w.weight, w.term) for w in pod.preferred_affinity]
    terms += [(-w.weight, w.term) for w in pod.preferred_anti]
    for other in placed:
        node = node_of(other.node_name)
        if node is None:
            continue
        for weight, term in terms:
            if term.matches(other.namespace, other.labels, namespace_labels):
                value = node.topology_value(term.topology_key)
                if value is not None:
                    pair = (term.topology_key, value)
                    weights[pair] = weights.get(pair, 0) + weight
    return weights


def pod_affinity_raw(node: NodeInfo, weights: dict[TopologyPair, int],
                     keys: Sequence[str]) -> int:
    """The node's raw InterPodAffinity score: the weights of the domains it is in."""
    total = 0
    for key in keys:
        value = node.topology_value(key)
        if value is not None:
            total += weights.get((key, value), 0)
    return total

