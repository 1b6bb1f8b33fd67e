"""`kubectl logs` and `kubectl exec` on an embedded cluster, through `Client` only."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cluster.embedded import EmbeddedCluster
from cluster.kubectl import Kubectl
from cluster.kubectl.commands import CommandResult
from tests.cluster.conftest import WaitFor
from tests.cluster.pod_io_helpers import Feed, eventually, pod, started, toolbox_cluster


@pytest.fixture
async def env() -> AsyncIterator[tuple[EmbeddedCluster, Feed, Kubectl]]:
    """A two-node toolbox cluster with pods `talk` (one container) and `duo` (a, b) running."""
    async with toolbox_cluster() as (cluster, feed):
        await cluster.client.create(pod("talk"))
        await cluster.client.create(pod("duo", "a", "b"))
        await started(cluster, "talk")
        await started(cluster, "duo")
        kubectl = Kubectl(cluster.client)
        await eventually(lambda: _logged(kubectl, "talk", "attempt 0"))
        yield cluster, feed, kubectl


async def _logged(kubectl: Kubectl, pod_name: str, text: str) -> bool:
    return text in (await kubectl.run(["logs", pod_name])).stdout.splitlines()


def ok(result: CommandResult, stdout: str, stderr: str = "") -> None:
    assert (result.exit_code, result.stdout, result.stderr) == (0, stdout, stderr)


async def test_logs_of_a_running_pod(env: tuple[EmbeddedCluster, Feed, Kubectl]) -> None:
    """`logs POD`, `logs pod/NAME` and `--tail` print the container's lines."""
    _, feed, k = env
    feed.say("talk", "one")
    feed.say("talk", "two")
    await eventually(lambda: _logged(k, "talk", "two"))
    ok(await k.run(["logs", "talk"]), "attempt 0\none\ntwo\n")
    ok(await k.run(["logs", "pod/talk", "--tail", "2"]), "one\ntwo\n")
    ok(await k.run(["logs", "talk", "--tail=0"]), "")
    stamped = await k.run(["logs", "talk", "--timestamps", "--tail=1"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z two\n", stamped.stdout)


async def test_logs_previous_after_a_restart(env: tuple[EmbeddedCluster, Feed, Kubectl]) -> None:
    """`-p` prints the attempt before the restart; without it, the current one."""
    cluster, feed, k = env
    feed.say("talk", "exit 2")
    await started(cluster, "talk", restarts=1)
    await eventually(lambda: _logged(k, "talk", "attempt 1"))
    ok(await k.run(["logs", "talk", "-p"]), "attempt 0\n")
    ok(await k.run(["logs", "talk", "--previous=false"]), "attempt 1\n")


async def test_logs_follow_streams_new_lines(env: tuple[EmbeddedCluster, Feed, Kubectl],
                                            wait_for: WaitFor) -> None:
    """`logs -f` hands each line to `out` as it is written, until cancelled."""
    _, feed, k = env
    lines: list[str] = []
    task = asyncio.create_task(k.run(["logs", "-f", "talk"], out=lines.append))
    await wait_for(lambda: lines == ["attempt 0"])
    feed.say("talk", "fresh")
    await wait_for(lambda: lines == ["attempt 0", "fresh"])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_logs_follow_ends_with_the_container(
        env: tuple[EmbeddedCluster, Feed, Kubectl]) -> None:
    """`logs -f` returns (exit 0) once the followed attempt has exited."""
    _, feed, k = env
    task = asyncio.create_task(k.run(["logs", "-f", "talk"]))
    feed.say("talk", "bye")
    feed.say("talk", "exit 0")
    ok(await asyncio.wait_for(task, 5), "attempt 0\nbye\n")


async def test_logs_default_container_is_announced(
        env: tuple[EmbeddedCluster, Feed, Kubectl]) -> None:
    """Without -c, a two-container pod's first container is used and named on stderr."""
    _, _, k = env
    await eventually(lambda: _logged(k, "duo", "attempt 0"))
    ok(await k.run(["logs", "duo"]), "attempt 0\n", 'Defaulted container "a" out of: a, b\n')
    ok(await k.run(["logs", "duo", "-c", "b"]), "attempt 0\n")
    ok(await k.run(["logs", "duo", "b"]), "attempt 0\n")


async def test_exec_passes_output_and_exit_code(
        env: tuple[EmbeddedCluster, Feed, Kubectl]) -> None:
    """exec prints the command's output; a failing command's code becomes kubectl's."""
    _, _, k = env
    ok(await k.run(["exec", "talk", "--", "echo", "-n", "hi"]), "-n hi\n")
    ok(await k.run(["exec", "pod/duo", "-c", "b", "--", "echo", "b"]), "b\n")
    ok(await k.run(["exec", "-i", "talk", "--", "cat"], stdin=b"in\n"), "in\n")
    ok(await k.run(["exec", "talk", "--", "cat"], stdin=b"ignored\n"), "")
    failed = await k.run(["exec", "talk", "--", "fail", "5"])
    assert (failed.exit_code, failed.stdout, failed.stderr) == (
        5, "", "boom\ncommand terminated with exit code 5\n")
    ok(await k.run(["exec", "duo", "--", "echo", "x"]), "x\n",
       'Defaulted container "a" out of: a, b\n')
    ok(await k.run(["exec", "-q", "duo", "--", "echo", "x"]), "x\n")
    ok(await k.run(["exec", "-it", "talk", "--", "cat"], stdin=b"t\n"), "t\n",
       "Unable to use a TTY - input is not a terminal or the right kind of file\n")




@pytest.mark.parametrize("argv, line", [
    pytest.param(["logs", "nope"], 'error: error from server (NotFound): pods "nope" not found '
                 'in namespace "default"', id="logs-missing-pod"),
    pytest.param(["logs", "deploy/nope"], 'error: error from server (NotFound): '
                 'deployments.apps "nope" not found in namespace "default"',
                 id="logs-missing-deployment"),
    pytest.param(["exec", "deploy/nope", "--", "echo"],
                 'Error from server (NotFound): deployments.apps "nope" not found',
                 id="exec-missing-deployment"),
    pytest.param(["exec", "talk", "echo", "old"],
                 "error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- "
                 "[COMMAND] instead", id="exec-without-dash"),
    pytest.param(["logs", "-l", "a=b", "talk"],
                 "error: only a selector (-l) or a POD name is allowed", id="logs-name-and-l"),
    pytest.param(["logs", "talk", "--pod-running-timeout=soon"],
                 'error: invalid argument "soon" for "--pod-running-timeout" flag: time: '
                 'invalid duration "soon"', id="logs-bad-timeout"),
    pytest.param(["exec", "nope", "--", "echo"],
                 'Error from server (NotFound): pods "nope" not found', id="exec-missing-pod"),
    pytest.param(["logs", "duo", "-c", "zzz"], "error: container zzz is not valid for pod duo",
                 id="logs-unknown-container"),
    pytest.param(["exec", "duo", "-c", "zzz", "--", "echo"],
                 "Error from server (BadRequest): container zzz is not valid for pod duo",
                 id="exec-unknown-container"),
    pytest.param(["exec", "talk"],
                 "error: you must specify at least one command for the container",
                 id="exec-no-command"),
    pytest.param(["exec", "talk", "--"],
                 "error: you must specify at least one command for the container",
                 id="exec-empty-command"),
    pytest.param(["exec", "--", "echo"], "error: pod, type/name or --filename must be specified",
                 id="exec-no-pod"),
    pytest.param(["exec", "talk", "--", "nosuchcmd"],
                 'error: Internal error occurred: error executing command in container: exec: '
                 '"nosuchcmd": executable file not found in $PATH', id="exec-missing-binary"),
    pytest.param(["logs"], "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'. "
                 "POD or TYPE/NAME is a required argument for the logs command", id="logs-no-pod"),
    pytest.param(["logs", "talk", "--tail=-2"],
                 "error: --tail must be greater than or equal to -1", id="logs-bad-tail"),
    pytest.param(["logs", "duo", "b", "-c", "a"],
                 "error: only one of -c or an inline [CONTAINER] arg is allowed",
                 id="logs-two-containers"),
    pytest.param(["logs", "talk", "--bogus"], "error: unknown flag: --bogus",
                 id="logs-unknown-flag"),
    pytest.param(["exec", "-x", "talk", "--", "echo"],
                 "error: unknown shorthand flag: 'x' in -x", id="exec-unknown-flag"),
    pytest.param(["logs", "talk", "-p"], 'Error from server (BadRequest): previous terminated '
                 'container "main" in pod "talk" not found', id="logs-no-previous"),
    pytest.param(["logs", "node/n1"],
                 "error: cannot get the logs from *v1.Node: selector for *v1.Node "
                 "not implemented", id="logs-other-kind"),
    pytest.param(["exec", "configmap/c", "--", "echo"],
                 "error: cannot attach to *v1.ConfigMap: selector for *v1.ConfigMap "
                 "not implemented", id="exec-other-kind"),
])
async def test_bad_input_is_one_line(env: tuple[EmbeddedCluster, Feed, Kubectl],
                                     argv: list[str], line: str) -> None:
    """Every error case exits 1 with one stderr line in kubectl's words, and no stdout."""
    _, _, k = env
    result = await k.run(argv)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", line + "\n")


async def test_errors_from_where_the_pod_runs(env: tuple[EmbeddedCluster, Feed, Kubectl]) -> None:
    """Unscheduled, waiting, completed and node-less pods each fail with kubectl's line."""
    cluster, feed, k = env
    c = cluster.client
    await c.create(pod("lost", node_selector={"disk": "none"}))
    await c.create(pod("nopull", image="nosuch"))
    await c.create(pod("done", restart="Never"))
    await started(cluster, "done")
    feed.say("done", "exit 0")

    async def pull_failed() -> bool:
        statuses = (await c.get("pods", "nopull"))["status"].get("containerStatuses") or []
        return bool(statuses) and "Pull" in str(statuses[0]["state"].get("waiting", {}))

    async def succeeded() -> bool:
        return (await c.get("pods", "done"))["status"].get("phase") == "Succeeded"

    await eventually(succeeded)
    await eventually(pull_failed)
    ok(await k.run(["logs", "lost"]), "")
    expected = {
        ("exec", "lost", "--", "echo"):
            "Error from server (BadRequest): pod lost does not have a host assigned",
        ("logs", "nopull"): 'Error from server (BadRequest): container "main" in pod "nopull" '
                            "is waiting to start: ",
        ("exec", "done", "--", "echo"):
            "error: cannot exec into a container in a completed pod; current phase is Succeeded",
    }
    for argv, line in expected.items():
        result = await k.run(list(argv))
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr.startswith(line) and result.stderr.count("\n") == 1, result.stderr
    node = (await c.get("pods", "talk"))["spec"]["nodeName"]
    await cluster.kill_node(node)
    for argv, start in [(["logs", "talk"], 'Error from server: Get "https://'),
                        (["exec", "talk", "--", "echo"],
                         "Error from server: error dialing backend: dial tcp ")]:
        result = await k.run(argv)
        assert (result.exit_code, result.stdout) == (1, "")
        assert result.stderr.startswith(start) and result.stderr.endswith(
            ":10250: connect: connection refused\n") and result.stderr.count("\n") == 1


async def test_help_names_both_commands(env: tuple[EmbeddedCluster, Feed, Kubectl]) -> None:
    """`--help` prints each command's usage; the overview lists logs and exec."""
    _, _, k = env
    assert "kubectl logs [-f] [-p] (POD | TYPE/NAME)" in (await k.run(["logs", "--help"])).stdout
    assert "-- COMMAND [args...]" in (await k.run(["exec", "-h"])).stdout
    overview = (await k.run([])).stdout.split()
    assert "logs" in overview and "exec" in overview


def _service(name: str, selector: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": selector, "ports": [{"port": 80}]}}


async def test_logs_and_exec_through_a_service(env: tuple[EmbeddedCluster, Feed, Kubectl]) -> None:
    """`logs svc/NAME` and `exec svc/NAME --` reach a pod the Service selects; with several,
    logs says which it used; with none, both give up after --pod-running-timeout."""
    cluster, _, k = env
    ok(await k.run(["label", "pod", "talk", "solo=1", "tier=x"]), "pod/talk labeled\n")
    ok(await k.run(["label", "pod", "duo", "tier=x"]), "pod/duo labeled\n")
    for name, selector in (("one", {"solo": "1"}), ("two", {"tier": "x"}),
                           ("none", {"tier": "y"})):
        await cluster.client.create(_service(name, selector))
    ok(await k.run(["logs", "svc/one"]), "attempt 0\n")
    ok(await k.run(["exec", "service/one", "--", "echo", "hi"]), "hi\n")
    several = await k.run(["logs", "svc/two", "--tail=1"])
    assert several.exit_code == 0
    assert re.match(r"Found 2 pods, using pod/(talk|duo)\n", several.stderr), several.stderr
    for argv in (["logs", "svc/none", "--pod-running-timeout=0.05s"],
                 ["exec", "svc/none", "--pod-running-timeout=0.05s", "--", "echo"]):
        result = await k.run(argv)
        assert (result.exit_code, result.stdout, result.stderr) == (
            1, "", "error: timed out waiting for the condition\n")


async def test_logs_by_selector_reads_each_pod(env: tuple[EmbeddedCluster, Feed, Kubectl]) -> None:
    """`logs -l` prints every selected pod's lines in name order (the last 10 by default);
    a selector that matches nothing says so on stderr and succeeds."""
    _, feed, k = env
    ok(await k.run(["label", "pod", "talk", "duo", "tier=x"]),
       "pod/talk labeled\npod/duo labeled\n")
    for n in range(12):
        feed.say("talk", f"line {n}")
    await eventually(lambda: _logged(k, "talk", "line 11"))
    await eventually(lambda: _logged(k, "duo", "attempt 0"))
    result = await k.run(["logs", "-l", "tier=x"])
    duo = (await k.run(["logs", "duo", "--tail=10"])).stdout
    assert result.exit_code == 0
    assert result.stdout == duo + "".join(f"line {n}\n" for n in range(2, 12))
    assert result.stderr == 'Defaulted container "a" out of: a, b\n'
    ok(await k.run(["logs", "-l", "tier=none"]), "", "No resources found in default namespace.\n")
