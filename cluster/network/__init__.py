"""The cluster network: per-cluster loopback addresses, pod sandboxes, cluster DNS, the
service proxy and fault injection (partitions, freezes).

`ClusterNetwork` is the entry point; `addresses.claim_ranges()` lets a composition root
claim the address ranges before building the API server (it needs `service_cidr`).
"""

from cluster.network.addresses import AddressRanges, LoopbackUnavailable, claim_ranges
from cluster.network.cluster_network import ClusterNetwork, NetworkSettings
from cluster.network.faults import Partition
from cluster.network.proxy import ProxySettings
from cluster.network.sandbox import Sandbox

__all__ = ["AddressRanges", "ClusterNetwork", "LoopbackUnavailable", "NetworkSettings",
           "Partition", "ProxySettings", "Sandbox", "claim_ranges"]
