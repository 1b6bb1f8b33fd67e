"""The cluster network: pod addresses, sandboxes, cluster DNS, the service proxy and faults.

One `ClusterNetwork` per embedded cluster. It watches Pods, Services and Endpoints through
shared informers; handlers only note which Service groups (`ns/name`) changed, and one
flush per loop iteration recomputes just those: their DNS records and the proxy's listeners
and backends. Pods without `spec.subdomain` — almost all of them — never enter DNS and cost
one dict lookup per event.

The DNS records are served to real processes by a DNS server on the service range's 10th
address (port 53, so it needs root), named in every `ClusterFirst` pod's resolv.conf.
Without it the hosts files of the pods carry their namespace's names instead and are
rewritten as those change.

Services are served by one of two proxies (`NetworkSettings.proxy_mode`): the user-space
proxy (`proxy.ServiceProxy`, listeners that forward byte by byte) or the kernel proxy
(`kernel_proxy.KernelProxy`, nftables DNAT, as kube-proxy's nftables mode). Both read the
same objects and drop connections to endpoints that leave; the kernel one keeps no process
in the data path. The kernel proxy and the kernel partition rules share one nftables table
per cluster (`nftables.NftTable`), removed when the network stops.

Kubelets call `create_sandbox(pod)` before starting a pod's containers (then write
`status.podIP` themselves) and `destroy_sandbox(uid)` once they are gone.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cluster import client as client_mod
from cluster import informer as informer_mod
from cluster.api import objects
from cluster.network import dns as dns_mod
from cluster.network import kernel_proxy, nftables, resolv
from cluster.network.addresses import AddressRanges, PodIPAllocator, claim_ranges
from cluster.network.dns_server import DNS_PORT, DNSServer
from cluster.network.dns_zone import ClusterZone
from cluster.network.faults import Faults, KernelPartitions, Partition
from cluster.network.kernel_proxy import KernelProxy
from cluster.network.nftables import NftablesError, NftTable
from cluster.network.proxy import ProxySettings, ServiceProxy
from cluster.network.sandbox import Sandbox

log = logging.getLogger(__name__)

SUBDOMAIN_INDEX = "network.subdomain"
"""Pods by `<ns>/<spec.subdomain>`: the pods a headless Service gives DNS names."""


def _by_subdomain(pod: dict[str, Any]) -> list[str]:
    subdomain = dns_mod.pod_subdomain(pod)
    return [f"{objects.namespace_of(pod)}/{subdomain}"] if subdomain else []


def _dns_fields(pod: dict[str, Any]) -> tuple[str, str, str]:
    return dns_mod.pod_subdomain(pod), dns_mod.pod_hostname(pod), dns_mod.pod_ip(pod)


class ProxyMode(str, enum.Enum):
    """How Services are proxied (kube-proxy's `--proxy-mode`, with our own choices)."""

    USERSPACE = "userspace"
    """Listeners at every ClusterIP:port that forward byte by byte (`proxy.py`): works
    anywhere, costs a process in the data path."""
    NFTABLES = "nftables"
    """DNAT in the kernel (`kernel_proxy.py`): needs root, nftables, conntrack over
    netlink and SOCK_DESTROY; start fails without them."""
    AUTO = "auto"
    """nftables when this process can drive it (each need tried for real), else
    userspace."""


@dataclass(frozen=True)
class NetworkSettings:
    """How the cluster network is laid out and enforced."""

    cluster_domain: str = dns_mod.DEFAULT_DOMAIN
    """The DNS suffix of Services and pods (`<svc>.<ns>.svc.cluster.local`)."""

    range_index: int | None = None
    """Pin the claimed ranges to `127.X.0.0/16` (pods) and `127.X+1.0.0/16` (services);
    None starts the search at a random even X. Another pair is taken if X is claimed."""

    kernel_partitions: bool | None = None
    """Enforce partitions with nftables too, so real processes are cut off: None = when
    `nft` works here, True = required (start fails without it), False = in-process only."""

    hosts_dir: str | None = None
    """Directory for per-pod hosts files and resolv.confs; None makes (and later removes) a
    temporary one."""

    dns_server: bool | None = None
    """Serve cluster DNS to real processes on UDP/TCP port 53 of the reserved address: None
    = when the port can be bound (root), True = required (start fails without it), False =
    off (the hosts files then list the cluster names)."""

    proxy_mode: ProxyMode | str = ProxyMode.AUTO
    """`userspace`, `nftables` or `auto` (see `ProxyMode`); `ClusterNetwork.proxy_mode`
    says which one runs."""

    proxy: ProxySettings = field(default_factory=ProxySettings)
    """Tuning of the user-space proxy's forwarding."""


class ClusterNetwork:
    """Addresses, sandboxes, DNS, proxy and fault injection for one embedded cluster.

    `ranges` lets the composition root claim addresses first, to hand `service_cidr` to the
    API server before the client exists; the network then uses them and leaves releasing
    them to the caller. Without `ranges` it claims its own and releases them in `stop()`.
    """

    def __init__(self, client: client_mod.Client, informer_factory: informer_mod.InformerFactory,
                 *, settings: NetworkSettings | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 ranges: AddressRanges | None = None, rng: random.Random | None = None) -> None:
        self.client = client
        self.informers = informer_factory
        self.settings = settings or NetworkSettings()
        self.clock = clock
        self._owns_ranges = ranges is None
        self.ranges = ranges if ranges is not None else claim_ranges(
            index=self.settings.range_index, rng=rng)
        self.pod_ips = PodIPAllocator(self.ranges.pod_network)
        self.faults = Faults(clock=clock)
        self.dns = dns_mod.DNSTable(domain=self.settings.cluster_domain)
        self._nft: nftables.Nft | None = None
        self._table: NftTable | None = None
        """This cluster's nftables table, when the kernel proxy or partitions use it."""
        self.proxy_mode = self._choose_proxy_mode()
        """The proxy that runs: `ProxyMode.USERSPACE` or `ProxyMode.NFTABLES`."""
        self.proxy: ServiceProxy | KernelProxy
        if self.proxy_mode is ProxyMode.NFTABLES:
            self.proxy = KernelProxy(table=self._nft_table())
        else:
            self.proxy = ServiceProxy(faults=self.faults, settings=self.settings.proxy,
                                      bind_source=self.pod_ips.__contains__)
        self.dns_server: DNSServer | None = None
        """The running DNS server; None before `start()` or when there is none."""
        self._owns_hosts_dir = self.settings.hosts_dir is None
        self._hosts_dir = self.settings.hosts_dir or tempfile.mkdtemp(prefix="redisha-hosts-")
        self._sandboxes: dict[str, Sandbox] = {}
        self._by_namespace: dict[str, dict[str, Sandbox]] = {}
        self._dying: set[asyncio.Task[Any]] = set()
        self._dirty: set[tuple[str, str]] = set()
        self._flush_handle: asyncio.Handle | None = None
        self._pods: informer_mod.Informer | None = None
        self._services: informer_mod.Informer | None = None
        self._endpoints: informer_mod.Informer | None = None
        self._registrations: list[informer_mod.HandlerRegistration] = []
        self._kernel: KernelPartitions | None = None
        self._kernel_applied: tuple[Partition, ...] = ()
        self.faults.add_listener(self._faults_changed)

    # -- addresses -------------------------------------------------------------------------

    @property
    def pod_cidr(self) -> str:
        return self.ranges.pod_cidr

    @property
    def service_cidr(self) -> str:
        return self.ranges.service_cidr

    @property
    def dns_ip(self) -> str:
        """The cluster DNS address (the service range's 10th, like kube-dns's 10.96.0.10)."""
        return self.ranges.dns_address

    @property
    def idle(self) -> bool:
        """No change noted by the informers is waiting to be applied."""
        return self._flush_handle is None and not self._dirty

    @property
    def kernel_proxy(self) -> bool:
        """True when Services are proxied in the kernel (nftables DNAT)."""
        return self.proxy_mode is ProxyMode.NFTABLES

    @property
    def kernel_partitions(self) -> bool:
        """True when partitions are also enforced in the kernel (real processes)."""
        return self._kernel is not None

    # -- running ---------------------------------------------------------------------------

    def _nft_runner(self) -> nftables.Nft:
        if self._nft is None:
            self._nft = nftables.Nft()
        return self._nft

    def _nft_table(self) -> NftTable:
        if self._table is None:
            self._table = NftTable(f"redisha_{self.ranges.index}", nft=self._nft_runner())
        return self._table

    def _choose_proxy_mode(self) -> ProxyMode:
        try:
            mode = ProxyMode(self.settings.proxy_mode)
        except ValueError:
            raise ValueError(f"unknown proxy mode {self.settings.proxy_mode!r} (want one of "
                             f"{', '.join(m.value for m in ProxyMode)})") from None
        if mode is ProxyMode.USERSPACE:
            return mode
        reason = kernel_proxy.unavailable_reason(self._nft_runner())
        if not reason:
            return ProxyMode.NFTABLES
        if mode is ProxyMode.NFTABLES:
            raise RuntimeError(f"proxy mode nftables requested but {reason}")
        log.info("service proxy in user space: %s", reason)
        return ProxyMode.USERSPACE

    async def start(self) -> None:
        """Register with the informers and start the proxy; does not wait for cache sync."""
        if self._pods is not None:
            return
        await self._start_dns()
        if self._table is not None:
            self._table.delete()  # a stale table of a crashed cluster with our ranges
        self._setup_kernel()
        self._pods = await self.informers.informer(
            "pods", indexers={SUBDOMAIN_INDEX: _by_subdomain})
        self._services = await self.informers.informer("services")
        self._endpoints = await self.informers.informer("endpoints")
        await self.proxy.start()
        self._registrations = [
            self._pods.add_handler(self._pod_added, self._pod_updated, self._pod_added),
            self._services.add_handler(self._object_changed, self._object_updated,
                                       self._object_changed),
            self._endpoints.add_handler(self._object_changed, self._object_updated,
                                        self._object_changed),
        ]

    async def stop(self) -> None:
        """Close every listener and connection, remove fault rules and hosts files."""
        for registration in self._registrations:
            registration.remove()
        self._registrations.clear()
        self._pods = self._services = self._endpoints = None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._dirty.clear()
        await self.proxy.stop()
        if self.dns_server is not None:
            await self.dns_server.stop()
            self.dns_server = None
        for uid in list(self._sandboxes):
            self.destroy_sandbox(uid)
        if self._dying:
            await asyncio.gather(*self._dying, return_exceptions=True)
        self.faults.heal()
        self._kernel = None
        self._kernel_applied = ()
        if self._table is not None:
            try:
                self._table.delete()
            except NftablesError:
                log.warning("could not remove nftables table %s", self._table.name,
                            exc_info=True)
        if self._nft is not None:
            self._nft.close()
            self._nft = None
            self._table = None
        if self._owns_hosts_dir:
            shutil.rmtree(self._hosts_dir, ignore_errors=True)
        if self._owns_ranges:
            self.ranges.close()

    async def _start_dns(self) -> None:
        wanted = self.settings.dns_server
        if wanted is False or self.dns_server is not None:
            return
        server = DNSServer(ClusterZone(self.dns, self.dns_ip), self.dns_ip, DNS_PORT)
        try:
            await server.start()
        except OSError as exc:
            if wanted:
                raise RuntimeError(f"cannot serve cluster DNS on {self.dns_ip}:{DNS_PORT}: "
                                   f"{exc.strerror or exc}") from exc
            log.warning("no cluster DNS server (%s:%d: %s): real processes get cluster "
                        "names from their hosts files", self.dns_ip, DNS_PORT,
                        exc.strerror or exc)
            return
        self.dns_server = server

    def _setup_kernel(self) -> None:
        wanted = self.settings.kernel_partitions
        if wanted is False:
            return
        if self._table is None:
            if not nftables.usable(self._nft_runner()):
                if wanted:
                    raise RuntimeError("kernel partitions requested but nftables is unusable "
                                       "here (needs root and libnftables or the nft binary)")
                log.info("nftables unavailable: partitions apply to in-process connections "
                         "only")
                return
            self._nft_table().delete()  # a stale table of a crashed cluster with our ranges
        self._kernel = KernelPartitions(self._nft_table())

    # -- sandboxes -------------------------------------------------------------------------

    def create_sandbox(self, pod: dict[str, Any]) -> Sandbox:
        """The pod's sandbox with a fresh IP; the same sandbox when asked again."""
        uid = objects.uid_of(pod)
        if not uid:
            raise ValueError("a pod needs metadata.uid to get a sandbox")
        sandbox = self._sandboxes.get(uid)
        if sandbox is not None:
            return sandbox
        ip = self.pod_ips.allocate(uid)
        namespace = objects.namespace_of(pod) or "default"
        serving = self.dns_server is not None
        dns_config = resolv.pod_dns_config(pod, namespace=namespace,
                                           domain=self.settings.cluster_domain,
                                           dns_ip=self.dns_ip if serving else None)
        sandbox = Sandbox(uid=uid, name=objects.name_of(pod), namespace=namespace,
                          hostname=dns_mod.pod_hostname(pod),
                          subdomain=dns_mod.pod_subdomain(pod), ip=ip, dns=self.dns,
                          faults=self.faults,
                          hosts_path=os.path.join(self._hosts_dir, f"{uid}.hosts"),
                          resolv_path=os.path.join(self._hosts_dir, f"{uid}.resolv.conf"),
                          dns_config=dns_config, names_in_hosts=not serving)
        self._sandboxes[uid] = sandbox
        self._by_namespace.setdefault(namespace, {})[uid] = sandbox
        return sandbox

    def destroy_sandbox(self, pod_uid: str) -> None:
        """Close the pod's listeners and connections and release its IP (idempotent)."""
        sandbox = self._sandboxes.pop(pod_uid, None)
        if sandbox is None:
            return
        peers = self._by_namespace.get(sandbox.namespace)
        if peers is not None:
            peers.pop(pod_uid, None)
            if not peers:
                del self._by_namespace[sandbox.namespace]
        pending = [t for t in sandbox._tasks if not t.done()]
        sandbox.destroy()
        for task in pending:
            self._dying.add(task)
            task.add_done_callback(self._dying.discard)
        self.pod_ips.release(pod_uid)

    def sandbox(self, pod_uid: str) -> Sandbox | None:
        return self._sandboxes.get(pod_uid)

    def sandboxes(self) -> list[Sandbox]:
        return list(self._sandboxes.values())

    def resolve(self, name: str, namespace: str = "default") -> str | None:
        """Cluster DNS as seen from a pod in `namespace` (for tools and the dashboard)."""
        return self.dns.resolve(name, namespace)

    # -- faults ----------------------------------------------------------------------------

    def partition(self, side_a: Iterable[str], side_b: Iterable[str]) -> Partition:
        """Cut traffic between two sets of pod IPs, both ways, until `heal`."""
        return self.faults.partition(side_a, side_b)

    def heal(self, handle: Partition | None = None) -> None:
        """End one partition, or all of them."""
        self.faults.heal(handle)

    def _faults_changed(self) -> None:
        for sandbox in self._sandboxes.values():
            sandbox.flush_held()
        self.proxy.refresh()
        if self._kernel is not None:
            current = tuple(self.faults.partitions)
            if current != self._kernel_applied:
                try:
                    self._kernel.apply(current)
                    self._kernel_applied = current
                except (OSError, RuntimeError):
                    log.exception("could not apply partitions with nftables")

    # -- watching --------------------------------------------------------------------------

    def _mark(self, namespace: str, name: str) -> None:
        self._dirty.add((namespace, name))
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_soon(self._flush)

    def _object_changed(self, obj: dict[str, Any]) -> None:
        self._mark(objects.namespace_of(obj), objects.name_of(obj))

    def _object_updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._object_changed(new)

    def _pod_added(self, pod: dict[str, Any]) -> None:
        subdomain = dns_mod.pod_subdomain(pod)
        if subdomain:
            self._mark(objects.namespace_of(pod), subdomain)

    def _pod_updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        old_subdomain = dns_mod.pod_subdomain(old)
        new_subdomain = dns_mod.pod_subdomain(new)
        if not old_subdomain and not new_subdomain:
            return
        if _dns_fields(old) == _dns_fields(new):
            return
        if old_subdomain:
            self._mark(objects.namespace_of(old), old_subdomain)
        if new_subdomain:
            self._mark(objects.namespace_of(new), new_subdomain)

    def _flush(self) -> None:
        """Recompute the Service groups that changed since the last flush."""
        self._flush_handle = None
        dirty, self._dirty = self._dirty, set()
        pods, services, endpoints = self._pods, self._services, self._endpoints
        if pods is None or services is None or endpoints is None:
            return
        touched: set[str] = set()
        for namespace, name in dirty:
            service = services.get_by_name(namespace, name)
            eps = endpoints.get_by_name(namespace, name)
            members = (pods.by_index(SUBDOMAIN_INDEX, f"{namespace}/{name}")
                       if service is not None and dns_mod.is_headless(service) else [])
            records = dns_mod.group_records(service, eps, members)
            if self.dns.set_group(namespace, name, records):
                touched.add(namespace)
            self.proxy.sync((namespace, name), service, eps)
        if isinstance(self.proxy, KernelProxy):
            self.proxy.commit()
        if self.dns_server is not None:
            return  # hosts files hold no cluster names: nothing to rewrite
        for namespace in touched:
            for sandbox in list(self._by_namespace.get(namespace, {}).values()):
                try:
                    sandbox.refresh_hosts()
                except OSError:
                    log.warning("could not rewrite the hosts file of %r", sandbox, exc_info=True)
