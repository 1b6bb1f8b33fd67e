"""Stored versions are never changed by later writes, even where they share parts."""

from __future__ import annotations

import copy
import uuid

import pytest

from cluster.api.resources import BUILTIN_RESOURCES, ResourceRegistry, ResourceType, UnknownResource
from cluster.api.watch import EventType
from tests.cluster.apiserver_helpers import make_api, pod


def test_status_write_and_binding_leave_earlier_versions_as_they_were() -> None:
    """A watcher holding an older version sees it unchanged after newer writes."""
    api = make_api()
    watch = api.watch("pods", resource_version=api.revision)
    created = api.create(pod("web"))
    snapshot = copy.deepcopy(created)
    bound = api.bind("web", "default", "node-1")
    bound_snapshot = copy.deepcopy(bound)
    sent = copy.deepcopy(bound)
    sent["status"]["phase"] = "Running"
    sent["spec"]["containers"][0]["image"] = "ignored-by-the-status-write"
    running = api.update(sent, subresource="status")
    assert created == snapshot and bound == bound_snapshot
    assert running["status"]["phase"] == "Running"
    assert running["spec"] == bound_snapshot["spec"]
    assert running["spec"]["nodeName"] == "node-1" and "nodeName" not in snapshot["spec"]
    events = watch.drain()
    assert [e.type for e in events] == [EventType.ADDED, EventType.MODIFIED, EventType.MODIFIED]
    assert events[0].object == snapshot and events[1].object == bound_snapshot


def test_a_status_write_does_not_keep_the_callers_dict() -> None:
    """What the caller sent is copied: changing it afterwards changes nothing stored."""
    api = make_api()
    api.create(pod("web"))
    sent = copy.deepcopy(api.get("pods", "web", "default"))
    sent["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    api.update(sent, subresource="status")
    sent["status"]["conditions"][0]["status"] = "False"
    assert api.get("pods", "web", "default")["status"]["conditions"][0]["status"] == "True"


def test_uids_are_random_version_4_uuids() -> None:
    """Every object gets a distinct RFC 4122 version-4 uid."""
    api = make_api()
    uids = [api.create(pod(f"p{i}"))["metadata"]["uid"] for i in range(50)]
    parsed = [uuid.UUID(u) for u in uids]
    assert len(set(uids)) == 50 and all(str(p) == u for p, u in zip(parsed, uids))
    assert {p.version for p in parsed} == {4} and {p.variant for p in parsed} == {uuid.RFC_4122}


def test_registry_answers_follow_registration() -> None:
    """Cached lookups forget a kind that goes and learn one that comes."""
    registry = ResourceRegistry()
    assert registry.resolve("po").key == "pods"
    kind = ResourceType("example.com", "v1", "Widget", "widgets", "widget", True, ("wd",),
                        custom=True)
    with pytest.raises(UnknownResource):
        registry.resolve("wd")
    registry.register(kind)
    assert registry.resolve("wd") is kind
    assert registry.for_object("example.com/v1", "Widget") is kind
    registry.unregister(kind.key)
    with pytest.raises(UnknownResource):
        registry.for_object("example.com/v1", "Widget")
    with pytest.raises(UnknownResource):
        registry.resolve("wd")
    assert {rt.key for rt in registry} == {rt.key for rt in BUILTIN_RESOURCES}
