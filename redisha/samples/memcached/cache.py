"""The item store behind the fake memcached: items, expiry, CAS, LRU eviction, flush_all.

It follows memcached 1.4.36's rules where a client can see them:

- an expiration time of 0 never expires; up to 30 days (2,592,000 s) it counts in seconds
  from now; above that it is an absolute Unix time; a negative one expires at once;
- every store gives the item a new CAS unique (0 for all when CAS is disabled, `-C`);
- `flush_all [delay]` invalidates every item stored before the moment it takes effect, and
  items stored later live on;
- `incr`/`decr` treat the value as a decimal unsigned 64-bit number (`incr` wraps, `decr`
  stops at 0); a result shorter than the value is written in place, padded with spaces,
  as memcached does when it can reuse the item;
- an item too big for the largest slab (`-I`, 1 MB by default) is refused; with a memory
  limit (`-m`), the least recently used items are evicted to make room, or with `-M` the
  store fails with out-of-memory.

Item sizes are counted as memcached counts them (a 48-byte header, the 8-byte CAS, the key
with its NUL, the flags suffix and the data with its CRLF), so `bytes` and the too-large
threshold match a real server's. There are no slab classes: memory is one pool.
"""

from __future__ import annotations

import enum
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

REALTIME_MAXDELTA = 60 * 60 * 24 * 30
"""Expiration times up to this many seconds are relative; larger ones are Unix times."""

ITEM_HEADER_SIZE = 48
"""sizeof(item) on a 64-bit build."""

CAS_SIZE = 8
U64 = 1 << 64

_NUMERIC = re.compile(rb"\A[ \t\n\v\f\r]*\+?([0-9]+)(?:[ \t\n\v\f\r].*)?\Z", re.DOTALL)
"""What strtoull accepts when the number is followed by whitespace or the end."""


class StoreMode(str, enum.Enum):
    """The storage commands."""

    SET = "set"
    ADD = "add"
    REPLACE = "replace"
    APPEND = "append"
    PREPEND = "prepend"
    CAS = "cas"


class StoreOutcome(str, enum.Enum):
    """A storage command's reply line."""

    STORED = "STORED"
    NOT_STORED = "NOT_STORED"
    EXISTS = "EXISTS"
    NOT_FOUND = "NOT_FOUND"
    TOO_LARGE = "SERVER_ERROR object too large for cache"
    OUT_OF_MEMORY = "SERVER_ERROR out of memory storing object"


class DeltaError(str, enum.Enum):
    """Why an `incr`/`decr` did not produce a number."""

    NOT_FOUND = "NOT_FOUND"
    NON_NUMERIC = "CLIENT_ERROR cannot increment or decrement non-numeric value"


@dataclass
class Item:
    """One cached value."""

    value: bytes
    flags: int
    exptime: float
    """Absolute expiry (clock seconds); 0 for never."""
    cas: int
    stored_at: float
    size: int
    """Bytes it takes in memcached's accounting."""
    fetched: bool = False
    seq: int = 0
    """Store order, set when linked (what an immediate flush_all compares against)."""


@dataclass(frozen=True)
class CacheLimits:
    """The settings that bound the store (`-m`, `-M`, `-I`, `-C`, `-o modern`)."""

    max_bytes: int = 64 * 1024 * 1024
    """Memory for items; 0 means no limit (what 1.4.36 makes of `-m 0` and of `-m=64`)."""
    item_size_max: int = 1024 * 1024
    evict_to_free: bool = True
    """False with `-M`: refuse stores instead of evicting."""
    use_cas: bool = True
    inline_ascii_response: bool = True
    """False with `-o modern`/`no_inline_ascii_resp`: flags take 4 bytes, not text."""


@dataclass
class ItemCounters:
    """The item-side counters `stats` reports."""

    total_items: int = 0
    evictions: int = 0
    evicted_unfetched: int = 0
    expired_unfetched: int = 0
    reclaimed: int = 0


def item_size(key: bytes, flags: int, nbytes: int, limits: CacheLimits) -> int:
    """Bytes an item with this key, flags and value length takes (memcached's ITEM_ntotal)."""
    if limits.inline_ascii_response:
        suffix = len(f" {flags} {nbytes}\r\n")
    else:
        suffix = 4 if flags else 0
    size = ITEM_HEADER_SIZE + len(key) + 1 + suffix + nbytes + 2
    return size + (CAS_SIZE if limits.use_cas else 0)


def parse_number(value: bytes) -> int | None:
    """A stored value as the unsigned 64-bit number incr/decr see, or None."""
    match = _NUMERIC.match(value)
    if match is None:
        return None
    number = int(match.group(1))
    return number if number < U64 else None


class Cache:
    """Every item of one server, in least-recently-used order (oldest first)."""

    def __init__(self, limits: CacheLimits | None = None, *,
                 clock: Callable[[], float], started_at: float | None = None) -> None:
        """`clock` is wall-clock seconds; `started_at` (default: now) is the process start,
        which absolute expiration times are checked against."""
        self.limits = limits or CacheLimits()
        self.clock = clock
        self.started_at = clock() if started_at is None else started_at
        self.counters = ItemCounters()
        self._items: OrderedDict[bytes, Item] = OrderedDict()
        self._bytes = 0
        self._next_cas = 0
        self._oldest_live: float | None = None
        """Items stored at or before this moment are dead once it has passed (flush_all)."""
        self._seq = 0
        self._flushed_seq = 0
        """Items stored as this store number or earlier were flushed (flush_all now)."""

    # -- time -------------------------------------------------------------------------------

    def absolute_time(self, exptime: int) -> float:
        """An expiration time from the protocol as a clock time; 0 stays 0 (never)."""
        now = self.clock()
        if exptime == 0:
            return 0.0
        if exptime < 0:
            return now - 1  # already gone
        if exptime > REALTIME_MAXDELTA:
            # An absolute time before the process started would underflow; memcached
            # treats it as "one second after start", i.e. already expired.
            return float(exptime) if exptime > self.started_at else now - 1
        return now + exptime

    # -- reading ----------------------------------------------------------------------------

    def _live(self, item: Item, now: float) -> bool:
        if item.exptime and item.exptime <= now:
            return False
        return not self._flushed(item, now)

    def _flushed(self, item: Item, now: float) -> bool:
        oldest = self._oldest_live
        return (item.seq <= self._flushed_seq
                or (oldest is not None and oldest <= now and item.stored_at <= oldest))

    def peek(self, key: bytes) -> Item | None:
        """The live item under `key` without bumping it in the LRU (reaps a dead one)."""
        item = self._items.get(key)
        if item is None:
            return None
        if not self._live(item, self.clock()):
            self._unlink(key, item, expired=True)
            return None
        return item

    def get(self, key: bytes) -> Item | None:
        """The live item under `key`, marked fetched and moved to the LRU's head."""
        item = self.peek(key)
        if item is not None:
            item.fetched = True
            self._items.move_to_end(key)
        return item

    def is_flushed(self, key: bytes) -> bool:
        """Whether `key` holds an item that flush_all killed (for `get_flushed`)."""
        item = self._items.get(key)
        return item is not None and self._flushed(item, self.clock())

    def is_expired(self, key: bytes) -> bool:
        """Whether `key` holds an item past its expiration time (for `get_expired`)."""
        item = self._items.get(key)
        return item is not None and bool(item.exptime) and item.exptime <= self.clock()

    # -- writing ----------------------------------------------------------------------------

    def store(self, mode: StoreMode, key: bytes, flags: int, exptime: int, value: bytes,
              cas_unique: int = 0) -> StoreOutcome:
        """Run one storage command; `exptime` as the protocol gave it."""
        size = item_size(key, flags, len(value), self.limits)
        if size > self.limits.item_size_max:
            if mode is StoreMode.SET:
                self.delete(key)  # a failed set must not leave the old value readable
            return StoreOutcome.TOO_LARGE
        old = self.peek(key)
        if mode is StoreMode.ADD and old is not None:
            old.fetched = True
            self._items.move_to_end(key)  # memcached bumps the existing item on a failed add
            return StoreOutcome.NOT_STORED
        if mode in (StoreMode.REPLACE, StoreMode.APPEND, StoreMode.PREPEND) and old is None:
            return StoreOutcome.NOT_STORED
        if mode is StoreMode.CAS:
            if old is None:
                return StoreOutcome.NOT_FOUND
            if old.cas != cas_unique:
                return StoreOutcome.EXISTS
        if mode is StoreMode.APPEND and old is not None:
            value, flags, absolute = old.value + value, old.flags, old.exptime
        elif mode is StoreMode.PREPEND and old is not None:
            value, flags, absolute = value + old.value, old.flags, old.exptime
        else:
            absolute = self.absolute_time(exptime)
        size = item_size(key, flags, len(value), self.limits)
        if size > self.limits.item_size_max:
            return StoreOutcome.NOT_STORED  # the joined value has no slab big enough
        if not self._make_room(size - (old.size if old is not None else 0), keep=key):
            return StoreOutcome.OUT_OF_MEMORY
        self._link(key, Item(value=value, flags=flags, exptime=absolute, cas=self._cas(),
                             stored_at=self.clock(), size=size))
        return StoreOutcome.STORED

    def delete(self, key: bytes) -> bool:
        item = self.peek(key)
        if item is None:
            return False
        self._unlink(key, item)
        return True

    def touch(self, key: bytes, exptime: int) -> bool:
        item = self.get(key)
        if item is None:
            return False
        item.exptime = self.absolute_time(exptime)
        return True

    def add_delta(self, key: bytes, incr: bool, delta: int) -> int | DeltaError:
        """`incr`/`decr`: the new number, or why there is none."""
        item = self.peek(key)
        if item is None:
            return DeltaError.NOT_FOUND
        number = parse_number(item.value) if item.value else None
        if number is None:
            return DeltaError.NON_NUMERIC
        number = (number + delta) % U64 if incr else max(number - delta, 0)
        text = str(number).encode()
        if len(text) <= len(item.value):
            item.value = text + b" " * (len(item.value) - len(text))
            item.cas = self._cas()
            self._items.move_to_end(key)
        else:
            size = item_size(key, item.flags, len(text), self.limits)
            self._make_room(size - item.size, keep=key)
            self._link(key, Item(value=text, flags=item.flags, exptime=item.exptime,
                                 cas=self._cas(), stored_at=self.clock(), size=size))
        return number

    def flush(self, delay: int = 0) -> None:
        """`flush_all [delay]`: everything stored up to the moment it takes effect dies.

        The latest delay wins, as memcached keeps one `oldest_live`. One that takes effect
        now kills the items by store order, not time, so a store in the same clock tick
        survives (memcached tells those apart by CAS unique)."""
        if delay > 0:
            self._oldest_live = self.absolute_time(delay)
            return
        self._oldest_live = None
        self._flushed_seq = self._seq

    # -- accounting -------------------------------------------------------------------------

    @property
    def curr_items(self) -> int:
        self.reap()
        return len(self._items)

    @property
    def total_bytes(self) -> int:
        """Bytes the live items take (`stats`' `bytes`)."""
        self.reap()
        return self._bytes

    def reap(self) -> None:
        """Drop every dead item (memcached's LRU crawler does this in the background)."""
        now = self.clock()
        for key, item in [(k, i) for k, i in self._items.items() if not self._live(i, now)]:
            self._unlink(key, item, expired=True)

    def _cas(self) -> int:
        if not self.limits.use_cas:
            return 0
        self._next_cas += 1
        return self._next_cas

    def _link(self, key: bytes, item: Item) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._seq += 1
        item.seq = self._seq
        self._items[key] = item
        self._bytes += item.size
        self.counters.total_items += 1

    def _unlink(self, key: bytes, item: Item, *, expired: bool = False) -> None:
        if self._items.get(key) is item:
            del self._items[key]
            self._bytes -= item.size
            if expired:
                self.counters.reclaimed += 1
                if not item.fetched:
                    self.counters.expired_unfetched += 1

    def _make_room(self, needed: int, *, keep: bytes) -> bool:
        """Evict from the LRU's tail until `needed` more bytes fit; False if they cannot."""
        limit = self.limits.max_bytes
        if limit <= 0 or self._bytes + needed <= limit:
            return True
        self.reap()
        while self._bytes + needed > limit:
            victim = next((k for k in self._items if k != keep), None)
            if victim is None or not self.limits.evict_to_free:
                return self._bytes + needed <= limit
            item = self._items[victim]
            self._unlink(victim, item)
            self.counters.evictions += 1
            if not item.fetched:
                self.counters.evicted_unfetched += 1
        return True
