"""Redis and sentinel pods on an embedded cluster, for the built-in Sentinel's tests.

Three redis pods (`redis-0` the first primary, `redis-1`/`redis-2` its replicas) and three
sentinel pods (`sentinel-0..2`, Service `sentinel`). A redis pod's start script asks the
sentinels who the primary is and follows it — so a restarted old primary comes back as a
replica — and starts as a replica of nothing when the sentinels still name itself (the
primary must not come back empty and writable). A module with its own name, so tests
import it unambiguously.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from cluster.runtime import containers, isolation
from cluster.runtime.base import Runtime
from cluster.runtime.fake import FakeRuntime
from cluster.runtime.images import ImageRegistry
from cluster.runtime.process import ProcessRuntime
from redisha.backends import Backend, cluster_settings, fake_images, real_images
from redisha.sentinel import real as sentinel_real
from redisha.sentinel.image import sentinel_image
from redisha.sentinel.settings import SentinelSettings
from redisha.server.replication import ReplicationSettings
from redisha.server.server import ServerSettings
from tests.waiting import wait_until

NS = "default"
QUICK = SentinelSettings.quick()
FAST_SERVER = ServerSettings(replication=ReplicationSettings(
    ack_period=0.05, cron_period=0.02, connect_retry=0.1))

REDIS_START = """\
m=$(redis-cli -h sentinel -p 26379 SENTINEL get-master-addr-by-name mymaster 2>/dev/null \
    | head -n 1)
set -- --port 6379 --repl-diskless-sync-delay 0
case "$m" in
  ''|*[!0-9.]*) exec redis-server "$@" $START_ARGS ;;
  "$POD_IP") exec redis-server "$@" --replicaof 127.0.0.1 1 ;;
  *) exec redis-server "$@" --replicaof "$m" 6379 ;;
esac
"""
"""A redis pod's command: follow the primary the sentinels name; never come back a primary."""


def fake_factory(sentinel_settings: SentinelSettings) -> Callable[..., Runtime]:
    def factory(node_name: str, settings: containers.RuntimeSettings) -> Runtime:
        images = [*fake_images(FAST_SERVER), sentinel_image(sentinel_settings)]
        return FakeRuntime(ImageRegistry(images), settings=settings)
    return factory


@contextlib.asynccontextmanager
async def fake_cluster(sentinel_settings: SentinelSettings = QUICK,
                       nodes: int = 3) -> AsyncIterator[EmbeddedCluster]:
    async with start_cluster(ClusterSettings.quick(nodes=nodes),
                             runtime_factory=fake_factory(sentinel_settings)) as cluster:
        yield cluster


def real_factory() -> Callable[..., Runtime]:
    """Real redis-server pods and the built-in Sentinel as a process (the real backend)."""
    def factory(node_name: str, settings: containers.RuntimeSettings) -> Runtime:
        images = [*real_images(), sentinel_real.process_image()]
        return ProcessRuntime(ImageRegistry(images), settings=settings)
    return factory


@contextlib.asynccontextmanager
async def real_cluster(nodes: int = 3) -> AsyncIterator[EmbeddedCluster]:
    """As `backends.start(Backend.REAL)` does, with the sentinel's process image added."""
    probed = await isolation.probe()
    if probed.degraded:
        pytest.skip(f"the real backend cannot isolate its pods: {probed.detail}")
    settings = cluster_settings(Backend.REAL, ClusterSettings.quick(nodes=nodes))
    settings = dataclasses.replace(settings, runtime=dataclasses.replace(
        settings.runtime, isolation=probed))
    try:
        async with start_cluster(settings, runtime_factory=real_factory()) as cluster:
            yield cluster
    finally:
        if settings.kubelet.volumes_dir:
            shutil.rmtree(settings.kubelet.volumes_dir, ignore_errors=True)


QUICK_ENV = [{"name": "REDISHA_SENTINEL_SETTINGS", "value": "quick"}]
"""A sentinel process's short periods (`redisha.sentinel.process`)."""


def redis_pod(name: str, start_args: str = "", restart_policy: str = "Always"
              ) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "redis"}},
            "spec": {"restartPolicy": restart_policy, "containers": [{
                "name": "redis", "image": "redis", "command": ["sh", "-c", REDIS_START],
                "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {
                    "fieldPath": "status.podIP"}}},
                        {"name": "START_ARGS", "value": start_args}]}]}}


def sentinel_conf(primary_ip: str, *, down_after_ms: int, failover_timeout_ms: int,
                  quorum: int = 2, parallel_syncs: int = 1) -> list[str]:
    return ["port 26379", f"sentinel monitor mymaster {primary_ip} 6379 {quorum}",
            f"sentinel down-after-milliseconds mymaster {down_after_ms}",
            f"sentinel failover-timeout mymaster {failover_timeout_ms}",
            f"sentinel parallel-syncs mymaster {parallel_syncs}"]


def sentinel_pod(name: str, conf: list[str], image: str = "redisha/sentinel",
                 env: list[dict[str, str]] | None = None) -> dict[str, Any]:
    quoted = " ".join("'" + line + "'" for line in conf)
    script = (f"printf '%s\\n' {quoted} > /tmp/sentinel.conf && "
              "exec redis-sentinel /tmp/sentinel.conf")
    container: dict[str, Any] = {"name": "sentinel", "image": image,
                                 "command": ["sh", "-c", script]}
    if env:
        container["env"] = env
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "sentinel"}},
            "spec": {"containers": [container]}}


SENTINEL_SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sentinel"},
                    "spec": {"selector": {"app": "sentinel"},
                             "ports": [{"port": 26379, "targetPort": 26379}]}}




async def running_pod(cluster: EmbeddedCluster, name: str,
                      timeout: float = 15) -> dict[str, Any]:
    """The pod once its container runs and it has an IP."""
    found: dict[str, Any] = {}

    async def ready() -> bool:
        try:
            pod = await cluster.client.get("pods", name, NS)
        except Exception:  # noqa: BLE001 - not created yet
            return False
        status = pod.get("status") or {}
        states = [cs.get("state", {}) for cs in status.get("containerStatuses") or ()]
        if status.get("podIP") and states and all("running" in s for s in states):
            found.update(pod)
            return True
        return False

    await wait_until(ready, timeout, f"pod {name} not running")
    return found


async def log_lines(cluster: EmbeddedCluster, name: str) -> list[str]:
    return [line.text for line in await cluster.client.pod_logs(name, NS)]


_EVENT = re.compile(r"^\d+:X \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} [#*\-.] (.*)$")


async def events(cluster: EmbeddedCluster, name: str, kind: str | None = None) -> list[str]:
    """A sentinel pod's log messages (prefix stripped), those starting with `kind` if given."""
    out = []
    for line in await log_lines(cluster, name):
        found = _EVENT.match(line)
        if found and (kind is None or found.group(1).split(" ", 1)[0] == kind):
            out.append(found.group(1))
    return out


def call(ip: str, *command: str, port: int = 26379, protocol: int = 2) -> Any:
    """One command with redis-py; `SENTINEL MASTER`-style commands go through redis-py's
    own methods (`sentinel_master`), so their replies are parsed as redis-py parses them."""
    with redis.Redis(host=ip, port=port, socket_timeout=5, decode_responses=True,
                     protocol=protocol) as r:
        if len(command) >= 2 and command[0].upper() == "SENTINEL":
            sub = command[1].lower().replace("-", "_").replace("replicas", "slaves")
            method = getattr(r, "sentinel_" + sub, None)
            if method is not None:
                return method(*command[2:])
        return r.execute_command(*command)


async def acall(ip: str, *command: str, port: int = 26379) -> Any:
    """One command with redis-py, off the loop the pods run on."""
    return await asyncio.to_thread(call, ip, *command, port=port)


@dataclass
class Deployment:
    """The pods of one test: redis and sentinel pod names and IPs."""

    cluster: EmbeddedCluster
    redis_ips: dict[str, str]
    sentinel_ips: dict[str, str]

    def name_of(self, ip: str) -> str:
        return next(n for n, i in self.redis_ips.items() if i == ip)

    async def primary_by(self, sentinel: str) -> str:
        reply = await acall(self.sentinel_ips[sentinel], "SENTINEL", "get-master-addr-by-name",
                            "mymaster")
        return str(reply[0])

    async def agreed_primary(self) -> str | None:
        """The primary IP every sentinel names after switch-master, or None."""
        seen = set()
        for ip in self.sentinel_ips.values():
            master = await acall(ip, "SENTINEL", "MASTER", "mymaster")
            if "failover_in_progress" in master["flags"]:
                return None
            seen.add(master["ip"])
        return seen.pop() if len(seen) == 1 else None


async def deploy_redis(cluster: EmbeddedCluster, *, redis_pods: int = 3,
                       restart_policy: str = "Always") -> dict[str, str]:
    """`redis_pods` redis pods, redis-0 the primary and the others its replicas: name → IP."""
    client = cluster.client
    await client.create(redis_pod("redis-0", restart_policy=restart_policy), NS)
    primary = (await running_pod(cluster, "redis-0"))["status"]["podIP"]
    replica_names = [f"redis-{i}" for i in range(1, redis_pods)]
    for name in replica_names:
        await client.create(redis_pod(name, f"--replicaof {primary} 6379", restart_policy), NS)
    redis_ips = {"redis-0": primary}
    for name in replica_names:
        redis_ips[name] = (await running_pod(cluster, name))["status"]["podIP"]
    return redis_ips


async def all_met(sentinels: list[tuple[str, int]], replicas: int) -> bool:
    """Every sentinel knows every replica, in sync with the master, and the two other
    sentinels."""
    for ip, port in sentinels:
        try:
            master = await acall(ip, "SENTINEL", "MASTER", "mymaster", port=port)
            listed = await acall(ip, "SENTINEL", "REPLICAS", "mymaster", port=port)
        except redis.RedisError:
            return False
        if master["num-slaves"] != replicas or master["num-other-sentinels"] != 2:
            return False
        if not all(r["master-link-status"] == "ok" for r in listed):
            return False
    return True


async def deploy(cluster: EmbeddedCluster, *, down_after_ms: int = 1000,
                 failover_timeout_ms: int = 2000, sentinel_image_name: str = "redisha/sentinel",
                 sentinel_env: list[dict[str, str]] | None = None,
                 redis_pods: int = 3, parallel_syncs: int = 1) -> Deployment:
    """`redis_pods` redis pods (redis-0 the primary) and 3 sentinels that have met each
    other and every replica."""
    client = cluster.client
    redis_ips = await deploy_redis(cluster, redis_pods=redis_pods)
    conf = sentinel_conf(redis_ips["redis-0"], down_after_ms=down_after_ms,
                         failover_timeout_ms=failover_timeout_ms, parallel_syncs=parallel_syncs)
    await client.create(SENTINEL_SERVICE, NS)
    for index in range(3):
        await client.create(sentinel_pod(f"sentinel-{index}", conf, sentinel_image_name,
                                         sentinel_env), NS)
    sentinel_ips = {}
    for index in range(3):
        name = f"sentinel-{index}"
        sentinel_ips[name] = (await running_pod(cluster, name))["status"]["podIP"]
    await wait_until(lambda: all_met([(ip, 26379) for ip in sentinel_ips.values()],
                                     redis_pods - 1),
                     15, "sentinels did not discover each other and the replicas")
    return Deployment(cluster, redis_ips, sentinel_ips)
