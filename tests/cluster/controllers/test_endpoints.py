"""Endpoints controller: ready and not-ready addresses, ports, hostnames, lifecycle."""

from __future__ import annotations

from typing import Any, AsyncIterator

import pytest

from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.controllers import endpoints
from cluster.informer import InformerSettings
from tests.cluster.controllers.workload_sim import peek, set_pod_status

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

FAST = endpoints.EndpointsSettings(
    informer=InformerSettings(retry_initial_delay=0.001, retry_max_delay=0.01))


def service(name: str = "web", *, selector: dict[str, str] | None = None,
            ports: list[dict[str, Any]] | None = None, headless: bool = False,
            namespace: str = "default") -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if selector is not None:
        spec["selector"] = selector
    if ports is not None:
        spec["ports"] = ports
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": {"team": "a"}},
            "spec": spec}


def pod(name: str, *, labels: dict[str, str] | None = None, namespace: str = "default",
        ports: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "redis"}
    if ports:
        container["ports"] = ports
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": labels if labels is not None else {"app": "web"}},
            "spec": {"containers": [container], **spec}}


HTTP = [{"name": "http", "port": 80, "targetPort": 8080}]


@pytest.fixture
def api() -> APIServer:
    return APIServer()


@pytest.fixture
def client(api: APIServer) -> InProcessClient:
    return InProcessClient(api)


@pytest.fixture
async def controller(client: InProcessClient) -> AsyncIterator[endpoints.EndpointsController]:
    ctrl = endpoints.EndpointsController(client, settings=FAST)
    await ctrl.start()
    yield ctrl
    await ctrl.stop()


def subsets(api: APIServer, name: str = "web", namespace: str = "default") -> list[dict[str, Any]] | None:
    found = peek(api, "endpoints", name, namespace)
    return None if found is None else found.get("subsets", [])


def names(subset_list: list[dict[str, Any]] | None, key: str) -> list[str]:
    return sorted(a["targetRef"]["name"] for s in subset_list or () for a in s.get(key, ()))


@pytest.mark.usefixtures("controller")
async def test_ready_and_not_ready_addresses(api, client, wait_for) -> None:
    """Ready pods are addresses, IP-but-unready pods notReadyAddresses, IP-less pods absent."""
    for name in ("ready", "unready", "no-ip"):
        await client.create(pod(name, nodeName="node-1"))
    await set_pod_status(client, "ready", ip="10.0.0.1")
    await set_pod_status(client, "unready", ip="10.0.0.2", ready=False)
    await client.create(service(selector={"app": "web"}, ports=HTTP))
    await wait_for(lambda: names(subsets(api), "notReadyAddresses") == ["unready"]
                   and names(subsets(api), "addresses") == ["ready"])
    uid = peek(api, "pods", "ready")["metadata"]["uid"]
    assert subsets(api) == [{
        "addresses": [{"ip": "10.0.0.1", "nodeName": "node-1",
                       "targetRef": {"kind": "Pod", "namespace": "default", "name": "ready",
                                     "uid": uid}}],
        "notReadyAddresses": [{"ip": "10.0.0.2", "nodeName": "node-1",
                               "targetRef": {"kind": "Pod", "namespace": "default",
                                             "name": "unready",
                                             "uid": peek(api, "pods", "unready")["metadata"]["uid"]}}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]
    assert peek(api, "endpoints", "web")["metadata"]["labels"] == {"team": "a"}
    assert not peek(api, "endpoints", "web")["metadata"].get("ownerReferences")


@pytest.mark.usefixtures("controller")
async def test_readiness_false_moves_pod_out_of_addresses(api, client, wait_for) -> None:
    """A pod whose Ready condition turns False leaves `addresses` for `notReadyAddresses`."""
    await client.create(pod("a"))
    await set_pod_status(client, "a", ip="10.0.0.1")
    await client.create(service(selector={"app": "web"}, ports=HTTP))
    await wait_for(lambda: names(subsets(api), "addresses") == ["a"])
    await set_pod_status(client, "a", ip="10.0.0.1", ready=False)
    await wait_for(lambda: names(subsets(api), "addresses") == []
                   and names(subsets(api), "notReadyAddresses") == ["a"])


@pytest.mark.usefixtures("controller")
async def test_terminating_and_relabelled_pods_leave(api, client, wait_for) -> None:
    """A terminating pod and a pod relabelled away drop out; subsets go when none are left."""
    await client.create(pod("a", nodeName="node-1"))
    await client.create(pod("b"))
    await set_pod_status(client, "a", ip="10.0.0.1")
    await set_pod_status(client, "b", ip="10.0.0.2")
    await client.create(service(selector={"app": "web"}, ports=HTTP))
    await wait_for(lambda: names(subsets(api), "addresses") == ["a", "b"])
    await client.delete("pods", "a")  # bound: stays Terminating, waiting for its kubelet
    await wait_for(lambda: names(subsets(api), "addresses") == ["b"])
    assert peek(api, "pods", "a") is not None
    await client.patch("pods", "b", {"metadata": {"labels": {"app": "other"}}})
    await wait_for(lambda: subsets(api) == [])
    assert "subsets" not in peek(api, "endpoints", "web")


@pytest.mark.usefixtures("controller")
async def test_named_target_port(api, client, wait_for) -> None:
    """A named targetPort resolves through each pod's container ports; pods without it are left out."""
    await client.create(pod("named", ports=[{"name": "redis", "containerPort": 6379}]))
    await client.create(pod("unnamed", ports=[{"name": "other", "containerPort": 7000}]))
    await set_pod_status(client, "named", ip="10.0.0.1")
    await set_pod_status(client, "unnamed", ip="10.0.0.2")
    await client.create(service(selector={"app": "web"},
                                ports=[{"name": "redis", "port": 6379, "targetPort": "redis"}]))
    await wait_for(lambda: bool(subsets(api)))
    [subset] = subsets(api)
    assert [a["targetRef"]["name"] for a in subset["addresses"]] == ["named"]
    assert subset["ports"] == [{"name": "redis", "port": 6379, "protocol": "TCP"}]


@pytest.mark.usefixtures("controller")
async def test_headless_service_hostnames(api, client, wait_for) -> None:
    """Pods whose subdomain is the headless service get a hostname; others do not."""
    await client.create(pod("redis-0", hostname="redis-0", subdomain="redis"))
    await client.create(pod("loner", hostname="loner", subdomain="elsewhere"))
    await set_pod_status(client, "redis-0", ip="10.0.0.1")
    await set_pod_status(client, "loner", ip="10.0.0.2")
    await client.create(service("redis", selector={"app": "web"}, headless=True))
    await wait_for(lambda: len((subsets(api, "redis") or [{}])[0].get("addresses", ())) == 2)
    [subset] = subsets(api, "redis")
    assert "ports" not in subset
    hostnames = {a["targetRef"]["name"]: a.get("hostname") for a in subset["addresses"]}
    assert hostnames == {"redis-0": "redis-0", "loner": None}
    assert peek(api, "endpoints", "redis")["metadata"]["labels"][endpoints.HEADLESS_LABEL] == ""


@pytest.mark.usefixtures("controller")
async def test_service_deletion_removes_endpoints(api, client, wait_for) -> None:
    """Deleting the Service deletes its Endpoints; selector-less Services' Endpoints are left alone."""
    await client.create(service(selector={"app": "web"}, ports=HTTP))
    await wait_for(lambda: peek(api, "endpoints", "web") is not None)
    await client.delete("services", "web")
    await wait_for(lambda: peek(api, "endpoints", "web") is None)

    await client.create(service("manual", ports=HTTP))
    manual = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "manual"},
              "subsets": [{"addresses": [{"ip": "192.168.1.1"}], "ports": [{"name": "http", "port": 80}]}]}
    await client.create(manual)
    await client.create(service("other", selector={"app": "web"}, ports=HTTP))
    await wait_for(lambda: peek(api, "endpoints", "other") is not None)
    assert subsets(api, "manual")[0]["addresses"] == [{"ip": "192.168.1.1"}]


async def test_pod_event_resyncs_only_matching_services(api, client, controller, wait_for) -> None:
    """The selector index maps a pod to exactly the Services in its namespace that select it."""
    await client.create(service("web", selector={"app": "web"}, ports=HTTP))
    await client.create(service("web-tier", selector={"app": "web", "tier": "fe"}, ports=HTTP))
    await client.create(service("db", selector={"app": "db"}, ports=HTTP))
    await client.create(service("web", selector={"app": "web"}, ports=HTTP, namespace="kube-system"))
    await wait_for(lambda: peek(api, "endpoints", "web", "kube-system") is not None)
    assert controller.services_for(pod("p", labels={"app": "web", "tier": "fe"})) == {
        "default/web", "default/web-tier"}
    assert controller.services_for(pod("p", labels={"app": "web"})) == {"default/web"}
    assert controller.services_for(pod("p", labels={"app": "cache"})) == set()


def test_repack_groups_addresses_by_port_set() -> None:
    """Addresses resolving to different port sets land in different subsets, as kube repacks them."""
    svc = service(selector={"app": "web"},
                  ports=[{"name": "a", "port": 1, "targetPort": "a"},
                         {"name": "b", "port": 2, "targetPort": 2}])
    both = pod("both", ports=[{"name": "a", "containerPort": 10}])
    only_b = pod("only-b")
    for p, ip in ((both, "10.0.0.1"), (only_b, "10.0.0.2")):
        p["metadata"]["uid"] = p["metadata"]["name"]
        p["status"] = {"podIP": ip, "phase": "Running",
                       "conditions": [{"type": "Ready", "status": "True"}]}
    result = endpoints.desired_subsets(svc, [only_b, both])
    assert result == [
        {"addresses": [endpoints.endpoint_address(both, svc)],
         "ports": [{"name": "a", "port": 10, "protocol": "TCP"}]},
        {"addresses": [endpoints.endpoint_address(both, svc), endpoints.endpoint_address(only_b, svc)],
         "ports": [{"name": "b", "port": 2, "protocol": "TCP"}]},
    ]


@pytest.mark.parametrize("phase, included", [
    pytest.param("Running", True, id="running"),
    pytest.param("Succeeded", False, id="succeeded"),
    pytest.param("Failed", False, id="failed"),
])
def test_finished_pods_are_excluded(phase: str, included: bool) -> None:
    """Pods in a terminal phase are never endpoints."""
    p = pod("p")
    p["status"] = {"podIP": "10.0.0.1", "phase": phase}
    assert endpoints.should_include(p, include_terminating=False) is included


async def test_leftover_endpoints_removed_at_startup(api, client, wait_for) -> None:
    """Endpoints whose Service vanished while the controller was down are deleted when it starts."""
    await client.create({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "gone"}})
    ctrl = endpoints.EndpointsController(client, settings=FAST)
    await ctrl.start()
    try:
        await wait_for(lambda: peek(api, "endpoints", "gone") is None)
    finally:
        await ctrl.stop()


@pytest.mark.usefixtures("controller")
async def test_deleted_endpoints_are_recreated(api, client, wait_for) -> None:
    """Deleting a selector Service's Endpoints brings them back."""
    await client.create(pod("a"))
    await set_pod_status(client, "a", ip="10.0.0.1")
    await client.create(service(selector={"app": "web"}, ports=HTTP))
    await wait_for(lambda: names(subsets(api), "addresses") == ["a"])
    first = peek(api, "endpoints", "web")["metadata"]["uid"]
    await client.delete("endpoints", "web")
    await wait_for(lambda: (peek(api, "endpoints", "web") or {"metadata": {"uid": first}})
                   ["metadata"]["uid"] != first)
    assert names(subsets(api), "addresses") == ["a"]
