"""Replication ids, offsets, the backlog, and the PSYNC decision (no I/O).

Offsets count bytes of the replication stream, as Redis does: `offset` is the offset of the
last byte a server produced (primary) or applied (replica). The backlog keeps the last
`size` bytes of the stream so that a replica that reconnects with `PSYNC <replid> <offset+1>`
can be sent just what it missed (`+CONTINUE`) instead of the whole dataset.

Redis 4's PSYNC2: a server remembers one previous replication id (`replid2`) and the offset
up to which it is valid (`second_offset`). A replica promoted to primary shifts its id to
`replid2` and takes a new one, so its former siblings, which ask with the old primary's id,
can still continue from it.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass

ZERO_REPLID = "0" * 40


def new_replid() -> str:
    """40 random hex characters, like Redis' run ids and replication ids."""
    return secrets.token_hex(20)


class Backlog:
    """The last `size` bytes of the stream, ending at `end_offset`."""

    def __init__(self, size: int, end_offset: int) -> None:
        self.size = size
        self.end_offset = end_offset
        self.histlen = 0
        self._chunks: deque[bytes] = deque()

    @property
    def first_byte_offset(self) -> int:
        """Offset of the oldest byte held (`repl_backlog_first_byte_offset`)."""
        return self.end_offset - self.histlen + 1

    def append(self, data: bytes) -> None:
        self._chunks.append(data)
        self.histlen += len(data)
        self.end_offset += len(data)
        self._trim()

    def resize(self, size: int) -> None:
        self.size = size
        self._trim()

    def _trim(self) -> None:
        excess = self.histlen - self.size
        while excess > 0 and self._chunks:
            head = self._chunks[0]
            if len(head) <= excess:
                self._chunks.popleft()
                self.histlen -= len(head)
                excess -= len(head)
            else:
                self._chunks[0] = head[excess:]
                self.histlen -= excess
                excess = 0

    def covers(self, offset: int) -> bool:
        """Can the stream be resumed at byte `offset` (the replica's offset + 1)?"""
        return self.first_byte_offset <= offset <= self.end_offset + 1

    def read_from(self, offset: int) -> bytes:
        """Every held byte from `offset` on; `covers(offset)` must hold."""
        skip = offset - self.first_byte_offset
        data = b"".join(self._chunks)
        return data[skip:]


@dataclass
class ReplicationIds:
    """A server's place in replication history."""

    replid: str
    replid2: str = ZERO_REPLID
    offset: int = 0
    """master_repl_offset."""
    second_offset: int = -1

    def shift(self) -> None:
        """Promotion: the current id becomes the secondary one, valid up to offset + 1."""
        self.replid2 = self.replid
        self.second_offset = self.offset + 1
        self.replid = new_replid()

    def clear_secondary(self) -> None:
        self.replid2 = ZERO_REPLID
        self.second_offset = -1


@dataclass(frozen=True)
class PsyncDecision:
    """Whether a PSYNC can continue, and the line the primary logs when it cannot."""

    partial: bool
    reason: str = ""


def decide_psync(ids: ReplicationIds, backlog: Backlog | None, replid: str, offset: int,
                 replica: str) -> PsyncDecision:
    """masterTryPartialResynchronization's decision for `PSYNC replid offset` (offset is the
    first byte the replica wants)."""
    same_history = replid.lower() == ids.replid or (
        replid.lower() == ids.replid2 and offset <= ids.second_offset)
    if not same_history:
        if replid == "?":
            return PsyncDecision(False, f"Full resync requested by replica {replica}")
        if replid.lower() not in (ids.replid, ids.replid2):
            return PsyncDecision(False, (
                "Partial resynchronization not accepted: Replication ID mismatch (Replica asked "
                f"for '{replid}', my replication IDs are '{ids.replid}' and '{ids.replid2}')"))
        return PsyncDecision(False, (
            f"Partial resynchronization not accepted: Requested offset for second ID was "
            f"{offset}, but I can reply up to {ids.second_offset}"))
    if backlog is None or not backlog.covers(offset):
        return PsyncDecision(False, (
            f"Unable to partial resync with replica {replica} for lack of backlog (Replica "
            f"request was: {offset})."))
    return PsyncDecision(True)
