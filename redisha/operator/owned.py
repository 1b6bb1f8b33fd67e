"""Creating and updating the objects a RedisFailover owns (`manifests` builds them).

Desired specs are compared through a hash kept in an annotation, so an object is written
only when what the operator wants of it changed — not on every reconcile because the API
server added defaults to the stored copy. Fields Kubernetes forbids changing (a
StatefulSet's `volumeClaimTemplates`, `serviceName`, `selector`) keep their stored values.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cluster.api import errors, objects
from cluster.client import Client

SPEC_HASH = "redisha.io/spec-hash"
"""Annotation: the hash of the spec the operator last wrote."""

_IMMUTABLE = {"StatefulSet": ("serviceName", "selector", "volumeClaimTemplates",
                              "podManagementPolicy"),
              "Deployment": ("selector",)}
_RESOURCES = {"StatefulSet": "statefulsets", "Deployment": "deployments",
              "Service": "services", "ConfigMap": "configmaps"}


def spec_hash(desired: dict[str, Any]) -> str:
    body = {k: v for k, v in desired.items() if k in ("spec", "data")}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _annotated(desired: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = objects.clone(desired)
    out["metadata"].setdefault("annotations", {})[SPEC_HASH] = spec_hash(desired)
    return out


async def ensure(client: Client, desired: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Create `desired`, or bring the stored object to it; returns (object, written).

    Services are only created: their cluster IP and ports are theirs once allocated.
    """
    kind = desired["kind"]
    resource = _RESOURCES[kind]
    name, namespace = objects.name_of(desired), objects.namespace_of(desired)
    try:
        current = await client.get(resource, name, namespace)
    except errors.NotFound:
        try:
            return await client.create(_annotated(desired)), True
        except errors.AlreadyExists:
            current = await client.get(resource, name, namespace)
    if kind == "Service":
        return current, False
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    same_replicas = (current.get("spec") or {}).get("replicas") == \
        (desired.get("spec") or {}).get("replicas")
    if annotations.get(SPEC_HASH) == spec_hash(desired) and same_replicas:
        return current, False
    updated = objects.clone(current)
    meta = updated.setdefault("metadata", {})
    meta.setdefault("annotations", {})[SPEC_HASH] = spec_hash(desired)
    meta.setdefault("labels", {}).update(desired["metadata"].get("labels") or {})
    if "data" in desired:
        updated["data"] = objects.clone(desired["data"])
    if "spec" in desired:
        spec = objects.clone(desired["spec"])
        for field in _IMMUTABLE.get(kind, ()):
            if field in (current.get("spec") or {}):
                spec[field] = current["spec"][field]
            else:
                spec.pop(field, None)
        updated["spec"] = spec
    try:
        return await client.update(updated), True
    except errors.Conflict:
        return current, False  # the next reconcile tries again on the newer version


async def get_or_none(client: Client, resource: str, name: str,
                      namespace: str) -> dict[str, Any] | None:
    try:
        return await client.get(resource, name, namespace)
    except errors.NotFound:
        return None
