"""Discovery documents: aggregated v2, the legacy documents, and Accept negotiation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client import ApiClient

from cluster.api.resources import BUILTIN_RESOURCES, ResourceRegistry, ResourceType
from cluster.http import discovery

KUBECTL_132_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json")
KUBECTL_128_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json")

FAILOVER = ResourceType("redisha.io", "v1", "RedisFailover", "redisfailovers", "redisfailover",
                        short_names=("rf",), categories=("all", "redisha"), custom=True)
MEMCACHED = ResourceType("cache.example.com", "v1alpha1", "Memcached", "memcacheds",
                         "memcached", has_status=False, custom=True)


def decode_as(doc: dict[str, Any], model: str) -> Any:
    """Decode with the official client's models, which reject missing required fields."""
    return ApiClient().deserialize(json.dumps(doc), model, "application/json")


def with_custom(*kinds: ResourceType) -> ResourceRegistry:
    registry = ResourceRegistry()
    for rt in kinds:
        registry.register(rt)
    return registry


def flatten(doc: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(group, version, plural) → resource entry, as client-go's split does."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in doc["items"]:
        group = item["metadata"].get("name", "")
        for version in item["versions"]:
            for entry in version["resources"]:
                key = (group, version["version"], entry["resource"])
                assert key not in found, f"{key} listed twice"
                found[key] = entry
    return found


def test_content_type_constant_is_what_client_go_compares() -> None:
    """The aggregated Content-Type names group, version and kind exactly as kubectl checks."""
    assert discovery.AGGREGATED == \
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@pytest.mark.parametrize(("accept", "expected"), [
    pytest.param(KUBECTL_132_ACCEPT, True, id="kubectl-1.32"),
    pytest.param(KUBECTL_128_ACCEPT, False, id="kubectl-1.28-v2beta1-only"),
    pytest.param("application/json", False, id="plain-json"),
    pytest.param("", False, id="no-accept"),
    pytest.param("*/*", False, id="wildcard"),
    pytest.param("application/json; as=APIGroupDiscoveryList; v=v2; g=apidiscovery.k8s.io",
                 True, id="params-any-order-with-spaces"),
    pytest.param("application/json;q=1.0,application/json;g=apidiscovery.k8s.io;v=v2;"
                 "as=APIGroupDiscoveryList;q=0.5", False, id="legacy-preferred-by-q"),
    pytest.param("application/json;q=0.5,application/json;g=apidiscovery.k8s.io;v=v2;"
                 "as=APIGroupDiscoveryList;q=0.9", True, id="aggregated-preferred-by-q"),
    pytest.param(discovery.AGGREGATED + ";q=0", False, id="refused-with-q0"),
    pytest.param("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;"
                 "profile=nopeer,application/json", True, id="nopeer-profile"),
    pytest.param("application/json;g=apidiscovery.k8s.io;v=v2;as=Table", False,
                 id="wrong-kind"),
    pytest.param("application/vnd.kubernetes.protobuf," + discovery.AGGREGATED, True,
                 id="unservable-first-range-skipped"),
])
def test_wants_aggregated_negotiates_like_apimachinery(accept: str, expected: bool) -> None:
    """Aggregated v2 is chosen only when it is the best range the server can satisfy."""
    assert discovery.wants_aggregated(accept) is expected


def test_core_group_lists_every_core_kind_once() -> None:
    """/api's aggregated answer is one unnamed group, version v1, every core kind once."""
    doc = discovery.aggregated(ResourceRegistry(), core=True)
    assert doc["kind"] == "APIGroupDiscoveryList"
    assert doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    assert len(doc["items"]) == 1
    (item,) = doc["items"]
    assert item["metadata"].get("name", "") == ""
    assert [v["version"] for v in item["versions"]] == ["v1"]
    assert item["versions"][0]["freshness"] == "Current"
    plurals = [r["resource"] for r in item["versions"][0]["resources"]]
    assert plurals == sorted(rt.plural for rt in BUILTIN_RESOURCES if rt.group == "")


def test_apis_lists_named_groups_builtins_first() -> None:
    """/apis carries the built-in groups in registry order, then custom groups by name."""
    doc = discovery.aggregated(with_custom(FAILOVER, MEMCACHED), core=False)
    names = [item["metadata"]["name"] for item in doc["items"]]
    assert names == ["apps", "coordination.k8s.io", "apiextensions.k8s.io",
                     "cache.example.com", "redisha.io"]


@pytest.mark.parametrize("rt", BUILTIN_RESOURCES, ids=lambda rt: rt.key)
def test_every_builtin_kind_appears_once_with_its_names(rt: ResourceType) -> None:
    """Each built-in kind is listed with its scope, singular, short names and categories."""
    registry = ResourceRegistry()
    found = flatten(discovery.aggregated(registry, core=True)) | \
        flatten(discovery.aggregated(registry, core=False))
    entry = found[(rt.group, rt.version, rt.plural)]
    assert entry["responseKind"] == {"group": rt.group, "version": rt.version, "kind": rt.kind}
    assert entry["scope"] == ("Namespaced" if rt.namespaced else "Cluster")
    assert entry["singularResource"] == rt.singular
    assert entry.get("shortNames", []) == list(rt.short_names)
    assert entry.get("categories") == (list(rt.categories) or None)
    assert "get" in entry["verbs"] and "watch" in entry["verbs"]


def test_pods_carry_binding_exec_log_and_status() -> None:
    """Pods list the subresources the engine serves, each with its response kind."""
    pods = flatten(discovery.aggregated(ResourceRegistry(), core=True))[("", "v1", "pods")]
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert list(subs) == ["binding", "exec", "log", "status"]
    assert subs["exec"]["responseKind"]["kind"] == "PodExecOptions"
    assert subs["exec"]["verbs"] == ["create", "get"]
    assert subs["log"]["verbs"] == ["get"]
    assert subs["binding"]["responseKind"]["kind"] == "Binding"
    assert subs["status"]["verbs"] == ["get", "patch", "update"]


def test_kinds_without_status_have_no_subresources() -> None:
    """A kind with no status subresource (ConfigMap) lists none at all."""
    found = flatten(discovery.aggregated(ResourceRegistry(), core=True))
    assert "subresources" not in found[("", "v1", "configmaps")]
    assert [s["subresource"] for s in found[("", "v1", "services")]["subresources"]] == \
        ["status"]


def test_namespaces_have_no_deletecollection() -> None:
    """Namespaces, as in kube-apiserver, cannot be deleted as a collection."""
    found = flatten(discovery.aggregated(ResourceRegistry(), core=True))
    assert "deletecollection" not in found[("", "v1", "namespaces")]["verbs"]
    assert "deletecollection" in found[("", "v1", "pods")]["verbs"]


def test_scale_is_listed_only_when_served() -> None:
    """deployments/scale appears (as autoscaling/v1 Scale) only when the server serves it."""
    without = flatten(discovery.aggregated(ResourceRegistry(), core=False))
    assert [s["subresource"] for s in without[("apps", "v1", "deployments")]["subresources"]] \
        == ["status"]
    served = flatten(discovery.aggregated(ResourceRegistry(), core=False, serves_scale=True))
    scale = served[("apps", "v1", "statefulsets")]["subresources"][0]
    assert scale == {"subresource": "scale", "verbs": ["get", "patch", "update"],
                     "responseKind": {"group": "autoscaling", "version": "v1",
                                      "kind": "Scale"}}


def test_custom_kinds_appear_once_registered() -> None:
    """A CRD's kind shows up in /apis after registration and disappears after removal."""
    registry = ResourceRegistry()
    assert ("redisha.io", "v1", "redisfailovers") not in \
        flatten(discovery.aggregated(registry, core=False))
    registry.register(FAILOVER)
    entry = flatten(discovery.aggregated(registry, core=False))[
        ("redisha.io", "v1", "redisfailovers")]
    assert entry["shortNames"] == ["rf"]
    assert entry["categories"] == ["all", "redisha"]
    registry.unregister(FAILOVER.key)
    assert "redisha.io" not in json.dumps(discovery.aggregated(registry, core=False))


def test_preferred_version_comes_first() -> None:
    """A group serving v1 and v1beta1 lists v1 first, in both formats."""
    beta = ResourceType("redisha.io", "v1beta1", "RedisBackup", "redisbackups", "redisbackup",
                        custom=True)
    registry = with_custom(beta, FAILOVER)
    item = next(i for i in discovery.aggregated(registry, core=False)["items"]
                if i["metadata"]["name"] == "redisha.io")
    assert [v["version"] for v in item["versions"]] == ["v1", "v1beta1"]
    group = discovery.api_group(registry, "redisha.io")
    assert group is not None
    assert group["preferredVersion"] == {"groupVersion": "redisha.io/v1", "version": "v1"}
    assert [discovery.version_priority(v) < discovery.version_priority(w)
            for v, w in [("v2", "v1"), ("v1", "v2beta1"), ("v1beta2", "v1beta1"),
                         ("v1beta1", "v1alpha3"), ("v1alpha1", "foo")]] == [True] * 5


def test_aggregated_documents_decode_with_the_official_models() -> None:
    """The official client's v2 models accept both answers, with no required field missing."""
    registry = with_custom(FAILOVER)
    for core in (True, False):
        decoded = decode_as(discovery.aggregated(registry, core=core), "V2APIGroupDiscoveryList")
        for group in decoded.items:
            for version in group.versions:
                for res in version.resources:
                    assert res.response_kind is not None and res.response_kind.kind
                    for sub in res.subresources or ():
                        assert sub.response_kind is not None and sub.response_kind.kind


def test_legacy_api_versions() -> None:
    """/api without aggregation is an APIVersions naming v1."""
    doc = discovery.api_versions()
    decoded = decode_as(doc, "V1APIVersions")
    assert decoded.versions == ["v1"]
    assert doc["kind"] == "APIVersions"


def test_legacy_group_list_and_group() -> None:
    """/apis lists every named group; /apis/<g> answers one; an unknown group is None."""
    registry = with_custom(FAILOVER)
    groups = discovery.api_group_list(registry)
    decoded = decode_as(groups, "V1APIGroupList")
    assert [g.name for g in decoded.groups] == [
        "apps", "coordination.k8s.io", "apiextensions.k8s.io", "redisha.io"]
    apps = discovery.api_group(registry, "apps")
    assert apps is not None and apps["kind"] == "APIGroup"
    assert apps["versions"] == [{"groupVersion": "apps/v1", "version": "v1"}]
    assert discovery.api_group(registry, "nope.example.com") is None
    assert discovery.api_group(registry, "") is None


def test_legacy_resource_list_has_subresource_entries() -> None:
    """/api/v1 lists kinds and `pods/log`-style entries with kind, verbs and scope."""
    doc = discovery.api_resource_list(ResourceRegistry(), "", "v1")
    assert doc is not None
    decoded = decode_as(doc, "V1APIResourceList")
    assert decoded.group_version == "v1"
    by_name = {r["name"]: r for r in doc["resources"]}
    assert by_name["pods"]["shortNames"] == ["po"] and by_name["pods"]["categories"] == ["all"]
    assert by_name["pods/log"] == {"name": "pods/log", "singularName": "", "namespaced": True,
                                   "kind": "Pod", "verbs": ["get"]}
    assert by_name["pods/exec"]["kind"] == "PodExecOptions"
    assert by_name["nodes"]["namespaced"] is False
    assert "secrets/status" not in by_name
    names = [r["name"] for r in doc["resources"]]
    assert names.index("pods/binding") == names.index("pods") + 1


def test_legacy_resource_list_for_groups_and_unknowns() -> None:
    """/apis/<g>/<v> answers served group-versions only; scale names its own group."""
    registry = with_custom(MEMCACHED)
    custom = discovery.api_resource_list(registry, "cache.example.com", "v1alpha1")
    assert custom is not None
    assert custom["groupVersion"] == "cache.example.com/v1alpha1"
    assert [r["name"] for r in custom["resources"]] == ["memcacheds"]
    assert discovery.api_resource_list(registry, "cache.example.com", "v1") is None
    assert discovery.api_resource_list(registry, "", "v2") is None
    apps = discovery.api_resource_list(registry, "apps", "v1", serves_scale=True)
    assert apps is not None
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
