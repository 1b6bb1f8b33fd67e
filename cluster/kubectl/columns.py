"""Table columns per kind, computed exactly as kube-apiserver's table printers do.

`kubectl get` prints the Table the server builds, so the columns and every cell rule
(a pod's STATUS, RESTARTS `3 (12s ago)`, a service's `<none>` EXTERNAL-IP, endpoints'
`+ 2 more...`) live on the server side in Kubernetes. Here they live in one place, so the
command layer, the dashboard and a later HTTP facade serving `as=Table` all agree.

A cell function takes the object and "now" (seconds since the epoch) and returns the
cell's value: a string, an int, or None for an empty cell.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from typing import Any, Callable

from cluster.api import objects
from cluster.api.resources import ResourceType
from cluster.kubectl import jsonpath

Cell = Callable[[dict[str, Any], float], Any]


class ColumnType(str, enum.Enum):
    """The Table column `type`s used here (an OpenAPI type name)."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"


@dataclass(frozen=True)
class Column:
    """One Table column definition plus the rule that fills its cells."""

    name: str
    type: str
    priority: int
    description: str
    cell: Cell
    format: str = ""
    """`name` marks the column kubectl prefixes with `kind/` when printing several kinds."""


# -- durations ---------------------------------------------------------------------------


def format_age(seconds: float) -> str:
    """A duration the way apimachinery's `duration.HumanDuration` writes it."""
    if math.isnan(seconds):
        return "<invalid>"
    whole = int(seconds)  # Go truncates toward zero
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        s = whole % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def age_since(timestamp: str | None, now: float) -> str:
    """`translateTimestampSince`: `<unknown>` for a missing or unreadable timestamp."""
    if not timestamp:
        return "<unknown>"
    try:
        then = objects.parse_time(timestamp)
    except ValueError:
        return "<unknown>"
    return format_age(now - then)


def _age(obj: dict[str, Any], now: float) -> str:
    return age_since((obj.get("metadata") or {}).get("creationTimestamp"), now)


def _name(obj: dict[str, Any], now: float) -> str:
    return objects.name_of(obj)


NAME = Column("Name", ColumnType.STRING, 0,
              "Name must be unique within a namespace.", _name, format="name")
AGE = Column("Age", ColumnType.STRING, 0,
             "CreationTimestamp is a timestamp representing the server time when this "
             "object was created.", _age)


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("spec") or {}


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def format_labels(labels: dict[str, str] | None) -> str:
    """`labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def format_label_selector(selector: dict[str, Any] | None) -> str:
    """`metav1.FormatLabelSelector`: `app=web,tier in (a,b)`, `<none>` when empty."""
    if not selector:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or ():
        op = expr.get("operator", "")
        key = expr.get("key", "")
        values = ",".join(sorted(expr.get("values") or ()))
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    text = ",".join(parts)
    return text if text else "<none>"


def _containers_cells(template_spec: dict[str, Any]) -> tuple[str, str]:
    containers = template_spec.get("containers") or []
    return (",".join(c.get("name", "") for c in containers),
            ",".join(c.get("image", "") for c in containers))


def _template_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return (_spec(obj).get("template") or {}).get("spec") or {}


CONTAINERS = Column("Containers", ColumnType.STRING, 1,
                    "Names of each container in the template.",
                    lambda o, now: _containers_cells(_template_spec(o))[0])
IMAGES = Column("Images", ColumnType.STRING, 1,
                "Images referenced by each container in the template.",
                lambda o, now: _containers_cells(_template_spec(o))[1])
SELECTOR = Column("Selector", ColumnType.STRING, 1,
                  "A label query over pods that should match the replica count.",
                  lambda o, now: format_label_selector(_spec(o).get("selector")))


# -- pods --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodSummary:
    """The READY, STATUS and RESTARTS cells of one pod."""

    ready: str
    status: str
    restarts: str


def _is_restartable_init(container: dict[str, Any] | None) -> bool:
    return bool(container) and container.get("restartPolicy") == "Always"  # type: ignore[union-attr]


def _condition_true(status: dict[str, Any], kind: str) -> bool:
    for cond in status.get("conditions") or ():
        if cond.get("type") == kind:
            return cond.get("status") == "True"
    return False


def _finished_at(container_status: dict[str, Any]) -> float | None:
    terminated = (container_status.get("lastState") or {}).get("terminated")
    if not terminated or not terminated.get("finishedAt"):
        return None
    try:
        return objects.parse_time(terminated["finishedAt"])
    except ValueError:
        return None


def pod_summary(pod: dict[str, Any], now: float) -> PodSummary:
    """READY, STATUS and RESTARTS as the pod table printer derives them."""
    spec = _spec(pod)
    status = _status(pod)
    restarts = 0
    restartable_init_restarts = 0
    total = len(spec.get("containers") or ())
    ready = 0
    last_restart: float | None = None
    last_restartable_init_restart: float | None = None

    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or ():
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or ()}
    total += sum(1 for c in init_specs.values() if _is_restartable_init(c))
    init_count = len(spec.get("initContainers") or ())

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or ()):
        restarts += _int(cs.get("restartCount"))
        finished = _finished_at(cs)
        if finished is not None and (last_restart is None or finished > last_restart):
            last_restart = finished
        restartable = _is_restartable_init(init_specs.get(cs.get("name")))
        if restartable:
            restartable_init_restarts += _int(cs.get("restartCount"))
            if finished is not None and (last_restartable_init_restart is None
                                         or finished > last_restartable_init_restart):
                last_restartable_init_restart = finished
        state = cs.get("state") or {}
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if terminated is not None and _int(terminated.get("exitCode")) == 0:
            continue
        if restartable and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if terminated is not None:
            if not terminated.get("reason"):
                if _int(terminated.get("signal")) != 0:
                    reason = f"Init:Signal:{_int(terminated.get('signal'))}"
                else:
                    reason = f"Init:ExitCode:{_int(terminated.get('exitCode'))}"
            else:
                reason = "Init:" + terminated["reason"]
        elif waiting is not None and waiting.get("reason") and \
                waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{init_count}"
        initializing = True
        break

    if not initializing or _condition_true(status, "Initialized"):
        restarts = restartable_init_restarts
        last_restart = last_restartable_init_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or ()):
            restarts += _int(cs.get("restartCount"))
            finished = _finished_at(cs)
            if finished is not None and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = cs.get("state") or {}
            waiting = state.get("waiting")
            terminated = state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None and terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated is not None:
                if _int(terminated.get("signal")) != 0:
                    reason = f"Signal:{_int(terminated.get('signal'))}"
                else:
                    reason = f"ExitCode:{_int(terminated.get('exitCode'))}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status, "Ready") else "NotReady"

    deleting = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_text = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_text = f"{restarts} ({format_age(now - last_restart)} ago)"
    return PodSummary(f"{ready}/{total}", reason, restarts_text)


def _pod_ip(pod: dict[str, Any]) -> str:
    status = _status(pod)
    ips = status.get("podIPs") or ()
    ip = (ips[0] or {}).get("ip", "") if ips else status.get("podIP", "")
    return ip or "<none>"


def _readiness_gates(pod: dict[str, Any]) -> str:
    gates = _spec(pod).get("readinessGates") or ()
    if not gates:
        return "<none>"
    conditions = _status(pod).get("conditions") or ()
    true = 0
    for gate in gates:
        for cond in conditions:
            if cond.get("type") == gate.get("conditionType"):
                true += cond.get("status") == "True"
                break
    return f"{true}/{len(gates)}"


POD_COLUMNS = (
    NAME,
    Column("Ready", ColumnType.STRING, 0,
           "The aggregate readiness state of this pod for accepting traffic.",
           lambda o, now: pod_summary(o, now).ready),
    Column("Status", ColumnType.STRING, 0, "The aggregate status of the containers in this pod.",
           lambda o, now: pod_summary(o, now).status),
    Column("Restarts", ColumnType.STRING, 0,
           "The number of times the containers in this pod have been restarted and when the "
           "last container in this pod has restarted.",
           lambda o, now: pod_summary(o, now).restarts),
    AGE,
    Column("IP", ColumnType.STRING, 1, "IP address allocated to the pod.",
           lambda o, now: _pod_ip(o)),
    Column("Node", ColumnType.STRING, 1, "NodeName is the node the pod is scheduled onto.",
           lambda o, now: _spec(o).get("nodeName") or "<none>"),
    Column("Nominated Node", ColumnType.STRING, 1,
           "nominatedNodeName is set when this pod preempts other pods on the node.",
           lambda o, now: _status(o).get("nominatedNodeName") or "<none>"),
    Column("Readiness Gates", ColumnType.STRING, 1,
           "If specified, all readiness gates will be evaluated for pod readiness.",
           lambda o, now: _readiness_gates(o)),
)


# -- nodes -------------------------------------------------------------------------------

NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_ROLE_LABEL = "kubernetes.io/role"


def node_roles(node: dict[str, Any]) -> list[str]:
    """Roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role` labels, sorted."""
    roles: set[str] = set()
    for key, value in objects.labels_of(node).items():
        if key.startswith(NODE_ROLE_PREFIX):
            role = key[len(NODE_ROLE_PREFIX):]
            if role:
                roles.add(role)
        elif key == NODE_ROLE_LABEL and value:
            roles.add(value)
    return sorted(roles)


def node_status(node: dict[str, Any]) -> str:
    """`Ready`, `NotReady`, `Unknown`, with `,SchedulingDisabled` when cordoned."""
    parts: list[str] = []
    for cond in _status(node).get("conditions") or ():
        if cond.get("type") == "Ready":
            parts.append("Ready" if cond.get("status") == "True" else "NotReady")
            break
    if not parts:
        parts.append("Unknown")
    if _spec(node).get("unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def _node_address(node: dict[str, Any], kind: str) -> str:
    for address in _status(node).get("addresses") or ():
        if address.get("type") == kind:
            return address.get("address", "")
    return "<none>"


def _node_info(node: dict[str, Any], key: str) -> str:
    return ((_status(node).get("nodeInfo") or {}).get(key)) or "<unknown>"


NODE_COLUMNS = (
    NAME,
    Column("Status", ColumnType.STRING, 0, "The status of the node",
           lambda o, now: node_status(o)),
    Column("Roles", ColumnType.STRING, 0, "The roles of the node",
           lambda o, now: ",".join(node_roles(o)) or "<none>"),
    AGE,
    Column("Version", ColumnType.STRING, 0, "Kubelet Version reported by the node.",
           lambda o, now: (_status(o).get("nodeInfo") or {}).get("kubeletVersion", "")),
    Column("Internal-IP", ColumnType.STRING, 1, "List of addresses reachable to the node.",
           lambda o, now: _node_address(o, "InternalIP")),
    Column("External-IP", ColumnType.STRING, 1, "List of addresses reachable to the node.",
           lambda o, now: _node_address(o, "ExternalIP")),
    Column("OS-Image", ColumnType.STRING, 1, "OS Image reported by the node.",
           lambda o, now: _node_info(o, "osImage")),
    Column("Kernel-Version", ColumnType.STRING, 1, "Kernel Version reported by the node.",
           lambda o, now: _node_info(o, "kernelVersion")),
    Column("Container-Runtime", ColumnType.STRING, 1,
           "ContainerRuntime Version reported by the node.",
           lambda o, now: _node_info(o, "containerRuntimeVersion")),
)


# -- services and endpoints --------------------------------------------------------------


def service_ports(ports: list[dict[str, Any]] | None) -> str:
    """`6379/TCP`, `80:30080/TCP`, comma-joined."""
    pieces = []
    for port in ports or ():
        protocol = port.get("protocol") or "TCP"
        if _int(port.get("nodePort")) > 0:
            pieces.append(f"{port.get('port')}:{port.get('nodePort')}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces)


def _cluster_ip(svc: dict[str, Any]) -> str:
    spec = _spec(svc)
    ips = spec.get("clusterIPs") or ()
    if ips:
        return ips[0]
    return spec.get("clusterIP") or "<none>"


def _load_balancer_ips(svc: dict[str, Any]) -> list[str]:
    ingress = ((_status(svc).get("loadBalancer") or {}).get("ingress")) or ()
    return [i.get("ip") or i.get("hostname") or "" for i in ingress if i.get("ip") or
            i.get("hostname")]


def service_external_ip(svc: dict[str, Any]) -> str:
    """EXTERNAL-IP by service type: `<none>`, `<pending>`, the LB or external IPs."""
    spec = _spec(svc)
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or ())
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        ips = _load_balancer_ips(svc) + external
        return ",".join(ips) if ips else "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


SERVICE_COLUMNS = (
    NAME,
    Column("Type", ColumnType.STRING, 0, "type determines how the Service is exposed.",
           lambda o, now: _spec(o).get("type", "")),
    Column("Cluster-IP", ColumnType.STRING, 0,
           "clusterIP is the IP address of the service.", lambda o, now: _cluster_ip(o)),
    Column("External-IP", ColumnType.STRING, 0,
           "externalIPs is a list of IP addresses for which nodes in the cluster will also "
           "accept traffic for this service.", lambda o, now: service_external_ip(o)),
    Column("Port(s)", ColumnType.STRING, 0, "The list of ports that are exposed by this service.",
           lambda o, now: service_ports(_spec(o).get("ports")) or "<none>"),
    AGE,
    Column("Selector", ColumnType.STRING, 1,
           "Route service traffic to pods with label keys and values matching this selector.",
           lambda o, now: format_labels(_spec(o).get("selector"))),
)


def format_endpoints(endpoints: dict[str, Any], port_names: set[str] | None = None,
                     limit: int = 3) -> str:
    """`10.0.0.1:6379,10.0.0.2:6379 + 2 more...`, or `<none>`."""
    subsets = endpoints.get("subsets") or ()
    if not subsets:
        return "<none>"
    shown: list[str] = []
    more = False
    count = 0
    for subset in subsets:
        addresses = subset.get("addresses") or ()
        ports = subset.get("ports") or ()
        if not ports:
            count += len(addresses)
            for address in addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(address.get("ip", ""))
            continue
        for port in ports:
            if port_names is not None and port.get("name", "") not in port_names:
                continue
            count += len(addresses)
            for address in addresses:
                if len(shown) == limit:
                    more = True
                    break
                ip = address.get("ip", "")
                host = f"[{ip}]" if ":" in ip else ip
                shown.append(f"{host}:{port.get('port')}")
    text = ",".join(shown)
    if more:
        return f"{text} + {count - limit} more..."
    return text or "<none>"


ENDPOINTS_COLUMNS = (
    NAME,
    Column("Endpoints", ColumnType.STRING, 0,
           "The set of all endpoints is the union of all subsets.",
           lambda o, now: format_endpoints(o)),
    AGE,
)


# -- workloads ---------------------------------------------------------------------------

DEPLOYMENT_COLUMNS = (
    NAME,
    Column("Ready", ColumnType.STRING, 0, "Number of the pod with ready state",
           lambda o, now: f"{_int(_status(o).get('readyReplicas'))}/"
                          f"{_int(_spec(o).get('replicas'))}"),
    Column("Up-to-date", ColumnType.INTEGER, 0,
           "Total number of non-terminated pods targeted by this deployment that have the "
           "desired template spec.", lambda o, now: _int(_status(o).get("updatedReplicas"))),
    Column("Available", ColumnType.INTEGER, 0,
           "Total number of available pods (ready for at least minReadySeconds) targeted by "
           "this deployment.", lambda o, now: _int(_status(o).get("availableReplicas"))),
    AGE, CONTAINERS, IMAGES, SELECTOR,
)

REPLICASET_COLUMNS = (
    NAME,
    Column("Desired", ColumnType.INTEGER, 0, "Replicas is the number of desired replicas.",
           lambda o, now: _int(_spec(o).get("replicas"))),
    Column("Current", ColumnType.INTEGER, 0,
           "Replicas is the most recently observed number of replicas.",
           lambda o, now: _int(_status(o).get("replicas"))),
    Column("Ready", ColumnType.INTEGER, 0,
           "The number of ready replicas for this replica set.",
           lambda o, now: _int(_status(o).get("readyReplicas"))),
    AGE, CONTAINERS, IMAGES, SELECTOR,
)

STATEFULSET_COLUMNS = (
    NAME,
    Column("Ready", ColumnType.STRING, 0, "Number of the pod with ready state",
           lambda o, now: f"{_int(_status(o).get('readyReplicas'))}/"
                          f"{_int(_spec(o).get('replicas'))}"),
    AGE, CONTAINERS, IMAGES,
)


# -- events ------------------------------------------------------------------------------


def _event_first_seen(event: dict[str, Any], now: float) -> str:
    if event.get("firstTimestamp"):
        return age_since(event["firstTimestamp"], now)
    return age_since(event.get("eventTime"), now)


def event_last_seen(event: dict[str, Any], now: float) -> str:
    """LAST SEEN: the last timestamp, or the series' last observation."""
    series = event.get("series")
    if series:
        return age_since(series.get("lastObservedTime"), now)
    if event.get("lastTimestamp"):
        return age_since(event["lastTimestamp"], now)
    return _event_first_seen(event, now)


def _event_count(event: dict[str, Any]) -> int:
    series = event.get("series")
    if series:
        return _int(series.get("count"))
    return _int(event.get("count")) or 1


def _event_object(event: dict[str, Any]) -> str:
    involved = event.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    return f"{kind}/{involved['name']}" if involved.get("name") else kind


def _event_source(event: dict[str, Any]) -> str:
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingController") or ""
    host = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {host}" if host else component


EVENT_COLUMNS = (
    Column("Last Seen", ColumnType.STRING, 0, "The time at which the most recent occurrence of "
           "this event was recorded.", event_last_seen),
    Column("Type", ColumnType.STRING, 0, "Type of this event (Normal, Warning).",
           lambda o, now: o.get("type", "")),
    Column("Reason", ColumnType.STRING, 0, "Short, machine understandable string that gives "
           "the reason for the transition into the object's current status.",
           lambda o, now: o.get("reason", "")),
    Column("Object", ColumnType.STRING, 0, "The object that this event is about.",
           lambda o, now: _event_object(o)),
    Column("Subobject", ColumnType.STRING, 1, "The field of the object the event is about.",
           lambda o, now: (o.get("involvedObject") or {}).get("fieldPath", "")),
    Column("Source", ColumnType.STRING, 1, "The component reporting this event.",
           lambda o, now: _event_source(o)),
    Column("Message", ColumnType.STRING, 0, "A human-readable description of the status of "
           "this operation.", lambda o, now: (o.get("message") or "").strip()),
    Column("First Seen", ColumnType.STRING, 1, "The time at which the event was first "
           "recorded.", _event_first_seen),
    Column("Count", ColumnType.INTEGER, 1, "The number of times this event has occurred.",
           lambda o, now: _event_count(o)),
    Column("Name", ColumnType.STRING, 1, "Name must be unique within a namespace.", _name,
           format="name"),
)


# -- storage, config, namespaces, leases, CRDs --------------------------------------------

_ACCESS_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                 "ReadWriteOncePod": "RWOP"}


def access_modes(modes: list[str] | None) -> str:
    """`RWO,ROX`, in kubectl's fixed order, each mode once."""
    present = set(modes or ())
    return ",".join(short for full, short in _ACCESS_MODES.items() if full in present)


def _pvc_status(pvc: dict[str, Any]) -> str:
    if (pvc.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return _status(pvc).get("phase", "")


def _pvc_bound(pvc: dict[str, Any]) -> bool:
    return bool(_spec(pvc).get("volumeName"))


def _pvc_storage_class(pvc: dict[str, Any]) -> str:
    name = _spec(pvc).get("storageClassName")
    if name is None:
        name = ((pvc.get("metadata") or {}).get("annotations") or {}).get(
            "volume.beta.kubernetes.io/storage-class", "")
    return name or ""


PVC_COLUMNS = (
    NAME,
    Column("Status", ColumnType.STRING, 0, "Phase represents the current phase of "
           "PersistentVolumeClaim.", lambda o, now: _pvc_status(o)),
    Column("Volume", ColumnType.STRING, 0, "VolumeName is the binding reference to the "
           "PersistentVolume backing this claim.", lambda o, now: _spec(o).get("volumeName", "")),
    Column("Capacity", ColumnType.STRING, 0, "The actual resources of the underlying volume.",
           lambda o, now: ((_status(o).get("capacity") or {}).get("storage", ""))
           if _pvc_bound(o) else ""),
    Column("Access Modes", ColumnType.STRING, 0, "AccessModes contains the actual access modes "
           "the volume backing the PVC has.",
           lambda o, now: access_modes(_status(o).get("accessModes")) if _pvc_bound(o) else ""),
    Column("StorageClass", ColumnType.STRING, 0, "StorageClassName is the name of the "
           "StorageClass required by the claim.", lambda o, now: _pvc_storage_class(o)),
    Column("VolumeAttributesClass", ColumnType.STRING, 0, "VolumeAttributesClassName may be used "
           "to set the VolumeAttributesClass used by this claim.",
           lambda o, now: _spec(o).get("volumeAttributesClassName") or "<unset>"),
    AGE,
    Column("VolumeMode", ColumnType.STRING, 1, "volumeMode defines what type of volume is "
           "required by the claim.", lambda o, now: _spec(o).get("volumeMode") or "<unset>"),
)

CONFIGMAP_COLUMNS = (
    NAME,
    Column("Data", ColumnType.INTEGER, 0, "Data contains the configuration data.",
           lambda o, now: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
    AGE,
)

SECRET_COLUMNS = (
    NAME,
    Column("Type", ColumnType.STRING, 0, "The type of the secret",
           lambda o, now: o.get("type", "")),
    Column("Data", ColumnType.INTEGER, 0, "Data contains the secret data.",
           lambda o, now: len(o.get("data") or {}) + len(o.get("stringData") or {})),
    AGE,
)

NAMESPACE_COLUMNS = (
    NAME,
    Column("Status", ColumnType.STRING, 0, "The status of the namespace",
           lambda o, now: _status(o).get("phase", "")),
    AGE,
)

LEASE_COLUMNS = (
    NAME,
    Column("Holder", ColumnType.STRING, 0, "The holder of a lease.",
           lambda o, now: _spec(o).get("holderIdentity") or ""),
    AGE,
)

CRD_COLUMNS = (
    NAME,
    Column("Created At", ColumnType.DATE, 0, "CreationTimestamp is a timestamp representing "
           "the server time when this object was created.",
           lambda o, now: (o.get("metadata") or {}).get("creationTimestamp", "")),
)

DEFAULT_COLUMNS = (NAME, AGE)

BUILTIN_COLUMNS: dict[str, tuple[Column, ...]] = {
    "pods": POD_COLUMNS,
    "nodes": NODE_COLUMNS,
    "services": SERVICE_COLUMNS,
    "endpoints": ENDPOINTS_COLUMNS,
    "deployments.apps": DEPLOYMENT_COLUMNS,
    "replicasets.apps": REPLICASET_COLUMNS,
    "statefulsets.apps": STATEFULSET_COLUMNS,
    "events": EVENT_COLUMNS,
    "persistentvolumeclaims": PVC_COLUMNS,
    "configmaps": CONFIGMAP_COLUMNS,
    "secrets": SECRET_COLUMNS,
    "namespaces": NAMESPACE_COLUMNS,
    "leases.coordination.k8s.io": LEASE_COLUMNS,
    "customresourcedefinitions.apiextensions.k8s.io": CRD_COLUMNS,
}


# -- custom resources --------------------------------------------------------------------


def _custom_cell(column_type: str, path: str) -> Cell:
    try:
        steps = jsonpath.parse(path)
    except jsonpath.JSONPathError:
        steps = None

    def cell(obj: dict[str, Any], now: float) -> Any:
        if steps is None:
            return None
        found = jsonpath.find(obj, steps)
        if not found:
            return None
        value = found[0]
        if column_type == ColumnType.STRING:
            return jsonpath.text_of(value)
        if column_type == ColumnType.INTEGER:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            return int(value)
        if column_type == ColumnType.NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            return value
        if column_type == ColumnType.BOOLEAN:
            return ("true" if value else "false") if isinstance(value, bool) else None
        if column_type == ColumnType.DATE:
            return age_since(value, now) if isinstance(value, str) else None
        return json.dumps(value) if not isinstance(value, str) else value

    return cell


def custom_columns(printer_columns: tuple[dict[str, Any], ...]) -> tuple[Column, ...]:
    """NAME plus a CRD's additionalPrinterColumns; just NAME, AGE when it declares none.

    As in apiextensions-apiserver, a CRD that lists its own columns gets no automatic AGE
    column; it lists `.metadata.creationTimestamp` (type date) itself if it wants one.
    """
    if not printer_columns:
        return DEFAULT_COLUMNS
    columns = [NAME]
    for spec in printer_columns:
        column_type = spec.get("type", ColumnType.STRING)
        columns.append(Column(
            name=spec.get("name", ""), type=column_type,
            priority=_int(spec.get("priority")), description=spec.get("description", ""),
            cell=_custom_cell(column_type, spec.get("jsonPath", "")),
            format=spec.get("format", "")))
    return tuple(columns)


def columns_for(rt: ResourceType) -> tuple[Column, ...]:
    """The table columns kubectl shows for a kind (wide-only ones have priority 1)."""
    builtin = BUILTIN_COLUMNS.get(rt.key)
    if builtin is not None and not rt.custom:
        return builtin
    return custom_columns(tuple(rt.printer_columns))


def row_for(columns: tuple[Column, ...], obj: dict[str, Any], now: float) -> list[Any]:
    """Every column's cell for one object, in column order."""
    return [column.cell(obj, now) for column in columns]
