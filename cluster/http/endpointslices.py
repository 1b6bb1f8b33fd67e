"""`discovery.k8s.io/v1` EndpointSlices, read-only, derived from the engine's Endpoints.

kubectl 1.32's `describe service` reads a Service's endpoints from its EndpointSlices
(`?labelSelector=kubernetes.io/service-name=<svc>`), no longer from Endpoints; against a
server without them it prints `Endpoints: <none>` for a Service with ready pods. The
engine keeps Endpoints only, so this module serves each Endpoints object as the slices
kube-controller-manager's EndpointSlice controller would keep for it: one per port set
(an Endpoints subset), labelled with the service name, owned by the Service, ready and
not-ready addresses as endpoints with their conditions. Names and uids are derived
from the Endpoints' uid so a slice keeps its name across reads, and its resourceVersion
is the Endpoints' so a client sees it change when the endpoints do.

Only `get` and `list` are served (discovery says so): the slices are views, not objects
anyone writes, and watching them would need a watch of Endpoints translated on the fly.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from aiohttp import web

from cluster.api import errors, names, selectors
from cluster.api.resources import ResourceRegistry, ResourceType
from cluster.http import statuses, tables
from cluster.http.query import query_bool
from cluster.http.rest import ServerContext, parse_target
from cluster.kubectl import columns as cols

ENDPOINT_SLICE = ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices",
                              "endpointslice", namespaced=True, has_status=False)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
HEADLESS_LABEL = "service.kubernetes.io/headless"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"
"""Who manages the slices of a Service with a selector."""
MIRRORING_CONTROLLER = "endpointslicemirroring-controller.k8s.io"
"""Who manages the slices mirrored from the Endpoints of a Service without one."""

_UID_NAMESPACE = uuid.UUID("6f1c1d55-6b5e-4c1e-9a55-8a3d6c0e2b11")


def serves(group: str, version: str) -> bool:
    """True when `/apis/<group>/<version>/...` is the EndpointSlice group-version."""
    return (group, version) == (ENDPOINT_SLICE.group, ENDPOINT_SLICE.version)


# -- the derivation ------------------------------------------------------------------------

def _suffix(seed: str) -> str:
    """A generateName suffix that is the same on every read of the same slice."""
    return names.generate_name_suffix(random.Random(seed))


def _endpoint(address: dict[str, Any], ready: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"addresses": [address.get("ip", "")],
                             "conditions": {"ready": ready, "serving": ready,
                                            "terminating": False}}
    if address.get("hostname"):
        entry["hostname"] = address["hostname"]
    if address.get("targetRef"):
        entry["targetRef"] = address["targetRef"]
    if address.get("nodeName"):
        entry["nodeName"] = address["nodeName"]
    return entry


def _port(port: dict[str, Any]) -> dict[str, Any]:
    """A slice's port: name, port and protocol always set, as the controller writes them
    (they are pointers in Go, and kubectl's `describe service` dereferences them)."""
    entry = {"name": port.get("name") or "", "port": port.get("port"),
             "protocol": port.get("protocol") or "TCP"}
    if port.get("appProtocol"):
        entry["appProtocol"] = port["appProtocol"]
    return entry


def slices_of(endpoints: dict[str, Any], service: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The EndpointSlices of one Endpoints object (and its Service, when it exists):
    one per subset, or one empty slice when no address is known."""
    m = endpoints["metadata"]
    name, namespace, uid = m["name"], m.get("namespace", ""), m.get("uid", "")
    spec = (service or {}).get("spec") or {}
    labels = dict(((service or {}).get("metadata") or {}).get("labels") or {})
    labels.update({MANAGED_BY_LABEL: CONTROLLER if spec.get("selector") else MIRRORING_CONTROLLER,
                   SERVICE_NAME_LABEL: name})
    if spec.get("clusterIP") == "None":
        labels[HEADLESS_LABEL] = ""
    subsets = list(endpoints.get("subsets") or ()) or [{}]
    found = []
    for index, subset in enumerate(subsets):
        meta: dict[str, Any] = {
            "name": f"{name[:57]}-{_suffix(f'{uid}/{index}')}",
            "generateName": f"{name[:57]}-",
            "namespace": namespace,
            "uid": str(uuid.uuid5(_UID_NAMESPACE, f"{uid}/{index}")),
            "resourceVersion": m.get("resourceVersion", ""),
            "generation": 1,
            "creationTimestamp": m.get("creationTimestamp"),
            "labels": labels,
        }
        if service is not None:
            meta["ownerReferences"] = [{
                "apiVersion": "v1", "kind": "Service", "name": name,
                "uid": service["metadata"].get("uid", ""),
                "controller": True, "blockOwnerDeletion": True}]
        found.append({
            "kind": ENDPOINT_SLICE.kind, "apiVersion": ENDPOINT_SLICE.api_version,
            "metadata": meta,
            "addressType": "IPv4",
            "endpoints": [_endpoint(a, True) for a in subset.get("addresses") or ()]
            + [_endpoint(a, False) for a in subset.get("notReadyAddresses") or ()],
            "ports": [_port(p) for p in subset.get("ports") or ()],
        })
    return found


def list_slices(ctx: ServerContext, namespace: str | None, *, label_selector: str | None = None,
                field_selector: str | None = None) -> list[dict[str, Any]]:
    """Every slice of the Endpoints in `namespace` (None: all), filtered as a list is."""
    labels = selectors.parse_label_selector(label_selector)
    fields = selectors.parse_field_selector(field_selector)
    found = []
    for ep in ctx.api.list("endpoints", namespace)[0]:
        m = ep["metadata"]
        service = ctx.api.store.try_get("services", m.get("namespace", ""), m["name"])
        for s in slices_of(ep, service):
            if labels.matches(s["metadata"]["labels"]) and fields.matches(s):
                found.append(s)
    return found


# -- the table -----------------------------------------------------------------------------

def _first_three(values: list[str]) -> str:
    if not values:
        return "<unset>"
    shown = ",".join(values[:3])
    return shown if len(values) <= 3 else f"{shown} + {len(values) - 3} more..."


def _ports_cell(obj: dict[str, Any], now: float) -> str:
    return _first_three([str(p["port"]) if "port" in p else "<unset>"
                         for p in obj.get("ports") or ()])


def _endpoints_cell(obj: dict[str, Any], now: float) -> str:
    return _first_three([a for e in obj.get("endpoints") or () for a in e.get("addresses") or ()])


COLUMNS: tuple[cols.Column, ...] = (
    cols.NAME,
    cols.Column("AddressType", cols.ColumnType.STRING, 0, "Type of address carried by this EndpointSlice.",
                lambda o, now: o.get("addressType", "")),
    cols.Column("Ports", cols.ColumnType.STRING, 0, "Ports exposed by each endpoint in this slice.",
                _ports_cell),
    cols.Column("Endpoints", cols.ColumnType.STRING, 0, "Endpoints in this slice.",
                _endpoints_cell),
    cols.AGE,
)
"""kube's EndpointSlice printer: NAME ADDRESSTYPE PORTS ENDPOINTS AGE."""


def _table(request: web.Request, ctx: ServerContext, slices: list[dict[str, Any]],
           resource_version: str) -> dict[str, Any]:
    include = tables.include_object_option(request.query.get("includeObject"))
    now = ctx.clock()
    return {"kind": "Table", "apiVersion": tables.API_VERSION,
            "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": tables.column_definitions(COLUMNS),
            "rows": [tables.table_row(ENDPOINT_SLICE, COLUMNS, s, now=now, include=include)
                     for s in slices]}


# -- the endpoints -------------------------------------------------------------------------

async def handle(request: web.Request, ctx: ServerContext, group: str, version: str,
                 tail: str) -> web.Response:
    """GET a slice or a list of them (as a Table when asked); any other verb, or a
    watch, is kube's 405."""
    target = parse_target(ResourceRegistry(builtins=(ENDPOINT_SLICE,)), group, version, tail)
    if request.method not in ("GET", "HEAD") or target.subresource is not None \
            or query_bool(request.query, "watch"):
        raise statuses.method_not_allowed()
    as_table = tables.wants_table(request.headers.get("Accept", ""))
    revision = str(ctx.api.revision)
    if target.name is None:
        found = list_slices(ctx, target.namespace,
                            label_selector=request.query.get("labelSelector") or None,
                            field_selector=request.query.get("fieldSelector") or None)
        if as_table:
            return statuses.json_response(_table(request, ctx, found, revision))
        return statuses.json_response({
            "kind": "EndpointSliceList", "apiVersion": ENDPOINT_SLICE.api_version,
            "metadata": {"resourceVersion": revision}, "items": found})
    one = next((s for s in list_slices(ctx, target.namespace)
                if s["metadata"]["name"] == target.name), None)
    if one is None:
        raise errors.NotFound(ENDPOINT_SLICE.key, target.name)
    if as_table:
        return statuses.json_response(_table(request, ctx, [one],
                                             one["metadata"]["resourceVersion"]))
    return statuses.json_response(one)
