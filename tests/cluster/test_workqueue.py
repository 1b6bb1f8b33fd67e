"""WorkQueue: de-duplication, one worker per key, delays, back-off and shutdown."""

from __future__ import annotations

import asyncio

import pytest

from cluster import workqueue

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

NO_BUCKET = workqueue.QueueSettings(base_delay=0.01, max_delay=0.05, bucket_qps=None)


async def drain_now(q: workqueue.WorkQueue[str]) -> list[str]:
    """Take every key that is ready now (get does not wait while keys are ready)."""
    out = []
    while len(q):
        key = await q.get()
        q.done(key)
        out.append(key)
    return out


async def take(q: workqueue.WorkQueue[str], n: int) -> list[str]:
    keys = [await asyncio.wait_for(q.get(), 2.0) for _ in range(n)]
    for key in keys:
        q.done(key)
    return keys


async def test_add_deduplicates_waiting_keys() -> None:
    """A key added while it already waits is queued once, in its first position."""
    q: workqueue.WorkQueue[str] = workqueue.WorkQueue()
    for key in ["a", "b", "a", "c", "b", "a"]:
        q.add(key)
    assert len(q) == 3
    assert await take(q, 3) == ["a", "b", "c"]
    q.shut_down()


async def test_key_added_while_processing_waits_for_done() -> None:
    """Re-adding a processing key only marks it dirty; `done` queues it again."""
    q: workqueue.WorkQueue[str] = workqueue.WorkQueue()
    q.add("a")
    key = await q.get()
    q.add("a")
    q.add("a")
    assert len(q) == 0, "a processing key must not be handed to another worker"
    q.done(key)
    assert len(q) == 1
    assert await take(q, 1) == ["a"]
    assert len(q) == 0
    q.shut_down()


async def test_no_two_workers_hold_one_key() -> None:
    """Many workers and a flood of adds of one key never process it concurrently."""
    q: workqueue.WorkQueue[str] = workqueue.WorkQueue()
    active: set[str] = set()
    overlaps: list[str] = []
    processed: list[str] = []

    async def worker() -> None:
        while True:
            try:
                key = await q.get()
            except workqueue.ShutDown:
                return
            if key in active:
                overlaps.append(key)
            active.add(key)
            for _ in range(3):
                await asyncio.sleep(0)
            active.discard(key)
            processed.append(key)
            q.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for i in range(60):
        q.add("hot")
        q.add(f"cold-{i % 3}")
        await asyncio.sleep(0)
    q.shut_down()
    await asyncio.wait_for(asyncio.gather(*workers), 2.0)
    assert overlaps == []
    assert processed.count("hot") >= 2, "re-adds during processing must be reprocessed"


async def test_add_after_releases_in_deadline_order(fake_clock) -> None:
    """Delayed keys become ready in deadline order, after keys added without delay."""
    q: workqueue.WorkQueue[str] = workqueue.WorkQueue(clock=fake_clock)
    q.add_after("late", 3.0)
    q.add_after("early", 1.0)
    q.add_after("middle", 2.0)
    q.add("now")
    assert await drain_now(q) == ["now"]
    fake_clock.advance(1.5)
    assert q.release_due() == 1
    fake_clock.advance(5.0)
    assert q.release_due() == 2
    assert await drain_now(q) == ["early", "middle", "late"]
    q.shut_down()


@pytest.mark.parametrize("first, second, ready_at", [
    pytest.param(5.0, 1.0, 1.0, id="earlier-second-wins"),
    pytest.param(1.0, 5.0, 1.0, id="later-second-ignored"),
    pytest.param(2.0, 2.0, 2.0, id="same-deadline"),
])
async def test_add_after_twice_keeps_earlier_deadline(fake_clock, first, second,
                                                       ready_at) -> None:
    """Of two pending delays for one key, the earlier deadline wins and the key comes once."""
    q: workqueue.WorkQueue[str] = workqueue.WorkQueue(clock=fake_clock)
    q.add_after("k", first)
    q.add_after("k", second)
    fake_clock.advance(ready_at - 0.001)
    assert q.release_due() == 0
    fake_clock.advance(0.001)
    assert q.release_due() == 1
    fake_clock.advance(10.0)
    assert q.release_due() == 0, "the superseded deadline must not release the key again"
    assert await drain_now(q) == ["k"]
    q.shut_down()


async def test_add_after_fires_on_the_loop_timer() -> None:
    """With the real clock, a delayed key is handed to a waiting getter by a loop timer."""
    q: workqueue.WorkQueue[str] = workqueue.WorkQueue()
    q.add_after("k", 0.01)
    assert len(q) == 0
    assert await asyncio.wait_for(q.get(), 2.0) == "k"
    q.done("k")
    q.shut_down()


@pytest.mark.parametrize("failures, delays", [
    pytest.param(1, [0.01], id="first-failure-base-delay"),
    pytest.param(4, [0.01, 0.02, 0.04, 0.05], id="doubles-then-caps"),
    pytest.param(6, [0.01, 0.02, 0.04, 0.05, 0.05, 0.05], id="stays-capped"),
])
def test_item_backoff_grows_exponentially_and_caps(failures, delays) -> None:
    """Each failure doubles a key's delay from base_delay up to max_delay."""
    limiter: workqueue.ItemExponentialBackoff[str] = workqueue.ItemExponentialBackoff(0.01, 0.05)
    assert [pytest.approx(limiter.when("k")) for _ in range(failures)] == delays
    assert limiter.num_requeues("k") == failures
    assert limiter.when("other") == pytest.approx(0.01), "back-off is per key"


async def test_add_rate_limited_backs_off_and_forget_resets(fake_clock) -> None:
    """add_rate_limited delays by the key's back-off; forget starts it over."""
    q: workqueue.WorkQueue[str] = workqueue.WorkQueue(settings=NO_BUCKET, clock=fake_clock)
    expected = [0.01, 0.02, 0.04]
    for delay in expected:
        q.add_rate_limited("k")
        fake_clock.advance(delay - 0.001)
        assert q.release_due() == 0
        fake_clock.advance(0.001)
        assert q.release_due() == 1
        assert await take(q, 1) == ["k"]
    assert q.num_requeues("k") == 3
    q.forget("k")
    assert q.num_requeues("k") == 0
    q.add_rate_limited("k")
    fake_clock.advance(0.01)
    assert q.release_due() == 1, "after forget the delay is base_delay again"
    q.shut_down()


def test_token_bucket_allows_burst_then_spaces_retries(fake_clock) -> None:
    """The bucket lets `burst` retries through at once, then one per 1/qps seconds."""
    bucket: workqueue.TokenBucket[str] = workqueue.TokenBucket(10.0, 2, clock=fake_clock)
    delays = [bucket.when(f"k{i}") for i in range(4)]
    assert delays == pytest.approx([0.0, 0.0, 0.1, 0.2])
    fake_clock.advance(1.0)
    assert bucket.when("k") == pytest.approx(0.0), "tokens refill with time"


def test_default_rate_limiter_is_max_of_backoff_and_bucket(fake_clock) -> None:
    """With a bucket configured, a key waits for the longer of its back-off and the bucket."""
    settings = workqueue.QueueSettings(base_delay=0.001, max_delay=10.0, bucket_qps=1.0,
                                       bucket_burst=1)
    limiter: workqueue.RateLimiter[str] = workqueue.default_rate_limiter(settings,
                                                                        clock=fake_clock)
    assert limiter.when("a") == pytest.approx(0.001)
    assert limiter.when("b") == pytest.approx(1.0), "bucket empty: one token per second"
    assert limiter.num_requeues("a") == 1


async def test_shut_down_drains_then_raises() -> None:
    """After shut_down, queued keys are still handed out, then get raises ShutDown."""
    q: workqueue.WorkQueue[str] = workqueue.WorkQueue()
    q.add("a")
    q.add("b")
    q.shut_down()
    q.add("c")
    assert await take(q, 2) == ["a", "b"]
    with pytest.raises(workqueue.ShutDown):
        await q.get()


async def test_shut_down_wakes_idle_getters_and_drops_delayed_keys(fake_clock) -> None:
    """Getters blocked on an empty queue raise ShutDown; delayed keys never arrive."""
    q: workqueue.WorkQueue[str] = workqueue.WorkQueue(clock=fake_clock)
    q.add_after("later", 1.0)
    getters = [asyncio.create_task(q.get()) for _ in range(3)]
    await asyncio.sleep(0)
    q.shut_down()
    results = await asyncio.wait_for(asyncio.gather(*getters, return_exceptions=True), 2.0)
    assert all(isinstance(r, workqueue.ShutDown) for r in results)
    fake_clock.advance(2.0)
    assert q.release_due() == 0
    q.add_rate_limited("x")
    assert len(q) == 0


async def test_cancelled_getter_passes_its_wake_up_on() -> None:
    """A getter cancelled after being woken does not swallow the key meant for it."""
    q: workqueue.WorkQueue[str] = workqueue.WorkQueue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("k")
    first.cancel()
    assert await asyncio.wait_for(second, 2.0) == "k"
    with pytest.raises(asyncio.CancelledError):
        await first
    q.done("k")
    q.shut_down()
