"""Snapshots (pytest-textual-snapshot) of the pods view, the help screen and describe.

The cluster here is an API server alone, with a fixed clock and seeded uids, holding
objects written by hand, so that every cell (AGE, IPs, statuses) is the same on every run.
The HA pane during and after a failover: test_snapshots_ha.py.
Update with `pytest tests/tui/test_snapshots_dashboard.py --snapshot-update`.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from cluster.api import objects
from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from tui.app import DashboardApp, DashboardSettings
from tui.connection import Connection

NOW = 1_700_000_000.0
SIZE = (120, 40)


def _running(ready: bool = True, reason: str = "", restarts: int = 0) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {"startedAt": objects.format_time(NOW)}} if not reason \
        else {"waiting": {"reason": reason}}
    return {"phase": "Running", "startTime": objects.format_time(NOW),
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [{"name": "redis", "image": "redis", "imageID": "redis",
                                   "ready": ready, "restartCount": restarts,
                                   "started": ready, "state": state}]}


def _app() -> DashboardApp:
    api = APIServer(clock=lambda: NOW, rng=random.Random(7))
    for i in (1, 2, 3):
        node = api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{i}"}})
        node["status"] = {"conditions": [{"type": "Ready", "status": "True"}],
                          "nodeInfo": {"kubeletVersion": "v1.32.0"}}
        api.update(node, subresource="status")
    pods = [("rfr-demo-0", {"redisha.io/role": "primary"}, _running(), "127.9.0.2", 1),
            ("rfr-demo-1", {"redisha.io/role": "replica"}, _running(), "127.9.0.3", 2),
            ("rfr-demo-2", {"redisha.io/role": "replica"},
             _running(False, "CrashLoopBackOff", 3), "127.9.0.4", 3),
            ("rfs-demo-0", {"app.kubernetes.io/component": "sentinel"}, _running(), "127.9.0.5", 1),
            ("writer", {}, _running(), "127.9.0.6", 2)]
    for name, labels, status, ip, node in pods:
        pod = api.create({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": name, "labels": labels},
                          "spec": {"nodeName": f"node-{node}",
                                   "containers": [{"name": "redis", "image": "redis"}]}},
                         "default")
        pod["status"] = {**status, "podIP": ip, "hostIP": "127.0.0.1"}
        api.update(pod, subresource="status")
    connection = Connection(InProcessClient(api), context="snapshot", namespace="default")
    return DashboardApp(connection, settings=DashboardSettings(clock=lambda: NOW + 90,
                                                              probe_roles=False))


async def _filled(pilot: Any) -> None:
    app: DashboardApp = pilot.app
    await asyncio.wait_for(app.attached.wait(), 10)
    while app.table.row_count < 5 or app.primaries() != ("default/rfr-demo-0",):
        await asyncio.sleep(0.01)
    app.refresh_now()  # the header and the HA pane, rather than waiting for their timers
    app.table.focus()
    await pilot.pause()


def test_pods_view(snap_compare: Any) -> None:
    """Roles, a crashing replica, READY/STATUS/RESTARTS and the header, coloured by tone."""
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_filled)


def test_help_screen(snap_compare: Any) -> None:
    """? lists every binding."""
    assert snap_compare(_app(), terminal_size=SIZE, run_before=_filled, press=["question_mark"])


def test_describe_view(snap_compare: Any) -> None:
    """d on the primary shows kubectl describe's text."""
    async def before(pilot: Any) -> None:
        await _filled(pilot)
        pilot.app.select_row("rfr-demo-0")
        await pilot.press("d")
        while pilot.app.screen.id == "main-screen":
            await asyncio.sleep(0.01)

    assert snap_compare(_app(), terminal_size=SIZE, run_before=before)
