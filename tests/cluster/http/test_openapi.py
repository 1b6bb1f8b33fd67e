"""OpenAPI v3 index and documents, read the way kubectl reads them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cluster.api.resources import BUILTIN_RESOURCES, ResourceRegistry, ResourceType
from cluster.http import openapi

FAILOVER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}
FAILOVER = ResourceType("redisha.io", "v1", "RedisFailover", "redisfailovers", "redisfailover",
                        short_names=("rf",), schema=FAILOVER_SCHEMA, custom=True)


def patch_operations(doc: dict[str, Any], rt: ResourceType) -> list[dict[str, Any]]:
    """Every PATCH operation whose GVK extension names `rt`, as kubectl's verifier scans."""
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    return [item["patch"] for item in doc["paths"].values()
            if "patch" in item and item["patch"].get("x-kubernetes-group-version-kind") == gvk]


def schema_for(doc: dict[str, Any], rt: ResourceType) -> dict[str, Any]:
    """The component `kubectl explain` picks: the one whose GVK list names `rt`."""
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    found = [s for s in doc["components"]["schemas"].values()
             if gvk in s.get("x-kubernetes-group-version-kind", [])]
    assert len(found) == 1, f"{rt.kind}: {len(found)} schemas"
    return found[0]


def test_index_points_at_every_served_group_version() -> None:
    """/openapi/v3 lists each group-version with a hashed URL under /openapi/v3."""
    registry = ResourceRegistry()
    registry.register(FAILOVER)
    paths = openapi.index(registry)["paths"]
    assert sorted(paths) == ["api/v1", "apis/apiextensions.k8s.io/v1", "apis/apps/v1",
                             "apis/coordination.k8s.io/v1", "apis/redisha.io/v1"]
    for path, entry in paths.items():
        doc = openapi.document(registry, path)
        assert doc is not None
        assert entry["serverRelativeURL"] == \
            f"/openapi/v3/{path}?hash={openapi.document_hash(doc)}"


def test_hash_changes_only_with_the_document() -> None:
    """Adding a kind to a group changes that group's hash and leaves the others alone."""
    registry = ResourceRegistry()
    before = openapi.index(registry)["paths"]
    assert openapi.index(registry)["paths"] == before
    registry.register(ResourceType("apps", "v1", "Widget", "widgets", "widget", custom=True))
    after = openapi.index(registry)["paths"]
    assert after["apis/apps/v1"] != before["apis/apps/v1"]
    assert after["api/v1"] == before["api/v1"]


@pytest.mark.parametrize("rt", BUILTIN_RESOURCES, ids=lambda rt: rt.key)
def test_each_kind_has_one_patch_with_field_validation(rt: ResourceType) -> None:
    """kubectl's query-param verifier finds exactly one PATCH for the kind, with fieldValidation."""
    doc = openapi.document(ResourceRegistry(), rt.api_path)
    assert doc is not None
    (patch,) = patch_operations(doc, rt)
    params = [p["name"] for p in patch["parameters"]]
    assert "fieldValidation" in params
    content = patch["requestBody"]["content"]
    assert "application/merge-patch+json" in content
    assert "application/json-patch+json" in content
    assert "application/strategic-merge-patch+json" not in content
    assert schema_for(doc, rt)["type"] == "object"


def test_patch_lives_on_the_item_path() -> None:
    """A namespaced kind's PATCH is on /namespaces/{namespace}/<plural>/{name}."""
    doc = openapi.document(ResourceRegistry(), "apis/apps/v1")
    assert doc is not None
    item = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert item["patch"]["operationId"] == "patchAppsV1NamespacedDeployment"
    assert {p["name"] for p in item["parameters"]} == {"name", "namespace"}
    nodes = openapi.document(ResourceRegistry(), "api/v1")
    assert nodes is not None
    assert "patch" in nodes["paths"]["/api/v1/nodes/{name}"]


def test_custom_kind_carries_its_crd_schema() -> None:
    """A custom kind's component is its openAPIV3Schema plus the GVK, the original untouched."""
    original = copy.deepcopy(FAILOVER_SCHEMA)
    registry = ResourceRegistry()
    registry.register(FAILOVER)
    doc = openapi.document(registry, "apis/redisha.io/v1")
    assert doc is not None
    schema = doc["components"]["schemas"]["io.redisha.v1.RedisFailover"]
    assert schema is schema_for(doc, FAILOVER)
    assert schema["properties"]["spec"] == FAILOVER_SCHEMA["properties"]["spec"]
    assert {"apiVersion", "kind", "metadata"} <= set(schema["properties"])
    assert FAILOVER_SCHEMA == original
    (patch,) = patch_operations(doc, FAILOVER)
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]


def test_builtin_schema_names_and_fields() -> None:
    """Built-ins get kube's component names and name their standard top-level fields."""
    core = openapi.document(ResourceRegistry(), "api/v1")
    assert core is not None
    schemas = core["components"]["schemas"]
    assert "io.k8s.api.core.v1.Pod" in schemas
    assert {"spec", "status", "metadata"} <= set(schemas["io.k8s.api.core.v1.Pod"]["properties"])
    assert "spec" not in schemas["io.k8s.api.core.v1.ConfigMap"]["properties"]
    assert "data" in schemas["io.k8s.api.core.v1.ConfigMap"]["properties"]
    crds = openapi.document(ResourceRegistry(), "apis/apiextensions.k8s.io/v1")
    assert crds is not None
    assert "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition" \
        in crds["components"]["schemas"]


def test_unserved_paths_have_no_document() -> None:
    """A group-version nothing is served at answers None (the HTTP layer's 404)."""
    registry = ResourceRegistry()
    assert openapi.document(registry, "apis/redisha.io/v1") is None
    assert openapi.document(registry, "api/v2") is None
    assert openapi.document(registry, "bogus") is None


def test_documents_are_plain_json_with_openapi_header() -> None:
    """Every document is JSON-serialisable and declares OpenAPI 3.0.0."""
    registry = ResourceRegistry()
    for path in openapi.index(registry)["paths"]:
        doc = openapi.document(registry, path)
        assert doc is not None
        assert doc["openapi"] == "3.0.0"
        assert json.loads(json.dumps(doc)) == doc
