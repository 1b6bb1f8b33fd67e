"""EndpointSlices served as read-only views of Endpoints, so `kubectl describe service`
(which reads slices since 1.32) shows a Service's endpoints."""

from __future__ import annotations

from typing import Any

from http_server_helpers import TABLE_ACCEPT, serving

from cluster.apiserver import APIServer

SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"


def _service_and_endpoints(api: APIServer, name: str, *, headless: bool = False) -> None:
    spec: dict[str, Any] = {"selector": {"app": name},
                            "ports": [{"name": "redis", "port": 6379}]}
    if headless:
        spec["clusterIP"] = "None"
    api.create({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "labels": {"team": "db"}}, "spec": spec}, "default")
    api.create({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name},
                "subsets": [{"addresses": [{"ip": "10.0.0.1", "nodeName": "n1",
                                            "targetRef": {"kind": "Pod", "name": "a"}}],
                             "notReadyAddresses": [{"ip": "10.0.0.2"}],
                             "ports": [{"name": "redis", "port": 6379, "protocol": "TCP"}]}]},
               "default")


async def test_slices_mirror_endpoints_by_service_name() -> None:
    """A list by kubernetes.io/service-name gives the Service's slice: ready and not-ready
    endpoints with their conditions, the ports, the labels and owner kube sets."""
    async with serving() as s:
        _service_and_endpoints(s.api, "db", headless=True)
        _service_and_endpoints(s.api, "other")
        reply = await s.call("GET", SLICES,
                             params={"labelSelector": "kubernetes.io/service-name=db"})
        assert reply.status == 200 and reply.body["kind"] == "EndpointSliceList"
        [one] = reply.body["items"]
        assert one["addressType"] == "IPv4" and one["metadata"]["name"].startswith("db-")
        assert one["metadata"]["labels"] == {
            "team": "db", "kubernetes.io/service-name": "db",
            "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            "service.kubernetes.io/headless": ""}
        assert one["metadata"]["ownerReferences"][0]["uid"] == \
            s.api.get("services", "db", "default")["metadata"]["uid"]
        assert [(e["addresses"], e["conditions"]["ready"]) for e in one["endpoints"]] == [
            (["10.0.0.1"], True), (["10.0.0.2"], False)]
        assert one["endpoints"][0]["nodeName"] == "n1"
        assert one["ports"] == [{"name": "redis", "port": 6379, "protocol": "TCP"}]
        again = await s.call("GET", f"{SLICES}/{one['metadata']['name']}")
        assert again.status == 200 and again.body == one


async def test_slices_table_missing_name_and_read_only() -> None:
    """The Table has kube's EndpointSlice columns; an unknown name is a 404 naming the
    resource; writes and watches are kube's 405."""
    async with serving() as s:
        _service_and_endpoints(s.api, "db")
        table = await s.call("GET", SLICES, headers={"Accept": TABLE_ACCEPT})
        assert [c["name"] for c in table.body["columnDefinitions"]] == [
            "Name", "AddressType", "Ports", "Endpoints", "Age"]
        assert table.body["rows"][0]["cells"][1:4] == ["IPv4", "6379", "10.0.0.1,10.0.0.2"]
        missing = await s.call("GET", SLICES + "/nope")
        assert missing.status == 404
        assert missing.body["message"] == 'endpointslices.discovery.k8s.io "nope" not found'
        assert (await s.call("POST", SLICES, {"kind": "EndpointSlice"})).status == 405
        assert (await s.call("GET", SLICES, params={"watch": "true"})).status == 405
        legacy = await s.call("GET", "/apis/discovery.k8s.io/v1")
        assert [(r["name"], r["verbs"]) for r in legacy.body["resources"]] == [
            ("endpointslices", ["get", "list"])]
