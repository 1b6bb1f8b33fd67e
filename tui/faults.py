"""Faults the Kubernetes API cannot express, as the dashboard asks for them.

Killing a pod, deleting it and cordoning or draining a node are API calls, and the
dashboard makes them through the client. Crashing a container, freezing a process,
cutting the network between pods and pulling the plug on a node are not: on a real
cluster they take SSH, a chaos tool or a hand on the power switch. The dashboard asks
for them through this protocol, and whoever composed the cluster (the `redisha`
command, over the embedded cluster) implements it. A dashboard attached to a cluster it
cannot reach into gets `faults=None` and shows those menu entries disabled.

Every method returns one line saying what it did, fit for a notification, and raises
`FaultError` with one line naming what is at fault when it cannot.
"""

from __future__ import annotations

import enum
from typing import Protocol


class FaultError(Exception):
    """A fault could not be injected; `str()` is one line naming the thing at fault."""


class FaultKind(str, enum.Enum):
    """The entries of the fault menu, in the order it lists them."""

    CRASH = "crash"
    """SIGKILL the pod's containers; the kubelet restarts them by the pod's policy."""
    HANG = "hang"
    """Freeze the pod's processes and stall its connections (SIGSTOP)."""
    THAW = "thaw"
    """Undo `hang`."""
    PARTITION_FROM_PRIMARY = "partition-from-primary"
    """Cut the network between the pod and the Redis primary."""
    PARTITION_FROM_SENTINELS = "partition-from-sentinels"
    """Cut the network between the pod and every sentinel."""
    HEAL = "heal"
    """End every partition."""
    KILL_NODE = "kill-node"
    """The node's kubelet and containers die; the node object stays, silent."""
    CORDON = "cordon"
    """Mark the node unschedulable (an API call)."""
    DRAIN = "drain"
    """Cordon the node and delete its pods (API calls)."""
    UNCORDON = "uncordon"
    """Mark the node schedulable again (an API call)."""

    @property
    def label(self) -> str:
        """How the menu names it."""
        return _TITLES[self]

    @property
    def through_api(self) -> bool:
        """Made with the client, so it works on any cluster."""
        return self in (FaultKind.CORDON, FaultKind.DRAIN, FaultKind.UNCORDON)


_TITLES = {
    FaultKind.CRASH: "Crash the pod's containers",
    FaultKind.HANG: "Hang the pod (freeze its processes)",
    FaultKind.THAW: "Thaw the pod",
    FaultKind.PARTITION_FROM_PRIMARY: "Partition the pod from the primary",
    FaultKind.PARTITION_FROM_SENTINELS: "Partition the pod from the sentinels",
    FaultKind.HEAL: "Heal every partition",
    FaultKind.KILL_NODE: "Kill the node",
    FaultKind.CORDON: "Cordon the node",
    FaultKind.DRAIN: "Drain the node",
    FaultKind.UNCORDON: "Uncordon the node",
}


class Faults(Protocol):
    """What the dashboard may ask of the cluster beyond its API."""

    async def crash(self, namespace: str, pod: str) -> str:
        """SIGKILL every running container of the pod."""
        ...

    async def hang(self, namespace: str, pod: str) -> str:
        """Freeze every running container of the pod and stall its connections."""
        ...

    async def thaw(self, namespace: str, pod: str) -> str:
        """Undo `hang`."""
        ...

    async def partition(self, namespace: str, pod: str, peers: list[str]) -> str:
        """Cut the network, both ways, between the pod and the named pods (same namespace)."""
        ...

    async def heal(self) -> str:
        """End every partition."""
        ...

    async def kill_node(self, node: str) -> str:
        """Stop the node's kubelet and kill its containers, leaving the Node object."""
        ...
