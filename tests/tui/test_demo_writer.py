"""The demo's writer workload (`redisha.writer`), against small RESP servers this test
controls: acknowledged, failed and lost writes, and the log lines the HA pane reads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Self

import pytest

from redisha.server import resp
from redisha.writer import options as options_mod
from redisha.writer.loop import WriterLoop
from redisha.writer.options import WriterOptions
from tests.tui.dashboard_helpers import until
from tui.writes import Totals, parse_writer_line


@dataclass
class TinyRedis:
    """Answers what the writer asks (CLIENT INFO, INFO server, ROLE, SET, EXISTS)."""

    run_id: str
    data: dict[bytes, bytes] = field(default_factory=dict)
    role: str = "master"
    frozen: bool = False
    port: int = 0
    server: asyncio.Server | None = None
    connections: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.append(writer)
        parser = resp.RequestParser()
        host, port = writer.get_extra_info("sockname")[:2]
        laddr = f"{host}:{port}"
        try:
            while data := await reader.read(65536):
                parser.feed(data)
                while (command := parser.next_frame()) is not resp.NEED_DATA:
                    if self.frozen:
                        continue
                    writer.write(resp.encode(self.reply(command, laddr)))
        except ConnectionError:
            pass
        finally:
            writer.close()

    def reply(self, command: list[bytes], laddr: str) -> object:
        name = command[0].upper()
        if name == b"CLIENT":
            return f"id=1 addr=127.0.0.1:1 laddr={laddr} fd=8".encode()
        if name == b"INFO":
            return f"# Server\r\nrun_id:{self.run_id}\r\n".encode()
        if name == b"ROLE":
            return [self.role.encode(), 0, []]
        if name == b"SET":
            if self.role != "master":
                return resp.Error("READONLY You can't write against a read only replica.")
            self.data[command[1]] = command[2]
            return resp.SimpleString(b"OK")
        if name == b"EXISTS":
            return sum(1 for key in command[1:] if key in self.data)
        return resp.Error("ERR unknown command")

    async def __aenter__(self) -> Self:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        for connection in self.connections:
            connection.close()
        await asyncio.sleep(0)  # the handlers see the end of their streams
        self.server.close()
        with contextlib.suppress(Exception):
            await self.server.wait_closed()


@dataclass
class Harness:
    """A writer whose dial goes wherever `target` says."""

    target: int = 1
    lines: list[str] = field(default_factory=list)

    def loop(self, **overrides: object) -> WriterLoop:
        options = WriterOptions(host="rfrm-demo", prefix="w", timeout=0.3,
                                **overrides)  # type: ignore[arg-type]

        async def dial(host: str, port: int) -> tuple[asyncio.StreamReader,
                                                      asyncio.StreamWriter]:
            assert (host, port) == ("rfrm-demo", 6379)
            return await asyncio.open_connection("127.0.0.1", self.target)

        return WriterLoop(options, dial=dial, output=self.lines.append)

    def kinds(self) -> list[str]:
        return [line.split(" ", 1)[0] for line in self.lines]

    def totals(self) -> Totals:
        parsed = parse_writer_line(self.lines[-1])
        assert parsed is not None
        return parsed.totals


@contextlib.asynccontextmanager
async def harness() -> AsyncIterator[Harness]:
    yield Harness()


async def test_writes_are_acknowledged_and_logged_with_their_server() -> None:
    """Each SET acknowledged is an `ack` line naming the server (CLIENT INFO's laddr)."""
    async with TinyRedis("aaaa") as a, harness() as h:
        h.target = a.port
        loop = h.loop()
        assert await loop.write_once() and await loop.write_once()
        assert h.kinds() == ["connected", "ack", "ack"]
        assert h.lines[0].startswith(f"connected server=127.0.0.1:{a.port} run=aaaa role=master")
        assert parse_writer_line(h.lines[-1]).server_ip == "127.0.0.1"  # type: ignore[union-attr]
        assert h.totals() == Totals(2, 0, 0) and a.data == {b"w:1": b"1", b"w:2": b"2"}


async def test_a_new_primary_missing_acknowledged_keys_counts_them_lost() -> None:
    """After a failover to a server lacking some acknowledged keys, the writer checks every
    one before writing again: the missing are `lost`, counted once."""
    async with TinyRedis("aaaa") as a, TinyRedis("bbbb") as b, harness() as h:
        h.target = a.port
        loop = h.loop()
        for _ in range(5):
            assert await loop.write_once()
        b.data = {k: v for k, v in a.data.items() if k not in (b"w:4", b"w:5")}
        await a.__aexit__()
        loop._drop()  # the Service dropped the connection to the old primary
        h.target = b.port
        assert await loop.write_once()
        assert h.kinds()[-3:] == ["connected", "lost", "ack"]
        lost = parse_writer_line(h.lines[-2])
        assert lost is not None and lost.fields["count"] == "2"
        assert (lost.fields["first"], lost.fields["last"]) == ("w:4", "w:5")
        assert h.totals() == Totals(6, 0, 2)
        loop._drop()
        assert await loop.write_once()  # same server again: nothing rechecked
        assert h.kinds()[-2:] == ["connected", "ack"] and h.totals() == Totals(7, 0, 2)


async def test_a_new_primary_holding_everything_is_verified() -> None:
    """A failover that lost nothing says `verified keys=N`."""
    async with TinyRedis("aaaa") as a, TinyRedis("bbbb") as b, harness() as h:
        h.target = a.port
        loop = h.loop()
        for _ in range(3):
            await loop.write_once()
        b.data = dict(a.data)
        loop._drop()
        h.target = b.port
        assert await loop.write_once()
        assert h.kinds()[-3:] == ["connected", "verified", "ack"]
        assert "keys=3" in h.lines[-2] and h.totals() == Totals(4, 0, 0)


async def test_a_hung_primary_or_a_replica_fails_writes() -> None:
    """No reply within the timeout: `fail` (and the connection is dropped); a READONLY
    reply: `fail` with Redis' error."""
    async with TinyRedis("aaaa") as a, harness() as h:
        h.target = a.port
        loop = h.loop()
        await loop.write_once()
        a.frozen = True
        assert not await loop.write_once()
        assert "timed out after 0.3s" in h.lines[-1] and h.totals() == Totals(1, 1, 0)
        a.frozen, a.role = False, "slave"
        assert not await loop.write_once()
        assert h.kinds()[-1] == "fail" and "READONLY" in h.lines[-1]
        assert h.totals() == Totals(1, 2, 0)


async def test_no_primary_yet_is_waited_for_not_counted() -> None:
    """Before the first connection, attempts are `waiting` lines (once a second), not
    failed writes; then writes run at the rate until stopped."""
    async with TinyRedis("aaaa") as a, harness() as h:
        closed = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        h.target = closed.sockets[0].getsockname()[1]
        closed.close()
        await closed.wait_closed()
        loop = h.loop(rate=100.0)
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop))
        await until(lambda: "waiting" in h.kinds(), 5, str(h.lines))
        h.target = a.port
        await until(lambda: h.kinds().count("ack") >= 5, 5, str(h.lines))
        stop.set()
        assert await task == 0
        kinds = h.kinds()
        assert kinds[0] == "started" and kinds[-1] == "stopped"
        assert "fail" not in kinds and h.totals().failed == 0


@pytest.mark.parametrize("argv,message", [
    pytest.param([], "--host is required", id="no-host"),
    pytest.param(["--host"], "--host wants a value", id="no-value"),
    pytest.param(["--host", "x", "--rate", "0"], "--rate wants a positive number", id="rate"),
    pytest.param(["--host", "x", "--port", "99999"], "--port wants a port number", id="port"),
    pytest.param(["--host", "x", "--verbose"], "unknown option '--verbose'", id="unknown"),
])
def test_bad_command_lines_name_the_option(argv: list[str], message: str) -> None:
    """One line naming the option at fault."""
    with pytest.raises(options_mod.UsageError) as info:
        options_mod.parse(argv)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_options_and_their_defaults() -> None:
    """`--opt value` and `--opt=value`; the key prefix defaults to the pod's hostname."""
    options = options_mod.parse(["--host=rfrm-demo", "--rate", "20"], default_prefix="pod-x")
    assert options == WriterOptions(host="rfrm-demo", rate=20.0, prefix="pod-x")
