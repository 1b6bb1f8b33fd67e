"""The three-way patch `kubectl apply` sends: last-applied, new config, live object."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.api import errors
from cluster.api.objects import clone
from cluster.api.patch import create_three_way_merge_patch, strategic_merge_patch


def _manifest(image: str = "redis:7", labels: dict[str, str] | None = None) -> dict[str, Any]:
    """What a user applies."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "labels": labels if labels is not None
                         else {"app": "web", "tier": "db"}},
            "spec": {"containers": [{"name": "redis", "image": image,
                                     "ports": [{"containerPort": 6379}]},
                                    {"name": "sidecar", "image": "busybox"}]}}


def _live(manifest: dict[str, Any]) -> dict[str, Any]:
    """`manifest` as the server stores it: defaults, server-set metadata and status added."""
    obj = clone(manifest)
    obj["metadata"].update({"uid": "u-1", "resourceVersion": "7",
                            "creationTimestamp": "2024-01-01T00:00:00Z"})
    obj["spec"]["nodeName"] = "node-1"
    obj["spec"]["restartPolicy"] = "Always"
    for container in obj["spec"]["containers"]:
        container["terminationMessagePath"] = "/dev/termination-log"
        for port in container.get("ports", ()):
            port["protocol"] = "TCP"
    obj["status"] = {"phase": "Running", "podIP": "10.0.0.5",
                     "conditions": [{"type": "Ready", "status": "True"}]}
    return obj


def test_unchanged_apply_is_empty() -> None:
    """Re-applying the same config to an object the server filled in sends `{}`."""
    manifest = _manifest()
    assert create_three_way_merge_patch(manifest, manifest, _live(manifest)) == {}


def test_first_apply_over_existing_object_without_changes_is_empty() -> None:
    """With no last-applied config and nothing different, the patch is empty."""
    manifest = _manifest()
    assert create_three_way_merge_patch(None, manifest, _live(manifest)) == {}


CASES = [
    pytest.param(_manifest(), _manifest(labels={"app": "web"}), _live(_manifest()),
                 {"metadata": {"labels": {"tier": None}}}, id="removed-label"),
    pytest.param(_manifest(), _manifest(image="redis:7.2"), _live(_manifest()),
                 {"spec": {"containers": [{"name": "redis", "image": "redis:7.2"}],
                           "$setElementOrder/containers": [{"name": "redis"},
                                                           {"name": "sidecar"}]}},
                 id="changed-image"),
    pytest.param(None, _manifest(labels={"app": "web"}), _live(_manifest()), {},
                 id="no-last-applied-means-no-deletions"),
    pytest.param(_manifest(labels={"app": "web", "gone": "x"}), _manifest(),
                 _live(_manifest()), {}, id="deleting-what-is-already-gone-is-a-no-op"),
    pytest.param(_manifest(), _manifest(), _live(_manifest(image="hotfix")),
                 {"spec": {"containers": [{"name": "redis", "image": "redis:7"}],
                           "$setElementOrder/containers": [{"name": "redis"},
                                                           {"name": "sidecar"}]}},
                 id="config-wins-over-live-edit"),
]


@pytest.mark.parametrize(("original", "modified", "current", "expected"), CASES)
def test_three_way_patch(original: dict[str, Any] | None, modified: dict[str, Any],
                         current: dict[str, Any], expected: dict[str, Any]) -> None:
    """The patch holds exactly the changes and deletions apply should send."""
    assert create_three_way_merge_patch(original, modified, current) == expected


@pytest.mark.parametrize(("original", "modified", "current", "expected"), CASES)
def test_three_way_patch_never_mutates_inputs(original: dict[str, Any] | None,
                                              modified: dict[str, Any],
                                              current: dict[str, Any],
                                              expected: dict[str, Any]) -> None:
    """Computing the patch leaves all three documents as they were."""
    before = clone([original, modified, current])
    patch = create_three_way_merge_patch(original, modified, current)
    patch.clear()
    assert [original, modified, current] == before


def test_server_set_fields_survive_apply() -> None:
    """Status, defaults and server metadata are kept when the patch is applied."""
    old, new = _manifest(), _manifest(image="redis:7.2", labels={"app": "web"})
    live = _live(old)
    result = strategic_merge_patch(live, create_three_way_merge_patch(old, new, live))
    assert result["metadata"]["labels"] == {"app": "web"}
    assert result["metadata"]["uid"] == "u-1"
    assert result["status"] == live["status"]
    assert result["spec"]["nodeName"] == "node-1"
    assert result["spec"]["containers"][0] == {
        "name": "redis", "image": "redis:7.2", "terminationMessagePath": "/dev/termination-log",
        "ports": [{"containerPort": 6379, "protocol": "TCP"}]}


def test_container_removed_from_config_is_deleted() -> None:
    """A container dropped since last-applied is sent as `$patch: delete` and removed."""
    old = _manifest()
    new = clone(old)
    del new["spec"]["containers"][1]
    live = _live(old)
    patch = create_three_way_merge_patch(old, new, live)
    assert patch == {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}],
                              "$setElementOrder/containers": [{"name": "redis"}]}}
    names = [c["name"] for c in strategic_merge_patch(live, patch)["spec"]["containers"]]
    assert names == ["redis"]


def test_container_added_by_someone_else_is_kept() -> None:
    """An element only the live object has (injected sidecar) is left alone."""
    manifest = _manifest()
    live = _live(manifest)
    live["spec"]["containers"].append({"name": "injected", "image": "proxy"})
    new = _manifest(image="redis:7.2")
    result = strategic_merge_patch(live, create_three_way_merge_patch(manifest, new, live))
    assert [c["name"] for c in result["spec"]["containers"]] == ["redis", "sidecar", "injected"]
    assert result["spec"]["containers"][0]["image"] == "redis:7.2"


def test_reordered_containers_send_only_the_order() -> None:
    """Changing only the order sends `$setElementOrder` and nothing else."""
    old = _manifest()
    new = clone(old)
    new["spec"]["containers"].reverse()
    live = _live(old)
    patch = create_three_way_merge_patch(old, new, live)
    assert patch == {"spec": {"$setElementOrder/containers": [{"name": "sidecar"},
                                                              {"name": "redis"}]}}
    names = [c["name"] for c in strategic_merge_patch(live, patch)["spec"]["containers"]]
    assert names == ["sidecar", "redis"]


def test_finalizer_removed_from_config() -> None:
    """A finalizer dropped from the config goes out as `$deleteFromPrimitiveList`."""
    old = _manifest()
    old["metadata"]["finalizers"] = ["example.com/a", "example.com/b"]
    new = clone(old)
    new["metadata"]["finalizers"] = ["example.com/a"]
    live = _live(old)
    live["metadata"]["finalizers"].append("server.io/c")
    patch = create_three_way_merge_patch(old, new, live)
    assert patch == {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/b"],
                                  "$setElementOrder/finalizers": ["example.com/a"]}}
    result = strategic_merge_patch(live, patch)
    assert result["metadata"]["finalizers"] == ["example.com/a", "server.io/c"]


def test_deployment_strategy_switch_clears_defaulted_rolling_update() -> None:
    """Switching to Recreate sends `$retainKeys`, so the defaulted rollingUpdate goes."""
    old = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"strategy": {"type": "RollingUpdate"}}}
    new = clone(old)
    new["spec"]["strategy"] = {"type": "Recreate"}
    live = clone(old)
    live["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": "25%", "maxUnavailable": "25%"}
    patch = create_three_way_merge_patch(old, new, live)
    assert patch == {"spec": {"strategy": {"type": "Recreate", "$retainKeys": ["type"]}}}
    assert strategic_merge_patch(live, patch)["spec"]["strategy"] == {"type": "Recreate"}
    assert create_three_way_merge_patch(old, old, live) == {}


def test_service_port_changed_by_port_key() -> None:
    """Service ports are diffed by `port`: only the changed port is sent."""
    old = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"name": "redis", "port": 6379, "targetPort": 6379},
                              {"name": "sentinel", "port": 26379}]}}
    new = clone(old)
    new["spec"]["ports"][0]["targetPort"] = 7000
    live = clone(old)
    live["spec"]["clusterIP"] = "10.96.0.10"
    patch = create_three_way_merge_patch(old, new, live)
    assert patch == {"spec": {"ports": [{"port": 6379, "targetPort": 7000}],
                              "$setElementOrder/ports": [{"port": 6379}, {"port": 26379}]}}
    result = strategic_merge_patch(live, patch)
    assert result["spec"] == {**new["spec"], "clusterIP": "10.96.0.10"}


def test_type_change_replaces_value() -> None:
    """A field whose type changed is sent whole."""
    old = {"kind": "Widget", "spec": {"size": {"cpu": 1}}}
    new = {"kind": "Widget", "spec": {"size": "large"}}
    assert create_three_way_merge_patch(old, new, clone(old)) == {"spec": {"size": "large"}}


@pytest.mark.parametrize(("original", "modified", "current", "message"), [
    pytest.param(None, [], {}, "the modified object must be an object", id="modified-list"),
    pytest.param(None, {}, "x", "the current object must be an object", id="current-str"),
    pytest.param([], {}, {}, "the original object must be an object or None",
                 id="original-list"),
    pytest.param(None, {"kind": "Pod", "spec": {"containers": [{"image": "x"}]}},
                 {"kind": "Pod", "spec": {"containers": [{"name": "a"}]}},
                 "does not contain the merge key 'name'", id="container-without-name"),
])
def test_three_way_rejects_malformed_input(original: Any, modified: Any, current: Any,
                                           message: str) -> None:
    """Inputs of the wrong shape raise BadRequest naming the problem."""
    with pytest.raises(errors.BadRequest, match=message):
        create_three_way_merge_patch(original, modified, current)
