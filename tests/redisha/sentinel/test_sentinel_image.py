"""The fake `redisha/sentinel` image's programs: how they start, and how they refuse to."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from sentinel_pods import (
    NS,
    deploy,
    events,
    fake_cluster,
    running_pod,
    sentinel_conf,
    sentinel_pod,
    wait_until,
)

from cluster.embedded import EmbeddedCluster


async def exec_in(cluster: EmbeddedCluster, pod: str, *argv: str) -> tuple[int, str, str]:
    result = await cluster.client.pod_exec(pod, NS, command=list(argv), timeout=10)
    return result.exit_code, result.stdout.decode(), result.stderr.decode()


async def test_the_programs_refuse_to_start_without_what_sentinel_needs() -> None:
    """`redis-server` without --sentinel, no config file, an unreadable one, a bad
    statement: one clear line (Redis' wording) and exit 1; the running sentinel is unharmed."""
    async with fake_cluster() as cluster:
        conf = sentinel_conf("10.0.0.1", down_after_ms=1000, failover_timeout_ms=2000)
        await cluster.client.create(sentinel_pod("sentinel-0", conf), NS)
        await running_pod(cluster, "sentinel-0")
        await wait_until(lambda: events(cluster, "sentinel-0", "+monitor"), 5, "not started")
        code, _, err = await exec_in(cluster, "sentinel-0", "redis-server", "/tmp/sentinel.conf")
        assert code == 1 and "runs only Sentinel" in err
        code, out, _ = await exec_in(cluster, "sentinel-0", "redis-sentinel")
        assert code == 1 and "Sentinel needs config file on disk to save state. Exiting..." in out
        code, out, _ = await exec_in(cluster, "sentinel-0", "redis-sentinel", "/tmp/none.conf")
        assert code == 1 and "Fatal error, can't open config file '/tmp/none.conf'" in out
        code, _, _ = await exec_in(cluster, "sentinel-0", "sh", "-c",
                                   "echo 'sentinel frob 1' > /tmp/bad.conf")
        code, _, err = await exec_in(cluster, "sentinel-0", "redis-sentinel", "/tmp/bad.conf")
        assert code == 1 and "Unrecognized sentinel configuration statement." in err
        code, out, err = await exec_in(cluster, "sentinel-0", "redis-cli", "-p", "26379", "ping")
        assert (code, out) == (0, "PONG\n"), err


async def test_redis_cli_asks_the_sentinel_for_the_primary() -> None:
    """`redis-cli -p 26379 SENTINEL get-master-addr-by-name mymaster` answers the primary's
    address: the image's redis-cli inside a sentinel pod, and this machine's redis-cli
    over real TCP; the sentinel's config file holds its rewritten state."""
    async with fake_cluster() as cluster:
        d = await deploy(cluster)
        primary = d.redis_ips["redis-0"]
        code, out, _ = await exec_in(cluster, "sentinel-0", "redis-cli", "-p", "26379",
                                     "SENTINEL", "get-master-addr-by-name", "mymaster")
        assert (code, out) == (0, f"{primary}\n6379\n")
        code, out, _ = await exec_in(cluster, "sentinel-0", "cat", "/tmp/sentinel.conf")
        assert code == 0 and "sentinel myid " in out and "sentinel known-replica mymaster" in out
        binary = shutil.which("redis-cli")
        if binary is None:
            pytest.skip("this machine has no redis-cli")
        process = await asyncio.create_subprocess_exec(
            binary, "-h", d.sentinel_ips["sentinel-1"], "-p", "26379", "SENTINEL",
            "get-master-addr-by-name", "mymaster", stdout=asyncio.subprocess.PIPE)
        stdout, _ = await process.communicate()
        assert stdout.decode() == f"{primary}\n6379\n"
