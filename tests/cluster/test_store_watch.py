"""Watching the store: from a revision, filtered, indexed, and expiring when compacted."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given, settings, strategies as st

from cluster.api import errors
from cluster.client import EventType
from cluster.store import Store, StoreSettings

from tests.cluster.test_store_crud import pod


def names(events) -> list[tuple[str, str]]:
    return [(e.type.value, e.object["metadata"]["name"]) for e in events]


def test_watch_from_revision_replays_then_follows() -> None:
    """Events after the given revision arrive from history, then live ones, in order."""
    s = Store()
    s.create("pods", pod("a"))
    s.create("pods", pod("b"))
    w = s.watch("pods", since=1)
    s.delete("pods", "default", "a")
    assert names(w.drain()) == [("ADDED", "b"), ("DELETED", "a")]
    assert [e.revision for e in w.drain()] == []


def test_watch_without_revision_starts_with_synthetic_adds() -> None:
    """No revision: ADDED for everything that exists, then changes."""
    s = Store()
    s.create("pods", pod("a"))
    w = s.watch("pods")
    s.create("pods", pod("b"))
    assert names(w.drain()) == [("ADDED", "a"), ("ADDED", "b")]


def test_compacted_revision_is_expired() -> None:
    """A revision older than the retained history fails with a 410-style Expired."""
    s = Store(settings=StoreSettings(history=4))
    for i in range(12):
        s.create("pods", pod(f"p{i}"))
    with pytest.raises(errors.Expired, match="too old resource version") as info:
        s.watch("pods", since=1)
    assert info.value.code == 410
    s.compact(12)
    with pytest.raises(errors.Expired):
        s.watch("pods", since=11)
    assert s.watch("pods", since=12).drain() == []


def test_selectors_turn_modifications_into_adds_and_deletes() -> None:
    """An object entering a watch's filter is ADDED to it; leaving it is DELETED."""
    s = Store()
    s.create("pods", pod("a", labels={"app": "db"}))
    by_label = s.watch("pods", label_selector="app=web", since=s.revision)
    by_field = s.watch("pods", field_selector="status.phase=Running", since=s.revision)
    s.update("pods", pod("a", labels={"app": "web"}))
    running = pod("a", labels={"app": "web"})
    running["status"]["phase"] = "Running"
    s.update("pods", running)
    s.update("pods", pod("a", labels={"app": "db"}))
    assert names(by_label.drain()) == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    assert names(by_field.drain()) == [("ADDED", "a"), ("DELETED", "a")]


def test_namespace_scoped_watch_sees_only_its_namespace() -> None:
    """A namespaced watch ignores other namespaces' objects."""
    s = Store()
    w = s.watch("pods", "team-a", since=0)
    s.create("pods", pod("x", ns="team-b"))
    s.create("pods", pod("y", ns="team-a"))
    assert names(w.drain()) == [("ADDED", "y")]


def test_one_update_among_1000_node_watchers_reaches_exactly_one() -> None:
    """Watchers pinned to disjoint spec.nodeName values are indexed: one candidate per event."""
    s = Store()
    watchers = [s.watch("pods", field_selector=f"spec.nodeName=node-{i}", since=0)
                for i in range(1000)]
    s.create("pods", pod("p", node="node-417"))
    s.update("pods", pod("p", node="node-417", labels={"x": "1"}))
    received = [i for i, w in enumerate(watchers) if w.pending()]
    assert received == [417] and watchers[417].pending() == 2
    index = s._watchers["pods"]
    change = s._history[-1]
    assert len(index.candidates(change)) == 1


def test_rebinding_reaches_old_and_new_node_watchers() -> None:
    """Moving spec.nodeName tells the old node's watcher DELETED and the new one ADDED."""
    s = Store()
    s.create("pods", pod("p", node="n1"))
    w1 = s.watch("pods", field_selector="spec.nodeName=n1", since=s.revision)
    w2 = s.watch("pods", field_selector="spec.nodeName=n2", since=s.revision)
    s.update("pods", pod("p", node="n2"))
    assert names(w1.drain()) == [("DELETED", "p")] and names(w2.drain()) == [("ADDED", "p")]


async def test_slow_watcher_is_dropped_not_waited_on() -> None:
    """A watcher past its buffer limit is dropped with Expired; writers never block."""
    s = Store(settings=StoreSettings(watcher_buffer=10))
    w = s.watch("pods", since=0)
    for i in range(20):
        s.create("pods", pod(f"p{i}"))
    with pytest.raises(errors.Expired):
        await w.__anext__()
    assert s.watcher_count("pods") == 0


async def test_async_iteration_wakes_on_writes_and_ends_on_close() -> None:
    """A consumer awaiting the watch is woken by a write; close ends the iteration."""
    s = Store()
    w = s.watch("pods", since=0)
    got = []

    async def consume() -> None:
        async for e in w:
            got.append(e.object["metadata"]["name"])

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    s.create("pods", pod("a"))
    await asyncio.wait_for(_until(lambda: got == ["a"]), 2)
    await w.close()
    await asyncio.wait_for(task, 2)
    assert s.watcher_count() == 0


async def _until(predicate) -> None:
    while not predicate():
        await asyncio.sleep(0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), writers=st.integers(1, 5),
       ops=st.integers(5, 60), start_fraction=st.floats(0, 1))
def test_watch_under_concurrent_writers_has_no_gap_no_duplicate(
        seed: int, writers: int, ops: int, start_fraction: float) -> None:
    """Property: a watch from revision R sees each revision > R exactly once, in order,
    while several writer tasks create, update and delete concurrently."""

    async def scenario() -> None:
        rng = random.Random(seed)
        s = Store(settings=StoreSettings(history=10_000))
        start_after = int(ops * writers * start_fraction)

        async def writer(wid: int) -> None:
            for n in range(ops):
                name = f"w{wid}-{rng.randrange(4)}"
                current = s.try_get("pods", "default", name)
                try:
                    if current is None:
                        s.create("pods", pod(name))
                    elif rng.random() < 0.3:
                        s.delete("pods", "default", name,
                                 expected_version=current["metadata"]["resourceVersion"])
                    else:
                        s.update("pods", pod(name, labels={"n": str(n)}),
                                 expected_version=current["metadata"]["resourceVersion"])
                except errors.Conflict:
                    pass
                if rng.random() < 0.5:
                    await asyncio.sleep(0)

        tasks = [asyncio.create_task(writer(i)) for i in range(writers)]
        # The watcher starts from an earlier revision to exercise replay plus live delivery.
        await asyncio.sleep(0)
        while s.revision < start_after and not all(t.done() for t in tasks):
            await asyncio.sleep(0)
        since = max(0, s.revision - rng.randrange(5))
        w = s.watch("pods", since=since)
        received = []

        async def consume() -> None:
            async for e in w:
                received.append(e.revision)

        consumer = asyncio.create_task(consume())
        await asyncio.gather(*tasks)
        await asyncio.wait_for(_until(lambda: w.pending() == 0 and
                                      (not received or received[-1] == s.revision)
                                      or s.revision == since), 5)
        await w.close()
        await consumer
        assert received == list(range(since + 1, s.revision + 1))

    asyncio.run(scenario())
