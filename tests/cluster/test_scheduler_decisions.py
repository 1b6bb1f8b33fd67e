"""The algorithm's decisions: scores, tie-breaking, the search window and the message."""

from __future__ import annotations

import random

import pytest

from cluster.scheduling import algorithm, diagnosis, scores
from cluster.scheduling.algorithm import Algorithm
from cluster.scheduling.filters import Plugin, Rejection
from tests.cluster.scheduler_helpers import (anti_affinity, cache_with, container, node,
                                             node_info, pod, pod_info)


def place(cache, p: dict) -> str | None:
    """Schedule `p` on `cache` and assume it where it goes."""
    info = pod_info(p)
    result = Algorithm(cache, rng=random.Random(0)).schedule(info)
    if result.node is not None:
        cache.assume(info, result.node)
    return result.node


def test_tutorial_example_never_picks_the_node_without_room():
    """Two 2Gi containers go to the 4Gi node, never the 3.5Gi one, whatever the seed."""
    redis = pod("redis", container("a", memory="2Gi"), container("b", memory="2Gi"))
    for seed in range(200):
        cache = cache_with([node("node1", memory="3584Mi"), node("node2", memory="4Gi")])
        result = Algorithm(cache, rng=random.Random(seed)).schedule(pod_info(redis))
        assert result.node == "node2", seed


def test_least_allocated_prefers_the_emptier_node():
    """With everything else equal, the node with more free cpu and memory wins."""
    busy = pod("busy", container(cpu="3", memory="6Gi"), node_name="n1")
    cache = cache_with([node("n1"), node("n2")], [busy])
    assert place(cache, pod("p", container(cpu="100m", memory="100Mi"))) == "n2"
    # A request-less pod counts as 100m and 200Mi: 3900/4000 cpu and 7992/8192Mi free.
    assert scores.least_allocated(pod_info(pod("p")), node_info(node("n1"))) == (97 + 97) // 2


def test_owner_spreading_puts_replicas_on_different_nodes():
    """Pods of one ReplicaSet go to different nodes while there are nodes without one."""
    cache = cache_with([node(f"n{i}") for i in range(5)])
    chosen = [place(cache, pod(f"web-{i}", owner_uid="rs-1")) for i in range(5)]
    assert sorted(chosen) == [f"n{i}" for i in range(5)]


def test_spreading_outweighs_a_little_less_free_room():
    """A node with none of the owner's pods beats an emptier one that has one."""
    mine = pod("mine", container(cpu="100m"), owner_uid="rs-1", node_name="n1")
    other = pod("other", container(cpu="1"), node_name="n2")
    cache = cache_with([node("n1"), node("n2")], [mine, other])
    assert place(cache, pod("p", container(cpu="100m"), owner_uid="rs-1")) == "n2"


def test_preferred_anti_affinity_spreads_labelled_pods():
    """Preferred anti-affinity steers a pod away from nodes running pods it dislikes."""
    cache = cache_with([node("n1"), node("n2")],
                       [pod("web-0", labels={"app": "web"}, node_name="n2")])
    p = pod("web-1", labels={"app": "web"},
            affinity=anti_affinity({"app": "web"}, required=False))
    # n2 is emptier in no way here; only the preference decides, so every seed agrees.
    for seed in range(20):
        result = Algorithm(cache, rng=random.Random(seed)).schedule(pod_info(p))
        assert result.node == "n1"


def test_prefer_no_schedule_taint_and_preferred_node_affinity_score():
    """PreferNoSchedule lowers a node's score; a preferred node selector term raises it."""
    soft = {"key": "spot", "effect": "PreferNoSchedule"}
    cache = cache_with([node("n1", taints=[soft]), node("n2")])
    assert {place(cache_with([node("n1", taints=[soft]), node("n2")]), pod(f"p{i}"))
            for i in range(10)} == {"n2"}
    prefer = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "preference": {"matchExpressions": [
            {"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}}
    cache = cache_with([node("n1"), node("n2", labels={"disk": "ssd"})])
    assert place(cache, pod("p", affinity=prefer)) == "n2"


def test_ties_are_broken_by_the_injected_generator():
    """Equal nodes: the same seed picks the same node, and different seeds spread out."""
    def pick(seed: int) -> str | None:
        cache = cache_with([node(f"n{i}") for i in range(8)])
        return Algorithm(cache, rng=random.Random(seed)).schedule(pod_info(pod("p"))).node
    assert pick(3) == pick(3)
    assert len({pick(seed) for seed in range(50)}) > 1


@pytest.mark.parametrize("nodes,percentage,expected", [
    pytest.param(50, 0, 50, id="small-cluster-all"),
    pytest.param(1000, 0, 420, id="adaptive-1000"),
    pytest.param(5000, 0, 500, id="adaptive-floor-5-percent"),
    pytest.param(150, 0, 100, id="at-least-100"),
    pytest.param(1000, 10, 100, id="explicit"),
    pytest.param(1000, 100, 1000, id="all"),
])
def test_num_feasible_nodes_to_find(nodes, percentage, expected):
    """kube-scheduler's percentageOfNodesToScore, adaptive by default."""
    assert algorithm.num_feasible_nodes_to_find(percentage, nodes) == expected


def test_search_stops_early_and_rotates():
    """On 1000 nodes only 420 are filtered per pod, and the next search starts after them."""
    cache = cache_with([node(f"n{i:04d}") for i in range(1000)])
    algo = Algorithm(cache, rng=random.Random(0))
    first = algo.schedule(pod_info(pod("a")))
    second = algo.schedule(pod_info(pod("b")))
    assert (first.evaluated, first.feasible) == (420, 420)
    assert int(first.node[1:]) < 420 <= int(second.node[1:]) < 840


def test_assumed_pods_take_room_before_their_binding_is_seen():
    """After `assume`, the next pod sees the node as full; `forget` gives the room back."""
    cache = cache_with([node("n1", memory="4Gi")])
    info = pod_info(pod("a", container(memory="3Gi")))
    cache.assume(info, "n1")
    algo = Algorithm(cache, rng=random.Random(0))
    assert algo.schedule(pod_info(pod("b", container(memory="2Gi")))).node is None
    cache.forget(info.key)
    assert algo.schedule(pod_info(pod("b", container(memory="2Gi")))).node == "n1"


def test_finished_pods_release_their_room():
    """A Succeeded pod on a node no longer counts against it."""
    done = pod("done", container(memory="7Gi"), node_name="n1")
    cache = cache_with([node("n1")], [done])
    assert place(cache, pod("p", container(memory="2Gi"))) is None
    done["status"] = {"phase": "Succeeded"}
    assert cache.observe_pod(done) is True
    assert place(cache, pod("p", container(memory="2Gi"))) == "n1"


@pytest.mark.parametrize("placed_pods", [
    pytest.param(60, id="owners-on-most-nodes"),
    pytest.param(4, id="owners-on-few-nodes"),
])
def test_fast_path_agrees_with_the_reference_score(placed_pods):
    """The memoised scoring the algorithm uses equals the plain score functions."""
    rng = random.Random(5)
    nodes = [node(f"n{i}", cpu=str(rng.randint(2, 16)), memory=f"{rng.randint(2, 64)}Gi")
             for i in range(30)]
    placed = [pod(f"x{i}", container(cpu=f"{rng.randint(0, 900)}m",
                                     memory=f"{rng.randint(0, 900)}Mi"),
                  owner_uid=rng.choice(["rs-1", "rs-2"]), node_name=f"n{rng.randrange(30)}")
              for i in range(placed_pods)]
    cache = cache_with(nodes, placed)
    p = pod_info(pod("p", container(cpu="300m"), owner_uid="rs-1"))
    feasible = cache.node_list()
    fast = Algorithm(cache).score(p, feasible)
    counts = [scores.owner_count(p, n) for n in feasible]
    assert any(counts)
    spread = scores.spread_scores(counts)
    reference = [scores.least_allocated(p, n) + 2 * s
                 for n, s in zip(feasible, spread, strict=True)]
    assert fast == reference


@pytest.mark.parametrize("seed", range(5))
def test_spreading_on_a_large_cluster_avoids_the_owners_node(seed):
    """On 300 nodes the owner's one node is found and avoided, though it is the emptiest."""
    nodes = [node(f"n{i:03d}") for i in range(300)]
    placed = [pod("web-0", container(cpu="100m"), owner_uid="rs-1", node_name="n000")]
    placed += [pod(f"other-{i}", container(cpu="200m"), node_name=f"n{i:03d}")
               for i in range(1, 300)]
    cache = cache_with(nodes, placed)
    # Fresh algorithms, so that both searches start at n000.
    plain = Algorithm(cache, rng=random.Random(seed)).schedule(
        pod_info(pod("solo", container(cpu="100m"))))
    assert plain.node == "n000"  # without an owner, least-allocated alone picks it
    replica = Algorithm(cache, rng=random.Random(seed)).schedule(
        pod_info(pod("web-1", container(cpu="100m"), owner_uid="rs-1")))
    assert replica.node not in (None, "n000")


def reject(plugin: Plugin, *reasons: str, resolvable: bool = False) -> Rejection:
    return Rejection(plugin, reasons, resolvable)


def test_message_counts_sorts_and_appends_preemption():
    """kube-scheduler 1.32's wording: counted reasons sorted as strings, then preemption."""
    d = diagnosis.Diagnosis(2, {
        "n1": reject(Plugin.NODE_RESOURCES_FIT, "Insufficient memory", resolvable=True),
        "n2": reject(Plugin.TAINT_TOLERATION,
                     "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"),
    })
    assert d.message() == (
        "0/2 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint "
        "{node.kubernetes.io/unreachable: }. preemption: 0/2 nodes are available: "
        "1 No preemption victims found for incoming pod, "
        "1 Preemption is not helpful for scheduling.")


def test_message_sorts_counts_as_strings_and_counts_each_reason():
    """`10 …` sorts before `2 …`, and a node short of cpu and memory counts for both."""
    rejections = {f"a{i}": reject(Plugin.NODE_AFFINITY,
                                  "node(s) didn't match Pod's node affinity/selector")
                  for i in range(10)}
    rejections.update({f"b{i}": reject(Plugin.NODE_RESOURCES_FIT, "Insufficient cpu",
                                       "Insufficient memory", resolvable=True)
                       for i in range(2)})
    text = diagnosis.Diagnosis(12, rejections).message()
    assert text.startswith(
        "0/12 nodes are available: 10 node(s) didn't match Pod's node affinity/selector, "
        "2 Insufficient cpu, 2 Insufficient memory. preemption: 0/12 nodes are available: "
        "10 Preemption is not helpful for scheduling, 2 No preemption victims found")


def test_message_without_nodes_and_with_preemption_never():
    """No nodes at all, and preemptionPolicy Never, have their own wording."""
    assert diagnosis.Diagnosis(0, {}).message() == "no nodes available to schedule pods"
    d = diagnosis.Diagnosis(1, {"n": reject(Plugin.NODE_UNSCHEDULABLE,
                                            "node(s) were unschedulable")}, preempt_never=True)
    assert d.message() == ("0/1 nodes are available: 1 node(s) were unschedulable. "
                           "preemption: not eligible due to preemptionPolicy=Never.")


def test_unschedulable_result_names_every_node():
    """A pod that fits nowhere gets a diagnosis covering static and dynamic rejections."""
    cache = cache_with([node("n1", memory="1Gi"), node("n2", ready="False"),
                        node("n3", unschedulable=True)])
    result = Algorithm(cache).schedule(pod_info(pod("p", container(memory="2Gi"))))
    assert result.node is None and result.diagnosis is not None
    assert result.diagnosis.plugins == {Plugin.NODE_RESOURCES_FIT, Plugin.TAINT_TOLERATION,
                                        Plugin.NODE_UNSCHEDULABLE}
    assert result.diagnosis.message() == (
        "0/3 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint "
        "{node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable. preemption: 0/3 nodes "
        "are available: 1 No preemption victims found for incoming pod, 2 Preemption is not "
        "helpful for scheduling.")
