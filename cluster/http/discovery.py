"""Discovery documents: which groups, versions and kinds the API serves.

Clients learn every kind's URL, scope, verbs and short names here before they
touch an object; kubectl resolves `po` or `deploy` from these answers and
nothing else. Two formats exist and kubectl 1.27-1.33 understands both:

- aggregated discovery (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`), one
  answer for `/api` and one for `/apis` carrying every resource, asked for with a
  parameterised Accept header;
- the legacy documents (`APIVersions`, `APIGroupList`, `APIGroup`,
  `APIResourceList`), one request per group-version, which older clients and the
  official Python client use.

Everything here is a pure function of the served `ResourceType`s: the HTTP layer
routes to these and serialises what they return.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cluster.api.resources import ResourceType
from cluster.http.media import MediaRange, parse_accept

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
"""The Content-Type of an aggregated answer; client-go compares its g, v and as
parameters (in any order) to decide how to decode the body."""

_DISCOVERY_GROUP = "apidiscovery.k8s.io"
_DISCOVERY_VERSION = "v2"
_DISCOVERY_KIND = "APIGroupDiscoveryList"

FULL_VERBS: tuple[str, ...] = (
    "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
"""What kube-apiserver lists for an ordinary kind (alphabetical, as it prints them)."""

NO_COLLECTION_DELETE: frozenset[str] = frozenset({"namespaces"})
"""Kinds kube-apiserver serves without `deletecollection`: deleting every
namespace in one call is not offered."""

CREATE_ONLY: frozenset[str] = frozenset({
    "selfsubjectreviews.authentication.k8s.io",
    "selfsubjectaccessreviews.authorization.k8s.io",
    "selfsubjectrulesreviews.authorization.k8s.io"})
"""Kinds that are answered and never stored (`cluster.http.reviews`): `create` is their
only verb, as kube-apiserver lists them."""

READ_ONLY: frozenset[str] = frozenset({"endpointslices.discovery.k8s.io"})
"""Kinds served as views of others (`cluster.http.endpointslices`): `get` and `list`
only, so no client tries to write or watch them."""

SCALABLE: frozenset[str] = frozenset({"deployments.apps", "replicasets.apps",
                                      "statefulsets.apps"})
"""Kinds that carry a `/scale` subresource when the server serves it."""


@dataclass(frozen=True)
class Subresource:
    """One `<plural>/<name>` endpoint and the kind its replies carry."""

    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str = ""
    version: str = "v1"


_STATUS_VERBS = ("get", "patch", "update")

_POD_SUBRESOURCES: tuple[Subresource, ...] = (
    Subresource("binding", "Binding", ("create",)),
    Subresource("exec", "PodExecOptions", ("create", "get")),
    Subresource("log", "Pod", ("get",)),
)


def subresources(rt: ResourceType, *, serves_scale: bool = False) -> tuple[Subresource, ...]:
    """The subresources the server answers for `rt`, sorted by name as kube lists them.

    Only what the engine really serves is listed: a client that sees `pods/exec`
    will try it, and one that sees `deployments/scale` will PATCH it.
    """
    found: list[Subresource] = []
    if rt.key == "pods":
        found.extend(_POD_SUBRESOURCES)
    if serves_scale and rt.key in SCALABLE:
        found.append(Subresource("scale", "Scale", _STATUS_VERBS, "autoscaling", "v1"))
    if rt.has_status:
        found.append(Subresource("status", rt.kind, _STATUS_VERBS, rt.group, rt.version))
    return tuple(sorted(found, key=lambda s: s.name))


def verbs(rt: ResourceType) -> list[str]:
    """The verbs kube-apiserver lists for `rt`."""
    if rt.key in CREATE_ONLY:
        return ["create"]
    if rt.key in READ_ONLY:
        return ["get", "list"]
    if rt.key in NO_COLLECTION_DELETE:
        return [v for v in FULL_VERBS if v != "deletecollection"]
    return list(FULL_VERBS)


# -- Accept negotiation ------------------------------------------------------------------

def _is_aggregated_v2(r: MediaRange) -> bool:
    return (r.type, r.subtype) == ("application", "json") and \
        r.params.get("g") == _DISCOVERY_GROUP and \
        r.params.get("v") == _DISCOVERY_VERSION and \
        r.params.get("as") == _DISCOVERY_KIND and \
        r.params.get("profile", "nopeer") == "nopeer"


def _is_plain_json(r: MediaRange) -> bool:
    """A range the legacy JSON document satisfies: no g/v/as conversion asked."""
    return r.is_json and not any(k in r.params for k in ("g", "v", "as"))


def wants_aggregated(accept: str) -> bool:
    """True when the client's best acceptable answer is aggregated discovery v2.

    kubectl 1.30+ sends `v2, v2beta1, application/json`; 1.27-1.29 send only
    `v2beta1, application/json`. A v2 body labelled v2 would be decoded by those
    older clients as the legacy document, so v2beta1 alone gets the legacy
    answer (which every client reads), and the first range we can satisfy, in
    preference order, decides.
    """
    for r in parse_accept(accept):
        if _is_aggregated_v2(r):
            return True
        if _is_plain_json(r):
            return False
    return False


# -- aggregated discovery ----------------------------------------------------------------

def gvk(group: str, version: str, kind: str) -> dict[str, str]:
    """A group-version-kind object, as discovery and OpenAPI documents spell one."""
    return {"group": group, "version": version, "kind": kind}


def _scope(rt: ResourceType) -> str:
    return "Namespaced" if rt.namespaced else "Cluster"


def _resource_discovery(rt: ResourceType, serves_scale: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rt.plural,
        "responseKind": gvk(rt.group, rt.version, rt.kind),
        "scope": _scope(rt),
        "singularResource": rt.singular,
        "verbs": verbs(rt),
    }
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = subresources(rt, serves_scale=serves_scale)
    if subs:
        entry["subresources"] = [
            {"subresource": s.name, "responseKind": gvk(s.group, s.version, s.kind),
             "verbs": list(s.verbs)}
            for s in subs]
    return entry


def aggregated(resources: Iterable[ResourceType], *, core: bool,
               serves_scale: bool = False) -> dict[str, Any]:
    """The `APIGroupDiscoveryList` for `/api` (core=True: the legacy group, named "")
    or `/apis` (every named group, built-ins first, then custom groups by name)."""
    items = []
    for group, versions in _groups(resources, core=core):
        metadata: dict[str, Any] = {"creationTimestamp": None}
        if group:
            metadata["name"] = group
        items.append({
            "metadata": metadata,
            "versions": [
                {"version": version,
                 "resources": [_resource_discovery(rt, serves_scale) for rt in kinds],
                 "freshness": "Current"}
                for version, kinds in versions],
        })
    return {
        "kind": _DISCOVERY_KIND,
        "apiVersion": f"{_DISCOVERY_GROUP}/{_DISCOVERY_VERSION}",
        "metadata": {},
        "items": items,
    }


# -- legacy discovery --------------------------------------------------------------------

def api_versions() -> dict[str, Any]:
    """`/api` for a client that did not ask for the aggregated form."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    }


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(resources: Iterable[ResourceType]) -> dict[str, Any]:
    """`/apis`: every named group with its versions, the preferred one first."""
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(group, [v for v, _ in versions])
                   for group, versions in _groups(resources, core=False)],
    }


def api_group(resources: Iterable[ResourceType], group: str) -> dict[str, Any] | None:
    """`/apis/<group>`; None when no kind of that group is served (a 404)."""
    if not group:
        return None
    for name, versions in _groups(resources, core=False):
        if name == group:
            return {"kind": "APIGroup", "apiVersion": "v1",
                    **_group_entry(group, [v for v, _ in versions])}
    return None


def api_resource_list(resources: Iterable[ResourceType], group: str,
                      version: str, *, serves_scale: bool = False) -> dict[str, Any] | None:
    """`/api/v1` (group "") or `/apis/<group>/<version>`; None when nothing is
    served there. Subresources appear as their own `<plural>/<name>` entries."""
    kinds = sorted((rt for rt in resources if rt.group == group and rt.version == version),
                   key=lambda rt: rt.plural)
    if not kinds:
        return None
    listed: list[dict[str, Any]] = []
    for rt in kinds:
        entry: dict[str, Any] = {
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": verbs(rt),
        }
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        listed.append(entry)
        for s in subresources(rt, serves_scale=serves_scale):
            sub: dict[str, Any] = {"name": f"{rt.plural}/{s.name}", "singularName": "",
                                   "namespaced": rt.namespaced}
            if (s.group, s.version) != (rt.group, rt.version):
                sub["group"], sub["version"] = s.group, s.version
            sub["kind"] = s.kind
            sub["verbs"] = list(s.verbs)
            listed.append(sub)
    answer: dict[str, Any] = {"kind": "APIResourceList"}
    if group:
        answer["apiVersion"] = "v1"
    answer["groupVersion"] = f"{group}/{version}" if group else version
    answer["resources"] = listed
    return answer


# -- grouping ----------------------------------------------------------------------------

GroupVersions = list[tuple[str, list[ResourceType]]]


def _groups(resources: Iterable[ResourceType], *, core: bool
            ) -> list[tuple[str, GroupVersions]]:
    """Served kinds grouped by group then version, in discovery's priority order.

    Built-in groups keep the registry's order and come before custom ones
    (sorted by name), as kube-apiserver ranks CRD groups after its own; within a
    group the preferred (highest) version comes first; kinds sort by plural.
    """
    by_group: dict[str, dict[str, list[ResourceType]]] = {}
    custom_only: dict[str, bool] = {}
    for rt in resources:
        if (rt.group == "") != core:
            continue
        by_group.setdefault(rt.group, {}).setdefault(rt.version, []).append(rt)
        custom_only[rt.group] = custom_only.get(rt.group, True) and rt.custom
    order = sorted(by_group, key=lambda g: (custom_only[g], g if custom_only[g] else ""))
    return [
        (group, [(v, sorted(by_group[group][v], key=lambda rt: rt.plural))
                 for v in sorted(by_group[group], key=version_priority)])
        for group in order
    ]


_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Sort key putting the preferred version first: GA before beta before alpha,
    higher numbers first, anything not shaped like `v1beta2` last by name."""
    m = _KUBE_VERSION.match(version)
    if m is None:
        return (3, 0, 0, version)
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    return (stage, -int(m.group(1)), -int(m.group(3) or 0), "")
