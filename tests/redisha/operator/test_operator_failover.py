"""Failovers with stand-in sentinels: the authoritative fast path (pod deleted, container
exited, node lost), the sentinels' own switches (ODOWN, manual), rejoins and repair."""

from __future__ import annotations

import dataclasses
import time

import redis.asyncio as aioredis
from operator_env import NAMESPACE, OperatorEnv, operator_env
from operator_fakes import wait_until, write_keys

from cluster.controllers.nodelifecycle import NodeLifecycleSettings
from cluster.embedded import ClusterSettings
from redisha.operator.nodes import RedisNodes
from redisha.operator.sentinels import Address


async def _dbsize(ip: str) -> int:
    client = aioredis.Redis(host=ip, port=6379, socket_timeout=2)
    try:
        return int(await client.dbsize())
    finally:
        await client.aclose()


async def _primary_moved(env: OperatorEnv, old: str) -> bool:
    roles = await env.roles()
    return any(role == "primary" and name != old for name, role in roles.items())


async def test_deleting_the_primary_pod_fails_over_at_once(env: OperatorEnv) -> None:
    """Pod deleted → SENTINEL FAILOVER to one sentinel, the new primary labelled within a
    second, lastFailover filled (PodDeleted, from, to, epoch, times), the data kept, and
    the recreated pod back as a replica of the new primary."""
    await env.create()
    status = await env.wait_phase("Ready")
    await write_keys(status["primaryIP"], 50)
    started = time.monotonic()
    await env.client.delete("pods", "rfr-x-0", NAMESPACE)
    await wait_until(lambda: _primary_moved(env, "rfr-x-0"), timeout=5)
    assert time.monotonic() - started < 1.0
    assert [c[0] for c in env.sentinels.calls].count("FAILOVER") == 1
    status = await env.wait_new_primary("rfr-x-0")
    last = status["lastFailover"]
    assert (last["reason"], last["from"], last["to"], last["epoch"]) == \
        ("PodDeleted", "rfr-x-0", status["primary"], 1)
    assert last["startedAt"] <= last["promotedAt"] <= last["completedAt"]
    assert 0 <= last["durationMs"] < 1000
    assert await _dbsize(status["primaryIP"]) == 50
    roles = await env.roles()
    assert roles["rfr-x-0"] == "replica" and list(roles.values()).count("primary") == 1
    reasons = await env.reasons()
    assert reasons.index("FailoverRequested") < len(reasons) - 1 - reasons[::-1].index(
        "PrimaryElected")


async def test_a_switch_whose_events_were_missed_is_still_seen_at_once(env: OperatorEnv) -> None:
    """The operator asked for a failover but none of the sentinels' `+switch-master`
    reached it (subscriptions not made yet, as right after bootstrap): it asks them what
    they name instead of waiting out the failover-timeout (10 s here)."""
    await env.create()
    await env.wait_phase("Ready")
    env.sentinels.events_lost = True
    started = time.monotonic()
    await env.client.delete("pods", "rfr-x-0", NAMESPACE)
    status = await env.wait_new_primary("rfr-x-0")
    assert time.monotonic() - started < 2.0
    assert status["lastFailover"]["from"] == "rfr-x-0"
    assert status["lastFailover"]["to"] == status["primary"]


async def test_a_crashed_primary_container_is_failed_over_as_container_exited(
        env: OperatorEnv) -> None:
    """The primary's container killed (restarting in place) → ContainerExited fast path; the
    restarted container comes back read-only and rejoins as a replica."""
    await env.create()
    status = await env.wait_phase("Ready")
    pod = await env.client.get("pods", status["primary"], NAMESPACE)
    await env.cluster.kubelets[pod["spec"]["nodeName"]].kill_pod_containers(NAMESPACE, status["primary"])
    status = await env.wait_new_primary(status["primary"])
    assert status["lastFailover"]["reason"] == "ContainerExited"
    assert (await env.roles())["rfr-x-0"] == "replica"


async def test_a_lost_node_fails_its_primary_over_as_node_lost() -> None:
    """The primary's node stops heartbeating → NotReady → NodeLost fast path."""
    quick = ClusterSettings.quick(nodes=3)
    settings = dataclasses.replace(quick, node_lifecycle=NodeLifecycleSettings(
        node_monitor_grace_period=0.75, node_startup_grace_period=4.0,
        default_toleration_seconds=30.0))
    async with operator_env(settings) as env:
        await env.create()
        status = await env.wait_phase("Ready")
        pod = await env.client.get("pods", status["primary"], NAMESPACE)
        await env.cluster.kill_node(pod["spec"]["nodeName"])
        await wait_until(lambda: _primary_moved(env, status["primary"]), timeout=8)
        last = (await env.status())["lastFailover"]
        assert (last["reason"], last["from"]) == ("NodeLost", status["primary"])


async def test_a_switch_the_sentinels_made_themselves_is_recorded_as_odown_or_manual(
        env: OperatorEnv) -> None:
    """With +odown published before the switch the reason is ODOWN; a switch with no
    +odown (someone's SENTINEL FAILOVER) is Manual; labels follow either way."""
    await env.create()
    status = await env.wait_phase("Ready")
    old = status["primaryIP"]
    env.sentinels.publish("+odown", f"master mymaster {old} 6379 #quorum 2/2")
    await env.sentinels.failover(env.sentinels.sentinel_ips()[0])
    status = await env.wait_new_primary(status["primary"])
    assert (status["lastFailover"]["reason"], status["lastFailover"]["from"]) == \
        ("ODOWN", "rfr-x-0")
    await env.sentinels.failover(env.sentinels.sentinel_ips()[1])
    status = await env.wait_new_primary(status["primary"])
    assert status["lastFailover"]["reason"] == "Manual"
    assert status["epoch"] == 2


async def test_a_pod_that_became_a_primary_on_its_own_is_rejoined(env: OperatorEnv) -> None:
    """A replica turned writable primary behind the sentinels' back is pointed back at the
    agreed primary (PodRejoined) and never labelled primary."""
    await env.create()
    status = await env.wait_phase("Ready")
    stray = status["replicas"][0]
    nodes = RedisNodes(timeout=1)
    try:
        await nodes.replicaof(stray["ip"], None)

        async def rejoined() -> bool:
            info = await nodes.info(stray["ip"])
            return info.primary == Address(status["primaryIP"], 6379)

        await wait_until(rejoined)
    finally:
        await nodes.close()
    assert "PodRejoined" in await env.reasons()

    async def relabelled() -> bool:
        return (await env.roles())[stray["name"]] == "replica"

    await wait_until(relabelled)


async def test_repair_after_every_redis_pod_restarted_keeps_the_data(env: OperatorEnv) -> None:
    """Persistence on, every redis pod deleted: the sentinels cannot promote anyone
    (NOGOODSLAVE), so the operator promotes the pod holding the data, tells the
    sentinels (MONITOR), and no acknowledged write is lost."""
    await env.create({"redis": {"persistence": {"enabled": True}}})
    status = await env.wait_phase("Ready")
    await write_keys(status["primaryIP"], 100)
    for pod in await env.pods():
        await env.client.delete("pods", pod["metadata"]["name"], NAMESPACE)

    async def repaired() -> bool:
        return "Repaired" in await env.reasons()

    await wait_until(repaired, timeout=10)
    status = await env.wait_phase("Ready")
    assert await _dbsize(status["primaryIP"]) == 100
    primary = Address(status["primaryIP"], 6379)
    assert all(v.master == primary for v in env.sentinels.views.values())
    assert any(c[0] == "MONITOR" and c[2] == str(primary) for c in env.sentinels.calls)
    message = dict(await env.events())["Repaired"]
    assert "offset" in message and "100 keys" in message


