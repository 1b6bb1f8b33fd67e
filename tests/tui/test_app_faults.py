"""The fault menu (`f`): pod faults through the Faults protocol, node faults through the API."""

from __future__ import annotations

from typing import Any

from textual.widgets import OptionList

from tests.tui.dashboard_helpers import (RecordingFaults, bare_cluster, connect, dashboard,
                                         notifications, pod, real_faults, row, until)
from tui.app import DashboardApp
from tui.faults import FaultKind
from tui.screens.faultmenu import FaultMenu
from tui.script import screen_text

CHATTY = ["sh", "-c", "echo up; exec sleep 600"]


async def choose(app: DashboardApp, pilot: Any, kind: FaultKind) -> None:
    """f, then the menu entry for `kind`, then enter."""
    await pilot.press("f")
    menu = app.screen
    assert isinstance(menu, FaultMenu), screen_text(app)
    index = [c.kind for c in menu.choices].index(kind)
    menu.query_one(OptionList).highlighted = index
    await pilot.press("enter")
    await pilot.pause()


async def _labelled_pods(cluster: Any) -> None:
    for name, labels in (("p0", {"redisha.io/role": "primary"}),
                         ("p1", {"redisha.io/role": "replica"}),
                         ("s0", {"app.kubernetes.io/component": "sentinel"})):
        await cluster.client.create(pod(name, labels=labels), "default")


async def test_pod_faults_go_through_the_faults_protocol() -> None:
    """crash, hang, thaw, partition from the primary / sentinels, heal and kill node ask
    the Faults implementation, with the peers taken from the pods' roles."""
    faults = RecordingFaults()
    async with bare_cluster() as cluster:
        await _labelled_pods(cluster)
        async with dashboard(connect(cluster, faults)) as (app, pilot):
            await row(app, "p1", "STATUS", equals="Running")
            await row(app, "s0", "ROLE", equals="sentinel")
            app.select_row("p1")
            node = (await cluster.client.get("pods", "p1", "default"))["spec"]["nodeName"]
            for kind in (FaultKind.CRASH, FaultKind.HANG, FaultKind.THAW,
                         FaultKind.PARTITION_FROM_PRIMARY, FaultKind.PARTITION_FROM_SENTINELS,
                         FaultKind.HEAL, FaultKind.KILL_NODE):
                await choose(app, pilot, kind)
            assert faults.calls == [
                ("crash", "default", "p1"), ("hang", "default", "p1"),
                ("thaw", "default", "p1"), ("partition", "default", "p1", ("p0",)),
                ("partition", "default", "p1", ("s0",)), ("heal",), ("kill-node", node)]
            assert "pod/p1 partitioned from s0" in notifications(app)


async def test_entries_that_cannot_work_are_disabled_with_the_reason() -> None:
    """No Faults implementation: pod faults are greyed with why; nothing is called. The
    primary cannot be partitioned from itself."""
    async with bare_cluster() as cluster:
        await _labelled_pods(cluster)
        async with dashboard(connect(cluster, None)) as (app, pilot):
            await row(app, "p0", "STATUS", equals="Running")
            app.select_row("p0")
            await pilot.press("f")
            assert isinstance(app.screen, FaultMenu)
            reasons = {c.kind: c.reason for c in app.screen.choices}
            assert reasons[FaultKind.CRASH] == "this cluster takes no faults beyond its API"
            assert reasons[FaultKind.CORDON] == ""
            assert "takes no faults beyond its API" in screen_text(app)
            options = app.screen.query_one(OptionList)
            options.highlighted = 0
            await pilot.press("enter")
            assert isinstance(app.screen, FaultMenu)
            await pilot.press("escape")
        async with dashboard(connect(cluster, RecordingFaults())) as (app, pilot):
            await row(app, "p0", "STATUS", equals="Running")
            app.select_row("p0")
            choices = app.fault_choices()
            assert choices is not None
            reasons = {c.kind: c.reason for c in choices[1]}
            assert reasons[FaultKind.PARTITION_FROM_PRIMARY] == "no other primary known"


async def test_node_faults_cordon_uncordon_drain_through_the_api() -> None:
    """On a node: cordon sets spec.unschedulable, uncordon clears it, drain cordons and
    deletes the node's pods."""
    async with bare_cluster(nodes=2) as cluster:
        victim = pod("victim")
        victim["spec"]["nodeName"] = "node-1"
        await cluster.client.create(victim, "default")
        async with dashboard(connect(cluster, RecordingFaults())) as (app, pilot):
            await app.execute("no")
            await row(app, "node-1", "STATUS", equals="Ready")
            app.select_row("node-1")

            async def unschedulable() -> bool:
                node = await cluster.client.get("nodes", "node-1")
                return bool(node["spec"].get("unschedulable"))

            await choose(app, pilot, FaultKind.CORDON)
            assert await unschedulable()
            await row(app, "node-1", "STATUS", equals="Ready,SchedulingDisabled")
            await choose(app, pilot, FaultKind.UNCORDON)
            assert not await unschedulable()
            await choose(app, pilot, FaultKind.DRAIN)
            assert await unschedulable()
            assert "node/node-1 drained (1 pod evicted)" in notifications(app)
            pods = await cluster.client.list("pods", "default")
            assert all(p["metadata"].get("deletionTimestamp") for p in pods.items)


async def test_the_embedded_clusters_faults_crash_hang_partition_and_kill_node() -> None:
    """ClusterFaults over the embedded cluster: a crash restarts the container (RESTARTS
    1), hang/thaw freeze and free it, partition/heal cut and restore the network, kill
    node stops the node's kubelet, and a crash on a dead node is one clear line."""
    async with bare_cluster(nodes=2) as cluster:
        await cluster.client.create(pod("p0", labels={"redisha.io/role": "primary"}), "default")
        chatty = pod("app", command=CHATTY)
        chatty["spec"]["nodeName"] = "node-2"
        await cluster.client.create(chatty, "default")
        async with dashboard(connect(cluster, real_faults(cluster))) as (app, pilot):
            await row(app, "app", "STATUS", equals="Running", timeout=10)
            await row(app, "p0", "STATUS", equals="Running")
            app.select_row("app")
            await choose(app, pilot, FaultKind.CRASH)
            await until(lambda: (app.table.cell_text("default/app", "RESTARTS") or "")
                        .startswith("1"), 10, screen_text(app))
            await row(app, "app", "STATUS", equals="Running", timeout=10)
            await choose(app, pilot, FaultKind.HANG)
            assert "pod/app hung (its processes are frozen until thawed)" in notifications(app)
            assert cluster.network.faults.frozen
            await choose(app, pilot, FaultKind.THAW)
            assert not cluster.network.faults.frozen
            await choose(app, pilot, FaultKind.PARTITION_FROM_PRIMARY)
            assert len(cluster.network.faults.partitions) == 1
            await choose(app, pilot, FaultKind.HEAL)
            assert cluster.network.faults.partitions == []
            await choose(app, pilot, FaultKind.KILL_NODE)
            assert "node-2" not in cluster.kubelets
            await choose(app, pilot, FaultKind.CRASH)
            assert notifications(app)[-1] == 'node "node-2" of pod "app" is not running (killed)'
