"""The kinds the API serves: names, scope and schema, and how a user's word resolves to one.

A `ResourceRegistry` belongs to one API server (no module-level registry), so two
embedded clusters in one process can serve different custom resources.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass(frozen=True)
class ResourceType:
    """One served kind, as discovery describes it."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    has_status: bool = True
    categories: tuple[str, ...] = ()
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    """openAPIV3Schema of a custom resource's served version; None for built-ins."""
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False, hash=False)
    """additionalPrinterColumns of a custom resource."""
    custom: bool = False

    @functools.cached_property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @functools.cached_property
    def api_path(self) -> str:
        """The REST prefix of its group-version: `api/v1`, `apis/apps/v1` (no slashes
        around it; OpenAPI indexes documents by it, URLs put it after `/`)."""
        return f"apis/{self.group}/{self.version}" if self.group else f"api/{self.version}"

    @functools.cached_property
    def key(self) -> str:
        """The store's name for this resource: `pods`, `deployments.apps`."""
        # Cached (the type is frozen): every request asks for it several times.
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def tracks_generation(self) -> bool:
        """Whether the API server keeps `metadata.generation` for this kind. Only kinds
        whose spec a controller acts on do (workloads, CRDs, custom resources; pods as
        since Kubernetes 1.33); a ConfigMap, Service or Secret has none."""
        return self.custom or self.key in _GENERATION_KINDS

    @property
    def qualified_kind(self) -> str:
        """`Pod`, `Deployment.apps`: the form used in `... is invalid` messages."""
        return f"{self.kind}.{self.group}" if self.group else self.kind


_GENERATION_KINDS = frozenset({"pods", "replicasets.apps", "deployments.apps",
                               "statefulsets.apps",
                               "customresourcedefinitions.apiextensions.k8s.io"})


def _core(kind: str, plural: str, short: tuple[str, ...] = (), namespaced: bool = True,
          has_status: bool = True, categories: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType("", "v1", kind, plural, kind.lower(), namespaced, short, has_status,
                        categories)


BUILTIN_RESOURCES: tuple[ResourceType, ...] = (
    _core("Pod", "pods", ("po",), categories=("all",)),
    _core("Node", "nodes", ("no",), namespaced=False),
    _core("Namespace", "namespaces", ("ns",), namespaced=False),
    _core("Service", "services", ("svc",), categories=("all",)),
    _core("Endpoints", "endpoints", ("ep",), has_status=False),
    _core("Event", "events", ("ev",), has_status=False),
    _core("ConfigMap", "configmaps", ("cm",), has_status=False),
    _core("Secret", "secrets", (), has_status=False),
    _core("PersistentVolumeClaim", "persistentvolumeclaims", ("pvc",)),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, ("rs",),
                 categories=("all",)),
    ResourceType("apps", "v1", "Deployment", "deployments", "deployment", True, ("deploy",),
                 categories=("all",)),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True, ("sts",),
                 categories=("all",)),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision",
                 True, (), has_status=False),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease", True, (),
                 has_status=False),
    ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
                 "customresourcedefinitions", "customresourcedefinition", False,
                 ("crd", "crds")),
)


class UnknownResource(LookupError):
    """No served kind answers to this name."""


class ResourceRegistry:
    """Maps kinds, plurals, singulars and short names to the served `ResourceType`."""

    def __init__(self, builtins: tuple[ResourceType, ...] = BUILTIN_RESOURCES) -> None:
        self._types: dict[str, ResourceType] = {}
        self._by_object: dict[tuple[str, str], ResourceType] = {}
        self._by_word: dict[str, ResourceType] = {}
        """Answers of `for_object` and `resolve` (every request asks one), cleared
        whenever the served kinds change."""
        for rt in builtins:
            self.register(rt)

    def register(self, rt: ResourceType) -> None:
        self._types[rt.key] = rt
        self._by_object.clear()
        self._by_word.clear()

    def unregister(self, key: str) -> None:
        self._types.pop(key, None)
        self._by_object.clear()
        self._by_word.clear()

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._types.values()))

    def get(self, key: str) -> ResourceType:
        """By store key (`pods`, `deployments.apps`)."""
        try:
            return self._types[key]
        except KeyError:
            raise UnknownResource(key) from None

    def for_object(self, api_version: str, kind: str) -> ResourceType:
        """The type named by an object's `apiVersion` and `kind`."""
        found = self._by_object.get((api_version, kind))
        if found is not None:
            return found
        group, _, version = api_version.rpartition("/")
        for rt in self._types.values():
            if rt.kind == kind and rt.group == group and rt.version == version:
                self._by_object[(api_version, kind)] = rt
                return rt
        raise UnknownResource(f'no matches for kind "{kind}" in version "{api_version}"')

    def resolve(self, name: str) -> ResourceType:
        """What kubectl accepts: `pods`, `pod`, `po`, `Pod`, `deployments.apps`, `rf`."""
        found = self._by_word.get(name)
        if found is None:
            found = self._by_word[name] = self._resolve(name)
        return found

    def _resolve(self, name: str) -> ResourceType:
        word, _, group = name.partition(".")
        lowered = word.lower()
        matches: list[ResourceType] = []
        for rt in self._types.values():
            if group and rt.group != group and not rt.group.startswith(group + "."):
                continue
            if lowered in (rt.plural, rt.singular, rt.kind.lower()) or lowered in rt.short_names:
                matches.append(rt)
        if not matches:
            raise UnknownResource(f'the server doesn\'t have a resource type "{name}"')
        # Built-ins win over custom kinds that reuse a name, as in kubectl's priority order.
        matches.sort(key=lambda rt: (rt.custom, rt.group))
        return matches[0]
