"""`kubectl delete` waits, as kubectl does by default, until what it deleted is gone."""

from __future__ import annotations

import pytest

from cluster.api import errors
from cluster.kubectl import Kubectl
from tests.cluster.pod_io_helpers import pod, started, toolbox_cluster


async def test_delete_returns_once_the_pod_is_gone() -> None:
    """A running pod's graceful delete returns only after the pod object is removed."""
    async with toolbox_cluster() as (cluster, _feed):
        await cluster.client.create(pod("web", "talker"), "default")
        await started(cluster, "web")
        result = await Kubectl(cluster.client).run(["delete", "pod", "web"])
        assert (result.exit_code, result.stdout) == (0, 'pod "web" deleted\n')
        with pytest.raises(errors.NotFound):
            await cluster.client.get("pods", "web", "default")


async def test_delete_with_wait_false_returns_while_the_pod_terminates() -> None:
    """`--wait=false` returns as soon as the API accepted the deletion."""
    async with toolbox_cluster() as (cluster, _feed):
        await cluster.client.create(pod("web", "talker"), "default")
        await started(cluster, "web")
        result = await Kubectl(cluster.client).run(["delete", "pod", "web", "--wait=false"])
        assert result.exit_code == 0
        left = await cluster.client.get("pods", "web", "default")
        assert left["metadata"].get("deletionTimestamp")
