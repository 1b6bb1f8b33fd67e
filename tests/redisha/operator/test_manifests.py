"""The objects a RedisFailover owns, and the redis start script's decisions."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from redisha.operator import manifests
from redisha.operator import spec as spec_mod

RF = {"apiVersion": "redisha.io/v1", "kind": "RedisFailover",
      "metadata": {"name": "x", "namespace": "prod", "uid": "u-1"}}


def _spec(**redis: Any) -> spec_mod.FailoverSpec:
    return spec_mod.parse({"spec": {"redis": redis}})


@pytest.mark.parametrize("mode,key", [
    pytest.param("required", "requiredDuringSchedulingIgnoredDuringExecution", id="required"),
    pytest.param("preferred", "preferredDuringSchedulingIgnoredDuringExecution", id="preferred"),
    pytest.param("none", None, id="none"),
])
def test_anti_affinity_spreads_redis_pods_over_hostnames(mode: str, key: str | None) -> None:
    """required/preferred become podAntiAffinity on kubernetes.io/hostname; none adds nothing."""
    pod_spec = manifests.redis_statefulset(RF, _spec(antiAffinity=mode))["spec"]["template"]["spec"]
    if key is None:
        assert "affinity" not in pod_spec
        return
    terms = pod_spec["affinity"]["podAntiAffinity"][key]
    term = terms[0] if mode == "required" else terms[0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"][manifests.COMPONENT_LABEL] == "redis"


def test_the_statefulset_is_owned_named_and_persistent_when_asked() -> None:
    """rfr-x, serviceName rfr-x, Parallel, controller ownerReference, a `data` claim
    mounted at /data with persistence, and the start script as the container's command."""
    sts = manifests.redis_statefulset(RF, _spec(persistence={"enabled": True, "size": "2Gi"}))
    assert (sts["metadata"]["name"], sts["spec"]["serviceName"]) == ("rfr-x", "rfr-x")
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert sts["metadata"]["ownerReferences"][0] | {} == {
        "apiVersion": "redisha.io/v1", "kind": "RedisFailover", "name": "x", "uid": "u-1",
        "controller": True, "blockOwnerDeletion": True}
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert (claim["metadata"]["name"], claim["spec"]["resources"]["requests"]["storage"]) == \
        ("data", "2Gi")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    assert container["command"] == ["sh", "-c", manifests.START_SCRIPT]
    assert "dir /data" in manifests.redis_conf(_spec(persistence={"enabled": True}))
    assert "volumeClaimTemplates" not in manifests.redis_statefulset(RF, _spec())["spec"]


def test_redis_pods_start_full_syncs_at_once() -> None:
    """redis.conf turns off Redis 7's 5 s wait before a diskless full sync."""
    lines = manifests.redis_conf(_spec()).splitlines()
    assert "repl-diskless-sync yes" in lines and "repl-diskless-sync-delay 0" in lines


def test_services_select_by_role_and_component() -> None:
    """rfr-x headless, rfrm-x the primary, rfrs-x the replicas, rfs-x the sentinels."""
    by_name = {s["metadata"]["name"]: s["spec"] for s in manifests.services(RF)}
    assert by_name["rfr-x"]["clusterIP"] == "None"
    assert by_name["rfrm-x"]["selector"][manifests.ROLE_LABEL] == "primary"
    assert by_name["rfrs-x"]["selector"][manifests.ROLE_LABEL] == "replica"
    assert by_name["rfs-x"]["ports"][0]["port"] == 26379
    assert by_name["rfs-x"]["selector"][manifests.COMPONENT_LABEL] == "sentinel"


def test_sentinel_conf_uses_real_sentinel_syntax() -> None:
    """The ConfigMap's file monitors the primary with the spec's quorum and timers."""
    spec = spec_mod.parse({"spec": {"sentinel": {"quorum": 3, "downAfterMilliseconds": 800}}})
    config = manifests.sentinel_config_map(RF, spec, "127.10.0.5")
    text = config["data"]["sentinel.conf"]
    assert "sentinel monitor mymaster 127.10.0.5 6379 3\n" in text
    assert "sentinel down-after-milliseconds mymaster 800\n" in text
    assert manifests.monitored_ip(config) == "127.10.0.5"


# -- the start script ---------------------------------------------------------------------

def _run_script(tmp_path: Path, answer: str, pod_ip: str = "127.10.0.7",
                cli_exit: int = 0) -> str:
    """Run START_SCRIPT with stand-ins for redis-cli (printing `answer`) and redis-server
    (printing its arguments); returns what redis-server was started with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "redis-cli").write_text(f"#!/bin/sh\nprintf '%s' '{answer}'\nexit {cli_exit}\n")
    (bin_dir / "redis-server").write_text('#!/bin/sh\necho "ARGS $*"\n')
    for program in bin_dir.iterdir():
        program.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "POD_IP": pod_ip,
           "SENTINEL_SERVICE": "rfs-x"}
    done = subprocess.run(["sh", "-c", manifests.START_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=10, check=True)
    return next(line[5:] for line in done.stdout.splitlines() if line.startswith("ARGS "))


@pytest.mark.parametrize("answer,cli_exit,expected", [
    pytest.param("127.10.0.5\n6379\n", 0, "--replicaof 127.10.0.5 6379", id="other-primary"),
    pytest.param("127.10.0.7\n6379\n", 0, "--replicaof 127.0.0.1 1", id="itself"),
    pytest.param("", 0, "--replicaof 127.0.0.1 1", id="no-primary"),
    pytest.param("", 137, "--replicaof 127.0.0.1 1", id="timed-out"),
    pytest.param("IDONTKNOW I have not enough information\n", 0, "--replicaof 127.0.0.1 1",
                 id="error-reply"),
])
def test_the_start_script_replicates_only_a_primary_the_sentinels_name(
        tmp_path: Path, answer: str, cli_exit: int, expected: str) -> None:
    """Another pod named by the sentinels → its replica; itself, nothing or an error → a
    read-only replica of nothing reachable."""
    assert _run_script(tmp_path, answer, cli_exit=cli_exit) == \
        f"/etc/redis/redis.conf {expected}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
async def test_real_redis_started_as_a_replica_of_nowhere_keeps_its_data_read_only(
        tmp_path: Path) -> None:
    """The trick with real redis-server 7.0: restarted with `--replicaof 127.0.0.1 1` over
    its RDB it keeps the keys, refuses writes, and refuses to serve a sync."""
    import redis.asyncio as aioredis
    from redis.exceptions import ReadOnlyError, ResponseError

    port = _free_port()
    base = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
            "--save", "", "--appendonly", "no"]

    async def start(*extra: str) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *base, *extra, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        for _ in range(200):
            try:
                client = aioredis.Redis(port=port)
                await client.ping()
                await client.aclose()
                return process
            except Exception:  # noqa: BLE001 - not listening yet
                await asyncio.sleep(0.01)
        raise AssertionError("redis-server did not start")

    first = await start()
    client = aioredis.Redis(port=port, decode_responses=True)
    await client.mset({f"k{i}": i for i in range(10)})
    await client.save()
    await client.aclose()
    first.terminate()
    await first.wait()
    second = await start("--replicaof", *map(str, manifests.NOWHERE))
    client = aioredis.Redis(port=port, decode_responses=True)
    try:
        assert await client.dbsize() == 10
        with pytest.raises(ReadOnlyError):
            await client.set("k", "v")
        assert (await client.execute_command("ROLE"))[:3] == ["slave", "127.0.0.1", 1]
        with pytest.raises(ResponseError, match="NOMASTERLINK"):
            await client.execute_command("SYNC")
    finally:
        await client.aclose()
        second.terminate()
        await second.wait()
