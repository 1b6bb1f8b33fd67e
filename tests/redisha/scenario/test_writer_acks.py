"""What the runner asks of a writer's records to call a failover over: an acknowledged
write *begun* after the fault."""

from __future__ import annotations

import asyncio

from redisha.scenario.writer import Target, Write, Writer


def _write(started: float, finished: float, acked: bool) -> Write:
    return Write(writer="main", key=f"w:{started}", value="1", started=started,
                 finished=finished, accepted=acked, acked=acked)


def _writer() -> Writer:
    return Writer(Target.pod("127.0.0.1"))


def test_a_write_begun_before_the_fault_does_not_count() -> None:
    writer = _writer()
    writer.records += [_write(0.9, 1.0, True), _write(0.99, 1.2, True)]
    assert not writer.acked_started_after(1.0)
    writer.records.append(_write(1.2, 1.3, False))
    assert not writer.acked_started_after(1.0)
    writer.records.append(_write(1.3, 1.4, True))
    assert writer.acked_started_after(1.0)
    assert not writer.acked_started_after(1.3)


async def test_waiting_wakes_on_the_acknowledgement_and_times_out_without_one() -> None:
    writer = _writer()
    writer.records.append(_write(0.5, 1.5, True))
    assert not await writer.wait_acked_started_after(1.0, timeout=0.05)

    async def acknowledge() -> None:
        await asyncio.sleep(0)
        writer.records.append(_write(2.0, 2.1, True))
        async with writer._acked:
            writer._acked.notify_all()
    task = asyncio.create_task(acknowledge())
    assert await writer.wait_acked_started_after(1.0, timeout=5)
    await task
