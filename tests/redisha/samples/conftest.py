"""Fixtures for the sample operators' tests (helpers live in `memcached_cluster`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from memcached_cluster import OperatorCluster, WaitUntil
from memcached_cluster import operator_cluster as running
from memcached_cluster import wait_until as poll


@pytest.fixture
def wait_until() -> WaitUntil:
    """`await wait_until(lambda: cond, timeout=5)`; the predicate may be a coroutine function."""
    return poll


@pytest.fixture
async def operator_cluster() -> AsyncIterator[OperatorCluster]:
    """Two quick nodes running the memcached image, the CRD installed, the operator running."""
    async with running() as oc:
        yield oc
