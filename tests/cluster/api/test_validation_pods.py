"""Pod specs: containers, ports, resources, probes, volumes, tolerations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cluster.api.test_names import LABEL_MSG
from tests.cluster.api.validation_helpers import container, field_errors, pod, verdict

C0 = "spec.containers[0]"


def test_a_full_valid_pod_passes() -> None:
    """A realistic Redis pod with ports, env, probes, resources and volumes is accepted."""
    redis = container(
        ports=[{"name": "redis", "containerPort": 6379}],
        env=[{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
             {"name": "my.setting-1", "value": "x"}],
        resources={"requests": {"cpu": "100m", "memory": "64Mi"},
                   "limits": {"cpu": "1", "memory": "128Mi"}},
        readinessProbe={"exec": {"command": ["redis-cli", "ping"]}, "periodSeconds": 2},
        livenessProbe={"tcpSocket": {"port": "redis"}},
        volumeMounts=[{"name": "data", "mountPath": "/data"}])
    obj = pod(containers=[redis],
              initContainers=[container("init", "busybox", command=["true"])],
              volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data-redis-0"}}],
              nodeSelector={"kubernetes.io/hostname": "node-1"},
              tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                            "effect": "NoExecute", "tolerationSeconds": 300},
                           {"operator": "Exists"}],
              hostname="redis-0", subdomain="redis", activeDeadlineSeconds=3600)
    assert verdict("Pod", obj) == ""


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({"containers": []}, ["spec.containers: Required value"], id="no-containers"),
    pytest.param({"containers": None}, ["spec.containers: Required value"], id="null-containers"),
    pytest.param({"containers": [container(name="")]}, [f"{C0}.name: Required value"],
                 id="name-required"),
    pytest.param({"containers": [container(name="Redis")]},
                 [f'{C0}.name: Invalid value: "Redis": {LABEL_MSG}'], id="name-format"),
    pytest.param({"containers": [container(), container(image="other")]},
                 ['spec.containers[1].name: Duplicate value: "redis"'], id="duplicate-names"),
    pytest.param({"containers": [container(image="")]}, [f"{C0}.image: Required value"],
                 id="image-empty"),
    pytest.param({"containers": [{"name": "redis"}]}, [f"{C0}.image: Required value"],
                 id="image-missing"),
    pytest.param({"containers": [container(image=" redis")]},
                 [f'{C0}.image: Invalid value: " redis": must not have leading or trailing '
                  "whitespace"], id="image-whitespace"),
    pytest.param({"containers": [container(imagePullPolicy="Sometimes")]},
                 [f'{C0}.imagePullPolicy: Unsupported value: "Sometimes": supported values: '
                  '"Always", "IfNotPresent", "Never"'], id="pull-policy"),
    pytest.param({"restartPolicy": "Sometimes"},
                 ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: '
                  '"Always", "OnFailure", "Never"'], id="restart-policy"),
    pytest.param({"dnsPolicy": "Google"},
                 ['spec.dnsPolicy: Unsupported value: "Google": supported values: '
                  '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'], id="dns-policy"),
    pytest.param({"activeDeadlineSeconds": 0},
                 ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and "
                  "2147483647, inclusive"], id="deadline"),
    pytest.param({"nodeName": "Node_1"},
                 ['spec.nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain must '
                  "consist of lower case alphanumeric characters, '-' or '.', and must start and "
                  "end with an alphanumeric character (e.g. 'example.com', regex used for "
                  "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
                  "*')"], id="node-name"),
])
def test_pod_spec_errors(spec: dict[str, Any], expected: list[str]) -> None:
    """Pod-level fields and container identity."""
    assert field_errors("Pod", pod(**spec)) == expected


def errors_for_container(**fields: Any) -> list[str]:
    return field_errors("Pod", pod(containers=[container(**fields)]))


@pytest.mark.parametrize(("ports", "expected"), [
    pytest.param([{"containerPort": 70000}],
                 [f"{C0}.ports[0].containerPort: Invalid value: 70000: must be between 1 and "
                  "65535, inclusive"], id="range"),
    pytest.param([{"containerPort": 0}], [f"{C0}.ports[0].containerPort: Required value"],
                 id="zero"),
    pytest.param([{"name": "redis"}], [f"{C0}.ports[0].containerPort: Required value"],
                 id="missing"),
    pytest.param([{"containerPort": 6379, "protocol": "HTTP"}],
                 [f'{C0}.ports[0].protocol: Unsupported value: "HTTP": supported values: '
                  '"SCTP", "TCP", "UDP"'], id="protocol"),
    pytest.param([{"containerPort": 6379, "name": "redis"},
                  {"containerPort": 6380, "name": "redis"}],
                 [f'{C0}.ports[1].name: Duplicate value: "redis"'], id="duplicate-name"),
    pytest.param([{"containerPort": 6379, "name": "6379"}],
                 [f'{C0}.ports[0].name: Invalid value: "6379": must contain at least one letter '
                  "(a-z)"], id="name-without-letter"),
    pytest.param([{"containerPort": 6379, "hostPort": 99999}],
                 [f"{C0}.ports[0].hostPort: Invalid value: 99999: must be between 1 and 65535, "
                  "inclusive"], id="host-port"),
    pytest.param([{"containerPort": "6379"}],
                 [f'{C0}.ports[0].containerPort: Invalid value: "6379": must be an integer'],
                 id="string-port"),
])
def test_container_ports(ports: list[dict[str, Any]], expected: list[str]) -> None:
    """Container ports: range, protocol, names."""
    assert errors_for_container(ports=ports) == expected


@pytest.mark.parametrize(("resources", "expected"), [
    pytest.param({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}},
                 [f'{C0}.resources.requests: Invalid value: "2": must be less than or equal to '
                  "cpu limit of 1"], id="request-over-limit"),
    pytest.param({"requests": {"memory": "1536Mi"}, "limits": {"memory": "1Gi"}},
                 [f'{C0}.resources.requests: Invalid value: "1536Mi": must be less than or equal '
                  "to memory limit of 1Gi"], id="memory-over-limit"),
    pytest.param({"requests": {"cpu": "1000m"}, "limits": {"cpu": "1"}}, [], id="equal-ok"),
    pytest.param({"requests": {"cpu": "-1"}},
                 [f'{C0}.resources.requests[cpu]: Invalid value: "-1": must be greater than or '
                  "equal to 0"], id="negative"),
    pytest.param({"requests": {"memory": "lots"}},
                 [f'{C0}.resources.requests[memory]: Invalid value: "lots": quantities must '
                  "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
                 id="unparseable"),
    pytest.param({"requests": {"gpu": "1"}},
                 [f'{C0}.resources.requests[gpu]: Invalid value: "gpu": must be a standard '
                  "resource for containers"], id="non-standard"),
    pytest.param({"limits": {"example.com/fpga": "1", "hugepages-2Mi": "2Mi", "cpu": 1}}, [],
                 id="extended-and-numbers-ok"),
])
def test_container_resources(resources: dict[str, Any], expected: list[str]) -> None:
    """Requests and limits are quantities, non-negative, and requests never exceed limits."""
    assert errors_for_container(resources=resources) == expected


@pytest.mark.parametrize(("probe_key", "probe", "expected"), [
    pytest.param("livenessProbe", {}, [f"{C0}.livenessProbe: Required value: must specify a "
                                       "handler type"], id="no-handler"),
    pytest.param("livenessProbe", {"exec": {"command": ["a"]}, "tcpSocket": {"port": 1}},
                 [f"{C0}.livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler "
                  "type"], id="two-handlers"),
    pytest.param("livenessProbe", {"exec": {"command": ["a"]}, "successThreshold": 2},
                 [f"{C0}.livenessProbe.successThreshold: Invalid value: 2: must be 1"],
                 id="liveness-success-threshold"),
    pytest.param("readinessProbe", {"exec": {"command": ["a"]}, "successThreshold": 2}, [],
                 id="readiness-success-threshold-ok"),
    pytest.param("readinessProbe", {"exec": {"command": ["a"]}, "periodSeconds": -1},
                 [f"{C0}.readinessProbe.periodSeconds: Invalid value: -1: must be greater than "
                  "or equal to 0"], id="negative-period"),
    pytest.param("readinessProbe", {"exec": {}},
                 [f"{C0}.readinessProbe.exec.command: Required value"], id="exec-command"),
    pytest.param("readinessProbe", {"httpGet": {"port": 0}},
                 [f"{C0}.readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and "
                  "65535, inclusive"], id="http-port"),
    pytest.param("startupProbe", {"tcpSocket": {"port": "Redis"}},
                 [f'{C0}.startupProbe.tcpSocket.port: Invalid value: "Redis": must contain only '
                  "alpha-numeric characters (a-z, 0-9), and hyphens (-)"], id="port-name"),
])
def test_probes(probe_key: str, probe: dict[str, Any], expected: list[str]) -> None:
    """Probes need exactly one handler and sane numbers."""
    assert errors_for_container(**{probe_key: probe}) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    pytest.param({"volumes": [{"name": "data", "emptyDir": {}}],
                  "containers": [container(volumeMounts=[{"name": "cache", "mountPath": "/c"}])]},
                 [f'{C0}.volumeMounts[0].name: Not found: "cache"'], id="mount-unknown-volume"),
    pytest.param({"volumes": [{"name": "data", "emptyDir": {}}],
                  "containers": [container(volumeMounts=[{"name": "data", "mountPath": "/d"},
                                                         {"name": "data", "mountPath": "/d"}])]},
                 [f'{C0}.volumeMounts[1].mountPath: Invalid value: "/d": must be unique'],
                 id="duplicate-mount-path"),
    pytest.param({"volumes": [{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}]},
                 ['spec.volumes[1].name: Duplicate value: "data"'], id="duplicate-volume"),
    pytest.param({"volumes": [{"name": "data", "emptyDir": {}, "hostPath": {"path": "/x"}}]},
                 ["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"],
                 id="two-sources"),
    pytest.param({"volumes": [{"name": "data", "persistentVolumeClaim": {}}]},
                 ["spec.volumes[0].persistentVolumeClaim.claimName: Required value"],
                 id="claim-name"),
])
def test_volumes(spec: dict[str, Any], expected: list[str]) -> None:
    """Volumes are uniquely named, have one source, and mounts refer to them."""
    assert field_errors("Pod", pod(**spec)) == expected


@pytest.mark.parametrize(("toleration", "expected"), [
    pytest.param({"key": "a", "operator": "Equal", "value": "b", "effect": "NoSchedule"}, [],
                 id="ok"),
    pytest.param({"operator": "Equal", "value": "x"},
                 ['spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists '
                  'when `key` is empty, which means "match all values and all keys"'],
                 id="empty-key"),
    pytest.param({"key": "a", "operator": "Exists", "tolerationSeconds": 5,
                  "effect": "NoSchedule"},
                 ['spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be '
                  "'NoExecute' when `tolerationSeconds` is set"], id="seconds-need-noexecute"),
    pytest.param({"key": "a", "operator": "Exists", "value": "b"},
                 ['spec.tolerations[0].operator: Invalid value: "b": value must be empty when '
                  "`operator` is 'Exists'"], id="exists-with-value"),
    pytest.param({"key": "a", "operator": "Like"},
                 ['spec.tolerations[0].operator: Unsupported value: "Like": supported values: '
                  '"Equal", "Exists"'], id="operator"),
    pytest.param({"key": "a", "operator": "Exists", "effect": "Evict"},
                 ['spec.tolerations[0].effect: Unsupported value: "Evict": supported values: '
                  '"NoSchedule", "PreferNoSchedule", "NoExecute"'], id="effect"),
])
def test_tolerations(toleration: dict[str, Any], expected: list[str]) -> None:
    """Toleration rules, word for word."""
    assert field_errors("Pod", pod(tolerations=[toleration])) == expected


def test_init_containers() -> None:
    """Init containers share the name space of containers and may not probe unless sidecars."""
    errs = field_errors("Pod", pod(initContainers=[
        container("redis", "busybox"),
        container("wait", "busybox", readinessProbe={"exec": {"command": ["true"]}}),
        container("side", "busybox", restartPolicy="Always",
                  readinessProbe={"exec": {"command": ["true"]}}),
    ]))
    assert errs == [
        'spec.initContainers[0].name: Duplicate value: "redis"',
        "spec.initContainers[1].readinessProbe: Forbidden: may not be set for init containers "
        "without restartPolicy=Always",
    ]


def test_env_sources() -> None:
    """An env var takes a value or exactly one source, not both."""
    errs = errors_for_container(env=[
        {"name": "", "value": "x"},
        {"name": "A", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        {"name": "B", "valueFrom": {}},
        {"name": "C", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "../x"}}},
    ])
    assert errs == [
        f"{C0}.env[0].name: Required value",
        f'{C0}.env[1].valueFrom: Invalid value: "": may not be specified when `value` is not '
        "empty",
        f'{C0}.env[2].valueFrom: Invalid value: "": must specify one of: `fieldRef`, '
        "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
        f'{C0}.env[3].valueFrom.configMapKeyRef.key: Invalid value: "../x": a valid config key '
        "must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
        "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
        f'{C0}.env[3].valueFrom.configMapKeyRef.key: Invalid value: "../x": must not start '
        "with '..'",
    ]


def test_pod_message_as_kubectl_prints_it() -> None:
    """The whole message for one bad container, as `kubectl apply` would show it."""
    assert verdict("Pod", pod(containers=[container(image="")])) == (
        'Pod "redis-0" is invalid: spec.containers[0].image: Required value')
