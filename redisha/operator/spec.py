"""A RedisFailover's spec as typed records, with the CRD's defaults for anything missing.

The API server fills the defaults in on every write, so a stored object always has them;
reading through these records anyway keeps the operator right about objects written before
a default existed, and gives the rest of the package attributes instead of dict paths.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from redisha.operator import definition


class AntiAffinity(str, enum.Enum):
    """How hard redis (and sentinel) pods are kept off each other's nodes."""

    REQUIRED = "required"
    PREFERRED = "preferred"
    NONE = "none"


@dataclass(frozen=True)
class Persistence:
    """`spec.redis.persistence`: a claim per pod, mounted at /data."""

    enabled: bool = False
    size: str = "1Gi"
    storage_class: str | None = None


@dataclass(frozen=True)
class RedisSpec:
    """`spec.redis`."""

    replicas: int = 3
    image: str = definition.DEFAULT_REDIS_IMAGE
    resources: dict[str, Any] = field(default_factory=dict)
    anti_affinity: AntiAffinity = AntiAffinity.PREFERRED
    min_replicas_to_write: int = 0
    min_replicas_max_lag: int = 10
    persistence: Persistence = field(default_factory=Persistence)


@dataclass(frozen=True)
class SentinelSpec:
    """`spec.sentinel`."""

    replicas: int = 3
    quorum: int = 2
    down_after_ms: int = 5000
    failover_timeout_ms: int = 10000
    parallel_syncs: int = 1
    image: str = definition.DEFAULT_SENTINEL_IMAGE

    def options(self) -> dict[str, str]:
        """The `SENTINEL SET` options these settings mean, as sentinel.conf names them."""
        return {
            "down-after-milliseconds": str(self.down_after_ms),
            "failover-timeout": str(self.failover_timeout_ms),
            "parallel-syncs": str(self.parallel_syncs),
            "quorum": str(self.quorum),
        }


@dataclass(frozen=True)
class FailoverSpec:
    """A whole RedisFailover spec."""

    redis: RedisSpec = field(default_factory=RedisSpec)
    sentinel: SentinelSpec = field(default_factory=SentinelSpec)


def _int(section: dict[str, Any], key: str, default: int) -> int:
    value = section.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else default


def parse(rf: dict[str, Any]) -> FailoverSpec:
    """The spec of RedisFailover `rf`, defaults filled in."""
    spec = rf.get("spec") or {}
    redis = spec.get("redis") or {}
    sentinel = spec.get("sentinel") or {}
    persistence = redis.get("persistence") or {}
    try:
        affinity = AntiAffinity(redis.get("antiAffinity") or AntiAffinity.PREFERRED.value)
    except ValueError:
        affinity = AntiAffinity.PREFERRED
    d_redis, d_sentinel = RedisSpec(), SentinelSpec()
    return FailoverSpec(
        redis=RedisSpec(
            replicas=_int(redis, "replicas", d_redis.replicas),
            image=str(redis.get("image") or d_redis.image),
            resources=dict(redis.get("resources") or {}),
            anti_affinity=affinity,
            min_replicas_to_write=_int(redis, "minReplicasToWrite",
                                       d_redis.min_replicas_to_write),
            min_replicas_max_lag=_int(redis, "minReplicasMaxLagSeconds",
                                      d_redis.min_replicas_max_lag),
            persistence=Persistence(
                enabled=bool(persistence.get("enabled", False)),
                size=str(persistence.get("size") or "1Gi"),
                storage_class=persistence.get("storageClassName") or None),
        ),
        sentinel=SentinelSpec(
            replicas=_int(sentinel, "replicas", d_sentinel.replicas),
            quorum=_int(sentinel, "quorum", d_sentinel.quorum),
            down_after_ms=_int(sentinel, "downAfterMilliseconds", d_sentinel.down_after_ms),
            failover_timeout_ms=_int(sentinel, "failoverTimeoutMilliseconds",
                                     d_sentinel.failover_timeout_ms),
            parallel_syncs=_int(sentinel, "parallelSyncs", d_sentinel.parallel_syncs),
            image=str(sentinel.get("image") or d_sentinel.image),
        ),
    )
