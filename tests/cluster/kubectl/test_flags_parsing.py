"""pflag-compatible parsing: forms kubectl accepts and the errors it prints."""

from __future__ import annotations

import pytest

from cluster.kubectl.flags import Flag, FlagError, FlagKind, parse_flags

FLAGS = (
    Flag("namespace", FlagKind.STRING, "n"),
    Flag("all-namespaces", FlagKind.BOOL, "A", False),
    Flag("watch", FlagKind.BOOL, "w", False),
    Flag("replicas", FlagKind.INT, "r", 1),
    Flag("filename", FlagKind.STRINGS, "f"),
)


@pytest.mark.parametrize("argv,key,value", [
    pytest.param(["-n", "prod"], "namespace", "prod", id="short-separate"),
    pytest.param(["-nprod"], "namespace", "prod", id="short-attached"),
    pytest.param(["-n=prod"], "namespace", "prod", id="short-equals"),
    pytest.param(["--namespace=prod"], "namespace", "prod", id="long-equals"),
    pytest.param(["--namespace", "prod"], "namespace", "prod", id="long-separate"),
    pytest.param(["-Aw"], "watch", True, id="grouped-bools"),
    pytest.param(["--watch=false"], "watch", False, id="bool-explicit"),
    pytest.param(["--replicas", "3"], "replicas", 3, id="int"),
    pytest.param(["-f", "a.yaml", "--filename=b.yaml"], "filename", ["a.yaml", "b.yaml"],
                 id="repeatable"),
])
def test_accepted_forms(argv: list[str], key: str, value: object) -> None:
    """Every spelling pflag accepts sets the flag."""
    assert parse_flags(argv, FLAGS)[key] == value


def test_positionals_interleave_and_dash_ends_flags() -> None:
    """Flags may follow arguments; after `--` everything is an argument."""
    parsed = parse_flags(["pods", "-n", "x", "redis", "--", "-n", "--watch"], FLAGS)
    assert parsed.args == ["pods", "redis", "-n", "--watch"]
    assert parsed.dash_at == 2
    assert parsed["namespace"] == "x"
    assert parsed.given("namespace") and not parsed.given("watch")


@pytest.mark.parametrize("argv,message", [
    pytest.param(["--foo"], "unknown flag: --foo", id="unknown-long"),
    pytest.param(["-x"], "unknown shorthand flag: 'x' in -x", id="unknown-short"),
    pytest.param(["-n"], "flag needs an argument: 'n' in -n", id="short-needs-value"),
    pytest.param(["--namespace"], "flag needs an argument: --namespace", id="long-needs-value"),
    pytest.param(["--replicas=abc"], 'invalid argument "abc" for "-r, --replicas" flag: '
                 'strconv.ParseInt: parsing "abc": invalid syntax', id="bad-int"),
    pytest.param(["--watch=maybe"], 'invalid argument "maybe" for "-w, --watch" flag: '
                 'strconv.ParseBool: parsing "maybe": invalid syntax', id="bad-bool"),
])
def test_errors_use_pflag_wording(argv: list[str], message: str) -> None:
    """Malformed command lines raise FlagError with pflag's message."""
    with pytest.raises(FlagError) as raised:
        parse_flags(argv, FLAGS)
    assert str(raised.value) == message
