"""`slow_start_batch`: kube's batches of 1, 2, 4, … without a task per call."""

from __future__ import annotations

import asyncio

import pytest

from cluster.controllers.podcontrol import slow_start_batch


@pytest.mark.parametrize("count, initial, fail_on, expected_calls, expected_ok", [
    pytest.param(10, 1, None, 10, 10, id="all-succeed"),
    pytest.param(10, 1, {1}, 1, 0, id="first-batch-fails"),
    pytest.param(10, 1, {2}, 3, 2, id="second-batch-fails-whole-batch-tried"),
    pytest.param(10, 1, {4, 5}, 7, 5, id="third-batch-two-failures"),
    pytest.param(5, 4, {5}, 5, 4, id="bigger-first-batch"),
])
async def test_batches_stop_after_the_first_failing_batch(
        count: int, initial: int, fail_on: set[int] | None, expected_calls: int,
        expected_ok: int) -> None:
    """Every call of a failing batch is made; no later batch starts."""
    calls = 0

    async def create() -> None:
        nonlocal calls
        calls += 1
        if fail_on and calls in fail_on:
            raise RuntimeError(f"refused {calls}")

    ok, error = await slow_start_batch(count, initial, create)
    assert (calls, ok) == (expected_calls, expected_ok)
    assert (error is None) == (fail_on is None)
    if fail_on:
        assert str(error) == f"refused {min(fail_on)}"


async def test_a_batch_runs_in_the_callers_task_and_yields_between_batches() -> None:
    """No task per call (each would cost trips around the loop); one yield per batch."""
    tasks: set[asyncio.Task[object] | None] = set()
    yields = 0

    async def other() -> None:
        nonlocal yields
        while True:
            yields += 1
            await asyncio.sleep(0)

    async def create() -> None:
        tasks.add(asyncio.current_task())

    ticker = asyncio.create_task(other())
    await asyncio.sleep(0)
    before = yields
    await slow_start_batch(15, 1, create)  # batches 1, 2, 4, 8
    ticker.cancel()
    await asyncio.gather(ticker, return_exceptions=True)
    assert tasks == {asyncio.current_task()}
    assert yields - before == 3


async def test_cancellation_is_not_counted_as_a_failure() -> None:
    """A cancelled create ends the run by cancelling the caller."""
    async def create() -> None:
        raise asyncio.CancelledError()

    with pytest.raises(asyncio.CancelledError):
        await slow_start_batch(3, 1, create)
