"""The authoritative fast path's detection: what the API says about the primary's pod,
its container and its node (pure functions over Kubernetes objects).

Informer handlers call these on every update of the primary's pod or node; a non-None
answer is a reason to ask the sentinels for a failover at once, instead of letting them
wait down-after for pings that will never be answered.
"""

from __future__ import annotations

from typing import Any

from cluster.api import objects
from redisha.operator import manifests
from redisha.operator.reasons import FailoverReason


def _container(pod: dict[str, Any] | None) -> dict[str, Any]:
    for status in ((pod or {}).get("status") or {}).get("containerStatuses") or ():
        if status.get("name") == manifests.REDIS:
            return dict(status)
    return {}


def pod_fault(old: dict[str, Any] | None, new: dict[str, Any] | None) -> FailoverReason | None:
    """Why the pod (`old` → `new`; `new` None when deleted) can no longer be the primary.

    - deleted, or marked for deletion → `PodDeleted`;
    - its redis container restarted (restartCount grew) or left the running state →
      `ContainerExited`.
    """
    if new is None:
        return FailoverReason.POD_DELETED
    if objects.is_terminating(new) and not (old is not None and objects.is_terminating(old)):
        return FailoverReason.POD_DELETED
    if objects.is_terminating(new):
        return None
    before, after = _container(old), _container(new)
    if int(after.get("restartCount") or 0) > int(before.get("restartCount") or 0):
        return FailoverReason.CONTAINER_EXITED
    was_running = "running" in (before.get("state") or {})
    if was_running and "running" not in (after.get("state") or {}):
        return FailoverReason.CONTAINER_EXITED
    return None


def node_ready(node: dict[str, Any] | None) -> bool:
    """The node's Ready condition is True."""
    for condition in ((node or {}).get("status") or {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def node_fault(old: dict[str, Any] | None, new: dict[str, Any] | None) -> FailoverReason | None:
    """`NodeLost` when the node stops being Ready (NotReady or Unknown) or is deleted."""
    if new is None:
        return FailoverReason.NODE_LOST
    if node_ready(old) and not node_ready(new):
        return FailoverReason.NODE_LOST
    return None
