"""Deletion: finalizers, cascading through owner chains, namespaces, graceful pods."""

from __future__ import annotations

import pytest

from cluster.api import errors
from cluster.client import EventType, PropagationPolicy

from tests.cluster.apiserver_helpers import configmap, make_api, owned_by, pod


def chain(api):
    """A three-level owner chain: cm `top` owns cm `mid`, which owns pod `leaf`."""
    top = api.create(configmap("top"))
    mid = api.create(owned_by(configmap("mid"), top))
    leaf = api.create(owned_by(pod("leaf"), mid))
    return top, mid, leaf


def exists(api, resource: str, name: str) -> bool:
    try:
        api.get(resource, name)
        return True
    except errors.NotFound:
        return False


def test_background_cascade_removes_owner_first_then_dependents() -> None:
    """Background: the owner goes at once, then every level below it."""
    api = make_api()
    chain(api)
    w = api.watch("configmaps", resource_version=api.revision)
    wp = api.watch("pods", resource_version=api.revision)
    gone = api.delete("configmaps", "top", propagation_policy=PropagationPolicy.BACKGROUND)
    assert not gone["metadata"].get("finalizers")
    assert not exists(api, "configmaps", "top") and not exists(api, "configmaps", "mid")
    assert not exists(api, "pods", "leaf")
    cms = [(e.revision, e.type, e.object["metadata"]["name"]) for e in w.drain()]
    pods = [(e.revision, e.type, e.object["metadata"]["name"]) for e in wp.drain()]
    assert [(t, n) for _, t, n in sorted(cms + pods)] == [
        (EventType.DELETED, "top"), (EventType.DELETED, "mid"), (EventType.DELETED, "leaf")]


def test_foreground_cascade_keeps_owner_until_dependents_are_gone() -> None:
    """Foreground: owner marked with foregroundDeletion; leaves go first, owner last."""
    api = make_api()
    _, _, leaf = chain(api)
    hold = api.get("pods", "leaf")
    hold = {**hold, "metadata": {**hold["metadata"], "finalizers": ["example.com/hold"]}}
    api.update(hold)
    start = api.revision
    result = api.delete("configmaps", "top", propagation_policy=PropagationPolicy.FOREGROUND)
    assert result["metadata"]["deletionTimestamp"]
    assert "foregroundDeletion" in result["metadata"]["finalizers"]
    mid = api.get("configmaps", "mid")
    assert "foregroundDeletion" in mid["metadata"]["finalizers"]
    assert exists(api, "configmaps", "top")
    assert api.get("pods", "leaf")["metadata"]["deletionTimestamp"]
    # Releasing the leaf's own finalizer lets the whole chain finish, bottom-up.
    leaf_now = api.get("pods", "leaf")
    api.update({**leaf_now, "metadata": {**leaf_now["metadata"], "finalizers": []}})
    assert not any(exists(api, r, n) for r, n in
                   (("pods", "leaf"), ("configmaps", "mid"), ("configmaps", "top")))
    deletes = []
    for resource in ("pods", "configmaps"):
        w = api.watch(resource, resource_version=start)
        deletes += [(e.revision, e.object["metadata"]["name"]) for e in w.drain()
                    if e.type is EventType.DELETED]
    assert [n for _, n in sorted(deletes)] == ["leaf", "mid", "top"]


def test_orphan_leaves_dependents_without_the_reference() -> None:
    """Orphan: the owner goes, dependents stay and lose their ownerReference."""
    api = make_api()
    chain(api)
    api.delete("configmaps", "top", propagation_policy=PropagationPolicy.ORPHAN)
    assert not exists(api, "configmaps", "top")
    assert "ownerReferences" not in api.get("configmaps", "mid")["metadata"]
    assert exists(api, "pods", "leaf")


def test_dependent_with_another_live_owner_survives() -> None:
    """The GC only deletes a dependent once all its owners are gone."""
    api = make_api()
    a, b = api.create(configmap("a")), api.create(configmap("b"))
    shared = owned_by(pod("shared"), a)
    second = owned_by(pod("x"), b)["metadata"]["ownerReferences"][0]
    shared["metadata"]["ownerReferences"].append({**second, "controller": False})
    api.create(shared)
    api.delete("configmaps", "a")
    refs = api.get("pods", "shared")["metadata"]["ownerReferences"]
    assert [r["name"] for r in refs] == ["b"]
    api.delete("configmaps", "b")
    assert not exists(api, "pods", "shared")


def test_finalizer_holds_an_object_until_removed() -> None:
    """A finalizer turns delete into a deletionTimestamp; clearing it completes deletion."""
    api = make_api()
    api.create(configmap("c", finalizers=["example.com/x"]))
    marked = api.delete("configmaps", "c")
    assert marked["metadata"]["deletionTimestamp"] and exists(api, "configmaps", "c")
    api.patch("configmaps", "c", {"metadata": {"finalizers": None}})
    assert not exists(api, "configmaps", "c")


def test_bound_pod_waits_for_its_kubelet_unless_forced() -> None:
    """A pod on a node gets deletionTimestamp + grace; grace 0 removes it."""
    api = make_api()
    p = pod("p")
    p["spec"]["nodeName"] = "node-1"
    api.create(p)
    marked = api.delete("pods", "p")
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert exists(api, "pods", "p")
    api.delete("pods", "p", grace_period_seconds=0)
    assert not exists(api, "pods", "p")


def test_deleting_a_namespace_deletes_its_contents() -> None:
    """Namespace → Terminating, contents deleted, then the namespace itself goes."""
    api = make_api()
    api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    api.create(pod("p", ns="team"))
    api.create(configmap("c", namespace="team", finalizers=["example.com/hold"]))
    api.create(pod("keep"))
    ns = api.delete("namespaces", "team")
    assert ns["status"]["phase"] == "Terminating"
    with pytest.raises(errors.Forbidden, match="because it is being terminated"):
        api.create(pod("late", ns="team"))
    assert api.list("pods", "team")[0] == []
    assert exists(api, "namespaces", "team")
    api.patch("configmaps", "c", {"metadata": {"finalizers": []}}, "team")
    assert not exists(api, "namespaces", "team")
    assert exists(api, "pods", "keep")
