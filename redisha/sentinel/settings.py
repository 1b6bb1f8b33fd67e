"""Timing knobs of the built-in Sentinel that are not sentinel.conf options.

Defaults are Redis Sentinel's own constants (`sentinel.c`), with one deliberate change: the
PING and ASK periods shrink with a short down-after (`ping_interval`), so that an instance
is found down within about a tenth of down-after of the moment the down-after has elapsed,
not up to a whole second later. Tests pass a `SentinelSettings.quick()`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class SentinelSettings:
    """How often the sentinel talks to its instances, and how long it waits for them."""

    ping_period: float = 1.0
    """PING every instance this often (Sentinel's SENTINEL_PING_PERIOD) — or more often, see
    `pings_per_down_after`."""
    pings_per_down_after: int = 10
    """At least this many PINGs per down-after period: with down-after 1000 ms an instance
    is pinged every 100 ms, so a hang is seen at down-after plus at most 100 ms."""
    info_period: float = 10.0
    """INFO to masters and replicas this often (SENTINEL_INFO_PERIOD)."""
    fast_info_period: float = 1.0
    """INFO to replicas this often while their master is down or failing over, or while
    they report their link to the master down (never slower than the PING interval)."""
    publish_period: float = 2.0
    """Hello messages on `__sentinel__:hello` this often (SENTINEL_PUBLISH_PERIOD)."""
    ask_period: float = 1.0
    """Ask peers `IS-MASTER-DOWN-BY-ADDR` this often while the master is down (or the PING
    interval, when shorter)."""
    tick: float = 0.05
    """The timer's period: each tick waits a random 50-100% of it (20-40 Hz; Sentinel runs
    at 10-20 Hz), so that sentinels started together do not stay in step. Replies and
    commands also run the timer's pass at once, so most steps do not wait for a tick."""
    start_desync: float = 0.05
    """A sentinel that finds the master ODOWN waits a random 0 to this long before it asks
    for votes, so that sentinels that found it together do not split the vote."""
    max_desync: float = 1.0
    """A sentinel that voted for another one waits up to this much longer (random) before
    it may start a failover of its own (SENTINEL_MAX_DESYNC)."""
    election_timeout: float = 10.0
    """Give up an election not won within this long (or failover-timeout when shorter)."""
    slave_reconf_timeout: float = 10.0
    """A replica told to follow the new master that has not started to within this long
    counts as reconfigured (SENTINEL_SLAVE_RECONF_TIMEOUT)."""
    min_link_reconnect_period: float = 15.0
    """A command link with a PING unanswered for half of down-after is closed and reopened,
    but not before it has been up this long."""
    connect_timeout: float = 1.0
    """A connection attempt that has not completed by then (a partition makes connects
    hang) fails, and is retried."""
    reconnect_period: float = 1.0
    """After a failed connection attempt, wait this long (or the PING interval, when
    shorter) before the next one. A link that was up and dropped is reopened at once."""
    select_wait: float = 1.0
    """Before choosing the replica to promote, wait up to this long for an INFO from each
    reachable replica sent after the failover began, so the choice is made on offsets that
    include every write the old master sent."""
    convert_wait_periods: int = 4
    """A known replica found acting as master is turned back into a replica once it has
    been so for this many hello periods (Sentinel waits 4 × 2 s for newer configs)."""
    max_pending_commands: int = 100
    """Periodic commands are not sent on a link with this many replies outstanding."""

    @classmethod
    def quick(cls, **overrides: float) -> SentinelSettings:
        """Short periods for tests: hello every 0.2 s, INFO every 0.5 s, ticks of 20 ms."""
        base = cls(ping_period=0.1, info_period=0.5, fast_info_period=0.05,
                   publish_period=0.2, ask_period=0.1, tick=0.02, start_desync=0.05,
                   max_desync=0.1,
                   election_timeout=2.0, slave_reconf_timeout=2.0,
                   min_link_reconnect_period=2.0, connect_timeout=0.5,
                   reconnect_period=0.1, select_wait=0.3)
        return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]

    def ping_interval(self, down_after_ms: int) -> float:
        """The PING period for an instance with this down-after."""
        return max(0.005, min(self.ping_period, down_after_ms / 1000 / self.pings_per_down_after))

    def ask_interval(self, down_after_ms: int) -> float:
        return min(self.ask_period, self.ping_interval(down_after_ms))

    def fast_info_interval(self, down_after_ms: int) -> float:
        return min(self.fast_info_period, max(self.ping_interval(down_after_ms), 0.02))
