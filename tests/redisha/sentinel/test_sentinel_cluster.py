"""The built-in Sentinel on an embedded cluster (fake backend): discovery and failover."""

from __future__ import annotations

import asyncio

from redis.sentinel import Sentinel
from sentinel_pods import NS, acall, deploy, events, fake_cluster, wait_until


async def test_sentinels_discover_each_other_and_the_replicas() -> None:
    """Three sentinels given only the primary find both replicas (via INFO) and each other
    (via hello messages), and name the primary to clients."""
    async with fake_cluster() as cluster:
        d = await deploy(cluster)
        for name, ip in d.sentinel_ips.items():
            master = await acall(ip, "SENTINEL", "MASTER", "mymaster")
            assert master["ip"] == d.redis_ips["redis-0"] and master["flags"] == "master"
            replicas = await acall(ip, "SENTINEL", "REPLICAS", "mymaster")
            assert sorted(r["ip"] for r in replicas) == sorted(
                [d.redis_ips["redis-1"], d.redis_ips["redis-2"]])
            peers = await acall(ip, "SENTINEL", "SENTINELS", "mymaster")
            assert sorted(p["ip"] for p in peers) == sorted(
                v for k, v in d.sentinel_ips.items() if k != name)
            assert (await d.primary_by(name)) == d.redis_ips["redis-0"]
            assert any(e.startswith("+sentinel sentinel ") for e in await events(cluster, name))


async def kill_container(cluster, pod_name: str) -> None:
    pod = await cluster.client.get("pods", pod_name, NS)
    await cluster.kubelets[pod["spec"]["nodeName"]].kill_pod_containers(NS, pod_name)


async def test_killed_primary_is_failed_over_once() -> None:
    """Killing the primary's container: every sentinel sees +sdown, the quorum +odown, one
    leader is elected and promotes one replica, all three publish +switch-master, the other
    replica follows the new primary, and the restarted old primary rejoins as a replica."""
    async with fake_cluster() as cluster:
        d = await deploy(cluster, down_after_ms=500, failover_timeout_ms=800)
        old = d.redis_ips["redis-0"]
        await kill_container(cluster, "redis-0")

        async def switched() -> bool:
            primary = await d.agreed_primary()
            return primary is not None and primary != old

        await wait_until(switched, 10, "no switch-master on every sentinel")
        new = await d.agreed_primary()
        assert new is not None
        logs = {name: await events(cluster, name) for name in d.sentinel_ips}
        for lines in logs.values():
            assert f"+sdown master mymaster {old} 6379" in lines, lines
            assert f"+switch-master mymaster {old} 6379 {new} 6379" in lines, lines
        leaders = [n for n, lines in logs.items() if any(e.startswith("+elected-leader")
                                                         for e in lines)]
        assert len(leaders) == 1, logs
        assert sum(1 for lines in logs.values() for e in lines
                   if e.startswith("+promoted-slave")) == 1
        assert any(e.startswith("+odown master mymaster") for e in logs[leaders[0]])
        other = next(ip for ip in d.redis_ips.values() if ip not in (old, new))

        async def follows(ip: str) -> bool:
            try:
                info = await acall(ip, "INFO", "replication", port=6379)
            except Exception:  # noqa: BLE001 - restarting
                return False
            return info.get("master_host") == new and info.get("master_link_status") == "up"

        await wait_until(lambda: follows(other), 10, "the other replica does not follow")
        await wait_until(lambda: follows(old), 10, "the old primary did not rejoin")


async def test_frozen_primary_is_failed_over_and_demoted_when_it_returns() -> None:
    """A frozen (SIGSTOPped) primary is failed over after down-after; thawed, it still
    claims to be a primary, and the sentinels turn it into a replica (+convert-to-slave)."""
    async with fake_cluster() as cluster:
        d = await deploy(cluster, down_after_ms=400)
        old = d.redis_ips["redis-0"]
        pod = await cluster.client.get("pods", "redis-0", NS)
        kubelet = cluster.kubelets[pod["spec"]["nodeName"]]
        await kubelet.freeze_pod(NS, "redis-0")

        async def switched() -> bool:
            primary = await d.agreed_primary()
            return primary is not None and primary != old

        await wait_until(switched, 10, "no switch-master on every sentinel")
        new = await d.agreed_primary()
        await kubelet.thaw_pod(NS, "redis-0")

        async def demoted() -> bool:
            info = await acall(old, "INFO", "replication", port=6379)
            return info.get("role") == "slave" and info.get("master_host") == new

        await wait_until(demoted, 10, "the old primary was not demoted")
        converted = [e for name in d.sentinel_ips
                     for e in await events(cluster, name, "+convert-to-slave")]
        assert converted and all(f"slave {old}:6379 {old} 6379 @ mymaster {new} 6379" in e
                                 for e in converted)


async def test_sentinel_failover_does_not_wait_for_down_after() -> None:
    """`SENTINEL FAILOVER mymaster` (the operator's fast path when the API says the primary
    is gone) runs the election at once: with down-after 30 s, the sentinels switch to a
    replica within a second, through a forced vote, and redis-py's Sentinel client follows."""
    async with fake_cluster() as cluster:
        d = await deploy(cluster, down_after_ms=30_000)
        old = d.redis_ips["redis-0"]

        def sentinel_client():
            return Sentinel([(ip, 26379) for ip in d.sentinel_ips.values()],
                            socket_timeout=2)

        writer = sentinel_client().master_for("mymaster", socket_timeout=2)
        assert await asyncio.to_thread(writer.set, "before", "1")
        await kill_container(cluster, "redis-0")
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await acall(d.sentinel_ips["sentinel-0"], "SENTINEL", "FAILOVER",
                           "mymaster") is True

        async def switched() -> bool:
            primary = await d.agreed_primary()
            return primary is not None and primary != old

        await wait_until(switched, 5, "no switch-master after SENTINEL FAILOVER")
        assert loop.time() - started < 1.0
        new = await d.agreed_primary()
        lines = await events(cluster, "sentinel-0")
        assert f"+try-failover master mymaster {old} 6379" in lines  # Redis' text: no flag
        assert not any(e.startswith("+sdown master") for e in lines)
        host, port = await asyncio.to_thread(sentinel_client().discover_master, "mymaster")
        assert (host, port) == (new, 6379)
        assert await asyncio.to_thread(writer.set, "after", "1")
        assert await acall(new, "GET", "before", port=6379) == "1"
        assert await acall(new, "GET", "after", port=6379) == "1"


async def test_ten_kills_at_200ms_down_after_fail_over_exactly_once_each() -> None:
    """With down-after 200 ms — where real Sentinel 7.0 fails over 5-7 times for one kill —
    ten kills of the primary give exactly ten promotions and ten switch-masters per
    sentinel: the new primary is never marked down by stale link timers or stale votes."""
    async with fake_cluster() as cluster:
        d = await deploy(cluster, down_after_ms=200, failover_timeout_ms=1000, redis_pods=5,
                         parallel_syncs=4)
        kills = 10
        for round_ in range(1, kills + 1):
            primary = await d.agreed_primary()
            assert primary is not None

            async def healthy(primary: str = primary) -> bool:
                replicas = await acall(d.sentinel_ips["sentinel-0"], "SENTINEL", "REPLICAS",
                                       "mymaster")
                return any(r["flags"] == "slave" and r["master-link-status"] == "ok"
                           and r["master-host"] == primary for r in replicas)

            await wait_until(healthy, 10, f"round {round_}: no healthy replica to fail over to")
            await kill_container(cluster, d.name_of(primary))

            async def switched(primary: str = primary) -> bool:
                new = await d.agreed_primary()
                return new is not None and new != primary

            await wait_until(switched, 10, f"round {round_}: no failover")

        async def settled() -> bool:
            """Every sentinel has watched the last primary answer for 5 x down-after."""
            for ip in d.sentinel_ips.values():
                master = await acall(ip, "SENTINEL", "MASTER", "mymaster")
                if master["role-reported-time"] < 1000 or master["flags"] != "master":
                    return False
            return True

        await wait_until(settled, 10, "the last primary did not stay up")
        promoted = [e for name in d.sentinel_ips
                    for e in await events(cluster, name, "+promoted-slave")]
        assert len(promoted) == kills, promoted
        for name in d.sentinel_ips:
            switches = await events(cluster, name, "+switch-master")
            assert len(switches) == kills, (name, switches)
