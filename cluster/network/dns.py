"""Cluster DNS: the names a pod can look up, as CoreDNS's kubernetes plugin serves them.

Records come in groups, one per Service (`<svc>.<ns>`):

- the Service's own name, `<svc>.<ns>.svc.<domain>`: its ClusterIP, or for a headless
  Service the IPs of its ready endpoints (the DNS server answers all of them; a name that
  must map to one address — a hosts file line, a client connecting — takes the first);
- for a headless Service, one name per pod whose `spec.subdomain` names it:
  `<hostname>.<svc>.<ns>.svc.<domain>` → the pod's IP. The record exists only while the
  Service exists and the pod has an IP, so a StatefulSet pod is unreachable by that name
  until its governing Service is created — the tutorial's replica logs "Unable to connect to
  MASTER" until then.

Lookups follow a pod's resolv.conf (`search <ns>.svc.<domain> svc.<domain> <domain>`,
`ndots:5`), so `<svc>`, `<svc>.<ns>`, `<pod>.<svc>` and the full names all resolve.

`group_records` decides a group's records from the objects (pure); `DNSTable` holds them
and answers lookups — in-process ones (fake images, through their sandbox) and, through
`dns_zone`/`dns_server`, real processes' queries over UDP.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

DEFAULT_DOMAIN = "cluster.local"
NDOTS = 5


@dataclass(frozen=True)
class GroupRecords:
    """The records one Service contributes."""

    service_ip: str | None = None
    """What `<svc>.<ns>.svc.<domain>` resolves to; None when nothing (no ready endpoint)."""
    pods: tuple[tuple[str, str], ...] = ()
    """(hostname, ip) for the pods under a headless Service, sorted by hostname."""
    endpoint_ips: tuple[str, ...] = ()
    """A headless Service's ready endpoint addresses, in order, without repeats: every A
    record of its name (`service_ip` is the first); empty for a ClusterIP Service."""

    @property
    def service_ips(self) -> tuple[str, ...]:
        """Every address the Service's own name resolves to."""
        if self.endpoint_ips:
            return self.endpoint_ips
        return (self.service_ip,) if self.service_ip is not None else ()


EMPTY = GroupRecords()


def is_headless(service: dict[str, Any]) -> bool:
    cluster_ip = (service.get("spec") or {}).get("clusterIP")
    return cluster_ip in (None, "", "None")


def pod_hostname(pod: dict[str, Any]) -> str:
    """The pod's hostname: `spec.hostname`, else its name (at most 63 characters)."""
    spec = pod.get("spec") or {}
    name = spec.get("hostname") or (pod.get("metadata") or {}).get("name", "")
    return name[:63].rstrip("-.")


def pod_subdomain(pod: dict[str, Any]) -> str:
    return (pod.get("spec") or {}).get("subdomain") or ""


def pod_ip(pod: dict[str, Any]) -> str:
    return (pod.get("status") or {}).get("podIP") or ""


def ready_endpoint_ips(endpoints: dict[str, Any] | None) -> list[str]:
    """Ready addresses of an Endpoints object, in order."""
    if not endpoints:
        return []
    return [address["ip"] for subset in endpoints.get("subsets") or ()
            for address in subset.get("addresses") or () if address.get("ip")]


def group_records(service: dict[str, Any] | None, endpoints: dict[str, Any] | None,
                  pods: Iterable[dict[str, Any]]) -> GroupRecords:
    """What DNS serves for one Service, from the Service, its Endpoints and the pods whose
    `spec.subdomain` names it."""
    if service is None:
        return EMPTY
    if not is_headless(service):
        return GroupRecords(service_ip=(service.get("spec") or {}).get("clusterIP"))
    ready = ready_endpoint_ips(endpoints)
    name = (service.get("metadata") or {}).get("name")
    hosts: dict[str, str] = {}
    for pod in sorted(pods, key=lambda p: (p.get("metadata") or {}).get("name", "")):
        ip = pod_ip(pod)
        if ip and pod_subdomain(pod) == name:
            hosts.setdefault(pod_hostname(pod), ip)
    unique = tuple(dict.fromkeys(ready))
    return GroupRecords(service_ip=unique[0] if unique else None,
                        pods=tuple(sorted(hosts.items())), endpoint_ips=unique)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class HostsEntry:
    """One line of a hosts file: an address and its names, canonical name first."""

    ip: str
    names: tuple[str, ...]

    def render(self) -> str:
        return f"{self.ip}\t{' '.join(self.names)}"


@dataclass
class DNSTable:
    """Every cluster name and its addresses; updated one Service group at a time."""

    domain: str = DEFAULT_DOMAIN
    serial: int = field(default_factory=lambda: int(time.time()))
    """When the records last changed (Unix seconds): the SOA serial, as CoreDNS's
    kubernetes plugin reports the time of the last change it saw."""
    _names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _groups: dict[tuple[str, str], GroupRecords] = field(default_factory=dict)
    _by_namespace: dict[str, set[str]] = field(default_factory=dict)

    def service_fqdn(self, namespace: str, service: str) -> str:
        return f"{service}.{namespace}.svc.{self.domain}"

    def pod_fqdn(self, hostname: str, subdomain: str, namespace: str) -> str:
        return f"{hostname}.{subdomain}.{namespace}.svc.{self.domain}"

    def group(self, namespace: str, service: str) -> GroupRecords:
        return self._groups.get((namespace, service), EMPTY)

    def set_group(self, namespace: str, service: str, records: GroupRecords) -> bool:
        """Replace one Service's records; True when anything changed."""
        key = (namespace, service)
        old = self._groups.get(key, EMPTY)
        if old == records:
            return False
        base = self.service_fqdn(namespace, service)
        if old.service_ip is not None:
            self._names.pop(base, None)
        for hostname, _ in old.pods:
            self._names.pop(f"{hostname}.{base}", None)
        if records == EMPTY:
            self._groups.pop(key, None)
            names = self._by_namespace.get(namespace)
            if names is not None:
                names.discard(service)
                if not names:
                    del self._by_namespace[namespace]
        else:
            self._groups[key] = records
            self._by_namespace.setdefault(namespace, set()).add(service)
            if records.service_ips:
                self._names[base] = records.service_ips
            for hostname, ip in records.pods:
                self._names[f"{hostname}.{base}"] = (ip,)
        self.serial = max(self.serial, int(time.time()))
        return True

    def lookup(self, fqdn: str) -> str | None:
        """An exact name (no search list): its first address."""
        found = self._names.get(fqdn.lower().rstrip("."))
        return found[0] if found else None

    def addresses(self, fqdn: str) -> tuple[str, ...]:
        """Every address of an exact name (no search list); () when it has none."""
        return self._names.get(fqdn.lower().rstrip("."), ())

    def has_namespace(self, namespace: str) -> bool:
        """Whether any Service of `namespace` has records (so `<ns>.svc.<domain>` exists)."""
        return namespace in self._by_namespace

    def reverse(self, ip: str) -> list[str]:
        """The names whose address is `ip` (PTR records), Services first, sorted."""
        services: list[str] = []
        pods: list[str] = []
        for (namespace, service), records in self._groups.items():
            base = self.service_fqdn(namespace, service)
            if not records.endpoint_ips and records.service_ip == ip:
                services.append(base)
            pods.extend(f"{hostname}.{base}" for hostname, pod in records.pods if pod == ip)
        return sorted(services) + sorted(pods)

    def search_list(self, namespace: str) -> tuple[str, ...]:
        return (f"{namespace}.svc.{self.domain}", f"svc.{self.domain}", self.domain)

    def resolve(self, name: str, namespace: str) -> str | None:
        """Resolve `name` as a pod in `namespace` would, through its search list."""
        absolute = name.endswith(".")
        name = name.lower().rstrip(".")
        if not name:
            return None
        if is_ip(name):
            return name
        if absolute:
            return self.lookup(name)
        if name.count(".") >= NDOTS:
            found = self.lookup(name)
            if found is not None:
                return found
        for suffix in self.search_list(namespace):
            found = self.lookup(f"{name}.{suffix}")
            if found is not None:
                return found
        return self.lookup(name)

    def namespace_entries(self, namespace: str) -> list[HostsEntry]:
        """Hosts-file lines for every name of `namespace`, with the short forms a pod of
        that namespace would reach through its search list — only used when the cluster
        runs no DNS server (then the hosts file is all a real process has)."""
        entries: list[HostsEntry] = []
        for service in sorted(self._by_namespace.get(namespace, ())):
            records = self._groups[(namespace, service)]
            if records.service_ip is not None:
                entries.append(HostsEntry(records.service_ip, (
                    self.service_fqdn(namespace, service), f"{service}.{namespace}.svc",
                    f"{service}.{namespace}", service)))
            for hostname, ip in records.pods:
                entries.append(HostsEntry(ip, (
                    self.pod_fqdn(hostname, service, namespace),
                    f"{hostname}.{service}.{namespace}.svc",
                    f"{hostname}.{service}.{namespace}", f"{hostname}.{service}")))
        return entries

    def __len__(self) -> int:
        return len(self._names)
