"""Logs and exec through the API (`Client.pod_logs`, `follow_pod_logs`, `pod_exec`).

The client never sees a kubelet: the API server finds the pod's node and forwards to the
kubelet registered for it, with kube-apiserver's errors on the way.
"""

from __future__ import annotations

import asyncio

import pytest

from cluster.api import errors, podio
from cluster.embedded import EmbeddedCluster
from tests.cluster.pod_io_helpers import eventually, pod, started, toolbox_cluster


async def texts(cluster: EmbeddedCluster, name: str, *, previous: bool = False,
                tail_lines: int | None = None) -> list[str]:
    lines = await cluster.client.pod_logs(name, previous=previous, tail_lines=tail_lines)
    return [line.text for line in lines]


async def test_logs_tail_and_previous_attempt() -> None:
    """Lines of a running pod, the last N of them, and the previous attempt's after a restart."""
    async with toolbox_cluster() as (cluster, feed):
        await cluster.client.create(pod("talk"))
        await started(cluster, "talk")
        feed.say("talk", "one")
        feed.say("talk", "two")
        await eventually(lambda: _has(cluster, "talk", "two"), what="line two")
        assert await texts(cluster, "talk") == ["attempt 0", "one", "two"]
        assert await texts(cluster, "talk", tail_lines=2) == ["one", "two"]
        assert await texts(cluster, "talk", tail_lines=0) == []
        feed.say("talk", "exit 3")
        await started(cluster, "talk", restarts=1)
        await eventually(lambda: _has(cluster, "talk", "attempt 1"), what="second attempt")
        assert await texts(cluster, "talk") == ["attempt 1"]
        assert await texts(cluster, "talk", previous=True) == ["attempt 0", "one", "two"]


async def _has(cluster: EmbeddedCluster, name: str, text: str) -> bool:
    return text in await texts(cluster, name)


async def test_follow_tails_then_streams_until_the_attempt_ends() -> None:
    """follow_pod_logs gives the last N retained lines, each new line, and ends on exit."""
    async with toolbox_cluster() as (cluster, feed):
        await cluster.client.create(pod("talk", restart="Never"))
        await started(cluster, "talk")
        feed.say("talk", "old")
        await eventually(lambda: _has(cluster, "talk", "old"))
        got: list[str] = []
        seen_old = asyncio.Event()

        async def follow() -> None:
            async for line in cluster.client.follow_pod_logs("talk", tail_lines=1):
                got.append(line.text)
                seen_old.set()

        task = asyncio.create_task(follow())
        await asyncio.wait_for(seen_old.wait(), 5)
        feed.say("talk", "new")
        feed.say("talk", "exit 0")
        await asyncio.wait_for(task, 5)
        assert got == ["old", "new"]


async def test_exec_returns_output_and_exit_code() -> None:
    """pod_exec runs in the named container and returns its output and exit code."""
    async with toolbox_cluster() as (cluster, _):
        await cluster.client.create(pod("duo", "a", "b"))
        await started(cluster, "duo")
        c = cluster.client
        assert await c.pod_exec("duo", command=["echo", "hi", "there"], container="b") == \
            podio.ExecResult(0, b"hi there\n", b"")
        assert await c.pod_exec("duo", command=["fail", "7"], container="a") == \
            podio.ExecResult(7, b"", b"boom\n")
        assert (await c.pod_exec("duo", command=["cat"], container="a",
                                 stdin=b"x\ny\n")).stdout == b"x\ny\n"


async def test_errors_name_the_pod_and_container() -> None:
    """Missing pod → NotFound, unnamed/unknown container → BadRequest, tail < 0 → Invalid."""
    async with toolbox_cluster() as (cluster, _):
        c = cluster.client
        with pytest.raises(errors.NotFound, match='^pods "nope" not found$'):
            await c.pod_logs("nope")
        with pytest.raises(errors.NotFound, match='^pods "nope" not found$'):
            await c.pod_exec("nope", command=["echo"])
        await c.create(pod("duo", "a", "b"))
        with pytest.raises(errors.BadRequest, match=r"^a container name must be specified for "
                                                    r"pod duo, choose one of: \[a b\]$"):
            await c.pod_logs("duo")
        with pytest.raises(errors.BadRequest, match=r"choose one of: \[a b\]$"):
            await c.pod_exec("duo", command=["echo"])
        with pytest.raises(errors.BadRequest, match="^container zzz is not valid for pod duo$"):
            await c.pod_logs("duo", container="zzz")
        with pytest.raises(errors.Invalid, match="tailLines: Invalid value: -1: must be greater"):
            await c.pod_logs("duo", container="a", tail_lines=-1)


async def test_unscheduled_pod_has_no_logs_and_no_exec() -> None:
    """A pod without a node: empty logs (as kube-apiserver answers), exec is a BadRequest."""
    async with toolbox_cluster() as (cluster, _):
        c = cluster.client
        await c.create(pod("lost", node_selector={"disk": "none"}))
        await eventually(lambda: _unschedulable(cluster, "lost"), what="FailedScheduling")
        assert await c.pod_logs("lost") == []
        assert [line async for line in c.follow_pod_logs("lost")] == []
        with pytest.raises(errors.BadRequest, match="^pod lost does not have a host assigned$"):
            await c.pod_exec("lost", command=["echo"])


async def _unschedulable(cluster: EmbeddedCluster, name: str) -> bool:
    conditions = (await cluster.client.get("pods", name))["status"].get("conditions") or []
    return any(x["type"] == "PodScheduled" and x["status"] == "False" for x in conditions)


async def test_waiting_container_has_no_logs_yet() -> None:
    """A container that cannot start: the kubelet's `is waiting to start` BadRequest."""
    async with toolbox_cluster() as (cluster, _):
        c = cluster.client
        await c.create(pod("nopull", image="nosuch"))

        async def waiting() -> bool:
            statuses = (await c.get("pods", "nopull"))["status"].get("containerStatuses") or []
            return bool(statuses and "waiting" in statuses[0]["state"]
                        and "Pull" in statuses[0]["state"]["waiting"].get("reason", ""))

        await eventually(waiting, what="image pull failure")
        with pytest.raises(errors.BadRequest,
                           match='^container "main" in pod "nopull" is waiting to start: '):
            await c.pod_logs("nopull")


async def test_killed_node_is_unreachable() -> None:
    """After kill_node, the node's pods fail to dial, with a 500 whose Status has no reason."""
    async with toolbox_cluster() as (cluster, _):
        c = cluster.client
        await c.create(pod("talk"))
        bound = await started(cluster, "talk")
        node = bound["spec"]["nodeName"]
        address = podio.node_address(await c.get("nodes", node), node)
        await cluster.kill_node(node)
        with pytest.raises(podio.BackendUnreachable) as caught:
            await c.pod_logs("talk")
        assert caught.value.message == (
            f'Get "https://{address}:10250/containerLogs/default/talk/main": '
            f"dial tcp {address}:10250: connect: connection refused")
        assert (caught.value.to_status()["code"], caught.value.to_status()["reason"]) == (500, "")
        with pytest.raises(podio.BackendUnreachable, match="^error dialing backend: dial tcp "):
            await c.pod_exec("talk", command=["echo"])


def test_registry_replaces_and_forgets_connections() -> None:
    """register_node_connection keeps one connection per node; unregister is idempotent."""
    from cluster.apiserver import APIServer

    api = APIServer()
    first, second = object(), object()
    api.register_node_connection("n1", first)  # type: ignore[arg-type]
    api.register_node_connection("n1", second)  # type: ignore[arg-type]
    assert api._node_connections == {"n1": second}
    api.unregister_node_connection("n1")
    api.unregister_node_connection("n1")
    assert api._node_connections == {}


@pytest.mark.parametrize("lines, n, expected", [
    pytest.param(["a", "b", "c"], None, ["a", "b", "c"], id="all"),
    pytest.param(["a", "b", "c"], 2, ["b", "c"], id="last-two"),
    pytest.param(["a", "b", "c"], 5, ["a", "b", "c"], id="more-than-retained"),
    pytest.param(["a", "b", "c"], 0, [], id="none"),
])
def test_tail(lines: list[str], n: int | None, expected: list[str]) -> None:
    """tail keeps the last n lines, all of them when n is None or larger than the log."""
    got = podio.tail([podio.LogLine(0.0, "stdout", t) for t in lines], n)
    assert [line.text for line in got] == expected


def test_records_are_shared_with_the_runtime() -> None:
    """The runtime's LogLine and ExecResult are the API's records (re-exported)."""
    from cluster.runtime import base

    assert base.LogLine is podio.LogLine and base.ExecResult is podio.ExecResult
