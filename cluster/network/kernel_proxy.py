"""The kernel service proxy (kube-proxy's nftables mode): ClusterIP:port DNATed in the kernel.

The user-space proxy (`proxy.py`) puts a third process — ours — in the path of every byte
to a Service; on a 2-core machine that costs about half the throughput of a real
`redis-server`. kube-proxy forwards in the kernel, and so does this: nftables rules in the
cluster's table (`nftables.NftTable`, shared with the partition rules) rewrite the
destination of each new connection to a ready endpoint, and conntrack carries the rest of
the connection with no process in between.

**The rules.** One nat chain, `services`, on the `output` hook at priority -100 (where
kube-proxy DNATs locally generated traffic: every pod here is a local process, and so is
the engine): one rule per Service port, `ip daddr <ClusterIP> tcp dport <port> goto
svc/<ns>/<name>/<port>`. That chain holds one rule: `dnat to <ip>:<port>` for a single
ready endpoint, `dnat ... to numgen inc mod N map {…}` for several (round-robin like the
user-space proxy; kube-proxy picks at random), and `reject with tcp reset` for none — the
client's connect fails at once with ECONNREFUSED, as against kube-proxy's `reject` (an
ICMP port-unreachable, which a TCP client sees as the same ECONNREFUSED). nat chains see
only the first packet of a connection, so neither the DNAT nor the reject costs anything
per packet of an established connection. Every change is one transaction (`nft` script):
the chains of the Service ports whose endpoints changed are rewritten (the others keep
their round-robin position), and `services` is rewritten when ports come or go.

**Partitions still apply**: the filter chain of `faults.KernelPartitions` runs after the
DNAT (priority filter = 0 > -100) and sees the endpoint's address; replies keep the
endpoint's address until they are un-DNATed at input. A partition between a client and an
endpoint therefore cuts their connection through the Service as it cuts a direct one.

**Endpoints that leave.** conntrack keeps an established connection on the endpoint it was
DNATed to whatever the rules say later, so a connection to an endpoint that left would
live on — on the old primary after a Redis failover. So when an endpoint leaves (or the
Service or its port goes), the sockets connected to its Service address are listed
(sock_diag), their flows looked up in conntrack by tuple (`netlink.Conntrack`), and
exactly the sockets of flows DNATed to it are destroyed (`netlink.destroy_sockets`,
SOCK_DESTROY, what `ss -K` does): the client's next read or write fails with ECONNABORTED
and it reconnects — to a ready endpoint — while the endpoint's side is reset. Connections
to endpoints that stay are untouched. Their conntrack entries are deleted too, so a client
port reused later starts a fresh flow.

Differences from the user-space proxy that a client can see: a connection to a Service
without endpoints is refused (ECONNREFUSED) instead of accepted and reset; a connection
dropped because its endpoint left fails with ECONNABORTED instead of reading EOF; the
endpoint sees the client's own address in both (the user-space proxy binds its upstream
socket to the client's pod IP), and a connection across a partition hangs in connect
(the SYN is dropped) instead of connecting to the proxy and then hanging.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cluster.network import netlink, nftables
from cluster.network.nftables import NftablesError, NftTable
from cluster.network.proxy import Backend, ServiceKey, desired_ports, ready_backends

log = logging.getLogger(__name__)

NAT_PRIORITY = -100
"""`dstnat`: where conntrack's DNAT runs on the output hook (nft names it only for
prerouting, so the number is written)."""

COMMENT_MAX = 128
"""nftables' limit on a rule comment."""


def unavailable_reason(nft: nftables.Nft | None = None) -> str:
    """Why this process cannot run the kernel proxy here ('' when it can): it needs to
    program nftables (through `nft` if given), to read conntrack (ctnetlink) and to
    destroy sockets (SOCK_DESTROY, CONFIG_INET_DIAG_DESTROY) — each tried for real."""
    if not nftables.usable(nft):
        return "nftables is unusable here (needs root and libnftables or the nft binary)"
    if not netlink.conntrack_reachable():
        return "conntrack cannot be read over netlink (nf_conntrack_netlink)"
    if not _can_destroy_sockets():
        return "sockets cannot be destroyed (kernel without CONFIG_INET_DIAG_DESTROY)"
    return ""


def _can_destroy_sockets() -> bool:
    """Abort a connection of our own on 127.0.0.1 and see the client get ECONNABORTED."""
    try:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            with socket.create_connection(listener.getsockname(), timeout=1) as client:
                accepted, _ = listener.accept()
                with accepted:
                    local = client.getsockname()
                    if not netlink.destroy_sockets([netlink.TCPSocket(
                            local=(local[0], local[1]), remote=listener.getsockname(),
                            state=1, cookie=netlink.NO_COOKIE)]):
                        return False
                    try:
                        client.recv(1)
                    except OSError as exc:
                        return exc.errno == errno.ECONNABORTED
                    return False
    except OSError:
        return False


@dataclass
class KernelServicePort:
    """One Service port as the kernel proxy programs it."""

    service: ServiceKey
    cluster_ip: str
    port: int
    name: str
    backends: list[Backend] = field(default_factory=list)
    programmed: bool = False
    """The kernel holds this port's current rules."""

    def __str__(self) -> str:
        return f"{self.service[0]}/{self.service[1]}:{self.port}"

    @property
    def listening(self) -> bool:
        """Traffic to `<clusterIP>:<port>` is handled (the user-space `ServicePort`'s
        meaning: a listener is bound)."""
        return self.programmed

    @property
    def destination(self) -> netlink.Address:
        return (self.cluster_ip, self.port)

    @property
    def chain(self) -> str:
        """This port's own chain (namespace and name are DNS labels: safe in a name)."""
        return f"svc/{self.service[0]}/{self.service[1]}/{self.port}"


def dispatch_rule(port: KernelServicePort) -> str:
    """The `services` chain's rule sending a port's new connections to its own chain."""
    return f"ip daddr {port.cluster_ip} tcp dport {port.port} goto {port.chain}"


def endpoint_rule(port: KernelServicePort) -> str:
    """The one rule of a port's chain: DNAT to its ready endpoints, or reject."""
    comment = f' comment "{str(port)[:COMMENT_MAX]}"'
    backends = port.backends
    if not backends:
        return "meta l4proto tcp reject with tcp reset" + comment
    if len(backends) == 1:
        return f"meta l4proto tcp dnat to {backends[0].ip}:{backends[0].port}" + comment
    choices = ", ".join(f"{i} : {b.ip} . {b.port}" for i, b in enumerate(backends))
    return (f"meta l4proto tcp dnat ip addr . port to numgen inc mod {len(backends)} "
            f"map {{ {choices} }}" + comment)


@dataclass
class _Leaving:
    """Endpoints of one ClusterIP:port whose connections must be dropped after the next
    commit; `everything` when the port itself went."""

    backends: set[Backend] = field(default_factory=set)
    everything: bool = False


class KernelProxy:
    """Service ports as nftables rules; `sync` one Service at a time, then `commit`.

    The same reading surface as the user-space `ServiceProxy` (`ports`, `port`,
    `refresh`, `start`/`stop`), so callers need not know which one runs.
    """

    CHAIN = "services"

    def __init__(self, *, table: NftTable, retry_delay: float = 1.0) -> None:
        self.table = table
        self.retry_delay = retry_delay
        self._services: dict[ServiceKey, dict[int, KernelServicePort]] = {}
        self._changed: set[str] = set()
        """Chains of ports whose rule must be rewritten."""
        self._removed: set[str] = set()
        """Chains of ports that went and must be deleted."""
        self._dispatch_changed = False
        self._leaving: dict[netlink.Address, _Leaving] = {}
        self._started = False
        self._retry: asyncio.TimerHandle | None = None
        self._conntrack = netlink.Conntrack()

    def ports(self, service: ServiceKey | None = None) -> list[KernelServicePort]:
        if service is not None:
            return list(self._services.get(service, {}).values())
        return [p for ports in self._services.values() for p in ports.values()]

    def port(self, namespace: str, name: str, port: int) -> KernelServicePort | None:
        return self._services.get((namespace, name), {}).get(port)

    @property
    def pending(self) -> bool:
        """Changes are waiting for `commit`."""
        return bool(self._changed or self._removed or self._dispatch_changed
                    or self._leaving)

    async def start(self) -> None:
        """Install the (empty) `services` chain and whatever `sync` noted so far."""
        self._started = True
        self._dispatch_changed = True
        self.commit()

    async def stop(self) -> None:
        """Drop every forwarded connection and remove the rules."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        for port in self.ports():
            self._leave(port, everything=True)
        self._services.clear()
        self._changed.clear()
        self._removed.clear()
        self._dispatch_changed = False
        self._started = False
        try:
            self.table.apply([self._declare_dispatch(),
                              f"delete chain {self.table.ref} {self.CHAIN}"])
        except NftablesError:
            log.warning("kernel proxy: could not remove its rules", exc_info=True)
        self._drop_leaving()
        self._conntrack.close()

    def refresh(self) -> None:
        """Faults changed: nothing to do, the kernel's partition rules see DNATed flows."""

    def sync(self, key: ServiceKey, service: dict[str, Any] | None,
             endpoints: dict[str, Any] | None) -> None:
        """Note one Service's current ports and ready endpoints; `commit` programs them."""
        wanted = desired_ports(service)
        cluster_ip = ((service or {}).get("spec") or {}).get("clusterIP", "")
        ports = self._services.get(key, {})
        for number, port in list(ports.items()):
            if number not in wanted or port.cluster_ip != cluster_ip:
                del ports[number]
                self._leave(port, everything=True)
                self._removed.add(port.chain)
                self._changed.discard(port.chain)
                self._dispatch_changed = True
        for number, name in wanted.items():
            existing = ports.get(number)
            if existing is not None:
                port = existing
            else:
                port = KernelServicePort(service=key, cluster_ip=cluster_ip, port=number,
                                         name=name)
                ports[number] = port
                self._removed.discard(port.chain)
                self._changed.add(port.chain)
                self._dispatch_changed = True
            port.name = name
            backends = ready_backends(endpoints, name)
            if backends != port.backends:
                left = set(port.backends) - set(backends)
                if left:
                    self._leave(port, backends=left)
                port.backends = backends
                port.programmed = False
                self._changed.add(port.chain)
        if ports:
            self._services[key] = ports
        else:
            self._services.pop(key, None)

    def _leave(self, port: KernelServicePort, *, backends: Iterable[Backend] = (),
               everything: bool = False) -> None:
        leaving = self._leaving.setdefault(port.destination, _Leaving())
        leaving.backends.update(backends)
        leaving.everything = leaving.everything or everything

    # -- programming ---------------------------------------------------------------------

    def _declare_dispatch(self) -> str:
        return (f"add chain {self.table.ref} {self.CHAIN} {{ type nat hook output priority "
                f"{NAT_PRIORITY}; policy accept; }}")

    def commit(self) -> None:
        """Program every noted change in one transaction, then drop the connections to
        endpoints that left. On failure, retried after `retry_delay`."""
        if not self._started or not self.pending:
            return
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        by_chain = {p.chain: p for p in self.ports()}
        script = [self._declare_dispatch()]
        changed = [by_chain[c] for c in sorted(self._changed) if c in by_chain]
        for port in changed:
            chain = f"{self.table.ref} {port.chain}"
            script += [f"add chain {chain}", f"flush chain {chain}",
                       f"add rule {chain} {endpoint_rule(port)}"]
        if self._dispatch_changed:
            script.append(f"flush chain {self.table.ref} {self.CHAIN}")
            script += [f"add rule {self.table.ref} {self.CHAIN} {dispatch_rule(p)}"
                       for p in sorted(by_chain.values(), key=lambda p: p.chain)]
        for chain in sorted(self._removed):
            script += [f"add chain {self.table.ref} {chain}",
                       f"delete chain {self.table.ref} {chain}"]
        try:
            self.table.apply(script)
        except NftablesError as exc:
            log.error("kernel proxy: nft refused the service rules (%s); retrying in %.0f s",
                      exc, self.retry_delay)
            self._retry = asyncio.get_running_loop().call_later(self.retry_delay, self.commit)
            return
        for port in changed:
            port.programmed = True
        self._changed.clear()
        self._removed.clear()
        self._dispatch_changed = False
        self._drop_leaving()

    def _drop_leaving(self) -> None:
        """Destroy the sockets of flows DNATed to endpoints that left (both ends) and
        forget those flows.

        The sockets come first (one sock_diag dump); only the connections to a leaving
        Service address are looked up in conntrack, each by its tuple. Dumping conntrack
        by destination instead walks the kernel's whole hash table every time (7 ms
        here), which on the fake backend stalls the one event loop mid-failover."""
        leaving, self._leaving = self._leaving, {}
        if not leaving:
            return
        current = {p.destination: set(p.backends) for p in self.ports()}
        flows: list[netlink.Flow] = []
        try:
            sockets = netlink.tcp_sockets()
            to_services = [(s.local, s.remote) for s in sockets if s.remote in leaving]
            for flow in self._conntrack.flows_of(to_services):
                gone = leaving[flow.destination]
                backend = Backend(*flow.replier)
                stay = current.get(flow.destination, set())
                if gone.everything or (backend in gone.backends and backend not in stay):
                    flows.append(flow)
            if not flows:
                return
            ends = {(f.client, f.destination) for f in flows}
            ends |= {(f.replier, f.reply_to) for f in flows}
            victims = [s for s in sockets if (s.local, s.remote) in ends]
            netlink.destroy_sockets(victims)
            for flow in flows:
                self._conntrack.forget(flow)
        except OSError:
            log.warning("kernel proxy: could not drop connections to endpoints that left",
                        exc_info=True)
            return
        log.debug("kernel proxy: dropped %d connection(s) to endpoints that left", len(flows))
