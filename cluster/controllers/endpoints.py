"""The Endpoints controller: which pod addresses stand behind each Service.

For every Service with a selector (headless ones included) it keeps an `Endpoints` object of
the same name listing the selected pods, as kube-controller-manager's endpoints controller
does: Ready pods under `addresses`, pods that have an IP but are not Ready under
`notReadyAddresses` (all of them under `addresses` when the Service sets
`publishNotReadyAddresses`). Pods without an IP, terminating pods and finished pods are left
out. Each address names its pod (`targetRef`), node and, when the pod's `spec.subdomain` is
the Service's name, its `hostname`, which is what makes `<pod>.<service>` resolvable. Ports
come from the Service's ports with `targetPort` resolved per pod: a number as is, a name
through the pod's container ports; pods whose containers lack a named port are left out of
that port's subsets, and addresses with identical ports share a subset.

Kubernetes sets no ownerReference on Endpoints: this controller deletes them when their
Service goes, and at start-up deletes leftovers whose Service no longer exists. Services
without a selector are not touched: their Endpoints are the user's.

A pod change re-syncs only the Services that select it: Services are indexed by each
`key=value` of their selector and pods by each of their labels, so neither direction scans
a namespace.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Iterable

from cluster import informer as informing
from cluster import reconciling
from cluster.api import errors, objects, selectors
from cluster.client import Client

HEADLESS_LABEL = "service.kubernetes.io/headless"
"""Set on the Endpoints of a headless Service, as the real controller does."""

SELECTOR_INDEX = "endpoints.controller/selector-pair"
"""Services by `ns/key=value` for each selector pair (`ns/*` for an empty selector)."""
LABEL_INDEX = "endpoints.controller/label-pair"
"""Pods by `ns/key=value` for each of their labels."""

_ALL = "*"


@dataclass(frozen=True)
class EndpointsSettings:
    """How the Endpoints controller runs."""

    workers: int = 4
    """Services synced concurrently (kube-controller-manager's --concurrent-endpoint-syncs: 5)."""

    informer: informing.InformerSettings = field(default_factory=informing.InformerSettings)
    """Retry timing of the informers this controller creates when it has no shared factory."""


# --------------------------------------------------------------------------- pure functions


def is_pod_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def pod_ip(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    if status.get("podIP"):
        return str(status["podIP"])
    ips = status.get("podIPs") or []
    return str(ips[0].get("ip") or "") if ips else ""


def should_include(pod: dict[str, Any], *, include_terminating: bool) -> bool:
    """kube's ShouldPodBeInEndpoints: an IP, not finished, not terminating (unless asked)."""
    if not pod_ip(pod):
        return False
    if not include_terminating and objects.is_terminating(pod):
        return False
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def resolve_target_port(pod: dict[str, Any], service_port: dict[str, Any]) -> int | None:
    """The pod port a Service port forwards to; None when a named port is not on the pod."""
    target = service_port.get("targetPort")
    if target in (None, "", 0):
        target = service_port.get("port")
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or ():
        for port in container.get("ports") or ():
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def endpoint_address(pod: dict[str, Any], service: dict[str, Any]) -> dict[str, Any]:
    """`{ip, hostname?, nodeName?, targetRef}` for a pod behind `service`."""
    address: dict[str, Any] = {"ip": pod_ip(pod)}
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == objects.name_of(service) \
            and objects.namespace_of(pod) == objects.namespace_of(service):
        address["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        address["nodeName"] = spec["nodeName"]
    address["targetRef"] = {"kind": "Pod", "namespace": objects.namespace_of(pod),
                            "name": objects.name_of(pod), "uid": objects.uid_of(pod)}
    return address


def _address_order(address: dict[str, Any]) -> tuple[str, str]:
    return address["ip"], (address.get("targetRef") or {}).get("uid", "")


def _subset_order(group: tuple[list[dict[str, Any]], Any, Any]) -> list[tuple[str, int, str]]:
    return [(p.get("name", ""), p["port"], p["protocol"]) for p in group[0]]


def desired_subsets(service: dict[str, Any], pods: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Endpoints subsets for `service` over the pods it selects (already filtered by labels).

    Ports whose address sets are equal are packed into one subset (kube's RepackSubsets);
    subsets are sorted by their ports and addresses by IP, then pod uid, so the same pods
    in any order give the same output and no spurious writes.
    """
    spec = service.get("spec") or {}
    publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
    service_ports = list(spec.get("ports") or ())
    headless = spec.get("clusterIP") == "None"
    groups: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for pod in pods:
        if not should_include(pod, include_terminating=publish_not_ready):
            continue
        ready = publish_not_ready or is_pod_ready(pod)
        address = endpoint_address(pod, service)
        port_sets: list[list[dict[str, Any]]] = []
        if not service_ports:
            if headless:
                port_sets.append([])
        else:
            for service_port in service_ports:
                number = resolve_target_port(pod, service_port)
                if number is None:
                    continue
                port: dict[str, Any] = {}
                if service_port.get("name"):
                    port["name"] = service_port["name"]
                port["port"] = number
                port["protocol"] = service_port.get("protocol") or "TCP"
                if service_port.get("appProtocol"):
                    port["appProtocol"] = service_port["appProtocol"]
                port_sets.append([port])
        for ports in port_sets:
            key = repr(ports)
            group = groups.setdefault(key, (ports, [], []))
            (group[1] if ready else group[2]).append(address)
    # One pod's ports end up in as many one-port groups as the service has ports; merge the
    # groups whose address sets are equal back into multi-port subsets.
    merged: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for ports, ready_list, not_ready in groups.values():
        ready_list.sort(key=_address_order)
        not_ready.sort(key=_address_order)
        key = repr((ready_list, not_ready))
        if key in merged:
            merged[key][0].extend(ports)
        else:
            merged[key] = (list(ports), ready_list, not_ready)
    subsets = []
    for ports, ready_list, not_ready in sorted(merged.values(), key=_subset_order):
        subset: dict[str, Any] = {}
        if ready_list:
            subset["addresses"] = ready_list
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if ports:
            subset["ports"] = ports
        subsets.append(subset)
    return subsets


def desired_labels(service: dict[str, Any]) -> dict[str, str]:
    labels = dict(objects.labels_of(service))
    if (service.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    else:
        labels.pop(HEADLESS_LABEL, None)
    return labels


def selector_of(service: dict[str, Any]) -> dict[str, str] | None:
    """The Service's selector map; None when it has none (its Endpoints are user-managed)."""
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return None
    selector = spec.get("selector")
    return selector if isinstance(selector, dict) else None


# --------------------------------------------------------------------------- indexes


def _selector_pairs(service: dict[str, Any]) -> list[str]:
    selector = selector_of(service)
    if selector is None:
        return []
    ns = objects.namespace_of(service)
    if not selector:
        return [f"{ns}/{_ALL}"]
    return [f"{ns}/{k}={v}" for k, v in selector.items()]


def _label_pairs(pod: dict[str, Any]) -> list[str]:
    ns = objects.namespace_of(pod)
    return [f"{ns}/{k}={v}" for k, v in objects.labels_of(pod).items()]


def _relevant(pod: dict[str, Any]) -> tuple[Any, ...]:
    """What about a pod can change its place in some Endpoints."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    return (objects.labels_of(pod), pod_ip(pod), is_pod_ready(pod),
            objects.is_terminating(pod), spec.get("nodeName"), spec.get("hostname"),
            spec.get("subdomain"), status.get("phase"), objects.uid_of(pod))


# --------------------------------------------------------------------------- the controller


class EndpointsController:
    """Keeps one Endpoints object per selector Service in step with the selected pods."""

    def __init__(self, client: Client, *, factory: informing.InformerFactory | None = None,
                 settings: EndpointsSettings | None = None) -> None:
        self.client = client
        self.settings = settings or EndpointsSettings()
        self._own_factory = factory is None
        self.factory = factory or informing.InformerFactory(client, settings=self.settings.informer)
        self.controller = reconciling.Controller("endpoints", self.reconcile,
                                                 workers=self.settings.workers)
        self._services: informing.Informer | None = None
        self._pods: informing.Informer | None = None
        self._endpoints: informing.Informer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is not None:
            return
        self._services = await self.factory.informer("services",
                                                     indexers={SELECTOR_INDEX: _selector_pairs})
        self._pods = await self.factory.informer("pods", indexers={LABEL_INDEX: _label_pairs})
        self._endpoints = await self.factory.informer("endpoints")
        reconciling.watch_into(self._services, self.controller)
        self.controller.wait_for(self._pods)
        self.controller.wait_for(self._endpoints)
        self._pods.add_handler(on_add=self._pod_added, on_update=self._pod_updated,
                               on_delete=self._pod_added)
        self._endpoints.add_handler(on_add=self._leftover_check, on_delete=self._endpoints_deleted)
        await self.factory.start()
        self._task = asyncio.get_running_loop().create_task(self.controller.run(),
                                                            name="endpoints controller")

    async def stop(self) -> None:
        await self.controller.stop()
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        if self._own_factory:
            await self.factory.stop()

    # -- handlers: only enqueue ---------------------------------------------------------------

    def services_for(self, pod: dict[str, Any]) -> set[str]:
        """Keys of the Services whose selectors match the pod's labels (from the index)."""
        assert self._services is not None
        ns = objects.namespace_of(pod)
        labels = objects.labels_of(pod)
        candidates: dict[str, dict[str, Any]] = {}
        for value in [f"{ns}/{_ALL}"] + _label_pairs(pod):
            for key in self._services.index_keys(SELECTOR_INDEX, value):
                if key not in candidates:
                    service = self._services.get(key)
                    if service is not None:
                        candidates[key] = service
        return {key for key, service in candidates.items()
                if selectors.labels_match(selector_of(service) or {}, labels)}

    def _pod_added(self, pod: dict[str, Any]) -> None:
        for key in self.services_for(pod):
            self.controller.enqueue(key)

    def _pod_updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        # The index lookup first: most pods belong to no Service, and then what changed
        # about them (a status write, thousands a second) does not matter.
        keys = self.services_for(new)
        if objects.labels_of(old) != objects.labels_of(new):
            keys |= self.services_for(old)
        if not keys or _relevant(old) == _relevant(new):
            return
        for key in keys:
            self.controller.enqueue(key)

    def _leftover_check(self, endpoints: dict[str, Any]) -> None:
        """At start-up, Endpoints whose Service is gone are looked at (and deleted).

        Only the initial list counts, as in kube's `checkLeftoverEndpoints`: Endpoints a
        user creates later without a Service are theirs to keep.
        """
        assert self._endpoints is not None
        if not self._endpoints.has_synced:
            self.controller.enqueue(objects.object_key(endpoints))

    def _endpoints_deleted(self, endpoints: dict[str, Any]) -> None:
        """Someone deleted a Service's Endpoints: make them again if the Service selects."""
        self.controller.enqueue(objects.object_key(endpoints))

    # -- reconcile ----------------------------------------------------------------------------

    async def reconcile(self, key: str) -> reconciling.Result | None:
        assert self._services is not None and self._endpoints is not None
        namespace, name = objects.split_key(key)
        service = self._services.get(key)
        current = self._endpoints.get(key)
        if service is None or objects.is_terminating(service):
            if current is not None:
                try:
                    await self.client.delete("endpoints", name, namespace)
                except errors.NotFound:
                    pass
            return None
        selector = selector_of(service)
        if selector is None:
            return None  # no selector: the user manages these Endpoints
        subsets = desired_subsets(service, self._selected_pods(namespace, selector))
        labels = desired_labels(service)
        if current is not None and (current.get("subsets") or []) == subsets \
                and objects.labels_of(current) == labels:
            return None
        if current is None:
            endpoints: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints",
                                         "metadata": {"name": name, "namespace": namespace}}
        else:
            endpoints = objects.clone(current)
        endpoints["metadata"]["labels"] = labels
        if subsets:
            endpoints["subsets"] = subsets
        else:
            endpoints.pop("subsets", None)
        if current is None:
            try:
                await self.client.create(endpoints)
            except errors.AlreadyExists:
                # Created meanwhile (our cache is behind): retry against the fresh object.
                raise errors.Conflict("endpoints", name, "created concurrently") from None
        else:
            await self.client.update(endpoints)
        return None

    def _selected_pods(self, namespace: str, selector: dict[str, str]) -> list[dict[str, Any]]:
        """Pods in `namespace` matching `selector`, starting from its rarest label pair."""
        pods = self._pods
        assert pods is not None
        if not selector:
            return pods.by_index(informing.NAMESPACE_INDEX, namespace)
        pairs = [f"{namespace}/{k}={v}" for k, v in selector.items()]
        rarest = min(pairs, key=lambda p: len(pods.index_keys(LABEL_INDEX, p)))
        return [pod for pod in pods.by_index(LABEL_INDEX, rarest)
                if selectors.labels_match(selector, objects.labels_of(pod))]

