"""Where the dashboard once differed from k9s: the log pane's autoscroll, `s` for a shell,
`:logs` of a pod that does not exist, the HA pane's layout after a resize, and `/`
filtering as it is typed."""

from __future__ import annotations

from tests.tui.dashboard_helpers import (bare_cluster, connect, dashboard, gone, notifications,
                                         pod, row, until)
from tui.widgets.logpane import LogPane

BUSY = ["sh", "-c", "seq 1 300; while :; do echo tick; sleep 0.05; done"]
"""A container with a backlog of 300 lines that then keeps logging."""


async def test_scrolling_back_pauses_autoscroll_and_s_keeps_the_stream() -> None:
    """pgup in a followed log stops the jumps to the end without stopping the stream;
    s resumes at the end, and s again pauses where the view is, still streaming."""
    async with bare_cluster() as cluster:
        await cluster.client.create(pod("busy", command=BUSY), "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "busy", "STATUS", equals="Running")
            app.select_row("busy")
            await pilot.press("l")
            pane = app.query_one(LogPane)
            view = pane.view
            await until(lambda: "tick" in pane.text, 5, pane.error)
            await until(lambda: view.max_scroll_y > 0 and view.scroll_y == view.max_scroll_y)
            await pilot.press("pageup")
            assert pane.target is not None and not pane.target.follow
            assert pane.border_title == "logs default/busy"
            held, count = view.scroll_y, len(pane._lines)
            await until(lambda: len(pane._lines) > count + 5, 5, "the stream stopped")
            await pilot.pause()
            assert view.scroll_y == held < view.max_scroll_y
            await pilot.press("s")
            assert pane.target.follow
            await until(lambda: view.scroll_y == view.max_scroll_y)
            await pilot.press("s")
            assert not pane.target.follow and view.scroll_y > 0
            count = len(pane._lines)
            await until(lambda: len(pane._lines) > count + 5, 5, "the stream stopped")


async def test_s_begins_an_exec_in_the_selected_pod() -> None:
    """s opens the command bar on `exec POD -- `; what is typed next runs in the pod."""
    async with bare_cluster() as cluster:
        await cluster.client.create(pod("web"), "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "web", "STATUS", equals="Running")
            app.select_row("web")
            await pilot.press("s")
            bar = app.command_bar
            assert bar.display and bar.value == "exec web -- "
            await pilot.press("e", "c", "h", "o", "space", "h", "i")
            assert bar.value == "exec web -- echo hi"
            await pilot.press("enter")
            await until(lambda: "hi" in notifications(app), 5, str(notifications(app)))
            assert await app.execute("no")
            await row(app, "node-1")
            await pilot.press("s")
            await pilot.pause()
            assert not bar.display
            assert notifications(app)[-1] == "a shell is for pods: select a pod (:pods)"


async def test_readonly_has_no_shell() -> None:
    """--readonly: s opens nothing, as k9s's read-only mode has no shell."""
    async with bare_cluster() as cluster:
        await cluster.client.create(pod("web"), "default")
        async with dashboard(connect(cluster), readonly=True) as (app, pilot):
            await row(app, "web", "STATUS", equals="Running")
            app.select_row("web")
            await pilot.press("s")
            await pilot.pause()
            assert not app.command_bar.display


async def test_logs_of_an_unknown_pod_is_one_line_not_a_pane() -> None:
    """`:logs nosuch` says what kubectl says and leaves the log pane closed."""
    async with bare_cluster() as cluster, dashboard(connect(cluster)) as (app, pilot):
        assert not await app.execute("logs nosuch")
        await pilot.pause()
        assert notifications(app)[-1] == 'Error from server (NotFound): pods "nosuch" not found'
        assert not app.query_one(LogPane).display


async def test_ha_pane_layout_follows_each_resize() -> None:
    """Resizing to 80x24 lays the HA pane out for 80 columns, and back to 160 for 160
    (not for the size before the resize)."""
    async with bare_cluster() as cluster, dashboard(connect(cluster)) as (app, pilot):
        screen = app.screen
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert {"-ha-bottom", "-ha-narrow"} <= set(screen.classes)
        await pilot.resize_terminal(160, 40)
        await pilot.pause()
        assert "-ha-right" in screen.classes and "-ha-narrow" not in screen.classes


async def test_filter_narrows_rows_as_it_is_typed_and_esc_puts_back_the_old_one() -> None:
    """/ filters at each key (an unfinished regex stays quiet); esc restores the filter
    the rows had before /."""
    async with bare_cluster() as cluster:
        for name in ("web-1", "web-2", "db-1"):
            await cluster.client.create(pod(name), "default")
        async with dashboard(connect(cluster)) as (app, pilot):
            await row(app, "db-1")
            assert app.set_filter("-")
            await pilot.press("slash")
            app.command_bar.value = ""
            await pilot.press("w", "e", "b", "-", "2")
            await gone(app, "db-1")
            await gone(app, "web-1")
            before = list(notifications(app))
            await pilot.press("left_square_bracket")
            await pilot.pause()
            assert notifications(app) == before
            await pilot.press("escape")
            await row(app, "db-1")
            await row(app, "web-1")
            assert app.model is not None and app.model.row_filter.text == "-"
