"""The main screen's keys, in one table: the footer, the help screen, the command palette
and `--readonly` all read it, so a key cannot be bound without being documented."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from tui.screens.help import HelpSection

DESTRUCTIVE_ACTIONS = frozenset({"kill", "delete", "faults", "fault", "shell"})
"""What `--readonly` removes (k9s's read-only mode takes the shell away too)."""


@dataclass(frozen=True)
class KeySpec:
    """One key of the main screen: the footer shows `short`, help shows `long`."""

    key: str
    action: str
    short: str
    long: str
    footer: bool = True


MAIN_BINDINGS: tuple[KeySpec, ...] = (
    KeySpec("colon", "command_bar", "Cmd", "Command bar (kinds, ns, kubectl commands)"),
    KeySpec("slash", "filter", "Filter", "Filter rows (regex, or -l label=value)"),
    KeySpec("question_mark", "help", "Help", "This help"),
    KeySpec("escape", "back", "Back", "Back (close logs, clear filter, go back)",
            footer=False),
    KeySpec("l", "logs", "Logs", "Logs of the selected pod"),
    KeySpec("d", "describe", "Desc", "Describe the selected object"),
    KeySpec("y", "yaml", "YAML", "YAML of the selected object"),
    KeySpec("s", "shell", "Shell", "Shell: exec a command in the selected pod",
            footer=False),
    KeySpec("ctrl+k", "kill", "Kill", "Kill the selected pod now (grace period 0)"),
    KeySpec("ctrl+d", "delete", "Del", "Delete the selected object (asks first)"),
    KeySpec("f", "faults", "Faults", "Fault menu for the selected pod or node"),
    KeySpec("0", "all_namespaces", "All ns", "Show all namespaces", footer=False),
    KeySpec("q", "quit", "Quit", "Quit"),
)
KEY_DISPLAY = {"colon": ":", "slash": "/", "question_mark": "?", "escape": "esc"}


def help_sections(*, readonly: bool, log_bindings: list[Binding]) -> list[HelpSection]:
    """The help screen's sections: general keys, the table's, the log pane's, the commands."""
    main = [(KEY_DISPLAY.get(spec.key, spec.key), spec.long) for spec in MAIN_BINDINGS
            if not (readonly and spec.action in DESTRUCTIVE_ACTIONS)]
    main += [("enter", "Drill in (to pods; pod: logs)"),
             ("ctrl+p", "Command palette"), ("ctrl+c", "Quit")]
    table = [("up/k", "Up"), ("down/j", "Down"), ("g", "Top"), ("G", "Bottom"),
             ("pgup/pgdn", "Page up/down")]
    logs = [(b.key, b.description) for b in log_bindings]
    logs += [("esc", "Close the log pane"), ("tab", "Switch focus table/logs")]
    cmds = [(":pods :no :deploy", "Switch kind (rs sts svc ep pvc ev rf crds ns)"),
            (":ns NAME", "Namespace (all: every namespace)"),
            (":run/create -f/apply -f", "kubectl commands"),
            (":delete :scale :label", "kubectl commands"),
            (":exec POD -- CMD", "Run in a pod"), (":logs POD", "Open a pod's logs"),
            (":ha", "Show/hide the HA pane"), (":q", "Quit"),
            ("/REGEX  /-l k=v", "Filter rows by text or labels")]
    return [HelpSection("General", tuple(main)), HelpSection("Table", tuple(table)),
            HelpSection("Logs", tuple(logs)), HelpSection("Command bar", tuple(cmds))]
