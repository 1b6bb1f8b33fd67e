"""The fake runtime's in-process programs: lifecycle, exit codes, logs, exec, freeze."""

from __future__ import annotations

import asyncio
import os
from typing import ClassVar

import pytest
from runtime_helpers import StubSandbox, config

from cluster.runtime import base, containers, images

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")


class Exit:
    """Logs its arguments and exits with the first one."""

    async def run(self, ctx: images.ProgramContext) -> int:
        ctx.stdout("args " + " ".join(ctx.argv[1:]))
        ctx.stderr("to stderr")
        return int(ctx.argv[1])


class Graceful:
    """Serves until asked to stop, then says goodbye and exits 0."""

    async def run(self, ctx: images.ProgramContext) -> int:
        ctx.stdout("ready")
        await ctx.stop_requested.wait()
        ctx.stdout("shutting down")
        return 0


class Stubborn:
    """Ignores the stop request; records that it was cancelled."""

    cancelled: ClassVar[list[str]] = []

    async def run(self, ctx: images.ProgramContext) -> int:
        ctx.stdout("ready")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            Stubborn.cancelled.append(ctx.hostname)
            raise
        return 0


class Crash:
    async def run(self, ctx: images.ProgramContext) -> int:
        raise RuntimeError("boom")


class WriteConf:
    """Writes /tmp/x.conf with the pod's ordinal, then serves until stopped."""

    async def run(self, ctx: images.ProgramContext) -> int:
        with ctx.open("/tmp/x.conf", "w") as f:
            f.write(f"x {ctx.hostname.rsplit('-', 1)[-1]}\n")
        ctx.stdout("written")
        await ctx.stop_requested.wait()
        return 0


class Cli:
    """Answers PONG with its arguments and whatever came on stdin."""

    async def run(self, ctx: images.ProgramContext) -> int:
        ctx.stdout("PONG " + " ".join(ctx.argv[1:]) + ctx.stdin.decode())
        return 0


class CatConf:
    """Prints a file of its container, read through ctx.open."""

    async def run(self, ctx: images.ProgramContext) -> int:
        with ctx.open(ctx.argv[1]) as f:
            ctx.stdout(f.read().rstrip("\n"))
        return 0


class Sleepy:
    async def run(self, ctx: images.ProgramContext) -> int:
        await asyncio.sleep(3600)
        return 0


APP = images.Image("app", {"exit": Exit, "graceful": Graceful, "stubborn": Stubborn,
                           "crash": Crash, "write-conf": WriteConf, "cli": Cli,
                           "sleepy": Sleepy, "cat-conf": CatConf}, entrypoint=("graceful",))


def lines(runtime, cid: str, stream: str | None = None) -> list[str]:
    return [line.text for line in runtime.logs(cid).lines()
            if stream is None or line.stream == stream]


async def run(runtime, pod: str, *command: str, image: str = "app", sandbox=None) -> str:
    cid = await runtime.create_container(config(pod, image, command=tuple(command)),
                                         sandbox or StubSandbox(pod))
    await runtime.start_container(cid)
    return cid


@pytest.mark.usefixtures("no_leaked_tasks")
async def test_program_runs_logs_and_exits_with_its_code(make_fake) -> None:
    """A program's lines go to the log and its return value is the exit code."""
    runtime = make_fake(APP)
    cid = await run(runtime, "web-0", "exit", "3")
    status = await asyncio.wait_for(runtime.wait(cid), 2)
    assert (status.state, status.exit_code, status.reason) == (base.ContainerState.EXITED, 3,
                                                               "Error")
    assert lines(runtime, cid, "stdout") == ["args 3"]
    assert lines(runtime, cid, "stderr") == ["to stderr"]
    assert status.started_at is not None and status.finished_at is not None
    await runtime.close()


async def test_zero_exit_is_completed(make_fake) -> None:
    """Exit 0 is reported as Completed."""
    runtime = make_fake(APP)
    status = await asyncio.wait_for(runtime.wait(await run(runtime, "w", "exit", "0")), 2)
    assert (status.exit_code, status.reason) == (0, "Completed")


async def test_entrypoint_and_args(make_fake) -> None:
    """Without a command the image's entrypoint runs; args are appended to it."""
    runtime = make_fake(images.Image("app", APP.programs, entrypoint=("exit",)))
    cid = await runtime.create_container(config("w", "app", args=("5", "x")), StubSandbox("w"))
    await runtime.start_container(cid)
    assert (await asyncio.wait_for(runtime.wait(cid), 2)).exit_code == 5
    assert lines(runtime, cid, "stdout") == ["args 5 x"]


async def test_stop_with_grace_honours_stop_requested(make_fake, wait_for) -> None:
    """Stop sets stop_requested and the program's own clean exit is the result."""
    runtime = make_fake(APP)
    cid = await run(runtime, "web-0", "graceful")
    await wait_for(lambda: lines(runtime, cid) == ["ready"])
    loop = asyncio.get_running_loop()
    began = loop.time()
    await runtime.stop_container(cid, 30)
    assert loop.time() - began < 1
    assert runtime.status(cid).exit_code == 0
    assert lines(runtime, cid) == ["ready", "shutting down"]


async def test_stop_cancels_a_program_that_ignores_it_after_grace(make_fake, wait_for) -> None:
    """A program still running when the grace ends is cancelled: exit 137."""
    runtime = make_fake(APP)
    cid = await run(runtime, "stubborn-0", "stubborn")
    await wait_for(lambda: lines(runtime, cid) == ["ready"])
    loop = asyncio.get_running_loop()
    began = loop.time()
    await runtime.stop_container(cid, 0.2)
    assert loop.time() - began >= 0.2
    assert runtime.status(cid).exit_code == 137
    await wait_for(lambda: "stubborn-0" in Stubborn.cancelled)


async def test_kill_is_137_at_once(make_fake, wait_for) -> None:
    """kill cancels the program immediately with exit code 137."""
    runtime = make_fake(APP)
    cid = await run(runtime, "web-0", "graceful")
    await wait_for(lambda: lines(runtime, cid) == ["ready"])
    await runtime.kill_container(cid)
    status = runtime.status(cid)
    assert (status.exit_code, status.reason) == (137, "Error")
    assert "shutting down" not in lines(runtime, cid)


async def test_exception_is_exit_1_and_not_a_crash(make_fake) -> None:
    """A raising program exits 1 with the exception's last line; others keep running."""
    runtime = make_fake(APP)
    healthy = await run(runtime, "ok-0", "graceful")
    cid = await run(runtime, "bad-0", "crash")
    status = await asyncio.wait_for(runtime.wait(cid), 2)
    assert status.exit_code == 1
    assert lines(runtime, cid, "stderr") == ["RuntimeError: boom"]
    assert runtime.status(healthy).state is base.ContainerState.RUNNING


@pytest.mark.parametrize("image", ["nosuch", "docker.io/library/nosuch:latest"])
async def test_unknown_image_is_a_pull_error(make_fake, image: str) -> None:
    """pull_image and create_container raise ImagePullError for an unknown image."""
    runtime = make_fake(APP)
    message = ('failed to pull and unpack image "docker.io/library/nosuch:latest": '
               'failed to resolve reference "docker.io/library/nosuch:latest": '
               'docker.io/library/nosuch:latest: not found')
    with pytest.raises(base.ImagePullError, match=message):
        await runtime.pull_image(image)
    with pytest.raises(base.ImagePullError):
        await runtime.create_container(config("w", image), StubSandbox("w"))


@pytest.mark.parametrize("image", ["pause", "registry.k8s.io/pause:3.9"])
async def test_pause_sleeps_until_stopped(make_fake, image: str) -> None:
    """The built-in pause image runs until stopped and then exits 0."""
    runtime = make_fake()
    await runtime.pull_image(image)
    cid = await runtime.create_container(config("p", image), StubSandbox("p"))
    await runtime.start_container(cid)
    await asyncio.sleep(0.01)
    assert runtime.status(cid).state is base.ContainerState.RUNNING
    await runtime.stop_container(cid, 5)
    assert (runtime.status(cid).exit_code, runtime.status(cid).reason) == (0, "Completed")


async def test_follow_ends_when_the_container_exits(make_fake) -> None:
    """Following a log streams until the container has exited."""
    runtime = make_fake(APP)
    cid = await run(runtime, "web-0", "graceful")
    seen: list[str] = []

    async def follow() -> None:
        async for line in runtime.logs(cid).follow():
            seen.append(line.text)

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.01)
    await runtime.stop_container(cid, 5)
    await asyncio.wait_for(follower, 2)
    assert seen == ["ready", "shutting down"]


async def test_each_container_has_its_own_tmp(make_fake, wait_for) -> None:
    """Two pods writing /tmp/x.conf through ctx.open each get their own file."""
    runtime = make_fake(APP)
    first = await run(runtime, "web-0", "write-conf")
    second = await run(runtime, "web-1", "write-conf")
    await wait_for(lambda: lines(runtime, first) == lines(runtime, second) == ["written"])
    assert (await runtime.exec(first, ["cat-conf", "/tmp/x.conf"])).stdout == b"x 0\n"
    assert (await runtime.exec(second, ["cat-conf", "/tmp/x.conf"])).stdout == b"x 1\n"


async def test_exec_program_in_process(make_fake) -> None:
    """exec of a program of the image runs it in-process, with args and stdin."""
    runtime = make_fake(APP)
    cid = await run(runtime, "web-0", "graceful")
    result = await runtime.exec(cid, ["cli", "ping"], stdin=b"!")
    assert result == base.ExecResult(0, b"PONG ping!\n", b"")
    assert lines(runtime, cid) == ["ready"]  # exec output is not the container's log


@needs_root
async def test_exec_real_command_sees_the_containers_tmp(make_fake, wait_for) -> None:
    """exec of a real command runs in the container's namespaces: its /tmp, its hostname."""
    runtime = make_fake(APP)
    cid = await run(runtime, "web-1", "write-conf")
    await wait_for(lambda: lines(runtime, cid) == ["written"])
    result = await runtime.exec(cid, ["sh", "-c", "cat /tmp/x.conf; hostname"])
    assert (result.exit_code, result.stdout) == (0, b"x 1\nweb-1\n")


async def test_exec_timeout_cancels_the_program(make_fake) -> None:
    """An exec that outlives its timeout raises TimeoutError and is cancelled."""
    runtime = make_fake(APP)
    cid = await run(runtime, "web-0", "graceful")
    with pytest.raises(TimeoutError):
        await runtime.exec(cid, ["sleepy"], timeout=0.05)
    assert len(runtime._get(cid).tasks) == 1  # only the main program is left


async def test_exec_needs_a_running_container(make_fake) -> None:
    """exec into an exited container is a ContainerError."""
    runtime = make_fake(APP)
    cid = await run(runtime, "web-0", "exit", "0")
    await asyncio.wait_for(runtime.wait(cid), 2)
    with pytest.raises(base.ContainerError, match="container not running"):
        await runtime.exec(cid, ["cli"])


async def test_freeze_and_thaw_stall_the_pods_connections(make_fake) -> None:
    """Freezing a program container freezes its sandbox, once per pod, until all thaw."""
    runtime = make_fake(APP)
    sandbox = StubSandbox("web-0")
    first = await run(runtime, "web-0", "graceful", sandbox=sandbox)
    second = await run(runtime, "web-0", "graceful", sandbox=sandbox)
    await runtime.freeze_container(first)
    await runtime.freeze_container(second)
    assert sandbox.frozen and runtime.status(first).frozen
    await runtime.thaw_container(first)
    assert sandbox.frozen, "the other container is still frozen"
    await runtime.thaw_container(second)
    assert not sandbox.frozen and not runtime.status(second).frozen
    assert sandbox.freezes == [True, False]


async def test_stopping_a_frozen_container_thaws_its_sandbox(make_fake) -> None:
    """A frozen container that is stopped releases the pod's freeze."""
    runtime = make_fake(APP)
    sandbox = StubSandbox("web-0")
    cid = await run(runtime, "web-0", "graceful", sandbox=sandbox)
    await runtime.freeze_container(cid)
    await runtime.stop_container(cid, 1)
    assert not sandbox.frozen and runtime.status(cid).exit_code == 0


async def test_unknown_container_and_remove(make_fake) -> None:
    """Unknown ids raise ContainerNotFound; remove forgets a container and its files."""
    runtime = make_fake(APP)
    with pytest.raises(base.ContainerNotFound):
        runtime.status("nope")
    cid = await run(runtime, "web-0", "write-conf")
    await asyncio.sleep(0.01)
    directory = runtime._get(cid).directory
    assert os.path.isdir(directory)
    await runtime.remove_container(cid)
    await runtime.remove_container(cid)
    assert not os.path.exists(directory)
    with pytest.raises(base.ContainerNotFound):
        runtime.status(cid)


async def test_a_command_that_is_nowhere_is_a_container_error(make_fake) -> None:
    """A command neither of the image nor on PATH fails like runc."""
    runtime = make_fake(APP, settings=containers.RuntimeSettings(
        isolation=base.Isolation(namespaces=False, detail="test")))
    with pytest.raises(base.ContainerError) as caught:
        await runtime.create_container(config("w", "app", command=("no-such-binary",)),
                                       StubSandbox("w"))
    assert str(caught.value) == 'exec: "no-such-binary": executable file not found in $PATH'
    assert runtime.container_ids() == []


async def test_close_cancels_programs(make_fake, wait_for) -> None:
    """close() ends every program and forgets every container."""
    runtime = make_fake(APP)
    cid = await run(runtime, "close-0", "stubborn")
    await wait_for(lambda: lines(runtime, cid) == ["ready"])
    await runtime.close()
    assert "close-0" in Stubborn.cancelled and runtime.container_ids() == []
