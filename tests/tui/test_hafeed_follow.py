"""`HAFeed` follows sentinel and writer pods' logs through the API, across restarts."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.tui.dashboard_helpers import bare_cluster, pod, until
from tui.hafeed import HAFeed
from tui.writes import Totals

WRITER_SCRIPT = """echo 'started prefix=w:1 target=rfrm-demo:6379 rate=50 acked=0 failed=0 lost=0'
echo 'ack n=1 key=w:1 server=10.0.0.1:6379 ms=0.4 acked=1 failed=0 lost=0'
echo 'fail n=2 key=w:2 error=x acked=1 failed=1 lost=0'
exec sleep 600"""
SENTINEL_SCRIPT = """echo '1:X 26 Nov 2026 18:51:50.554 # +sdown master mymaster 10.0.0.1 6379'
echo '1:X 26 Nov 2026 18:51:50.554 * +slave slave 10.0.0.2:6379 10.0.0.2 6379 @ mymaster 10.0.0.1 6379'
exec sleep 600"""


async def _running(cluster: Any, name: str) -> dict[str, Any]:
    """The pod once its container runs."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        got = await cluster.client.get("pods", name, "default")
        if (got.get("status") or {}).get("phase") == "Running":
            return got
        if loop.time() > deadline:
            pytest.fail(f"pod {name} not Running within 10s")
        await asyncio.sleep(0.02)


async def test_writer_and_sentinel_logs_are_followed_and_restarts_counted_anew() -> None:
    """The writer's totals and the sentinel's failover events arrive from the pods' logs;
    a restarted writer container's run adds to the first; a pod untracked is no longer
    followed; pods with neither label are not followed at all."""
    async with bare_cluster() as cluster:
        writer = pod("w", labels={"redisha.io/writes-to": "demo"},
                     command=["sh", "-c", WRITER_SCRIPT])
        sentinel = pod("s", labels={"app.kubernetes.io/component": "sentinel",
                                    "app.kubernetes.io/instance": "demo"},
                       command=["sh", "-c", SENTINEL_SCRIPT])
        other = pod("o", command=["sh", "-c", "echo ack acked=9 failed=9 lost=9; exec sleep 600"])
        for p in (writer, sentinel, other):
            await cluster.client.create(p, "default")
        feed = HAFeed(cluster.client, retry=0.05)
        try:
            for name in ("w", "s", "o"):
                feed.track(await _running(cluster, name))
            assert feed.following == ["default/s", "default/w"]
            stats = feed.writes("default/demo")
            await until(lambda: stats.totals() == Totals(1, 1, 0), 5, str(stats.totals()))
            await until(lambda: len(feed.events("default/demo")) == 1, 5)
            [event] = feed.events("default/demo")
            assert (event.kind, event.master_ip, event.sentinel) == ("+sdown", "10.0.0.1", "s")
            node = (await cluster.client.get("pods", "w", "default"))["spec"]["nodeName"]
            await cluster.kubelets[node].kill_pod_containers("default", "w")
            await until(lambda: stats.totals() == Totals(2, 2, 0), 10, str(stats.totals()))
            feed.untrack("default/w")
            assert feed.following == ["default/s"]
        finally:
            await feed.close()
        assert feed.following == []
