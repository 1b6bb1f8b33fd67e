"""What the command bar accepts, parsed without a terminal."""

from __future__ import annotations

import pytest

from tui import commands as c


@pytest.mark.parametrize("text,expected", [
    pytest.param("q", c.Quit(), id="q"),
    pytest.param(":quit", c.Quit(), id="quit"),
    pytest.param("help", c.ShowHelp(), id="help"),
    pytest.param("ha", c.ToggleHA(), id="ha"),
    pytest.param("po", c.SwitchView("po"), id="alias"),
    pytest.param("deploy kube-system", c.SwitchView("deploy", "kube-system"), id="view-in-ns"),
    pytest.param("pods -A", c.SwitchView("pods", "all"), id="view-all-ns"),
    pytest.param("ns", c.SwitchView("ns"), id="namespaces-view"),
    pytest.param("ns demo", c.SetNamespace("demo"), id="ns"),
    pytest.param("ns all", c.SetNamespace("all"), id="ns-all"),
    pytest.param("apply -f server.yaml", c.RunKubectl(("apply", "-f", "server.yaml")), id="apply"),
    pytest.param("kubectl get pods", c.RunKubectl(("get", "pods")), id="kubectl-prefix"),
    pytest.param("run x --image=redis", c.RunKubectl(("run", "x", "--image=redis")), id="run"),
    pytest.param("exec redis-sfs-0 -- redis-cli set k 'a b'",
                 c.RunKubectl(("exec", "redis-sfs-0", "--", "redis-cli", "set", "k", "a b")),
                 id="exec"),
    pytest.param("logs -p web -c main -n demo", c.Logs("web", "demo", "main", previous=True),
                 id="logs"),
    pytest.param("logs pod/web", c.Logs("web", None, None), id="logs-type-name"),
])
def test_commands_parse(text: str, expected: c.Command) -> None:
    """Each form becomes the command it names."""
    assert c.parse_command(text) == expected


@pytest.mark.parametrize("text,why", [
    pytest.param("", "type a command", id="empty"),
    pytest.param("get pods 'unterminated", "cannot parse", id="quote"),
    pytest.param("ns a b", "ns takes one namespace", id="ns-two"),
    pytest.param("pods a b", "at most a namespace", id="view-args"),
    pytest.param("logs", "exactly one pod", id="logs-no-pod"),
    pytest.param("logs web --bogus", "unknown flag: --bogus", id="logs-flag"),
    pytest.param("-x", "unknown command", id="flag-first"),
    pytest.param("kubectl", "kubectl needs a command", id="bare-kubectl"),
])
def test_bad_lines_say_what_is_wrong(text: str, why: str) -> None:
    """Nothing typed raises anything but CommandError, with one line naming the fault."""
    with pytest.raises(c.CommandError, match=why) as info:
        c.parse_command(text)
    assert "\n" not in str(info.value)


def test_readonly_refuses_every_writing_verb() -> None:
    """The verbs --readonly refuses are kubectl's writing commands and exec."""
    assert {"run", "create", "apply", "delete", "scale", "label", "exec"} <= c.WRITE_VERBS
    assert not {"get", "describe", "logs", "version"} & c.WRITE_VERBS
