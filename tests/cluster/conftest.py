"""Fixtures shared by the cluster engine's tests."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Awaitable, Callable

import pytest


class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


WaitFor = Callable[..., Awaitable[None]]


async def _wait_for(predicate: Callable[[], bool], timeout: float = 2.0,
                    message: str = "") -> None:
    """Yield to the loop until `predicate()` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {timeout}s" + (f": {message}" if message else ""))
        await asyncio.sleep(0.001)


@pytest.fixture
def wait_for() -> WaitFor:
    """`await wait_for(lambda: cond, timeout=2.0)`: poll a condition with a deadline."""
    return _wait_for


@pytest.fixture
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail the test if it leaves asyncio tasks running (opt in with usefixtures)."""
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)
    leaked = [t for t in asyncio.all_tasks() - before
              if t is not asyncio.current_task() and not t.done()]
    for task in leaked:
        task.cancel()
    assert not leaked, f"unattended asyncio tasks: {leaked}"
