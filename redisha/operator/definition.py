"""The RedisFailover custom resource: `redisha.io/v1`, kind `RedisFailover`, short name `rf`.

The manifest is built in code (no package data), with a structural schema whose `default:`
values the API server fills in, so `kubectl get rf x -o yaml` shows every setting the
operator acts on. Objects nest their defaults (`spec: {}` → `spec.redis: {}` →
`spec.redis.replicas: 3`) because structural defaulting only fills fields of objects that
exist; an empty `spec` therefore becomes the complete default spec.
"""

from __future__ import annotations

from typing import Any

from cluster.api import errors
from cluster.client import Client

GROUP = "redisha.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "RedisFailover"
PLURAL = "redisfailovers"
SINGULAR = "redisfailover"
SHORT_NAMES = ("rf",)
NAME = f"{PLURAL}.{GROUP}"
"""The CRD's own name, `<plural>.<group>`."""
RESOURCE = NAME
"""How the client names the kind unambiguously."""

DEFAULT_REDIS_IMAGE = "redis"
DEFAULT_SENTINEL_IMAGE = "redisha/sentinel"

_QUANTITY = {"x-kubernetes-int-or-string": True,
             "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
                        r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"}


def _integer(description: str, default: int, minimum: int) -> dict[str, Any]:
    return {"description": description, "type": "integer", "format": "int32",
            "minimum": minimum, "default": default}


def _resources_schema() -> dict[str, Any]:
    quantities = {"type": "object", "additionalProperties": dict(_QUANTITY)}
    return {
        "description": "Compute resources of each redis container (a core/v1 "
                       "ResourceRequirements: limits and requests).",
        "type": "object",
        "properties": {
            "limits": {**quantities, "description": "Maximum resources allowed."},
            "requests": {**quantities, "description": "Minimum resources required."},
        },
    }


def _redis_schema() -> dict[str, Any]:
    return {
        "description": "The redis pods: a StatefulSet rfr-<name>.",
        "type": "object",
        "default": {},
        "properties": {
            "replicas": _integer("Redis pods, the primary included.", 3, 1),
            "image": {"description": "The redis container's image.", "type": "string",
                      "default": DEFAULT_REDIS_IMAGE},
            "resources": _resources_schema(),
            "antiAffinity": {
                "description": "Spread redis pods over nodes (kubernetes.io/hostname): "
                               "required, preferred or none.",
                "type": "string", "enum": ["required", "preferred", "none"],
                "default": "preferred"},
            "minReplicasToWrite": _integer(
                "min-replicas-to-write: the primary refuses writes with fewer replicas "
                "acknowledging within minReplicasMaxLagSeconds (0 disables).", 0, 0),
            "minReplicasMaxLagSeconds": _integer(
                "min-replicas-max-lag, in seconds (Redis' default 10).", 10, 0),
            "persistence": {
                "description": "A PersistentVolumeClaim per pod, mounted at /data.",
                "type": "object",
                "default": {},
                "properties": {
                    "enabled": {"type": "boolean", "default": False,
                                "description": "Give each redis pod a claim `data`."},
                    "size": {**_QUANTITY, "default": "1Gi",
                             "description": "The claim's storage request."},
                    "storageClassName": {"type": "string",
                                         "description": "The claim's storage class."},
                },
            },
        },
    }


def _sentinel_schema() -> dict[str, Any]:
    return {
        "description": "The sentinels: a Deployment rfs-<name>.",
        "type": "object",
        "default": {},
        "properties": {
            "replicas": _integer("Sentinel pods.", 3, 1),
            "quorum": _integer("Sentinels that must agree the primary is down (ODOWN).", 2, 1),
            "downAfterMilliseconds": _integer(
                "down-after-milliseconds: silence before a sentinel calls the primary down.",
                5000, 1),
            "failoverTimeoutMilliseconds": _integer("failover-timeout.", 10000, 1),
            "parallelSyncs": _integer(
                "parallel-syncs: replicas reconfigured at once after a failover.", 1, 1),
            "image": {"description": "The sentinel container's image.", "type": "string",
                      "default": DEFAULT_SENTINEL_IMAGE},
        },
    }


def _status_schema() -> dict[str, Any]:
    timestamp = {"type": "string", "format": "date-time"}
    replica = {"type": "object", "properties": {
        "name": {"type": "string"}, "ip": {"type": "string"},
        "offset": {"type": "integer", "format": "int64"},
        "lagBytes": {"type": "integer", "format": "int64"},
        "link": {"type": "string"}, "role": {"type": "string"}}}
    sentinel = {"type": "object", "properties": {
        "name": {"type": "string"}, "ip": {"type": "string"},
        "primary": {"type": "string", "description": "The primary this sentinel believes "
                                                     "in (ip:port), empty when none."},
        "epoch": {"type": "integer", "format": "int64"},
        "failoverState": {"type": "string"},
        "knownSentinels": {"type": "integer"},
        "knownReplicas": {"type": "integer"}}}
    last_failover = {"type": "object", "properties": {
        "reason": {"type": "string",
                   "enum": ["PodDeleted", "ContainerExited", "NodeLost", "ODOWN", "Manual"]},
        "from": {"type": "string"}, "to": {"type": "string"},
        "epoch": {"type": "integer", "format": "int64"},
        "startedAt": timestamp, "promotedAt": timestamp, "completedAt": timestamp,
        "durationMs": {"type": "integer", "format": "int64"}}}
    condition = {"type": "object", "required": ["type", "status"], "properties": {
        "type": {"type": "string"},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "reason": {"type": "string"}, "message": {"type": "string"},
        "lastTransitionTime": timestamp,
        "observedGeneration": {"type": "integer", "format": "int64"}}}
    return {
        "description": "What the operator last observed.",
        "type": "object",
        "properties": {
            "phase": {"type": "string",
                      "enum": ["Bootstrapping", "Ready", "Failover", "Degraded"]},
            "primary": {"type": "string", "description": "The primary pod's name."},
            "primaryIP": {"type": "string"},
            "epoch": {"type": "integer", "format": "int64",
                      "description": "The sentinels' configuration epoch of the primary."},
            "observedGeneration": {"type": "integer", "format": "int64"},
            "replicas": {"type": "array", "items": replica},
            "sentinels": {"type": "array", "items": sentinel},
            "lastFailover": last_failover,
            "conditions": {"type": "array", "items": condition},
        },
    }


def crd() -> dict[str, Any]:
    """The CustomResourceDefinition manifest (a fresh dict each call: callers may change it)."""
    schema: dict[str, Any] = {
        "description": "A Redis primary with replicas and the sentinels that fail it over.",
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "default": {},
                "properties": {"redis": _redis_schema(), "sentinel": _sentinel_schema()},
            },
            "status": _status_schema(),
        },
    }
    columns = [
        {"name": "Primary", "type": "string", "jsonPath": ".status.primary"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Epoch", "type": "integer", "jsonPath": ".status.epoch"},
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.redis.replicas"},
        {"name": "Sentinels", "type": "integer", "jsonPath": ".spec.sentinel.replicas"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": NAME},
        "spec": {
            "group": GROUP,
            "names": {"kind": KIND, "listKind": f"{KIND}List", "plural": PLURAL,
                      "singular": SINGULAR, "shortNames": list(SHORT_NAMES)},
            "scope": "Namespaced",
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": schema},
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
            }],
        },
    }


def sample(name: str = "redisfailover", namespace: str | None = None,
           spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """A RedisFailover object; `spec` (default: empty, i.e. every default) as given."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata,
            "spec": dict(spec or {})}


async def install(client: Client) -> dict[str, Any]:
    """Create the CRD unless it exists; returns the stored CRD.

    An existing CRD is left as it is, so one a user edited stays as they left it
    (`kubectl apply -f` updates it).
    """
    try:
        return await client.create(crd())
    except errors.AlreadyExists:
        return await client.get("customresourcedefinitions", NAME)
