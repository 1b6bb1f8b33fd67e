"""The fast path's detection: what the API says about the primary's pod and node."""

from __future__ import annotations

from typing import Any

import pytest

from redisha.operator import faults
from redisha.operator.reasons import FailoverReason


def _pod(state: str = "running", restarts: int = 0, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "rfr-x-0", "uid": "u"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"containerStatuses": [
        {"name": "redis", "restartCount": restarts, "state": {state: {}}}]}}


def _node(ready: str) -> dict[str, Any]:
    return {"metadata": {"name": "node-1"},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


@pytest.mark.parametrize("old,new,reason", [
    pytest.param(_pod(), None, FailoverReason.POD_DELETED, id="gone"),
    pytest.param(_pod(), _pod(deleting=True), FailoverReason.POD_DELETED, id="deletion-marked"),
    pytest.param(_pod(deleting=True), _pod("terminated", deleting=True), None, id="already-deleting"),
    pytest.param(_pod(), _pod("terminated"), FailoverReason.CONTAINER_EXITED, id="exited"),
    pytest.param(_pod(), _pod("running", restarts=1), FailoverReason.CONTAINER_EXITED, id="restarted"),
    pytest.param(_pod("waiting"), _pod("running"), None, id="started"),
    pytest.param(_pod(), _pod(), None, id="unchanged"),
])
def test_pod_faults(old: dict, new: dict | None, reason: FailoverReason | None) -> None:
    """Deletion (first marked or gone) and a container leaving `running` are faults."""
    assert faults.pod_fault(old, new) == reason


@pytest.mark.parametrize("old,new,reason", [
    pytest.param(_node("True"), _node("Unknown"), FailoverReason.NODE_LOST, id="unknown"),
    pytest.param(_node("True"), _node("False"), FailoverReason.NODE_LOST, id="not-ready"),
    pytest.param(_node("Unknown"), _node("Unknown"), None, id="still-lost"),
    pytest.param(_node("True"), None, FailoverReason.NODE_LOST, id="deleted"),
    pytest.param(_node("False"), _node("True"), None, id="recovered"),
])
def test_node_faults(old: dict, new: dict | None, reason: FailoverReason | None) -> None:
    """A node that stops being Ready (or disappears) is lost, once."""
    assert faults.node_fault(old, new) == reason
