"""OpenAPI v3 documents, shaped for what kubectl reads from them.

kubectl 1.27+ fetches `/openapi/v3` (an index of group-versions), then the
document of the kind it is about to write. It reads two things:

- `create -f` / `apply -f` look for the PATCH operation whose
  `x-kubernetes-group-version-kind` names the kind and check that it lists a
  `fieldValidation` query parameter. With it, validation is left to the server;
  without it kubectl falls back to client-side validation against
  `/openapi/v2`, which we do not serve, and fails.
- client-side apply checks whether that PATCH operation accepts
  `application/strategic-merge-patch+json`. We never advertise it: with only
  permissive schemas to go on, kubectl would compute worse patches than from the
  Go types compiled into it (built-ins) or a JSON merge patch (custom kinds).

`kubectl explain` reads `components.schemas`, finding a kind by the same
extension; custom kinds carry their CRD's `openAPIV3Schema`, built-ins a
permissive object schema that names the standard fields.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from cluster.api.resources import ResourceType
from cluster.http.discovery import gvk

PATCH_TYPES: tuple[str, ...] = (
    "application/apply-patch+yaml", "application/json-patch+json",
    "application/merge-patch+json")
"""Patch bodies every PATCH operation accepts (see the module docstring for why
strategic merge is left out)."""

_PATCH_SCHEMA = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
_STATUS_SCHEMA = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"


def schema_name(rt: ResourceType) -> str:
    """The component name kube-apiserver gives a kind: `io.k8s.api.core.v1.Pod`,
    `io.k8s.api.apps.v1.Deployment`, and for a custom kind its reversed group
    (`io.redisha.v1.RedisFailover`)."""
    if rt.custom:
        prefix = ".".join(reversed(rt.group.split(".")))
    elif rt.group == "apiextensions.k8s.io":
        prefix = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions"
    elif rt.group == "":
        prefix = "io.k8s.api.core"
    else:
        prefix = f"io.k8s.api.{rt.group.split('.')[0]}"
    return f"{prefix}.{rt.version}.{rt.kind}"


def index(resources: Iterable[ResourceType]) -> dict[str, Any]:
    """`/openapi/v3`: each served group-version and the URL of its document.

    The `hash` query changes whenever the document does, so a client may cache
    a URL forever (kubectl's disk cache does).
    """
    kinds = list(resources)
    paths: dict[str, Any] = {}
    for path in sorted({rt.api_path for rt in kinds}):
        doc = document(kinds, path)
        if doc is not None:
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={document_hash(doc)}"}
    return {"paths": paths}


def document_hash(doc: dict[str, Any]) -> str:
    """A stable digest of a document: the same content always gives the same hash."""
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha512(canonical).hexdigest().upper()


def document(resources: Iterable[ResourceType], path: str) -> dict[str, Any] | None:
    """The OpenAPI 3.0 document of `path` (`api/v1`, `apis/<group>/<version>`);
    None when nothing is served there."""
    kinds = sorted((rt for rt in resources if rt.api_path == path),
                   key=lambda rt: rt.plural)
    if not kinds:
        return None
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {
        _PATCH_SCHEMA: {
            "type": "object",
            "description": "The body of a PATCH request, in the format its Content-Type names.",
        },
        _STATUS_SCHEMA: {
            "type": "object",
            "description": "The reply to a request that returns no object, or an error.",
            "x-kubernetes-group-version-kind": [gvk("", "v1", "Status")],
        },
    }
    for rt in kinds:
        collection, item = _urls(rt)
        paths[collection] = _collection_operations(rt)
        paths[item] = _item_operations(rt)
        schemas[schema_name(rt)] = _kind_schema(rt)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


# -- paths -------------------------------------------------------------------------------

def _urls(rt: ResourceType) -> tuple[str, str]:
    base = "/" + rt.api_path
    if rt.namespaced:
        base += "/namespaces/{namespace}"
    collection = f"{base}/{rt.plural}"
    return collection, collection + "/{name}"


def _query(name: str, description: str, type_: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": type_, "uniqueItems": True}}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "description": description, "required": True,
            "schema": {"type": "string", "uniqueItems": True}}


def _dry_run() -> dict[str, Any]:
    return _query("dryRun", "When present (All), the change is checked but not stored.")


def _write_params() -> tuple[dict[str, Any], ...]:
    """The query parameters of every write; `fieldValidation` is the one kubectl looks for."""
    return (_dry_run(),
            _query("fieldManager", "The name of the actor making the change."),
            _query("fieldValidation", "How the server treats unknown or duplicate fields "
                                      "in the body: Ignore, Warn or Strict."))


def _operation_id(verb: str, rt: ResourceType) -> str:
    """`patchCoreV1NamespacedPod`, `listAppsV1NamespacedDeployment`: kube's naming."""
    group = "".join(p.capitalize() for p in rt.group.removesuffix(".k8s.io").split(".")) \
        if rt.group else "Core"
    scope = "Namespaced" if rt.namespaced else ""
    return f"{verb}{group}{rt.version.capitalize()}{scope}{rt.kind}"


def _ref(rt: ResourceType) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{schema_name(rt)}"}


def _json_reply(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def _operation(rt: ResourceType, verb: str, action: str, description: str, *,
               params: tuple[dict[str, Any], ...] = (), body: dict[str, Any] | None = None,
               reply: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "description": description,
        "operationId": _operation_id(verb, rt),
        "parameters": list(params),
    }
    if body is not None:
        op["requestBody"] = body
    op["responses"] = {"200": _json_reply(reply or _ref(rt)),
                       "401": {"description": "Unauthorized"}}
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = gvk(rt.group, rt.version, rt.kind)
    return op


def _scope_params(rt: ResourceType, *, item: bool) -> list[dict[str, Any]]:
    params = []
    if item:
        params.append(_path_param("name", f"name of the {rt.kind}"))
    if rt.namespaced:
        params.append(_path_param("namespace", f"the namespace the {rt.kind} lives in"))
    return params


def _collection_operations(rt: ResourceType) -> dict[str, Any]:
    whole = {"content": {"application/json": {"schema": _ref(rt)}}, "required": True}
    listing = (_query("labelSelector", "Only objects whose labels match."),
               _query("fieldSelector", "Only objects whose fields match."),
               _query("resourceVersion", "Where a list or watch starts."),
               _query("watch", "Stream changes instead of listing.", "boolean"))
    return {
        "get": _operation(rt, "list", "list", f"list or watch objects of kind {rt.kind}",
                          params=listing, reply={"type": "object"}),
        "post": _operation(rt, "create", "post", f"create a {rt.kind}",
                           params=_write_params(), body=whole),
        "parameters": _scope_params(rt, item=False),
    }


def _item_operations(rt: ResourceType) -> dict[str, Any]:
    whole = {"content": {"application/json": {"schema": _ref(rt)}}, "required": True}
    patch_body = {"content": {t: {"schema": {"$ref": f"#/components/schemas/{_PATCH_SCHEMA}"}}
                              for t in PATCH_TYPES},
                  "required": True}
    return {
        "get": _operation(rt, "read", "get", f"read the specified {rt.kind}"),
        "put": _operation(rt, "replace", "put", f"replace the specified {rt.kind}",
                          params=_write_params(), body=whole),
        "patch": _operation(rt, "patch", "patch", f"partially update the specified {rt.kind}",
                            params=_write_params() + (_query("force", "Take over conflicting "
                                                    "fields on an apply patch.", "boolean"),),
                            body=patch_body),
        "delete": _operation(rt, "delete", "delete", f"delete a {rt.kind}",
                             params=(_dry_run(),
                                     _query("gracePeriodSeconds", "Seconds to wait before "
                                            "deleting; 0 deletes at once.", "integer"),
                                     _query("propagationPolicy", "Orphan, Background or "
                                            "Foreground: what happens to dependents.")),
                             reply={"$ref": f"#/components/schemas/{_STATUS_SCHEMA}"}),
        "parameters": _scope_params(rt, item=True),
    }


# -- schemas -----------------------------------------------------------------------------

_TOP_LEVEL_FIELDS: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    ("ConfigMap", (("data", "object", "Configuration data: string keys and values."),
                   ("binaryData", "object", "Binary configuration data, base64 encoded."),
                   ("immutable", "boolean", "When true, the data cannot change."))),
    ("Secret", (("data", "object", "Secret data, base64 encoded."),
                ("stringData", "object", "Secret data in plain text, merged into data on write."),
                ("type", "string", "What the secret holds, such as Opaque."),
                ("immutable", "boolean", "When true, the data cannot change."))),
    ("Endpoints", (("subsets", "array", "The addresses and ports behind a service."),)),
    ("Event", (("involvedObject", "object", "The object this event is about."),
               ("reason", "string", "A short machine-readable word for why it happened."),
               ("message", "string", "What happened, for humans."),
               ("type", "string", "Normal or Warning."),
               ("count", "integer", "How many times it happened."))),
    ("ControllerRevision", (("data", "object", "The recorded state."),
                            ("revision", "integer", "The revision number."))),
)
"""Top-level fields (name, type, description) of the built-in kinds that have no
spec/status pair, so `kubectl explain configmap` names `data`, not `spec`."""


def _builtin_fields(rt: ResourceType) -> dict[str, Any]:
    fields = dict(_TOP_LEVEL_FIELDS).get(rt.kind)
    if fields is None:
        fields = (("spec", "object", f"The desired state of the {rt.kind}."),)
        if rt.has_status:
            fields += (("status", "object", f"The observed state of the {rt.kind}."),)
    properties: dict[str, Any] = {}
    for name, type_, what in fields:
        prop: dict[str, Any] = {"type": type_, "description": what}
        if type_ == "object":
            prop["x-kubernetes-preserve-unknown-fields"] = True
        elif type_ == "array":
            prop["items"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        properties[name] = prop
    return properties


def _kind_schema(rt: ResourceType) -> dict[str, Any]:
    """A kind's component: its CRD schema, or a permissive built-in one that names
    the standard fields (the engine, not this document, validates objects)."""
    if rt.schema:
        schema = copy.deepcopy(rt.schema)
        schema.setdefault("type", "object")
        properties = schema.setdefault("properties", {})
    else:
        schema = {
            "type": "object",
            "description": f"{rt.kind} ({rt.api_version}), as served by the embedded cluster.",
        }
        properties = schema["properties"] = _builtin_fields(rt)
    properties.setdefault("apiVersion", {
        "type": "string",
        "description": "The versioned schema of this representation of an object."})
    properties.setdefault("kind", {
        "type": "string", "description": "The REST resource this object represents."})
    properties.setdefault("metadata", {
        "type": "object", "description": "Standard object's metadata: name, namespace, "
                                         "labels, annotations, owner references.",
        "x-kubernetes-preserve-unknown-fields": True})
    schema["x-kubernetes-group-version-kind"] = [gvk(rt.group, rt.version, rt.kind)]
    return schema
