"""Shared setup for the operator's tests: a fake-backend cluster running the operator,
with stand-in sentinels (`operator_fakes.FakeSentinels`). A module with its own name,
so test files import it unambiguously; conftest.py only exposes its fixture."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from operator_fakes import FakeSentinels, fake_cluster, idle_sentinel_image, wait_until

import redisha.operator as rf_operator
from cluster.embedded import ClusterSettings, EmbeddedCluster
from redisha.operator import OperatorSettings, Tuning

NAME = "x"
NAMESPACE = "default"

FAST_OPERATOR = OperatorSettings(
    resync_period=0.5, busy_resync=0.05, redis_timeout=0.3, sentinel_timeout=0.3,
    watch_retry=0.1,
    tuning=Tuning(sentinel_fix_grace=0.3, reset_grace=0.2, reset_interval=0.3,
                  repair_grace=0.2))
"""Short timers: grace periods of a few tenths of a second."""

SHORT_SENTINELS = {"downAfterMilliseconds": 1000, "failoverTimeoutMilliseconds": 2000}


@dataclass
class OperatorEnv:
    """A cluster, the operator on it and the fake sentinels of RedisFailover `x`."""

    cluster: EmbeddedCluster
    operator: rf_operator.RedisFailoverOperator
    sentinels: FakeSentinels

    @property
    def client(self) -> Any:
        return self.cluster.client

    async def create(self, spec: dict[str, Any] | None = None) -> dict[str, Any]:
        merged = {"sentinel": dict(SHORT_SENTINELS)}
        for section, values in (spec or {}).items():
            merged.setdefault(section, {}).update(values)
        return await self.client.create(rf_operator.sample(NAME, spec=merged), NAMESPACE)

    async def rf(self) -> dict[str, Any]:
        return await self.client.get("rf", NAME, NAMESPACE)

    async def status(self) -> dict[str, Any]:
        return (await self.rf()).get("status") or {}

    async def wait_phase(self, phase: str, timeout: float = 10.0,
                         generation: int = 0) -> dict[str, Any]:
        """Wait until `status.phase` is `phase` (observing at least `generation`); returns
        that status."""
        seen: dict[str, Any] = {}

        async def reached() -> bool:
            seen["status"] = status = await self.status()
            return status.get("phase") == phase and \
                int(status.get("observedGeneration") or 0) >= generation

        await wait_until(reached, timeout, message=lambda: str(seen.get("status")))
        return seen["status"]

    async def wait_new_primary(self, old: str, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until status is Ready with a primary other than `old`; returns the status."""
        seen: dict[str, Any] = {}

        async def reached() -> bool:
            seen["status"] = status = await self.status()
            return status.get("phase") == "Ready" and status.get("primary") not in ("", old)

        await wait_until(reached, timeout, message=lambda: str(seen.get("status")))
        return seen["status"]

    async def pods(self, component: str = "redis") -> list[dict[str, Any]]:
        from redisha.operator import manifests
        listed = await self.client.list("pods", NAMESPACE,
                                        label_selector=manifests.selector(NAME, component))
        return sorted(listed.items, key=lambda p: p["metadata"]["name"])

    async def roles(self) -> dict[str, str | None]:
        return {p["metadata"]["name"]: p["metadata"]["labels"].get("redisha.io/role")
                for p in await self.pods() if not p["metadata"].get("deletionTimestamp")}

    async def events(self) -> list[tuple[str, str]]:
        listed = await self.client.list("events", NAMESPACE)
        return [(e["reason"], e["message"]) for e in
                sorted(listed.items, key=lambda e: e["metadata"]["name"])
                if e["involvedObject"].get("kind") == "RedisFailover"]

    async def reasons(self) -> list[str]:
        return [reason for reason, _ in await self.events()]


@contextlib.asynccontextmanager
async def operator_env(settings: ClusterSettings | None = None) -> AsyncIterator[OperatorEnv]:
    """The operator running on a fake cluster (3 quick nodes by default), CRD installed."""
    async with fake_cluster([idle_sentinel_image()], settings=settings) as cluster:
        await rf_operator.install(cluster.client)
        sentinels = FakeSentinels(cluster.client, NAMESPACE, NAME)
        operator = rf_operator.RedisFailoverOperator(
            cluster.client, cluster.informers, settings=FAST_OPERATOR,
            sentinel_client=sentinels)
        await operator.start()
        try:
            yield OperatorEnv(cluster, operator, sentinels)
        finally:
            await operator.stop()


@pytest.fixture
async def env() -> AsyncIterator[OperatorEnv]:
    """The operator running on a 3-node fake cluster, with the CRD installed."""
    async with operator_env() as running:
        yield running
