"""Fixtures for the fake redis server's tests (helpers live in `redis_pods`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis_pods import PodNet


@pytest.fixture
async def net(tmp_path: Path) -> AsyncIterator[PodNet]:
    network = PodNet(tmp_path)
    try:
        yield network
    finally:
        await network.close()
