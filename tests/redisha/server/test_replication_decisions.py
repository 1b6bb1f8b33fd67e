"""Pure replication decisions: PSYNC (PSYNC2 ids, backlog range) and effects replication."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from redisha.server import propagation
from redisha.server.backlog import Backlog, ReplicationIds, decide_psync

A, B = "a" * 40, "b" * 40


def ids_after_promotion() -> ReplicationIds:
    """A promoted replica: old primary's id A valid up to offset 101, new id B."""
    return ReplicationIds(replid=B, replid2=A, offset=150, second_offset=101)


def backlog(first: int, last: int) -> Backlog:
    log = Backlog(size=1 << 20, end_offset=first - 1)
    log.append(b"x" * (last - first + 1))
    return log


@pytest.mark.parametrize(("replid", "offset", "partial", "reason"), [
    pytest.param(B, 151, True, "", id="current-id-at-end"),
    pytest.param(B, 60, True, "", id="current-id-in-backlog"),
    pytest.param(A, 101, True, "", id="previous-id-up-to-switch"),
    pytest.param(A, 102, False, "Requested offset for second ID was 102, but I can reply up "
                 "to 101", id="previous-id-past-switch"),
    pytest.param("c" * 40, 10, False, "Replication ID mismatch", id="unknown-id"),
    pytest.param("?", -1, False, "Full resync requested by replica r:6379", id="forced"),
    pytest.param(B, 20, False, "for lack of backlog", id="before-backlog"),
    pytest.param(B, 152, False, "for lack of backlog", id="future-offset"),
])
def test_psync_decision(replid: str, offset: int, partial: bool, reason: str) -> None:
    """masterTryPartialResynchronization's rules, with its log wording."""
    decision = decide_psync(ids_after_promotion(), backlog(50, 150), replid, offset, "r:6379")
    assert decision.partial is partial
    assert reason in decision.reason


def test_backlog_keeps_only_the_last_size_bytes() -> None:
    """Trimming moves the first byte offset; reads resume from any held offset."""
    log = Backlog(size=10, end_offset=0)
    log.append(b"0123456789")
    log.append(b"abcd")
    assert (log.first_byte_offset, log.histlen, log.end_offset) == (5, 10, 14)
    assert log.read_from(11) == b"abcd" and log.read_from(15) == b""
    assert not log.covers(4) and log.covers(15) and not log.covers(16)


@dataclass
class Touched:
    key: bytes
    value: Any = b"v"
    expireat: float | None = None
    is_modified: bool = True


@pytest.mark.parametrize(("name", "args", "result", "keys", "expected"), [
    pytest.param("expire", [b"k", b"10"], 1, [Touched(b"k", expireat=1000.5)],
                 [(b"PEXPIREAT", b"k", b"1000500")], id="expire"),
    pytest.param("expire", [b"k", b"-1"], 1, [Touched(b"k", value=None)], [(b"DEL", b"k")],
                 id="expire-in-the-past"),
    pytest.param("setex", [b"k", b"10", b"v"], b"OK", [Touched(b"k", expireat=2000.0)],
                 [(b"SET", b"k", b"v", b"PXAT", b"2000000")], id="setex"),
    pytest.param("set", [b"k", b"v", b"EX", b"5", b"NX"], b"OK",
                 [Touched(b"k", expireat=5.25)], [(b"SET", b"k", b"v", b"PXAT", b"5250")],
                 id="set-ex"),
    pytest.param("set", [b"k", b"v", b"KEEPTTL"], b"OK", [Touched(b"k")],
                 [(b"SET", b"k", b"v", b"KEEPTTL")], id="set-verbatim"),
    pytest.param("getex", [b"k", b"PERSIST"], b"v", [Touched(b"k")], [(b"PERSIST", b"k")],
                 id="getex-persist"),
    pytest.param("spop", [b"s", b"2"], [b"m1", b"m2"], [Touched(b"s")],
                 [(b"SREM", b"s", b"m1", b"m2")], id="spop"),
    pytest.param("incrbyfloat", [b"f", b"0.1"], b"1.1", [Touched(b"f")],
                 [(b"SET", b"f", b"1.1", b"KEEPTTL")], id="incrbyfloat"),
    pytest.param("xgroup create", [b"s", b"g", b"$"], b"OK", [Touched(b"s")],
                 [(b"XGROUP", b"CREATE", b"s", b"g", b"$")], id="subcommand-verbatim"),
])
def test_writes_are_replicated_by_effect_where_replaying_would_differ(
        name: str, args: list[bytes], result: Any, keys: list[Touched],
        expected: list[tuple[bytes, ...]]) -> None:
    """Relative times become absolute, random picks become what was picked."""
    assert propagation.effects(name, args, result, keys) == expected


def test_a_write_that_changed_nothing_is_not_streamed() -> None:
    """SET NX on an existing key touched its key without modifying it."""
    assert not propagation.changed([Touched(b"k", is_modified=False)], has_key_args=True)
    assert propagation.changed([], has_key_args=False)
