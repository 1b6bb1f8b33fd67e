"""Scenarios end to end on the fake backend: the operator, the built-in sentinels, a
writer with `WAIT 1`, a fault, and the checker's verdict."""

from __future__ import annotations

import json

import pytest

from redisha import cli
from redisha.scenario import runner
from redisha.scenario.faults import ScenarioName
from redisha.scenario.runner import RunnerSettings, ScenarioOptions
from redisha.scenario.writer import ClientMode, WriterMode

QUICK = RunnerSettings(settle_min=0.5, settle_down_afters=1.0, fault_jitter=0.05,
                       warmup_acks=30)
"""Half a second of settling: enough to see a repeated failover at 500 ms down-after."""


def test_kill_primary_loses_no_acknowledged_write(capsys: pytest.CaptureFixture[str]) -> None:
    """`redisha scenario kill-primary --writer wait --json`: one failover by the fast path
    (no +sdown: the API said the pod was gone), 0 lost, one writable primary, exit 0."""
    code = cli.main(["scenario", "kill-primary", "--writer", "wait", "--down-after-ms", "500",
                     "--json"])
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert code == 0, captured.err
    assert out["ok"] is True
    trial, = out["trials"]
    assert (trial["lost"], trial["failovers"], trial["max_writable_primaries"]) == (0, 1, 1)
    assert trial["acked"] > 30
    line = trial["timeline"]
    assert line["sdown"] is None  # not waited for: the operator asked for the failover
    assert 0 < line["switch"] < line["first_ack"] < 500
    assert out["summary"]["unavailable_ms"]["median"] == trial["unavailable_ms"]


async def test_hang_primary_waits_down_after_and_sentinel_clients_follow() -> None:
    """A frozen primary is seen only by missed pings (+sdown after down-after); redis-py's
    Sentinel client then writes to the new primary; the thawed old one does not take
    writes again."""
    options = ScenarioOptions(ScenarioName.HANG_PRIMARY, writer=WriterMode.WAIT,
                              client=ClientMode.SENTINEL, down_after_ms=500)
    verdict = await runner.run_trial(options, 1, settings=QUICK)
    assert verdict.failures == ()
    assert (verdict.lost, verdict.failovers, verdict.max_writable_primaries) == (0, 1, 1)
    line = verdict.timeline
    assert 500 <= line["sdown"] <= line["odown"] <= line["elected"] <= line["promoted"] \
        <= line["switch"] <= line["first_ack"]
    assert verdict.unavailable_ms is not None and verdict.unavailable_ms < 2000
