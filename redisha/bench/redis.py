"""`redisha bench redis`: Debian's `redis-benchmark` against redis pods, side by side.

`redis-benchmark -t set,get -n N -P P -q` (50 clients, the tool's default) measures five
targets in one run:

- **fakeredis_inprocess**: fakeredis' own `FakeRedis` client and server in this process,
  pipelined `P` commands per round trip — the ceiling the fake image is held to;
- **fake_direct / fake_service**: a fake `redis` pod (fakeredis behind our RESP server) on
  the embedded cluster, at its pod IP and through its ClusterIP Service;
- **real_direct / real_service**: the same pod spec on the process runtime, i.e. the
  machine's `redis-server`, at its pod IP and through its Service.

Two floors (issue 4) compare figures of the same run, because this machine's speed
drifts by ±20% between runs: the fake pod over TCP keeps >= 80% of fakeredis in-process
for each command, and the service proxy keeps >= 50% of direct throughput on the real
pod (on the fake pod the server, not the proxy, is the bottleneck, so only the real pod
shows what the proxy costs).

The targets are measured one after the other, never two at once, so that no two share the
machine's two cores: fakeredis before any cluster starts, then each backend's cluster in
turn, stopped before the next one starts. A pod is measured in rounds — pod IP, then
Service — repeated until `MIN_MEASURING_SECONDS` have passed, and each figure is the best
of its runs: a real redis-server serves 100,000 requests in a fraction of a second, so
one run is easily slowed by whatever else the machine is doing — which only ever slows a
run down, so the fastest run is the one least disturbed (as `timeit` takes the minimum
time). A fake pod's round takes seconds and usually runs once.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import fakeredis

from cluster.embedded import EmbeddedCluster
from redisha import backends
from redisha.server import real

COMMANDS = ("set", "get")
"""What `-t set,get` measures, in redis-benchmark's order."""

NAMESPACE = "default"
POD = "redis"
SERVICE = "redis"
PORT = 6379

FAKE_FLOOR = 0.80
"""The fake pod over TCP keeps at least this share of fakeredis' in-process ops/s."""
SERVICE_FLOOR = 0.50
"""Through its Service, the real pod keeps at least this share of its direct ops/s."""

MIN_MEASURING_SECONDS = 3.0
"""A pod's rounds (pod IP, then Service) repeat until this long has been spent on them."""
MAX_ROUNDS = 9
"""At most this many rounds per pod."""

_SUMMARY = re.compile(r"^([A-Z]+): ([0-9.]+) requests per second", re.MULTILINE)
_CONNECT_FAILED = re.compile(r"Could not connect to Redis at [^\r\n]*")


class BackendChoice(str, Enum):
    """Which backends' pods `--backend` measures."""

    FAKE = "fake"
    REAL = "real"
    BOTH = "both"

    def chosen(self) -> list[backends.Backend]:
        if self is BackendChoice.BOTH:
            return [backends.Backend.FAKE, backends.Backend.REAL]
        return [backends.Backend(self.value)]


class Target(str, Enum):
    """One measured column of the report; the value is its `--json` key."""

    FAKEREDIS_INPROCESS = "fakeredis_inprocess"
    FAKE_DIRECT = "fake_direct"
    FAKE_SERVICE = "fake_service"
    REAL_DIRECT = "real_direct"
    REAL_SERVICE = "real_service"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Target.FAKEREDIS_INPROCESS: "fakeredis in-process",
    Target.FAKE_DIRECT: "fake pod, pod IP",
    Target.FAKE_SERVICE: "fake pod, Service",
    Target.REAL_DIRECT: "redis-server pod, pod IP",
    Target.REAL_SERVICE: "redis-server pod, Service",
}


class BenchUnavailable(Exception):
    """The benchmark cannot run or could not measure; the message is one line naming why."""


@dataclass(frozen=True)
class Floor:
    """One floor checked on one command: `measured / baseline >= required`."""

    target: Target
    baseline: Target
    command: str
    required: float
    ratio: float

    @property
    def met(self) -> bool:
        return self.ratio >= self.required


@dataclass(frozen=True)
class RedisBench:
    """The figures of one run: ops/s per target and command (only the targets measured)."""

    requests: int
    pipeline: int
    figures: dict[Target, dict[str, float]]
    runs: dict[Target, int] = field(default_factory=dict)
    """How many redis-benchmark runs each figure is the best of (1 if absent)."""

    def floors(self) -> list[Floor]:
        """The floors whose both sides were measured in this run."""
        pairs = ((Target.FAKE_DIRECT, Target.FAKEREDIS_INPROCESS, FAKE_FLOOR),
                 (Target.REAL_SERVICE, Target.REAL_DIRECT, SERVICE_FLOOR))
        floors = []
        for target, baseline, required in pairs:
            if target in self.figures and baseline in self.figures:
                for command in COMMANDS:
                    base_ops = self.figures[baseline][command]
                    ratio = self.figures[target][command] / base_ops if base_ops else 0.0
                    floors.append(Floor(target, baseline, command, required, ratio))
        return floors

    def to_json(self) -> dict[str, dict[str, float]]:
        """`{"fakeredis_inprocess": {"set": ops, "get": ops}, "fake_direct": …}`."""
        return {target.value: {c: round(self.figures[target][c], 2) for c in COMMANDS}
                for target in Target if target in self.figures}

    def to_text(self) -> str:
        title = (f"redis-benchmark -t set,get -n {self.requests} -P {self.pipeline} "
                 "(requests per second)")
        lines = [title, ""]
        width = max(len(t.label) for t in self.figures)
        lines.append(f"{'target':<{width}}  {'SET':>11}  {'GET':>11}  runs")
        for target in Target:
            if target in self.figures:
                ops = self.figures[target]
                lines.append(f"{target.label:<{width}}  {ops['set']:>11,.0f}  "
                             f"{ops['get']:>11,.0f}  {self.runs.get(target, 1):>4}")
        floors = self.floors()
        if floors:
            lines += ["", "floors:"]
        for floor in floors:
            verdict = "met" if floor.met else "NOT met"
            lines.append(f"  {floor.command.upper()}: {floor.target.label} is "
                         f"{floor.ratio:.0%} of {floor.baseline.label} "
                         f"(floor {floor.required:.0%}): {verdict}")
        return "\n".join(lines)


# -- measuring ---------------------------------------------------------------------------------

def fakeredis_inprocess(requests: int = 100_000, pipeline: int = 16) -> dict[str, float]:
    """Ops/s of SET and GET through fakeredis' own client, `pipeline` commands per round
    trip, on one key as redis-benchmark uses without `-r`.

    Blocking and CPU-bound: call it while nothing else needs the loop."""
    client = fakeredis.FakeRedis(server=fakeredis.FakeServer(version=(7, 0)))
    results: dict[str, float] = {}
    for name in COMMANDS:
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
    """`SET: 24740.23 requests per second, p50=…` lines (`-q`) → {"set": 24740.23, …}.
    Progress updates end in `\\r`, so they are split off first."""
    text = output.replace("\r", "\n")
    return {name.lower(): float(value) for name, value in _SUMMARY.findall(text)}


def benchmark_binary(binary: str = "redis-benchmark") -> str:
    """The path of `binary`, or BenchUnavailable naming the package that provides it."""
    path = shutil.which(binary)
    if path is None:
        raise BenchUnavailable(real.install_hint([binary]))
    return path


async def ping(host: str, port: int, *, timeout: float = 5.0) -> None:
    """One PING, so an address that does not answer fails in one line — redis-benchmark
    itself retries a refused connection forever."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(b"PING\r\n")
                reply = await reader.readline()
            finally:
                writer.close()
    except TimeoutError:
        raise BenchUnavailable(f"Could not connect to Redis at {host}:{port}: no answer "
                               f"within {timeout:g} s") from None
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise BenchUnavailable(f"Could not connect to Redis at {host}:{port}: {reason}") from None
    if not reply.startswith(b"+PONG"):
        raise BenchUnavailable(f"Redis at {host}:{port} answered PING with {reply!r}")


async def redis_benchmark(host: str, port: int, *, requests: int = 100_000,
                          pipeline: int = 16, binary: str = "redis-benchmark",
                          timeout: float = 600.0) -> dict[str, float]:
    """Run `redis-benchmark -t set,get -n requests -P pipeline -q` against host:port and
    return ops/s per command; BenchUnavailable when it cannot run or measure."""
    path = benchmark_binary(binary)
    await ping(host, port)
    process = await asyncio.create_subprocess_exec(
        path, "-h", host, "-p", str(port), "-t", ",".join(COMMANDS), "-n", str(requests),
        "-P", str(pipeline), "-q",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    assert process.stdout is not None
    output = ""
    try:
        async with asyncio.timeout(timeout):
            while chunk := await process.stdout.read(65536):
                output += chunk.decode(errors="replace")
                failed = _CONNECT_FAILED.search(output)
                if failed:
                    raise BenchUnavailable(f"redis-benchmark: {failed.group(0)}")
            await process.wait()
    except TimeoutError:
        raise BenchUnavailable(
            f"redis-benchmark against {host}:{port} did not finish in {timeout:.0f} s") from None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    figures = parse_summary(output)
    if process.returncode != 0 or any(c not in figures for c in COMMANDS):
        last = next((line.strip() for line in reversed(output.replace("\r", "\n").splitlines())
                     if line.strip()), "no output")
        raise BenchUnavailable(f"redis-benchmark against {host}:{port} exited "
                               f"{process.returncode}: {last}")
    return figures


# -- the pods ----------------------------------------------------------------------------------

def redis_pod() -> dict[str, Any]:
    """Pod `redis`, image `redis`, never saving to disk mid-run; ready once it listens."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": POD, "namespace": NAMESPACE, "labels": {"app": POD}},
        "spec": {"containers": [{
            "name": "redis", "image": "redis",
            "args": ["--save", ""],
            "ports": [{"name": "redis", "containerPort": PORT}],
            "readinessProbe": {"tcpSocket": {"port": PORT}, "periodSeconds": 1},
        }]},
    }


def redis_service() -> dict[str, Any]:
    """ClusterIP Service `redis` on 6379 selecting the pod."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": SERVICE, "namespace": NAMESPACE},
        "spec": {"selector": {"app": POD},
                 "ports": [{"name": "redis", "port": PORT, "targetPort": "redis"}]},
    }


async def _wait(what: str, check: Callable[[], Awaitable[bool]], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise BenchUnavailable(f"{what} within {timeout:.0f} s")
        await asyncio.sleep(0.02)


def _pod_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _why_not_ready(pod: dict[str, Any]) -> str:
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or ():
        for state in (container.get("state") or {}).values():
            if state.get("reason"):
                return f"{state['reason']}: {state.get('message', '')}".rstrip(": ")
    return f"phase {status.get('phase', 'Pending')}"


async def deploy(cluster: EmbeddedCluster, *, timeout: float = 30.0) -> tuple[str, str]:
    """Create the pod and its Service, wait until the pod is Ready and the Service has an
    endpoint and a listener; returns (pod IP, ClusterIP)."""
    client = cluster.client
    await client.create(redis_pod(), NAMESPACE)
    service = await client.create(redis_service(), NAMESPACE)
    cluster_ip = service["spec"]["clusterIP"]
    pod: dict[str, Any] = {}

    async def ready() -> bool:
        nonlocal pod
        pod = await client.get("pods", POD, NAMESPACE)
        return _pod_ready(pod)

    try:
        await _wait(f"pod {POD} not Ready", ready, timeout)
    except BenchUnavailable as exc:
        raise BenchUnavailable(f"{exc} ({_why_not_ready(pod)})") from None

    async def served() -> bool:
        endpoints = await client.get("endpoints", SERVICE, NAMESPACE)
        subsets = endpoints.get("subsets") or ()
        port = cluster.network.proxy.port(NAMESPACE, SERVICE, PORT)
        return any(s.get("addresses") for s in subsets) and port is not None and port.listening

    await _wait(f"service {SERVICE} has no ready endpoint", served, timeout)
    return pod["status"]["podIP"], cluster_ip


def best_figures(runs: list[dict[str, float]]) -> dict[str, float]:
    """Per command, the highest ops/s of several runs."""
    return {c: max(run[c] for run in runs) for c in COMMANDS}


async def _measure_pods(backend: backends.Backend, *, requests: int, pipeline: int,
                        binary: str, min_seconds: float) -> RedisBench:
    """Rounds of (pod IP, Service) until `min_seconds` were spent on them (at least one,
    at most MAX_ROUNDS); each figure is its target's best run. Interleaving keeps both
    targets in the same phases of this machine's speed, so their ratio holds better
    than either figure."""
    direct, service = ((Target.REAL_DIRECT, Target.REAL_SERVICE)
                       if backend is backends.Backend.REAL
                       else (Target.FAKE_DIRECT, Target.FAKE_SERVICE))
    rounds: dict[Target, list[dict[str, float]]] = {direct: [], service: []}
    try:
        async with backends.start(backend) as cluster:
            addresses = dict(zip((direct, service), await deploy(cluster), strict=True))
            loop = asyncio.get_running_loop()
            started = loop.time()
            while len(rounds[direct]) < MAX_ROUNDS and (
                    not rounds[direct] or loop.time() - started < min_seconds):
                for target, address in addresses.items():
                    rounds[target].append(await redis_benchmark(
                        address, PORT, requests=requests, pipeline=pipeline, binary=binary))
    except backends.BackendUnavailable as exc:
        raise BenchUnavailable(str(exc)) from None
    return RedisBench(requests=requests, pipeline=pipeline,
                      figures={t: best_figures(r) for t, r in rounds.items()},
                      runs={t: len(r) for t, r in rounds.items()})


async def run(*, backend: BackendChoice = BackendChoice.BOTH, requests: int = 100_000,
              pipeline: int = 16, binary: str = "redis-benchmark",
              min_seconds: float | None = None) -> RedisBench:
    """Measure every target `backend` asks for; BenchUnavailable (one line) if redis-benchmark
    or the real backend is missing, or a pod does not come up — checked before anything
    is measured where it can be."""
    benchmark_binary(binary)
    chosen = backend.chosen()
    for one in chosen:
        try:
            backends.require(one)
        except backends.BackendUnavailable as exc:
            raise BenchUnavailable(str(exc)) from None
    figures: dict[Target, dict[str, float]] = {}
    runs: dict[Target, int] = {}
    for one in chosen:
        if one is backends.Backend.FAKE:
            # No cluster runs yet: the blocking in-process measurement has the machine
            # to itself, as the pods will after it.
            figures[Target.FAKEREDIS_INPROCESS] = fakeredis_inprocess(requests, pipeline)
        pods = await _measure_pods(
            one, requests=requests, pipeline=pipeline, binary=binary,
            min_seconds=MIN_MEASURING_SECONDS if min_seconds is None else min_seconds)
        figures.update(pods.figures)
        runs.update(pods.runs)
    return RedisBench(requests=requests, pipeline=pipeline, figures=figures, runs=runs)
