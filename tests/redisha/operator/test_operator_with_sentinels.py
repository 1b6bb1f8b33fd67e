"""End to end on the fake backend with both images: the fake `redis` and the built-in
`redisha/sentinel`, the operator talking RESP to both."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from operator_env import FAST_OPERATOR, NAME, NAMESPACE, SHORT_SENTINELS
from operator_fakes import fake_cluster, wait_until, write_keys

import redisha.operator as rf_operator
from cluster.embedded import EmbeddedCluster
from redisha.operator import manifests
from redisha.operator.nodes import RedisNodes
from redisha.operator.sentinels import Address, RespSentinelClient
from redisha.sentinel.image import sentinel_image
from redisha.sentinel.settings import SentinelSettings


@contextlib.asynccontextmanager
async def running() -> AsyncIterator[EmbeddedCluster]:
    async with fake_cluster([sentinel_image(SentinelSettings.quick())]) as cluster:
        await rf_operator.install(cluster.client)
        operator = rf_operator.RedisFailoverOperator(cluster.client, cluster.informers,
                                                     settings=FAST_OPERATOR)
        await operator.start()
        try:
            yield cluster
        finally:
            await operator.stop()


@pytest.fixture
async def cluster() -> AsyncIterator[EmbeddedCluster]:
    async with running() as started:
        yield started


async def _create(cluster: EmbeddedCluster, redis: dict[str, Any] | None = None,
                  **sentinel: int) -> None:
    spec = {"sentinel": {**SHORT_SENTINELS, **sentinel}, "redis": dict(redis or {})}
    await cluster.client.create(rf_operator.sample(NAME, spec=spec), NAMESPACE)


async def _status(cluster: EmbeddedCluster) -> dict[str, Any]:
    return (await cluster.client.get("rf", NAME, NAMESPACE)).get("status") or {}


async def _wait(cluster: EmbeddedCluster, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def check() -> bool:
        seen["status"] = status = await _status(cluster)
        return bool(predicate(status))

    await wait_until(check, timeout, message=lambda: str(seen.get("status")))
    return seen["status"]


def _ready(status: dict[str, Any], generation: int = 1) -> bool:
    return status.get("phase") == "Ready" and status.get("observedGeneration", 0) >= generation


async def _roles(cluster: EmbeddedCluster) -> dict[str, str | None]:
    listed = await cluster.client.list("pods", NAMESPACE,
                                       label_selector=manifests.selector(NAME, "redis"))
    return {p["metadata"]["name"]: p["metadata"]["labels"].get(manifests.ROLE_LABEL)
            for p in listed.items if not p["metadata"].get("deletionTimestamp")}


async def _sentinel_views(status: dict[str, Any]) -> list[Any]:
    client = RespSentinelClient(timeout=1)
    try:
        return [await client.master(s["ip"]) for s in status["sentinels"]]
    finally:
        await client.close()


async def test_created_redisfailover_is_monitored_by_real_sentinels(cluster: EmbeddedCluster) -> None:
    """Ready: rfr-x-0 labelled primary, the replicas replicating it, every sentinel
    monitoring it and knowing its two peers and two replicas."""
    await _create(cluster)
    status = await _wait(cluster, _ready)
    assert status["primary"] == "rfr-x-0"
    assert await _roles(cluster) == {"rfr-x-0": "primary", "rfr-x-1": "replica",
                                     "rfr-x-2": "replica"}
    primary = Address(status["primaryIP"], 6379)
    for view in await _sentinel_views(status):
        assert (view.address, view.num_other_sentinels, view.down_after_ms) == (primary, 2, 1000)
    nodes = RedisNodes(timeout=1)
    try:
        for replica in status["replicas"]:
            info = await nodes.info(replica["ip"])
            assert (info.primary, info.link_up) == (primary, True)
    finally:
        await nodes.close()


async def test_deleting_the_primary_fails_over_through_the_sentinels_before_down_after(
        cluster: EmbeddedCluster) -> None:
    """Pod deleted → the sentinels elect and promote at the operator's request, long before
    their own down-after (30 s) could; lastFailover says PodDeleted with its times, no
    acknowledged write is lost, and rfr-x-0 comes back as a replica. (How fast is the
    scenarios' and benchmarks' business: ~0.1 s here, but a loaded CI machine varies.)"""
    await _create(cluster, downAfterMilliseconds=30_000)
    status = await _wait(cluster, _ready)
    await write_keys(status["primaryIP"], 50)
    await cluster.client.delete("pods", "rfr-x-0", NAMESPACE)

    async def moved() -> bool:
        roles = await _roles(cluster)
        return any(r == "primary" and n != "rfr-x-0" for n, r in roles.items())

    await wait_until(moved, timeout=10)  # down-after is 30 s: only the fast path fits
    status = await _wait(cluster, lambda s: _ready(s) and s["primary"] != "rfr-x-0")
    last = status["lastFailover"]
    assert (last["reason"], last["from"], last["to"]) == ("PodDeleted", "rfr-x-0",
                                                          status["primary"])
    assert last["epoch"] >= 1 and last["durationMs"] < 10_000
    client = aioredis.Redis(host=status["primaryIP"], port=6379, socket_timeout=2)
    try:
        assert await client.dbsize() == 50
    finally:
        await client.aclose()
    assert (await _roles(cluster))["rfr-x-0"] == "replica"
    assert all(v.address == Address(status["primaryIP"], 6379)
               for v in await _sentinel_views(status))


async def test_a_hung_primary_is_failed_over_by_the_sentinels_as_odown(
        cluster: EmbeddedCluster) -> None:
    """A frozen primary (the API sees nothing) is left to the sentinels' down-after; the
    switch is recorded with reason ODOWN and the labels follow."""
    await _create(cluster, downAfterMilliseconds=500)
    status = await _wait(cluster, _ready)
    pod = await cluster.client.get("pods", status["primary"], NAMESPACE)
    await cluster.kubelets[pod["spec"]["nodeName"]].freeze_pod(NAMESPACE, status["primary"])
    status = await _wait(cluster, lambda s: s.get("primary") not in ("", "rfr-x-0"))
    assert status["lastFailover"]["reason"] == "ODOWN"
    roles = await _roles(cluster)
    assert roles[status["primary"]] == "primary" and roles["rfr-x-0"] != "primary"


async def test_spec_changes_reach_the_sentinels_and_the_statefulset(
        cluster: EmbeddedCluster) -> None:
    """downAfterMilliseconds 1000→1500 is SENTINEL SET on every sentinel; redis.replicas
    3→4 adds rfr-x-3 as a replica the sentinels know."""
    await _create(cluster)
    await _wait(cluster, _ready)
    rf = await cluster.client.get("rf", NAME, NAMESPACE)
    rf["spec"]["sentinel"]["downAfterMilliseconds"] = 1500
    rf["spec"]["redis"]["replicas"] = 4
    generation = (await cluster.client.update(rf))["metadata"]["generation"]
    status = await _wait(cluster, lambda s: _ready(s, generation))
    assert sorted(r["name"] for r in status["replicas"]) == ["rfr-x-1", "rfr-x-2", "rfr-x-3"]
    views = await _sentinel_views(status)
    assert [v.down_after_ms for v in views] == [1500, 1500, 1500]

    async def known() -> bool:
        return all(v.num_slaves == 3 for v in await _sentinel_views(status))

    await wait_until(known)


async def test_repair_after_every_redis_pod_was_deleted_promotes_the_pod_with_the_data(
        cluster: EmbeddedCluster) -> None:
    """Persistence on; every redis pod deleted: they return with new addresses the
    sentinels never saw, so the operator promotes the one holding the data and points the
    sentinels at it; the acknowledged writes are all there."""
    await _create(cluster, {"persistence": {"enabled": True}}, failoverTimeoutMilliseconds=1000)
    status = await _wait(cluster, _ready)
    await write_keys(status["primaryIP"], 100)
    old_ips = {status["primaryIP"], *(r["ip"] for r in status["replicas"])}
    for i in range(3):
        await cluster.client.delete("pods", f"rfr-x-{i}", NAMESPACE)
    status = await _wait(cluster, lambda s: _ready(s) and s["primaryIP"] not in old_ips,
                         timeout=15)
    client = aioredis.Redis(host=status["primaryIP"], port=6379, socket_timeout=2)
    try:
        assert await client.dbsize() == 100
    finally:
        await client.aclose()
    events = await cluster.client.list("events", NAMESPACE)
    assert "Repaired" in {e["reason"] for e in events.items}
    assert all(v.address == Address(status["primaryIP"], 6379)
               for v in await _sentinel_views(status))


async def test_an_operator_restarted_after_a_failover_finishes_the_record() -> None:
    """Operator down, primary pod deleted: the sentinels fail over by themselves (ODOWN)
    and the recreated rfr-x-0 starts read-only; a new operator labels the new primary,
    rejoins rfr-x-0 and records the switch."""
    async with fake_cluster([sentinel_image(SentinelSettings.quick())]) as cluster:
        await rf_operator.install(cluster.client)
        first = rf_operator.RedisFailoverOperator(cluster.client, cluster.informers,
                                                  settings=FAST_OPERATOR)
        await first.start()
        await _create(cluster, downAfterMilliseconds=500)
        status = await _wait(cluster, _ready)
        await first.stop()
        await cluster.client.delete("pods", "rfr-x-0", NAMESPACE)
        old = Address(status["primaryIP"], 6379)
        nodes = RedisNodes(timeout=1)
        try:
            async def switched_with_rfr_x_0_read_only() -> bool:
                views = await _sentinel_views(status)
                pod = await cluster.client.get("pods", "rfr-x-0", NAMESPACE)
                ip = (pod.get("status") or {}).get("podIP")
                if any(v is None or v.address == old for v in views) or not ip \
                        or ip == old.ip:
                    return False
                try:
                    return not (await nodes.info(ip)).is_master
                except Exception:  # noqa: BLE001 - not listening yet
                    return False

            await wait_until(switched_with_rfr_x_0_read_only, timeout=10)
        finally:
            await nodes.close()
        second = rf_operator.RedisFailoverOperator(cluster.client, cluster.informers,
                                                   settings=FAST_OPERATOR)
        await second.start()
        try:
            status = await _wait(cluster, lambda s: _ready(s) and s["primary"] != "rfr-x-0")
            last = status["lastFailover"]
            assert (last["reason"], last["from"], last["to"]) == ("ODOWN", "rfr-x-0",
                                                                  status["primary"])
            roles = await _roles(cluster)
            assert roles[status["primary"]] == "primary" and roles["rfr-x-0"] == "replica"
        finally:
            await second.stop()
