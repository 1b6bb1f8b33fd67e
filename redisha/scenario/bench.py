"""`redisha bench failover`: the built-in sentinel against Redis' own, side by side.

kill-primary and hang-primary run with `--sentinel builtin` and `--sentinel redis`
alternately — trial 1 of each, then trial 2 of each, ... — so that whatever else the
machine is doing weighs on both alike. The figure compared is the median unavailability;
the ratio is Redis Sentinel's over the built-in's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redisha.backends import Backend
from redisha.scenario import checker, runner
from redisha.scenario.checker import Summary, TrialVerdict
from redisha.scenario.faults import ScenarioName
from redisha.scenario.runner import RunnerSettings, ScenarioOptions, SentinelChoice
from redisha.scenario.writer import ClientMode, WriterMode

SCENARIOS = (ScenarioName.KILL_PRIMARY, ScenarioName.HANG_PRIMARY)
SENTINELS = (SentinelChoice.BUILTIN, SentinelChoice.REDIS)


@dataclass(frozen=True)
class BenchOptions:
    backend: Backend = Backend.FAKE
    trials: int = 5
    """Trials of each scenario with each sentinel."""
    down_after_ms: int = 1000
    writer: WriterMode = WriterMode.ASYNC
    client: ClientMode = ClientMode.SENTINEL
    """redis-py's Sentinel client by default, as Redis Sentinel's figures were measured."""
    seed: int = 0


@dataclass(frozen=True)
class BenchRow:
    scenario: ScenarioName
    sentinel: SentinelChoice
    verdicts: tuple[TrialVerdict, ...]
    summary: Summary


@dataclass(frozen=True)
class BenchResult:
    options: BenchOptions
    rows: tuple[BenchRow, ...]

    def median(self, scenario: ScenarioName, sentinel: SentinelChoice) -> float | None:
        for row in self.rows:
            if row.scenario is scenario and row.sentinel is sentinel:
                return row.summary.unavailable_ms["median"]
        return None

    def ratio(self, scenario: ScenarioName) -> float | None:
        """Redis Sentinel's median unavailability over the built-in's."""
        ours = self.median(scenario, SentinelChoice.BUILTIN)
        theirs = self.median(scenario, SentinelChoice.REDIS)
        if not ours or theirs is None:
            return None
        return round(theirs / ours, 2)

    def to_json(self) -> dict[str, Any]:
        o = self.options
        return {
            "backend": o.backend.value, "writer": o.writer.value, "client": o.client.value,
            "down_after_ms": o.down_after_ms, "trials": o.trials,
            "results": [{"scenario": r.scenario.value, "sentinel": r.sentinel.value,
                         "unavailable_ms": dict(r.summary.unavailable_ms),
                         "lost": r.summary.lost, "max_failovers": r.summary.max_failovers,
                         "max_writable_primaries": r.summary.max_writable_primaries,
                         "ok": r.summary.ok} for r in self.rows],
            "ratio": {s.value: self.ratio(s) for s in SCENARIOS},
        }

    def to_text(self) -> str:
        o = self.options
        lines = [(f"redisha bench failover: backend {o.backend.value}, writer "
                  f"{o.writer.value}, client {o.client.value}, down-after {o.down_after_ms} ms, "
                  f"{o.trials} trials of each")]
        head = ("scenario", "sentinel", "unavailable ms min/median/max", "lost",
                "max failovers", "result")
        table = [head]
        for r in self.rows:
            u = r.summary.unavailable_ms
            spread = "/".join("-" if u[k] is None else f"{u[k]:.0f}"
                              for k in ("min", "median", "max"))
            table.append((r.scenario.value, r.sentinel.value, spread, str(r.summary.lost),
                          str(r.summary.max_failovers), "ok" if r.summary.ok else "FAIL"))
        widths = [max(len(row[i]) for row in table) for i in range(len(head))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
                  for row in table]
        ratios = ", ".join(f"{s.value} {_times(self.ratio(s))}" for s in SCENARIOS)
        lines.append(f"ratio (redis / builtin median unavailability): {ratios}")
        return "\n".join(lines)


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


async def run(options: BenchOptions, *, settings: RunnerSettings | None = None,
              on_trial: Callable[[ScenarioOptions, int, TrialVerdict], None] | None = None,
              ) -> BenchResult:
    """Every trial, alternating the sentinels (see the module docstring)."""
    verdicts: dict[tuple[ScenarioName, SentinelChoice], list[TrialVerdict]] = {
        (sc, se): [] for sc in SCENARIOS for se in SENTINELS}
    for trial in range(1, options.trials + 1):
        for scenario in SCENARIOS:
            for sentinel in SENTINELS:
                scenario_options = ScenarioOptions(
                    scenario, backend=options.backend, sentinel=sentinel,
                    writer=options.writer, client=options.client, trials=options.trials,
                    seed=options.seed, down_after_ms=options.down_after_ms)
                verdict = await runner.run_trial(scenario_options, trial, settings=settings)
                verdicts[(scenario, sentinel)].append(verdict)
                if on_trial is not None:
                    on_trial(scenario_options, trial, verdict)
    rows = tuple(BenchRow(sc, se, tuple(v), checker.summarize(v))
                 for (sc, se), v in verdicts.items())
    return BenchResult(options, rows)


def require_both(options: BenchOptions) -> None:
    """Raise `ScenarioUnavailable` up front when either sentinel cannot run."""
    for sentinel in SENTINELS:
        runner.check_available(dataclasses.replace(
            ScenarioOptions(ScenarioName.KILL_PRIMARY), backend=options.backend,
            sentinel=sentinel))


__all__ = ["BenchOptions", "BenchResult", "BenchRow", "require_both", "run"]
