"""Structural schemas of custom resources: validation messages, defaulting and pruning."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cluster.api import schema

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 0, "maximum": 10},
                "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0,
                          "multipleOf": 0.5},
                "mode": {"type": "string", "enum": ["sentinel", "cluster"]},
                "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
                "port": {"x-kubernetes-int-or-string": True},
                "tags": {"type": "array", "minItems": 1, "maxItems": 2,
                         "items": {"type": "string"}},
                "nodes": {"type": "array", "items": {"type": "object", "required": ["host"],
                                                     "properties": {"host": {"type": "string"}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "note": {"type": "string", "nullable": True},
                "enabled": {"type": "boolean"},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}


def errors_for(spec: dict[str, Any]) -> list[str]:
    obj = {"apiVersion": "redisha.io/v1", "kind": "RedisFailover",
           "metadata": {"name": "rf", "whatever": 1}, "spec": spec}
    return [str(e) for e in schema.validate(SCHEMA, obj)]


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({"size": 3}, [], id="valid"),
    pytest.param({}, ["spec.size: Required value"], id="required"),
    pytest.param({"size": -1},
                 ["spec.size: Invalid value: -1: spec.size in body should be greater than or "
                  "equal to 0"], id="minimum"),
    pytest.param({"size": 11},
                 ["spec.size: Invalid value: 11: spec.size in body should be less than or "
                  "equal to 10"], id="maximum"),
    pytest.param({"size": "string"},
                 ['spec.size: Invalid value: "string": spec.size in body must be of type '
                  'integer: "string"'], id="string-for-integer"),
    pytest.param({"size": True},
                 ['spec.size: Invalid value: "boolean": spec.size in body must be of type '
                  'integer: "boolean"'], id="boolean-for-integer"),
    pytest.param({"size": 2.0}, [], id="integral-float-is-integer"),
    pytest.param({"size": 2.5},
                 ['spec.size: Invalid value: "number": spec.size in body must be of type '
                  'integer: "number"'], id="fraction-for-integer"),
    pytest.param({"size": None},
                 ['spec.size: Invalid value: "null": spec.size in body must be of type '
                  'integer: "null"'], id="null-not-nullable"),
    pytest.param({"size": 1, "note": None}, [], id="null-nullable"),
    pytest.param({"size": 1, "ratio": 0},
                 ["spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"],
                 id="exclusive-minimum"),
    pytest.param({"size": 1, "ratio": 0.75},
                 ["spec.ratio: Invalid value: 0.75: spec.ratio in body should be a multiple of "
                  "0.5"], id="multiple-of"),
    pytest.param({"size": 1, "mode": "x"},
                 ['spec.mode: Unsupported value: "x": supported values: "sentinel", "cluster"'],
                 id="enum"),
    pytest.param({"size": 1, "name": "a"},
                 ['spec.name: Invalid value: "a": spec.name in body should be at least 2 chars '
                  'long'], id="min-length"),
    pytest.param({"size": 1, "name": "abcdef"},
                 ["spec.name: Too long: may not be more than 5 bytes"], id="max-length"),
    pytest.param({"size": 1, "name": "ab1"},
                 ["spec.name: Invalid value: \"ab1\": spec.name in body should match "
                  "'^[a-z]+$'"], id="pattern"),
    pytest.param({"size": 1, "port": 6379}, [], id="int-or-string-int"),
    pytest.param({"size": 1, "port": "redis"}, [], id="int-or-string-string"),
    pytest.param({"size": 1, "port": []},
                 ['spec.port: Invalid value: "array": spec.port in body must be of type '
                  'integer,string: "array"'], id="int-or-string-array"),
    pytest.param({"size": 1, "tags": []},
                 ["spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items"],
                 id="min-items"),
    pytest.param({"size": 1, "tags": ["a", "b", "c"]},
                 ["spec.tags: Too many: 3: must have at most 2 items"], id="max-items"),
    pytest.param({"size": 1, "tags": ["a", 1]},
                 ['spec.tags[1]: Invalid value: "integer": spec.tags[1] in body must be of type '
                  'string: "integer"'], id="item-type"),
    pytest.param({"size": 1, "nodes": [{"host": "a"}, {}]},
                 ["spec.nodes[1].host: Required value"], id="nested-required"),
    pytest.param({"size": 1, "labels": {"a": "b", "c": 1}},
                 ['spec.labels.c: Invalid value: "integer": spec.labels.c in body must be of '
                  'type string: "integer"'], id="additional-properties"),
    pytest.param({"size": 1, "enabled": "yes"},
                 ['spec.enabled: Invalid value: "string": spec.enabled in body must be of type '
                  'boolean: "string"'], id="boolean"),
    pytest.param({"size": 1, "extra": {"anything": [1, {"goes": True}]}}, [],
                 id="preserve-unknown"),
])
def test_validation_messages(spec: dict[str, Any], expected: list[str]) -> None:
    """Each keyword fails with kube-openapi's sentence at the offending path."""
    assert errors_for(spec) == expected


def test_metadata_is_not_validated_by_the_schema() -> None:
    """Root metadata is the API server's business, even if the schema mentions it."""
    strict = copy.deepcopy(SCHEMA)
    strict["properties"]["metadata"] = {"type": "string"}
    strict["required"] = ["metadata", "spec"]
    obj = {"metadata": {"name": "rf"}, "spec": {"size": 1}}
    assert schema.validate(strict, obj) == []


def test_spec_of_wrong_type() -> None:
    """A non-object spec fails at `spec` with the type of what was given."""
    assert errors_for("big") == [  # type: ignore[arg-type]
        'spec: Invalid value: "string": spec in body must be of type object: "string"']


def test_defaults_fill_missing_and_nested_fields() -> None:
    """Defaults apply to absent fields, recurse into defaulted objects, and into list items."""
    s = {"type": "object", "properties": {"spec": {"type": "object", "default": {}, "properties": {
        "replicas": {"type": "integer", "default": 3},
        "sentinel": {"type": "object", "default": {}, "properties": {
            "quorum": {"type": "integer", "default": 2}}},
        "nodes": {"type": "array", "items": {"type": "object", "properties": {
            "port": {"type": "integer", "default": 6379}}}},
        "labels": {"type": "object", "additionalProperties": {"type": "string",
                                                             "default": "x"}}}}}}
    obj: dict[str, Any] = {"spec": {"replicas": 5, "nodes": [{}, {"port": 1}],
                                    "labels": {"a": None}}}
    schema.apply_defaults(s, obj)
    assert obj == {"spec": {"replicas": 5, "sentinel": {"quorum": 2},
                            "nodes": [{"port": 6379}, {"port": 1}], "labels": {"a": "x"}}}
    empty: dict[str, Any] = {}
    schema.apply_defaults(s, empty)
    assert empty == {"spec": {"replicas": 3, "sentinel": {"quorum": 2}}}


def test_null_in_non_nullable_field_takes_the_default() -> None:
    """`replicas: null` is replaced by the default unless the field is nullable."""
    s = {"type": "object", "properties": {
        "a": {"type": "integer", "default": 1},
        "b": {"type": "integer", "default": 1, "nullable": True}}}
    obj: dict[str, Any] = {"a": None, "b": None}
    schema.apply_defaults(s, obj)
    assert obj == {"a": 1, "b": None}


def test_default_values_are_copied() -> None:
    """Two objects defaulted from one schema never share a default's dict."""
    s = {"type": "object", "properties": {"spec": {"type": "object", "default": {"a": 1}}}}
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    schema.apply_defaults(s, first)
    schema.apply_defaults(s, second)
    first["spec"]["a"] = 2
    assert second == {"spec": {"a": 1}}
    assert s["properties"]["spec"]["default"] == {"a": 1}


def test_prune_drops_unknown_fields_but_keeps_resource_meta() -> None:
    """Unknown fields go, except apiVersion/kind/metadata and preserve-unknown subtrees."""
    obj = {"apiVersion": "redisha.io/v1", "kind": "RedisFailover",
           "metadata": {"name": "rf", "annotations": {"a": "b"}},
           "spec": {"size": 1, "typo": True, "nodes": [{"host": "a", "junk": 1}],
                    "labels": {"x": "y"}, "extra": {"kept": {"deep": 1}}},
           "status": {"phase": "Ready", "leftover": 1},
           "unknownTopLevel": 1}
    schema.prune(SCHEMA, obj)
    assert obj == {"apiVersion": "redisha.io/v1", "kind": "RedisFailover",
                   "metadata": {"name": "rf", "annotations": {"a": "b"}},
                   "spec": {"size": 1, "nodes": [{"host": "a"}], "labels": {"x": "y"},
                            "extra": {"kept": {"deep": 1}}},
                   "status": {"phase": "Ready"}}


def test_prune_keeps_meta_of_embedded_resources() -> None:
    """An embedded resource keeps its own apiVersion, kind and metadata."""
    s = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                     "properties": {"spec": {"type": "object"}}}}}}}
    obj = {"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                 "spec": {}, "junk": 1}}}
    schema.prune(s, obj)
    assert obj == {"spec": {"template": {"apiVersion": "v1", "kind": "Pod",
                                         "metadata": {"name": "p"}, "spec": {}}}}


@pytest.mark.parametrize(("bad_schema", "expected"), [
    pytest.param({"type": "object", "properties": {"spec": {"type": "object"}}}, [], id="ok"),
    pytest.param({"properties": {}},
                 ["s.type: Required value: must not be empty at the root"], id="root-untyped"),
    pytest.param({"type": "string"},
                 ['s.type: Invalid value: "string": must be object at the root'], id="root-string"),
    pytest.param({"type": "object", "properties": {"spec": {}}},
                 ["s.properties[spec].type: Required value: must not be empty for specified "
                  "object fields"], id="field-untyped"),
    pytest.param({"type": "object", "properties": {"a": {"type": "array"}}},
                 ["s.properties[a].items: Required value: must be specified"], id="no-items"),
    pytest.param({"type": "object", "properties": {"a": {"type": "array", "items": {}}}},
                 ["s.properties[a].items.type: Required value: must not be empty for specified "
                  "array items"], id="items-untyped"),
    pytest.param({"type": "object", "properties": {"a": {"type": "int"}}},
                 ['s.properties[a].type: Unsupported value: "int": supported values: "array", '
                  '"boolean", "integer", "number", "object", "string"'], id="unknown-type"),
    pytest.param({"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}},
                 ['s.properties[a].default: Invalid value: "string": s.properties[a].default in '
                  'body must be of type integer: "string"'], id="bad-default"),
    pytest.param({"type": "object", "properties": {"a": {"x-kubernetes-int-or-string": True},
                                                   "b": {"x-kubernetes-preserve-unknown-fields":
                                                         True}}}, [], id="untyped-allowed"),
    pytest.param({"type": "object", "properties": {"metadata": {"type": "object", "properties": {
        "labels": {"type": "object"}}}}},
                 ["s.properties[metadata]: Forbidden: must not specify anything other than name "
                  "and generateName, but metadata is implicitly specified"], id="metadata-fields"),
])
def test_structural_checks(bad_schema: dict[str, Any], expected: list[str]) -> None:
    """CRD schemas must be typed at every level so pruning and defaulting are well defined."""
    assert [str(e) for e in schema.validate_structural(bad_schema, "s")] == expected


def test_has_defaults() -> None:
    """Defaults are found however deep they sit."""
    assert schema.has_defaults(SCHEMA) is False
    deep = {"type": "object", "properties": {"a": {"type": "array", "items": {
        "type": "object", "properties": {"b": {"type": "integer", "default": 1}}}}}}
    assert schema.has_defaults(deep) is True


@pytest.mark.parametrize(("node", "value", "expected"), [
    pytest.param({"type": "array", "uniqueItems": True, "items": {"type": "integer"}}, [1, 1],
                 ["x: Invalid value: [1,1]: x in body shouldn't contain duplicates"],
                 id="unique-items"),
    pytest.param({"type": "object", "minProperties": 1}, {},
                 ["x: Invalid value: 0: x in body should have at least 1 properties"],
                 id="min-properties"),
    pytest.param({"type": "object", "maxProperties": 1}, {"a": 1, "b": 2},
                 ["x: Too many: 2: must have at most 1 item"], id="max-properties"),
    pytest.param({"type": "object", "properties": {"a": {"type": "integer"}},
                  "additionalProperties": False}, {"a": 1, "b": 2},
                 ['x: Invalid value: "b": x.b in body is a forbidden property'],
                 id="additional-false"),
    pytest.param({"anyOf": [{"type": "integer"}, {"type": "string"}]}, True,
                 ["x: Invalid value: true: x must validate at least one schema (anyOf)"],
                 id="any-of"),
    pytest.param({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "a", [], id="any-of-ok"),
    pytest.param({"oneOf": [{"type": "integer", "minimum": 0}, {"type": "integer",
                                                                "maximum": 10}]}, 5,
                 ["x: Invalid value: 5: x must validate one and only one schema (oneOf). "
                  "Found 2 valid alternatives"], id="one-of-two"),
    pytest.param({"allOf": [{"minimum": 1}, {"maximum": 3}]}, 4,
                 ["x: Invalid value: 4: x in body should be less than or equal to 3"],
                 id="all-of"),
    pytest.param({"type": "number", "maximum": 1.5, "exclusiveMaximum": True}, 1.5,
                 ["x: Invalid value: 1.5: x in body should be less than 1.5"],
                 id="exclusive-maximum"),
])
def test_less_common_keywords(node: dict[str, Any], value: Any, expected: list[str]) -> None:
    """Collection sizes, closed objects and combinators also report kube-openapi's words."""
    wrapped = {"type": "object", "properties": {"x": node}}
    assert [str(e) for e in schema.validate(wrapped, {"x": value})] == expected
