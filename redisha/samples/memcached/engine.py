"""One memcached server's state, apart from any I/O: the cache, the counters, the settings.

`protocol.Connection` runs commands against a `MemcachedEngine`; the asyncio shell in
`server.py` owns one engine and a `Connection` per client. `stats` output follows
memcached 1.4.36's `server_stats` order and names, with the item totals after it;
`curr_connections` counts clients only (memcached also counts its listening sockets).
"""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import dataclass, fields

from redisha.samples.memcached import cache
from redisha.samples.memcached import options as options_mod

MAX_VERBOSITY_LEVEL = 2
FIRST_CLIENT_FD = 27
"""memcached's descriptors for client connections start after its listeners and threads'
pipes; the number only labels `-vv` lines, as a real server's fd does."""
LISTENER_FD = 26
LIBEVENT_VERSION = "2.0.22-stable"
HASH_POWER_LEVEL = 16


@dataclass
class ServerStats:
    """The connection- and command-side counters of `stats`."""

    total_connections: int = 0
    rejected_connections: int = 0
    cmd_get: int = 0
    cmd_set: int = 0
    cmd_flush: int = 0
    cmd_touch: int = 0
    get_hits: int = 0
    get_misses: int = 0
    get_expired: int = 0
    get_flushed: int = 0
    delete_misses: int = 0
    delete_hits: int = 0
    incr_misses: int = 0
    incr_hits: int = 0
    decr_misses: int = 0
    decr_hits: int = 0
    cas_misses: int = 0
    cas_hits: int = 0
    cas_badval: int = 0
    touch_hits: int = 0
    touch_misses: int = 0
    bytes_read: int = 0
    bytes_written: int = 0

    def reset(self) -> None:
        """`stats reset`: every counter back to 0."""
        for f in fields(self):
            setattr(self, f.name, 0)


def slab_classes(chunk_size_max: int, *, page_size: int = 1024 * 1024,
                 factor: float = 1.25, chunk_size: int = 48) -> list[tuple[int, int, int]]:
    """(class id, chunk size, chunks per page) as memcached's `slabs_init` lays them out."""
    classes: list[tuple[int, int, int]] = []
    size = cache.ITEM_HEADER_SIZE + chunk_size
    i = 0
    while True:
        i += 1
        if i >= 63 or size >= chunk_size_max / factor:
            break
        if size % 8:
            size += 8 - size % 8
        classes.append((i, size, page_size // size))
        size = int(size * factor)
    classes.append((i, chunk_size_max, page_size // chunk_size_max))
    return classes


class MemcachedEngine:
    """The cache and everything `stats` reports, shared by all connections of one server."""

    def __init__(self, options: options_mod.MemcachedOptions | None = None, *,
                 clock: Callable[[], float], pid: int,
                 trace: Callable[[str], None] = lambda line: None) -> None:
        """`trace` receives memcached's `-vv` lines (stderr in a real server)."""
        self.options = options or options_mod.MemcachedOptions()
        self.clock = clock
        self.pid = pid
        self.started_at = clock()
        self.verbose = self.options.verbose
        self._trace = trace
        self.stats = ServerStats()
        self.cache = cache.Cache(cache.CacheLimits(
            max_bytes=self.options.max_bytes, item_size_max=self.options.item_size_max,
            evict_to_free=self.options.evict_to_free, use_cas=self.options.use_cas,
            inline_ascii_response=self.options.inline_ascii_response),
            clock=clock, started_at=self.started_at)
        self._fds: set[int] = set()
        self.shutdown_requested = False
        """Set by the `shutdown` command (with `-A`); the server shell then stops."""

    # -- connections --------------------------------------------------------------------------

    @property
    def curr_connections(self) -> int:
        return len(self._fds)

    def may_accept(self) -> bool:
        """False when `-c` connections are open: the next one is turned away."""
        return len(self._fds) < self.options.max_connections

    def connection_opened(self) -> int:
        """Count a new client in; returns its descriptor number (lowest free, as Unix does)."""
        fd = FIRST_CLIENT_FD
        while fd in self._fds:
            fd += 1
        self._fds.add(fd)
        self.stats.total_connections += 1
        self.trace(f"<{fd} new auto-negotiating client connection")
        return fd

    def connection_closed(self, fd: int) -> None:
        if fd in self._fds:
            self._fds.discard(fd)
            self.trace(f"<{fd} connection closed.")

    def connection_rejected(self) -> None:
        self.stats.rejected_connections += 1

    # -- logging -------------------------------------------------------------------------------

    def trace(self, line: str) -> None:
        """A `-vv` line: written only while verbosity is 2 or more."""
        if self.verbose > 1:
            self._trace(line)

    def startup_lines(self) -> list[str]:
        """What memcached prints before it serves: the slab classes and listener at `-vv`
        (at `-v` and below, nothing)."""
        if self.verbose <= 1:
            return []
        lines = [f"slab class {i:3d}: chunk size {size:9d} perslab {per:7d}"
                 for i, size, per in slab_classes(self.options.slab_chunk_size_max)]
        if self.options.port:
            lines.append(f"<{LISTENER_FD} server listening (auto-negotiate)")
        return lines

    # -- stats ---------------------------------------------------------------------------------

    def general_stats(self) -> list[tuple[str, str]]:
        """`stats` with no argument, in memcached's order."""
        o, s, now = self.options, self.stats, self.clock()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        uptime = int(now - self.started_at)
        rows: list[tuple[str, object]] = [
            ("pid", self.pid),
            ("uptime", uptime),
            ("time", int(now)),
            ("version", options_mod.VERSION),
            ("libevent", LIBEVENT_VERSION),
            ("pointer_size", 64),
            ("rusage_user", f"{usage.ru_utime:.6f}"),
            ("rusage_system", f"{usage.ru_stime:.6f}"),
            ("curr_connections", self.curr_connections),
            ("total_connections", s.total_connections),
        ]
        if o.maxconns_fast:
            rows.append(("rejected_connections", s.rejected_connections))
        rows += [
            ("connection_structures", self.curr_connections + 1),
            ("reserved_fds", 20),
            ("cmd_get", s.cmd_get), ("cmd_set", s.cmd_set), ("cmd_flush", s.cmd_flush),
            ("cmd_touch", s.cmd_touch), ("get_hits", s.get_hits), ("get_misses", s.get_misses),
            ("get_expired", s.get_expired), ("get_flushed", s.get_flushed),
            ("delete_misses", s.delete_misses), ("delete_hits", s.delete_hits),
            ("incr_misses", s.incr_misses), ("incr_hits", s.incr_hits),
            ("decr_misses", s.decr_misses), ("decr_hits", s.decr_hits),
            ("cas_misses", s.cas_misses), ("cas_hits", s.cas_hits),
            ("cas_badval", s.cas_badval), ("touch_hits", s.touch_hits),
            ("touch_misses", s.touch_misses), ("auth_cmds", 0), ("auth_errors", 0),
            ("bytes_read", s.bytes_read), ("bytes_written", s.bytes_written),
            ("limit_maxbytes", o.max_bytes), ("accepting_conns", 1),
            ("listen_disabled_num", 0), ("time_in_listen_disabled_us", 0),
            ("threads", o.threads), ("conn_yields", 0),
            ("hash_power_level", HASH_POWER_LEVEL), ("hash_bytes", 8 << HASH_POWER_LEVEL),
            ("hash_is_expanding", 0),
        ]
        if o.slab_reassign:
            rows += [("slab_reassign_rescues", 0), ("slab_reassign_chunk_rescues", 0),
                     ("slab_reassign_evictions_nomem", 0), ("slab_reassign_inline_reclaim", 0),
                     ("slab_reassign_busy_items", 0), ("slab_reassign_running", 0),
                     ("slabs_moved", 0)]
        if o.lru_crawler:
            rows += [("lru_crawler_running", 0), ("lru_crawler_starts", 0)]
        if o.lru_maintainer:
            rows.append(("lru_maintainer_juggles", 0))
        c = self.cache.counters
        rows += [
            ("malloc_fails", 0), ("log_worker_dropped", 0), ("log_worker_written", 0),
            ("log_watcher_skipped", 0), ("log_watcher_sent", 0),
            ("bytes", self.cache.total_bytes), ("curr_items", self.cache.curr_items),
            ("total_items", c.total_items), ("expired_unfetched", c.expired_unfetched),
            ("evicted_unfetched", c.evicted_unfetched), ("evictions", c.evictions),
            ("reclaimed", c.reclaimed),
        ]
        return [(name, str(value)) for name, value in rows]

    def settings_stats(self) -> list[tuple[str, str]]:
        """`stats settings`: the settings this server honours, under memcached's names."""
        o = self.options
        yes_no = {True: "yes", False: "no"}
        on_off = {True: "on", False: "off"}
        rows: list[tuple[str, object]] = [
            ("maxbytes", o.max_bytes), ("maxconns", o.max_connections), ("tcpport", o.port),
            ("udpport", o.udp_port), ("inter", o.listen or "NULL"), ("verbosity", self.verbose),
            ("evictions", on_off[o.evict_to_free]), ("growth_factor", "1.25"),
            ("chunk_size", 48), ("num_threads", o.threads), ("cas_enabled", yes_no[o.use_cas]),
            ("item_size_max", o.item_size_max), ("maxconns_fast", yes_no[o.maxconns_fast]),
            ("slab_reassign", yes_no[o.slab_reassign]), ("lru_crawler", yes_no[o.lru_crawler]),
            ("lru_maintainer_thread", yes_no[o.lru_maintainer]),
            ("hash_algorithm", o.hash_algorithm), ("flush_enabled", yes_no[o.flush_enabled]),
            ("inline_ascii_response", yes_no[o.inline_ascii_response]),
            ("slab_chunk_max", o.slab_chunk_size_max),
        ]
        return [(name, str(value)) for name, value in rows]

    def set_verbosity(self, level: int) -> None:
        self.verbose = min(level, MAX_VERBOSITY_LEVEL)
