"""Per-cluster loopback ranges, and pod IPs allocated out of them.

Every embedded cluster gives each pod its own loopback address and each Service its own
ClusterIP, so that a pod listens on its real port (6379) and addresses look like a real
cluster's. Linux routes all of 127.0.0.0/8 to the loopback device, so any 127.x.y.z can be
bound without configuration.

**Claiming.** Two clusters on one machine — even in two processes — must never hand out the
same address. A cluster claims a pair of /16s, `127.X.0.0/16` for pods and `127.X+1.0.0/16`
for services (X even, so pairs never overlap), by binding and listening on a small claim
socket at `127.X.0.1:CLAIM_PORT`. The kernel is the lock: a second claimant's bind fails
with EADDRINUSE, and it tries the next pair. The claim dies with the process, so a crashed
cluster leaves nothing to clean up. `127.X.0.1` is never given to a pod.

**Cluster DNS** listens on `127.X+1.0.10`, the service range's 10th address, as kube-dns
gets 10.96.0.10 from kubeadm; the API server never allocates it to a Service that does
not ask for it.

**No per-address loopback** (macOS configures only 127.0.0.1 on lo0): claiming detects it by
binding `127.X.0.2` and raises `LoopbackUnavailable`. A fallback onto distinct ports of
127.0.0.1 would have to translate every (pod IP, port) pair for in-process programs, the
proxy and the hosts files, and could not work for real processes that bind their own ports
(a real `redis-server` replicating from `<pod>:6379`); the engine therefore refuses, with a
message saying why, rather than run with addresses that do not behave like a cluster's.
"""

from __future__ import annotations

import errno
import ipaddress
import random
import socket
from dataclasses import dataclass, field
from typing import Self

from cluster.apiserver import dns_service_ip

CLAIM_PORT = 47_001
"""The port of the claim listener at `127.X.0.1`; fixed, so every claimant probes the same."""

FIRST_PAIR = 2
"""The lowest X tried: 127.0.x and 127.1.x are left to the machine (127.0.0.1, 127.0.0.53,
127.0.1.1 are in common use)."""

LAST_PAIR = 252
"""The highest X tried (X+1 = 253 stays below 127.255)."""


class LoopbackUnavailable(RuntimeError):
    """This machine cannot bind arbitrary 127.x.y.z addresses."""


class RangesExhausted(RuntimeError):
    """Every pair of /16s is claimed (by other clusters or other programs)."""


class PodIPsExhausted(RuntimeError):
    """The pod range has no free address left."""


@dataclass
class AddressRanges:
    """A claimed pair of loopback /16s; `close()` gives them back."""

    index: int
    """X in `127.X.0.0/16`: unique among the clusters running on this machine."""
    pod_network: ipaddress.IPv4Network
    service_network: ipaddress.IPv4Network
    _claim: socket.socket | None = field(repr=False, default=None)

    @property
    def pod_cidr(self) -> str:
        return str(self.pod_network)

    @property
    def service_cidr(self) -> str:
        """Hand this to `APIServerSettings(service_cidr=...)`: ClusterIPs come from it."""
        return str(self.service_network)

    @property
    def dns_address(self) -> str:
        """Where the cluster DNS server listens: the service range's 10th address."""
        return dns_service_ip(self.service_cidr)

    @property
    def claim_address(self) -> str:
        return str(self.pod_network.network_address + 1)

    @property
    def closed(self) -> bool:
        return self._claim is None

    def close(self) -> None:
        """Release the claim; another cluster may take the pair from now on."""
        claim, self._claim = self._claim, None
        if claim is not None:
            claim.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pair(index: int) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
    return (ipaddress.IPv4Network(f"127.{index}.0.0/16"),
            ipaddress.IPv4Network(f"127.{index + 1}.0.0/16"))


def _try_claim(index: int) -> socket.socket | None:
    """A listening claim socket for pair `index`, or None when someone holds it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # No SO_REUSEADDR: with it, Linux lets two non-listening sockets share a port.
        sock.bind((f"127.{index}.0.1", CLAIM_PORT))
        sock.listen(1)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise LoopbackUnavailable(_UNAVAILABLE) from exc
        raise
    return sock


_UNAVAILABLE = ("this machine cannot bind per-pod loopback addresses (127.x.y.z other than "
                "127.0.0.1); the embedded cluster needs them so that every pod can listen on "
                "its real port — on macOS, add aliases with `ifconfig lo0 alias 127.x.y.z`")


def per_address_loopback(index: int) -> bool:
    """True when an arbitrary address of pair `index` (127.X.0.2) can be bound."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((f"127.{index}.0.2", 0))
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            return False
        raise
    finally:
        probe.close()
    return True


def claim_ranges(*, index: int | None = None, rng: random.Random | None = None) -> AddressRanges:
    """Claim a free pair of /16s: `index` pins X (tried first, then the rest in order), else
    the search starts at a random even X so that concurrent starts rarely race."""
    count = (LAST_PAIR - FIRST_PAIR) // 2 + 1
    if index is not None:
        if index % 2 or not FIRST_PAIR <= index <= LAST_PAIR:
            raise ValueError(f"range index must be even, {FIRST_PAIR}..{LAST_PAIR}: {index}")
        start = (index - FIRST_PAIR) // 2
    else:
        start = (rng or random.Random()).randrange(count)
    for step in range(count):
        candidate = FIRST_PAIR + 2 * ((start + step) % count)
        claim = _try_claim(candidate)
        if claim is None:
            continue
        if not per_address_loopback(candidate):
            claim.close()
            raise LoopbackUnavailable(_UNAVAILABLE)
        pods, services = _pair(candidate)
        return AddressRanges(candidate, pods, services, claim)
    raise RangesExhausted("every 127.X.0.0/16 pair is claimed by another cluster")


class PodIPAllocator:
    """Pod IPs by pod uid, from a claimed pod range.

    Allocation moves a cursor forward through the range and wraps, so an address just
    released is the last to be handed out again: a connection that still targets a deleted
    pod's IP then meets nothing rather than its successor. Addresses ending in .0 and .255
    are skipped (valid on loopback, but confusing to read), as is the claim address.
    """

    def __init__(self, network: ipaddress.IPv4Network) -> None:
        self.network = network
        self._base = int(network.network_address)
        self._size = network.num_addresses
        self._reserved = {self._base, self._base + 1, self._base + self._size - 1}
        self._cursor = 2
        self._by_uid: dict[str, str] = {}
        self._used: set[int] = set()

    def __len__(self) -> int:
        return len(self._by_uid)

    def ip_of(self, uid: str) -> str | None:
        return self._by_uid.get(uid)

    def allocate(self, uid: str) -> str:
        """The pod's IP; the same one when asked again for the same uid."""
        ip = self._by_uid.get(uid)
        if ip is not None:
            return ip
        for _ in range(self._size):
            offset = self._cursor
            self._cursor = (self._cursor + 1) % self._size
            value = self._base + offset
            if value in self._reserved or value in self._used or (value & 0xFF) in (0, 255):
                continue
            self._used.add(value)
            ip = str(ipaddress.IPv4Address(value))
            self._by_uid[uid] = ip
            return ip
        raise PodIPsExhausted(f"no pod IP left in {self.network}")

    def release(self, uid: str) -> str | None:
        """Give the pod's IP back; returns it (None when the uid held none)."""
        ip = self._by_uid.pop(uid, None)
        if ip is not None:
            self._used.discard(int(ipaddress.IPv4Address(ip)))
        return ip

    def __contains__(self, ip: object) -> bool:
        if not isinstance(ip, str):
            return False
        try:
            return int(ipaddress.IPv4Address(ip)) in self._used
        except ValueError:
            return False
