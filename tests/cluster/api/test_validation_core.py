"""Services, Endpoints, Nodes, Namespaces, Events, ConfigMaps, Secrets, PVCs and Leases."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.cluster.api.validation_helpers import (
    config_map, field_errors, meta, pvc, service, verdict,
)


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({}, [], id="valid"),
    pytest.param({"ports": []}, ["spec.ports: Required value"], id="ports-required"),
    pytest.param({"ports": [], "clusterIP": "None"}, [], id="headless-needs-no-ports"),
    pytest.param({"ports": [{"port": 0}]},
                 ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                  "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, "
                  "inclusive"], id="port-range-and-defaulted-target"),
    pytest.param({"ports": [{"port": 6379}, {"port": 26379}]},
                 ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"],
                 id="names-required-when-several"),
    pytest.param({"ports": [{"name": "redis", "port": 6379}, {"name": "redis", "port": 6380}]},
                 ['spec.ports[1].name: Duplicate value: "redis"'], id="duplicate-name"),
    pytest.param({"ports": [{"name": "a", "port": 6379}, {"name": "b", "port": 6379}]},
                 ['spec.ports[1]: Duplicate value: {"port":6379,"protocol":"TCP"}'],
                 id="duplicate-port"),
    pytest.param({"ports": [{"port": 6379, "targetPort": "Redis_Port"}]},
                 ['spec.ports[0].targetPort: Invalid value: "Redis_Port": must contain only '
                  "alpha-numeric characters (a-z, 0-9), and hyphens (-)"], id="target-port-name"),
    pytest.param({"type": "Internal"},
                 ['spec.type: Unsupported value: "Internal": supported values: "ClusterIP", '
                  '"ExternalName", "LoadBalancer", "NodePort"'], id="type"),
    pytest.param({"sessionAffinity": "Sticky"},
                 ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: '
                  '"ClientIP", "None"'], id="affinity"),
    pytest.param({"clusterIP": "10.96.0.300"},
                 ['spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, '
                  "(e.g. 10.9.8.7 or 2001:db8::ffff)"], id="cluster-ip"),
    pytest.param({"clusterIP": "127.0.10.1"}, [], id="loopback-cluster-ip-ok"),
    pytest.param({"type": "NodePort", "clusterIP": "None"},
                 ['spec.clusterIPs[0]: Invalid value: "None": may not be set to \'None\' for '
                  "NodePort services"], id="headless-nodeport"),
    pytest.param({"ports": [{"port": 6379, "nodePort": 30001}]},
                 ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
                 id="nodeport-on-clusterip"),
    pytest.param({"type": "ExternalName", "ports": []},
                 ["spec.externalName: Required value"], id="external-name-required"),
    pytest.param({"selector": {"app": "-x"}},
                 ['spec.selector: Invalid value: "-x": a valid label must be an empty string or '
                  "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                  "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                  "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"],
                 id="selector-labels"),
])
def test_service(spec: dict[str, Any], expected: list[str]) -> None:
    """Service ports, types, cluster IPs and selectors."""
    assert field_errors("Service", service(**spec)) == expected


def endpoints(subsets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta("redis"),
            "subsets": subsets}


@pytest.mark.parametrize(("subsets", "expected"), [
    pytest.param([{"addresses": [{"ip": "127.0.10.5", "nodeName": "node-1"}],
                   "ports": [{"port": 6379}]}], [], id="valid-loopback"),
    pytest.param([{"ports": [{"port": 6379}]}],
                 ["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"],
                 id="no-addresses"),
    pytest.param([{"addresses": [{"ip": "redis-0"}]}],
                 ['subsets[0].addresses[0].ip: Invalid value: "redis-0": must be a valid IP '
                  "address, (e.g. 10.9.8.7 or 2001:db8::ffff)"], id="bad-ip"),
    pytest.param([{"notReadyAddresses": [{"ip": "10.0.0.1"}],
                   "ports": [{"port": 1}, {"port": 2, "name": "b"}]}],
                 ["subsets[0].ports[0].name: Required value"], id="port-names"),
])
def test_endpoints(subsets: list[dict[str, Any]], expected: list[str]) -> None:
    """Endpoints need addresses with IPs; several ports need names."""
    assert field_errors("Endpoints", endpoints(subsets)) == expected


def test_node_taints_and_capacity() -> None:
    """Node taints need a key and a known effect, once per key and effect."""
    node = {"apiVersion": "v1", "kind": "Node", "metadata": meta("node-1", namespace=None),
            "spec": {"taints": [{"key": "a", "effect": "NoSchedule"},
                                {"key": "a", "effect": "NoSchedule"},
                                {"key": "b", "effect": "Sometimes"},
                                {"key": "c"}]},
            "status": {"capacity": {"cpu": "4", "memory": "-1"}}}
    assert field_errors("Node", node) == [
        'spec.taints[1]: Duplicate value: {"effect":"NoSchedule","key":"a"}: taints must be '
        "unique by key and effect pair",
        'spec.taints[2].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"',
        "spec.taints[3].effect: Required value",
        'status.capacity.memory: Invalid value: "-1": must be greater than or equal to 0',
        'status.allocatable.memory: Invalid value: "-1": must be greater than or equal to 0',
    ]


def test_namespace_finalizers() -> None:
    """Namespace spec finalizers must be standard or qualified names."""
    ns = {"metadata": meta("redis", namespace=None), "spec": {"finalizers": ["kubernetes",
                                                                            "tidy"]}}
    assert field_errors("Namespace", ns) == [
        'spec.finalizers: Invalid value: "tidy": name is neither a standard finalizer name nor '
        "is it fully qualified"]


def event(**fields: Any) -> dict[str, Any]:
    body = {"apiVersion": "v1", "kind": "Event", "metadata": meta("redis-0.17a1b2c3d4e5f6"),
            "involvedObject": {"kind": "Pod", "name": "redis-0", "namespace": "default"},
            "reason": "Started", "message": "Started container redis", "type": "Normal"}
    body.update(fields)
    return body


@pytest.mark.parametrize(("fields", "expected"), [
    pytest.param({}, [], id="valid"),
    pytest.param({"involvedObject": {"kind": "Pod", "name": "x", "namespace": "other"}},
                 ['involvedObject.namespace: Invalid value: "other": does not match '
                  "event.namespace"], id="namespace-mismatch"),
    pytest.param({"involvedObject": {"kind": "Node", "name": "node-1"}}, [],
                 id="cluster-scoped-object-in-default"),
    pytest.param({"eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "kubelet",
                  "reportingInstance": "kubelet-node-1", "action": "Started"}, [],
                 id="new-style-valid"),
    pytest.param({"eventTime": "2024-01-01T00:00:00.000000Z", "reason": ""},
                 ["reportingController: Required value", "reportingInstance: Required value",
                  "action: Required value", "reason: Required value"], id="new-style-required"),
])
def test_event(fields: dict[str, Any], expected: list[str]) -> None:
    """core/v1 Events get kube-apiserver's legacy checks."""
    assert field_errors("Event", event(**fields)) == expected


@pytest.mark.parametrize(("fields", "expected"), [
    pytest.param({}, [], id="valid"),
    pytest.param({"data": {"redis/conf": "x"}},
                 ['data[redis/conf]: Invalid value: "redis/conf": a valid config key must consist '
                  "of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  "
                  "or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"], id="key"),
    pytest.param({"binaryData": {"redis.conf": "eA=="}},
                 ['data[redis.conf]: Invalid value: "redis.conf": duplicate of key present in '
                  "binaryData"], id="duplicate-key"),
    pytest.param({"data": {"big": "x" * (1024 * 1024 + 1)}},
                 ["Too long: may not be more than 1048576 bytes"], id="too-big"),
    pytest.param({"data": {"n": 1}}, ["data[n]: Invalid value: 1: must be a string"],
                 id="non-string-value"),
])
def test_config_map(fields: dict[str, Any], expected: list[str]) -> None:
    """ConfigMap keys are file names; the total size is capped at 1 MiB."""
    assert field_errors("ConfigMap", config_map(**fields)) == expected


def secret(**fields: Any) -> dict[str, Any]:
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": meta("redis-auth"),
            "data": {"password": base64.b64encode(b"hunter2").decode()}}
    body.update(fields)
    return body


@pytest.mark.parametrize(("fields", "expected"), [
    pytest.param({}, [], id="valid"),
    pytest.param({"stringData": {"user": "admin"}}, [], id="string-data-ok"),
    pytest.param({"data": {"password": "not base64!"}},
                 ['data[password]: Invalid value: "<secret contents redacted>": illegal base64 '
                  "data"], id="base64"),
    pytest.param({"type": "kubernetes.io/tls"},
                 ["data[tls.crt]: Required value", "data[tls.key]: Required value"], id="tls-keys"),
    pytest.param({"data": {"..x": "eA=="}},
                 ['data[..x]: Invalid value: "..x": must not start with \'..\''], id="key"),
])
def test_secret(fields: dict[str, Any], expected: list[str]) -> None:
    """Secret data is base64 under valid keys; typed secrets need their keys."""
    assert field_errors("Secret", secret(**fields)) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({}, [], id="valid"),
    pytest.param({"accessModes": []},
                 ["spec.accessModes: Required value: at least 1 access mode is required"],
                 id="access-modes-required"),
    pytest.param({"accessModes": ["ReadWriteSometimes"]},
                 ['spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: '
                  '"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"'],
                 id="access-mode"),
    pytest.param({"accessModes": ["ReadWriteOncePod", "ReadOnlyMany"]},
                 ["spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access "
                  "modes"], id="rwop-alone"),
    pytest.param({"resources": {}}, ["spec.resources[storage]: Required value"],
                 id="storage-required"),
    pytest.param({"resources": {"requests": {"storage": "0"}}},
                 ['spec.resources[storage]: Invalid value: "0": must be greater than zero'],
                 id="storage-positive"),
    pytest.param({"volumeMode": "Raw"},
                 ['spec.volumeMode: Unsupported value: "Raw": supported values: "Block", '
                  '"Filesystem"'], id="volume-mode"),
])
def test_persistent_volume_claim(spec: dict[str, Any], expected: list[str]) -> None:
    """Claims need access modes and a positive storage request."""
    assert field_errors("PersistentVolumeClaim", pvc(**spec)) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({"holderIdentity": "redisha-operator-1", "leaseDurationSeconds": 15}, [],
                 id="valid"),
    pytest.param({"leaseDurationSeconds": 0},
                 ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"],
                 id="duration"),
    pytest.param({"leaseTransitions": -1},
                 ["spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"],
                 id="transitions"),
])
def test_lease(spec: dict[str, Any], expected: list[str]) -> None:
    """Leases need a positive duration and non-negative transitions."""
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": meta("redisha-operator", namespace="kube-system"), "spec": spec}
    assert field_errors("Lease", lease) == expected


def test_service_full_message() -> None:
    """A whole Service message as kubectl shows it."""
    assert verdict("Service", service(ports=[{"port": 99999, "targetPort": 6379}])) == (
        'Service "redis" is invalid: spec.ports[0].port: Invalid value: 99999: must be between 1 '
        "and 65535, inclusive")
