"""The scheduler's view of the cluster: nodes with running totals, and placed pods.

It is fed from the nodes and pods informers' events, one object at a time, and from the
scheduler itself: `assume` places a pod on its chosen node *before* the binding is written,
so the next pod (scheduled before the watch event of the binding arrives) already sees the
room it takes, as kube-scheduler's cache does. When the bound pod's event arrives the
assumption is confirmed; if the binding fails, `forget` takes the pod back off the node.

Pods that finished (phase Succeeded or Failed) hold no resources and are dropped, like the
field-selected informer of kube-scheduler drops them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from cluster.scheduling import resources
from cluster.scheduling.constraints import PodAffinityTerm
from cluster.scheduling.infos import NodeInfo, PodInfo, PodShape

TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
SHAPE_CACHE_SIZE = 512
"""Distinct pod specs whose parse is kept; more than this start over."""

LabelPair = tuple[str, str]


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES


class SchedulerCache:
    """Nodes and placed (bound or assumed) pods, with the indexes the filters need."""

    def __init__(self) -> None:
        self.parser = resources.QuantityParser()
        self.nodes: dict[str, NodeInfo] = {}
        """Every node known from the nodes informer, plus placeholders for nodes that
        placed pods name but the informer has not delivered (their `node` is None)."""
        self.generation = 0
        """Bumped whenever a node appears, goes, or changes what the static filters read."""
        self.pods: dict[str, PodInfo] = {}
        """Placed pods by `ns/name`."""
        self.assumed: set[str] = set()
        self.with_required_anti: dict[str, PodInfo] = {}
        self.owner_nodes: dict[str, dict[str, NodeInfo]] = {}
        """Controller uid -> the nodes holding at least one of its pods, so spreading can
        look at those few nodes instead of asking every feasible node."""
        self._by_label: dict[LabelPair, dict[str, PodInfo]] = {}
        self._namespace_labels: dict[str, Mapping[str, str]] = {}
        self._schedulable: list[NodeInfo] | None = None
        self._shapes: dict[tuple[str, bytes], PodShape] = {}
        self.touched: set[NodeInfo] = set()
        """Nodes whose memo was reset (a pod placed or gone, the node changed) since the
        algorithm last looked: see `Algorithm`'s verdict over all nodes."""

    # -- nodes -----------------------------------------------------------------------------------

    def node_list(self) -> list[NodeInfo]:
        """Nodes known from the informer, in a stable order (the order they appeared)."""
        if self._schedulable is None:
            self._schedulable = [n for n in self.nodes.values() if n.node is not None]
        return self._schedulable

    def node(self, name: str) -> NodeInfo | None:
        return self.nodes.get(name)

    def set_node(self, node: dict[str, Any]) -> bool:
        """Add or update a node; True if anything a filter or score reads changed."""
        name = (node.get("metadata") or {}).get("name", "")
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo(name, touched=self.touched)
        before = info.static_state()
        capacity = (info.alloc_cpu, info.alloc_mem, info.alloc_pods, info.alloc_scalar)
        info.set_node(node, self.parser)
        if info.static_state() != before:
            self.generation += 1
            self._schedulable = None
            return True
        return capacity != (info.alloc_cpu, info.alloc_mem, info.alloc_pods, info.alloc_scalar)

    def remove_node(self, name: str) -> None:
        info = self.nodes.get(name)
        if info is None:
            return
        if info.pods:
            info.node = None  # keep the totals while its pods are still around
        else:
            del self.nodes[name]
        self.generation += 1
        self._schedulable = None

    # -- namespaces -----------------------------------------------------------------------------

    def set_namespace(self, name: str, labels: Mapping[str, str]) -> None:
        self._namespace_labels[name] = labels

    def remove_namespace(self, name: str) -> None:
        self._namespace_labels.pop(name, None)

    def namespace_labels(self, name: str) -> Mapping[str, str]:
        return self._namespace_labels.get(name) or {}

    # -- placed pods -----------------------------------------------------------------------------

    def pod_info(self, pod: dict[str, Any]) -> PodInfo:
        """The pod's `PodInfo`, its spec parsed once per distinct spec (all the replicas
        of a Deployment share one `PodShape`)."""
        spec = pod.get("spec") or {}
        namespace = (pod.get("metadata") or {}).get("namespace", "")
        try:
            # Keyed by the spec's exact content; nodeName is the pod's own, not its shape.
            text = orjson.dumps({k: v for k, v in spec.items() if k != "nodeName"}
                                if "nodeName" in spec else spec)
        except TypeError:  # not plain JSON: parse it as it is
            return PodInfo(pod, self.parser)
        if b"null" in text:  # JSON writes NaN as null too: never let one pass for the other
            return PodInfo(pod, self.parser)
        shape = self._shapes.get((namespace, text))
        if shape is None:
            if len(self._shapes) >= SHAPE_CACHE_SIZE:
                self._shapes.clear()
            shape = self._shapes[(namespace, text)] = PodShape(spec, namespace, self.parser)
        return PodInfo(pod, self.parser, shape)

    def assume(self, info: PodInfo, node_name: str) -> None:
        """Count `info` on `node_name` now; the binding is about to be written."""
        info.node_name = node_name
        self._place(info)
        self.assumed.add(info.key)

    def forget(self, key: str) -> None:
        """Undo `assume` after a failed binding (a no-op once the binding was observed)."""
        if key in self.assumed:
            self.assumed.discard(key)
            info = self.pods.get(key)
            if info is not None:
                self._unplace(info)
                info.node_name = ""

    def observe_pod(self, pod: dict[str, Any]) -> bool:
        """Apply a watched pod: place it if bound and still running, drop it if not.

        Returns True when the pod released resources (it finished, or left its node).
        """
        m = pod.get("metadata") or {}
        ns, name = m.get("namespace", ""), m.get("name", "")
        key = f"{ns}/{name}" if ns else name
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        current = self.pods.get(key)
        if not node_name or is_terminal(pod):
            if current is not None and key not in self.assumed:
                self._unplace(current)
                return True
            return False
        if current is not None and current.uid == m.get("uid", "") \
                and current.node_name == node_name:
            self.assumed.discard(key)
            current.obj = pod
            labels = m.get("labels") or {}
            if labels != current.labels:
                self._unindex(current)
                current.labels = labels
                self._index(current)
            return False
        released = False
        if current is not None:
            self.assumed.discard(key)
            self._unplace(current)
            released = True
        info = PodInfo(pod, self.parser)
        self._place(info)
        return released

    def remove_pod(self, pod: Mapping[str, Any]) -> bool:
        """A pod was deleted; True if it had been holding resources."""
        m = pod.get("metadata") or {}
        ns, name = m.get("namespace", ""), m.get("name", "")
        key = f"{ns}/{name}" if ns else name
        current = self.pods.get(key)
        if current is None:
            return False
        self.assumed.discard(key)
        self._unplace(current)
        return True

    def candidates(self, term: PodAffinityTerm) -> Iterable[PodInfo]:
        """Placed pods that may match `term`: those carrying its first pinned label, or all."""
        hint = term.index_hint()
        if hint is None:
            return list(self.pods.values())
        return list(self._by_label.get(hint, {}).values())

    def _place(self, info: PodInfo) -> None:
        node = self.nodes.get(info.node_name)
        if node is None:
            node = self.nodes[info.node_name] = NodeInfo(info.node_name, touched=self.touched)
        node.add_pod(info)
        if info.owner_uid:
            self.owner_nodes.setdefault(info.owner_uid, {})[node.name] = node
        self.pods[info.key] = info
        self._index(info)
        if info.required_anti:
            self.with_required_anti[info.key] = info

    def _unplace(self, info: PodInfo) -> None:
        node = self.nodes.get(info.node_name)
        if node is not None:
            node.remove_pod(info)
            if info.owner_uid and not node.owners.get(info.owner_uid):
                hosts = self.owner_nodes.get(info.owner_uid)
                if hosts is not None:
                    hosts.pop(node.name, None)
                    if not hosts:
                        del self.owner_nodes[info.owner_uid]
            if node.node is None and not node.pods:
                del self.nodes[info.node_name]
        if self.pods.get(info.key) is info:
            del self.pods[info.key]
        self._unindex(info)
        self.with_required_anti.pop(info.key, None)

    def _index(self, info: PodInfo) -> None:
        for pair in info.labels.items():
            self._by_label.setdefault(pair, {})[info.key] = info

    def _unindex(self, info: PodInfo) -> None:
        for pair in info.labels.items():
            bucket = self._by_label.get(pair)
            if bucket is not None and bucket.get(info.key) is info:
                del bucket[info.key]
                if not bucket:
                    del self._by_label[pair]
