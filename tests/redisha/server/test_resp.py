"""The sans-IO RESP codec: every split of the input gives the same frames; Redis' errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redisha.server import resp

PIPELINE = (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhe\r\nl\r\n"
            b"PING\r\n"
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
            b"\r\n"
            b"*0\r\n"
            b'set "a b" \'c\\\'d\' "\\x41\\n"\n')
COMMANDS = [[b"SET", b"k", b"he\r\nl"], [b"PING"], [b"GET", b"k"], [b"set", b"a b", b"c'd", b"A\n"]]


def parse_requests(chunks: list[bytes]) -> list[list[bytes]]:
    parser = resp.RequestParser()
    found = []
    for chunk in chunks:
        parser.feed(chunk)
        while (frame := parser.next_frame()) is not resp.NEED_DATA:
            found.append(frame)
    return found


def test_every_two_way_split_of_a_pipeline_parses_the_same() -> None:
    """Cut the pipeline at every byte: the same four commands come out."""
    for cut in range(len(PIPELINE) + 1):
        assert parse_requests([PIPELINE[:cut], PIPELINE[cut:]]) == COMMANDS, cut


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(PIPELINE)), max_size=12))
def test_any_split_of_a_pipeline_parses_the_same(cuts: list[int]) -> None:
    """Any set of cut points (hypothesis) gives the same commands."""
    points = sorted(set(cuts))
    chunks = [PIPELINE[a:b] for a, b in zip([0, *points], [*points, len(PIPELINE)])]
    assert parse_requests(chunks) == COMMANDS


REPLIES = [resp.SimpleString(b"OK"), resp.Error("ERR bad"), 42, -7, b"bulk\r\nwith crlf", None,
           [b"a", [1, None], []], {b"k": b"v", b"n": 2}, resp.RespSet([b"x"]), 1.5, True, False,
           resp.Push([b"message", b"ch", b"hi"]), resp.Verbatim("txt", b"line1\r\nline2"),
           resp.BigNumber(2 ** 70)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_any_split_of_resp3_replies_decodes_to_what_was_encoded(cuts: list[int]) -> None:
    """encode() every RESP3 type, feed the bytes in any pieces: the same frames come back,
    and `consumed` counts every byte."""
    data = b"".join(resp.encode(r, 3) for r in REPLIES)
    points = sorted({min(c, len(data)) for c in cuts})
    parser = resp.ReplyParser()
    found = []
    for a, b in zip([0, *points], [*points, len(data)]):
        parser.feed(data[a:b])
        while (frame := parser.next_frame()) is not resp.NEED_DATA:
            found.append(frame)
    assert found == REPLIES
    assert parser.consumed == len(data)


@pytest.mark.parametrize(("frame", "resp2"), [
    pytest.param({b"a": 1}, b"*2\r\n$1\r\na\r\n:1\r\n", id="map-flattened"),
    pytest.param(None, b"$-1\r\n", id="null"),
    pytest.param(True, b":1\r\n", id="bool"),
    pytest.param(2.5, b"$3\r\n2.5\r\n", id="double-as-bulk"),
    pytest.param(resp.Push([b"x"]), b"*1\r\n$1\r\nx\r\n", id="push-as-array"),
    pytest.param(resp.Verbatim("txt", b"hi"), b"$2\r\nhi\r\n", id="verbatim-as-bulk"),
])
def test_resp3_types_have_their_resp2_forms(frame: object, resp2: bytes) -> None:
    """A RESP2 client gets Redis' RESP2 rendering of RESP3-only types."""
    assert resp.encode(frame, 2) == resp2


@pytest.mark.parametrize(("data", "message"), [
    pytest.param(b"*x\r\n", "Protocol error: invalid multibulk length", id="count"),
    pytest.param(b"*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'", id="not-bulk"),
    pytest.param(b"*1\r\n$-3\r\n", "Protocol error: invalid bulk length", id="negative-bulk"),
    pytest.param(b"*1\r\n$abc\r\n", "Protocol error: invalid bulk length", id="bad-bulk"),
    pytest.param(b'SET "a\r\n', "Protocol error: unbalanced quotes in request", id="quotes"),
    pytest.param(b"A" * (resp.INLINE_MAX_SIZE + 1), "Protocol error: too big inline request",
                 id="inline-too-big"),
    pytest.param(b"*" + b"1" * (resp.INLINE_MAX_SIZE + 1),
                 "Protocol error: too big mbulk count string", id="count-too-big"),
])
def test_malformed_requests_raise_protocol_error_in_redis_words(data: bytes,
                                                               message: str) -> None:
    """Each malformed request raises ProtocolError with networking.c's message."""
    parser = resp.RequestParser()
    parser.feed(data)
    with pytest.raises(resp.ProtocolError) as error:
        parser.next_frame()
    assert str(error.value) == message


def test_snapshot_payloads_without_trailing_crlf_in_both_forms() -> None:
    """The full-resync bulk ($len, no CRLF) and the diskless EOF-marked form, then a command."""
    mark = b"m" * 40
    for wire in (b"\n\n$5\r\nRDB!!", b"$EOF:" + mark + b"\r\nRDB!!" + mark):
        data = wire + resp.encode_command([b"PING"])
        for cut in range(len(data) + 1):
            parser = resp.ReplyParser()
            parser.feed(data[:cut])
            snap = parser.next_snapshot()
            if snap is resp.NEED_DATA:
                parser.feed(data[cut:])
                snap = parser.next_snapshot()
            else:
                parser.feed(data[cut:])
            assert snap == resp.Snapshot(b"RDB!!")
            assert parser.next_frame() == [b"PING"]
