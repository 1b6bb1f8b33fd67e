"""The fake runtime's shell containers: real scripts whose image programs run in-process."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import ClassVar

import pytest
from runtime_helpers import (
    StubSandbox,
    children_of,
    config,
    process_state,
    session_members,
)

from cluster.runtime import base, containers, images

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")

STOPPED = ("T", "D")
"""A stopped process, or a shell waiting in vfork for a child stopped before its exec."""


def frozen(sid: int) -> bool:
    """Every process of session `sid` is stopped (at least one of them by SIGSTOP)."""
    states = [process_state(p) for p in session_members(sid)]
    return "T" in states and all(state in STOPPED for state in states)


class Server:
    """Reads the config file named by argv[1] through ctx.open, logs it, serves until stopped."""

    stopped: ClassVar[list[str]] = []
    cancelled: ClassVar[list[str]] = []

    async def run(self, ctx: images.ProgramContext) -> int:
        with ctx.open(ctx.argv[1]) as f:
            ctx.stdout(f"{ctx.hostname} read: {f.read().strip()}")
        try:
            await ctx.stop_requested.wait()
        except asyncio.CancelledError:
            Server.cancelled.append(ctx.hostname)
            raise
        Server.stopped.append(ctx.hostname)
        ctx.stdout("bye")
        return 0


class Cli:
    """`cli ping` → PONG; `cli fail N` → an error on stderr and exit N."""

    async def run(self, ctx: images.ProgramContext) -> int:
        if ctx.argv[1:2] == ["fail"]:
            ctx.stderr("ERR failing on purpose")
            return int(ctx.argv[2])
        ctx.stdout("PONG " + " ".join(ctx.argv[1:]) + f" cwd={ctx.cwd}")
        return 0


REDIS = images.Image("redis", {"redis-server": Server, "redis-cli": Cli},
                     entrypoint=("redis-server",))

TUTORIAL = ('ordinal=$(hostname | awk -F- "{print \\$NF}"); echo "x $ordinal" > /tmp/x.conf; '
            'cat /tmp/x.conf; redis-server /tmp/x.conf')


def texts(runtime, cid: str) -> list[str]:
    return [line.text for line in runtime.logs(cid).lines()]


async def start(runtime, pod: str, script: str, *, shell: str = "bash",
                sandbox: StubSandbox | None = None, **kwargs) -> str:
    cid = await runtime.create_container(config(pod, command=(shell, "-c", script), **kwargs),
                                         sandbox or StubSandbox(pod))
    await runtime.start_container(cid)
    return cid


@needs_root
async def test_two_pods_running_the_tutorial_script_each_read_their_own(make_fake,
                                                                       wait_for) -> None:
    """web-0 and web-1 write /tmp/x.conf at once; each script and program reads its own."""
    runtime = make_fake(REDIS)
    web0, web1 = await asyncio.gather(start(runtime, "web-0", TUTORIAL),
                                      start(runtime, "web-1", TUTORIAL))
    await wait_for(lambda: len(texts(runtime, web0)) == 2 and len(texts(runtime, web1)) == 2,
                   timeout=10)
    assert texts(runtime, web0) == ["x 0", "web-0 read: x 0"]
    assert texts(runtime, web1) == ["x 1", "web-1 read: x 1"]
    host_file = Path("/tmp/x.conf")
    assert not host_file.exists() or host_file.read_text() not in ("x 0\n", "x 1\n")


@needs_root
async def test_exec_into_a_shell_container(make_fake, wait_for) -> None:
    """exec runs image programs in-process and real commands in the container's namespaces."""
    runtime = make_fake(REDIS)
    cid = await start(runtime, "web-1", TUTORIAL)
    await wait_for(lambda: len(texts(runtime, cid)) == 2, timeout=10)
    assert await runtime.exec(cid, ["redis-cli", "ping"]) == \
        base.ExecResult(0, b"PONG ping cwd=/\n", b"")
    assert await runtime.exec(cid, ["cat", "/tmp/x.conf"]) == base.ExecResult(0, b"x 1\n", b"")
    piped = await runtime.exec(cid, ["sh", "-c", "cd /tmp && redis-cli hi | tr a-z A-Z"])
    assert piped.stdout == b"PONG HI CWD=/TMP\n"


@needs_root
async def test_shim_relays_arguments_stderr_and_exit_code(make_fake, wait_for) -> None:
    """A program started by a script gets its args; its stderr and exit code come back."""
    runtime = make_fake(REDIS)
    cid = await start(runtime, "w-0", 'redis-cli fail 3; echo "rc=$?"; redis-cli ping >/tmp/o; '
                                      'cat /tmp/o', shell="sh")
    status = await asyncio.wait_for(runtime.wait(cid), 10)
    assert status.exit_code == 0
    assert [(line.stream, line.text) for line in runtime.logs(cid).lines()] == [
        ("stderr", "ERR failing on purpose"), ("stdout", "rc=3"), ("stdout", "PONG ping cwd=/")]


@needs_root
async def test_stopping_a_shell_container_stops_its_program_gracefully(make_fake,
                                                                       wait_for) -> None:
    """SIGTERM reaches the shim, which turns it into the program's stop request."""
    runtime = make_fake(REDIS)
    cid = await start(runtime, "graceful-0", TUTORIAL)
    await wait_for(lambda: len(texts(runtime, cid)) == 2, timeout=10)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await runtime.stop_container(cid, 10)
    outcome = (loop.time() - began < 5, "graceful-0" in Server.stopped,
               texts(runtime, cid)[-1], runtime.status(cid).exit_code)
    assert outcome == (True, True, "bye", 0), texts(runtime, cid)


@needs_root
async def test_killing_a_shell_container_cancels_its_programs(make_fake, wait_for) -> None:
    """When the shim dies with its container, the in-process program is cancelled."""
    runtime = make_fake(REDIS)
    cid = await start(runtime, "killed-0", 'echo x > /tmp/c; redis-server /tmp/c; echo never')
    await wait_for(lambda: len(texts(runtime, cid)) == 1, timeout=10)
    await runtime.kill_container(cid)
    assert runtime.status(cid).exit_code == 137
    await wait_for(lambda: "killed-0" in Server.cancelled)


@needs_root
async def test_freeze_stops_the_scripts_processes(make_fake, wait_for) -> None:
    """Freeze SIGSTOPs a shell container's processes and the pod's connections; thaw resumes."""
    runtime = make_fake(REDIS)
    sandbox = StubSandbox("frozen-0")
    cid = await start(runtime, "frozen-0", "while :; do echo tick; sleep 0.02; done",
                      sandbox=sandbox)
    await wait_for(lambda: len(texts(runtime, cid)) >= 2, timeout=10)
    await runtime.freeze_container(cid)
    pid = runtime._get(cid).runner.pid
    await wait_for(lambda: frozen(pid))
    assert sandbox.frozen and runtime.status(cid).frozen
    count = len(texts(runtime, cid))
    await asyncio.sleep(0.1)
    assert len(texts(runtime, cid)) <= count + 1
    await runtime.thaw_container(cid)
    assert not sandbox.frozen
    await wait_for(lambda: len(texts(runtime, cid)) > count + 2)


@needs_root
async def test_close_leaves_no_process_behind(make_fake, wait_for) -> None:
    """close() kills and reaps a script, its background jobs and exec'd commands."""
    runtime = make_fake(REDIS)
    cid = await start(runtime, "bg-0", "sleep 30 & sleep 30 & echo started; wait")
    await wait_for(lambda: texts(runtime, cid) == ["started"], timeout=10)
    exec_task = asyncio.create_task(runtime.exec(cid, ["sleep", "30"]))
    await wait_for(lambda: len(runtime._get(cid).execs) == 1, timeout=5)
    sid = runtime._get(cid).runner.pid
    assert len(session_members(sid)) == 3
    await runtime.close()
    await asyncio.gather(exec_task, return_exceptions=True)
    assert session_members(sid) == []
    assert children_of(os.getpid()) == []


async def test_missing_command_in_a_script_container(make_fake) -> None:
    """A shell that does not exist is reported the way runc reports it."""
    runtime = make_fake(REDIS)
    with pytest.raises(base.ContainerError, match='exec: "nosh": executable file not found'):
        await runtime.create_container(config("w", command=("nosh", "-c", "true")),
                                       StubSandbox("w"))


async def test_degraded_isolation_uses_directories(make_fake, wait_for) -> None:
    """Without namespaces, scripts get the pod's HOSTNAME (and `hostname`) and a TMPDIR."""
    degraded = base.Isolation(namespaces=False, detail="namespaces disabled for the test")
    runtime = make_fake(REDIS, settings=containers.RuntimeSettings(isolation=degraded))
    assert (await runtime.isolation()).degraded
    cid = await start(runtime, "web-3", 'hostname; echo "$HOSTNAME"; echo mine > "$TMPDIR/f"; '
                                        'redis-cli ping')
    await asyncio.wait_for(runtime.wait(cid), 10)
    assert texts(runtime, cid)[:3] == ["web-3", "web-3", "PONG ping cwd=/"]
    assert (Path(runtime._get(cid).view.tmp_dir) / "f").read_text() == "mine\n"


async def test_signal_to_shim_before_the_program_ends_becomes_stop(make_fake, wait_for) -> None:
    """SIGTERM to a shim started by a script asks its program to stop (exit 0)."""
    runtime = make_fake(REDIS, settings=containers.RuntimeSettings(
        isolation=base.Isolation(namespaces=False, detail="test")))
    cid = await start(runtime, "sig-0", 'echo > $TMPDIR/c; redis-server $TMPDIR/c & '
                                        'echo "pid $!"; wait $!; echo "rc=$?"')
    await wait_for(lambda: len(texts(runtime, cid)) >= 2, timeout=10)
    pid = int(next(t for t in texts(runtime, cid) if t.startswith("pid "))[4:])
    os.kill(pid, signal.SIGTERM)
    await asyncio.wait_for(runtime.wait(cid), 10)
    assert texts(runtime, cid)[-2:] == ["bye", "rc=0"]
