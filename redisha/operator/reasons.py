"""The closed sets the operator writes: phases, failover reasons and event reasons."""

from __future__ import annotations

import enum


class Phase(str, enum.Enum):
    """`status.phase` of a RedisFailover."""

    BOOTSTRAPPING = "Bootstrapping"
    """Created; replication not set up yet (no primary chosen, no sentinels)."""
    READY = "Ready"
    """One primary the sentinels agree on, every replica following it, every sentinel
    monitoring it."""
    FAILOVER = "Failover"
    """The primary is lost or being replaced; writes may be refused meanwhile."""
    DEGRADED = "Degraded"
    """A primary serves writes, but a replica or a sentinel is missing or astray."""


class FailoverReason(str, enum.Enum):
    """`status.lastFailover.reason`: what set the failover off."""

    POD_DELETED = "PodDeleted"
    CONTAINER_EXITED = "ContainerExited"
    NODE_LOST = "NodeLost"
    ODOWN = "ODOWN"
    """The sentinels' own detection: down-after without a reply, then quorum."""
    MANUAL = "Manual"
    """Someone sent `SENTINEL FAILOVER` themselves."""


class EventReason(str, enum.Enum):
    """The reasons of the Events the operator records on a RedisFailover."""

    CREATED = "Created"
    UPDATED = "Updated"
    BOOTSTRAPPED = "Bootstrapped"
    PRIMARY_ELECTED = "PrimaryElected"
    FAILOVER_REQUESTED = "FailoverRequested"
    FAILOVER_FAILED = "FailoverFailed"
    FAILOVER_DEFERRED = "FailoverDeferred"
    """No replica can take over (all going away too): the pods' return is awaited, then a
    repair promotes the one with the most data."""
    POD_REJOINED = "PodRejoined"
    SENTINEL_RECONFIGURED = "SentinelReconfigured"
    SENTINEL_RESET = "SentinelReset"
    CONFIG_APPLIED = "ConfigApplied"
    REPAIRED = "Repaired"
