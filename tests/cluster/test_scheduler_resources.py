"""What a pod requests and what a node offers, in the scheduler's units."""

from __future__ import annotations

import pytest

from cluster.scheduling import resources
from cluster.scheduling.resources import QuantityParser
from tests.cluster.scheduler_helpers import container, node, pod

GI = 2**30
MI = 2**20


def requests_of(obj: dict, non_zero: bool = False) -> tuple[int, int, dict[str, int]]:
    r = resources.pod_requests(obj["spec"], QuantityParser(), non_zero=non_zero)
    return r.milli_cpu, r.memory, r.scalar


@pytest.mark.parametrize("containers,inits,expected", [
    pytest.param([container(memory="2Gi"), container("b", memory="2Gi")], [],
                 (0, 4 * GI), id="containers-sum"),
    pytest.param([container(cpu="500m", memory="1Gi")],
                 [container("i", cpu="2", memory="512Mi")],
                 (2000, GI), id="init-max-per-resource"),
    pytest.param([container(cpu="100m"), container("b", cpu="200m")],
                 [container("i1", cpu="250m"), container("i2", cpu="200m")],
                 (300, 0), id="sum-beats-largest-init"),
    pytest.param([container(cpu="100m")],
                 [container("side", cpu="200m", restartPolicy="Always"),
                  container("i", cpu="1")],
                 (1200, 0), id="sidecar-runs-alongside-later-inits-and-containers"),
], )
def test_pod_request_is_sum_of_containers_maxed_with_each_init(containers, inits, expected):
    """A pod's request: containers summed (plus sidecars), max'ed with each init container."""
    obj = pod("p", *containers, init_containers=inits)
    cpu, memory, _ = requests_of(obj)
    assert (cpu, memory) == expected


def test_overhead_and_extended_resources_are_counted():
    """spec.overhead adds on top, and extended resources are kept by name."""
    obj = pod("p", {"name": "c", "image": "x",
                    "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "2"}}},
              overhead={"cpu": "250m"})
    cpu, _, scalar = requests_of(obj)
    assert cpu == 1250
    assert scalar == {"nvidia.com/gpu": 2}


def test_non_zero_requests_default_missing_cpu_and_memory():
    """For scoring, a container without requests counts as 100m cpu and 200Mi memory."""
    obj = pod("p", container(), container("b", cpu="1"))
    cpu, memory, _ = requests_of(obj, non_zero=True)
    assert (cpu, memory) == (1100, 400 * MI)
    assert requests_of(obj)[:2] == (1000, 0)


def test_quantities_round_up_like_milli_value():
    """`0.5m` cpu is 1 millicore and `1.5` bytes is 2, as Quantity rounds up."""
    parser = QuantityParser()
    assert parser.milli("0.5m") == 1
    assert parser.whole("1.5") == 2
    assert parser.whole("not-a-quantity") == 0


def test_allocatable_falls_back_to_capacity():
    """A node that reports only capacity offers its capacity (Node defaulting)."""
    obj = node("n1")
    obj["status"].pop("allocatable")
    alloc = resources.node_allocatable(obj, QuantityParser())
    assert (alloc.milli_cpu, alloc.memory, alloc.pods) == (4000, 8 * GI, 110)
