"""The memcached text protocol, sans I/O: bytes in, reply bytes out.

A `Connection` is fed what a client sent (`receive_data(data)`) and returns what to send
back; it reads nothing and writes nothing itself, so the asyncio shell (`server.py`) stays a
few lines and tests can feed any split of a byte string. `closed` turns true on `quit` or
when the peer misbehaves in a way memcached answers by hanging up.

Commands are tokenized and checked as memcached 1.4.36's `process_command` does: the
number of tokens picks the command (a wrong count is `ERROR`, not a usage message), a bad
number or a key longer than 250 bytes is `CLIENT_ERROR bad command line format`, a value
above the item size limit is `SERVER_ERROR object too large for cache` and its data block is
swallowed, a data block not ended by CRLF is `CLIENT_ERROR bad data chunk`, and `noreply`
silences the reply of the command it ends. A line over 1024 bytes without a newline closes
the connection unless it starts a `get`/`gets` (a long multi-get). Supported: get, bget,
gets, set, add, replace, append, prepend, cas, incr, decr, delete, touch, stats (general,
`settings`, `reset`), flush_all, version, verbosity, quit and shutdown (with `-A`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from redisha.samples.memcached import cache as cache_mod
from redisha.samples.memcached.engine import MemcachedEngine
from redisha.samples.memcached.options import VERSION

KEY_MAX_LENGTH = 250
MAX_TOKENS = 8
"""memcached tokenizes at most 7 words plus the rest of the line."""
LINE_PROBE = 1024
"""A command line longer than this without a newline must be a multi-get."""
MAX_GET_LINE = 2 * 1024 * 1024
"""Even a multi-get line is cut off here (memcached stops growing its buffer too)."""

CRLF = b"\r\n"
BAD_FORMAT = "CLIENT_ERROR bad command line format"
STORE_COMMANDS = {
    b"set": cache_mod.StoreMode.SET, b"add": cache_mod.StoreMode.ADD,
    b"replace": cache_mod.StoreMode.REPLACE, b"append": cache_mod.StoreMode.APPEND,
    b"prepend": cache_mod.StoreMode.PREPEND,
}

_C_INTEGER = re.compile(rb"\A[ \t\n\v\f\r]*([+-]?)([0-9]+)(?:[ \t\n\v\f\r].*)?\Z", re.DOTALL)
_U64 = 1 << 64


def _c_integer(token: bytes) -> tuple[int, bool] | None:
    """A decimal number as strtol/strtoul read it: (value, had a minus sign), or None."""
    match = _C_INTEGER.match(token)
    if match is None:
        return None
    negative = match.group(1) == b"-"
    value = int(match.group(2))
    return (-value if negative else value), negative


def strtoull(token: bytes) -> int | None:
    """memcached's safe_strtoull: an unsigned 64-bit number, or None."""
    parsed = _c_integer(token)
    if parsed is None or abs(parsed[0]) >= _U64:
        return None
    value = parsed[0] % _U64
    if value >= 1 << 63 and parsed[1]:
        return None
    return value


def strtoul32(token: bytes) -> int | None:
    """memcached's safe_strtoul into a uint32 (the flags): None, or the value mod 2^32."""
    value = strtoull(token)
    return None if value is None else value % (1 << 32)


def strtol32(token: bytes) -> int | None:
    """memcached's safe_strtol into an int32 (exptime, bytes): None, or the wrapped value."""
    parsed = _c_integer(token)
    if parsed is None or not -(1 << 63) <= parsed[0] < 1 << 63:
        return None
    return (parsed[0] + (1 << 31)) % (1 << 32) - (1 << 31)


@dataclass(frozen=True)
class PendingStore:
    """A storage command waiting for its data block."""

    mode: cache_mod.StoreMode
    key: bytes
    flags: int
    exptime: int
    length: int
    cas_unique: int
    noreply: bool


class Connection:
    """One client's session: framing, tokenizing and running commands on the engine."""

    def __init__(self, engine: MemcachedEngine, fd: int) -> None:
        self.engine = engine
        self.fd = fd
        self.closed = False
        self._buffer = bytearray()
        self._pending: PendingStore | None = None
        self._swallow = 0
        self._noreply = False
        self._out = bytearray()

    # -- framing ----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> bytes:
        """Feed bytes from the client; returns the bytes to send back (maybe empty)."""
        self.engine.stats.bytes_read += len(data)
        self._buffer += data
        while not self.closed:
            if self._swallow:
                dropped = min(self._swallow, len(self._buffer))
                del self._buffer[:dropped]
                self._swallow -= dropped
                if self._swallow:
                    break
                continue
            if self._pending is not None:
                need = self._pending.length + 2
                if len(self._buffer) < need:
                    break
                block = bytes(self._buffer[:need])
                del self._buffer[:need]
                pending, self._pending = self._pending, None
                self._complete_store(pending, block)
                continue
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > LINE_PROBE and not self._may_be_multiget():
                    self.closed = True
                break
            line = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            if len(line) > 1 and line.endswith(b"\r"):
                line = line[:-1]
            self._process(line)
        out, self._out = bytes(self._out), bytearray()
        self.engine.stats.bytes_written += len(out)
        return out

    def _may_be_multiget(self) -> bool:
        if len(self._buffer) > MAX_GET_LINE:
            return False
        head = bytes(self._buffer[:LINE_PROBE])
        stripped = head.lstrip(b" ")
        if len(head) - len(stripped) > 100:
            return False
        return stripped.startswith((b"get ", b"gets "))

    # -- replies ----------------------------------------------------------------------------

    def _reply(self, text: str) -> None:
        """memcached's out_string: one line, or nothing after `noreply`."""
        if self._noreply:
            self.engine.trace(f">{self.fd} NOREPLY {text}")
            self._noreply = False
            return
        self.engine.trace(f">{self.fd} {text}")
        self._out += text.encode() + CRLF

    def _set_noreply(self, words: list[bytes], ntokens: int) -> bool:
        """`noreply` as the last word silences this command's reply."""
        self._noreply = words[ntokens - 2] == b"noreply"
        return self._noreply

    # -- dispatch ---------------------------------------------------------------------------

    def _process(self, line: bytes) -> None:
        self.engine.trace(f"<{self.fd} {line.decode('utf-8', 'replace')}")
        words = [w for w in line.split(b" ") if w]
        ntokens = min(len(words), MAX_TOKENS - 1) + 1
        command = words[0] if words else b""
        if ntokens >= 3 and command in (b"get", b"bget"):
            self._get(words[1:], with_cas=False)
        elif ntokens in (6, 7) and command in STORE_COMMANDS:
            self._update(words, ntokens, STORE_COMMANDS[command])
        elif ntokens in (7, 8) and command == b"cas":
            self._update(words, ntokens, cache_mod.StoreMode.CAS)
        elif ntokens in (4, 5) and command == b"incr":
            self._arithmetic(words, ntokens, incr=True)
        elif ntokens >= 3 and command == b"gets":
            self._get(words[1:], with_cas=True)
        elif ntokens in (4, 5) and command == b"decr":
            self._arithmetic(words, ntokens, incr=False)
        elif 3 <= ntokens <= 5 and command == b"delete":
            self._delete(words, ntokens)
        elif ntokens in (4, 5) and command == b"touch":
            self._touch(words, ntokens)
        elif ntokens >= 2 and command == b"stats":
            self._stats(words[1:])
        elif 2 <= ntokens <= 4 and command == b"flush_all":
            self._flush_all(words, ntokens)
        elif ntokens == 2 and command == b"version":
            self._reply(f"VERSION {VERSION}")
        elif ntokens == 2 and command == b"quit":
            self.closed = True
        elif ntokens == 2 and command == b"shutdown":
            if self.engine.options.shutdown_command:
                self.closed = True
                self.engine.shutdown_requested = True
            else:
                self._reply("ERROR: shutdown not enabled")
        elif ntokens in (3, 4) and command == b"verbosity":
            self._set_noreply(words, ntokens)
            level = strtoull(words[1])
            self.engine.set_verbosity(level if level is not None else 0)
            self._reply("OK")
        else:
            self._reply("ERROR")

    # -- retrieval --------------------------------------------------------------------------

    def _get(self, keys: list[bytes], *, with_cas: bool) -> None:
        engine, stats, store = self.engine, self.engine.stats, self.engine.cache
        response = bytearray()
        for key in keys:
            if len(key) > KEY_MAX_LENGTH:
                self._reply(BAD_FORMAT)  # what was gathered so far is dropped, as memcached does
                return
            stats.cmd_get += 1
            expired, flushed = store.is_expired(key), store.is_flushed(key)
            item = store.get(key)
            if item is None:
                stats.get_misses += 1
                stats.get_expired += expired
                stats.get_flushed += flushed and not expired
                continue
            stats.get_hits += 1
            header = b"VALUE " + key + b" %d %d" % (item.flags, len(item.value))
            if with_cas:
                header += b" %d" % item.cas
            response += header + CRLF + item.value + CRLF
            engine.trace(f">{self.fd} sending key {key.decode('utf-8', 'replace')}")
        engine.trace(f">{self.fd} END")
        self._out += response + b"END" + CRLF

    # -- storage ----------------------------------------------------------------------------

    def _update(self, words: list[bytes], ntokens: int, mode: cache_mod.StoreMode) -> None:
        noreply = self._set_noreply(words, ntokens)
        key = words[1]
        if len(key) > KEY_MAX_LENGTH:
            self._reply(BAD_FORMAT)
            return
        flags, exptime, length = strtoul32(words[2]), strtol32(words[3]), strtol32(words[4])
        cas_unique = 0
        if mode is cache_mod.StoreMode.CAS:
            parsed = strtoull(words[5])
            if parsed is None:
                self._reply(BAD_FORMAT)
                return
            cas_unique = parsed
        if flags is None or exptime is None or length is None or length < 0:
            self._reply(BAD_FORMAT)
            return
        limits = self.engine.cache.limits
        if cache_mod.item_size(key, flags, length, limits) > limits.item_size_max:
            self._reply(cache_mod.StoreOutcome.TOO_LARGE.value)
            self._swallow = length + 2
            if mode is cache_mod.StoreMode.SET:
                self.engine.cache.delete(key)  # a failed set must not leave stale data behind
            return
        self._noreply = False  # the reply comes after the data block
        self._pending = PendingStore(mode, key, flags, exptime, length, cas_unique, noreply)

    def _complete_store(self, pending: PendingStore, block: bytes) -> None:
        stats = self.engine.stats
        stats.cmd_set += 1
        self._noreply = pending.noreply
        if not block.endswith(CRLF):
            self._reply("CLIENT_ERROR bad data chunk")
            return
        outcome = self.engine.cache.store(pending.mode, pending.key, pending.flags,
                                          pending.exptime, block[:-2], pending.cas_unique)
        if pending.mode is cache_mod.StoreMode.CAS:
            if outcome is cache_mod.StoreOutcome.STORED:
                stats.cas_hits += 1
            elif outcome is cache_mod.StoreOutcome.EXISTS:
                stats.cas_badval += 1
            elif outcome is cache_mod.StoreOutcome.NOT_FOUND:
                stats.cas_misses += 1
        self._reply(outcome.value)

    # -- the rest ---------------------------------------------------------------------------

    def _arithmetic(self, words: list[bytes], ntokens: int, *, incr: bool) -> None:
        self._set_noreply(words, ntokens)
        key = words[1]
        if len(key) > KEY_MAX_LENGTH:
            self._reply(BAD_FORMAT)
            return
        delta = strtoull(words[2])
        if delta is None:
            self._reply("CLIENT_ERROR invalid numeric delta argument")
            return
        result = self.engine.cache.add_delta(key, incr, delta)
        stats = self.engine.stats
        if result is cache_mod.DeltaError.NOT_FOUND:
            if incr:
                stats.incr_misses += 1
            else:
                stats.decr_misses += 1
            self._reply(result.value)
        elif isinstance(result, cache_mod.DeltaError):
            self._reply(result.value)
        else:
            if incr:
                stats.incr_hits += 1
            else:
                stats.decr_hits += 1
            self._reply(str(result))

    def _delete(self, words: list[bytes], ntokens: int) -> None:
        if ntokens > 3:
            hold_is_zero = words[2] == b"0"
            noreply = self._set_noreply(words, ntokens)
            valid = ((ntokens == 4 and (hold_is_zero or noreply))
                     or (ntokens == 5 and hold_is_zero and noreply))
            if not valid:
                self._reply(BAD_FORMAT + ".  Usage: delete <key> [noreply]")
                return
        key = words[1]
        if len(key) > KEY_MAX_LENGTH:
            self._reply(BAD_FORMAT)
            return
        if self.engine.cache.delete(key):
            self.engine.stats.delete_hits += 1
            self._reply("DELETED")
        else:
            self.engine.stats.delete_misses += 1
            self._reply("NOT_FOUND")

    def _touch(self, words: list[bytes], ntokens: int) -> None:
        self._set_noreply(words, ntokens)
        key = words[1]
        if len(key) > KEY_MAX_LENGTH:
            self._reply(BAD_FORMAT)
            return
        exptime = strtol32(words[2])
        if exptime is None:
            self._reply("CLIENT_ERROR invalid exptime argument")
            return
        stats = self.engine.stats
        stats.cmd_touch += 1
        if self.engine.cache.touch(key, exptime):
            stats.touch_hits += 1
            self._reply("TOUCHED")
        else:
            stats.touch_misses += 1
            self._reply("NOT_FOUND")

    def _stats(self, args: list[bytes]) -> None:
        if not args:
            rows = self.engine.general_stats()
        elif args[0] == b"reset":
            self.engine.stats.reset()
            self.engine.cache.counters.total_items = 0
            self._reply("RESET")
            return
        elif args[0] == b"settings":
            rows = self.engine.settings_stats()
        else:
            self._reply("ERROR")
            return
        for name, value in rows:
            self._out += f"STAT {name} {value}".encode() + CRLF
        self._out += b"END" + CRLF

    def _flush_all(self, words: list[bytes], ntokens: int) -> None:
        noreply = self._set_noreply(words, ntokens)
        self.engine.stats.cmd_flush += 1
        if not self.engine.options.flush_enabled:
            self._reply("CLIENT_ERROR flush_all not allowed")
            return
        delay = 0
        if ntokens != (3 if noreply else 2):
            parsed = _c_integer(words[1])
            delay = parsed[0] if parsed is not None else 0
        self.engine.cache.flush(delay)
        self._reply("OK")
