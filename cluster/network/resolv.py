"""Per-pod resolv.conf: which DNS server a pod's real processes ask, and how.

The kubelet decides a pod's DNS configuration from `spec.dnsPolicy` and `spec.dnsConfig`
and the container runtime writes it as the container's /etc/resolv.conf; the process
runtime bind-mounts the file this module renders. The rules are the kubelet's:

- `ClusterFirst` (the default): the cluster DNS server, the search list
  `<ns>.svc.<domain> svc.<domain> <domain>` and `options ndots:5`. A host-network pod
  with `ClusterFirst` falls back to `Default`, as does every `ClusterFirst` pod when the
  cluster runs no DNS server (the kubelet's "MissingClusterDNS" fallback).
- `ClusterFirstWithHostNet`: as `ClusterFirst`, whatever the network.
- `Default`: the machine's own resolv.conf.
- `None`: only what `spec.dnsConfig` gives.

`spec.dnsConfig` is then merged in: nameservers and searches appended (repeats dropped),
options replacing those of the same name. The file is written in containerd's layout —
`search`, then `nameserver` lines, then `options` — so it reads like a real pod's. The
host's search domains are not appended to `ClusterFirst`'s list as the kubelet does: names
outside the cluster have no upstream here, so they would only add failing lookups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_NAMESERVERS = 3
"""glibc reads at most three `nameserver` lines; the kubelet trims to the same."""

HOST_RESOLV_CONF = "/etc/resolv.conf"


@dataclass(frozen=True)
class DNSConfig:
    """The three things a resolv.conf says."""

    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    """`name` or `name:value`, e.g. `ndots:5`."""

    def render(self) -> str:
        lines = []
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        lines += [f"nameserver {server}" for server in self.nameservers]
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "".join(line + "\n" for line in lines)


def parse_resolv_conf(text: str) -> DNSConfig:
    """A resolv.conf's nameservers, search list (the last `search`/`domain` line wins, as
    in glibc) and options."""
    nameservers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) < 2:
            continue
        keyword, values = words[0], words[1:]
        if keyword == "nameserver":
            nameservers.append(values[0])
        elif keyword in ("search", "domain"):
            searches = values if keyword == "search" else values[:1]
        elif keyword == "options":
            options += values
    return DNSConfig(tuple(nameservers), tuple(searches), tuple(options))


def cluster_first(namespace: str, domain: str, dns_ip: str) -> DNSConfig:
    return DNSConfig((dns_ip,), (f"{namespace}.svc.{domain}", f"svc.{domain}", domain),
                     ("ndots:5",))


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _option_name(option: str) -> str:
    return option.split(":", 1)[0]


def merge_dns_config(base: DNSConfig, extra: dict[str, Any]) -> DNSConfig:
    """`base` with a pod's `spec.dnsConfig` appended, as the kubelet merges them."""
    nameservers = _unique([*base.nameservers, *(extra.get("nameservers") or ())])
    searches = _unique([*base.searches, *(extra.get("searches") or ())])
    options = {_option_name(o): o for o in base.options}
    for option in extra.get("options") or ():
        name = option.get("name") or ""
        if not name:
            continue
        value = option.get("value")
        options[name] = f"{name}:{value}" if value not in (None, "") else name
    return DNSConfig(nameservers[:MAX_NAMESERVERS], searches, tuple(options.values()))


def pod_dns_config(pod: dict[str, Any], *, namespace: str, domain: str,
                   dns_ip: str | None, host_resolv_conf: str | None = None) -> DNSConfig | None:
    """The pod's DNS configuration, or None when it simply uses the machine's resolv.conf.

    `host_resolv_conf` is the machine's file content, needed only for `Default` with a
    `dnsConfig` to merge (read from /etc/resolv.conf when not given).
    """
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    extra = spec.get("dnsConfig") or {}
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        policy = "Default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        if dns_ip is None:
            policy = "Default"
        else:
            base = cluster_first(namespace, domain, dns_ip)
            return merge_dns_config(base, extra) if extra else base
    if policy == "None":
        return merge_dns_config(DNSConfig(), extra)
    if not extra:
        return None
    if host_resolv_conf is None:
        try:
            with open(HOST_RESOLV_CONF) as f:
                host_resolv_conf = f.read()
        except OSError:
            host_resolv_conf = ""
    return merge_dns_config(parse_resolv_conf(host_resolv_conf), extra)
