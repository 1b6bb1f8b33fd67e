"""Container logs: bounded retention, following, and cutting pipes into lines."""

from __future__ import annotations

import asyncio

import pytest

from cluster.runtime import logs


def test_buffer_keeps_only_the_last_lines() -> None:
    """Past the limit, the oldest lines fall off."""
    buffer = logs.LogBuffer(limit=3, clock=lambda: 5.0)
    for i in range(5):
        buffer.write(logs.STDOUT, f"line {i}")
    assert [line.text for line in buffer.lines()] == ["line 2", "line 3", "line 4"]
    assert buffer.lines()[0].time == 5.0


def test_multi_line_text_becomes_several_lines() -> None:
    """Text with newlines is split into lines of the same stream."""
    buffer = logs.LogBuffer()
    buffer.write(logs.STDERR, "a\nb")
    assert [(line.stream, line.text) for line in buffer.lines()] == [("stderr", "a"),
                                                                     ("stderr", "b")]


async def test_follow_streams_old_and_new_lines_until_closed() -> None:
    """follow() yields retained lines, then new ones, and ends when the log closes."""
    buffer = logs.LogBuffer()
    buffer.write(logs.STDOUT, "before")
    seen: list[str] = []

    async def follower() -> None:
        async for line in buffer.follow():
            seen.append(line.text)

    task = asyncio.create_task(follower())
    await asyncio.sleep(0)
    buffer.write(logs.STDOUT, "after")
    buffer.close()
    await asyncio.wait_for(task, 1)
    assert seen == ["before", "after"]


async def test_follow_skips_lines_that_fell_off() -> None:
    """A slow follower resumes at the oldest retained line, not at a stale index."""
    buffer = logs.LogBuffer(limit=2)
    buffer.write(logs.STDOUT, "0")
    stream = buffer.follow()
    assert (await anext(stream)).text == "0"
    for i in range(1, 5):
        buffer.write(logs.STDOUT, str(i))
    buffer.close()
    assert [line.text async for line in stream] == ["3", "4"]


@pytest.mark.parametrize("chunks, lines", [
    pytest.param([b"a\nb\n"], ["a", "b"], id="whole"),
    pytest.param([b"he", b"llo\nwor", b"ld"], ["hello", "world"], id="split-and-unterminated"),
    pytest.param([b"crlf\r\n"], ["crlf"], id="crlf"),
    pytest.param([b"x" * (logs.MAX_LINE_BYTES + 10) + b"\n"],
                 ["x" * logs.MAX_LINE_BYTES, "x" * 10], id="overlong"),
])
async def test_pump_lines(chunks: list[bytes], lines: list[str]) -> None:
    """pump_lines cuts a byte stream into lines however it arrives."""
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    reader.feed_eof()
    got: list[str] = []
    await logs.pump_lines(reader, got.append)
    assert got == lines
