"""`redisha dashboard --headless`: scripts and the built-in kill-primary demo, exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from redisha import cli
from tests.real_redis import need_real_redis

SCRIPT = """\
size: [100, 30]
steps:
  - command: run web --image=pause
  - wait: {output: "pod/web created"}
  - wait: {row: web, column: STATUS, equals: Running}
  - select: web
  - press: d
  - wait: {text: "Name:         web"}
  - screenshot: describe
  - press: escape
  - filter: nothing-matches
  - wait: {gone: web}
  - press: escape
  - wait: {row: web}
"""


def test_a_script_drives_the_dashboard_and_saves_screenshots(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every step passes: exit 0, and the screenshot is an SVG of the describe view."""
    script = tmp_path / "steps.yaml"
    script.write_text(SCRIPT)
    shots = tmp_path / "shots"
    code = cli.main(["dashboard", "--no-demo", "--headless", "--script", str(script),
                     "--screenshot", str(shots)])
    assert code == 0, capsys.readouterr()
    svg = (shots / "describe.svg").read_text()
    assert svg.startswith("<svg") and "describe&#160;pod/web" in svg


def test_a_failed_wait_exits_non_zero(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A wait that runs out: exit 1, the step named on stdout, failure.svg saved."""
    script = tmp_path / "steps.yaml"
    script.write_text("- wait: {row: nope, timeout: 0.5}\n")
    code = cli.main(["dashboard", "--no-demo", "--headless", "--script", str(script),
                     "--screenshot", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().out.strip() == (
        f"{script}: step 1: timed out after 0.5s waiting for row 'nope'")
    assert (tmp_path / "failure.svg").exists()


@pytest.mark.parametrize("text,line", [
    pytest.param("- fly: away\n", "step 1: unknown step 'fly'", id="unknown-step"),
    pytest.param("- wait: {}\n", "step 1: wait needs exactly one of text, row, gone, output",
                 id="empty-wait"),
    pytest.param("- wait: {row: x, timeout: -1}\n", "step 1: timeout must be a positive",
                 id="timeout"),
    pytest.param("- wait: {row: x, equals: y}\n", "equals/contains need a column", id="column"),
    pytest.param("[unclosed\n", "not valid YAML", id="yaml"),
    pytest.param("{}\n", "a script is a non-empty list of steps", id="empty"),
])
def test_bad_scripts_are_one_line_before_anything_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: str) -> None:
    """A script that cannot be read: exit 2 and one line on stderr naming the fault."""
    script = tmp_path / "bad.yaml"
    script.write_text(text)
    assert cli.main(["dashboard", "--headless", "--script", str(script)]) == 2
    err = capsys.readouterr().err.strip()
    assert line in err and "\n" not in err


def test_headless_options_need_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    """--headless without a scenario, or --script without --headless, is a usage error."""
    for argv in (["dashboard", "--headless"], ["dashboard", "--script", "x.yaml"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
    assert "--headless needs --script FILE or --demo kill-primary" in capsys.readouterr().err


@pytest.mark.parametrize("backend", ["fake", "real"])
def test_the_kill_primary_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               backend: str) -> None:
    """`--demo kill-primary` kills the primary from the pods table; the operator's sentinels
    fail over; it prints who replaced whom, how fast, the writes lost and the timeline,
    and saves before/after screenshots (the after one showing the new primary)."""
    if backend == "real":
        need_real_redis()
    code = cli.main(["dashboard", "--backend", backend, "--headless", "--demo", "kill-primary",
                     "--screenshot", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    first, second = out.splitlines()[:2]
    match = re.fullmatch(r"failover: rfr-demo-0 -> (rfr-demo-[12]) in (\d+) ms, lost (\d+) writes",
                         first)
    assert match, first
    new, took, lost = match[1], int(match[2]), int(match[3])
    assert 0 < took < 10_000
    if backend == "fake":
        assert lost == 0  # in-process replication reaches the replicas before the ack
    assert second.startswith("timeline: fault 0 ms, sdown "), second
    assert ", elected +" in second and ", switch +" in second and ", first write +" in second
    assert {p.name for p in tmp_path.iterdir()} == {"before.svg", "after.svg"}
    after = (tmp_path / "after.svg").read_text()
    assert re.search(f"{new}(&#160;)+primary", after)  # the pods table's ROLE
    assert "→" in after  # the HA pane's timeline: old → new


def test_the_demo_warns_when_it_cannot_fail_over() -> None:
    """A single redis pod has nothing to fail over to: a notice says so."""
    from redisha.demo import DemoOptions

    assert DemoOptions().notices() == []
    [notice] = DemoOptions(redis=1).notices()
    assert notice == "--redis 1: with no replica there is nothing to fail over to"
    assert DemoOptions(redis=1, demo=False).notices() == []
