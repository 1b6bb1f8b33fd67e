"""The hybrid runtime: containers routed to the runtime that has their image, by id after."""

from __future__ import annotations

import dataclasses
import random

import pytest
from runtime_helpers import StubSandbox, config, process_state, session_members

from cluster.runtime import base, hybrid, images, process


class Serve:
    """Says ready, then serves until asked to stop."""

    async def run(self, ctx: images.ProgramContext) -> int:
        ctx.stdout(f"ready on {ctx.hostname}")
        await ctx.stop_requested.wait()
        return 0

class Hello:
    """An in-process program for exec: names itself and its arguments."""

    async def run(self, ctx: images.ProgramContext) -> int:
        ctx.stdout("hello from the fake image " + " ".join(ctx.argv[1:]))
        return 0

APP = images.Image("app", programs={"serve": Serve, "hello": Hello}, entrypoint=("serve",))
SHELL = process.ProcessImage("shell", entrypoint=("sh",))
SERVE_SH = ("-c", "echo ready; while :; do sleep 0.05; done")

@pytest.fixture
def make_hybrid(make_fake, make_process):
    """A hybrid of a fake runtime (image `app`) then a process runtime (image `shell`)."""

    def build(**kwargs) -> hybrid.HybridRuntime:
        return hybrid.HybridRuntime([make_fake(APP, **kwargs), make_process(SHELL, **kwargs)])

    return build

def frozen(sid: int) -> bool:
    """Every process of session `sid` is stopped (a shell in vfork for a stopped child
    shows `D`)."""
    states = [process_state(p) for p in session_members(sid)]
    return "T" in states and all(state in ("T", "D") for state in states)


def texts(runtime, cid: str) -> list[str]:
    return [line.text for line in runtime.logs(cid).lines()]

async def started(runtime, cfg: base.ContainerConfig, sandbox) -> str:
    cid = await runtime.create_container(cfg, sandbox)
    await runtime.start_container(cid)
    return cid

async def test_one_pod_runs_a_fake_and_a_process_container(make_hybrid, wait_for) -> None:
    """Each container lands on the runtime with its image; logs and status follow the id."""
    rt = make_hybrid()
    fake_rt, process_rt = rt.runtimes
    pod = StubSandbox("web-0")
    in_process = await started(rt, config("web-0", "app", name="app"), pod)
    real = await started(rt, config("web-0", "shell", args=SERVE_SH, name="sh"), pod)
    assert in_process != real
    assert fake_rt.container_ids() == [in_process] and process_rt.container_ids() == [real]
    await wait_for(lambda: texts(rt, in_process) == ["ready on web-0"]
                   and texts(rt, real) == ["ready"], timeout=5)
    assert rt.status(in_process).state is rt.status(real).state is base.ContainerState.RUNNING
    assert rt.status(real).image == "shell" and rt.name == "fake"

async def test_exec_runs_in_the_owning_runtime(make_hybrid, wait_for) -> None:
    """exec in the fake container runs its image's program in-process; in the process
    container, a real command in its namespaces."""
    rt = make_hybrid()
    pod = StubSandbox("web-0")
    in_process = await started(rt, config("web-0", "app", name="app"), pod)
    real = await started(rt, config("web-0", "shell", args=SERVE_SH, name="sh"), pod)
    result = await rt.exec(in_process, ["hello", "there"])
    assert (result.exit_code, result.stdout) == (0, b"hello from the fake image there\n")
    result = await rt.exec(real, ["sh", "-c", "echo $HOSTNAME; command -v hello || echo none"])
    assert (result.exit_code, result.stdout) == (0, b"web-0\nnone\n")

async def test_freezes_of_one_pod_are_counted_across_runtimes(make_hybrid, wait_for) -> None:
    """The pod's connections stay frozen until the last frozen container of either runtime
    thaws; the real process is SIGSTOPped meanwhile."""
    rt = make_hybrid()
    pod = StubSandbox("web-0")
    in_process = await started(rt, config("web-0", "app", name="app"), pod)
    real = await started(rt, config("web-0", "shell", args=SERVE_SH, name="sh"), pod)
    await wait_for(lambda: texts(rt, real) == ["ready"], timeout=5)
    await rt.freeze_container(in_process)
    await rt.freeze_container(real)
    pid = rt.runtimes[1]._get(real).runner.pid
    await wait_for(lambda: frozen(pid), timeout=5)
    assert pod.freezes == [True] and rt.status(real).frozen
    await rt.thaw_container(in_process)
    assert pod.freezes == [True] and pod.frozen
    await rt.thaw_container(real)
    assert pod.freezes == [True, False]
    await wait_for(lambda: not frozen(pid), timeout=5)

async def test_kill_reaches_only_its_container(make_hybrid, wait_for) -> None:
    """Killing the process container exits it 137; the fake one of the pod keeps running."""
    rt = make_hybrid()
    pod = StubSandbox("web-0")
    in_process = await started(rt, config("web-0", "app", name="app"), pod)
    real = await started(rt, config("web-0", "shell", args=SERVE_SH, name="sh"), pod)
    await rt.kill_container(real)
    status = await rt.wait(real)
    assert (status.state, status.exit_code) == (base.ContainerState.EXITED, 137)
    assert rt.status(in_process).state is base.ContainerState.RUNNING
    await rt.kill_container(in_process)
    assert rt.status(in_process).exit_code == 137

async def test_containers_of_several_pods_are_removed_by_id(make_hybrid) -> None:
    """Across pods each id stays routed until removed; then it is unknown, quietly so for
    a second removal."""
    rt = make_hybrid()
    ids = []
    for pod in ("web-0", "web-1"):
        sandbox = StubSandbox(pod)
        ids.append(await started(rt, config(pod, "app", name="app"), sandbox))
        ids.append(await started(rt, config(pod, "shell", args=SERVE_SH, name="sh"), sandbox))
    assert len(set(ids)) == 4 and sorted(rt.container_ids()) == sorted(ids)
    for cid in ids:
        await rt.stop_container(cid, 1)
        await rt.remove_container(cid)
        with pytest.raises(base.ContainerNotFound, match=cid):
            rt.status(cid)
        await rt.remove_container(cid)
    assert rt.container_ids() == [] and rt._shared == {}

async def test_unknown_image_is_the_usual_pull_error(make_hybrid) -> None:
    """An image no runtime has fails pull and create in containerd's words; nothing is made."""
    rt = make_hybrid()
    want = ('failed to pull and unpack image "docker.io/library/nginx:latest": failed to '
            'resolve reference "docker.io/library/nginx:latest": '
            'docker.io/library/nginx:latest: not found')
    with pytest.raises(base.ImagePullError) as pulled:
        await rt.pull_image("nginx")
    assert str(pulled.value) == want
    with pytest.raises(base.ImagePullError):
        await rt.create_container(config("web-0", "nginx"), StubSandbox("web-0"))
    assert rt.container_ids() == [] and rt._shared == {}
    with pytest.raises(base.ContainerNotFound, match='container "nope" not found'):
        await rt.exec("nope", ["true"])

async def test_the_first_runtime_having_an_image_wins(make_hybrid) -> None:
    """`pause`, built into both runtimes, runs on the first (in-process, no pid)."""
    rt = make_hybrid()
    cid = await started(rt, config("web-0", "pause"), StubSandbox("web-0"))
    assert rt.runtimes[0].container_ids() == [cid] and rt.runtimes[1].container_ids() == []

async def test_isolation_is_the_weakest(make_fake, make_process, settings) -> None:
    """One degraded runtime makes the hybrid report degraded isolation (and its reason)."""
    weak = base.Isolation(namespaces=False, detail="no namespaces here")
    rt = hybrid.HybridRuntime([
        make_fake(APP, settings=dataclasses.replace(settings, isolation=base.Isolation(True))),
        make_process(SHELL, settings=dataclasses.replace(settings, isolation=weak))])
    assert await rt.isolation() == weak

async def test_close_closes_every_runtime(make_hybrid, wait_for) -> None:
    """After close, the real process is gone and no runtime keeps a container."""
    rt = make_hybrid()
    pod = StubSandbox("web-0")
    await started(rt, config("web-0", "app", name="app"), pod)
    real = await started(rt, config("web-0", "shell", args=SERVE_SH, name="sh"), pod)
    await wait_for(lambda: texts(rt, real) == ["ready"], timeout=5)
    pid = rt.runtimes[1]._get(real).runner.pid
    await rt.close()
    assert process_state(pid) == "X"
    assert rt.runtimes[0].container_ids() == rt.runtimes[1].container_ids() == []
    assert rt.container_ids() == []

def test_a_hybrid_needs_a_runtime() -> None:
    """An empty hybrid is refused when built, not at its first container."""
    with pytest.raises(ValueError, match="at least one runtime"):
        hybrid.HybridRuntime([])


async def test_a_duplicate_id_is_refused(make_fake) -> None:
    """Two runtimes naming containers alike cannot make one id route to two containers:
    the second is removed and refused, the first still answers."""
    first, second = make_fake(APP), make_fake(images.Image("other", programs={"serve": Serve},
                                                           entrypoint=("serve",)))
    first._ids, second._ids = random.Random(7), random.Random(7)
    rt = hybrid.HybridRuntime([first, second])
    cid = await started(rt, config("web-0", "app"), StubSandbox("web-0"))
    with pytest.raises(base.ContainerError, match="already in use"):
        await rt.create_container(config("web-1", "other"), StubSandbox("web-1"))
    assert second.container_ids() == [] and rt.container_ids() == [cid]
    assert rt.status(cid).image == "app"
