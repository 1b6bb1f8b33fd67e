"""CustomResourceDefinitions: group, names, scope, versions and their schemas."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cluster.api.validation_helpers import crd, field_errors, verdict

SCHEMA_PATH = "spec.versions[0].schema.openAPIV3Schema"


def test_valid_crd_passes() -> None:
    """The RedisFailover CRD as the operator registers it."""
    assert verdict("CustomResourceDefinition", crd()) == ""


def with_spec(**changes: Any) -> dict[str, Any]:
    obj = crd()
    obj["spec"].update(changes)
    return obj


@pytest.mark.parametrize(("obj", "expected"), [
    pytest.param(with_spec(group="redisha"),
                 ['metadata.name: Invalid value: "redisfailovers.redisha.io": must be '
                  'spec.names.plural+"."+spec.group',
                  'spec.group: Invalid value: "redisha": should be a domain with at least one dot'],
                 id="group-without-dot"),
    pytest.param(with_spec(group=""),
                 ['metadata.name: Invalid value: "redisfailovers.redisha.io": must be '
                  'spec.names.plural+"."+spec.group', "spec.group: Required value"],
                 id="group-required"),
    pytest.param(with_spec(scope="Global"),
                 ['spec.scope: Unsupported value: "Global": supported values: "Cluster", '
                  '"Namespaced"'], id="scope"),
    pytest.param(with_spec(scope=""), ["spec.scope: Required value"], id="scope-required"),
    pytest.param(with_spec(names={"plural": "redisfailovers"}),
                 ["spec.names.singular: Required value", "spec.names.kind: Required value",
                  "spec.names.listKind: Required value"], id="names-required"),
    pytest.param(with_spec(names={"plural": "RedisFailovers", "kind": "RedisFailover"}),
                 ['metadata.name: Invalid value: "redisfailovers.redisha.io": must be '
                  'spec.names.plural+"."+spec.group',
                  'spec.names.plural: Invalid value: "RedisFailovers": a DNS-1035 label must '
                  "consist of lower case alphanumeric characters or '-', start with an "
                  "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',"
                  "  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"],
                 id="plural-format"),
    pytest.param(with_spec(names={"plural": "redisfailovers", "kind": "Redis_Failover"}),
                 ['spec.names.singular: Invalid value: "redis_failover": a DNS-1035 label must '
                  "consist of lower case alphanumeric characters or '-', start with an "
                  "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',"
                  "  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                  'spec.names.kind: Invalid value: "Redis_Failover": may have mixed case, but '
                  "should otherwise match: a DNS-1035 label must consist of lower case "
                  "alphanumeric characters or '-', start with an alphabetic character, and end "
                  "with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
                  "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                  'spec.names.listKind: Invalid value: "Redis_FailoverList": may have mixed case, '
                  "but should otherwise match: a DNS-1035 label must consist of lower case "
                  "alphanumeric characters or '-', start with an alphabetic character, and end "
                  "with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
                  "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"], id="kind-format"),
    pytest.param(with_spec(names={"plural": "redisfailovers", "kind": "RedisFailover",
                                  "listKind": "RedisFailover"}),
                 ['spec.names.listKind: Invalid value: "RedisFailover": kind and listKind may not '
                  "be the same"], id="kind-equals-listkind"),
])
def test_crd_spec_errors(obj: dict[str, Any], expected: list[str]) -> None:
    """Group, scope and names, with apiextensions' wording."""
    assert field_errors("CustomResourceDefinition", obj) == expected


def test_metadata_name_must_be_plural_dot_group() -> None:
    """A CRD's name is not free: it is `<plural>.<group>`."""
    obj = crd()
    obj["metadata"]["name"] = "redis.redisha.io"
    assert verdict("CustomResourceDefinition", obj) == (
        'CustomResourceDefinition.apiextensions.k8s.io "redis.redisha.io" is invalid: '
        'metadata.name: Invalid value: "redis.redisha.io": must be '
        'spec.names.plural+"."+spec.group')


def version(name: str = "v1", storage: bool = True, **extra: Any) -> dict[str, Any]:
    return {"name": name, "served": True, "storage": storage,
            "schema": {"openAPIV3Schema": {"type": "object"}}, **extra}


def test_exactly_one_storage_version() -> None:
    """Zero or two storage versions are refused; so are repeated version names."""
    none = field_errors("CustomResourceDefinition",
                        with_spec(versions=[version(storage=False)]))
    assert len(none) == 1 and none[0].startswith("spec.versions: Invalid value: [")
    assert none[0].endswith("must have exactly one version marked as storage version")
    two = field_errors("CustomResourceDefinition",
                       with_spec(versions=[version("v1"), version("v2")]))
    assert len(two) == 1 and two[0].endswith("must have exactly one version marked as storage "
                                             "version")
    repeated = field_errors("CustomResourceDefinition",
                            with_spec(versions=[version("v1"), version("v1", storage=False)]))
    assert len(repeated) == 1 and repeated[0].endswith("must contain unique version names")
    empty = field_errors("CustomResourceDefinition", with_spec(versions=[]))
    assert empty == ["spec.versions: Invalid value: []: must have exactly one version marked as "
                     "storage version"]


@pytest.mark.parametrize(("versions", "expected"), [
    pytest.param([{"name": "v1", "served": True, "storage": True}],
                 [f"{SCHEMA_PATH}: Required value"], id="schema-required"),
    pytest.param([version("V1")],
                 ['spec.versions[0].name: Invalid value: "V1": a DNS-1035 label must consist of '
                  "lower case alphanumeric characters or '-', start with an alphabetic "
                  "character, and end with an alphanumeric character (e.g. 'my-name',  or "
                  "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"],
                 id="version-name"),
    pytest.param([{**version(), "schema": {"openAPIV3Schema": {
        "type": "object", "properties": {"spec": {"properties": {"size": {"type": "integer"}}}}}}}],
                 [f"{SCHEMA_PATH}.properties[spec].type: Required value: must not be empty for "
                  "specified object fields"], id="schema-not-structural"),
    pytest.param([version(additionalPrinterColumns=[{"name": "Size", "type": "int",
                                                     "jsonPath": ".spec.size"},
                                                    {"name": "", "type": "string"}])],
                 ['spec.versions[0].additionalPrinterColumns[0].type: Unsupported value: "int": '
                  'supported values: "boolean", "date", "integer", "number", "string"',
                  "spec.versions[0].additionalPrinterColumns[1].name: Required value",
                  "spec.versions[0].additionalPrinterColumns[1].jsonPath: Required value"],
                 id="printer-columns"),
])
def test_crd_version_errors(versions: list[dict[str, Any]], expected: list[str]) -> None:
    """Every version needs a DNS-1035 name and a structural schema."""
    assert field_errors("CustomResourceDefinition", with_spec(versions=versions)) == expected
