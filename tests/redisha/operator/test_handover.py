"""The fast path's handover before it asks the sentinels: fence the going primary, forbid
promoting replicas that go too, wait for the rest to catch up; and the switch majority
that moves labels without asking the sentinels again."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from operator_fakes import wait_until

from redisha.operator import decisions
from redisha.operator.nodes import NodeInfo, RedisNodes, Role
from redisha.operator.observing import RedisPod
from redisha.operator.sentinels import Address
from redisha.operator.tracking import FailoverMemory
from redisha.scenario import runner
from redisha.scenario.faults import ScenarioName
from redisha.scenario.runner import RunnerSettings, ScenarioOptions
from redisha.scenario.writer import WriterMode

OLD = "127.1.0.1"


def _pod(n: int, info: NodeInfo | None, *, terminating: bool = False) -> RedisPod:
    return RedisPod(name=f"rfr-x-{n}", ordinal=n, ip=f"127.1.0.{n + 1}", node="n",
                    role_label=None, terminating=terminating, running=True, info=info)


def _replica(offset: int, of: str = OLD, up: bool = True) -> NodeInfo:
    return NodeInfo(role=Role.REPLICA, primary=Address(of, 6379), link_up=up,
                    replica_offset=offset, offset=offset)


def test_handover_forbids_terminating_replicas_and_waits_for_laggards() -> None:
    """A terminating replica is forbidden promotion and is no candidate; a live replica
    behind the fenced primary's final offset is waited for, one at it is not."""
    pods = [_pod(0, NodeInfo(role=Role.MASTER, offset=500), terminating=True),
            _pod(1, _replica(500)), _pod(2, _replica(450)),
            _pod(3, _replica(500), terminating=True)]
    plan = decisions.plan_handover(OLD, pods, final_offset=500)
    assert [p.name for p in plan.forbid] == ["rfr-x-3"]
    assert [p.name for p in plan.candidates] == ["rfr-x-1", "rfr-x-2"]
    assert [p.name for p in plan.behind] == ["rfr-x-2"]
    assert decisions.plan_handover(OLD, pods, final_offset=None).behind == ()


def test_handover_has_no_candidate_when_every_replica_goes_too() -> None:
    """kill-all: every replica terminating (or waiting for nobody) → no candidate, so the
    fast path does not ask and the repair makes the only primary change."""
    waiting = NodeInfo(role=Role.REPLICA, primary=Address("127.0.0.1", 1))
    pods = [_pod(0, NodeInfo(role=Role.MASTER), terminating=True),
            _pod(1, _replica(10), terminating=True), _pod(2, _replica(10), terminating=True),
            _pod(3, waiting)]
    plan = decisions.plan_handover(OLD, pods)
    assert plan.candidates == ()
    assert [p.name for p in plan.forbid] == ["rfr-x-1", "rfr-x-2"]


def test_switch_majority_counts_each_sentinels_latest_recent_switch() -> None:
    """One sentinel's +switch-master is not agreement; two of three running are; a switch
    older than the window or from a sentinel no longer running does not count."""
    memory = FailoverMemory(switch_window=10.0, pending=True, requested_at=100.0)
    running = {"s1", "s2", "s3"}
    memory.note_switch("s1", "127.1.0.2", 101.0)
    assert memory.switch_majority(running, 101.0) is None
    assert memory.in_flight(101.0, 5.0, running)
    memory.note_switch("s4", "127.1.0.2", 101.0)  # not running
    assert memory.switch_majority(running, 101.0) is None
    memory.note_switch("s2", "127.1.0.2", 101.5)
    assert memory.switch_majority(running, 102.0) == "127.1.0.2"
    assert not memory.in_flight(102.0, 5.0, running)
    assert memory.switch_majority(running, 112.0) is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[int]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        yield port
    finally:
        proc.kill()
        proc.wait()


async def test_fence_refuses_every_write_on_real_redis(redis_server: int) -> None:
    """Real redis-server 7.0: after `fence` no write is ever taken — refused with
    NOREPLICAS (checked before CLIENT PAUSE would hold it) during the pause and after it
    ends; reads still work and the final offset is returned."""
    client = aioredis.Redis(port=redis_server, socket_timeout=1)
    nodes = RedisNodes(timeout=1.0, port=redis_server)
    try:
        async def up() -> bool:
            with contextlib.suppress(aioredis.RedisError):
                return bool(await client.ping())
            return False

        await wait_until(up, timeout=10)
        await client.set("before", "1")
        offset = await nodes.fence("127.0.0.1", pause_ms=60_000)
        assert offset >= 0
        with pytest.raises(aioredis.ResponseError, match="NOREPLICAS"):
            await client.set("during", "1")
        await client.execute_command("CLIENT", "UNPAUSE")  # the pause over; still fenced
        with pytest.raises(aioredis.ResponseError, match="NOREPLICAS"):
            await client.set("after", "1")
        assert (await client.get("before"), await client.get("during"),
                await client.get("after")) == (b"1", None, None)
    finally:
        await client.aclose()
        await nodes.close()


QUICK = RunnerSettings(settle_min=0.5, settle_down_afters=1.0, fault_jitter=0.05,
                       warmup_acks=30)


async def test_kill_all_is_one_primary_change_and_kill_primary_loses_nothing() -> None:
    """Fake backend, WAIT writer hammering: every redis pod deleted at once makes one
    primary change (no promotion of a replica that is being deleted too); a deleted
    primary loses no acknowledged write."""
    for scenario, trials in ((ScenarioName.KILL_ALL, 1), (ScenarioName.KILL_PRIMARY, 2)):
        report = await runner.run(ScenarioOptions(scenario, writer=WriterMode.WAIT,
                                                  trials=trials), settings=QUICK)
        summary = report.summary
        assert (summary.lost, summary.max_failovers) == (0, 1), (scenario, summary)
        assert report.ok, (scenario, report.verdicts)
