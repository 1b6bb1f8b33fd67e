"""Pod READY/STATUS/RESTARTS cells, derived the way kubectl's pod printer derives them."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.api import objects
from cluster.kubectl import columns

NOW = 1_700_000_000.0
CREATED = objects.format_time(NOW - 300)


def pod(*, status: dict[str, Any] | None = None, init: int = 0, containers: int = 1,
        deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "redis", "namespace": "default",
                            "creationTimestamp": CREATED}
    if deleting:
        meta["deletionTimestamp"] = objects.format_time(NOW)
    spec: dict[str, Any] = {"containers": [{"name": f"c{i}", "image": "redis"}
                                           for i in range(containers)]}
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "image": "busybox"} for i in range(init)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
            "status": status or {"phase": "Pending"}}


def cs(state: dict[str, Any], *, ready: bool = False, restarts: int = 0,
       last_finished: float | None = None, name: str = "c0") -> dict[str, Any]:
    status: dict[str, Any] = {"name": name, "state": state, "ready": ready,
                              "restartCount": restarts}
    if last_finished is not None:
        status["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error",
                                              "finishedAt": objects.format_time(last_finished)}}
    return status


RUNNING = {"running": {"startedAt": CREATED}}


def waiting(reason: str) -> dict[str, Any]:
    return {"waiting": {"reason": reason}}


@pytest.mark.parametrize("obj,ready,status,restarts", [
    pytest.param(pod(), "0/1", "Pending", "0", id="pending-unscheduled"),
    pytest.param(pod(status={"phase": "Pending", "containerStatuses": [
        cs(waiting("ContainerCreating"))]}), "0/1", "ContainerCreating", "0",
        id="container-creating"),
    pytest.param(pod(status={"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True"}], "containerStatuses": [cs(RUNNING, ready=True)]}),
        "1/1", "Running", "0", id="running-ready"),
    pytest.param(pod(containers=2, status={"phase": "Running", "containerStatuses": [
        cs(RUNNING, ready=True), cs(RUNNING, ready=False, name="c1")]}),
        "1/2", "Running", "0", id="running-one-of-two-ready"),
    pytest.param(pod(status={"phase": "Succeeded", "containerStatuses": [
        cs({"terminated": {"exitCode": 0, "reason": "Completed"}})]}),
        "0/1", "Completed", "0", id="completed"),
    pytest.param(pod(status={"phase": "Running", "containerStatuses": [
        cs(waiting("CrashLoopBackOff"), restarts=3, last_finished=NOW - 12)]}),
        "0/1", "CrashLoopBackOff", "3 (12s ago)", id="crash-loop-with-last-restart"),
    pytest.param(pod(status={"phase": "Pending", "containerStatuses": [
        cs(waiting("ErrImagePull"))]}), "0/1", "ErrImagePull", "0", id="err-image-pull"),
    pytest.param(pod(status={"phase": "Pending", "containerStatuses": [
        cs(waiting("ImagePullBackOff"))]}), "0/1", "ImagePullBackOff", "0",
        id="image-pull-backoff"),
    pytest.param(pod(status={"phase": "Running", "containerStatuses": [
        cs({"terminated": {"exitCode": 137}})]}), "0/1", "ExitCode:137", "0",
        id="terminated-without-reason"),
    pytest.param(pod(status={"phase": "Running", "containerStatuses": [
        cs({"terminated": {"exitCode": 0, "signal": 9}})]}), "0/1", "Signal:9", "0",
        id="terminated-by-signal"),
    pytest.param(pod(deleting=True, status={"phase": "Running", "containerStatuses": [
        cs(RUNNING, ready=True)]}), "1/1", "Terminating", "0", id="terminating"),
    pytest.param(pod(deleting=True, status={"phase": "Succeeded"}), "0/1", "Succeeded", "0",
                 id="deleting-finished-pod-keeps-phase"),
    pytest.param(pod(init=1, status={"phase": "Pending", "initContainerStatuses": [
        cs(RUNNING, name="i0")], "containerStatuses": [cs(waiting("PodInitializing"))]}),
        "0/1", "Init:0/1", "0", id="init-running"),
    pytest.param(pod(init=2, status={"phase": "Pending", "initContainerStatuses": [
        cs({"terminated": {"exitCode": 0, "reason": "Completed"}}, name="i0"),
        cs(waiting("PodInitializing"), name="i1")]}), "0/1", "Init:1/2", "0",
        id="second-init-container"),
    pytest.param(pod(init=1, status={"phase": "Pending", "initContainerStatuses": [
        cs(waiting("CrashLoopBackOff"), restarts=2, name="i0")]}), "0/1",
        "Init:CrashLoopBackOff", "2", id="init-crash-loop"),
    pytest.param(pod(init=1, status={"phase": "Pending", "initContainerStatuses": [
        cs({"terminated": {"exitCode": 2}}, name="i0")]}), "0/1", "Init:ExitCode:2", "0",
        id="init-failed"),
    pytest.param(pod(status={"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
        "0/1", "SchedulingGated", "0", id="scheduling-gated"),
    pytest.param(pod(status={"phase": "Failed", "reason": "Evicted"}), "0/1", "Evicted", "0",
                 id="pod-reason-wins-over-phase"),
])
def test_pod_summary(obj: dict[str, Any], ready: str, status: str, restarts: str) -> None:
    """READY, STATUS and RESTARTS follow the printer's precedence rules."""
    summary = columns.pod_summary(obj, NOW)
    assert (summary.ready, summary.status, summary.restarts) == (ready, status, restarts)


def test_restarts_without_termination_time_have_no_ago() -> None:
    """A restart count without a last termination time prints the bare number."""
    obj = pod(status={"phase": "Running", "containerStatuses": [
        cs(RUNNING, ready=True, restarts=4)]})
    assert columns.pod_summary(obj, NOW).restarts == "4"


def test_pod_wide_cells() -> None:
    """The wide columns show IP, node, and `<none>` where unset."""
    obj = pod(status={"phase": "Running", "podIPs": [{"ip": "127.0.10.4"}]})
    obj["spec"]["nodeName"] = "node-1"
    wide = {c.name: c.cell(obj, NOW) for c in columns.POD_COLUMNS if c.priority == 1}
    assert wide == {"IP": "127.0.10.4", "Node": "node-1", "Nominated Node": "<none>",
                    "Readiness Gates": "<none>"}
