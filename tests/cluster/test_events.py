"""Event recording: Kubernetes-shaped Events, repeats folded into a count."""

from __future__ import annotations

from cluster.client import InProcessClient
from cluster.events import EventRecorder

from tests.cluster.apiserver_helpers import make_api, pod


async def test_repeated_event_is_aggregated_into_count() -> None:
    """The same reason and message about one object bump count and lastTimestamp."""
    api = make_api()
    client = InProcessClient(api)
    target = await client.create(pod("redis"))
    now = [100.0]
    recorder = EventRecorder(client, component="kubelet", host="node-1", clock=lambda: now[0])
    first = await recorder.warning(target, "BackOff", "Back-off restarting failed container")
    now[0] = 160.0
    again = await recorder.warning(target, "BackOff", "Back-off restarting failed container")
    other = await recorder.normal(target, "Pulled", "Container image already present")
    assert first and again and other
    assert again["metadata"]["name"] == first["metadata"]["name"] and again["count"] == 2
    assert again["firstTimestamp"] == "1970-01-01T00:01:40Z"
    assert again["lastTimestamp"] == "1970-01-01T00:02:40Z"
    listed = await client.list("events", field_selector=f"involvedObject.uid={target['metadata']['uid']}")
    assert sorted((e["reason"], e["count"], e["type"]) for e in listed.items) == [
        ("BackOff", 2, "Warning"), ("Pulled", 1, "Normal")]
    assert listed.items[0]["involvedObject"]["name"] == "redis"
    assert listed.items[0]["source"] == {"component": "kubelet", "host": "node-1"}


async def test_refused_event_never_fails_the_caller() -> None:
    """An event the API refuses (namespace gone) is dropped, not raised."""
    api = make_api()
    client = InProcessClient(api)
    ghost = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "x", "namespace": "gone", "uid": "u"}}
    recorder = EventRecorder(client, component="test")
    assert await recorder.normal(ghost, "Reason", "message") is None


async def test_many_similar_events_are_combined_after_ten() -> None:
    """Past ten distinct messages with one reason, events fold into one combined event."""
    api = make_api()
    client = InProcessClient(api)
    owner = await client.create(pod("web"))
    recorder = EventRecorder(client, component="replicaset-controller", clock=lambda: 50.0)
    for i in range(25):
        await recorder.normal(owner, "SuccessfulCreate", f"Created pod: web-{i}")
    events = (await client.list("events")).items
    assert len(events) == 11
    combined = [e for e in events if e["message"].startswith("(combined from similar events)")]
    assert len(combined) == 1 and combined[0]["count"] == 15
    assert combined[0]["message"] == "(combined from similar events): Created pod: web-24"


async def test_spam_filter_throttles_one_source_about_one_object() -> None:
    """25 events about one object pass, the 26th is dropped, and one more passes 300 s later."""
    api = make_api()
    client = InProcessClient(api)
    owner = await client.create(pod("web"))
    now = [0.0]
    recorder = EventRecorder(client, component="kubelet", clock=lambda: now[0])
    results = [await recorder.normal(owner, f"Reason{i}", "m") for i in range(26)]
    assert all(results[:25]) and results[25] is None
    now[0] = 300.0
    assert await recorder.normal(owner, "Later", "m") is not None
    assert len((await client.list("events")).items) == 26
