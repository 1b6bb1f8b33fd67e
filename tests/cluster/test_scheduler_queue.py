"""The scheduling queue: active order, back-off, parking and moving unschedulable pods."""

from __future__ import annotations

import asyncio

import pytest

from cluster.scheduling.filters import Plugin
from cluster.scheduling.queue import QueueClosed, SchedulingQueue, Where

RESOURCES = frozenset({Plugin.NODE_RESOURCES_FIT})
TAINTS = frozenset({Plugin.TAINT_TOLERATION})


async def pop_now(queue: SchedulingQueue) -> str:
    return await asyncio.wait_for(queue.pop(), timeout=1.0)


async def test_higher_priority_first_then_arrival_order():
    """Active pods come out by priority, then first come first served; duplicates merge."""
    queue = SchedulingQueue()
    queue.add("a")
    queue.add("b", priority=10)
    queue.add("c")
    queue.add("a")
    assert [await pop_now(queue) for _ in range(3)] == ["b", "a", "c"]
    assert len(queue) == 3  # all in flight until done
    for key in "abc":
        queue.done(key)
    assert len(queue) == 0


async def test_unschedulable_pods_wait_for_a_helpful_event(fake_clock):
    """A parked pod stays parked through unrelated events and moves on a helpful one."""
    queue = SchedulingQueue(clock=fake_clock, initial_backoff=1.0)
    queue.add("p")
    await pop_now(queue)
    queue.unschedulable("p", RESOURCES)
    assert queue.move(lambda plugins: Plugin.INTER_POD_AFFINITY in plugins) == 0
    assert queue.where("p") is Where.UNSCHEDULABLE
    fake_clock.advance(1.0)  # its back-off is over
    assert queue.move(lambda plugins: bool(plugins & RESOURCES)) == 1
    assert await pop_now(queue) == "p"


async def test_moved_pod_still_backing_off_waits_in_backoff(fake_clock):
    """A pod moved before its back-off ends goes to back-off, not straight to active."""
    queue = SchedulingQueue(clock=fake_clock, initial_backoff=5.0)
    queue.add("p")
    await pop_now(queue)
    queue.unschedulable("p", TAINTS)
    queue.move()
    assert queue.where("p") is Where.BACKOFF
    queue.close()


async def test_backoff_releases_on_its_own():
    """A pod in back-off becomes active after its delay without further events."""
    queue = SchedulingQueue(initial_backoff=0.01, max_backoff=0.02)
    queue.add("p")
    await pop_now(queue)
    queue.retry("p")
    assert queue.where("p") is Where.BACKOFF
    assert await pop_now(queue) == "p"


def test_backoff_doubles_and_is_capped():
    """Back-off is initial * 2**(attempts-1), capped at the maximum."""
    queue = SchedulingQueue(initial_backoff=1.0, max_backoff=10.0)
    assert [queue.backoff_duration(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


async def test_event_during_an_attempt_is_not_lost(fake_clock):
    """If a helpful event arrives while the pod is being scheduled, its failure is retried."""
    queue = SchedulingQueue(clock=fake_clock, initial_backoff=1.0)
    queue.add("p")
    await pop_now(queue)
    queue.move()
    queue.unschedulable("p", RESOURCES)
    assert queue.where("p") is Where.BACKOFF
    queue.close()


async def test_flush_retries_pods_parked_too_long(fake_clock):
    """The periodic flush moves pods that have been unschedulable longer than the interval."""
    queue = SchedulingQueue(clock=fake_clock, initial_backoff=1.0)
    queue.add("p")
    await pop_now(queue)
    queue.unschedulable("p", RESOURCES)
    fake_clock.advance(30)
    assert queue.flush(60) == 0
    fake_clock.advance(31)
    assert queue.flush(60) == 1
    assert await pop_now(queue) == "p"


async def test_changed_pod_is_retried_and_deleted_pod_forgotten(fake_clock):
    """Adding a parked pod again (its spec changed) retries it; delete drops it."""
    queue = SchedulingQueue(clock=fake_clock, initial_backoff=0.0)
    queue.add("p")
    await pop_now(queue)
    queue.unschedulable("p", TAINTS)
    queue.add("p")
    assert queue.where("p") is Where.ACTIVE
    queue.delete("p")
    assert queue.where("p") is None and len(queue) == 0


async def test_done_keeps_a_pod_recreated_under_the_same_name():
    """Finishing an attempt does not drop a new pod queued under the same key meanwhile."""
    queue = SchedulingQueue()
    queue.add("ns/web-0")
    await pop_now(queue)
    queue.delete("ns/web-0")
    queue.add("ns/web-0")
    queue.done("ns/web-0")
    assert queue.where("ns/web-0") is Where.ACTIVE


async def test_close_wakes_a_waiting_pop():
    """Closing the queue ends a pop that was waiting for work."""
    queue = SchedulingQueue()
    waiter = asyncio.ensure_future(queue.pop())
    await asyncio.sleep(0)
    queue.close()
    with pytest.raises(QueueClosed):
        await asyncio.wait_for(waiter, timeout=1.0)
