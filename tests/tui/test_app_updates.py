"""Updates are cheap: only changed cells are touched, at most 10 flushes a second, and rows
in view age without any event."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from cluster.api import objects
from tests.tui.dashboard_helpers import bare_cluster, connect, dashboard, row, until
from tui.app import DashboardApp
from tui.bench import _status


async def _ghost_pods(cluster: Any, count: int) -> list[dict[str, Any]]:
    """Pods bound to a node no kubelet serves, so only the test writes their status."""
    out = []
    for i in range(count):
        p = await cluster.client.create(
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"g{i:02d}"},
             "spec": {"nodeName": "ghost", "containers": [{"name": "main", "image": "pause"}]}},
            "default")
        out.append(await cluster.client.update_status(_status(p, False, time.time())))
    return out


def _count_cell_updates(app: DashboardApp) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []
    original = app.table.update_cell

    def spy(key: str, index: int, row: Any) -> bool:
        calls.append((key, app.table.headers[index]))
        return original(key, index, row)

    app.table.update_cell = spy  # type: ignore[method-assign]
    return calls


async def test_a_status_change_updates_one_cell() -> None:
    """A new pod IP on one of 20 pods costs one update_cell; a label change costs none."""
    async with bare_cluster(nodes=1) as cluster:
        pods = await _ghost_pods(cluster, 20)
        async with dashboard(connect(cluster)) as (app, pilot):
            await until(lambda: app.table.row_count == 20)
            calls = _count_cell_updates(app)
            target = objects.clone(pods[7])
            target["status"]["podIP"] = "10.9.9.9"
            await cluster.client.update_status(target)
            await row(app, "g07", "IP", equals="10.9.9.9")
            assert [c for c in calls if c[1] != "AGE"] == [("default/g07", "IP")]
            await cluster.client.patch("pods", "g03", {"metadata": {"labels": {"x": "y"}}},
                                       "default")
            await pilot.pause(0.3)
            assert [c for c in calls if c[1] != "AGE"] == [("default/g07", "IP")]


async def test_bursts_are_flushed_at_most_ten_times_a_second() -> None:
    """100 status writes in about a second reach the screen in at most 10 flushes a second
    (plus the two-flush burst), never more than three within 100 ms, and the last state
    wins."""
    async with bare_cluster(nodes=1) as cluster:
        pods = await _ghost_pods(cluster, 5)
        async with dashboard(connect(cluster)) as (app, pilot):
            await until(lambda: app.table.row_count == 5)
            flushes: list[float] = []
            app.flush_observers.append(lambda keys: flushes.append(time.monotonic()))
            started = time.monotonic()
            for i in range(100):
                p = objects.clone(pods[i % 5])
                p["status"]["podIP"] = f"10.0.{i % 5}.{i}"
                pods[i % 5] = await cluster.client.update_status(p)
                await asyncio.sleep(0.01)
            elapsed = time.monotonic() - started
            await row(app, "g04", "IP", equals="10.0.4.99")
            assert 5 <= len(flushes) <= elapsed * 10 + 3, (len(flushes), elapsed)
            assert all(b - a >= 0.1 for a, b in zip(flushes, flushes[3:])), flushes


async def test_rows_in_view_age_without_events() -> None:
    """AGE moves on its own (the once-a-second refresh of visible rows)."""
    async with bare_cluster(nodes=1) as cluster:
        await _ghost_pods(cluster, 1)
        async with dashboard(connect(cluster)) as (app, pilot):
            await until(lambda: app.table.row_count == 1)
            first = app.table.cell_text("default/g00", "AGE")
            await until(lambda: app.table.cell_text("default/g00", "AGE") != first, 3)
