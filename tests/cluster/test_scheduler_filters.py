"""Filters: pure verdicts on (pod, node, the node's pods), in kube-scheduler's words."""

from __future__ import annotations

import pytest

from cluster.scheduling import filters
from cluster.scheduling.cache import SchedulerCache
from cluster.scheduling.filters import Plugin
from tests.cluster.scheduler_helpers import (anti_affinity, cache_with, container, node,
                                             node_info, pod, pod_info)

UNREACHABLE_NOEXECUTE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}


def verdict(p: dict, n: dict, *placed: dict) -> tuple[str, ...] | None:
    """The reasons every filter gives, or None if the node passes (no affinity state)."""
    rejection = filters.run_filters(pod_info(p), node_info(n, *placed), None)
    return None if rejection is None else rejection.reasons


@pytest.mark.parametrize("n,expected", [
    pytest.param(node("n", memory="3584Mi"), ("Insufficient memory",), id="memory"),
    pytest.param(node("n", cpu="1", memory="1Gi"), ("Insufficient cpu", "Insufficient memory"),
                 id="every-shortfall-is-a-reason"),
    pytest.param(node("n", pods="0"), ("Too many pods",), id="pods"),
    pytest.param(node("n", memory="4Gi"), None, id="exact-fit"),
])
def test_resources_fit(n, expected):
    """Requests must fit allocatable; each insufficient resource is reported."""
    p = pod("p", container(cpu="2", memory="2Gi"), container("b", memory="2Gi"))
    assert verdict(p, n) == expected


def test_resources_count_placed_pods():
    """What placed pods request is taken off the node's allocatable."""
    p = pod("p", container(memory="2Gi"))
    big = pod("big", container(memory="7Gi"), node_name="n")
    assert verdict(p, node("n"), big) == ("Insufficient memory",)
    assert verdict(p, node("n")) is None


def test_zero_request_fits_an_overcommitted_node():
    """A pod requesting no cpu is not rejected for cpu, even on an overcommitted node."""
    hog = pod("hog", container(cpu="5"), node_name="n")
    assert verdict(pod("p", container(memory="1Mi")), node("n"), hog) is None


@pytest.mark.parametrize("n,tolerations,expected", [
    pytest.param(node("n", taints=[UNREACHABLE_NOEXECUTE]), [],
                 ("node(s) had untolerated taint {node.kubernetes.io/unreachable: }",),
                 id="noexecute"),
    pytest.param(node("n", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
                 [], ("node(s) had untolerated taint {dedicated: gpu}",), id="noschedule"),
    pytest.param(node("n", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
                 [{"key": "dedicated", "operator": "Equal", "value": "gpu",
                   "effect": "NoSchedule"}], None, id="tolerated-equal"),
    pytest.param(node("n", taints=[UNREACHABLE_NOEXECUTE]),
                 [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                   "effect": "NoExecute", "tolerationSeconds": 300}], None, id="tolerated-exists"),
    pytest.param(node("n", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]),
                 [{"key": "k", "operator": "Equal", "value": "other"}],
                 ("node(s) had untolerated taint {k: v}",), id="wrong-value"),
    pytest.param(node("n", taints=[{"key": "k", "effect": "NoSchedule"}]),
                 [{"operator": "Exists"}], None, id="tolerate-everything"),
    pytest.param(node("n", taints=[{"key": "k", "effect": "PreferNoSchedule"}]), [], None,
                 id="prefer-no-schedule-only-scores"),
])
def test_taints_and_tolerations(n, tolerations, expected):
    """NoSchedule and NoExecute taints must be tolerated; the first one that is not is named."""
    assert verdict(pod("p", tolerations=tolerations), n) == expected


@pytest.mark.parametrize("ready,taint", [
    pytest.param("False", "node.kubernetes.io/not-ready", id="not-ready"),
    pytest.param("Unknown", "node.kubernetes.io/unreachable", id="unknown"),
    pytest.param(None, "node.kubernetes.io/not-ready", id="never-reported"),
])
def test_node_that_is_not_ready_is_skipped_as_tainted(ready, taint):
    """A NotReady node is rejected with the NoSchedule taint Kubernetes would have put on it."""
    assert verdict(pod("p"), node("n", ready=ready)) == (
        f"node(s) had untolerated taint {{{taint}: }}",)
    tolerant = pod("p", tolerations=[{"key": taint, "operator": "Exists"}])
    assert verdict(tolerant, node("n", ready=ready)) is None


def test_cordoned_node_is_unschedulable_unless_tolerated():
    """spec.unschedulable rejects the node before taints are even looked at."""
    cordoned = node("n", unschedulable=True, taints=[UNREACHABLE_NOEXECUTE])
    assert verdict(pod("p"), cordoned) == ("node(s) were unschedulable",)
    tolerant = pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable",
                                      "operator": "Exists", "effect": "NoSchedule"}])
    assert verdict(tolerant, node("n", unschedulable=True)) is None


MISMATCH = ("node(s) didn't match Pod's node affinity/selector",)


def required(*terms: dict) -> dict:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}


def expr(key: str, operator: str, *values: str) -> dict:
    out = {"key": key, "operator": operator}
    if values:
        out["values"] = list(values)
    return out


@pytest.mark.parametrize("spec,expected", [
    pytest.param({"nodeSelector": {"disk": "ssd"}}, None, id="selector-match"),
    pytest.param({"nodeSelector": {"disk": "ssd", "zone": "b"}}, MISMATCH, id="selector-miss"),
    pytest.param({"affinity": required({"matchExpressions": [expr("disk", "In", "hdd", "ssd")]})},
                 None, id="in"),
    pytest.param({"affinity": required({"matchExpressions": [expr("disk", "NotIn", "ssd")]})},
                 MISMATCH, id="notin"),
    pytest.param({"affinity": required({"matchExpressions": [expr("gpu", "DoesNotExist")]})},
                 None, id="doesnotexist"),
    pytest.param({"affinity": required({"matchExpressions": [expr("gpu", "Exists")]})},
                 MISMATCH, id="exists"),
    pytest.param({"affinity": required({"matchExpressions": [expr("cores", "Gt", "8")]})},
                 None, id="gt"),
    pytest.param({"affinity": required({"matchExpressions": [expr("cores", "Lt", "8")]})},
                 MISMATCH, id="lt"),
    pytest.param({"affinity": required({"matchFields": [expr("metadata.name", "In", "n1")]})},
                 None, id="match-fields-name"),
    pytest.param({"affinity": required({"matchFields": [expr("metadata.name", "NotIn", "n1")]})},
                 MISMATCH, id="match-fields-notin"),
    pytest.param({"affinity": required({"matchExpressions": [expr("disk", "In", "hdd")]},
                                       {"matchExpressions": [expr("cores", "Gt", "4")]})},
                 None, id="terms-are-ored"),
    pytest.param({"affinity": required({"matchExpressions": [expr("disk", "In", "ssd"),
                                                             expr("cores", "Lt", "4")]})},
                 MISMATCH, id="expressions-are-anded"),
    pytest.param({"affinity": required({})}, MISMATCH, id="empty-term-matches-nothing"),
    pytest.param({"nodeSelector": {"disk": "ssd"},
                  "affinity": required({"matchExpressions": [expr("disk", "In", "hdd")]})},
                 MISMATCH, id="selector-and-affinity-both-apply"),
])
def test_node_selector_and_required_node_affinity(spec, expected):
    """nodeSelector and required node affinity, with every operator, match as in Kubernetes."""
    n = node("n1", labels={"disk": "ssd", "cores": "16"})
    assert verdict(pod("p", **spec), n) == expected


def test_host_ports_conflict():
    """Two pods cannot hold the same host port and protocol on a node."""
    port = {"containerPort": 6379, "hostPort": 6379}
    holder = pod("a", container(ports=[port]), node_name="n")
    assert verdict(pod("b", container(ports=[port])), node("n"), holder) == (
        "node(s) didn't have free ports for the requested pod ports",)
    udp = pod("b", container(ports=[{**port, "protocol": "UDP"}]))
    assert verdict(udp, node("n"), holder) is None


def affinity_verdicts(p: dict, cache: SchedulerCache) -> dict[str, tuple[str, ...] | None]:
    info = pod_info(p)
    state = filters.affinity_state(info, candidates=cache.candidates,
                                   with_required_anti=cache.with_required_anti.values(),
                                   node_of=cache.node, namespace_labels=cache.namespace_labels)
    out = {}
    for n in cache.node_list():
        rejection = filters.inter_pod_affinity(info, n, state)
        out[n.name] = None if rejection is None else rejection.reasons
    return out


def test_required_anti_affinity_rejects_nodes_with_matching_pods():
    """A node running a pod the anti-affinity term selects (same namespace) is rejected."""
    cache = cache_with([node("n1"), node("n2"), node("n3")], [
        pod("web-0", labels={"app": "web"}, node_name="n1"),
        pod("other", labels={"app": "web"}, namespace="elsewhere", node_name="n2")])
    p = pod("web-1", labels={"app": "web"}, affinity=anti_affinity({"app": "web"}))
    assert affinity_verdicts(p, cache) == {
        "n1": ("node(s) didn't match pod anti-affinity rules",), "n2": None, "n3": None}


def test_anti_affinity_term_namespaces_and_namespace_selector():
    """`namespaces` widens the term; an empty namespaceSelector means every namespace."""
    cache = cache_with([node("n1"), node("n2")], [
        pod("a", labels={"app": "web"}, namespace="ns-a", node_name="n1"),
        pod("b", labels={"app": "web"}, namespace="ns-b", node_name="n2")])
    term = {"labelSelector": {"matchLabels": {"app": "web"}},
            "topologyKey": "kubernetes.io/hostname"}
    listed = pod("p", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{**term, "namespaces": ["ns-a"]}]}})
    assert affinity_verdicts(listed, cache)["n2"] is None
    assert affinity_verdicts(listed, cache)["n1"] is not None
    everywhere = pod("p", affinity={"podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [{**term, "namespaceSelector": {}}]}})
    assert all(v is not None for v in affinity_verdicts(everywhere, cache).values())


def test_existing_pods_anti_affinity_is_symmetric():
    """A placed pod's required anti-affinity keeps matching pods off its node."""
    loner = pod("loner", labels={"app": "db"}, node_name="n1",
                affinity=anti_affinity({"app": "web"}))
    cache = cache_with([node("n1"), node("n2")], [loner])
    assert affinity_verdicts(pod("w", labels={"app": "web"}), cache) == {
        "n1": ("node(s) didn't satisfy existing pods anti-affinity rules",), "n2": None}


def test_required_pod_affinity_and_the_first_pod_of_a_group():
    """Required affinity needs a matching pod on the node, except for a group's first pod."""
    affinity = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "cache"}},
         "topologyKey": "kubernetes.io/hostname"}]}}
    empty = cache_with([node("n1"), node("n2")])
    first = pod("c0", labels={"app": "cache"}, affinity=affinity)
    assert affinity_verdicts(first, empty) == {"n1": None, "n2": None}
    stranger = pod("x", labels={"app": "other"}, affinity=affinity)
    assert set(affinity_verdicts(stranger, empty).values()) == {
        ("node(s) didn't match pod affinity rules",)}
    placed = cache_with([node("n1"), node("n2")],
                        [pod("c0", labels={"app": "cache"}, node_name="n2")])
    assert affinity_verdicts(stranger, placed) == {
        "n1": ("node(s) didn't match pod affinity rules",), "n2": None}


def test_rejections_know_whether_eviction_could_help():
    """Resources and anti-affinity are resolvable by preemption; taints and selectors not."""
    tainted = filters.run_filters(pod_info(pod("p")), node_info(node("n", ready="False")), None)
    full = filters.run_filters(pod_info(pod("p")), node_info(node("n", pods="0")), None)
    assert tainted is not None and (tainted.plugin, tainted.resolvable) == (
        Plugin.TAINT_TOLERATION, False)
    assert full is not None and (full.plugin, full.resolvable) == (
        Plugin.NODE_RESOURCES_FIT, True)
