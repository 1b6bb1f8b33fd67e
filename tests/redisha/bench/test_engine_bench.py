"""`redisha bench engine` on a small cluster: the figures it reports and what they mean."""

from __future__ import annotations

from redisha.bench import engine


async def test_small_run_reports_every_figure() -> None:
    """Three nodes, two Deployments of 100: every pod Running, figures consistent."""
    figures = await engine.run(nodes=3, pods=200, timeout=60)
    data = figures.to_json()
    assert set(data) >= {"nodes", "pods", "all_running_s", "scheduled_pods_per_s",
                         "peak_rss_mib"}
    assert (data["nodes"], data["pods"]) == (3, 200)
    assert 0 < figures.all_running_s < 60
    # Binding spans less time than create -> all Running, so the rate is at least this.
    assert figures.scheduled_pods_per_s >= (200 - 1) / figures.all_running_s
    assert figures.peak_rss_mib > 0
    assert "scheduling throughput" in figures.to_text()
