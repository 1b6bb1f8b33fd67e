"""Structural openAPIV3Schema support for custom resources: validate, default, prune.

Custom objects go through the same three steps kube-apiserver applies to them: unknown
fields are pruned, `default:` values are filled in, then the object is validated. The
messages follow kube-openapi's wording as apiextensions-apiserver turns it into field
errors, e.g. `spec.size: Invalid value: -1: spec.size in body should be greater than or
equal to 0`. Paths use kube-openapi's style (`spec.items[0].name`, `spec.labels.key`).

Not supported: `x-kubernetes-validations` (CEL rules) and string `format`s, which are
accepted without checks.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cluster.api import errors
from cluster.api.errors import FieldError
from cluster.api.objects import clone

Schema = dict[str, Any]

OPENAPI_TYPES = ("array", "boolean", "integer", "number", "object", "string")
"""The types a structural schema may name (sorted, as the "supported values" list prints)."""

_RESOURCE_META_FIELDS = ("apiVersion", "kind", "metadata")
_IN = "body"


# ---------------------------------------------------------------- helpers


def _json_type(value: Any) -> str:
    """kube-openapi's name for the JSON type of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _allowed_types(schema: Schema) -> list[str]:
    if schema.get("x-kubernetes-int-or-string"):
        return ["integer", "string"]
    kind = schema.get("type")
    return [kind] if isinstance(kind, str) and kind else []


def _type_matches(value: Any, allowed: list[str]) -> bool:
    actual = _json_type(value)
    if actual in allowed:
        return True
    if actual == "integer" and "number" in allowed:
        return True
    # A JSON number with no fractional part is an integer (`3.0` decodes as a float).
    return actual == "number" and "integer" in allowed and float(value).is_integer()


def _number_text(value: int | float) -> str:
    """Go's `%v` of a bound: `0`, `1.5`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _properties(schema: Schema) -> dict[str, Schema]:
    """The property schemas; a malformed `properties` (caught by CRD validation) is none."""
    value = schema.get("properties")
    if not isinstance(value, dict):
        return {}
    return {key: prop for key, prop in value.items() if isinstance(prop, dict)}


def _subschemas(schema: Schema, key: str) -> list[Schema]:
    value = schema.get(key)
    return [sub for sub in value if isinstance(sub, dict)] if isinstance(value, list) else []


def _schema_items(schema: Schema) -> Schema | None:
    items = schema.get("items")
    return items if isinstance(items, dict) else None


def _additional_schema(schema: Schema) -> Schema | None:
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


# ---------------------------------------------------------------- validation


def validate(schema: Schema, obj: Any) -> list[FieldError]:
    """Validate a custom object (root `metadata` excluded) against its schema."""
    if not isinstance(obj, dict) or not isinstance(schema, dict):
        return _validate_node(schema or {}, obj, "")
    body = {key: value for key, value in obj.items() if key != "metadata"}
    root = dict(schema)
    properties = dict(root.get("properties") or {})
    properties.pop("metadata", None)
    root["properties"] = properties
    root["required"] = [name for name in root.get("required") or () if name != "metadata"]
    return _validate_node(root, body, "")


def _validate_node(schema: Schema, value: Any, path: str) -> list[FieldError]:
    name = path or "."
    if value is None:
        if schema.get("nullable") or not _allowed_types(schema):
            return []
        return [errors.type_invalid(path, "null", _type_message(name, schema, "null"))]
    allowed = _allowed_types(schema)
    if allowed and not _type_matches(value, allowed):
        actual = _json_type(value)
        return [errors.type_invalid(path, actual, _type_message(name, schema, actual))]

    found: list[FieldError] = []
    choices = schema.get("enum")
    if isinstance(choices, list) and not any(_json_equal(value, c) for c in choices):
        supported = [c if isinstance(c, str) else json.dumps(c) for c in choices]
        found.append(errors.not_supported(path, value, supported))
    if isinstance(value, bool):
        pass
    elif isinstance(value, (int, float)):
        found.extend(_validate_number(schema, value, path, name))
    elif isinstance(value, str):
        found.extend(_validate_string(schema, value, path, name))
    elif isinstance(value, list):
        found.extend(_validate_array(schema, value, path, name))
    elif isinstance(value, dict):
        found.extend(_validate_object(schema, value, path, name))
    found.extend(_validate_combinators(schema, value, path, name))
    return found


def _type_message(name: str, schema: Schema, actual: str) -> str:
    expected = ",".join(_allowed_types(schema))
    return f'{name} in {_IN} must be of type {expected}: "{actual}"'


def _json_equal(left: Any, right: Any) -> bool:
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True) or (
        isinstance(left, (int, float)) and isinstance(right, (int, float))
        and not isinstance(left, bool) and not isinstance(right, bool) and left == right)


def _validate_number(schema: Schema, value: int | float, path: str, name: str) -> list[FieldError]:
    found: list[FieldError] = []
    factor = schema.get("multipleOf")
    if isinstance(factor, (int, float)) and factor > 0:
        quotient = value / factor
        if not float(quotient).is_integer():
            found.append(errors.invalid(
                path, value, f"{name} in {_IN} should be a multiple of {_number_text(factor)}"))
    minimum = schema.get("minimum")
    if isinstance(minimum, (int, float)):
        exclusive = bool(schema.get("exclusiveMinimum"))
        if value < minimum or (exclusive and value == minimum):
            relation = "greater than" if exclusive else "greater than or equal to"
            found.append(errors.invalid(
                path, value, f"{name} in {_IN} should be {relation} {_number_text(minimum)}"))
    maximum = schema.get("maximum")
    if isinstance(maximum, (int, float)):
        exclusive = bool(schema.get("exclusiveMaximum"))
        if value > maximum or (exclusive and value == maximum):
            relation = "less than" if exclusive else "less than or equal to"
            found.append(errors.invalid(
                path, value, f"{name} in {_IN} should be {relation} {_number_text(maximum)}"))
    return found


def _validate_string(schema: Schema, value: str, path: str, name: str) -> list[FieldError]:
    # Like kube-openapi's string validator, report only the first failing rule.
    max_length = schema.get("maxLength")
    if isinstance(max_length, int) and len(value) > max_length:
        return [errors.too_long(path, max_length)]
    min_length = schema.get("minLength")
    if isinstance(min_length, int) and len(value) < min_length:
        return [errors.invalid(
            path, value, f"{name} in {_IN} should be at least {min_length} chars long")]
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            matched = re.search(pattern, value) is not None
        except re.error as exc:
            return [errors.invalid(
                path, value, f"{name} in {_IN} should match '{pattern}, but pattern is invalid: "
                f"{exc}'")]
        if not matched:
            return [errors.invalid(path, value, f"{name} in {_IN} should match '{pattern}'")]
    return []


def _validate_array(schema: Schema, value: list[Any], path: str, name: str) -> list[FieldError]:
    found: list[FieldError] = []
    items = _schema_items(schema)
    if items is not None:
        for index, item in enumerate(value):
            found.extend(_validate_node(items, item, f"{path}[{index}]"))
    min_items = schema.get("minItems")
    if isinstance(min_items, int) and len(value) < min_items:
        found.append(errors.invalid(
            path, len(value), f"{name} in {_IN} should have at least {min_items} items"))
    max_items = schema.get("maxItems")
    if isinstance(max_items, int) and len(value) > max_items:
        found.append(errors.too_many(path, len(value), max_items))
    if schema.get("uniqueItems"):
        seen: set[str] = set()
        for item in value:
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                found.append(errors.invalid(
                    path, value, f"{name} in {_IN} shouldn't contain duplicates"))
                break
            seen.add(key)
    return found


def _validate_object(schema: Schema, value: dict[str, Any], path: str,
                     name: str) -> list[FieldError]:
    found: list[FieldError] = []
    min_props = schema.get("minProperties")
    if isinstance(min_props, int) and len(value) < min_props:
        found.append(errors.invalid(
            path, len(value), f"{name} in {_IN} should have at least {min_props} properties"))
    max_props = schema.get("maxProperties")
    if isinstance(max_props, int) and len(value) > max_props:
        found.append(errors.too_many(path, len(value), max_props))
    properties = _properties(schema)
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            continue
        if extra is False:
            found.append(errors.invalid(
                path, key, f"{name}.{key} in {_IN} is a forbidden property"))
        elif isinstance(extra, dict):
            found.extend(_validate_node(extra, item, _child(path, key)))
    for key, prop in properties.items():
        if key in value:
            found.extend(_validate_node(prop, value[key], _child(path, key)))
    required = schema.get("required")
    for key in required if isinstance(required, list) else ():
        if isinstance(key, str) and key not in value:
            found.append(errors.required(_child(path, key)))
    return found


def _validate_combinators(schema: Schema, value: Any, path: str, name: str) -> list[FieldError]:
    found: list[FieldError] = []
    for sub in _subschemas(schema, "allOf"):
        found.extend(_validate_node(sub, value, path))
    any_of = _subschemas(schema, "anyOf")
    if any_of and all(_validate_node(sub, value, path) for sub in any_of):
        found.append(errors.invalid(path, value,
                                    f"{name} must validate at least one schema (anyOf)"))
    one_of = _subschemas(schema, "oneOf")
    if one_of:
        valid = sum(1 for sub in one_of if not _validate_node(sub, value, path))
        if valid == 0:
            found.append(errors.invalid(
                path, value, f"{name} must validate one and only one schema (oneOf). "
                "Found none valid"))
        elif valid > 1:
            found.append(errors.invalid(
                path, value, f"{name} must validate one and only one schema (oneOf). "
                f"Found {valid} valid alternatives"))
    negated = schema.get("not")
    if isinstance(negated, dict) and not _validate_node(negated, value, path):
        found.append(errors.invalid(path, value, f"{name} must not validate the schema (not)"))
    return found


# ---------------------------------------------------------------- defaulting


def apply_defaults(schema: Schema, obj: Any) -> None:
    """Fill in `default:` values, recursing into defaulted values too (structural defaulting).

    A null in a non-nullable field that has a default is replaced by the default, as
    apiextensions-apiserver does after pruning nulls.
    """
    if not isinstance(schema, dict):
        return
    if isinstance(obj, dict):
        properties = _properties(schema)
        for key, prop in properties.items():
            if "default" not in prop:
                continue
            if key not in obj or _is_non_nullable_null(obj[key], prop):
                obj[key] = clone(prop["default"])
        extra = _additional_schema(schema)
        for key, value in obj.items():
            if key in properties:
                apply_defaults(properties[key], value)
            elif extra is not None:
                if _is_non_nullable_null(value, extra) and "default" in extra:
                    obj[key] = value = clone(extra["default"])
                apply_defaults(extra, value)
    elif isinstance(obj, list):
        items = _schema_items(schema)
        if items is None:
            return
        for index, value in enumerate(obj):
            if _is_non_nullable_null(value, items) and "default" in items:
                obj[index] = value = clone(items["default"])
            apply_defaults(items, value)


def _is_non_nullable_null(value: Any, schema: Schema) -> bool:
    return value is None and not schema.get("nullable")


# ---------------------------------------------------------------- pruning


def prune(schema: Schema, obj: Any) -> None:
    """Drop fields the schema does not specify, unless `x-kubernetes-preserve-unknown-fields`.

    At the root (and in `x-kubernetes-embedded-resource` objects) `apiVersion`, `kind` and
    `metadata` are always kept; the root `metadata` is never pruned by the schema.
    """
    _prune(schema, obj, is_resource_root=True)


def _prune(schema: Schema | None, value: Any, *, is_resource_root: bool) -> None:
    if not isinstance(schema, dict):
        return
    if isinstance(value, dict):
        properties = _properties(schema)
        extra = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        keep_meta = is_resource_root or bool(schema.get("x-kubernetes-embedded-resource"))
        for key in list(value):
            if keep_meta and key in _RESOURCE_META_FIELDS:
                if key != "metadata" and key in properties:
                    _prune(properties[key], value[key], is_resource_root=False)
                continue
            if key in properties:
                prop = properties[key]
                _prune(prop, value[key],
                       is_resource_root=bool(prop.get("x-kubernetes-embedded-resource")))
            elif isinstance(extra, dict):
                _prune(extra, value[key],
                       is_resource_root=bool(extra.get("x-kubernetes-embedded-resource")))
            elif extra is True or preserve:
                continue
            else:
                del value[key]
    elif isinstance(value, list):
        items = _schema_items(schema)
        if items is None:
            return
        for item in value:
            _prune(items, item, is_resource_root=bool(items.get("x-kubernetes-embedded-resource")))


# ---------------------------------------------------------------- structural checks


def validate_structural(schema: Any, path: str) -> list[FieldError]:
    """Check that a CRD's openAPIV3Schema is structural enough to validate, default and prune.

    `path` is where the schema sits in the CRD (`spec.versions[0].schema.openAPIV3Schema`).
    """
    if not isinstance(schema, dict):
        return [errors.invalid(path, schema, "must be an object")]
    found: list[FieldError] = []
    kind = schema.get("type")
    if not kind:
        found.append(errors.required(f"{path}.type", "must not be empty at the root"))
    elif kind != "object":
        found.append(errors.invalid(f"{path}.type", kind, "must be object at the root"))
    found.extend(_check_root_metadata(schema, path))
    found.extend(_check_node(schema, path, _Context.ROOT))
    return found


class _Context:
    ROOT = "root"
    FIELD = "field"
    ITEMS = "items"


_MISSING_TYPE = {
    _Context.FIELD: "must not be empty for specified object fields",
    _Context.ITEMS: "must not be empty for specified array items",
}


def _check_root_metadata(schema: Schema, path: str) -> list[FieldError]:
    metadata = _properties(schema).get("metadata")
    if not isinstance(metadata, dict):
        return []
    allowed = {"type", "properties"}
    extra_keys = set(metadata) - allowed
    extra_props = set(_properties(metadata)) - {"name", "generateName"}
    if extra_keys or extra_props:
        return [errors.forbidden(f"{path}.properties[metadata]",
                                 "must not specify anything other than name and generateName, "
                                 "but metadata is implicitly specified")]
    return []


_KEYWORD_TYPES: dict[str, tuple[type, ...]] = {
    "type": (str,), "properties": (dict,), "items": (dict,), "required": (list,),
    "enum": (list,), "additionalProperties": (bool, dict), "pattern": (str,),
    "minimum": (int, float), "maximum": (int, float), "multipleOf": (int, float),
    "minLength": (int,), "maxLength": (int,), "minItems": (int,), "maxItems": (int,),
    "minProperties": (int,), "maxProperties": (int,), "allOf": (list,), "anyOf": (list,),
    "oneOf": (list,), "not": (dict,), "nullable": (bool,),
    "x-kubernetes-int-or-string": (bool,), "x-kubernetes-preserve-unknown-fields": (bool,),
    "x-kubernetes-embedded-resource": (bool,),
}
_KEYWORD_TYPE_NAMES = {str: "a string", dict: "an object", list: "a list", bool: "a boolean",
                       int: "an integer", float: "a number"}


def _keyword_type_errors(schema: Schema, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for keyword, allowed in _KEYWORD_TYPES.items():
        value = schema.get(keyword)
        if value is None:
            continue
        numeric_bool = isinstance(value, bool) and bool not in allowed
        if numeric_bool or not isinstance(value, allowed):
            expected = " or ".join(_KEYWORD_TYPE_NAMES[t] for t in allowed)
            found.append(errors.invalid(f"{path}.{keyword}", value, f"must be {expected}"))
    return found


def _check_node(schema: Schema, path: str, context: str) -> list[FieldError]:
    found = _keyword_type_errors(schema, path)
    if found:
        return found  # The rest of the checks would only trip over the same mistakes.
    kind = schema.get("type")
    int_or_string = bool(schema.get("x-kubernetes-int-or-string"))
    preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    if kind and kind not in OPENAPI_TYPES:
        found.append(errors.not_supported(f"{path}.type", kind, list(OPENAPI_TYPES)))
    if not kind and context in _MISSING_TYPE and not int_or_string and not preserve:
        found.append(errors.required(f"{path}.type", _MISSING_TYPE[context]))
    if kind == "array" and not isinstance(schema.get("items"), dict):
        found.append(errors.required(f"{path}.items", "must be specified"))
    if _properties(schema) and isinstance(schema.get("additionalProperties"), dict):
        found.append(errors.forbidden(f"{path}.additionalProperties",
                                      "additionalProperties and properties are mutual exclusive"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as exc:
            found.append(errors.invalid(f"{path}.pattern", pattern,
                                        f"must be a valid regular expression, but isn't: {exc}"))
    for key, prop in (schema.get("properties") or {}).items():
        child = f"{path}.properties[{key}]"
        if isinstance(prop, dict):
            found.extend(_check_node(prop, child, _Context.FIELD))
        else:
            found.append(errors.invalid(child, prop, "must be an object"))
    items = schema.get("items")
    if isinstance(items, dict):
        found.extend(_check_node(items, f"{path}.items", _Context.ITEMS))
    extra = _additional_schema(schema)
    if extra is not None:
        found.extend(_check_node(extra, f"{path}.additionalProperties", _Context.FIELD))
    if "default" in schema:
        found.extend(_check_default(schema, path))
    return found


def _check_default(schema: Schema, path: str) -> list[FieldError]:
    """A default must itself be valid: apiextensions rejects CRDs whose defaults are not."""
    return _validate_node(_without_default(schema), schema["default"], f"{path}.default")


def _without_default(schema: Schema) -> Schema:
    return {key: value for key, value in schema.items() if key != "default"}


def has_defaults(schema: Any) -> bool:
    """Whether any node of the schema declares a `default:` (defaulting then has work to do)."""
    if not isinstance(schema, dict):
        return False
    if "default" in schema:
        return True
    children: list[Any] = list(_properties(schema).values())
    children.append(schema.get("items"))
    children.append(schema.get("additionalProperties"))
    return any(has_defaults(child) for child in children)
