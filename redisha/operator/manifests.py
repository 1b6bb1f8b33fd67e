"""The objects a RedisFailover owns, built as Kubernetes manifests (pure functions).

For RedisFailover `x`:

| object | name | what |
|---|---|---|
| StatefulSet | `rfr-x` | the redis pods `rfr-x-0..n-1` (Parallel pod management) |
| ConfigMap | `rfr-x` | `redis.conf`: the settings a restarted redis must start with |
| Service (headless) | `rfr-x` | stable DNS names `rfr-x-N.rfr-x` |
| Service | `rfrm-x` | the primary: selects `redisha.io/role=primary` |
| Service | `rfrs-x` | the replicas: selects `redisha.io/role=replica` |
| ConfigMap | `rfs-x` | `sentinel.conf`, written once the bootstrapped primary is known |
| Deployment | `rfs-x` | the sentinels |
| Service | `rfs-x` | the sentinels, port 26379 |

Each carries a controller ownerReference to the RedisFailover, so deleting it deletes them
all. What a redis pod runs is `START_SCRIPT` (see its docstring and docs/operator.md).
"""

from __future__ import annotations

from typing import Any

from cluster.api import objects
from redisha.operator.spec import AntiAffinity, FailoverSpec

MASTER_NAME = "mymaster"
"""The name sentinels monitor the primary under."""
REDIS_PORT = 6379
SENTINEL_PORT = 26379

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
ROLE_LABEL = "redisha.io/role"
APP_NAME = "redisfailover"
MANAGER = "redisha-operator"

REDIS = "redis"
SENTINEL = "sentinel"
PRIMARY = "primary"
REPLICA = "replica"

HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"
REDIS_CONFIG_DIR = "/etc/redis"
SENTINEL_CONFIG_DIR = "/etc/sentinel"
DATA_DIR = "/data"

NOWHERE = ("127.0.0.1", 1)
"""The primary a redis pod replicates when no other primary is known: nothing listens
there, so the pod stays a read-only replica that keeps its data, and refuses to serve a
sync to others (`-NOMASTERLINK`), until the operator or the sentinels point it somewhere."""

START_SCRIPT = f"""\
# redisha: a redis pod never starts as a writable primary on its own.
# Ask the sentinels who the primary is; replicate it, unless it is this pod or unknown.
answer=$(timeout -s KILL "${{SENTINEL_TIMEOUT:-2}}" redis-cli -h "$SENTINEL_SERVICE" \\
    -p {SENTINEL_PORT} SENTINEL get-master-addr-by-name {MASTER_NAME} 2>/dev/null)
ip=$(printf '%s\\n' "$answer" | sed -n 1p)
port=$(printf '%s\\n' "$answer" | sed -n 2p)
case "$ip" in ''|*[!0-9.]*) ip= ;; esac
case "$port" in ''|*[!0-9]*) ip= ;; esac
if [ -n "$ip" ] && [ "$ip" != "$POD_IP" ]; then
    echo "redisha: the sentinels name $ip:$port as primary; starting as its replica"
    exec redis-server {REDIS_CONFIG_DIR}/redis.conf --replicaof "$ip" "$port"
fi
echo "redisha: no other primary known; starting read-only (replica of {NOWHERE[0]}:{NOWHERE[1]}) until the operator or the sentinels decide"
exec redis-server {REDIS_CONFIG_DIR}/redis.conf --replicaof {NOWHERE[0]} {NOWHERE[1]}
"""
"""The redis container's `sh -c` script. It works the same with the fake image and with
real redis-server 7.0: `replicaof` an address where nothing listens keeps the server
read-only and its data intact (a replica flushes only when a sync succeeds)."""

SENTINEL_SCRIPT = (f"cp {SENTINEL_CONFIG_DIR}/sentinel.conf /tmp/sentinel.conf && "
                   "exec redis-sentinel /tmp/sentinel.conf")
"""Sentinels rewrite their config file, and a ConfigMap volume is read-only: copy first."""


# -- names and labels ------------------------------------------------------------------------

def redis_name(rf_name: str) -> str:
    """StatefulSet, headless Service and redis ConfigMap: `rfr-<name>`."""
    return f"rfr-{rf_name}"


def primary_service_name(rf_name: str) -> str:
    return f"rfrm-{rf_name}"


def replicas_service_name(rf_name: str) -> str:
    return f"rfrs-{rf_name}"


def sentinel_name(rf_name: str) -> str:
    """Deployment, Service and sentinel ConfigMap: `rfs-<name>`."""
    return f"rfs-{rf_name}"


def selector_labels(rf_name: str, component: str) -> dict[str, str]:
    """The labels every pod of `component` (redis or sentinel) of RedisFailover `rf_name` has."""
    return {NAME_LABEL: APP_NAME, INSTANCE_LABEL: rf_name, COMPONENT_LABEL: component}


def selector(rf_name: str, component: str) -> str:
    """`selector_labels` as a label selector string."""
    return ",".join(f"{k}={v}" for k, v in selector_labels(rf_name, component).items())


def _object_labels(rf_name: str, component: str) -> dict[str, str]:
    return {**selector_labels(rf_name, component), MANAGED_BY_LABEL: MANAGER}


def _metadata(rf: dict[str, Any], name: str, component: str) -> dict[str, Any]:
    return {"name": name, "namespace": objects.namespace_of(rf),
            "labels": _object_labels(objects.name_of(rf), component),
            "ownerReferences": [objects.owner_reference(rf)]}


def _affinity(rf_name: str, component: str, mode: AntiAffinity) -> dict[str, Any] | None:
    term = {"labelSelector": {"matchLabels": selector_labels(rf_name, component)},
            "topologyKey": HOSTNAME_TOPOLOGY}
    if mode is AntiAffinity.REQUIRED:
        return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    if mode is AntiAffinity.PREFERRED:
        return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": term}]}}
    return None


# -- redis ------------------------------------------------------------------------------------

FULL_SYNC_LINES = (
    "# A full sync streams the snapshot to the replica at once: Redis 7 waits 5 s",
    "# (repl-diskless-sync-delay) for more replicas to share it, and a returning pod or",
    "# a new replica would stay out of sync that long after every failover.",
    "repl-diskless-sync yes",
    "repl-diskless-sync-delay 0",
)
"""Full syncs without delay, on both backends (the fake's `repl-diskless-sync` default is
`no`; real redis-server 7.0's is `yes` with a 5 s delay)."""


def redis_conf(spec: FailoverSpec) -> str:
    """The redis.conf every redis pod starts with (the settings the spec controls)."""
    lines = [
        "# Written by the redisha operator; running pods get changes by CONFIG SET.",
        f"port {REDIS_PORT}",
        f"min-replicas-to-write {spec.redis.min_replicas_to_write}",
        f"min-replicas-max-lag {spec.redis.min_replicas_max_lag}",
        *FULL_SYNC_LINES,
    ]
    if spec.redis.persistence.enabled:
        lines.append(f"dir {DATA_DIR}")
    return "\n".join(lines) + "\n"


def redis_config_map(rf: dict[str, Any], spec: FailoverSpec) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _metadata(rf, redis_name(objects.name_of(rf)), REDIS),
            "data": {"redis.conf": redis_conf(spec)}}


def redis_statefulset(rf: dict[str, Any], spec: FailoverSpec) -> dict[str, Any]:
    """StatefulSet `rfr-<name>`: the redis pods, each running `START_SCRIPT`."""
    rf_name = objects.name_of(rf)
    name = redis_name(rf_name)
    labels = selector_labels(rf_name, REDIS)
    container: dict[str, Any] = {
        "name": REDIS,
        "image": spec.redis.image,
        "command": ["sh", "-c", START_SCRIPT],
        "env": [
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "SENTINEL_SERVICE", "value": sentinel_name(rf_name)},
        ],
        "ports": [{"name": REDIS, "containerPort": REDIS_PORT, "protocol": "TCP"}],
        "volumeMounts": [{"name": "config", "mountPath": REDIS_CONFIG_DIR, "readOnly": True}],
    }
    if spec.redis.resources:
        container["resources"] = objects.clone(spec.redis.resources)
    pod_spec: dict[str, Any] = {
        "containers": [container],
        "volumes": [{"name": "config", "configMap": {"name": name}}],
    }
    affinity = _affinity(rf_name, REDIS, spec.redis.anti_affinity)
    if affinity is not None:
        pod_spec["affinity"] = affinity
    sts_spec: dict[str, Any] = {
        "serviceName": name,
        "replicas": spec.redis.replicas,
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": dict(labels)},
        "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
    }
    persistence = spec.redis.persistence
    if persistence.enabled:
        container["volumeMounts"].append({"name": "data", "mountPath": DATA_DIR})
        claim_spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"],
                                      "resources": {"requests": {"storage": persistence.size}}}
        if persistence.storage_class:
            claim_spec["storageClassName"] = persistence.storage_class
        sts_spec["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": claim_spec}]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": _metadata(rf, name, REDIS), "spec": sts_spec}


def _service(rf: dict[str, Any], name: str, component: str, port: int,
             extra_selector: dict[str, str] | None = None,
             headless: bool = False) -> dict[str, Any]:
    rf_name = objects.name_of(rf)
    spec: dict[str, Any] = {
        "selector": {**selector_labels(rf_name, component), **(extra_selector or {})},
        "ports": [{"name": component, "port": port, "targetPort": port, "protocol": "TCP"}],
    }
    if headless:
        spec["clusterIP"] = "None"
        spec["publishNotReadyAddresses"] = True
    return {"apiVersion": "v1", "kind": "Service", "metadata": _metadata(rf, name, component),
            "spec": spec}


def services(rf: dict[str, Any]) -> list[dict[str, Any]]:
    """The four Services: headless, primary, replicas (redis) and sentinels."""
    rf_name = objects.name_of(rf)
    return [
        _service(rf, redis_name(rf_name), REDIS, REDIS_PORT, headless=True),
        _service(rf, primary_service_name(rf_name), REDIS, REDIS_PORT, {ROLE_LABEL: PRIMARY}),
        _service(rf, replicas_service_name(rf_name), REDIS, REDIS_PORT, {ROLE_LABEL: REPLICA}),
        _service(rf, sentinel_name(rf_name), SENTINEL, SENTINEL_PORT),
    ]


# -- sentinels --------------------------------------------------------------------------------

def sentinel_conf(spec: FailoverSpec, primary_ip: str) -> str:
    """sentinel.conf monitoring `primary_ip`, in real Sentinel's syntax."""
    s = spec.sentinel
    return "\n".join([
        f"port {SENTINEL_PORT}",
        f"sentinel monitor {MASTER_NAME} {primary_ip} {REDIS_PORT} {s.quorum}",
        f"sentinel down-after-milliseconds {MASTER_NAME} {s.down_after_ms}",
        f"sentinel failover-timeout {MASTER_NAME} {s.failover_timeout_ms}",
        f"sentinel parallel-syncs {MASTER_NAME} {s.parallel_syncs}",
    ]) + "\n"


def sentinel_config_map(rf: dict[str, Any], spec: FailoverSpec,
                        primary_ip: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": _metadata(rf, sentinel_name(objects.name_of(rf)), SENTINEL),
            "data": {"sentinel.conf": sentinel_conf(spec, primary_ip)}}


def monitored_ip(config_map: dict[str, Any]) -> str | None:
    """The primary address a sentinel ConfigMap's `sentinel monitor` line names."""
    text = (config_map.get("data") or {}).get("sentinel.conf") or ""
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 4 and words[:2] == ["sentinel", "monitor"] and words[2] == MASTER_NAME:
            return words[3]
    return None


def sentinel_deployment(rf: dict[str, Any], spec: FailoverSpec) -> dict[str, Any]:
    """Deployment `rfs-<name>`: the sentinels, each starting from the ConfigMap's file."""
    rf_name = objects.name_of(rf)
    name = sentinel_name(rf_name)
    labels = selector_labels(rf_name, SENTINEL)
    pod_spec: dict[str, Any] = {
        "containers": [{
            "name": SENTINEL,
            "image": spec.sentinel.image,
            "command": ["sh", "-c", SENTINEL_SCRIPT],
            "ports": [{"name": SENTINEL, "containerPort": SENTINEL_PORT, "protocol": "TCP"}],
            "volumeMounts": [{"name": "config", "mountPath": SENTINEL_CONFIG_DIR,
                              "readOnly": True}],
        }],
        "volumes": [{"name": "config", "configMap": {"name": name}}],
    }
    affinity = _affinity(rf_name, SENTINEL, spec.redis.anti_affinity)
    if affinity is not None:
        pod_spec["affinity"] = affinity
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": _metadata(rf, name, SENTINEL),
            "spec": {"replicas": spec.sentinel.replicas,
                     "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec}}}
