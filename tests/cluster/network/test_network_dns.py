"""Cluster DNS: in-process resolution from a sandbox, and hosts files without a DNS server."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from cluster.network import dns
from tests.cluster.conftest import WaitFor
from tests.cluster.network.conftest import Net

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


def read(path: str) -> str:
    return Path(path).read_text()


@pytest.mark.parametrize("name,target", [
    pytest.param("redis-sfs-0.redis-sfs.default.svc.cluster.local", "pod", id="pod-fqdn"),
    pytest.param("redis-sfs-0.redis-sfs", "pod", id="pod-short"),
    pytest.param("redis-sfs-0.redis-sfs.default", "pod", id="pod-ns"),
    pytest.param("web.default.svc.cluster.local", "svc", id="svc-fqdn"),
    pytest.param("web.default", "svc", id="svc-ns"),
    pytest.param("web", "svc", id="svc-short"),
    pytest.param("WEB.default.svc.cluster.local.", "svc", id="absolute-any-case"),
    pytest.param("redis-sfs", "pod", id="headless-to-ready-endpoint"),
    pytest.param("nosuch", None, id="unknown"),
    pytest.param("web.other", None, id="wrong-namespace"),
])
async def test_resolves_cluster_names(net: Net, wait_for: WaitFor, name: str,
                                      target: str | None) -> None:
    """Pod and Service names resolve in every form a pod's search list allows."""
    await net.service("redis-sfs", headless=True)
    web = await net.service("web")
    member = await net.pod("redis-sfs-0", subdomain="redis-sfs", hostname="redis-sfs-0")
    await net.endpoints("redis-sfs", [member])
    client = await net.pod("client")
    await wait_for(lambda: client.resolve("redis-sfs") is not None)
    expected = {"pod": member.ip, "svc": web["spec"]["clusterIP"], None: None}[target]
    assert client.resolve(name) == expected


async def test_other_namespace_needs_namespace_qualifier(net: Net, wait_for: WaitFor) -> None:
    """From another namespace, `<svc>` alone does not resolve but `<svc>.<ns>` does."""
    web = await net.service("web")
    outsider = await net.pod("outsider", namespace="kube-system")
    await wait_for(lambda: outsider.resolve("web.default") == web["spec"]["clusterIP"])
    assert outsider.resolve("web") is None


async def test_pod_record_appears_only_once_headless_service_exists(
        net: Net, wait_for: WaitFor) -> None:
    """`<pod>.<subdomain>` does not resolve until the headless Service is created."""
    replica = await net.pod("redis-sfs-1", subdomain="redis-sfs")
    primary = await net.pod("redis-sfs-0", subdomain="redis-sfs")
    # Let the network see both pods' IPs; without the Service there is still no record.
    pods = await net.network.informers.informer("pods")
    await wait_for(lambda: all((pods.get_by_name("default", p.name) or {}).get("status", {})
                               .get("podIP") for p in (primary, replica)))
    await wait_for(lambda: net.network.idle)
    assert replica.resolve("redis-sfs-0.redis-sfs") is None
    with pytest.raises(socket.gaierror):
        await replica.open_connection("redis-sfs-0.redis-sfs", 6379)
    await net.service("redis-sfs", headless=True)
    await wait_for(lambda: replica.resolve("redis-sfs-0.redis-sfs") == primary.ip)
    await net.client.delete("services", "redis-sfs", "default")
    await wait_for(lambda: replica.resolve("redis-sfs-0.redis-sfs") is None)


async def test_cluster_ip_service_gives_no_pod_records(net: Net, wait_for: WaitFor) -> None:
    """Only a headless Service makes `<pod>.<subdomain>` names."""
    web = await net.service("web")
    pod = await net.pod("web-0", subdomain="web")
    await wait_for(lambda: pod.resolve("web") == web["spec"]["clusterIP"])
    assert pod.resolve("web-0.web") is None


async def test_headless_service_without_ready_endpoint_does_not_resolve(
        net: Net, wait_for: WaitFor) -> None:
    """A headless Service name resolves only to ready endpoints."""
    await net.service("db", headless=True)
    member = await net.pod("db-0", subdomain="db")
    await net.endpoints("db", [], not_ready=[member])
    await wait_for(lambda: member.resolve("db-0.db") == member.ip)
    assert member.resolve("db") is None
    await net.endpoints("db", [member])
    await wait_for(lambda: member.resolve("db") == member.ip)


async def test_localhost_and_own_hostname_are_the_pod_ip(net: Net) -> None:
    """Inside a pod, localhost and its own hostname are its own address."""
    pod = await net.pod("solo")
    assert pod.resolve("localhost") == pod.ip
    assert pod.resolve("solo") == pod.ip
    assert pod.resolve("127.0.0.1") == "127.0.0.1"


async def test_hosts_file_is_rewritten_in_place(net_without_dns: Net, wait_for: WaitFor) -> None:
    """Without a DNS server the hosts file keeps its inode and gains the records as the
    Service appears."""
    net = net_without_dns
    assert net.network.dns_server is None
    primary = await net.pod("redis-sfs-0", subdomain="redis-sfs")
    replica = await net.pod("redis-sfs-1", subdomain="redis-sfs")
    path = replica.hosts_file
    assert path is not None
    inode = os.stat(path).st_ino
    text = read(path)
    assert f"{replica.ip}\tlocalhost" in text
    assert (f"{replica.ip}\tredis-sfs-1.redis-sfs.default.svc.cluster.local redis-sfs-1"
            in text)
    assert "redis-sfs-0" not in text

    await net.service("redis-sfs", headless=True)
    web = await net.service("web")
    await wait_for(lambda: "redis-sfs-0.redis-sfs\n" in read(path)
                   and "web.default" in read(path))
    text = read(path)
    assert os.stat(path).st_ino == inode
    assert (f"{primary.ip}\tredis-sfs-0.redis-sfs.default.svc.cluster.local "
            "redis-sfs-0.redis-sfs.default.svc redis-sfs-0.redis-sfs.default "
            "redis-sfs-0.redis-sfs") in text
    assert (f"{web['spec']['clusterIP']}\tweb.default.svc.cluster.local web.default.svc "
            "web.default web") in text

    await net.client.delete("services", "web", "default")
    await wait_for(lambda: "web.default" not in read(path))
    assert os.stat(path).st_ino == inode


async def test_hosts_file_untouched_by_other_namespaces(net_without_dns: Net,
                                                       wait_for: WaitFor) -> None:
    """A Service in another namespace neither appears in nor rewrites a pod's hosts file."""
    net = net_without_dns
    pod = await net.pod("p")
    path = pod.hosts_file
    assert path is not None
    before = os.stat(path).st_mtime_ns
    await net.service("elsewhere", namespace="kube-system")
    await wait_for(lambda: net.network.resolve("elsewhere", "kube-system") is not None)
    assert os.stat(path).st_mtime_ns == before
    assert "elsewhere" not in read(path)


async def test_hosts_file_removed_with_sandbox(net: Net) -> None:
    """Destroying the sandbox removes its hosts file."""
    pod = await net.pod("gone")
    path = pod.hosts_file
    assert path is not None and os.path.exists(path)
    net.network.destroy_sandbox(pod.uid)
    assert not os.path.exists(path)


@pytest.mark.parametrize("service,endpoints,expected", [
    pytest.param(None, None, dns.EMPTY, id="no-service"),
    pytest.param({"metadata": {"name": "s"}, "spec": {"clusterIP": "127.3.0.1"}}, None,
                 dns.GroupRecords(service_ip="127.3.0.1"), id="cluster-ip"),
    pytest.param({"metadata": {"name": "s"}, "spec": {"clusterIP": "None"}},
                 {"subsets": [{"addresses": [{"ip": "127.2.0.9"}, {"ip": "127.2.0.5"}],
                               "notReadyAddresses": [{"ip": "127.2.0.3"}]},
                              {"addresses": [{"ip": "127.2.0.9"}]}]},
                 dns.GroupRecords(service_ip="127.2.0.9", endpoint_ips=("127.2.0.9", "127.2.0.5"),
                                  pods=(("s-0", "127.2.0.5"),)), id="headless"),
])
def test_group_records(service, endpoints, expected) -> None:
    """A group's records follow the Service kind, ready endpoints and member pods."""
    members = [
        {"metadata": {"name": "s-0"}, "spec": {"subdomain": "s"}, "status": {"podIP": "127.2.0.5"}},
        {"metadata": {"name": "s-1"}, "spec": {"subdomain": "s"}, "status": {}},
        {"metadata": {"name": "x-0"}, "spec": {"subdomain": "x"}, "status": {"podIP": "127.2.0.6"}},
    ]
    assert dns.group_records(service, endpoints, members) == expected
