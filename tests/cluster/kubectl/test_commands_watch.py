"""`get --watch`: the current table, then one aligned row per change, until cancelled."""

from __future__ import annotations

import asyncio

import pytest
from kubectl_helpers import Harness


async def test_watch_streams_rows_until_cancelled(harness: Harness, wait_for) -> None:
    """Rows for existing pods print first; later changes stream to `out` as they happen."""
    await harness.run("run", "redis", "--image=redis")
    lines: list[str] = []
    task = asyncio.create_task(harness.kubectl.run(["get", "pods", "-w"], out=lines.append))
    await wait_for(lambda: len(lines) == 2, message="initial table")
    assert lines == ["NAME    READY   STATUS    RESTARTS   AGE",
                     "redis   0/1     Pending   0          0s"]
    harness.clock.advance(75)
    await harness.run("run", "web", "--image=redis")
    await wait_for(lambda: len(lines) == 3, message="row for the new pod")
    assert lines[2] == "web     0/1     Pending   0          0s"
    await harness.run("delete", "pod", "redis")
    await wait_for(lambda: len(lines) >= 4, message="row for the deleted pod")
    assert lines[-1] == "redis   0/1     Pending   0          75s"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_watch_named_object_ignores_others(harness: Harness, wait_for) -> None:
    """`get pod NAME -w` follows only that pod."""
    await harness.run("run", "a", "--image=redis")
    lines: list[str] = []
    task = asyncio.create_task(harness.kubectl.run(["get", "pod", "a", "-w", "-o", "name"],
                                                   out=lines.append))
    await wait_for(lambda: lines == ["pod/a"], message="initial object")
    await harness.run("run", "b", "--image=redis")
    await harness.run("label", "pod", "a", "x=y")
    await wait_for(lambda: len(lines) == 2, message="label change on a")
    assert lines == ["pod/a", "pod/a"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
