"""The scheduler's shortcuts decide exactly as the full search does.

Pods of one spec share a parsed `PodShape`; a run of pods with one request profile keeps a
verdict over all nodes (`Algorithm._whole_window`); ties are drawn without listing them.
Each is checked against the plain path on randomised clusters and workloads.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from cluster.scheduling.algorithm import Algorithm
from cluster.scheduling.cache import SchedulerCache
from cluster.scheduling.infos import PodInfo
from tests.cluster.scheduler_helpers import anti_affinity, container, node, pod

REQUESTS = [("10m", "16Mi"), ("500m", "1Gi"), ("100m", "128Mi"), ("1", "2Gi")]


def test_replicas_share_one_parsed_shape() -> None:
    """Same spec, same namespace: one shape; the pod's own facts stay its own."""
    cache = SchedulerCache()
    spec_pods = [pod(f"web-{i}", container(cpu="100m", memory="1Gi"), labels={"app": "web"},
                     owner_uid="rs-1") for i in range(3)]
    infos = [cache.pod_info(p) for p in spec_pods]
    assert infos[0].tolerations is infos[1].tolerations is infos[2].tolerations
    assert [i.key for i in infos] == ["default/web-0", "default/web-1", "default/web-2"]
    assert (infos[1].milli_cpu, infos[1].memory, infos[1].owner_uid) == (100, 2**30, "rs-1")


@pytest.mark.parametrize("other", [
    pytest.param(dict(namespace="other", affinity=anti_affinity({"app": "web"})),
                 id="namespace"),
    pytest.param(dict(), id="spec"),
])
def test_a_different_namespace_or_spec_gets_its_own_shape(other: dict[str, Any]) -> None:
    """Affinity terms default to the pod's namespace, so a shape is per namespace too."""
    cache = SchedulerCache()
    first = cache.pod_info(pod("a", affinity=anti_affinity({"app": "web"})))
    second = cache.pod_info(pod("b", **other))
    assert first.required_anti != second.required_anti


def test_a_bound_pods_node_name_is_its_own() -> None:
    """A bound replica shares the shape of the pending ones but keeps its node."""
    cache = SchedulerCache()
    pending = cache.pod_info(pod("web-0", container(cpu="1")))
    bound = cache.pod_info(pod("web-1", container(cpu="1"), node_name="n7"))
    assert (pending.node_name, bound.node_name) == ("", "n7")
    assert pending.static_key is bound.static_key


def decisions(seed: int, *, shortcut: bool, roomy: bool,
              monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Schedule a random workload on a random cluster; the node picked for each pod (or
    why none). A roomy cluster fits every pod for a long while: the kept verdict's case."""
    with monkeypatch.context() as patch:
        if not shortcut:
            patch.setattr(Algorithm, "_whole_window", lambda self, *args: None)
        rnd = random.Random(seed)
        cache = SchedulerCache()
        count = rnd.choice([3, 40, 130])
        for i in range(count):
            cache.set_node(node(f"n{i}", cpu=rnd.choice(["32"] if roomy else ["1", "4", "32"]),
                                memory=rnd.choice(["64Gi"] if roomy else ["2Gi", "64Gi"]),
                                pods=rnd.choice(["110"] if roomy else ["4", "110"]),
                                taints=[{"key": "x", "effect": "NoSchedule"}]
                                if rnd.random() < 0.1 else None))
        algorithm = Algorithm(cache, rng=random.Random(seed))
        placed: list[PodInfo] = []
        picked: list[Any] = []
        for k in range(400):
            group = k // 50 % 4 if roomy else rnd.randrange(4)
            cpu, memory = REQUESTS[group if rnd.random() < 0.9 else rnd.randrange(4)]
            info = cache.pod_info(pod(f"p{k}", container(cpu=cpu, memory=memory),
                                      labels={"app": f"g{group}"}, owner_uid=f"rs{group}"))
            result = algorithm.schedule(info)
            picked.append(result.node or sorted(result.diagnosis.rejections.items())
                          if result.diagnosis else result.node)
            if result.node:
                cache.assume(info, result.node)
                placed.append(info)
            if placed and rnd.random() < 0.1:
                cache.remove_pod(placed.pop(rnd.randrange(len(placed))).obj)
            if rnd.random() < 0.02:
                i = rnd.randrange(count)
                cache.set_node(node(f"n{i}", cpu="8", memory="8Gi", pods="20",
                                    unschedulable=rnd.random() < 0.5))
        return picked


@pytest.mark.parametrize("roomy", [pytest.param(True, id="roomy"),
                                   pytest.param(False, id="crowded")])
@pytest.mark.parametrize("seed", range(8))
def test_the_kept_verdict_decides_as_the_full_search(seed: int, roomy: bool,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Same cluster, same pods, same random generator: the same node for every pod,
    through full nodes, removals and node changes."""
    assert decisions(seed, shortcut=True, roomy=roomy, monkeypatch=monkeypatch) == \
        decisions(seed, shortcut=False, roomy=roomy, monkeypatch=monkeypatch)


def test_ties_are_drawn_as_random_choice_over_the_tied_nodes() -> None:
    """Among equally good nodes the pick is `rng.choice` of the tied positions."""
    cache = SchedulerCache()
    for i in range(30):
        cache.set_node(node(f"n{i}"))
    seed_pick = random.Random(7).choice(range(30))
    algorithm = Algorithm(cache, rng=random.Random(7))
    result = algorithm.schedule(cache.pod_info(pod("p", container(cpu="1"))))
    assert result.node == f"n{seed_pick}"
