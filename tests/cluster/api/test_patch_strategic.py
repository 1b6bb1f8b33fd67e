"""Strategic merge patch: list strategies, directives, merge-key tables, bad patches.

Expected results were checked against `kubectl patch --local --type strategic`
(apimachinery v1.32), list order included.
"""

from __future__ import annotations

from typing import Any

import pytest

from cluster.api import errors
from cluster.api.objects import clone, get_path
from cluster.api.patch import ATOMIC, SET, MergeKeys, keyed, strategic_merge_patch


def _pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "web", "labels": {"app": "web", "tier": "db"},
            "finalizers": ["f1", "f2"],
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": "web-1", "uid": "u1"}],
        },
        "spec": {
            "containers": [
                {"name": "redis", "image": "redis:6",
                 "ports": [{"containerPort": 6379, "name": "redis"}],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "args": ["--appendonly", "yes"],
                 "volumeMounts": [{"name": "data", "mountPath": "/data"}]},
                {"name": "sidecar", "image": "busybox"},
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
            "tolerations": [{"key": "k", "operator": "Exists"}],
        },
        "status": {"conditions": [{"type": "Ready", "status": "False"},
                                  {"type": "Initialized", "status": "True"}]},
    }


def _service() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis"},
            "spec": {"selector": {"app": "redis"},
                     "ports": [{"name": "redis", "port": 6379, "targetPort": 6379},
                               {"name": "sentinel", "port": 26379}]}}


def _deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1,
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": "25%",
                                                    "maxUnavailable": "25%"}},
                     "template": {"spec": {"containers": [
                         {"name": "a", "image": "redis",
                          "ports": [{"containerPort": 1}, {"containerPort": 2}]}]}}}}


CASES = [
    pytest.param(_pod(), {"metadata": {"labels": {"tier": None, "zone": "a"}}},
                 "metadata.labels", {"app": "web", "zone": "a"}, id="null-removes-label"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "sidecar", "image": "busybox:2"}]}},
                 "spec.containers",
                 [_pod()["spec"]["containers"][0], {"name": "sidecar", "image": "busybox:2"}],
                 id="containers-merge-by-name"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "exporter", "image": "x"}]}},
                 "spec.containers",
                 [{"name": "exporter", "image": "x"}, *_pod()["spec"]["containers"]],
                 id="new-container-goes-first"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "redis", "image": "redis:7"},
                                                  {"name": "exporter", "image": "x"}]}},
                 "spec.containers[*].name", ["redis", "exporter", "sidecar"],
                 id="new-container-after-patched-one"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "sidecar", "image": "b"},
                                                  {"name": "redis", "image": "r"}]}},
                 "spec.containers[*].name", ["sidecar", "redis"],
                 id="patch-order-wins-for-patched-elements"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "redis", "$patch": "delete"}]}},
                 "spec.containers", [{"name": "sidecar", "image": "busybox"}],
                 id="patch-delete-removes-container"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "redis", "env": [
                     {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}]}},
                 "spec.containers[0].env",
                 [{"name": "A", "value": "1"}, {"name": "B", "value": "3"},
                  {"name": "C", "value": "4"}], id="env-merge-by-name"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "redis", "env": [
                     {"name": "A", "$patch": "delete"}]}]}},
                 "spec.containers[0].env", [{"name": "B", "value": "2"}],
                 id="env-delete-by-name"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "redis", "ports": [
                     {"containerPort": 6379, "protocol": "TCP"}, {"containerPort": 80}]}]}},
                 "spec.containers[0].ports",
                 [{"containerPort": 6379, "name": "redis", "protocol": "TCP"},
                  {"containerPort": 80}], id="container-ports-by-containerPort"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "redis", "volumeMounts": [
                     {"name": "other", "mountPath": "/data"}]}]}},
                 "spec.containers[0].volumeMounts", [{"name": "other", "mountPath": "/data"}],
                 id="volumeMounts-by-mountPath"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "redis", "args": ["--x"]}]}},
                 "spec.containers[0].args", ["--x"], id="args-are-atomic"),
    pytest.param(_pod(), {"spec": {"tolerations": [{"key": "z", "operator": "Exists"}]}},
                 "spec.tolerations", [{"key": "z", "operator": "Exists"}],
                 id="tolerations-are-atomic"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "only", "image": "o"},
                                                  {"$patch": "replace"}]}},
                 "spec.containers", [{"name": "only", "image": "o"}],
                 id="patch-replace-in-list"),
    pytest.param(_pod(), {"metadata": {"labels": {"new": "1", "$patch": "replace"}}},
                 "metadata.labels", {"new": "1"}, id="patch-replace-on-map"),
    pytest.param(_pod(), {"metadata": {"labels": {"$patch": "delete"}}},
                 "metadata.labels", {}, id="patch-delete-on-map"),
    pytest.param(_pod(), {"metadata": {"finalizers": ["f3", "f1"]}},
                 "metadata.finalizers", ["f3", "f1", "f2"], id="finalizers-merge-as-set"),
    pytest.param(_pod(), {"metadata": {"$deleteFromPrimitiveList/finalizers": ["f1"]}},
                 "metadata.finalizers", ["f2"], id="deleteFromPrimitiveList"),
    pytest.param(_pod(), {"metadata": {"$setElementOrder/finalizers": ["f2", "f1"]}},
                 "metadata.finalizers", ["f2", "f1"], id="setElementOrder-primitives"),
    pytest.param(_pod(), {"metadata": {"finalizers": ["f0"],
                                       "$setElementOrder/finalizers": ["f0", "f2", "f1"]}},
                 "metadata.finalizers", ["f0", "f2", "f1"], id="setElementOrder-with-add"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "c", "image": "c"}],
                                   "$setElementOrder/containers": [
                                       {"name": "sidecar"}, {"name": "c"}, {"name": "redis"}]}},
                 "spec.containers[*].name", ["sidecar", "c", "redis"],
                 id="setElementOrder-keyed"),
    pytest.param(_pod(), {"spec": {"volumes": [{"name": "data", "hostPath": {"path": "/x"},
                                                "$retainKeys": ["hostPath", "name"]}]}},
                 "spec.volumes", [{"name": "data", "hostPath": {"path": "/x"}}],
                 id="retainKeys-clears-other-volume-source"),
    pytest.param(_pod(), {"metadata": {"ownerReferences": [
                     {"apiVersion": "v1", "kind": "X", "name": "o2", "uid": "u2"}]}},
                 "metadata.ownerReferences[*].uid", ["u2", "u1"], id="ownerReferences-by-uid"),
    pytest.param(_pod(), {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                 "status.conditions",
                 [{"type": "Ready", "status": "True"}, {"type": "Initialized", "status": "True"}],
                 id="conditions-by-type"),
    pytest.param(_pod(), {"spec": {"containers": []}}, "spec.containers",
                 _pod()["spec"]["containers"], id="empty-keyed-list-changes-nothing"),
    pytest.param(_pod(), {"spec": {"tolerations": None}}, "spec.tolerations", None,
                 id="null-removes-list"),
    pytest.param(_pod(), {"metadata": {"labels": "oops"}}, "metadata.labels", "oops",
                 id="type-change-replaces"),
    pytest.param(_pod(), {"spec": {"containers": [{"name": "redis", "env": [
                     {"name": "ZZ", "$patch": "delete"}]}]}},
                 "spec.containers[0].env", _pod()["spec"]["containers"][0]["env"],
                 id="delete-of-absent-element-is-noop"),
    pytest.param(_pod(), {"spec": {"nodeSelector": {"disk": "ssd", "gone": None},
                                   "overhead": {"$patch": "delete"}}},
                 "spec.nodeSelector", {"disk": "ssd"}, id="new-map-drops-nulls"),
    pytest.param(_pod(), {"spec": {"overhead": {"$patch": "delete"}}}, "spec.overhead", None,
                 id="delete-directive-on-absent-map"),
    pytest.param(_pod(), {"spec": {"hostAliases": [
                     {"ip": "10.0.0.1", "hostnames": ["a"]}, {"ip": "10.0.0.1", "hostnames": ["b"]},
                     {"ip": "10.0.0.2", "$patch": "delete"}]}},
                 "spec.hostAliases", [{"ip": "10.0.0.1", "hostnames": ["a"]},
                                      {"ip": "10.0.0.1", "hostnames": ["b"]}],
                 id="new-list-taken-as-written"),
    pytest.param(_service(), {"spec": {"ports": [{"port": 6379, "targetPort": 7000},
                                                 {"name": "x", "port": 80}]}},
                 "spec.ports",
                 [{"name": "redis", "port": 6379, "targetPort": 7000}, {"name": "x", "port": 80},
                  {"name": "sentinel", "port": 26379}], id="service-ports-by-port"),
    pytest.param(_service(), {"spec": {"ports": [{"port": 26379, "$patch": "delete"}]}},
                 "spec.ports", [{"name": "redis", "port": 6379, "targetPort": 6379}],
                 id="service-port-delete"),
    pytest.param(_deployment(), {"spec": {"strategy": {"type": "Recreate",
                                                       "$retainKeys": ["type"]}}},
                 "spec.strategy", {"type": "Recreate"}, id="deployment-strategy-retainKeys"),
    pytest.param(_deployment(), {"spec": {"template": {"spec": {"containers": [
                     {"name": "a", "ports": [{"containerPort": 2, "name": "two"}]}]}}}},
                 "spec.template.spec.containers[0].ports",
                 [{"containerPort": 1}, {"containerPort": 2, "name": "two"}],
                 id="pod-template-container-ports"),
]


def _select(obj: Any, path: str) -> Any:
    """`get_path` plus `[i]` and `[*].field` steps, for pointing into lists."""
    if "[*]." in path:
        head, _, field = path.partition("[*].")
        return [_select(item, field) for item in _select(obj, head)]
    current = obj
    for part in path.split("."):
        name, _, index = part.partition("[")
        current = get_path(current, name)
        if index:
            current = current[int(index.rstrip("]"))]
    return current


@pytest.mark.parametrize(("target", "patch", "path", "expected"), CASES)
def test_strategic_merge_patch(target: dict[str, Any], patch: dict[str, Any], path: str,
                               expected: Any) -> None:
    """Each case gives the value apimachinery gives at the inspected path."""
    assert _select(strategic_merge_patch(target, patch), path) == expected


@pytest.mark.parametrize(("target", "patch", "path", "expected"), CASES)
def test_strategic_merge_patch_never_mutates_inputs(target: dict[str, Any],
                                                    patch: dict[str, Any], path: str,
                                                    expected: Any) -> None:
    """Neither the target nor the patch changes, and the result shares nothing."""
    target_before, patch_before = clone(target), clone(patch)
    result = strategic_merge_patch(target, patch)
    assert (target, patch) == (target_before, patch_before)
    result["metadata"]["name"] = "changed"
    result["spec"].clear()
    assert target == target_before


def test_strategic_merge_patch_whole_object_replace() -> None:
    """`$patch: replace` at the top level replaces the whole object."""
    result = strategic_merge_patch(_pod(), {"$patch": "replace", "kind": "Pod",
                                            "metadata": {"name": "x"}})
    assert result == {"kind": "Pod", "metadata": {"name": "x"}}


def test_unrelated_fields_survive() -> None:
    """Fields the patch does not mention are kept exactly."""
    result = strategic_merge_patch(_pod(), {"spec": {"containers": [{"name": "redis",
                                                                     "image": "redis:7"}]}})
    expected = _pod()
    expected["spec"]["containers"][0]["image"] = "redis:7"
    assert result == expected


BAD_PATCHES = [
    pytest.param({"metadata": {"labels": {"$patch": "frob"}}},
                 r'unknown patch type "frob" in map .*\(at metadata\.labels\)',
                 id="bad-map-directive"),
    pytest.param({"spec": {"containers": [{"name": "x", "$patch": "frob"}]}},
                 r'unknown patch type "frob" in list element .*\(at spec\.containers\)',
                 id="bad-list-directive"),
    pytest.param({"spec": {"containers": [{"$patch": "merge"}]}},
                 r"merging lists cannot yet be specified", id="patch-merge-in-list"),
    pytest.param({"spec": {"containers": [{"image": "x"}]}},
                 r"does not contain the merge key 'name' \(at spec\.containers\)",
                 id="element-without-merge-key"),
    pytest.param({"spec": {"containers": [{"$patch": "delete"}]}},
                 r"\$patch: delete element .* does not contain the merge key 'name'",
                 id="delete-without-merge-key"),
    pytest.param({"spec": {"containers": ["redis"]}},
                 r'list element "redis" is not an object', id="scalar-in-keyed-list"),
    pytest.param({"spec": {"volumes": [{"name": "data", "hostPath": {},
                                        "$retainKeys": ["hostPath"]}]}},
                 r"field 'name' is in the patch but not in \$retainKeys \(at spec\.volumes\[\]\)",
                 id="retainKeys-missing-patched-field"),
    pytest.param({"spec": {"$retainKeys": "containers"}},
                 r"\$retainKeys must be a list of field names", id="retainKeys-not-list"),
    pytest.param({"metadata": {"$deleteFromPrimitiveList/finalizers": "f1"}},
                 r"must be a list of primitives", id="deletion-list-not-list"),
    pytest.param({"metadata": {"$setElementOrder/finalizers": "f1"}},
                 r"\$setElementOrder/finalizers must be a list", id="order-not-list"),
    pytest.param({"metadata": {"$setElementOrder": ["f1"]}},
                 r"must name its list", id="order-without-field"),
    pytest.param({"spec": {"containers": [{"name": "redis"}, {"name": "sidecar"}],
                           "$setElementOrder/containers": [{"name": "sidecar"},
                                                           {"name": "redis"}]}},
                 r"the order of the patch list does not match \$setElementOrder/containers",
                 id="order-contradicts-patch"),
    pytest.param({"spec": {"tolerations": [{"key": "a", "$patch": "delete"}]}},
                 r"\$patch: delete needs a list merged by key", id="delete-in-atomic-list"),
    pytest.param({"metadata": {"finalizers": [{"a": 1}]}},
                 r"merges as a set of primitives", id="object-in-primitive-set"),
]


@pytest.mark.parametrize(("patch", "message"), BAD_PATCHES)
def test_malformed_patch_is_bad_request(patch: dict[str, Any], message: str) -> None:
    """A malformed patch raises BadRequest with a one-line message; the target is untouched."""
    target = _pod()
    with pytest.raises(errors.BadRequest, match=message) as caught:
        strategic_merge_patch(target, patch)
    assert "\n" not in caught.value.message
    assert target == _pod()


@pytest.mark.parametrize("value", [pytest.param([1], id="list"), pytest.param("x", id="str")])
def test_non_object_patch_is_bad_request(value: Any) -> None:
    """A strategic merge patch must be a JSON object."""
    with pytest.raises(errors.BadRequest, match="must be a JSON object"):
        strategic_merge_patch(_pod(), value)


# Merge-key tables ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "path", "expected"), [
    pytest.param("Pod", ("spec", "containers"), keyed("name"), id="pod-containers"),
    pytest.param("Pod", ("spec", "containers[]", "ports"), keyed("containerPort"),
                 id="pod-container-ports"),
    pytest.param("Deployment", ("spec", "template", "spec", "initContainers[]", "env"),
                 keyed("name"), id="deployment-init-env"),
    pytest.param("Service", ("spec", "ports"), keyed("port"), id="service-ports"),
    pytest.param("Pod", ("spec", "tolerations"), ATOMIC, id="tolerations"),
    pytest.param("Pod", ("spec", "containers[]", "command"), ATOMIC, id="command"),
    pytest.param("StatefulSet", ("metadata", "finalizers"), SET, id="finalizers"),
    pytest.param("Node", ("status", "conditions"), keyed("type"), id="node-conditions"),
    pytest.param("Pod", ("metadata", "ownerReferences"), keyed("uid"), id="ownerReferences"),
    pytest.param("Service", ("spec", "selector"), None, id="no-entry"),
    pytest.param("RedisFailover", ("spec", "containers[]", "ports"), None,
                 id="custom-kind-has-no-pod-table"),
    pytest.param("RedisFailover", ("metadata", "finalizers"), SET,
                 id="custom-kind-keeps-object-meta"),
])
def test_merge_keys_for_kind(kind: str, path: tuple[str, ...], expected: Any) -> None:
    """The built-in tables name each field's strategy; the longest pattern wins."""
    assert MergeKeys.for_kind(kind).lookup(path) == expected


def test_custom_kind_lists_merge_by_name() -> None:
    """A custom kind's list of named objects merges by name; other lists are replaced."""
    target = {"kind": "RedisFailover", "spec": {
        "members": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}],
        "ports": [{"port": 1}], "tags": ["x", "y"]}}
    patch = {"spec": {"members": [{"name": "b", "weight": 5}],
                      "ports": [{"port": 2}], "tags": ["z"]}}
    assert strategic_merge_patch(target, patch)["spec"] == {
        "members": [{"name": "a", "weight": 1}, {"name": "b", "weight": 5}],
        "ports": [{"port": 2}], "tags": ["z"]}


def test_custom_merge_keys_override_the_default() -> None:
    """A caller-supplied table decides the strategy of its fields."""
    keys = MergeKeys.for_kind("RedisFailover").extended({"spec.ports": keyed("port"),
                                                         "spec.members": ATOMIC})
    target = {"kind": "RedisFailover", "spec": {"members": [{"name": "a"}],
                                                "ports": [{"port": 1, "x": 1}]}}
    patch = {"spec": {"members": [{"name": "b"}], "ports": [{"port": 1, "x": 2},
                                                            {"port": 2}]}}
    assert strategic_merge_patch(target, patch, merge_keys=keys)["spec"] == {
        "members": [{"name": "b"}], "ports": [{"port": 1, "x": 2}, {"port": 2}]}


def test_merge_keys_are_read_only() -> None:
    """The table handed out by `for_kind` cannot be changed by a caller."""
    keys = MergeKeys.for_kind("Pod")
    with pytest.raises(TypeError):
        keys.fields["spec.tolerations"] = SET  # type: ignore[index]
    assert MergeKeys.for_kind("Pod").lookup(("spec", "tolerations")) == ATOMIC


def test_name_fallback_can_be_turned_off() -> None:
    """Without the fallback, unlisted lists of named objects are replaced."""
    keys = MergeKeys(name_fallback=False)
    target = {"spec": {"members": [{"name": "a"}]}}
    patch = {"spec": {"members": [{"name": "b"}]}}
    assert strategic_merge_patch(target, patch, merge_keys=keys) == patch
