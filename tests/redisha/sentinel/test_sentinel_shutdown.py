"""`python -m redisha.sentinel` stops as Redis Sentinel does: its last line is Sentinel's."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from test_sentinel_process import ROOT, free_port

from tests.waiting import wait_until


async def test_shutdown_with_connected_clients_ends_on_sentinels_last_line(
        tmp_path: Path) -> None:
    """SHUTDOWN while other clients are connected: exit 0, the log ends with `Sentinel is
    now ready to exit, bye bye...`, no Python traceback after it."""
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {port}\nsentinel monitor mymaster 127.0.0.1 1 2\n")
    env = {**os.environ, "PYTHONPATH": ROOT, "REDISHA_SENTINEL_SETTINGS": "quick"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "redisha.sentinel", str(conf), "--bind", "127.0.0.1", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    idle: list[asyncio.StreamWriter] = []
    try:
        async def listening() -> bool:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return False
            idle.append(writer)
            return True

        await wait_until(listening, 10, "the sentinel does not listen")
        _, subscriber = await asyncio.open_connection("127.0.0.1", port)
        subscriber.write(b"PSUBSCRIBE *\r\n")
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"PING\r\n")
        assert await reader.readline() == b"+PONG\r\n"
        writer.write(b"SHUTDOWN\r\n")
        async with asyncio.timeout(10):
            output, _ = await process.communicate()
        for w in (*idle, subscriber, writer):
            w.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    lines = output.decode().splitlines()
    assert process.returncode == 0
    assert lines[-1].endswith("# Sentinel is now ready to exit, bye bye..."), lines[-5:]
    assert not any("Traceback" in line for line in lines)
