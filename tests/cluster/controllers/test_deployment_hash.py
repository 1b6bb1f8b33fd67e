"""Pure parts of the Deployment controller: the pod-template hash and the rollout arithmetic."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cluster.api import objects
from cluster.controllers import deployment as dep

HASH = re.compile(r"^[bcdfghjklmnpqrstvwxz2456789]{8,10}$")

TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "redis-deployment"}},
    "spec": {"containers": [{"name": "redis", "image": "redis", "resources": {}}]},
}


def test_fnv32a_matches_the_reference_vectors() -> None:
    """FNV-1a 32-bit gives the published values (so the hash is the algorithm kube uses)."""
    assert dep.fnv32a(b"") == 0x811C9DC5
    assert dep.fnv32a(b"a") == 0xE40C292C
    assert dep.fnv32a(b"foobar") == 0xBF9CF968


def test_safe_encode_spells_digits_like_apimachinery() -> None:
    """Digits map onto SafeEncodeString's alphabet: 0123456789 -> 456789bcdf."""
    assert dep.safe_encode("0123456789") == "456789bcdf"


def test_hash_has_kube_shape_and_a_fixed_value() -> None:
    """The hash is 8-10 safe characters and the same in every process (no Python hash salt)."""
    value = dep.pod_template_hash(TEMPLATE)
    assert HASH.match(value)
    assert value == dep.safe_encode(str(dep.fnv32a(
        b'{"metadata":{"labels":{"app":"redis-deployment"}},"spec":{"containers":'
        b'[{"image":"redis","name":"redis","resources":{}}]}}')))
    assert value == "5f646895ff"


def test_hash_ignores_key_order_and_follows_content() -> None:
    """Reordered keys hash alike; another image or a collision count hashes differently."""
    reordered = {"spec": TEMPLATE["spec"], "metadata": TEMPLATE["metadata"]}
    assert dep.pod_template_hash(reordered) == dep.pod_template_hash(TEMPLATE)
    other = objects.clone(TEMPLATE)
    other["spec"]["containers"][0]["image"] = "redis:7"
    hashes = {dep.pod_template_hash(TEMPLATE), dep.pod_template_hash(other),
              dep.pod_template_hash(TEMPLATE, 0), dep.pod_template_hash(TEMPLATE, 1)}
    assert len(hashes) == 4 and all(HASH.match(h) for h in hashes)


def test_templates_compare_equal_ignoring_only_the_hash_label() -> None:
    """A ReplicaSet's template equals its Deployment's apart from `pod-template-hash`."""
    labelled = objects.clone(TEMPLATE)
    labelled["metadata"]["labels"]["pod-template-hash"] = "68dbd9fb89"
    assert dep.templates_equal_ignoring_hash(labelled, TEMPLATE)
    relabelled = objects.clone(labelled)
    relabelled["metadata"]["labels"]["tier"] = "db"
    assert not dep.templates_equal_ignoring_hash(relabelled, TEMPLATE)


@pytest.mark.parametrize("surge,unavailable,desired,expected", [
    pytest.param("25%", "25%", 10, (3, 2), id="percent-surge-up-unavailable-down"),
    pytest.param("25%", "25%", 4, (1, 1), id="quarter-of-four"),
    pytest.param("30%", "30%", 1, (1, 0), id="one-replica"),
    pytest.param(0, 0, 4, (0, 1), id="both-zero-means-one-unavailable"),
    pytest.param("0%", "0%", 4, (0, 1), id="both-zero-percent"),
    pytest.param(2, "50%", 3, (2, 1), id="int-and-percent"),
])
def test_resolve_fenceposts_rounds_like_kube(surge, unavailable, desired, expected) -> None:
    """maxSurge rounds up, maxUnavailable rounds down, and 0/0 becomes 0/1."""
    assert dep.resolve_fenceposts(surge, unavailable, desired) == expected


def _rs(name: str, replicas: int, created: str = "2024-01-01T00:00:00Z") -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": created},
            "spec": {"replicas": replicas}}


def _deployment(replicas: int, surge: Any = 1, unavailable: Any = 1,
                strategy: str = "RollingUpdate") -> dict[str, Any]:
    strategy_spec: dict[str, Any] = {"type": strategy}
    if strategy == "RollingUpdate":
        strategy_spec["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "web", "generation": 1},
            "spec": {"replicas": replicas, "strategy": strategy_spec}}


@pytest.mark.parametrize("old,new,expected", [
    pytest.param(4, 0, 1, id="first-surge-pod"),
    pytest.param(3, 1, 2, id="room-after-old-shrank"),
    pytest.param(4, 1, 1, id="at-max-total"),
    pytest.param(0, 3, 4, id="never-above-replicas"),
])
def test_new_replica_set_grows_within_max_surge(old, new, expected) -> None:
    """The new ReplicaSet grows only while old + new stays within replicas + maxSurge."""
    d = _deployment(4)
    new_rs = _rs("new", new)
    assert dep.new_rs_new_replicas(d, [_rs("old", old), new_rs], new_rs) == expected


def test_recreate_sizes_the_new_replica_set_at_once() -> None:
    """Recreate gives the new ReplicaSet all replicas (the old ones are gone by then)."""
    d = _deployment(3, strategy="Recreate")
    assert dep.new_rs_new_replicas(d, [_rs("new", 0)], _rs("new", 0)) == 3
    assert dep.max_surge(d) == 0 and dep.max_unavailable(d) == 0


def test_calculate_status_counts_and_sets_available() -> None:
    """Status sums the ReplicaSets; Available holds once replicas - maxUnavailable are available."""
    d = _deployment(4)
    old = {**_rs("old", 1), "status": {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}}
    new = {**_rs("new", 4), "status": {"replicas": 4, "readyReplicas": 2, "availableReplicas": 2}}
    status = dep.calculate_status([old, new], new, d, now=0.0)
    conditions = status.pop("conditions")
    assert status == {"observedGeneration": 1, "replicas": 5, "updatedReplicas": 4,
                      "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 2}
    assert [(c["type"], c["status"], c["reason"], c["message"]) for c in conditions] == [
        ("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")]
    new["status"]["availableReplicas"] = 1
    status = dep.calculate_status([old, new], new, d, now=0.0)
    assert status["conditions"][0]["reason"] == "MinimumReplicasUnavailable"


def test_set_condition_keeps_transition_time_while_status_holds() -> None:
    """A new reason with the same status keeps lastTransitionTime; the same reason is no update."""
    status: dict[str, Any] = {}
    dep.set_condition(status, dep.new_condition(dep.ConditionType.PROGRESSING, "True",
                                                dep.Reason.NEW_RS_CREATED, "a", 100.0))
    dep.set_condition(status, dep.new_condition(dep.ConditionType.PROGRESSING, "True",
                                                dep.Reason.NEW_RS_CREATED, "b", 200.0))
    assert status["conditions"][0]["message"] == "a"
    dep.set_condition(status, dep.new_condition(dep.ConditionType.PROGRESSING, "True",
                                                dep.Reason.NEW_RS_AVAILABLE, "c", 300.0))
    (cond,) = status["conditions"]
    assert cond["reason"] == "NewReplicaSetAvailable"
    assert cond["lastTransitionTime"] == objects.format_time(100.0)
    assert cond["lastUpdateTime"] == objects.format_time(300.0)
