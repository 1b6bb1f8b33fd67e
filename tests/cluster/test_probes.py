"""cluster/probes.py: one check's runners and the loop that drives them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cluster import probes

pytestmark = pytest.mark.asyncio


class _Writer:
    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        pass


@pytest.mark.timeout(20)
async def test_a_probe_cancelled_as_its_connection_lands_stops() -> None:
    """The kubelet cancels a probe loop when the container ends; if the dial completes in
    that same instant the loop must still end. (Python 3.11's `asyncio.wait_for` returned
    the dial's result and swallowed the cancel; the probe went on reporting against a torn
    down sandbox for as long as the process lived.)"""
    dialled: asyncio.Future[tuple[Any, _Writer]] = asyncio.get_running_loop().create_future()
    dialling = asyncio.Event()
    checks = 0

    async def connect(host: str, port: int) -> tuple[Any, _Writer]:
        dialling.set()
        return await dialled

    async def check() -> probes.Outcome:
        nonlocal checks
        checks += 1
        return await probes.run_tcp(connect, "10.0.0.1", 6379, timeout=5.0)

    async def report(*_: Any) -> None:
        pass

    spec = probes.ProbeSpec(probes.ProbeKind.LIVENESS, probes.Action.TCP, port=6379,
                            period=0.001, timeout=5.0)
    task = asyncio.create_task(probes.probe_loop(spec, check, report))
    await asyncio.wait_for(dialling.wait(), 5)
    dialled.set_result((None, _Writer()))  # the connection lands…
    task.cancel()  # …and the container ends, before the loop runs again
    done, _ = await asyncio.wait([task], timeout=2.0)
    assert task in done and task.cancelled(), f"the probe loop ran on ({checks} checks)"
    assert checks == 1


async def test_a_tcp_probe_that_does_not_connect_in_time_fails_with_kubelets_words() -> None:
    async def connect(host: str, port: int) -> tuple[Any, _Writer]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    outcome = await probes.run_tcp(connect, "10.0.0.1", 6379, timeout=0.01)
    assert outcome == probes.Outcome(False, "dial tcp 10.0.0.1:6379: i/o timeout")


async def test_a_refused_tcp_probe_fails_with_the_errno_text() -> None:
    async def connect(host: str, port: int) -> tuple[Any, _Writer]:
        raise ConnectionRefusedError(111, "Connection refused")

    outcome = await probes.run_tcp(connect, "10.0.0.1", 6379, timeout=1.0)
    assert outcome == probes.Outcome(False, "dial tcp 10.0.0.1:6379: connect: connection refused")
