"""`redisha bench redis`: redis-benchmark's figures, the report's shape, and its errors."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from redisha import backends, cli
from redisha.bench import redis as redis_bench
from redisha.bench.redis import RedisBench, Target

QUIET_OUTPUT = (
    "\rSET: rps=0.0 (overall: -nan) avg_msec=-nan (overall: -nan)\r" + " " * 60
    + "\rSET: 117647.50 requests per second, p50=0.511 msec\n"
    + "\rGET: rps=412345.0 (overall: 410000.0) avg_msec=0.6 (overall: 0.6)\r" + " " * 60
    + "\rGET: 1052631.62 requests per second, p50=0.535 msec\n\n"
)
"""What Debian's redis-benchmark 7.0 writes with `-q`: progress lines ended by `\\r`."""

FIGURES = {
    Target.FAKEREDIS_INPROCESS: {"set": 30_000.0, "get": 40_000.0},
    Target.FAKE_DIRECT: {"set": 27_000.0, "get": 30_000.0},
    Target.FAKE_SERVICE: {"set": 26_000.0, "get": 29_000.0},
    Target.REAL_DIRECT: {"set": 800_000.0, "get": 900_000.0},
    Target.REAL_SERVICE: {"set": 500_000.0, "get": 400_000.0},
}


def test_parse_summary_keeps_only_final_figures() -> None:
    """Progress updates are skipped; each command's final requests/s is kept."""
    assert redis_bench.parse_summary(QUIET_OUTPUT) == {"set": 117647.50, "get": 1052631.62}


def test_json_has_exactly_the_five_targets_in_ops_per_second() -> None:
    """--json is one object: five targets, each {"set": ops, "get": ops} as numbers."""
    data = json.loads(json.dumps(RedisBench(100_000, 16, FIGURES).to_json()))
    assert list(data) == ["fakeredis_inprocess", "fake_direct", "fake_service",
                          "real_direct", "real_service"]
    for figures in data.values():
        assert set(figures) == {"set", "get"}
        assert all(isinstance(v, (int, float)) and v > 0 for v in figures.values())
    assert data["real_service"] == {"set": 500_000.0, "get": 400_000.0}


def test_floors_compare_figures_of_the_same_run() -> None:
    """Fake pod vs fakeredis (80%) and Service vs direct on the real pod (50%), per
    command; the text says which are met."""
    result = RedisBench(100_000, 16, FIGURES)
    verdicts = {(f.target, f.command): (round(f.ratio, 3), f.met) for f in result.floors()}
    assert verdicts == {
        (Target.FAKE_DIRECT, "set"): (0.9, True),
        (Target.FAKE_DIRECT, "get"): (0.75, False),
        (Target.REAL_SERVICE, "set"): (0.625, True),
        (Target.REAL_SERVICE, "get"): (0.444, False),
    }
    text = result.to_text()
    assert "redis-benchmark -t set,get -n 100000 -P 16" in text
    assert text.count("NOT met") == 2 and text.count(": met") == 2
    only_fake = RedisBench(1000, 16, {t: FIGURES[t] for t in list(Target)[:3]})
    assert [f.target for f in only_fake.floors()] == [Target.FAKE_DIRECT] * 2


def test_rounds_are_summarised_by_their_best_run() -> None:
    """Each command's figure is its fastest run (commands taken apart), not the mean or the
    last."""
    runs = [{"set": 10.0, "get": 5.0}, {"set": 30.0, "get": 1.0}, {"set": 20.0, "get": 900.0}]
    assert redis_bench.best_figures(runs) == {"set": 30.0, "get": 900.0}


def test_fake_pods_end_to_end_through_the_cli(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`bench redis --backend fake --json` measures fakeredis, the fake pod at its IP and
    through its ClusterIP Service, and prints just those three targets."""
    monkeypatch.setattr(redis_bench, "MIN_MEASURING_SECONDS", 0.0)  # one round
    code = cli.main(["bench", "redis", "--backend", "fake", "--requests", "2000", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["fakeredis_inprocess", "fake_direct", "fake_service"]
    for figures in data.values():
        assert figures["set"] > 0 and figures["get"] > 0


def test_missing_redis_benchmark_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Without redis-benchmark on PATH: one line naming it and its package, exit 1."""
    monkeypatch.setenv("PATH", str(tmp_path))
    code = cli.main(["bench", "redis", "--backend", "fake", "--requests", "100"])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("redisha bench redis: redis-benchmark not found on PATH")
    assert "redis-tools" in captured.err


def test_missing_real_backend_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """With redis-benchmark but no redis-server, `--backend real` fails in one line naming
    what to install, before measuring anything."""
    benchmark = shutil.which("redis-benchmark")
    if benchmark is None:
        pytest.skip("redis-benchmark is not installed")
    os.symlink(benchmark, tmp_path / "redis-benchmark")
    monkeypatch.setenv("PATH", str(tmp_path))
    code = cli.main(["bench", "redis", "--backend", "real", "--requests", "100"])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.count("\n") == 1
    assert "redis-server" in captured.err and "apt-get install" in captured.err


async def test_unreachable_server_fails_fast_in_one_line() -> None:
    """redis-benchmark retries a refused connection forever; the bench says so at once."""
    if shutil.which("redis-benchmark") is None:
        pytest.skip("redis-benchmark is not installed")
    with pytest.raises(redis_bench.BenchUnavailable,
                       match=r"^Could not connect to Redis at 127\.0\.0\.1:1: Connection refused$"):
        await redis_bench.redis_benchmark("127.0.0.1", 1, requests=100)


async def test_real_pod_direct_and_through_its_service() -> None:
    """A real redis-server pod answers redis-benchmark at its pod IP and its ClusterIP."""
    try:
        backends.require(backends.Backend.REAL)
    except backends.BackendUnavailable as exc:
        pytest.skip(str(exc))
    if shutil.which("redis-benchmark") is None:
        pytest.skip("redis-benchmark is not installed")
    result = await redis_bench.run(backend=redis_bench.BackendChoice.REAL, requests=5000,
                                   min_seconds=0.0)
    assert set(result.figures) == {Target.REAL_DIRECT, Target.REAL_SERVICE}
    assert result.runs == {Target.REAL_DIRECT: 1, Target.REAL_SERVICE: 1}
    assert all(v > 0 for figures in result.figures.values() for v in figures.values())
    assert [f.target for f in result.floors()] == [Target.REAL_SERVICE] * 2
