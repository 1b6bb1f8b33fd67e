"""`kubectl describe`: a human summary of one object and the events about it.

The layouts follow kubectl's describers (pkg/describe) line for line for the kinds the
tutorial and the dashboard show — pods, nodes, services, deployments, replicasets,
statefulsets, endpoints, namespaces, configmaps and secrets — and its generic describer
(sorted fields, nested by indentation) for everything else, custom resources included.

Rendering is pure: `describe_object` takes the object plus whatever related objects a
describer needs (`Related`) and returns text. `gather` is the only part that talks to the
API, so the dashboard can reuse the renderers with objects it already has.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

from cluster.api import errors, objects
from cluster.api import quantity as quantities
from cluster.api.resources import ResourceType
from cluster.client import Client
from cluster.kubectl import columns as cols
from cluster.kubectl.tabwriter import TabWriter

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
NODE_LEASE_NAMESPACE = "kube-node-lease"
"""Where each kubelet keeps its heartbeat Lease, named after its node."""
MAX_ANNOTATION_LEN = 140


@dataclass
class Related:
    """Objects a describer shows besides the object itself."""

    events: list[dict[str, Any]] | None = None
    """None means "not looked up" (no Events section); [] prints `Events:  <none>`."""
    pods: list[dict[str, Any]] = field(default_factory=list)
    """Pods on a node, or pods a workload controls."""
    replicasets: list[dict[str, Any]] = field(default_factory=list)
    endpoints: dict[str, Any] | None = None
    lease: dict[str, Any] | None = None
    """A node's Lease in kube-node-lease, when there is one."""


class _Writer:
    """kubectl's PrefixWriter over a tabwriter(minwidth 0, padding 2)."""

    def __init__(self) -> None:
        self._tw = TabWriter(min_width=0, padding=2)
        self._chunks: list[str] = []

    def write(self, level: int, text: str) -> None:
        self._tw.write("  " * level + text)

    def flush(self) -> None:
        self._chunks.append(self._tw.flush())

    def text(self) -> str:
        self.flush()
        return "".join(self._chunks)


# -- shared pieces -----------------------------------------------------------------------


def _rfc1123z(timestamp: str | None) -> str:
    """Go's RFC1123Z in the local zone, as kubectl prints metav1.Time."""
    if not timestamp:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    try:
        moment = _dt.datetime.fromtimestamp(objects.parse_time(timestamp)).astimezone()
    except ValueError:
        return timestamp
    return moment.strftime("%a, %d %b %Y %H:%M:%S %z")


def _labels(w: _Writer, title: str, labels: dict[str, str] | None, indent: str = "") -> None:
    w.write(0, f"{indent}{title}:\t")
    if not labels:
        w.write(0, "<none>\n")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.write(0, f"{indent}\t")
        w.write(0, f"{key}={labels[key]}\n")


def _annotations(w: _Writer, title: str, annotations: dict[str, str] | None) -> None:
    w.write(0, f"{title}:\t")
    keys = sorted(k for k in (annotations or {}) if k != LAST_APPLIED)
    if not keys:
        w.write(0, "<none>\n")
        return
    for i, key in enumerate(keys):
        if i:
            w.write(0, "\t")
        value = str(annotations[key]).removesuffix("\n")  # type: ignore[index]
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            w.write(0, f"{key}:\n")
            for line in value.split("\n"):
                short = line if len(line) <= MAX_ANNOTATION_LEN - 2 else \
                    line[:MAX_ANNOTATION_LEN - 2] + "..."
                w.write(0, f"\t  {short}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def _tolerations(w: _Writer, title: str, tolerations: list[dict[str, Any]] | None) -> None:
    w.write(0, f"{title}:\t")
    if not tolerations:
        w.write(0, "<none>\n")
        return
    for i, t in enumerate(sorted(tolerations, key=lambda t: t.get("key", ""))):
        if i:
            w.write(0, "\t")
        text = t.get("key", "")
        if t.get("value"):
            text += f"={t['value']}"
        if t.get("effect"):
            text += f":{t['effect']}"
        if t.get("operator") == "Exists" and not t.get("value"):
            text += " op=Exists" if (t.get("key") or t.get("effect")) else "op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {t['tolerationSeconds']}s"
        w.write(0, text + "\n")


def _taints(w: _Writer, taints: list[dict[str, Any]] | None) -> None:
    w.write(0, "Taints:\t")
    if not taints:
        w.write(0, "<none>\n")
        return
    for i, t in enumerate(taints):
        if i:
            w.write(0, "\t")
        value = f"={t['value']}" if t.get("value") else ""
        w.write(0, f"{t.get('key', '')}{value}:{t.get('effect', '')}\n")


def _controller(obj: dict[str, Any]) -> str:
    ref = objects.controller_of(obj)
    return f"{ref.get('kind')}/{ref.get('name')}" if ref else ""


def _events(w: _Writer, events: list[dict[str, Any]] | None, now: float) -> None:
    if events is None:
        return
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    w.flush()
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")
    for e in sorted(events, key=_event_sort_key):
        if e.get("eventTime"):
            first = cols.age_since(e["eventTime"], now)
        else:
            first = cols.age_since(e.get("firstTimestamp"), now)
        series = e.get("series")
        count = e.get("count") or 0
        if series:
            interval = (f"{cols.age_since(series.get('lastObservedTime'), now)} "
                        f"(x{series.get('count', 0)} over {first})")
        elif count > 1:
            interval = f"{cols.age_since(e.get('lastTimestamp'), now)} (x{count} over {first})"
        else:
            interval = first
        source = (e.get("source") or {}).get("component") or e.get("reportingController") or ""
        # The involved object's fieldPath (`spec.containers{redis}`) is not part of the
        # message kubectl 1.32 prints: `Pulling image "redis"`, nothing before it.
        message = (e.get("message") or "").strip()
        w.write(1, f"{e.get('type', '')}\t{e.get('reason', '')}\t{interval}\t{source}\t"
                   f"{message}\n")


def _event_sort_key(event: dict[str, Any]) -> float:
    stamp = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
    try:
        return objects.parse_time(stamp) if stamp else 0.0
    except ValueError:
        return 0.0


def _or_none(text: str) -> str:
    return text if text else "<none>"


# -- containers and pod templates ---------------------------------------------------------


def _container_ports(ports: list[dict[str, Any]] | None, key: str) -> str:
    out = []
    for port in ports or ():
        # kubectl 1.32 prints number and protocol only; the port's name is not shown.
        out.append(f"{port.get(key, 0)}/{port.get('protocol') or 'TCP'}")
    return ", ".join(out)


def _container_state(title: str, state: dict[str, Any] | None, w: _Writer) -> None:
    state = state or {}
    if state.get("running") is not None:
        w.write(2, f"{title}:\tRunning\n")
        w.write(3, f"Started:\t{_rfc1123z(state['running'].get('startedAt'))}\n")
    elif state.get("waiting") is not None:
        w.write(2, f"{title}:\tWaiting\n")
        if state["waiting"].get("reason"):
            w.write(3, f"Reason:\t{state['waiting']['reason']}\n")
    elif state.get("terminated") is not None:
        t = state["terminated"]
        w.write(2, f"{title}:\tTerminated\n")
        if t.get("reason"):
            w.write(3, f"Reason:\t{t['reason']}\n")
        if t.get("message"):
            w.write(3, f"Message:\t{t['message']}\n")
        w.write(3, f"Exit Code:\t{t.get('exitCode', 0)}\n")
        if (t.get("signal") or 0) > 0:
            w.write(3, f"Signal:\t{t['signal']}\n")
        w.write(3, f"Started:\t{_rfc1123z(t.get('startedAt'))}\n")
        w.write(3, f"Finished:\t{_rfc1123z(t.get('finishedAt'))}\n")
    else:
        w.write(2, f"{title}:\tWaiting\n")


def _probe(probe: dict[str, Any]) -> str:
    attrs = (f"delay={probe.get('initialDelaySeconds', 0)}s "
             f"timeout={probe.get('timeoutSeconds', 1)}s "
             f"period={probe.get('periodSeconds', 10)}s "
             f"#success={probe.get('successThreshold', 1)} "
             f"#failure={probe.get('failureThreshold', 3)}")
    if probe.get("exec"):
        return f"exec [{' '.join(probe['exec'].get('command') or ())}] {attrs}"
    if probe.get("httpGet"):
        h = probe["httpGet"]
        scheme = (h.get("scheme") or "HTTP").lower()
        return f"http-get {scheme}://{h.get('host', '')}:{h.get('port', '')}{h.get('path', '')} " \
               f"{attrs}"
    if probe.get("tcpSocket"):
        t = probe["tcpSocket"]
        return f"tcp-socket {t.get('host', '')}:{t.get('port', '')} {attrs}"
    if probe.get("grpc"):
        return f"grpc <pod>:{probe['grpc'].get('port')} {probe['grpc'].get('service', '')} {attrs}"
    return f"unknown {attrs}"


def _containers(w: _Writer, title: str, containers: list[dict[str, Any]],
                statuses: list[dict[str, Any]] | None, space: str = "") -> None:
    by_name = {s.get("name"): s for s in statuses or ()}
    w.write(0, f"{space}{title}:{'' if containers else ' <none>'}\n")
    name_indent = " " if space else ""
    for c in containers:
        status = by_name.get(c.get("name"))
        w.write(1, f"{name_indent}{c.get('name', '')}:\n")
        if status is not None:
            w.write(2, f"Container ID:\t{status.get('containerID', '')}\n")
        w.write(2, f"Image:\t{c.get('image', '')}\n")
        if status is not None:
            w.write(2, f"Image ID:\t{status.get('imageID', '')}\n")
        ports = _container_ports(c.get("ports"), "containerPort")
        w.write(2, f"Ports:\t{ports}\n" if "," in ports else f"Port:\t{_or_none(ports)}\n")
        host_ports = _container_ports(c.get("ports"), "hostPort")
        w.write(2, f"Host Ports:\t{host_ports}\n" if "," in host_ports
                else f"Host Port:\t{_or_none(host_ports)}\n")
        for key, label in (("command", "Command"), ("args", "Args")):
            if c.get(key):
                w.write(2, f"{label}:\n")
                for part in c[key]:
                    for line in str(part).split("\n"):
                        w.write(3, f"{line}\n")
        if status is not None:
            _container_state("State", status.get("state"), w)
            if (status.get("lastState") or {}).get("terminated"):
                _container_state("Last State", status.get("lastState"), w)
            w.write(2, f"Ready:\t{'True' if status.get('ready') else 'False'}\n")
            w.write(2, f"Restart Count:\t{status.get('restartCount', 0)}\n")
        resources = c.get("resources") or {}
        for key, label in (("limits", "Limits"), ("requests", "Requests")):
            if resources.get(key):
                w.write(2, f"{label}:\n")
                for name in sorted(resources[key]):
                    w.write(3, f"{name}:\t{resources[key][name]}\n")
        for key, label in (("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"),
                           ("startupProbe", "Startup")):
            if c.get(key):
                w.write(2, f"{label}:\t{_probe(c[key])}\n")
        env = c.get("env") or ()
        w.write(2, f"Environment:{'' if env else chr(9) + '<none>'}\n")
        for e in env:
            if "valueFrom" not in e:
                for i, line in enumerate(str(e.get("value", "")).split("\n")):
                    w.write(3, f"{e.get('name', '')}:\t{line}\n" if i == 0 else f"\t{line}\n")
                continue
            source = e["valueFrom"]
            if source.get("fieldRef"):
                ref = source["fieldRef"]
                w.write(3, f"{e.get('name')}:\t ({ref.get('apiVersion', 'v1')}:"
                           f"{ref.get('fieldPath', '')})\n")
            elif source.get("secretKeyRef"):
                ref = source["secretKeyRef"]
                w.write(3, f"{e.get('name')}:\t<set to the key '{ref.get('key')}' in secret "
                           f"'{ref.get('name')}'>\tOptional: "
                           f"{'true' if ref.get('optional') else 'false'}\n")
            elif source.get("configMapKeyRef"):
                ref = source["configMapKeyRef"]
                w.write(3, f"{e.get('name')}:\t<set to the key '{ref.get('key')}' of config map "
                           f"'{ref.get('name')}'>\tOptional: "
                           f"{'true' if ref.get('optional') else 'false'}\n")
        mounts = sorted(c.get("volumeMounts") or (), key=lambda m: m.get("mountPath", ""))
        w.write(2, f"Mounts:{'' if mounts else chr(9) + '<none>'}\n")
        for m in mounts:
            flags = ["ro" if m.get("readOnly") else "rw"]
            if m.get("subPath"):
                flags.append(f'path="{m["subPath"]}"')
            w.write(3, f"{m.get('mountPath', '')} from {m.get('name', '')} ({','.join(flags)})\n")


def _volumes(w: _Writer, volumes: list[dict[str, Any]] | None, space: str = "") -> None:
    if not volumes:
        w.write(0, f"{space}Volumes:\t<none>\n")
        return
    w.write(0, f"{space}Volumes:\n")
    name_indent = " " if space else ""
    for v in volumes:
        w.write(1, f"{name_indent}{v.get('name', '')}:\n")
        if "emptyDir" in v:
            ed = v["emptyDir"] or {}
            w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
                       f"    Medium:\t{ed.get('medium', '')}\n"
                       f"    SizeLimit:\t{ed.get('sizeLimit') or '<unset>'}\n")
        elif "persistentVolumeClaim" in v:
            pvc = v["persistentVolumeClaim"] or {}
            w.write(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in "
                       "the same namespace)\n"
                       f"    ClaimName:\t{pvc.get('claimName', '')}\n"
                       f"    ReadOnly:\t{'true' if pvc.get('readOnly') else 'false'}\n")
        elif "configMap" in v:
            cm = v["configMap"] or {}
            w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
                       f"    Name:\t{cm.get('name', '')}\n"
                       f"    Optional:\t{'true' if cm.get('optional') else 'false'}\n")
        elif "secret" in v:
            s = v["secret"] or {}
            w.write(2, "Type:\tSecret (a volume populated by a Secret)\n"
                       f"    SecretName:\t{s.get('secretName', '')}\n"
                       f"    Optional:\t{'true' if s.get('optional') else 'false'}\n")
        elif "hostPath" in v:
            hp = v["hostPath"] or {}
            w.write(2, "Type:\tHostPath (bare host directory volume)\n"
                       f"    Path:\t{hp.get('path', '')}\n"
                       f"    HostPathType:\t{hp.get('type') or '<none>'}\n")
        else:
            w.write(2, "<unknown>\n")


def _pod_template(w: _Writer, template: dict[str, Any] | None) -> None:
    w.write(0, "Pod Template:\n")
    if template is None:
        w.write(1, "<unset>")
        return
    meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    _labels(w, "  Labels", meta.get("labels"))
    if meta.get("annotations"):
        _annotations(w, "  Annotations", meta.get("annotations"))
    if spec.get("serviceAccountName"):
        w.write(1, f"Service Account:\t{spec['serviceAccountName']}\n")
    if spec.get("initContainers"):
        _containers(w, "Init Containers", spec["initContainers"], None, "  ")
    _containers(w, "Containers", spec.get("containers") or [], None, "  ")
    _volumes(w, spec.get("volumes"), "  ")
    if spec.get("priorityClassName"):
        w.write(1, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    _labels(w, "  Node-Selectors", spec.get("nodeSelector"))
    _tolerations(w, "  Tolerations", spec.get("tolerations"))


def _qos_class(pod: dict[str, Any]) -> str:
    """BestEffort, Guaranteed or Burstable, as the kubelet classifies the pod."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or ()) + list(spec.get("initContainers") or ())
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        limits = res.get("limits") or {}
        requests = dict(limits)
        requests.update(res.get("requests") or {})
        for name in ("cpu", "memory"):
            if name in requests or name in limits:
                any_set = True
            if name not in limits:
                guaranteed = False
            elif _quantity(requests.get(name)) != _quantity(limits.get(name)):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _quantity(value: Any) -> Fraction:
    if value is None:
        return Fraction(0)
    try:
        return quantities.parse_quantity(value)
    except (ValueError, TypeError):
        return Fraction(0)


# -- describers --------------------------------------------------------------------------


def describe_pod(pod: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    if spec.get("priority") is not None:
        w.write(0, f"Priority:\t{spec['priority']}\n")
    if spec.get("priorityClassName"):
        w.write(0, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    if spec.get("runtimeClassName"):
        w.write(0, f"Runtime Class Name:\t{spec['runtimeClassName']}\n")
    if spec.get("serviceAccountName"):
        w.write(0, f"Service Account:\t{spec['serviceAccountName']}\n")
    if spec.get("nodeName"):
        w.write(0, f"Node:\t{spec['nodeName']}/{status.get('hostIP', '')}\n")
    else:
        w.write(0, "Node:\t<none>\n")
    if status.get("startTime"):
        w.write(0, f"Start Time:\t{_rfc1123z(status['startTime'])}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    phase = status.get("phase", "")
    if meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        w.write(0, f"Status:\tTerminating (lasts {cols.age_since(meta['deletionTimestamp'], now)})"
                   "\n")
        w.write(0, f"Termination Grace Period:\t{meta.get('deletionGracePeriodSeconds', 0)}s\n")
    else:
        w.write(0, f"Status:\t{phase}\n")
    if status.get("reason"):
        w.write(0, f"Reason:\t{status['reason']}\n")
    if status.get("message"):
        w.write(0, f"Message:\t{status['message']}\n")
    w.write(0, f"IP:\t{status.get('podIP', '')}\n")
    ips = status.get("podIPs") or ()
    if not ips:
        w.write(0, "IPs:\t<none>\n")
    else:
        w.write(0, "IPs:\n")
        for ip in ips:
            w.write(1, f"IP:\t{ip.get('ip', '')}\n")
    if _controller(pod):
        w.write(0, f"Controlled By:\t{_controller(pod)}\n")
    if status.get("nominatedNodeName"):
        w.write(0, f"NominatedNodeName:\t{status['nominatedNodeName']}\n")
    if spec.get("initContainers"):
        _containers(w, "Init Containers", spec["initContainers"],
                    status.get("initContainerStatuses"))
    _containers(w, "Containers", spec.get("containers") or [], status.get("containerStatuses"))
    if spec.get("readinessGates"):
        w.write(0, "Readiness Gates:\n  Type\tStatus\n")
        for gate in spec["readinessGates"]:
            value = "<none>"
            for cond in status.get("conditions") or ():
                if cond.get("type") == gate.get("conditionType"):
                    value = cond.get("status", "")
                    break
            w.write(1, f"{gate.get('conditionType', '')} \t{value} \n")
    if status.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for cond in status["conditions"]:
            w.write(1, f"{cond.get('type', '')} \t{cond.get('status', '')} \n")
    _volumes(w, spec.get("volumes"))
    w.write(0, f"QoS Class:\t{_qos_class(pod)}\n")
    _labels(w, "Node-Selectors", spec.get("nodeSelector"))
    _tolerations(w, "Tolerations", spec.get("tolerations"))
    _events(w, related.events, now)
    return w.text()


def _format_resource(name: str, value: Fraction) -> str:
    fmt = quantities.QuantityFormat.BINARY_SI if name in ("memory", "ephemeral-storage") \
        else quantities.QuantityFormat.DECIMAL_SI
    return quantities.format_quantity(value, fmt)


def _pod_totals(pod: dict[str, Any], key: str) -> dict[str, Fraction]:
    totals: dict[str, Fraction] = {}
    for c in (pod.get("spec") or {}).get("containers") or ():
        resources = c.get("resources") or {}
        values = dict(resources.get("limits") or {}) if key == "requests" else {}
        values.update(resources.get(key) or {})
        for name, value in values.items():
            totals[name] = totals.get(name, Fraction(0)) + _quantity(value)
    return totals


def _percent(part: Fraction, whole: Fraction) -> int:
    return int(part * 100 / whole) if whole else 0


def _lease(w: _Writer, lease: dict[str, Any]) -> None:
    """The node's heartbeat Lease: kubectl shows who holds it and when it was renewed, which
    is how a user tells a silent kubelet from a live one."""
    spec = lease.get("spec") or {}
    w.write(0, "Lease:\n")
    w.write(1, f"HolderIdentity:\t{spec.get('holderIdentity') or '<unset>'}\n")
    for key, title in (("acquireTime", "AcquireTime"), ("renewTime", "RenewTime")):
        stamp = spec.get(key)
        w.write(1, f"{title}:\t{_rfc1123z(stamp) if stamp else '<unset>'}\n")


def describe_node(node: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = node.get("metadata") or {}
    spec = node.get("spec") or {}
    status = node.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Roles:\t{','.join(cols.node_roles(node)) or '<none>'}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    w.write(0, f"CreationTimestamp:\t{_rfc1123z(meta.get('creationTimestamp'))}\n")
    _taints(w, spec.get("taints"))
    w.write(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    if related.lease is not None:
        _lease(w, related.lease)
    if status.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason"
                   "\tMessage\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in status["conditions"]:
            w.write(1, f"{c.get('type', '')} \t{c.get('status', '')} \t"
                       f"{_rfc1123z(c.get('lastHeartbeatTime'))} \t"
                       f"{_rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t"
                       f"{c.get('message', '')}\n")
    w.write(0, "Addresses:\n")
    for address in status.get("addresses") or ():
        w.write(1, f"{address.get('type', '')}:\t{address.get('address', '')}\n")
    for key, title in (("capacity", "Capacity"), ("allocatable", "Allocatable")):
        if status.get(key):
            w.write(0, f"{title}:\n")
            for name in sorted(status[key]):
                w.write(0, f"  {name}:\t{status[key][name]}\n")
    info = status.get("nodeInfo") or {}
    w.write(0, "System Info:\n")
    for key, label in (("machineID", "Machine ID"), ("systemUUID", "System UUID"),
                       ("bootID", "Boot ID"), ("kernelVersion", "Kernel Version"),
                       ("osImage", "OS Image"), ("operatingSystem", "Operating System"),
                       ("architecture", "Architecture"),
                       ("containerRuntimeVersion", "Container Runtime Version"),
                       ("kubeletVersion", "Kubelet Version"),
                       ("kubeProxyVersion", "Kube-Proxy Version")):
        w.write(0, f"  {label}:\t{info.get(key, '')}\n")
    if spec.get("podCIDR"):
        w.write(0, f"PodCIDR:\t{spec['podCIDR']}\n")
    if spec.get("podCIDRs"):
        w.write(0, f"PodCIDRs:\t{','.join(spec['podCIDRs'])}\n")
    if spec.get("providerID"):
        w.write(0, f"ProviderID:\t{spec['providerID']}\n")
    allocatable = {k: _quantity(v) for k, v in
                   (status.get("allocatable") or status.get("capacity") or {}).items()}
    pods = related.pods
    w.write(0, f"Non-terminated Pods:\t({len(pods)} in total)\n")
    w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\t"
               "Age\n")
    w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t"
               "---\n")
    total_req: dict[str, Fraction] = {}
    total_lim: dict[str, Fraction] = {}
    for pod in pods:
        req, lim = _pod_totals(pod, "requests"), _pod_totals(pod, "limits")
        for name, value in req.items():
            total_req[name] = total_req.get(name, Fraction(0)) + value
        for name, value in lim.items():
            total_lim[name] = total_lim.get(name, Fraction(0)) + value
        cells = []
        for name in ("cpu", "memory"):
            for values in (req, lim):
                v = values.get(name, Fraction(0))
                cells.append(f"{_format_resource(name, v)} "
                             f"({_percent(v, allocatable.get(name, Fraction(0)))}%)")
        age = cols.age_since(objects.meta(pod).get("creationTimestamp"), now)
        w.write(1, f"{objects.namespace_of(pod)}\t{objects.name_of(pod)}\t\t{cells[0]}\t"
                   f"{cells[1]}\t{cells[2]}\t{cells[3]}\t{age}\n")
    w.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., "
               "overcommitted.)\n")
    w.write(1, "Resource\tRequests\tLimits\n")
    w.write(1, "--------\t--------\t------\n")
    for name in ("cpu", "memory", "ephemeral-storage"):
        requested = total_req.get(name, Fraction(0))
        limited = total_lim.get(name, Fraction(0))
        whole = allocatable.get(name, Fraction(0))
        w.write(1, f"{name}\t{_format_resource(name, requested)} "
                   f"({_percent(requested, whole)}%)\t{_format_resource(name, limited)} "
                   f"({_percent(limited, whole)}%)\n")
    _events(w, related.events, now)
    return w.text()


def describe_service(svc: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = svc.get("metadata") or {}
    spec = svc.get("spec") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{cols.format_labels(spec.get('selector'))}\n")
    w.write(0, f"Type:\t{spec.get('type', '')}\n")
    if spec.get("ipFamilyPolicy"):
        w.write(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    w.write(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or ()) or '<none>'}\n")
    w.write(0, f"IP:\t{spec.get('clusterIP', '')}\n")
    w.write(0, f"IPs:\t{','.join(spec.get('clusterIPs') or ()) or '<none>'}\n")
    if spec.get("externalIPs"):
        w.write(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if spec.get("externalName"):
        w.write(0, f"External Name:\t{spec['externalName']}\n")
    for port in spec.get("ports") or ():
        name = port.get("name") or "<unset>"
        protocol = port.get("protocol") or "TCP"
        w.write(0, f"Port:\t{name}\t{port.get('port')}/{protocol}\n")
        target = port.get("targetPort", port.get("port"))
        w.write(0, f"TargetPort:\t{target}/{protocol}\n")
        if port.get("appProtocol"):
            w.write(0, f"AppProtocol:\t{port['appProtocol']}\n")
        if port.get("nodePort"):
            w.write(0, f"NodePort:\t{name}\t{port['nodePort']}/{protocol}\n")
        endpoints = related.endpoints or {}
        w.write(0, f"Endpoints:\t{_service_endpoints(endpoints, port.get('name', ''))}\n")
    w.write(0, f"Session Affinity:\t{spec.get('sessionAffinity', 'None')}\n")
    if spec.get("externalTrafficPolicy"):
        w.write(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("internalTrafficPolicy"):
        w.write(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}\n")
    _events(w, related.events, now)
    return w.text()


def _service_endpoints(endpoints: dict[str, Any], port_name: str) -> str:
    return cols.format_endpoints(endpoints, {port_name})


def _selector_text(selector: dict[str, Any] | None) -> str:
    text = cols.format_label_selector(selector)
    return "" if text == "<none>" else text


def _pods_status(pods: list[dict[str, Any]]) -> str:
    counts = {"Running": 0, "Pending": 0, "Succeeded": 0, "Failed": 0}
    for pod in pods:
        phase = (pod.get("status") or {}).get("phase", "")
        if phase in counts:
            counts[phase] += 1
    return (f"{counts['Running']} Running / {counts['Pending']} Waiting / "
            f"{counts['Succeeded']} Succeeded / {counts['Failed']} Failed")


def _conditions_with_reason(w: _Writer, conditions: list[dict[str, Any]] | None) -> None:
    if not conditions:
        return
    w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
    w.write(1, "----\t------\t------\n")
    for c in conditions:
        w.write(1, f"{c.get('type', '')} \t{c.get('status', '')}\t{c.get('reason', '')}\n")


def describe_deployment(d: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = d.get("metadata") or {}
    spec = d.get("spec") or {}
    status = d.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"CreationTimestamp:\t{_rfc1123z(meta.get('creationTimestamp'))}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{_selector_text(spec.get('selector'))}\n")
    w.write(0, f"Replicas:\t{spec.get('replicas', 0)} desired | "
               f"{status.get('updatedReplicas', 0)} updated | {status.get('replicas', 0)} total | "
               f"{status.get('availableReplicas', 0)} available | "
               f"{status.get('unavailableReplicas', 0)} unavailable\n")
    strategy = spec.get("strategy") or {}
    w.write(0, f"StrategyType:\t{strategy.get('type', '')}\n")
    w.write(0, f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}\n")
    if strategy.get("rollingUpdate"):
        ru = strategy["rollingUpdate"]
        w.write(0, f"RollingUpdateStrategy:\t{ru.get('maxUnavailable', '')} max unavailable, "
                   f"{ru.get('maxSurge', '')} max surge\n")
    _pod_template(w, spec.get("template"))
    _conditions_with_reason(w, status.get("conditions"))
    owned = [rs for rs in related.replicasets
             if (objects.controller_of(rs) or {}).get("uid") == meta.get("uid")]
    if owned:
        template_hash = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        new = [rs for rs in owned if _same_template(rs, spec.get("template"), template_hash)]
        old = [rs for rs in owned if rs not in new]
        w.write(0, f"OldReplicaSets:\t{_replicasets_text(old)}\n")
        w.write(0, f"NewReplicaSet:\t{_replicasets_text(new[:1])}\n")
    _events(w, related.events, now)
    return w.text()


def _same_template(rs: dict[str, Any], template: dict[str, Any] | None,
                   labels: dict[str, str]) -> bool:
    """Whether `rs` runs the deployment's current template (ignoring the hash label)."""
    rs_template = objects.clone(((rs.get("spec") or {}).get("template")) or {})
    rs_labels = (rs_template.get("metadata") or {}).get("labels") or {}
    rs_labels.pop("pod-template-hash", None)
    wanted = objects.clone(template or {})
    ((wanted.get("metadata") or {}).get("labels") or {}).pop("pod-template-hash", None)
    return rs_template.get("spec") == wanted.get("spec") and rs_labels == {
        k: v for k, v in labels.items() if k != "pod-template-hash"}


def _replicasets_text(replicasets: list[dict[str, Any]]) -> str:
    parts = [f"{objects.name_of(rs)} ({(rs.get('status') or {}).get('replicas', 0)}/"
             f"{(rs.get('spec') or {}).get('replicas', 0)} replicas created)"
             for rs in replicasets]
    return ", ".join(parts) if parts else "<none>"


def describe_replicaset(rs: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = rs.get("metadata") or {}
    spec = rs.get("spec") or {}
    status = rs.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"Selector:\t{cols.format_label_selector(spec.get('selector'))}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    if _controller(rs):
        w.write(0, f"Controlled By:\t{_controller(rs)}\n")
    w.write(0, f"Replicas:\t{status.get('replicas', 0)} current / {spec.get('replicas', 0)} "
               "desired\n")
    w.write(0, "Pods Status:\t")
    w.write(0, _pods_status(related.pods) + "\n")
    _pod_template(w, spec.get("template"))
    _conditions_with_reason(w, status.get("conditions"))
    _events(w, related.events, now)
    return w.text()


def describe_statefulset(sts: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = sts.get("metadata") or {}
    spec = sts.get("spec") or {}
    status = sts.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"CreationTimestamp:\t{_rfc1123z(meta.get('creationTimestamp'))}\n")
    w.write(0, f"Selector:\t{_selector_text(spec.get('selector'))}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Replicas:\t{spec.get('replicas', 0)} desired | {status.get('replicas', 0)} "
               "total\n")
    strategy = spec.get("updateStrategy") or {}
    w.write(0, f"Update Strategy:\t{strategy.get('type', '')}\n")
    ru = strategy.get("rollingUpdate") or {}
    if ru.get("partition") is not None:
        w.write(1, f"Partition:\t{ru['partition']}\n")
        if ru.get("maxUnavailable") is not None:
            w.write(1, f"MaxUnavailable:\t{ru['maxUnavailable']}\n")
    w.write(0, f"Pods Status:\t{_pods_status(related.pods)}\n")
    _pod_template(w, spec.get("template"))
    templates = spec.get("volumeClaimTemplates") or ()
    if not templates:
        w.write(0, "Volume Claims:\t<none>\n")
    else:
        w.write(0, "Volume Claims:\n")
        for pvc in templates:
            pm = pvc.get("metadata") or {}
            ps = pvc.get("spec") or {}
            w.write(1, f"Name:\t{pm.get('name', '')}\n")
            w.write(1, f"StorageClass:\t{ps.get('storageClassName', '')}\n")
            _labels(w, "Labels", pm.get("labels"), indent="  ")
            _labels(w, "Annotations", pm.get("annotations"), indent="  ")
            storage = ((ps.get("resources") or {}).get("requests") or {}).get("storage")
            w.write(1, f"Capacity:\t{storage or '<default>'}\n")
            w.write(1, f"Access Modes:\t[{' '.join(ps.get('accessModes') or ())}]\n")
    _events(w, related.events, now)
    return w.text()


def describe_endpoints(ep: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = ep.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    w.write(0, "Subsets:\n")
    for subset in ep.get("subsets") or ():
        ready = ",".join(a.get("ip", "") for a in subset.get("addresses") or ())
        not_ready = ",".join(a.get("ip", "") for a in subset.get("notReadyAddresses") or ())
        w.write(1, f"Addresses:\t{ready or '<none>'}\n")
        w.write(1, f"NotReadyAddresses:\t{not_ready or '<none>'}\n")
        if subset.get("ports"):
            w.write(1, "Ports:\n")
            w.write(2, "Name\tPort\tProtocol\n")
            w.write(2, "----\t----\t--------\n")
            for port in subset["ports"]:
                w.write(2, f"{port.get('name') or '<unset>'}\t{port.get('port')}\t"
                           f"{port.get('protocol') or 'TCP'}\n")
        w.write(0, "\n")
    _events(w, related.events, now)
    return w.text()


def describe_namespace(ns: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = ns.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Status:\t{(ns.get('status') or {}).get('phase', '')}\n")
    w.write(0, "\nNo resource quota.\n")
    w.write(0, "\nNo LimitRange resource.\n")
    return w.text()


def describe_configmap(cm: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = cm.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    w.write(0, "\nData\n====\n")
    for key in sorted(cm.get("data") or {}):
        w.write(0, f"{key}:\n----\n")
        w.write(0, f"{cm['data'][key]}\n")
        w.write(0, "\n")
    w.write(0, "\nBinaryData\n====\n")
    for key in sorted(cm.get("binaryData") or {}):
        w.write(0, f"{key}: {len(_decoded(cm['binaryData'][key]))} bytes\n")
    w.write(0, "\n")
    _events(w, related.events, now)
    return w.text()


def _decoded(value: Any) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return str(value).encode()


def describe_secret(secret: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = secret.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    w.write(0, f"\nType:\t{secret.get('type', '')}\n")
    w.write(0, "\nData\n====\n")
    for key in sorted(secret.get("data") or {}):
        w.write(0, f"{key}:\t{len(_decoded(secret['data'][key]))} bytes\n")
    return w.text()


# -- the generic describer ---------------------------------------------------------------

_SPLIT_RE = re.compile(r"[a-z]+|[A-Z]+|[0-9]+|[^a-zA-Z0-9]+")


def _camel_split(word: str) -> list[str]:
    """fatih/camelcase.Split: runs by character class, `ABCDef` → `ABC`, `Def`."""
    runs = _SPLIT_RE.findall(word)
    out: list[str] = []
    for run in runs:
        if out and run[0].islower() and out[-1].isupper() and len(out[-1]) > 0:
            prev = out.pop()
            if len(prev) > 1:
                out.append(prev[:-1])
            out.append(prev[-1] + run)
        else:
            out.append(run)
    return out


def smart_label(field_name: str) -> str:
    """`creationTimestamp` → `Creation Timestamp`, `apiVersion` → `API Version`."""
    if any(not (unicodedata.category(ch).startswith("L") or ch == "-") for ch in field_name):
        return field_name
    parts = _camel_split(field_name)
    merged: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        if i < len(parts) - 1:
            nxt = parts[i + 1]
            if len(part) >= 2 and part.isupper() and nxt[:1].isupper():
                merged.append(part + nxt)
                i += 2
                continue
        merged.append(part)
        i += 1
    result = []
    for part in merged:
        if part == "_":
            continue
        if part.upper() in ("API", "URL", "UID", "GUID"):
            part = part.upper()
        elif part.lower() == part:
            part = part[:1].upper() + part[1:]
        result.append(part)
    return " ".join(result)


def _go_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_GENERIC_SKIP = {".metadata.managedFields", ".metadata.name", ".metadata.namespace",
                 ".metadata.labels", ".metadata.annotations"}


def _unstructured(w: _Writer, level: int, content: dict[str, Any], prefix: str) -> None:
    for key in sorted(content):
        value = content[key]
        path = f"{prefix}.{key}"
        if path in _GENERIC_SKIP:
            continue
        if isinstance(value, dict):
            w.write(level, f"{smart_label(key)}:\n")
            _unstructured(w, level + 1, value, path)
        elif isinstance(value, list):
            w.write(level, f"{smart_label(key)}:\n")
            for child in value:
                if isinstance(child, dict):
                    _unstructured(w, level + 1, child, path)
                else:
                    w.write(level + 1, f"{_go_value(child)}\n")
        else:
            w.write(level, f"{smart_label(key)}:\t{_go_value(value)}\n")


def describe_generic(obj: dict[str, Any], related: Related, now: float) -> str:
    w = _Writer()
    meta = obj.get("metadata") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels(w, "Labels", meta.get("labels"))
    _annotations(w, "Annotations", meta.get("annotations"))
    _unstructured(w, 0, obj, "")
    _events(w, related.events, now)
    return w.text()


Renderer = Callable[[dict[str, Any], Related, float], str]

RENDERERS: dict[str, Renderer] = {
    "pods": describe_pod,
    "nodes": describe_node,
    "services": describe_service,
    "endpoints": describe_endpoints,
    "deployments.apps": describe_deployment,
    "replicasets.apps": describe_replicaset,
    "statefulsets.apps": describe_statefulset,
    "namespaces": describe_namespace,
    "configmaps": describe_configmap,
    "secrets": describe_secret,
}

_NO_EVENTS = {"namespaces", "secrets"}


def describe_object(rt: ResourceType, obj: dict[str, Any], related: Related, now: float) -> str:
    """Render one object with the describer for its kind."""
    renderer = RENDERERS.get(rt.key) if not rt.custom else None
    return (renderer or describe_generic)(obj, related, now)


# -- gathering related objects -----------------------------------------------------------


def _is_about(event: dict[str, Any], obj: dict[str, Any], match_kind: bool) -> bool:
    involved = event.get("involvedObject") or {}
    meta = obj.get("metadata") or {}
    if involved.get("name") != meta.get("name"):
        return False
    if involved.get("namespace", "") != meta.get("namespace", ""):
        return False
    if involved.get("uid") and meta.get("uid") and involved["uid"] != meta["uid"]:
        return False
    if match_kind and involved.get("kind") and involved["kind"] != obj.get("kind"):
        return False
    return True


async def events_for(client: Client, obj: dict[str, Any], *, match_kind: bool = True,
                     ) -> list[dict[str, Any]]:
    """Events whose involvedObject is `obj` (by name and namespace, then uid and kind)."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") or None
    selector = (f"involvedObject.name={meta.get('name', '')},"
                f"involvedObject.namespace={meta.get('namespace', '')}")
    try:
        found = await client.list("events", namespace, field_selector=selector)
    except errors.BadRequest:
        found = await client.list("events", namespace)
    except errors.NotFound:
        return []
    return [e for e in found.items if _is_about(e, obj, match_kind)]


def _controlled_by(pod: dict[str, Any], owner: dict[str, Any]) -> bool:
    ref = objects.controller_of(pod)
    return bool(ref) and ref.get("uid") == objects.uid_of(owner)  # type: ignore[union-attr]


async def gather(client: Client, rt: ResourceType, obj: dict[str, Any]) -> Related:
    """Look up what `describe_object` shows besides `obj` itself."""
    related = Related()
    key = rt.key if not rt.custom else ""
    namespace = objects.namespace_of(obj) or None
    if key not in _NO_EVENTS:
        related.events = await events_for(client, obj, match_kind=key != "pods")
    if key == "nodes":
        pods = await client.list("pods", None,
                                 field_selector=f"spec.nodeName={objects.name_of(obj)}")
        related.pods = [p for p in pods.items
                        if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        try:
            related.lease = await client.get("leases.coordination.k8s.io",
                                             objects.name_of(obj), NODE_LEASE_NAMESPACE)
        except (errors.NotFound, LookupError):
            related.lease = None
    elif key == "services":
        try:
            related.endpoints = await client.get("endpoints", objects.name_of(obj), namespace)
        except errors.NotFound:
            related.endpoints = None
    elif key in ("replicasets.apps", "statefulsets.apps"):
        pods = await client.list("pods", namespace)
        related.pods = [p for p in pods.items if _controlled_by(p, obj)]
    elif key == "deployments.apps":
        replicasets = await client.list("replicasets.apps", namespace)
        related.replicasets = list(replicasets.items)
    return related
