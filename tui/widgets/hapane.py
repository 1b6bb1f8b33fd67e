"""The Redis HA pane — a placeholder until the RedisFailover operator exists (issue 5).

It already reads what it can through the client: `RedisFailover` objects (group
redisha.io, v1) when the kind is served, and the roles the dashboard knows for Redis pods
(the operator's labels, or `redis-cli role` answers for pods nobody labels). What the
finished pane shows — replicas' offsets and lag, each sentinel's belief, the epoch, the
write-rate sparkline, acknowledged/failed/lost writes and the last failover's timeline —
needs the operator's status fields, which do not exist yet.
"""

from __future__ import annotations

from typing import Any, Iterable

from textual.content import Content
from textual.widgets import Static

from cluster.api import objects
from tui.roles import Role

NO_FAILOVER = "no RedisFailover"


def _flatten(value: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        yield prefix, ", ".join(str(v) for v in value) if all(
            not isinstance(v, (dict, list)) for v in value) else f"[{len(value)} items]"
    else:
        yield prefix, str(value)


class HAPane(Static):
    """Failovers and Redis roles, as far as they can be known today."""

    def on_mount(self) -> None:
        self.border_title = "Redis HA"

    def show(self, failovers: list[dict[str, Any]] | None, roles: dict[str, Role], *,
             compact: bool = False) -> None:
        """`failovers` None means the API does not serve the RedisFailover kind; `compact`
        fits the pane in a few lines under the table."""
        parts: list[Content] = []
        if not failovers:
            parts.append(Content.styled(NO_FAILOVER, "$text-warning"))
        for rf in failovers or ():
            parts.append(Content.assemble(("RedisFailover ", "$text-muted"),
                                          (objects.object_key(rf), "bold")))
            status = list(_flatten(rf.get("status") or {}))
            if compact:
                parts.append(Content("  " + "  ".join(f"{k}={v}" for k, v in status[:6])))
            else:
                parts += [Content.assemble((f"  {k} ", "$text-muted"), v) for k, v in status[:12]]
        lines = []
        for title, role, style in (("Primary", Role.PRIMARY, "bold $success"),
                                   ("Replicas", Role.REPLICA, "$accent"),
                                   ("Sentinels", Role.SENTINEL, "$secondary")):
            keys = sorted(k for k, r in roles.items() if r is role)
            names = ", ".join(objects.split_key(k)[1] for k in keys) or "—"
            lines.append(Content.assemble((f"{title} ", "$text-muted"), (names, style)))
        if compact:
            parts.append(Content("   ").join(lines))
        else:
            parts += [Content(""), *lines, Content("")]
        parts.append(Content.styled(
            "Offsets, lag, sentinel views, epoch, write rate and the failover timeline "
            "arrive with the RedisFailover operator.", "$text-muted italic"))
        self.update(Content("\n").join(parts))
