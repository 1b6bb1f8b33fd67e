"""What kube-apiserver refuses, and the words it refuses it with.

`validate_object` checks an object being created and `validate_update` one replacing
`old`; both return `FieldError`s that `errors.Invalid(rt.qualified_kind, name, errs)` turns
into kube-apiserver's message, e.g. `Deployment.apps "web" is invalid: spec.replicas:
Invalid value: -1: must be greater than or equal to 0`. The checks, paths and wording follow
`pkg/apis/*/validation` of kubernetes/kubernetes, so what users see matches a real cluster.

The API server defaults objects before validating them (`defaults.apply_defaults`). Fields
that defaulting always fills (restartPolicy, protocol, imagePullPolicy...) are therefore
checked only when present, so validating an undefaulted object reports no spurious
`Required value`s. Values of the wrong JSON type, which a real server rejects while
decoding, are reported as field errors instead of raising.

Deliberate differences from a real cluster: endpoint and service IPs may be loopback
addresses (each pod of this one-laptop cluster gets a 127.x address), and status is not
validated except a Node's capacity.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeGuard

import orjson

from cluster.api import errors, names, quantity
from cluster.api import schema as crd_schema
from cluster.api.errors import FieldError
from cluster.api.resources import ResourceType

JSONObject = dict[str, Any]
Errors = list[FieldError]
NameRule = Callable[[str], list[str]]

FIELD_IMMUTABLE = "field is immutable"
IS_NEGATIVE = "must be greater than or equal to 0"
NOT_POSITIVE = "must be greater than zero"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
MAX_SECRET_SIZE = 1024 * 1024
MAX_INT32 = 2**31 - 1

STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
STANDARD_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})

POD_UPDATABLE_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
POD_UPDATE_FORBIDDEN = ("pod updates may not change fields other than "
                        + ",".join(POD_UPDATABLE_FIELDS))
STATEFULSET_UPDATE_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
PVC_UPDATE_FORBIDDEN = ("spec is immutable after creation except resources.requests and "
                        "volumeAttributesClassName for bound claims")

PORT_PROTOCOLS = ["SCTP", "TCP", "UDP"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
TOLERATION_OPERATORS = ["Equal", "Exists"]
SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
SESSION_AFFINITIES = ["ClientIP", "None"]
ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"]
VOLUME_MODES = ["Block", "Filesystem"]
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
DEPLOYMENT_STRATEGIES = ["Recreate", "RollingUpdate"]
RETENTION_POLICIES = ["Retain", "Delete"]
CRD_SCOPES = ["Cluster", "Namespaced"]
PRINTER_COLUMN_TYPES = ("boolean", "date", "integer", "number", "string")
HANDLER_TYPES = ("exec", "httpGet", "tcpSocket", "grpc")
LIFECYCLE_HANDLER_TYPES = ("exec", "httpGet", "tcpSocket", "sleep")
VOLUME_SOURCES = (
    "emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret",
    "nfs", "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "cinder", "cephfs",
    "quobyte", "downwardAPI", "fc", "flexVolume", "configMap", "azureFile", "vsphereVolume",
    "photonPersistentDisk", "portworxVolume", "azureDisk", "storageos", "projected", "scaleIO",
    "csi", "ephemeral", "image",
)


# ================================================================ entry points


class KnownValid:
    """Pod specs, label sets and namespace names that passed validation, remembered by
    their exact content.

    The pods of one template carry the same spec and the same labels, thousands of times
    over; checking them is most of what a pod create costs. An API server keeps one of
    these and passes it to `validate_object`/`validate_update`: content seen valid before
    is not checked again. Nothing is skipped: the key is the content itself (a spec's JSON
    bytes, a label set's items), so only a byte-for-byte repeat of valid input is trusted,
    and anything else, any invalid input included, is checked in full every time.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._specs: OrderedDict[bytes, None] = OrderedDict()
        self._labels: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], None] = OrderedDict()
        self._namespaces: OrderedDict[str, None] = OrderedDict()

    def pod_spec_errors(self, spec: JSONObject, path: str) -> Errors:
        try:
            key = orjson.dumps(spec)
        except TypeError:  # not plain JSON (a huge int, a non-string key): just check it
            return validate_pod_spec(spec, path)
        if b"null" in key:
            # JSON writes NaN and infinities as null: never let one pass for another.
            return validate_pod_spec(spec, path)
        key = path.encode() + b"\0" + key
        if key in self._specs:
            self._specs.move_to_end(key)
            return []
        found = validate_pod_spec(spec, path)
        if not found:
            self._remember(self._specs, key)
        return found

    def namespace_messages(self, namespace: str) -> list[str]:
        """What is wrong with `namespace` as a namespace name (a DNS label)."""
        if namespace in self._namespaces:
            return []
        found = names.is_dns1123_label(namespace)
        if not found:
            self._remember(self._namespaces, namespace)
        return found

    def label_errors(self, labels: dict[str, str], path: str) -> Errors:
        key = (path, tuple(labels.items()))
        if key in self._labels:
            self._labels.move_to_end(key)
            return []
        found = validate_labels(labels, path)
        if not found:
            self._remember(self._labels, key)
        return found

    def _remember(self, seen: OrderedDict[Any, None], key: Any) -> None:
        seen[key] = None
        if len(seen) > self._size:
            seen.popitem(last=False)


def validate_object(rt: ResourceType, obj: JSONObject, *,
                    known: KnownValid | None = None) -> list[FieldError]:
    """Everything wrong with `obj` as a new object of kind `rt`."""
    found = _validate_metadata(rt, obj, known)
    found.extend(_validate_content(rt, obj, known))
    return found


def validate_update(rt: ResourceType, obj: JSONObject, old: JSONObject, *,
                    known: KnownValid | None = None) -> list[FieldError]:
    """Everything wrong with replacing `old` by `obj`: create's checks plus immutability."""
    found = _validate_metadata_update(obj, old, known)
    found.extend(_validate_content(rt, obj, known))
    update_rule = _UPDATE_VALIDATORS.get(rt.key)
    if update_rule is not None and not rt.custom:
        found.extend(update_rule(obj, old))
    return found


def _validate_content(rt: ResourceType, obj: JSONObject, known: KnownValid | None = None) -> Errors:
    if rt.custom:
        return crd_schema.validate(rt.schema, obj) if rt.schema is not None else []
    if known is not None and rt.key == "pods":
        found: Errors = []
        spec = _spec_of(found, obj)
        found.extend(known.pod_spec_errors(spec, "spec"))
        return found
    rule = _VALIDATORS.get(rt.key)
    return rule(obj) if rule is not None else []


# ================================================================ paths and typed access


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _index(path: str, index: int) -> str:
    return f"{path}[{index}]"


def _key(path: str, key: str) -> str:
    return f"{path}[{key}]"


def _obj(parent: JSONObject, key: str) -> JSONObject:
    """`parent[key]` when it is an object, else `{}` (for reads that report nothing)."""
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _items(parent: JSONObject, key: str) -> list[Any]:
    """`parent[key]` when it is a list, else `[]` (for reads that report nothing)."""
    value = parent.get(key)
    return value if isinstance(value, list) else []


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _dict_at(found: Errors, parent: JSONObject, key: str, path: str) -> JSONObject | None:
    """`parent[key]` if it is an object; a wrongly typed value is reported, absence is not."""
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        found.append(errors.invalid(path, value, "must be an object"))
        return None
    return value


def _list_at(found: Errors, parent: JSONObject, key: str, path: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        found.append(errors.invalid(path, value, "must be a list"))
        return []
    return value


def _dict_items(found: Errors, parent: JSONObject, key: str,
                path: str) -> list[tuple[int, JSONObject, str]]:
    """(index, item, item path) for each object in a list field; other items are reported."""
    result = []
    for index, item in enumerate(_list_at(found, parent, key, path)):
        item_path = _index(path, index)
        if isinstance(item, dict):
            result.append((index, item, item_path))
        else:
            found.append(errors.invalid(item_path, item, "must be an object"))
    return result


def _int_at(found: Errors, parent: JSONObject, key: str, path: str) -> int | None:
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not _is_int(value):
        found.append(errors.invalid(path, value, "must be an integer"))
        return None
    return value


def _str_at(found: Errors, parent: JSONObject, key: str, path: str) -> str | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        found.append(errors.invalid(path, value, "must be a string"))
        return None
    return value


def _str_map_at(found: Errors, parent: JSONObject, key: str, path: str) -> dict[str, str]:
    """A `map[string]string` field (labels, selectors, data); non-string values are reported."""
    value = _dict_at(found, parent, key, path)
    if value is None:
        return {}
    result: dict[str, str] = {}
    for item_key, item in value.items():
        if isinstance(item, str):
            result[item_key] = item
        else:
            found.append(errors.invalid(_key(path, item_key), item, "must be a string"))
    return result


def _non_negative(found: Errors, parent: JSONObject, key: str, path: str) -> int | None:
    value = _int_at(found, parent, key, path)
    if value is not None and value < 0:
        found.append(errors.invalid(path, value, IS_NEGATIVE))
    return value


def _enum(found: Errors, parent: JSONObject, key: str, path: str, supported: list[str]) -> None:
    """An enum field that defaulting fills: checked only when set to something."""
    value = parent.get(key)
    if value in (None, ""):
        return
    if value not in supported:
        found.append(errors.not_supported(path, value, supported))


def _each_message(path: str, value: Any, messages: list[str]) -> Errors:
    return [errors.invalid(path, value, message) for message in messages]


def _immutable(found: Errors, new: Any, old: Any, path: str) -> None:
    if new != old:
        found.append(errors.invalid(path, new, FIELD_IMMUTABLE))


def _valid_ip(path: str, value: Any) -> Errors:
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return []
        except ValueError:
            pass
    return [errors.invalid(path, value,
                           "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")]


def _port_num_or_name(path: str, value: Any) -> Errors:
    if _is_int(value):
        return _each_message(path, value, names.is_valid_port_num(value))
    if isinstance(value, str):
        return _each_message(path, value, names.is_valid_port_name(value))
    return [errors.invalid(path, value, "must be an integer or a port name")]


def _summarize_diff(old: Any, new: Any, path: str = "", limit: int = 20) -> list[str]:
    """`path: old -> new` lines, standing in for the Go struct diff kube-apiserver appends."""
    lines: list[str] = []

    def walk(a: Any, b: Any, at: str) -> None:
        if len(lines) >= limit or a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for item_key in sorted(set(a) | set(b)):
                walk(a.get(item_key), b.get(item_key), _child(at, item_key))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for position, (left, right) in enumerate(zip(a, b, strict=True)):
                walk(left, right, _index(at, position))
        else:
            lines.append(f"  {at}: {_compact(a)} -> {_compact(b)}")

    walk(old, new, path)
    return lines


def _compact(value: Any) -> str:
    return "<unset>" if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


# ================================================================ metadata


_NAME_RULES: dict[str, NameRule] = {
    "namespaces": names.is_dns1123_label,
    "services": names.is_dns1035_label,
    "statefulsets.apps": names.is_dns1123_label,
}
"""Name format per store key; everything else is a DNS-1123 subdomain."""


def _metadata_of(found: Errors, obj: JSONObject) -> JSONObject:
    meta = _dict_at(found, obj, "metadata", "metadata")
    return meta if meta is not None else {}


def _validate_metadata(rt: ResourceType, obj: JSONObject, known: KnownValid | None = None) -> Errors:
    """ObjectMeta on create: name, namespace, labels, annotations, owners, finalizers."""
    found: Errors = []
    meta = _metadata_of(found, obj)
    name = _str_at(found, meta, "name", "metadata.name")
    if not name:
        found.append(errors.required("metadata.name", "name or generateName is required"))
    else:
        messages = _name_messages(rt, obj, name)
        if messages:
            found.extend(_each_message("metadata.name", name, messages))
    namespace = _str_at(found, meta, "namespace", "metadata.namespace")
    if rt.namespaced:
        if not namespace:
            found.append(errors.required("metadata.namespace"))
        else:
            messages = (known.namespace_messages(namespace) if known is not None
                        else names.is_dns1123_label(namespace))
            if messages:
                found.extend(_each_message("metadata.namespace", namespace, messages))
    elif namespace:
        found.append(errors.forbidden("metadata.namespace", "not allowed on this type"))
    found.extend(_validate_meta_common(meta, known))
    return found


def _name_messages(rt: ResourceType, obj: JSONObject, name: str) -> list[str]:
    if rt.key == "customresourcedefinitions.apiextensions.k8s.io":
        return _crd_name_messages(obj, name)
    rule = _NAME_RULES.get(rt.key, names.is_dns1123_subdomain)
    return rule(name)


def _validate_meta_common(meta: JSONObject, known: KnownValid | None = None) -> Errors:
    """The metadata checks shared by create and update.

    Each check runs only for a field that is there (an absent one has nothing wrong with
    it): most objects, events above all, carry none of them.
    """
    found: Errors = []
    get = meta.get
    if get("generation") is not None:
        _non_negative(found, meta, "generation", "metadata.generation")
    if get("labels") is not None:
        labels = _str_map_at(found, meta, "labels", "metadata.labels")
        found.extend(known.label_errors(labels, "metadata.labels") if known is not None
                     else validate_labels(labels, "metadata.labels"))
    if get("annotations") is not None:
        found.extend(validate_annotations(
            _str_map_at(found, meta, "annotations", "metadata.annotations"),
            "metadata.annotations"))
    if get("ownerReferences") is not None:
        found.extend(_validate_owner_references(meta))
    if get("finalizers") is not None:
        found.extend(_validate_finalizers(meta))
    return found


def validate_labels(labels: dict[str, str], path: str) -> Errors:
    """Label keys are qualified names; values are empty or short alphanumeric strings."""
    found: Errors = []
    for key, value in labels.items():
        found.extend(_each_message(path, key, names.is_qualified_name(key)))
        found.extend(_each_message(path, value, names.is_valid_label_value(value)))
    return found


def validate_annotations(annotations: dict[str, str], path: str) -> Errors:
    """Annotation keys are qualified names (case-insensitively); 256 KiB in total at most."""
    found: Errors = []
    total = 0
    for key, value in annotations.items():
        found.extend(_each_message(path, key, names.is_qualified_name(key.lower())))
        total += len(key.encode()) + len(value.encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        found.append(errors.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return found


def _validate_owner_references(meta: JSONObject) -> Errors:
    found: Errors = []
    path = "metadata.ownerReferences"
    refs = _dict_items(found, meta, "ownerReferences", path)
    first_controller = ""
    for _, ref, ref_path in refs:
        api_version = ref.get("apiVersion")
        if not api_version:
            found.append(errors.required(_child(ref_path, "apiVersion"), "must not be empty"))
        elif not isinstance(api_version, str) or not _is_group_version(api_version):
            found.append(errors.invalid(_child(ref_path, "apiVersion"), api_version,
                                        "must be <group>/<version> or <version>"))
        for field_name in ("kind", "name", "uid"):
            if not ref.get(field_name):
                found.append(errors.required(_child(ref_path, field_name), "must not be empty"))
        if api_version == "v1" and ref.get("kind") == "Event":
            found.append(errors.invalid(ref_path, ref, "/v1, Kind=Event is disallowed from "
                                        "being an owner"))
        if ref.get("controller") is True:
            current = f"{ref.get('kind', '')}/{ref.get('name', '')}"
            if first_controller:
                found.append(errors.invalid(
                    path, [r for _, r, _ in refs],
                    "Only one reference can have Controller set to true. Found \"true\" in "
                    f"references for {first_controller} and {current}"))
            else:
                first_controller = current
    return found


def _is_group_version(text: str) -> bool:
    parts = text.split("/")
    if len(parts) == 1:
        return bool(parts[0])
    return len(parts) == 2 and all(parts)


def _validate_finalizers(meta: JSONObject) -> Errors:
    found: Errors = []
    path = "metadata.finalizers"
    finalizers = _list_at(found, meta, "finalizers", path)
    for index, finalizer in enumerate(finalizers):
        if not isinstance(finalizer, str):
            found.append(errors.invalid(_index(path, index), finalizer, "must be a string"))
            continue
        found.extend(_finalizer_name_errors(finalizer, path, _index(path, index)))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        found.append(errors.invalid(path, finalizers,
                                    "finalizer orphan and foregroundDeletion cannot be both set"))
    return found


def _finalizer_name_errors(finalizer: str, path: str, indexed_path: str) -> Errors:
    found = _each_message(path, finalizer, names.is_qualified_name(finalizer))
    if "/" not in finalizer and finalizer not in STANDARD_FINALIZERS:
        found.append(errors.invalid(indexed_path, finalizer, "name is neither a standard "
                                    "finalizer name nor is it fully qualified"))
    return found


def _validate_metadata_update(obj: JSONObject, old: JSONObject,
                              known: KnownValid | None = None) -> Errors:
    """ObjectMeta on update: identity is immutable; a deleting object takes no new finalizers.

    Fields the server owns (resourceVersion, generation, creationTimestamp) are not
    checked: the API server carries them over from the stored object, as rest.BeforeUpdate
    does, and an update that omits `uid` keeps the stored one.
    """
    found: Errors = []
    meta = _metadata_of(found, obj)
    old_meta = _obj(old, "metadata")
    _immutable(found, meta.get("name"), old_meta.get("name"), "metadata.name")
    _immutable(found, meta.get("namespace") or "", old_meta.get("namespace") or "",
               "metadata.namespace")
    if meta.get("uid") and meta.get("uid") != old_meta.get("uid"):
        found.append(errors.invalid("metadata.uid", meta.get("uid"), FIELD_IMMUTABLE))
    if old_meta.get("deletionTimestamp"):
        old_finalizers = {f for f in old_meta.get("finalizers") or () if isinstance(f, str)}
        added = sorted(f for f in meta.get("finalizers") or ()
                       if isinstance(f, str) and f not in old_finalizers)
        if added:
            shown = ", ".join(json.dumps(f) for f in added)
            found.append(errors.forbidden(
                "metadata.finalizers", "no new finalizers can be added if the object is being "
                f"deleted, found new finalizers []string{{{shown}}}"))
    found.extend(_validate_meta_common(meta, known))
    return found


# ================================================================ label selectors


def validate_label_selector(selector: JSONObject, path: str) -> Errors:
    """A metav1.LabelSelector: valid keys and values, known operators, values when needed."""
    found: Errors = []
    found.extend(validate_labels(_str_map_at(found, selector, "matchLabels",
                                             _child(path, "matchLabels")),
                                 _child(path, "matchLabels")))
    for _, requirement, req_path in _dict_items(found, selector, "matchExpressions",
                                                _child(path, "matchExpressions")):
        operator = requirement.get("operator")
        values = requirement.get("values") or []
        if operator in ("In", "NotIn"):
            if not values:
                found.append(errors.required(_child(req_path, "values"),
                                             "must be specified when `operator` is 'In' or "
                                             "'NotIn'"))
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                found.append(errors.forbidden(_child(req_path, "values"),
                                              "may not be specified when `operator` is 'Exists' "
                                              "or 'DoesNotExist'"))
        else:
            found.append(errors.invalid(_child(req_path, "operator"), operator,
                                        "not a valid selector operator"))
        key = requirement.get("key")
        key_text = key if isinstance(key, str) else ""
        found.extend(_each_message(_child(req_path, "key"), key,
                                   names.is_qualified_name(key_text)))
        if isinstance(values, list):
            for index, value in enumerate(values):
                if not isinstance(value, str):
                    found.append(errors.invalid(_index(_child(req_path, "values"), index), value,
                                                "must be a string"))
                    continue
                found.extend(_each_message(_index(_child(req_path, "values"), index), value,
                                           names.is_valid_label_value(value)))
    return found


def selector_is_empty(selector: JSONObject) -> bool:
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


def selector_matches(selector: JSONObject, labels: dict[str, Any]) -> bool:
    """Whether a LabelSelector selects these labels (an empty selector selects everything)."""
    match_labels = selector.get("matchLabels") or {}
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for requirement in selector.get("matchExpressions") or ():
        key = requirement.get("key")
        operator = requirement.get("operator")
        values = requirement.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


# ================================================================ resources and quantities


def _validate_resource_list(found: Errors, resources: JSONObject, key: str,
                            path: str) -> dict[str, Any]:
    """Parse one of `limits`/`requests`; returns the parsed quantities by resource name."""
    parsed: dict[str, Any] = {}
    amounts = _dict_at(found, resources, key, path)
    for name, amount in (amounts or {}).items():
        item_path = _key(path, name)
        found.extend(_each_message(item_path, name, names.is_qualified_name(name)))
        if ("/" not in name and name not in STANDARD_CONTAINER_RESOURCES
                and not name.startswith("hugepages-")):
            found.append(errors.invalid(item_path, name, "must be a standard resource for "
                                        "containers"))
        try:
            value = quantity.parse_quantity(amount)
        except quantity.QuantityError as exc:
            found.append(errors.invalid(item_path, amount, str(exc)))
            continue
        if value < 0:
            found.append(errors.invalid(item_path, quantity.format_quantity(value), IS_NEGATIVE))
        parsed[name] = value
    return parsed


def _validate_resource_requirements(found: Errors, container: JSONObject, path: str) -> None:
    resources = _dict_at(found, container, "resources", path)
    if resources is None:
        return
    limits = _validate_resource_list(found, resources, "limits", _child(path, "limits"))
    requests = _validate_resource_list(found, resources, "requests", _child(path, "requests"))
    for name, request in requests.items():
        limit = limits.get(name)
        if limit is not None and request > limit:
            found.append(errors.invalid(
                _child(path, "requests"), _quantity_text(resources["requests"][name]),
                f"must be less than or equal to {name} limit of "
                f"{_quantity_text(resources['limits'][name])}"))


def _quantity_text(amount: Any) -> str:
    """The canonical form a Quantity's String() would print."""
    try:
        if isinstance(amount, str):
            return quantity.canonical_quantity(amount)
        return quantity.format_quantity(quantity.parse_quantity(amount))
    except quantity.QuantityError:
        return str(amount)


# ================================================================ pod spec


def validate_pod_spec(spec: JSONObject, path: str, *,
                      extra_volume_names: frozenset[str] = frozenset()) -> Errors:
    """A PodSpec, as in a Pod or any pod template (`spec.template.spec`).

    `extra_volume_names` are volumes that exist although `volumes` does not list them (a
    StatefulSet's volumeClaimTemplates).
    """
    found: Errors = []
    volumes = _validate_volumes(found, spec, _child(path, "volumes")) | extra_volume_names
    containers_path = _child(path, "containers")
    containers = _dict_items(found, spec, "containers", containers_path)
    if not containers and not _reported(found, containers_path):
        found.append(errors.required(containers_path))
    seen: set[str] = set()
    for _, container, container_path in containers:
        _validate_container(found, container, container_path, volumes)
        name = container.get("name")
        if isinstance(name, str) and name in seen:
            found.append(errors.duplicate(_child(container_path, "name"), name))
        elif isinstance(name, str):
            seen.add(name)
        for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
            _validate_probe(found, container, probe_key, _child(container_path, probe_key))
        _validate_lifecycle(found, container, _child(container_path, "lifecycle"))
        if container.get("restartPolicy") is not None:
            found.append(errors.forbidden(_child(container_path, "restartPolicy"),
                                          "may not be set for non-init containers"))
    _validate_init_containers(found, spec, _child(path, "initContainers"), volumes, seen)
    _enum(found, spec, "restartPolicy", _child(path, "restartPolicy"), RESTART_POLICIES)
    _enum(found, spec, "dnsPolicy", _child(path, "dnsPolicy"), DNS_POLICIES)
    found.extend(validate_labels(_str_map_at(found, spec, "nodeSelector",
                                             _child(path, "nodeSelector")),
                                 _child(path, "nodeSelector")))
    for key, rule in (("serviceAccountName", names.is_dns1123_subdomain),
                      ("nodeName", names.is_dns1123_subdomain),
                      ("priorityClassName", names.is_dns1123_subdomain),
                      ("hostname", names.is_dns1123_label),
                      ("subdomain", names.is_dns1123_label)):
        value = _str_at(found, spec, key, _child(path, key))
        if value:
            found.extend(_each_message(_child(path, key), value, rule(value)))
    deadline = _int_at(found, spec, "activeDeadlineSeconds", _child(path, "activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        found.append(errors.invalid(_child(path, "activeDeadlineSeconds"), deadline,
                                    names.inclusive_range_error(1, MAX_INT32)))
    _int_at(found, spec, "terminationGracePeriodSeconds",
            _child(path, "terminationGracePeriodSeconds"))
    found.extend(validate_tolerations(spec, _child(path, "tolerations")))
    return found


def _reported(found: Errors, path: str) -> bool:
    """Whether `path` already has an error (a wrongly typed value), to avoid a second one."""
    return any(error.field == path for error in found)


def _validate_volumes(found: Errors, spec: JSONObject, path: str) -> frozenset[str]:
    """Check `volumes` and return the names mounts may refer to."""
    known: set[str] = set()
    for _, volume, volume_path in _dict_items(found, spec, "volumes", path):
        name_path = _child(volume_path, "name")
        name = _str_at(found, volume, "name", name_path)
        problems: Errors = []
        if not name:
            problems.append(errors.required(name_path))
        else:
            problems.extend(_each_message(name_path, name, names.is_dns1123_label(name)))
        if name and name in known:
            problems.append(errors.duplicate(name_path, name))
        sources = [key for key in VOLUME_SOURCES if volume.get(key) is not None]
        if not sources:
            problems.append(errors.required(volume_path, "must specify a volume type"))
        for extra in sources[1:]:
            problems.append(errors.forbidden(_child(volume_path, extra),
                                             "may not specify more than 1 volume type"))
        problems.extend(_volume_source_errors(volume, volume_path))
        if not problems and name:
            known.add(name)
        found.extend(problems)
    return frozenset(known)


_VOLUME_REQUIRED_FIELDS = {
    "persistentVolumeClaim": "claimName",
    "configMap": "name",
    "secret": "secretName",
    "hostPath": "path",
}


def _volume_source_errors(volume: JSONObject, path: str) -> Errors:
    found: Errors = []
    for source, required_field in _VOLUME_REQUIRED_FIELDS.items():
        detail = volume.get(source)
        if isinstance(detail, dict) and not detail.get(required_field):
            found.append(errors.required(_child(_child(path, source), required_field)))
    return found


def _validate_container(found: Errors, container: JSONObject, path: str,
                        volumes: frozenset[str]) -> None:
    """What every container, init container or not, must satisfy."""
    name_path = _child(path, "name")
    name = _str_at(found, container, "name", name_path)
    if not name:
        found.append(errors.required(name_path))
    else:
        found.extend(_each_message(name_path, name, names.is_dns1123_label(name)))
    image = _str_at(found, container, "image", _child(path, "image"))
    if not image:
        if "image" not in container or image == "":
            found.append(errors.required(_child(path, "image")))
    elif image != image.strip():
        found.append(errors.invalid(_child(path, "image"), image,
                                    "must not have leading or trailing whitespace"))
    _enum(found, container, "terminationMessagePolicy", _child(path, "terminationMessagePolicy"),
          TERMINATION_MESSAGE_POLICIES)
    _enum(found, container, "imagePullPolicy", _child(path, "imagePullPolicy"), PULL_POLICIES)
    _validate_container_ports(found, container, _child(path, "ports"))
    _validate_env(found, container, _child(path, "env"))
    _validate_volume_mounts(found, container, _child(path, "volumeMounts"), volumes)
    _validate_resource_requirements(found, container, _child(path, "resources"))


def _validate_init_containers(found: Errors, spec: JSONObject, path: str,
                              volumes: frozenset[str], regular_names: set[str]) -> None:
    seen = set(regular_names)
    for _, container, container_path in _dict_items(found, spec, "initContainers", path):
        _validate_container(found, container, container_path, volumes)
        restart = container.get("restartPolicy")
        if restart is not None and restart != "Always":
            found.append(errors.not_supported(_child(container_path, "restartPolicy"), restart,
                                              ["Always"]))
        name = container.get("name")
        if isinstance(name, str) and name in seen:
            found.append(errors.duplicate(_child(container_path, "name"), name))
        elif isinstance(name, str) and name:
            seen.add(name)
        if restart == "Always":
            for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
                _validate_probe(found, container, probe_key, _child(container_path, probe_key))
            _validate_lifecycle(found, container, _child(container_path, "lifecycle"))
            continue
        for forbidden_key in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
            if container.get(forbidden_key) is not None:
                found.append(errors.forbidden(_child(container_path, forbidden_key),
                                              "may not be set for init containers without "
                                              "restartPolicy=Always"))


def _validate_container_ports(found: Errors, container: JSONObject, path: str) -> None:
    seen: set[str] = set()
    for _, port, port_path in _dict_items(found, container, "ports", path):
        name = _str_at(found, port, "name", _child(port_path, "name"))
        if name:
            messages = names.is_valid_port_name(name)
            if messages:
                found.extend(_each_message(_child(port_path, "name"), name, messages))
            elif name in seen:
                found.append(errors.duplicate(_child(port_path, "name"), name))
            else:
                seen.add(name)
        container_port = _int_at(found, port, "containerPort", _child(port_path, "containerPort"))
        if not container_port:
            if "containerPort" not in port or container_port == 0:
                found.append(errors.required(_child(port_path, "containerPort")))
        else:
            found.extend(_each_message(_child(port_path, "containerPort"), container_port,
                                       names.is_valid_port_num(container_port)))
        host_port = _int_at(found, port, "hostPort", _child(port_path, "hostPort"))
        if host_port:
            found.extend(_each_message(_child(port_path, "hostPort"), host_port,
                                       names.is_valid_port_num(host_port)))
        _enum(found, port, "protocol", _child(port_path, "protocol"), PORT_PROTOCOLS)


def _validate_env(found: Errors, container: JSONObject, path: str) -> None:
    for _, env, env_path in _dict_items(found, container, "env", path):
        name = _str_at(found, env, "name", _child(env_path, "name"))
        if not name:
            found.append(errors.required(_child(env_path, "name")))
        else:
            found.extend(_each_message(_child(env_path, "name"), name, names.is_env_var_name(name)))
        value_from = _dict_at(found, env, "valueFrom", _child(env_path, "valueFrom"))
        if value_from is None:
            continue
        from_path = _child(env_path, "valueFrom")
        sources = [key for key in ("fieldRef", "resourceFieldRef", "configMapKeyRef",
                                   "secretKeyRef") if value_from.get(key) is not None]
        if not sources:
            found.append(errors.invalid(from_path, "", "must specify one of: `fieldRef`, "
                                        "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
        elif env.get("value"):
            found.append(errors.invalid(from_path, "", "may not be specified when `value` is "
                                        "not empty"))
        elif len(sources) > 1:
            found.append(errors.invalid(from_path, "", "may not have more than one field "
                                        "specified at a time"))
        for ref_key in ("configMapKeyRef", "secretKeyRef"):
            ref = value_from.get(ref_key)
            if isinstance(ref, dict):
                key = ref.get("key")
                if not key:
                    found.append(errors.required(_child(_child(from_path, ref_key), "key")))
                elif isinstance(key, str):
                    found.extend(_each_message(_child(_child(from_path, ref_key), "key"), key,
                                               names.is_config_map_key(key)))


def _validate_volume_mounts(found: Errors, container: JSONObject, path: str,
                            volumes: frozenset[str]) -> None:
    mount_points: set[str] = set()
    for _, mount, mount_path in _dict_items(found, container, "volumeMounts", path):
        name = mount.get("name")
        if not name:
            found.append(errors.required(_child(mount_path, "name")))
        if not isinstance(name, str) or name not in volumes:
            found.append(errors.FieldError(errors.FieldErrorType.NOT_FOUND,
                                           _child(mount_path, "name"), name or ""))
        target = mount.get("mountPath")
        if not target:
            found.append(errors.required(_child(mount_path, "mountPath")))
        elif isinstance(target, str) and target in mount_points:
            found.append(errors.invalid(_child(mount_path, "mountPath"), target,
                                        "must be unique"))
        if isinstance(target, str):
            mount_points.add(target)


def _validate_probe(found: Errors, container: JSONObject, key: str, path: str) -> None:
    probe = _dict_at(found, container, key, path)
    if probe is None:
        return
    _validate_handler(found, probe, path, HANDLER_TYPES)
    for field_name in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                       "successThreshold", "failureThreshold"):
        _non_negative(found, probe, field_name, _child(path, field_name))
    success = probe.get("successThreshold")
    if key in ("livenessProbe", "startupProbe") and _is_int(success) and success != 1:
        found.append(errors.invalid(_child(path, "successThreshold"), success, "must be 1"))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None:
        if key == "readinessProbe":
            found.append(errors.invalid(_child(path, "terminationGracePeriodSeconds"), grace,
                                        "must not be set for readinessProbes"))
        elif _is_int(grace) and grace <= 0:
            found.append(errors.invalid(_child(path, "terminationGracePeriodSeconds"), grace,
                                        "must be greater than 0"))


def _validate_lifecycle(found: Errors, container: JSONObject, path: str) -> None:
    lifecycle = _dict_at(found, container, "lifecycle", path)
    if lifecycle is None:
        return
    for hook in ("postStart", "preStop"):
        handler = _dict_at(found, lifecycle, hook, _child(path, hook))
        if handler is not None:
            _validate_handler(found, handler, _child(path, hook), LIFECYCLE_HANDLER_TYPES)


def _validate_handler(found: Errors, handler: JSONObject, path: str,
                      allowed: tuple[str, ...]) -> None:
    present = [key for key in allowed if handler.get(key) is not None]
    if not present:
        found.append(errors.required(path, "must specify a handler type"))
        return
    for extra in present[1:]:
        found.append(errors.forbidden(_child(path, extra),
                                      "may not specify more than 1 handler type"))
    kind = present[0]
    action = handler[kind]
    action_path = _child(path, kind)
    if not isinstance(action, dict):
        found.append(errors.invalid(action_path, action, "must be an object"))
        return
    if kind == "exec" and not action.get("command"):
        found.append(errors.required(_child(action_path, "command")))
    if kind in ("httpGet", "tcpSocket", "grpc"):
        if action.get("port") is None:
            found.append(errors.required(_child(action_path, "port")))
        else:
            found.extend(_port_num_or_name(_child(action_path, "port"), action["port"]))
    if kind == "httpGet":
        scheme = action.get("scheme")
        if scheme not in (None, "", "HTTP", "HTTPS"):
            found.append(errors.not_supported(_child(action_path, "scheme"), scheme,
                                              ["HTTP", "HTTPS"]))


def validate_tolerations(spec: JSONObject, path: str) -> Errors:
    found: Errors = []
    for _, toleration, item_path in _dict_items(found, spec, "tolerations", path):
        key = toleration.get("key") or ""
        operator = toleration.get("operator") or ""
        value = toleration.get("value") or ""
        effect = toleration.get("effect") or ""
        if key:
            found.extend(_each_message(_child(item_path, "key"), key,
                                       names.is_qualified_name(str(key))))
        if not key and operator != "Exists":
            found.append(errors.invalid(
                _child(item_path, "operator"), operator,
                "operator must be Exists when `key` is empty, which means \"match all values "
                "and all keys\""))
        if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
            found.append(errors.invalid(_child(item_path, "effect"), effect,
                                        "effect must be 'NoExecute' when `tolerationSeconds` "
                                        "is set"))
        if operator in ("Equal", ""):
            messages = names.is_valid_label_value(str(value))
            if messages:
                found.append(errors.invalid(_child(item_path, "operator"), value,
                                            ";".join(messages)))
        elif operator == "Exists":
            if value:
                found.append(errors.invalid(_child(item_path, "operator"), value,
                                            "value must be empty when `operator` is 'Exists'"))
        else:
            found.append(errors.not_supported(_child(item_path, "operator"), operator,
                                              TOLERATION_OPERATORS))
        if effect and effect not in TAINT_EFFECTS:
            found.append(errors.not_supported(_child(item_path, "effect"), effect, TAINT_EFFECTS))
    return found


def _validate_pod_template(found: Errors, spec: JSONObject, path: str, *, owner: str,
                           selector: JSONObject | None,
                           extra_volume_names: frozenset[str] = frozenset()) -> None:
    """A controller's `template`: labels match the selector, restartPolicy Always, valid spec."""
    template = _dict_at(found, spec, "template", path) or {}
    metadata = _dict_at(found, template, "metadata", _child(path, "metadata")) or {}
    labels_path = _child(_child(path, "metadata"), "labels")
    labels = _str_map_at(found, metadata, "labels", labels_path)
    if selector is not None and not selector_is_empty(selector):
        if not selector_matches(selector, labels):
            found.append(errors.invalid(labels_path, labels,
                                        "`selector` does not match template `labels`"))
    found.extend(validate_labels(labels, labels_path))
    annotations_path = _child(_child(path, "metadata"), "annotations")
    found.extend(validate_annotations(
        _str_map_at(found, metadata, "annotations", annotations_path), annotations_path))
    pod_spec_path = _child(path, "spec")
    pod_spec = _dict_at(found, template, "spec", pod_spec_path) or {}
    found.extend(validate_pod_spec(pod_spec, pod_spec_path, extra_volume_names=extra_volume_names))
    restart = pod_spec.get("restartPolicy")
    if restart not in (None, "", "Always"):
        found.append(errors.not_supported(_child(pod_spec_path, "restartPolicy"), restart,
                                          ["Always"]))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        found.append(errors.forbidden(_child(pod_spec_path, "activeDeadlineSeconds"),
                                      f"activeDeadlineSeconds in {owner} is not Supported"))
    if pod_spec.get("ephemeralContainers"):
        found.append(errors.forbidden(_child(pod_spec_path, "ephemeralContainers"),
                                      "ephemeral containers not allowed in pod template"))


# ================================================================ core kinds


def _spec_of(found: Errors, obj: JSONObject) -> JSONObject:
    spec = _dict_at(found, obj, "spec", "spec")
    return spec if spec is not None else {}


def _validate_pod(obj: JSONObject) -> Errors:
    found: Errors = []
    spec = _spec_of(found, obj)
    found.extend(validate_pod_spec(spec, "spec"))
    return found


def _validate_pod_update(obj: JSONObject, old: JSONObject) -> Errors:
    """Only images, a shorter activeDeadlineSeconds and added tolerations may change."""
    found: Errors = []
    spec = _obj(obj, "spec")
    old_spec = _obj(old, "spec")
    for key in ("containers", "initContainers"):
        new_list = _items(spec, key)
        old_list = _items(old_spec, key)
        if len(new_list) != len(old_list):
            found.append(errors.forbidden(f"spec.{key}",
                                          "pod updates may not add or remove containers"))
            return found
    new_deadline = spec.get("activeDeadlineSeconds")
    old_deadline = old_spec.get("activeDeadlineSeconds")
    if _is_int(new_deadline):
        if not 0 <= new_deadline <= MAX_INT32:
            found.append(errors.invalid("spec.activeDeadlineSeconds", new_deadline,
                                        names.inclusive_range_error(0, MAX_INT32)))
            return found
        if _is_int(old_deadline) and old_deadline < new_deadline:
            found.append(errors.invalid("spec.activeDeadlineSeconds", new_deadline,
                                        "must be less than or equal to previous value"))
            return found
    elif new_deadline is None and old_deadline is not None:
        found.append(errors.invalid("spec.activeDeadlineSeconds", None,
                                    "must not update from a positive integer to nil value"))
    found.extend(_validate_only_added_tolerations(spec, old_spec))
    if spec == old_spec:
        return found  # The common case (metadata or status writes) needs no munging.
    munged = _munge_pod_spec(spec, old_spec)
    if munged != old_spec:
        diff = "\n".join(_summarize_diff(old_spec, munged, "spec"))
        found.append(errors.forbidden("spec", f"{POD_UPDATE_FORBIDDEN}\n{diff}"))
    return found


def _validate_only_added_tolerations(spec: JSONObject, old_spec: JSONObject) -> Errors:
    new = [t for t in _items(spec, "tolerations") if isinstance(t, dict)]
    for old in _items(old_spec, "tolerations"):
        if not isinstance(old, dict):
            continue
        base = {k: v for k, v in old.items() if k != "tolerationSeconds"}
        if not any({k: v for k, v in t.items() if k != "tolerationSeconds"} == base for t in new):
            return [errors.forbidden("spec.tolerations", "existing toleration can not be "
                                     "modified except its tolerationSeconds")]
    return []


def _munge_pod_spec(spec: JSONObject, old_spec: JSONObject) -> JSONObject:
    """The new spec with every field a pod update may change put back to its old value."""
    munged: JSONObject = json.loads(json.dumps(spec))
    for key in ("containers", "initContainers"):
        old_list = _items(old_spec, key)
        for container, old_container in zip(_items(munged, key), old_list, strict=False):
            if isinstance(container, dict) and isinstance(old_container, dict):
                if "image" in old_container:
                    container["image"] = old_container["image"]
                else:
                    container.pop("image", None)
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        if key in old_spec:
            munged[key] = old_spec[key]
        else:
            munged.pop(key, None)
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if _is_int(old_grace) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def _validate_node(obj: JSONObject) -> Errors:
    found: Errors = []
    spec = _spec_of(found, obj)
    seen: set[tuple[str, str]] = set()
    for _, taint, taint_path in _dict_items(found, spec, "taints", "spec.taints"):
        key = str(taint.get("key") or "")
        found.extend(_each_message(_child(taint_path, "key"), key, names.is_qualified_name(key)))
        value = taint.get("value") or ""
        messages = names.is_valid_label_value(str(value))
        if messages:
            found.append(errors.invalid(_child(taint_path, "value"), value, ";".join(messages)))
        effect = str(taint.get("effect") or "")
        if not effect:
            found.append(errors.required(_child(taint_path, "effect")))
        elif effect not in TAINT_EFFECTS:
            found.append(errors.not_supported(_child(taint_path, "effect"), effect, TAINT_EFFECTS))
        if (key, effect) in seen:
            found.append(errors.FieldError(errors.FieldErrorType.DUPLICATE, taint_path, taint,
                                           "taints must be unique by key and effect pair"))
        seen.add((key, effect))
    for index, cidr in enumerate(_list_at(found, spec, "podCIDRs", "spec.podCIDRs")):
        try:
            ipaddress.ip_network(cidr)
        except (TypeError, ValueError):
            found.append(errors.invalid(_index("spec.podCIDRs", index), cidr, "must be a valid "
                                        "CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"))
    status = _obj(obj, "status")
    for section in ("capacity", "allocatable"):
        amounts = status.get(section)
        for name, amount in (amounts or {}).items() if isinstance(amounts, dict) else ():
            item_path = f"status.{section}.{name}"
            try:
                if quantity.parse_quantity(amount) < 0:
                    found.append(errors.invalid(item_path, _quantity_text(amount), IS_NEGATIVE))
            except quantity.QuantityError as exc:
                found.append(errors.invalid(item_path, amount, str(exc)))
    return found


def _validate_node_update(obj: JSONObject, old: JSONObject) -> Errors:
    found: Errors = []
    spec = _obj(obj, "spec")
    old_spec = _obj(old, "spec")
    old_cidrs = old_spec.get("podCIDRs") or []
    if old_cidrs and (spec.get("podCIDRs") or []) != old_cidrs:
        found.append(errors.forbidden("spec.podCIDRs", "node updates may not change podCIDR "
                                      "except from \"\" to valid"))
    old_provider = old_spec.get("providerID")
    if old_provider and spec.get("providerID") != old_provider:
        found.append(errors.forbidden("spec.providerID", "node updates may not change "
                                      "providerID except from \"\" to valid"))
    return found


def _validate_namespace(obj: JSONObject) -> Errors:
    found: Errors = []
    spec = _spec_of(found, obj)
    for index, finalizer in enumerate(_list_at(found, spec, "finalizers", "spec.finalizers")):
        if not isinstance(finalizer, str):
            found.append(errors.invalid(_index("spec.finalizers", index), finalizer,
                                        "must be a string"))
            continue
        found.extend(_finalizer_name_errors(finalizer, "spec.finalizers", "spec.finalizers"))
    return found


def _service_cluster_ips(spec: JSONObject) -> list[Any]:
    ips = spec.get("clusterIPs")
    if isinstance(ips, list) and ips:
        return ips
    cluster_ip = spec.get("clusterIP")
    return [cluster_ip] if cluster_ip else []


def _validate_service(obj: JSONObject) -> Errors:
    found: Errors = []
    spec = _spec_of(found, obj)
    service_type = spec.get("type") or "ClusterIP"
    cluster_ips = _service_cluster_ips(spec)
    headless = bool(cluster_ips) and cluster_ips[0] == "None"
    ports = _dict_items(found, spec, "ports", "spec.ports")
    if not ports and not headless and service_type != "ExternalName":
        found.append(errors.required("spec.ports"))
    if service_type in ("LoadBalancer", "NodePort") and headless:
        found.append(errors.invalid("spec.clusterIPs[0]", "None",
                                    f"may not be set to 'None' for {service_type} services"))
    if service_type == "ExternalName":
        external = (spec.get("externalName") or "")
        external = external.rstrip(".") if isinstance(external, str) else external
        if not external:
            found.append(errors.required("spec.externalName"))
        elif isinstance(external, str):
            found.extend(_each_message("spec.externalName", external,
                                       names.is_dns1123_subdomain(external)))
    elif not headless:
        for index, ip in enumerate(cluster_ips):
            found.extend(_valid_ip(_index("spec.clusterIPs", index), ip))
    port_names: set[str] = set()
    seen_ports: set[tuple[str, str]] = set()
    for _, port, port_path in ports:
        _validate_service_port(found, port, port_path, require_name=len(ports) > 1,
                               seen_names=port_names)
        if service_type == "ClusterIP" and port.get("nodePort"):
            found.append(errors.forbidden(_child(port_path, "nodePort"),
                                          "may not be used when `type` is 'ClusterIP'"))
        key = (str(port.get("protocol") or "TCP"), json.dumps(port.get("port")))
        if key in seen_ports:
            found.append(errors.duplicate(port_path, {"port": port.get("port"),
                                                      "protocol": key[0]}))
        seen_ports.add(key)
    found.extend(validate_labels(_str_map_at(found, spec, "selector", "spec.selector"),
                                 "spec.selector"))
    _enum(found, spec, "sessionAffinity", "spec.sessionAffinity", SESSION_AFFINITIES)
    _enum(found, spec, "type", "spec.type", SERVICE_TYPES)
    if spec.get("sessionAffinity") == "None" and spec.get("sessionAffinityConfig") is not None:
        found.append(errors.forbidden("spec.sessionAffinityConfig",
                                      "must not be set when session affinity is None"))
    for index, ip in enumerate(_list_at(found, spec, "externalIPs", "spec.externalIPs")):
        found.extend(_valid_ip(_index("spec.externalIPs", index), ip))
    return found


def _validate_service_port(found: Errors, port: JSONObject, path: str, *, require_name: bool,
                           seen_names: set[str]) -> None:
    name = _str_at(found, port, "name", _child(path, "name"))
    if require_name and not name:
        found.append(errors.required(_child(path, "name")))
    elif name:
        found.extend(_each_message(_child(path, "name"), name, names.is_dns1123_label(name)))
        if name in seen_names:
            found.append(errors.duplicate(_child(path, "name"), name))
        seen_names.add(name)
    number = _int_at(found, port, "port", _child(path, "port"))
    if number is None:
        if "port" not in port:
            found.append(errors.invalid(_child(path, "port"), 0,
                                        names.inclusive_range_error(1, 65535)))
    else:
        found.extend(_each_message(_child(path, "port"), number, names.is_valid_port_num(number)))
    _enum(found, port, "protocol", _child(path, "protocol"), PORT_PROTOCOLS)
    target = port.get("targetPort")
    if target not in (None, ""):
        found.extend(_port_num_or_name(_child(path, "targetPort"), target))
    node_port = port.get("nodePort")
    if node_port:
        found.extend(_port_num_or_name(_child(path, "nodePort"), node_port))


def _validate_service_update(obj: JSONObject, old: JSONObject) -> Errors:
    """A cluster IP may not change once allocated (except to or from ExternalName)."""
    spec = _obj(obj, "spec")
    old_spec = _obj(old, "spec")
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return []
    new_ips = _service_cluster_ips(spec)
    old_ips = _service_cluster_ips(old_spec)
    if not new_ips or not old_ips:
        return []
    found: Errors = []
    for index, (old_ip, new_ip) in enumerate(zip(old_ips, new_ips, strict=False)):
        if old_ip != new_ip:
            found.append(errors.invalid(_index("spec.clusterIPs", index), new_ips,
                                        "may not change once set"))
    return found


def _validate_endpoints(obj: JSONObject) -> Errors:
    found: Errors = []
    for _, subset, subset_path in _dict_items(found, obj, "subsets", "subsets"):
        if not subset.get("addresses") and not subset.get("notReadyAddresses"):
            found.append(errors.required(subset_path, "must specify `addresses` or "
                                         "`notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for _, address, address_path in _dict_items(found, subset, key,
                                                        _child(subset_path, key)):
                found.extend(_valid_ip(_child(address_path, "ip"), address.get("ip")))
                hostname = address.get("hostname")
                if hostname:
                    found.extend(_each_message(_child(address_path, "hostname"), hostname,
                                               names.is_dns1123_label(str(hostname))))
                node_name = address.get("nodeName")
                if node_name:
                    found.extend(_each_message(_child(address_path, "nodeName"), node_name,
                                               names.is_dns1123_subdomain(str(node_name))))
        ports = _dict_items(found, subset, "ports", _child(subset_path, "ports"))
        for _, port, port_path in ports:
            name = port.get("name")
            if len(ports) > 1 and not name:
                found.append(errors.required(_child(port_path, "name")))
            elif name:
                found.extend(_each_message(_child(port_path, "name"), name,
                                           names.is_dns1123_label(str(name))))
            number = _int_at(found, port, "port", _child(port_path, "port"))
            found.extend(_each_message(_child(port_path, "port"), number or 0,
                                       names.is_valid_port_num(number or 0)))
            _enum(found, port, "protocol", _child(port_path, "protocol"), PORT_PROTOCOLS)
    return found


def _validate_event(obj: JSONObject) -> Errors:
    """core/v1 Events get the legacy checks only, as kube-apiserver gives them."""
    found: Errors = []
    meta = _obj(obj, "metadata")
    namespace = meta.get("namespace") or ""
    involved = _dict_at(found, obj, "involvedObject", "involvedObject") or {}
    involved_namespace = involved.get("namespace") or ""
    if not obj.get("eventTime"):
        if not involved_namespace:
            if namespace not in ("", "default"):
                found.append(errors.invalid("involvedObject.namespace", involved_namespace,
                                            "does not match event.namespace"))
        elif namespace != involved_namespace:
            found.append(errors.invalid("involvedObject.namespace", involved_namespace,
                                        "does not match event.namespace"))
        return found
    if not involved_namespace and namespace not in ("default", "kube-system"):
        found.append(errors.invalid("involvedObject.namespace", involved_namespace,
                                    "does not match event.namespace"))
    controller = obj.get("reportingComponent") or obj.get("reportingController") or ""
    if not controller:
        found.append(errors.required("reportingController"))
    else:
        found.extend(_each_message("reportingController", controller,
                                   names.is_qualified_name(str(controller))))
    for key, limit in (("reportingInstance", 128), ("action", 128), ("reason", 128)):
        value = obj.get(key) or ""
        if not value:
            found.append(errors.required(key))
        elif len(str(value)) > limit:
            found.append(errors.invalid(key, "", f"can have at most {limit} characters"))
    if len(str(obj.get("message") or "")) > 1024:
        found.append(errors.invalid("message", "", "can have at most 1024 characters"))
    return found


def _validate_data_keys(found: Errors, data: dict[str, Any], path: str) -> None:
    for key in data:
        found.extend(_each_message(_key(path, key), key, names.is_config_map_key(key)))


def _validate_config_map(obj: JSONObject) -> Errors:
    found: Errors = []
    data = _str_map_at(found, obj, "data", "data")
    binary = _str_map_at(found, obj, "binaryData", "binaryData")
    _validate_data_keys(found, data, "data")
    for key in data:
        if key in binary:
            found.append(errors.invalid(_key("data", key), key,
                                        "duplicate of key present in binaryData"))
    _validate_data_keys(found, binary, "binaryData")
    total = sum(len(value.encode()) for value in data.values())
    total += sum(_decoded_length(value) for value in binary.values())
    if total > MAX_SECRET_SIZE:
        found.append(errors.too_long("", MAX_SECRET_SIZE))
    return found


def _decoded_length(value: str) -> int:
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return len(value)


_SECRET_REQUIRED_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def _validate_secret(obj: JSONObject) -> Errors:
    found: Errors = []
    data = _str_map_at(found, obj, "data", "data")
    string_data = _str_map_at(found, obj, "stringData", "stringData")
    _validate_data_keys(found, data, "data")
    _validate_data_keys(found, string_data, "data")
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            found.append(errors.invalid(_key("data", key), "<secret contents redacted>",
                                        "illegal base64 data"))
    total = sum(_decoded_length(v) for v in data.values())
    total += sum(len(v.encode()) for v in string_data.values())
    if total > MAX_SECRET_SIZE:
        found.append(errors.too_long("data", MAX_SECRET_SIZE))
    secret_type = _str_at(found, obj, "type", "type") or "Opaque"
    present = set(data) | set(string_data)
    for key in _SECRET_REQUIRED_KEYS.get(secret_type, ()):
        if key not in present:
            found.append(errors.required(_key("data", key)))
    if secret_type == "kubernetes.io/basic-auth" and not present & {"username", "password"}:
        found.append(errors.required(_key("data", "username")))
        found.append(errors.required(_key("data", "password")))
    if secret_type == "kubernetes.io/service-account-token":
        annotations = _obj(_obj(obj, "metadata"), "annotations")
        if not annotations.get("kubernetes.io/service-account.name"):
            found.append(errors.required(
                "metadata.annotations[kubernetes.io/service-account.name]"))
    return found


def _validate_immutable_data(obj: JSONObject, old: JSONObject, keys: tuple[str, ...]) -> Errors:
    found: Errors = []
    if old.get("immutable") is True:
        if obj.get("immutable") is not True:
            found.append(errors.forbidden("immutable", "field is immutable when `immutable` is "
                                          "set"))
        for key in keys:
            if (obj.get(key) or {}) != (old.get(key) or {}):
                found.append(errors.forbidden(key, "field is immutable when `immutable` is set"))
    return found


def _validate_config_map_update(obj: JSONObject, old: JSONObject) -> Errors:
    return _validate_immutable_data(obj, old, ("data", "binaryData"))


def _validate_secret_update(obj: JSONObject, old: JSONObject) -> Errors:
    found: Errors = []
    _immutable(found, obj.get("type") or "Opaque", old.get("type") or "Opaque", "type")
    found.extend(_validate_immutable_data(obj, old, ("data",)))
    return found


def validate_pvc_spec(spec: JSONObject, path: str) -> Errors:
    """A PersistentVolumeClaimSpec (also a StatefulSet's volumeClaimTemplates[*].spec)."""
    found: Errors = []
    modes = _list_at(found, spec, "accessModes", _child(path, "accessModes"))
    if not modes:
        found.append(errors.required(_child(path, "accessModes"),
                                     "at least 1 access mode is required"))
    for mode in modes:
        if mode not in ACCESS_MODES:
            found.append(errors.not_supported(_child(path, "accessModes"), mode, ACCESS_MODES))
    if "ReadWriteOncePod" in modes and any(m != "ReadWriteOncePod" and m in ACCESS_MODES
                                           for m in modes):
        found.append(errors.forbidden(_child(path, "accessModes"),
                                      "may not use ReadWriteOncePod with other access modes"))
    selector = _dict_at(found, spec, "selector", _child(path, "selector"))
    if selector is not None:
        found.extend(validate_label_selector(selector, _child(path, "selector")))
    storage_path = _key(_child(path, "resources"), "storage")
    resources = _dict_at(found, spec, "resources", _child(path, "resources")) or {}
    requests = _dict_at(found, resources, "requests", _child(_child(path, "resources"),
                                                             "requests")) or {}
    if "storage" not in requests:
        found.append(errors.required(storage_path))
    else:
        try:
            storage = quantity.parse_quantity(requests["storage"])
            if storage <= 0:
                found.append(errors.invalid(storage_path, _quantity_text(requests["storage"]),
                                            NOT_POSITIVE))
        except quantity.QuantityError as exc:
            found.append(errors.invalid(storage_path, requests["storage"], str(exc)))
    class_name = spec.get("storageClassName")
    if isinstance(class_name, str) and class_name:
        found.extend(_each_message(_child(path, "storageClassName"), class_name,
                                   names.is_dns1123_subdomain(class_name)))
    _enum(found, spec, "volumeMode", _child(path, "volumeMode"), VOLUME_MODES)
    return found


def _validate_pvc(obj: JSONObject) -> Errors:
    found: Errors = []
    found.extend(validate_pvc_spec(_spec_of(found, obj), "spec"))
    return found


def _validate_pvc_update(obj: JSONObject, old: JSONObject) -> Errors:
    """The spec is frozen, except binding (volumeName once) and growing a bound claim."""
    found: Errors = []
    spec: JSONObject = json.loads(json.dumps(_obj(obj, "spec")))
    old_spec: JSONObject = json.loads(json.dumps(_obj(old, "spec")))
    if not old_spec.get("volumeName"):
        if "volumeName" in spec:
            old_spec["volumeName"] = spec["volumeName"]
        else:
            old_spec.pop("volumeName", None)
    bound = _obj(obj, "status").get("phase") == "Bound"
    new_storage = _obj(_obj(spec, "resources"), "requests").get("storage")
    old_storage = _obj(_obj(old_spec, "resources"), "requests").get("storage")
    if bound and new_storage is not None:
        spec.setdefault("resources", {}).setdefault("requests", {})["storage"] = old_storage
    if spec != old_spec:
        diff = "\n".join(_summarize_diff(old_spec, spec, "spec"))
        found.append(errors.forbidden("spec", f"{PVC_UPDATE_FORBIDDEN}\n{diff}"))
    try:
        if (new_storage is not None and old_storage is not None
                and quantity.parse_quantity(new_storage) < quantity.parse_quantity(old_storage)):
            found.append(errors.forbidden("spec.resources.requests.storage",
                                          "field can not be less than previous value"))
    except quantity.QuantityError:
        pass
    return found


# ================================================================ apps


def _validate_selector(found: Errors, spec: JSONObject, owner: str) -> JSONObject | None:
    """`spec.selector`: required, valid, and not empty (an empty one would select every pod).

    Returns the selector when it can be matched against the template's labels; an invalid
    one cannot be (kube-apiserver then adds its "invalid label selector" complaint).
    """
    selector = _dict_at(found, spec, "selector", "spec.selector")
    if selector is None:
        if not _reported(found, "spec.selector"):
            found.append(errors.required("spec.selector"))
        return None
    problems = validate_label_selector(selector, "spec.selector")
    found.extend(problems)
    if selector_is_empty(selector):
        found.append(errors.invalid("spec.selector", selector,
                                    f"empty selector is invalid for {owner}"))
    if problems:
        detail = "" if owner == "statefulset" else "invalid label selector"
        found.append(errors.invalid("spec.selector", selector, detail))
        return None
    return selector


def _validate_replica_set(obj: JSONObject) -> Errors:
    found: Errors = []
    spec = _spec_of(found, obj)
    _non_negative(found, spec, "replicas", "spec.replicas")
    _non_negative(found, spec, "minReadySeconds", "spec.minReadySeconds")
    selector = _validate_selector(found, spec, "deployment")
    _validate_pod_template(found, spec, "spec.template", owner="ReplicaSet", selector=selector)
    return found


def _validate_deployment(obj: JSONObject) -> Errors:
    found: Errors = []
    spec = _spec_of(found, obj)
    _non_negative(found, spec, "replicas", "spec.replicas")
    selector = _validate_selector(found, spec, "deployment")
    _validate_pod_template(found, spec, "spec.template", owner="ReplicaSet", selector=selector)
    strategy = _dict_at(found, spec, "strategy", "spec.strategy")
    if strategy is not None:
        _validate_deployment_strategy(found, strategy, "spec.strategy")
    min_ready = _non_negative(found, spec, "minReadySeconds", "spec.minReadySeconds") or 0
    _non_negative(found, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit")
    deadline = _non_negative(found, spec, "progressDeadlineSeconds",
                             "spec.progressDeadlineSeconds")
    if deadline is not None and deadline <= min_ready:
        found.append(errors.invalid("spec.progressDeadlineSeconds", deadline,
                                    "must be greater than minReadySeconds"))
    return found


def _validate_deployment_strategy(found: Errors, strategy: JSONObject, path: str) -> None:
    kind = strategy.get("type")
    rolling_path = _child(path, "rollingUpdate")
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            found.append(errors.forbidden(rolling_path, "may not be specified when strategy "
                                          "`type` is 'Recreate'"))
    elif kind == "RollingUpdate":
        rolling = _dict_at(found, strategy, "rollingUpdate", rolling_path)
        if rolling is not None:
            _validate_rolling_update(found, rolling, rolling_path)
    elif kind not in (None, ""):
        found.append(errors.not_supported(path, strategy, DEPLOYMENT_STRATEGIES))


def _int_or_percent_errors(path: str, value: Any) -> Errors:
    if isinstance(value, str):
        return _each_message(path, value, names.is_valid_percent(value))
    if _is_int(value):
        return [errors.invalid(path, value, IS_NEGATIVE)] if value < 0 else []
    return [errors.invalid(path, value, "must be an integer or percentage (e.g '5%')")]


def _int_or_percent_value(value: Any) -> int:
    if isinstance(value, str) and not names.is_valid_percent(value):
        return int(value[:-1])
    return value if _is_int(value) else 0


def _validate_rolling_update(found: Errors, rolling: JSONObject, path: str) -> None:
    unavailable = rolling.get("maxUnavailable", 0)
    surge = rolling.get("maxSurge", 0)
    found.extend(_int_or_percent_errors(_child(path, "maxUnavailable"), unavailable))
    found.extend(_int_or_percent_errors(_child(path, "maxSurge"), surge))
    if _int_or_percent_value(unavailable) == 0 and _int_or_percent_value(surge) == 0:
        found.append(errors.invalid(_child(path, "maxUnavailable"), unavailable,
                                    "may not be 0 when `maxSurge` is 0"))
    if isinstance(unavailable, str) and _int_or_percent_value(unavailable) > 100:
        found.append(errors.invalid(_child(path, "maxUnavailable"), unavailable,
                                    "must not be greater than 100%"))


def _validate_selector_update(obj: JSONObject, old: JSONObject) -> Errors:
    """apps/v1 controllers may never retarget their pods: the selector is immutable."""
    found: Errors = []
    new_selector = _obj(obj, "spec").get("selector")
    old_selector = _obj(old, "spec").get("selector")
    _immutable(found, new_selector, old_selector, "spec.selector")
    return found


def _validate_stateful_set(obj: JSONObject) -> Errors:
    found: Errors = []
    spec = _spec_of(found, obj)
    policy = spec.get("podManagementPolicy")
    if policy not in (None, "", "OrderedReady", "Parallel"):
        found.append(errors.invalid("spec.podManagementPolicy", policy,
                                    "must be 'OrderedReady' or 'Parallel'"))
    strategy = _dict_at(found, spec, "updateStrategy", "spec.updateStrategy")
    if strategy is not None:
        _validate_stateful_set_strategy(found, strategy, "spec.updateStrategy")
    retention = _dict_at(found, spec, "persistentVolumeClaimRetentionPolicy",
                         "spec.persistentVolumeClaimRetentionPolicy")
    for key in ("whenDeleted", "whenScaled"):
        if retention is not None:
            _enum(found, retention, key, f"spec.persistentVolumeClaimRetentionPolicy.{key}",
                  RETENTION_POLICIES)
    _non_negative(found, spec, "replicas", "spec.replicas")
    _non_negative(found, spec, "minReadySeconds", "spec.minReadySeconds")
    _non_negative(found, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit")
    ordinals = _dict_at(found, spec, "ordinals", "spec.ordinals")
    if ordinals is not None:
        _non_negative(found, ordinals, "start", "spec.ordinals.start")
    selector = _validate_selector(found, spec, "statefulset")
    claim_names: set[str] = set()
    for _, claim, claim_path in _dict_items(found, spec, "volumeClaimTemplates",
                                            "spec.volumeClaimTemplates"):
        claim_meta = _obj(claim, "metadata")
        claim_name = claim_meta.get("name")
        if not claim_name:
            found.append(errors.required(_child(claim_path, "metadata.name")))
        else:
            claim_names.add(str(claim_name))
        claim_spec = _obj(claim, "spec")
        found.extend(validate_pvc_spec(claim_spec, _child(claim_path, "spec")))
    _validate_pod_template(found, spec, "spec.template", owner="StatefulSet", selector=selector,
                           extra_volume_names=frozenset(claim_names))
    return found


def _validate_stateful_set_strategy(found: Errors, strategy: JSONObject, path: str) -> None:
    kind = strategy.get("type")
    rolling_path = _child(path, "rollingUpdate")
    if kind == "OnDelete":
        if strategy.get("rollingUpdate") is not None:
            found.append(errors.invalid(rolling_path, strategy["rollingUpdate"],
                                        "only allowed for updateStrategy 'RollingUpdate'"))
    elif kind == "RollingUpdate":
        rolling = _dict_at(found, strategy, "rollingUpdate", rolling_path)
        if rolling is not None:
            _non_negative(found, rolling, "partition", _child(rolling_path, "partition"))
            unavailable = rolling.get("maxUnavailable")
            if unavailable is not None:
                unavailable_path = _child(rolling_path, "maxUnavailable")
                found.extend(_int_or_percent_errors(unavailable_path, unavailable))
                if _int_or_percent_value(unavailable) == 0:
                    found.append(errors.invalid(unavailable_path, unavailable, "cannot be 0"))
    elif kind not in (None, ""):
        found.append(errors.invalid(path, strategy, "must be 'RollingUpdate' or 'OnDelete'"))


_STATEFULSET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy",
                        "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def _validate_stateful_set_update(obj: JSONObject, old: JSONObject) -> Errors:
    spec = _obj(obj, "spec")
    old_spec = _obj(old, "spec")
    frozen = {k: v for k, v in spec.items() if k not in _STATEFULSET_MUTABLE}
    old_frozen = {k: v for k, v in old_spec.items() if k not in _STATEFULSET_MUTABLE}
    if frozen != old_frozen:
        return [errors.forbidden("spec", STATEFULSET_UPDATE_FORBIDDEN)]
    return []


# ================================================================ coordination


def _validate_lease(obj: JSONObject) -> Errors:
    found: Errors = []
    spec = _spec_of(found, obj)
    duration = _int_at(found, spec, "leaseDurationSeconds", "spec.leaseDurationSeconds")
    if duration is not None and duration <= 0:
        found.append(errors.invalid("spec.leaseDurationSeconds", duration,
                                    "must be greater than 0"))
    transitions = _int_at(found, spec, "leaseTransitions", "spec.leaseTransitions")
    if transitions is not None and transitions < 0:
        found.append(errors.invalid("spec.leaseTransitions", transitions, IS_NEGATIVE))
    _str_at(found, spec, "holderIdentity", "spec.holderIdentity")
    if spec.get("preferredHolder") and not spec.get("strategy"):
        found.append(errors.forbidden("spec.preferredHolder",
                                      "may only be specified if `strategy` is defined"))
    return found


# ================================================================ CustomResourceDefinitions


def _crd_name_messages(obj: JSONObject, name: str) -> list[str]:
    spec = _obj(obj, "spec")
    crd_names = _obj(spec, "names")
    messages = names.is_dns1123_subdomain(name)
    if name != f"{crd_names.get('plural', '')}.{spec.get('group', '')}":
        messages.append('must be spec.names.plural+"."+spec.group')
    return messages


def _validate_crd(obj: JSONObject) -> Errors:
    found: Errors = []
    spec = _spec_of(found, obj)
    group = _str_at(found, spec, "group", "spec.group")
    if not group:
        found.append(errors.required("spec.group"))
    elif names.is_dns1123_subdomain(group):
        found.append(errors.invalid("spec.group", group,
                                    ",".join(names.is_dns1123_subdomain(group))))
    elif len(group.split(".")) < 2:
        found.append(errors.invalid("spec.group", group, "should be a domain with at least one "
                                    "dot"))
    scope = spec.get("scope")
    if not scope:
        found.append(errors.required("spec.scope"))
    elif scope not in CRD_SCOPES:
        found.append(errors.not_supported("spec.scope", scope, CRD_SCOPES))
    _validate_crd_versions(found, spec)
    _validate_crd_names(found, spec)
    return found


def _validate_crd_versions(found: Errors, spec: JSONObject) -> None:
    versions = _dict_items(found, spec, "versions", "spec.versions")
    storage_count = 0
    seen: set[str] = set()
    unique = True
    for _, version, version_path in versions:
        name = version.get("name")
        if isinstance(name, str):
            unique = unique and name not in seen
            seen.add(name)
        messages = names.is_dns1035_label(name if isinstance(name, str) else "")
        if messages:
            found.append(errors.invalid(_child(version_path, "name"), name, ",".join(messages)))
        if version.get("storage") is True:
            storage_count += 1
        schema_path = _child(version_path, "schema.openAPIV3Schema")
        schema_holder = _obj(version, "schema")
        schema = schema_holder.get("openAPIV3Schema")
        if schema is None:
            found.append(errors.required(schema_path))
        else:
            found.extend(crd_schema.validate_structural(schema, schema_path))
        for _, column, column_path in _dict_items(found, version, "additionalPrinterColumns",
                                                  _child(version_path, "additionalPrinterColumns")):
            _validate_printer_column(found, column, column_path)
    raw_versions = spec.get("versions")
    if not unique:
        found.append(errors.invalid("spec.versions", raw_versions,
                                    "must contain unique version names"))
    if storage_count != 1:
        found.append(errors.invalid("spec.versions", raw_versions if raw_versions else [],
                                    "must have exactly one version marked as storage version"))


def _validate_printer_column(found: Errors, column: JSONObject, path: str) -> None:
    if not column.get("name"):
        found.append(errors.required(_child(path, "name")))
    column_type = column.get("type")
    if not column_type:
        found.append(errors.required(_child(path, "type"),
                                     "must be one of " + ",".join(PRINTER_COLUMN_TYPES)))
    elif column_type not in PRINTER_COLUMN_TYPES:
        found.append(errors.not_supported(_child(path, "type"), column_type,
                                          list(PRINTER_COLUMN_TYPES)))
    if not column.get("jsonPath"):
        found.append(errors.required(_child(path, "jsonPath")))


def _validate_crd_names(found: Errors, spec: JSONObject) -> None:
    crd_names = _dict_at(found, spec, "names", "spec.names") or {}
    for key in ("plural", "singular", "kind", "listKind"):
        if not crd_names.get(key):
            found.append(errors.required(f"spec.names.{key}"))
    for key in ("plural", "singular"):
        value = crd_names.get(key)
        if isinstance(value, str) and value:
            messages = names.is_dns1035_label(value)
            if messages:
                found.append(errors.invalid(f"spec.names.{key}", value, ",".join(messages)))
    for key in ("kind", "listKind"):
        value = crd_names.get(key)
        if isinstance(value, str) and value:
            messages = names.is_dns1035_label(value.lower())
            if messages:
                found.append(errors.invalid(f"spec.names.{key}", value, "may have mixed case, "
                                            "but should otherwise match: " + ",".join(messages)))
    for list_key in ("shortNames", "categories"):
        for index, value in enumerate(_list_at(found, crd_names, list_key,
                                               f"spec.names.{list_key}")):
            messages = names.is_dns1035_label(value if isinstance(value, str) else "")
            if messages:
                found.append(errors.invalid(_index(f"spec.names.{list_key}", index), value,
                                            ",".join(messages)))
    kind = crd_names.get("kind")
    if kind and kind == crd_names.get("listKind"):
        found.append(errors.invalid("spec.names.listKind", kind,
                                    "kind and listKind may not be the same"))


def _validate_crd_update(obj: JSONObject, old: JSONObject) -> Errors:
    """The group and plural name the storage; once established, so do scope and kind."""
    found: Errors = []
    spec = _obj(obj, "spec")
    old_spec = _obj(old, "spec")
    new_names = _obj(spec, "names")
    old_names = _obj(old_spec, "names")
    if _crd_established(old):
        _immutable(found, spec.get("scope"), old_spec.get("scope"), "spec.scope")
        _immutable(found, new_names.get("kind"), old_names.get("kind"), "spec.names.kind")
    _immutable(found, spec.get("group"), old_spec.get("group"), "spec.group")
    _immutable(found, new_names.get("plural"), old_names.get("plural"), "spec.names.plural")
    return found


def _crd_established(crd: JSONObject) -> bool:
    status = _obj(crd, "status")
    return any(isinstance(c, dict) and c.get("type") == "Established" and c.get("status") == "True"
               for c in status.get("conditions") or ())


# ================================================================ dispatch


_VALIDATORS: dict[str, Callable[[JSONObject], Errors]] = {
    "pods": _validate_pod,
    "nodes": _validate_node,
    "namespaces": _validate_namespace,
    "services": _validate_service,
    "endpoints": _validate_endpoints,
    "events": _validate_event,
    "configmaps": _validate_config_map,
    "secrets": _validate_secret,
    "persistentvolumeclaims": _validate_pvc,
    "replicasets.apps": _validate_replica_set,
    "deployments.apps": _validate_deployment,
    "statefulsets.apps": _validate_stateful_set,
    "leases.coordination.k8s.io": _validate_lease,
    "customresourcedefinitions.apiextensions.k8s.io": _validate_crd,
}
"""Create-time checks of everything but metadata, per store key."""

_UPDATE_VALIDATORS: dict[str, Callable[[JSONObject, JSONObject], Errors]] = {
    "pods": _validate_pod_update,
    "nodes": _validate_node_update,
    "services": _validate_service_update,
    "configmaps": _validate_config_map_update,
    "secrets": _validate_secret_update,
    "persistentvolumeclaims": _validate_pvc_update,
    "replicasets.apps": _validate_selector_update,
    "deployments.apps": _validate_selector_update,
    "statefulsets.apps": _validate_stateful_set_update,
    "customresourcedefinitions.apiextensions.k8s.io": _validate_crd_update,
}
"""Immutability checks run on update after the create-time checks, per store key."""
