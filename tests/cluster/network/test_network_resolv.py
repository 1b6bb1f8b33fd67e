"""Per-pod resolver configuration from dnsPolicy and dnsConfig, as the kubelet decides it."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.network.resolv import DNSConfig, parse_resolv_conf, pod_dns_config

DNS_IP = "127.3.0.10"
HOST = "nameserver 10.255.255.53\nsearch corp.example\noptions edns0\n"
CLUSTER_FIRST = DNSConfig((DNS_IP,), ("team.svc.cluster.local", "svc.cluster.local",
                                      "cluster.local"), ("ndots:5",))


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "team"},
            "spec": {"containers": [{"name": "c", "image": "redis"}], **spec}}


def config(p: dict[str, Any], dns_ip: str | None = DNS_IP) -> DNSConfig | None:
    return pod_dns_config(p, namespace="team", domain="cluster.local", dns_ip=dns_ip,
                          host_resolv_conf=HOST)


@pytest.mark.parametrize("spec,expected", [
    pytest.param({}, CLUSTER_FIRST, id="cluster-first-by-default"),
    pytest.param({"dnsPolicy": "ClusterFirst", "hostNetwork": True}, None,
                 id="host-network-falls-back-to-default"),
    pytest.param({"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True}, CLUSTER_FIRST,
                 id="cluster-first-with-host-net"),
    pytest.param({"dnsPolicy": "Default"}, None, id="default-is-the-machines"),
    pytest.param({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"],
                                                     "searches": ["a.example"]}},
                 DNSConfig(("1.1.1.1",), ("a.example",), ()), id="none-takes-dns-config"),
    pytest.param({"dnsConfig": {"nameservers": [DNS_IP, "1.1.1.1", "8.8.8.8", "9.9.9.9"],
                                "searches": ["cluster.local", "x.example"],
                                "options": [{"name": "ndots", "value": "2"},
                                            {"name": "edns0"}]}},
                 DNSConfig((DNS_IP, "1.1.1.1", "8.8.8.8"),
                           ("team.svc.cluster.local", "svc.cluster.local", "cluster.local",
                            "x.example"), ("ndots:2", "edns0")),
                 id="dns-config-merged-like-kubelet"),
    pytest.param({"dnsPolicy": "Default", "dnsConfig": {"options": [{"name": "ndots",
                                                                     "value": "1"}]}},
                 DNSConfig(("10.255.255.53",), ("corp.example",), ("edns0", "ndots:1")),
                 id="default-with-dns-config-merges-the-hosts"),
])
def test_pod_dns_config(spec: dict[str, Any], expected: DNSConfig | None) -> None:
    """dnsPolicy picks the base, dnsConfig is appended, repeats dropped, 3 nameservers max."""
    assert config(pod(**spec)) == expected


def test_no_cluster_dns_server_means_the_machines_resolver() -> None:
    """ClusterFirst without a DNS server falls back to Default, as the kubelet does."""
    assert config(pod(), dns_ip=None) is None


def test_rendered_like_containerd() -> None:
    """search, then one nameserver line each, then options."""
    assert CLUSTER_FIRST.render() == ("search team.svc.cluster.local svc.cluster.local "
                                      "cluster.local\nnameserver 127.3.0.10\noptions ndots:5\n")
    assert parse_resolv_conf(CLUSTER_FIRST.render()) == CLUSTER_FIRST


def test_parse_resolv_conf_last_search_wins_and_comments_are_ignored() -> None:
    """glibc semantics: `domain`/`search` replace each other; `#` and `;` start comments."""
    text = "# c\nsearch a b\ndomain c\nnameserver 1.2.3.4 ; x\noptions ndots:1 rotate\n"
    assert parse_resolv_conf(text) == DNSConfig(("1.2.3.4",), ("c",), ("ndots:1", "rotate"))
