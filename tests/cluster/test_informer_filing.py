"""How an informer files objects in its indices: each indexer runs once per change."""

from __future__ import annotations

from typing import Any

import pytest

from cluster import informer as informing
from cluster.store import Store
from tests.cluster.test_informer import FAST_RETRY, StoreClient

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


async def test_each_change_runs_each_indexer_once_and_keeps_unchanged_filings(wait_for) -> None:
    """A write that leaves a value alone runs the indexer once, not for old and new."""
    client = StoreClient(Store())
    calls: list[str] = []

    def by_tier(obj: dict[str, Any]) -> list[str]:
        calls.append(obj["metadata"]["name"])
        return [obj["metadata"].get("labels", {}).get("tier", "")]

    client.put("a", tier="web")
    client.put("b", tier="web")
    inf = informing.Informer(client, "configmaps", indexers={"tier": by_tier},
                             settings=FAST_RETRY)
    await inf.start()
    await inf.wait_for_sync()
    calls.clear()
    client.put("a", tier="web")  # new data, same tier
    await wait_for(lambda: calls == ["a"])
    assert inf.index_keys("tier", "web") == ["default/a", "default/b"]
    client.put("a", tier="db")
    await wait_for(lambda: inf.index_keys("tier", "db") == ["default/a"])
    assert inf.index_keys("tier", "web") == ["default/b"] and calls == ["a", "a"]
    client.remove("a")
    await wait_for(lambda: inf.get("default/a") is None)
    assert inf.index_keys("tier", "db") == [] and calls == ["a", "a"]
    await inf.stop()


async def test_a_failing_indexer_files_the_object_nowhere_in_that_index(wait_for, caplog) -> None:
    """An indexer that raises is logged; the object is cached and in the other indices."""
    client = StoreClient(Store())

    def broken(obj: dict[str, Any]) -> list[str]:
        raise RuntimeError("boom")

    client.put("a", tier="web")
    inf = informing.Informer(client, "configmaps", indexers={"broken": broken},
                             settings=FAST_RETRY)
    await inf.start()
    await inf.wait_for_sync()
    assert inf.get("default/a") is not None
    assert inf.index_keys(informing.NAMESPACE_INDEX, "default") == ["default/a"]
    assert "indexer 'broken' failed" in caplog.text
    await inf.stop()
