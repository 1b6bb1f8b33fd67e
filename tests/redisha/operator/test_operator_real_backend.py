"""The operator on the real backend: real redis-server 7.0 pods, the built-in Sentinel as
processes."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis
from operator_env import FAST_OPERATOR, NAME, NAMESPACE, SHORT_SENTINELS
from operator_fakes import wait_until

import redisha.operator as rf_operator
from cluster.embedded import ClusterSettings
from redisha import backends
from redisha.backends import Backend
from tests.real_redis import real_redis, requires_real_redis  # noqa: F401 - fixture

pytestmark = real_redis


async def _replication(ip: str) -> dict[str, Any]:
    client = aioredis.Redis(host=ip, port=6379, socket_timeout=1, decode_responses=True)
    try:
        return await client.info("replication")
    finally:
        await client.aclose()


async def test_a_recreated_replica_is_in_sync_without_redis_7s_five_second_delay() -> None:
    """A replica pod deleted comes back empty with a new address and needs a full sync:
    the pods start with `repl-diskless-sync-delay 0`, so it follows the primary within
    a couple of seconds of getting its address, not after Redis 7's 5 s wait."""
    async with backends.start(Backend.REAL, ClusterSettings.quick(nodes=3)) as cluster:
        client = cluster.client
        await rf_operator.install(client)
        operator = rf_operator.RedisFailoverOperator(client, cluster.informers,
                                                     settings=FAST_OPERATOR)
        await operator.start()
        try:
            await client.create(rf_operator.sample(NAME, spec={
                "sentinel": dict(SHORT_SENTINELS)}), NAMESPACE)
            seen: dict[str, Any] = {}

            async def ready() -> bool:
                rf = await client.get("rf", NAME, NAMESPACE)
                seen["status"] = status = rf.get("status") or {}
                return status.get("phase") == "Ready"

            await wait_until(ready, 20, message=lambda: str(seen.get("status")))
            primary_ip = seen["status"]["primaryIP"]
            victim = seen["status"]["replicas"][0]
            await client.delete("pods", victim["name"], NAMESPACE)
            back: dict[str, Any] = {}

            async def readdressed() -> bool:
                try:
                    pod = await client.get("pods", victim["name"], NAMESPACE)
                except Exception:  # noqa: BLE001 - between deletion and recreation
                    return False
                ip = (pod.get("status") or {}).get("podIP") or ""
                back["ip"] = ip
                return bool(ip) and ip != victim["ip"] and \
                    not pod["metadata"].get("deletionTimestamp")

            await wait_until(readdressed, 15)
            started = time.monotonic()

            async def in_sync() -> bool:
                try:
                    info = await _replication(back["ip"])
                except Exception:  # noqa: BLE001 - not listening yet
                    return False
                back["info"] = info
                return (info.get("master_host") == primary_ip
                        and info.get("master_link_status") == "up")

            await wait_until(in_sync, 10, message=lambda: str(back.get("info")))
            assert time.monotonic() - started < 3.0
        finally:
            await operator.stop()
