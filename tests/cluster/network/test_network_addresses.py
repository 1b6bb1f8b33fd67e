"""Per-cluster address ranges and pod IP allocation."""

from __future__ import annotations

import ipaddress
import random
import subprocess
import sys

import pytest

from cluster.network import addresses
from cluster.network.addresses import PodIPAllocator, claim_ranges
from tests.cluster.network.conftest import Net

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


def test_two_clusters_get_disjoint_ranges() -> None:
    """A second claim for the same pair moves on to another, disjoint pair."""
    with claim_ranges(rng=random.Random(7)) as first, \
            claim_ranges(index=first.index) as second:
        nets = [first.pod_network, first.service_network,
                second.pod_network, second.service_network]
        for i, a in enumerate(nets):
            for b in nets[i + 1:]:
                assert not a.overlaps(b), (a, b)


def test_claim_holds_against_another_process() -> None:
    """Another process asking for our pair gets a different one while we hold it."""
    with claim_ranges(rng=random.Random(3)) as held:
        script = ("from cluster.network.addresses import claim_ranges\n"
                  f"r = claim_ranges(index={held.index})\nprint(r.index)\n")
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             check=True, timeout=30)
        assert int(out.stdout) != held.index


def test_close_releases_the_pair() -> None:
    """After close, the same pair can be claimed again."""
    first = claim_ranges(rng=random.Random(11))
    index = first.index
    first.close()
    with claim_ranges(index=index) as again:
        assert again.index == index


@pytest.mark.parametrize("index", [
    pytest.param(3, id="odd"),
    pytest.param(0, id="below-range"),
    pytest.param(254, id="above-range"),
])
def test_bad_pinned_index_is_refused(index: int) -> None:
    """Only even X in the usable span can be pinned."""
    with pytest.raises(ValueError):
        claim_ranges(index=index)


def test_ranges_are_loopback_pairs() -> None:
    """Pods get 127.X/16 and services 127.X+1/16, and per-address binding works here."""
    with claim_ranges() as r:
        assert r.pod_network == ipaddress.IPv4Network(f"127.{r.index}.0.0/16")
        assert r.service_network == ipaddress.IPv4Network(f"127.{r.index + 1}.0.0/16")
        assert addresses.per_address_loopback(r.index)


def test_pod_ips_are_distinct_stable_and_skip_reserved() -> None:
    """One IP per uid, the same when asked again, never the claim or .0/.255 addresses."""
    alloc = PodIPAllocator(ipaddress.IPv4Network("127.40.0.0/16"))
    ips = [alloc.allocate(f"uid-{i}") for i in range(600)]
    assert len(set(ips)) == 600
    assert alloc.allocate("uid-5") == ips[5]
    assert "127.40.0.1" not in ips and "127.40.0.0" not in ips
    assert not any(ip.endswith((".0", ".255")) for ip in ips)
    assert ips[0] == "127.40.0.2"


def test_released_ip_is_not_reused_until_the_range_wraps() -> None:
    """A released IP is handed out again only after the rest of the range."""
    alloc = PodIPAllocator(ipaddress.IPv4Network("127.40.0.0/24"))
    first = alloc.allocate("a")
    assert alloc.release("a") == first
    assert first not in alloc
    fresh = [alloc.allocate(f"u{i}") for i in range(252)]
    assert first not in fresh
    assert alloc.allocate("after-wrap") == first
    with pytest.raises(addresses.PodIPsExhausted):
        alloc.allocate("one-too-many")


async def test_sandbox_gets_pod_ip_and_releases_it(net: Net) -> None:
    """create_sandbox allocates from the pod range; destroy_sandbox releases the IP."""
    sandbox = await net.pod("web-0")
    assert ipaddress.IPv4Address(sandbox.ip) in net.ranges.pod_network
    assert net.network.create_sandbox(
        await net.client.get("pods", "web-0")) is sandbox
    uid = sandbox.uid
    net.network.destroy_sandbox(uid)
    assert sandbox.destroyed
    assert sandbox.ip not in net.network.pod_ips
    assert net.network.sandbox(uid) is None


async def test_cluster_ips_come_from_the_service_range(net: Net) -> None:
    """The API server allocates ClusterIPs out of the network's service range."""
    svc = await net.service("web")
    assert ipaddress.IPv4Address(svc["spec"]["clusterIP"]) in net.ranges.service_network
