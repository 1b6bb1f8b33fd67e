"""The command bar's language: what `:` accepts, parsed into commands.

k9s's words switch the table (`:pods`, `:no`, `:rf`, `:ns NAME`, `:q`); kubectl's commands
(`run`, `create -f`, `apply -f`, `delete`, `scale`, `label`, `get`, `describe`,
`exec POD -- CMD`) go to the kubectl layer as they are typed, so the tutorial can be walked
inside the dashboard. `logs POD` opens the log pane instead of printing, because the pane
follows the log as it grows.

Parsing is pure: `parse_command(text)` returns a command or raises `CommandError` with one
line saying what is wrong.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from cluster.kubectl.commands import COMMAND_FLAGS


class CommandError(ValueError):
    """The line cannot be run; `str()` is one line naming what is at fault."""


@dataclass(frozen=True)
class Quit:
    """`:q`, `:quit`."""


@dataclass(frozen=True)
class ShowHelp:
    """`:help`, `:?`."""


@dataclass(frozen=True)
class ToggleHA:
    """`:ha`: show or hide the HA pane."""


@dataclass(frozen=True)
class SwitchView:
    """`:pods`, `:deploy kube-system`: the table shows another kind (in a namespace)."""

    resource: str
    namespace: str | None = None
    """None keeps the current namespace; `all` (or `-A`) shows every namespace."""


@dataclass(frozen=True)
class SetNamespace:
    """`:ns NAME`: the table's namespace; `all` shows every namespace."""

    namespace: str


@dataclass(frozen=True)
class RunKubectl:
    """A kubectl command line, without the leading `kubectl`."""

    argv: tuple[str, ...]

    @property
    def verb(self) -> str:
        return self.argv[0]


@dataclass(frozen=True)
class Logs:
    """`logs POD [-n NS] [-c CONTAINER] [-p]`: open the log pane on that container."""

    pod: str
    namespace: str | None
    container: str | None
    previous: bool = False


Command = Quit | ShowHelp | ToggleHA | SwitchView | SetNamespace | RunKubectl | Logs

ALL_NAMESPACES = "all"
WRITE_VERBS = frozenset({"run", "create", "apply", "delete", "scale", "label", "exec"})
"""Commands `--readonly` refuses."""
KUBECTL_VERBS = frozenset(COMMAND_FLAGS)


def _namespace_word(word: str) -> str:
    return ALL_NAMESPACES if word in ("-A", "--all-namespaces", "all", "*", "0") else word


def parse_command(text: str) -> Command:
    """Parse one command-bar line (without the leading `:`)."""
    text = text.strip()
    if text.startswith(":"):
        text = text[1:].strip()
    if not text:
        raise CommandError("type a command: a kind (pods, no, deploy, rf...), ns NAME, "
                           "a kubectl command (run, apply -f, delete, scale, exec), or q")
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise CommandError(f"cannot parse {text!r}: {e}") from None
    if words[0] == "kubectl":
        words = words[1:]
        if not words:
            raise CommandError('kubectl needs a command, e.g. "kubectl get pods"')
    head, rest = words[0], words[1:]
    if head in ("q", "q!", "quit", "exit"):
        return Quit()
    if head in ("help", "?", "h"):
        return ShowHelp()
    if head == "ha":
        return ToggleHA()
    if head in ("ns", "namespace", "namespaces") and rest:
        if len(rest) > 1:
            raise CommandError(f"ns takes one namespace, got {' '.join(rest)!r}")
        return SetNamespace(_namespace_word(rest[0]))
    if head == "logs":
        return _parse_logs(rest)
    if head in KUBECTL_VERBS:
        return RunKubectl(tuple(words))
    if head.startswith("-"):
        raise CommandError(f"unknown command {head!r}")
    if len(rest) > 1:
        raise CommandError(f"{head} takes at most a namespace, got {' '.join(rest)!r}")
    return SwitchView(head, _namespace_word(rest[0]) if rest else None)


def _take_value(flag: str, args: list[str], i: int) -> tuple[str, int]:
    if "=" in args[i]:
        return args[i].split("=", 1)[1], i + 1
    if i + 1 >= len(args):
        raise CommandError(f"flag needs an argument: {flag}")
    return args[i + 1], i + 2


def _pod_flags(args: list[str], *, allowed_bools: tuple[str, ...]
               ) -> tuple[list[str], str | None, str | None, set[str]]:
    """Positional words, -n, -c and the boolean flags seen."""
    positional: list[str] = []
    namespace = container = None
    bools: set[str] = set()
    i = 0
    while i < len(args):
        arg = args[i]
        name = arg.split("=", 1)[0]
        if name in ("-n", "--namespace"):
            namespace, i = _take_value(name, args, i)
        elif name in ("-c", "--container"):
            container, i = _take_value(name, args, i)
        elif name in allowed_bools:
            bools.add(name)
            i += 1
        elif arg.startswith("-") and arg != "-":
            raise CommandError(f"unknown flag: {arg}")
        else:
            positional.append(arg)
            i += 1
    return positional, namespace, container, bools


def _parse_logs(args: list[str]) -> Logs:
    positional, namespace, container, bools = _pod_flags(
        args, allowed_bools=("-p", "--previous", "-f", "--follow"))
    if len(positional) != 1:
        raise CommandError("logs needs exactly one pod name")
    pod = positional[0]
    if pod.startswith("pod/") or pod.startswith("pods/"):
        pod = pod.split("/", 1)[1]
    return Logs(pod, namespace, container, previous=bool(bools & {"-p", "--previous"}))
