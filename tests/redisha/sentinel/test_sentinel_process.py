"""`python -m redisha.sentinel CONF`: the standalone process, against fake redis pods."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

from sentinel_pods import (
    NS,
    acall,
    all_met,
    deploy_redis,
    fake_cluster,
    sentinel_conf,
    wait_until,
)

import redisha

ROOT = str(Path(redisha.__file__).resolve().parents[1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_sentinel(conf: Path, port: int) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": ROOT, "REDISHA_SENTINEL_SETTINGS": "quick"}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "redisha.sentinel", str(conf), "--port", str(port),
        "--bind", "127.0.0.1", env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)


async def test_three_sentinel_processes_fail_over_fake_pods(tmp_path: Path) -> None:
    """Three `python -m redisha.sentinel` processes monitor fake redis pods over real TCP,
    find each other, fail the killed primary over, rewrite their config files with the new
    master and epoch, and exit 0 on SIGTERM with Sentinel's shutdown lines."""
    async with fake_cluster() as cluster:
        ips = await deploy_redis(cluster, restart_policy="Never")
        old = ips["redis-0"]
        ports = [free_port() for _ in range(3)]
        confs = []
        for index in range(3):
            conf = tmp_path / f"sentinel-{index}.conf"
            conf.write_text("\n".join(sentinel_conf(old, down_after_ms=300,
                                                    failover_timeout_ms=2000)) + "\n")
            confs.append(conf)
        processes = [await start_sentinel(conf, port) for conf, port in zip(confs, ports)]
        try:
            sentinels = [("127.0.0.1", port) for port in ports]
            await wait_until(lambda: all_met(sentinels, 2), 15, "no discovery")
            pod = await cluster.client.get("pods", "redis-0", NS)
            await cluster.kubelets[pod["spec"]["nodeName"]].kill_pod_containers(NS, "redis-0")

            async def switched() -> bool:
                seen = set()
                for ip, port in sentinels:
                    master = await acall(ip, "SENTINEL", "MASTER", "mymaster", port=port)
                    if "failover_in_progress" in master["flags"]:
                        return False
                    seen.add(master["ip"])
                return len(seen) == 1 and old not in seen

            await wait_until(switched, 10, "no failover")
            new = (await acall("127.0.0.1", "SENTINEL", "MASTER", "mymaster",
                               port=ports[0]))["ip"]
            assert new in (ips["redis-1"], ips["redis-2"])
            for conf in confs:
                text = conf.read_text()
                assert f"sentinel monitor mymaster {new} 6379 2" in text
                assert "sentinel current-epoch 1" in text or "sentinel current-epoch 2" in text
        finally:
            for process in processes:
                if process.returncode is None:
                    process.terminate()
            outputs = [await asyncio.wait_for(p.communicate(), 10) for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0]
        for out, _ in outputs:
            log = out.decode()
            assert "Received SIGTERM scheduling shutdown..." in log
            assert "Sentinel is now ready to exit, bye bye..." in log
        assert any(f"+switch-master mymaster {old} 6379 {new} 6379" in out.decode()
                   for out, _ in outputs)
