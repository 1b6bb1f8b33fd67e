"""Network faults: partitions between sets of pod IPs, and frozen pods.

A partition makes traffic between its two sides hang in both directions — established
connections stall, new ones hang on connect — and never fail fast, because that is what a
real network partition looks like to Redis and Sentinel: silence until a timeout.

Two layers enforce it:

- **In-process** (always): connections made and accepted through a pod's sandbox consult
  `Faults.allows(local_ip, peer_ip)` on every read and write and stall while it is False;
  the user-space service proxy does the same between a client and its endpoint (through
  the kernel proxy a connection keeps the client's address, so the endpoint's own
  sandbox is what stalls it in process). Freezing a pod (its
  program SIGSTOPped, as far as the network can tell) stalls that pod's in-process
  connections the same way.
- **In the kernel** (when nftables works, i.e. root and nftables installed): a chain in
  this cluster's nftables table drops packets between the sides' addresses, so
  real processes (a real `redis-server`) are partitioned too. Dropped segments are
  retransmitted after healing with TCP's back-off, so traffic resumes within a second or
  two after a short partition, longer after a long one — as on a real network. Real
  processes are matched by their source address, so they must bind (or connect from) their
  pod IP; a socket left to the kernel's choice on loopback speaks from 127.0.0.1 and is
  outside every partition.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cluster.network import nftables
from cluster.network.nftables import NftTable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Partition:
    """A handle for one partition; pass it to `heal` to end it."""

    id: int
    side_a: frozenset[str]
    side_b: frozenset[str]
    since: float
    """When it began, by the network's clock."""

    def separates(self, a: str, b: str) -> bool:
        return ((a in self.side_a and b in self.side_b)
                or (a in self.side_b and b in self.side_a))


class Faults:
    """The partitions and frozen pods in force, and who to tell when they change.

    `allows` is on every in-process read and write, so the common case — no fault at all —
    is one attribute test.
    """

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._ids = itertools.count(1)
        self._partitions: dict[int, Partition] = {}
        self._frozen: set[str] = set()
        self._listeners: list[Callable[[], None]] = []
        self._changed: asyncio.Event | None = None
        self.quiet = True
        """No partition and no frozen pod: everything flows."""

    @property
    def partitions(self) -> list[Partition]:
        return list(self._partitions.values())

    @property
    def frozen(self) -> frozenset[str]:
        return frozenset(self._frozen)

    def is_frozen(self, ip: str) -> bool:
        return ip in self._frozen

    def allows(self, local_ip: str, peer_ip: str) -> bool:
        """May the pod at `local_ip` exchange data with `peer_ip` right now?"""
        if self.quiet:
            return True
        if local_ip in self._frozen:
            return False
        for partition in self._partitions.values():
            if partition.separates(local_ip, peer_ip):
                return False
        return True

    def separated(self, a: str, b: str) -> bool:
        """Is a partition in force between `a` and `b` (freezes aside)?"""
        return any(p.separates(a, b) for p in self._partitions.values())

    async def wait_allowed(self, local_ip: str, peer_ip: str) -> None:
        """Return once `allows(local_ip, peer_ip)` holds."""
        await self.wait_for(lambda: self.allows(local_ip, peer_ip))

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        """Return once `condition()` holds, re-checking after every change of faults."""
        while not condition():
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` (synchronously) after every change."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def partition(self, side_a: Iterable[str], side_b: Iterable[str]) -> Partition:
        a, b = frozenset(side_a), frozenset(side_b)
        if a & b:
            raise ValueError(f"an address cannot be on both sides of a partition: {sorted(a & b)}")
        handle = Partition(next(self._ids), a, b, self._clock())
        self._partitions[handle.id] = handle
        self._notify()
        return handle

    def heal(self, handle: Partition | None = None) -> None:
        """End one partition, or every partition when `handle` is None."""
        if handle is None:
            self._partitions.clear()
        else:
            self._partitions.pop(handle.id, None)
        self._notify()

    def set_frozen(self, ip: str, frozen: bool) -> None:
        if frozen == (ip in self._frozen):
            return
        if frozen:
            self._frozen.add(ip)
        else:
            self._frozen.discard(ip)
        self._notify()

    def _notify(self) -> None:
        self.quiet = not self._partitions and not self._frozen
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()
        for listener in tuple(self._listeners):
            try:
                listener()
            except Exception:
                log.exception("network fault listener %r failed", listener)


class KernelPartitions:
    """Partitions enforced by nftables, so that real processes are cut off too.

    The rules are one filter chain, `partitions`, on the output hook of the cluster's
    table (`nftables.NftTable`, shared with the kernel service proxy), rewritten whole in
    one transaction on every change and removed while no partition is in force. Every
    locally generated packet passes the output hook — a real process's and the engine's
    alike — and at filter priority it comes after the service proxy's DNAT, so a packet
    sent to a ClusterIP is matched by the endpoint it was translated to: partitions apply
    through Services too.
    """

    CHAIN = "partitions"

    def __init__(self, table: NftTable) -> None:
        self.table = table
        self._active = False

    @staticmethod
    def available() -> bool:
        """Can this process drive nftables? (Needs libnftables or `nft`, and root.)"""
        return nftables.usable()

    def apply(self, partitions: Iterable[Partition]) -> None:
        """Make the chain drop exactly the traffic between the given partitions' sides."""
        rules = []
        for p in partitions:
            if not p.side_a or not p.side_b:
                continue
            a = ", ".join(sorted(p.side_a))
            b = ", ".join(sorted(p.side_b))
            rules.append(f"ip saddr {{ {a} }} ip daddr {{ {b} }} drop")
            rules.append(f"ip saddr {{ {b} }} ip daddr {{ {a} }} drop")
        if not rules and not self._active:
            return
        chain = f"{self.table.ref} {self.CHAIN}"
        script = [self._declare(chain)]
        if rules:
            script += [f"flush chain {chain}", *(f"add rule {chain} {r}" for r in rules)]
        else:
            script.append(f"delete chain {chain}")
        self.table.apply(script)
        self._active = bool(rules)

    @staticmethod
    def _declare(chain: str) -> str:
        return f"add chain {chain} {{ type filter hook output priority filter; policy accept; }}"

    def clear(self) -> None:
        """Remove the chain: nothing is partitioned in the kernel any more."""
        chain = f"{self.table.ref} {self.CHAIN}"
        self.table.apply([self._declare(chain), f"delete chain {chain}"])
        self._active = False
