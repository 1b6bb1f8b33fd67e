"""`redisha bench failover`'s figures: both sentinels side by side and their ratio."""

from __future__ import annotations

import dataclasses
import json

from scenario_records import A, B, records, steady_failover, switch

from redisha.scenario.bench import (
    SCENARIOS,
    SENTINELS,
    BenchOptions,
    BenchResult,
    BenchRow,
)
from redisha.scenario.checker import Expectation, TrialVerdict, judge, summarize
from redisha.scenario.faults import ScenarioName
from redisha.scenario.runner import SentinelChoice


def _verdict(unavailable_ms: float) -> TrialVerdict:
    verdict = judge(records(steady_failover(), events=(switch(10.05, A, B),)), Expectation())
    return dataclasses.replace(verdict, unavailable_ms=unavailable_ms)


def _result() -> BenchResult:
    figures = {(ScenarioName.KILL_PRIMARY, SentinelChoice.BUILTIN): (80.0, 90.0, 200.0),
               (ScenarioName.KILL_PRIMARY, SentinelChoice.REDIS): (2000.0, 2250.0, 2500.0),
               (ScenarioName.HANG_PRIMARY, SentinelChoice.BUILTIN): (1200.0, 1300.0, 1400.0),
               (ScenarioName.HANG_PRIMARY, SentinelChoice.REDIS): (3000.0, 3250.0, 3500.0)}
    rows = []
    for scenario in SCENARIOS:
        for sentinel in SENTINELS:
            verdicts = tuple(_verdict(ms) for ms in figures[(scenario, sentinel)])
            rows.append(BenchRow(scenario, sentinel, verdicts, summarize(verdicts)))
    return BenchResult(BenchOptions(trials=3), tuple(rows))


def test_the_ratio_is_redis_sentinels_median_over_the_builtins() -> None:
    """Medians 90 vs 2250 ms make 25x; 1300 vs 3250 ms make 2.5x."""
    result = _result()
    assert result.ratio(ScenarioName.KILL_PRIMARY) == 25.0
    assert result.ratio(ScenarioName.HANG_PRIMARY) == 2.5
    out = json.loads(json.dumps(result.to_json()))
    assert out["ratio"] == {"kill-primary": 25.0, "hang-primary": 2.5}
    assert [(r["scenario"], r["sentinel"], r["unavailable_ms"]["median"])
            for r in out["results"]] == [("kill-primary", "builtin", 90.0),
                                         ("kill-primary", "redis", 2250.0),
                                         ("hang-primary", "builtin", 1300.0),
                                         ("hang-primary", "redis", 3250.0)]


def test_text_shows_both_sentinels_and_the_ratio() -> None:
    """One row per scenario and sentinel, then the ratios."""
    lines = _result().to_text().splitlines()
    assert lines[0].startswith("redisha bench failover: backend fake")
    assert lines[2].split() == ["kill-primary", "builtin", "80/90/200", "0", "1", "ok"]
    assert lines[3].split()[:3] == ["kill-primary", "redis", "2000/2250/2500"]
    assert lines[-1] == ("ratio (redis / builtin median unavailability): kill-primary 25.00x, "
                         "hang-primary 2.50x")
