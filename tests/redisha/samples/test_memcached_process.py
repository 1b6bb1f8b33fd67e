"""`python -m redisha.samples.memcached` as a real process on a loopback address."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def loopback_address() -> str:
    """A 127.x address unlikely to be in use (clusters claim other /16s as they start)."""
    rng = random.Random()
    return f"127.{rng.randrange(200, 255)}.{rng.randrange(1, 255)}.{rng.randrange(2, 255)}"


async def spawn(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "redisha.samples.memcached", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def connect(host: str, port: int, process: asyncio.subprocess.Process,
                  timeout: float = 15.0) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect once the process listens; fail if it exits first or the deadline passes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await asyncio.open_connection(host, port)
        except OSError:
            if process.returncode is not None or loop.time() > deadline:
                pytest.fail(f"memcached process not listening (exit {process.returncode})")
            await asyncio.sleep(0.02)


async def test_standalone_process_answers_version_and_stops_on_sigterm() -> None:
    """It listens at -l/-p, answers `version`, and SIGTERM ends it as it ends memcached."""
    host, port = loopback_address(), 11211
    process = await spawn("-l", host, "-p", str(port), "-v")
    try:
        reader, writer = await connect(host, port, process)
        writer.write(b"version\r\nset k 0 0 2\r\nhi\r\nget k\r\n")
        await writer.drain()
        reply = await asyncio.wait_for(reader.readuntil(b"END\r\n"), 10)
        assert reply == b"VERSION 1.4.36\r\nSTORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n"
        writer.close()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 10)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert (process.returncode, stdout, stderr) == (0, b"Signal handled: Terminated.\n", b"")


async def test_standalone_process_refuses_bad_flags_and_busy_ports() -> None:
    """An unknown flag exits 1 with memcached's lines; a taken port exits 71 naming it."""
    process = await spawn("-z")
    stdout, stderr = await asyncio.wait_for(process.communicate(), 15)
    assert (process.returncode, stdout) == (1, b"")
    assert stderr == b'memcached: unrecognized option: z\nIllegal argument "?"\n'
    host = loopback_address()
    with socket.socket() as taken:
        taken.bind((host, 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await spawn("-l", host, "-p", str(port))
        stdout, stderr = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 71
    assert stderr == f"failed to listen on TCP port {port}: Address already in use\n".encode()
