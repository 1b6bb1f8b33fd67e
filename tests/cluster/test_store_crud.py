"""The store's reads and writes: revisions, compare-and-swap, errors that change nothing."""

from __future__ import annotations

import pytest

from cluster.api import errors
from cluster.store import Store


def pod(name: str, ns: str = "default", node: str = "", labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}",
                         "labels": labels or {}},
            "spec": {"nodeName": node}, "status": {"phase": "Pending"}}


def test_every_write_bumps_the_one_revision() -> None:
    """Creates, updates and deletes of any resource share one counter; rv = mod revision."""
    s = Store()
    a = s.create("pods", pod("a"))
    b = s.create("services", {"metadata": {"name": "svc", "namespace": "default"}})
    assert (a["metadata"]["resourceVersion"], b["metadata"]["resourceVersion"]) == ("1", "2")
    a2 = dict(a, metadata=dict(a["metadata"]))
    s.update("pods", a2, expected_version="1")
    assert a2["metadata"]["resourceVersion"] == "3"
    gone = s.delete("pods", "default", "a")
    assert gone["metadata"]["resourceVersion"] == "4" and s.revision == 4


def test_create_on_existing_name_fails_and_changes_nothing() -> None:
    """AlreadyExists, and the revision stays where it was."""
    s = Store()
    s.create("pods", pod("a"))
    with pytest.raises(errors.AlreadyExists, match='pods "a" already exists'):
        s.create("pods", pod("a"))
    assert s.revision == 1


@pytest.mark.parametrize("op", [
    pytest.param("update", id="update"),
    pytest.param("delete", id="delete"),
])
def test_stale_resource_version_conflicts(op: str) -> None:
    """A write carrying an old resourceVersion is refused with Conflict."""
    s = Store()
    s.create("pods", pod("a"))
    fresh = pod("a")
    s.update("pods", fresh, expected_version="1")
    with pytest.raises(errors.Conflict, match="the object has been modified"):
        if op == "update":
            s.update("pods", pod("a"), expected_version="1")
        else:
            s.delete("pods", "default", "a", expected_version="1")
    assert s.revision == 2 and s.get("pods", "default", "a") is fresh


def test_missing_objects_are_not_found() -> None:
    """Get, update and delete of a missing object raise NotFound without a write."""
    s = Store()
    for call in (lambda: s.get("pods", "default", "x"),
                 lambda: s.update("pods", pod("x")),
                 lambda: s.delete("pods", "default", "x")):
        with pytest.raises(errors.NotFound, match='pods "x" not found'):
            call()
    assert s.revision == 0


def test_list_filters_and_reports_its_revision() -> None:
    """List by namespace, labels and fields, sorted, with the revision it reflects."""
    s = Store()
    s.create("pods", pod("b", labels={"app": "web"}, node="n1"))
    s.create("pods", pod("a", labels={"app": "web"}, node="n2"))
    s.create("pods", pod("c", ns="other", labels={"app": "db"}, node="n1"))
    items, rev = s.list("pods")
    assert [i["metadata"]["name"] for i in items] == ["a", "b", "c"] and rev == 3
    assert [i["metadata"]["name"] for i in s.list("pods", "default")[0]] == ["a", "b"]
    assert [i["metadata"]["name"] for i in s.list("pods", label_selector="app=web")[0]] == ["a", "b"]
    assert [i["metadata"]["name"] for i in s.list("pods", field_selector="spec.nodeName=n1")[0]] \
        == ["b", "c"]
    assert [i["metadata"]["name"] for i in s.list(
        "pods", label_selector="app in (web,db),app!=web", field_selector="metadata.namespace=other")[0]] == ["c"]


def test_dependents_follow_owner_references() -> None:
    """The owner index answers which objects name an owner's uid, across updates."""
    s = Store()
    child = pod("child")
    child["metadata"]["ownerReferences"] = [{"uid": "owner-1", "kind": "ReplicaSet", "name": "rs"}]
    s.create("pods", child)
    assert [o["metadata"]["name"] for _, o in s.dependents("owner-1")] == ["child"]
    s.update("pods", pod("child"))
    assert s.dependents("owner-1") == []
