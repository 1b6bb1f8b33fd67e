"""The table's keys: logs and their toggles, describe, YAML, filter, kill, delete, help,
the command palette, quitting, and --readonly."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from cluster.api import errors
from tests.tui.dashboard_helpers import (bare_cluster, connect, dashboard, gone, notifications,
                                         pod, row, until)
from tui.app import DashboardApp
from tui.keys import MAIN_BINDINGS
from tui.screens.confirm import ConfirmScreen
from tui.screens.help import HelpScreen
from tui.screens.text import TextScreen
from tui.script import screen_text
from tui.widgets.logpane import LogPane

CHATTY = ["sh", "-c", "echo first line; echo second line; exec sleep 600"]
"""A container that logs two lines and then waits."""


async def _exists(cluster: Any, resource: str, name: str) -> bool:
    try:
        await cluster.client.get(resource, name, "default")
    except errors.NotFound:
        return False
    return True


async def type_filter(app: DashboardApp, pilot: Any, text: str) -> None:
    """/ then the text (replacing the filter the bar offers) then enter."""
    await pilot.press("slash")
    app.command_bar.value = ""
    app.command_bar.insert_text_at_cursor(text)
    await pilot.press("enter")


def _text_screen(app: DashboardApp) -> str:
    assert isinstance(app.screen, TextScreen), app.screen
    return app.screen.text


async def test_l_follows_the_selected_pods_log_with_wrap_timestamps_and_previous() -> None:
    """l opens the pane on the pod; s/w/t/p toggle follow, wrap, timestamps, previous;
    esc closes it."""
    async with bare_cluster() as cluster:
        await cluster.client.create(pod("chatty", command=CHATTY), "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "chatty", "STATUS", equals="Running")
            app.select_row("chatty")
            await pilot.press("l")
            pane = app.query_one(LogPane)
            assert pane.display and pane.target is not None
            await until(lambda: "second line" in pane.text, 5, pane.error)
            assert "logs default/chatty · follow" == pane.border_title
            await pilot.press("w")
            assert pane.target.wrap and pane.view.wrap
            await pilot.press("t")
            assert pane.target.timestamps
            await until(lambda: pane.text.split("\n")[0].endswith("Z first line")
                        and pane.text[4] == "-")
            await pilot.press("s")
            assert not pane.target.follow
            await until(lambda: "second line" in pane.text)
            await pilot.press("p")
            assert pane.target.previous
            await until(lambda: "previous terminated container" in pane.error)
            await pilot.press("escape")
            assert not pane.display and app.focused is app.table


async def test_logs_are_for_pods() -> None:
    """l on a node says so instead of failing."""
    async with bare_cluster() as cluster, dashboard(connect(cluster)) as (app, pilot):
        await app.execute("no")
        await row(app, "node-1")
        await pilot.press("l")
        await pilot.pause()
        assert notifications(app)[-1] == "logs are for pods: select a pod (:pods)"


async def test_d_describes_and_y_shows_yaml() -> None:
    """d shows kubectl describe's text, y the object's YAML without managedFields; esc back."""
    async with bare_cluster() as cluster:
        await cluster.client.create(pod("web"), "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "web", "STATUS", equals="Running")
            app.select_row("web")
            await pilot.press("d")
            await until(lambda: isinstance(app.screen, TextScreen))
            text = _text_screen(app)
            assert text.startswith("Name:         web\nNamespace:    default\n")
            assert "Status:       Running" in text
            await pilot.press("escape")
            await pilot.press("y")
            await until(lambda: isinstance(app.screen, TextScreen))
            text = _text_screen(app)
            assert "apiVersion: v1\nkind: Pod\n" in text and "managedFields" not in text
            await pilot.press("escape")
            assert not isinstance(app.screen, TextScreen)


async def test_filter_by_regex_and_labels_then_esc_clears_it() -> None:
    """/ + regex narrows the rows (shown in the border), /-l selects by label, a bad regex
    is refused, esc clears."""
    async with bare_cluster() as cluster:
        for name, app_label in (("web-1", "web"), ("web-2", "web"), ("db-1", "db")):
            await cluster.client.create(pod(name, labels={"app": app_label}), "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "db-1")
            await type_filter(app, pilot, "web-2")
            await gone(app, "db-1")
            await gone(app, "web-1")
            assert app.table.border_subtitle == "/web-2"
            await type_filter(app, pilot, "-l app=db")
            await row(app, "db-1")
            await gone(app, "web-2")
            await type_filter(app, pilot, "web(")
            await pilot.pause()
            assert notifications(app)[-1].startswith("bad regular expression 'web('")
            assert app.model is not None and app.model.row_filter.text == "-l app=db"
            await pilot.press("escape")
            await row(app, "web-1")
            assert app.table.border_subtitle == ""


async def test_ctrl_k_kills_the_selected_pod_now() -> None:
    """ctrl-k deletes the pod with grace period 0: the row goes, no question asked."""
    async with bare_cluster() as cluster:
        await cluster.client.create(pod("victim"), "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "victim", "STATUS", equals="Running")
            app.select_row("victim")
            await pilot.press("ctrl+k")
            await gone(app, "victim")
            assert not await _exists(cluster, "pods", "victim")
            assert 'pod "victim" killed' in notifications(app)


async def test_ctrl_d_asks_before_deleting() -> None:
    """ctrl-d then n keeps the object; ctrl-d then y deletes it (any kind)."""
    async with bare_cluster() as cluster:
        await cluster.client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "cfg"}}, "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await app.execute("configmaps")
            await row(app, "cfg")
            app.select_row("cfg")
            await pilot.press("ctrl+d")
            assert isinstance(app.screen, ConfirmScreen)
            assert "Delete configmap/cfg in namespace default?" in screen_text(app)
            await pilot.press("n")
            await pilot.pause()
            assert await _exists(cluster, "configmaps", "cfg")
            await pilot.press("ctrl+d", "y")
            await gone(app, "cfg")
            assert 'configmap "cfg" deleted' in notifications(app)


async def test_help_lists_every_binding() -> None:
    """? shows every key of the main screen, the log pane's keys and the commands."""
    async with bare_cluster() as cluster, dashboard(connect(cluster)) as (app, pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for spec in MAIN_BINDINGS:
            assert spec.long in text, spec
        for words in ("<ctrl+p>", "Follow", "Wrap", "Timestamps", "Previous", ":ns NAME",
                      ":exec POD -- CMD", "Drill in"):
            assert words in text, words
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_every_action_is_in_the_command_palette() -> None:
    """ctrl-p lists every key's action, views and faults; choosing one runs it."""
    async with bare_cluster() as cluster:
        await cluster.client.create(pod("web"), "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "web")
            titles = {c.title for c in app.get_system_commands(app.screen)}
            for spec in MAIN_BINDINGS:
                assert spec.long in titles, spec
            assert {"Drill in", "View nodes", "Logs: toggle wrap",
                    "Fault: crash the pod's containers"} <= titles
            await pilot.press("ctrl+p")
            palette = app.screen.query_one(Input)
            palette.insert_text_at_cursor("Describe the selected")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, TextScreen), 5, screen_text(app))


async def test_readonly_removes_destructive_keys_and_commands() -> None:
    """--readonly: ctrl-k, ctrl-d and f do nothing and leave the footer, help and palette;
    writing commands are refused with one line."""
    async with bare_cluster() as cluster:
        await cluster.client.create(pod("safe"), "default")
        async with dashboard(connect(cluster), readonly=True) as (app, pilot):
            await row(app, "safe", "STATUS", equals="Running")
            app.select_row("safe")
            await pilot.press("ctrl+k", "ctrl+d", "f")
            await pilot.pause()
            assert isinstance(app.screen, type(app.screen)) and app.screen.id == "main-screen"
            assert await _exists(cluster, "pods", "safe")
            footer = screen_text(app).splitlines()[-1]
            assert "Kill" not in footer and "Faults" not in footer and "Logs" in footer
            assert not await app.execute("delete pod safe")
            await pilot.pause()
            assert notifications(app)[-1] == ("read-only: delete is disabled (the dashboard "
                                              "runs with --readonly)")
            assert await _exists(cluster, "pods", "safe")
            titles = {c.title for c in app.get_system_commands(app.screen)}
            assert not any("Kill" in t or "Fault" in t for t in titles)
            assert "READ-ONLY" in screen_text(app)


async def test_q_and_ctrl_c_quit() -> None:
    """q quits from the table; ctrl-c quits from anywhere, even the command bar."""
    async with bare_cluster() as cluster:
        async with dashboard(connect(cluster)) as (app, pilot):
            await pilot.press("q")
            await until(lambda: not app.is_running)
        async with dashboard(connect(cluster)) as (app, pilot):
            await pilot.press("colon", "q")
            assert app.is_running and app.command_bar.value == "q"
            await pilot.press("ctrl+c")
            await until(lambda: not app.is_running)
