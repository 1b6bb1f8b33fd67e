"""The process runtime: real process groups with logs, signals, freeze, exec, cleanup."""

from __future__ import annotations

import asyncio
import os

import pytest
from runtime_helpers import (
    StubSandbox,
    children_of,
    config,
    process_state,
    session_members,
)

from cluster.runtime import base, containers, process

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")

STOPPED = ("T", "D")
"""A stopped process, or a shell waiting in vfork for a child stopped before its exec."""


def frozen(sid: int) -> bool:
    """Every process of session `sid` is stopped (at least one of them by SIGSTOP)."""
    states = [process_state(p) for p in session_members(sid)]
    return "T" in states and all(state in STOPPED for state in states)

SHELL = process.ProcessImage("shell", entrypoint=("sh",))
TOOLS = process.ProcessImage("tools", entrypoint=("greet",),
                             programs={"greet": "echo", "missing": "no-such-binary-here"})


def texts(runtime, cid: str) -> list[str]:
    return [line.text for line in runtime.logs(cid).lines()]


async def sh(runtime, pod: str, script: str, **kwargs) -> str:
    cid = await runtime.create_container(config(pod, "shell", args=("-c", script), **kwargs),
                                         StubSandbox(pod))
    await runtime.start_container(cid)
    return cid


async def test_output_goes_to_the_log_with_timestamps(make_process, wait_for) -> None:
    """stdout and stderr lines land in the container log, stamped by the runtime's clock."""
    runtime = make_process(SHELL, clock=lambda: 1234.5)
    cid = await sh(runtime, "web-0", "echo hi; echo oops >&2; sleep 30")
    await wait_for(lambda: len(texts(runtime, cid)) == 2, timeout=5)
    got = sorted((line.stream, line.text, line.time) for line in runtime.logs(cid).lines())
    assert got == [("stderr", "oops", 1234.5), ("stdout", "hi", 1234.5)]
    assert runtime.status(cid).state is base.ContainerState.RUNNING


async def test_stop_sends_sigterm_first(make_process, wait_for) -> None:
    """A process that dies on SIGTERM is gone well within the grace period (143)."""
    runtime = make_process(SHELL)
    cid = await sh(runtime, "web-0", "echo hi; sleep 30")
    await wait_for(lambda: texts(runtime, cid) == ["hi"], timeout=5)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await runtime.stop_container(cid, 10)
    assert loop.time() - began < 2
    status = runtime.status(cid)
    assert (status.exit_code, status.reason) == (143, "Error")


async def test_stop_kills_a_process_ignoring_sigterm_after_grace(make_process, wait_for) -> None:
    """A process that ignores SIGTERM is SIGKILLed when the grace ends (137)."""
    runtime = make_process(SHELL)
    cid = await sh(runtime, "web-0", "trap '' TERM; echo ready; while :; do sleep 0.05; done")
    await wait_for(lambda: texts(runtime, cid) == ["ready"], timeout=5)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await runtime.stop_container(cid, 0.3)
    assert loop.time() - began >= 0.3
    assert runtime.status(cid).exit_code == 137


async def test_trapped_sigterm_exits_cleanly(make_process, wait_for) -> None:
    """A process that handles SIGTERM exits with its own code."""
    runtime = make_process(SHELL)
    cid = await sh(runtime, "web-0",
                   "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done")
    await wait_for(lambda: texts(runtime, cid) == ["ready"], timeout=5)
    await runtime.stop_container(cid, 10)
    stdout = [line.text for line in runtime.logs(cid).lines() if line.stream == "stdout"]
    assert (runtime.status(cid).exit_code, stdout) == (0, ["ready", "bye"])


@pytest.mark.parametrize("script, code, reason", [
    pytest.param("exit 0", 0, "Completed", id="zero"),
    pytest.param("exit 3", 3, "Error", id="three"),
    pytest.param("kill -KILL $$", 137, "Error", id="sigkill"),
    pytest.param("kill -TERM $$", 143, "Error", id="sigterm"),
])
async def test_exit_codes(make_process, script: str, code: int, reason: str) -> None:
    """Exit codes and signals map as a shell would report them."""
    runtime = make_process(SHELL)
    status = await asyncio.wait_for(runtime.wait(await sh(runtime, "w", script)), 5)
    assert (status.exit_code, status.reason) == (code, reason)


async def test_kill_is_immediate(make_process, wait_for) -> None:
    """kill is SIGKILL to the group: 137 without waiting for any grace."""
    runtime = make_process(SHELL)
    cid = await sh(runtime, "w", "trap '' TERM; echo ready; sleep 30")
    await wait_for(lambda: texts(runtime, cid) == ["ready"], timeout=5)
    await asyncio.wait_for(runtime.kill_container(cid), 3)
    assert runtime.status(cid).exit_code == 137


async def test_freeze_and_thaw(make_process, wait_for) -> None:
    """Freeze SIGSTOPs the group (no output while frozen); thaw SIGCONTs it."""
    runtime = make_process(SHELL)
    cid = await sh(runtime, "w", "while :; do echo tick; sleep 0.02; done")
    await wait_for(lambda: len(texts(runtime, cid)) >= 2, timeout=5)
    await runtime.freeze_container(cid)
    pid = runtime._get(cid).runner.pid
    await wait_for(lambda: frozen(pid))
    assert runtime.status(cid).frozen
    count = len(texts(runtime, cid))
    await asyncio.sleep(0.1)
    assert len(texts(runtime, cid)) <= count + 1
    await runtime.thaw_container(cid)
    assert not runtime.status(cid).frozen
    await wait_for(lambda: len(texts(runtime, cid)) > count + 2)


async def test_image_programs_are_on_path_and_args_append(make_process) -> None:
    """The entrypoint resolves through the image's programs; args are appended."""
    runtime = make_process(TOOLS)
    cid = await runtime.create_container(config("w", "tools", args=("hello", "there")),
                                         StubSandbox("w"))
    await runtime.start_container(cid)
    assert (await asyncio.wait_for(runtime.wait(cid), 5)).exit_code == 0
    assert texts(runtime, cid) == ["hello there"]


@pytest.mark.parametrize("command", [
    pytest.param(("missing",), id="program-not-installed"),
    pytest.param(("no-such-server",), id="not-on-path"),
])
async def test_missing_binary_is_a_container_error(make_process, command) -> None:
    """A binary that is not there fails creation in runc's words."""
    runtime = make_process(TOOLS)
    with pytest.raises(base.ContainerError) as caught:
        await runtime.create_container(config("w", "tools", command=command), StubSandbox("w"))
    assert str(caught.value) == f'exec: "{command[0]}": executable file not found in $PATH'


async def test_unknown_image_is_a_pull_error(make_process) -> None:
    """An image not registered for the process runtime raises ImagePullError."""
    runtime = make_process(SHELL)
    with pytest.raises(base.ImagePullError, match='"docker.io/library/redis:7"'):
        await runtime.pull_image("redis:7")


async def test_env_and_working_dir(make_process) -> None:
    """The container's env and working directory apply to its process."""
    runtime = make_process(SHELL)
    cid = await runtime.create_container(
        base.ContainerConfig(pod_uid="u", pod_name="w", namespace="default", name="c",
                             image="shell", args=("-c", 'echo "$GREETING"; pwd'),
                             env={"GREETING": "hello"}, working_dir="/usr"),
        StubSandbox("w"))
    await runtime.start_container(cid)
    await asyncio.wait_for(runtime.wait(cid), 5)
    assert texts(runtime, cid) == ["hello", "/usr"]


@needs_root
async def test_hostname_and_private_tmp(make_process) -> None:
    """Two pods write /tmp/x at once; each sees its own file and its pod name."""
    runtime = make_process(SHELL)
    script = 'echo "$(hostname)" > /tmp/x; sleep 0.1; cat /tmp/x'
    first, second = await asyncio.gather(sh(runtime, "web-0", script), sh(runtime, "web-1", script))
    await asyncio.wait_for(asyncio.gather(runtime.wait(first), runtime.wait(second)), 5)
    assert (texts(runtime, first), texts(runtime, second)) == (["web-0"], ["web-1"])


@needs_root
async def test_exec_enters_the_containers_namespaces(make_process, wait_for) -> None:
    """exec sees the container's /tmp and hostname, gets stdin, and times out."""
    runtime = make_process(SHELL)
    cid = await sh(runtime, "web-2", "echo mine > /tmp/x; echo ready; sleep 30")
    await wait_for(lambda: texts(runtime, cid) == ["ready"], timeout=5)
    result = await runtime.exec(cid, ["sh", "-c", "cat /tmp/x; hostname; cat"], stdin=b"in\n")
    assert result == base.ExecResult(0, b"mine\nweb-2\nin\n", b"")
    assert (await runtime.exec(cid, ["sh", "-c", "exit 4"])).exit_code == 4
    with pytest.raises(TimeoutError):
        await runtime.exec(cid, ["sleep", "30"], timeout=0.1)
    assert runtime._get(cid).execs == set()
    with pytest.raises(base.ContainerError, match="executable file not found"):
        await runtime.exec(cid, ["no-such-binary-here"])


async def test_close_leaves_no_child_processes(make_process, wait_for) -> None:
    """close() kills and reaps every group, background jobs included."""
    runtime = make_process(SHELL)
    cids = [await sh(runtime, f"w-{i}", "sleep 30 & echo started; sleep 30") for i in range(3)]
    await wait_for(lambda: all(texts(runtime, c) == ["started"] for c in cids), timeout=5)
    sids = [runtime._get(c).runner.pid for c in cids]
    assert all(len(session_members(sid)) >= 2 for sid in sids)
    await runtime.close()
    assert [session_members(sid) for sid in sids] == [[], [], []]
    assert children_of(os.getpid()) == []


async def test_degraded_mode_sets_tmpdir_and_hostname(make_process, tmp_path) -> None:
    """Without namespaces the process gets TMPDIR and HOSTNAME of its own."""
    degraded = base.Isolation(namespaces=False, detail="test")
    runtime = make_process(SHELL, settings=containers.RuntimeSettings(
        state_dir=str(tmp_path), isolation=degraded))
    cid = await sh(runtime, "web-5", 'hostname; echo "$TMPDIR"')
    await asyncio.wait_for(runtime.wait(cid), 5)
    assert texts(runtime, cid) == ["web-5", runtime._get(cid).view.tmp_dir]


async def test_a_command_that_cannot_start_is_a_start_error(make_process, tmp_path) -> None:
    """An executable the kernel refuses fails start: ContainerError, StartError, 128."""
    broken = tmp_path / "broken"
    broken.write_text("#!/no/such/interpreter\n")
    broken.chmod(0o755)
    degraded = base.Isolation(namespaces=False, detail="test")
    runtime = make_process(SHELL, settings=containers.RuntimeSettings(
        state_dir=str(tmp_path / "state"), isolation=degraded))
    cid = await runtime.create_container(config("w", "shell", command=(str(broken),)),
                                         StubSandbox("w"))
    with pytest.raises(base.ContainerError, match=f'exec: "{broken}": No such file'):
        await runtime.start_container(cid)
    status = runtime.status(cid)
    assert (status.state, status.exit_code, status.reason) == (base.ContainerState.EXITED, 128,
                                                               "StartError")
