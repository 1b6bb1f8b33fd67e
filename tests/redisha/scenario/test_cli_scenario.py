"""`redisha scenario` and `redisha bench failover`: bad input is one line and exit 2."""

from __future__ import annotations

import pytest

from redisha import cli


@pytest.mark.parametrize(("argv", "named"), [
    pytest.param(["scenario", "kill-everything"], "invalid choice: 'kill-everything'",
                 id="unknown-scenario"),
    pytest.param(["scenario"], "the following arguments are required: NAME", id="no-name"),
    pytest.param(["scenario", "kill-primary", "--writer", "sync"], "argument --writer: invalid "
                 "choice: 'sync'", id="bad-writer"),
    pytest.param(["scenario", "kill-primary", "--trials", "0"], "argument --trials: 0 must be "
                 "greater than 0", id="zero-trials"),
    pytest.param(["scenario", "kill-primary", "--down-after-ms", "soon"], "argument "
                 "--down-after-ms: 'soon' is not a whole number", id="bad-number"),
    pytest.param(["scenario", "kill-primary", "--turbo"], "unrecognized arguments: --turbo",
                 id="unknown-flag"),
    pytest.param(["bench", "failover", "--client", "carrier-pigeon"], "argument --client: "
                 "invalid choice: 'carrier-pigeon'", id="bench-bad-client"),
])
def test_bad_input_is_one_line_naming_it_and_exit_2(
        argv: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The error names the culprit on one stderr line; nothing runs."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    captured = capsys.readouterr()
    assert exit_info.value.code == 2
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, lines
    assert named in lines[0]
    assert lines[0].startswith("redisha scenario: error: " if argv[0] == "scenario"
                               else "redisha bench failover: error: ")


def test_scenario_is_listed_in_the_commands_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`redisha --help` names the scenario command."""
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "scenario" in capsys.readouterr().out


def test_the_cli_offers_every_scenario_there_is() -> None:
    """The CLI's literal list of names is the scenario package's, in the same order."""
    from redisha.scenario import faults

    assert list(cli._SCENARIO_NAMES) == faults.names()
