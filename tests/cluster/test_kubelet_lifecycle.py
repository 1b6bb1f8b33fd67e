"""The kubelet runs its pods: start, init containers, restart policies, back-off, deletion."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import pathlib
import re

import pytest

from cluster.api import errors
from cluster.api.watch import EventType
from tests.cluster.conftest import WaitFor
from tests.cluster.kubelet_helpers import FAST, container, pod, running_kubelet


async def test_bound_pod_runs_with_ip_and_ready(wait_for: WaitFor) -> None:
    """A pod created with spec.nodeName is Running and Ready, with podIP and hostIP, within 2 s."""
    async with running_kubelet() as env:
        await env.create(pod("web"))
        await wait_for(lambda: env.condition("web", "Ready").get("status") == "True", timeout=2.0)
        status = env.status("web")
        assert status["phase"] == "Running"
        assert status["podIP"].startswith("10.244.0.")
        assert status["podIPs"] == [{"ip": status["podIP"]}]
        assert status["hostIP"] == "127.0.0.1"
        assert status["startTime"]
        cs = env.container_status("web")
        assert set(cs["state"]) == {"running"} and cs["ready"] and cs["started"]
        assert cs["restartCount"] == 0 and cs["containerID"].startswith("script://")
        assert [c["type"] for c in status["conditions"]] == [
            "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
            "PodScheduled"][: len(status["conditions"])]
        await wait_for(lambda: len(env.messages("web")) >= 4, message="events written")
        assert env.messages("web") == [
            'Pulling image "pause"', env.messages("web", "Pulled")[0],
            "Created container main", "Started container main"]
        assert re.fullmatch(r'Successfully pulled image "pause" in \S+ \(\S+ including waiting\)',
                            env.messages("web", "Pulled")[0])


async def test_pod_bound_through_binding_runs(wait_for: WaitFor) -> None:
    """A pod assigned later with client.bind is picked up and run."""
    async with running_kubelet() as env:
        unbound = pod("later")
        del unbound["spec"]["nodeName"]
        await env.create(unbound)
        await env.client.bind("later", "default", "node-1")
        await wait_for(lambda: env.phase("later") == "Running")
        assert env.condition("later", "PodScheduled")["status"] == "True"


async def test_pod_goes_running_in_one_status_write(wait_for: WaitFor) -> None:
    """Sandbox, pull, create and start are folded into one status write (the benchmark's need)."""
    async with running_kubelet() as env:
        created = await env.create(pod("one"))
        watch = env.client.watch("pods", "default", field_selector="metadata.name=one",
                                 resource_version=int(created["metadata"]["resourceVersion"]))
        await wait_for(lambda: env.condition("one", "Ready").get("status") == "True")
        modified = 0
        async with watch:
            while True:
                try:
                    event = await asyncio.wait_for(watch.__anext__(), 0.05)
                except TimeoutError:
                    break
                modified += event.type == EventType.MODIFIED
        assert modified == 1


async def test_other_nodes_pods_are_ignored(wait_for: WaitFor) -> None:
    """A pod bound to another node is not run here."""
    async with running_kubelet() as env:
        await env.create(pod("elsewhere", node="node-2"))
        await env.create(pod("here"))
        await wait_for(lambda: env.phase("here") == "Running")
        assert env.phase("elsewhere") == "Pending"
        assert not env.runtime.by_container("elsewhere", "main")


async def test_init_containers_run_first_in_order(wait_for: WaitFor) -> None:
    """Init containers run one after another, each to exit 0, before the containers start."""
    async with running_kubelet() as env:
        await env.create(pod("init", init=[container("first", "print", "a"),
                                           container("second", "print", "b")]))
        await wait_for(lambda: env.phase("init") == "Running")
        first = env.runtime.by_container("init", "first")[0]
        second = env.runtime.by_container("init", "second")[0]
        main = env.runtime.by_container("init", "main")[0]
        assert first.started_at <= second.started_at <= main.started_at
        assert first.exited.is_set() and second.exited.is_set()
        statuses = env.status("init")["initContainerStatuses"]
        assert [s["name"] for s in statuses] == ["first", "second"]
        assert all(s["state"]["terminated"]["reason"] == "Completed" and s["ready"]
                   for s in statuses)
        assert env.condition("init", "Initialized")["status"] == "True"


async def test_pod_waits_on_a_running_init_container(wait_for: WaitFor) -> None:
    """While an init container runs the pod is Pending, `Init:0/1`-shaped, not Initialized."""
    async with running_kubelet() as env:
        await env.create(pod("blocked", init=[container("wait", "run")]))
        await wait_for(lambda: "running" in env.container_status("blocked", "wait", init=True)
                       .get("state", {}))
        assert env.phase("blocked") == "Pending"
        assert env.container_status("blocked")["state"] == {"waiting": {"reason": "PodInitializing"}}
        initialized = env.condition("blocked", "Initialized")
        assert (initialized["status"], initialized["reason"], initialized["message"]) == (
            "False", "ContainersNotInitialized", "containers with incomplete status: [wait]")
        assert not env.runtime.by_container("blocked", "main")


async def test_failed_init_container_with_never_fails_the_pod(wait_for: WaitFor) -> None:
    """restartPolicy Never: an init container exiting non-zero fails the pod; nothing else runs."""
    async with running_kubelet() as env:
        await env.create(pod("badinit", restart_policy="Never",
                             init=[container("setup", "exit", "3")]))
        await wait_for(lambda: env.phase("badinit") == "Failed")
        term = env.container_status("badinit", "setup", init=True)["state"]["terminated"]
        assert (term["exitCode"], term["reason"]) == (3, "Error")
        assert not env.runtime.by_container("badinit", "main")


async def test_failed_init_container_is_retried_with_always(wait_for: WaitFor) -> None:
    """restartPolicy Always: a failing init container is restarted, and the pod stays Pending."""
    async with running_kubelet() as env:
        await env.create(pod("retry", init=[container("setup", "exit", "1")]))
        await wait_for(lambda: env.container_status("retry", "setup", init=True)
                       .get("restartCount", 0) >= 2)
        assert len(env.runtime.started("retry", "setup")) >= 3
        assert env.phase("retry") == "Pending"
        assert not env.runtime.by_container("retry", "main")


@pytest.mark.parametrize("policy, code, phase, reason", [
    pytest.param("Never", "0", "Succeeded", "Completed", id="never-success"),
    pytest.param("Never", "1", "Failed", "Error", id="never-failure"),
    pytest.param("OnFailure", "0", "Succeeded", "Completed", id="onfailure-success"),
])
async def test_run_to_completion(wait_for: WaitFor, policy: str, code: str, phase: str,
                                 reason: str) -> None:
    """A container that exits under Never/OnFailure ends the pod in the phase Kubernetes gives."""
    async with running_kubelet() as env:
        await env.create(pod("job", container("main", "exit", code), restart_policy=policy))
        await wait_for(lambda: env.phase("job") == phase)
        term = env.container_status("job")["state"]["terminated"]
        assert (term["exitCode"], term["reason"]) == (int(code), reason)
        assert term["startedAt"] and term["finishedAt"]
        assert env.condition("job", "Ready")["reason"] == ("PodCompleted" if phase == "Succeeded"
                                                           else "PodFailed")
        assert len(env.runtime.started("job", "main")) == 1
        await wait_for(lambda: env.sandboxes.released, message="sandbox released")


async def test_on_failure_restarts_until_success(wait_for: WaitFor) -> None:
    """OnFailure restarts a failing container (restartCount grows) and keeps the pod Running."""
    async with running_kubelet() as env:
        await env.create(pod("flaky", container("main", "exit", "2"), restart_policy="OnFailure"))
        await wait_for(lambda: env.container_status("flaky").get("restartCount", 0) >= 2)
        assert env.phase("flaky") in ("Running", "Pending")
        assert env.container_status("flaky")["lastState"]["terminated"]["exitCode"] == 2


async def test_crash_loop_back_off_delays_double(wait_for: WaitFor) -> None:
    """Always + a failing command: CrashLoopBackOff, and each restart waits about twice as long."""
    settings = dataclasses.replace(FAST, restart_backoff_initial=0.1, restart_backoff_max=10.0)
    async with running_kubelet(settings) as env:
        created = await env.create(pod("crash", container("main", "exit", "1")))
        uid = created["metadata"]["uid"]
        seen_waiting: list[dict] = []

        def crash_looping() -> bool:
            cs = env.container_status("crash")
            waiting = cs.get("state", {}).get("waiting")
            if waiting and waiting.get("reason") == "CrashLoopBackOff":
                seen_waiting.append(cs)
            return len(env.runtime.started("crash", "main")) >= 5

        await wait_for(crash_looping, timeout=5.0)
        starts = env.runtime.started("crash", "main")
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        for shorter, longer in itertools.pairwise(gaps[1:]):
            assert 1.5 <= longer / shorter <= 3.0, gaps
        assert gaps[1] >= 0.09
        cs = seen_waiting[-1]
        assert re.fullmatch(rf"back-off \d+ms restarting failed container=main "
                            rf"pod=crash_default\({uid}\)", cs["state"]["waiting"]["message"])
        assert cs["lastState"]["terminated"]["exitCode"] == 1
        assert cs["lastState"]["terminated"]["reason"] == "Error"
        assert env.phase("crash") == "Running"
        await wait_for(lambda: f"Back-off restarting failed container main in pod "
                       f"crash_default({uid})" in env.messages("crash", "BackOff"))


async def test_unknown_image_reports_pull_errors_and_harms_nothing(wait_for: WaitFor) -> None:
    """An unknown image: ErrImagePull, then ImagePullBackOff, with kubelet's events; other pods run."""
    async with running_kubelet() as env:
        await env.create(pod("bad", container("main", image="nosuch")))
        await wait_for(lambda: env.container_status("bad").get("state", {}).get("waiting", {})
                       .get("reason") == "ErrImagePull")
        await wait_for(lambda: env.container_status("bad").get("state", {}).get("waiting", {})
                       .get("reason") == "ImagePullBackOff")
        waiting = env.container_status("bad")["state"]["waiting"]
        assert waiting["message"] == 'Back-off pulling image "nosuch"'
        assert env.phase("bad") == "Pending"
        await wait_for(lambda: "Error: ImagePullBackOff" in env.messages("bad", "Failed"))
        failed = env.messages("bad", "Failed")
        assert failed[0].startswith('Failed to pull image "nosuch": ')
        assert "Error: ErrImagePull" in failed and "Error: ImagePullBackOff" in failed
        assert 'Back-off pulling image "nosuch"' in env.messages("bad", "BackOff")
        await wait_for(lambda: env.runtime.pulls.count("nosuch") >= 2, message="pull retried")
        await env.create(pod("good"))
        await wait_for(lambda: env.phase("good") == "Running")


async def test_delete_stops_containers_and_finishes_deletion(wait_for: WaitFor) -> None:
    """Deleting a running pod: `Killing` event, containers stopped, sandbox released, pod gone."""
    async with running_kubelet() as env:
        created = await env.create(pod("doomed"))
        await wait_for(lambda: env.phase("doomed") == "Running")
        box = env.runtime.by_container("doomed", "main")[0]
        await env.client.delete("pods", "doomed", "default")
        await wait_for(lambda: env.pod("doomed") is None, message="pod removed")
        assert box.stop_requested.is_set() and box.exit_code == 143
        await wait_for(lambda: "Stopping container main" in env.messages("doomed", "Killing"))
        assert created["metadata"]["uid"] in env.sandboxes.released
        await wait_for(lambda: box.id in env.runtime.removed, message="container removed")


async def test_grace_period_ends_in_sigkill(wait_for: WaitFor) -> None:
    """A container ignoring SIGTERM is killed when the (scaled) grace period runs out."""
    async with running_kubelet() as env:
        await env.create(pod("stubborn", container("main", "ignore-term"), grace=2))
        await wait_for(lambda: env.phase("stubborn") == "Running")
        box = env.runtime.by_container("stubborn", "main")[0]
        loop = asyncio.get_running_loop()
        began = loop.time()
        await env.client.delete("pods", "stubborn", "default")
        await wait_for(lambda: env.pod("stubborn") is None)
        assert box.exit_code == 137
        assert loop.time() - began >= 2 * FAST.pod_seconds_scale * 0.9


async def test_deleting_a_finished_pod_cleans_up(wait_for: WaitFor) -> None:
    """A Succeeded pod deleted from the API (at once) has its containers removed."""
    async with running_kubelet() as env:
        await env.create(pod("done", container("main", "print", "hi"), restart_policy="Never"))
        await wait_for(lambda: env.phase("done") == "Succeeded")
        box = env.runtime.by_container("done", "main")[0]
        await env.client.delete("pods", "done", "default")
        with pytest.raises(errors.NotFound):
            await env.client.get("pods", "done", "default")
        await wait_for(lambda: box.id in env.runtime.removed)


async def test_env_and_downward_api_reach_the_container(wait_for: WaitFor) -> None:
    """Env values, `$(VAR)` expansion and fieldRef values are handed to the runtime."""
    async with running_kubelet() as env:
        spec = container("main", "run", "$(GREETING)-$(POD)",
                         env=[{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                              {"name": "GREETING", "value": "hi-$(POD)"},
                              {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}])
        await env.create(pod("envy", spec))
        await wait_for(lambda: env.phase("envy") == "Running")
        config = env.runtime.by_container("envy", "main")[0].config
        assert config.env["POD"] == "envy" and config.env["GREETING"] == "hi-envy"
        assert config.env["IP"] == env.status("envy")["podIP"]
        assert config.command == ("run", "hi-envy-envy")


async def test_env_from_configmap_and_missing_configmap(wait_for: WaitFor) -> None:
    """A configMapKeyRef value reaches the container; a missing ConfigMap waits with
    CreateContainerConfigError until it appears."""
    async with running_kubelet() as env:
        ref = {"name": "VALUE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}
        await env.create(pod("cfg-user", container("main", "run", env=[ref])))
        await wait_for(lambda: env.container_status("cfg-user").get("state", {}).get("waiting", {})
                       .get("reason") == "CreateContainerConfigError")
        assert env.container_status("cfg-user")["state"]["waiting"]["message"] == \
            'configmap "cfg" not found'
        await env.create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "cfg", "namespace": "default"}, "data": {"k": "v"}})
        await wait_for(lambda: env.phase("cfg-user") == "Running")
        assert env.runtime.by_container("cfg-user", "main")[0].config.env["VALUE"] == "v"


async def test_volumes_are_mounted_and_claims_outlive_the_pod(wait_for: WaitFor,
                                                              tmp_path) -> None:
    """emptyDir, configMap and PVC volumes become mounts; the pod's own directories go with
    the pod, the claim's directory stays for its successor."""
    settings = dataclasses.replace(FAST, volumes_dir=str(tmp_path))
    async with running_kubelet(settings) as env:
        await env.create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "conf", "namespace": "default"},
                          "data": {"redis.conf": "port 6379\n"}})
        spec = pod("web-0", container("main", "run", volumeMounts=[
            {"name": "scratch", "mountPath": "/scratch"},
            {"name": "conf", "mountPath": "/etc/redis", "readOnly": True},
            {"name": "data", "mountPath": "/data"}]))
        spec["spec"]["volumes"] = [
            {"name": "scratch", "emptyDir": {}},
            {"name": "conf", "configMap": {"name": "conf"}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}}]
        created = await env.create(spec)
        await wait_for(lambda: env.phase("web-0") == "Running")
        mounts = {m.container_path: m for m in
                  env.runtime.by_container("web-0", "main")[0].config.mounts}
        assert set(mounts) == {"/scratch", "/etc/redis", "/data"}
        assert mounts["/etc/redis"].read_only
        assert (tmp_path / "pvc" / "default" / "data-web-0").is_dir()
        assert mounts["/data"].host_path == str(tmp_path / "pvc" / "default" / "data-web-0")
        conf = pathlib.Path(mounts["/etc/redis"].host_path) / "redis.conf"
        assert conf.read_text() == "port 6379\n"
        await env.client.delete("pods", "web-0", "default")
        await wait_for(lambda: not (tmp_path / "pods" / created["metadata"]["uid"]).exists())
        assert (tmp_path / "pvc" / "default" / "data-web-0").is_dir()


async def test_missing_configmap_volume_holds_the_pod(wait_for: WaitFor, tmp_path) -> None:
    """A configMap volume whose ConfigMap is missing keeps the pod ContainerCreating with
    FailedMount, as the kubelet reports it."""
    settings = dataclasses.replace(FAST, volumes_dir=str(tmp_path))
    async with running_kubelet(settings) as env:
        spec = pod("nocfg", container("main", "run"))
        spec["spec"]["volumes"] = [{"name": "conf", "configMap": {"name": "absent"}}]
        await env.create(spec)
        await wait_for(lambda: env.messages("nocfg", "FailedMount"))
        assert env.messages("nocfg", "FailedMount")[0] == \
            'MountVolume.SetUp failed for volume "conf" : configmap "absent" not found'
        # The status is written apart from the event, and may come a moment later.
        await wait_for(lambda: env.container_status("nocfg").get("state", {}).get("waiting", {})
                       .get("reason") == "ContainerCreating")
        assert not env.runtime.by_container("nocfg", "main")


@pytest.mark.parametrize("image, waiting", [
    pytest.param("pause", None, id="present"),
    pytest.param("nosuch", "ErrImageNeverPull", id="absent"),
])
async def test_pull_policy_never(wait_for: WaitFor, image: str, waiting: str | None) -> None:
    """imagePullPolicy Never runs a present image without pulling, and reports an absent one."""
    async with running_kubelet() as env:
        await env.create(pod("np", container("main", image=image, imagePullPolicy="Never")))
        if waiting is None:
            await wait_for(lambda: env.phase("np") == "Running")
            await wait_for(lambda: env.messages("np", "Pulled"))
            assert env.messages("np", "Pulled") == ['Container image "pause" already present on machine']
            assert not env.messages("np", "Pulling")
        else:
            await wait_for(lambda: env.container_status("np").get("state", {}).get("waiting", {})
                           .get("reason") == waiting)
            assert env.container_status("np")["state"]["waiting"]["message"] == \
                'Container image "nosuch" is not present with pull policy of Never'
