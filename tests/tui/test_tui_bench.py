"""`redisha bench tui`: the harness measures both delays and prints them as the issue asks."""

from __future__ import annotations

import json

import pytest

from cluster.embedded import ClusterSettings, start_cluster
from redisha import cli
from tui import bench


async def test_the_harness_measures_both_delays() -> None:
    """Every status change reaches the screen and every key press a frame, in milliseconds."""
    async with start_cluster(ClusterSettings.quick(nodes=0)) as cluster:
        result = await bench.run(cluster.client, pods=60, samples=5)
    assert result.pods == 60 and result.samples == 5
    for figures in (result.status_to_screen_ms, result.key_to_frame_ms):
        assert 0 < figures.p50 <= figures.p95 < 5000


def test_bench_tui_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    """`--json` prints {"pods", "status_to_screen_ms": {"p50", "p95"}, "key_to_frame_ms": ...}."""
    assert cli.main(["bench", "tui", "--pods", "30", "--samples", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"pods", "status_to_screen_ms", "key_to_frame_ms"}
    assert data["pods"] == 30
    assert set(data["status_to_screen_ms"]) == set(data["key_to_frame_ms"]) == {"p50", "p95"}


def test_percentiles() -> None:
    """p50 is the median, p95 the nearest rank."""
    figures = bench.Percentiles.of([float(i) for i in range(1, 101)])
    assert (figures.p50, figures.p95) == (50.5, 95.0)
