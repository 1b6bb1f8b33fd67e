"""Pod status as the kubelet computes it (pure): phase, conditions, container statuses."""

from __future__ import annotations

import pytest

from cluster.api import objects
from cluster.podstatus import (ContainerView, Phase, PodObservation, Terminated,
                               compute_status, container_status, pod_phase)

T0 = 1_700_000_000.0


def running(name: str = "c", ready: bool = True) -> ContainerView:
    return ContainerView(name, "img", running_since=T0, ready=ready, started=True,
                         container_id="fake://1")


def exited(name: str = "c", code: int = 0) -> ContainerView:
    return ContainerView(name, "img", terminated=Terminated(code, "Completed" if code == 0 else "Error",
                                                            T0, T0 + 1, "fake://1"))


def backing_off(name: str = "c", code: int = 1) -> ContainerView:
    return ContainerView(name, "img", terminated=Terminated(code, "Error", T0, T0 + 1),
                         waiting_reason="CrashLoopBackOff", waiting_message="back-off 10s")


def creating(name: str = "c") -> ContainerView:
    return ContainerView(name, "img")


@pytest.mark.parametrize("policy, init, containers, terminal, phase", [
    pytest.param("Always", [], [creating()], False, Phase.PENDING, id="creating"),
    pytest.param("Always", [], [running()], False, Phase.RUNNING, id="running"),
    pytest.param("Always", [], [exited(code=0)], False, Phase.RUNNING, id="always-restarting"),
    pytest.param("Always", [], [backing_off()], False, Phase.RUNNING, id="crashloop"),
    pytest.param("Never", [], [exited(code=0)], False, Phase.SUCCEEDED, id="never-ok"),
    pytest.param("Never", [], [exited(code=2)], False, Phase.FAILED, id="never-fail"),
    pytest.param("OnFailure", [], [exited(code=2)], False, Phase.RUNNING, id="onfailure-retry"),
    pytest.param("OnFailure", [], [exited(code=0)], False, Phase.SUCCEEDED, id="onfailure-ok"),
    pytest.param("Never", [], [running("a"), exited("b", 1)], False, Phase.RUNNING, id="mixed"),
    pytest.param("Always", [running("i")], [creating()], False, Phase.PENDING, id="init-running"),
    pytest.param("Never", [exited("i", 1)], [creating()], False, Phase.FAILED, id="init-failed"),
    pytest.param("Always", [backing_off("i")], [creating()], False, Phase.PENDING,
                 id="init-crashloop"),
    pytest.param("Always", [exited("i", 0)], [running()], False, Phase.RUNNING, id="init-done"),
    pytest.param("Always", [], [exited(code=143)], True, Phase.FAILED, id="deleted-killed"),
    pytest.param("Always", [], [exited(code=0)], True, Phase.SUCCEEDED, id="deleted-clean"),
])
def test_phase_as_kubelet_computes_it(policy: str, init: list[ContainerView],
                                      containers: list[ContainerView], terminal: bool,
                                      phase: Phase) -> None:
    """pod_phase follows kubelet's getPhase for each restart policy and container state."""
    assert pod_phase(policy, init, containers, terminal=terminal) is phase


def test_crash_looping_container_status_shape() -> None:
    """A container in back-off shows waiting CrashLoopBackOff with the last run in lastState."""
    status = container_status(backing_off(), "ContainerCreating")
    assert status["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}}
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["started"] is False and "containerID" not in status


def test_default_waiting_reason_and_running_shape() -> None:
    """A container not yet started waits with the pod's default reason; a running one shows startedAt."""
    assert container_status(creating(), "PodInitializing")["state"] == {
        "waiting": {"reason": "PodInitializing"}}
    status = container_status(running(), "ContainerCreating")
    assert status["state"] == {"running": {"startedAt": objects.format_time(T0)}}
    assert status["containerID"] == "fake://1" and status["lastState"] == {}


def _pod(status: dict | None = None, **spec: object) -> dict:
    return {"metadata": {"name": "p", "namespace": "default"},
            "spec": {"restartPolicy": "Always", "containers": [{"name": "c"}], **spec},
            "status": status or {"phase": "Pending", "qosClass": "BestEffort",
                                 "conditions": [{"type": "PodScheduled", "status": "True"}]}}


def _seen(*views: ContainerView, init: tuple[ContainerView, ...] = ()) -> PodObservation:
    return PodObservation(init_views=init, views=views, pod_ip="10.0.0.5", host_ip="10.1.0.1",
                          start_time=T0, sandbox_ready=True)


def test_status_keeps_foreign_fields_and_orders_conditions() -> None:
    """compute_status keeps qosClass and PodScheduled, and writes kubelet's conditions first."""
    status = compute_status(_pod(), _seen(running()), T0)
    assert status["qosClass"] == "BestEffort"
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert status["podIP"] == "10.0.0.5" and status["hostIPs"] == [{"ip": "10.1.0.1"}]


def test_last_transition_time_moves_only_on_transitions() -> None:
    """A condition keeps its lastTransitionTime while its status holds and moves when it flips."""
    first = compute_status(_pod(), _seen(running()), T0)
    same = compute_status(_pod(first), _seen(running()), T0 + 50)
    assert same == first
    flipped = compute_status(_pod(same), _seen(running(ready=False)), T0 + 100)
    by_type = {c["type"]: c for c in flipped["conditions"]}
    assert by_type["Ready"]["lastTransitionTime"] == objects.format_time(T0 + 100)
    assert by_type["Initialized"]["lastTransitionTime"] == objects.format_time(T0)
    assert (by_type["Ready"]["reason"], by_type["Ready"]["message"]) == (
        "ContainersNotReady", "containers with unready status: [c]")


def test_container_statuses_sorted_by_name_init_in_spec_order() -> None:
    """containerStatuses are sorted by name; initContainerStatuses keep the spec's order."""
    pod = _pod(containers=[{"name": "z"}, {"name": "a"}],
               initContainers=[{"name": "second"}, {"name": "first"}])
    status = compute_status(pod, _seen(running("z"), running("a"),
                                       init=(exited("second"), exited("first"))), T0)
    assert [c["name"] for c in status["containerStatuses"]] == ["a", "z"]
    assert [c["name"] for c in status["initContainerStatuses"]] == ["second", "first"]


def test_readiness_gate_holds_ready() -> None:
    """A readiness gate whose condition is missing keeps Ready False (ReadinessGatesNotReady)."""
    pod = _pod(readinessGates=[{"conditionType": "example.com/lb"}])
    status = compute_status(pod, _seen(running()), T0)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "ReadinessGatesNotReady")
    contained = next(c for c in status["conditions"] if c["type"] == "ContainersReady")
    assert contained["status"] == "True"
