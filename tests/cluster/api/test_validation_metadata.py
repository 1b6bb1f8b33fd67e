"""Object metadata, checked the same way for every kind (custom kinds included)."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.api import validation
from cluster.api.resources import ResourceType

from tests.cluster.api.test_names import LABEL_MSG, LABEL_VALUE_MSG, SUBDOMAIN_MSG
from tests.cluster.api.validation_helpers import (
    config_map, field_errors, meta, pod, service, verdict,
)

OWNER = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u1",
         "controller": True}


def with_meta(**fields: Any) -> dict[str, Any]:
    obj = pod()
    obj["metadata"].update(fields)
    return obj


def test_valid_metadata_passes() -> None:
    """Labels, annotations, a controller reference and finalizers that are all fine."""
    obj = with_meta(labels={"app": "redis", "redisha.io/role": "primary", "empty": ""},
                    annotations={"Example.com/Note": "any text at all"},
                    ownerReferences=[OWNER, {**OWNER, "name": "other", "controller": False}],
                    finalizers=["redisha.io/cleanup", "foregroundDeletion"])
    assert verdict("Pod", obj) == ""


@pytest.mark.parametrize(("fields", "expected"), [
    pytest.param({"name": ""}, "metadata.name: Required value: name or generateName is required",
                 id="name-required"),
    pytest.param({"name": "Redis_0"},
                 f'metadata.name: Invalid value: "Redis_0": {SUBDOMAIN_MSG}', id="name-format"),
    pytest.param({"namespace": ""}, "metadata.namespace: Required value", id="namespace-required"),
    pytest.param({"namespace": "My-NS"},
                 f'metadata.namespace: Invalid value: "My-NS": {LABEL_MSG}', id="namespace-format"),
    pytest.param({"labels": {"app": "-bad"}},
                 f'metadata.labels: Invalid value: "-bad": {LABEL_VALUE_MSG}', id="label-value"),
    pytest.param({"labels": {"/app": "x"}},
                 'metadata.labels: Invalid value: "/app": prefix part must be non-empty',
                 id="label-key"),
    pytest.param({"annotations": {"a b": "x"}},
                 'metadata.annotations: Invalid value: "a b": name part must consist of '
                 "alphanumeric characters, '-', '_' or '.', and must start and end with an "
                 "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
                 "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                 id="annotation-key"),
    pytest.param({"annotations": {"big": "x" * (256 * 1024)}},
                 "metadata.annotations: Too long: may not be more than 262144 bytes",
                 id="annotations-too-big"),
    pytest.param({"generation": -1},
                 "metadata.generation: Invalid value: -1: must be greater than or equal to 0",
                 id="generation"),
    pytest.param({"finalizers": ["cleanup"]},
                 'metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard '
                 "finalizer name nor is it fully qualified", id="finalizer-unqualified"),
    pytest.param({"finalizers": ["orphan", "foregroundDeletion"]},
                 'metadata.finalizers: Invalid value: ["orphan","foregroundDeletion"]: finalizer '
                 "orphan and foregroundDeletion cannot be both set", id="finalizer-conflict"),
])
def test_metadata_errors(fields: dict[str, Any], expected: str) -> None:
    """Each broken metadata field is reported with its path and apimachinery's words."""
    assert field_errors("Pod", with_meta(**fields)) == [expected]


@pytest.mark.parametrize(("ref", "expected"), [
    pytest.param({**OWNER, "apiVersion": ""},
                 "metadata.ownerReferences[0].apiVersion: Required value: must not be empty",
                 id="apiVersion"),
    pytest.param({**OWNER, "apiVersion": "a/b/c"},
                 'metadata.ownerReferences[0].apiVersion: Invalid value: "a/b/c": must be '
                 "<group>/<version> or <version>", id="apiVersion-format"),
    pytest.param({**OWNER, "kind": ""},
                 "metadata.ownerReferences[0].kind: Required value: must not be empty", id="kind"),
    pytest.param({**OWNER, "name": ""},
                 "metadata.ownerReferences[0].name: Required value: must not be empty", id="name"),
    pytest.param({**OWNER, "uid": ""},
                 "metadata.ownerReferences[0].uid: Required value: must not be empty", id="uid"),
])
def test_owner_reference_fields(ref: dict[str, Any], expected: str) -> None:
    """Owner references need apiVersion, kind, name and uid."""
    assert field_errors("Pod", with_meta(ownerReferences=[ref])) == [expected]


def test_at_most_one_controller_reference() -> None:
    """Two references with controller: true are refused, naming both."""
    second = {**OWNER, "kind": "StatefulSet", "name": "redis", "uid": "u2"}
    errs = field_errors("Pod", with_meta(ownerReferences=[OWNER, second]))
    assert len(errs) == 1
    assert errs[0].startswith("metadata.ownerReferences: Invalid value: [")
    assert errs[0].endswith('Only one reference can have Controller set to true. Found "true" '
                            "in references for ReplicaSet/web-1 and StatefulSet/redis")


def test_full_message_lists_several_errors() -> None:
    """Several errors print in brackets, as kube-apiserver joins them."""
    assert verdict("Pod", with_meta(name="x", generation=-1, labels={"a": "-"})) == (
        'Pod "x" is invalid: [metadata.generation: Invalid value: -1: must be greater than or '
        f'equal to 0, metadata.labels: Invalid value: "-": {LABEL_VALUE_MSG}]')


@pytest.mark.parametrize(("kind", "obj", "expected"), [
    pytest.param("Namespace", {"metadata": meta("redis.prod", namespace=None)},
                 'metadata.name: Invalid value: "redis.prod": must not contain dots',
                 id="namespace-is-a-label"),
    pytest.param("Service", service("6379-redis"),
                 'metadata.name: Invalid value: "6379-redis": a DNS-1035 label must consist of '
                 "lower case alphanumeric characters or '-', start with an alphabetic character, "
                 "and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex "
                 "used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                 id="service-is-a-dns1035-label"),
    pytest.param("ConfigMap", config_map("redis.conf"), "", id="configmap-subdomain-ok"),
    pytest.param("Node", {"metadata": meta("node-1", namespace="default")},
                 "metadata.namespace: Forbidden: not allowed on this type",
                 id="cluster-scoped-with-namespace"),
])
def test_name_rules_per_kind(kind: str, obj: dict[str, Any], expected: str) -> None:
    """Namespaces are DNS labels, Services DNS-1035 labels, most kinds subdomains."""
    errs = field_errors(kind, obj)
    assert errs == ([expected] if expected else [])


def test_custom_kind_metadata_and_schema() -> None:
    """A custom object gets metadata checks and then its schema's checks."""
    rt = ResourceType("redisha.io", "v1", "RedisFailover", "redisfailovers", "redisfailover",
                      custom=True, schema={"type": "object", "properties": {"spec": {
                          "type": "object", "properties": {"replicas": {"type": "integer",
                                                                        "minimum": 1}}}}})
    obj = {"apiVersion": "redisha.io/v1", "kind": "RedisFailover",
           "metadata": {"name": "Bad", "namespace": "default"}, "spec": {"replicas": 0}}
    assert [str(e) for e in validation.validate_object(rt, obj)] == [
        f'metadata.name: Invalid value: "Bad": {SUBDOMAIN_MSG}',
        "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal "
        "to 1"]


def test_wrongly_typed_metadata_is_reported_not_raised() -> None:
    """Garbage where metadata should be is an error message, never an exception."""
    assert field_errors("Pod", {"metadata": "x", "spec": pod()["spec"]})[:1] == [
        'metadata: Invalid value: "x": must be an object']
    errs = field_errors("Pod", with_meta(labels=["a"], ownerReferences={"a": 1}))
    assert 'metadata.labels: Invalid value: ["a"]: must be an object' in errs
    assert 'metadata.ownerReferences: Invalid value: {"a":1}: must be a list' in errs
