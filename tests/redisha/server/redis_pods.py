"""Fake redis pods without a cluster: each runs the image's program directly, on a real pod
sandbox (its own loopback IP, cluster DNS that the test controls, partitions and freezes).

A module with its own name (not `conftest`), so tests import it unambiguously."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from cluster.network.addresses import PodIPAllocator, claim_ranges
from cluster.network.dns import DNSTable, GroupRecords
from cluster.network.faults import Faults
from cluster.network.sandbox import Sandbox
from cluster.runtime import images, isolation
from redisha.server.cli import RedisCli
from redisha.server.program import RedisServerProgram
from redisha.server.replication import ReplicationSettings
from redisha.server.server import ServerSettings

FAST = ServerSettings(replication=ReplicationSettings(ack_period=0.05, cron_period=0.02,
                                                      connect_retry=0.2))
"""Short intervals: a primary that does not resolve is retried every 0.2 s."""


@dataclass
class RedisPod:
    """One running fake redis-server."""

    name: str
    sandbox: Sandbox
    view: isolation.ContainerView
    ctx: images.ProgramContext
    task: asyncio.Task[int]
    lines: list[str] = field(default_factory=list)

    @property
    def ip(self) -> str:
        return self.sandbox.ip

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def messages(self) -> list[str]:
        """Log lines without pid, role and time: `* Ready to accept connections` → the text."""
        out = []
        for line in self.lines:
            parts = line.split(" ", 6)
            out.append(parts[6] if len(parts) == 7 and ":" in parts[0] else line)
        return out

    def client(self, **kwargs: object) -> redis.Redis:
        return redis.Redis(host=self.ip, port=6379, socket_timeout=5, **kwargs)  # type: ignore[arg-type]

    async def stop(self) -> int:
        self.ctx.stop_requested.set()
        return await asyncio.wait_for(self.task, 5)


class PodNet:
    """Pods on one claimed loopback range, with DNS records the test publishes."""

    def __init__(self, tmp: Path) -> None:
        self._tmp = tmp
        self.ranges = claim_ranges()
        self.faults = Faults(clock=time.time)
        self.dns = DNSTable()
        self._ips = PodIPAllocator(self.ranges.pod_network)
        self.pods: dict[str, RedisPod] = {}
        self._published: dict[str, str] = {}

    def sandbox(self, name: str, subdomain: str = "redis") -> Sandbox:
        return Sandbox(uid=f"uid-{name}", name=name, namespace="default", hostname=name,
                       subdomain=subdomain, ip=self._ips.allocate(f"uid-{name}"), dns=self.dns,
                       faults=self.faults, hosts_path=str(self._tmp / f"hosts-{name}"))

    def publish(self, pod: RedisPod, service: str = "redis") -> None:
        """Make `<pod>.<service>` resolve (the headless Service appearing)."""
        self._published[pod.name] = pod.ip
        self.dns.set_group("default", service, GroupRecords(
            pods=tuple(sorted(self._published.items()))))

    async def start(self, name: str, *args: str, conf: str | None = None, publish: bool = True,
                    settings: ServerSettings = FAST, wait_ready: bool = True) -> RedisPod:
        sandbox = self.sandbox(name)
        root = self._tmp / name
        view = isolation.ContainerView(hostname=name, tmp_dir=str(root / "tmp"),
                                       rootfs=str(root / "rootfs"))
        os.makedirs(view.tmp_dir, exist_ok=True)
        argv = ["redis-server"]
        if conf is not None:
            (Path(view.tmp_dir) / "redis.conf").write_text(conf)
            argv.append("/tmp/redis.conf")
        argv.extend(args)
        lines: list[str] = []
        ctx = images.ProgramContext(argv=argv, env={}, hostname=name, sandbox=sandbox, view=view,
                                    output=lambda _stream, line: lines.append(line), cwd="/data")
        task = asyncio.create_task(images.run_program(
            lambda: RedisServerProgram(settings), ctx))
        pod = RedisPod(name, sandbox, view, ctx, task, lines)
        self.pods[name] = pod
        if publish:
            self.publish(pod)
        if wait_ready:
            await wait_until(lambda: "Ready to accept connections" in pod.log or task.done())
            assert not task.done(), pod.log
        return pod

    async def cli(self, pod: RedisPod, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
        """Run the image's redis-cli inside `pod`: (exit code, stdout, stderr)."""
        out: list[str] = []
        err: list[str] = []
        ctx = images.ProgramContext(
            argv=["redis-cli", *args], env={}, hostname=pod.name, sandbox=pod.sandbox,
            view=pod.view, stdin=stdin,
            output=lambda stream, line: (out if stream == "stdout" else err).append(line))
        code = await images.run_program(RedisCli, ctx)
        return code, "".join(f"{line}\n" for line in out), "".join(f"{line}\n" for line in err)

    async def close(self) -> None:
        for pod in self.pods.values():
            if not pod.task.done():
                pod.ctx.stop_requested.set()
        for pod in self.pods.values():
            try:
                await asyncio.wait_for(pod.task, 5)
            except BaseException:  # noqa: BLE001 - teardown goes on
                pod.task.cancel()
            pod.sandbox.destroy()
        self.ranges.close()


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0,
                     message: str = "") -> None:
    """Yield to the loop until `predicate()` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            pytest.fail(f"condition not met within {timeout}s" + (f": {message}" if message else ""))
        await asyncio.sleep(0.005)


async def in_thread(function: Callable[..., object], *args: object) -> object:
    """Run a blocking client call (redis-py sync) off the loop the servers run on."""
    return await asyncio.to_thread(function, *args)
