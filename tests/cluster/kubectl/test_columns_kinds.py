"""Table cells of services, endpoints, nodes, workloads, events and custom kinds."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.api import objects
from cluster.api.resources import BUILTIN_RESOURCES, ResourceType
from cluster.kubectl import columns

NOW = 1_700_000_000.0
CREATED = objects.format_time(NOW - 90)
TYPES = {rt.key: rt for rt in BUILTIN_RESOURCES}


def cells(key: str, obj: dict[str, Any], wide: bool = False) -> dict[str, Any]:
    return {c.name: c.cell(obj, NOW) for c in columns.columns_for(TYPES[key])
            if wide or c.priority == 0}


def service(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "redis", "creationTimestamp": CREATED},
            "spec": spec, "status": status or {}}


@pytest.mark.parametrize("spec,status,expected", [
    pytest.param({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"],
                  "ports": [{"port": 6379, "protocol": "TCP"}]}, None,
                 ("ClusterIP", "None", "<none>", "6379/TCP"), id="headless"),
    pytest.param({"type": "ClusterIP", "clusterIPs": ["10.96.0.10"],
                  "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
                 None, ("ClusterIP", "10.96.0.10", "<none>", "53/UDP,53/TCP"), id="two-ports"),
    pytest.param({"type": "NodePort", "clusterIPs": ["10.96.0.11"], "externalIPs": ["1.2.3.4"],
                  "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}, None,
                 ("NodePort", "10.96.0.11", "1.2.3.4", "80:30080/TCP"), id="node-port"),
    pytest.param({"type": "LoadBalancer", "clusterIPs": ["10.96.0.12"], "ports": []}, None,
                 ("LoadBalancer", "10.96.0.12", "<pending>", "<none>"), id="lb-pending"),
    pytest.param({"type": "LoadBalancer", "clusterIPs": ["10.96.0.12"], "ports": []},
                 {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}]}},
                 ("LoadBalancer", "10.96.0.12", "5.6.7.8", "<none>"), id="lb-ready"),
    pytest.param({"type": "ExternalName", "externalName": "db.example.com"}, None,
                 ("ExternalName", "<none>", "db.example.com", "<none>"), id="external-name"),
])
def test_service_cells(spec: dict[str, Any], status: dict[str, Any] | None,
                       expected: tuple[str, ...]) -> None:
    """TYPE, CLUSTER-IP, EXTERNAL-IP and PORT(S) follow the service printer."""
    got = cells("services", service(spec, status))
    assert (got["Type"], got["Cluster-IP"], got["External-IP"], got["Port(s)"]) == expected
    assert got["Age"] == "90s"


def endpoints(*subsets: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "redis"}, "subsets": list(subsets)}


@pytest.mark.parametrize("obj,expected", [
    pytest.param(endpoints(), "<none>", id="no-subsets"),
    pytest.param(endpoints({"addresses": [{"ip": "10.0.0.1"}],
                            "ports": [{"port": 6379, "name": "redis"}]}),
                 "10.0.0.1:6379", id="one"),
    pytest.param(endpoints({"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 6)],
                            "ports": [{"port": 6379}]}),
                 "10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379 + 2 more...", id="more"),
    pytest.param(endpoints({"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}),
                 "10.0.0.1,10.0.0.2", id="headless-without-ports"),
    pytest.param(endpoints({"notReadyAddresses": [{"ip": "10.0.0.1"}],
                            "ports": [{"port": 6379}]}), "<none>", id="only-not-ready"),
])
def test_endpoints_cell(obj: dict[str, Any], expected: str) -> None:
    """ENDPOINTS lists three host:port pairs, then counts the rest."""
    assert columns.format_endpoints(obj) == expected


def node(conditions: list[dict[str, Any]], *, unschedulable: bool = False,
         labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "node-1", "labels": labels or {},
                         "creationTimestamp": CREATED},
            "spec": {"unschedulable": unschedulable},
            "status": {"conditions": conditions,
                       "nodeInfo": {"kubeletVersion": "v1.32.0"},
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.2"}]}}


@pytest.mark.parametrize("obj,status,roles", [
    pytest.param(node([{"type": "Ready", "status": "True"}]), "Ready", "<none>", id="ready"),
    pytest.param(node([{"type": "Ready", "status": "Unknown"}]), "NotReady", "<none>",
                 id="not-ready"),
    pytest.param(node([]), "Unknown", "<none>", id="no-conditions"),
    pytest.param(node([{"type": "Ready", "status": "True"}], unschedulable=True),
                 "Ready,SchedulingDisabled", "<none>", id="cordoned"),
    pytest.param(node([{"type": "Ready", "status": "True"}],
                      labels={"node-role.kubernetes.io/control-plane": "",
                              "kubernetes.io/role": "worker"}),
                 "Ready", "control-plane,worker", id="roles"),
])
def test_node_cells(obj: dict[str, Any], status: str, roles: str) -> None:
    """STATUS joins readiness and cordoning; ROLES come from role labels."""
    got = cells("nodes", obj, wide=True)
    assert (got["Status"], got["Roles"], got["Version"]) == (status, roles, "v1.32.0")
    assert (got["Internal-IP"], got["External-IP"], got["OS-Image"]) == \
        ("127.0.0.2", "<none>", "<unknown>")


def test_workload_cells() -> None:
    """Deployments, ReplicaSets and StatefulSets count replicas the way kubectl does."""
    template = {"spec": {"containers": [{"name": "redis", "image": "redis:7"},
                                        {"name": "log", "image": "busybox"}]}}
    meta = {"name": "web", "creationTimestamp": CREATED}
    deploy = {"metadata": meta, "spec": {"replicas": 3, "template": template,
                                         "selector": {"matchLabels": {"app": "web"}}},
              "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}}
    assert cells("deployments.apps", deploy, wide=True) == {
        "Name": "web", "Ready": "1/3", "Up-to-date": 2, "Available": 1, "Age": "90s",
        "Containers": "redis,log", "Images": "redis:7,busybox", "Selector": "app=web"}
    rs = {"metadata": meta, "spec": {"replicas": 2}, "status": {"replicas": 2}}
    assert cells("replicasets.apps", rs) == {"Name": "web", "Desired": 2, "Current": 2,
                                             "Ready": 0, "Age": "90s"}
    sts = {"metadata": meta, "spec": {"replicas": 2}, "status": {"readyReplicas": 2}}
    assert cells("statefulsets.apps", sts) == {"Name": "web", "Ready": "2/2", "Age": "90s"}


def test_event_cells() -> None:
    """Events show LAST SEEN (with repeat counts) and `kind/name` for the object."""
    event = {"metadata": {"name": "redis.1"}, "type": "Warning", "reason": "BackOff",
             "involvedObject": {"kind": "Pod", "name": "redis"},
             "message": "Back-off restarting failed container\n",
             "firstTimestamp": objects.format_time(NOW - 600),
             "lastTimestamp": objects.format_time(NOW - 5), "count": 7}
    assert cells("events", event) == {"Last Seen": "5s", "Type": "Warning",
                                      "Reason": "BackOff", "Object": "pod/redis",
                                      "Message": "Back-off restarting failed container"}
    assert cells("events", event, wide=True)["Count"] == 7


def test_config_and_storage_cells() -> None:
    """ConfigMaps and Secrets count data keys; PVCs show capacity only once bound."""
    cm = {"metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells("configmaps", cm)["Data"] == 3
    secret = {"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}}
    assert (cells("secrets", secret)["Type"], cells("secrets", secret)["Data"]) == ("Opaque", 1)
    pending = {"metadata": {"name": "data"}, "spec": {"storageClassName": "standard"},
               "status": {"phase": "Pending"}}
    assert [c.name.upper() for c in columns.columns_for(TYPES["persistentvolumeclaims"])
            if c.priority == 0] == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES",
                                    "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "AGE"]
    got = cells("persistentvolumeclaims", pending)
    assert (got["Status"], got["Capacity"], got["StorageClass"],
            got["VolumeAttributesClass"]) == ("Pending", "", "standard", "<unset>")
    bound = {"metadata": {"name": "data"}, "spec": {"volumeName": "pv-1"},
             "status": {"phase": "Bound", "capacity": {"storage": "1Gi"},
                        "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}}
    got = cells("persistentvolumeclaims", bound)
    assert (got["Volume"], got["Capacity"], got["Access Modes"]) == ("pv-1", "1Gi", "RWO,RWX")


def crd_type(printer_columns: tuple[dict[str, Any], ...]) -> ResourceType:
    return ResourceType("cache.example.com", "v1alpha1", "Memcached", "memcacheds",
                        "memcached", printer_columns=printer_columns, custom=True)


def test_custom_kind_without_printer_columns_shows_name_and_age() -> None:
    """A CRD that declares no columns gets NAME and AGE."""
    assert [c.name for c in columns.columns_for(crd_type(()))] == ["Name", "Age"]


def test_custom_kind_printer_columns() -> None:
    """additionalPrinterColumns are evaluated by JSONPath and typed; missing cells are empty."""
    rt = crd_type((
        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Nodes", "type": "string", "jsonPath": ".status.nodes", "priority": 1},
        {"name": "Ready", "type": "string",
         "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ))
    obj = {"metadata": {"name": "m", "creationTimestamp": CREATED}, "spec": {"size": 3},
           "status": {"nodes": ["a", "b"],
                      "conditions": [{"type": "Ready", "status": "True"}]}}
    got = {c.name: c.cell(obj, NOW) for c in columns.columns_for(rt)}
    assert got == {"Name": "m", "Size": 3, "Phase": None, "Nodes": '["a","b"]',
                   "Ready": "True", "Age": "90s"}
    assert [c.priority for c in columns.columns_for(rt)] == [0, 0, 0, 1, 0, 0]


def test_all_namespaced_builtins_have_columns() -> None:
    """Every built-in kind has a NAME column marked as the name column."""
    for rt in BUILTIN_RESOURCES:
        cols = columns.columns_for(rt)
        assert any(c.format == "name" for c in cols), rt.key
