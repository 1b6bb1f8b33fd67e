"""Redis pods in the dashboard: roles, the header's primary, killing the primary, HA pane."""

from __future__ import annotations

from typing import Any

from tests.tui.dashboard_helpers import (bare_cluster, connect, dashboard, pod, redis_cluster,
                                         row, until)
from tui.script import screen_text
from tui.widgets.hapane import NO_FAILOVER, HAPane

RF_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "redisfailovers.redisha.io"},
    "spec": {"group": "redisha.io", "scope": "Namespaced",
             "names": {"plural": "redisfailovers", "singular": "redisfailover",
                       "kind": "RedisFailover", "shortNames": ["rf"]},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {
                               "type": "object",
                               "x-kubernetes-preserve-unknown-fields": True}}}]}}


async def test_kill_the_primary_from_the_pods_table() -> None:
    """The tutorial's pods get ROLE primary/replica (redis-cli role through exec); the header
    names the primary; ctrl-k on it deletes it and the header shows the primary that
    comes back (a new pod: the plain StatefulSet has no failover)."""
    async with redis_cluster(replicas=2) as cluster, dashboard(connect(cluster)) as (app, pilot):
        await row(app, "redis-sfs-0", "ROLE", equals="primary", timeout=20)
        await row(app, "redis-sfs-1", "ROLE", equals="replica", timeout=20)
        await until(lambda: "Primary redis-sfs-0" in screen_text(app), 5, screen_text(app))
        ha = app.query_one(HAPane)
        await until(lambda: "Replicas redis-sfs-1" in screen_text(app))
        old = await cluster.client.get("pods", "redis-sfs-0", "default")
        app.select_row("redis-sfs-0")
        await pilot.press("ctrl+k")

        def back() -> bool:
            if app.primaries() != ("default/redis-sfs-0",) or app.pods is None:
                return False
            current = app.pods.get("default/redis-sfs-0")
            return current is not None and \
                current["metadata"]["uid"] != old["metadata"]["uid"]

        await until(back, 20, screen_text(app))
        assert ha.display and NO_FAILOVER in screen_text(app)


async def test_the_ha_pane_reads_redisfailovers_once_the_kind_exists() -> None:
    """Without the CRD the pane says "no RedisFailover"; with it, it shows the object's
    status (primary, epoch); `:rf` then shows them in the table."""
    async with bare_cluster() as cluster, dashboard(connect(cluster)) as (app, pilot):
        await until(lambda: NO_FAILOVER in screen_text(app))
        await cluster.client.create(RF_CRD, None)
        rf: dict[str, Any] = await cluster.client.create(
            {"apiVersion": "redisha.io/v1", "kind": "RedisFailover",
             "metadata": {"name": "demo"}, "spec": {"redis": {"replicas": 3}}}, "default")
        rf["status"] = {"primary": "rfr-demo-0", "epoch": 2}
        await cluster.client.update_status(rf)
        app._rf_checked = float("-inf")
        await until(lambda: "Redis HA · default/demo" in screen_text(app), 5,
                    screen_text(app))
        assert "Primary rfr-demo-0" in screen_text(app)
        assert "epoch 2" in app.query_one(HAPane).text
        assert await app.execute("rf")
        await row(app, "demo")


async def test_ha_pane_placement_follows_the_terminal() -> None:
    """Right of the table when wide, under it at 120x40 and 80x24, hidden when smaller
    unless `:ha`."""
    async with bare_cluster() as cluster:
        for size, placement in (((160, 40), "right"), ((120, 40), "bottom"), ((80, 24), "bottom"),
                                ((79, 24), "hidden"), ((80, 23), "hidden")):
            async with dashboard(connect(cluster), size=size) as (app, pilot):
                assert app.ha_placement().value == placement, size
                if placement == "hidden":
                    assert await app.execute("ha")
                    await pilot.pause()
                    assert app.ha_placement().value == "bottom"
                    assert app.query_one(HAPane).display


async def test_labelled_pods_need_no_probe() -> None:
    """Pods the operator labelled show their role without any exec."""
    async with bare_cluster() as cluster:
        await cluster.client.create(pod("s1", labels={"app.kubernetes.io/component": "sentinel"}),
                                    "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "s1", "ROLE", equals="sentinel")
            assert app.probed_roles == {}
