"""The defaults kube-apiserver fills in before it validates and stores an object.

`kubectl get -o yaml` on a real cluster shows `restartPolicy: Always`, `imagePullPolicy`,
`terminationMessagePath` and friends although nobody wrote them; they come from the API's
defaulting functions (`pkg/apis/*/v1/defaults.go`) and registry strategies. We apply the
same ones so stored objects look the same and controllers can rely on the fields existing.

Defaulting only fills what is missing (or empty, as Go's zero values are); it never
overwrites what the user wrote. Fields that real clusters fill from admission plugins or
allocators (service account, tolerations, priority, cluster IPs, node ports) are left to
those components.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from cluster.api import quantity
from cluster.api import schema as crd_schema
from cluster.api.resources import ResourceType

JSONObject = dict[str, Any]

DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30
DEFAULT_SCHEDULER_NAME = "default-scheduler"
DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"
DEFAULT_REVISION_HISTORY_LIMIT = 10
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600
DEFAULT_MAX_UNAVAILABLE = "25%"
DEFAULT_MAX_SURGE = "25%"
DEFAULT_FILE_MODE = 0o644
"""`defaultMode` of secret, configMap, downwardAPI and projected volumes (420 in JSON)."""


def apply_defaults(rt: ResourceType, obj: JSONObject) -> None:
    """Default `obj` in place as kube-apiserver would for its kind."""
    if rt.custom:
        _default_custom(rt, obj)
        return
    defaulter = _DEFAULTERS.get(rt.key)
    if defaulter is not None:
        defaulter(obj)


def _sub(parent: JSONObject, key: str) -> JSONObject:
    """`parent[key]`, created as `{}` when absent or not an object."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value


def _set_default(obj: JSONObject, key: str, value: Any) -> None:
    """Set when absent or empty ("" / None), the way Go zero values get defaulted."""
    if obj.get(key) in (None, ""):
        obj[key] = value


def _dicts(value: Any) -> list[JSONObject]:
    """The dict items of a list field, skipping anything malformed (validation reports it)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# ---------------------------------------------------------------- pods


def image_pull_policy_for(image: str) -> str:
    """`Always` for `:latest` or an untagged image, else `IfNotPresent` (digests included)."""
    if "@" in image:
        return "IfNotPresent"
    last_part = image.rsplit("/", 1)[-1]
    tag = last_part.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def default_pod_spec(spec: JSONObject) -> None:
    """PodSpec defaults, shared by Pods and every pod template."""
    _set_default(spec, "restartPolicy", "Always")
    _set_default(spec, "dnsPolicy", "ClusterFirst")
    _set_default(spec, "terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS)
    _set_default(spec, "schedulerName", DEFAULT_SCHEDULER_NAME)
    _set_default(spec, "securityContext", {})
    for container in _containers(spec):
        _default_container(container)
    for volume in _dicts(spec.get("volumes")):
        _default_volume(volume)


def _containers(spec: JSONObject) -> list[JSONObject]:
    return _dicts(spec.get("containers")) + _dicts(spec.get("initContainers"))


def _default_container(container: JSONObject) -> None:
    image = container.get("image")
    if isinstance(image, str) and image:
        _set_default(container, "imagePullPolicy", image_pull_policy_for(image))
    _set_default(container, "terminationMessagePath", DEFAULT_TERMINATION_MESSAGE_PATH)
    _set_default(container, "terminationMessagePolicy", "File")
    _set_default(container, "resources", {})
    for port in _dicts(container.get("ports")):
        _set_default(port, "protocol", "TCP")
    for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_key)
        if isinstance(probe, dict):
            _default_probe(probe)
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            handler = lifecycle.get(hook)
            if isinstance(handler, dict):
                _default_http_get(handler)
    for env in _dicts(container.get("env")):
        value_from = env.get("valueFrom")
        if isinstance(value_from, dict) and isinstance(value_from.get("fieldRef"), dict):
            _set_default(value_from["fieldRef"], "apiVersion", "v1")


def _default_probe(probe: JSONObject) -> None:
    _set_default(probe, "timeoutSeconds", 1)
    _set_default(probe, "periodSeconds", 10)
    _set_default(probe, "successThreshold", 1)
    _set_default(probe, "failureThreshold", 3)
    _default_http_get(probe)


def _default_http_get(handler: JSONObject) -> None:
    http_get = handler.get("httpGet")
    if isinstance(http_get, dict):
        _set_default(http_get, "path", "/")
        _set_default(http_get, "scheme", "HTTP")


_VOLUME_SOURCES = (
    "emptyDir", "hostPath", "secret", "configMap", "persistentVolumeClaim", "downwardAPI",
    "projected", "nfs", "csi", "ephemeral", "image", "gitRepo", "iscsi", "glusterfs", "rbd",
    "cephfs", "fc", "flexVolume", "azureFile", "azureDisk", "awsElasticBlockStore",
    "gcePersistentDisk", "cinder", "flocker", "vsphereVolume", "quobyte", "photonPersistentDisk",
    "portworxVolume", "scaleIO", "storageos",
)


def _default_volume(volume: JSONObject) -> None:
    if not any(key in volume for key in _VOLUME_SOURCES):
        volume["emptyDir"] = {}
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        spec = volume.get(source)
        if isinstance(spec, dict):
            _set_default(spec, "defaultMode", DEFAULT_FILE_MODE)


def _default_pod(obj: JSONObject) -> None:
    """PodSpec defaults plus the ones only a Pod gets (not the templates of controllers)."""
    spec = _sub(obj, "spec")
    default_pod_spec(spec)
    _set_default(spec, "enableServiceLinks", True)
    host_network = bool(spec.get("hostNetwork"))
    for container in _containers(spec):
        resources = _sub(container, "resources")
        limits = resources.get("limits")
        if isinstance(limits, dict) and limits:
            requests = _sub(resources, "requests")
            for name, value in limits.items():
                requests.setdefault(name, value)
        if host_network:
            for port in _dicts(container.get("ports")):
                if port.get("hostPort") in (None, 0) and port.get("containerPort") is not None:
                    port["hostPort"] = port["containerPort"]


def pod_qos_class(spec: JSONObject) -> str:
    """`Guaranteed`, `Burstable` or `BestEffort`, from the containers' cpu and memory.

    kube-apiserver writes it to `status.qosClass` when a pod is created (a strategy step,
    not defaulting); the API server can call this there.
    """
    requested = False
    guaranteed = True
    for container in _containers(spec):
        resources = _mapping(container.get("resources"))
        requests = _mapping(resources.get("requests"))
        limits = _mapping(resources.get("limits"))
        for name in _QOS_RESOURCES:
            request, limit = requests.get(name), limits.get(name)
            if _positive(request) or _positive(limit):
                requested = True
            effective_request = request if request is not None else limit
            if limit is None or not _same_quantity(effective_request, limit):
                guaranteed = False
    if not requested:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


_QOS_RESOURCES = ("cpu", "memory")


def _mapping(value: Any) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _positive(value: Any) -> bool:
    try:
        return value is not None and quantity.parse_quantity(value) > 0
    except quantity.QuantityError:
        return False


def _same_quantity(left: Any, right: Any) -> bool:
    try:
        return quantity.parse_quantity(left) == quantity.parse_quantity(right)
    except quantity.QuantityError:
        return False


def _default_template(spec: JSONObject) -> None:
    template = _sub(spec, "template")
    default_pod_spec(_sub(template, "spec"))


# ---------------------------------------------------------------- core kinds


def _default_service(obj: JSONObject) -> None:
    spec = _sub(obj, "spec")
    _set_default(spec, "type", "ClusterIP")
    _set_default(spec, "sessionAffinity", "None")
    service_type = spec["type"]
    if service_type in ("ClusterIP", "NodePort", "LoadBalancer"):
        _set_default(spec, "internalTrafficPolicy", "Cluster")
    if service_type in ("NodePort", "LoadBalancer"):
        _set_default(spec, "externalTrafficPolicy", "Cluster")
    if service_type == "LoadBalancer":
        _set_default(spec, "allocateLoadBalancerNodePorts", True)
    cluster_ip = spec.get("clusterIP")
    if isinstance(cluster_ip, str) and cluster_ip and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [cluster_ip]
    if spec.get("sessionAffinity") == "ClientIP":
        config = _sub(spec, "sessionAffinityConfig")
        client_ip = _sub(config, "clientIP")
        _set_default(client_ip, "timeoutSeconds", 10800)
    for port in _dicts(spec.get("ports")):
        _set_default(port, "protocol", "TCP")
        if port.get("targetPort") in (None, 0, "") and port.get("port") is not None:
            port["targetPort"] = port["port"]


def _default_endpoints(obj: JSONObject) -> None:
    for subset in _dicts(obj.get("subsets")):
        for port in _dicts(subset.get("ports")):
            _set_default(port, "protocol", "TCP")


def _default_namespace(obj: JSONObject) -> None:
    spec = _sub(obj, "spec")
    if not spec.get("finalizers"):
        spec["finalizers"] = ["kubernetes"]
    _set_default(_sub(obj, "status"), "phase", "Active")


def _default_node(obj: JSONObject) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and isinstance(status.get("capacity"), dict):
        if not status.get("allocatable"):
            status["allocatable"] = dict(status["capacity"])


def _default_secret(obj: JSONObject) -> None:
    """Type Opaque; `stringData` is write-only, folded into base64 `data` as on decode."""
    _set_default(obj, "type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = _sub(obj, "data")
        for key, value in string_data.items():
            if isinstance(value, str):
                data[key] = base64.b64encode(value.encode()).decode()


def _default_pvc_spec(spec: JSONObject) -> None:
    _set_default(spec, "volumeMode", "Filesystem")


def _default_pvc(obj: JSONObject) -> None:
    _default_pvc_spec(_sub(obj, "spec"))
    _set_default(_sub(obj, "status"), "phase", "Pending")


# ---------------------------------------------------------------- apps


def _default_replica_set(obj: JSONObject) -> None:
    spec = _sub(obj, "spec")
    _set_default(spec, "replicas", 1)
    _default_template(spec)


def _default_deployment(obj: JSONObject) -> None:
    spec = _sub(obj, "spec")
    _set_default(spec, "replicas", 1)
    strategy = _sub(spec, "strategy")
    _set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _sub(strategy, "rollingUpdate")
        _set_default(rolling, "maxUnavailable", DEFAULT_MAX_UNAVAILABLE)
        _set_default(rolling, "maxSurge", DEFAULT_MAX_SURGE)
    _set_default(spec, "revisionHistoryLimit", DEFAULT_REVISION_HISTORY_LIMIT)
    _set_default(spec, "progressDeadlineSeconds", DEFAULT_PROGRESS_DEADLINE_SECONDS)
    _default_template(spec)


def _default_stateful_set(obj: JSONObject) -> None:
    spec = _sub(obj, "spec")
    _set_default(spec, "replicas", 1)
    _set_default(spec, "podManagementPolicy", "OrderedReady")
    strategy = _sub(spec, "updateStrategy")
    _set_default(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _set_default(_sub(strategy, "rollingUpdate"), "partition", 0)
    _set_default(spec, "revisionHistoryLimit", DEFAULT_REVISION_HISTORY_LIMIT)
    retention = _sub(spec, "persistentVolumeClaimRetentionPolicy")
    _set_default(retention, "whenDeleted", "Retain")
    _set_default(retention, "whenScaled", "Retain")
    _default_template(spec)
    for claim in _dicts(spec.get("volumeClaimTemplates")):
        _set_default(claim, "apiVersion", "v1")
        _set_default(claim, "kind", "PersistentVolumeClaim")
        _default_pvc_spec(_sub(claim, "spec"))
        _set_default(_sub(claim, "status"), "phase", "Pending")


# ---------------------------------------------------------------- CRDs and custom objects


def _default_crd(obj: JSONObject) -> None:
    spec = _sub(obj, "spec")
    names = _sub(spec, "names")
    kind = names.get("kind")
    if isinstance(kind, str) and kind:
        _set_default(names, "singular", kind.lower())
        _set_default(names, "listKind", kind + "List")
    _set_default(_sub(spec, "conversion"), "strategy", "None")


def _default_custom(rt: ResourceType, obj: JSONObject) -> None:
    """What apiextensions-apiserver's decoder does: prune unknown fields, then default."""
    if rt.schema is None:
        return
    crd_schema.prune(rt.schema, obj)
    crd_schema.apply_defaults(rt.schema, obj)


_DEFAULTERS: dict[str, Callable[[JSONObject], None]] = {
    "pods": _default_pod,
    "services": _default_service,
    "endpoints": _default_endpoints,
    "namespaces": _default_namespace,
    "nodes": _default_node,
    "secrets": _default_secret,
    "persistentvolumeclaims": _default_pvc,
    "replicasets.apps": _default_replica_set,
    "deployments.apps": _default_deployment,
    "statefulsets.apps": _default_stateful_set,
    "customresourcedefinitions.apiextensions.k8s.io": _default_crd,
}
"""Defaulting function per store key; kinds without defaults (ConfigMap, Lease) are absent."""
