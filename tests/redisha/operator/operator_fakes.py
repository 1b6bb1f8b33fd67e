"""Stand-ins for the operator's tests: sentinels that follow the contract's commands, a
sentinel image that only idles, and a cluster with the fake redis image.

`FakeSentinels` plays every sentinel of one RedisFailover, keyed by sentinel pod IP. Each
starts from the sentinel ConfigMap the operator wrote (as `sentinel.conf` would make it),
answers MASTER/REPLICAS/SENTINELS/GET-MASTER-ADDR-BY-NAME from its own view, records
MONITOR/REMOVE/SET/RESET, and runs a failover when asked: it promotes the replica of the
current primary with the highest offset through the real fake-redis pods (REPLICAOF),
moves every sentinel's view and publishes `+promoted-slave` and `+switch-master`. It is
a test double of the contract, not Sentinel: no pings, no votes.

A module with its own name (not `conftest`), so tests import it unambiguously.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from cluster.api import objects
from cluster.client import Client
from cluster.embedded import ClusterSettings, EmbeddedCluster, start_cluster
from cluster.runtime import base, containers, images
from cluster.runtime.fake import FakeRuntime
from cluster.runtime.images import Image, ImageRegistry
from redisha import backends
from redisha.backends import Backend
from redisha.operator import manifests
from redisha.operator.nodes import RedisNodes
from redisha.operator.resp_client import ReplyError, Unreachable
from redisha.operator.sentinels import Address, MasterState, SentinelEvent, SentinelView
from redisha.server.image import redis_image
from redisha.server.replication import ReplicationSettings
from redisha.server.server import ServerSettings
from tests.waiting import wait_until  # noqa: F401  (tests import it from here)

FAST = ServerSettings(replication=ReplicationSettings(ack_period=0.05, cron_period=0.02,
                                                      connect_retry=0.2))
"""The fake redis with short intervals: replicas reconnect within 0.2 s."""


class IdleSentinel:
    """`redis-sentinel` that runs until stopped and answers nothing (FakeSentinels speaks
    for it)."""

    async def run(self, ctx: images.ProgramContext) -> int:
        await ctx.stop_requested.wait()
        return 0


def idle_sentinel_image() -> Image:
    return Image(name="redisha/sentinel", programs={"redis-sentinel": IdleSentinel},
                 entrypoint=("redis-sentinel",))


@contextlib.asynccontextmanager
async def fake_cluster(extra: list[Image], *, settings: ClusterSettings | None = None,
                       ) -> AsyncIterator[EmbeddedCluster]:
    """An embedded cluster on the fake backend (3 nodes, quick settings by default), with
    `extra` images beside redis."""
    settings = backends.cluster_settings(Backend.FAKE, settings or ClusterSettings.quick(nodes=3))

    def runtime(node: str, rs: containers.RuntimeSettings) -> base.Runtime:
        return FakeRuntime(ImageRegistry([redis_image(FAST), *extra]), settings=rs)

    try:
        async with start_cluster(settings, runtime_factory=runtime) as cluster:
            yield cluster
    finally:
        if settings.kubelet.volumes_dir:
            shutil.rmtree(settings.kubelet.volumes_dir, ignore_errors=True)


@dataclass
class FakeSentinel:
    """One sentinel's view."""

    ip: str
    master: Address | None
    options: dict[str, str] = field(default_factory=dict)
    epoch: int = 0
    replicas: list[Address] = field(default_factory=list)
    """Known replicas: discovered from the pods that replicate `master`, never forgotten
    until RESET (as a sentinel learns them from the primary's INFO)."""
    others: list[Address] | None = None
    """Known sentinels; None: every other sentinel of the fake (they met by hello)."""


class FakeSentinels:
    """Every sentinel of RedisFailover `rf_name` (see the module docstring)."""

    def __init__(self, client: Client, namespace: str, rf_name: str) -> None:
        self.client = client
        self.namespace = namespace
        self.rf_name = rf_name
        self.nodes = RedisNodes(timeout=0.5)
        self.views: dict[str, FakeSentinel] = {}
        self.calls: list[tuple[str, ...]] = []
        self.reset_times: list[float] = []
        """`time.monotonic()` of each RESET."""
        self.no_good_replica = False
        """Answer FAILOVER with -NOGOODSLAVE."""
        self.down: set[str] = set()
        """Sentinel IPs that do not answer."""
        self.follow_failover = True
        """Whether a failover moves the views of the other sentinels too."""
        self.events_lost = False
        """Drop every published event (a subscription not made yet, or broken)."""
        self._queues: dict[str, list[asyncio.Queue[SentinelEvent | None]]] = {}

    # -- the views -----------------------------------------------------------------------

    async def _view(self, ip: str) -> FakeSentinel:
        if ip in self.down:
            raise Unreachable(f"{ip}:26379: timed out")
        view = self.views.get(ip)
        if view is None:
            config = await self.client.get("configmaps", manifests.sentinel_name(self.rf_name),
                                           self.namespace)
            monitored = manifests.monitored_ip(config)
            options = {"down-after-milliseconds": "5000", "failover-timeout": "10000",
                       "parallel-syncs": "1", "quorum": "2"}
            for line in (config.get("data") or {}).get("sentinel.conf", "").splitlines():
                words = line.split()
                if len(words) == 4 and words[0] == "sentinel" and words[1] in options:
                    options[words[1]] = words[3]
                if len(words) == 6 and words[:2] == ["sentinel", "monitor"]:
                    options["quorum"] = words[5]
            view = self.views[ip] = FakeSentinel(
                ip, Address(monitored, 6379) if monitored else None, options)
        return view

    def sentinel_ips(self) -> list[str]:
        return sorted(self.views)

    def publish(self, channel: str, message: str) -> None:
        if self.events_lost:
            return
        event_fields = _parse(channel, message)
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(event_fields)

    # -- SentinelClient -------------------------------------------------------------------

    async def get_master_addr(self, ip: str) -> Address | None:
        return (await self._view(ip)).master

    def known_sentinels(self, view: FakeSentinel) -> list[Address]:
        if view.others is not None:
            return list(view.others)
        return [Address(other, 26379) for other in sorted(self.views) if other != view.ip]

    async def _discover(self, view: FakeSentinel) -> None:
        if view.master is None:
            return
        for ip in await self._redis_ips():
            address = Address(ip, 6379)
            if address == view.master or address in view.replicas:
                continue
            try:
                info = await self.nodes.info(ip)
            except (Unreachable, ReplyError):
                continue
            if info.primary == view.master:
                view.replicas.append(address)

    async def master(self, ip: str) -> MasterState | None:
        view = await self._view(ip)
        if view.master is None:
            return None
        await self._discover(view)
        o = view.options
        return MasterState(address=view.master, flags=frozenset({"master"}),
                           config_epoch=view.epoch, num_slaves=len(view.replicas),
                           num_other_sentinels=len(self.known_sentinels(view)), quorum=int(o["quorum"]),
                           down_after_ms=int(o["down-after-milliseconds"]),
                           failover_timeout_ms=int(o["failover-timeout"]),
                           parallel_syncs=int(o["parallel-syncs"]))

    async def replicas(self, ip: str) -> list[Address]:
        return list((await self._view(ip)).replicas)

    async def sentinels(self, ip: str) -> list[Address]:
        return self.known_sentinels(await self._view(ip))

    async def observe(self, ip: str) -> SentinelView:
        master = await self.master(ip)
        return SentinelView(master.address if master else None, master,
                            tuple(await self.replicas(ip)), tuple(await self.sentinels(ip)))

    async def monitor(self, ip: str, primary: Address, quorum: int) -> None:
        view = await self._view(ip)
        self.calls.append(("MONITOR", ip, str(primary), str(quorum)))
        if view.master is not None:
            raise ReplyError("ERR Duplicated master name")
        view.master = primary
        view.options["quorum"] = str(quorum)
        view.epoch = 0
        view.replicas, view.others = [], None

    async def remove(self, ip: str) -> None:
        view = await self._view(ip)
        self.calls.append(("REMOVE", ip))
        view.master = None

    async def set(self, ip: str, options: Mapping[str, str]) -> None:
        view = await self._view(ip)
        self.calls.append(("SET", ip, *[f"{k}={v}" for k, v in options.items()]))
        view.options.update(options)

    async def reset(self, ip: str) -> int:
        view = await self._view(ip)
        self.calls.append(("RESET", ip))
        self.reset_times.append(time.monotonic())
        view.replicas, view.others = [], None
        return 1

    async def failover(self, ip: str) -> None:
        view = await self._view(ip)
        self.calls.append(("FAILOVER", ip))
        if self.no_good_replica or view.master is None:
            raise ReplyError("NOGOODSLAVE No suitable replica to promote")
        old = view.master
        chosen = await self._best_replica(old)
        if chosen is None:
            raise ReplyError("NOGOODSLAVE No suitable replica to promote")
        await self.nodes.replicaof(chosen, None)
        new = Address(chosen, 6379)
        epoch = max(v.epoch for v in self.views.values()) + 1
        self.publish("+promoted-slave", f"slave {new} {new.ip} {new.port} @ mymaster "
                                        f"{old.ip} {old.port}")
        for other in await self._redis_ips():
            if other != chosen:
                with contextlib.suppress(Unreachable, ReplyError):
                    await self.nodes.replicaof(other, new)
        targets = self.views.values() if self.follow_failover else [view]
        for target in targets:
            target.master, target.epoch = new, epoch
            target.replicas.append(old)
        self.publish("+switch-master", f"mymaster {old.ip} {old.port} {new.ip} {new.port}")

    async def _redis_ips(self) -> list[str]:
        listed = await self.client.list("pods", self.namespace,
                                        label_selector=manifests.selector(self.rf_name, "redis"))
        return [p["status"]["podIP"] for p in listed.items
                if (p.get("status") or {}).get("podIP") and not objects.is_terminating(p)]

    async def _best_replica(self, old: Address) -> str | None:
        best: tuple[int, str] | None = None
        for ip in await self._redis_ips():
            if ip == old.ip:
                continue
            try:
                info = await self.nodes.info(ip)
            except (Unreachable, ReplyError):
                continue
            if info.is_master or info.primary != old:
                continue
            if best is None or info.replica_offset > best[0]:
                best = (info.replica_offset, ip)
        return best[1] if best else None

    async def events(self, ip: str) -> AsyncIterator[SentinelEvent]:
        await self._view(ip)
        queue: asyncio.Queue[SentinelEvent | None] = asyncio.Queue()
        self._queues.setdefault(ip, []).append(queue)
        try:
            while True:
                event = await queue.get()
                if event is None:
                    return
                yield event
        finally:
            self._queues[ip].remove(queue)

    def forget(self, ip: str) -> None:
        pass

    async def close(self) -> None:
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(None)
        await self.nodes.close()


def _parse(channel: str, message: str) -> SentinelEvent:
    from redisha.operator.sentinels import parse_event
    return parse_event(channel, message)


# -- helpers ----------------------------------------------------------------------------------


async def write_keys(ip: str, count: int) -> None:
    """SET key:0..count-1 on the primary at `ip` and wait until both replicas have them."""
    client = aioredis.Redis(host=ip, port=6379, socket_timeout=2)
    try:
        for i in range(count):
            await client.set(f"key:{i}", i)
        assert await client.wait(2, 2000) == 2
    finally:
        await client.aclose()
