"""The machine's Redis Sentinel (`bitnami/redis-sentinel`) watches and fails over fake redis pods."""

from __future__ import annotations

import asyncio
from typing import Any

import redis
from redis_pods import FAST

from cluster.embedded import ClusterSettings, EmbeddedCluster
from redisha import backends
from redisha.backends import Backend
from tests.real_redis import real_redis, requires_real_redis  # noqa: F401 - a fixture

pytestmark = real_redis

NS = "default"
SENTINEL_CONF = """port 26379
sentinel monitor mymaster {primary} 6379 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 5000
"""


def pod(name: str, image: str, *, args: list[str] | None = None,
        command: list[str] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": image}
    if args:
        container["args"] = args
    if command:
        container["command"] = command
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "containers": [container]}}


def sentinel_pod(name: str, primary_ip: str) -> dict[str, Any]:
    """A sentinel whose shell writes its config into the container's /tmp, then runs it."""
    conf = SENTINEL_CONF.format(primary=primary_ip)
    script = f"printf '%s' '{conf}' > /tmp/sentinel.conf && exec redis-sentinel /tmp/sentinel.conf"
    return pod(name, "bitnami/redis-sentinel", command=["sh", "-c", script])


async def running(cluster: EmbeddedCluster, name: str) -> dict[str, Any]:
    """The pod once its container runs."""
    found: dict[str, Any] = {}

    async def check() -> bool:
        current = await cluster.client.get("pods", name, NS)
        statuses = current.get("status", {}).get("containerStatuses") or []
        if statuses and "running" in statuses[0].get("state", {}):
            found.update(current)
            return True
        return False

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not await check():
        assert loop.time() < deadline, f"pod {name} not running"
        await asyncio.sleep(0.02)
    return found


def log_of(cluster: EmbeddedCluster, p: dict[str, Any]) -> str:
    kubelet = cluster.kubelets[p["spec"]["nodeName"]]
    return "\n".join(line.text for line in kubelet.logs(NS, p["metadata"]["name"]))


async def ask(ip: str, port: int, method: str, *args: Any) -> Any:
    """One redis-py call, off the loop the fake servers and the cluster run on."""
    def run() -> Any:
        with redis.Redis(host=ip, port=port, socket_timeout=5, decode_responses=True) as r:
            return getattr(r, method)(*args)
    return await asyncio.to_thread(run)


async def eventually(probe, predicate, timeout: float, message: str) -> Any:
    """Poll the coroutine `probe()` until `predicate(result)`; fail after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            result = await probe()
        except redis.RedisError as exc:
            result = exc
        if not isinstance(result, Exception) and predicate(result):
            return result
        assert loop.time() < deadline, f"{message}: last {result!r}"
        await asyncio.sleep(0.1)


async def test_real_sentinel_fails_over_fake_redis_pods() -> None:
    """Three real sentinels find the fake primary's replicas and each other at their pod
    addresses; when the primary's container is killed they promote a fake replica and the
    other follows it."""
    async with backends.start(Backend.FAKE, ClusterSettings.quick(nodes=3),
                              server_settings=FAST) as cluster:
        await cluster.client.create(pod("redis-0", "redis"), NS)
        primary = await running(cluster, "redis-0")
        primary_ip = primary["status"]["podIP"]
        for name in ("redis-1", "redis-2"):
            await cluster.client.create(
                pod(name, "redis", args=["--replicaof", primary_ip, "6379"]), NS)
        replicas = {name: (await running(cluster, name))["status"]["podIP"]
                    for name in ("redis-1", "redis-2")}
        for name in ("sentinel-0", "sentinel-1", "sentinel-2"):
            await cluster.client.create(sentinel_pod(name, primary_ip), NS)
        sentinels = {name: await running(cluster, name)
                     for name in ("sentinel-0", "sentinel-1", "sentinel-2")}
        sentinel_ips = {p["status"]["podIP"] for p in sentinels.values()}
        first = sentinels["sentinel-0"]
        first_ip = first["status"]["podIP"]

        found = await eventually(
            lambda: ask(first_ip, 26379, "sentinel_slaves", "mymaster"),
            lambda rs: {r["ip"] for r in rs} == set(replicas.values()), 10,
            "sentinel did not list the replicas")
        assert all(r["port"] == 6379 and "slave" in r["flags"] for r in found)
        peers = await eventually(
            lambda: ask(first_ip, 26379, "sentinel_sentinels", "mymaster"),
            lambda ps: len(ps) == 2, 10, "sentinel did not find its peers")
        assert {p["ip"] for p in peers} == sentinel_ips - {first_ip}
        # The primary sees each sentinel at its pod address too.
        clients = await ask(primary_ip, 6379, "client_list")
        assert {c["addr"].rsplit(":", 1)[0] for c in clients
                if c["name"].startswith("sentinel-")} == sentinel_ips

        await cluster.kubelets[primary["spec"]["nodeName"]].kill_pod_containers(NS, "redis-0")

        def switched() -> str:
            return "\n".join(log_of(cluster, p) for p in sentinels.values())

        async def logs() -> str:
            return switched()

        await eventually(logs, lambda text: "+switch-master mymaster" in text, 20,
                         "no +switch-master")
        line = next(x for x in switched().splitlines() if "+switch-master mymaster" in x)
        old, new = line.split("+switch-master mymaster ")[1].split()[0::2]
        assert old == primary_ip and new in replicas.values()
        role = await ask(new, 6379, "execute_command", "ROLE")
        assert role[0] == "master"
        other = next(ip for ip in replicas.values() if ip != new)
        await eventually(lambda: ask(other, 6379, "execute_command", "ROLE"),
                         lambda r: r[0] == "slave" and r[1] == new, 10,
                         "the other replica does not follow the new primary")
        addr = await ask(first_ip, 26379, "sentinel_get_master_addr_by_name", "mymaster")
        assert addr == (new, 6379)
        # Sentinel rewrote the config it was given, in the container's /tmp.
        kubelet = cluster.kubelets[first["spec"]["nodeName"]]
        result = await kubelet.exec(NS, "sentinel-0", None, ["cat", "/tmp/sentinel.conf"])
        assert "sentinel myid" in result.stdout.decode()


async def terminated(cluster: EmbeddedCluster, name: str) -> dict[str, Any]:
    """The container's terminated state once it has exited."""
    async def state() -> dict[str, Any]:
        current = await cluster.client.get("pods", name, NS)
        statuses = current.get("status", {}).get("containerStatuses") or [{}]
        return statuses[0].get("state", {})

    found = await eventually(state, lambda s: "terminated" in s, 10, f"{name} did not exit")
    return found["terminated"]


async def test_sentinel_without_a_config_file_exits_with_sentinels_words() -> None:
    """The image's entrypoint alone is Sentinel with no file to save its state in: the
    container exits 1 with Sentinel's own line, on the fake backend's hybrid nodes."""
    async with backends.start(Backend.FAKE, ClusterSettings.quick(nodes=1)) as cluster:
        await cluster.client.create(pod("lonely", "bitnami/redis-sentinel"), NS)
        state = await terminated(cluster, "lonely")
        assert state["exitCode"] == 1
        current = await cluster.client.get("pods", "lonely", NS)
        assert current["status"]["containerStatuses"][0]["containerID"].startswith("fake://")
        assert log_of(cluster, current).endswith(
            "# Sentinel needs config file on disk to save state. Exiting...")


async def test_the_real_backend_runs_the_sentinel_image() -> None:
    """On real redis-server pods the sentinel connects from its pod address (the primary
    lists it there) and the image's redis-cli reaches it at that address by default."""
    async with backends.start(Backend.REAL, ClusterSettings.quick(nodes=1)) as cluster:
        await cluster.client.create(pod("redis-0", "redis"), NS)
        primary_ip = (await running(cluster, "redis-0"))["status"]["podIP"]
        await cluster.client.create(sentinel_pod("sentinel-0", primary_ip), NS)
        sentinel = await running(cluster, "sentinel-0")
        sentinel_ip = sentinel["status"]["podIP"]

        def sentinel_clients(clients: list[dict[str, Any]]) -> set[str]:
            return {c["addr"].rsplit(":", 1)[0] for c in clients
                    if c["name"].startswith("sentinel-")}

        await eventually(lambda: ask(primary_ip, 6379, "client_list"),
                         lambda clients: sentinel_clients(clients) == {sentinel_ip}, 10,
                         "the primary does not see the sentinel at its pod address")
        kubelet = cluster.kubelets[sentinel["spec"]["nodeName"]]
        result = await kubelet.exec(NS, "sentinel-0", None,
                                    ["redis-cli", "-p", "26379", "sentinel",
                                     "get-master-addr-by-name", "mymaster"])
        assert (result.exit_code, result.stdout.decode()) == (0, f"{primary_ip}\n6379\n")
