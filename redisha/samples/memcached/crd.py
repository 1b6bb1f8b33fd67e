"""The Memcached custom resource: `cache.example.com/v1alpha1`, kind `Memcached`.

The manifest has the shape controller-gen writes for operator-sdk's sample
(`MemcachedSpec{Size int32}` with `+kubebuilder:validation:Minimum=0`,
`MemcachedStatus{Nodes []string}`, `+kubebuilder:subresource:status`). It is built in code,
not shipped as YAML, so it needs no package data; `kubectl apply -f` of its YAML dump works
the same as applying the generated file.
"""

from __future__ import annotations

from typing import Any

from cluster.api import errors
from cluster.client import Client

GROUP = "cache.example.com"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "Memcached"
PLURAL = "memcacheds"
SINGULAR = "memcached"
NAME = f"{PLURAL}.{GROUP}"
"""The CRD's own name, `<plural>.<group>`."""
RESOURCE = NAME
"""How the client names the kind unambiguously (`memcacheds.cache.example.com`)."""

_API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject "
    "unrecognized values.")
_KIND_DOC = (
    "Kind is a string value representing the REST resource this object represents. Servers "
    "may infer this from the endpoint the client submits requests to. Cannot be updated. In "
    "CamelCase.")


def crd() -> dict[str, Any]:
    """The CustomResourceDefinition manifest (a fresh dict each call: callers may change it)."""
    schema: dict[str, Any] = {
        "description": "Memcached is the Schema for the memcacheds API",
        "type": "object",
        "properties": {
            "apiVersion": {"description": _API_VERSION_DOC, "type": "string"},
            "kind": {"description": _KIND_DOC, "type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "description": "MemcachedSpec defines the desired state of Memcached",
                "type": "object",
                "required": ["size"],
                "properties": {
                    "size": {
                        "description": "Size is the size of the memcached deployment",
                        "type": "integer", "format": "int32", "minimum": 0,
                    },
                },
            },
            "status": {
                "description": "MemcachedStatus defines the observed state of Memcached",
                "type": "object",
                "properties": {
                    "nodes": {
                        "description": "Nodes are the names of the memcached pods",
                        "type": "array", "items": {"type": "string"},
                    },
                },
            },
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": NAME,
            "annotations": {"controller-gen.kubebuilder.io/version": "v0.4.1"},
        },
        "spec": {
            "group": GROUP,
            "names": {"kind": KIND, "listKind": f"{KIND}List", "plural": PLURAL,
                      "singular": SINGULAR},
            "scope": "Namespaced",
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": schema},
                "subresources": {"status": {}},
            }],
        },
    }


def sample(name: str = "memcached-sample", size: int = 1,
           namespace: str | None = None) -> dict[str, Any]:
    """A Memcached object; the defaults are the tutorial's `cache_v1alpha1_memcached.yaml`."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata,
            "spec": {"size": size}}


async def install(client: Client) -> dict[str, Any]:
    """Create the CRD, or leave the one already there (`make install`'s role in the sample).

    Returns the stored CRD. An existing CRD is not replaced, so a CRD a user edited stays as
    they left it; `kubectl apply -f` is the way to update it.
    """
    try:
        return await client.create(crd())
    except errors.AlreadyExists:
        return await client.get("customresourcedefinitions", NAME)
