"""The resource table's views: which columns each kind shows and how a row is computed.

Columns follow k9s, which follows the API server's table printers; the cell rules are the
ones `kubectl get` uses (`cluster.kubectl.columns`), so the dashboard and the command
layer never disagree about a pod's STATUS. Kinds without a view of their own (config
maps, a custom resource) get NAMESPACE plus the columns `kubectl get` prints for them,
including a CRD's additionalPrinterColumns.

Nothing here imports Textual: a row is plain strings and a `Tone`.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from cluster.api import objects
from cluster.api.resources import ResourceType
from cluster.kubectl import columns as kcols
from cluster.kubectl.printing import format_cell
from tui.roles import Role, Tone, pod_tone, role_of, status_tone


@dataclass(frozen=True)
class RowContext:
    """What a row needs beyond its own object."""

    now: float
    """Wall-clock seconds, for AGE and `RESTARTS 2 (5s ago)`."""
    roles: Mapping[str, Role] = field(default_factory=dict)
    """Roles learned by asking pods nobody labelled, by `ns/name`."""
    pods_on_node: Callable[[str], int] = lambda node: 0
    """How many pods are bound to a node (the nodes view's PODS column)."""


@dataclass(frozen=True)
class Row:
    """One table row: a cell per header, and how to paint it."""

    cells: tuple[str, ...]
    tone: Tone = Tone.NORMAL


class Drill(str, enum.Enum):
    """What `enter` on a row opens."""

    NONE = "none"
    NODE_PODS = "node-pods"
    """The pods bound to the node."""
    SELECTED_PODS = "selected-pods"
    """The pods the object's selector matches (deployments, statefulsets, services...)."""
    OWNED_PODS = "owned-pods"
    """The pods the object owns, directly or through what it owns (custom resources)."""
    NAMESPACE_PODS = "namespace-pods"
    """The namespace's pods."""
    CRD_OBJECTS = "crd-objects"
    """The objects of the kind the CRD defines."""
    LOGS = "logs"
    """A pod: its logs."""


RowFn = Callable[[dict[str, Any], RowContext], Row]


@dataclass(frozen=True)
class KindView:
    """How the resource table shows one kind."""

    resource: str
    """The kind's key as the API names it (`pods`, `deployments.apps`)."""
    title: str
    """The word in the table's title (`pods`, `deployments`)."""
    headers: tuple[str, ...]
    row: RowFn
    drill: Drill = Drill.NONE
    namespaced: bool = True
    timed: frozenset[str] = frozenset({"AGE"})
    """Columns whose cells change with time alone; visible rows are recomputed each second."""


def _age(obj: dict[str, Any], now: float) -> str:
    return kcols.age_since(objects.meta(obj).get("creationTimestamp"), now)


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("spec") or {}


def _status(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("status") or {}


def _count(value: Any) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "0"


# -- pods and nodes ------------------------------------------------------------------------


def pod_row(pod: dict[str, Any], ctx: RowContext) -> Row:
    summary = kcols.pod_summary(pod, ctx.now)
    role = role_of(pod, ctx.roles)
    status = _status(pod)
    ips = status.get("podIPs") or ()
    ip = (ips[0] or {}).get("ip", "") if ips else status.get("podIP", "")
    cells = (objects.namespace_of(pod), objects.name_of(pod), role.value if role else "",
             summary.ready, summary.status, summary.restarts, ip or "<none>",
             _spec(pod).get("nodeName") or "<none>", _age(pod, ctx.now))
    return Row(cells, pod_tone(summary.status, summary.ready, role))


def _taints(node: dict[str, Any]) -> str:
    return str(len(_spec(node).get("taints") or ()))


def node_row(node: dict[str, Any], ctx: RowContext) -> Row:
    name = objects.name_of(node)
    status = kcols.node_status(node)
    addresses = {a.get("type"): a.get("address") for a in _status(node).get("addresses") or ()}
    cells = (name, status, ",".join(kcols.node_roles(node)) or "<none>", _taints(node),
             (_status(node).get("nodeInfo") or {}).get("kubeletVersion", ""),
             addresses.get("InternalIP") or "<none>", str(ctx.pods_on_node(name)),
             _age(node, ctx.now))
    tone = Tone.NORMAL if status == "Ready" else (
        Tone.PENDING if status.startswith("Ready,") else Tone.FAILING)
    return Row(cells, tone)


# -- workloads -------------------------------------------------------------------------------


def _ns_name(obj: dict[str, Any]) -> tuple[str, str]:
    return objects.namespace_of(obj), objects.name_of(obj)


def _replicas_tone(ready: int, want: int, obj: dict[str, Any]) -> Tone:
    if objects.is_terminating(obj):
        return Tone.TERMINATING
    return Tone.NORMAL if ready >= want else Tone.PENDING


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def deployment_row(obj: dict[str, Any], ctx: RowContext) -> Row:
    spec, status = _spec(obj), _status(obj)
    ready, want = _int(status.get("readyReplicas")), _int(spec.get("replicas"))
    cells = (*_ns_name(obj), f"{ready}/{want}", _count(status.get("updatedReplicas")),
             _count(status.get("availableReplicas")), _age(obj, ctx.now))
    return Row(cells, _replicas_tone(ready, want, obj))


def replicaset_row(obj: dict[str, Any], ctx: RowContext) -> Row:
    spec, status = _spec(obj), _status(obj)
    ready, want = _int(status.get("readyReplicas")), _int(spec.get("replicas"))
    cells = (*_ns_name(obj), str(want), _count(status.get("replicas")), str(ready),
             _age(obj, ctx.now))
    return Row(cells, _replicas_tone(ready, want, obj))


def statefulset_row(obj: dict[str, Any], ctx: RowContext) -> Row:
    spec, status = _spec(obj), _status(obj)
    ready, want = _int(status.get("readyReplicas")), _int(spec.get("replicas"))
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or ()
    cells = (*_ns_name(obj), f"{ready}/{want}", spec.get("serviceName") or "",
             ",".join(str(c.get("name", "")) for c in containers),
             ",".join(str(c.get("image", "")) for c in containers), _age(obj, ctx.now))
    return Row(cells, _replicas_tone(ready, want, obj))


# -- network and storage ---------------------------------------------------------------------


def service_row(svc: dict[str, Any], ctx: RowContext) -> Row:
    spec = _spec(svc)
    cluster_ip = spec.get("clusterIP") or "<none>"
    selector = spec.get("selector") or {}
    cells = (*_ns_name(svc), spec.get("type") or "ClusterIP", cluster_ip,
             kcols.service_external_ip(svc),
             ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>",
             kcols.service_ports(spec.get("ports")), _age(svc, ctx.now))
    return Row(cells)


def endpoints_row(ep: dict[str, Any], ctx: RowContext) -> Row:
    text = kcols.format_endpoints(ep)
    return Row((*_ns_name(ep), text, _age(ep, ctx.now)),
               Tone.PENDING if text == "<none>" else Tone.NORMAL)


def pvc_row(pvc: dict[str, Any], ctx: RowContext) -> Row:
    spec, status = _spec(pvc), _status(pvc)
    phase = "Terminating" if objects.is_terminating(pvc) else status.get("phase", "")
    bound = bool(spec.get("volumeName"))
    cells = (*_ns_name(pvc), phase, spec.get("volumeName", ""),
             (status.get("capacity") or {}).get("storage", "") if bound else "",
             kcols.access_modes(status.get("accessModes")) if bound else "",
             spec.get("storageClassName") or "", _age(pvc, ctx.now))
    return Row(cells, status_tone(phase))


# -- cluster-wide ----------------------------------------------------------------------------


def event_row(ev: dict[str, Any], ctx: RowContext) -> Row:
    involved = ev.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingController") or ""
    count = (ev.get("series") or {}).get("count") or ev.get("count") or 1
    cells = (objects.namespace_of(ev), kcols.event_last_seen(ev, ctx.now),
             str(ev.get("type", "")), str(ev.get("reason", "")), target, str(component),
             str(count), str(ev.get("message") or "").strip().replace("\n", " "))
    return Row(cells, Tone.FAILING if ev.get("type") == "Warning" else Tone.NORMAL)


def namespace_row(ns: dict[str, Any], ctx: RowContext) -> Row:
    phase = _status(ns).get("phase", "")
    return Row((objects.name_of(ns), phase, _age(ns, ctx.now)), status_tone(phase))


def crd_row(crd: dict[str, Any], ctx: RowContext) -> Row:
    spec = _spec(crd)
    versions = ",".join(str(v.get("name", "")) for v in spec.get("versions") or ()
                        if v.get("served", True))
    cells = (objects.name_of(crd), str(spec.get("group", "")),
             str((spec.get("names") or {}).get("kind", "")), str(spec.get("scope", "")),
             versions, _age(crd, ctx.now))
    return Row(cells)


NS = "NAMESPACE"

BUILTIN_VIEWS: tuple[KindView, ...] = (
    KindView("pods", "pods",
             (NS, "NAME", "ROLE", "READY", "STATUS", "RESTARTS", "IP", "NODE", "AGE"),
             pod_row, Drill.LOGS, timed=frozenset({"AGE", "RESTARTS"})),
    KindView("nodes", "nodes",
             ("NAME", "STATUS", "ROLES", "TAINTS", "VERSION", "INTERNAL-IP", "PODS", "AGE"),
             node_row, Drill.NODE_PODS, namespaced=False, timed=frozenset({"AGE", "PODS"})),
    KindView("deployments.apps", "deployments",
             (NS, "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"),
             deployment_row, Drill.SELECTED_PODS),
    KindView("replicasets.apps", "replicasets",
             (NS, "NAME", "DESIRED", "CURRENT", "READY", "AGE"),
             replicaset_row, Drill.SELECTED_PODS),
    KindView("statefulsets.apps", "statefulsets",
             (NS, "NAME", "READY", "SERVICE", "CONTAINERS", "IMAGES", "AGE"),
             statefulset_row, Drill.SELECTED_PODS),
    KindView("services", "services",
             (NS, "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "SELECTOR", "PORTS", "AGE"),
             service_row, Drill.SELECTED_PODS),
    KindView("endpoints", "endpoints", (NS, "NAME", "ENDPOINTS", "AGE"), endpoints_row),
    KindView("persistentvolumeclaims", "persistentvolumeclaims",
             (NS, "NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "AGE"),
             pvc_row),
    KindView("events", "events",
             (NS, "LAST SEEN", "TYPE", "REASON", "OBJECT", "SOURCE", "COUNT", "MESSAGE"),
             event_row, timed=frozenset({"LAST SEEN"})),
    KindView("namespaces", "namespaces", ("NAME", "STATUS", "AGE"), namespace_row,
             Drill.NAMESPACE_PODS, namespaced=False),
    KindView("customresourcedefinitions.apiextensions.k8s.io", "customresourcedefinitions",
             ("NAME", "GROUP", "KIND", "SCOPE", "VERSIONS", "AGE"), crd_row, Drill.CRD_OBJECTS,
             namespaced=False),
)
_BY_RESOURCE = {view.resource: view for view in BUILTIN_VIEWS}


def generic_view(rt: ResourceType) -> KindView:
    """NAMESPACE (for namespaced kinds) plus the columns `kubectl get` prints."""
    shown = tuple(c for c in kcols.columns_for(rt) if c.priority == 0)
    timed = frozenset(c.name.upper() for c in shown if c.name in ("Age", "Last Seen"))

    def row(obj: dict[str, Any], ctx: RowContext) -> Row:
        cells = tuple(format_cell(c.cell(obj, ctx.now)) for c in shown)
        if rt.namespaced:
            cells = (objects.namespace_of(obj), *cells)
        status = next((cells[i + rt.namespaced] for i, c in enumerate(shown)
                       if c.name.lower() in ("status", "phase")), "")
        tone = Tone.TERMINATING if objects.is_terminating(obj) else status_tone(status)
        return Row(cells, tone)

    headers = tuple(c.name.upper() for c in shown)
    return KindView(rt.key, rt.plural, ((NS,) if rt.namespaced else ()) + headers, row,
                    Drill.OWNED_PODS if rt.custom else Drill.NONE,
                    namespaced=rt.namespaced, timed=timed or frozenset({"AGE"}))


def view_for(rt: ResourceType) -> KindView:
    """The view of a kind the API serves: its own, or the generic one."""
    view = _BY_RESOURCE.get(rt.key)
    if view is not None and not rt.custom:
        return view
    return generic_view(rt)


def without_namespace(view: KindView) -> KindView:
    """The view with its NAMESPACE column dropped: k9s hides it while the table shows a
    single namespace, which leaves room for the rest on an 80-column terminal."""
    if not view.headers or view.headers[0] != NS:
        return view
    inner = view.row

    def row(obj: dict[str, Any], ctx: RowContext) -> Row:
        full = inner(obj, ctx)
        return Row(full.cells[1:], full.tone)

    return dataclasses.replace(view, headers=view.headers[1:], row=row)


VIEW_ALIASES: dict[str, str] = {
    "po": "pods", "no": "nodes", "deploy": "deployments", "rs": "replicasets",
    "sts": "statefulsets", "svc": "services", "ep": "endpoints", "pvc": "persistentvolumeclaims",
    "ev": "events", "rf": "redisfailovers", "crds": "customresourcedefinitions",
    "crd": "customresourcedefinitions", "ns": "namespaces",
}
"""The short words `:` accepts (k9s's aliases); the API resolves any other name itself."""
