"""A scenario's results as text (a table per trial and a summary) or as one JSON object.

The JSON object has exactly the issue's shape:

```
{"scenario", "backend", "sentinel", "writer", "down_after_ms",
 "trials": [{"unavailable_ms", "acked", "lost", "failovers", "max_writable_primaries",
             "timeline": {event: ms}}],
 "summary": {"unavailable_ms": {"min", "median", "max"}, "lost", "max_failovers",
             "max_writable_primaries"},
 "ok"}
```

Why a trial failed is not part of that object; `failure_lines` gives it, one line per
failed invariant, for stderr.
"""

from __future__ import annotations

from typing import Any

from redisha.scenario.checker import TrialVerdict
from redisha.scenario.runner import ScenarioOptions, ScenarioReport

TIMELINE_COLUMNS = ("sdown", "odown", "elected", "promoted", "switch", "service",
                    "first_ack", "recovered")
"""Timeline entries shown as columns (ms from the fault); `service` is when the primary
Service pointed at the new primary (the operator's relabelling)."""


def trial_json(verdict: TrialVerdict) -> dict[str, Any]:
    """The issue's fields; a partition also gets `split_brain_ms`, how long two primaries
    accepted writes at once (its timeline has `old_primary_last_write`)."""
    trial = {"unavailable_ms": verdict.unavailable_ms, "acked": verdict.acked,
             "lost": verdict.lost, "failovers": verdict.failovers,
             "max_writable_primaries": verdict.max_writable_primaries,
             "timeline": dict(verdict.timeline)}
    if "old_primary_last_write" in verdict.timeline:
        trial["split_brain_ms"] = verdict.split_brain_ms
    return trial


def to_json(report: ScenarioReport) -> dict[str, Any]:
    """The issue's object for `--json`."""
    o, s = report.options, report.summary
    return {
        "scenario": o.scenario.value, "backend": o.backend.value,
        "sentinel": o.sentinel.value, "writer": o.writer.value,
        "down_after_ms": o.down_after_ms,
        "trials": [trial_json(v) for v in report.verdicts],
        "summary": {"unavailable_ms": dict(s.unavailable_ms), "lost": s.lost,
                    "max_failovers": s.max_failovers,
                    "max_writable_primaries": s.max_writable_primaries},
        "ok": s.ok,
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def header(o: ScenarioOptions) -> str:
    return (f"redisha scenario {o.scenario.value}: backend {o.backend.value}, sentinel "
            f"{o.sentinel.value}, writer {o.writer.value}, client {o.client.value}, "
            f"down-after {o.down_after_ms} ms, {o.trials} trial"
            + ("s" if o.trials != 1 else "") + f", seed {o.seed}")


COLUMNS = ("trial", "unavail", "acked", "lost", "failovers", "writable",
           *TIMELINE_COLUMNS, "result")


def _row(trial: int, v: TrialVerdict) -> list[str]:
    return [str(trial), _ms(v.unavailable_ms), str(v.acked), str(v.lost), str(v.failovers),
            str(v.max_writable_primaries),
            *(_ms(v.timeline.get(c)) for c in TIMELINE_COLUMNS),
            "ok" if v.ok else "FAIL"]


def _cells(cells: list[str]) -> str:
    """Fixed widths, so streamed lines line up under `table_header`."""
    widths = [max(len(c), 6) for c in COLUMNS]
    return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                     for i, (cell, w) in enumerate(zip(cells, widths))).rstrip()


def table_header() -> str:
    return _cells(list(COLUMNS))


def trial_line(trial: int, verdict: TrialVerdict) -> str:
    """One trial as a row of the table (printed as each trial ends)."""
    return _cells(_row(trial, verdict))


def failure_lines(report: ScenarioReport) -> list[str]:
    """`trial N: <what failed>` for every failed invariant."""
    return [f"trial {i}: {failure}" for i, v in enumerate(report.verdicts, 1)
            for failure in v.failures]


def note_lines(report: ScenarioReport) -> list[str]:
    """Figures outside the table: how long a cut-off primary kept accepting writes, and
    for how long two primaries accepted writes at once."""
    lines = []
    for i, v in enumerate(report.verdicts, 1):
        last = v.timeline.get("old_primary_last_write")
        if "old_primary_last_write" in v.timeline:
            lines.append(f"trial {i}: the cut-off primary accepted writes until "
                         + ("no later than the fault" if last is None else f"{last:.0f} ms")
                         + f" after the fault; two primaries took writes for "
                         f"{v.split_brain_ms:.0f} ms")
    return lines


def summary_line(report: ScenarioReport) -> str:
    s = report.summary
    u = s.unavailable_ms
    return (f"summary: unavailable min {_ms(u['min'])} / median {_ms(u['median'])} / max "
            f"{_ms(u['max'])} ms; lost {s.lost}; max failovers {s.max_failovers}; max "
            f"writable primaries {s.max_writable_primaries}: "
            + ("ok" if s.ok else "FAILED"))


def to_text(report: ScenarioReport) -> str:
    """The header, the per-trial table (times in ms from the fault), failures, summary."""
    lines = [header(report.options), table_header(),
             *(trial_line(i, v) for i, v in enumerate(report.verdicts, 1))]
    lines += note_lines(report)
    lines += failure_lines(report)
    lines.append(summary_line(report))
    return "\n".join(lines)


__all__ = ["failure_lines", "header", "note_lines", "summary_line", "table_header", "to_json", "to_text",
           "trial_json", "trial_line"]
