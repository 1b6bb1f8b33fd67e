"""Builders shared by the API server's tests."""

from __future__ import annotations

import random
from typing import Any

from cluster.apiserver import APIServer


def make_api() -> APIServer:
    return APIServer(clock=lambda: 1_700_000_000.0, rng=random.Random(7))


def pod(name: str, ns: str | None = None, **meta: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, **meta}
    if ns:
        m["namespace"] = ns
    return {"apiVersion": "v1", "kind": "Pod", "metadata": m,
            "spec": {"containers": [{"name": "c", "image": "redis"}]}}


def configmap(name: str, **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta},
            "data": {"k": "v"}}


def deployment(name: str, replicas: Any = 1) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "redis"}]}}}}


def owned_by(obj: dict[str, Any], owner: dict[str, Any], block: bool = True) -> dict[str, Any]:
    obj["metadata"]["ownerReferences"] = [{
        "apiVersion": owner["apiVersion"], "kind": owner["kind"],
        "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
        "controller": True, "blockOwnerDeletion": block}]
    return obj


MEMCACHED_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "memcacheds.cache.example.com"},
    "spec": {
        "group": "cache.example.com", "scope": "Namespaced",
        "names": {"plural": "memcacheds", "singular": "memcached", "kind": "Memcached",
                  "listKind": "MemcachedList", "shortNames": ["mc"]},
        "versions": [{
            "name": "v1alpha1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "minimum": 0, "format": "int32"},
                        "mode": {"type": "string", "enum": ["fast", "safe"], "default": "safe"}}},
                    "status": {"type": "object", "properties": {
                        "nodes": {"type": "array", "items": {"type": "string"}}}}}}},
        }],
    },
}


def memcached(name: str, spec: Any) -> dict[str, Any]:
    return {"apiVersion": "cache.example.com/v1alpha1", "kind": "Memcached",
            "metadata": {"name": name}, "spec": spec}
