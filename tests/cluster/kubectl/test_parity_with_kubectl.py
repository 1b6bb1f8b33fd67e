"""Differences from the real kubectl 1.32 found by running both against `redisha serve`."""

from __future__ import annotations

from typing import Any

import pytest
from kubectl_helpers import T0, Harness

from cluster.api import objects
from cluster.kubectl import describe, podpick
from cluster.kubectl.flags import parse_go_duration
from cluster.kubectl.writing import LAST_APPLIED


async def test_apply_writes_kubectls_last_applied_bytes(harness: Harness) -> None:
    """The annotation carries `"annotations":{}` as kubectl's does, so either kubectl's
    next apply of the same file says `unchanged`."""
    assert (await harness.run("apply", "-f", "pod.yaml")).stdout == "pod/redis created\n"
    pod = await harness.client.get("pods", "redis")
    assert pod["metadata"]["annotations"][LAST_APPLIED] == (
        '{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},"name":"redis",'
        '"namespace":"default"},"spec":{"containers":[{"image":"redis","name":"redis"}]}}\n')
    assert (await harness.run("apply", "-f", "pod.yaml")).stdout == "pod/redis unchanged\n"


async def test_label_says_which_keys_to_remove_were_absent(harness: Harness) -> None:
    """`label ... KEY-` for a missing key prints kubectl's `label "KEY" not found.` first."""
    await harness.run("run", "a", "--image=redis")
    result = await harness.run("label", "pod", "a", "gone-", "tier=web")
    assert (result.exit_code, result.stdout) == (
        0, 'label "gone" not found.\npod/a labeled\n')
    result = await harness.run("label", "pod", "a", "gone-")
    assert result.stdout == 'label "gone" not found.\npod/a not labeled\n'


async def test_label_and_scale_act_on_what_exists_then_report_the_missing(
        harness: Harness) -> None:
    """Missing names are reported after the found objects are changed; exit 1."""
    await harness.run("run", "a", "--image=redis")
    result = await harness.run("label", "pod", "ghost", "a", "x=y")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "pod/a labeled\n", 'Error from server (NotFound): pods "ghost" not found\n')
    assert objects.labels_of(await harness.client.get("pods", "a"))["x"] == "y"
    await harness.run("create", "deployment", "web", "--image=redis")
    result = await harness.run("scale", "deploy", "ghost", "web", "--replicas=3")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "deployment.apps/web scaled\n",
        'Error from server (NotFound): deployments.apps "ghost" not found\n')


async def test_scale_selector_matching_nothing_is_an_error(harness: Harness) -> None:
    """`scale -l` that selects nothing fails with kubectl's line (label does not)."""
    result = await harness.run("scale", "deploy", "-l", "app=none", "--replicas=2")
    assert (result.exit_code, result.stdout, result.stderr) == (
        1, "", "error: no objects passed to scale\n")
    result = await harness.run("label", "deploy", "-l", "app=none", "a=b")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


def _pod_with_port_and_event() -> tuple[dict[str, Any], dict[str, Any]]:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "namespace": "default", "uid": "u-p",
                        "creationTimestamp": objects.format_time(T0)},
           "spec": {"containers": [{"name": "redis", "image": "redis",
                                    "ports": [{"name": "redis", "containerPort": 6379,
                                               "protocol": "TCP"}]}]},
           "status": {"phase": "Pending"}}
    event = {"apiVersion": "v1", "kind": "Event", "type": "Normal", "reason": "Pulling",
             "message": 'Pulling image "redis"', "count": 1, "source": {"component": "kubelet"},
             "involvedObject": {"kind": "Pod", "name": "p", "uid": "u-p",
                                "fieldPath": "spec.containers{redis}"},
             "firstTimestamp": objects.format_time(T0 - 5),
             "lastTimestamp": objects.format_time(T0 - 5)}
    return pod, event


def test_describe_pod_ports_and_events_read_as_kubectl_prints_them() -> None:
    """No port name after `6379/TCP`, and no `spec.containers{...}:` before a message."""
    pod, event = _pod_with_port_and_event()
    text = describe.describe_pod(pod, describe.Related(events=[event]), T0)
    assert "    Port:         6379/TCP\n    Host Port:    0/TCP\n" in text
    assert text.endswith('  Normal  Pulling  5s    kubelet  Pulling image "redis"\n')


def test_describe_statefulset_has_no_fields_kubectl_does_not_print() -> None:
    """Service Name, Pod Management Policy and the PVC retention policy are not shown."""
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "db", "namespace": "default", "uid": "u",
                        "creationTimestamp": objects.format_time(T0)},
           "spec": {"replicas": 1, "serviceName": "db", "podManagementPolicy": "Parallel",
                    "selector": {"matchLabels": {"app": "db"}},
                    "updateStrategy": {"type": "RollingUpdate",
                                       "rollingUpdate": {"partition": 0}},
                    "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain",
                                                             "whenScaled": "Retain"},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "c", "image": "redis"}]}}},
           "status": {"replicas": 1}}
    text = describe.describe_statefulset(sts, describe.Related(), T0)
    assert text.splitlines()[6:10] == [
        "Replicas:           1 desired | 1 total",
        "Update Strategy:    RollingUpdate",
        "  Partition:        0",
        "Pods Status:        0 Running / 0 Waiting / 0 Succeeded / 0 Failed"]


async def test_describe_node_shows_its_lease_and_kube_proxy_version(harness: Harness) -> None:
    """The node's Lease (holder, acquire and renew times) and `Kube-Proxy Version:`."""
    await harness.client.create({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "status": {"nodeInfo": {"kubeletVersion": "v1.32.0", "kubeProxyVersion": "v1.32.0"}}})
    await harness.client.create({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "n1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "n1", "renewTime": "2023-11-14T22:13:20.123456Z"}})
    text = (await harness.run("describe", "node", "n1")).stdout
    assert ("Unschedulable:      false\nLease:\n  HolderIdentity:  n1\n"
            "  AcquireTime:     <unset>\n  RenewTime:       "
            f"{describe._rfc1123z('2023-11-14T22:13:20Z')}\n") in text
    assert "  Kubelet Version:            v1.32.0\n  Kube-Proxy Version:         v1.32.0\n" in text


def _pod(name: str, *, restarts: int, ready_at: str = "2023-11-14T22:13:20Z") -> dict[str, Any]:
    return {"metadata": {"name": name, "creationTimestamp": "2023-11-14T22:13:00Z"},
            "spec": {"nodeName": "n1"},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "True",
                                       "lastTransitionTime": ready_at}],
                       "containerStatuses": [{"restartCount": restarts}]}}


def test_logs_prefers_the_restarted_pod_and_exec_the_steady_one() -> None:
    """kubectl's orders: logs reads the pod with most restarts, exec the one with fewest;
    a pod ready for longer comes first for both."""
    steady, crashy = _pod("a", restarts=0), _pod("b", restarts=3)
    assert podpick.preferred_order([steady, crashy], podpick.Purpose.LOGS)[0] is crashy
    assert podpick.preferred_order([steady, crashy], podpick.Purpose.ATTACH)[0] is steady
    newer = _pod("c", restarts=5, ready_at="2023-11-14T22:13:30Z")
    for purpose in podpick.Purpose:
        assert podpick.preferred_order([newer, steady], purpose)[0] is steady
    finished = _pod("d", restarts=9)
    finished["status"]["phase"] = "Succeeded"  # phase ordinal 0, as Pending
    for purpose in podpick.Purpose:
        assert podpick.preferred_order([finished, steady], purpose)[0] is steady


@pytest.mark.parametrize("text, seconds", [("20s", 20.0), ("1m30s", 90.0), ("500ms", 0.5),
                                           ("0", 0.0), ("1.5h", 5400.0)])
def test_go_durations(text: str, seconds: float) -> None:
    """`--pod-running-timeout` takes Go durations."""
    assert parse_go_duration(text) == seconds


def test_go_duration_needs_a_unit() -> None:
    """A bare number is refused with Go's words."""
    with pytest.raises(ValueError, match='^time: missing unit in duration "5"$'):
        parse_go_duration("5")

