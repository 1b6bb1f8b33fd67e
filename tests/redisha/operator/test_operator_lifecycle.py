"""The operator on a fake-backend cluster with stand-in sentinels: bootstrap, the objects it
owns, labels, live spec changes, scaling, and deletion."""

from __future__ import annotations

import itertools
import time

from operator_env import NAME, NAMESPACE, OperatorEnv
from operator_fakes import wait_until

from cluster.api import errors
from redisha.operator import manifests
from redisha.operator.nodes import RedisNodes
from redisha.operator.sentinels import Address


async def test_a_new_redisfailover_bootstraps_ordinal_0_and_becomes_ready(env: OperatorEnv) -> None:
    """Created → the owned objects exist, rfr-x-0 is promoted and labelled primary from the
    sentinels' view, the others replicate it, status is Ready with both conditions True."""
    started = time.monotonic()
    await env.create()
    status = await env.wait_phase("Ready")
    assert time.monotonic() - started < 5
    assert (status["primary"], len(status["replicas"]), len(status["sentinels"])) == ("rfr-x-0", 2, 3)
    assert {c["type"]: c["status"] for c in status["conditions"]} == \
        {"Available": "True", "Ready": "True"}
    assert await env.roles() == {"rfr-x-0": "primary", "rfr-x-1": "replica", "rfr-x-2": "replica"}
    nodes = RedisNodes(timeout=1)
    try:
        for replica in status["replicas"]:
            info = await nodes.info(replica["ip"])
            assert (info.is_master, info.primary, info.link_up) == \
                (False, Address(status["primaryIP"], 6379), True)
    finally:
        await nodes.close()
    for resource, name in [("statefulsets", "rfr-x"), ("services", "rfr-x"),
                           ("services", "rfrm-x"), ("services", "rfrs-x"),
                           ("services", "rfs-x"), ("deployments", "rfs-x"),
                           ("configmaps", "rfs-x"), ("configmaps", "rfr-x")]:
        obj = await env.client.get(resource, name, NAMESPACE)
        assert obj["metadata"]["ownerReferences"][0]["kind"] == "RedisFailover", name
    config = await env.client.get("configmaps", "rfs-x", NAMESPACE)
    assert manifests.monitored_ip(config) == status["primaryIP"]
    assert (await env.reasons())[:2] == ["Bootstrapped", "PrimaryElected"]


async def test_the_primary_service_reaches_the_primary_only(env: OperatorEnv) -> None:
    """rfrm-x's endpoints are the primary pod alone; rfrs-x's are the two replicas."""
    await env.create()
    status = await env.wait_phase("Ready")

    async def addresses(service: str) -> set[str]:
        try:
            endpoints = await env.client.get("endpoints", service, NAMESPACE)
        except errors.NotFound:
            return set()
        return {a["ip"] for subset in endpoints.get("subsets") or []
                for a in subset.get("addresses") or []}

    replica_ips = {r["ip"] for r in status["replicas"]}
    await wait_until(lambda: _equal(addresses("rfrm-x"), {status["primaryIP"]}))
    await wait_until(lambda: _equal(addresses("rfrs-x"), replica_ips))


async def _equal(awaitable, expected) -> bool:  # type: ignore[no-untyped-def]
    return await awaitable == expected


async def test_spec_changes_apply_live(env: OperatorEnv) -> None:
    """Changing sentinel settings sends SENTINEL SET to every sentinel; minReplicasToWrite
    is CONFIG SET on every redis pod; redis.replicas 3→4 scales the StatefulSet and the new
    pod joins as a replica; sentinel.replicas 3→4 scales the Deployment."""
    await env.create()
    await env.wait_phase("Ready")
    running = set(env.sentinels.sentinel_ips())
    rf = await env.rf()
    rf["spec"]["sentinel"]["downAfterMilliseconds"] = 1500
    rf["spec"]["sentinel"]["parallelSyncs"] = 2
    rf["spec"]["redis"]["minReplicasToWrite"] = 1
    rf["spec"]["redis"]["replicas"] = 4
    rf["spec"]["sentinel"]["replicas"] = 4
    generation = (await env.client.update(rf))["metadata"]["generation"]

    async def applied() -> bool:
        views = env.sentinels.views.values()
        return len(views) == 4 and all(
            v.options["down-after-milliseconds"] == "1500" and v.options["parallel-syncs"] == "2"
            for v in views)

    await wait_until(applied)
    assert (await env.client.get("deployments", "rfs-x", NAMESPACE))["spec"]["replicas"] == 4
    sets = [c for c in env.sentinels.calls if c[0] == "SET"]
    assert running <= {c[1] for c in sets}
    status = await env.wait_phase("Ready", generation=generation)
    assert sorted(r["name"] for r in status["replicas"]) == ["rfr-x-1", "rfr-x-2", "rfr-x-3"]
    assert (await env.client.get("statefulsets", "rfr-x", NAMESPACE))["spec"]["replicas"] == 4
    nodes = RedisNodes(timeout=1)
    try:
        for ip in [status["primaryIP"], *(r["ip"] for r in status["replicas"])]:
            info = await nodes.info(ip)
            assert info.config["min-replicas-to-write"] == "1", ip
    finally:
        await nodes.close()
    config = await env.client.get("configmaps", "rfr-x", NAMESPACE)
    assert "min-replicas-to-write 1" in config["data"]["redis.conf"]
    reasons = await env.reasons()
    assert "SentinelReconfigured" in reasons and "ConfigApplied" in reasons


async def test_a_sentinel_monitoring_another_address_is_repointed(env: OperatorEnv) -> None:
    """A sentinel that keeps naming another primary after the grace period gets REMOVE +
    MONITOR of the agreed primary and the spec's settings; one that monitors nothing gets
    MONITOR at once."""
    await env.create()
    status = await env.wait_phase("Ready")
    first, second, _ = env.sentinels.sentinel_ips()
    env.sentinels.views[first].master = Address("127.0.0.9", 6379)
    env.sentinels.views[second].master = None
    primary = Address(status["primaryIP"], 6379)
    await wait_until(lambda: all(v.master == primary for v in env.sentinels.views.values()))
    calls = env.sentinels.calls
    assert ("REMOVE", first) in calls and ("MONITOR", first, str(primary), "2") in calls
    assert ("MONITOR", second, str(primary), "2") in calls
    assert env.sentinels.views[first].options["down-after-milliseconds"] == "1000"
    assert "SentinelReconfigured" in await env.reasons()


async def test_stale_sentinel_memories_are_reset_one_sentinel_at_a_time(env: OperatorEnv) -> None:
    """Sentinels remembering a replica and a sentinel that no longer exist are RESET, never
    two within the reset interval."""
    await env.create()
    await env.wait_phase("Ready")
    gone = Address("127.0.0.9", 6379)
    for view in env.sentinels.views.values():
        view.replicas.append(gone)
        view.others = [*env.sentinels.known_sentinels(view), Address("127.0.0.10", 26379)]
    await wait_until(lambda: sum(c[0] == "RESET" for c in env.sentinels.calls) == 3, timeout=10)
    assert all(gone not in v.replicas and v.others is None for v in env.sentinels.views.values())
    assert "SentinelReset" in await env.reasons()
    resets = [c[1] for c in env.sentinels.calls if c[0] == "RESET"]
    assert sorted(resets) == env.sentinels.sentinel_ips()
    times = env.sentinels.reset_times
    interval = env.operator.settings.tuning.reset_interval
    assert all(later - earlier >= interval * 0.9 for earlier, later in itertools.pairwise(times))


async def test_deleting_the_redisfailover_deletes_what_it_owns(env: OperatorEnv) -> None:
    """ownerReferences make the StatefulSet, Deployment, Services and ConfigMaps go with it."""
    await env.create()
    await env.wait_phase("Ready")
    await env.client.delete("rf", NAME, NAMESPACE)

    async def gone() -> bool:
        for resource in ("statefulsets", "deployments", "services", "configmaps"):
            listed = await env.client.list(resource, NAMESPACE,
                                           label_selector=f"{manifests.INSTANCE_LABEL}={NAME}")
            if listed.items:
                return False
        return True

    await wait_until(gone)
