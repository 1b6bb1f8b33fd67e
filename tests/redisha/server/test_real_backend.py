"""The backends: the tutorial's StatefulSet on fake and on real redis-server pods."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from redis_pods import FAST, wait_until

from cluster.embedded import ClusterSettings, EmbeddedCluster
from redisha import backends
from redisha.backends import Backend, BackendUnavailable
from tests.real_redis import (  # noqa: F401 - requires_real_redis is a fixture
    REQUIRE_ENV,
    need_real_redis,
    real_redis,
    requires_real_redis,
)
from tests.tutorial_manifests import TUTORIAL_MANIFESTS

NS = "default"
REPLICA_LINES = ("Connecting to MASTER redis-sfs-0.redis-sfs:6379",
                 "MASTER <-> REPLICA sync: Finished with success")


async def running_pod(cluster: EmbeddedCluster, name: str, timeout: float = 15) -> dict[str, Any]:
    """The pod once its container runs (it has a container id and the pod an IP)."""
    found: dict[str, Any] = {}

    async def poll() -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                pod = await cluster.client.get("pods", name, NS)
            except Exception:  # noqa: BLE001 - not created yet
                pod = {}
            status = pod.get("status") or {}
            states = [cs.get("state", {}) for cs in status.get("containerStatuses") or ()]
            if status.get("podIP") and states and all("running" in s for s in states):
                found.update(pod)
                return
            await asyncio.sleep(0.02)
        pytest.fail(f"pod {name} not running within {timeout}s")

    await poll()
    return found


def log_of(cluster: EmbeddedCluster, pod: dict[str, Any]) -> str:
    kubelet = cluster.kubelets[pod["spec"]["nodeName"]]
    return "\n".join(line.text for line in kubelet.logs(NS, pod["metadata"]["name"]))


async def exec_in(cluster: EmbeddedCluster, pod: dict[str, Any], *argv: str) -> tuple[int, str]:
    kubelet = cluster.kubelets[pod["spec"]["nodeName"]]
    result = await kubelet.exec(NS, pod["metadata"]["name"], None, list(argv), timeout=10)
    return result.exit_code, result.stdout.decode()


async def call(ip: str, *command: str) -> Any:
    """One command with redis-py (sync, off the loop the fake servers run on)."""
    def run() -> Any:
        with redis.Redis(host=ip, port=6379, socket_timeout=5, decode_responses=True) as r:
            return r.execute_command(*command)
    return await asyncio.to_thread(run)


@pytest.mark.parametrize("backend", [
    pytest.param(Backend.FAKE, id="fake"),
    pytest.param(Backend.REAL, id="real"),
])
async def test_the_tutorials_statefulset_replicates(backend: Backend) -> None:
    """server.yaml runs unchanged: the replica finds redis-sfs-0.redis-sfs once the headless
    Service exists, syncs, serves the primary's writes, and redis-cli works inside pods."""
    if backend is Backend.REAL:
        need_real_redis()
    async with backends.start(backend, server_settings=FAST) as cluster:
        await cluster.client.create(yaml.safe_load(TUTORIAL_MANIFESTS["server.yaml"]), NS)
        primary = await running_pod(cluster, "redis-sfs-0")
        replica = await running_pod(cluster, "redis-sfs-1")
        await wait_until(lambda: REPLICA_LINES[0] in log_of(cluster, replica), timeout=10,
                         message=log_of(cluster, replica))
        await cluster.client.create(yaml.safe_load(TUTORIAL_MANIFESTS["service.yaml"]), NS)
        await wait_until(lambda: REPLICA_LINES[1] in log_of(cluster, replica), timeout=10,
                         message=log_of(cluster, replica))

        assert await call(primary["status"]["podIP"], "SET", "greeting", "hello") is True
        for _ in range(200):
            if await call(replica["status"]["podIP"], "GET", "greeting") == "hello":
                break
            await asyncio.sleep(0.01)
        assert await call(replica["status"]["podIP"], "GET", "greeting") == "hello"

        assert await exec_in(cluster, replica, "redis-cli", "ping") == (0, "PONG\n")
        fqdn = "redis-sfs-0.redis-sfs.default.svc.cluster.local"
        assert await exec_in(cluster, replica, "redis-cli", "-h", fqdn, "ping") == (0, "PONG\n")
        code, role = await exec_in(cluster, replica, "redis-cli", "role")
        assert (code, role.splitlines()[:2]) == (0, ["slave", "redis-sfs-0.redis-sfs"])


def redis_pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "redis", "image": "redis"}]}}


@real_redis
async def test_two_real_pods_on_one_node_each_listen_on_6379_at_their_own_address() -> None:
    """Each redis-server binds its pod's IP only, so pods sharing a node's network do not
    clash on port 6379, and each pod's redis-cli talks to its own server."""
    async with backends.start(Backend.REAL, ClusterSettings.quick(nodes=1)) as cluster:
        for name in ("one", "two"):
            await cluster.client.create(redis_pod(name), NS)
        pods = [await running_pod(cluster, name) for name in ("one", "two")]
        ips = [pod["status"]["podIP"] for pod in pods]
        assert ips[0] != ips[1] and pods[0]["spec"]["nodeName"] == pods[1]["spec"]["nodeName"]
        for pod, ip in zip(pods, ips):
            await wait_until(lambda: "Ready to accept connections" in log_of(cluster, pod),
                             timeout=10, message=log_of(cluster, pod))
            assert await call(ip, "CONFIG", "GET", "bind") == {"bind": ip}
            await call(ip, "SET", "me", pod["metadata"]["name"])
        for pod in pods:
            code, out = await exec_in(cluster, pod, "redis-cli", "get", "me")
            assert (code, out) == (0, pod["metadata"]["name"] + "\n")
            code, out = await exec_in(cluster, pod, "redis-cli", "-h", "localhost", "get", "me")
            assert (code, out) == (0, pod["metadata"]["name"] + "\n")


PERSISTENT = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: store
spec:
  serviceName: store
  replicas: 1
  selector:
    matchLabels: {app: store}
  template:
    metadata:
      labels: {app: store}
    spec:
      containers:
      - name: redis
        image: redis
        args: ["--appendonly", "yes"]
        volumeMounts:
        - {name: data, mountPath: /data}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


@real_redis
async def test_a_real_pod_keeps_its_rdb_and_aof_in_its_claims_directory() -> None:
    """With a PVC mounted at /data, redis-server works there: SAVE and the AOF land in the
    claim's directory on disk, not in the container's /tmp or the host's /data."""
    host_data_existed = os.path.exists("/data")
    async with backends.start(Backend.REAL, ClusterSettings.quick(nodes=1)) as cluster:
        await cluster.client.create(yaml.safe_load(PERSISTENT), NS)
        pod = await running_pod(cluster, "store-0")
        ip = pod["status"]["podIP"]
        await wait_until(lambda: "Ready to accept connections" in log_of(cluster, pod),
                         timeout=10, message=log_of(cluster, pod))
        await call(ip, "SET", "kept", "yes")
        assert await call(ip, "SAVE") is True
        assert await call(ip, "CONFIG", "GET", "dir") == {"dir": "/data"}
        volumes = cluster.settings.kubelet.volumes_dir
        assert volumes is not None
        claim = Path(volumes) / "pvc" / NS / "data-store-0"
        assert (claim / "dump.rdb").stat().st_size > 0
        aof = claim / "appendonlydir"
        await wait_until(lambda: any(b"kept" in f.read_bytes() for f in aof.glob("*.incr.aof")),
                         timeout=5, message=str(list(aof.iterdir())))
    assert os.path.exists("/data") == host_data_existed


def test_require_names_the_missing_binary_and_its_debian_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without redis-server on PATH, require(REAL) says so in one line naming the package."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackendUnavailable) as info:
        backends.require(Backend.REAL)
    assert str(info.value) == (
        "redis-server and redis-cli not found on PATH: install Debian's redis-server and "
        "redis-tools packages (apt-get install -y redis-server redis-tools)")
    cli = os.path.join(str(tmp_path), "redis-cli")
    with open(cli, "w") as script:
        script.write("#!/bin/sh\n")
    os.chmod(cli, 0o755)
    with pytest.raises(BackendUnavailable) as info:
        backends.require(Backend.REAL)
    assert str(info.value) == (
        "redis-server not found on PATH: install Debian's redis-server package "
        "(apt-get install -y redis-server redis-tools)")
    backends.require(Backend.FAKE)


def test_require_says_why_pods_could_not_be_isolated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the redis binaries but without unshare, or without root, require(REAL) says
    which in one line."""
    for name in ("redis-server", "redis-cli"):
        os.symlink("/bin/true", tmp_path / name)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(BackendUnavailable) as info:
        backends.require(Backend.REAL)
    assert str(info.value) == (
        "the real backend needs Linux mount and UTS namespaces for its pods: unshare not "
        "found on PATH: install Debian's util-linux package (apt-get install -y util-linux)")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(BackendUnavailable, match="pods: this process is not running as root"):
        backends.require(Backend.REAL)


async def test_start_refuses_the_real_backend_before_starting_anything(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """backends.start raises BackendUnavailable up front; no cluster (and no volumes
    directory) is made."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(BackendUnavailable, match="^redis-server and redis-cli not found"):
        async with backends.start(Backend.REAL):
            pytest.fail("the cluster started")
    assert list(tmp_path.iterdir()) == []


def test_real_backend_tests_skip_here_but_fail_where_redis_is_required(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without redis-server a real-backend test skips with require()'s reason, unless
    REDISHA_REQUIRE_REDIS=1 (CI), where it fails."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server and redis-cli not found"):
        need_real_redis()
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="REDISHA_REQUIRE_REDIS=1 but"):
        need_real_redis()


def test_the_real_backend_refuses_a_python_pods_cannot_see(monkeypatch) -> None:
    """Pods have a private /tmp: redisha's Python under /tmp is refused in one line."""
    monkeypatch.setattr(backends.sys, "executable", "/tmp/venv/bin/python3")
    if backends.real.missing_binaries():
        pytest.skip("redis-server is missing here, which require() reports first")
    if backends._isolation_problem():
        pytest.skip("namespaces are unavailable here, which require() reports first")
    with pytest.raises(backends.BackendUnavailable) as refused:
        backends.require(backends.Backend.REAL)
    assert "/tmp/venv/bin/python3 is under /tmp" in str(refused.value)
    assert "\n" not in str(refused.value)
