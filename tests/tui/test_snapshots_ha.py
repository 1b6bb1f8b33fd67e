"""Snapshots (pytest-textual-snapshot) of the HA pane during and after a failover.

Deterministic by construction rather than by masking: an API server alone with a fixed
clock and seeded uids holds the RedisFailover and its pods as the operator would have
written them; the sentinel and writer log lines the pane reads are fed to the app's
`HAFeed` directly (log following is off), stamped relative to the same fixed clock. So
every millisecond in the timeline and every bar of the sparkline is the same on every run.
Update with `pytest tests/tui/test_snapshots_ha.py --snapshot-update`.
"""

from __future__ import annotations

import asyncio
import datetime
import random
from typing import Any

import redisha.operator as rf_operator
from cluster.api import objects
from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from tui.app import DashboardApp, DashboardSettings
from tui.connection import Connection
from tui.hafeed import Source, SourceKind

CREATED = 1_700_000_000.0
NOW = CREATED + 90
"""The dashboard's clock: the objects are 90 s old."""
FAULT = NOW - 3.0
"""The hang of rfr-demo-0, three seconds ago."""
IPS = {"rfr-demo-0": "127.9.0.2", "rfr-demo-1": "127.9.0.3", "rfr-demo-2": "127.9.0.4",
       "rfs-demo-7d9f-a1b2c": "127.9.0.5", "rfs-demo-7d9f-d3e4f": "127.9.0.6",
       "rfs-demo-7d9f-g5h6i": "127.9.0.7", "demo-writer-5f6d-x7y8z": "127.9.0.8"}
SENTINELS = sorted(n for n in IPS if n.startswith("rfs-"))


def _log_time(at: float) -> str:
    return objects.format_micro_time(at)


def _running() -> dict[str, Any]:
    return {"phase": "Running", "startTime": objects.format_time(CREATED),
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "main", "image": "redis", "imageID": "redis",
                                   "ready": True, "restartCount": 0, "started": True,
                                   "state": {"running": {"startedAt":
                                                         objects.format_time(CREATED)}}}]}


def _labels(name: str, primary: str) -> dict[str, str]:
    if name.startswith("rfr-"):
        labels = {"app.kubernetes.io/name": "redisfailover", "app.kubernetes.io/instance": "demo",
                  "app.kubernetes.io/component": "redis"}
        if name == primary:
            labels["redisha.io/role"] = "primary"
        elif name != "rfr-demo-0" or primary == "rfr-demo-0":
            labels["redisha.io/role"] = "replica"
        return labels
    if name.startswith("rfs-"):
        return {"app.kubernetes.io/name": "redisfailover", "app.kubernetes.io/instance": "demo",
                "app.kubernetes.io/component": "sentinel"}
    return {"app.kubernetes.io/component": "writer", "redisha.io/writes-to": "demo"}


def _status(after: bool) -> dict[str, Any]:
    old, new = IPS["rfr-demo-0"], IPS["rfr-demo-1"]
    primary, primary_ip = ("rfr-demo-1", new) if after else ("rfr-demo-0", old)
    replicas = ([{"name": "rfr-demo-0", "ip": old, "link": "unknown", "role": "unknown"},
                 {"name": "rfr-demo-2", "ip": IPS["rfr-demo-2"], "role": "replica",
                  "offset": 48_213, "lagBytes": 0, "link": "up"}] if after else
                [{"name": "rfr-demo-1", "ip": new, "role": "replica", "offset": 45_870,
                  "lagBytes": 0, "link": "down"},
                 {"name": "rfr-demo-2", "ip": IPS["rfr-demo-2"], "role": "replica",
                  "offset": 45_870, "lagBytes": 0, "link": "down"}])
    states = ["none", "none", "none"] if after else ["wait_start", "none", "none"]
    status: dict[str, Any] = {
        "phase": "Degraded" if after else "Failover", "primary": primary,
        "primaryIP": primary_ip, "epoch": 1 if after else 0, "replicas": replicas,
        "sentinels": [{"name": s, "ip": IPS[s], "primary": f"{primary_ip}:6379",
                       "epoch": 1 if after else 0, "failoverState": state,
                       "knownSentinels": 2, "knownReplicas": 2}
                      for s, state in zip(SENTINELS, states)]}
    if after:
        status["lastFailover"] = {
            "reason": "ODOWN", "from": "rfr-demo-0", "to": "rfr-demo-1", "epoch": 1,
            "startedAt": _log_time(FAULT + 0.571), "promotedAt": _log_time(FAULT + 0.633),
            "completedAt": _log_time(FAULT + 0.702), "durationMs": 131}
    return status


def _sentinel_lines(after: bool) -> list[tuple[str, float, str]]:
    old, new = IPS["rfr-demo-0"], IPS["rfr-demo-1"]
    lines = []
    for i, s in enumerate(SENTINELS):
        lines += [(s, FAULT + 0.552 + i * 0.004, f"+sdown master mymaster {old} 6379"),
                  (s, FAULT + 0.570 + i * 0.002, f"+odown master mymaster {old} 6379 #quorum 2/2")]
    leader = SENTINELS[0]
    lines += [(leader, FAULT + 0.594, f"+elected-leader master mymaster {old} 6379")]
    if after:
        lines += [(leader, FAULT + 0.633,
                   f"+promoted-slave slave {new}:6379 {new} 6379 @ mymaster {old} 6379")]
        lines += [(s, FAULT + 0.655 + i * 0.01, f"+switch-master mymaster {old} 6379 {new} 6379")
                  for i, s in enumerate(SENTINELS)]
    return [(s, at, f"1:X {_redis_time(at)} # {text}") for s, at, text in lines]


def _redis_time(at: float) -> str:
    """Redis' log timestamp: local time to the millisecond (read back as the same time
    in any time zone)."""
    return datetime.datetime.fromtimestamp(at).strftime("%d %b %Y %H:%M:%S.%f")[:-3]


def _writer_lines(after: bool) -> list[tuple[float, str]]:
    """50 writes a second for a minute before the hang; failures while the primary is
    frozen; with `after`, acknowledged again by the new primary from 0.76 s on."""
    out, acked, failed, n = [], 0, 0, 0
    t = NOW - 60.0
    server = f"{IPS['rfr-demo-0']}:6379"
    while t < NOW:
        n += 1
        if t < FAULT:
            acked += 1
            out.append((t, (f"ack n={n} key=w:{n} server={server} ms=0.40 "
                            f"acked={acked} failed={failed} lost=0")))
            t += 0.02
        elif after and t >= FAULT + 0.76:
            server = f"{IPS['rfr-demo-1']}:6379"
            acked += 1
            out.append((t, (f"ack n={n} key=w:{n} server={server} ms=0.40 "
                            f"acked={acked} failed={failed} lost=0")))
            t += 0.02
        else:
            failed += 1
            out.append((t, (f'fail n={n} key=w:{n} error="timed out after 0.5s" '
                            f"acked={acked} failed={failed} lost=0")))
            t += 0.25
    return out


def _app(*, after: bool) -> DashboardApp:
    api = APIServer(clock=lambda: CREATED, rng=random.Random(7))
    api.create(rf_operator.crd())
    for i in (1, 2, 3):
        node = api.create({"apiVersion": "v1", "kind": "Node",
                           "metadata": {"name": f"node-{i}"}})
        node["status"] = {"conditions": [{"type": "Ready", "status": "True"}],
                          "nodeInfo": {"kubeletVersion": "v1.32.0"}}
        api.update(node, subresource="status")
    primary = "rfr-demo-1" if after else "rfr-demo-0"
    for i, (name, ip) in enumerate(IPS.items()):
        image = "redis" if name.startswith("rfr-") else \
            "redisha/sentinel" if name.startswith("rfs-") else "redisha/writer"
        pod = api.create({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": name, "labels": _labels(name, primary)},
                          "spec": {"nodeName": f"node-{i % 3 + 1}",
                                   "containers": [{"name": "main", "image": image}]}},
                         "default")
        pod["status"] = {**_running(), "podIP": ip, "hostIP": "127.0.0.1"}
        api.update(pod, subresource="status")
    rf = api.create(rf_operator.sample("demo", spec={"sentinel": {
        "downAfterMilliseconds": 500}}), "default")
    rf["status"] = _status(after)
    api.update(rf, subresource="status")
    connection = Connection(InProcessClient(api), context="snapshot", namespace="default")
    app = DashboardApp(connection, settings=DashboardSettings(
        clock=lambda: NOW, probe_roles=False, follow_ha_logs=False))
    feed = app.feed
    feed.note_fault("hang", ["default/rfr-demo-0"], at=FAULT)
    for sentinel, at, text in _sentinel_lines(after):
        feed.take(Source(f"default/{sentinel}", "uid-" + sentinel, SourceKind.SENTINEL,
                         "default/demo"), at, text)
    writer = Source("default/demo-writer-5f6d-x7y8z", "uid-writer", SourceKind.WRITER,
                    "default/demo")
    for at, text in _writer_lines(after):
        feed.take(writer, at, text)
    return app


async def _shown(pilot: Any) -> None:
    app: DashboardApp = pilot.app
    await asyncio.wait_for(app.attached.wait(), 10)
    deadline = asyncio.get_running_loop().time() + 10
    while app.table.row_count < len(IPS) or app.ha_view is None:
        assert asyncio.get_running_loop().time() < deadline, "the pods and the RedisFailover"
        await asyncio.sleep(0.01)
        app.refresh_now()
    app.refresh_now()
    app.table.focus()
    await pilot.pause()


def test_ha_pane_during_a_failover(snap_compare: Any) -> None:
    """The primary hung 3 s ago: SDOWN, ODOWN, a leader elected, nothing promoted yet;
    replicas' links down, one sentinel in a failover state, writes failing (red)."""
    assert snap_compare(_app(after=False), terminal_size=(120, 40), run_before=_shown)


def test_ha_pane_after_a_failover(snap_compare: Any) -> None:
    """rfr-demo-1 promoted: every sentinel believes in it at epoch 1, the timeline from the
    hang to the writer's first write on the new primary, writes flowing again."""
    assert snap_compare(_app(after=True), terminal_size=(120, 40), run_before=_shown)


def test_ha_pane_right_of_the_table(snap_compare: Any) -> None:
    """A wide terminal: the pane stacked right of the table, every part in one column."""
    assert snap_compare(_app(after=True), terminal_size=(170, 42), run_before=_shown)
