"""The scenario's text and JSON output, from verdicts (no cluster)."""

from __future__ import annotations

import json

from scenario_records import A, B, records, steady_failover, switch, write

from redisha.backends import Backend
from redisha.scenario import report
from redisha.scenario.checker import Expectation, judge, summarize
from redisha.scenario.faults import ScenarioName
from redisha.scenario.runner import ScenarioOptions, ScenarioReport, SentinelChoice
from redisha.scenario.writer import ClientMode, WriterMode

OPTIONS = ScenarioOptions(ScenarioName.KILL_PRIMARY, backend=Backend.FAKE,
                          sentinel=SentinelChoice.BUILTIN, writer=WriterMode.WAIT,
                          client=ClientMode.SERVICE, trials=2, seed=7, down_after_ms=500)


def _report() -> ScenarioReport:
    good = judge(records(steady_failover(), events=(switch(10.05, A, B),)), Expectation())
    split = judge(records(steady_failover() + [write(10.55, A, seq=500)],
                          events=(switch(10.05, A, B),)), Expectation())
    verdicts = (good, split)
    return ScenarioReport(OPTIONS, verdicts, summarize(verdicts))


def test_json_is_exactly_the_issues_object() -> None:
    """Top-level, per-trial and summary keys are the issue's, nothing more."""
    out = json.loads(json.dumps(report.to_json(_report())))
    assert list(out) == ["scenario", "backend", "sentinel", "writer", "down_after_ms", "trials",
                         "summary", "ok"]
    assert (out["scenario"], out["backend"], out["sentinel"], out["writer"],
            out["down_after_ms"], out["ok"]) == ("kill-primary", "fake", "builtin", "wait", 500,
                                                  False)
    assert [list(t) for t in out["trials"]] == [
        ["unavailable_ms", "acked", "lost", "failovers", "max_writable_primaries",
         "timeline"]] * 2
    assert out["trials"][0]["timeline"]["switch"] == 50.0
    assert out["summary"] == {"unavailable_ms": {"min": 400.0, "median": 400.0, "max": 400.0},
                              "lost": 0, "max_failovers": 1, "max_writable_primaries": 2}


def test_a_partition_trial_reports_the_cut_off_primarys_window() -> None:
    """partition-primary: how long the old primary kept taking writes, in words and in
    the JSON (`split_brain_ms`, only for such a trial)."""
    side = [write(10.0 + i * 0.2, A, seq=300 + i, writer="side", acked=False)
            for i in range(1, 5)]
    verdict = judge(records(steady_failover() + side, events=(switch(10.05, A, B),)),
                    Expectation(writable_window_ms=3000))
    partitioned = ScenarioReport(OPTIONS, (verdict,), summarize((verdict,)))
    assert report.note_lines(partitioned) == [
        ("trial 1: the cut-off primary accepted writes until 800 ms after the fault; two "
         "primaries took writes for 500 ms")]
    assert report.note_lines(_report()) == []
    trial = report.to_json(partitioned)["trials"][0]
    assert (trial["split_brain_ms"], trial["timeline"]["old_primary_last_write"]) == (500.0, 800.0)
    assert "split_brain_ms" not in report.to_json(_report())["trials"][0]


def test_text_has_a_row_per_trial_the_failures_and_the_summary() -> None:
    """Rows line up under the header; a failed trial says why; the summary says FAILED."""
    text = report.to_text(_report()).splitlines()
    assert text[0].startswith("redisha scenario kill-primary: backend fake, sentinel builtin, "
                              "writer wait, client service, down-after 500 ms, 2 trials")
    assert text[1].split()[:3] == ["trial", "unavail", "acked"]
    assert text[2].split()[:2] == ["1", "400"] and text[2].endswith("ok")
    assert text[3].endswith("FAIL")
    assert text[4].startswith("trial 2: 2 primaries accepted writes at once")
    assert text[-1] == ("summary: unavailable min 400 / median 400 / max 400 ms; lost 0; "
                        "max failovers 1; max writable primaries 2: FAILED")
    assert len(text[1]) >= len(text[2].rstrip())
