"""The header's numbers, kept up to date event by event.

Counting Running pods by walking five thousand of them twice a second would cost more
than drawing the screen, so the counts move with each watch event instead: a pod is
added to or removed from the Running set when its event arrives, and the header reads
the sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from cluster.api import objects
from cluster.kubectl.columns import node_status
from tui.roles import Role, role_from_labels


@dataclass(frozen=True)
class Summary:
    """What the header shows."""

    context: str
    nodes_ready: int
    nodes_total: int
    pods_running: int
    pods_total: int
    primaries: tuple[str, ...]
    """`ns/name` of every pod whose role is primary (more than one is a split brain)."""
    epoch: str = "—"
    write_rate: str = "—"

    @property
    def primary(self) -> str:
        if not self.primaries:
            return "none"
        names = [objects.split_key(key)[1] for key in self.primaries]
        if len(names) > 1:
            return f"{', '.join(names)} (split brain!)"
        return names[0]


class SummaryCounter:
    """Running pods, Ready nodes and labelled primaries, updated per watch event."""

    def __init__(self) -> None:
        self._pods: set[str] = set()
        self._running: set[str] = set()
        self._nodes: set[str] = set()
        self._ready: set[str] = set()
        self._labelled: dict[str, Role] = {}

    def pod(self, key: str, pod: dict[str, Any] | None) -> None:
        """Record a pod's latest state (None when it was deleted)."""
        if pod is None:
            self._pods.discard(key)
            self._running.discard(key)
            self._labelled.pop(key, None)
            return
        self._pods.add(key)
        if (pod.get("status") or {}).get("phase") == "Running" and \
                not objects.is_terminating(pod):
            self._running.add(key)
        else:
            self._running.discard(key)
        role = role_from_labels(pod)
        if role is not None and not objects.is_terminating(pod):
            self._labelled[key] = role
        else:
            self._labelled.pop(key, None)

    def node(self, key: str, node: dict[str, Any] | None) -> None:
        if node is None:
            self._nodes.discard(key)
            self._ready.discard(key)
            return
        self._nodes.add(key)
        if node_status(node).split(",")[0] == "Ready":
            self._ready.add(key)
        else:
            self._ready.discard(key)

    def labelled_roles(self) -> dict[str, Role]:
        """Roles the operator's labels give, by `ns/name` (terminating pods left out)."""
        return dict(self._labelled)

    def summary(self, context: str, probed: Mapping[str, Role]) -> Summary:
        """The header's numbers; `probed` adds primaries found by asking unlabelled pods."""
        primaries = {key for key, role in self._labelled.items() if role is Role.PRIMARY}
        primaries.update(key for key, role in probed.items()
                         if role is Role.PRIMARY and key in self._running)
        return Summary(context, len(self._ready), len(self._nodes), len(self._running),
                       len(self._pods), tuple(sorted(primaries)))
