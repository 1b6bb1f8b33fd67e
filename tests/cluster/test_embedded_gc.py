"""The embedded cluster's garbage-collector policy: raised while it runs, then given back."""

from __future__ import annotations

import gc
from typing import Iterator

import pytest

from cluster.embedded import ClusterSettings, EmbeddedCluster


@pytest.fixture
def thresholds() -> Iterator[None]:
    """Start each test from Python's defaults and leave the process as it found it."""
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("thresholds")
async def test_full_collections_are_rarer_while_the_cluster_runs() -> None:
    """Generation 2's threshold is raised on start and restored on stop."""
    cluster = EmbeddedCluster(ClusterSettings.quick(nodes=1))
    await cluster.start()
    try:
        assert gc.get_threshold() == (700, 10, 1000)
    finally:
        await cluster.stop()
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.usefixtures("thresholds")
async def test_two_clusters_leave_the_defaults_behind_in_either_order() -> None:
    """The cluster that raised the threshold restores it; the other leaves it alone."""
    first = EmbeddedCluster(ClusterSettings.quick(nodes=1))
    second = EmbeddedCluster(ClusterSettings.quick(nodes=1))
    await first.start()
    await second.start()
    await first.stop()
    await second.stop()
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.parametrize("setting, before, during", [
    pytest.param(None, (700, 10, 10), (700, 10, 10), id="switched-off"),
    pytest.param(1000, (500, 5, 5000), (500, 5, 5000), id="already-higher"),
])
@pytest.mark.usefixtures("thresholds")
async def test_the_process_choice_is_left_alone(setting: int | None, before: tuple[int, ...],
                                                during: tuple[int, ...]) -> None:
    """`full_gc_threshold=None`, or a process already collecting less often, is kept."""
    gc.set_threshold(*before)
    settings = ClusterSettings.quick(nodes=1, full_gc_threshold=setting)
    cluster = EmbeddedCluster(settings)
    await cluster.start()
    try:
        assert gc.get_threshold() == during
    finally:
        await cluster.stop()
    assert gc.get_threshold() == before
