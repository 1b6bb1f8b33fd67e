"""Server-side Tables: columns, cells, row objects and Accept negotiation, as kube serves them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cluster.api import objects
from cluster.api.errors import BadRequest
from cluster.api.resources import BUILTIN_RESOURCES, ResourceType
from cluster.http import tables

NOW = 1_700_000_000.0
CREATED = objects.format_time(NOW - 300)
KUBECTL_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                  "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
BUILTIN = {rt.key: rt for rt in BUILTIN_RESOURCES}


def meta(name: str, namespace: str | None = "default", **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "creationTimestamp": CREATED, "resourceVersion": "7",
                         "uid": f"uid-{name}", **extra}
    if namespace:
        m["namespace"] = namespace
    return m


def running_pod(name: str = "redis-0") -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": meta(name, labels={"app": "redis"}),
        "spec": {"nodeName": "node-1", "containers": [{"name": "redis", "image": "redis"}]},
        "status": {
            "phase": "Running", "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{
                "name": "redis", "ready": True, "restartCount": 2,
                "state": {"running": {"startedAt": CREATED}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                             "finishedAt": objects.format_time(NOW - 12)}},
            }],
        },
    }


def by_name(t: dict[str, Any], row: int = 0) -> dict[str, Any]:
    names = [c["name"] for c in t["columnDefinitions"]]
    return dict(zip(names, t["rows"][row]["cells"]))


def test_pod_table_has_kubes_columns_cells_and_metadata_object() -> None:
    """Pods: NAME..AGE plus wide IP/NODE columns, kube's cell text, PartialObjectMetadata rows."""
    t = tables.table(BUILTIN["pods"], [running_pod()], now=NOW, resource_version="42")
    assert (t["kind"], t["apiVersion"], t["metadata"]) == (
        "Table", "meta.k8s.io/v1", {"resourceVersion": "42"})
    defs = t["columnDefinitions"]
    assert [(c["name"], c["priority"]) for c in defs] == [
        ("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1),
        ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    assert defs[0]["format"] == "name" and defs[0]["type"] == "string"
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in defs)
    assert by_name(t) == {"Name": "redis-0", "Ready": "1/1", "Status": "Running",
                          "Restarts": "2 (12s ago)", "Age": "5m", "IP": "10.244.1.5",
                          "Node": "node-1", "Nominated Node": "<none>",
                          "Readiness Gates": "<none>"}
    row_object = t["rows"][0]["object"]
    assert row_object == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                          "metadata": running_pod()["metadata"]}
    assert "conditions" not in t["rows"][0]


def test_unscheduled_pod_cells_say_none_as_kube_does() -> None:
    """A pending pod with no IP or node gets `<none>` strings, not empty cells."""
    pending = {"metadata": meta("web"), "spec": {"containers": [{"name": "c"}]},
               "status": {"phase": "Pending"}}
    got = by_name(tables.table(BUILTIN["pods"], [pending], now=NOW))
    assert (got["Status"], got["Restarts"], got["IP"], got["Node"]) == (
        "Pending", "0", "<none>", "<none>")


@pytest.mark.parametrize("phase,reason,message", [
    ("Succeeded", "Succeeded", "The pod has completed successfully."),
    ("Failed", "Failed", "The pod has failed."),
])
def test_finished_pod_rows_carry_the_completed_condition(phase: str, reason: str,
                                                         message: str) -> None:
    """Succeeded and Failed pods' rows are marked Completed, as kube's pod printer marks them."""
    done = {"metadata": meta("job"), "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": phase}}
    row = tables.table(BUILTIN["pods"], [done], now=NOW)["rows"][0]
    assert row["conditions"] == [{"type": "Completed", "status": "True", "reason": reason,
                                  "message": message}]


def test_node_table() -> None:
    """Nodes: STATUS, ROLES, AGE, VERSION, and wide INTERNAL-IP with priority 1."""
    node = {"metadata": meta("node-1", None, labels={
                "node-role.kubernetes.io/control-plane": ""}),
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0"}}}
    t = tables.table(BUILTIN["nodes"], [node], now=NOW)
    got = by_name(t)
    assert (got["Name"], got["Status"], got["Roles"], got["Age"], got["Version"],
            got["Internal-IP"], got["External-IP"]) == (
        "node-1", "Ready,SchedulingDisabled", "control-plane", "5m", "v1.32.0",
        "172.18.0.2", "<none>")
    priorities = {c["name"]: c["priority"] for c in t["columnDefinitions"]}
    assert priorities["Version"] == 0 and priorities["Internal-IP"] == 1


def test_service_table() -> None:
    """Services: TYPE, CLUSTER-IP, `<none>` EXTERNAL-IP, PORT(S), and wide SELECTOR."""
    svc = {"metadata": meta("redis"),
           "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
                    "clusterIPs": ["10.96.0.10"], "selector": {"app": "redis"},
                    "ports": [{"port": 6379, "protocol": "TCP"}]}}
    got = by_name(tables.table(BUILTIN["services"], [svc], now=NOW))
    assert got == {"Name": "redis", "Type": "ClusterIP", "Cluster-IP": "10.96.0.10",
                   "External-IP": "<none>", "Port(s)": "6379/TCP", "Age": "5m",
                   "Selector": "app=redis"}


def test_deployment_table_has_integer_cells() -> None:
    """Deployments: READY text, UP-TO-DATE/AVAILABLE as integer cells and integer columns."""
    deploy = {"metadata": meta("web"),
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"spec": {"containers": [{"name": "nginx",
                                                             "image": "nginx:1.27"}]}}},
              "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    t = tables.table(BUILTIN["deployments.apps"], [deploy], now=NOW)
    assert by_name(t) == {"Name": "web", "Ready": "2/3", "Up-to-date": 3, "Available": 2,
                          "Age": "5m", "Containers": "nginx", "Images": "nginx:1.27",
                          "Selector": "app=web"}
    types = {c["name"]: c["type"] for c in t["columnDefinitions"]}
    assert types["Up-to-date"] == "integer" and types["Ready"] == "string"


def failover_type() -> ResourceType:
    return ResourceType(
        "databases.example.com", "v1", "RedisFailover", "redisfailovers", "redisfailover",
        short_names=("rf",), custom=True, printer_columns=(
            {"name": "Primary", "type": "string", "jsonPath": ".status.primary"},
            {"name": "Epoch", "type": "integer", "jsonPath": ".status.epoch"},
            {"name": "Healthy", "type": "boolean", "jsonPath": ".status.healthy",
             "description": "Whether every replica follows the primary."},
            {"name": "Lag", "type": "number", "jsonPath": ".status.lag", "priority": 1},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
        ))


def test_custom_resource_printer_columns() -> None:
    """A CRD's printer columns: typed cells, booleans as JSON booleans, missing cells null."""
    rt = failover_type()
    full = {"apiVersion": "databases.example.com/v1", "kind": "RedisFailover",
            "metadata": meta("cache"),
            "status": {"primary": "cache-redis-0", "epoch": 3, "healthy": True, "lag": 0.5}}
    bare = {"apiVersion": "databases.example.com/v1", "kind": "RedisFailover",
            "metadata": meta("fresh")}
    t = tables.table(rt, [full, bare], now=NOW)
    defs = t["columnDefinitions"]
    assert [(c["name"], c["type"], c["priority"]) for c in defs] == [
        ("Name", "string", 0), ("Primary", "string", 0), ("Epoch", "integer", 0),
        ("Healthy", "boolean", 0), ("Lag", "number", 1), ("Age", "date", 0)]
    assert defs[3]["description"] == "Whether every replica follows the primary."
    assert t["rows"][0]["cells"] == ["cache", "cache-redis-0", 3, True, 0.5, "5m"]
    assert t["rows"][1]["cells"] == ["fresh", None, None, None, None, "5m"]
    assert json.loads(json.dumps(t))["rows"][1]["cells"][1] is None


def test_custom_resource_without_printer_columns_gets_name_and_age() -> None:
    """A CRD that declares no columns is served NAME and AGE."""
    rt = ResourceType("example.com", "v1", "Widget", "widgets", "widget", custom=True)
    t = tables.table(rt, [{"metadata": meta("w")}], now=NOW)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Age"]
    assert t["rows"][0]["cells"] == ["w", "5m"]


@pytest.mark.parametrize("include", ["Object", tables.IncludeObject.OBJECT])
def test_include_object_object_puts_the_whole_object_in_the_row(include: str) -> None:
    """includeObject=Object (what `--sort-by` asks for) embeds the full object."""
    pod = running_pod()
    row = tables.table(BUILTIN["pods"], [pod], now=NOW, include_object=include)["rows"][0]
    assert row["object"] == pod


def test_include_object_none_leaves_a_null_object() -> None:
    """includeObject=None: the row's object is null, as kube's empty RawExtension encodes."""
    row = tables.table(BUILTIN["pods"], [running_pod()], now=NOW,
                       include_object="None")["rows"][0]
    assert "object" in row and row["object"] is None


def test_include_object_defaults_to_metadata_and_rejects_unknown_values() -> None:
    """An absent includeObject means Metadata; an unknown one is a one-line BadRequest."""
    assert tables.include_object_option(None) is tables.IncludeObject.METADATA
    assert tables.include_object_option("") is tables.IncludeObject.METADATA
    with pytest.raises(BadRequest) as caught:
        tables.table(BUILTIN["pods"], [running_pod()], now=NOW, include_object="Everything")
    assert caught.value.code == 400
    assert caught.value.message == (
        "includeObject: Invalid value: \"Everything\": must be 'Metadata', 'Object', "
        "'None', or empty")
    assert "\n" not in caught.value.message


def test_watch_event_table_has_one_row_and_headers_only_first() -> None:
    """A watch event's object is a one-row Table; later events leave the columns out."""
    rt = BUILTIN["pods"]
    pod = running_pod()
    first = tables.table(rt, [pod], now=NOW, resource_version="7")
    later = tables.table(rt, [pod], now=NOW, resource_version="7", no_headers=True)
    assert len(first["rows"]) == 1 and len(first["columnDefinitions"]) == 9
    assert later["columnDefinitions"] is None
    assert later["rows"] == first["rows"] and later["metadata"] == {"resourceVersion": "7"}


def test_empty_list_table_has_no_rows_and_no_resource_version_when_unknown() -> None:
    """No objects: columns still listed, rows an empty list, metadata empty without an RV."""
    t = tables.table(BUILTIN["services"], [], now=NOW)
    assert t["rows"] == [] and t["metadata"] == {} and t["columnDefinitions"]


def test_table_serialises_with_plain_strings() -> None:
    """Column types are plain strings, so any JSON encoder writes `"string"`, not an enum."""
    t = tables.table(BUILTIN["pods"], [running_pod()], now=NOW)
    assert all(type(c["type"]) is str for c in t["columnDefinitions"])
    assert '"type": "string"' in json.dumps(t)


def test_every_builtin_kind_serves_a_table() -> None:
    """Each built-in kind's Table has a name-format column and one cell per column."""
    for rt in BUILTIN_RESOURCES:
        t = tables.table(rt, [{"metadata": meta("x")}], now=NOW)
        assert any(c["format"] == "name" for c in t["columnDefinitions"]), rt.key
        assert len(t["rows"][0]["cells"]) == len(t["columnDefinitions"]), rt.key
        json.dumps(t)


@pytest.mark.parametrize("accept,expected", [
    pytest.param(KUBECTL_ACCEPT, True, id="kubectl-get"),
    pytest.param("application/json", False, id="plain-json"),
    pytest.param("", False, id="no-accept"),
    pytest.param("*/*", False, id="anything"),
    pytest.param("application/json, application/json;as=Table;v=v1;g=meta.k8s.io", False,
                 id="json-first"),
    pytest.param("application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io", True,
                 id="table-higher-q"),
    pytest.param("application/json;as=Table;v=v1;g=meta.k8s.io;q=0,application/json", False,
                 id="table-refused"),
    pytest.param("application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", False,
                 id="v1beta1-not-served"),
    pytest.param("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,"
                 "application/json;as=Table;v=v1;g=meta.k8s.io", True, id="protobuf-skipped"),
    pytest.param("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,"
                 "application/json", False, id="partial-metadata"),
    pytest.param("Application/JSON; as=Table; v=v1; g=meta.k8s.io", True, id="spaces-case"),
    pytest.param("application/json;as=Table;g=meta.k8s.io", False, id="no-version"),
    pytest.param("garbage,;;,application/json;as=Table;v=v1;g=meta.k8s.io", True,
                 id="malformed-entries-skipped"),
])
def test_wants_table(accept: str, expected: bool) -> None:
    """A Table is served only when a v1 JSON Table is acceptable ahead of plain JSON."""
    assert tables.wants_table(accept) is expected


