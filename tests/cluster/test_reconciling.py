"""Controller: what a reconcile's outcome does to the queue, workers, sync and stop."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest

from cluster import reconciling, workqueue
from cluster.api import errors

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

FAST = workqueue.QueueSettings(base_delay=0.001, max_delay=1.0, bucket_qps=None)


class RecordingQueue(workqueue.WorkQueue[str]):
    """A WorkQueue that remembers every delay it was asked for."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delays: list[tuple[str, float]] = []

    def add_after(self, key: str, delay_s: float) -> None:
        self.delays.append((key, delay_s))
        super().add_after(key, delay_s)


class Outcomes:
    """A reconcile function that plays back a script of outcomes, then succeeds."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.calls: list[str] = []

    async def __call__(self, key: str) -> reconciling.Result | None:
        self.calls.append(key)
        outcome = self.script.pop(0) if self.script else None
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class FakeSource:
    """An informer stand-in: holds handlers and a sync flag."""

    def __init__(self, synced: bool = True) -> None:
        self.synced = asyncio.Event()
        if synced:
            self.synced.set()
        self.handlers: dict[str, Callable[..., None] | None] = {}

    @property
    def has_synced(self) -> bool:
        return self.synced.is_set()

    async def wait_for_sync(self) -> None:
        await self.synced.wait()

    def add_handler(self, on_add=None, on_update=None, on_delete=None) -> None:
        self.handlers = {"add": on_add, "update": on_update, "delete": on_delete}


async def stop(controller: reconciling.Controller, run: asyncio.Task[None]) -> None:
    await controller.stop()
    await asyncio.wait_for(run, 2.0)


@pytest.mark.parametrize("outcome, delays, requeues", [
    pytest.param(RuntimeError("boom"), [0.004], 3, id="error-backs-off"),
    pytest.param(errors.NotFound("pods", "a"), [], 0, id="notfound-is-success"),
    pytest.param(None, [], 0, id="none-is-success"),
    pytest.param(reconciling.Result(), [], 0, id="empty-result-is-success"),
    pytest.param(reconciling.Result(requeue_after=5.0), [5.0], 0, id="requeue-after"),
    pytest.param(reconciling.TerminalError("bad spec"), [], 0, id="terminal-not-retried"),
])
async def test_outcome_decides_requeue(fake_clock, outcome, delays, requeues) -> None:
    """Each reconcile outcome leaves the key's back-off and delay as controller-runtime does."""
    queue = RecordingQueue(settings=FAST, clock=fake_clock)
    queue.add_rate_limited("ns/a")
    queue.add_rate_limited("ns/a")
    queue.delays.clear()
    controller = reconciling.Controller("test", Outcomes(outcome), queue=queue)
    await controller.reconcile_key("ns/a")
    assert [d for _, d in queue.delays] == pytest.approx(delays)
    assert queue.num_requeues("ns/a") == requeues
    queue.shut_down()


async def test_failing_reconcile_retries_with_growing_delay_then_succeeds(wait_for) -> None:
    """Three failures are retried after 1, 2 and 4 ms; the success then forgets the back-off."""
    queue = RecordingQueue(settings=FAST)
    reconcile = Outcomes(RuntimeError("1"), RuntimeError("2"), RuntimeError("3"))
    controller = reconciling.Controller("test", reconcile, queue=queue)
    run = asyncio.create_task(controller.run())
    controller.enqueue("ns/a")
    await wait_for(lambda: len(reconcile.calls) == 4)
    assert [d for _, d in queue.delays] == pytest.approx([0.001, 0.002, 0.004])
    assert queue.num_requeues("ns/a") == 0
    await stop(controller, run)


async def test_requeue_after_reconciles_again_without_events(wait_for) -> None:
    """Result(requeue_after) brings the key back after that delay and resets the back-off."""
    queue = RecordingQueue(settings=FAST)
    reconcile = Outcomes(RuntimeError("once"), reconciling.Result(requeue_after=0.01))
    controller = reconciling.Controller("test", reconcile, queue=queue)
    run = asyncio.create_task(controller.run())
    controller.enqueue("ns/a")
    await wait_for(lambda: len(reconcile.calls) == 3)
    assert queue.delays == [("ns/a", pytest.approx(0.001)), ("ns/a", 0.01)]
    assert queue.num_requeues("ns/a") == 0
    await stop(controller, run)


async def test_workers_reconcile_different_keys_in_parallel(wait_for) -> None:
    """With two workers, a reconcile of one key can wait on another key's reconcile."""
    b_started = asyncio.Event()

    async def reconcile(key: str) -> None:
        if key == "a":
            await asyncio.wait_for(b_started.wait(), 2.0)
        else:
            b_started.set()

    controller = reconciling.Controller("test", reconcile, workers=2)
    run = asyncio.create_task(controller.run())
    controller.enqueue("a")
    controller.enqueue("b")
    await wait_for(lambda: b_started.is_set() and len(controller.queue) == 0)
    await stop(controller, run)
    assert controller.queue.num_requeues("a") == 0, "a must not have timed out and failed"


async def test_one_key_is_never_reconciled_twice_at_once(wait_for) -> None:
    """Events for a key under reconcile wait for it, even with spare workers."""
    active: set[str] = set()
    overlaps: list[str] = []
    calls: list[str] = []

    async def reconcile(key: str) -> None:
        if key in active:
            overlaps.append(key)
        active.add(key)
        calls.append(key)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        active.discard(key)

    controller = reconciling.Controller("test", reconcile, workers=4)
    run = asyncio.create_task(controller.run())
    for _ in range(30):
        controller.enqueue("hot")
        await asyncio.sleep(0)
    await wait_for(lambda: not active and len(controller.queue) == 0)
    await stop(controller, run)
    assert overlaps == []
    assert calls.count("hot") >= 2


async def test_run_waits_for_informers_to_sync(wait_for) -> None:
    """No reconcile happens before every wired informer has synced."""
    source = FakeSource(synced=False)
    reconcile = Outcomes()
    controller = reconciling.Controller("test", reconcile)
    reconciling.watch_into(source, controller)
    run = asyncio.create_task(controller.run())
    controller.enqueue("ns/a")
    for _ in range(20):
        await asyncio.sleep(0)
    assert reconcile.calls == []
    source.synced.set()
    await wait_for(lambda: reconcile.calls == ["ns/a"])
    await stop(controller, run)


async def test_stop_before_sync_returns() -> None:
    """Stopping a controller whose caches never synced ends its run promptly."""
    source = FakeSource(synced=False)
    controller = reconciling.Controller("test", Outcomes(), informers=[source])
    run = asyncio.create_task(controller.run())
    await asyncio.sleep(0)
    await asyncio.wait_for(controller.stop(), 2.0)
    assert run.done()


async def test_stop_finishes_in_flight_reconcile_and_drops_the_rest(wait_for) -> None:
    """stop lets the running reconcile complete, skips queued keys, and ends run."""
    release = asyncio.Event()
    finished: list[str] = []

    async def reconcile(key: str) -> None:
        await release.wait()
        finished.append(key)

    controller = reconciling.Controller("test", reconcile)
    run = asyncio.create_task(controller.run())
    controller.enqueue("first")
    controller.enqueue("second")
    await wait_for(lambda: len(controller.queue) == 1)
    stopping = asyncio.create_task(controller.stop())
    await asyncio.sleep(0)
    assert not stopping.done(), "stop must wait for the in-flight reconcile"
    release.set()
    await asyncio.wait_for(stopping, 2.0)
    assert finished == ["first"]
    assert run.done()


async def test_stop_cancels_reconciles_past_the_timeout() -> None:
    """A reconcile that never returns is cancelled once stop's timeout runs out."""
    started = asyncio.Event()

    async def reconcile(key: str) -> None:
        started.set()
        await asyncio.Event().wait()

    controller = reconciling.Controller("test", reconcile)
    run = asyncio.create_task(controller.run())
    controller.enqueue("stuck")
    await asyncio.wait_for(started.wait(), 2.0)
    await asyncio.wait_for(controller.stop(timeout=0.01), 2.0)
    assert run.done()


def pod(owner_kind: str | None, *, controller: bool = True, namespace: str = "ns") -> dict:
    refs = [] if owner_kind is None else [{"apiVersion": "apps/v1", "kind": owner_kind,
                                           "name": "owner", "uid": "u1",
                                           "controller": controller}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": namespace, "ownerReferences": refs}}


@pytest.mark.parametrize("obj, kind, namespaced, key", [
    pytest.param(pod("ReplicaSet"), "ReplicaSet", True, "ns/owner", id="controller-owner"),
    pytest.param(pod("ReplicaSet", controller=False), "ReplicaSet", True, None,
                 id="non-controller-ref"),
    pytest.param(pod("StatefulSet"), "ReplicaSet", True, None, id="other-kind"),
    pytest.param(pod(None), "ReplicaSet", True, None, id="no-owner"),
    pytest.param(pod("Node"), "Node", False, "owner", id="cluster-scoped-owner"),
])
async def test_enqueue_owner_maps_object_to_its_controller(obj, kind, namespaced, key) -> None:
    """An owned object enqueues its controller owner's key, and only that."""
    controller = reconciling.Controller("test", Outcomes())
    controller.enqueue_owner(obj, kind, owner_namespaced=namespaced)
    assert reconciling.owner_key(obj, kind, owner_namespaced=namespaced) == key
    assert len(controller.queue) == (0 if key is None else 1)
    controller.queue.shut_down()


async def test_watch_into_enqueues_on_add_update_delete() -> None:
    """Every informer event enqueues key_fn(obj); a None key is skipped."""
    source = FakeSource()
    controller = reconciling.Controller("test", Outcomes())
    reconciling.watch_into(source, controller,
                           key_fn=lambda o: reconciling.owner_key(o, "ReplicaSet"))
    handlers = source.handlers
    handlers["add"](pod(None))
    assert len(controller.queue) == 0
    handlers["add"](pod("ReplicaSet"))
    handlers["update"](pod(None), pod("ReplicaSet", namespace="other"))
    handlers["delete"](pod("ReplicaSet", namespace="third"))
    keys = [await controller.queue.get() for _ in range(len(controller.queue))]
    assert keys == ["ns/owner", "other/owner", "third/owner"]
    controller.queue.shut_down()
