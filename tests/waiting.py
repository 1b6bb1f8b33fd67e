"""`wait_until`: how tests wait — on a condition with a deadline, never a fixed sleep.

One helper for every test package that waits on a cluster, a pod or a server.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest


async def wait_until(predicate: Callable[[], Any], timeout: float = 10.0,
                     message: str | Callable[[], str] = "") -> None:
    """Poll `predicate()` (sync or async) until it is truthy; fail after `timeout` seconds
    with `message` (or what `message()` says then)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            text = message() if callable(message) else message
            pytest.fail(f"condition not met within {timeout}s" + (f": {text}" if text else ""))
        await asyncio.sleep(0.005)
