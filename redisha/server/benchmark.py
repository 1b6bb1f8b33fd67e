"""Throughput of the fake server against fakeredis itself (issue 4's floor: >= 80%).

`fakeredis_inprocess()` times SET and GET through fakeredis' own `FakeRedis` client, in
process, pipelined in batches like `redis-benchmark -P`; `redis_benchmark()` runs Debian's
`redis-benchmark -t set,get -n N -P P -q` against an address and parses its summary lines.
`python -m redisha.server.benchmark` starts one fake pod on its own loopback address and
prints both, with the ratio.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import tempfile
import time

import fakeredis

_SUMMARY = re.compile(r"^([A-Z]+): ([0-9.]+) requests per second", re.MULTILINE)


def fakeredis_inprocess(requests: int = 100_000, pipeline: int = 16) -> dict[str, float]:
    """Operations per second of SET and GET through FakeRedis, `pipeline` per round trip."""
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer(version=(7, 0)))
    results: dict[str, float] = {}
    for name in ("set", "get"):
        start = time.perf_counter()
        for _ in range(0, requests, pipeline):
            pipe = client.pipeline(transaction=False)
            for _ in range(pipeline):
                if name == "set":
                    pipe.set("key:__rand_int__", "xxx")
                else:
                    pipe.get("key:__rand_int__")
            pipe.execute()
        results[name] = requests / (time.perf_counter() - start)
    return results


def parse_summary(output: str) -> dict[str, float]:
    """`SET: 24740.23 requests per second, …` lines → {"set": 24740.23, …}."""
    text = output.replace("\r", "\n")
    return {name.lower(): float(value) for name, value in _SUMMARY.findall(text)}


async def redis_benchmark(host: str, port: int, *, requests: int = 100_000,
                          pipeline: int = 16, binary: str = "redis-benchmark") -> dict[str, float]:
    """Run redis-benchmark for SET and GET; raises FileNotFoundError without redis-tools."""
    path = shutil.which(binary)
    if path is None:
        raise FileNotFoundError(f"{binary} not found: install Debian's redis-tools")
    process = await asyncio.create_subprocess_exec(
        path, "-h", host, "-p", str(port), "-t", "set,get", "-n", str(requests), "-P",
        str(pipeline), "-q", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    return parse_summary(output.decode(errors="replace"))


async def _main(requests: int) -> dict[str, dict[str, float]]:
    from cluster.network.addresses import PodIPAllocator, claim_ranges
    from cluster.network.dns import DNSTable
    from cluster.network.faults import Faults
    from cluster.network.sandbox import Sandbox
    from redisha.server.config import ServerConfig
    from redisha.server.logs import ServerLog
    from redisha.server.server import RedisServer

    ranges = claim_ranges()
    ip = PodIPAllocator(ranges.pod_network).allocate("bench")
    sandbox = Sandbox(uid="bench", name="bench", namespace="default", hostname="bench",
                      subdomain="", ip=ip, dns=DNSTable(), faults=Faults(clock=time.time),
                      hosts_path=tempfile.mktemp(prefix="redisha-bench-hosts-"))
    server = RedisServer(ServerConfig(), sandbox=sandbox, log=ServerLog(lambda line: None))
    server.prepare()
    await server.start()
    try:
        fake = await redis_benchmark(ip, 6379, requests=requests)
    finally:
        await server.close()
        sandbox.destroy()
        ranges.close()
    inprocess = await asyncio.to_thread(fakeredis_inprocess, requests)
    return {"fakeredis_inprocess": inprocess, "fake_direct": fake}


def main(argv: list[str]) -> int:
    requests = int(argv[0]) if argv else 100_000
    results = asyncio.run(_main(requests))
    inprocess, fake = results["fakeredis_inprocess"], results["fake_direct"]
    for name in ("set", "get"):
        print(f"{name.upper()}: fakeredis in-process {inprocess[name]:,.0f} ops/s, fake pod over "
              f"TCP {fake.get(name, 0):,.0f} ops/s ({fake.get(name, 0) / inprocess[name]:.0%})")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
