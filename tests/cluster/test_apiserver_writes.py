"""The API server's create/update/patch path: defaulting, status, generation, bad input."""

from __future__ import annotations

import pytest

from cluster.api import errors, objects
from cluster.client import PatchType

from tests.cluster.apiserver_helpers import configmap, deployment, make_api, pod


def test_create_defaults_identity_and_namespace() -> None:
    """uid, creationTimestamp, generation, namespace default and a resourceVersion are set."""
    api = make_api()
    created = api.create(pod("redis"))
    m = created["metadata"]
    assert m["namespace"] == "default" and m["generation"] == 1
    assert len(m["uid"]) == 36 and m["creationTimestamp"] == "2023-11-14T22:13:20Z"
    assert m["resourceVersion"] == str(api.revision)
    assert created["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_generate_name_gets_a_five_character_suffix() -> None:
    """generateName `web-` becomes `web-xxxxx` from Kubernetes' suffix alphabet."""
    api = make_api()
    obj = pod("")
    del obj["metadata"]["name"]
    obj["metadata"]["generateName"] = "web-"
    name = api.create(obj)["metadata"]["name"]
    assert name.startswith("web-") and len(name) == 9
    assert set(name[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_status_and_spec_are_written_separately() -> None:
    """update ignores status, update_status ignores spec; generation counts spec changes."""
    api = make_api()
    d = api.create(deployment("web"))
    changed = {**d, "spec": {**d["spec"], "replicas": 3}, "status": {"replicas": 99}}
    after = api.update(changed)
    assert after["spec"]["replicas"] == 3 and "status" not in after
    assert after["metadata"]["generation"] == 2
    status = {**after, "spec": {**after["spec"], "replicas": 7}, "status": {"replicas": 3}}
    after2 = api.update_status(status)
    assert after2["spec"]["replicas"] == 3 and after2["status"] == {"replicas": 3}
    assert after2["metadata"]["generation"] == 2
    labelled = {**after2, "metadata": {**after2["metadata"], "labels": {"x": "y"}}}
    assert api.update(labelled)["metadata"]["generation"] == 2


def test_noop_update_is_not_a_write() -> None:
    """Writing back an unchanged object leaves the revision where it was."""
    api = make_api()
    cm = api.create(configmap("c"))
    before = api.revision
    assert api.update(cm)["metadata"]["resourceVersion"] == cm["metadata"]["resourceVersion"]
    assert api.revision == before


@pytest.mark.parametrize("patch_type,body,expect", [
    pytest.param(PatchType.MERGE, {"metadata": {"labels": {"a": "1"}}}, {"a": "1"}, id="merge"),
    pytest.param(PatchType.STRATEGIC, {"metadata": {"labels": {"b": "2"}}}, {"b": "2"}, id="strategic"),
    pytest.param(PatchType.JSON, [{"op": "add", "path": "/metadata/labels", "value": {"c": "3"}}],
                 {"c": "3"}, id="json"),
])
def test_patch_types(patch_type: PatchType, body, expect) -> None:
    """Each patch format changes what it says and nothing else."""
    api = make_api()
    api.create(pod("p"))
    out = api.patch("pods", "p", body, patch_type=patch_type)
    assert out["metadata"]["labels"] == expect
    assert out["spec"]["containers"][0]["image"] == "redis"


def test_strategic_patch_merges_containers_by_name() -> None:
    """A strategic patch naming one container changes that one and keeps the rest."""
    api = make_api()
    two = pod("p")
    two["spec"]["containers"].append({"name": "log", "image": "busybox"})
    api.create(two)
    out = api.patch("pods", "p", {"spec": {"containers": [{"name": "c", "image": "redis:7"}]}},
                    patch_type=PatchType.STRATEGIC)
    assert [(c["name"], c["image"]) for c in out["spec"]["containers"]] == \
        [("c", "redis:7"), ("log", "busybox")]


def _rejects(api, call, error: type, message: str) -> None:
    before = api.revision
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert api.revision == before


BAD_INPUT = [
    pytest.param(lambda api: api.create({"apiVersion": "v1", "kind": "Pdo", "metadata": {"name": "x"}}),
                 errors.NotFound, 'no matches for kind "Pdo" in version "v1"', id="unknown-kind"),
    pytest.param(lambda api: api.create({"kind": "Pod", "metadata": {"name": "x"}}),
                 errors.BadRequest, "apiVersion not set", id="no-apiVersion"),
    pytest.param(lambda api: api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                                         "spec": {"containers": [{"name": "c"}]}}),
                 errors.Invalid, 'Pod "x" is invalid: spec.containers[0].image: Required value',
                 id="missing-required"),
    pytest.param(lambda api: api.create(deployment("web", replicas=-1)),
                 errors.Invalid,
                 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: '
                 'must be greater than or equal to 0', id="negative-replicas"),
    pytest.param(lambda api: api.create(deployment("web", replicas="three")),
                 errors.Invalid, "spec.replicas", id="wrong-type"),
    pytest.param(lambda api: api.create(pod("Bad_Name")),
                 errors.Invalid, 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123',
                 id="invalid-name"),
    pytest.param(lambda api: api.create(pod("redis", ns="nowhere")),
                 errors.NotFound, 'namespaces "nowhere" not found', id="missing-namespace"),
]


@pytest.mark.parametrize("call,error,message", BAD_INPUT)
def test_bad_input_is_one_line_and_writes_nothing(call, error, message) -> None:
    """Each refusal names the field or thing at fault in one line; the revision is unchanged."""
    api = make_api()
    api.create(pod("redis"))
    _rejects(api, lambda: call(api), error, message)


def test_duplicate_stale_and_missing_are_refused_without_a_write() -> None:
    """Duplicate create, stale update and delete of a missing object change nothing."""
    api = make_api()
    first = api.create(pod("redis"))
    api.patch("pods", "redis", {"metadata": {"labels": {"v": "2"}}})
    _rejects(api, lambda: api.create(pod("redis")), errors.AlreadyExists,
             'pods "redis" already exists')
    _rejects(api, lambda: api.update(first), errors.Conflict,
             'Operation cannot be fulfilled on pods "redis": the object has been modified')
    _rejects(api, lambda: api.delete("pods", "ghost"), errors.NotFound, 'pods "ghost" not found')
    _rejects(api, lambda: api.get("deploy", "ghost"), errors.NotFound,
             'deployments.apps "ghost" not found')


def test_pods_get_default_not_ready_and_unreachable_tolerations() -> None:
    """DefaultTolerationSeconds: 300 s for not-ready and unreachable, unless the pod has its own."""
    api = make_api()
    tolerations = api.create(pod("p"))["spec"]["tolerations"]
    assert {(t["key"], t["tolerationSeconds"]) for t in tolerations} == {
        ("node.kubernetes.io/not-ready", 300), ("node.kubernetes.io/unreachable", 300)}
    own = pod("q")
    own["spec"]["tolerations"] = [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                   "effect": "NoExecute", "tolerationSeconds": 5}]
    keys = [(t["key"], t["tolerationSeconds"]) for t in api.create(own)["spec"]["tolerations"]]
    assert keys == [("node.kubernetes.io/unreachable", 5), ("node.kubernetes.io/not-ready", 300)]


def test_service_update_without_cluster_ip_keeps_the_allocated_one() -> None:
    """ClusterIP is allocated on create and survives an update that omits it."""
    api = make_api()
    svc = objects.clone(api.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}))
    ip = svc["spec"]["clusterIP"]
    assert ip.startswith("10.96.")
    del svc["spec"]["clusterIP"], svc["spec"]["clusterIPs"]
    svc["spec"]["ports"][0]["port"] = 8080
    assert api.update(svc)["spec"]["clusterIP"] == ip


def test_only_kinds_a_controller_follows_keep_a_generation() -> None:
    """A Deployment counts its spec changes in metadata.generation; a ConfigMap has none,
    before or after a change, as in kube-apiserver."""
    api = make_api()
    cm = api.create(configmap("cfg"))
    assert "generation" not in cm["metadata"]
    changed = api.update({**cm, "data": {"k": "w"}})
    assert "generation" not in changed["metadata"]
    assert api.create(deployment("web"))["metadata"]["generation"] == 1


def test_a_dry_run_is_answered_as_the_write_and_stores_nothing() -> None:
    """create/update/patch with dry_run run defaulting, validation and admission, answer
    with the would-be object and leave the store's revision where it was."""
    api = make_api()
    web = api.create(deployment("web"))
    before = api.revision
    made = api.create(pod("p"), dry_run=True)
    assert made["metadata"]["uid"] and "resourceVersion" not in made["metadata"]
    assert made["spec"]["tolerations"]  # admitted: DefaultTolerationSeconds ran
    patched = api.patch("deployments.apps", "web", {"spec": {"replicas": 5}}, "default",
                        dry_run=True)
    assert patched["spec"]["replicas"] == 5 and patched["metadata"]["generation"] == 2
    updated = api.update({**web, "spec": {**web["spec"], "replicas": 7}}, dry_run=True)
    assert updated["spec"]["replicas"] == 7
    assert api.revision == before and api.list("pods", "default")[0] == []
    assert api.get("deployments.apps", "web", "default")["spec"]["replicas"] == 1
    with pytest.raises(errors.AlreadyExists):
        api.create(deployment("web"), dry_run=True)
    with pytest.raises(errors.Invalid):
        api.patch("deployments.apps", "web", {"spec": {"replicas": -1}}, "default",
                  dry_run=True)
