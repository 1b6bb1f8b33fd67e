"""Builders for valid objects of each kind, and a way to read the API's verdict on them.

Each builder returns a fresh, valid object; a test breaks one field and checks the message.
`verdict` runs defaulting first, as the API server does, so tests see what a user would.
"""

from __future__ import annotations

import copy
from typing import Any

from cluster.api import defaults, validation
from cluster.api.errors import Invalid
from cluster.api.resources import BUILTIN_RESOURCES, ResourceType

RT: dict[str, ResourceType] = {rt.kind: rt for rt in BUILTIN_RESOURCES}
Obj = dict[str, Any]


def verdict(kind: str, obj: Obj, old: Obj | None = None) -> str:
    """kube-apiserver's message for `obj` (empty when valid), after defaulting a copy."""
    rt = RT[kind]
    obj = copy.deepcopy(obj)
    defaults.apply_defaults(rt, obj)
    found = (validation.validate_object(rt, obj) if old is None
             else validation.validate_update(rt, obj, defaulted(kind, old)))
    if not found:
        return ""
    return str(Invalid(rt.qualified_kind, (obj.get("metadata") or {}).get("name", ""), found))


def field_errors(kind: str, obj: Obj, old: Obj | None = None) -> list[str]:
    """Each field error as text, after defaulting a copy."""
    rt = RT[kind]
    obj = copy.deepcopy(obj)
    defaults.apply_defaults(rt, obj)
    found = (validation.validate_object(rt, obj) if old is None
             else validation.validate_update(rt, obj, defaulted(kind, old)))
    return [str(error) for error in found]


def defaulted(kind: str, obj: Obj) -> Obj:
    obj = copy.deepcopy(obj)
    defaults.apply_defaults(RT[kind], obj)
    return obj


def meta(name: str, namespace: str | None = "default", **extra: Any) -> Obj:
    m: Obj = {"name": name, **extra}
    if namespace is not None:
        m["namespace"] = namespace
    return m


def container(name: str = "redis", image: str = "redis:7.2", **extra: Any) -> Obj:
    return {"name": name, "image": image, **extra}


def pod(name: str = "redis-0", **spec: Any) -> Obj:
    body: Obj = {"containers": [container()]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta(name), "spec": body}


def template(labels: dict[str, str] | None = None, **spec: Any) -> Obj:
    body: Obj = {"containers": [container()]}
    body.update(spec)
    return {"metadata": {"labels": dict(labels or {"app": "web"})}, "spec": body}


def deployment(name: str = "web", **spec: Any) -> Obj:
    body: Obj = {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": template()}
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name), "spec": body}


def replica_set(name: str = "web-866c4c6cf9", **spec: Any) -> Obj:
    body: Obj = {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": template()}
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta(name), "spec": body}


def claim_template(name: str = "data", storage: str = "1Gi") -> Obj:
    return {"metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": storage}}}}


def stateful_set(name: str = "redis", **spec: Any) -> Obj:
    mounted = container(volumeMounts=[{"name": "data", "mountPath": "/data"}])
    body: Obj = {"replicas": 3, "serviceName": "redis",
                 "selector": {"matchLabels": {"app": "redis"}},
                 "template": template({"app": "redis"}, containers=[mounted]),
                 "volumeClaimTemplates": [claim_template()]}
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(name), "spec": body}


def service(name: str = "redis", **spec: Any) -> Obj:
    body: Obj = {"selector": {"app": "redis"}, "ports": [{"port": 6379}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name), "spec": body}


def pvc(name: str = "data-redis-0", **spec: Any) -> Obj:
    body: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(name),
            "spec": body}


def crd(group: str = "redisha.io", plural: str = "redisfailovers", kind: str = "RedisFailover",
        schema: Obj | None = None, **spec: Any) -> Obj:
    body: Obj = {
        "group": group,
        "scope": "Namespaced",
        "names": {"plural": plural, "kind": kind, "shortNames": ["rf"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": schema or {
                "type": "object",
                "properties": {"spec": {"type": "object", "properties": {
                    "replicas": {"type": "integer", "minimum": 1, "default": 3}}}}}},
        }],
    }
    body.update(spec)
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": meta(f"{plural}.{group}", namespace=None), "spec": body}


def config_map(name: str = "redis-conf", **fields: Any) -> Obj:
    body: Obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name),
                 "data": {"redis.conf": "maxmemory 64mb"}}
    body.update(fields)
    return body
