"""Logs, exec and fault hooks: what `kubectl logs`/`exec` and the fault scenarios use."""

from __future__ import annotations

import re

import pytest

from cluster.api import errors
from cluster.kubelet import format_log_line
from tests.cluster.conftest import WaitFor
from tests.cluster.kubelet_helpers import container, pod, running_kubelet


async def test_logs_of_current_and_previous_attempt(wait_for: WaitFor) -> None:
    """After a crash (kill_pod_containers), logs show the new attempt and previous the old."""
    async with running_kubelet() as env:
        await env.create(pod("chatty", container("main", "attempt")))
        await wait_for(lambda: env.phase("chatty") == "Running")
        assert [line.text for line in env.kubelet.logs("default", "chatty", "main")] == ["attempt 0"]
        with pytest.raises(errors.BadRequest, match='previous terminated container "main" in pod "chatty" not found'):
            env.kubelet.logs("default", "chatty", "main", previous=True)
        await env.kubelet.kill_pod_containers("default", "chatty")
        await wait_for(lambda: env.container_status("chatty").get("restartCount") == 1
                       and "running" in env.container_status("chatty")["state"])
        assert env.container_status("chatty")["lastState"]["terminated"]["exitCode"] == 137
        assert [line.text for line in env.kubelet.logs("default", "chatty")] == ["attempt 1"]
        previous = env.kubelet.logs("default", "chatty", "main", previous=True)
        assert [line.text for line in previous] == ["attempt 0"]


async def test_follow_streams_until_the_container_exits(wait_for: WaitFor) -> None:
    """follow() yields every line of the attempt and ends when it has exited."""
    async with running_kubelet() as env:
        await env.create(pod("words", container("main", "print", "one", "two", "three"),
                             restart_policy="Never"))
        await wait_for(lambda: env.phase("words") == "Succeeded")
        got = [line.text async for line in env.kubelet.follow("default", "words")]
        assert got == ["one", "two", "three"]


async def test_timestamps_are_rfc3339_nano(wait_for: WaitFor) -> None:
    """With timestamps, a line starts with its RFC3339Nano UTC time."""
    async with running_kubelet() as env:
        await env.create(pod("stamped", container("main", "print", "hello")))
        await wait_for(lambda: env.runtime.started("stamped", "main"))
        line = env.kubelet.logs("default", "stamped")[0]
        text = format_log_line(line, timestamps=True)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z hello", text)
        assert format_log_line(line) == "hello"


@pytest.mark.parametrize("container_name, message", [
    pytest.param(None, "a container name must be specified for pod duo, choose one of: [a b]",
                 id="ambiguous"),
    pytest.param("zzz", "container zzz is not valid for pod duo", id="unknown"),
])
async def test_log_requests_name_a_container(wait_for: WaitFor, container_name: str | None,
                                             message: str) -> None:
    """Logs of a multi-container pod need a valid container name, with the API's wording."""
    async with running_kubelet() as env:
        await env.create(pod("duo", container("a", "run"), container("b", "run")))
        await wait_for(lambda: env.phase("duo") == "Running")
        with pytest.raises(errors.BadRequest, match=re.escape(message)):
            env.kubelet.logs("default", "duo", container_name)


async def test_logs_of_a_container_that_never_started(wait_for: WaitFor) -> None:
    """A container stuck on its image has no logs; the error says why, as the kubelet does."""
    async with running_kubelet() as env:
        await env.create(pod("nolog", container("main", image="nosuch")))
        await wait_for(lambda: env.container_status("nolog").get("state", {}).get("waiting"))
        await wait_for(lambda: "Pull" in env.container_status("nolog")["state"]["waiting"]["reason"])
        with pytest.raises(errors.BadRequest, match='container "main" in pod "nolog" is waiting to start'):
            env.kubelet.logs("default", "nolog")
        with pytest.raises(errors.NotFound):
            env.kubelet.logs("default", "absent")


async def test_exec_runs_in_the_container(wait_for: WaitFor) -> None:
    """exec() returns the command's exit code and output, and passes stdin."""
    async with running_kubelet() as env:
        await env.create(pod("shell"))
        await wait_for(lambda: env.phase("shell") == "Running")
        result = await env.kubelet.exec("default", "shell", "main", ["echo", "PONG"])
        assert (result.exit_code, result.stdout) == (0, b"PONG\n")
        piped = await env.kubelet.exec("default", "shell", None, ["cat"], stdin=b"data")
        assert piped.stdout == b"data"


async def test_exec_in_a_stopped_container_is_refused(wait_for: WaitFor) -> None:
    """exec into a container that is not running fails like the API server's upgrade error."""
    async with running_kubelet() as env:
        await env.create(pod("finished", container("main", "print", "x"), restart_policy="Never"))
        await wait_for(lambda: env.phase("finished") == "Succeeded")
        with pytest.raises(errors.BadRequest, match=re.escape('container not found ("main")')):
            await env.kubelet.exec("default", "finished", "main", ["echo"])


async def test_freeze_and_thaw_reach_runtime_and_sandbox(wait_for: WaitFor) -> None:
    """freeze_pod stops the containers and stalls the sandbox; thaw_pod undoes both."""
    async with running_kubelet() as env:
        created = await env.create(pod("cold"))
        await wait_for(lambda: env.phase("cold") == "Running")
        box = env.runtime.by_container("cold", "main")[0]
        sandbox = env.sandboxes.live[created["metadata"]["uid"]]
        await env.kubelet.freeze_pod("default", "cold")
        assert box.frozen and sandbox.frozen
        await env.kubelet.thaw_pod("default", "cold")
        assert not box.frozen and not sandbox.frozen
