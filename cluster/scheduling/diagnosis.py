"""Why a pod fits nowhere, in kube-scheduler 1.32's words.

The message is `FitError.Error()` followed by the DefaultPreemption plugin's verdict:

    0/3 nodes are available: 1 Insufficient memory, 2 node(s) had untolerated taint
    {node.kubernetes.io/unreachable: }. preemption: 0/3 nodes are available: 1 No preemption
    victims found for incoming pod, 2 Preemption is not helpful for scheduling.

Every node contributes each of its reasons once; the `"<count> <reason>"` strings are
sorted as strings (so `10 ...` sorts before `2 ...`, as in Go) and joined with `", "`.

We do not preempt. The preemption part is what kube-scheduler says when it finds no
victims: nodes rejected for a reason eviction could fix (resources, ports, anti-affinity)
are "No preemption victims found for incoming pod" (true while all pods have equal
priority), the rest "Preemption is not helpful for scheduling"; a pod with
`preemptionPolicy: Never` gets "not eligible due to preemptionPolicy=Never.". Since 1.30
the message ends with a single period (the doubled `..` of 1.26-1.29 is gone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cluster.scheduling.filters import Plugin, Rejection

NO_NODES_MESSAGE = "no nodes available to schedule pods"
"""kube-scheduler's `ErrNoNodesAvailable`, when the cluster has no nodes at all."""

NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
PREEMPTION_NEVER = "not eligible due to preemptionPolicy=Never."


def histogram(reasons: Mapping[str, int]) -> str:
    """`"1 Insufficient memory, 2 node(s) were unschedulable"`, sorted as strings."""
    return ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))


@dataclass(frozen=True)
class Diagnosis:
    """The per-node rejections of one failed attempt."""

    num_all_nodes: int
    rejections: Mapping[str, Rejection]
    """Node name -> why it was rejected; every node of the cluster has an entry."""
    preempt_never: bool = False

    @property
    def plugins(self) -> frozenset[Plugin]:
        """The filters that rejected some node: what a cluster change must touch to help."""
        return frozenset(r.plugin for r in self.rejections.values())

    def message(self) -> str:
        if self.num_all_nodes == 0:
            return NO_NODES_MESSAGE
        counts: dict[str, int] = {}
        for rejection in self.rejections.values():
            for reason in rejection.reasons:
                counts[reason] = counts.get(reason, 0) + 1
        text = f"0/{self.num_all_nodes} nodes are available:"
        if counts:
            text += f" {histogram(counts)}."
        return f"{text} preemption: {self.preemption_message()}"

    def preemption_message(self) -> str:
        if self.preempt_never:
            return PREEMPTION_NEVER
        resolvable = sum(1 for r in self.rejections.values() if r.resolvable)
        counts = {NO_VICTIMS: resolvable, NOT_HELPFUL: self.num_all_nodes - resolvable}
        return (f"0/{self.num_all_nodes} nodes are available: "
                f"{histogram({k: v for k, v in counts.items() if v})}.")
