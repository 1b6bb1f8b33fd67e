"""The HA pane over the real demo: RedisFailover `demo` run by the operator, its sentinels,
its writer pod; killing or hanging the primary from the dashboard and watching the
failover in the pane and the header."""

from __future__ import annotations

import asyncio

from tests.tui.dashboard_helpers import DOWN_AFTER_MS, dashboard, ha_demo, notifications, until
from tests.tui.test_app_faults import choose
from tui.app import DashboardApp
from tui.faults import FaultKind
from tui.haview import HAView
from tui.script import screen_text
from tui.timeline import Step
from tui.widgets.hapane import HAPane


def _settled(app: DashboardApp) -> bool:
    view = app.ha_view
    return (view is not None and view.phase == "Ready" and len(app.primaries()) == 1
            and view.writes.present and view.writes.totals.acked > 0
            and len(view.sentinels) == 3 and all(s.agrees for s in view.sentinels))


async def _ready(app: DashboardApp) -> str:
    """Wait for the demo to settle; the primary's name."""
    await until(lambda: _settled(app), 30, f"the demo settled: {screen_text(app)}")
    assert app.ha_view is not None
    return app.ha_view.primary


def _replaced(app: DashboardApp, old: str) -> bool:
    view = app.ha_view
    return (view is not None and view.primary not in ("", old)
            and app.primaries() == (f"default/{view.primary}",)
            and view.timeline is not None and view.timeline.done
            and view.timeline.at(Step.FIRST_WRITE) is not None)


async def test_killing_the_primary_shows_the_new_primary_in_the_pane_and_header() -> None:
    """The header counts the writer's writes a second. ctrl-k on the primary's row: the
    pane names a new primary, the header too; the timeline runs from the key press
    (PodDeleted at 0 ms) through the sentinels' election and switch to the writer's
    first write on the new primary, and no acknowledged write was lost."""
    async with ha_demo() as connection, dashboard(connection) as (app, pilot):
        old = await _ready(app)
        await until(lambda: app.ha_view is not None and app.ha_view.writes.rate > 10, 10,
                    screen_text(app))
        app.refresh_now()
        await pilot.pause()
        header = screen_text(app).splitlines()[1]
        assert f"Primary {old}" in header and int(header.split("Writes/s")[1].split()[0]) > 10
        assert app.select_row(old)
        await pilot.press("ctrl+k")
        await until(lambda: _replaced(app, old), 20, screen_text(app))
        view = app.ha_view
        assert view is not None and view.timeline is not None
        new, timeline = view.primary, view.timeline
        app.refresh_now()
        await pilot.pause()
        text = screen_text(app)
        assert f"Primary {new}" in text.splitlines()[1], text
        pane = app.query_one(HAPane).text
        assert f"Primary {new}" in pane and f"{old} → {new}" in pane
        assert (timeline.old, timeline.new, timeline.reason) == (old, new, "PodDeleted")
        ms = {step: timeline.ms(step) for step, _ in timeline.steps}
        assert ms[Step.FAULT] == 0
        assert 0 < ms[Step.ELECTED] <= ms[Step.PROMOTED] <= ms[Step.SWITCH]  # type: ignore[operator]
        assert ms[Step.SWITCH] <= ms[Step.FIRST_WRITE] < 5000  # type: ignore[operator]
        # The API path needs no down-after: SDOWN shows only if the switch took longer.
        assert ms[Step.SDOWN] is None or ms[Step.SDOWN] >= DOWN_AFTER_MS
        assert view.writes.totals.lost == 0
        assert "first write" in pane and "lost 0" in pane


async def test_hanging_the_primary_fails_over_after_down_after() -> None:
    """The fault menu's hang on the primary: the pane shows a failover under way from the
    hang; nothing moves before down-after (500 ms); then the sentinels find it SDOWN,
    ODOWN, elect, promote and switch, and the pane and header name the new primary."""
    async with ha_demo() as connection, dashboard(connection) as (app, pilot):
        old = await _ready(app)
        assert app.select_row(old)
        seen: list[HAView] = []

        async def record() -> None:
            while True:
                if app.ha_view is not None and (not seen or seen[-1] != app.ha_view):
                    seen.append(app.ha_view)
                await asyncio.sleep(0.02)

        recorder = asyncio.create_task(record())
        try:
            await choose(app, pilot, FaultKind.HANG)
            await until(lambda: _replaced(app, old), 20, screen_text(app))
        finally:
            recorder.cancel()
        under_way = [v.timeline for v in seen if v.timeline is not None and not v.timeline.done]
        assert under_way and all(t.old == old and t.ms(Step.FAULT) == 0 for t in under_way)
        assert under_way[0].at(Step.SDOWN) is None  # shown from the hang on, before SDOWN
        view = app.ha_view
        assert view is not None and view.timeline is not None
        timeline = view.timeline
        assert (timeline.old, timeline.reason) == (old, "ODOWN")
        ms = {step: timeline.ms(step) for step, _ in timeline.steps}
        assert ms[Step.FAULT] == 0
        assert DOWN_AFTER_MS <= ms[Step.SDOWN] <= ms[Step.ODOWN] <= ms[Step.ELECTED]  # type: ignore[operator]
        assert ms[Step.ELECTED] <= ms[Step.SWITCH] <= ms[Step.FIRST_WRITE]  # type: ignore[operator]
        assert (timeline.completed_ms or 0) >= DOWN_AFTER_MS
        header = f"Primary {view.primary}  Epoch {timeline.epoch}"
        app.refresh_now()
        await until(lambda: header in screen_text(app).splitlines()[1], 5,
                    f"{header!r} in the header: {screen_text(app)}")


async def test_partitioning_the_primary_from_the_sentinels_fails_over_after_down_after() -> None:
    """The fault menu's partition from the sentinels on the primary: the API sees nothing,
    so nothing moves before down-after; then the sentinels fail over (ODOWN) and the pane
    and header name the new primary. Healing leaves one primary: the old one is demoted."""
    async with ha_demo() as connection, dashboard(connection) as (app, pilot):
        old = await _ready(app)
        assert app.select_row(old)
        await choose(app, pilot, FaultKind.PARTITION_FROM_SENTINELS)
        assert any(f"pod/{old} partitioned from" in n for n in notifications(app))
        await until(lambda: _replaced(app, old), 20, screen_text(app))
        view = app.ha_view
        assert view is not None and view.timeline is not None
        timeline = view.timeline
        assert (timeline.old, timeline.reason) == (old, "ODOWN")
        ms = {step: timeline.ms(step) for step, _ in timeline.steps}
        assert DOWN_AFTER_MS <= ms[Step.SDOWN] <= ms[Step.ODOWN] <= ms[Step.SWITCH]  # type: ignore[operator]
        assert (timeline.completed_ms or 0) >= DOWN_AFTER_MS
        app.refresh_now()
        await until(lambda: f"Primary {view.primary}" in screen_text(app).splitlines()[1], 5,
                    screen_text(app))
        await choose(app, pilot, FaultKind.HEAL)
        await until(lambda: len(app.primaries()) == 1 and app.ha_view is not None
                    and app.ha_view.phase == "Ready", 20, screen_text(app))
        assert app.primaries() == (f"default/{view.primary}",)
