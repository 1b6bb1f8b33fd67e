"""Rows per kind (k9s's columns, kubectl's cell rules) and the tones they are painted in."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.api import objects
from cluster.api.resources import ResourceType
from tui.kinds import BUILTIN_VIEWS, VIEW_ALIASES, RowContext, generic_view, view_for
from tui.roles import Role, Tone, pod_tone, role_from_reply, role_of, runs_redis

NOW = 1_800_000_000.0
VIEWS = {v.resource: v for v in BUILTIN_VIEWS}


def _pod(labels: dict[str, str] | None = None, *, deleting: bool = False,
         image: str = "redis:7") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "default", "labels": labels or {},
                            "creationTimestamp": objects.format_time(NOW - 90)}
    if deleting:
        meta["deletionTimestamp"] = objects.format_time(NOW)
    return {"kind": "Pod", "metadata": meta,
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": image}]},
            "status": {"phase": "Running", "podIP": "127.9.0.3",
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                              "state": {"running": {}}}]}}


def test_pod_row_has_k9s_columns_and_the_role() -> None:
    """NAMESPACE NAME ROLE READY STATUS RESTARTS IP NODE AGE, with the operator's role."""
    view = VIEWS["pods"]
    row = view.row(_pod({"redisha.io/role": "primary"}), RowContext(now=NOW))
    assert dict(zip(view.headers, row.cells)) == {
        "NAMESPACE": "default", "NAME": "p", "ROLE": "primary", "READY": "1/1",
        "STATUS": "Running", "RESTARTS": "0", "IP": "127.9.0.3", "NODE": "node-1",
        "AGE": "90s"}
    assert row.tone is Tone.PRIMARY


@pytest.mark.parametrize("labels,probed,role", [
    pytest.param({"redisha.io/role": "replica"}, {}, Role.REPLICA, id="label"),
    pytest.param({"app.kubernetes.io/component": "sentinel"}, {}, Role.SENTINEL, id="sentinel"),
    pytest.param({}, {"default/p": Role.PRIMARY}, Role.PRIMARY, id="probed"),
    pytest.param({"redisha.io/role": "replica"}, {"default/p": Role.PRIMARY}, Role.REPLICA,
                 id="label-wins"),
    pytest.param({}, {}, None, id="unknown"),
])
def test_roles_come_from_labels_then_the_probe(labels: dict[str, str],
                                               probed: dict[str, Role], role: Role | None) -> None:
    """The operator's labels win; `redis-cli role` answers fill in for unlabelled pods."""
    assert role_of(_pod(labels), probed) is role


@pytest.mark.parametrize("reply,role", [
    pytest.param("master\n0\n", Role.PRIMARY, id="master"),
    pytest.param("slave\nredis-sfs-0\n6379\nconnected\n", Role.REPLICA, id="slave"),
    pytest.param('"sentinel"\n', Role.SENTINEL, id="sentinel"),
    pytest.param("ERR unknown\n", None, id="error"),
])
def test_role_replies(reply: str, role: Role | None) -> None:
    """ROLE's first line is master, slave or sentinel."""
    assert role_from_reply(reply) is role


@pytest.mark.parametrize("status,ready,role,tone", [
    pytest.param("Running", "1/1", Role.PRIMARY, Tone.PRIMARY, id="primary"),
    pytest.param("Running", "1/1", Role.REPLICA, Tone.REPLICA, id="replica"),
    pytest.param("Running", "1/1", Role.SENTINEL, Tone.SENTINEL, id="sentinel"),
    pytest.param("CrashLoopBackOff", "0/1", Role.PRIMARY, Tone.FAILING, id="failing-wins"),
    pytest.param("Terminating", "1/1", Role.PRIMARY, Tone.TERMINATING, id="terminating"),
    pytest.param("Running", "0/1", None, Tone.PENDING, id="not-ready"),
    pytest.param("ContainerCreating", "0/1", None, Tone.PENDING, id="creating"),
    pytest.param("Init:0/2", "0/1", None, Tone.PENDING, id="init-progress"),
    pytest.param("Init:Error", "0/1", None, Tone.FAILING, id="init-error"),
    pytest.param("Completed", "0/1", None, Tone.COMPLETED, id="completed"),
])
def test_pod_tones(status: str, ready: str, role: Role | None, tone: Tone) -> None:
    """Colours tell primary, replica, sentinel, failing and terminating pods apart."""
    assert pod_tone(status, ready, role) is tone


def test_terminating_pod_row() -> None:
    """A pod being deleted reads Terminating and is painted so."""
    row = VIEWS["pods"].row(_pod({"redisha.io/role": "primary"}, deleting=True),
                            RowContext(now=NOW))
    assert "Terminating" in row.cells and row.tone is Tone.TERMINATING


def test_runs_redis_by_image_repository() -> None:
    """Any registry and tag of `redis` counts; `redis-exporter` does not."""
    assert runs_redis(_pod(image="docker.io/library/redis:7.2"))
    assert not runs_redis(_pod(image="oliver006/redis-exporter"))


def test_node_row_counts_pods_and_flags_not_ready() -> None:
    """The nodes view shows PODS from the pods informer and paints NotReady nodes red."""
    node = {"kind": "Node", "metadata": {"name": "node-1",
                                         "creationTimestamp": objects.format_time(NOW - 5)},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeletVersion": "v1.32.0"},
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}}
    view = VIEWS["nodes"]
    row = view.row(node, RowContext(now=NOW, pods_on_node=lambda n: 7))
    cells = dict(zip(view.headers, row.cells))
    assert cells["STATUS"] == "Ready,SchedulingDisabled" and cells["PODS"] == "7"
    assert row.tone is Tone.PENDING
    node["status"]["conditions"][0]["status"] = "Unknown"
    assert view.row(node, RowContext(now=NOW)).tone is Tone.FAILING


def test_warning_events_are_red() -> None:
    """Events show OBJECT as kind/name and paint Warnings as failures."""
    ev = {"kind": "Event", "metadata": {"name": "e", "namespace": "default"}, "type": "Warning",
          "reason": "BackOff", "message": "Back-off restarting",
          "involvedObject": {"kind": "Pod", "name": "web"}, "count": 3,
          "lastTimestamp": objects.format_time(NOW - 2), "source": {"component": "kubelet"}}
    view = VIEWS["events"]
    row = view.row(ev, RowContext(now=NOW))
    cells = dict(zip(view.headers, row.cells))
    assert (cells["OBJECT"], cells["COUNT"], cells["LAST SEEN"]) == ("pod/web", "3", "2s")
    assert row.tone is Tone.FAILING


def test_kinds_without_a_view_get_kubectls_columns() -> None:
    """A custom resource shows NAMESPACE plus its printer columns (here NAME and AGE)."""
    rt = ResourceType(group="redisha.io", version="v1", kind="RedisFailover",
                      plural="redisfailovers", singular="redisfailover", custom=True,
                      short_names=("rf",))
    view = view_for(rt)
    assert view == generic_view(rt) or view.headers == generic_view(rt).headers
    assert view.headers[:2] == ("NAMESPACE", "NAME")
    obj = {"metadata": {"name": "demo", "namespace": "default",
                        "creationTimestamp": objects.format_time(NOW - 60)}}
    assert view.row(obj, RowContext(now=NOW)).cells[:2] == ("default", "demo")


def test_every_alias_names_a_view() -> None:
    """The aliases the issue lists all resolve to a kind word."""
    for alias in ("po", "no", "deploy", "rs", "sts", "svc", "ep", "pvc", "ev", "rf", "crds"):
        assert alias in VIEW_ALIASES
