"""The built-in Sentinel as real processes, failing over real redis-server pods."""

from __future__ import annotations

from sentinel_pods import NS, QUICK_ENV, acall, deploy, events, real_cluster, wait_until

from tests.real_redis import real_redis, requires_real_redis  # noqa: F401 - fixture

pytestmark = real_redis


async def test_sentinel_processes_fail_over_a_killed_real_redis_server() -> None:
    """Real redis-server 7.0 pods, three `redisha/sentinel` process pods: the sentinels
    meet through real pub/sub, a SIGKILLed primary is failed over (the promotion's
    MULTI/REPLICAOF/CONFIG REWRITE/CLIENT KILL/EXEC accepted by the real server), and the
    other replica follows the new primary."""
    async with real_cluster() as cluster:
        d = await deploy(cluster, down_after_ms=500, sentinel_env=QUICK_ENV)
        old = d.redis_ips["redis-0"]
        pod = await cluster.client.get("pods", "redis-0", NS)
        await cluster.kubelets[pod["spec"]["nodeName"]].kill_pod_containers(NS, "redis-0")

        async def switched() -> bool:
            primary = await d.agreed_primary()
            return primary is not None and primary != old

        await wait_until(switched, 15, "no switch-master on every sentinel")
        new = await d.agreed_primary()
        role = await acall(new, "ROLE", port=6379)
        assert role[0] == "master"
        other = next(ip for ip in d.redis_ips.values() if ip not in (old, new))

        async def follows() -> bool:
            info = await acall(other, "INFO", "replication", port=6379)
            return info.get("master_host") == new and info.get("master_link_status") == "up"

        await wait_until(follows, 10, "the other replica does not follow the new primary")
        lines = [e for name in d.sentinel_ips for e in await events(cluster, name)]
        assert sum(1 for e in lines if e.startswith("+promoted-slave")) == 1
