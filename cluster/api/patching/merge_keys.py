"""Per-field patch strategies: which lists merge, by which key, and which are atomic.

Kubernetes reads these from `patchStrategy`/`patchMergeKey` struct tags on its Go types.
We have no Go types, so the same facts live here as data: a table from a field pattern to
a `FieldStrategy`, and `MergeKeys.for_kind` assembling the table for a kind. A pattern is
a dotted suffix of the field's path, with `[]` marking a list's elements, so
`containers[].ports` (keyed by `containerPort`) and Service's `spec.ports` (keyed by
`port`) can disagree about a field of the same name. The longest matching pattern wins.

Lists that no pattern names fall back to what a user of a custom resource would expect:
a list of objects that all carry `name` merges by `name`; any other list is replaced.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cluster.api.patching import directives
from cluster.api.patching.values import Path


class PatchStrategy(str, enum.Enum):
    """How a field's patch value combines with its current value."""

    MERGE = "merge"
    """Maps merge key by key; lists merge by `merge_key`, or as a set of primitives."""
    REPLACE = "replace"
    """The patch value replaces the whole field (an atomic field)."""


@dataclass(frozen=True)
class FieldStrategy:
    """How one field is patched (the `patchStrategy` and `patchMergeKey` tags)."""

    strategy: PatchStrategy = PatchStrategy.MERGE
    merge_key: str | None = None
    """For lists of objects: the field that identifies an element."""
    retain_keys: bool = False
    """The map (or each element of the list) clears keys the applied config dropped."""


class ListKind(str, enum.Enum):
    """How a particular list is merged, once table and fallback are consulted."""

    REPLACE = "replace"
    SET = "set"
    KEYED = "keyed"


@dataclass(frozen=True)
class ListPlan:
    """The resolved strategy for one list: replace it, merge it as a set, or by key."""

    kind: ListKind
    merge_key: str | None = None
    retain_keys: bool = False
    """Each element clears keys the applied config dropped (`volumes`)."""


def keyed(merge_key: str, *, retain_keys: bool = False) -> FieldStrategy:
    """A list of objects merged element by element, matched on `merge_key`."""
    return FieldStrategy(PatchStrategy.MERGE, merge_key, retain_keys)


ATOMIC = FieldStrategy(PatchStrategy.REPLACE)
"""Replaced whole: tolerations, args, command."""
SET = FieldStrategy(PatchStrategy.MERGE)
"""A list of primitives merged as an ordered set: finalizers."""
RETAIN_KEYS = FieldStrategy(PatchStrategy.MERGE, retain_keys=True)
"""A map whose keys are a union (Deployment's `spec.strategy`)."""


def _container_fields(container_list: str) -> dict[str, FieldStrategy]:
    return {
        f"{container_list}[].ports": keyed("containerPort"),
        f"{container_list}[].env": keyed("name"),
        f"{container_list}[].volumeMounts": keyed("mountPath"),
        f"{container_list}[].volumeDevices": keyed("devicePath"),
        f"{container_list}[].envFrom": ATOMIC,
        f"{container_list}[].args": ATOMIC,
        f"{container_list}[].command": ATOMIC,
        f"{container_list}[].resizePolicy": ATOMIC,
    }


_OBJECT_META: Mapping[str, FieldStrategy] = MappingProxyType({
    "metadata.ownerReferences": keyed("uid"),
    "metadata.finalizers": SET,
    "metadata.managedFields": ATOMIC,
})
"""ObjectMeta is shared by every kind, custom ones included."""

_BUILTIN_STATUS: Mapping[str, FieldStrategy] = MappingProxyType({
    "status.conditions": keyed("type"),
})

_POD_SPEC: Mapping[str, FieldStrategy] = MappingProxyType({
    "containers": keyed("name"),
    "initContainers": keyed("name"),
    "ephemeralContainers": keyed("name"),
    **_container_fields("containers"),
    **_container_fields("initContainers"),
    **_container_fields("ephemeralContainers"),
    "volumes": keyed("name", retain_keys=True),
    "imagePullSecrets": keyed("name"),
    "hostAliases": keyed("ip"),
    "tolerations": ATOMIC,
    "topologySpreadConstraints": keyed("topologyKey"),
    "readinessGates": ATOMIC,
    "schedulingGates": keyed("name"),
    "resourceClaims": keyed("name", retain_keys=True),
})
"""Fields of a PodSpec, wherever it sits (a Pod, or a workload's pod template)."""

_POD_STATUS: Mapping[str, FieldStrategy] = MappingProxyType({
    "status.podIPs": keyed("ip"),
    "status.hostIPs": keyed("ip"),
    "status.containerStatuses": ATOMIC,
    "status.initContainerStatuses": ATOMIC,
    "status.ephemeralContainerStatuses": ATOMIC,
})

_KIND_FIELDS: Mapping[str, tuple[Mapping[str, FieldStrategy], ...]] = MappingProxyType({
    "Pod": (_POD_SPEC, _POD_STATUS),
    "PodTemplate": (_POD_SPEC,),
    "ReplicationController": (_POD_SPEC,),
    "ReplicaSet": (_POD_SPEC,),
    "Deployment": (_POD_SPEC, MappingProxyType({"spec.strategy": RETAIN_KEYS})),
    "StatefulSet": (_POD_SPEC, MappingProxyType({"spec.volumeClaimTemplates": ATOMIC})),
    "DaemonSet": (_POD_SPEC,),
    "Job": (_POD_SPEC,),
    "CronJob": (_POD_SPEC, MappingProxyType({"status.active": ATOMIC})),
    "Service": (MappingProxyType({
        "spec.ports": keyed("port"),
        "spec.externalIPs": ATOMIC,
        "status.loadBalancer.ingress": ATOMIC,
    }),),
    "Node": (MappingProxyType({
        "spec.podCIDRs": SET,
        "spec.taints": ATOMIC,
        "status.addresses": keyed("type"),
        "status.images": ATOMIC,
        "status.volumesAttached": ATOMIC,
        "status.volumesInUse": ATOMIC,
    }),),
    "Endpoints": (MappingProxyType({"subsets": ATOMIC}),),
    "EndpointSlice": (MappingProxyType({"endpoints": ATOMIC, "ports": ATOMIC}),),
    "Namespace": (MappingProxyType({"spec.finalizers": ATOMIC}),),
    "ConfigMap": (),
    "Secret": (),
    "ServiceAccount": (MappingProxyType({"secrets": keyed("name"),
                                         "imagePullSecrets": ATOMIC}),),
    "Event": (),
    "Lease": (),
    "PersistentVolumeClaim": (),
    "CustomResourceDefinition": (),
})
"""Built-in kinds and the tables beyond ObjectMeta and `status.conditions` they use."""


@dataclass(frozen=True)
class MergeKeys:
    """A field-pattern → strategy table for one kind, plus the custom-resource fallback."""

    fields: Mapping[str, FieldStrategy] = field(default_factory=dict)
    """Dotted path suffixes (`spec.ports`, `containers[].ports`) to their strategy."""
    name_fallback: bool = True
    """Lists of objects that all carry `name`, and no table entry, merge by `name`."""
    _index: Mapping[str, tuple[tuple[Path, FieldStrategy], ...]] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = MappingProxyType(dict(self.fields))
        by_last: dict[str, list[tuple[Path, FieldStrategy]]] = {}
        for pattern, strategy in fields.items():
            segments = tuple(pattern.split("."))
            if not all(segments):
                raise ValueError(f"bad field pattern {pattern!r}: empty path segment")
            by_last.setdefault(segments[-1], []).append((segments, strategy))
        index = {last: tuple(sorted(entries, key=lambda e: -len(e[0])))
                 for last, entries in by_last.items()}
        object.__setattr__(self, "fields", fields)
        object.__setattr__(self, "_index", MappingProxyType(index))

    def lookup(self, path: Path) -> FieldStrategy | None:
        """The strategy of the field at `path`, from the longest matching pattern."""
        if not path:
            return None
        for segments, strategy in self._index.get(path[-1], ()):
            n = len(segments)
            if n <= len(path) and path[len(path) - n:] == segments:
                return strategy
        return None

    def plan_list(self, path: Path, *lists: list[Any]) -> ListPlan:
        """How to merge the list at `path`, whose current and patch values are `lists`.

        The table decides when it names the field; otherwise the lists merge by `name`
        if every element of every one of them is an object carrying `name` (or a bare
        `$patch` directive), and are replaced if not.
        """
        strategy = self.lookup(path)
        if strategy is not None:
            if strategy.strategy is PatchStrategy.REPLACE:
                return ListPlan(ListKind.REPLACE)
            if strategy.merge_key:
                return ListPlan(ListKind.KEYED, strategy.merge_key, strategy.retain_keys)
            return ListPlan(ListKind.SET)
        if self.name_fallback and _all_named(lists):
            return ListPlan(ListKind.KEYED, "name")
        return ListPlan(ListKind.REPLACE)

    def extended(self, fields: Mapping[str, FieldStrategy]) -> MergeKeys:
        """This table with `fields` added (or overriding same-named patterns)."""
        return MergeKeys({**self.fields, **fields}, self.name_fallback)

    @classmethod
    def for_kind(cls, kind: str) -> MergeKeys:
        """The built-in table for `kind`; a custom kind gets ObjectMeta's and the fallback."""
        fields: dict[str, FieldStrategy] = dict(_OBJECT_META)
        tables = _KIND_FIELDS.get(kind)
        if tables is not None:
            fields.update(_BUILTIN_STATUS)
            for table in tables:
                fields.update(table)
        return cls(fields)

    @staticmethod
    def builtin_kinds() -> frozenset[str]:
        """Kinds that have a built-in table (anything else is treated as custom)."""
        return frozenset(_KIND_FIELDS)


def _all_named(lists: tuple[list[Any], ...]) -> bool:
    named = False
    for items in lists:
        for item in items:
            if not isinstance(item, dict):
                return False
            if "name" in item:
                named = True
            elif directives.MARKER not in item:
                return False
    return named
