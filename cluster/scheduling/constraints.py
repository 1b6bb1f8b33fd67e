"""A pod's placement constraints and a node's taints, compiled from their JSON once.

Taints and tolerations follow `v1.Toleration.ToleratesTaint`; node selector terms follow
`nodeaffinity.NodeSelector` (terms ORed, requirements inside a term ANDed, an empty term
matching nothing); pod (anti-)affinity terms follow the scheduler framework's
`AffinityTerm` (a nil labelSelector matches no pod; no namespaces and no namespaceSelector
mean the pod's own namespace; an empty namespaceSelector means every namespace).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from collections.abc import Callable, Mapping
from typing import Any

from cluster.api import errors, selectors

HOSTNAME_LABEL = "kubernetes.io/hostname"
"""The topology key whose domain is a single node."""

TAINT_NODE_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_NODE_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"


class TaintEffect(str, enum.Enum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str

    @classmethod
    def from_json(cls, taint: Mapping[str, Any]) -> "Taint":
        return cls(str(taint.get("key") or ""), str(taint.get("value") or ""),
                   str(taint.get("effect") or ""))


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str
    operator: str
    value: str
    effect: str

    @classmethod
    def from_json(cls, toleration: Mapping[str, Any]) -> "Toleration":
        return cls(str(toleration.get("key") or ""), str(toleration.get("operator") or "Equal"),
                   str(toleration.get("value") or ""), str(toleration.get("effect") or ""))

    def tolerates(self, taint: Taint) -> bool:
        """An empty effect or key is a wildcard; `Exists` ignores the value."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.operator == "Equal" and self.value == taint.value


def tolerations_of(spec: Mapping[str, Any]) -> tuple[Toleration, ...]:
    return tuple(Toleration.from_json(t) for t in spec.get("tolerations") or ()
                 if isinstance(t, Mapping))


def taints_of(node: Mapping[str, Any]) -> tuple[Taint, ...]:
    spec = node.get("spec") or {}
    return tuple(Taint.from_json(t) for t in spec.get("taints") or () if isinstance(t, Mapping))


def tolerated(taint: Taint, tolerations: tuple[Toleration, ...]) -> bool:
    for toleration in tolerations:
        if toleration.tolerates(taint):
            return True
    return False


# -- node selectors ---------------------------------------------------------------------------

_NODE_OPERATORS = {
    "In": selectors.Operator.IN, "NotIn": selectors.Operator.NOT_IN,
    "Exists": selectors.Operator.EXISTS, "DoesNotExist": selectors.Operator.DOES_NOT_EXIST,
    "Gt": selectors.Operator.GT, "Lt": selectors.Operator.LT,
}

NAME_FIELD = "metadata.name"
"""The one field `matchFields` may name."""


def _requirement(expr: Any) -> selectors.Requirement | None:
    """A NodeSelectorRequirement, or None when it is malformed (and so matches nothing)."""
    if not isinstance(expr, Mapping):
        return None
    op = _NODE_OPERATORS.get(str(expr.get("operator") or ""))
    key = expr.get("key")
    if op is None or not isinstance(key, str) or not key:
        return None
    values = frozenset(str(v) for v in expr.get("values") or ())
    if op in (selectors.Operator.GT, selectors.Operator.LT):
        if len(values) != 1 or not next(iter(values)).lstrip("-").isdigit():
            return None
    return selectors.Requirement(key, op, values)


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    """matchExpressions over labels AND matchFields over `metadata.name`."""

    expressions: tuple[selectors.Requirement, ...]
    fields: tuple[selectors.Requirement, ...]
    valid: bool

    @classmethod
    def from_json(cls, term: Any) -> "NodeSelectorTerm":
        if not isinstance(term, Mapping):
            return cls((), (), False)
        exprs = [_requirement(e) for e in term.get("matchExpressions") or ()]
        fields = [_requirement(f) for f in term.get("matchFields") or ()]
        valid = (bool(exprs or fields) and None not in exprs and None not in fields
                 and all(f.key == NAME_FIELD for f in fields if f is not None))
        return cls(tuple(e for e in exprs if e is not None),
                   tuple(f for f in fields if f is not None), valid)

    def matches(self, node_name: str, labels: Mapping[str, str]) -> bool:
        if not self.valid:
            return False
        for req in self.expressions:
            if not req.matches(labels):
                return False
        if self.fields:
            named = {NAME_FIELD: node_name}
            for req in self.fields:
                if not req.matches(named):
                    return False
        return True


@dataclass(frozen=True, slots=True)
class NodeSelector:
    """`requiredDuringSchedulingIgnoredDuringExecution`: any term may match."""

    terms: tuple[NodeSelectorTerm, ...]

    @classmethod
    def from_json(cls, value: Any) -> "NodeSelector":
        terms = value.get("nodeSelectorTerms") if isinstance(value, Mapping) else None
        return cls(tuple(NodeSelectorTerm.from_json(t) for t in terms or ()))

    def matches(self, node_name: str, labels: Mapping[str, str]) -> bool:
        for term in self.terms:
            if term.matches(node_name, labels):
                return True
        return False


@dataclass(frozen=True, slots=True)
class PreferredSchedulingTerm:
    weight: int
    term: NodeSelectorTerm


# -- pod (anti-)affinity ----------------------------------------------------------------------

NamespaceLabels = Callable[[str], Mapping[str, str]]
"""Looks up a namespace's labels (for namespaceSelector)."""


def _label_selector(spec: Any) -> selectors.Selector | None:
    """None (matches nothing) for a nil or malformed selector; `{}` matches everything."""
    if not isinstance(spec, Mapping):
        return None
    try:
        return selectors.from_label_selector(spec) if spec else selectors.EVERYTHING
    except (errors.APIError, KeyError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class PodAffinityTerm:
    """Pods matching `selector` in `namespaces` (or namespaces matching `namespace_selector`),
    counted per value of `topology_key` on the node they run on."""

    selector: selectors.Selector | None
    namespaces: frozenset[str]
    namespace_selector: selectors.Selector | None
    topology_key: str

    @classmethod
    def from_json(cls, term: Any, own_namespace: str) -> "PodAffinityTerm | None":
        if not isinstance(term, Mapping) or not term.get("topologyKey"):
            return None
        namespaces = frozenset(str(n) for n in term.get("namespaces") or ())
        ns_spec = term.get("namespaceSelector")
        ns_selector = _label_selector(ns_spec) if ns_spec is not None else None
        if not namespaces and ns_spec is None:
            namespaces = frozenset([own_namespace])
        return cls(_label_selector(term.get("labelSelector")), namespaces, ns_selector,
                   str(term["topologyKey"]))

    def matches(self, namespace: str, labels: Mapping[str, str],
                namespace_labels: NamespaceLabels) -> bool:
        if self.selector is None:
            return False
        if namespace not in self.namespaces:
            if self.namespace_selector is None:
                return False
            if not self.namespace_selector.empty and \
                    not self.namespace_selector.matches(namespace_labels(namespace)):
                return False
        return self.selector.matches(labels)

    def index_hint(self) -> tuple[str, str] | None:
        """A (label key, value) every matching pod must carry, to look candidates up by."""
        if self.selector is None:
            return None
        for req in self.selector.requirements:
            if req.operator in (selectors.Operator.EQUALS, selectors.Operator.IN) \
                    and len(req.values) == 1:
                return req.key, next(iter(req.values))
        return None


@dataclass(frozen=True, slots=True)
class WeightedPodAffinityTerm:
    weight: int
    term: PodAffinityTerm


def pod_affinity_terms(terms: Any, own_namespace: str) -> tuple[PodAffinityTerm, ...]:
    out = (PodAffinityTerm.from_json(t, own_namespace) for t in terms or ())
    return tuple(t for t in out if t is not None)


def weighted_pod_affinity_terms(terms: Any,
                                own_namespace: str) -> tuple[WeightedPodAffinityTerm, ...]:
    out: list[WeightedPodAffinityTerm] = []
    for weighted in terms or ():
        if not isinstance(weighted, Mapping):
            continue
        term = PodAffinityTerm.from_json(weighted.get("podAffinityTerm"), own_namespace)
        weight = weighted.get("weight")
        if term is not None and isinstance(weight, int) and weight:
            out.append(WeightedPodAffinityTerm(weight, term))
    return tuple(out)


def preferred_scheduling_terms(terms: Any) -> tuple[PreferredSchedulingTerm, ...]:
    out: list[PreferredSchedulingTerm] = []
    for weighted in terms or ():
        if not isinstance(weighted, Mapping):
            continue
        weight = weighted.get("weight")
        if isinstance(weight, int) and weight:
            out.append(PreferredSchedulingTerm(weight,
                                               NodeSelectorTerm.from_json(weighted.get("preference"))))
    return tuple(out)
