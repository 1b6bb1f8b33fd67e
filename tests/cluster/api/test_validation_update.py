"""Updates: what may change after creation, and what kube-apiserver says when it may not."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from cluster.api import validation
from cluster.api.resources import ResourceType

from tests.cluster.api.validation_helpers import (
    config_map, container, crd, defaulted, deployment, field_errors, meta, pod, pvc,
    replica_set, service, stateful_set, template, verdict,
)

Obj = dict[str, Any]


def changed(obj: Obj, edit: Callable[[Obj], None]) -> Obj:
    new = copy.deepcopy(obj)
    edit(new)
    return new


def test_unchanged_objects_pass_update() -> None:
    """Re-submitting any object as it is stored is always allowed."""
    for obj in (pod(), deployment(), replica_set(), stateful_set(), service(), pvc(),
                config_map(), crd()):
        stored = defaulted(obj["kind"], obj)
        assert verdict(obj["kind"], stored, stored) == "", obj["kind"]


@pytest.mark.parametrize(("edit", "expected"), [
    pytest.param(lambda o: o["metadata"].update(name="other"),
                 ['metadata.name: Invalid value: "other": field is immutable'], id="name"),
    pytest.param(lambda o: o["metadata"].update(namespace="prod"),
                 ['metadata.namespace: Invalid value: "prod": field is immutable'], id="namespace"),
    pytest.param(lambda o: o["metadata"].update(uid="u2"),
                 ['metadata.uid: Invalid value: "u2": field is immutable'], id="uid"),
    pytest.param(lambda o: o["metadata"].pop("uid"), [], id="uid-omitted-keeps-stored"),
    pytest.param(lambda o: o["metadata"].update(labels={"role": "replica"}), [],
                 id="labels-may-change"),
])
def test_metadata_identity_is_immutable(edit: Callable[[Obj], None], expected: list[str]) -> None:
    """Name, namespace and uid never change; labels and annotations may."""
    old = config_map()
    old["metadata"]["uid"] = "u1"
    assert field_errors("ConfigMap", changed(old, edit), old) == expected


def test_deleting_object_takes_no_new_finalizers() -> None:
    """Once deletionTimestamp is set, finalizers may only be removed."""
    old = config_map()
    old["metadata"].update(deletionTimestamp="2024-01-01T00:00:00Z", finalizers=["a.io/x"])
    new = changed(old, lambda o: o["metadata"].update(finalizers=["a.io/x", "b.io/y"]))
    assert field_errors("ConfigMap", new, old) == [
        'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being '
        'deleted, found new finalizers []string{"b.io/y"}']
    removed = changed(old, lambda o: o["metadata"].update(finalizers=[]))
    assert field_errors("ConfigMap", removed, old) == []


@pytest.mark.parametrize("build", [deployment, replica_set], ids=["deployment", "replicaset"])
def test_selector_is_immutable(build: Callable[..., Obj]) -> None:
    """apps/v1 controllers cannot change their selector, even consistently with the template."""
    old = build()
    new = build(selector={"matchLabels": {"app": "api"}}, template=template({"app": "api"}))
    assert field_errors(old["kind"], new, old) == [
        'spec.selector: Invalid value: {"matchLabels":{"app":"api"}}: field is immutable']
    scaled = build(replicas=10, template=template(containers=[container(image="redis:7.4")]))
    assert field_errors(old["kind"], scaled, old) == []


def test_deployment_update_reports_the_full_message() -> None:
    """The message kubectl apply prints after editing a selector."""
    old = deployment()
    new = deployment(selector={"matchLabels": {"app": "web", "tier": "fe"}},
                     template=template({"app": "web", "tier": "fe"}))
    assert verdict("Deployment", new, old) == (
        'Deployment.apps "web" is invalid: spec.selector: Invalid value: '
        '{"matchLabels":{"app":"web","tier":"fe"}}: field is immutable')


@pytest.mark.parametrize(("spec", "allowed"), [
    pytest.param({"replicas": 5}, True, id="replicas"),
    pytest.param({"template": template({"app": "redis"}, containers=[
        container(image="redis:7.4", volumeMounts=[{"name": "data", "mountPath": "/data"}])])},
        True, id="template"),
    pytest.param({"updateStrategy": {"type": "OnDelete"}}, True, id="update-strategy"),
    pytest.param({"minReadySeconds": 10}, True, id="min-ready"),
    pytest.param({"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete",
                                                           "whenScaled": "Retain"}},
                 True, id="retention"),
    pytest.param({"serviceName": "redis-headless"}, False, id="service-name"),
    pytest.param({"podManagementPolicy": "Parallel"}, False, id="pod-management"),
    pytest.param({"volumeClaimTemplates": []}, False, id="claims"),
])
def test_stateful_set_spec_is_mostly_frozen(spec: Obj, allowed: bool) -> None:
    """Only the fields the message lists may change."""
    old = stateful_set()
    errs = field_errors("StatefulSet", stateful_set(**spec), old)
    if allowed:
        assert errs == []
    else:
        assert errs[-1] == (
            "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', "
            "'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' "
            "and 'minReadySeconds' are forbidden")


POD_FORBIDDEN = (
    "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "
    "set to 1 if it was previously negative)")


@pytest.mark.parametrize(("edit", "expected"), [
    pytest.param(lambda o: o["spec"]["containers"][0].update(image="redis:7.4"), [], id="image"),
    pytest.param(lambda o: o["spec"].update(activeDeadlineSeconds=30), [], id="set-deadline"),
    pytest.param(lambda o: o["spec"].update(tolerations=[{"operator": "Exists"}]), [],
                 id="add-toleration"),
    pytest.param(lambda o: o["spec"]["containers"].append(container("sidecar")),
                 ["spec.containers: Forbidden: pod updates may not add or remove containers"],
                 id="add-container"),
])
def test_pod_update_allowed_and_counted(edit: Callable[[Obj], None],
                                        expected: list[str]) -> None:
    """Images, deadlines and new tolerations may change; the container count may not."""
    old = defaulted("Pod", pod())
    assert field_errors("Pod", changed(old, edit), old) == expected


@pytest.mark.parametrize("edit", [
    pytest.param(lambda o: o["spec"]["containers"][0].update(ports=[{"containerPort": 80}]),
                 id="ports"),
    pytest.param(lambda o: o["spec"].update(nodeName="node-2"), id="node-name"),
    pytest.param(lambda o: o["spec"].update(restartPolicy="Never"), id="restart-policy"),
    pytest.param(lambda o: o["spec"]["containers"][0].update(
        resources={"requests": {"cpu": "1"}}), id="resources"),
])
def test_pod_update_of_other_fields_is_forbidden(edit: Callable[[Obj], None]) -> None:
    """Any other change to a pod's spec gets the long Forbidden message, first line exact."""
    old = defaulted("Pod", pod())
    errs = field_errors("Pod", changed(old, edit), old)
    assert len(errs) == 1
    first_line, _, diff = errs[0].partition("\n")
    assert first_line == POD_FORBIDDEN
    assert diff.strip(), "the message goes on to show what changed"


def test_pod_deadline_and_tolerations_rules() -> None:
    """Deadlines may only shrink; existing tolerations may only change tolerationSeconds."""
    old = defaulted("Pod", pod(activeDeadlineSeconds=60, tolerations=[
        {"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}]))
    longer = changed(old, lambda o: o["spec"].update(activeDeadlineSeconds=120))
    assert field_errors("Pod", longer, old) == [
        "spec.activeDeadlineSeconds: Invalid value: 120: must be less than or equal to previous "
        "value"]
    retimed = changed(old, lambda o: o["spec"]["tolerations"][0].update(tolerationSeconds=5))
    assert field_errors("Pod", retimed, old) == []
    rekeyed = changed(old, lambda o: o["spec"]["tolerations"][0].update(key="b"))
    assert field_errors("Pod", rekeyed, old) == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its "
        "tolerationSeconds"]


def test_pod_status_change_is_not_a_spec_change() -> None:
    """A status write (the kubelet's) passes pod update validation."""
    old = defaulted("Pod", pod())
    new = changed(old, lambda o: o.update(status={"phase": "Running", "podIP": "127.0.10.5"}))
    assert field_errors("Pod", new, old) == []


def test_service_cluster_ip_is_immutable_once_set() -> None:
    """A Service keeps its cluster IP; omitting it is the server's to fill back in."""
    old = service(clusterIP="10.96.0.10")
    moved = service(clusterIP="10.96.0.11")
    assert field_errors("Service", moved, old) == [
        'spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set']
    assert field_errors("Service", service(), old) == []
    assert field_errors("Service", service(clusterIP="10.96.0.10", ports=[{"port": 80}]),
                        old) == []


def test_pvc_spec_is_immutable_except_growing_a_bound_claim() -> None:
    """Unbound claims are frozen; bound claims may grow but never shrink."""
    old = pvc()
    grown = pvc(resources={"requests": {"storage": "2Gi"}})
    errs = field_errors("PersistentVolumeClaim", grown, old)
    assert len(errs) == 1 and errs[0].startswith(
        "spec: Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims\n")
    bound_old = changed(defaulted("PersistentVolumeClaim", old),
                        lambda o: o.update(status={"phase": "Bound"}))
    bound_grown = changed(bound_old, lambda o: o["spec"].update(
        resources={"requests": {"storage": "2Gi"}}))
    assert field_errors("PersistentVolumeClaim", bound_grown, bound_old) == []
    bound_shrunk = changed(bound_old, lambda o: o["spec"].update(
        resources={"requests": {"storage": "512Mi"}}))
    assert field_errors("PersistentVolumeClaim", bound_shrunk, bound_old) == [
        "spec.resources.requests.storage: Forbidden: field can not be less than previous value"]
    bound = changed(old, lambda o: o["spec"].update(volumeName="pv-1"))
    assert field_errors("PersistentVolumeClaim", bound, old) == []


def test_immutable_config_maps_and_secrets() -> None:
    """`immutable: true` freezes data and itself; a Secret's type never changes."""
    old = config_map(immutable=True)
    edited = config_map(immutable=True, data={"redis.conf": "maxmemory 128mb"})
    assert field_errors("ConfigMap", edited, old) == [
        "data: Forbidden: field is immutable when `immutable` is set"]
    thawed = config_map(immutable=False)
    assert field_errors("ConfigMap", thawed, old) == [
        "immutable: Forbidden: field is immutable when `immutable` is set"]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": meta("s"), "type": "Opaque"}
    retyped = {**secret, "type": "example.com/custom"}
    assert field_errors("Secret", retyped, secret) == [
        'type: Invalid value: "example.com/custom": field is immutable']


def test_crd_group_and_plural_are_immutable() -> None:
    """The names that address stored objects cannot change; the kind can until established."""
    old = crd()
    renamed = changed(old, lambda o: o["spec"]["names"].update(kind="Failover"))
    assert field_errors("CustomResourceDefinition", renamed, old) == []
    established = changed(old, lambda o: o.update(status={"conditions": [
        {"type": "Established", "status": "True"}]}))
    assert field_errors("CustomResourceDefinition", renamed, established) == [
        'spec.names.kind: Invalid value: "Failover": field is immutable']
    replural = changed(old, lambda o: o["spec"]["names"].update(plural="failovers"))
    assert 'spec.names.plural: Invalid value: "failovers": field is immutable' in field_errors(
        "CustomResourceDefinition", replural, old)


def test_update_also_runs_create_checks() -> None:
    """An update is validated as a whole object too, not only for immutability."""
    old = deployment()
    assert verdict("Deployment", deployment(replicas=-1), old) == (
        'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater '
        "than or equal to 0")


def test_custom_kind_update_uses_schema() -> None:
    """Custom objects are revalidated against their schema on update."""
    rt = ResourceType("redisha.io", "v1", "RedisFailover", "redisfailovers", "redisfailover",
                      custom=True, schema={"type": "object", "properties": {"spec": {
                          "type": "object", "properties": {"replicas": {"type": "integer"}}}}})
    old = {"metadata": {"name": "rf", "namespace": "default"}, "spec": {"replicas": 3}}
    new = {"metadata": {"name": "rf", "namespace": "default"}, "spec": {"replicas": "three"}}
    assert [str(e) for e in validation.validate_update(rt, new, old)] == [
        'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: '
        '"string"']
