"""The command bar: kubectl's commands typed inside the dashboard, errors as one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tui.dashboard_helpers import (bare_cluster, connect, dashboard, gone, notifications,
                                         pod, row, until)
from tui.app import DashboardApp
from tui.screens.text import TextScreen
from tui.widgets.logpane import LogPane

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: pause
"""


async def type_command(app: DashboardApp, pilot: Any, text: str) -> None:
    """: then the text (pasted: the pilot takes ~50 ms a key) then enter, and wait for the
    command to end."""
    await pilot.press("colon")
    app.command_bar.insert_text_at_cursor(text)
    await pilot.press("enter")
    await pilot.pause()
    await until(lambda: not [w for w in app.workers if w.group == "commands" and w.is_running])
    await pilot.pause()


async def test_the_tutorial_commands_run_in_the_bar(tmp_path: Path, monkeypatch: Any) -> None:
    """run, apply -f, scale, get, exec and delete work as kubectl's, with their output."""
    (tmp_path / "web.yaml").write_text(DEPLOYMENT)
    monkeypatch.chdir(tmp_path)
    async with bare_cluster() as cluster, dashboard(connect(cluster)) as (app, pilot):
        await type_command(app, pilot, "run solo --image=pause --command -- sh -c 'exec sleep 600'")
        assert "pod/solo created" in notifications(app)
        await row(app, "solo", "STATUS", equals="Running")
        await type_command(app, pilot, "apply -f web.yaml")
        assert "deployment.apps/web created" in notifications(app)
        await type_command(app, pilot, "scale deploy web --replicas=3")
        assert "deployment.apps/web scaled" in notifications(app)
        await until(lambda: app.table.row_count == 4)
        await type_command(app, pilot, "exec solo -- echo hello from solo")
        assert app.last_output == "hello from solo\n"
        assert "hello from solo" in notifications(app)
        await type_command(app, pilot, "get pods")
        assert isinstance(app.screen, TextScreen)
        assert app.screen.text.startswith("NAME ") and "solo" in app.screen.text
        await pilot.press("escape")
        await type_command(app, pilot, "delete pod solo")
        assert 'pod "solo" deleted' in notifications(app)
        await gone(app, "solo", timeout=10)


async def test_mistakes_are_one_line_and_change_nothing() -> None:
    """Unknown kinds, missing objects, bad flags, endless commands and bad quoting are each
    one error notification; the app keeps running and nothing is created."""
    async with bare_cluster() as cluster, dashboard(connect(cluster)) as (app, pilot):
        cases = {
            "bogus": 'the server doesn\'t have a resource type "bogus"',
            "delete pod nope": 'Error from server (NotFound): pods "nope" not found',
            "run x --bogus": "error: unknown flag: --bogus",
            "get pods -w": "get would never end here: the table watches (:pods) and the log "
                           "pane follows (l)",
            "get pods 'oops": "cannot parse \"get pods 'oops\": No closing quotation",
            "scale deploy nope --replicas=2":
                'Error from server (NotFound): deployments.apps "nope" not found',
        }
        for text, line in cases.items():
            await type_command(app, pilot, text)
            assert notifications(app)[-1] == line, text
        assert app.is_running
        assert (await cluster.client.list("pods", "default")).items == []


async def test_esc_closes_the_bar_and_up_recalls_history() -> None:
    """esc drops what was typed; up brings back the previous line."""
    async with bare_cluster() as cluster, dashboard(connect(cluster)) as (app, pilot):
        await type_command(app, pilot, "no")
        assert app.rt is not None and app.rt.key == "nodes"
        await pilot.press("colon", *"po", "escape")
        await pilot.pause()
        assert not app.command_bar.display and app.rt.key == "nodes"
        await pilot.press("colon", "up")
        assert app.command_bar.value == "no"
        await pilot.press("escape")


async def test_logs_command_opens_the_log_pane() -> None:
    """`:logs POD` follows that pod's log in the pane."""
    async with bare_cluster() as cluster:
        await cluster.client.create(pod("talk", command=["sh", "-c", "echo said; exec sleep 600"]),
                                    "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "talk", "STATUS", equals="Running")
            await type_command(app, pilot, "logs talk")
            pane = app.query_one(LogPane)
            await until(lambda: pane.target is not None and "said" in pane.text)
