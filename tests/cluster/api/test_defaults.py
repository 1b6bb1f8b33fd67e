"""Defaulting: what kube-apiserver adds to objects nobody fully wrote."""

from __future__ import annotations

import base64
import copy

import pytest

from cluster.api import defaults
from cluster.api.resources import ResourceType

from tests.cluster.api.validation_helpers import (
    RT, container, crd, defaulted, deployment, pod, pvc, service, stateful_set,
)

DEFAULTED_CONTAINER = {
    "name": "redis",
    "image": "redis:7.2",
    "imagePullPolicy": "IfNotPresent",
    "resources": {},
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
}
TEMPLATE_SPEC_DEFAULTS = {
    "restartPolicy": "Always",
    "dnsPolicy": "ClusterFirst",
    "terminationGracePeriodSeconds": 30,
    "schedulerName": "default-scheduler",
    "securityContext": {},
}


def test_pod_gets_the_defaults_kubectl_get_shows() -> None:
    """A bare pod comes back with the pod spec and container defaults of a real cluster."""
    obj = defaulted("Pod", pod())
    assert obj["spec"] == {"containers": [DEFAULTED_CONTAINER], **TEMPLATE_SPEC_DEFAULTS,
                           "enableServiceLinks": True}
    assert "tolerations" not in obj["spec"], "default tolerations are an admission plugin's"


@pytest.mark.parametrize(("image", "policy"), [
    pytest.param("redis", "Always", id="untagged"),
    pytest.param("redis:latest", "Always", id="latest"),
    pytest.param("redis:7.2", "IfNotPresent", id="tagged"),
    pytest.param("localhost:5000/redis", "Always", id="registry-port-untagged"),
    pytest.param("localhost:5000/redis:7", "IfNotPresent", id="registry-port-tagged"),
    pytest.param("redis@sha256:abcd", "IfNotPresent", id="digest"),
])
def test_image_pull_policy(image: str, policy: str) -> None:
    """`:latest` and untagged images are pulled always, others if not present."""
    assert defaults.image_pull_policy_for(image) == policy
    obj = defaulted("Pod", pod(containers=[container(image=image)]))
    assert obj["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_defaults_never_overwrite_what_was_written() -> None:
    """Values the user wrote survive, including ones equal to non-defaults."""
    obj = defaulted("Pod", pod(restartPolicy="Never", dnsPolicy="Default",
                               terminationGracePeriodSeconds=0,
                               containers=[container(imagePullPolicy="Never")]))
    assert obj["spec"]["restartPolicy"] == "Never"
    assert obj["spec"]["dnsPolicy"] == "Default"
    assert obj["spec"]["terminationGracePeriodSeconds"] == 0
    assert obj["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_ports_probes_and_volumes() -> None:
    """Ports default to TCP, probes to 1s/10s/1/3 with HTTP on `/`, volumes to emptyDir."""
    probe = {"httpGet": {"port": 6379}}
    obj = defaulted("Pod", pod(
        containers=[container(ports=[{"containerPort": 6379}], readinessProbe=probe,
                              livenessProbe={"tcpSocket": {"port": 6379}, "periodSeconds": 5})],
        volumes=[{"name": "scratch"}, {"name": "conf", "configMap": {"name": "redis"}}]))
    c = obj["spec"]["containers"][0]
    assert c["ports"] == [{"containerPort": 6379, "protocol": "TCP"}]
    assert c["readinessProbe"] == {"httpGet": {"port": 6379, "path": "/", "scheme": "HTTP"},
                                   "timeoutSeconds": 1, "periodSeconds": 10,
                                   "successThreshold": 1, "failureThreshold": 3}
    assert c["livenessProbe"]["periodSeconds"] == 5
    assert obj["spec"]["volumes"] == [{"name": "scratch", "emptyDir": {}},
                                      {"name": "conf", "configMap": {"name": "redis",
                                                                     "defaultMode": 420}}]


def test_pod_requests_default_to_limits() -> None:
    """A container with only limits gets equal requests (pods only, not templates)."""
    limits = {"cpu": "500m", "memory": "128Mi"}
    obj = defaulted("Pod", pod(containers=[container(resources={"limits": dict(limits)})]))
    assert obj["spec"]["containers"][0]["resources"]["requests"] == limits
    assert defaults.pod_qos_class(obj["spec"]) == "Guaranteed"
    dep = defaulted("Deployment", deployment(template={
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [container(resources={"limits": dict(limits)})]}}))
    assert "requests" not in dep["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert "enableServiceLinks" not in dep["spec"]["template"]["spec"]


@pytest.mark.parametrize(("resources", "qos"), [
    pytest.param({}, "BestEffort", id="nothing"),
    pytest.param({"requests": {"cpu": "100m"}}, "Burstable", id="requests-only"),
    pytest.param({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed", id="limits-only"),
    pytest.param({"limits": {"cpu": "1", "memory": "1Gi"},
                  "requests": {"cpu": "500m", "memory": "1Gi"}}, "Burstable", id="below-limit"),
    pytest.param({"limits": {"cpu": "1"}}, "Burstable", id="cpu-only"),
])
def test_qos_class(resources: dict[str, object], qos: str) -> None:
    """QoS follows kubelet's rules once requests are defaulted from limits."""
    obj = defaulted("Pod", pod(containers=[container(resources=copy.deepcopy(resources))]))
    assert defaults.pod_qos_class(obj["spec"]) == qos


def test_deployment_defaults() -> None:
    """Deployments get 25%/25% rolling updates, 10 revisions, 600s progress deadline."""
    assert defaulted("Deployment", deployment(replicas=None))["spec"]["replicas"] == 1
    assert defaulted("Deployment", deployment(replicas=0))["spec"]["replicas"] == 0
    obj = deployment()
    del obj["spec"]["replicas"]
    spec = defaulted("Deployment", obj)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["spec"] == {"containers": [DEFAULTED_CONTAINER],
                                        **TEMPLATE_SPEC_DEFAULTS}


def test_recreate_strategy_gets_no_rolling_update() -> None:
    """A Recreate deployment is not given rollingUpdate parameters it may not have."""
    spec = defaulted("Deployment", deployment(strategy={"type": "Recreate"}))["spec"]
    assert spec["strategy"] == {"type": "Recreate"}


def test_replica_set_defaults() -> None:
    """ReplicaSets default replicas and their template."""
    obj = {"metadata": {"name": "rs"},
           "spec": {"template": {"spec": {"containers": [container()]}}}}
    spec = defaulted("ReplicaSet", obj)["spec"]
    assert spec["replicas"] == 1
    assert spec["template"]["spec"]["restartPolicy"] == "Always"


def test_stateful_set_defaults() -> None:
    """StatefulSets: OrderedReady, partition 0, Retain/Retain, claims in Filesystem mode."""
    obj = stateful_set()
    del obj["spec"]["replicas"]
    spec = defaulted("StatefulSet", obj)["spec"]
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain",
                                                            "whenScaled": "Retain"}
    claim = spec["volumeClaimTemplates"][0]
    assert claim["spec"]["volumeMode"] == "Filesystem"
    assert claim["apiVersion"] == "v1" and claim["kind"] == "PersistentVolumeClaim"
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == 30


def test_service_defaults() -> None:
    """Services: ClusterIP, no affinity, TCP, and targetPort copied from port."""
    spec = defaulted("Service", service(ports=[{"port": 6379}, {"port": 26379,
                                                                "targetPort": "sentinel"}]))["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ports"] == [{"port": 6379, "protocol": "TCP", "targetPort": 6379},
                             {"port": 26379, "targetPort": "sentinel", "protocol": "TCP"}]
    headless = defaulted("Service", service(clusterIP="None"))["spec"]
    assert headless["clusterIPs"] == ["None"]
    node_port = defaulted("Service", service(type="NodePort"))["spec"]
    assert node_port["externalTrafficPolicy"] == "Cluster"


def test_namespace_pvc_secret_node_defaults() -> None:
    """Namespace finalizer and phase, PVC mode and phase, Secret type, Node allocatable."""
    ns = defaulted("Namespace", {"metadata": {"name": "redis"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}
    claim = defaulted("PersistentVolumeClaim", pvc())
    assert claim["spec"]["volumeMode"] == "Filesystem" and claim["status"]["phase"] == "Pending"
    secret = defaulted("Secret", {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}})
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"password": base64.b64encode(b"hunter2").decode()}
    assert "stringData" not in secret
    node = defaulted("Node", {"metadata": {"name": "n1"},
                              "status": {"capacity": {"cpu": "4", "memory": "8Gi"}}})
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi"}


def test_kinds_without_defaults_are_untouched() -> None:
    """ConfigMaps and Leases have no defaults."""
    for kind in ("ConfigMap", "Lease"):
        obj = {"metadata": {"name": "x", "namespace": "default"}, "data": {"a": "b"}}
        assert defaulted(kind, obj) == obj


def test_crd_defaults() -> None:
    """CRDs get singular and listKind from kind, and the None conversion strategy."""
    spec = defaulted("CustomResourceDefinition", crd())["spec"]
    assert spec["names"]["singular"] == "redisfailover"
    assert spec["names"]["listKind"] == "RedisFailoverList"
    assert spec["conversion"] == {"strategy": "None"}


def test_custom_kind_is_pruned_then_defaulted_from_its_schema() -> None:
    """A custom object loses unknown fields and gains its schema's defaults."""
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "replicas": {"type": "integer", "default": 3},
        "sentinel": {"type": "object", "default": {},
                     "properties": {"replicas": {"type": "integer", "default": 3}}}}}}}
    rt = ResourceType("redisha.io", "v1", "RedisFailover", "redisfailovers", "redisfailover",
                      schema=schema, custom=True)
    obj = {"apiVersion": "redisha.io/v1", "kind": "RedisFailover",
           "metadata": {"name": "rf", "labels": {"a": "b"}}, "spec": {"typo": 1}}
    defaults.apply_defaults(rt, obj)
    assert obj == {"apiVersion": "redisha.io/v1", "kind": "RedisFailover",
                   "metadata": {"name": "rf", "labels": {"a": "b"}},
                   "spec": {"replicas": 3, "sentinel": {"replicas": 3}}}


@pytest.mark.parametrize("kind", sorted(RT))
def test_defaulting_is_idempotent(kind: str) -> None:
    """Defaulting an already defaulted object changes nothing (updates re-default)."""
    samples = {"Pod": pod(), "Deployment": deployment(), "StatefulSet": stateful_set(),
               "Service": service(), "PersistentVolumeClaim": pvc(),
               "CustomResourceDefinition": crd()}
    obj = samples.get(kind, {"metadata": {"name": "x"}})
    once = defaulted(kind, obj)
    assert defaulted(kind, once) == once
