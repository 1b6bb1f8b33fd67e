"""`redisha tutorial`: the whole walkthrough on the fake backend, and how failures count."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from cluster.embedded import ClusterSettings, start_cluster
from redisha import backends, cli
from redisha.backends import Backend, BackendUnavailable
from redisha.tutorial import runner
from redisha.tutorial.checks import EXPECTED
from redisha.tutorial.replay import Replay
from redisha.tutorial.steps import STEPS, Step

TOTAL = sum(len(step.checks) for step in STEPS)


def test_the_whole_tutorial_passes_on_the_fake_backend(capsys: pytest.CaptureFixture[str]) -> None:
    """`redisha tutorial` replays steps 2-6, every check passes, the count says so, exit 0."""
    code = cli.main(["tutorial"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert code == 0, out
    assert lines[-1] == f"tutorial: {TOTAL} checks, {TOTAL} passed"
    assert sum(line.startswith("PASS ") for line in lines) == TOTAL
    assert not [line for line in lines if line.startswith("FAIL ")]
    for step in STEPS:
        assert any(line.startswith(f"== {step.number} ") for line in lines), step.number
    # Commands are shown as typed, each followed by kubectl's own output.
    shown = lines.index("$ kubectl run redis --image=redis")
    assert lines[shown + 1] == "pod/redis created"
    assert "$ echo ping | kubectl exec -i redis -- redis-cli" in lines
    assert any("Unable to connect to MASTER: Resource temporarily unavailable" in line
               for line in lines)


def test_a_wrong_expectation_fails_its_check_by_name_and_exits_1(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A check whose outcome differs from the expectation is named in a FAIL line and in the
    count, and the command exits 1."""
    wrong = dataclasses.replace(EXPECTED, run_created="pod/redis configured")
    code = runner.main(Backend.FAKE, expected=wrong, steps=["2", "3.1"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert ("FAIL 3.1 kubectl run prints pod/redis created: got 'pod/redis created'"
            in lines)
    assert "PASS 3.1 kubectl get pods shows redis 1/1 Running 0" in lines
    assert lines[-1] == ("tutorial: 4 checks, 3 passed; failed: "
                         "3.1 kubectl run prints pod/redis created")


async def test_a_step_that_cannot_go_on_fails_what_it_did_not_reach(tmp_path: Path) -> None:
    """A wait that runs out fails the step's remaining checks as not reached, so the count
    stays the same, and the next step still runs."""
    async def stuck(r: Replay) -> None:
        r.check("first", True)
        await r.wait("a pod that never comes", lambda: r.pod("nothing"), timeout=0.1)
        r.check("second", True)

    async def fine(r: Replay) -> None:
        r.check("only", True)

    steps = [Step("8", "stuck", {"first": "one", "second": "two"}, stuck),
             Step("9", "fine", {"only": "three"}, fine)]
    lines: list[str] = []
    async with start_cluster(ClusterSettings.quick(nodes=0)) as cluster:
        report = await runner.play(cluster, steps, workdir=tmp_path, expected=EXPECTED,
                                   out=lines.append, wait_timeout=1.0)
    assert [(r.step, r.title, r.passed) for r in report.results] == [
        ("8", "one", True), ("8", "two", False), ("9", "three", True)]
    assert report.results[1].detail == (
        "not reached (timed out after 0.1s waiting for a pod that never comes)")
    assert report.summary() == "tutorial: 3 checks, 2 passed; failed: 8 two"
    assert "# step 8 stopped: timed out after 0.1s waiting for a pod that never comes" in lines


def test_an_unavailable_backend_is_one_line_and_exit_1(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """When the machine cannot run the backend, nothing starts: one line, exit 1."""
    def unavailable(backend: Backend) -> None:
        raise BackendUnavailable("redis-server was not found: apt-get install redis-server")
    monkeypatch.setattr(backends, "require", unavailable)
    code = cli.main(["tutorial", "--backend", "real"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err == ("redisha tutorial: redis-server was not found: "
                            "apt-get install redis-server\n")


def test_an_unknown_backend_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """`--backend docker` is a usage error naming the bad value, before anything starts."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["tutorial", "--backend", "docker"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'docker'" in capsys.readouterr().err


def test_unknown_step_numbers_are_refused() -> None:
    """Selecting a step the walkthrough does not have is an error naming it."""
    assert [s.number for s in runner.select(["3"])] == ["3.1", "3.2", "3.3", "3.4", "3.5"]
    with pytest.raises(ValueError, match="no tutorial step 7"):
        runner.select(["7"])


def test_every_step_declares_what_it_checks() -> None:
    """Steps 2 to 6 are all there, in order, each with at least one check."""
    assert [s.number.split(".")[0] for s in STEPS] == sorted(
        s.number.split(".")[0] for s in STEPS)
    assert {s.number.split(".")[0] for s in STEPS} == {"2", "3", "4", "5", "6"}
    assert all(step.checks for step in STEPS)
